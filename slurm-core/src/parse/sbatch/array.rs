//! `--array` index expressions: `0-15`, `1,3,5-7`, `0-15:4`, `0-99%10`.

use crate::model::ArraySpec;
use crate::parse::ParseError;

/// The largest array index Slurm can represent (its `MaxArraySize` is at most 4000001).
///
/// Indices are bounded here so that a typo such as `0-4000000000` is an error rather than an
/// out-of-memory; the cluster's own `MaxArraySize` check is the caller's.
pub const MAX_ARRAY_INDEX: u32 = 4_000_000;

/// One `START[-END[:STEP]]` element.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: u32,
    end: u32,
    step: u32,
}

/// Parses an `--array` expression: comma-separated `N`, `N-M` or `N-M:STEP` elements, then an
/// optional `%MAX` throttle (at most MAX tasks running at once).
///
/// Indices come back sorted and without duplicates. Errors (with the column of the problem):
/// an empty expression or element, a reversed range, a zero step or throttle, an index above
/// [`MAX_ARRAY_INDEX`].
pub fn parse_array(s: &str) -> Result<ArraySpec, ParseError> {
    let (list, throttle) = match s.rfind('%') {
        Some(at) => (&s[..at], Some((&s[at + 1..], char_col(s, at + 1)))),
        None => (s, None),
    };
    if list.is_empty() {
        return Err(ParseError::at(
            1,
            format!("invalid array {s:?}: no indices"),
        ));
    }
    let max_running = throttle
        .map(|(text, col)| parse_number(s, text, col, "throttle"))
        .transpose()?;
    if max_running == Some(0) {
        let col = throttle.map_or(1, |(_, col)| col);
        return Err(invalid(s, col, "the throttle (%N) must be at least 1"));
    }
    let mut ranges = Vec::new();
    let mut offset = 0;
    for element in list.split(',') {
        ranges.push(parse_range(s, element, char_col(s, offset))?);
        offset += element.len() + 1;
    }
    Ok(ArraySpec {
        indices: collect_indices(&ranges),
        max_running,
    })
}

/// Parses `N`, `N-M` or `N-M:STEP`; `col` is the element's column in the whole expression.
fn parse_range(whole: &str, element: &str, col: usize) -> Result<Range, ParseError> {
    if element.is_empty() {
        return Err(invalid(whole, col, "empty element"));
    }
    let (bounds, step) = match element.split_once(':') {
        Some((bounds, step)) => {
            let step_col = col + bounds.chars().count() + 1;
            (bounds, Some(parse_number(whole, step, step_col, "step")?))
        }
        None => (element, None),
    };
    let (start, end) = match bounds.split_once('-') {
        Some((lo, hi)) => {
            let hi_col = col + lo.chars().count() + 1;
            let start = parse_index(whole, lo, col)?;
            (start, parse_index(whole, hi, hi_col)?)
        }
        None if step.is_some() => {
            return Err(invalid(whole, col, "a step needs a range (N-M:STEP)"));
        }
        None => {
            let index = parse_index(whole, bounds, col)?;
            (index, index)
        }
    };
    if start > end {
        return Err(invalid(
            whole,
            col,
            &format!("range {start}-{end} is reversed"),
        ));
    }
    match step {
        Some(0) => Err(invalid(whole, col, "the step must be at least 1")),
        step => Ok(Range {
            start,
            end,
            step: step.unwrap_or(1),
        }),
    }
}

fn parse_index(whole: &str, text: &str, col: usize) -> Result<u32, ParseError> {
    let index = parse_number(whole, text, col, "index")?;
    if index > MAX_ARRAY_INDEX {
        return Err(invalid(
            whole,
            col,
            &format!("index {index} exceeds the maximum {MAX_ARRAY_INDEX}"),
        ));
    }
    Ok(index)
}

fn parse_number(whole: &str, text: &str, col: usize, what: &str) -> Result<u32, ParseError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            whole,
            col,
            &format!("expected a number for the {what}"),
        ));
    }
    text.parse()
        .map_err(|_| invalid(whole, col, &format!("{what} {text} is too large")))
}

/// Sorted, deduplicated indices of all ranges. Memory is bounded by the largest index (at most
/// [`MAX_ARRAY_INDEX`]), however many overlapping ranges the expression has.
fn collect_indices(ranges: &[Range]) -> Vec<u32> {
    let top = ranges.iter().map(|r| r.end).max().unwrap_or(0);
    let mut present = vec![false; top as usize + 1];
    for range in ranges {
        let mut i = range.start;
        while i <= range.end {
            present[i as usize] = true;
            match i.checked_add(range.step) {
                Some(next) => i = next,
                None => break,
            }
        }
    }
    (0..=top).filter(|&i| present[i as usize]).collect()
}

fn invalid(whole: &str, col: usize, why: &str) -> ParseError {
    ParseError::at(col, format!("invalid array {whole:?}: {why}"))
}

/// 1-based character column of byte offset `byte` in `s`.
fn char_col(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |p| p.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indices(s: &str) -> Vec<u32> {
        parse_array(s).expect(s).indices
    }

    #[test]
    fn plain_ranges_and_lists() {
        assert_eq!(indices("0-3"), vec![0, 1, 2, 3]);
        assert_eq!(indices("7"), vec![7]);
        assert_eq!(indices("1,3,5-7"), vec![1, 3, 5, 6, 7]);
        assert_eq!(parse_array("0-15").unwrap().max_running, None);
    }

    #[test]
    fn steps() {
        assert_eq!(indices("0-15:4"), vec![0, 4, 8, 12]);
        assert_eq!(indices("1-10:3"), vec![1, 4, 7, 10]);
        assert_eq!(indices("0-15:4,1"), vec![0, 1, 4, 8, 12]);
    }

    #[test]
    fn throttle() {
        let spec = parse_array("0-99%10").unwrap();
        assert_eq!(spec.indices.len(), 100);
        assert_eq!(spec.max_running, Some(10));
        assert_eq!(parse_array("1,2%1").unwrap().max_running, Some(1));
    }

    #[test]
    fn sorted_and_deduplicated() {
        assert_eq!(indices("5-7,1,6,0-2"), vec![0, 1, 2, 5, 6, 7]);
    }

    #[test]
    fn max_index_is_bounded() {
        assert_eq!(indices("4000000"), vec![MAX_ARRAY_INDEX]);
        let err = parse_array("0-4000001").unwrap_err();
        assert!(err.message.contains("exceeds the maximum"), "{err}");
        assert_eq!(err.column, 3);
        assert!(parse_array("99999999999").is_err());
    }

    #[test]
    fn errors_carry_columns() {
        let cases = [
            ("", 1),
            ("%4", 1),
            ("1,,2", 3),
            ("5-3", 1),
            ("0-9:0", 1),
            ("0-9%0", 5),
            ("0-9%x", 5),
            ("1,a", 3),
            ("1-", 3),
            ("3:2", 1),
            ("0-9:", 5),
            ("-1", 1),
        ];
        for (input, column) in cases {
            let err = parse_array(input).expect_err(input);
            assert_eq!(err.column, column, "{input}: {err}");
            assert_eq!(err.line, None);
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["0-15", "1,3,5-7", "0-15:4", "0-99%10", "3,1,2%2"] {
            let spec = parse_array(s).unwrap();
            assert_eq!(parse_array(&spec.to_string()).unwrap(), spec, "{s}");
        }
        assert_eq!(parse_array("0-6:2%3").unwrap().to_string(), "0,2,4,6%3");
    }
}
