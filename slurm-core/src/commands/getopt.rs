//! A `getopt_long` work-alike for the commands' option tables: `--opt=value`, `--opt value`,
//! `-o value`, `-ovalue`, clustered flags (`-hl`), unambiguous prefixes of long names
//! (`--form` for `--format`), GNU argument permutation (options may follow operands), `--`
//! ending the options. Errors are worded as glibc words them, so that the commands can print
//! `squeue: unrecognized option '--foo'` like Slurm's.

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    /// Only attached: `--opt=value` or `-ovalue` (getopt never takes the next word).
    Optional,
}

/// One row of an option table. `long` may be empty for short-only options.
#[derive(Debug, Clone, Copy)]
pub struct Opt<K> {
    pub long: &'static str,
    pub short: Option<char>,
    pub has_arg: HasArg,
    pub key: K,
}

/// Builds a table row.
pub const fn opt<K>(long: &'static str, short: Option<char>, has_arg: HasArg, key: K) -> Opt<K> {
    Opt {
        long,
        short,
        has_arg,
        key,
    }
}

/// The options found (in command-line order, with their values) and the operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches<K> {
    pub opts: Vec<(K, Option<String>)>,
    pub operands: Vec<String>,
}

/// A command line getopt refuses, worded as glibc prints it (without the program name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetoptError {
    #[error("unrecognized option '{0}'")]
    Unrecognized(String),
    #[error("invalid option -- '{0}'")]
    InvalidShort(char),
    #[error("option requires an argument -- '{0}'")]
    MissingShort(char),
    #[error("option '--{0}' requires an argument")]
    MissingLong(&'static str),
    #[error("option '--{0}' doesn't allow an argument")]
    NoArgAllowed(&'static str),
    #[error("option '{given}' is ambiguous; possibilities:{}", possibilities(.candidates))]
    Ambiguous {
        given: String,
        candidates: Vec<&'static str>,
    },
}

fn possibilities(candidates: &[&str]) -> String {
    candidates.iter().map(|c| format!(" '--{c}'")).collect()
}

/// Parses `args` (without the program name) against `table`.
pub fn parse<K: Copy + PartialEq>(
    args: &[String],
    table: &[Opt<K>],
) -> Result<Matches<K>, GetoptError> {
    let mut out = Matches {
        opts: Vec::new(),
        operands: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            out.operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let def = lookup_long(table, name, arg)?;
            let value = match (def.has_arg, attached) {
                (HasArg::No, Some(_)) => return Err(GetoptError::NoArgAllowed(def.long)),
                (HasArg::No, None) | (HasArg::Optional, None) => None,
                (_, Some(v)) => Some(v),
                (HasArg::Required, None) => {
                    let v = args.get(i).ok_or(GetoptError::MissingLong(def.long))?;
                    i += 1;
                    Some(v.clone())
                }
            };
            out.opts.push((def.key, value));
        } else if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg.chars().skip(1).collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                let def = table
                    .iter()
                    .find(|d| d.short == Some(c))
                    .ok_or(GetoptError::InvalidShort(c))?;
                let rest: String = chars[j..].iter().collect();
                let value = match def.has_arg {
                    HasArg::No => None,
                    HasArg::Optional => {
                        j = chars.len();
                        (!rest.is_empty()).then_some(rest)
                    }
                    HasArg::Required => {
                        j = chars.len();
                        if rest.is_empty() {
                            let v = args.get(i).ok_or(GetoptError::MissingShort(c))?;
                            i += 1;
                            Some(v.clone())
                        } else {
                            Some(rest)
                        }
                    }
                };
                out.opts.push((def.key, value));
            }
        } else {
            out.operands.push(arg.clone());
        }
    }
    Ok(out)
}

/// An exact long name, else the only option it abbreviates (options that share a key and
/// argument kind count as one, as in glibc).
fn lookup_long<'t, K: Copy + PartialEq>(
    table: &'t [Opt<K>],
    name: &str,
    given: &str,
) -> Result<&'t Opt<K>, GetoptError> {
    let shown = || given.split('=').next().unwrap_or(given).to_owned();
    if name.is_empty() {
        return Err(GetoptError::Unrecognized(given.to_owned()));
    }
    if let Some(def) = table.iter().find(|d| !d.long.is_empty() && d.long == name) {
        return Ok(def);
    }
    let candidates: Vec<&Opt<K>> = table
        .iter()
        .filter(|d| !d.long.is_empty() && d.long.starts_with(name))
        .collect();
    match candidates.as_slice() {
        [] => Err(GetoptError::Unrecognized(shown())),
        [first, rest @ ..]
            if rest
                .iter()
                .all(|d| d.key == first.key && d.has_arg == first.has_arg) =>
        {
            Ok(first)
        }
        _ => Err(GetoptError::Ambiguous {
            given: shown(),
            candidates: candidates.iter().map(|d| d.long).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum K {
        Format,
        FormatLong,
        Help,
        Jobs,
        Long,
        Start,
        States,
        User,
    }

    const TABLE: &[Opt<K>] = &[
        opt("format", Some('o'), HasArg::Required, K::Format),
        opt("Format", Some('O'), HasArg::Required, K::FormatLong),
        opt("noheader", Some('h'), HasArg::No, K::Help),
        opt("jobs", Some('j'), HasArg::Optional, K::Jobs),
        opt("long", Some('l'), HasArg::No, K::Long),
        opt("start", None, HasArg::No, K::Start),
        opt("states", Some('t'), HasArg::Required, K::States),
        opt("user", Some('u'), HasArg::Required, K::User),
        opt("users", None, HasArg::Required, K::User),
    ];

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    fn run(s: &[&str]) -> Result<Matches<K>, GetoptError> {
        parse(&args(s), TABLE)
    }

    #[test]
    fn values_in_every_spelling() {
        let m = run(&["-o", "%i", "-t%T", "--user=bob", "--states", "PD", "-hl"]).unwrap();
        assert_eq!(
            m.opts,
            vec![
                (K::Format, Some("%i".into())),
                (K::States, Some("%T".into())),
                (K::User, Some("bob".into())),
                (K::States, Some("PD".into())),
                (K::Help, None),
                (K::Long, None),
            ]
        );
        assert!(m.operands.is_empty());
    }

    #[test]
    fn a_required_value_may_start_with_a_dash() {
        let m = run(&["-o", "-x", "--format", "--y"]).unwrap();
        assert_eq!(m.opts[0], (K::Format, Some("-x".into())));
        assert_eq!(m.opts[1], (K::Format, Some("--y".into())));
    }

    #[test]
    fn optional_values_are_attached_only() {
        let m = run(&["-j", "12", "-j34", "--jobs=5"]).unwrap();
        assert_eq!(
            m.opts,
            vec![
                (K::Jobs, None),
                (K::Jobs, Some("34".into())),
                (K::Jobs, Some("5".into()))
            ]
        );
        assert_eq!(m.operands, vec!["12".to_owned()]);
    }

    #[test]
    fn operands_anywhere_and_after_double_dash() {
        let m = run(&["12", "-h", "13", "--", "-l"]).unwrap();
        assert_eq!(m.opts, vec![(K::Help, None)]);
        assert_eq!(m.operands, args(&["12", "13", "-l"]));
        assert_eq!(run(&["-"]).unwrap().operands, args(&["-"]));
    }

    #[test]
    fn prefixes_exact_names_and_ambiguity() {
        // Long names are case-sensitive: `--form` abbreviates `--format` only.
        assert_eq!(run(&["--form=x"]).unwrap().opts[0].0, K::Format);
        assert_eq!(run(&["--format=x"]).unwrap().opts[0].0, K::Format);
        assert_eq!(run(&["--Format=x"]).unwrap().opts[0].0, K::FormatLong);
        assert_eq!(run(&["--lo"]).unwrap().opts[0].0, K::Long);
        // --user and --users are one option.
        assert_eq!(run(&["--use=x"]).unwrap().opts[0].0, K::User);
        assert_eq!(
            run(&["--st"]).unwrap_err().to_string(),
            "option '--st' is ambiguous; possibilities: '--start' '--states'"
        );
    }

    #[test]
    fn errors_are_worded_like_glibc() {
        let e = |s: &[&str]| run(s).unwrap_err().to_string();
        assert_eq!(e(&["--foo"]), "unrecognized option '--foo'");
        assert_eq!(e(&["--foo=1"]), "unrecognized option '--foo'");
        assert_eq!(e(&["-z"]), "invalid option -- 'z'");
        assert_eq!(e(&["-o"]), "option requires an argument -- 'o'");
        assert_eq!(e(&["--format"]), "option '--format' requires an argument");
        assert_eq!(
            e(&["--long=1"]),
            "option '--long' doesn't allow an argument"
        );
        assert!(run(&["--"]).is_ok());
    }
}
