//! Slurm durations: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`,
//! `INFINITE`/`UNLIMITED` (as used by `--time`, `MaxTime=`, `DefaultTime=`, `--begin` offsets).
//!
//! Like Slurm's `time_str2secs`, fields are not range-checked (`90` is 90 minutes, `1:75` is
//! one minute and 75 seconds); only the shape of the string is.

use super::ParseError;
use crate::model::TimeLimit;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Parses a Slurm time specification into a [`TimeLimit`].
///
/// Accepted forms: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`, and
/// `INFINITE`, `UNLIMITED` (any case) or `-1` for no limit.
///
/// A lone zero (`0`, `00`) also means no limit: Slurm documents `--time=0` as "no time limit
/// imposed". Every other spelling of zero (`0:00`, `0-0`) is a zero-second limit, which is
/// what [`format_duration`] prints for zero, so `parse_time_limit(&format_duration(s))` is
/// always `Seconds(s)`.
///
/// Whitespace is not accepted; callers trim their input.
pub fn parse_time_limit(s: &str) -> Result<TimeLimit, ParseError> {
    let invalid =
        |col: usize, why: &str| ParseError::at(col, format!("invalid time limit {s:?}: {why}"));

    if s.is_empty() {
        return Err(ParseError::at(1, "empty time limit"));
    }
    let lone_zero = s.bytes().all(|b| b == b'0');
    if lone_zero
        || s == "-1"
        || s.eq_ignore_ascii_case("infinite")
        || s.eq_ignore_ascii_case("unlimited")
    {
        return Ok(TimeLimit::Infinite);
    }

    // Split into `days` (before a single '-') and up to three ':'-separated fields.
    let mut days: Option<(u64, usize)> = None;
    let mut fields: Vec<(u64, usize)> = Vec::with_capacity(3);
    let mut start = 0usize; // byte offset of the current field
    let mut value: Option<u64> = None;

    for (i, c) in s.char_indices() {
        let col = char_col(s, i);
        match c {
            '0'..='9' => {
                let digit = u64::from(c as u8 - b'0');
                let next = value
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or_else(|| invalid(char_col(s, start), "number out of range"))?;
                value = Some(next);
            }
            '-' => {
                if days.is_some() {
                    return Err(invalid(col, "more than one '-'"));
                }
                if !fields.is_empty() {
                    return Err(invalid(col, "'-' must come before any ':'"));
                }
                let Some(v) = value.take() else {
                    return Err(invalid(col, "missing days before '-'"));
                };
                days = Some((v, char_col(s, start)));
                start = i + 1;
            }
            ':' => {
                let Some(v) = value.take() else {
                    return Err(invalid(col, "missing number before ':'"));
                };
                fields.push((v, char_col(s, start)));
                if fields.len() == 3 {
                    return Err(invalid(col, "too many ':' fields"));
                }
                start = i + 1;
            }
            _ => return Err(invalid(col, &format!("unexpected character {c:?}"))),
        }
    }
    let end_col = char_col(s, s.len());
    let Some(last) = value else {
        return Err(invalid(end_col, "missing number at end"));
    };
    fields.push((last, char_col(s, start)));

    let units: &[u64] = match (days.is_some(), fields.len()) {
        (false, 1) => &[MINUTE],
        (false, 2) => &[MINUTE, 1],
        (true, 1) => &[HOUR],
        (true, 2) => &[HOUR, MINUTE],
        (_, 3) => &[HOUR, MINUTE, 1],
        _ => return Err(invalid(1, "too many fields")),
    };
    let mut total = 0u64;
    let parts = days
        .map(|(d, c)| (d, c, DAY))
        .into_iter()
        .chain(fields.iter().zip(units).map(|(&(v, c), &u)| (v, c, u)));
    for (v, col, unit) in parts {
        total = v
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| invalid(col, "time limit out of range"))?;
    }
    Ok(TimeLimit::Seconds(total))
}

/// Formats seconds as Slurm prints elapsed times and limits: `M:SS` under an hour,
/// `H:MM:SS` under a day, `D-HH:MM:SS` beyond (squeue's TIME column style).
pub fn format_duration(seconds: u64) -> String {
    let (days, rest) = (seconds / DAY, seconds % DAY);
    let (hours, rest) = (rest / HOUR, rest % HOUR);
    let (minutes, secs) = (rest / MINUTE, rest % MINUTE);
    if days > 0 {
        format!("{days}-{hours:02}:{minutes:02}:{secs:02}")
    } else if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

/// 1-based character column of byte offset `byte` in `s`.
fn char_col(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |p| p.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: &str) -> u64 {
        match parse_time_limit(s) {
            Ok(TimeLimit::Seconds(n)) => n,
            other => panic!("{s:?} parsed as {other:?}"),
        }
    }

    fn err(s: &str) -> ParseError {
        parse_time_limit(s).expect_err(s)
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(secs("30"), 30 * 60);
        assert_eq!(secs("90"), 90 * 60);
        assert_eq!(secs("5:07"), 5 * 60 + 7);
        assert_eq!(secs("1:00:00"), 3600);
        assert_eq!(secs("01:02:03"), 3723);
        assert_eq!(secs("2-12"), 2 * DAY + 12 * HOUR);
        assert_eq!(secs("2-12:30"), 2 * DAY + 12 * HOUR + 30 * MINUTE);
        assert_eq!(secs("1-00:00:00"), DAY);
        assert_eq!(secs("0-0:0:1"), 1);
        // Fields are not range-checked, as in Slurm.
        assert_eq!(secs("1:75"), 135);
        assert_eq!(secs("0:00"), 0);
        assert_eq!(secs("0-0"), 0);
    }

    #[test]
    fn infinite_spellings() {
        for s in [
            "INFINITE",
            "infinite",
            "Unlimited",
            "UNLIMITED",
            "-1",
            "0",
            "00",
        ] {
            assert_eq!(parse_time_limit(s), Ok(TimeLimit::Infinite), "{s}");
        }
    }

    #[test]
    fn errors_name_the_text_and_column() {
        let e = err("1:2:3:4");
        assert_eq!(e.column, 6);
        assert_eq!(
            e.message,
            r#"invalid time limit "1:2:3:4": too many ':' fields"#
        );

        assert_eq!(err("").column, 1);
        assert_eq!(err("").message, "empty time limit");
        assert_eq!(err("abc").column, 1);
        assert!(err("abc").message.contains(r#""abc""#));
        assert_eq!(err("1:x0").column, 3);
        assert_eq!(err("1-2-3").column, 4);
        assert_eq!(err("1:2-3").column, 4);
        assert_eq!(err("-5").column, 1);
        assert_eq!(err("5:").column, 3);
        assert_eq!(err(":5").column, 1);
        assert_eq!(err("1::2").column, 3);
        assert_eq!(err("1-").column, 3);
        assert_eq!(err("1-2:3:4:5").column, 8);
        assert_eq!(err(" 30").column, 1);
        assert_eq!(err("30 ").column, 3);
        assert_eq!(err("1.5").column, 2);
        assert_eq!(err("é:1").column, 1);
        // Overflow is an error, not a wrap-around or a panic.
        assert_eq!(err("99999999999999999999").column, 1);
        assert_eq!(err("1:99999999999999999999").column, 3);
        assert!(err("213503982334602-0").message.contains("out of range"));
    }

    #[test]
    fn formats_like_squeue() {
        assert_eq!(format_duration(0), "0:00");
        assert_eq!(format_duration(307), "5:07");
        assert_eq!(format_duration(30 * 60), "30:00");
        assert_eq!(format_duration(3599), "59:59");
        assert_eq!(format_duration(3600), "1:00:00");
        assert_eq!(format_duration(DAY - 1), "23:59:59");
        assert_eq!(format_duration(DAY), "1-00:00:00");
        assert_eq!(
            format_duration(12 * DAY + 3 * HOUR + 4 * MINUTE + 5),
            "12-03:04:05"
        );
        assert_eq!(TimeLimit::Seconds(3600).to_string(), "1:00:00");
        assert_eq!(TimeLimit::Infinite.to_string(), "UNLIMITED");
    }

    proptest! {
        #[test]
        fn format_round_trips(s in any::<u64>()) {
            prop_assert_eq!(parse_time_limit(&format_duration(s)), Ok(TimeLimit::Seconds(s)));
        }

        #[test]
        fn format_round_trips_small(s in 0u64..10 * DAY) {
            prop_assert_eq!(parse_time_limit(&format_duration(s)), Ok(TimeLimit::Seconds(s)));
        }

        #[test]
        fn never_panics(s in "[0-9:\\-a-zA-Z ]{0,16}") {
            let _ = parse_time_limit(&s);
        }
    }
}
