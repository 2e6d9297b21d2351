//! sbatch's option table and a `getopt_long`-compatible scanner over it (`--opt=value`,
//! `--opt value`, `-t value`, `-tvalue`, clustered flags `-HW`, unambiguous prefixes
//! `--part=x`, `--` ending the options, the first operand ending them too).

use crate::parse::ParseError;

/// Where an argument sits: a script line (directives) or none (argv, where the column counts
/// characters in the space-joined command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: Option<usize>,
    pub column: usize,
}

impl Pos {
    pub fn error(self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }

    fn shifted(self, chars: usize) -> Self {
        Self {
            column: self.column + chars,
            ..self
        }
    }
}

/// One argument: its text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub text: String,
    pub pos: Pos,
    /// True when the text is exactly what is written at `pos` (no quotes or escapes removed),
    /// so that columns inside it can be reported.
    pub verbatim: bool,
}

impl Word {
    /// The words of an argv, positioned in the space-joined command line.
    pub fn from_argv(args: &[String]) -> Vec<Self> {
        let mut column = 1;
        args.iter()
            .map(|text| {
                let word = Self {
                    text: text.clone(),
                    pos: Pos { line: None, column },
                    verbatim: true,
                };
                column += text.chars().count() + 1;
                word
            })
            .collect()
    }

    /// The position of the character at `chars` into the text (the start when not verbatim).
    fn pos_at(&self, chars: usize) -> Pos {
        if self.verbatim {
            self.pos.shifted(chars)
        } else {
            self.pos
        }
    }
}

/// Every sbatch option this crate knows, supported or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opt {
    JobName,
    Output,
    Error,
    Input,
    Partition,
    Time,
    Nodes,
    Ntasks,
    CpusPerTask,
    Mem,
    MemPerCpu,
    Gres,
    Gpus,
    GpusPerNode,
    GpusPerTask,
    NtasksPerNode,
    Account,
    Qos,
    Array,
    Dependency,
    Hold,
    Begin,
    Exclusive,
    Export,
    Chdir,
    Wrap,
    Parsable,
    Requeue,
    NoRequeue,
    Nice,
    Comment,
    Constraint,
    Signal,
    Nodelist,
    Exclude,
    Wait,
    TestOnly,
    Verbose,
    Quiet,
    MailType,
    MailUser,
    OpenMode,
    Wckey,
    Help,
    Usage,
    Version,
    /// A real sbatch option that slinky does not implement: an error, not silently ignored.
    Unsupported,
}

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HasArg {
    No,
    Required,
    /// Only as `--opt=value` (getopt's optional arguments never take the next word).
    Optional,
}

/// One row of the option table.
#[derive(Debug)]
pub(super) struct OptDef {
    pub long: &'static str,
    pub short: Option<char>,
    pub has_arg: HasArg,
    pub opt: Opt,
}

const fn def(long: &'static str, short: Option<char>, has_arg: HasArg, opt: Opt) -> OptDef {
    OptDef {
        long,
        short,
        has_arg,
        opt,
    }
}

const fn unsupported(long: &'static str, short: Option<char>) -> OptDef {
    def(long, short, HasArg::Optional, Opt::Unsupported)
}

use HasArg::{No, Optional, Required};

/// The table: supported options first, then the sbatch options that are rejected as
/// unsupported (listed so that they are not reported as unknown, and so that prefixes
/// are as ambiguous as in sbatch).
pub(super) const OPTIONS: &[OptDef] = &[
    def("job-name", Some('J'), Required, Opt::JobName),
    def("output", Some('o'), Required, Opt::Output),
    def("error", Some('e'), Required, Opt::Error),
    def("input", Some('i'), Required, Opt::Input),
    def("partition", Some('p'), Required, Opt::Partition),
    def("time", Some('t'), Required, Opt::Time),
    def("nodes", Some('N'), Required, Opt::Nodes),
    def("ntasks", Some('n'), Required, Opt::Ntasks),
    def("cpus-per-task", Some('c'), Required, Opt::CpusPerTask),
    def("mem", None, Required, Opt::Mem),
    def("mem-per-cpu", None, Required, Opt::MemPerCpu),
    def("gres", None, Required, Opt::Gres),
    def("gpus", Some('G'), Required, Opt::Gpus),
    def("gpus-per-node", None, Required, Opt::GpusPerNode),
    def("gpus-per-task", None, Required, Opt::GpusPerTask),
    def("ntasks-per-node", None, Required, Opt::NtasksPerNode),
    def("account", Some('A'), Required, Opt::Account),
    def("qos", Some('q'), Required, Opt::Qos),
    def("array", Some('a'), Required, Opt::Array),
    def("dependency", Some('d'), Required, Opt::Dependency),
    def("hold", Some('H'), No, Opt::Hold),
    def("begin", Some('b'), Required, Opt::Begin),
    def("exclusive", None, Optional, Opt::Exclusive),
    def("export", None, Required, Opt::Export),
    def("chdir", Some('D'), Required, Opt::Chdir),
    def("wrap", None, Required, Opt::Wrap),
    def("parsable", None, No, Opt::Parsable),
    def("requeue", None, No, Opt::Requeue),
    def("no-requeue", None, No, Opt::NoRequeue),
    def("nice", None, Optional, Opt::Nice),
    def("comment", None, Required, Opt::Comment),
    def("constraint", Some('C'), Required, Opt::Constraint),
    def("signal", None, Required, Opt::Signal),
    def("nodelist", Some('w'), Required, Opt::Nodelist),
    def("exclude", Some('x'), Required, Opt::Exclude),
    def("wait", Some('W'), No, Opt::Wait),
    def("test-only", None, No, Opt::TestOnly),
    def("verbose", Some('v'), No, Opt::Verbose),
    def("quiet", Some('Q'), No, Opt::Quiet),
    def("mail-type", None, Required, Opt::MailType),
    def("mail-user", None, Required, Opt::MailUser),
    def("open-mode", None, Required, Opt::OpenMode),
    def("wckey", None, Required, Opt::Wckey),
    def("help", Some('h'), No, Opt::Help),
    def("usage", Some('u'), No, Opt::Usage),
    def("version", Some('V'), No, Opt::Version),
    unsupported("acctg-freq", None),
    unsupported("batch", None),
    unsupported("bb", None),
    unsupported("bbf", None),
    unsupported("clusters", Some('M')),
    unsupported("contiguous", None),
    unsupported("core-spec", Some('S')),
    unsupported("cores-per-socket", None),
    unsupported("cpu-freq", None),
    unsupported("cpus-per-gpu", None),
    unsupported("deadline", None),
    unsupported("delay-boot", None),
    unsupported("distribution", Some('m')),
    unsupported("export-file", None),
    unsupported("extra-node-info", Some('B')),
    unsupported("get-user-env", None),
    unsupported("gid", None),
    unsupported("gpu-bind", None),
    unsupported("gpu-freq", None),
    unsupported("gres-flags", None),
    unsupported("hint", None),
    unsupported("ignore-pbs", None),
    unsupported("immediate", Some('I')),
    unsupported("kill-on-invalid-dep", None),
    unsupported("licenses", Some('L')),
    unsupported("mcs-label", None),
    unsupported("mem-bind", None),
    unsupported("mem-per-gpu", None),
    unsupported("mincpus", None),
    unsupported("network", None),
    unsupported("no-kill", Some('k')),
    unsupported("nodefile", Some('F')),
    unsupported("ntasks-per-core", None),
    unsupported("ntasks-per-gpu", None),
    unsupported("ntasks-per-socket", None),
    unsupported("overcommit", Some('O')),
    unsupported("oversubscribe", Some('s')),
    unsupported("power", None),
    unsupported("prefer", None),
    unsupported("priority", None),
    unsupported("profile", None),
    unsupported("propagate", None),
    unsupported("reboot", None),
    unsupported("reservation", None),
    unsupported("sockets-per-node", None),
    unsupported("spread-job", None),
    unsupported("switches", None),
    unsupported("thread-spec", None),
    unsupported("threads-per-core", None),
    unsupported("time-min", None),
    unsupported("tmp", None),
    unsupported("tres-per-task", None),
    unsupported("uid", None),
    unsupported("use-min-nodes", None),
];

/// An option occurrence: which one, its value, and where it was written.
#[derive(Debug)]
pub(super) struct Occurrence {
    pub def: &'static OptDef,
    pub value: Option<Value>,
    pub pos: Pos,
}

/// An option's value and where it starts.
#[derive(Debug, Clone)]
pub(super) struct Value {
    pub text: String,
    pub pos: Pos,
    pub verbatim: bool,
}

/// The options found, and the operands from the first non-option on.
#[derive(Debug, Default)]
pub(super) struct Scanned {
    pub options: Vec<Occurrence>,
    pub operands: Vec<Word>,
}

/// Scans words as sbatch's `getopt_long` does (stopping at the first operand, as with a `+`
/// option string). Errors use getopt's wording: `unrecognized option '--foo'`,
/// `invalid option -- 'z'`, `option '--time' requires an argument`, ...
pub(super) fn scan(words: &[Word]) -> Result<Scanned, ParseError> {
    let mut out = Scanned::default();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        let text = word.text.as_str();
        if text == "--" {
            out.operands = words[i..].to_vec();
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            out.options
                .push(scan_long(word, long, words.get(i), &mut i)?);
        } else if text.len() > 1 && text.starts_with('-') {
            scan_short_cluster(word, words.get(i), &mut i, &mut out.options)?;
        } else {
            out.operands = words[i - 1..].to_vec();
            break;
        }
    }
    Ok(out)
}

/// `--name`, `--name=value`, `--name value`.
fn scan_long(
    word: &Word,
    body: &str,
    next: Option<&Word>,
    index: &mut usize,
) -> Result<Occurrence, ParseError> {
    let (name, inline) = match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    };
    let def = lookup_long(name).map_err(|message| word.pos.error(message))?;
    let value = match (def.has_arg, inline) {
        (No, Some(_)) => {
            return Err(word
                .pos
                .error(format!("option '--{}' doesn't allow an argument", def.long)));
        }
        (No, None) | (Optional, None) => None,
        (_, Some(text)) => Some(Value {
            text: text.to_owned(),
            pos: word.pos_at(name.chars().count() + 3),
            verbatim: word.verbatim,
        }),
        (Required, None) => {
            let Some(next) = next else {
                let message = format!("option '--{}' requires an argument", def.long);
                return Err(word.pos.error(message));
            };
            *index += 1;
            Some(Value {
                text: next.text.clone(),
                pos: next.pos,
                verbatim: next.verbatim,
            })
        }
    };
    Ok(Occurrence {
        def,
        value,
        pos: word.pos,
    })
}

/// Whether sbatch's option `name` (a long name or prefix without `--`, or one short
/// letter) takes its value from the next word when none is attached: `Some(true)` for
/// options with a required value, `Some(false)` for flags and optional values, `None` for
/// unknown options. Commands that share sbatch's options (srun, salloc) use it to find
/// where their options end.
pub fn takes_value(name: &str) -> Option<bool> {
    let def = if name.chars().count() == 1 {
        let c = name.chars().next()?;
        OPTIONS.iter().find(|d| d.short == Some(c))?
    } else {
        lookup_long(name).ok()?
    };
    Some(def.has_arg == Required && def.opt != Opt::Unsupported)
}

/// Finds a long option by exact name or unambiguous prefix.
fn lookup_long(name: &str) -> Result<&'static OptDef, String> {
    if let Some(def) = OPTIONS.iter().find(|d| d.long == name) {
        return Ok(def);
    }
    let candidates: Vec<&OptDef> = if name.is_empty() {
        Vec::new()
    } else {
        OPTIONS
            .iter()
            .filter(|d| d.long.starts_with(name))
            .collect()
    };
    match candidates.as_slice() {
        [def] => Ok(def),
        [] => Err(format!("unrecognized option '--{name}'")),
        many => {
            let names: Vec<String> = many.iter().map(|d| format!("'--{}'", d.long)).collect();
            Err(format!(
                "option '--{name}' is ambiguous; possibilities: {}",
                names.join(" ")
            ))
        }
    }
}

/// `-t value`, `-tvalue`, `-HW`, `-Ht 10`.
fn scan_short_cluster(
    word: &Word,
    next: Option<&Word>,
    index: &mut usize,
    out: &mut Vec<Occurrence>,
) -> Result<(), ParseError> {
    let chars: Vec<char> = word.text.chars().collect();
    for (k, &c) in chars.iter().enumerate().skip(1) {
        let pos = word.pos_at(k);
        let def = OPTIONS
            .iter()
            .find(|d| d.short == Some(c))
            .ok_or_else(|| pos.error(format!("invalid option -- '{c}'")))?;
        if def.has_arg != Required {
            out.push(Occurrence {
                def,
                value: None,
                pos,
            });
            continue;
        }
        let value = if k + 1 < chars.len() {
            Value {
                text: chars[k + 1..].iter().collect(),
                pos: word.pos_at(k + 1),
                verbatim: word.verbatim,
            }
        } else if let Some(next) = next {
            *index += 1;
            Value {
                text: next.text.clone(),
                pos: next.pos,
                verbatim: next.verbatim,
            }
        } else {
            return Err(pos.error(format!("option requires an argument -- '{c}'")));
        };
        out.push(Occurrence {
            def,
            value: Some(value),
            pos,
        });
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<Word> {
        let owned: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        Word::from_argv(&owned)
    }

    /// `(long name, value)` of each option, and the operands.
    fn scanned(args: &[&str]) -> (Vec<(&'static str, Option<String>)>, Vec<String>) {
        let out = scan(&words(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let opts = out
            .options
            .iter()
            .map(|o| (o.def.long, o.value.as_ref().map(|v| v.text.clone())))
            .collect();
        (opts, out.operands.into_iter().map(|w| w.text).collect())
    }

    fn err(args: &[&str]) -> ParseError {
        scan(&words(args)).expect_err(&format!("{args:?}"))
    }

    #[test]
    fn table_is_consistent() {
        for (i, a) in OPTIONS.iter().enumerate() {
            for b in &OPTIONS[i + 1..] {
                assert_ne!(a.long, b.long);
                assert!(a.short.is_none() || a.short != b.short, "{}", a.long);
            }
        }
    }

    #[test]
    fn value_forms() {
        let want = vec![("time", Some("10".to_owned()))];
        for args in [
            &["--time=10"][..],
            &["--time", "10"],
            &["-t", "10"],
            &["-t10"],
        ] {
            assert_eq!(scanned(args).0, want, "{args:?}");
        }
        assert_eq!(
            scanned(&["--time=-5"]).0,
            vec![("time", Some("-5".to_owned()))]
        );
        assert_eq!(
            scanned(&["-t", "-5"]).0,
            vec![("time", Some("-5".to_owned()))]
        );
        assert_eq!(
            scanned(&["--comment="]).0,
            vec![("comment", Some(String::new()))]
        );
    }

    #[test]
    fn clusters_and_optional_arguments() {
        let (opts, _) = scanned(&["-HWt", "5", "-vv"]);
        let names: Vec<&str> = opts.iter().map(|o| o.0).collect();
        assert_eq!(names, ["hold", "wait", "time", "verbose", "verbose"]);
        let (opts, operands) = scanned(&["--nice", "5"]);
        assert_eq!(opts, vec![("nice", None)]);
        assert_eq!(operands, ["5"], "optional arguments need '='");
        assert_eq!(
            scanned(&["--nice=5"]).0,
            vec![("nice", Some("5".to_owned()))]
        );
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            scanned(&["--part=a"]).0,
            vec![("partition", Some("a".to_owned()))]
        );
        assert_eq!(
            scanned(&["--cpus-per-t=2"]).0,
            vec![("cpus-per-task", Some("2".to_owned()))]
        );
        assert!(
            err(&["--cpus=2"]).message.contains("ambiguous"),
            "as in sbatch"
        );
        assert_eq!(
            scanned(&["--mem=1G"]).0,
            vec![("mem", Some("1G".to_owned()))]
        );
        let e = err(&["--mem-per=1G"]);
        assert_eq!(
            e.message,
            "option '--mem-per' is ambiguous; possibilities: '--mem-per-cpu' '--mem-per-gpu'"
        );
    }

    #[test]
    fn operands_end_the_options() {
        let (opts, operands) = scanned(&["-N", "2", "job.sh", "-n", "4"]);
        assert_eq!(opts.len(), 1);
        assert_eq!(operands, ["job.sh", "-n", "4"]);
        let (opts, operands) = scanned(&["-J", "x", "--", "-weird.sh", "a"]);
        assert_eq!(opts.len(), 1);
        assert_eq!(operands, ["-weird.sh", "a"]);
        assert_eq!(scanned(&["-"]).1, ["-"]);
    }

    #[test]
    fn getopt_error_texts() {
        assert_eq!(err(&["--foo"]).message, "unrecognized option '--foo'");
        assert_eq!(err(&["--foo=1"]).message, "unrecognized option '--foo'");
        assert_eq!(err(&["-z"]).message, "invalid option -- 'z'");
        assert_eq!(
            err(&["--time"]).message,
            "option '--time' requires an argument"
        );
        assert_eq!(err(&["-t"]).message, "option requires an argument -- 't'");
        assert_eq!(
            err(&["--parsable=1"]).message,
            "option '--parsable' doesn't allow an argument"
        );
        assert_eq!(err(&["--=x"]).message, "unrecognized option '--'");
    }

    #[test]
    fn error_columns_in_the_joined_command_line() {
        assert_eq!(err(&["-N", "2", "--foo"]).column, 6);
        assert_eq!(err(&["-Hz"]).column, 3);
        let out = scan(&words(&["-n", "4", "--time=abc"])).unwrap();
        let value = out.options[1].value.as_ref().unwrap();
        assert_eq!(value.pos.column, 13);
    }
}
