//! Slurm hostlists: `node[01-02,05]`, `gpu-[0-15]`, `a[1-2]b[3-4]`, `n1,n2`.
//!
//! - `expand("node[01-02,05]") == ["node01","node02","node05"]`; zero padding is kept (the
//!   width of a range is the length of its lower bound, so `[8-10]` is `8,9,10` and
//!   `[08-10]` is `08,09,10`); several bracket groups in one name expand as a cartesian
//!   product; commas outside brackets separate names; whitespace is not allowed.
//! - `compress(&names)` produces Slurm's compact form (`node[01-02,05]`), grouping names that
//!   share the text around their last number, keeping first-seen order of groups and sorting
//!   numbers within a group, like `scontrol show hostlist`.
//! - `expand(&compress(names))` yields the same set of names (duplicates are dropped), and
//!   `compress` of that expansion gives the same string again (property tests).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::ParseError;

/// The most names one hostlist may expand to, so that a typo such as `n[0-99999999]` is an
/// error rather than an out-of-memory.
pub const MAX_HOSTS: usize = 1 << 20;

/// One numeric range inside brackets: `lo..=hi`, printed zero-padded to `width`.
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: u64,
    hi: u64,
    width: usize,
}

impl Range {
    fn len(self) -> usize {
        usize::try_from(self.hi - self.lo).map_or(usize::MAX, |n| n.saturating_add(1))
    }
}

/// A piece of one hostname pattern: literal text or a bracket group.
#[derive(Debug)]
enum Piece {
    Text(String),
    Ranges(Vec<Range>),
}

/// Expands a hostlist expression into host names, in order.
///
/// An empty expression is an empty list. Errors (with the column of the problem): unbalanced
/// or nested brackets, empty names (`a,,b`), empty ranges (`[]`, `[1,]`), reversed ranges
/// (`[5-3]`), non-numeric ranges (`[a-b]`), whitespace, and expansions over [`MAX_HOSTS`].
pub fn expand(expr: &str) -> Result<Vec<String>, ParseError> {
    let chars: Vec<char> = expr.chars().collect();
    let invalid = |idx: usize, why: &str| {
        ParseError::at(idx + 1, format!("invalid hostlist {expr:?}: {why}"))
    };

    let mut names = Vec::new();
    if chars.is_empty() {
        return Ok(names);
    }
    let mut pieces: Vec<Piece> = Vec::new();
    let mut i = 0usize;
    loop {
        let c = chars.get(i).copied();
        match c {
            None | Some(',') => {
                if pieces.is_empty() {
                    return Err(invalid(i, "empty host name"));
                }
                let total = pieces.iter().try_fold(1usize, |acc, p| match p {
                    Piece::Text(_) => Some(acc),
                    Piece::Ranges(rs) => rs
                        .iter()
                        .try_fold(0usize, |n, r| n.checked_add(r.len()))
                        .and_then(|n| acc.checked_mul(n)),
                });
                match total.and_then(|t| t.checked_add(names.len())) {
                    Some(t) if t <= MAX_HOSTS => {}
                    _ => {
                        return Err(invalid(
                            i.saturating_sub(1),
                            &format!("expands to more than {MAX_HOSTS} names"),
                        ));
                    }
                }
                expand_pieces(&pieces, &mut names);
                pieces.clear();
                if c.is_none() {
                    return Ok(names);
                }
                i += 1;
            }
            Some('[') => {
                let (ranges, next) = parse_brackets(&chars, i, &invalid)?;
                pieces.push(Piece::Ranges(ranges));
                i = next;
            }
            Some(']') => return Err(invalid(i, "unbalanced ']'")),
            Some(c) if c.is_whitespace() => return Err(invalid(i, "whitespace in hostlist")),
            Some(c) => {
                match pieces.last_mut() {
                    Some(Piece::Text(text)) => text.push(c),
                    _ => pieces.push(Piece::Text(c.to_string())),
                }
                i += 1;
            }
        }
    }
}

/// Parses `[a-b,c,...]` starting at the `[` at `open`; returns the ranges and the index
/// after the closing `]`.
fn parse_brackets(
    chars: &[char],
    open: usize,
    invalid: &impl Fn(usize, &str) -> ParseError,
) -> Result<(Vec<Range>, usize), ParseError> {
    let mut ranges = Vec::new();
    let mut i = open + 1;
    loop {
        let item_start = i;
        let (lo, width, after_lo) = parse_number(chars, i, open, false, invalid)?;
        i = after_lo;
        let hi = if chars.get(i) == Some(&'-') {
            let (hi, _, after_hi) = parse_number(chars, i + 1, open, true, invalid)?;
            i = after_hi;
            hi
        } else {
            lo
        };
        if hi < lo {
            return Err(invalid(item_start, &format!("reversed range {lo}-{hi}")));
        }
        ranges.push(Range { lo, hi, width });
        match chars.get(i) {
            Some(',') => i += 1,
            Some(']') => return Ok((ranges, i + 1)),
            None => return Err(invalid(open, "unbalanced '['")),
            Some('[') => return Err(invalid(i, "nested '['")),
            Some(c) => {
                return Err(invalid(
                    i,
                    &format!("unexpected {c:?} in range, expected ',' or ']'"),
                ));
            }
        }
    }
}

/// Parses the digits at `i` (the `upper` bound of a range or not); returns the value, the number of digits and the index after.
fn parse_number(
    chars: &[char],
    i: usize,
    open: usize,
    upper: bool,
    invalid: &impl Fn(usize, &str) -> ParseError,
) -> Result<(u64, usize, usize), ParseError> {
    let digits = chars[i.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return Err(match chars.get(i) {
            None => invalid(open, "unbalanced '['"),
            Some(',' | ']') if upper => invalid(i, "missing end of range"),
            Some(',' | ']' | '-') => invalid(i, "empty range"),
            Some(c) => invalid(i, &format!("non-numeric range starting at {c:?}")),
        });
    }
    let text: String = chars[i..i + digits].iter().collect();
    let value = text
        .parse::<u64>()
        .map_err(|_| invalid(i, &format!("number {text} out of range")))?;
    Ok((value, digits, i + digits))
}

/// Appends the cartesian product of `pieces` to `out`.
fn expand_pieces(pieces: &[Piece], out: &mut Vec<String>) {
    let mut partial = vec![String::new()];
    for piece in pieces {
        match piece {
            Piece::Text(text) => partial.iter_mut().for_each(|p| p.push_str(text)),
            Piece::Ranges(ranges) => {
                let mut next = Vec::with_capacity(partial.len());
                for p in &partial {
                    for r in ranges {
                        for n in r.lo..=r.hi {
                            next.push(format!("{p}{n:0width$}", width = r.width));
                        }
                    }
                }
                partial = next;
            }
        }
    }
    out.append(&mut partial);
}

/// A name split around its last run of digits: `node01-ib` → (`node`, `01`, `-ib`).
struct Split<'a> {
    prefix: &'a str,
    digits: &'a str,
    suffix: &'a str,
}

fn split_last_number(name: &str) -> Option<Split<'_>> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = name[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    Some(Split {
        prefix: &name[..start],
        digits: &name[start..end],
        suffix: &name[end..],
    })
}

/// Compresses host names into a hostlist expression.
///
/// Names are grouped by the text before and after their last number (`node01-ib` groups
/// with `node02-ib` as `node[01-02]-ib`); groups keep the order in which they are first
/// seen, numbers within a group are sorted and consecutive numbers of the same zero-padded
/// width form ranges. A group of one name prints without brackets (`node7`), names without
/// digits print as they are, and duplicates are dropped. Numbers too long for `u64` are kept
/// as separate literal names.
pub fn compress<S: AsRef<str>>(names: &[S]) -> String {
    struct Group<'a> {
        prefix: &'a str,
        suffix: &'a str,
        /// (value, digits as written)
        numbers: Vec<(u64, &'a str)>,
    }
    enum Entry<'a> {
        Literal(&'a str),
        Group(Group<'a>),
    }

    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut literal_seen: HashSet<&str> = HashSet::new();
    let mut group_index: HashMap<(&str, &str), usize> = HashMap::new();
    for name in names {
        let name = name.as_ref();
        let split =
            split_last_number(name).and_then(|s| s.digits.parse::<u64>().ok().map(|v| (s, v)));
        match split {
            Some((s, value)) => {
                let idx = *group_index.entry((s.prefix, s.suffix)).or_insert_with(|| {
                    entries.push(Entry::Group(Group {
                        prefix: s.prefix,
                        suffix: s.suffix,
                        numbers: Vec::new(),
                    }));
                    entries.len() - 1
                });
                if let Some(Entry::Group(g)) = entries.get_mut(idx) {
                    g.numbers.push((value, s.digits));
                }
            }
            None => {
                if literal_seen.insert(name) {
                    entries.push(Entry::Literal(name));
                }
            }
        }
    }

    let mut out = String::new();
    for entry in &mut entries {
        if !out.is_empty() {
            out.push(',');
        }
        match entry {
            Entry::Literal(name) => out.push_str(name),
            Entry::Group(g) => {
                g.numbers.sort_unstable();
                g.numbers.dedup();
                if let [(_, digits)] = g.numbers.as_slice() {
                    let _ = write!(out, "{}{digits}{}", g.prefix, g.suffix);
                    continue;
                }
                out.push_str(g.prefix);
                out.push('[');
                for (k, r) in ranges_of(&g.numbers).iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{:0w$}", r.lo, w = r.width);
                    if r.hi > r.lo {
                        let _ = write!(out, "-{:0w$}", r.hi, w = r.width);
                    }
                }
                out.push(']');
                out.push_str(g.suffix);
            }
        }
    }
    out
}

/// Turns sorted, unique `(value, digits)` pairs into ranges that expand back to exactly the
/// same digit strings. A number joins a range ending just below it when it prints the same
/// way at the range's width; ranges are returned in order of their first number.
fn ranges_of(numbers: &[(u64, &str)]) -> Vec<Range> {
    let mut ranges: Vec<Range> = Vec::new();
    // Indices of ranges that may still grow (their `hi` is the previous value seen).
    let mut open: Vec<usize> = Vec::new();
    let mut open_value: Option<u64> = None;
    let mut next_open: Vec<usize> = Vec::new();
    for &(value, digits) in numbers {
        if open_value != Some(value) {
            // A new value: ranges that ended at the previous value stay open only if they
            // can reach this one.
            let reachable = open_value.is_some_and(|v| v.checked_add(1) == Some(value));
            open = if reachable {
                std::mem::take(&mut next_open)
            } else {
                next_open.clear();
                Vec::new()
            };
            open_value = Some(value);
        }
        let fits = |r: &Range| format!("{value:0w$}", w = r.width) == digits;
        match open.iter().position(|&idx| fits(&ranges[idx])) {
            Some(pos) => {
                let idx = open.remove(pos);
                ranges[idx].hi = value;
                next_open.push(idx);
            }
            None => {
                ranges.push(Range {
                    lo: value,
                    hi: value,
                    width: digits.len(),
                });
                next_open.push(ranges.len() - 1);
            }
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn names(expr: &str) -> Vec<String> {
        expand(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"))
    }

    fn err(expr: &str) -> ParseError {
        expand(expr).expect_err(expr)
    }

    #[test]
    fn expands_ranges_and_lists() {
        assert_eq!(names("node[01-02,05]"), ["node01", "node02", "node05"]);
        assert_eq!(names("gpu-[0-15]").len(), 16);
        assert_eq!(names("gpu-[0-15]")[15], "gpu-15");
        assert_eq!(names("a[1-2]b[3-4]"), ["a1b3", "a1b4", "a2b3", "a2b4"]);
        assert_eq!(names("n1,n2"), ["n1", "n2"]);
        assert_eq!(names("n[1-2],m[3]"), ["n1", "n2", "m3"]);
        assert_eq!(
            names("slurm-demo.hpc-node-compute[01-02]"),
            [
                "slurm-demo.hpc-node-compute01",
                "slurm-demo.hpc-node-compute02"
            ]
        );
        assert_eq!(names("node[8-10]"), ["node8", "node9", "node10"]);
        assert_eq!(names("node[08-10]"), ["node08", "node09", "node10"]);
        assert_eq!(names("node[098-100]"), ["node098", "node099", "node100"]);
        assert_eq!(names("node[01-02]-ib"), ["node01-ib", "node02-ib"]);
        assert_eq!(names("[1-2]"), ["1", "2"]);
        assert_eq!(names("login"), ["login"]);
        assert_eq!(names("n[3,1]"), ["n3", "n1"]);
        assert!(names("").is_empty());
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = err("node[5-3]");
        assert_eq!(e.column, 6);
        assert_eq!(
            e.message,
            r#"invalid hostlist "node[5-3]": reversed range 5-3"#
        );
        assert_eq!(err("node[01-02").column, 5);
        assert!(err("node[01-02").message.contains("unbalanced '['"));
        assert_eq!(err("node[").column, 5);
        assert_eq!(err("node01]").column, 7);
        assert_eq!(err("node[[1]]").column, 6);
        assert_eq!(err("node[1[2]]").column, 7);
        assert_eq!(err("node[]").column, 6);
        assert!(err("node[]").message.contains("empty range"));
        assert_eq!(err("node[1,]").column, 8);
        assert_eq!(err("node[,1]").column, 6);
        assert_eq!(err("node[1-]").column, 8);
        assert_eq!(err("node[-1]").column, 6);
        assert_eq!(err("node[a-b]").column, 6);
        assert!(err("node[a-b]").message.contains("non-numeric"));
        assert_eq!(err("node[1-b]").column, 8);
        assert_eq!(err("node[1-2-3]").column, 9);
        assert_eq!(err("a,,b").column, 3);
        assert!(err("a,,b").message.contains("empty host name"));
        assert_eq!(err(",a").column, 1);
        assert_eq!(err("a,").column, 3);
        assert_eq!(err("a, b").column, 3);
        assert_eq!(err("n[99999999999999999999]").column, 3);
        assert!(err("n[0-99999999]").message.contains("more than"));
        assert!(
            err("a[0-1023]b[0-1023]c[0-1]")
                .message
                .contains("more than")
        );
    }

    #[test]
    fn compresses_like_scontrol() {
        assert_eq!(
            compress(&["node01", "node02", "node03", "node05"]),
            "node[01-03,05]"
        );
        assert_eq!(compress(&["node7"]), "node7");
        assert_eq!(compress(&["login", "node1", "node2"]), "login,node[1-2]");
        assert_eq!(compress(&["node3", "node1", "node2"]), "node[1-3]");
        assert_eq!(compress(&["n8", "n9", "n10"]), "n[8-10]");
        assert_eq!(compress(&["n08", "n09", "n10"]), "n[08-10]");
        assert_eq!(compress(&["n1", "n01", "n2", "n02"]), "n[01-02,1-2]");
        assert_eq!(compress(&["gpu1", "cpu1", "gpu2"]), "gpu[1-2],cpu1");
        assert_eq!(compress(&["a1", "a1", "a2"]), "a[1-2]");
        assert_eq!(compress(&["x", "x"]), "x");
        assert_eq!(compress(&["node01-ib", "node02-ib"]), "node[01-02]-ib");
        assert_eq!(compress(&["r1n1", "r1n2", "r2n1"]), "r1n[1-2],r2n1");
        assert_eq!(compress::<&str>(&[]), "");
        let expr = "slurm-demo.hpc-node-compute[01-02]";
        assert_eq!(compress(&names(expr)), expr);
    }

    /// Names from a few prefixes, numbers and widths (padded or not), sometimes with a suffix.
    fn host_names() -> impl Strategy<Value = Vec<String>> {
        let name = (
            prop::sample::select(vec!["node", "gpu-", "a1b", "x.y-", "", "login"]),
            prop::option::weighted(0.9, (0u64..40, 0usize..4)),
            prop::sample::select(vec!["", "", "", "-ib", "x"]),
        )
            .prop_map(|(prefix, number, suffix)| match number {
                Some((n, width)) => format!("{prefix}{n:0width$}{suffix}"),
                None if prefix.is_empty() => format!("h{suffix}"),
                None => format!("{prefix}{suffix}"),
            });
        prop::collection::vec(name, 0..40)
    }

    proptest! {
        #[test]
        fn compress_round_trips_as_a_set(names in host_names()) {
            let compressed = compress(&names);
            let expanded = expand(&compressed).map_err(|e| TestCaseError::fail(format!("{compressed:?}: {e}")))?;
            let want: BTreeSet<&str> = names.iter().map(String::as_str).collect();
            let got: BTreeSet<&str> = expanded.iter().map(String::as_str).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(expanded.len(), want_len(&names), "duplicates in {:?}", compressed);
            prop_assert_eq!(compress(&expanded), compressed);
        }

        #[test]
        fn big_numbers_round_trip(nums in prop::collection::vec(any::<u64>(), 1..8)) {
            let names: Vec<String> = nums.iter().map(|n| format!("n{n}")).collect();
            let expanded = expand(&compress(&names)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let want: BTreeSet<String> = names.into_iter().collect();
            prop_assert_eq!(expanded.into_iter().collect::<BTreeSet<_>>(), want);
        }

        #[test]
        fn never_panics(s in "[a-c0-9\\[\\],\\- ]{0,20}") {
            let _ = expand(&s);
        }
    }

    fn want_len(names: &[String]) -> usize {
        names.iter().collect::<BTreeSet<_>>().len()
    }
}
