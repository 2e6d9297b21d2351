//! The column layout sacct and sstat share (Slurm's `print_fields`): a table of fields with
//! their names, default widths and whether they are numbers; `-o NAME%WIDTH` lists; a header
//! (names over dashes, or `|`-separated); rows in fixed-width columns (cut with a trailing
//! `+`, numbers never cut) or `|`-separated (`-p`: after every field, `-P`: between fields).

/// One field of a command's table: the field, its name, Slurm's default width (negative:
/// left-aligned) and whether it is a number (numbers are never cut).
pub type FieldInfo<F> = (F, &'static str, i32, bool);

/// One column of the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<F> {
    pub field: F,
    /// Negative: left-aligned.
    pub width: i32,
}

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    #[default]
    Fixed,
    /// `-p`: `|` after every field.
    Parsable,
    /// `-P`: `|` between fields.
    Parsable2,
}

/// A field's entry in `table` (an unknown one prints as `?`, 10 wide).
pub fn field_info<F: Copy + PartialEq>(table: &[FieldInfo<F>], field: F) -> FieldInfo<F> {
    table
        .iter()
        .copied()
        .find(|f| f.0 == field)
        .unwrap_or((field, "?", 10, false))
}

/// Parses a `-o` list (`JobID,MaxRSS%12,state`) with `lookup` resolving each name; a width
/// that is missing, zero or not a number is the field's default. `Err` carries the name
/// `lookup` did not know.
pub fn parse_format<F>(
    text: &str,
    lookup: impl Fn(&str) -> Option<FieldInfo<F>>,
) -> Result<Vec<Column<F>>, String> {
    let mut columns = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, width) = match item.split_once('%') {
            Some((n, w)) => (n, Some(w)),
            None => (item, None),
        };
        let Some((field, _, default_width, _)) = lookup(name) else {
            return Err(name.to_owned());
        };
        let width = width
            .and_then(|w| w.parse::<i32>().ok())
            .filter(|w| *w != 0)
            .unwrap_or(default_width);
        columns.push(Column { field, width });
    }
    Ok(columns)
}

/// `-e`: the table's field names, four to a line.
pub fn help_format<F>(table: &[FieldInfo<F>]) -> String {
    let mut out = String::new();
    for chunk in table.chunks(4) {
        let names: Vec<String> = chunk.iter().map(|f| format!("{:<20}", f.1)).collect();
        out.push_str(names.join("").trim_end());
        out.push('\n');
    }
    out
}

/// Appends one fixed-width field the way `print_fields_str` does: cut to the width with a
/// `+` in the last place (numbers are never cut), aligned, then a space.
pub fn push_fixed(out: &mut String, value: &str, width: i32, number: bool) {
    let w = width.unsigned_abs() as usize;
    let len = value.chars().count();
    let shown: String = if !number && len > w {
        let mut s: String = value.chars().take(w.saturating_sub(1)).collect();
        s.push('+');
        s
    } else {
        value.to_owned()
    };
    if width < 0 {
        out.push_str(&format!("{shown:<w$} "));
    } else {
        out.push_str(&format!("{shown:>w$} "));
    }
}

/// Appends one row of `values` (one per column) and a newline.
pub fn push_line<F: Copy + PartialEq>(
    out: &mut String,
    table: &[FieldInfo<F>],
    values: &[String],
    columns: &[Column<F>],
    style: Style,
) {
    match style {
        Style::Fixed => {
            for (v, c) in values.iter().zip(columns) {
                push_fixed(out, v, c.width, field_info(table, c.field).3);
            }
        }
        Style::Parsable => {
            for v in values {
                out.push_str(v);
                out.push('|');
            }
        }
        Style::Parsable2 => out.push_str(&values.join("|")),
    }
    out.push('\n');
}

/// The header: the columns' names over dashes in fixed-width style (names cut to the width,
/// without `+`), else one `|`-separated line.
pub fn header<F: Copy + PartialEq>(
    table: &[FieldInfo<F>],
    columns: &[Column<F>],
    style: Style,
) -> String {
    let mut out = String::new();
    let names: Vec<String> = columns
        .iter()
        .map(|c| field_info(table, c.field).1.to_owned())
        .collect();
    match style {
        Style::Fixed => {
            for (name, c) in names.iter().zip(columns) {
                let w = c.width.unsigned_abs() as usize;
                let cut: String = name.chars().take(w).collect();
                if c.width < 0 {
                    out.push_str(&format!("{cut:<w$} "));
                } else {
                    out.push_str(&format!("{cut:>w$} "));
                }
            }
            out.push('\n');
            for c in columns {
                out.push_str(&"-".repeat(c.width.unsigned_abs() as usize));
                out.push(' ');
            }
            out.push('\n');
        }
        style => push_line(&mut out, table, &names, columns, style),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[FieldInfo<u8>] = &[(1, "JobID", -12, false), (2, "NTasks", 8, true)];

    fn lookup(name: &str) -> Option<FieldInfo<u8>> {
        TABLE
            .iter()
            .copied()
            .find(|f| f.1.eq_ignore_ascii_case(name))
    }

    #[test]
    fn formats_widths_and_unknown_names() {
        let cols = parse_format("jobid%5, ntasks%0,jobid%x,", lookup).unwrap();
        let widths: Vec<(u8, i32)> = cols.iter().map(|c| (c.field, c.width)).collect();
        assert_eq!(widths, vec![(1, 5), (2, 8), (1, -12)]);
        assert_eq!(parse_format("JobID,Bogus", lookup), Err("Bogus".to_owned()));
    }

    #[test]
    fn headers_and_rows_in_every_style() {
        let cols = parse_format("JobID%-4,NTasks%3", lookup).unwrap();
        assert_eq!(header(TABLE, &cols, Style::Fixed), "JobI NTa \n---- --- \n");
        assert_eq!(header(TABLE, &cols, Style::Parsable), "JobID|NTasks|\n");
        let mut out = String::new();
        let values = ["123456".to_owned(), "12345".to_owned()];
        push_line(&mut out, TABLE, &values, &cols, Style::Fixed);
        push_line(&mut out, TABLE, &values, &cols, Style::Parsable2);
        assert_eq!(out, "123+ 12345 \n123456|12345\n");
        assert_eq!(help_format(TABLE), format!("{:<20}NTasks\n", "JobID"));
    }
}
