//! Option values: from an option occurrence (argv, directive or environment variable) to a
//! typed [`Setting`].

use std::collections::BTreeMap;

use super::getopt::{HasArg, OPTIONS, Occurrence, Opt, OptDef, Pos, Value};
use super::{parse_array, parse_begin, parse_dependency};
use crate::model::{ArraySpec, DependencySpec, Gres, MemRequest, OpenMode, TimeLimit, Timestamp};
use crate::parse::{ParseError, duration, hostlist, memory, tres};

/// Slurm's bound on `--nice` (`NICE_OFFSET - 3`).
const MAX_NICE: i64 = 2_147_483_645;

/// The `--nice` adjustment when no value is given.
const DEFAULT_NICE: i32 = 100;

/// Where a setting came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Layer {
    Script,
    Env,
    CommandLine,
}

/// `--gpus`, `--gpus-per-node` or `--gpus-per-task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GpuScope {
    Job,
    Node,
    Task,
}

/// One option with its value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Setting {
    Name(String),
    Stdout(String),
    Stderr(String),
    Stdin(String),
    Partitions(Vec<String>),
    Time(TimeLimit),
    Nodes(u32, Option<u32>),
    Ntasks(u32),
    CpusPerTask(u32),
    NtasksPerNode(u32),
    Mem(MemRequest),
    Gres(Vec<Gres>),
    /// `None` for a zero count (`--gpus=0`: no GPUs).
    Gpus(GpuScope, Option<Gres>),
    Account(String),
    Qos(String),
    Array(ArraySpec),
    Dependency(DependencySpec),
    Begin(Timestamp),
    Hold,
    Exclusive,
    Export(String),
    Chdir(String),
    Wrap(String),
    Parsable,
    Requeue(bool),
    Nice(i32),
    Comment(String),
    Constraint(Vec<String>),
    Signal(String),
    Nodelist(Vec<String>),
    Exclude(Vec<String>),
    Wait,
    TestOnly,
    Verbose,
    Quiet,
    MailType(String),
    MailUser(String),
    /// `--open-mode=append|truncate` (Slurm reads the first letter only).
    OpenMode(OpenMode),
    /// `--wckey`: accepted and not recorded (no workload characterization keys here).
    Wckey(String),
    Help,
    Usage,
    Version,
}

/// A setting, where it was written and in which layer.
#[derive(Debug, Clone)]
pub(super) struct Located {
    pub setting: Setting,
    pub pos: Pos,
    pub layer: Layer,
}

/// The clock `--begin` is resolved against.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeRef {
    pub now: Timestamp,
    pub tz_offset_secs: i32,
}

/// Environment variables sbatch reads as option defaults, and the option each one sets.
const ENV_OPTIONS: &[(&str, Opt)] = &[
    ("SBATCH_ACCOUNT", Opt::Account),
    ("SBATCH_ARRAY_INX", Opt::Array),
    ("SBATCH_CONSTRAINT", Opt::Constraint),
    ("SBATCH_ERROR", Opt::Error),
    ("SBATCH_EXCLUSIVE", Opt::Exclusive),
    ("SBATCH_EXPORT", Opt::Export),
    ("SBATCH_GPUS", Opt::Gpus),
    ("SBATCH_GPUS_PER_NODE", Opt::GpusPerNode),
    ("SBATCH_GPUS_PER_TASK", Opt::GpusPerTask),
    ("SBATCH_GRES", Opt::Gres),
    ("SBATCH_INPUT", Opt::Input),
    ("SBATCH_JOB_NAME", Opt::JobName),
    ("SBATCH_MEM_PER_CPU", Opt::MemPerCpu),
    ("SBATCH_MEM_PER_NODE", Opt::Mem),
    ("SBATCH_NO_REQUEUE", Opt::NoRequeue),
    ("SBATCH_OPEN_MODE", Opt::OpenMode),
    ("SBATCH_OUTPUT", Opt::Output),
    ("SBATCH_PARTITION", Opt::Partition),
    ("SBATCH_QOS", Opt::Qos),
    ("SBATCH_REQUEUE", Opt::Requeue),
    ("SBATCH_SIGNAL", Opt::Signal),
    ("SBATCH_TIMELIMIT", Opt::Time),
    ("SBATCH_WAIT", Opt::Wait),
];

/// Parses scanned options of one layer.
pub(super) fn from_occurrences(
    occurrences: &[Occurrence],
    layer: Layer,
    time: TimeRef,
) -> Result<Vec<Located>, ParseError> {
    occurrences
        .iter()
        .map(|occ| {
            Ok(Located {
                setting: parse_occurrence(occ, time, None)?,
                pos: occ.pos,
                layer,
            })
        })
        .collect()
}

/// The settings given by `SBATCH_*` environment variables. A flag variable is on when empty,
/// `yes` or a non-zero number, as in sbatch; other values leave it off.
pub(super) fn from_env(
    env: &BTreeMap<String, String>,
    time: TimeRef,
) -> Result<Vec<Located>, ParseError> {
    let mut out = Vec::new();
    for &(var, opt) in ENV_OPTIONS {
        let Some(raw) = env.get(var) else { continue };
        let Some(def) = OPTIONS.iter().find(|d| d.opt == opt) else {
            continue;
        };
        let pos = Pos {
            line: None,
            column: 1,
        };
        let value = match def.has_arg {
            HasArg::Required => Some(Value {
                text: raw.clone(),
                pos,
                verbatim: true,
            }),
            HasArg::No | HasArg::Optional if flag_enabled(raw) => None,
            HasArg::No | HasArg::Optional => continue,
        };
        let occ = Occurrence { def, value, pos };
        out.push(Located {
            setting: parse_occurrence(&occ, time, Some(var))?,
            pos,
            layer: Layer::Env,
        });
    }
    Ok(out)
}

fn flag_enabled(value: &str) -> bool {
    value.is_empty()
        || value.eq_ignore_ascii_case("yes")
        || value.parse::<i64>().is_ok_and(|n| n != 0)
}

/// Parses one occurrence; `env_var` names the variable it came from, if any.
fn parse_occurrence(
    occ: &Occurrence,
    time: TimeRef,
    env_var: Option<&str>,
) -> Result<Setting, ParseError> {
    let def = occ.def;
    let Some(value) = &occ.value else {
        return flag_setting(def).ok_or_else(|| unsupported(occ));
    };
    parse_value(def.opt, &value.text, time).map_err(|inner| match inner {
        ValueError::Invalid(inner) => value_error(def, value, inner, env_var),
        ValueError::Unsupported => unsupported(occ),
    })
}

/// The setting of an option given without a value.
fn flag_setting(def: &OptDef) -> Option<Setting> {
    Some(match def.opt {
        Opt::Hold => Setting::Hold,
        Opt::Exclusive => Setting::Exclusive,
        Opt::Parsable => Setting::Parsable,
        Opt::Requeue => Setting::Requeue(true),
        Opt::NoRequeue => Setting::Requeue(false),
        Opt::Nice => Setting::Nice(DEFAULT_NICE),
        Opt::Wait => Setting::Wait,
        Opt::TestOnly => Setting::TestOnly,
        Opt::Verbose => Setting::Verbose,
        Opt::Quiet => Setting::Quiet,
        Opt::Help => Setting::Help,
        Opt::Usage => Setting::Usage,
        Opt::Version => Setting::Version,
        _ => return None,
    })
}

/// Why a value was refused.
enum ValueError {
    Invalid(ParseError),
    Unsupported,
}

impl From<ParseError> for ValueError {
    fn from(e: ParseError) -> Self {
        Self::Invalid(e)
    }
}

/// Parses the value of an option that takes one.
fn parse_value(opt: Opt, v: &str, time: TimeRef) -> Result<Setting, ValueError> {
    let text = || v.to_owned();
    Ok(match opt {
        Opt::JobName => Setting::Name(text()),
        Opt::Output => Setting::Stdout(io_path(v)),
        Opt::Error => Setting::Stderr(io_path(v)),
        Opt::Input => Setting::Stdin(io_path(v)),
        Opt::Partition => Setting::Partitions(parse_name_list(v, "partition")?),
        Opt::Time => Setting::Time(duration::parse_time_limit(v)?),
        Opt::Nodes => {
            let (min, max) = parse_nodes(v)?;
            Setting::Nodes(min, max)
        }
        Opt::Ntasks => Setting::Ntasks(parse_positive(v)?),
        Opt::CpusPerTask => Setting::CpusPerTask(parse_positive(v)?),
        Opt::NtasksPerNode => Setting::NtasksPerNode(parse_positive(v)?),
        Opt::Mem => Setting::Mem(match memory::parse_mem_mb(v)? {
            0 => MemRequest::WholeNode,
            mb => MemRequest::PerNode(mb),
        }),
        Opt::MemPerCpu => Setting::Mem(match memory::parse_mem_mb(v)? {
            0 => return Err(ParseError::at(1, "must be greater than 0").into()),
            mb => MemRequest::PerCpu(mb),
        }),
        Opt::Gres => Setting::Gres(tres::parse_gres_list(v)?),
        Opt::Gpus => Setting::Gpus(GpuScope::Job, parse_gpus(v)?),
        Opt::GpusPerNode => Setting::Gpus(GpuScope::Node, parse_gpus(v)?),
        Opt::GpusPerTask => Setting::Gpus(GpuScope::Task, parse_gpus(v)?),
        Opt::Account => Setting::Account(text()),
        Opt::Qos => Setting::Qos(text()),
        Opt::Array => Setting::Array(parse_array(v)?),
        Opt::Dependency => Setting::Dependency(parse_dependency(v)?),
        Opt::Begin => Setting::Begin(parse_begin(v, time.now, time.tz_offset_secs)?),
        Opt::Exclusive if v.is_empty() => Setting::Exclusive,
        Opt::Exclusive => return Err(ValueError::Unsupported),
        Opt::Export => Setting::Export(text()),
        Opt::Chdir => Setting::Chdir(text()),
        Opt::Wrap => Setting::Wrap(text()),
        Opt::Nice => Setting::Nice(parse_nice(v)?),
        Opt::Comment => Setting::Comment(text()),
        Opt::Constraint => Setting::Constraint(parse_constraint(v)?),
        Opt::Signal => Setting::Signal(validate_signal(v)?),
        Opt::Nodelist => Setting::Nodelist(parse_nodes_list(v)?),
        Opt::Exclude => Setting::Exclude(parse_nodes_list(v)?),
        Opt::MailType => Setting::MailType(text()),
        Opt::MailUser => Setting::MailUser(text()),
        Opt::OpenMode => match v.chars().next() {
            Some('a' | 'A') => Setting::OpenMode(OpenMode::Append),
            Some('t' | 'T') => Setting::OpenMode(OpenMode::Truncate),
            _ => return Err(ParseError::at(1, "expected append or truncate").into()),
        },
        Opt::Wckey => Setting::Wckey(text()),
        _ => return Err(ValueError::Unsupported),
    })
}

fn value_error(
    def: &OptDef,
    value: &Value,
    inner: ParseError,
    env_var: Option<&str>,
) -> ParseError {
    let column = if value.verbatim {
        value.pos.column + inner.column.saturating_sub(1)
    } else {
        value.pos.column
    };
    let from = env_var.map_or_else(String::new, |var| format!(" (from {var})"));
    ParseError {
        line: value.pos.line,
        column,
        message: format!(
            "invalid value {:?} for --{}{from}: {}",
            value.text, def.long, inner.message
        ),
    }
}

fn unsupported(occ: &Occurrence) -> ParseError {
    let shown = match &occ.value {
        Some(v) if occ.def.opt == Opt::Exclusive => format!("--{}={}", occ.def.long, v.text),
        _ => format!("--{}", occ.def.long),
    };
    occ.pos.error(format!("option '{shown}' is not supported"))
}

/// `-o none` is `/dev/null`, as in sbatch.
fn io_path(v: &str) -> String {
    if v.eq_ignore_ascii_case("none") {
        "/dev/null".to_owned()
    } else {
        v.to_owned()
    }
}

/// A comma-separated list of non-empty names.
fn parse_name_list(v: &str, what: &str) -> Result<Vec<String>, ParseError> {
    let mut names = Vec::new();
    let mut col = 1;
    for name in v.split(',') {
        if name.is_empty() {
            return Err(ParseError::at(col, format!("empty {what} name")));
        }
        names.push(name.to_owned());
        col += name.chars().count() + 1;
    }
    Ok(names)
}

/// A positive count (`-n`, `-c`, `--ntasks-per-node`, `-N` bounds).
fn parse_positive(v: &str) -> Result<u32, ParseError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::at(1, "expected a positive integer"));
    }
    match v.parse::<u32>() {
        Ok(0) => Err(ParseError::at(1, "must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(ParseError::at(1, "number too large")),
    }
}

/// `-N N` or `-N MIN-MAX`.
fn parse_nodes(v: &str) -> Result<(u32, Option<u32>), ParseError> {
    let Some((lo, hi)) = v.split_once('-') else {
        return Ok((parse_positive(v)?, None));
    };
    let hi_col = lo.chars().count() + 2;
    let min = parse_positive(lo)?;
    let max = parse_positive(hi).map_err(|e| ParseError::at(hi_col, e.message))?;
    if min > max {
        return Err(ParseError::at(
            1,
            format!("minimum {min} exceeds maximum {max}"),
        ));
    }
    Ok((min, Some(max)))
}

/// `--gpus=[gpu:][TYPE:]COUNT`; a zero count is no request.
fn parse_gpus(v: &str) -> Result<Option<Gres>, ParseError> {
    let parts: Vec<&str> = v.split(':').collect();
    let (kind, count) = match parts.as_slice() {
        [count] | ["gpu", count] => (None, *count),
        ["gpu", kind, count] | [kind, count] => (Some(*kind), *count),
        _ => return Err(ParseError::at(1, "expected [TYPE:]COUNT")),
    };
    if let Some(kind) = kind {
        let valid = !kind.is_empty()
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(ParseError::at(1, format!("invalid GPU type {kind:?}")));
        }
    }
    let count_col = v.chars().count() - count.chars().count() + 1;
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::at(count_col, "expected a GPU count"));
    }
    let count = count
        .parse::<u64>()
        .map_err(|_| ParseError::at(count_col, "GPU count too large"))?;
    Ok((count > 0).then(|| Gres::new("gpu", kind, count)))
}

/// `--nice[=N]`, N within Slurm's bounds (negative values need privileges; the caller checks).
fn parse_nice(v: &str) -> Result<i32, ParseError> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::at(1, "expected an integer"));
    }
    match v.parse::<i64>() {
        Ok(n) if n.abs() <= MAX_NICE => Ok(i32::try_from(n).unwrap_or(0)),
        _ => Err(ParseError::at(1, format!("out of range (+/- {MAX_NICE})"))),
    }
}

/// `--constraint=a&b` (`,` also accepted as AND); empty means none.
fn parse_constraint(v: &str) -> Result<Vec<String>, ParseError> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    if let Some((i, c)) = v.chars().enumerate().find(|(_, c)| "|[]*()!".contains(*c)) {
        return Err(ParseError::at(
            i + 1,
            format!("constraint operator '{c}' is not supported (only AND lists: a&b)"),
        ));
    }
    let mut features = Vec::new();
    let mut col = 1;
    for feature in v.split(['&', ',']) {
        if feature.is_empty() {
            return Err(ParseError::at(col, "empty feature name"));
        }
        features.push(feature.to_owned());
        col += feature.chars().count() + 1;
    }
    Ok(features)
}

/// Signals `--signal` accepts by name (with or without `SIG`).
const SIGNAL_NAMES: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
];

/// Checks `--signal=[{R|B}:]SIG[@TIME]` and returns it unchanged.
fn validate_signal(v: &str) -> Result<String, ParseError> {
    let (flags, rest) = match v.split_once(':') {
        Some((flags, rest)) => (Some(flags), rest),
        None => (None, v),
    };
    let bad_flags =
        flags.filter(|f| f.is_empty() || !f.chars().all(|c| matches!(c, 'R' | 'B' | 'r' | 'b')));
    if let Some(flags) = bad_flags {
        return Err(ParseError::at(
            1,
            format!("invalid signal flags {flags:?} (R or B)"),
        ));
    }
    let offset = flags.map_or(0, |f| f.chars().count() + 1);
    let (signal, delay) = match rest.split_once('@') {
        Some((signal, delay)) => (signal, Some(delay)),
        None => (rest, None),
    };
    if !valid_signal(signal) {
        return Err(ParseError::at(
            offset + 1,
            format!("invalid signal {signal:?}"),
        ));
    }
    if let Some(delay) = delay {
        let valid = !delay.is_empty()
            && delay.bytes().all(|b| b.is_ascii_digit())
            && delay.parse::<u16>().is_ok();
        if !valid {
            let col = offset + signal.chars().count() + 2;
            return Err(ParseError::at(col, "the time must be 0-65535 seconds"));
        }
    }
    Ok(v.to_owned())
}

fn valid_signal(s: &str) -> bool {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n));
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNAL_NAMES.contains(&name)
}

/// `-w` / `-x`: a hostlist expression (node files are not supported).
fn parse_nodes_list(v: &str) -> Result<Vec<String>, ParseError> {
    if let Some(i) = v.find('/') {
        let col = v[..i].chars().count() + 1;
        return Err(ParseError::at(
            col,
            "reading node names from a file is not supported",
        ));
    }
    hostlist::expand(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_counts() {
        assert_eq!(parse_positive("4"), Ok(4));
        for bad in ["", "0", "-1", "1.5", "x", "99999999999"] {
            assert!(parse_positive(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn node_counts() {
        assert_eq!(parse_nodes("2"), Ok((2, None)));
        assert_eq!(parse_nodes("2-4"), Ok((2, Some(4))));
        assert_eq!(parse_nodes("3-3"), Ok((3, Some(3))));
        assert_eq!(parse_nodes("4-2").unwrap_err().column, 1);
        assert_eq!(parse_nodes("2-x").unwrap_err().column, 3);
        assert!(parse_nodes("0").is_err());
        assert!(parse_nodes("-2").is_err());
    }

    #[test]
    fn gpu_counts() {
        assert_eq!(parse_gpus("4"), Ok(Some(Gres::new("gpu", None, 4))));
        assert_eq!(
            parse_gpus("a100:2"),
            Ok(Some(Gres::new("gpu", Some("a100"), 2)))
        );
        assert_eq!(parse_gpus("gpu:2"), Ok(Some(Gres::new("gpu", None, 2))));
        assert_eq!(
            parse_gpus("gpu:a100:2"),
            Ok(Some(Gres::new("gpu", Some("a100"), 2)))
        );
        assert_eq!(parse_gpus("0"), Ok(None));
        assert_eq!(parse_gpus("a100:x").unwrap_err().column, 6);
        assert!(parse_gpus("a100").is_err());
        assert!(parse_gpus("a:b:c:1").is_err());
        assert!(parse_gpus(":2").is_err());
    }

    #[test]
    fn nice_values() {
        assert_eq!(parse_nice("10"), Ok(10));
        assert_eq!(parse_nice("-5"), Ok(-5));
        assert_eq!(parse_nice("+7"), Ok(7));
        assert_eq!(parse_nice("2147483645"), Ok(2_147_483_645));
        assert!(parse_nice("2147483646").is_err());
        assert!(parse_nice("").is_err());
        assert!(parse_nice("-").is_err());
        assert!(parse_nice("1x").is_err());
    }

    #[test]
    fn constraints() {
        assert_eq!(
            parse_constraint("intel&ib"),
            Ok(vec!["intel".to_owned(), "ib".to_owned()])
        );
        assert_eq!(
            parse_constraint("a,b"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(parse_constraint(""), Ok(vec![]));
        assert_eq!(parse_constraint("a|b").unwrap_err().column, 2);
        assert_eq!(parse_constraint("a&&b").unwrap_err().column, 3);
        assert!(parse_constraint("[a|b]").is_err());
    }

    #[test]
    fn signals() {
        for ok in [
            "USR1",
            "SIGUSR1",
            "10",
            "B:USR1@60",
            "R:TERM",
            "RB:15@0",
            "usr2@120",
        ] {
            assert_eq!(validate_signal(ok), Ok(ok.to_owned()), "{ok}");
        }
        assert_eq!(validate_signal("FOO").unwrap_err().column, 1);
        assert_eq!(validate_signal("X:USR1").unwrap_err().column, 1);
        assert_eq!(validate_signal("B:FOO").unwrap_err().column, 3);
        assert_eq!(validate_signal("USR1@").unwrap_err().column, 6);
        assert_eq!(validate_signal("USR1@99999").unwrap_err().column, 6);
        assert!(validate_signal("0").is_err());
        assert!(validate_signal("65").is_err());
    }

    #[test]
    fn name_lists() {
        assert_eq!(
            parse_name_list("a,b", "partition"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(parse_name_list("a,", "partition").unwrap_err().column, 3);
        assert_eq!(parse_name_list("", "partition").unwrap_err().column, 1);
    }

    #[test]
    fn node_files_are_refused() {
        let err = parse_nodes_list("./hosts").unwrap_err();
        assert_eq!(err.column, 2);
        assert!(err.message.contains("file"));
    }

    #[test]
    fn flags_from_the_environment() {
        for on in ["", "yes", "YES", "1", "-1", "7"] {
            assert!(flag_enabled(on), "{on:?}");
        }
        for off in ["0", "no", "true", "x"] {
            assert!(!flag_enabled(off), "{off:?}");
        }
    }

    #[test]
    fn io_none_is_dev_null() {
        assert_eq!(io_path("none"), "/dev/null");
        assert_eq!(io_path("NONE"), "/dev/null");
        assert_eq!(io_path("out.txt"), "out.txt");
    }
}
