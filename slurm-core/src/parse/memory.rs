//! Memory sizes as Slurm accepts them: `512` (MiB), `512M`, `1G`, `2T`, `1024K`; `0` means
//! "all of the node's memory" for `--mem`.
//!
//! Sizes are binary (`1G` = 1024 MiB). Slurm prints memory in TRES strings with two decimals
//! (`1.50G`), so a decimal fraction is accepted too and rounded up to whole MiB like `K`.

use super::ParseError;

const KIB_PER_MIB: u128 = 1024;

/// Parses a memory size into MiB (Slurm's unit). A bare number is MiB. Suffixes K, M, G, T
/// (case-insensitive, optional trailing `B`); K rounds up to whole MiB.
///
/// A decimal fraction (`1.5G`, `1.50G`, as Slurm prints TRES memory) is accepted and rounded
/// up to whole MiB. Errors: empty input, a sign, an unknown suffix, or a value that does not
/// fit in `u64` MiB.
pub fn parse_mem_mb(s: &str) -> Result<u64, ParseError> {
    let invalid =
        |col: usize, why: &str| ParseError::at(col, format!("invalid memory size {s:?}: {why}"));

    if s.is_empty() {
        return Err(ParseError::at(1, "empty memory size"));
    }
    if s.starts_with('-') {
        return Err(invalid(1, "memory size cannot be negative"));
    }

    let bytes = s.as_bytes();
    let int_end = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(bytes.len());
    let (frac_start, frac_end) = if bytes.get(int_end) == Some(&b'.') {
        let start = int_end + 1;
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if len == 0 {
            return Err(invalid(col(s, start), "expected digits after '.'"));
        }
        (start, start + len)
    } else {
        (int_end, int_end)
    };
    if int_end == 0 {
        return Err(invalid(1, "expected a number"));
    }
    let int_digits = &s[..int_end];
    let frac_digits = &s[frac_start..frac_end];
    // Nine decimals are far beyond MiB precision and keep the arithmetic below in u128.
    if frac_digits.len() > 9 {
        return Err(invalid(col(s, frac_start), "too many decimal places"));
    }

    let suffix = &s[frac_end..];
    let unit_kib: u128 = match suffix.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" => KIB_PER_MIB,
        "K" | "KB" => 1,
        "G" | "GB" => KIB_PER_MIB * 1024,
        "T" | "TB" => KIB_PER_MIB * 1024 * 1024,
        _ => {
            return Err(invalid(
                col(s, frac_end),
                &format!("unknown unit {suffix:?}"),
            ));
        }
    };

    let out_of_range = || invalid(1, "memory size out of range");
    let int: u128 = int_digits.parse().map_err(|_| out_of_range())?;
    let frac: u128 = if frac_digits.is_empty() {
        0
    } else {
        frac_digits.parse().map_err(|_| out_of_range())?
    };
    let scale = 10u128.pow(u32::try_from(frac_digits.len()).map_err(|_| out_of_range())?);
    // value = (int + frac / scale) * unit_kib KiB, rounded up to whole MiB.
    let numerator = int
        .checked_mul(scale)
        .and_then(|v| v.checked_add(frac))
        .and_then(|v| v.checked_mul(unit_kib))
        .ok_or_else(out_of_range)?;
    let mib = numerator.div_ceil(scale * KIB_PER_MIB);
    u64::try_from(mib).map_err(|_| out_of_range())
}

/// Formats MiB the way Slurm prints memory in TRES strings: `512M`, `1G`, `1.50G`, `2T`.
///
/// The largest unit that represents the value exactly with at most two decimals is used
/// (`1536` → `1.50G`, `1000` → `1000M`), so [`parse_mem_mb`] always gives the value back.
/// Zero prints as `0`.
pub fn format_mem_mb(mb: u64) -> String {
    if mb == 0 {
        return "0".to_owned();
    }
    let value = u128::from(mb);
    for (unit, suffix) in [(1024u128 * 1024, 'T'), (1024, 'G')] {
        if value < unit {
            continue;
        }
        if value % unit == 0 {
            return format!("{}{suffix}", value / unit);
        }
        if (value * 100) % unit == 0 {
            let hundredths = value * 100 / unit;
            return format!("{}.{:02}{suffix}", hundredths / 100, hundredths % 100);
        }
    }
    format!("{mb}M")
}

/// 1-based character column of byte offset `byte` in `s`.
fn col(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |p| p.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> ParseError {
        parse_mem_mb(s).expect_err(s)
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_mem_mb("0"), Ok(0));
        assert_eq!(parse_mem_mb("512"), Ok(512));
        assert_eq!(parse_mem_mb("512M"), Ok(512));
        assert_eq!(parse_mem_mb("512mb"), Ok(512));
        assert_eq!(parse_mem_mb("1G"), Ok(1024));
        assert_eq!(parse_mem_mb("1GB"), Ok(1024));
        assert_eq!(parse_mem_mb("1g"), Ok(1024));
        assert_eq!(parse_mem_mb("2T"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_mem_mb("2tb"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_mem_mb("1024K"), Ok(1));
        assert_eq!(parse_mem_mb("1025K"), Ok(2));
        assert_eq!(parse_mem_mb("1k"), Ok(1));
        assert_eq!(parse_mem_mb("0K"), Ok(0));
        assert_eq!(parse_mem_mb("1.50G"), Ok(1536));
        assert_eq!(parse_mem_mb("1.5G"), Ok(1536));
        assert_eq!(parse_mem_mb("187.50G"), Ok(192_000));
        assert_eq!(parse_mem_mb("0.001G"), Ok(2));
        assert_eq!(parse_mem_mb("1.5"), Ok(2));
        assert_eq!(
            parse_mem_mb("17592186044415T"),
            Ok(17_592_186_044_415 << 20)
        );
    }

    #[test]
    fn errors_name_the_text_and_column() {
        assert_eq!(err("").message, "empty memory size");
        assert_eq!(err("").column, 1);
        let e = err("-1G");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("negative"), "{}", e.message);
        let e = err("10X");
        assert_eq!(e.column, 3);
        assert_eq!(e.message, r#"invalid memory size "10X": unknown unit "X""#);
        assert_eq!(err("10B").column, 3);
        assert_eq!(err("10GiB").column, 3);
        assert_eq!(err("G").column, 1);
        assert_eq!(err("1.G").column, 3);
        assert_eq!(err(".5G").column, 1);
        assert_eq!(err("1.2.3").column, 4);
        assert_eq!(err(" 1G").column, 1);
        assert_eq!(err("1G ").column, 2);
        assert_eq!(err("1.0000000001G").column, 3);
        let e = err("18446744073709551616");
        assert!(e.message.contains("out of range"), "{}", e.message);
        assert!(err("17592186044416T").message.contains("out of range"));
        assert!(
            err("99999999999999999999999999999999999999999999T")
                .message
                .contains("out of range")
        );
    }

    #[test]
    fn formats_like_tres_strings() {
        assert_eq!(format_mem_mb(0), "0");
        assert_eq!(format_mem_mb(1), "1M");
        assert_eq!(format_mem_mb(512), "512M");
        assert_eq!(format_mem_mb(1000), "1000M");
        assert_eq!(format_mem_mb(1023), "1023M");
        assert_eq!(format_mem_mb(1024), "1G");
        assert_eq!(format_mem_mb(1536), "1.50G");
        assert_eq!(format_mem_mb(1280), "1.25G");
        assert_eq!(format_mem_mb(1025), "1025M");
        assert_eq!(format_mem_mb(20 * 1024), "20G");
        assert_eq!(format_mem_mb(192_000), "187.50G");
        assert_eq!(format_mem_mb(1024 * 1024), "1T");
        assert_eq!(format_mem_mb(1024 * 1024 * 3 / 2), "1.50T");
        assert_eq!(format_mem_mb(1024 * 1024 + 1024), "1025G");
    }

    proptest! {
        #[test]
        fn format_round_trips(mb in any::<u64>()) {
            prop_assert_eq!(parse_mem_mb(&format_mem_mb(mb)), Ok(mb));
        }

        #[test]
        fn format_round_trips_near_units(k in 0u64..4096, unit in prop::sample::select(vec![1u64, 256, 1024, 1 << 18, 1 << 20]), delta in 0u64..3) {
            let mb = k * unit + delta;
            prop_assert_eq!(parse_mem_mb(&format_mem_mb(mb)), Ok(mb));
        }

        #[test]
        fn never_panics(s in "[0-9.kKmMgGtTbB\\- ]{0,24}") {
            let _ = parse_mem_mb(&s);
        }
    }
}
