//! Slurm's column engine: `-o` `%` specifications, `-O` field lists and the padding rules of
//! Slurm's `_print_str`.
//!
//! A `-o` string is literal text followed by `%[.][width]code[suffix]` items. As in Slurm the
//! string is split at every `%` (so `%%` collapses and a trailing `%` is ignored), the text
//! before the first `%` is printed as it is, and everything after the one-letter code up to
//! the next `%` is a literal suffix. An unknown code is printed literally (`%` plus the rest of
//! the item) on every line, and an error is reported, exactly as squeue and sinfo do.
//!
//! Extension: a `-` before the width (`%-10j`) is accepted as an explicit "left-justify" flag
//! (left is already the default). Slurm itself treats `-` as an unknown code.
//!
//! A `-O` string is a comma-separated list of `name[:[.][width][suffix]]` items (names are
//! case-insensitive); an item without `:` gets Slurm's default width of 20.

/// The widest column accepted; larger widths are clamped (Slurm has no limit, but a typo like
/// `%99999999j` should not allocate gigabytes).
pub const MAX_WIDTH: usize = 65_535;

/// The default width of a `-O` field given without `:width`.
pub const LONG_DEFAULT_WIDTH: usize = 20;

/// One column: which field, how wide, which side it is padded on, and the text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column<F> {
    pub field: F,
    /// 0 means "as wide as the value".
    pub width: usize,
    /// `.` in the specification: pad on the left.
    pub right: bool,
    /// Literal text printed after the value.
    pub suffix: String,
}

/// A piece of a parsed layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<F> {
    /// Literal text (the prefix before the first `%`, or an unknown specification).
    Text(String),
    Column(Column<F>),
}

/// A parsed output format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout<F> {
    pub pieces: Vec<Piece<F>>,
}

impl<F> Default for Layout<F> {
    fn default() -> Self {
        Self { pieces: Vec::new() }
    }
}

impl<F: Copy> Layout<F> {
    /// The columns in order (literal pieces skipped).
    pub fn columns(&self) -> impl Iterator<Item = &Column<F>> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Column(c) => Some(c),
            Piece::Text(_) => None,
        })
    }

    /// True when any column shows `field`.
    pub fn has(&self, field: F) -> bool
    where
        F: PartialEq,
    {
        self.columns().any(|c| c.field == field)
    }
}

/// A layout plus the error messages Slurm reports while parsing it (for example
/// `Invalid job format specification: x`; the commands add their own prefix). Parsing never
/// fails: Slurm prints what it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<F> {
    pub layout: Layout<F>,
    pub errors: Vec<String>,
}

impl<F> Parsed<F> {
    /// The same, with `prefix` put before every error message (`squeue: error: `).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        for e in &mut self.errors {
            e.insert_str(0, prefix);
        }
        self
    }
}

/// One row of a command's field table: the field, its `%` letter, its `-O` names, its
/// header, and whether the header is cut to the column width.
pub type FieldDef<F> = (F, Option<char>, &'static [&'static str], &'static str, bool);

/// The fields of one command's columns (squeue's jobs, sinfo's nodes), looked up in its
/// table.
pub trait FieldTable: Copy + PartialEq + 'static {
    /// Every field, once each; the first row stands in for a field missing from the table.
    const FIELDS: &'static [FieldDef<Self>];

    /// The field a `%` letter selects.
    fn from_code(code: char) -> Option<Self> {
        Self::FIELDS.iter().find(|d| d.1 == Some(code)).map(|d| d.0)
    }

    /// The field a `-O` name selects (case-insensitive).
    fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        Self::FIELDS
            .iter()
            .find(|d| d.2.contains(&name.as_str()))
            .map(|d| d.0)
    }

    /// The field's row of the table.
    fn def(self) -> &'static FieldDef<Self> {
        // Every variant is in the table (checked by tests); the fallback keeps this total.
        Self::FIELDS
            .iter()
            .find(|d| d.0 == self)
            .unwrap_or(&Self::FIELDS[0])
    }

    /// The column header.
    fn header(self) -> &'static str {
        self.def().3
    }
}

/// What squeue's and sinfo's printing produces: the table, and error lines for stderr
/// (unknown format codes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Printed {
    pub stdout: String,
    pub stderr: Vec<String>,
}

/// Parses a `%` format. `lookup` maps a code letter to a field; `what` names the format in
/// error messages (`job`, `node`).
pub fn parse_percent<F>(format: &str, what: &str, lookup: impl Fn(char) -> Option<F>) -> Parsed<F> {
    let mut pieces = Vec::new();
    let mut errors = Vec::new();
    let (prefix, rest) = match format.find('%') {
        Some(i) => (&format[..i], &format[i..]),
        None => (format, ""),
    };
    if !prefix.is_empty() {
        pieces.push(Piece::Text(prefix.to_owned()));
    }
    for token in rest.split('%').filter(|t| !t.is_empty()) {
        let spec = parse_token(token);
        match spec.code.and_then(&lookup) {
            Some(field) => pieces.push(Piece::Column(Column {
                field,
                width: spec.width,
                right: spec.right,
                suffix: spec.suffix.to_owned(),
            })),
            None => {
                pieces.push(Piece::Text(format!("%{token}")));
                let code = spec.code.map(String::from).unwrap_or_default();
                errors.push(format!("Invalid {what} format specification: {code}"));
            }
        }
    }
    Parsed {
        layout: Layout { pieces },
        errors,
    }
}

/// Parses a `-O` field list. `lookup` maps a lower-case field name to a field.
pub fn parse_long<F>(format: &str, what: &str, lookup: impl Fn(&str) -> Option<F>) -> Parsed<F> {
    let mut pieces = Vec::new();
    let mut errors = Vec::new();
    for token in format.split(',').filter(|t| !t.is_empty()) {
        let (name, width, right, suffix) = parse_long_token(token);
        match lookup(&name.to_ascii_lowercase()) {
            Some(field) => pieces.push(Piece::Column(Column {
                field,
                width,
                right,
                suffix: suffix.to_owned(),
            })),
            None => {
                // Slurm adds an "invalid" column that prints only its suffix.
                if !suffix.is_empty() {
                    pieces.push(Piece::Text(suffix.to_owned()));
                }
                errors.push(format!("Invalid {what} format specification: {name}"));
            }
        }
    }
    Parsed {
        layout: Layout { pieces },
        errors,
    }
}

struct TokenSpec<'a> {
    right: bool,
    width: usize,
    code: Option<char>,
    suffix: &'a str,
}

/// `[.|-][digits]code[suffix]` (the text after one `%`).
fn parse_token(token: &str) -> TokenSpec<'_> {
    let (right, rest) = match token.as_bytes().first() {
        Some(b'.') => (true, &token[1..]),
        Some(b'-') if rest_starts_with_digit_or_code(&token[1..]) => (false, &token[1..]),
        _ => (false, token),
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let width = parse_width(&rest[..digits]);
    let after = &rest[digits..];
    let mut chars = after.chars();
    let code = chars.next();
    TokenSpec {
        right,
        width,
        code,
        suffix: chars.as_str(),
    }
}

/// `%-` is only a flag when a width or a code follows (`%-` alone stays literal).
fn rest_starts_with_digit_or_code(rest: &str) -> bool {
    rest.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// `name[:[.][digits][suffix]]`.
fn parse_long_token(token: &str) -> (&str, usize, bool, &str) {
    let Some((name, spec)) = token.split_once(':') else {
        return (token, LONG_DEFAULT_WIDTH, false, "");
    };
    let (right, spec) = match spec.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let digits = spec.len() - spec.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    (name, parse_width(&spec[..digits]), right, &spec[digits..])
}

fn parse_width(digits: &str) -> usize {
    digits
        .bytes()
        .fold(0usize, |acc, d| {
            acc.saturating_mul(10).saturating_add(usize::from(d - b'0'))
        })
        .min(MAX_WIDTH)
}

/// Appends `value` padded the way Slurm's `_print_str` does:
///
/// * width 0: the value as it is;
/// * left-justified: cut to `width`, then padded with spaces on the right;
/// * right-justified: padded with spaces on the left; cut to `width` only when `cut` is set
///   (Slurm does not cut times and node lists, so `%.9l` can print `365-00:00:00`).
///
/// Widths count characters (Slurm counts bytes; they differ only for non-ASCII text, which
/// this never splits).
pub fn pad_into(out: &mut String, value: &str, width: usize, right: bool, cut: bool) {
    if width == 0 {
        out.push_str(value);
        return;
    }
    let len = value.chars().count();
    if right {
        let shown = if cut { truncate(value, width) } else { value };
        let shown_len = if cut { len.min(width) } else { len };
        push_spaces(out, width.saturating_sub(shown_len));
        out.push_str(shown);
    } else {
        out.push_str(truncate(value, width));
        push_spaces(out, width.saturating_sub(len));
    }
}

/// The first `max` characters of `s`.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Renders one line of a layout. `width_of` gives each column's effective width (sinfo
/// widens `%#P`/`%#N` columns); `value` gives a column's text for that width and whether
/// Slurm cuts it to the width.
pub fn render_line<F: Copy>(
    out: &mut String,
    layout: &Layout<F>,
    width_of: impl Fn(&Column<F>) -> usize,
    mut value: impl FnMut(F, usize) -> (String, bool),
) {
    for piece in &layout.pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Column(c) => {
                let width = width_of(c);
                let (text, cut) = value(c.field, width);
                pad_into(out, &text, width, c.right, cut);
                out.push_str(&c.suffix);
            }
        }
    }
    out.push('\n');
}

/// Renders the header line of a layout: each column's header, cut to the width where the
/// field's table says so.
pub fn render_header<F: FieldTable>(
    out: &mut String,
    layout: &Layout<F>,
    width_of: impl Fn(&Column<F>) -> usize,
) {
    render_line(out, layout, width_of, |f, _| {
        (f.header().to_owned(), f.def().4)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(c: char) -> Option<char> {
        "ijMRT".contains(c).then_some(c)
    }

    fn columns(p: &Parsed<char>) -> Vec<(char, usize, bool, String)> {
        p.layout
            .columns()
            .map(|c| (c.field, c.width, c.right, c.suffix.clone()))
            .collect()
    }

    #[test]
    fn widths_justification_and_suffixes() {
        let p = parse_percent("%.18i %-10j%5M|%R", "job", lookup);
        assert!(p.errors.is_empty());
        assert_eq!(
            columns(&p),
            vec![
                ('i', 18, true, " ".into()),
                ('j', 10, false, String::new()),
                ('M', 5, false, "|".into()),
                ('R', 0, false, String::new()),
            ]
        );
    }

    #[test]
    fn prefix_text_and_collapsed_percents() {
        let p = parse_percent("id=%i%%T end%", "job", lookup);
        assert_eq!(p.layout.pieces[0], Piece::Text("id=".into()));
        assert_eq!(
            columns(&p),
            vec![
                ('i', 0, false, String::new()),
                ('T', 0, false, " end".into())
            ]
        );
        let all_text = parse_percent("no codes", "job", lookup);
        assert_eq!(all_text.layout.pieces, vec![Piece::Text("no codes".into())]);
    }

    #[test]
    fn unknown_codes_print_literally_and_report() {
        let p = parse_percent("%i %.5q: %", "job", lookup);
        assert_eq!(
            p.layout.pieces[1],
            Piece::Text("%.5q: ".into()),
            "the whole item is kept"
        );
        assert_eq!(p.errors, vec!["Invalid job format specification: q"]);
        let bare = parse_percent("%.12", "job", lookup);
        assert_eq!(bare.layout.pieces, vec![Piece::Text("%.12".into())]);
        assert_eq!(bare.errors.len(), 1);
    }

    #[test]
    fn long_format_tokens() {
        let p = parse_long("JobID,name:.8,STATE:12|x,,bogus:3!", "job", |n| match n {
            "jobid" => Some('i'),
            "name" => Some('j'),
            "state" => Some('T'),
            _ => None,
        });
        assert_eq!(
            columns(&p),
            vec![
                ('i', 20, false, String::new()),
                ('j', 8, true, String::new()),
                ('T', 12, false, "|x".into()),
            ]
        );
        assert_eq!(p.layout.pieces.last(), Some(&Piece::Text("!".into())));
        assert_eq!(p.errors, vec!["Invalid job format specification: bogus"]);
    }

    #[test]
    fn padding_rules() {
        let pad = |v: &str, w, r, c| {
            let mut s = String::new();
            pad_into(&mut s, v, w, r, c);
            s
        };
        assert_eq!(pad("abc", 0, true, true), "abc");
        assert_eq!(pad("abc", 5, false, true), "abc  ");
        assert_eq!(pad("abcdef", 4, false, false), "abcd", "left always cuts");
        assert_eq!(pad("abc", 5, true, true), "  abc");
        assert_eq!(pad("abcdef", 4, true, true), "abcd");
        assert_eq!(pad("abcdef", 4, true, false), "abcdef");
        assert_eq!(pad("é€ü", 2, false, true), "é€");
    }

    proptest::proptest! {
        #[test]
        fn parsing_and_rendering_never_panic(format in "\\PC{0,40}", value in "\\PC{0,20}") {
            let p = parse_percent(&format, "job", lookup);
            let mut out = String::new();
            render_line(&mut out, &p.layout, |c| c.width.min(64), |_, _| (value.clone(), true));
            let long = parse_long(&format, "job", |n| (n == "x").then_some('x'));
            render_line(&mut out, &long.layout, |c| c.width.min(64), |_, _| (value.clone(), false));
        }

        #[test]
        fn cut_columns_are_exactly_as_wide_as_asked(
            value in "\\PC{0,30}",
            width in 1usize..40,
            right: bool,
        ) {
            let mut s = String::new();
            pad_into(&mut s, &value, width, right, true);
            proptest::prop_assert_eq!(s.chars().count(), width);
        }
    }

    #[test]
    fn huge_widths_are_clamped() {
        let p = parse_percent("%99999999999999999999999i", "job", lookup);
        assert_eq!(columns(&p)[0].1, MAX_WIDTH);
    }
}
