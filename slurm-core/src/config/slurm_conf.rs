//! `slurm.conf`: the loader, its diagnostics, and rendering a [`ClusterConfig`] back to text.
//!
//! Syntax (as Slurm reads it): `Key=Value` pairs separated by whitespace, keys
//! case-insensitive, `#` comments (also trailing; `\#` is a literal `#`), blank lines, a
//! trailing `\` joins the next line, `Include FILE` (relative to the including file's
//! directory), double-quoted values. A line starting with `NodeName=` or `PartitionName=`
//! describes nodes or a partition; any other line holds global settings.
//!
//! Behaviour decisions (Slurm's, where it has one):
//! - `ClusterName=` and at least one `NodeName=` line are required (errors, as in Slurm);
//!   a config without partitions loads with a warning (Slurm accepts it, but no job can be
//!   submitted until one is added).
//! - Keys Slurm knows but slinky does not use are warnings, once per key. Keys that are no
//!   slurm.conf option at all are warnings too (Slurm refuses them), with a suggestion when
//!   one is close.
//! - A global key given twice: the last value wins, with a warning (`SlurmctldHost` repeats).
//! - Several `Default=YES` partitions: the last one wins, as in Slurm, with a warning.
//! - A node `State=` other than UNKNOWN, IDLE or CLOUD is accepted with a warning: slinky
//!   starts every node UNKNOWN until its agent registers.
//! - `CPUs=` that matches neither Sockets×Cores×Threads nor Sockets×Cores is reset to the
//!   former with a warning, as Slurm does.
//! - `NodeConfig::sockets` is the node's total socket count (`Boards` × sockets per board).
//! - Slinky extensions: `SchedulerType=sched/easy` selects EASY backfill, and
//!   `bf_max_job_test=0` means "test every pending job".

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::gres_conf::{self, GresConf};
use super::{
    AccountingParams, AccountingStorage, ClusterConfig, ControllerHost, PowerParams,
    PriorityParams, SchedulerParams, SchedulerPolicy, SelectParams, Timers,
};
use crate::model::{
    AccessList, Gres, NodeConfig, OverSubscribe, PartitionConfig, PartitionState, TimeLimit,
};
use crate::parse::{duration, hostlist, memory, tres};

/// How deeply `Include` files may nest (a guard against include cycles).
const MAX_INCLUDE_DEPTH: usize = 16;

// ------------------------------------------------------------------------------------------
// Diagnostics
// ------------------------------------------------------------------------------------------

/// Where something was written: a file and, for most findings, a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The path as given to the loader (or the `origin` of parsed text).
    pub file: String,
    /// `None` for findings about a file as a whole (e.g. "no partitions").
    pub line: Option<usize>,
}

impl Location {
    pub fn new(file: impl Into<String>, line: usize) -> Self {
        Self {
            file: file.into(),
            line: Some(line),
        }
    }

    /// The whole file, no particular line.
    pub fn whole_file(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// Something slinky accepted but the operator should know about (an unused key, a value
/// slinky interprets differently from Slurm, ...). Displays as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub at: Location,
    /// The key the warning is about, as spelled in the file.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// A config slinky cannot load. Every variant names the file, and the line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: cannot read included file {file}")]
    Include {
        at: Location,
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: Include of {file} nests deeper than {MAX_INCLUDE_DEPTH} files (a cycle?)")]
    IncludeDepth { at: Location, file: String },
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    #[error("{at}: invalid value \"{value}\" for {key}: {reason}")]
    InvalidValue {
        at: Location,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{at}: partition {partition}: unknown node \"{node}\" in Nodes=")]
    UnknownNode {
        at: Location,
        partition: String,
        node: String,
    },
    #[error("{at}: node {node} is already defined at {first}")]
    DuplicateNode {
        at: Location,
        node: String,
        first: Location,
    },
    #[error("{at}: partition {partition} is already defined at {first}")]
    DuplicatePartition {
        at: Location,
        partition: String,
        first: Location,
    },
    #[error("{at}: {key} is required")]
    Missing { at: Location, key: &'static str },
    #[error("{at}: no NodeName= lines: a cluster needs at least one node")]
    NoNodes { at: Location },
}

impl ConfigError {
    /// The file and line the error is about.
    pub fn location(&self) -> Location {
        match self {
            Self::Read { file, .. } => Location::whole_file(file.clone()),
            Self::Include { at, .. }
            | Self::IncludeDepth { at, .. }
            | Self::Syntax { at, .. }
            | Self::InvalidValue { at, .. }
            | Self::UnknownNode { at, .. }
            | Self::DuplicateNode { at, .. }
            | Self::DuplicatePartition { at, .. }
            | Self::Missing { at, .. }
            | Self::NoNodes { at } => at.clone(),
        }
    }

    /// The 1-based line, when the error is about one.
    pub fn line(&self) -> Option<usize> {
        self.location().line
    }

    /// The key whose value was rejected, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::InvalidValue { key, .. } => Some(key),
            Self::UnknownNode { .. } => Some("Nodes"),
            Self::DuplicateNode { .. } => Some("NodeName"),
            Self::DuplicatePartition { .. } => Some("PartitionName"),
            Self::Missing { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Which family of keys an unused-key warning is about.
pub(crate) struct KeyScope {
    /// Prefix for "is not used" messages, e.g. `NodeName option ` ("" for global keys).
    pub used_prefix: &'static str,
    /// What an unknown key is not, e.g. `slurm.conf option`.
    pub kind: &'static str,
    /// Keys Slurm knows in this scope that slinky ignores, separated by whitespace.
    pub known_unused: &'static str,
}

/// Collects warnings, reporting each ignored key (per scope) only once.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    pub warnings: Vec<ConfigWarning>,
    warned: HashSet<(&'static str, String)>,
}

impl Diagnostics {
    pub fn warn(&mut self, at: &Location, key: Option<&str>, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            at: at.clone(),
            key: key.map(str::to_owned),
            message: message.into(),
        });
    }

    /// Warns unless a warning with the same `(scope, name)` was already given.
    pub fn warn_once(
        &mut self,
        scope: &'static str,
        name: &str,
        at: &Location,
        key: Option<&str>,
        message: impl Into<String>,
    ) {
        if self.warned.insert((scope, name.to_ascii_lowercase())) {
            self.warn(at, key, message);
        }
    }

    /// Reports a key slinky does not implement: known to Slurm or not, once per key.
    pub fn unused_key<'a>(
        &mut self,
        pair: &Pair,
        scope: &KeyScope,
        implemented: impl Iterator<Item = &'a str>,
    ) {
        let key = pair.key.as_str();
        let mut known_unused = scope.known_unused.split_whitespace();
        let message = if known_unused.any(|k| k.eq_ignore_ascii_case(key)) {
            format!("{}{key} is not used by slinky (ignored)", scope.used_prefix)
        } else {
            let candidates = implemented.chain(scope.known_unused.split_whitespace());
            match suggestion(key, candidates) {
                Some(s) => format!("{key} is not a {} (ignored); did you mean {s}?", scope.kind),
                None => format!("{key} is not a {} (ignored)", scope.kind),
            }
        };
        self.warn_once(scope.kind, key, &pair.at, Some(key), message);
    }
}

/// The closest candidate to `key` (at most two edits away), for "did you mean" hints.
fn suggestion<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    if key.len() < 4 {
        return None;
    }
    let key = key.to_ascii_lowercase();
    candidates
        .map(|c| (edit_distance(&key, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ------------------------------------------------------------------------------------------
// Lexing: logical lines, Key=Value pairs, Include (shared with gres.conf)
// ------------------------------------------------------------------------------------------

/// One `Key=Value` pair as written (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    pub key: String,
    pub value: String,
    pub at: Location,
}

/// One logical line (continuations joined, comments removed) with its pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// Where the logical line starts.
    pub at: Location,
    pub pairs: Vec<Pair>,
}

/// A logical line and the offsets at which its physical lines start.
struct LogicalLine {
    text: String,
    /// `(byte offset in text, 1-based physical line)`, ascending.
    starts: Vec<(usize, usize)>,
}

impl LogicalLine {
    fn first_line(&self) -> usize {
        self.starts.first().map_or(1, |&(_, line)| line)
    }

    fn line_at(&self, offset: usize) -> usize {
        self.starts
            .iter()
            .rev()
            .find(|(start, _)| *start <= offset)
            .map_or(self.first_line(), |&(_, line)| line)
    }
}

/// Reads `text` (from `origin`) into statements, resolving `Include` lines recursively.
pub(crate) fn read_statements(text: &str, origin: &str) -> Result<Vec<Statement>, ConfigError> {
    let mut out = Vec::new();
    collect_statements(text, origin, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn collect_statements(
    text: &str,
    origin: &str,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Statement>,
) -> Result<(), ConfigError> {
    for logical in logical_lines(text) {
        let at = Location::new(origin, logical.first_line());
        match tokenize(&logical.text) {
            Ok(Tokens::Empty) => {}
            Ok(Tokens::Include(file)) => include(&file, origin, &at, stack, out)?,
            Ok(Tokens::Pairs(raw)) => {
                let pairs = raw
                    .into_iter()
                    .map(|(key, value, offset)| Pair {
                        key,
                        value,
                        at: Location::new(origin, logical.line_at(offset)),
                    })
                    .collect();
                out.push(Statement { at, pairs });
            }
            Err((offset, message)) => {
                return Err(ConfigError::Syntax {
                    at: Location::new(origin, logical.line_at(offset)),
                    message,
                });
            }
        }
    }
    Ok(())
}

fn include(
    file: &str,
    origin: &str,
    at: &Location,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Statement>,
) -> Result<(), ConfigError> {
    let path = resolve_include(origin, file);
    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
    if stack.len() >= MAX_INCLUDE_DEPTH || stack.contains(&canonical) {
        return Err(ConfigError::IncludeDepth {
            at: at.clone(),
            file: path.display().to_string(),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Include {
        at: at.clone(),
        file: path.display().to_string(),
        source,
    })?;
    stack.push(canonical);
    let result = collect_statements(&text, &path.display().to_string(), stack, out);
    stack.pop();
    result
}

/// `Include` paths are relative to the including file's directory.
fn resolve_include(origin: &str, file: &str) -> PathBuf {
    let file = Path::new(file);
    if file.is_absolute() {
        return file.to_path_buf();
    }
    Path::new(origin)
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(file)
}

/// Splits text into logical lines: comments stripped per physical line, then lines ending
/// in `\` joined with the next.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut current: Option<LogicalLine> = None;
    for (index, raw) in text.lines().enumerate() {
        let stripped = strip_comment(raw);
        let trimmed = stripped.trim_end();
        let (content, continues) = match trimmed.strip_suffix('\\') {
            Some(content) => (content, true),
            None => (trimmed, false),
        };
        let logical = current.get_or_insert_with(|| LogicalLine {
            text: String::new(),
            starts: Vec::new(),
        });
        logical.starts.push((logical.text.len(), index + 1));
        logical.text.push_str(content);
        if !continues {
            lines.extend(current.take());
        }
    }
    lines.extend(current);
    lines
}

/// Removes a `#` comment (outside double quotes); `\#` stands for a literal `#`.
fn strip_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'#') => {
                out.push('#');
                chars.next();
            }
            '"' => {
                in_quotes = !in_quotes;
                out.push(c);
            }
            '#' if !in_quotes => break,
            _ => out.push(c),
        }
    }
    out
}

enum Tokens {
    Empty,
    Include(String),
    /// `(key, value, byte offset of the key)`.
    Pairs(Vec<(String, String, usize)>),
}

/// A syntax error: byte offset in the logical line and message.
type LexError = (usize, String);

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn skip_ws(text: &str, pos: usize) -> usize {
    text[pos..]
        .find(|c: char| !c.is_whitespace())
        .map_or(text.len(), |n| pos + n)
}

fn tokenize(text: &str) -> Result<Tokens, LexError> {
    let mut pairs = Vec::new();
    let mut pos = skip_ws(text, 0);
    while pos < text.len() {
        let key_end = text[pos..]
            .find(|c: char| !is_key_char(c))
            .map_or(text.len(), |n| pos + n);
        let key = &text[pos..key_end];
        let after_key = skip_ws(text, key_end);
        if key.is_empty() || !text[after_key..].starts_with('=') {
            if pairs.is_empty() && key.eq_ignore_ascii_case("include") && key_end > pos {
                return include_target(text, key_end).map(Tokens::Include);
            }
            let word = text[pos..].split_whitespace().next().unwrap_or_default();
            return Err((pos, format!("expected Key=Value, found \"{word}\"")));
        }
        let value_start = skip_ws(text, after_key + 1);
        let (value, value_end) = read_value(text, value_start)?;
        pairs.push((key.to_owned(), value, pos));
        pos = skip_ws(text, value_end);
    }
    Ok(if pairs.is_empty() {
        Tokens::Empty
    } else {
        Tokens::Pairs(pairs)
    })
}

/// The file named after `Include` (the rest of the line, quotes removed).
fn include_target(text: &str, after_keyword: usize) -> Result<String, LexError> {
    let target = text[after_keyword..].trim();
    let target = target
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(target);
    if target.is_empty() {
        return Err((after_keyword, "Include needs a file name".into()));
    }
    Ok(target.to_owned())
}

/// Reads a value at `start`: a double-quoted string or a run of non-whitespace.
fn read_value(text: &str, start: usize) -> Result<(String, usize), LexError> {
    let rest = &text[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        let close = quoted
            .find('"')
            .ok_or_else(|| (start, "unterminated quoted value".to_owned()))?;
        let end = start + 1 + close + 1;
        if text[end..].starts_with(|c: char| !c.is_whitespace()) {
            return Err((end, "expected whitespace after a quoted value".into()));
        }
        return Ok((quoted[..close].to_owned(), end));
    }
    let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Ok((rest[..len].to_owned(), start + len))
}

// ------------------------------------------------------------------------------------------
// Typed values
// ------------------------------------------------------------------------------------------

impl Pair {
    /// An "invalid value" error for this pair.
    pub fn invalid(&self, reason: impl fmt::Display) -> ConfigError {
        ConfigError::InvalidValue {
            at: self.at.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
            reason: reason.to_string(),
        }
    }

    pub fn num<T>(&self) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.value
            .parse()
            .map_err(|e| self.invalid(format!("expected a whole number ({e})")))
    }

    /// A count that must be at least 1 (CPUs, Sockets, ...).
    fn positive(&self) -> Result<u32, ConfigError> {
        match self.num()? {
            0 => Err(self.invalid("must be at least 1")),
            n => Ok(n),
        }
    }

    /// `YES`/`NO` (also `TRUE`/`FALSE`, `1`/`0`), case-insensitive.
    fn boolean(&self) -> Result<bool, ConfigError> {
        self.choice(&[
            ("YES", true),
            ("TRUE", true),
            ("1", true),
            ("NO", false),
            ("FALSE", false),
            ("0", false),
        ])
    }

    /// One of a fixed set of case-insensitive spellings.
    pub(crate) fn choice<T: Clone>(&self, choices: &[(&str, T)]) -> Result<T, ConfigError> {
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&self.value))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.invalid(format!("expected one of {}", spellings(choices))))
    }

    /// A comma-separated list, empty items dropped.
    fn list(&self) -> Vec<String> {
        split_list(&self.value)
    }

    fn time_limit(&self) -> Result<TimeLimit, ConfigError> {
        duration::parse_time_limit(&self.value).map_err(|e| self.invalid(e.message))
    }

    /// A finite duration in seconds (`7-0`, `1:00:00`, minutes).
    fn duration_secs(&self) -> Result<u64, ConfigError> {
        self.time_limit()?
            .as_secs()
            .ok_or_else(|| self.invalid("must be a finite duration"))
    }

    fn mem_mb(&self) -> Result<u64, ConfigError> {
        memory::parse_mem_mb(&self.value).map_err(|e| self.invalid(e.message))
    }

    /// `0`/`UNLIMITED` → no limit, else a memory size.
    fn mem_limit(&self) -> Result<Option<u64>, ConfigError> {
        if is_unlimited(&self.value) {
            return Ok(None);
        }
        Ok(Some(self.mem_mb()?).filter(|&mb| mb > 0))
    }

    /// A seconds count where `INFINITE`, `NONE` and `-1` mean "never".
    fn optional_secs(&self) -> Result<Option<u64>, ConfigError> {
        if is_unlimited(&self.value)
            || self.value == "-1"
            || self.value.eq_ignore_ascii_case("NONE")
        {
            return Ok(None);
        }
        self.num().map(Some)
    }
}

fn is_unlimited(value: &str) -> bool {
    value.eq_ignore_ascii_case("UNLIMITED") || value.eq_ignore_ascii_case("INFINITE")
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn spellings<T>(choices: &[(&str, T)]) -> String {
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

const PARTITION_STATES: &[(&str, PartitionState)] = &[
    ("UP", PartitionState::Up),
    ("DOWN", PartitionState::Down),
    ("DRAIN", PartitionState::Drain),
    ("INACTIVE", PartitionState::Inactive),
];

const OVERSUBSCRIBE: &[(&str, OverSubscribe)] = &[
    ("NO", OverSubscribe::No),
    ("EXCLUSIVE", OverSubscribe::Exclusive),
    ("YES", OverSubscribe::Yes),
    ("FORCE", OverSubscribe::Force),
];

const SCHEDULER_TYPES: &[(&str, SchedulerPolicy)] = &[
    ("sched/backfill", SchedulerPolicy::Backfill),
    ("sched/builtin", SchedulerPolicy::Fcfs),
    ("sched/easy", SchedulerPolicy::Easy),
];

// ------------------------------------------------------------------------------------------
// Public API
// ------------------------------------------------------------------------------------------

/// A loaded cluster, its gres.conf (when one was applied) and what the loader warned about.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub cluster: ClusterConfig,
    pub gres_conf: Option<GresConf>,
    pub warnings: Vec<ConfigWarning>,
}

impl LoadedConfig {
    /// Applies a gres.conf to the cluster (typing GRES, checking counts) and keeps it.
    pub fn with_gres_conf(mut self, gres: GresConf) -> Self {
        self.warnings.extend(gres.warnings.iter().cloned());
        let applied = gres_conf::apply_gres_conf(&mut self.cluster, &gres);
        self.warnings.extend(applied);
        self.gres_conf = Some(gres);
        self
    }
}

/// Loads a slurm.conf, and the `gres.conf` in the same directory when there is one.
pub fn load_slurm_conf(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let loaded = parse_slurm_conf(&read_file(path)?, &path.display().to_string())?;
    let gres_path = path.with_file_name("gres.conf");
    if gres_path != path && gres_path.is_file() {
        return Ok(loaded.with_gres_conf(gres_conf::load_gres_conf(&gres_path)?));
    }
    Ok(loaded)
}

/// Parses slurm.conf text. `origin` names it in diagnostics and anchors relative `Include`
/// paths (which are read from disk). No gres.conf is applied.
pub fn parse_slurm_conf(text: &str, origin: &str) -> Result<LoadedConfig, ConfigError> {
    let mut loader = Loader::new(origin);
    for statement in read_statements(text, origin)? {
        loader.statement(&statement)?;
    }
    loader.finish()
}

/// Reads a config file, mapping I/O failures to [`ConfigError::Read`].
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.display().to_string(),
        source,
    })
}

// ------------------------------------------------------------------------------------------
// The loader
// ------------------------------------------------------------------------------------------

/// A setter-table entry `(name, setter)` assigning `value` (an expression over the pair `p`)
/// to a field of the table's target: `key!(KillWait: cluster.timers.kill_wait = |p| p.num()?)`.
macro_rules! key {
    ($name:ident: $($field:ident).+ = |$p:ident| $value:expr) => {
        (stringify!($name), |target, $p| {
            target.$($field).+ = $value;
            Ok(())
        })
    };
    ($name:ident: $($field:ident).+ = |$p:ident, $diag:ident| $value:expr) => {
        (stringify!($name), |target, $p, $diag| {
            target.$($field).+ = $value;
            Ok(())
        })
    };
}

type GlobalSetter = fn(&mut Loader, &Pair) -> Result<(), ConfigError>;

/// Global keys slinky implements, in their canonical spelling.
const GLOBAL_KEYS: &[(&str, GlobalSetter)] = &[
    ("ClusterName", Loader::cluster_name),
    ("SlurmctldHost", |l, p| {
        let host = controller_host(p)?;
        l.cluster.controller_hosts.push(host);
        Ok(())
    }),
    key!(ControlMachine: legacy_controller.primary = |p| Some(p.value.clone())),
    key!(ControlAddr: legacy_controller.primary_addr = |p| Some(p.value.clone())),
    key!(BackupController: legacy_controller.backup = |p| Some(p.value.clone())),
    key!(BackupAddr: legacy_controller.backup_addr = |p| Some(p.value.clone())),
    key!(SlurmctldPort: cluster.controller_port = |p| port_range_start(p)?),
    key!(SlurmdPort: cluster.slurmd_port = |p| p.num()?),
    key!(SlurmUser: cluster.slurm_user = |p| p.value.clone()),
    key!(StateSaveLocation: cluster.state_save_location = |p| p.value.clone()),
    key!(GresTypes: cluster.gres_types = |p| p.list()),
    ("SelectType", Loader::select_type),
    ("SelectTypeParameters", Loader::select_type_parameters),
    key!(SchedulerType: cluster.scheduler.policy = |p| p.choice(SCHEDULER_TYPES)?),
    ("SchedulerParameters", Loader::scheduler_parameters),
    key!(MaxArraySize: cluster.scheduler.max_array_size = |p| p.num()?),
    ("PriorityType", |l, p| {
        l.cluster.priority.multifactor =
            p.choice(&[("priority/multifactor", true), ("priority/basic", false)])?;
        Ok(())
    }),
    key!(PriorityWeightAge: cluster.priority.weight_age = |p| p.num()?),
    key!(PriorityWeightFairshare: cluster.priority.weight_fairshare = |p| p.num()?),
    key!(PriorityWeightJobSize: cluster.priority.weight_job_size = |p| p.num()?),
    key!(PriorityWeightPartition: cluster.priority.weight_partition = |p| p.num()?),
    key!(PriorityWeightQOS: cluster.priority.weight_qos = |p| p.num()?),
    key!(PriorityWeightTRES: cluster.priority.weight_tres = |p| tres_weights(p)?),
    key!(PriorityDecayHalfLife: cluster.priority.decay_half_life_s = |p| p.duration_secs()?),
    key!(PriorityMaxAge: cluster.priority.max_age_s = |p| p.duration_secs()?),
    key!(PriorityCalcPeriod: cluster.priority.calc_period_s = |p| p.duration_secs()?),
    key!(PriorityFavorSmall: cluster.priority.favor_small = |p| p.boolean()?),
    ("PriorityFlags", Loader::priority_flags),
    ("AccountingStorageType", |l, p| {
        l.cluster.accounting.storage = if p.value.is_empty() {
            AccountingStorage::None
        } else {
            p.choice(&[
                ("accounting_storage/slurmdbd", AccountingStorage::Slurmdbd),
                ("accounting_storage/none", AccountingStorage::None),
            ])?
        };
        Ok(())
    }),
    key!(AccountingStorageHost: cluster.accounting.host = |p| Some(p.value.clone())),
    key!(AccountingStoragePort: cluster.accounting.port = |p| Some(p.num()?)),
    key!(AccountingStorageUser: cluster.accounting.user = |p| Some(p.value.clone())),
    key!(AccountingStorageEnforce: cluster.accounting.enforce = |p| enforce_flags(p)?),
    key!(AccountingStorageTRES: cluster.accounting.tres = |p| p.list()),
    key!(KillWait: cluster.timers.kill_wait = |p| p.num()?),
    key!(SlurmdTimeout: cluster.timers.slurmd_timeout = |p| p.num()?),
    key!(SlurmctldTimeout: cluster.timers.slurmctld_timeout = |p| p.num()?),
    key!(UnkillableStepTimeout: cluster.timers.unkillable_step_timeout = |p| p.num()?),
    key!(MinJobAge: cluster.timers.min_job_age = |p| p.num()?),
    key!(InactiveLimit: cluster.timers.inactive_limit = |p| p.num()?),
    key!(MessageTimeout: cluster.timers.message_timeout = |p| p.num()?),
    key!(Waittime: cluster.timers.wait_time = |p| p.num()?),
    key!(SuspendTime: cluster.power.suspend_time = |p| p.optional_secs()?),
    key!(ResumeTimeout: cluster.power.resume_timeout = |p| p.num()?),
    key!(SuspendTimeout: cluster.power.suspend_timeout = |p| p.num()?),
    key!(AuthType: cluster.auth_type = |p| p.value.clone()),
    key!(AuthInfo: cluster.auth_info = |p| Some(p.value.clone())),
    key!(TLSType: cluster.tls_type = |p| p.value.clone()),
    key!(TLSParameters: cluster.tls_parameters = |p| Some(p.value.clone())),
    key!(DefMemPerCPU: def_mem_per_cpu_mb = |p| p.mem_limit()?),
];

/// Global keys that may be given more than once without a warning.
const REPEATABLE_KEYS: &[&str] = &["SlurmctldHost"];

/// slurm.conf options Slurm knows and slinky ignores.
const UNUSED_GLOBAL_KEYS: &str = "\
    AccountingStorageBackupHost AccountingStorageExternalHost AccountingStorageLoc
    AccountingStorageParameters AccountingStoragePass AccountingStoreFlags
    AccountingStoreJobComment AcctGatherEnergyType AcctGatherFilesystemType
    AcctGatherInfinibandType AcctGatherInterconnectType AcctGatherNodeFreq AcctGatherProfileType
    AllowSpecResourcesUsage AuthAltParameters AuthAltTypes BatchStartTimeout BcastExclude
    BcastParameters BurstBufferType CheckpointType CliFilterPlugins CommunicationParameters
    CompleteWait CoreSpecPlugin CpuFreqDef CpuFreqGovernors CredType CryptoType DebugFlags
    DefCpuPerGPU DefMemPerGPU DefMemPerNode DependencyParameters DisableRootJobs EioTimeout
    EnforcePartLimits Epilog EpilogMsgTime EpilogSlurmctld ExtSensorsFreq ExtSensorsType
    FairShareDampeningFactor FastSchedule FederationParameters FirstJobId GetEnvTimeout
    GpuFreqDef GroupUpdateForce GroupUpdateTime HashPlugin HealthCheckInterval
    HealthCheckNodeState HealthCheckProgram InteractiveStepOptions JobAcctGatherFrequency
    JobAcctGatherParams JobAcctGatherType JobCompHost JobCompLoc JobCompParams JobCompPass
    JobCompPort JobCompType JobCompUser JobContainerType JobCredentialPrivateKey
    JobCredentialPublicCertificate JobFileAppend JobRequeue JobSubmitPlugins KeepAliveTime
    KillOnBadExit LaunchParameters LaunchType Licenses LogTimeFormat MailDomain MailProg
    MaxBatchRequeue MaxDBDMsgs MaxJobCount MaxJobId MaxMemPerCPU MaxMemPerNode MaxNodeCount
    MaxStepCount MaxTasksPerNode MCSParameters MCSPlugin MemLimitEnforce MpiDefault MpiParams
    NodeFeaturesPlugins OverTimeLimit PluginDir PlugStackConfig PowerParameters PowerPlugin
    PreemptExemptTime PreemptMode PreemptParameters PreemptType PrEpParameters PrEpPlugins
    PriorityParameters PrioritySiteFactorParameters PrioritySiteFactorPlugin
    PriorityUsageResetPeriod PriorityWeightAssoc PrivateData ProctrackType Prolog
    PrologEpilogTimeout PrologFlags PrologSlurmctld PropagatePrioProcess PropagateResourceLimits
    PropagateResourceLimitsExcept RebootProgram ReconfigFlags RequeueExit RequeueExitHold
    ResumeFailProgram ResumeProgram ResumeRate ResvEpilog ResvOverRun ResvProlog ReturnToService
    RoutePlugin SallocDefaultCommand SbcastParameters SchedulerTimeSlice ScronParameters
    SlurmctldAddr SlurmctldDebug SlurmctldLogFile SlurmctldParameters SlurmctldPidFile
    SlurmctldPlugstack SlurmctldPrimaryOffProg SlurmctldPrimaryOnProg SlurmctldSyslogDebug
    SlurmdDebug SlurmdLogFile SlurmdParameters SlurmdPidFile SlurmdSpoolDir SlurmdSyslogDebug
    SlurmdUser SlurmSchedLogFile SlurmSchedLogLevel SrunEpilog SrunPortRange SrunProlog
    SuspendExcNodes SuspendExcParts SuspendExcStates SuspendProgram SuspendRate SwitchParameters
    SwitchType TaskEpilog TaskPlugin TaskPluginParam TaskProlog TCPTimeout TmpFS TopologyParam
    TopologyPlugin TrackWCKey TreeWidth UnkillableStepProgram UsePAM VSizeFactor X11Parameters
";

const GLOBAL_SCOPE: KeyScope = KeyScope {
    used_prefix: "",
    kind: "slurm.conf option",
    known_unused: UNUSED_GLOBAL_KEYS,
};

/// Line kinds Slurm has that slinky ignores as a whole.
const UNUSED_LINE_KINDS: &[&str] = &["NodeSet", "DownNodes", "FrontendName", "SwitchName"];

/// Legacy `ControlMachine`/`ControlAddr`/`BackupController`/`BackupAddr`.
#[derive(Debug, Default)]
struct LegacyController {
    primary: Option<String>,
    primary_addr: Option<String>,
    backup: Option<String>,
    backup_addr: Option<String>,
}

/// A partition line waiting for all nodes to be known.
#[derive(Debug)]
struct PendingPartition {
    name: String,
    spec: PartSpec,
    at: Location,
}

struct Loader {
    origin: String,
    cluster: ClusterConfig,
    diag: Diagnostics,
    cluster_name_at: Option<Location>,
    /// First location of each global key seen (by canonical name), to warn on repeats.
    seen_keys: HashMap<&'static str, Location>,
    legacy_controller: LegacyController,
    def_mem_per_cpu_mb: Option<u64>,
    node_defaults: NodeSpec,
    part_defaults: PartSpec,
    /// Where each node (by index in `cluster.nodes`) was defined.
    node_at: Vec<Location>,
    node_index: HashMap<String, usize>,
    partitions: Vec<PendingPartition>,
}

impl Loader {
    fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            cluster: ClusterConfig::new(""),
            diag: Diagnostics::default(),
            cluster_name_at: None,
            seen_keys: HashMap::new(),
            legacy_controller: LegacyController::default(),
            def_mem_per_cpu_mb: None,
            node_defaults: NodeSpec::default(),
            part_defaults: PartSpec::default(),
            node_at: Vec::new(),
            node_index: HashMap::new(),
            partitions: Vec::new(),
        }
    }

    fn statement(&mut self, statement: &Statement) -> Result<(), ConfigError> {
        let Some((first, rest)) = statement.pairs.split_first() else {
            return Ok(());
        };
        if first.key.eq_ignore_ascii_case("NodeName") {
            return self.node_line(first, rest);
        }
        if first.key.eq_ignore_ascii_case("PartitionName") {
            return self.partition_line(first, rest);
        }
        if let Some(kind) = UNUSED_LINE_KINDS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&first.key))
        {
            let message = format!("{kind} lines are not used by slinky (line ignored)");
            self.diag
                .warn_once("line", kind, &first.at, Some(&first.key), message);
            return Ok(());
        }
        statement.pairs.iter().try_for_each(|p| self.global(p))
    }

    fn global(&mut self, pair: &Pair) -> Result<(), ConfigError> {
        let Some(&(name, set)) = GLOBAL_KEYS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&pair.key))
        else {
            let implemented = GLOBAL_KEYS.iter().map(|(name, _)| *name);
            self.diag.unused_key(pair, &GLOBAL_SCOPE, implemented);
            return Ok(());
        };
        if !REPEATABLE_KEYS.contains(&name) {
            if let Some(first) = self.seen_keys.get(name) {
                let message = format!(
                    "{} is set again (first at {first}); the last value is used",
                    pair.key
                );
                self.diag.warn(&pair.at, Some(&pair.key), message);
            } else {
                self.seen_keys.insert(name, pair.at.clone());
            }
        }
        set(self, pair)
    }

    fn cluster_name(&mut self, pair: &Pair) -> Result<(), ConfigError> {
        if pair.value.is_empty() {
            return Err(pair.invalid("must not be empty"));
        }
        let lower = pair.value.to_ascii_lowercase();
        if lower != pair.value {
            let message = format!("ClusterName is lowercased to {lower}, as Slurm does");
            self.diag.warn(&pair.at, Some(&pair.key), message);
        }
        self.cluster.cluster_name = lower;
        self.cluster_name_at = Some(pair.at.clone());
        Ok(())
    }

    fn select_type(&mut self, pair: &Pair) -> Result<(), ConfigError> {
        let select = &mut self.cluster.select;
        match pair.value.to_ascii_lowercase().as_str() {
            "select/cons_tres" => select.whole_nodes = false,
            "select/linear" => {
                select.whole_nodes = true;
                let message = "select/linear is emulated by select/cons_tres with whole-node \
                               allocation";
                self.diag.warn(&pair.at, Some(&pair.key), message);
            }
            _ => {
                select.whole_nodes = false;
                let message = format!(
                    "SelectType {} is not supported; slinky uses select/cons_tres",
                    pair.value
                );
                self.diag.warn(&pair.at, Some(&pair.key), message);
            }
        }
        Ok(())
    }

    fn select_type_parameters(&mut self, pair: &Pair) -> Result<(), ConfigError> {
        const TRACK_MEMORY: &[&str] = &[
            "CR_CPU_Memory",
            "CR_Core_Memory",
            "CR_Socket_Memory",
            "CR_Memory",
        ];
        const NO_MEMORY: &[&str] = &["CR_CPU", "CR_Core", "CR_Socket"];
        const UNUSED: &[&str] = &[
            "CR_ONE_TASK_PER_CORE",
            "CR_CORE_DEFAULT_DIST_BLOCK",
            "CR_LLN",
            "CR_Pack_Nodes",
            "LL_SHARED_GRES",
            "MULTIPLE_SHARING_GRES_PJ",
            "ENFORCE_BINDING_GRES",
            "ONE_TASK_PER_SHARING_GRES",
        ];
        let matches = |set: &[&str], opt: &str| set.iter().any(|s| s.eq_ignore_ascii_case(opt));
        for option in pair.list() {
            if matches(TRACK_MEMORY, &option) {
                self.cluster.select.track_memory = true;
            } else if matches(NO_MEMORY, &option) {
                self.cluster.select.track_memory = false;
            } else if matches(UNUSED, &option) {
                let message =
                    format!("SelectTypeParameters option {option} is not used by slinky (ignored)");
                self.diag
                    .warn_once("select", &option, &pair.at, Some(&pair.key), message);
            } else {
                return Err(pair.invalid(format!("unknown option {option}")));
            }
        }
        Ok(())
    }

    fn scheduler_parameters(&mut self, pair: &Pair) -> Result<(), ConfigError> {
        for option in pair.list() {
            let (name, value) = option.split_once('=').unwrap_or((&option, ""));
            let number = || -> Result<u64, ConfigError> {
                value
                    .trim()
                    .parse()
                    .map_err(|_| pair.invalid(format!("{name} expects a whole number")))
            };
            let sched = &mut self.cluster.scheduler;
            match name.to_ascii_lowercase().as_str() {
                "bf_window" => sched.bf_window_min = number()?,
                "bf_resolution" => sched.bf_resolution_s = number()?,
                "bf_interval" => sched.bf_interval_s = number()?,
                "sched_interval" => sched.sched_interval_s = number()?,
                "bf_max_job_test" => {
                    let n = u32::try_from(number()?)
                        .map_err(|_| pair.invalid("bf_max_job_test is too large"))?;
                    sched.bf_max_job_test = (n > 0).then_some(n);
                }
                _ => {
                    let message = format!(
                        "SchedulerParameters option {name} is not used by slinky (ignored)"
                    );
                    self.diag
                        .warn_once("sched", name, &pair.at, Some(&pair.key), message);
                }
            }
        }
        Ok(())
    }

    fn priority_flags(&mut self, pair: &Pair) -> Result<(), ConfigError> {
        const UNUSED: &[&str] = &[
            "ACCRUE_ALWAYS",
            "CALCULATE_RUNNING",
            "DEPTH_OBLIVIOUS",
            "INCR_ONLY",
            "MAX_TRES",
            "MAX_TRES_GRES",
            "NO_NORMAL_ALL",
            "NO_NORMAL_ASSOC",
            "NO_NORMAL_PART",
            "NO_NORMAL_QOS",
            "NO_NORMAL_TRES",
            "SMALL_RELATIVE_TO_TIME",
        ];
        for flag in pair.list() {
            if flag.eq_ignore_ascii_case("FAIR_TREE") {
                self.cluster.priority.fair_tree = true;
            } else if flag.eq_ignore_ascii_case("NO_FAIR_TREE") {
                self.cluster.priority.fair_tree = false;
            } else if UNUSED.iter().any(|u| u.eq_ignore_ascii_case(&flag)) {
                let message = format!("PriorityFlags flag {flag} is not used by slinky (ignored)");
                self.diag
                    .warn_once("priority", &flag, &pair.at, Some(&pair.key), message);
            } else {
                return Err(pair.invalid(format!("unknown flag {flag}")));
            }
        }
        Ok(())
    }

    fn node_line(&mut self, name_pair: &Pair, rest: &[Pair]) -> Result<(), ConfigError> {
        let spec = NodeSpec::from_pairs(rest, &mut self.diag)?;
        if name_pair.value.eq_ignore_ascii_case("DEFAULT") {
            self.node_defaults = self.node_defaults.overlay(&spec);
            return Ok(());
        }
        let names = hostlist::expand(&name_pair.value).map_err(|e| name_pair.invalid(e.message))?;
        let template = self
            .node_defaults
            .overlay(&spec)
            .build(&name_pair.at, &mut self.diag);
        for name in names {
            self.add_node(
                NodeConfig {
                    name,
                    ..template.clone()
                },
                &name_pair.at,
            )?;
        }
        Ok(())
    }

    fn add_node(&mut self, node: NodeConfig, at: &Location) -> Result<(), ConfigError> {
        if let Some(&index) = self.node_index.get(&node.name) {
            return Err(ConfigError::DuplicateNode {
                at: at.clone(),
                node: node.name,
                first: self.node_at[index].clone(),
            });
        }
        self.node_index
            .insert(node.name.clone(), self.cluster.nodes.len());
        self.node_at.push(at.clone());
        self.cluster.nodes.push(node);
        Ok(())
    }

    fn partition_line(&mut self, name_pair: &Pair, rest: &[Pair]) -> Result<(), ConfigError> {
        let spec = PartSpec::from_pairs(rest, &mut self.diag)?;
        if name_pair.value.eq_ignore_ascii_case("DEFAULT") {
            self.part_defaults = self.part_defaults.overlay(&spec);
            return Ok(());
        }
        if name_pair.value.is_empty() {
            return Err(name_pair.invalid("must not be empty"));
        }
        if let Some(first) = self.partitions.iter().find(|p| p.name == name_pair.value) {
            return Err(ConfigError::DuplicatePartition {
                at: name_pair.at.clone(),
                partition: name_pair.value.clone(),
                first: first.at.clone(),
            });
        }
        self.partitions.push(PendingPartition {
            name: name_pair.value.clone(),
            spec: self.part_defaults.overlay(&spec),
            at: name_pair.at.clone(),
        });
        Ok(())
    }

    fn finish(mut self) -> Result<LoadedConfig, ConfigError> {
        let file = Location::whole_file(self.origin.clone());
        if self.cluster_name_at.is_none() {
            return Err(ConfigError::Missing {
                at: file,
                key: "ClusterName",
            });
        }
        if self.cluster.nodes.is_empty() {
            return Err(ConfigError::NoNodes { at: file });
        }
        self.resolve_controllers(&file);
        self.check_node_gres();
        let pending = std::mem::take(&mut self.partitions);
        let mut partitions = pending
            .iter()
            .map(|p| self.build_partition(p))
            .collect::<Result<Vec<_>, _>>()?;
        self.settle_default_partition(&pending, &mut partitions);
        if partitions.is_empty() {
            let message = "no PartitionName= lines: jobs cannot be submitted until a partition \
                           is defined";
            self.diag.warn(&file, None, message);
        }
        self.cluster.partitions = partitions;
        Ok(LoadedConfig {
            cluster: self.cluster,
            gres_conf: None,
            warnings: self.diag.warnings,
        })
    }

    /// Merges the legacy `ControlMachine` family into `controller_hosts`.
    fn resolve_controllers(&mut self, file: &Location) {
        let legacy = std::mem::take(&mut self.legacy_controller);
        let hosts = [
            (legacy.primary, legacy.primary_addr),
            (legacy.backup, legacy.backup_addr),
        ];
        let legacy_hosts: Vec<ControllerHost> = hosts
            .into_iter()
            .filter_map(|(name, addr)| name.map(|name| ControllerHost { name, addr }))
            .collect();
        if self.cluster.controller_hosts.is_empty() {
            self.cluster.controller_hosts = legacy_hosts;
        } else if !legacy_hosts.is_empty() {
            let message =
                "ControlMachine/BackupController are ignored because SlurmctldHost is set";
            self.diag.warn(file, Some("ControlMachine"), message);
        }
        if self.cluster.controller_hosts.is_empty() {
            let message = "no SlurmctldHost=: slinky's controller address then comes from its \
                           deployment";
            self.diag.warn(file, Some("SlurmctldHost"), message);
        }
    }

    /// Warns (once per node line and GRES name) about GRES missing from `GresTypes=`.
    fn check_node_gres(&mut self) {
        for (node, at) in self.cluster.nodes.iter().zip(&self.node_at) {
            for gres in &node.gres {
                if !self.cluster.gres_types.contains(&gres.name) {
                    let message = format!(
                        "node {}: GRES {} is not listed in GresTypes=",
                        node.name, gres.name
                    );
                    let scope_key = format!("{at}/{}", gres.name);
                    self.diag
                        .warn_once("gres-types", &scope_key, at, Some("Gres"), message);
                }
            }
        }
    }

    fn build_partition(&self, pending: &PendingPartition) -> Result<PartitionConfig, ConfigError> {
        let nodes = match &pending.spec.nodes {
            Some(pair) => self.partition_nodes(&pending.name, pair)?,
            None => Vec::new(),
        };
        let spec = &pending.spec;
        let mut part = PartitionConfig::new(pending.name.clone(), nodes);
        part.default = spec.default.unwrap_or(false);
        part.state = spec.state.unwrap_or(PartitionState::Up);
        part.max_time = spec.max_time.unwrap_or(TimeLimit::Infinite);
        part.default_time = spec.default_time;
        part.max_nodes = spec.max_nodes.unwrap_or(None);
        part.min_nodes = spec.min_nodes.unwrap_or(part.min_nodes);
        part.priority_job_factor = spec.priority_job_factor.unwrap_or(1);
        part.priority_tier = spec.priority_tier.unwrap_or(1);
        part.allow_accounts = spec.allow_accounts.clone().unwrap_or_default();
        part.allow_groups = spec.allow_groups.clone().unwrap_or_default();
        part.allow_qos = spec.allow_qos.clone().unwrap_or_default();
        part.oversubscribe = spec.oversubscribe.unwrap_or(OverSubscribe::No);
        part.def_mem_per_cpu_mb = spec.def_mem_per_cpu_mb.unwrap_or(self.def_mem_per_cpu_mb);
        Ok(part)
    }

    /// Resolves `Nodes=` (`ALL` or a hostlist) against the defined nodes, in the list's order.
    fn partition_nodes(&self, partition: &str, pair: &Pair) -> Result<Vec<String>, ConfigError> {
        if pair.value.eq_ignore_ascii_case("ALL") {
            return Ok(self.cluster.nodes.iter().map(|n| n.name.clone()).collect());
        }
        if pair.value.is_empty() {
            return Ok(Vec::new());
        }
        let names = hostlist::expand(&pair.value).map_err(|e| pair.invalid(e.message))?;
        let mut seen = HashSet::new();
        let mut nodes = Vec::with_capacity(names.len());
        for name in names {
            if !self.node_index.contains_key(&name) {
                return Err(ConfigError::UnknownNode {
                    at: pair.at.clone(),
                    partition: partition.to_owned(),
                    node: name,
                });
            }
            if seen.insert(name.clone()) {
                nodes.push(name);
            }
        }
        Ok(nodes)
    }

    /// Keeps only the last `Default=YES` partition, as Slurm does.
    fn settle_default_partition(
        &mut self,
        pending: &[PendingPartition],
        partitions: &mut [PartitionConfig],
    ) {
        let Some(last) = partitions.iter().rposition(|p| p.default) else {
            return;
        };
        for (index, part) in partitions.iter_mut().enumerate() {
            if part.default && index != last {
                part.default = false;
                let message = format!(
                    "partition {} is Default=YES but partition {} (line {}) is too; the last \
                     one is the default, as in Slurm",
                    part.name,
                    pending[last].name,
                    pending[last].at.line.unwrap_or_default()
                );
                self.diag.warn(&pending[index].at, Some("Default"), message);
            }
        }
    }
}

/// `name` or `name(addr)`.
fn controller_host(pair: &Pair) -> Result<ControllerHost, ConfigError> {
    let value = pair.value.trim();
    let (name, addr) = match value.split_once('(') {
        Some((name, rest)) => {
            let addr = rest
                .strip_suffix(')')
                .ok_or_else(|| pair.invalid("expected name or name(address)"))?;
            (name, Some(addr.to_owned()))
        }
        None => (value, None),
    };
    if name.is_empty() || addr.as_deref() == Some("") {
        return Err(pair.invalid("expected name or name(address)"));
    }
    Ok(ControllerHost {
        name: name.to_owned(),
        addr,
    })
}

/// `6817` or a range `6817-6818` (slinky listens on the first port).
fn port_range_start(pair: &Pair) -> Result<u16, ConfigError> {
    let first = pair.value.split('-').next().unwrap_or_default().trim();
    first
        .parse()
        .map_err(|e| pair.invalid(format!("expected a port or port range ({e})")))
}

/// `CPU=1000,Mem=2000,GRES/gpu=3000`.
fn tres_weights(pair: &Pair) -> Result<Vec<(String, u32)>, ConfigError> {
    pair.list()
        .into_iter()
        .map(|item| {
            let (name, weight) = item
                .split_once('=')
                .ok_or_else(|| pair.invalid(format!("expected TRES=weight, found \"{item}\"")))?;
            let weight = weight
                .trim()
                .parse()
                .map_err(|_| pair.invalid(format!("weight of {name} must be a whole number")))?;
            Ok((name.trim().to_owned(), weight))
        })
        .collect()
}

/// `AccountingStorageEnforce=` flags, lowercased; `0`/`none` mean no enforcement.
fn enforce_flags(pair: &Pair) -> Result<Vec<String>, ConfigError> {
    const FLAGS: &[&str] = &[
        "all",
        "associations",
        "limits",
        "nojobs",
        "nosteps",
        "qos",
        "safe",
        "wckeys",
    ];
    let mut flags = Vec::new();
    for flag in pair.list() {
        let flag = flag.to_ascii_lowercase();
        if flag == "0" || flag == "none" {
            continue;
        }
        if !FLAGS.contains(&flag.as_str()) {
            return Err(pair.invalid(format!("unknown flag {flag}")));
        }
        flags.push(flag);
    }
    Ok(flags)
}

// ------------------------------------------------------------------------------------------
// NodeName= lines
// ------------------------------------------------------------------------------------------

/// A node's initial `State=` in slurm.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigNodeState {
    Unknown,
    Idle,
    Cloud,
    Future,
    Down,
    Drain,
    Fail,
}

const NODE_STATES: &[(&str, ConfigNodeState)] = &[
    ("UNKNOWN", ConfigNodeState::Unknown),
    ("IDLE", ConfigNodeState::Idle),
    ("CLOUD", ConfigNodeState::Cloud),
    ("FUTURE", ConfigNodeState::Future),
    ("DOWN", ConfigNodeState::Down),
    ("DRAIN", ConfigNodeState::Drain),
    ("FAIL", ConfigNodeState::Fail),
    ("FAILING", ConfigNodeState::Fail),
];

/// The attributes one `NodeName=` line (or the DEFAULT line) sets.
#[derive(Debug, Clone, Default)]
struct NodeSpec {
    cpus: Option<u32>,
    boards: Option<u32>,
    sockets: Option<u32>,
    sockets_per_board: Option<u32>,
    cores_per_socket: Option<u32>,
    threads_per_core: Option<u32>,
    real_memory_mb: Option<u64>,
    gres: Option<Vec<Gres>>,
    features: Option<Vec<String>>,
    weight: Option<u32>,
    state: Option<(ConfigNodeState, Pair)>,
}

type NodeSetter = fn(&mut NodeSpec, &Pair) -> Result<(), ConfigError>;

const NODE_KEYS: &[(&str, NodeSetter)] = &[
    key!(CPUs: cpus = |p| Some(p.positive()?)),
    key!(Procs: cpus = |p| Some(p.positive()?)),
    key!(Boards: boards = |p| Some(p.positive()?)),
    key!(Sockets: sockets = |p| Some(p.positive()?)),
    key!(SocketsPerBoard: sockets_per_board = |p| Some(p.positive()?)),
    key!(CoresPerSocket: cores_per_socket = |p| Some(p.positive()?)),
    key!(ThreadsPerCore: threads_per_core = |p| Some(p.positive()?)),
    key!(RealMemory: real_memory_mb = |p| Some(p.mem_mb()?)),
    ("Gres", |s, p| {
        s.gres = Some(
            if p.value.is_empty() || p.value.eq_ignore_ascii_case("(null)") {
                Vec::new()
            } else {
                tres::parse_gres_list(&p.value).map_err(|e| p.invalid(e.message))?
            },
        );
        Ok(())
    }),
    key!(Features: features = |p| Some(p.list())),
    key!(Feature: features = |p| Some(p.list())),
    key!(Weight: weight = |p| Some(p.num()?)),
    key!(State: state = |p| Some((p.choice(NODE_STATES)?, p.clone()))),
    // Addresses come from the nodes' pods under slinky; accepted and not kept.
    ("NodeAddr", |_, _| Ok(())),
    ("NodeHostname", |_, _| Ok(())),
    ("Port", |_, _| Ok(())),
];

const NODE_SCOPE: KeyScope = KeyScope {
    used_prefix: "NodeName option ",
    kind: "NodeName option",
    known_unused: "\
        Bcast CoreSpecCount CpuBind CpuSpecList Extra Features_Active MemSpecLimit Parameters
        Reason ResumeTimeout RestrictedCoresPerGPU SuspendTime SuspendTimeout TmpDisk Topology
        TRESWeights
    ",
};

impl NodeSpec {
    fn from_pairs(pairs: &[Pair], diag: &mut Diagnostics) -> Result<Self, ConfigError> {
        let mut spec = Self::default();
        for pair in pairs {
            match NODE_KEYS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&pair.key))
            {
                Some((_, set)) => set(&mut spec, pair)?,
                None => {
                    let implemented = NODE_KEYS.iter().map(|(name, _)| *name);
                    diag.unused_key(pair, &NODE_SCOPE, implemented);
                }
            }
        }
        Ok(spec)
    }

    /// `self` with every attribute `over` sets replaced.
    fn overlay(&self, over: &Self) -> Self {
        fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        Self {
            cpus: pick(&self.cpus, &over.cpus),
            boards: pick(&self.boards, &over.boards),
            sockets: pick(&self.sockets, &over.sockets),
            sockets_per_board: pick(&self.sockets_per_board, &over.sockets_per_board),
            cores_per_socket: pick(&self.cores_per_socket, &over.cores_per_socket),
            threads_per_core: pick(&self.threads_per_core, &over.threads_per_core),
            real_memory_mb: pick(&self.real_memory_mb, &over.real_memory_mb),
            gres: pick(&self.gres, &over.gres),
            features: pick(&self.features, &over.features),
            weight: pick(&self.weight, &over.weight),
            state: pick(&self.state, &over.state),
        }
    }

    /// The node this spec describes (with an empty name), warning about what Slurm would
    /// also correct or what slinky does not keep.
    fn build(&self, at: &Location, diag: &mut Diagnostics) -> NodeConfig {
        let boards = self.boards.unwrap_or(1);
        let cores = self.cores_per_socket.unwrap_or(1);
        let threads = self.threads_per_core.unwrap_or(1);
        // With Boards=, Sockets= counts sockets per board (as in Slurm).
        let sockets = match self.sockets_per_board.or(self.sockets) {
            Some(per_board) => per_board.saturating_mul(boards),
            None => match self.cpus {
                Some(cpus) => (cpus / cores.saturating_mul(threads)).max(1),
                None => boards,
            },
        };
        let per_core = sockets.saturating_mul(cores);
        let all_threads = per_core.saturating_mul(threads);
        let cpus = match self.cpus {
            None => all_threads,
            Some(cpus) if cpus == all_threads || cpus == per_core => cpus,
            Some(cpus) => {
                let message = format!(
                    "CPUs={cpus} matches neither Sockets*CoresPerSocket*ThreadsPerCore \
                     ({all_threads}) nor Sockets*CoresPerSocket ({per_core}); using \
                     {all_threads}, as Slurm does"
                );
                diag.warn(at, Some("CPUs"), message);
                all_threads
            }
        };
        let cloud = self.warn_state(diag);
        NodeConfig {
            name: String::new(),
            cpus,
            boards,
            sockets,
            cores_per_socket: cores,
            threads_per_core: threads,
            real_memory_mb: self.real_memory_mb.unwrap_or(1),
            gres: self.gres.clone().unwrap_or_default(),
            features: self.features.clone().unwrap_or_default(),
            weight: self.weight.unwrap_or(1),
            cloud,
        }
    }

    /// True for `State=CLOUD`; warns about states slinky does not keep.
    fn warn_state(&self, diag: &mut Diagnostics) -> bool {
        match &self.state {
            Some((ConfigNodeState::Cloud, _)) => true,
            Some((ConfigNodeState::Unknown | ConfigNodeState::Idle, _)) | None => false,
            Some((_, pair)) => {
                let message = format!(
                    "State={} is not kept by slinky: nodes start UNKNOWN until their agent \
                     registers",
                    pair.value
                );
                diag.warn(&pair.at, Some(&pair.key), message);
                false
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// PartitionName= lines
// ------------------------------------------------------------------------------------------

/// The attributes one `PartitionName=` line (or the DEFAULT line) sets.
#[derive(Debug, Clone, Default)]
struct PartSpec {
    nodes: Option<Pair>,
    default: Option<bool>,
    state: Option<PartitionState>,
    max_time: Option<TimeLimit>,
    default_time: Option<TimeLimit>,
    max_nodes: Option<Option<u32>>,
    min_nodes: Option<u32>,
    priority_job_factor: Option<u16>,
    priority_tier: Option<u16>,
    allow_accounts: Option<AccessList>,
    allow_groups: Option<AccessList>,
    allow_qos: Option<AccessList>,
    oversubscribe: Option<OverSubscribe>,
    def_mem_per_cpu_mb: Option<Option<u64>>,
}

type PartSetter = fn(&mut PartSpec, &Pair, &mut Diagnostics) -> Result<(), ConfigError>;

const PART_KEYS: &[(&str, PartSetter)] = &[
    key!(Nodes: nodes = |p, _d| Some(p.clone())),
    key!(Default: default = |p, _d| Some(p.boolean()?)),
    key!(State: state = |p, _d| Some(p.choice(PARTITION_STATES)?)),
    key!(MaxTime: max_time = |p, _d| Some(p.time_limit()?)),
    key!(DefaultTime: default_time = |p, _d| Some(p.time_limit()?)),
    ("MaxNodes", |s, p, _| {
        s.max_nodes = Some(if is_unlimited(&p.value) {
            None
        } else {
            Some(p.num()?)
        });
        Ok(())
    }),
    key!(MinNodes: min_nodes = |p, _d| Some(p.num()?)),
    key!(PriorityJobFactor: priority_job_factor = |p, _d| Some(p.num()?)),
    key!(PriorityTier: priority_tier = |p, _d| Some(p.num()?)),
    // Legacy: sets both the job factor and the tier.
    ("Priority", |s, p, _| {
        let value = p.num()?;
        s.priority_job_factor = Some(value);
        s.priority_tier = Some(value);
        Ok(())
    }),
    key!(AllowAccounts: allow_accounts = |p, _d| Some(access_list(p))),
    key!(AllowGroups: allow_groups = |p, _d| Some(access_list(p))),
    key!(AllowQos: allow_qos = |p, _d| Some(access_list(p))),
    key!(OverSubscribe: oversubscribe = |p, d| Some(oversubscribe(p, d)?)),
    // Legacy name of OverSubscribe.
    key!(Shared: oversubscribe = |p, d| Some(oversubscribe(p, d)?)),
    key!(DefMemPerCPU: def_mem_per_cpu_mb = |p, _d| Some(p.mem_limit()?)),
];

const PART_SCOPE: KeyScope = KeyScope {
    used_prefix: "PartitionName option ",
    kind: "PartitionName option",
    known_unused: "\
        AllocNodes Alternate CpuBind DefCpuPerGPU DefMemPerGPU DefMemPerNode DenyAccounts
        DenyQos DisableRootJobs ExclusiveTopo ExclusiveUser GraceTime Hidden LLN MaxCPUsPerNode
        MaxCPUsPerSocket MaxMemPerCPU MaxMemPerNode OverTimeLimit PowerDownOnIdle PreemptMode
        QOS ReqResv ResumeTimeout RootOnly SelectTypeParameters SuspendTime SuspendTimeout
        Topology TRESBillingWeights
    ",
};

/// `ALL` (or empty) → everyone, else a comma-separated list.
fn access_list(pair: &Pair) -> AccessList {
    if pair.value.is_empty() || pair.value.eq_ignore_ascii_case("ALL") {
        AccessList::All
    } else {
        AccessList::Only(pair.list())
    }
}

/// `NO`, `EXCLUSIVE`, `YES[:N]`, `FORCE[:N]` (the job count N is not kept).
fn oversubscribe(pair: &Pair, diag: &mut Diagnostics) -> Result<OverSubscribe, ConfigError> {
    let (mode, count) = match pair.value.split_once(':') {
        Some((mode, count)) => (mode, Some(count)),
        None => (pair.value.as_str(), None),
    };
    let mode_pair = Pair {
        value: mode.to_owned(),
        ..pair.clone()
    };
    let mode = mode_pair.choice(OVERSUBSCRIBE)?;
    if let Some(count) = count {
        if count.parse::<u32>().is_err()
            || matches!(mode, OverSubscribe::No | OverSubscribe::Exclusive)
        {
            return Err(pair.invalid("expected NO, EXCLUSIVE, YES[:N] or FORCE[:N]"));
        }
        let message = format!(
            "OverSubscribe job count :{count} is not used by slinky (one job per resource)"
        );
        diag.warn_once("oversubscribe", count, &pair.at, Some(&pair.key), message);
    }
    Ok(mode)
}

impl PartSpec {
    fn from_pairs(pairs: &[Pair], diag: &mut Diagnostics) -> Result<Self, ConfigError> {
        let mut spec = Self::default();
        for pair in pairs {
            match PART_KEYS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&pair.key))
            {
                Some((_, set)) => set(&mut spec, pair, diag)?,
                None => {
                    let implemented = PART_KEYS.iter().map(|(name, _)| *name);
                    diag.unused_key(pair, &PART_SCOPE, implemented);
                }
            }
        }
        Ok(spec)
    }

    /// `self` with every attribute `over` sets replaced.
    fn overlay(&self, over: &Self) -> Self {
        fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        Self {
            nodes: pick(&self.nodes, &over.nodes),
            default: pick(&self.default, &over.default),
            state: pick(&self.state, &over.state),
            max_time: pick(&self.max_time, &over.max_time),
            default_time: pick(&self.default_time, &over.default_time),
            max_nodes: pick(&self.max_nodes, &over.max_nodes),
            min_nodes: pick(&self.min_nodes, &over.min_nodes),
            priority_job_factor: pick(&self.priority_job_factor, &over.priority_job_factor),
            priority_tier: pick(&self.priority_tier, &over.priority_tier),
            allow_accounts: pick(&self.allow_accounts, &over.allow_accounts),
            allow_groups: pick(&self.allow_groups, &over.allow_groups),
            allow_qos: pick(&self.allow_qos, &over.allow_qos),
            oversubscribe: pick(&self.oversubscribe, &over.oversubscribe),
            def_mem_per_cpu_mb: pick(&self.def_mem_per_cpu_mb, &over.def_mem_per_cpu_mb),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------

/// Renders a cluster as slurm.conf text that [`parse_slurm_conf`] reads back equal (QOS
/// excepted: those live in the accounting database, not in slurm.conf).
///
/// The output is deterministic: settings in a fixed order, every setting written (defaults
/// included), nodes and partitions in the cluster's order (their order is meaningful), runs
/// of consecutive nodes with identical hardware folded into one hostlist line.
pub fn render_slurm_conf(cluster: &ClusterConfig) -> String {
    let mut out = String::from("# slurm.conf rendered by slinky\n");
    let mut set = |key: &str, value: &str| {
        out.push_str(key);
        out.push('=');
        out.push_str(&quote(value));
        out.push('\n');
    };
    set("ClusterName", &cluster.cluster_name);
    for host in &cluster.controller_hosts {
        set("SlurmctldHost", &controller_host_str(host));
    }
    set("SlurmctldPort", &cluster.controller_port.to_string());
    set("SlurmdPort", &cluster.slurmd_port.to_string());
    set("SlurmUser", &cluster.slurm_user);
    set("StateSaveLocation", &cluster.state_save_location);
    set("AuthType", &cluster.auth_type);
    if let Some(info) = &cluster.auth_info {
        set("AuthInfo", info);
    }
    if cluster.tls_type != crate::tls::TLS_NONE || cluster.tls_parameters.is_some() {
        set("TLSType", &cluster.tls_type);
    }
    if let Some(params) = &cluster.tls_parameters {
        set("TLSParameters", params);
    }
    if !cluster.gres_types.is_empty() {
        set("GresTypes", &cluster.gres_types.join(","));
    }
    for (key, value) in settings(cluster) {
        set(key, &value);
    }
    out.push_str("# NODES\n");
    for line in node_lines(&cluster.nodes) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("# PARTITIONS\n");
    for part in &cluster.partitions {
        let mut line = format!("PartitionName={}", quote(&part.name));
        for (key, value) in partition_attrs(part) {
            line.push_str(&format!(" {key}={}", quote(&value)));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Scheduler, priority, accounting, timer and power settings as `(key, value)`, in the order
/// [`render_slurm_conf`] writes them.
pub(crate) fn settings(cluster: &ClusterConfig) -> Vec<(&'static str, String)> {
    let mut out = select_settings(&cluster.select);
    out.extend(scheduler_settings(&cluster.scheduler));
    out.extend(priority_settings(&cluster.priority));
    out.extend(accounting_settings(&cluster.accounting));
    out.extend(timer_settings(&cluster.timers));
    out.extend(power_settings(&cluster.power));
    out
}

pub(crate) fn accounting_settings(acct: &AccountingParams) -> Vec<(&'static str, String)> {
    let storage = match acct.storage {
        AccountingStorage::None => "accounting_storage/none",
        AccountingStorage::Slurmdbd => "accounting_storage/slurmdbd",
    };
    let mut out = vec![("AccountingStorageType", storage.to_owned())];
    if let Some(host) = &acct.host {
        out.push(("AccountingStorageHost", host.clone()));
    }
    if let Some(port) = acct.port {
        out.push(("AccountingStoragePort", port.to_string()));
    }
    if let Some(user) = &acct.user {
        out.push(("AccountingStorageUser", user.clone()));
    }
    if !acct.enforce.is_empty() {
        out.push(("AccountingStorageEnforce", acct.enforce.join(",")));
    }
    if !acct.tres.is_empty() {
        out.push(("AccountingStorageTRES", acct.tres.join(",")));
    }
    out
}

pub(crate) fn timer_settings(t: &Timers) -> Vec<(&'static str, String)> {
    vec![
        ("KillWait", t.kill_wait.to_string()),
        ("SlurmdTimeout", t.slurmd_timeout.to_string()),
        ("SlurmctldTimeout", t.slurmctld_timeout.to_string()),
        (
            "UnkillableStepTimeout",
            t.unkillable_step_timeout.to_string(),
        ),
        ("MinJobAge", t.min_job_age.to_string()),
        ("InactiveLimit", t.inactive_limit.to_string()),
        ("MessageTimeout", t.message_timeout.to_string()),
        ("Waittime", t.wait_time.to_string()),
    ]
}

pub(crate) fn power_settings(power: &PowerParams) -> Vec<(&'static str, String)> {
    let suspend = power
        .suspend_time
        .map_or_else(|| "INFINITE".to_owned(), |s| s.to_string());
    vec![
        ("SuspendTime", suspend),
        ("ResumeTimeout", power.resume_timeout.to_string()),
        ("SuspendTimeout", power.suspend_timeout.to_string()),
    ]
}

pub(crate) fn select_settings(select: &SelectParams) -> Vec<(&'static str, String)> {
    let select_type = if select.whole_nodes {
        "select/linear"
    } else {
        "select/cons_tres"
    };
    let params = if select.track_memory {
        "CR_CPU_Memory"
    } else {
        "CR_CPU"
    };
    vec![
        ("SelectType", select_type.into()),
        ("SelectTypeParameters", params.into()),
    ]
}

pub(crate) fn scheduler_settings(sched: &SchedulerParams) -> Vec<(&'static str, String)> {
    let scheduler_type = SCHEDULER_TYPES
        .iter()
        .find(|(_, policy)| *policy == sched.policy)
        .map_or("sched/backfill", |(name, _)| name);
    let params = format!(
        "bf_window={},bf_resolution={},bf_max_job_test={},bf_interval={},sched_interval={}",
        sched.bf_window_min,
        sched.bf_resolution_s,
        sched.bf_max_job_test.unwrap_or(0),
        sched.bf_interval_s,
        sched.sched_interval_s
    );
    vec![
        ("SchedulerType", scheduler_type.into()),
        ("SchedulerParameters", params),
        ("MaxArraySize", sched.max_array_size.to_string()),
    ]
}

pub(crate) fn priority_settings(prio: &PriorityParams) -> Vec<(&'static str, String)> {
    let priority_type = if prio.multifactor {
        "priority/multifactor"
    } else {
        "priority/basic"
    };
    let mut out = vec![
        ("PriorityType", priority_type.to_owned()),
        ("PriorityWeightAge", prio.weight_age.to_string()),
        ("PriorityWeightFairshare", prio.weight_fairshare.to_string()),
        ("PriorityWeightJobSize", prio.weight_job_size.to_string()),
        ("PriorityWeightPartition", prio.weight_partition.to_string()),
        ("PriorityWeightQOS", prio.weight_qos.to_string()),
    ];
    if !prio.weight_tres.is_empty() {
        let weights: Vec<String> = prio
            .weight_tres
            .iter()
            .map(|(tres, weight)| format!("{tres}={weight}"))
            .collect();
        out.push(("PriorityWeightTRES", weights.join(",")));
    }
    out.extend([
        (
            "PriorityDecayHalfLife",
            duration::format_duration(prio.decay_half_life_s),
        ),
        ("PriorityMaxAge", duration::format_duration(prio.max_age_s)),
        (
            "PriorityCalcPeriod",
            duration::format_duration(prio.calc_period_s),
        ),
        (
            "PriorityFavorSmall",
            if prio.favor_small { "YES" } else { "NO" }.to_owned(),
        ),
    ]);
    if prio.fair_tree {
        out.push(("PriorityFlags", "FAIR_TREE".to_owned()));
    }
    out
}

pub(crate) fn controller_host_str(host: &ControllerHost) -> String {
    match &host.addr {
        Some(addr) => format!("{}({addr})", host.name),
        None => host.name.clone(),
    }
}

/// `NodeName=` lines, folding runs of consecutive nodes with identical hardware.
fn node_lines(nodes: &[NodeConfig]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < nodes.len() {
        let end = start
            + nodes[start..]
                .iter()
                .take_while(|n| same_hardware(n, &nodes[start]))
                .count();
        let names: Vec<String> = nodes[start..end].iter().map(|n| n.name.clone()).collect();
        let attrs: Vec<String> = node_attrs(&nodes[start])
            .into_iter()
            .map(|(key, value)| format!("{key}={}", quote(&value)))
            .collect();
        lines.push(format!(
            "NodeName={} {}",
            quote(&hostlist_of(&names)),
            attrs.join(" ")
        ));
        start = end;
    }
    lines
}

/// True when two nodes differ only by name.
pub(crate) fn same_hardware(a: &NodeConfig, b: &NodeConfig) -> bool {
    NodeConfig {
        name: String::new(),
        ..a.clone()
    } == NodeConfig {
        name: String::new(),
        ..b.clone()
    }
}

/// A node's hardware as slurm.conf attributes.
pub(crate) fn node_attrs(node: &NodeConfig) -> Vec<(&'static str, String)> {
    let mut attrs = vec![("CPUs", node.cpus.to_string())];
    if node.boards > 1 {
        attrs.push(("Boards", node.boards.to_string()));
        attrs.push(("SocketsPerBoard", (node.sockets / node.boards).to_string()));
    } else {
        attrs.push(("Sockets", node.sockets.to_string()));
    }
    attrs.extend([
        ("CoresPerSocket", node.cores_per_socket.to_string()),
        ("ThreadsPerCore", node.threads_per_core.to_string()),
        ("RealMemory", node.real_memory_mb.to_string()),
    ]);
    if !node.gres.is_empty() {
        attrs.push(("Gres", tres::format_gres_list(&node.gres)));
    }
    if !node.features.is_empty() {
        attrs.push(("Features", node.features.join(",")));
    }
    attrs.push(("Weight", node.weight.to_string()));
    attrs.push(("State", if node.cloud { "CLOUD" } else { "UNKNOWN" }.into()));
    attrs
}

/// A partition's settings as slurm.conf attributes (after `PartitionName=`).
pub(crate) fn partition_attrs(part: &PartitionConfig) -> Vec<(&'static str, String)> {
    let mut attrs = Vec::new();
    if !part.nodes.is_empty() {
        attrs.push(("Nodes", hostlist_of(&part.nodes)));
    }
    attrs.extend([
        (
            "Default",
            if part.default { "YES" } else { "NO" }.to_owned(),
        ),
        ("State", part.state.as_str().to_owned()),
        ("MaxTime", part.max_time.to_string()),
    ]);
    if let Some(default_time) = part.default_time {
        attrs.push(("DefaultTime", default_time.to_string()));
    }
    let max_nodes = part
        .max_nodes
        .map_or_else(|| "UNLIMITED".to_owned(), |n| n.to_string());
    attrs.extend([
        ("MaxNodes", max_nodes),
        ("MinNodes", part.min_nodes.to_string()),
        ("PriorityJobFactor", part.priority_job_factor.to_string()),
        ("PriorityTier", part.priority_tier.to_string()),
        ("AllowAccounts", part.allow_accounts.to_string()),
        ("AllowGroups", part.allow_groups.to_string()),
        ("AllowQos", part.allow_qos.to_string()),
        ("OverSubscribe", part.oversubscribe.as_str().to_owned()),
    ]);
    if let Some(mb) = part.def_mem_per_cpu_mb {
        attrs.push(("DefMemPerCPU", mb.to_string()));
    }
    attrs
}

/// The compressed hostlist for `names` when it expands back to exactly `names`, else the
/// names joined by commas.
pub(crate) fn hostlist_of(names: &[String]) -> String {
    let compressed = hostlist::compress(names);
    match hostlist::expand(&compressed) {
        Ok(expanded) if expanded == names => compressed,
        _ => names.join(","),
    }
}

/// Quotes a value that would not survive as a bare token.
fn quote(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains(|c: char| c.is_whitespace() || c == '#' || c == '"') {
        std::borrow::Cow::Owned(format!("\"{value}\""))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Qos;

    const SEED_CPU: &str = include_str!("../../../examples/configs/seed-cpu.slurm.conf");
    const SEED_GPU: &str = include_str!("../../../examples/configs/seed-gpu.slurm.conf");
    const SEED_GRES: &str = include_str!("../../../examples/configs/seed-gres.conf");

    /// Minimal header every test config needs.
    const HEAD: &str = "ClusterName=test\nSlurmctldHost=ctl\n";

    fn parse(body: &str) -> LoadedConfig {
        parse_slurm_conf(&format!("{HEAD}{body}"), "t.conf").unwrap()
    }

    fn parse_err(body: &str) -> ConfigError {
        parse_slurm_conf(&format!("{HEAD}{body}"), "t.conf").unwrap_err()
    }

    fn messages(loaded: &LoadedConfig) -> Vec<String> {
        loaded.warnings.iter().map(|w| w.to_string()).collect()
    }

    /// The ignored keys of both seed files, with their lines.
    const SEED_IGNORED: &[(usize, &str)] = &[
        (33, "ProctrackType"),
        (41, "ReturnToService"),
        (42, "SlurmctldPidFile"),
        (44, "SlurmdPidFile"),
        (46, "SlurmdSpoolDir"),
        (54, "TaskPlugin"),
        (117, "JobCompLoc"),
        (121, "JobCompType"),
        (124, "JobAcctGatherFrequency"),
        (125, "JobAcctGatherType"),
        (126, "SlurmctldDebug"),
        (127, "SlurmctldLogFile"),
        (128, "SlurmdDebug"),
        (129, "SlurmdLogFile"),
    ];

    fn seed_ignored_warnings(file: &str) -> Vec<String> {
        SEED_IGNORED
            .iter()
            .map(|(line, key)| format!("{file}:{line}: {key} is not used by slinky (ignored)"))
            .collect()
    }

    #[test]
    fn seed_cpu_config_loads() {
        let loaded = parse_slurm_conf(SEED_CPU, "slurm.conf").unwrap();
        let c = &loaded.cluster;
        assert_eq!(c.cluster_name, "hpc-demo-cluster");
        assert_eq!(
            c.controller_hosts,
            [ControllerHost {
                name: "slurm-demo.hpc-node-login".into(),
                addr: None
            }]
        );
        assert_eq!((c.controller_port, c.slurmd_port), (6817, 6818));
        assert_eq!(c.slurm_user, "slurm");
        assert_eq!(c.state_save_location, "/var/spool/slurmctld");
        assert!(c.gres_types.is_empty());
        let mut node = NodeConfig::simple("slurm-demo.hpc-node-login", 4, 15990);
        node.cores_per_socket = 2;
        node.threads_per_core = 2;
        assert_eq!(c.nodes, [node]);
        let mut cpu = PartitionConfig::new("cpu", vec!["slurm-demo.hpc-node-login".into()]);
        cpu.default = true;
        assert_eq!(c.partitions, [cpu]);
        assert_eq!(c.qos, [Qos::normal()]);
        assert_eq!(
            c.select,
            SelectParams {
                whole_nodes: false,
                track_memory: true
            }
        );
        assert_eq!(c.scheduler, SchedulerParams::default());
        assert_eq!(c.priority, PriorityParams::default());
        assert_eq!(c.accounting.storage, AccountingStorage::Slurmdbd);
        assert_eq!(c.accounting.host.as_deref(), Some("localhost"));
        assert_eq!(c.accounting.port, Some(6819));
        assert_eq!(c.accounting.user.as_deref(), Some("slurm"));
        let timers = Timers {
            unkillable_step_timeout: 240,
            ..Timers::default()
        };
        assert_eq!(c.timers, timers);
        assert_eq!(c.power, PowerParams::default());
        assert_eq!(messages(&loaded), seed_ignored_warnings("slurm.conf"));
    }

    #[test]
    fn seed_gpu_config_loads_and_the_last_default_partition_wins() {
        let loaded = parse_slurm_conf(SEED_GPU, "slurm.conf").unwrap();
        let c = &loaded.cluster;
        assert_eq!(c.gres_types, ["gpu"]);
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "slurm-demo.hpc-node-login",
                "slurm-demo.hpc-node-compute01",
                "slurm-demo.hpc-node-compute02"
            ]
        );
        let compute = c.node("slurm-demo.hpc-node-compute02").unwrap();
        assert_eq!((compute.cpus, compute.real_memory_mb), (1, 3661));
        assert_eq!(compute.gres, [Gres::new("gpu", None, 2)]);
        let cpu = c.partition("cpu").unwrap();
        assert_eq!(cpu.nodes, ["slurm-demo.hpc-node-login"]);
        assert!(!cpu.default);
        let gpu = c.partition("gpu").unwrap();
        assert_eq!(
            gpu.nodes,
            [
                "slurm-demo.hpc-node-compute01",
                "slurm-demo.hpc-node-compute02"
            ]
        );
        assert!(gpu.default);
        assert_eq!(c.default_partition().unwrap().name, "gpu");
        let mut expected = seed_ignored_warnings("slurm.conf");
        expected.push(
            "slurm.conf:149: partition cpu is Default=YES but partition gpu (line 157) is too; \
             the last one is the default, as in Slurm"
                .into(),
        );
        assert_eq!(messages(&loaded), expected);
    }

    #[test]
    fn seed_gres_conf_types_the_seed_gpus() {
        let gres = gres_conf::parse_gres_conf(SEED_GRES, "gres.conf").unwrap();
        let loaded = parse_slurm_conf(SEED_GPU, "slurm.conf")
            .unwrap()
            .with_gres_conf(gres);
        for name in [
            "slurm-demo.hpc-node-compute01",
            "slurm-demo.hpc-node-compute02",
        ] {
            let node = loaded.cluster.node(name).unwrap();
            assert_eq!(node.gres, [Gres::new("gpu", Some("tesla"), 2)]);
        }
        assert!(
            loaded
                .cluster
                .node("slurm-demo.hpc-node-login")
                .unwrap()
                .gres
                .is_empty()
        );
        // Only the slurm.conf warnings: gres.conf agrees with it.
        assert_eq!(loaded.warnings.len(), SEED_IGNORED.len() + 1);
    }

    #[test]
    fn errors_carry_file_line_and_key() {
        let err = parse_err("NodeName=n1 CPUs=4\nNodeName=n2 RealMemory=abc\n");
        assert_eq!(err.line(), Some(4));
        assert_eq!(err.key(), Some("RealMemory"));
        assert!(
            err.to_string()
                .starts_with("t.conf:4: invalid value \"abc\" for RealMemory: "),
            "{err}"
        );

        let err = parse_err("NodeName=n1 CPUs=four\n");
        assert_eq!(
            err.to_string(),
            "t.conf:3: invalid value \"four\" for CPUs: expected a whole number (invalid digit \
             found in string)"
        );

        let err = parse_err("NodeName=n1\n\nProctrackType proctrack/cgroup\n");
        assert_eq!(
            err.to_string(),
            "t.conf:5: expected Key=Value, found \"ProctrackType\""
        );

        let err = parse_err("NodeName=n1\nPartitionName=p Nodes=n1 State=SLEEPY\n");
        assert_eq!(
            err.to_string(),
            "t.conf:4: invalid value \"SLEEPY\" for State: expected one of UP, DOWN, DRAIN, \
             INACTIVE"
        );

        let err = parse_err("NodeName=n1 State=ASLEEP\n");
        assert_eq!((err.line(), err.key()), (Some(3), Some("State")));

        let err = parse_err("SchedulerType=sched/wiki\nNodeName=n1\n");
        assert_eq!((err.line(), err.key()), (Some(3), Some("SchedulerType")));

        let err = parse_err("NodeName=n1 Features=\"a b\n");
        assert_eq!(err.to_string(), "t.conf:3: unterminated quoted value");
    }

    #[test]
    fn partition_nodes_must_exist() {
        let err = parse_err("NodeName=n[1-2]\n\nPartitionName=p Nodes=n[1-3]\n");
        let ConfigError::UnknownNode {
            at,
            partition,
            node,
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(
            (at.line, partition.as_str(), node.as_str()),
            (Some(5), "p", "n3")
        );
        assert_eq!(
            err.to_string(),
            "t.conf:5: partition p: unknown node \"n3\" in Nodes="
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let err = parse_err("NodeName=n[1-3]\nNodeName=n3\n");
        assert_eq!(
            err.to_string(),
            "t.conf:4: node n3 is already defined at t.conf:3"
        );
        let err = parse_err("NodeName=n1\nPartitionName=p\nPartitionName=p\n");
        assert_eq!(
            err.to_string(),
            "t.conf:5: partition p is already defined at t.conf:4"
        );
    }

    #[test]
    fn required_parts() {
        let err = parse_slurm_conf("NodeName=n1\n", "t.conf").unwrap_err();
        assert_eq!(err.to_string(), "t.conf: ClusterName is required");
        let err = parse_err("PartitionName=p\n");
        assert_eq!(
            err.to_string(),
            "t.conf: no NodeName= lines: a cluster needs at least one node"
        );
        // No partitions: accepted (as Slurm does), with a warning.
        let loaded = parse("NodeName=n1\n");
        assert!(loaded.cluster.partitions.is_empty());
        assert_eq!(
            messages(&loaded),
            [
                "t.conf: no PartitionName= lines: jobs cannot be submitted until a partition is \
              defined"
            ]
        );
    }

    #[test]
    fn node_defaults_apply_to_following_lines() {
        let loaded = parse(
            "NodeName=DEFAULT CPUs=8 RealMemory=16000 Features=a\n\
             NodeName=n1\n\
             NodeName=DEFAULT RealMemory=32000\n\
             NodeName=n2 Features=b,c\n\
             NodeName=n3 CPUs=16\n",
        );
        let nodes = &loaded.cluster.nodes;
        assert_eq!((nodes[0].cpus, nodes[0].real_memory_mb), (8, 16000));
        assert_eq!(nodes[0].features, ["a"]);
        assert_eq!((nodes[1].cpus, nodes[1].real_memory_mb), (8, 32000));
        assert_eq!(nodes[1].features, ["b", "c"]);
        assert_eq!((nodes[2].cpus, nodes[2].real_memory_mb), (16, 32000));
        assert_eq!(nodes[2].sockets, 16);
    }

    #[test]
    fn partition_defaults_and_global_def_mem_per_cpu() {
        let loaded = parse(
            "DefMemPerCPU=1024\n\
             NodeName=n[1-4]\n\
             PartitionName=DEFAULT MaxTime=1-0 State=DOWN PriorityTier=5\n\
             PartitionName=a Nodes=ALL DefaultTime=30\n\
             PartitionName=b Nodes=n[3-4],n1 State=UP DefMemPerCPU=2G MaxNodes=2\n",
        );
        let [a, b] = &loaded.cluster.partitions[..] else {
            panic!("two partitions");
        };
        assert_eq!(a.nodes, ["n1", "n2", "n3", "n4"]);
        assert_eq!(a.max_time, TimeLimit::Seconds(86400));
        assert_eq!(a.default_time, Some(TimeLimit::minutes(30)));
        assert_eq!((a.state, a.priority_tier), (PartitionState::Down, 5));
        assert_eq!(a.def_mem_per_cpu_mb, Some(1024));
        assert_eq!(b.nodes, ["n3", "n4", "n1"]);
        assert_eq!((b.state, b.max_nodes), (PartitionState::Up, Some(2)));
        assert_eq!(b.def_mem_per_cpu_mb, Some(2048));
        assert_eq!(loaded.cluster.default_partition().unwrap().name, "a");
    }

    #[test]
    fn partition_settings() {
        let loaded = parse(
            "NodeName=n1\n\
             PartitionName=p Nodes=n1 Default=yes MaxTime=UNLIMITED MinNodes=0 \
             PriorityJobFactor=10 PriorityTier=3 AllowAccounts=a,b AllowGroups=ALL \
             AllowQos=normal OverSubscribe=FORCE:4\n\
             PartitionName=q Nodes=n1 Shared=EXCLUSIVE Priority=7 Hidden=YES\n",
        );
        let [p, q] = &loaded.cluster.partitions[..] else {
            panic!("two partitions");
        };
        assert!(p.default);
        assert_eq!(p.max_time, TimeLimit::Infinite);
        assert_eq!(
            (p.min_nodes, p.priority_job_factor, p.priority_tier),
            (0, 10, 3)
        );
        assert_eq!(
            p.allow_accounts,
            AccessList::Only(vec!["a".into(), "b".into()])
        );
        assert_eq!(p.allow_groups, AccessList::All);
        assert_eq!(p.allow_qos, AccessList::Only(vec!["normal".into()]));
        assert_eq!(p.oversubscribe, OverSubscribe::Force);
        assert_eq!(q.oversubscribe, OverSubscribe::Exclusive);
        assert_eq!((q.priority_job_factor, q.priority_tier), (7, 7));
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:4: OverSubscribe job count :4 is not used by slinky (one job per \
                 resource)",
                "t.conf:5: PartitionName option Hidden is not used by slinky (ignored)",
            ]
        );
        let err = parse_err("NodeName=n1\nPartitionName=p OverSubscribe=EXCLUSIVE:2\n");
        assert_eq!(err.key(), Some("OverSubscribe"));
    }

    #[test]
    fn continuation_lines_join_and_keep_physical_line_numbers() {
        let loaded = parse(
            "NodeName=n1 CPUs=4 \\\n\
             \x20   RealMemory=1000 \\\n\
             \x20   TmpDisk=100 # trailing comment\n\
             PartitionName=p Nodes=n1\n",
        );
        assert_eq!(loaded.cluster.nodes[0].real_memory_mb, 1000);
        assert_eq!(
            messages(&loaded),
            ["t.conf:5: NodeName option TmpDisk is not used by slinky (ignored)"]
        );
        let err = parse_err("NodeName=n1 CPUs=4 \\\n  RealMemory=lots\n");
        assert_eq!(err.line(), Some(4));
        // A value continued across lines.
        let loaded = parse("NodeName=n1 Features=a,\\\nb,c\n");
        assert_eq!(loaded.cluster.nodes[0].features, ["a", "b", "c"]);
    }

    #[test]
    fn comments_quotes_and_case() {
        let loaded = parse(
            "  # indented comment\n\
             nodename=n1 cpus=2 realmemory=100 # trailing\n\
             slurmuser = \"slurm user\"\n\
             StateSaveLocation=\"/var/spool/a#b\"\n\
             AuthInfo=socket=/run/munge\\#1\n\
             \n\
             partitionname=p nodes=n1 default=YES\n",
        );
        let c = &loaded.cluster;
        assert_eq!((c.nodes[0].cpus, c.nodes[0].real_memory_mb), (2, 100));
        assert_eq!(c.slurm_user, "slurm user");
        assert_eq!(c.state_save_location, "/var/spool/a#b");
        assert_eq!(c.auth_info.as_deref(), Some("socket=/run/munge#1"));
        assert!(c.partitions[0].default);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn tls_settings_are_read_and_rendered() {
        let loaded = parse(
            "TLSType=tls/s2n\nTLSParameters=ca_cert_file=/s/ca.pem,ctld_cert_file=/s/c.pem\n\
             NodeName=n1\nPartitionName=p Nodes=n1\n",
        );
        let c = &loaded.cluster;
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(c.tls_type, "tls/s2n");
        assert_eq!(
            c.tls_parameters.as_deref(),
            Some("ca_cert_file=/s/ca.pem,ctld_cert_file=/s/c.pem")
        );
        let rendered = render_slurm_conf(c);
        assert!(rendered.contains("\nTLSType=tls/s2n\n"), "{rendered}");
        let again = parse_slurm_conf(&rendered, "rendered.conf").unwrap();
        assert_eq!(again.cluster, *c);
        // Plain by default, and nothing rendered for it.
        let plain = parse("NodeName=n1\nPartitionName=p Nodes=n1\n");
        assert_eq!(plain.cluster.tls_type, "tls/none");
        assert!(!render_slurm_conf(&plain.cluster).contains("TLS"));
    }

    /// A fresh directory under the system temp dir for one test.
    fn temp_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("slinky-conf-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn include_is_relative_to_the_including_file() {
        let dir = temp_dir("include");
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("sub/nodes.conf"),
            "# nodes\nNodeName=n[1-2] CPUs=2\nInclude parts.conf\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("sub/parts.conf"),
            "PartitionName=p Nodes=ALL\nFoo=1\n",
        )
        .unwrap();
        let main = dir.join("slurm.conf");
        std::fs::write(
            &main,
            format!("{HEAD}include sub/nodes.conf\nGresTypes=gpu\n"),
        )
        .unwrap();
        let loaded = load_slurm_conf(&main).unwrap();
        assert_eq!(loaded.cluster.nodes.len(), 2);
        assert_eq!(loaded.cluster.partitions[0].nodes, ["n1", "n2"]);
        assert_eq!(loaded.cluster.gres_types, ["gpu"]);
        let parts = dir.join("sub").join("parts.conf");
        assert_eq!(
            messages(&loaded),
            [format!(
                "{}:2: Foo is not a slurm.conf option (ignored)",
                parts.display()
            )]
        );

        std::fs::write(dir.join("sub/parts.conf"), "Include ../slurm.conf\n").unwrap();
        let err = load_slurm_conf(&main).unwrap_err();
        assert!(matches!(err, ConfigError::IncludeDepth { .. }), "{err:?}");

        std::fs::write(&main, format!("{HEAD}Include missing.conf\n")).unwrap();
        let err = load_slurm_conf(&main).unwrap_err();
        assert_eq!(err.line(), Some(3));
        assert!(
            err.to_string().contains("cannot read included file"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn gres_conf_next_to_slurm_conf_is_applied() {
        let dir = temp_dir("gres");
        std::fs::write(
            dir.join("slurm.conf"),
            format!("{HEAD}GresTypes=gpu\nNodeName=g[1-2] Gres=gpu:4\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("gres.conf"),
            "Name=gpu Type=h100 File=/dev/nvidia[0-3]\n",
        )
        .unwrap();
        let loaded = load_slurm_conf(&dir.join("slurm.conf")).unwrap();
        assert!(loaded.gres_conf.is_some());
        assert_eq!(
            loaded.cluster.nodes[1].gres,
            [Gres::new("gpu", Some("h100"), 4)]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unused_keys_are_warned_once_and_unknown_keys_get_suggestions() {
        let loaded = parse(
            "ProctrackType=proctrack/cgroup\n\
             ProctrackType=proctrack/linuxproc\n\
             ClustrName=x\n\
             NodeName=n1 TmpDisk=1 Bogus=2\n\
             NodeName=n2 TmpDisk=1\n\
             NodeSet=ns Feature=a\n\
             PartitionName=p Nodes=n1 PreemptMode=OFF\n",
        );
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:3: ProctrackType is not used by slinky (ignored)",
                "t.conf:5: ClustrName is not a slurm.conf option (ignored); did you mean \
                 ClusterName?",
                "t.conf:6: NodeName option TmpDisk is not used by slinky (ignored)",
                "t.conf:6: Bogus is not a NodeName option (ignored)",
                "t.conf:8: NodeSet lines are not used by slinky (line ignored)",
                "t.conf:9: PartitionName option PreemptMode is not used by slinky (ignored)",
            ]
        );
        assert_eq!(loaded.warnings[0].key.as_deref(), Some("ProctrackType"));
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let loaded = parse("KillWait=10\nKillWait=20\nNodeName=n1\nPartitionName=p\n");
        assert_eq!(loaded.cluster.timers.kill_wait, 20);
        assert_eq!(
            messages(&loaded),
            ["t.conf:4: KillWait is set again (first at t.conf:3); the last value is used"]
        );
    }

    #[test]
    fn node_topology() {
        let loaded = parse(
            "NodeName=a Sockets=2 CoresPerSocket=8 ThreadsPerCore=2\n\
             NodeName=b Boards=2 Sockets=2 CoresPerSocket=4\n\
             NodeName=c Boards=2 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=2 CPUs=8\n\
             NodeName=d CPUs=12 Sockets=2 CoresPerSocket=4\n\
             NodeName=e Procs=6 CoresPerSocket=2 Weight=5 State=CLOUD\n\
             PartitionName=p\n",
        );
        let n = |name: &str| loaded.cluster.node(name).unwrap().clone();
        let a = n("a");
        assert_eq!((a.cpus, a.boards, a.sockets), (32, 1, 2));
        let b = n("b");
        assert_eq!((b.cpus, b.boards, b.sockets), (16, 2, 4));
        // CPUs may count cores instead of threads.
        let c = n("c");
        assert_eq!((c.cpus, c.sockets, c.threads_per_core), (8, 2, 2));
        // CPUs matching neither is reset, as Slurm does.
        assert_eq!(n("d").cpus, 8);
        // Sockets inferred from CPUs.
        let e = n("e");
        assert_eq!((e.cpus, e.sockets, e.weight, e.cloud), (6, 3, 5, true));
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:6: CPUs=12 matches neither Sockets*CoresPerSocket*ThreadsPerCore (8) nor \
              Sockets*CoresPerSocket (8); using 8, as Slurm does"
            ]
        );
    }

    #[test]
    fn node_states_other_than_unknown_idle_cloud_warn() {
        let loaded = parse("NodeName=a State=IDLE\nNodeName=b State=drain\nPartitionName=p\n");
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:4: State=drain is not kept by slinky: nodes start UNKNOWN until their \
              agent registers"
            ]
        );
        assert!(loaded.cluster.nodes.iter().all(|n| !n.cloud));
    }

    #[test]
    fn node_gres_and_gres_types() {
        let loaded = parse(
            "GresTypes=gpu\n\
             NodeName=g[1-2] Gres=gpu:a100:8,shard:4\n\
             PartitionName=p\n",
        );
        let node = &loaded.cluster.nodes[0];
        assert_eq!(
            node.gres,
            [
                Gres::new("gpu", Some("a100"), 8),
                Gres::new("shard", None, 4)
            ]
        );
        assert_eq!(
            messages(&loaded),
            ["t.conf:4: node g1: GRES shard is not listed in GresTypes="]
        );
    }

    #[test]
    fn controller_hosts_and_ports() {
        let loaded = parse(
            "SlurmctldHost=ctl2(10.0.0.2)\nSlurmctldPort=7000-7003\nSlurmdPort=7010\n\
             NodeName=n1\nPartitionName=p\n",
        );
        let c = &loaded.cluster;
        let hosts: Vec<String> = c.controller_hosts.iter().map(controller_host_str).collect();
        assert_eq!(hosts, ["ctl", "ctl2(10.0.0.2)"]);
        assert_eq!((c.controller_port, c.slurmd_port), (7000, 7010));

        let text = "ClusterName=x\nControlMachine=old\nControlAddr=10.1.1.1\n\
                    BackupController=old2\nNodeName=n1\nPartitionName=p\n";
        let loaded = parse_slurm_conf(text, "t.conf").unwrap();
        let hosts: Vec<String> = loaded
            .cluster
            .controller_hosts
            .iter()
            .map(controller_host_str)
            .collect();
        assert_eq!(hosts, ["old(10.1.1.1)", "old2"]);
        assert!(loaded.warnings.is_empty());

        let err = parse_err("SlurmctldHost=bad(\nNodeName=n1\n");
        assert_eq!(err.key(), Some("SlurmctldHost"));
        let err = parse_err("SlurmctldPort=abc-def\nNodeName=n1\n");
        assert_eq!(err.line(), Some(3));
    }

    #[test]
    fn cluster_name_is_lowercased() {
        let text = "ClusterName=Big\nSlurmctldHost=c\nNodeName=n1\nPartitionName=p\n";
        let loaded = parse_slurm_conf(text, "t.conf").unwrap();
        assert_eq!(loaded.cluster.cluster_name, "big");
        assert_eq!(
            messages(&loaded),
            ["t.conf:1: ClusterName is lowercased to big, as Slurm does"]
        );
    }

    #[test]
    fn select_and_scheduler_settings() {
        let loaded = parse(
            "SelectType=select/linear\nSelectTypeParameters=CR_Core,CR_LLN\n\
             SchedulerType=sched/builtin\n\
             SchedulerParameters=bf_window=2880,bf_resolution=120,bf_max_job_test=0,\
             bf_interval=10,sched_interval=20,bf_continue,defer\n\
             MaxArraySize=5000\nNodeName=n1\nPartitionName=p\n",
        );
        let c = &loaded.cluster;
        assert_eq!(
            c.select,
            SelectParams {
                whole_nodes: true,
                track_memory: false
            }
        );
        let expected = SchedulerParams {
            policy: SchedulerPolicy::Fcfs,
            bf_window_min: 2880,
            bf_resolution_s: 120,
            bf_max_job_test: None,
            bf_interval_s: 10,
            sched_interval_s: 20,
            max_array_size: 5000,
        };
        assert_eq!(c.scheduler, expected);
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:3: select/linear is emulated by select/cons_tres with whole-node \
                 allocation",
                "t.conf:4: SelectTypeParameters option CR_LLN is not used by slinky (ignored)",
                "t.conf:6: SchedulerParameters option bf_continue is not used by slinky \
                 (ignored)",
                "t.conf:6: SchedulerParameters option defer is not used by slinky (ignored)",
            ]
        );
        let loaded = parse("SelectType=select/cons_res\nNodeName=n1\nPartitionName=p\n");
        assert!(!loaded.cluster.select.whole_nodes);
        assert_eq!(loaded.warnings.len(), 1);
        let err = parse_err("SelectTypeParameters=CR_Bogus\nNodeName=n1\n");
        assert_eq!(err.key(), Some("SelectTypeParameters"));
        let err = parse_err("SchedulerParameters=bf_window=soon\nNodeName=n1\n");
        assert_eq!(
            err.to_string(),
            "t.conf:3: invalid value \"bf_window=soon\" for SchedulerParameters: bf_window \
             expects a whole number"
        );
    }

    #[test]
    fn priority_settings_and_durations() {
        let loaded = parse(
            "PriorityType=priority/multifactor\nPriorityDecayHalfLife=14-0\n\
             PriorityMaxAge=1:00:00\nPriorityCalcPeriod=5\nPriorityFavorSmall=YES\n\
             PriorityFlags=FAIR_TREE,MAX_TRES\nPriorityWeightAge=1000\n\
             PriorityWeightFairshare=2000\nPriorityWeightJobSize=3\nPriorityWeightPartition=4\n\
             PriorityWeightQOS=5\nPriorityWeightTRES=CPU=1000,Mem=2000,GRES/gpu=3000\n\
             NodeName=n1\nPartitionName=p\n",
        );
        let expected = PriorityParams {
            multifactor: true,
            weight_age: 1000,
            weight_fairshare: 2000,
            weight_job_size: 3,
            weight_partition: 4,
            weight_qos: 5,
            weight_tres: vec![
                ("CPU".into(), 1000),
                ("Mem".into(), 2000),
                ("GRES/gpu".into(), 3000),
            ],
            decay_half_life_s: 14 * 86400,
            max_age_s: 3600,
            favor_small: true,
            calc_period_s: 300,
            fair_tree: true,
        };
        assert_eq!(loaded.cluster.priority, expected);
        assert_eq!(
            messages(&loaded),
            ["t.conf:8: PriorityFlags flag MAX_TRES is not used by slinky (ignored)"]
        );
        let err = parse_err("PriorityMaxAge=INFINITE\nNodeName=n1\n");
        assert_eq!(err.key(), Some("PriorityMaxAge"));
        let err = parse_err("PriorityWeightTRES=CPU\nNodeName=n1\n");
        assert_eq!(err.key(), Some("PriorityWeightTRES"));
    }

    #[test]
    fn accounting_timers_and_power() {
        let loaded = parse(
            "AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=db\n\
             AccountingStoragePort=7031\nAccountingStorageUser=acct\n\
             AccountingStorageEnforce=Associations,limits,QOS\n\
             AccountingStorageTRES=gres/gpu,license/x\n\
             KillWait=1\nSlurmdTimeout=2\nSlurmctldTimeout=3\nUnkillableStepTimeout=4\n\
             MinJobAge=5\nInactiveLimit=6\nMessageTimeout=7\nWaittime=8\n\
             SuspendTime=600\nResumeTimeout=9\nSuspendTimeout=10\n\
             AuthType=auth/slurm\nNodeName=n1\nPartitionName=p\n",
        );
        let c = &loaded.cluster;
        assert_eq!(c.accounting.enforce, ["associations", "limits", "qos"]);
        assert_eq!(c.accounting.tres, ["gres/gpu", "license/x"]);
        assert_eq!(c.accounting.port, Some(7031));
        let timers = Timers {
            kill_wait: 1,
            slurmd_timeout: 2,
            slurmctld_timeout: 3,
            unkillable_step_timeout: 4,
            min_job_age: 5,
            inactive_limit: 6,
            message_timeout: 7,
            wait_time: 8,
        };
        assert_eq!(c.timers, timers);
        let power = PowerParams {
            suspend_time: Some(600),
            resume_timeout: 9,
            suspend_timeout: 10,
        };
        assert_eq!(c.power, power);
        assert_eq!(c.auth_type, "auth/slurm");
        for never in ["INFINITE", "-1", "none"] {
            let loaded = parse(&format!(
                "SuspendTime={never}\nNodeName=n1\nPartitionName=p\n"
            ));
            assert_eq!(loaded.cluster.power.suspend_time, None);
        }
        let err = parse_err("AccountingStorageEnforce=everything\nNodeName=n1\n");
        assert_eq!(err.key(), Some("AccountingStorageEnforce"));
        let err = parse_err("AccountingStorageType=accounting_storage/mysql\nNodeName=n1\n");
        assert_eq!(err.key(), Some("AccountingStorageType"));
        let err = parse_err("SlurmdPort=70000\nNodeName=n1\n");
        assert_eq!(err.key(), Some("SlurmdPort"));
    }

    #[test]
    fn seed_configs_render_and_parse_back_equal() {
        for text in [SEED_CPU, SEED_GPU] {
            let loaded = parse_slurm_conf(text, "slurm.conf").unwrap();
            let rendered = render_slurm_conf(&loaded.cluster);
            let again = parse_slurm_conf(&rendered, "rendered.conf").unwrap();
            assert_eq!(again.cluster, loaded.cluster, "{rendered}");
            assert!(again.warnings.is_empty(), "{:?}", again.warnings);
            assert_eq!(render_slurm_conf(&again.cluster), rendered);
        }
    }

    #[test]
    fn render_folds_consecutive_identical_nodes() {
        let loaded = parse(
            "NodeName=n[01-03] CPUs=4\nNodeName=x1 CPUs=8\nNodeName=n04 CPUs=4\n\
             PartitionName=p Nodes=n[01-04],x1\n",
        );
        let rendered = render_slurm_conf(&loaded.cluster);
        let lines: Vec<&str> = rendered
            .lines()
            .filter(|l| l.starts_with("NodeName=") || l.starts_with("PartitionName="))
            .collect();
        assert_eq!(
            lines,
            [
                "NodeName=n[01-03] CPUs=4 Sockets=4 CoresPerSocket=1 ThreadsPerCore=1 \
                 RealMemory=1 Weight=1 State=UNKNOWN",
                "NodeName=x1 CPUs=8 Sockets=8 CoresPerSocket=1 ThreadsPerCore=1 RealMemory=1 \
                 Weight=1 State=UNKNOWN",
                "NodeName=n04 CPUs=4 Sockets=4 CoresPerSocket=1 ThreadsPerCore=1 RealMemory=1 \
                 Weight=1 State=UNKNOWN",
                "PartitionName=p Nodes=n[01-04],x1 Default=NO State=UP MaxTime=UNLIMITED \
                 MaxNodes=UNLIMITED MinNodes=1 PriorityJobFactor=1 PriorityTier=1 \
                 AllowAccounts=ALL AllowGroups=ALL AllowQos=ALL OverSubscribe=NO",
            ]
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    mod roundtrip {
        use super::*;
        use proptest::collection::vec;
        use proptest::option;
        use proptest::prelude::*;

        fn word() -> impl Strategy<Value = String> {
            "[a-z][a-z0-9]{0,6}"
        }

        fn gres() -> impl Strategy<Value = Gres> {
            (
                prop_oneof![Just("gpu"), Just("shard")],
                option::of("[a-z][a-z0-9]{1,5}"),
                1u64..=16,
            )
                .prop_map(|(name, kind, count)| Gres::new(name, kind.as_deref(), count))
        }

        fn hardware() -> impl Strategy<Value = NodeConfig> {
            (
                (1u32..=2, 1u32..=2, 1u32..=64, 1u32..=2),
                1u64..=4_000_000,
                vec(gres(), 0..3),
                vec(word(), 0..3),
                1u32..=1000,
                any::<bool>(),
            )
                .prop_map(
                    |((boards, per_board, cores, threads), mem, gres, features, weight, cloud)| {
                        let sockets = boards * per_board;
                        NodeConfig {
                            name: String::new(),
                            cpus: sockets * cores * threads,
                            boards,
                            sockets,
                            cores_per_socket: cores,
                            threads_per_core: threads,
                            real_memory_mb: mem,
                            gres,
                            features,
                            weight,
                            cloud,
                        }
                    },
                )
        }

        /// Groups of identically built nodes named `g<group>-<nn>`.
        fn nodes() -> impl Strategy<Value = Vec<NodeConfig>> {
            vec((hardware(), 1usize..=4), 1..=4).prop_map(|groups| {
                let mut nodes = Vec::new();
                for (g, (hw, count)) in groups.into_iter().enumerate() {
                    for i in 1..=count {
                        nodes.push(NodeConfig {
                            name: format!("g{g}-{i:02}"),
                            ..hw.clone()
                        });
                    }
                }
                nodes
            })
        }

        fn time_limit() -> impl Strategy<Value = TimeLimit> {
            prop_oneof![
                Just(TimeLimit::Infinite),
                (60u64..=40 * 86400).prop_map(TimeLimit::Seconds)
            ]
        }

        fn access() -> impl Strategy<Value = AccessList> {
            prop_oneof![
                Just(AccessList::All),
                vec(word(), 1..3).prop_map(AccessList::Only)
            ]
        }

        fn partition() -> impl Strategy<Value = (u64, PartitionConfig)> {
            (
                any::<u64>(),
                (
                    prop::sample::select(PARTITION_STATES.to_vec()),
                    time_limit(),
                    option::of(time_limit()),
                    option::of(1u32..=64),
                    0u32..=4,
                    any::<u16>(),
                    any::<u16>(),
                ),
                (access(), access(), access()),
                prop::sample::select(OVERSUBSCRIBE.to_vec()),
                option::of(1u64..=1_000_000),
            )
                .prop_map(|(mask, limits, lists, over, mem)| {
                    let (state, max_time, default_time, max_nodes, min_nodes, factor, tier) =
                        limits;
                    let mut p = PartitionConfig::new("", Vec::new());
                    p.state = state.1;
                    p.max_time = max_time;
                    p.default_time = default_time;
                    p.max_nodes = max_nodes;
                    p.min_nodes = min_nodes;
                    p.priority_job_factor = factor;
                    p.priority_tier = tier;
                    (p.allow_accounts, p.allow_groups, p.allow_qos) = lists;
                    p.oversubscribe = over.1;
                    p.def_mem_per_cpu_mb = mem;
                    (mask, p)
                })
        }

        fn settings() -> impl Strategy<Value = (SelectParams, SchedulerParams, PriorityParams)> {
            let select = (any::<bool>(), any::<bool>()).prop_map(|(whole_nodes, track_memory)| {
                SelectParams {
                    whole_nodes,
                    track_memory,
                }
            });
            let scheduler = (
                prop::sample::select(SCHEDULER_TYPES.to_vec()),
                (1u64..=10_000, 1u64..=600, option::of(1u32..=10_000)),
                (1u64..=600, 1u64..=600, 1u32..=100_000),
            )
                .prop_map(
                    |(policy, (window, resolution, max_test), (bf, sched, array))| {
                        SchedulerParams {
                            policy: policy.1,
                            bf_window_min: window,
                            bf_resolution_s: resolution,
                            bf_max_job_test: max_test,
                            bf_interval_s: bf,
                            sched_interval_s: sched,
                            max_array_size: array,
                        }
                    },
                );
            let priority = (
                any::<bool>(),
                vec(any::<u32>(), 5),
                vec(("[A-Za-z]{1,4}(/[a-z]{1,4})?", any::<u32>()), 0..3),
                (0u64..=30 * 86400, 0u64..=30 * 86400, 1u64..=86400),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(
                    |(multifactor, w, weight_tres, (decay, age, calc), small, tree)| {
                        PriorityParams {
                            multifactor,
                            weight_age: w[0],
                            weight_fairshare: w[1],
                            weight_job_size: w[2],
                            weight_partition: w[3],
                            weight_qos: w[4],
                            weight_tres,
                            decay_half_life_s: decay,
                            max_age_s: age,
                            favor_small: small,
                            calc_period_s: calc,
                            fair_tree: tree,
                        }
                    },
                );
            (select, scheduler, priority)
        }

        fn accounting() -> impl Strategy<Value = super::super::AccountingParams> {
            const FLAGS: &[&str] = &["associations", "limits", "qos", "safe", "wckeys"];
            (
                any::<bool>(),
                option::of(word()),
                option::of(any::<u16>()),
                option::of(word()),
                prop::sample::subsequence(FLAGS, 0..=FLAGS.len()),
                vec("gres/[a-z]{1,5}", 0..3),
            )
                .prop_map(|(dbd, host, port, user, enforce, tres)| {
                    super::super::AccountingParams {
                        storage: if dbd {
                            AccountingStorage::Slurmdbd
                        } else {
                            AccountingStorage::None
                        },
                        host,
                        port,
                        user,
                        enforce: enforce.into_iter().map(str::to_owned).collect(),
                        tres,
                    }
                })
        }

        fn timers_and_power() -> impl Strategy<Value = (Timers, PowerParams)> {
            (
                vec(0u64..=100_000, 8),
                option::of(0u64..=100_000),
                0u64..=10_000,
                0u64..=10_000,
            )
                .prop_map(|(t, suspend_time, resume_timeout, suspend_timeout)| {
                    let timers = Timers {
                        kill_wait: t[0],
                        slurmd_timeout: t[1],
                        slurmctld_timeout: t[2],
                        unkillable_step_timeout: t[3],
                        min_job_age: t[4],
                        inactive_limit: t[5],
                        message_timeout: t[6],
                        wait_time: t[7],
                    };
                    let power = PowerParams {
                        suspend_time,
                        resume_timeout,
                        suspend_timeout,
                    };
                    (timers, power)
                })
        }

        fn cluster() -> impl Strategy<Value = ClusterConfig> {
            let identity = (
                word(),
                vec(
                    (word(), option::of("10\\.0\\.[0-9]{1,3}\\.[0-9]{1,3}")),
                    0..3,
                ),
                (any::<u16>(), any::<u16>()),
                (word(), "/var/spool/[a-z]{1,8}"),
                prop::sample::subsequence(&["gpu", "shard", "mps"][..], 0..=3),
                option::of("socket=/run/munge/[a-z]{1,6}"),
            );
            let layout = (nodes(), vec(partition(), 0..4), option::of(0usize..4));
            (
                identity,
                layout,
                settings(),
                accounting(),
                timers_and_power(),
            )
                .prop_map(
                    |(identity, layout, settings, accounting, (timers, power))| {
                        let (name, hosts, (ctl_port, slurmd_port), (user, save), gres, info) =
                            identity;
                        let (nodes, parts, default) = layout;
                        let mut c = ClusterConfig::new(name);
                        c.controller_hosts = hosts
                            .into_iter()
                            .map(|(name, addr)| ControllerHost { name, addr })
                            .collect();
                        (c.controller_port, c.slurmd_port) = (ctl_port, slurmd_port);
                        (c.slurm_user, c.state_save_location) = (user, save);
                        c.gres_types = gres.into_iter().map(str::to_owned).collect();
                        c.auth_info = info;
                        c.partitions = parts
                            .into_iter()
                            .enumerate()
                            .map(|(i, (mask, mut p))| {
                                p.name = format!("p{i}");
                                p.nodes = nodes
                                    .iter()
                                    .enumerate()
                                    .filter(|(n, _)| mask & (1 << (n % 64)) != 0)
                                    .map(|(_, node)| node.name.clone())
                                    .collect();
                                p.default = default == Some(i);
                                p
                            })
                            .collect();
                        c.nodes = nodes;
                        (c.select, c.scheduler, c.priority) = settings;
                        c.accounting = accounting;
                        (c.timers, c.power) = (timers, power);
                        c
                    },
                )
        }

        /// Text made of slurm.conf fragments and noise (never `Include`: no file access).
        fn config_text() -> impl Strategy<Value = String> {
            let fragment = prop_oneof![
                Just("ClusterName=c ".to_owned()),
                Just("NodeName=".to_owned()),
                Just("PartitionName=".to_owned()),
                Just("DEFAULT ".to_owned()),
                Just("Nodes=ALL ".to_owned()),
                Just("CPUs=".to_owned()),
                Just("Boards=".to_owned()),
                Just("Gres=gpu:".to_owned()),
                Just("State=CLOUD ".to_owned()),
                Just("OverSubscribe=FORCE:".to_owned()),
                Just("SchedulerParameters=bf_window=".to_owned()),
                Just("n[1-3] ".to_owned()),
                Just("\\\n".to_owned()),
                Just("\n".to_owned()),
                Just("#".to_owned()),
                Just("\"".to_owned()),
                Just("=".to_owned()),
                "[0-9]{1,12}",
                "[ -~\u{e9}\u{d55c}]{0,8}",
            ];
            vec(fragment, 0..40).prop_map(|parts| parts.concat())
        }

        proptest! {
            #[test]
            fn arbitrary_text_never_panics(text in config_text()) {
                prop_assume!(!text.to_ascii_lowercase().contains("include"));
                let _ = parse_slurm_conf(&text, "fuzz.conf");
                let _ = crate::config::gres_conf::parse_gres_conf(&text, "fuzz.conf");
            }

            #[test]
            fn rendered_clusters_parse_back_equal(cluster in cluster()) {
                let text = render_slurm_conf(&cluster);
                let loaded = parse_slurm_conf(&text, "rendered.conf")
                    .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                prop_assert_eq!(&loaded.cluster, &cluster, "{}", text);
                prop_assert_eq!(render_slurm_conf(&loaded.cluster), text);
            }
        }
    }
}
