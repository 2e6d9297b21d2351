//! `sreport`: usage reports from the accounting database's rollups.
//!
//! `sreport [-t Hours|Minutes|Seconds|Percent|HourPer|MinPer|SecPer] [--tres=cpu,gres/gpu]
//! [-n] [-p|-P] [-M cluster|-a] REPORT_TYPE REPORT [Start=] [End=] [Accounts=] [Users=]
//! [Format=] ...` with the reports
//! * `cluster Utilization`: allocated, down, planned-down, idle, planned and reported
//!   TRES time per cluster;
//! * `cluster AccountUtilizationByUser` (accounts in tree order, their users under them) and
//!   `cluster UserUtilizationByAccount` (users by usage);
//! * `user TopUsage` (the top users, `TopCount=`, `Group`);
//! * `job SizesByAccount` (time by job size and top-level account, `Grouping=`,
//!   `PrintJobCount`, `FlatView`).
//!
//! The window is Slurm's: yesterday by default, start and end rounded to the nearest hour
//! (local time), the end no later than now, at least an hour. Usage comes from the dbd's
//! `QueryUsage`/`QueryJobSizes`; the cluster's capacity (Reported) from what the controller
//! recorded with `RecordCapacity`, else from the nodes of slurm.conf. Down is the TRES time
//! of nodes DOWN or DRAINED (the dbd's node events); PLND Down and Planned are 0 (no
//! power-saving events or reservations are recorded). Under `PrivateData=usage` a user who
//! is not an operator sees only their own usage, and no cluster-wide utilization. Output follows Slurm's:
//! the dashed title block, columns right-aligned in their width (usage columns as wide as
//! their largest value needs, 8 at least), values cut with `+`.

use super::common;
use super::getopt::{self, HasArg, Opt, opt};
use super::{Output, Step, getopt_failure, split_list};
use crate::config::{AccountingStorage, ClusterConfig};
use crate::dbd::client::{DbdCallError, DbdClient};
use crate::format::timefmt;
use crate::model::Timestamp;
use crate::proto::{JobSizes, JobSizesQuery, UsageQuery, UsageReport};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "sreport";

/// How usage is printed (`-t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    Seconds,
    Minutes,
    Hours,
    Percent,
    SecPer,
    MinPer,
    HourPer,
}

impl TimeFormat {
    /// Slurm's `_set_time_format`: case-insensitive prefixes.
    pub fn parse(s: &str) -> Option<Self> {
        let l = s.to_ascii_lowercase();
        let is = |word: &str, min: usize| l.len() >= min.min(word.len()) && word.starts_with(&l);
        Some(if is("secper", 6) {
            Self::SecPer
        } else if is("minper", 6) {
            Self::MinPer
        } else if is("hourper", 6) {
            Self::HourPer
        } else if is("seconds", 1) {
            Self::Seconds
        } else if is("minutes", 1) {
            Self::Minutes
        } else if is("hours", 1) {
            Self::Hours
        } else if is("percent", 1) {
            Self::Percent
        } else {
            return None;
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Seconds => "Seconds",
            Self::Minutes => "Minutes",
            Self::Hours => "Hours",
            Self::Percent => "Percentage of Total",
            Self::SecPer => "Seconds/Percentage of Total",
            Self::MinPer => "Minutes/Percentage of Total",
            Self::HourPer => "Hours/Percentage of Total",
        }
    }

    fn with_percent(self) -> bool {
        matches!(self, Self::SecPer | Self::MinPer | Self::HourPer)
    }

    /// `sreport_get_time_str`: `value` TRES-seconds of `total`.
    pub fn text(self, value: u64, total: u64) -> String {
        let total = if total == 0 { 1 } else { total };
        let percent = value as f64 / total as f64 * 100.0;
        let v = value as f64;
        match self {
            Self::Seconds => value.to_string(),
            Self::Minutes => format!("{:.0}", v / 60.0),
            Self::Hours => format!("{:.0}", v / 3600.0),
            Self::Percent => format!("{percent:.2}%"),
            Self::SecPer => format!("{value}({percent:.2}%)"),
            Self::MinPer => format!("{:.0}({percent:.2}%)", v / 60.0),
            Self::HourPer => format!("{:.0}({percent:.2}%)", v / 3600.0),
        }
    }

    /// `sreport_set_usage_col_width`: 8, one more per digit from 9 digits of seconds on
    /// (and 9 more for the `(N%)` forms).
    pub fn width(self, max_seconds: u64) -> usize {
        let mut len = 8;
        let mut order: u64 = 100_000_000;
        while max_seconds >= order {
            len += 1;
            match order.checked_mul(10) {
                Some(o) => order = o,
                None => break,
            }
        }
        if self.with_percent() { len + 9 } else { len }
    }
}

/// The global options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub time: TimeFormat,
    /// `--tres=`: the TRES to report (`None`: cpu, and the reports say "CPU").
    pub tres: Option<Vec<String>>,
    /// `-p` (`Some(true)`) or `-P` (`Some(false)`).
    pub parsable: Option<bool>,
    pub no_header: bool,
    /// `-M`: clusters (`None`: the local one).
    pub clusters: Option<Vec<String>>,
    /// `-a`: every cluster.
    pub all_clusters: bool,
}

impl Options {
    /// The TRES reported, in Slurm's order (cpu, mem, energy, node, billing, then by name).
    pub fn tres_list(&self) -> Vec<String> {
        let mut list = self.tres.clone().unwrap_or_else(|| vec!["cpu".to_owned()]);
        list.sort_by_key(|t| tres_rank(t));
        list.dedup();
        list
    }

    /// "CPU" or "TRES" in "Usage reported in CPU Minutes".
    fn usage_label(&self) -> &'static str {
        if self.tres.is_some() { "TRES" } else { "CPU" }
    }
}

fn tres_rank(name: &str) -> (usize, String) {
    let fixed = [
        "cpu", "mem", "energy", "node", "billing", "fs/disk", "vmem", "pages",
    ];
    match fixed.iter().position(|f| *f == name) {
        Some(i) => (i, String::new()),
        None => (fixed.len(), name.to_owned()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    ClusterUtilization,
    AccountUtilizationByUser,
    UserUtilizationByAccount,
    UserTopUsage,
    JobSizesByAccount,
}

/// A report's conditions (`Key=Value` words and bare keywords).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub accounts: Vec<String>,
    pub users: Vec<String>,
    pub clusters: Vec<String>,
    pub partitions: Vec<String>,
    pub format: Option<String>,
    pub tree: bool,
    pub top_count: Option<u32>,
    pub group: bool,
    pub grouping: Option<Vec<u64>>,
    pub individual: bool,
    pub print_job_count: bool,
    pub flat_view: bool,
    pub all_clusters: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub opts: Options,
    pub report: Report,
    pub cond: Conditions,
}

/// The clock and zone the window is computed in.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub now: Timestamp,
    pub tz_offset_secs: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    AllClusters,
    Cluster,
    Help,
    NoHeader,
    Parsable,
    Parsable2,
    Quiet,
    Sort,
    Time,
    Tres,
    Usage,
    Verbose,
    Version,
    Immediate,
}

const OPTIONS: &[Opt<K>] = &[
    opt("all_clusters", Some('a'), HasArg::No, K::AllClusters),
    opt("cluster", Some('M'), HasArg::Required, K::Cluster),
    opt("help", Some('h'), HasArg::No, K::Help),
    opt("immediate", Some('i'), HasArg::No, K::Immediate),
    opt("noheader", Some('n'), HasArg::No, K::NoHeader),
    opt("parsable", Some('p'), HasArg::No, K::Parsable),
    opt("parsable2", Some('P'), HasArg::No, K::Parsable2),
    opt("quiet", Some('Q'), HasArg::No, K::Quiet),
    opt("sort", Some('s'), HasArg::Required, K::Sort),
    opt("", Some('t'), HasArg::Required, K::Time),
    opt("tres", Some('T'), HasArg::Required, K::Tres),
    opt("usage", None, HasArg::No, K::Usage),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
];

fn fail(message: impl AsRef<str>) -> Output {
    Output::fail(message, 1)
}

/// Whether `word` names `name`: a case-insensitive prefix of it, at least `min` long.
fn abbrev(word: &str, name: &str, min: usize) -> bool {
    let w = word.to_ascii_lowercase();
    w.len() >= min.min(name.len()) && name.to_ascii_lowercase().starts_with(&w)
}

/// Parses sreport's command line (without the program name).
pub fn parse_args(args: &[String], ctx: Context) -> Step<Args> {
    parse_inner(args, ctx).unwrap_or_else(Step::Exit)
}

fn parse_inner(args: &[String], ctx: Context) -> Result<Step<Args>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut opts = Options {
        time: TimeFormat::Minutes,
        tres: None,
        parsable: None,
        no_header: false,
        clusters: None,
        all_clusters: false,
    };
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::AllClusters => opts.all_clusters = true,
            K::Cluster => opts.clusters = Some(split_list(&value)),
            K::Help | K::Usage => return Ok(Step::Exit(Output::ok(HELP))),
            K::NoHeader => opts.no_header = true,
            K::Parsable => opts.parsable = Some(true),
            K::Parsable2 => opts.parsable = Some(false),
            K::Quiet | K::Verbose | K::Immediate | K::Sort => {}
            K::Time => match TimeFormat::parse(&value) {
                Some(t) => opts.time = t,
                None => return Err(fail(format!("unknown time format {value}"))),
            },
            K::Tres => {
                let list: Vec<String> = split_list(&value)
                    .into_iter()
                    .map(|t| t.to_ascii_lowercase())
                    .collect();
                opts.tres = Some(list);
            }
            K::Version => return Ok(Step::Exit(common::version())),
        }
    }
    let words = m.operands;
    let Some(kind) = words.first() else {
        return Err(fail(
            "sreport: no report given (interactive mode is not supported)",
        ));
    };
    let Some(name) = words.get(1) else {
        return Err(fail(format!("too few arguments for keyword:{kind}")));
    };
    let report = if abbrev(kind, "cluster", 2) {
        if abbrev(name, "AccountUtilizationByUser", 1) {
            Report::AccountUtilizationByUser
        } else if abbrev(name, "UserUtilizationByAccount", 18) || abbrev(name, "UA", 2) {
            Report::UserUtilizationByAccount
        } else if abbrev(name, "Utilization", 2) {
            Report::ClusterUtilization
        } else {
            let mut out = fail(format!("Not valid report {name}"));
            out.err_line(
                "Valid cluster reports are, \"AccountUtilizationByUser\", \
                 \"UserUtilizationByAccount\" and \"Utilization\"",
            );
            return Err(out);
        }
    } else if abbrev(kind, "user", 1) {
        if name.to_ascii_lowercase().starts_with('t') {
            Report::UserTopUsage
        } else {
            let mut out = fail(format!("Not valid report {name}"));
            out.err_line("Valid user reports are, \"Top\"");
            return Err(out);
        }
    } else if abbrev(kind, "job", 1) {
        if abbrev(name, "SizesByAccount", 1) && !abbrev(name, "SizesByAccountAndWcKey", 15) {
            Report::JobSizesByAccount
        } else {
            let mut out = fail(format!("Not valid report {name}"));
            out.err_line("Valid job reports are, \"SizesByAccount\"");
            return Err(out);
        }
    } else {
        return Err(fail(format!("invalid keyword: {kind}")));
    };
    let cond = parse_conditions(&words[2..], ctx)?;
    if report == Report::JobSizesByAccount && opts.tres.as_ref().is_some_and(|t| t.len() > 1) {
        let mut out = fail(" Job report only support a single --tres type.");
        out.err_line(" Generate a separate report for each TRES type.");
        return Err(out);
    }
    Ok(Step::Run(Args { opts, report, cond }))
}

fn parse_conditions(words: &[String], ctx: Context) -> Result<Conditions, Output> {
    let mut c = Conditions::default();
    let time = |v: &str| {
        crate::parse::sbatch::parse_begin(v, ctx.now, ctx.tz_offset_secs)
            .map_err(|_| fail(format!(" Invalid time specification: {v}")))
    };
    for w in words {
        let (key, value) = match w.split_once('=') {
            Some((k, v)) => (k, Some(v.trim_matches(|q| q == '"' || q == '\''))),
            None => (w.as_str(), None),
        };
        match value {
            None if abbrev(key, "all_clusters", 1) => c.all_clusters = true,
            None if abbrev(key, "Tree", 4) => c.tree = true,
            None if abbrev(key, "Group", 1) => c.group = true,
            None if abbrev(key, "PrintJobCount", 2) => c.print_job_count = true,
            None if abbrev(key, "FlatView", 2) => c.flat_view = true,
            None => c.users.extend(split_list(key)),
            Some(v) if abbrev(key, "Accounts", 2) || abbrev(key, "Acct", 4) => {
                c.accounts.extend(split_list(v))
            }
            Some(v) if abbrev(key, "Clusters", 1) => c.clusters.extend(split_list(v)),
            Some(v) if abbrev(key, "End", 1) => c.end = Some(time(v)?),
            Some(v) if abbrev(key, "Format", 1) => c.format = Some(v.to_owned()),
            Some(v) if abbrev(key, "Grouping", 2) => {
                if v.to_ascii_lowercase().starts_with('i') {
                    c.individual = true;
                } else {
                    let mut g = Vec::new();
                    for part in split_list(v) {
                        g.push(
                            part.parse::<u64>()
                                .map_err(|_| fail(format!(" Bad Grouping value: {v}")))?,
                        );
                    }
                    c.grouping = Some(g);
                }
            }
            Some(v) if abbrev(key, "Partitions", 2) => c.partitions.extend(split_list(v)),
            Some(v) if abbrev(key, "Start", 1) => c.start = Some(time(v)?),
            Some(v) if abbrev(key, "TopCount", 1) => {
                c.top_count = Some(
                    v.parse()
                        .map_err(|_| fail(format!("Invalid value for TopCount ({v})")))?,
                )
            }
            Some(v) if abbrev(key, "Users", 1) => c.users.extend(split_list(v)),
            Some(_) => {
                let mut out = fail(format!(" Unknown condition: {w}"));
                out.err_line("Use keyword set to modify value");
                return Err(out);
            }
        }
    }
    Ok(c)
}

/// `slurmdb_report_set_start_end_time` (after `sanity_check_endtime`): yesterday by
/// default; start and end rounded to the nearest hour in local time, the end no later than
/// now; at least one hour.
pub fn window(
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    ctx: Context,
) -> (Timestamp, Timestamp) {
    let tz = i64::from(ctx.tz_offset_secs);
    let round = |t: Timestamp| {
        let local = t + tz;
        let within = local.rem_euclid(3600);
        let mut hour = local - within;
        let (mins, secs) = (within / 60, within % 60);
        let mins = mins + i64::from(secs >= 30);
        if mins >= 30 {
            hour += 3600;
        }
        hour - tz
    };
    let midnight = super::sacct::local_midnight(ctx.now, ctx.tz_offset_secs);
    let end = match end {
        None => midnight,
        Some(e) => round(e.min(ctx.now)),
    };
    let start = match start {
        None => midnight - 86_400,
        Some(s) => round(s),
    };
    let end = if end - start < 3600 {
        start + 3600
    } else {
        end
    };
    (start, end)
}

// ----- printing -----

/// A column: header, width (negative: left-aligned), as Slurm's `print_field_t`.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    len: i32,
}

fn col(name: &str, len: i32) -> Col {
    Col {
        name: name.to_owned(),
        len,
    }
}

struct Table {
    cols: Vec<Col>,
    parsable: Option<bool>,
    out: String,
}

impl Table {
    fn new(cols: Vec<Col>, parsable: Option<bool>) -> Self {
        Self {
            cols,
            parsable,
            out: String::new(),
        }
    }

    /// `print_fields_header`: names cut to the width (no `+`), then the dashes.
    fn header(&mut self) {
        match self.parsable {
            Some(trailing) => {
                let names: Vec<&str> = self.cols.iter().map(|c| c.name.as_str()).collect();
                self.out.push_str(&names.join("|"));
                if trailing {
                    self.out.push('|');
                }
                self.out.push('\n');
            }
            None => {
                for c in &self.cols {
                    let w = c.len.unsigned_abs() as usize;
                    let name: String = c.name.chars().take(w).collect();
                    if c.len < 0 {
                        self.out.push_str(&format!("{name:<w$} "));
                    } else {
                        self.out.push_str(&format!("{name:>w$} "));
                    }
                }
                self.out.push('\n');
                for c in &self.cols {
                    let w = c.len.unsigned_abs() as usize;
                    self.out.push_str(&"-".repeat(w));
                    self.out.push(' ');
                }
                self.out.push('\n');
            }
        }
    }

    /// `print_fields_str`: cut with `+`, aligned in the width.
    fn row(&mut self, values: &[String]) {
        match self.parsable {
            Some(trailing) => {
                self.out.push_str(&values.join("|"));
                if trailing {
                    self.out.push('|');
                }
            }
            None => {
                for (v, c) in values.iter().zip(&self.cols) {
                    let w = c.len.unsigned_abs() as usize;
                    let n = v.chars().count();
                    let text: String = if n > w {
                        let mut t: String = v.chars().take(w.saturating_sub(1)).collect();
                        t.push('+');
                        t
                    } else {
                        v.clone()
                    };
                    if c.len < 0 {
                        self.out.push_str(&format!("{text:<w$} "));
                    } else {
                        self.out.push_str(&format!("{text:>w$} "));
                    }
                }
            }
        }
        self.out.push('\n');
    }
}

const DASHES: &str =
    "--------------------------------------------------------------------------------";

/// The title block: dashes, the report's line, the units, dashes.
fn title(out: &mut String, line: &str, opts: &Options, units: Option<String>) {
    out.push_str(DASHES);
    out.push('\n');
    out.push_str(line);
    out.push('\n');
    match units {
        Some(u) => out.push_str(&u),
        None if opts.time == TimeFormat::Percent => {
            out.push_str(&format!("Usage reported in {}", opts.time.label()))
        }
        None => out.push_str(&format!(
            "Usage reported in {} {}",
            opts.usage_label(),
            opts.time.label()
        )),
    }
    out.push('\n');
    out.push_str(DASHES);
    out.push('\n');
}

/// `start - end-1` as Slurm prints a report's window.
fn span(start: Timestamp, end: Timestamp, tz: i32) -> String {
    format!(
        "{} - {}",
        timefmt::iso(start, tz),
        timefmt::iso(end - 1, tz)
    )
}

/// A user's proper name (the first field of the GECOS), if known.
pub trait ProperNames {
    fn proper_name(&self, user: &str) -> Option<String>;
}

/// The system's user database.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemNames;

impl ProperNames for SystemNames {
    fn proper_name(&self, user: &str) -> Option<String> {
        let u = nix::unistd::User::from_name(user).ok().flatten()?;
        let gecos = u.gecos.to_string_lossy().into_owned();
        let first = gecos.split(',').next().unwrap_or("").to_owned();
        (!first.is_empty()).then_some(first)
    }
}

/// No proper names (tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNames;

impl ProperNames for NoNames {
    fn proper_name(&self, _user: &str) -> Option<String> {
        None
    }
}

// ----- the reports -----

/// Usage of one (cluster, account, user) per TRES, partitions summed.
type Sums = BTreeMap<(String, String, String), BTreeMap<String, u64>>;

fn sums_of(report: &UsageReport) -> Sums {
    let mut s: Sums = BTreeMap::new();
    for r in &report.rows {
        *s.entry((r.cluster.clone(), r.account.clone(), r.user.clone()))
            .or_default()
            .entry(r.tres.clone())
            .or_insert(0) += r.seconds;
    }
    s
}

/// Each cluster's TRES capacity in the window (`None` when unknown), and its total usage.
fn cluster_totals(report: &UsageReport, cluster: &str, tres: &str) -> (Option<u64>, u64) {
    let capacity = report
        .capacity
        .iter()
        .find(|c| c.cluster == cluster && c.tres == tres)
        .map(|c| c.seconds);
    let used = report
        .rows
        .iter()
        .filter(|r| r.cluster == cluster && r.tres == tres)
        .map(|r| r.seconds)
        .sum();
    (capacity, used)
}

/// `sreport cluster Utilization`.
pub fn render_utilization(args: &Args, report: &UsageReport, tz: i32) -> Output {
    if report.private {
        // PrivateData=usage: the cluster's usage is other users' too.
        return fail("sreport: error: Problem with cluster query: Access/permission denied");
    }
    let opts = &args.opts;
    let tres = opts.tres_list();
    struct Line {
        cluster: String,
        tres: String,
        alloc: u64,
        down: u64,
        reported: u64,
        total_time: u64,
    }
    impl Line {
        /// Reported time neither allocated nor down.
        fn idle(&self) -> u64 {
            self.reported - self.alloc - self.down
        }
    }
    let secs = u64::try_from(report.end - report.start).unwrap_or(0);
    let mut lines = Vec::new();
    for cluster in &report.clusters {
        for t in &tres {
            let (capacity, used) = cluster_totals(report, cluster, t);
            let row = report
                .capacity
                .iter()
                .find(|c| &c.cluster == cluster && &c.tres == t);
            let count = row.map_or(0, |c| c.count);
            if capacity.is_none() && used == 0 {
                continue;
            }
            let reported = capacity.unwrap_or(used).max(used);
            // Down time that jobs used (a draining node) counts as allocated, as in
            // Slurm's rollup: idle = reported - allocated - down, never below 0.
            let down = row.map_or(0, |c| c.down_seconds).min(reported - used);
            lines.push(Line {
                cluster: cluster.clone(),
                tres: t.clone(),
                alloc: used,
                down,
                reported,
                total_time: secs.saturating_mul(count),
            });
        }
    }
    let mut out = String::new();
    if !opts.no_header {
        title(
            &mut out,
            &format!("Cluster Utilization {}", span(report.start, report.end, tz)),
            opts,
            None,
        );
    }
    let max_alloc = lines.iter().map(|l| l.alloc).max().unwrap_or(0);
    let max_idle = lines.iter().map(Line::idle).max().unwrap_or(0);
    let max_down = lines.iter().map(|l| l.down).max().unwrap_or(0);
    let max_rep = lines.iter().map(|l| l.reported).max().unwrap_or(0);
    let w = |v: u64| i32::try_from(opts.time.width(v)).unwrap_or(8);
    let mut cols = vec![col("Cluster", 9)];
    if opts.tres.is_some() {
        cols.push(col("TRES Name", 14));
    }
    cols.extend([
        col("Allocated", w(max_alloc)),
        col("Down", w(max_down)),
        col("PLND Down", w(0)),
        col("Idle", w(max_idle)),
        col("Planned", w(0)),
        col("Reported", w(max_rep)),
    ]);
    let mut table = Table::new(cols, opts.parsable);
    if !opts.no_header {
        table.header();
    }
    for l in &lines {
        let f = |v: u64| opts.time.text(v, l.reported);
        let mut values = vec![l.cluster.clone()];
        if opts.tres.is_some() {
            values.push(l.tres.clone());
        }
        values.extend([
            f(l.alloc),
            f(l.down),
            f(0),
            f(l.idle()),
            f(0),
            opts.time.text(l.reported, l.total_time),
        ]);
        table.row(&values);
    }
    out.push_str(&table.out);
    Output::ok(out)
}

/// The account tree's order: an account, its users (by name), its sub-accounts (by name).
fn tree_walk<'a>(
    parents: &'a HashMap<String, String>,
    present: &'a BTreeSet<String>,
) -> Vec<(String, usize)> {
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, parent) in parents {
        children
            .entry(parent.as_str())
            .or_default()
            .push(child.as_str());
    }
    for v in children.values_mut() {
        v.sort_unstable();
    }
    let mut out = Vec::new();
    fn visit(
        a: &str,
        depth: usize,
        children: &BTreeMap<&str, Vec<&str>>,
        present: &BTreeSet<String>,
        out: &mut Vec<(String, usize)>,
        guard: usize,
    ) {
        if guard > 64 {
            return;
        }
        if present.contains(a) {
            out.push((a.to_owned(), depth));
        }
        for c in children.get(a).into_iter().flatten() {
            visit(c, depth + 1, children, present, out, guard + 1);
        }
    }
    visit("root", 0, &children, present, &mut out, 0);
    // Accounts not under root (unknown to the tree) last, by name.
    for a in present {
        if !out.iter().any(|(x, _)| x == a) {
            out.push((a.clone(), 0));
        }
    }
    out
}

/// The usage columns' width: the largest value of the selected TRES.
fn used_width(opts: &Options, max: u64) -> i32 {
    i32::try_from(opts.time.width(max)).unwrap_or(8)
}

/// `sreport cluster AccountUtilizationByUser`.
pub fn render_account_by_user(
    args: &Args,
    report: &UsageReport,
    names: &dyn ProperNames,
    tz: i32,
) -> Output {
    let opts = &args.opts;
    let tres = opts.tres_list();
    let sums = sums_of(report);
    let parents: HashMap<String, String> = report
        .accounts
        .iter()
        .filter(|a| !a.parent.is_empty())
        .map(|a| (a.name.clone(), a.parent.clone()))
        .collect();
    // Accounts asked for, with everything under them.
    let wanted: Option<BTreeSet<String>> = (!args.cond.accounts.is_empty()).then(|| {
        let mut set: BTreeSet<String> = args.cond.accounts.iter().cloned().collect();
        loop {
            let before = set.len();
            for (c, p) in &parents {
                if set.contains(p) {
                    set.insert(c.clone());
                }
            }
            if set.len() == before {
                break set;
            }
        }
    });
    let ancestors = |account: &str| -> Vec<String> {
        let mut out = vec![account.to_owned()];
        let mut a = account.to_owned();
        for _ in 0..64 {
            match parents.get(&a) {
                Some(p) => {
                    out.push(p.clone());
                    a = p.clone();
                }
                None => break,
            }
        }
        out
    };
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut max_used = 0u64;
    for cluster in &report.clusters {
        // Account totals (everything under them) and user rows.
        let mut accounts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut users: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>> = BTreeMap::new();
        for ((c, account, user), by_tres) in &sums {
            if c != cluster {
                continue;
            }
            if let Some(w) = &wanted
                && !w.contains(account)
            {
                continue;
            }
            if !args.cond.users.is_empty() && !args.cond.users.contains(user) {
                continue;
            }
            for a in ancestors(account) {
                if let Some(w) = &wanted
                    && !w.contains(&a)
                {
                    break;
                }
                let e = accounts.entry(a).or_default();
                for (t, v) in by_tres {
                    *e.entry(t.clone()).or_insert(0) += v;
                }
            }
            if !user.is_empty() {
                let e = users
                    .entry(account.clone())
                    .or_default()
                    .entry(user.clone())
                    .or_default();
                for (t, v) in by_tres {
                    *e.entry(t.clone()).or_insert(0) += v;
                }
            }
        }
        let (capacities, cluster_used): (Vec<Option<u64>>, Vec<u64>) = tres
            .iter()
            .map(|t| cluster_totals(report, cluster, t))
            .unzip();
        let total = |i: usize| capacities[i].unwrap_or(cluster_used[i]);
        let present: BTreeSet<String> = accounts.keys().cloned().collect();
        let only_users = !args.cond.users.is_empty();
        for (account, depth) in tree_walk(&parents, &present) {
            let mut emit = |user: &str, by_tres: &BTreeMap<String, u64>, is_user: bool| {
                for (i, t) in tres.iter().enumerate() {
                    let used = by_tres.get(t).copied().unwrap_or(0);
                    max_used = max_used.max(used);
                    let shown = if args.cond.tree {
                        let d = if is_user { depth + 1 } else { depth };
                        format!("{}{account}", " ".repeat(d))
                    } else {
                        account.clone()
                    };
                    let mut v = vec![cluster.clone(), shown, user.to_owned()];
                    v.push(names.proper_name(user).unwrap_or_default());
                    if opts.tres.is_some() {
                        v.push(t.clone());
                    }
                    v.push(opts.time.text(used, total(i)));
                    if opts.tres.is_none() {
                        v.push(opts.time.text(0, 0));
                    }
                    lines.push(v);
                }
            };
            if !only_users && let Some(by_tres) = accounts.get(&account) {
                emit("", by_tres, false);
            }
            if let Some(us) = users.get(&account) {
                for (user, by_tres) in us {
                    emit(user, by_tres, true);
                }
            }
        }
    }
    let mut out = String::new();
    if !opts.no_header {
        title(
            &mut out,
            &format!(
                "Cluster/Account/User Utilization {} ({} secs)",
                span(report.start, report.end, tz),
                report.end - report.start
            ),
            opts,
            None,
        );
    }
    let account_col = if args.cond.tree {
        col("Account", -20)
    } else {
        col("Account", 15)
    };
    let cols = vec![
        col("Cluster", 9),
        account_col,
        col("Login", 9),
        col("Proper Name", 15),
    ];
    out.push_str(&usage_table(cols, opts, max_used, args, &lines));
    Output::ok(out)
}

/// The table of a utilization report by user and account: the grouping `cols`, then the
/// TRES name and usage columns (`Used` and `Energy` without `--tres`), chosen with
/// `Format=`, with one row per line of `lines` (values in the default columns' order).
fn usage_table(
    mut cols: Vec<Col>,
    opts: &Options,
    max_used: u64,
    args: &Args,
    lines: &[Vec<String>],
) -> String {
    if opts.tres.is_some() {
        cols.push(col("TRES Name", 14));
        cols.push(col("Used", used_width(opts, max_used)));
    } else {
        cols.push(col("Used", used_width(opts, max_used)));
        cols.push(col("Energy", used_width(opts, 0)));
    }
    let (cols, idx) = apply_format(cols, args.cond.format.as_deref());
    let mut table = Table::new(cols, opts.parsable);
    if !opts.no_header {
        table.header();
    }
    for l in lines {
        table.row(&pick(l, &idx));
    }
    table.out
}

/// `Format=`: the default columns reordered and chosen by name (case-insensitive
/// prefixes); the indexes of the values to print.
fn apply_format(cols: Vec<Col>, format: Option<&str>) -> (Vec<Col>, Vec<usize>) {
    let Some(format) = format else {
        let idx = (0..cols.len()).collect();
        return (cols, idx);
    };
    let mut out = Vec::new();
    let mut idx = Vec::new();
    for item in format.split(',').filter(|s| !s.is_empty()) {
        let (name, width) = match item.split_once('%') {
            Some((n, w)) => (n, w.parse::<i32>().ok()),
            None => (item, None),
        };
        let key = name.to_ascii_lowercase().replace(' ', "");
        let found = cols.iter().position(|c| {
            let n = c.name.to_ascii_lowercase().replace(' ', "");
            n.starts_with(&key)
                || (key.starts_with("login") && n == "login")
                || (key == "proper" && n == "propername")
                || (key.starts_with("tresname") && n == "tresname")
        });
        if let Some(i) = found {
            let mut c = cols[i].clone();
            if let Some(w) = width {
                c.len = w;
            }
            out.push(c);
            idx.push(i);
        }
    }
    (out, idx)
}

fn pick(values: &[String], idx: &[usize]) -> Vec<String> {
    idx.iter()
        .map(|&i| values.get(i).cloned().unwrap_or_default())
        .collect()
}

/// A user line: (cluster, user, accounts, TRES → seconds).
type UserRow = (String, String, Vec<String>, BTreeMap<String, u64>);

/// User rows, sorted by the first TRES's usage (largest first), then by name.
fn user_rows(args: &Args, report: &UsageReport, group: bool) -> Vec<UserRow> {
    let tres = args.opts.tres_list();
    type Key = (String, String, String);
    let mut rows: BTreeMap<Key, (BTreeSet<String>, BTreeMap<String, u64>)> = BTreeMap::new();
    for ((cluster, account, user), by_tres) in sums_of(report) {
        if user.is_empty()
            || (!args.cond.users.is_empty() && !args.cond.users.contains(&user))
            || (!args.cond.accounts.is_empty() && !args.cond.accounts.contains(&account))
        {
            continue;
        }
        let key = (
            cluster,
            user,
            if group {
                String::new()
            } else {
                account.clone()
            },
        );
        let e = rows.entry(key).or_default();
        e.0.insert(account);
        for (t, v) in by_tres {
            *e.1.entry(t).or_insert(0) += v;
        }
    }
    let first = tres.first().cloned().unwrap_or_else(|| "cpu".to_owned());
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|((cluster, user, _), (accounts, by_tres))| {
            (cluster, user, accounts.into_iter().collect(), by_tres)
        })
        .collect();
    out.sort_by(|a, b| {
        let ua = a.3.get(&first).copied().unwrap_or(0);
        let ub = b.3.get(&first).copied().unwrap_or(0);
        a.0.cmp(&b.0).then(ub.cmp(&ua)).then(a.1.cmp(&b.1))
    });
    out
}

/// `sreport cluster UserUtilizationByAccount` and `sreport user TopUsage`.
pub fn render_users(args: &Args, report: &UsageReport, names: &dyn ProperNames, tz: i32) -> Output {
    let opts = &args.opts;
    let tres = opts.tres_list();
    let top = args.report == Report::UserTopUsage;
    let rows = user_rows(args, report, top && args.cond.group);
    let limit = if top {
        args.cond.top_count.unwrap_or(10) as usize
    } else {
        usize::MAX
    };
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut max_used = 0u64;
    let mut per_cluster: HashMap<&str, usize> = HashMap::new();
    for (cluster, user, accounts, by_tres) in &rows {
        let n = per_cluster.entry(cluster.as_str()).or_insert(0);
        if *n >= limit {
            continue;
        }
        *n += 1;
        for t in &tres {
            let (capacity, used_all) = cluster_totals(report, cluster, t);
            let used = by_tres.get(t).copied().unwrap_or(0);
            max_used = max_used.max(used);
            let account = accounts.join(", ");
            let proper = names.proper_name(user).unwrap_or_default();
            let mut v = vec![cluster.clone(), user.clone(), proper, account];
            if opts.tres.is_some() {
                v.push(t.clone());
            }
            v.push(opts.time.text(used, capacity.unwrap_or(used_all)));
            if opts.tres.is_none() {
                v.push(opts.time.text(0, 0));
            }
            lines.push(v);
        }
    }
    let mut out = String::new();
    if !opts.no_header {
        let line = if top {
            format!(
                "Top {} Users {} ({} secs)",
                args.cond.top_count.unwrap_or(10),
                span(report.start, report.end, tz),
                report.end - report.start
            )
        } else {
            format!(
                "Cluster/User/Account Utilization {} ({} secs)",
                span(report.start, report.end, tz),
                report.end - report.start
            )
        };
        title(&mut out, &line, opts, None);
    }
    let cols = vec![
        col("Cluster", 9),
        col("Login", 9),
        col("Proper Name", 15),
        col("Account", 15),
    ];
    out.push_str(&usage_table(cols, opts, max_used, args, &lines));
    Output::ok(out)
}

/// The grouping columns' names: `0-49 CPUs`, ..., `>= 1000 CPUs` (`N CPUs` each for
/// `Grouping=individual`).
fn bucket_names(buckets: &[u64], individual: bool, tres: &str) -> Vec<String> {
    let unit = if tres == "cpu" { "CPUs" } else { "TRES" };
    if individual {
        return buckets.iter().map(|b| format!("{b} {unit}")).collect();
    }
    let mut names = Vec::new();
    for (i, b) in buckets.iter().enumerate() {
        match buckets.get(i + 1) {
            Some(next) => names.push(format!("{b}-{} {unit}", next - 1)),
            None => names.push(format!(">= {b} {unit}")),
        }
    }
    names
}

/// `sreport job SizesByAccount`.
pub fn render_job_sizes(args: &Args, sizes: &JobSizes, tz: i32) -> Output {
    let opts = &args.opts;
    let tres = opts.tres_list().into_iter().next().unwrap_or_default();
    let mut out = String::new();
    if !opts.no_header {
        out.push_str(DASHES);
        out.push('\n');
        out.push_str(&format!(
            "Job Sizes {} ({} secs)\n",
            span(sizes.start, sizes.end, tz),
            sizes.end - sizes.start
        ));
        if let Some(t) = &opts.tres {
            out.push_str(&format!("TRES type is {}\n", t.join(",")));
        }
        if args.cond.print_job_count {
            out.push_str("Units are in number of jobs ran\n");
        } else {
            out.push_str(&format!("Time reported in {}\n", opts.time.label()));
        }
        out.push_str(DASHES);
        out.push('\n');
    }
    let group_len = if opts.time.with_percent() { 20 } else { 13 };
    let mut cols = vec![col("Cluster", 9), col("Account", 9)];
    let fixed = cols.len();
    let (cols_fmt, idx) = apply_format(cols.clone(), args.cond.format.as_deref());
    cols = cols_fmt;
    for name in bucket_names(&sizes.buckets, args.cond.individual, &tres) {
        cols.push(col(&name, group_len));
    }
    cols.push(col("% of cluster", 12));
    let mut table = Table::new(cols, opts.parsable);
    if !opts.no_header {
        table.header();
    }
    let mut cluster_total: HashMap<&str, (u64, u64)> = HashMap::new();
    for r in &sizes.rows {
        let e = cluster_total.entry(r.cluster.as_str()).or_insert((0, 0));
        e.0 += r.seconds.iter().sum::<u64>();
        e.1 += r.jobs.iter().sum::<u64>();
    }
    for r in &sizes.rows {
        let base = [r.cluster.clone(), r.account.clone()];
        let mut values: Vec<String> = idx
            .iter()
            .map(|&i| base[i.min(fixed - 1)].clone())
            .collect();
        let acct_secs: u64 = r.seconds.iter().sum();
        let acct_jobs: u64 = r.jobs.iter().sum();
        for (s, j) in r.seconds.iter().zip(&r.jobs) {
            values.push(if args.cond.print_job_count {
                j.to_string()
            } else {
                opts.time.text(*s, acct_secs)
            });
        }
        let (cs, cj) = cluster_total
            .get(r.cluster.as_str())
            .copied()
            .unwrap_or((0, 0));
        values.push(if args.cond.print_job_count {
            TimeFormat::Percent.text(acct_jobs, cj)
        } else {
            TimeFormat::Percent.text(acct_secs, cs)
        });
        table.row(&values);
    }
    out.push_str(&table.out);
    Output::ok(out)
}

// ----- running -----

/// The cluster's TRES totals from its slurm.conf nodes (`billing=…,cpu=…,mem=…,node=…`).
pub fn configured_capacity(cluster: &ClusterConfig) -> Option<String> {
    if cluster.nodes.is_empty() {
        return None;
    }
    let cpus: u64 = cluster.nodes.iter().map(|n| u64::from(n.cpus)).sum();
    let mem: u64 = cluster.nodes.iter().map(|n| n.real_memory_mb).sum();
    let gres: Vec<crate::model::Gres> = cluster
        .nodes
        .iter()
        .flat_map(|n| n.gres.iter().cloned())
        .collect();
    Some(crate::dbd::record::acct_tres(
        cpus,
        mem,
        cluster.nodes.len() as u64,
        true,
        &gres,
    ))
}

fn clusters_of(args: &Args, local: &str) -> Vec<String> {
    if args.opts.all_clusters || args.cond.all_clusters {
        return Vec::new();
    }
    let mut c: Vec<String> = args.opts.clusters.clone().unwrap_or_default();
    c.extend(args.cond.clusters.iter().cloned());
    if c.is_empty() {
        c.push(local.to_owned());
    }
    c
}

async fn fetch(
    cluster: &ClusterConfig,
    args: &Args,
    ctx: Context,
) -> Result<Fetched, DbdCallError> {
    let creds = crate::auth::CredentialSource::for_commands(cluster)
        .map_err(|e| DbdCallError::Setup(e.to_string()))?;
    let mut dbd = DbdClient::connect(cluster, creds).await?;
    let (start, end) = window(args.cond.start, args.cond.end, ctx);
    let clusters = clusters_of(args, &cluster.cluster_name);
    if args.report == Report::JobSizesByAccount {
        let grouping = if args.cond.individual {
            Vec::new()
        } else {
            args.cond
                .grouping
                .clone()
                .unwrap_or_else(|| vec![50, 250, 500, 1000])
        };
        let q = JobSizesQuery {
            clusters,
            start,
            end,
            tres: args.opts.tres_list().into_iter().next().unwrap_or_default(),
            accounts: args.cond.accounts.clone(),
            grouping,
            flat_view: args.cond.flat_view,
            users: args.cond.users.clone(),
            partitions: args.cond.partitions.clone(),
        };
        return Ok(Fetched::Sizes(dbd.job_sizes(q).await?));
    }
    let local = clusters.is_empty() || clusters.contains(&cluster.cluster_name);
    let q = UsageQuery {
        clusters,
        start,
        end,
        tres: Vec::new(),
        fallback_capacity: if local {
            configured_capacity(cluster)
        } else {
            None
        },
    };
    Ok(Fetched::Usage(dbd.usage(q).await?))
}

enum Fetched {
    Usage(UsageReport),
    Sizes(JobSizes),
}

/// Renders a report from what the dbd returned.
fn render(args: &Args, fetched: &Fetched, names: &dyn ProperNames, tz: i32) -> Output {
    match (args.report, fetched) {
        (Report::JobSizesByAccount, Fetched::Sizes(s)) => render_job_sizes(args, s, tz),
        (Report::ClusterUtilization, Fetched::Usage(u)) => render_utilization(args, u, tz),
        (Report::AccountUtilizationByUser, Fetched::Usage(u)) => {
            render_account_by_user(args, u, names, tz)
        }
        (_, Fetched::Usage(u)) => render_users(args, u, names, tz),
        (_, Fetched::Sizes(_)) => Output::default(),
    }
}

/// Runs `sreport`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match super::utf8_args(PROG, args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let now = super::now();
    let ctx = Context {
        now,
        tz_offset_secs: super::tz::local_offset(now),
    };
    let parsed = match parse_args(&args, ctx) {
        Step::Run(a) => a,
        Step::Exit(out) => return out.emit(),
    };
    let cluster = match super::rpc::load_config() {
        Ok(c) => c,
        Err(e) => return common::error(PROG, e).emit(),
    };
    if cluster.accounting.storage != AccountingStorage::Slurmdbd {
        let mut out = fail("You are not running a supported accounting_storage plugin");
        out.err_line(
            "Only 'accounting_storage/slurmdbd' and 'accounting_storage/mysql' are supported.",
        );
        return out.emit();
    }
    match super::rpc::block_on(fetch(&cluster, &parsed, ctx)) {
        Ok(Ok(fetched)) => render(&parsed, &fetched, &SystemNames, ctx.tz_offset_secs).emit(),
        Ok(Err(DbdCallError::Setup(e))) => common::error(PROG, e).emit(),
        Ok(Err(e)) => common::error(PROG, format!("Problem talking to the database: {e}")).emit(),
        Err(e) => common::error(PROG, e).emit(),
    }
}

const HELP: &str = "\
sreport [<OPTION>] [<COMMAND>]
    Valid <OPTION> values are:
     -a or --all_clusters: Use all clusters instead of current
     -h or --help: equivalent to \"help\" command
     -M or --cluster: Cluster(s) to report on
     -n or --noheader: equivalent to \"noheader\" command
     -p or --parsable: output will be '|' delimited with a '|' at the end
     -P or --parsable2: output will be '|' delimited without a '|' at the end
     -t <time_format>: Second, Minute, Hour, Percent, SecPer, MinPer, HourPer
     -T or --tres: comma separated list of TRES to report (cpu, mem, node,
                   billing, gres/gpu, ...); default is cpu
     -V or --version: equivalent to \"version\" command

    Valid report types are:
     cluster <REPORT> <OPTIONS>
     job <REPORT> <OPTIONS>
     user <REPORT> <OPTIONS>

  <REPORT> is different for each report type.
     cluster - AccountUtilizationByUser, UserUtilizationByAccount, Utilization
     job     - SizesByAccount
     user    - TopUsage

  <OPTIONS> are different for each report type.

     COMMON FOR ALL TYPES
             - All_Clusters     - Use all monitored clusters default is
                                  local cluster.
             - Clusters=<OPT>   - List of clusters to include in report
                                  Default is local cluster.
             - End=<OPT>        - Period ending for report.
                                  Default is 23:59:59 of previous day.
             - Format=<OPT>     - Comma separated list of fields to display
                                  in report.
             - Start=<OPT>      - Period start for report.
                                  Default is 00:00:00 of previous day.

     cluster - Accounts=<OPT>   - When used with the UserUtilizationByAccount,
                                  or AccountUtilizationByUser, List of accounts
                                  to include in report.  Default is all.
             - Tree             - When used with the AccountUtilizationByUser
                                  report will span the accounts as they
                                  in the hierarchy.
             - Users=<OPT>      - When used with any report other than
                                  Utilization, List of users to include in
                                  report.  Default is all.

     job     - Accounts=<OPT>   - List of accounts to use for the report
                                  Default is all.  The SizesbyAccount
                                  report only displays 1 hierarchical level.
             - FlatView         - When used with the SizesbyAccount
                                  will not group accounts in a
                                  hierarchical level, but print each
                                  account where jobs ran on a separate
                                  line without any hierarchy.
             - Grouping=<OPT>   - Comma separated list of size groupings.
                                  (i.e. 50,100,150 would group job cpu count
                                   1-49, 50-99, 100-149, > 150).
                                  grouping=individual will result in a
                                  single column for each job size found.
             - Partitions=<OPT> - List of partitions jobs ran on to include
                                  in report.  Default is all.
             - PrintJobCount    - When used with the any Sizes report
                                  will print number of jobs ran instead of
                                  time used.
             - Users=<OPT>      - List of users jobs to include in report.
                                  Default is all.

     user    - Accounts=<OPT>   - List of accounts to use for the report
                                  Default is all.
             - Group            - Group all accounts together for each user.
                                  Default is a separate entry for each user
                                  and account reference.
             - TopCount=<OPT>   - Used in the TopUsage report.  Change the
                                  number of users displayed.  Default is 10.
             - Users=<OPT>      - List of users jobs to include in report.
                                  Default is all.
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Account, CapacityRow, JobSizesRow, UsageRow};

    /// `/work/shared/golden/sreport_cluster_utilization*.txt` (Slurm 22.05's output).
    const GOLDEN_UTIL: &str = "# $ sreport cluster utilization
# exit=0
--------------------------------------------------------------------------------
Cluster Utilization 2026-11-24T00:00:00 - 2026-11-24T23:59:59
Usage reported in CPU Minutes
--------------------------------------------------------------------------------
  Cluster Allocate     Down PLND Dow     Idle  Planned Reported 
--------- -------- -------- -------- -------- -------- -------- 
";
    const GOLDEN_UTIL_T: &str = "# $ sreport -t percent cluster utilization start=today
# exit=0
--------------------------------------------------------------------------------
Cluster Utilization 2026-11-25T00:00:00 - 2026-11-25T00:59:59
Usage reported in Percentage of Total
--------------------------------------------------------------------------------
  Cluster Allocate     Down PLND Dow     Idle  Planned Reported 
--------- -------- -------- -------- -------- -------- -------- 
";

    /// 2026-11-25T01:12:00Z, the goldens' clock (UTC host).
    const GOLDEN_NOW: Timestamp = 1_795_564_800 + 3600 + 720;
    const NOV: Timestamp = 1_793_491_200;
    const DEC: Timestamp = 1_796_083_200;

    fn ctx(now: Timestamp) -> Context {
        Context {
            now,
            tz_offset_secs: 0,
        }
    }

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn parse(line: &str, now: Timestamp) -> Args {
        match parse_args(&words(line), ctx(now)) {
            Step::Run(a) => a,
            Step::Exit(out) => panic!("{line}: {out:?}"),
        }
    }

    fn check_shared(name: &str, text: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/golden")
            .join(name);
        if let Ok(on_disk) = std::fs::read_to_string(&path) {
            assert_eq!(on_disk, text, "{} differs from the copy", path.display());
        }
    }

    /// (command after `sreport`, expected stdout) of a golden.
    fn golden(text: &str) -> (String, String) {
        let mut lines = text.splitn(3, '\n');
        let cmd = lines.next().unwrap().strip_prefix("# $ sreport ").unwrap();
        let _exit = lines.next();
        (cmd.to_owned(), lines.next().unwrap().to_owned())
    }

    fn empty_report(args: &Args, now: Timestamp) -> UsageReport {
        let (start, end) = window(args.cond.start, args.cond.end, ctx(now));
        UsageReport {
            now,
            start,
            end,
            clusters: vec!["bench".into()],
            ..UsageReport::default()
        }
    }

    #[test]
    fn utilization_without_usage_matches_slurm() {
        for (name, text) in [
            ("sreport_cluster_utilization.txt", GOLDEN_UTIL),
            ("sreport_cluster_utilization_t.txt", GOLDEN_UTIL_T),
        ] {
            check_shared(name, text);
            let (cmd, expected) = golden(text);
            let args = parse(&cmd, GOLDEN_NOW);
            let out = render_utilization(&args, &empty_report(&args, GOLDEN_NOW), 0);
            assert_eq!(out.stdout, expected, "{name}");
        }
    }

    #[test]
    fn windows_like_slurm() {
        let c = ctx(GOLDEN_NOW);
        let day = 86_400;
        let today = 1_795_564_800;
        assert_eq!(window(None, None, c), (today - day, today));
        assert_eq!(window(Some(today), None, c), (today, today + 3600));
        // Rounded to the nearest hour; the end is never after now.
        assert_eq!(
            window(Some(today - 1799), Some(today + 5 * 3600), c),
            (today, today + 3600)
        );
        assert_eq!(window(Some(today - 1800), Some(NOV), c).0, today);
        assert_eq!(window(Some(NOV), Some(DEC), ctx(DEC + 5)), (NOV, DEC));
        // In another zone the day starts at local midnight.
        let east = Context {
            now: GOLDEN_NOW,
            tz_offset_secs: 3600,
        };
        assert_eq!(window(None, None, east), (today - day - 3600, today - 3600));
    }

    #[test]
    fn options() {
        let a = parse(
            "cluster AccountUtilizationByUser --tres=gres/gpu start=2026-11-01 end=2026-12-01 -t hours",
            DEC + 4 * 86_400,
        );
        assert_eq!(a.report, Report::AccountUtilizationByUser);
        assert_eq!(a.opts.time, TimeFormat::Hours);
        assert_eq!(a.opts.tres, Some(vec!["gres/gpu".to_owned()]));
        assert_eq!((a.cond.start, a.cond.end), (Some(NOV), Some(DEC)));
        let a = parse(
            "-t Hours -P -n user topusage Start=2026-11-01 TopCount=3",
            DEC,
        );
        assert_eq!(a.report, Report::UserTopUsage);
        assert_eq!((a.opts.parsable, a.opts.no_header), (Some(false), true));
        assert_eq!(a.cond.top_count, Some(3));
        assert_eq!(
            parse("-t percent cluster ut", DEC).opts.time,
            TimeFormat::Percent
        );
        assert_eq!(
            parse("-t minper cluster UA", DEC).report,
            Report::UserUtilizationByAccount
        );
        assert_eq!(
            parse("job sizesbyaccount grouping=10,20", DEC)
                .cond
                .grouping,
            Some(vec![10, 20])
        );
        assert_eq!(
            parse("--parsable2 --noheader -t seconds cluster utilization", DEC)
                .opts
                .time,
            TimeFormat::Seconds
        );
        for bad in [
            "-t fortnights cluster utilization",
            "cluster nope",
            "cluster utilization Bogus=1",
            "cluster",
            "--tres=cpu,gres/gpu job sizes",
        ] {
            assert!(
                matches!(parse_args(&words(bad), ctx(DEC)), Step::Exit(o) if o.code == 1),
                "{bad}"
            );
        }
    }

    #[test]
    fn time_formats() {
        assert_eq!(TimeFormat::Minutes.text(90, 0), "2");
        assert_eq!(TimeFormat::Minutes.text(150, 0), "2");
        assert_eq!(TimeFormat::Hours.text(39_600, 0), "11");
        assert_eq!(TimeFormat::Seconds.text(39_600, 0), "39600");
        assert_eq!(TimeFormat::Percent.text(1, 3), "33.33%");
        assert_eq!(TimeFormat::HourPer.text(7200, 14_400), "2(50.00%)");
        assert_eq!(TimeFormat::Minutes.width(99_999_999), 8);
        assert_eq!(TimeFormat::Minutes.width(100_000_000), 9);
        assert_eq!(TimeFormat::MinPer.width(0), 17);
    }

    fn row(account: &str, user: &str, tres: &str, seconds: u64) -> UsageRow {
        UsageRow {
            cluster: "bench".into(),
            account: account.into(),
            user: user.into(),
            partition: "gpu".into(),
            tres: tres.into(),
            seconds,
        }
    }

    fn acct(name: &str, parent: &str) -> Account {
        Account {
            name: name.into(),
            parent: parent.into(),
            ..Account::default()
        }
    }

    /// November: alice 7 GPU-hours, bob 4, carol only CPU time; 8 GPUs, 32 CPUs.
    fn november() -> UsageReport {
        UsageReport {
            now: DEC + 4 * 86_400,
            start: NOV,
            end: DEC,
            rows: vec![
                row("physics", "alice", "gres/gpu", 25_200),
                row("physics", "alice", "cpu", 50_400),
                row("physics", "bob", "gres/gpu", 14_400),
                row("physics", "bob", "cpu", 28_800),
                row("chemistry", "carol", "cpu", 3600),
            ],
            capacity: vec![
                CapacityRow {
                    cluster: "bench".into(),
                    tres: "cpu".into(),
                    count: 32,
                    seconds: 32 * 30 * 86_400,
                    down_seconds: 0,
                },
                CapacityRow {
                    cluster: "bench".into(),
                    tres: "gres/gpu".into(),
                    count: 8,
                    seconds: 8 * 30 * 86_400,
                    down_seconds: 0,
                },
            ],
            accounts: vec![
                acct("root", ""),
                acct("physics", "root"),
                acct("chemistry", "root"),
            ],
            clusters: vec!["bench".into()],
            private: false,
        }
    }

    #[test]
    fn gpu_hours_per_account_for_a_month() {
        let args = parse(
            "cluster AccountUtilizationByUser --tres=gres/gpu start=2026-11-01 end=2026-12-01 -t hours",
            DEC + 4 * 86_400,
        );
        let out = render_account_by_user(&args, &november(), &NoNames, 0);
        assert_eq!(
            out.stdout,
            "\
--------------------------------------------------------------------------------
Cluster/Account/User Utilization 2026-11-01T00:00:00 - 2026-11-30T23:59:59 (2592000 secs)
Usage reported in TRES Hours
--------------------------------------------------------------------------------
  Cluster         Account     Login     Proper Name      TRES Name     Used 
--------- --------------- --------- --------------- -------------- -------- 
    bench            root                                 gres/gpu       11 
    bench       chemistry                                 gres/gpu        0 
    bench       chemistry     carol                       gres/gpu        0 
    bench         physics                                 gres/gpu       11 
    bench         physics     alice                       gres/gpu        7 
    bench         physics       bob                       gres/gpu        4 
"
        );
        // Parsable, in percent of the cluster's GPU time (8 GPUs × 30 days = 5760 h).
        let args = parse(
            "-nP -t percent cluster AccountUtilizationByUser --tres=gres/gpu Accounts=physics start=2026-11-01 end=2026-12-01",
            DEC + 4 * 86_400,
        );
        let out = render_account_by_user(&args, &november(), &NoNames, 0);
        assert_eq!(
            out.stdout,
            "bench|physics|||gres/gpu|0.19%\nbench|physics|alice||gres/gpu|0.12%\n\
             bench|physics|bob||gres/gpu|0.07%\n"
        );
    }

    #[test]
    fn cluster_utilization_numbers() {
        let args = parse(
            "cluster utilization start=2026-11-01 end=2026-12-01",
            DEC + 5,
        );
        let out = render_utilization(&args, &november(), 0);
        // CPU: 23 hours allocated of 32 × 720 = 23040 hours.
        assert_eq!(
            out.stdout.lines().last().unwrap(),
            "    bench     1380        0        0  1381020        0  1382400 "
        );
        let args = parse(
            "-t percent --tres=cpu,gres/gpu cluster utilization start=2026-11-01 end=2026-12-01",
            DEC + 5,
        );
        let out = render_utilization(&args, &november(), 0);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines[4],
            "  Cluster      TRES Name Allocate     Down PLND Dow     Idle  Planned Reported "
        );
        assert_eq!(
            lines[6],
            "    bench            cpu    0.10%    0.00%    0.00%   99.90%    0.00%  100.00% "
        );
        assert_eq!(
            lines[7],
            "    bench       gres/gpu    0.19%    0.00%    0.00%   99.81%    0.00%  100.00% "
        );
    }

    #[test]
    fn down_time_comes_off_idle() {
        let args = parse(
            "-t hours cluster utilization start=2026-11-01 end=2026-12-01",
            DEC + 5,
        );
        let mut r = november();
        // One 4-CPU node down for two days: 192 CPU-hours.
        r.capacity[0].down_seconds = 4 * 2 * 86_400;
        let out = render_utilization(&args, &r, 0);
        assert_eq!(
            out.stdout.lines().last().unwrap(),
            "    bench       23      192        0    22825        0    23040 "
        );
        // Down never takes more than what jobs left idle.
        r.capacity[0].down_seconds = r.capacity[0].seconds;
        let out = render_utilization(&args, &r, 0);
        assert_eq!(
            out.stdout.lines().last().unwrap(),
            "    bench       23    23017        0        0        0    23040 "
        );
        // PrivateData=usage: no cluster-wide figures for a user.
        r.private = true;
        let out = render_utilization(&args, &r, 0);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains("Access/permission denied"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn users_by_usage() {
        let args = parse(
            "user topusage start=2026-11-01 end=2026-12-01 -t hours",
            DEC + 5,
        );
        let out = render_users(&args, &november(), &NoNames, 0);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines[1],
            "Top 10 Users 2026-11-01T00:00:00 - 2026-11-30T23:59:59 (2592000 secs)"
        );
        assert_eq!(lines[2], "Usage reported in CPU Hours");
        assert_eq!(
            lines[4],
            "  Cluster     Login     Proper Name         Account     Used   Energy "
        );
        assert_eq!(
            &lines[6..],
            [
                "    bench     alice                         physics       14        0 ",
                "    bench       bob                         physics        8        0 ",
                "    bench     carol                       chemistry        1        0 ",
            ]
        );
        let args = parse(
            "-P -n cluster UserUtilizationByAccount --tres=gres/gpu -t hours start=2026-11-01 end=2026-12-01",
            DEC + 5,
        );
        let out = render_users(&args, &november(), &NoNames, 0);
        assert_eq!(
            out.stdout,
            "bench|alice||physics|gres/gpu|7\nbench|bob||physics|gres/gpu|4\n\
             bench|carol||chemistry|gres/gpu|0\n"
        );
    }

    #[test]
    fn job_sizes_layout() {
        let args = parse(
            "job sizesbyaccount start=2026-11-01 end=2026-12-01",
            DEC + 5,
        );
        let sizes = JobSizes {
            start: NOV,
            end: DEC,
            buckets: vec![0, 50, 250, 500, 1000],
            rows: vec![
                JobSizesRow {
                    cluster: "bench".into(),
                    account: "chemistry".into(),
                    seconds: vec![3600, 230_400, 0, 0, 0],
                    jobs: vec![1, 1, 0, 0, 0],
                },
                JobSizesRow {
                    cluster: "bench".into(),
                    account: "physics".into(),
                    seconds: vec![79_200, 0, 0, 0, 0],
                    jobs: vec![3, 0, 0, 0, 0],
                },
            ],
        };
        let out = render_job_sizes(&args, &sizes, 0);
        assert_eq!(
            out.stdout,
            "\
--------------------------------------------------------------------------------
Job Sizes 2026-11-01T00:00:00 - 2026-11-30T23:59:59 (2592000 secs)
Time reported in Minutes
--------------------------------------------------------------------------------
  Cluster   Account     0-49 CPUs   50-249 CPUs  250-499 CPUs  500-999 CPUs  >= 1000 CPUs % of cluster 
--------- --------- ------------- ------------- ------------- ------------- ------------- ------------ 
    bench chemistry            60          3840             0             0             0       74.71% 
    bench   physics          1320             0             0             0             0       25.29% 
"
        );
    }
}
