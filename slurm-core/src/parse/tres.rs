//! GRES and TRES strings: `gpu:8`, `gpu:a100:2`, `gpu:a100:2,shard:4` (GRES, as in `--gres`
//! and `Gres=` in slurm.conf) and `cpu=10,mem=20G,node=1,billing=10,gres/gpu=2,gres/gpu:a100=2`
//! (TRES, as in AllocTRES, GrpTRES and `--tres-per-*`).

use super::ParseError;
use super::memory::{format_mem_mb, parse_mem_mb};
use crate::model::{Gres, TresKind, TresList};

/// Parses a comma-separated GRES list (`gpu:8`, `gpu:a100:2`, `gpu` meaning count 1).
///
/// Each entry is `name`, `name:count`, `name:type` or `name:type:count`, optionally written
/// with a `gres/` prefix (`gres/gpu:2`) and optionally followed by a socket binding such as
/// `(S:0-1)`, which is accepted and ignored. A two-part entry is `name:count` when the second
/// part is a count (`gpu:2`, `shard:1K`) and `name:type` otherwise (`gpu:a100`). Counts take
/// the suffixes K, M, G, T, P (powers of 1024). An empty string or `none` is an empty list.
pub fn parse_gres_list(s: &str) -> Result<Vec<Gres>, ParseError> {
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    split_gres_entries(s)?
        .into_iter()
        .map(|(start, entry)| parse_gres_entry(entry).map_err(|e| shift(e, col(s, start) - 1)))
        .collect()
}

/// Prints a GRES list in `--gres` syntax: `name[:type]:count`, comma-separated.
pub fn format_gres_list(gres: &[Gres]) -> String {
    gres.iter()
        .map(Gres::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a TRES string (`cpu=10,mem=20G,gres/gpu=2`).
///
/// Known kinds (`cpu`, `mem`, `energy`, `node`, `billing`, `gres/NAME[:TYPE]`) are matched
/// case-insensitively; anything else (`fs/disk`, `license/x`, ...) is kept verbatim as
/// [`TresKind::Other`]. `mem` values take memory suffixes and are stored in MiB; other values
/// take the count suffixes K, M, G, T, P (powers of 1024). A kind may appear only once. An
/// empty string is an empty list.
pub fn parse_tres(s: &str) -> Result<TresList, ParseError> {
    let mut list = TresList::default();
    if s.is_empty() {
        return Ok(list);
    }
    let mut start = 0usize;
    for entry in s.split(',') {
        let entry_col = col(s, start);
        start += entry.len() + 1;
        let invalid = |offset: usize, why: &str| {
            ParseError::at(entry_col + offset, format!("invalid TRES {entry:?}: {why}"))
        };
        if entry.is_empty() {
            return Err(invalid(0, "empty entry"));
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(invalid(entry.chars().count(), "expected KIND=VALUE"));
        };
        let value_offset = key.chars().count() + 1;
        let kind = parse_tres_kind(key).map_err(|e| shift(e, entry_col - 1))?;
        if list.get(&kind).is_some() {
            return Err(invalid(0, &format!("duplicate TRES kind \"{kind}\"")));
        }
        let parsed = if kind == TresKind::Mem {
            parse_mem_mb(value)
        } else {
            parse_count(value)
        };
        let amount = parsed.map_err(|e| shift(e, entry_col - 1 + value_offset))?;
        list.0.push((kind, amount));
    }
    Ok(list)
}

/// Prints a TRES list in Slurm's order and syntax: `cpu`, `mem`, `energy`, `node`,
/// `billing`, then `gres/...` entries and finally any other kinds, each group in the list's
/// own order. Memory prints with [`format_mem_mb`].
pub fn format_tres(tres: &TresList) -> String {
    canonical_order(tres)
        .0
        .iter()
        .map(|(kind, value)| match kind {
            TresKind::Mem => format!("{kind}={}", format_mem_mb(*value)),
            _ => format!("{kind}={value}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The list reordered the way [`format_tres`] prints it (a stable sort by kind class), so
/// that `parse_tres(&format_tres(x)) == canonical_order(x)`.
pub fn canonical_order(tres: &TresList) -> TresList {
    let mut entries = tres.0.clone();
    entries.sort_by_key(|(kind, _)| kind_rank(kind));
    TresList(entries)
}

/// Parses a count with an optional K, M, G, T or P suffix (powers of 1024, any case):
/// `8`, `1K` (1024). Used for GRES counts and non-memory TRES values.
pub fn parse_count(s: &str) -> Result<u64, ParseError> {
    let invalid =
        |col: usize, why: &str| ParseError::at(col, format!("invalid count {s:?}: {why}"));
    if s.is_empty() {
        return Err(ParseError::at(1, "empty count"));
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        let why = if s.starts_with('-') {
            "count cannot be negative"
        } else {
            "expected a number"
        };
        return Err(invalid(1, why));
    }
    let suffix = &s[digits..];
    let multiplier: u64 = match suffix.to_ascii_uppercase().as_str() {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "P" => 1 << 50,
        _ => return Err(invalid(digits + 1, &format!("unknown suffix {suffix:?}"))),
    };
    s[..digits]
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| invalid(1, "count out of range"))
}

/// True when `s` is a count as [`parse_count`] reads it (digits and an optional suffix).
fn looks_like_count(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && matches!(
            s[digits..].to_ascii_uppercase().as_str(),
            "" | "K" | "M" | "G" | "T" | "P"
        )
}

/// Splits a GRES list on commas outside parentheses, returning each entry's byte offset.
fn split_gres_entries(s: &str) -> Result<Vec<(usize, &str)>, ParseError> {
    let mut entries = Vec::new();
    let mut depth = 0usize;
    let mut open_at = 0usize;
    let mut start = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' if depth == 0 => {
                depth = 1;
                open_at = i;
            }
            '(' => {
                return Err(ParseError::at(
                    col(s, i),
                    format!("invalid GRES {s:?}: nested '('"),
                ));
            }
            ')' if depth == 0 => {
                return Err(ParseError::at(
                    col(s, i),
                    format!("invalid GRES {s:?}: unbalanced ')'"),
                ));
            }
            ')' => depth = 0,
            ',' if depth == 0 => {
                entries.push((start, &s[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(ParseError::at(
            col(s, open_at),
            format!("invalid GRES {s:?}: unbalanced '('"),
        ));
    }
    entries.push((start, &s[start..]));
    Ok(entries)
}

/// Parses one GRES entry; columns are relative to the entry.
fn parse_gres_entry(entry: &str) -> Result<Gres, ParseError> {
    let invalid =
        |col: usize, why: &str| ParseError::at(col, format!("invalid GRES {entry:?}: {why}"));
    if entry.is_empty() {
        return Err(invalid(1, "empty entry"));
    }
    let (prefix_len, body) = match strip_gres_prefix(entry) {
        Some(rest) => (entry.len() - rest.len(), rest),
        None => (0, entry),
    };
    // A socket binding such as `(S:0-1)` must close the entry.
    let body = match body.find('(') {
        Some(open) => {
            let close = body[open..].find(')').map(|c| open + c);
            match close {
                Some(close) if close + 1 == body.len() => &body[..open],
                _ => {
                    let at = close.map_or(open, |c| c + 1);
                    return Err(invalid(
                        col(entry, prefix_len + at),
                        "unexpected text after socket binding",
                    ));
                }
            }
        }
        None => body,
    };

    let mut parts = Vec::with_capacity(3);
    let mut offset = prefix_len;
    for part in body.split(':') {
        let part_col = col(entry, offset);
        if parts.len() == 3 {
            return Err(invalid(part_col - 1, "too many ':' fields"));
        }
        if part.is_empty() {
            return Err(invalid(part_col, "empty field"));
        }
        parts.push((part, part_col));
        offset += part.len() + 1;
    }
    let count_of =
        |(text, part_col): (&str, usize)| parse_count(text).map_err(|e| shift(e, part_col - 1));
    let (name, kind, count) = match parts.as_slice() {
        [name] => (*name, None, 1),
        [name, second] if looks_like_count(second.0) => (*name, None, count_of(*second)?),
        [name, kind] => (*name, Some(*kind), 1),
        [name, kind, count] => (*name, Some(*kind), count_of(*count)?),
        _ => return Err(invalid(1, "expected NAME[:TYPE][:COUNT]")),
    };
    check_ident(name.0, name.1, "name", entry)?;
    if let Some(kind) = kind {
        check_ident(kind.0, kind.1, "type", entry)?;
    }
    Ok(Gres::new(name.0, kind.map(|k| k.0), count))
}

/// Parses a TRES kind; columns are relative to the key.
fn parse_tres_kind(key: &str) -> Result<TresKind, ParseError> {
    let invalid =
        |col: usize, why: &str| ParseError::at(col, format!("invalid TRES kind {key:?}: {why}"));
    if key.is_empty() {
        return Err(invalid(1, "empty kind"));
    }
    for (kind, name) in [
        (TresKind::Cpu, "cpu"),
        (TresKind::Mem, "mem"),
        (TresKind::Energy, "energy"),
        (TresKind::Node, "node"),
        (TresKind::Billing, "billing"),
    ] {
        if key.eq_ignore_ascii_case(name) {
            return Ok(kind);
        }
    }
    if let Some(rest) = strip_gres_prefix(key) {
        let (name, kind) = match rest.split_once(':') {
            Some((name, kind)) => (name, Some(kind)),
            None => (rest, None),
        };
        check_ident(name, 6, "GRES name", key)?;
        if let Some(kind) = kind {
            check_ident(kind, 6 + name.len() + 1, "GRES type", key)?;
        }
        return Ok(TresKind::Gres {
            name: name.to_owned(),
            kind: kind.map(str::to_owned),
        });
    }
    if let Some((i, c)) = key
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || "/_-.:".contains(c)))
    {
        return Err(invalid(col(key, i), &format!("unexpected character {c:?}")));
    }
    Ok(TresKind::Other(key.to_owned()))
}

/// Checks a GRES name or type (`gpu`, `a100`, `1g.5gb`) starting at column `at` of `whole`.
fn check_ident(ident: &str, at: usize, what: &str, whole: &str) -> Result<(), ParseError> {
    if ident.is_empty() {
        return Err(ParseError::at(
            at,
            format!("invalid {what} in {whole:?}: empty"),
        ));
    }
    match ident
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
    {
        Some((i, c)) => Err(ParseError::at(
            at + i,
            format!("invalid {what} {ident:?} in {whole:?}: unexpected character {c:?}"),
        )),
        None => Ok(()),
    }
}

/// The text after a case-insensitive `gres/` prefix, if there is one.
fn strip_gres_prefix(s: &str) -> Option<&str> {
    let prefix = s.get(..5)?;
    prefix.eq_ignore_ascii_case("gres/").then(|| &s[5..])
}

fn kind_rank(kind: &TresKind) -> u8 {
    match kind {
        TresKind::Cpu => 0,
        TresKind::Mem => 1,
        TresKind::Energy => 2,
        TresKind::Node => 3,
        TresKind::Billing => 4,
        TresKind::Gres { .. } => 5,
        TresKind::Other(_) => 6,
    }
}

/// Moves an error's column right by `by` (a value parsed on its own inside a larger string).
fn shift(mut e: ParseError, by: usize) -> ParseError {
    e.column += by;
    e
}

/// 1-based character column of byte offset `byte` in `s`.
fn col(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |p| p.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gres(name: &str, kind: Option<&str>, count: u64) -> Gres {
        Gres::new(name, kind, count)
    }

    fn gres_kind(name: &str, kind: Option<&str>) -> TresKind {
        TresKind::Gres {
            name: name.to_owned(),
            kind: kind.map(str::to_owned),
        }
    }

    fn gres_err(s: &str) -> ParseError {
        parse_gres_list(s).expect_err(s)
    }

    fn tres_err(s: &str) -> ParseError {
        parse_tres(s).expect_err(s)
    }

    #[test]
    fn parses_gres_lists() {
        assert_eq!(parse_gres_list("gpu:8"), Ok(vec![gres("gpu", None, 8)]));
        assert_eq!(parse_gres_list("gpu"), Ok(vec![gres("gpu", None, 1)]));
        assert_eq!(
            parse_gres_list("gpu:a100"),
            Ok(vec![gres("gpu", Some("a100"), 1)])
        );
        assert_eq!(
            parse_gres_list("gpu:a100:2,shard:4"),
            Ok(vec![gres("gpu", Some("a100"), 2), gres("shard", None, 4)])
        );
        assert_eq!(
            parse_gres_list("gres/gpu:2"),
            Ok(vec![gres("gpu", None, 2)])
        );
        assert_eq!(
            parse_gres_list("gpu:tesla:2(S:0-1)"),
            Ok(vec![gres("gpu", Some("tesla"), 2)])
        );
        assert_eq!(
            parse_gres_list("gpu:tesla:2(S:0,1),mps:100"),
            Ok(vec![gres("gpu", Some("tesla"), 2), gres("mps", None, 100)])
        );
        assert_eq!(
            parse_gres_list("shard:1K"),
            Ok(vec![gres("shard", None, 1024)])
        );
        assert_eq!(
            parse_gres_list("mps:2m"),
            Ok(vec![gres("mps", None, 2 << 20)])
        );
        assert_eq!(
            parse_gres_list("bw:1G"),
            Ok(vec![gres("bw", None, 1 << 30)])
        );
        assert_eq!(
            parse_gres_list("gpu:1g.5gb:3"),
            Ok(vec![gres("gpu", Some("1g.5gb"), 3)])
        );
        assert_eq!(
            parse_gres_list("gpu:1g.5gb"),
            Ok(vec![gres("gpu", Some("1g.5gb"), 1)])
        );
        assert_eq!(parse_gres_list("gpu:0"), Ok(vec![gres("gpu", None, 0)]));
        assert_eq!(parse_gres_list(""), Ok(vec![]));
        assert_eq!(parse_gres_list("none"), Ok(vec![]));
    }

    #[test]
    fn gres_errors_name_the_text_and_column() {
        let e = gres_err("gpu:a100:2:3");
        assert_eq!(e.column, 11);
        assert_eq!(
            e.message,
            r#"invalid GRES "gpu:a100:2:3": too many ':' fields"#
        );
        assert_eq!(gres_err("gpu:a100:x").column, 10);
        assert!(gres_err("gpu:a100:x").message.contains(r#""x""#));
        assert_eq!(gres_err("gpu:8,").column, 7);
        assert_eq!(gres_err(",gpu").column, 1);
        assert_eq!(gres_err("gpu::2").column, 5);
        assert_eq!(gres_err("gpu:").column, 5);
        assert_eq!(gres_err(":2").column, 1);
        assert_eq!(gres_err("gpu:2,shard:x:4X").column, 16);
        // A second field that is not a count is a type, as in Slurm.
        assert_eq!(
            parse_gres_list("shard:4X"),
            Ok(vec![gres("shard", Some("4X"), 1)])
        );
        assert_eq!(gres_err("gpu:a100:-1").column, 10);
        assert_eq!(gres_err("gpu:a100:2(S:0").column, 11);
        assert_eq!(gres_err("gpu:a100:2)").column, 11);
        assert_eq!(gres_err("gpu:a100:2(S:0)x").column, 16);
        assert_eq!(gres_err("gpu:a 100").column, 6);
        assert_eq!(gres_err("gres/").column, 6);
        assert_eq!(gres_err("shard:99999999999999999999").column, 7);
        assert!(
            gres_err("shard:99999999999P")
                .message
                .contains("out of range")
        );
    }

    #[test]
    fn formats_gres_lists() {
        assert_eq!(format_gres_list(&[]), "");
        assert_eq!(
            format_gres_list(&[gres("gpu", Some("a100"), 2), gres("shard", None, 4)]),
            "gpu:a100:2,shard:4"
        );
        assert_eq!(format_gres_list(&[gres("gpu", None, 1)]), "gpu:1");
    }

    #[test]
    fn parses_tres() {
        let t = parse_tres("cpu=10,mem=20G,node=1,billing=10,gres/gpu=2,gres/gpu:a100=2,energy=5")
            .expect("valid");
        assert_eq!(
            t.0,
            vec![
                (TresKind::Cpu, 10),
                (TresKind::Mem, 20 * 1024),
                (TresKind::Node, 1),
                (TresKind::Billing, 10),
                (gres_kind("gpu", None), 2),
                (gres_kind("gpu", Some("a100")), 2),
                (TresKind::Energy, 5),
            ]
        );
        let t = parse_tres("fs/disk=1,license/x=2,mem=1.50G,CPU=4,gres/shard=1K").expect("valid");
        assert_eq!(
            t.0,
            vec![
                (TresKind::Other("fs/disk".into()), 1),
                (TresKind::Other("license/x".into()), 2),
                (TresKind::Mem, 1536),
                (TresKind::Cpu, 4),
                (gres_kind("shard", None), 1024),
            ]
        );
        assert_eq!(
            parse_tres("mem=512"),
            Ok(TresList(vec![(TresKind::Mem, 512)]))
        );
        assert_eq!(parse_tres(""), Ok(TresList::default()));
    }

    #[test]
    fn tres_errors_name_the_text_and_column() {
        let e = tres_err("cpu=10,mem=20X");
        assert_eq!(e.column, 14);
        assert!(e.message.contains(r#""20X""#), "{}", e.message);
        let e = tres_err("cpu=10,cpu=2");
        assert_eq!(e.column, 8);
        assert_eq!(
            e.message,
            r#"invalid TRES "cpu=2": duplicate TRES kind "cpu""#
        );
        assert_eq!(tres_err("cpu").column, 4);
        assert_eq!(tres_err("cpu=1,,node=1").column, 7);
        assert_eq!(tres_err("cpu=1,").column, 7);
        assert_eq!(tres_err("=1").column, 1);
        assert_eq!(tres_err("cpu=").column, 5);
        assert_eq!(tres_err("cpu=-1").column, 5);
        assert!(tres_err("cpu=-1").message.contains("negative"));
        assert_eq!(tres_err("cpu=1,node=x").column, 12);
        assert_eq!(tres_err("cpu=1,gres/=2").column, 12);
        assert_eq!(tres_err("gres/gpu:=2").column, 10);
        assert_eq!(tres_err("gres/gpu:a:b=2").column, 11);
        assert_eq!(tres_err("cpu=1,fs disk=2").column, 9);
        assert_eq!(tres_err("mem=1G=2").column, 6);
    }

    #[test]
    fn formats_tres_in_canonical_order() {
        let t = TresList(vec![
            (TresKind::Other("license/x".into()), 2),
            (gres_kind("gpu", Some("a100")), 2),
            (TresKind::Billing, 10),
            (gres_kind("gpu", None), 2),
            (TresKind::Node, 1),
            (TresKind::Mem, 20 * 1024),
            (TresKind::Energy, 5),
            (TresKind::Cpu, 10),
            (TresKind::Other("fs/disk".into()), 1),
        ]);
        assert_eq!(
            format_tres(&t),
            "cpu=10,mem=20G,energy=5,node=1,billing=10,gres/gpu:a100=2,gres/gpu=2,license/x=2,fs/disk=1"
        );
        assert_eq!(t.to_string(), format_tres(&t));
        assert_eq!(
            format_tres(&TresList(vec![(TresKind::Mem, 1000)])),
            "mem=1000M"
        );
        assert_eq!(format_tres(&TresList::default()), "");
    }

    fn ident() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_.-]{0,7}"
    }

    fn gres_strategy() -> impl Strategy<Value = Gres> {
        (ident(), prop::option::of(ident()), any::<u64>())
            .prop_map(|(name, kind, count)| Gres::new(name, kind.as_deref(), count))
    }

    fn tres_kind_strategy() -> impl Strategy<Value = TresKind> {
        prop_oneof![
            Just(TresKind::Cpu),
            Just(TresKind::Mem),
            Just(TresKind::Energy),
            Just(TresKind::Node),
            Just(TresKind::Billing),
            (ident(), prop::option::of(ident()))
                .prop_map(|(name, kind)| TresKind::Gres { name, kind }),
            ("(fs|license|bb|ic)/[a-z0-9_]{1,6}").prop_map(TresKind::Other),
        ]
    }

    fn tres_strategy() -> impl Strategy<Value = TresList> {
        prop::collection::vec((tres_kind_strategy(), any::<u64>()), 0..10).prop_map(|entries| {
            let mut list = TresList::default();
            for (kind, value) in entries {
                if list.get(&kind).is_none() {
                    list.0.push((kind, value));
                }
            }
            list
        })
    }

    proptest! {
        #[test]
        fn gres_round_trips(list in prop::collection::vec(gres_strategy(), 0..6)) {
            prop_assert_eq!(parse_gres_list(&format_gres_list(&list)), Ok(list));
        }

        #[test]
        fn tres_round_trips(list in tres_strategy()) {
            let canonical = canonical_order(&list);
            prop_assert_eq!(parse_tres(&format_tres(&list)), Ok(canonical.clone()));
            prop_assert_eq!(format_tres(&canonical), format_tres(&list));
        }

        #[test]
        fn canonical_lists_round_trip_exactly(list in tres_strategy()) {
            let list = canonical_order(&list);
            prop_assert_eq!(parse_tres(&format_tres(&list)), Ok(list));
        }

        #[test]
        fn never_panic(s in "[a-z0-9:/,=()KGS.\\- ]{0,24}") {
            let _ = parse_gres_list(&s);
            let _ = parse_tres(&s);
        }
    }
}
