//! `#SBATCH` directives and the checks sbatch applies to a batch script.

use super::getopt::{Pos, Word};
use crate::parse::ParseError;

const MAGIC: &str = "#SBATCH";

/// The directives of a script, plus what was skipped.
#[derive(Debug, Default)]
pub(super) struct Directives {
    /// The arguments, in order, each with its line and column.
    pub words: Vec<Word>,
    /// Lines holding an `#SBATCH` directive after the first command: sbatch ignores them.
    pub ignored_lines: Vec<usize>,
}

/// Extracts the `#SBATCH` arguments of a batch script, with their 1-based line numbers.
///
/// Slurm's rules: directives are read from the top of the script until the first line that is
/// neither blank nor a comment (the `#!` line is a comment). A directive line starts with
/// `#SBATCH` in column 1, followed by whitespace, and may hold several arguments
/// (`#SBATCH -N 2 -n 4`). Arguments are split on whitespace; single and double quotes group
/// (`--comment="a b"`), a backslash escapes the next character, and an unquoted `#` at the
/// start of an argument begins a comment (`#SBATCH -t 10 # ten minutes`). `# SBATCH`,
/// `##SBATCH` and ` #SBATCH` are plain comments.
///
/// Errors: an unmatched quote (line and column of the quote).
pub fn parse_directives(script: &str) -> Result<Vec<(usize, String)>, ParseError> {
    Ok(scan(script)?
        .words
        .into_iter()
        .map(|w| (w.pos.line.unwrap_or(0), w.text))
        .collect())
}

/// [`parse_directives`] with columns, and the directives it had to ignore.
pub(super) fn scan(script: &str) -> Result<Directives, ParseError> {
    let mut out = Directives::default();
    let mut in_header = true;
    for (index, raw) in script.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match directive_body(line) {
            Some(body) if in_header => {
                out.words
                    .extend(split_arguments(body, line_no, MAGIC.len() + 1)?);
            }
            Some(_) => out.ignored_lines.push(line_no),
            None => {
                let first = line.chars().find(|c| !c.is_whitespace());
                if first.is_some_and(|c| c != '#') {
                    in_header = false;
                }
            }
        }
    }
    Ok(out)
}

/// The text after `#SBATCH` when `line` is a directive.
fn directive_body(line: &str) -> Option<&str> {
    let body = line.strip_prefix(MAGIC)?;
    match body.chars().next() {
        None => Some(body),
        Some(c) if c.is_whitespace() => Some(body),
        Some(_) => None,
    }
}

/// Splits a directive body into arguments; `first_col` is the body's column in its line.
fn split_arguments(body: &str, line: usize, first_col: usize) -> Result<Vec<Word>, ParseError> {
    let chars: Vec<char> = body.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        match chars.get(i) {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        let start = i;
        let (word, end) = read_argument(&chars, start).map_err(|quote_at| ParseError {
            line: Some(line),
            column: first_col + quote_at,
            message: format!("unmatched {} in #SBATCH directive", chars[quote_at]),
        })?;
        words.push(Word {
            verbatim: word.chars().count() == end - start,
            text: word,
            pos: Pos {
                line: Some(line),
                column: first_col + start,
            },
        });
        i = end;
    }
}

/// Reads one argument starting at `start`; returns it and the index just past it, or the
/// index of an unmatched quote.
fn read_argument(chars: &[char], start: usize) -> Result<(String, usize), usize> {
    let mut word = String::new();
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if escaped {
            escaped = false;
            word.push(c);
        } else if c == '\\' {
            escaped = true;
        } else if let Some((q, _)) = quote {
            if c == q {
                quote = None;
            } else {
                word.push(c);
            }
        } else if c == '"' || c == '\'' {
            quote = Some((c, i - 1));
        } else if c.is_whitespace() {
            i -= 1;
            break;
        } else {
            word.push(c);
        }
    }
    match quote {
        Some((_, at)) => Err(at),
        None => Ok((word, i)),
    }
}

/// sbatch's checks on a batch script, with its error texts (multi-line texts are separate
/// `sbatch: error:` lines for the caller to print).
///
/// Errors: empty script, whitespace only, no `#!` at the start, DOS line breaks (with the line
/// of the first one).
pub fn validate_script(script: &str) -> Result<(), ParseError> {
    if script.is_empty() {
        return Err(ParseError::at(1, "Batch script is empty!"));
    }
    if script.chars().all(char::is_whitespace) {
        return Err(ParseError::at(1, "Batch script contains only whitespace!"));
    }
    if !script.starts_with("#!") {
        return Err(ParseError {
            line: Some(1),
            column: 1,
            message: "This does not look like a batch script.  The first\n\
                      line must start with #! followed by the path to an interpreter.\n\
                      For instance: #!/bin/sh"
                .to_owned(),
        });
    }
    if let Some(at) = script.find("\r\n") {
        let line = script[..at].matches('\n').count() + 1;
        let column = script[..at]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        return Err(ParseError {
            line: Some(line),
            column,
            message: "Batch script contains DOS line breaks (\\r\\n)\n\
                      instead of expected UNIX line breaks (\\n)."
                .to_owned(),
        });
    }
    Ok(())
}

/// The batch script sbatch generates for `--wrap=COMMAND`.
pub fn wrap_script(command: &str) -> String {
    format!("#!/bin/sh\n# This script was created by sbatch --wrap.\n\n{command}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(script: &str) -> Vec<(usize, String)> {
        parse_directives(script).unwrap_or_else(|e| panic!("{e}"))
    }

    fn pairs(list: &[(usize, &str)]) -> Vec<(usize, String)> {
        list.iter().map(|&(l, s)| (l, s.to_owned())).collect()
    }

    /// The job script from the client's Slurm guide (seeds/003), Korean comments included.
    const GUIDE_SCRIPT: &str = "#!/bin/bash
#SBATCH --job-name=hello_world      # 작업 이름
#SBATCH --output=hello_world.out    # 표준 출력 파일 이름
#SBATCH --error=hello_world.err     # 표준 에러 파일 이름
#SBATCH --time=00:05:00             # 작업 시간 제한 (HH:MM:SS)
#SBATCH --partition=cpu             # 파티션 이름
#SBATCH --ntasks=1                  # 총 실행할 작업 수
#SBATCH --cpus-per-task=1           # 작업당 CPU 코어 수
#SBATCH --mem=1G                    # 작업당 메모리 요구량

# 실행할 명령어
echo \"Running in cpu partition\"
";

    #[test]
    fn guide_script() {
        assert_eq!(
            args(GUIDE_SCRIPT),
            pairs(&[
                (2, "--job-name=hello_world"),
                (3, "--output=hello_world.out"),
                (4, "--error=hello_world.err"),
                (5, "--time=00:05:00"),
                (6, "--partition=cpu"),
                (7, "--ntasks=1"),
                (8, "--cpus-per-task=1"),
                (9, "--mem=1G"),
            ])
        );
    }

    #[test]
    fn several_options_per_line() {
        assert_eq!(
            args("#!/bin/sh\n#SBATCH -N 2 -n 4\n#SBATCH\t--exclusive\n"),
            pairs(&[(2, "-N"), (2, "2"), (2, "-n"), (2, "4"), (3, "--exclusive")])
        );
    }

    #[test]
    fn stops_at_the_first_command() {
        let script = "#!/bin/sh\n\n  # indented comment\n#SBATCH -J a\nhostname\n#SBATCH -J b\n";
        assert_eq!(args(script), pairs(&[(4, "-J"), (4, "a")]));
        assert_eq!(scan(script).unwrap().ignored_lines, vec![6]);
    }

    #[test]
    fn lookalikes_are_comments() {
        let script = "#!/bin/sh\n# SBATCH -J a\n##SBATCH -J b\n #SBATCH -J c\n#SBATCHX -J d\n#sbatch -J e\n#SBATCH -J f\n";
        assert_eq!(args(script), pairs(&[(7, "-J"), (7, "f")]));
    }

    #[test]
    fn quotes_escapes_and_comments() {
        let script = r#"#!/bin/sh
#SBATCH --comment="two words" -J 'single # quoted'
#SBATCH --comment=a\ b --x=it\'s
#SBATCH -J name#1 # trailing comment
#SBATCH --comment= # empty value
#SBATCH --comment "" -J ''
"#;
        assert_eq!(
            args(script),
            pairs(&[
                (2, "--comment=two words"),
                (2, "-J"),
                (2, "single # quoted"),
                (3, "--comment=a b"),
                (3, "--x=it's"),
                (4, "-J"),
                (4, "name#1"),
                (5, "--comment="),
                (6, "--comment"),
                (6, ""),
                (6, "-J"),
                (6, ""),
            ])
        );
    }

    #[test]
    fn columns_and_verbatim_flags() {
        let dirs = scan("#!/bin/sh\n#SBATCH  -t 10 --comment='x y'\n").unwrap();
        let cols: Vec<(usize, bool)> = dirs
            .words
            .iter()
            .map(|w| (w.pos.column, w.verbatim))
            .collect();
        assert_eq!(cols, vec![(10, true), (13, true), (16, false)]);
    }

    #[test]
    fn dos_line_endings_are_tolerated_here() {
        assert_eq!(
            args("#!/bin/sh\r\n#SBATCH -J x\r\n"),
            pairs(&[(2, "-J"), (2, "x")])
        );
    }

    #[test]
    fn unmatched_quote_reports_line_and_column() {
        let err =
            parse_directives("#!/bin/sh\n#SBATCH -J ok\n#SBATCH --comment=\"oops\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.column, 19);
        assert!(err.message.contains("unmatched \""), "{err}");
    }

    #[test]
    fn empty_and_directive_free_scripts() {
        assert!(args("").is_empty());
        assert!(args("#!/bin/sh\necho hi\n").is_empty());
        assert!(args("#!/bin/sh\n#SBATCH\n").is_empty());
    }

    #[test]
    fn validation_texts() {
        let msg = |s: &str| validate_script(s).unwrap_err().message;
        assert_eq!(msg(""), "Batch script is empty!");
        assert_eq!(msg(" \n\t\n"), "Batch script contains only whitespace!");
        assert!(msg("echo hi\n").starts_with("This does not look like a batch script."));
        let dos = validate_script("#!/bin/sh\necho a\r\necho b\n").unwrap_err();
        assert_eq!(dos.line, Some(2));
        assert_eq!(dos.column, 7);
        assert!(
            dos.message
                .starts_with("Batch script contains DOS line breaks")
        );
        assert!(validate_script("#!/bin/bash\necho hi\n").is_ok());
    }

    #[test]
    fn wrap() {
        let script = wrap_script("sleep 600");
        assert_eq!(
            script,
            "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nsleep 600\n"
        );
        assert!(validate_script(&script).is_ok());
        assert!(args(&script).is_empty());
    }
}
