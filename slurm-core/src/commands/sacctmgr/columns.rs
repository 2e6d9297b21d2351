//! The listing layout every `sacctmgr show` shares: `format=Name[%WIDTH]` lists, a header
//! (names over dashes), values right-aligned in their width and cut with a trailing `+`, or
//! `|`-separated with `-p`/`-P`.

use super::Flags;

/// One field of a listing's table: the names `format=` accepts (lower case, matched by
/// substring), the field, its header and its default width.
pub type FieldSpec<F> = (&'static [&'static str], F, &'static str, usize);

/// A column of the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<F> {
    pub field: F,
    pub header: &'static str,
    /// Values are right-aligned in this width, cut with a trailing `+`.
    pub width: usize,
}

/// Parses `format=`: names with an optional `%WIDTH`, looked up in `table`; the error is
/// sacctmgr's line for a field it does not know.
pub fn parse_format<F: Copy>(text: &str, table: &[FieldSpec<F>]) -> Result<Vec<Column<F>>, String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, width) = match item.split_once('%') {
                Some((n, w)) => (
                    n,
                    Some(
                        w.parse::<usize>()
                            .map_err(|_| format!(" Unknown field '{item}'"))?,
                    ),
                ),
                None => (item, None),
            };
            let lower = name.to_ascii_lowercase();
            let &(_, field, header, w) = table
                .iter()
                .find(|f| f.0.contains(&lower.as_str()))
                .ok_or_else(|| format!(" Unknown field '{name}'"))?;
            Ok(Column {
                field,
                header,
                width: width.unwrap_or(w),
            })
        })
        .collect()
}

/// One value right-aligned in `width` (cut to it with a trailing `+`), then a space.
fn cell(out: &mut String, text: &str, width: usize) {
    let n = text.chars().count();
    let text: String = if n > width {
        let mut t: String = text.chars().take(width.saturating_sub(1)).collect();
        t.push('+');
        t
    } else {
        text.to_owned()
    };
    out.push_str(&format!("{text:>width$} "));
}

/// One line of values, one per column.
pub fn line<F>(out: &mut String, values: &[String], columns: &[Column<F>], flags: Flags) {
    match flags.parsable {
        Some(trailing) => {
            out.push_str(&values.join("|"));
            if trailing {
                out.push('|');
            }
        }
        None => {
            for (v, c) in values.iter().zip(columns) {
                cell(out, v, c.width);
            }
        }
    }
    out.push('\n');
}

/// The header (unless `-n`): the columns' names, over dashes when not parsable.
pub fn header<F>(out: &mut String, columns: &[Column<F>], flags: Flags) {
    if flags.no_header {
        return;
    }
    let headers: Vec<String> = columns.iter().map(|c| c.header.to_owned()).collect();
    line(out, &headers, columns, flags);
    if flags.parsable.is_none() {
        for c in columns {
            out.push_str(&"-".repeat(c.width));
            out.push(' ');
        }
        out.push('\n');
    }
}
