//! `sacct`: jobs and steps from the accounting database.
//!
//! The selection (`-j -u -A -s -S -E -r --name -M`) goes to the dbd as one
//! [`AcctJobQuery`]; the layout (`-o`, `-b`, `-X`, `-n`, `-p`, `-P`, `--units`) is applied
//! here, as Slurm's sacct does it: fixed-width columns (`JobID` left-aligned in 12, most
//! others right-aligned in 10, over-long values cut with a trailing `+`) or `|`-separated.
//!
//! Defaults follow Slurm: the invoking user's jobs (all users' for root, `-a`, or `-j`),
//! jobs present since 00:00 today (`-s` alone: since now; `-j` alone: any time), the local
//! cluster.

pub use super::acct_columns::Style;
use super::acct_columns::{self, FieldInfo};
use super::common;
use super::getopt::{self, HasArg, Opt, opt};
use super::jobs::parse_job_list;
use super::lookup::{SystemUsers, UserDb};
use super::rpc::{self, RpcError};
use super::{Output, Step, getopt_failure, split_list};
use crate::auth::CredentialSource;
use crate::client::ClientError;
use crate::config::{AccountingStorage, ClusterConfig};
use crate::format::timefmt;
use crate::model::{JobState, TimeLimit, Timestamp};
use crate::parse::hostlist;
use crate::proto::slurm_dbd::slurm_dbd_client::SlurmDbdClient;
use crate::proto::{AcctJob, AcctJobList, AcctJobQuery, AcctJobRecord, AcctStep};
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

pub const PROG: &str = "sacct";

/// The columns without `-o`.
pub const DEFAULT_FORMAT: &str = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode";
/// `-b`.
pub const BRIEF_FORMAT: &str = "JobID,State,ExitCode";

/// A sacct field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Account,
    AllocCpus,
    AllocNodes,
    AllocTres,
    Cluster,
    CpuTime,
    CpuTimeRaw,
    Elapsed,
    ElapsedRaw,
    Eligible,
    End,
    ExitCode,
    JobId,
    JobIdRaw,
    JobName,
    MaxRss,
    NNodes,
    NodeList,
    Partition,
    Priority,
    Qos,
    Reason,
    ReqCpus,
    ReqTres,
    Start,
    State,
    Submit,
    Timelimit,
    TimelimitRaw,
    TotalCpu,
    Uid,
    User,
    WorkDir,
}

/// How a field prints: its name, Slurm's default width (negative: left-aligned), and
/// whether it is a number (numbers are never cut).
const FIELDS: &[FieldInfo<Field>] = &[
    (Field::Account, "Account", 10, false),
    (Field::AllocCpus, "AllocCPUS", 10, true),
    (Field::AllocNodes, "AllocNodes", 10, false),
    (Field::AllocTres, "AllocTRES", 10, false),
    (Field::Cluster, "Cluster", 10, false),
    (Field::CpuTime, "CPUTime", 10, false),
    (Field::CpuTimeRaw, "CPUTimeRAW", 10, true),
    (Field::Elapsed, "Elapsed", 10, false),
    (Field::ElapsedRaw, "ElapsedRaw", 10, true),
    (Field::Eligible, "Eligible", 19, false),
    (Field::End, "End", 19, false),
    (Field::ExitCode, "ExitCode", 8, false),
    (Field::JobId, "JobID", -12, false),
    (Field::JobIdRaw, "JobIDRaw", -12, false),
    (Field::JobName, "JobName", 10, false),
    (Field::MaxRss, "MaxRSS", 10, false),
    (Field::NNodes, "NNodes", 8, false),
    (Field::NodeList, "NodeList", 15, false),
    (Field::Partition, "Partition", 10, false),
    (Field::Priority, "Priority", 10, true),
    (Field::Qos, "QOS", 10, false),
    (Field::Reason, "Reason", 20, false),
    (Field::ReqCpus, "ReqCPUS", 8, true),
    (Field::ReqTres, "ReqTRES", 10, false),
    (Field::Start, "Start", 19, false),
    (Field::State, "State", 10, false),
    (Field::Submit, "Submit", 19, false),
    (Field::Timelimit, "Timelimit", 10, false),
    (Field::TimelimitRaw, "TimelimitRaw", 12, false),
    (Field::TotalCpu, "TotalCPU", 10, false),
    (Field::Uid, "UID", 6, true),
    (Field::User, "User", 9, false),
    (Field::WorkDir, "WorkDir", 15, false),
];

/// One column of the layout.
pub type Column = acct_columns::Column<Field>;

/// A parsed sacct command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SacctArgs {
    pub columns: Vec<Column>,
    pub style: Style,
    pub no_header: bool,
    /// `-X`: job allocations only, no steps.
    pub allocations: bool,
    /// `--units=K|M|G|T|P` for memory fields.
    pub units: Option<char>,
    pub query: AcctJobQuery,
    /// `-L`: every cluster (else `-M`, else the local one).
    pub all_clusters: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    AllUsers,
    Accounts,
    Brief,
    Clusters,
    AllClusters,
    Duplicates,
    HelpFormat,
    EndTime,
    Help,
    Jobs,
    Long,
    Name,
    NoConvert,
    NoHeader,
    Format,
    Parsable,
    Parsable2,
    Partition,
    State,
    StartTime,
    Truncate,
    User,
    Units,
    Usage,
    Verbose,
    Version,
    Allocations,
}

const OPTIONS: &[Opt<K>] = &[
    opt("allusers", Some('a'), HasArg::No, K::AllUsers),
    opt("accounts", Some('A'), HasArg::Required, K::Accounts),
    opt("brief", Some('b'), HasArg::No, K::Brief),
    opt("clusters", Some('M'), HasArg::Required, K::Clusters),
    opt("allclusters", Some('L'), HasArg::No, K::AllClusters),
    opt("duplicates", Some('D'), HasArg::No, K::Duplicates),
    opt("helpformat", Some('e'), HasArg::No, K::HelpFormat),
    opt("endtime", Some('E'), HasArg::Required, K::EndTime),
    opt("help", Some('h'), HasArg::No, K::Help),
    opt("jobs", Some('j'), HasArg::Required, K::Jobs),
    opt("long", Some('l'), HasArg::No, K::Long),
    opt("name", None, HasArg::Required, K::Name),
    opt("noconvert", None, HasArg::No, K::NoConvert),
    opt("noheader", Some('n'), HasArg::No, K::NoHeader),
    opt("format", Some('o'), HasArg::Required, K::Format),
    opt("parsable", Some('p'), HasArg::No, K::Parsable),
    opt("parsable2", Some('P'), HasArg::No, K::Parsable2),
    opt("partition", Some('r'), HasArg::Required, K::Partition),
    opt("state", Some('s'), HasArg::Required, K::State),
    opt("starttime", Some('S'), HasArg::Required, K::StartTime),
    opt("truncate", Some('T'), HasArg::No, K::Truncate),
    opt("user", Some('u'), HasArg::Required, K::User),
    opt("uid", None, HasArg::Required, K::User),
    opt("units", None, HasArg::Required, K::Units),
    opt("usage", None, HasArg::No, K::Usage),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
    opt("allocations", Some('X'), HasArg::No, K::Allocations),
];

fn error(message: impl std::fmt::Display) -> Output {
    common::error(PROG, message)
}

/// Looks a field up the way sacct does: case-insensitively, a unique prefix being enough
/// (the first match in alphabetical order wins, so `jobid` is `JobID`).
pub fn lookup_field(name: &str) -> Option<FieldInfo<Field>> {
    let lower = name.to_ascii_lowercase();
    FIELDS
        .iter()
        .find(|f| f.1.eq_ignore_ascii_case(name))
        .or_else(|| {
            FIELDS
                .iter()
                .find(|f| !lower.is_empty() && f.1.to_ascii_lowercase().starts_with(&lower))
        })
        .copied()
}

/// Parses a `-o` list: `JobID,JobName%30,state`.
pub fn parse_format(text: &str) -> Result<Vec<Column>, Output> {
    acct_columns::parse_format(text, lookup_field)
        .map_err(|name| error(format!("Invalid field requested: \"{name}\"")))
}

/// `-e`: the field names, four to a line.
pub fn help_format() -> String {
    acct_columns::help_format(FIELDS)
}

/// Midnight (local time) of the day `now` falls in.
pub fn local_midnight(now: Timestamp, tz_offset_secs: i32) -> Timestamp {
    let local = now + i64::from(tz_offset_secs);
    local - local.rem_euclid(86_400) - i64::from(tz_offset_secs)
}

/// What the command line needs from outside: the clock, the local zone, the caller.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub now: Timestamp,
    pub tz_offset_secs: i32,
}

/// Parses sacct's arguments (without the program name).
pub fn parse_args(
    args: &[String],
    ctx: Context,
    users: &dyn UserDb,
    cluster_name: &str,
) -> Step<SacctArgs> {
    parse_inner(args, ctx, users, cluster_name).unwrap_or_else(Step::Exit)
}

fn parse_time(value: &str, ctx: Context, opt: &str) -> Result<Timestamp, Output> {
    crate::parse::sbatch::parse_begin(value, ctx.now, ctx.tz_offset_secs)
        .map_err(|_| error(format!("Invalid time specification for {opt}: {value}")))
}

fn parse_inner(
    args: &[String],
    ctx: Context,
    users: &dyn UserDb,
    cluster_name: &str,
) -> Result<Step<SacctArgs>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut format: Option<String> = None;
    let mut brief = false;
    let mut a = SacctArgs {
        columns: Vec::new(),
        style: Style::Fixed,
        no_header: false,
        allocations: false,
        units: None,
        query: AcctJobQuery::default(),
        all_clusters: false,
    };
    let mut all_users = false;
    let mut users_text: Option<String> = None;
    let mut start: Option<Timestamp> = None;
    let mut end: Option<Timestamp> = None;
    let mut clusters: Option<Vec<String>> = None;
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::AllUsers => all_users = true,
            K::Accounts => a.query.accounts = Some(split_list(&value)),
            K::Brief => brief = true,
            K::Clusters => {
                if value.eq_ignore_ascii_case("all") || value == "-1" {
                    a.all_clusters = true;
                } else {
                    clusters = Some(split_list(&value));
                }
            }
            K::AllClusters => a.all_clusters = true,
            K::Duplicates | K::NoConvert | K::Truncate | K::Verbose => {}
            K::HelpFormat => return Ok(Step::Exit(Output::ok(help_format()))),
            K::EndTime => end = Some(parse_time(&value, ctx, "--endtime")?),
            K::Help => return Ok(Step::Exit(Output::ok(HELP))),
            K::Usage => return Ok(Step::Exit(Output::ok(USAGE))),
            K::Version => return Ok(Step::Exit(common::version())),
            K::Jobs => {
                let refs = parse_job_list(&value).map_err(error)?;
                a.query.jobs.extend(refs);
            }
            K::Long => return Err(error("option --long is not supported; use --format")),
            K::Name => a.query.names = Some(split_list(&value)),
            K::NoHeader => a.no_header = true,
            K::Format => format = Some(value),
            K::Parsable => a.style = Style::Parsable,
            K::Parsable2 => a.style = Style::Parsable2,
            K::Partition => a.query.partitions = Some(split_list(&value)),
            K::State => {
                let mut states = Vec::new();
                for name in split_list(&value) {
                    let state = JobState::parse_any(&name)
                        .map_err(|_| error(format!("Invalid job state specified: {name}")))?;
                    states.push(state);
                }
                a.query.states = Some(states);
            }
            K::StartTime => start = Some(parse_time(&value, ctx, "--starttime")?),
            K::User => users_text = Some(value),
            K::Units => {
                let unit = value.chars().next().map(|c| c.to_ascii_uppercase());
                match unit {
                    Some(u @ ('K' | 'M' | 'G' | 'T' | 'P')) if value.len() == 1 => {
                        a.units = Some(u);
                    }
                    _ => return Err(error(format!("Invalid units specification: {value}"))),
                }
            }
            K::Allocations => a.allocations = true,
        }
    }
    if let Some(extra) = m.operands.first() {
        let message = format!("Unknown arguments: {extra}");
        return Err(common::usage_error(PROG, message, USAGE));
    }
    let format = match format {
        Some(f) => f,
        None if brief => BRIEF_FORMAT.to_owned(),
        None => DEFAULT_FORMAT.to_owned(),
    };
    a.columns = parse_format(&format)?;
    // Users: -u, else everyone for -a, root and -j, else the caller.
    a.query.uids = match users_text {
        Some(text) => {
            let mut uids = Vec::new();
            for name in split_list(&text) {
                match users.uid_of(&name) {
                    Some(uid) => uids.push(uid),
                    None => return Err(error(format!("Invalid user id: {name}"))),
                }
            }
            Some(uids)
        }
        None if all_users || users.current_uid() == 0 || !a.query.jobs.is_empty() => None,
        None => Some(vec![users.current_uid()]),
    };
    // The window: -S (default 00:00 today; now with -s; any time with -j), -E (now).
    let start = match start {
        Some(s) => Some(s),
        None if a.query.states.is_some() => Some(ctx.now),
        None if !a.query.jobs.is_empty() && end.is_none() => None,
        None => Some(local_midnight(ctx.now, ctx.tz_offset_secs)),
    };
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(error("Start time requested is after end time requested."));
    }
    a.query.start = start;
    a.query.end = match (start, end) {
        (_, Some(e)) => Some(e),
        (Some(_), None) => Some(ctx.now),
        (None, None) => None,
    };
    if !a.all_clusters {
        a.query.clusters = clusters.unwrap_or_else(|| vec![cluster_name.to_owned()]);
    }
    Ok(Step::Run(a))
}

// ----- values -----

/// `[D-]HH:MM:SS`, as sacct prints elapsed times and limits.
fn hms(secs: i64) -> String {
    timefmt::hms(secs.max(0))
}

/// sacct's CPU-time spelling (`_elapsed_time`): `MM:SS.mmm` under an hour, `HH:MM:SS`, then
/// `D-HH:MM:SS`.
pub fn cpu_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else if h > 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}.{:03}", ms % 1000)
    }
}

/// A size in KiB as sacct prints it: converted up while it divides into halves of the next
/// unit (`1072K`, `1.50M`), or into `unit` (`--units`).
pub fn size_kb(kb: u64, unit: Option<char>) -> String {
    const UNITS: &[char] = &['K', 'M', 'G', 'T', 'P'];
    if kb == 0 {
        return "0".to_owned();
    }
    let mut value = kb as f64;
    let mut i = 0;
    match unit.and_then(|u| UNITS.iter().position(|&x| x == u)) {
        Some(target) => {
            while i < target {
                value /= 1024.0;
                i += 1;
            }
        }
        None => {
            while value >= 1024.0 && i + 1 < UNITS.len() && (value as u64).is_multiple_of(512) {
                value /= 1024.0;
                i += 1;
            }
        }
    }
    if value.fract() == 0.0 {
        format!("{}{}", value as u64, UNITS[i])
    } else {
        format!("{value:.2}{}", UNITS[i])
    }
}

/// The job id as sacct prints it: `123`, `123_4`, `123_[5-9]`.
pub fn job_id_text(job: &AcctJob) -> String {
    match (job.array_job_id, job.array_task_id, &job.array_pending) {
        (Some(array), Some(task), _) => format!("{array}_{task}"),
        (Some(array), None, Some(pending)) => format!("{array}_[{pending}]"),
        _ => job.job_id.to_string(),
    }
}

fn state_text(job: &AcctJob) -> String {
    match (job.state, job.cancelled_by) {
        (JobState::Cancelled, Some(uid)) => format!("CANCELLED by {uid}"),
        (s, _) => s.as_str().to_owned(),
    }
}

fn elapsed_of(start: Option<Timestamp>, end: Option<Timestamp>, now: Timestamp) -> i64 {
    match start {
        Some(s) if s > 0 => end.unwrap_or(now).saturating_sub(s).max(0),
        _ => 0,
    }
}

fn date(ts: Option<Timestamp>, tz: i32) -> String {
    timefmt::iso_or_unknown(ts, tz)
}

fn limit_text(limit: TimeLimit) -> String {
    match limit {
        TimeLimit::Infinite => "UNLIMITED".to_owned(),
        TimeLimit::Seconds(s) => hms(i64::try_from(s).unwrap_or(i64::MAX)),
    }
}

fn node_count(list: &str) -> usize {
    if list.is_empty() {
        return 0;
    }
    hostlist::expand(list).map_or(1, |v| v.len())
}

/// The job allocation row's value of a field.
fn job_value(rec: &AcctJobRecord, field: Field, now: Timestamp, tz: i32) -> String {
    let j = &rec.job;
    let started = j.start.is_some();
    let end = if j.state.is_finished() { j.end } else { None };
    let elapsed = elapsed_of(j.start, end, now);
    let cpus = if started { j.alloc_cpus } else { j.req_cpus };
    match field {
        Field::Account => j.account.clone(),
        Field::AllocCpus => cpus.to_string(),
        Field::AllocNodes => j.alloc_nodes.to_string(),
        Field::AllocTres => j.alloc_tres.clone(),
        Field::Cluster => rec.cluster.clone(),
        Field::CpuTime => hms(elapsed.saturating_mul(i64::from(cpus))),
        Field::CpuTimeRaw => elapsed.saturating_mul(i64::from(cpus)).to_string(),
        Field::Elapsed => hms(elapsed),
        Field::ElapsedRaw => elapsed.to_string(),
        Field::Eligible => date(j.eligible, tz),
        Field::End => date(end, tz),
        Field::ExitCode => format!("{}:{}", j.exit_code, j.exit_signal),
        Field::JobId => job_id_text(j),
        Field::JobIdRaw => j.job_id.to_string(),
        Field::JobName => j.name.clone(),
        Field::MaxRss => String::new(),
        Field::NNodes => if started { j.alloc_nodes } else { j.req_nodes }.to_string(),
        Field::NodeList => {
            if j.nodelist.is_empty() {
                "None assigned".to_owned()
            } else {
                j.nodelist.clone()
            }
        }
        Field::Partition => j.partition.clone(),
        Field::Priority => j.priority.to_string(),
        Field::Qos => j.qos.clone(),
        Field::Reason => j.reason.clone(),
        Field::ReqCpus => j.req_cpus.to_string(),
        Field::ReqTres => j.req_tres.clone(),
        Field::Start => date(j.start, tz),
        Field::State => state_text(j),
        Field::Submit => date(Some(j.submit), tz),
        Field::Timelimit => limit_text(j.time_limit),
        Field::TimelimitRaw => match j.time_limit {
            TimeLimit::Infinite => "UNLIMITED".to_owned(),
            TimeLimit::Seconds(s) => (s / 60).to_string(),
        },
        Field::TotalCpu => cpu_time(
            rec.steps
                .iter()
                .filter_map(|s| s.usage.map(|u| u.cpu_time_ms))
                .sum(),
        ),
        Field::Uid => j.uid.to_string(),
        Field::User => j.user.clone(),
        Field::WorkDir => j.work_dir.clone(),
    }
}

/// A step row's value of a field.
fn step_value(
    rec: &AcctJobRecord,
    step: &AcctStep,
    field: Field,
    now: Timestamp,
    tz: i32,
    units: Option<char>,
) -> String {
    let j = &rec.job;
    let elapsed = elapsed_of(step.start, step.end, now);
    match field {
        Field::Account => j.account.clone(),
        Field::AllocCpus | Field::ReqCpus => step.alloc_cpus.to_string(),
        Field::AllocNodes | Field::NNodes => node_count(&step.nodelist).to_string(),
        Field::AllocTres => step.alloc_tres.clone(),
        Field::Cluster => rec.cluster.clone(),
        Field::CpuTime => hms(elapsed.saturating_mul(i64::from(step.alloc_cpus))),
        Field::CpuTimeRaw => elapsed
            .saturating_mul(i64::from(step.alloc_cpus))
            .to_string(),
        Field::Elapsed => hms(elapsed),
        Field::ElapsedRaw => elapsed.to_string(),
        Field::Eligible | Field::Submit | Field::Start => date(step.start, tz),
        Field::End => date(step.end, tz),
        Field::ExitCode => format!("{}:{}", step.exit_code, step.exit_signal),
        Field::JobId => format!("{}.{}", job_id_text(j), step.step),
        Field::JobIdRaw => format!("{}.{}", j.job_id, step.step),
        Field::JobName => step.name.clone(),
        Field::MaxRss => step
            .usage
            .map(|u| size_kb(u.max_rss_kb, units))
            .unwrap_or_default(),
        Field::NodeList => step.nodelist.clone(),
        Field::State => step.state.as_str().to_owned(),
        Field::TotalCpu => cpu_time(step.usage.map_or(0, |u| u.cpu_time_ms)),
        Field::Partition
        | Field::Priority
        | Field::Qos
        | Field::Reason
        | Field::ReqTres
        | Field::Timelimit
        | Field::TimelimitRaw
        | Field::Uid
        | Field::User
        | Field::WorkDir => String::new(),
    }
}

fn push_line(out: &mut String, values: &[String], columns: &[Column], style: Style) {
    acct_columns::push_line(out, FIELDS, values, columns, style);
}

/// sacct's output for a reply.
pub fn render(list: &AcctJobList, args: &SacctArgs, tz_offset_secs: i32) -> Output {
    let mut out = String::new();
    if !args.no_header {
        out.push_str(&acct_columns::header(FIELDS, &args.columns, args.style));
    }
    for rec in &list.jobs {
        let values: Vec<String> = args
            .columns
            .iter()
            .map(|c| job_value(rec, c.field, list.now, tz_offset_secs))
            .collect();
        push_line(&mut out, &values, &args.columns, args.style);
        if args.allocations {
            continue;
        }
        for step in &rec.steps {
            let values: Vec<String> = args
                .columns
                .iter()
                .map(|c| step_value(rec, step, c.field, list.now, tz_offset_secs, args.units))
                .collect();
            push_line(&mut out, &values, &args.columns, args.style);
        }
    }
    Output::ok(out)
}

// ----- running -----

/// Slurm's wording when sacct cannot reach the dbd.
pub const DB_PROBLEM: &str = "Problem talking to the database";

/// Why a query failed: this host's setup (no credential to be had), or the dbd.
enum QueryError {
    Setup(String),
    Db(String),
}

async fn query(cluster: &ClusterConfig, q: AcctJobQuery) -> Result<AcctJobList, QueryError> {
    // The caller's credential from the signer (the dbd verifies it like the controller).
    let credentials =
        CredentialSource::for_commands(cluster).map_err(|e| QueryError::Setup(e.to_string()))?;
    let request = credentials
        .authed(q)
        .await
        .map_err(|e| QueryError::Setup(e.to_string()))?;
    let timeout = Duration::from_secs(cluster.timers.message_timeout.max(1).saturating_mul(6));
    let connect_timeout = Duration::from_secs(cluster.timers.message_timeout.max(1));
    let endpoint = crate::client::dbd_endpoint(cluster, connect_timeout)
        .map_err(|e| QueryError::Setup(e.to_string()))?;
    let channel = crate::client::connect_daemon(&endpoint)
        .await
        .map_err(|e| match e {
            // Slurm's wording for a dbd that cannot be reached.
            ClientError::Connect { .. } => QueryError::Db("Connection refused".to_owned()),
            other => QueryError::Db(other.to_string()),
        })?;
    let mut client = SlurmDbdClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    match tokio::time::timeout(timeout, client.query_jobs(request)).await {
        Ok(Ok(reply)) => Ok(reply.into_inner()),
        Ok(Err(status)) => Err(QueryError::Db(RpcError::from(status).to_string())),
        Err(_) => Err(QueryError::Db(rpc::TIMED_OUT.to_owned())),
    }
}

/// Runs `sacct`.
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
    // Help and bad options do not need the configuration.
    let cluster = match rpc::load_config() {
        Ok(c) => c,
        Err(e) => {
            if let Step::Exit(out) = parse_args(&args, ctx, &SystemUsers, "") {
                return out.emit();
            }
            return error(e).emit();
        }
    };
    let parsed = match parse_args(&args, ctx, &SystemUsers, &cluster.cluster_name) {
        Step::Run(a) => a,
        Step::Exit(out) => return out.emit(),
    };
    if cluster.accounting.storage != AccountingStorage::Slurmdbd {
        return error("Slurm accounting storage is disabled").emit();
    }
    let result = rpc::block_on(query(&cluster, parsed.query.clone()));
    match result {
        Ok(Ok(list)) => render(&list, &parsed, super::tz::local_offset(list.now)).emit(),
        Ok(Err(QueryError::Db(e))) => error(format!("{DB_PROBLEM}: {e}")).emit(),
        Ok(Err(QueryError::Setup(e))) => error(e).emit(),
        Err(e) => error(e).emit(),
    }
}

const USAGE: &str = "\
Usage: sacct [-a] [-A account] [-b] [-E endtime] [-j jobs] [-n] [-o format]
             [-p|-P] [-r partition] [-s state] [-S starttime] [-u user] [-X]
             [--name=jobname] [--units=K|M|G|T|P] [-M clusters|-L]
";

const HELP: &str = "\
sacct [<OPTION>]
    Valid <OPTION> values are:
     -a, --allusers:
                   Display jobs for all users. By default, only the
                   current user's jobs are displayed (all jobs for root).
     -A, --accounts:
                   Use this comma separated list of accounts to select jobs
                   to display.
     -b, --brief:
                   Equivalent to '--format=jobstep,state,error'.
     -e, --helpformat:
                   Print a list of fields that can be specified with the
                   '--format' option
     -E, --endtime:
                   Select jobs eligible before this time.
     -h, --help:   Print this description of use.
     -j, --jobs:
                   Format is <job(.step)>. Display information about this
                   job or comma-separated list of jobs (123, 123_4).
     -L, --allclusters:
                   Display jobs ran on all clusters.
     -M, --clusters:
                   Only send data about these clusters.
     -n, --noheader:
                   No header will be added to the beginning of the output.
                   The default is to print a header.
     --name:
                   Display jobs that have any of these name(s).
     -o, --format:
                   Comma separated list of fields (use \"--helpformat\" for a
                   list of available fields); NAME%N sets a width.
     -p, --parsable: output will be '|' delimited with a '|' at the end
     -P, --parsable2: output will be '|' delimited without a '|' at the end
     -r, --partition:
                   Comma separated list of partitions to select jobs and
                   job steps from.
     -s, --state:
                   Select jobs based on their state during the time period
                   given (default start time: now).
     -S, --starttime:
                   Select jobs eligible after this time.  Default is
                   00:00:00 of the current day.
     -u, --uid, --user:
                   Use this comma separated list of uids or user names
                   to select jobs to display.
     --units=[KMGTP]:
                   Display values in specified unit type.
     --usage:      Display brief usage message.
     -V, --version: Print version.
     -X, --allocations:
                   Only show statistics relevant to the job allocation
                   itself, not taking steps into consideration.
";
