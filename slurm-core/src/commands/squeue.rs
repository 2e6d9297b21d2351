//! `squeue`: list jobs.
//!
//! The controller returns every job ([`crate::proto::JobList`]); filtering (`-j -u -t -p -n
//! -A -q -w --me`), array expansion (`-r`), sorting and formatting happen here, as Slurm's
//! squeue does them. Without `-t`, pending, running, suspended and completing jobs are shown;
//! `--start` shows pending jobs by expected start time.

use super::common::{self, UserChoice};
use super::getopt::{self, HasArg, Opt, opt};
use super::jobs::{self, parse_job_list};
use super::lookup::{SystemUsers, UserDb};
use super::rpc::{RpcError, Session};
use super::{Output, Step, getopt_failure, split_list};
use crate::format::FormatEnv;
use crate::format::squeue::{self as fmt, Style};
use crate::model::{Job, JobRef, JobState};
use crate::parse::hostlist;
use crate::proto::{JobList, JobQuery};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "squeue";

/// The `slurm_perror` context of a failed job listing.
pub const LOAD_JOBS: &str = "slurm_load_jobs error";

/// Which states are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// Pending, running, suspended and completing jobs (squeue's default).
    #[default]
    Active,
    /// `-t all`.
    All,
    /// `-t LIST`.
    Only(Vec<JobState>),
}

impl StateFilter {
    pub fn admits(&self, state: JobState) -> bool {
        match self {
            Self::Active => matches!(
                state,
                JobState::Pending | JobState::Running | JobState::Suspended | JobState::Completing
            ),
            Self::All => true,
            Self::Only(list) => list.contains(&state),
        }
    }
}

/// squeue's job filters; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// `-j`: jobs and array tasks.
    pub jobs: Option<Vec<JobRef>>,
    /// `-p`.
    pub partitions: Option<Vec<String>>,
    /// `-u` / `--me`, as uids.
    pub users: Option<Vec<u32>>,
    /// `-t`.
    pub states: StateFilter,
    /// `-n` (case-insensitive).
    pub names: Option<Vec<String>>,
    /// `-A` (case-insensitive).
    pub accounts: Option<Vec<String>>,
    /// `-q` (case-insensitive).
    pub qos: Option<Vec<String>>,
    /// `-w`: jobs allocated any of these nodes.
    pub nodes: Option<Vec<String>>,
}

impl JobFilter {
    /// Whether a job passes every filter but `-j` (see [`jobs::restrict`] for that one).
    pub fn admits(&self, job: &Job) -> bool {
        let any_ci = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|l| l.iter().any(|x| x.eq_ignore_ascii_case(value)))
        };
        let partition_ok = self.partitions.as_ref().is_none_or(|parts| {
            parts
                .iter()
                .any(|p| *p == job.partition || job.spec.partitions.contains(p))
        });
        let user_ok = self
            .users
            .as_ref()
            .is_none_or(|u| u.contains(&job.spec.uid));
        let nodes_ok = self
            .nodes
            .as_ref()
            .is_none_or(|nodes| job.allocation.iter().any(|a| nodes.contains(&a.node)));
        self.states.admits(job.state)
            && partition_ok
            && user_ok
            && nodes_ok
            && any_ci(&self.names, &job.spec.name)
            && any_ci(&self.accounts, &job.spec.account)
            && any_ci(&self.qos, &job.spec.qos)
    }
}

/// A parsed squeue command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqueueArgs {
    /// Layout and `-h`.
    pub output: fmt::Options,
    pub filter: JobFilter,
    /// `--start`: sort by expected start time.
    pub start: bool,
    /// `-l` (also prints the date line when the layout is not the long one).
    pub long: bool,
    /// `-r`: one line per array task.
    pub expand_arrays: bool,
    /// `-i SECONDS`: repeat.
    pub iterate: Option<u64>,
    /// Lines for stderr that do not stop the command (`Invalid user: x`).
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Accounts,
    All,
    Array,
    Clusters,
    FormatLong,
    Format,
    Help,
    Hide,
    Iterate,
    Jobs,
    Licenses,
    Local,
    Long,
    Me,
    Name,
    NoConvert,
    Nodes,
    NoHeader,
    Partitions,
    Priority,
    Qos,
    Reservation,
    Sort,
    Start,
    Steps,
    States,
    Usage,
    User,
    Verbose,
    Version,
}

const OPTIONS: &[Opt<K>] = &[
    opt("accounts", Some('A'), HasArg::Required, K::Accounts),
    opt("", Some('U'), HasArg::Required, K::Accounts),
    opt("all", Some('a'), HasArg::No, K::All),
    opt("array", Some('r'), HasArg::No, K::Array),
    opt("Format", Some('O'), HasArg::Required, K::FormatLong),
    opt("format", Some('o'), HasArg::Required, K::Format),
    opt("help", None, HasArg::No, K::Help),
    opt("hide", None, HasArg::No, K::Hide),
    opt("iterate", Some('i'), HasArg::Required, K::Iterate),
    opt("jobs", Some('j'), HasArg::Optional, K::Jobs),
    opt("local", None, HasArg::No, K::Local),
    opt("long", Some('l'), HasArg::No, K::Long),
    opt("licenses", Some('L'), HasArg::Required, K::Licenses),
    opt("cluster", Some('M'), HasArg::Required, K::Clusters),
    opt("clusters", None, HasArg::Required, K::Clusters),
    opt("me", None, HasArg::No, K::Me),
    opt("name", Some('n'), HasArg::Required, K::Name),
    opt("noconvert", None, HasArg::No, K::NoConvert),
    opt("node", Some('w'), HasArg::Required, K::Nodes),
    opt("nodes", None, HasArg::Required, K::Nodes),
    opt("nodelist", None, HasArg::Required, K::Nodes),
    opt("noheader", Some('h'), HasArg::No, K::NoHeader),
    opt("partitions", Some('p'), HasArg::Required, K::Partitions),
    opt("priority", Some('P'), HasArg::No, K::Priority),
    opt("qos", Some('q'), HasArg::Required, K::Qos),
    opt("reservation", Some('R'), HasArg::Required, K::Reservation),
    opt("sort", Some('S'), HasArg::Required, K::Sort),
    opt("start", None, HasArg::No, K::Start),
    opt("steps", Some('s'), HasArg::Optional, K::Steps),
    opt("states", Some('t'), HasArg::Required, K::States),
    opt("usage", None, HasArg::No, K::Usage),
    opt("user", Some('u'), HasArg::Required, K::User),
    opt("users", None, HasArg::Required, K::User),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
];

fn error(message: impl std::fmt::Display) -> Output {
    common::error(PROG, message)
}

/// Parses squeue's arguments (without the program name). `env` supplies the `SQUEUE_*`
/// defaults (`SQUEUE_FORMAT`, `SQUEUE_FORMAT2`, `SQUEUE_STATES`, `SQUEUE_USERS`,
/// `SQUEUE_PARTITION`, `SQUEUE_ACCOUNT`, `SQUEUE_NAMES`, `SQUEUE_ARRAY`).
pub fn parse_args(
    args: &[String],
    env: &BTreeMap<String, String>,
    users: &dyn UserDb,
) -> Step<SqueueArgs> {
    parse_inner(args, env, users).unwrap_or_else(Step::Exit)
}

fn parse_inner(
    args: &[String],
    env: &BTreeMap<String, String>,
    users: &dyn UserDb,
) -> Result<Step<SqueueArgs>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut a = SqueueArgs {
        expand_arrays: env.contains_key("SQUEUE_ARRAY"),
        ..SqueueArgs::default()
    };
    let mut format: Option<String> = None;
    let mut format_long: Option<String> = None;
    let mut job_flag = false;
    let mut jobs_text: Option<String> = None;
    let mut user: Option<UserChoice> = None;
    let mut states_text: Option<String> = None;
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::Accounts => a.filter.accounts = Some(split_list(&value)),
            K::All | K::Hide | K::Local | K::NoConvert | K::Priority | K::Verbose => {}
            K::Array => a.expand_arrays = true,
            K::FormatLong => format_long = Some(value),
            K::Format => format = Some(value),
            K::Help => return Ok(Step::Exit(Output::ok(HELP))),
            K::Usage => return Ok(Step::Exit(Output::ok(USAGE))),
            K::Version => return Ok(Step::Exit(common::version())),
            K::Iterate => a.iterate = Some(common::iterate_seconds(PROG, &value)?),
            K::Jobs => {
                job_flag = true;
                if !value.is_empty() {
                    jobs_text = Some(value);
                }
            }
            K::Long => a.long = true,
            K::Me => user = Some(UserChoice::Me),
            K::User => user = Some(UserChoice::Named(value)),
            K::Name => a.filter.names = Some(split_list(&value)),
            K::Nodes => {
                let nodes = hostlist::expand(&value)
                    .map_err(|_| error(format!("'{value}' invalid entry for --nodelist")))?;
                a.filter.nodes = Some(nodes);
            }
            K::NoHeader => a.output.no_header = true,
            K::Partitions => a.filter.partitions = Some(split_list(&value)),
            K::Qos => a.filter.qos = Some(split_list(&value)),
            K::Start => a.start = true,
            K::States => states_text = Some(value),
            K::Clusters | K::Licenses | K::Reservation | K::Sort | K::Steps => {
                return Err(common::unsupported(PROG, OPTIONS, key));
            }
        }
    }
    if format.is_some() && format_long.is_some() {
        return Err(error("-O (--Format) is incompatible with -o (--format)"));
    }
    if a.long && format.is_some() {
        return Err(Output::fail(
            format!(
                "{PROG}: fatal: Options -o(--format) and -l(--long) are mutually exclusive. \
                 Please remove one and retry."
            ),
            1,
        ));
    }
    let mut operands = m.operands.into_iter();
    if job_flag && let Some(list) = operands.next() {
        jobs_text = Some(list);
    }
    if let Some(extra) = operands.next() {
        let message = format!("Unrecognized option: {extra}");
        return Err(common::usage_error(PROG, message, USAGE));
    }
    if let Some(text) = jobs_text {
        a.filter.jobs = Some(parse_job_list(&text).map_err(error)?);
    }
    // Environment defaults for what the command line left unset.
    let overridden = format.is_some() || format_long.is_some() || a.long || a.start;
    if !overridden {
        if let Some(f) = env.get("SQUEUE_FORMAT") {
            format = Some(f.clone());
        } else if let Some(f) = env.get("SQUEUE_FORMAT2") {
            format_long = Some(f.clone());
        }
    }
    let from_env = |var: &str| env.get(var).map(|v| split_list(v));
    if a.filter.accounts.is_none() {
        a.filter.accounts = from_env("SQUEUE_ACCOUNT");
    }
    if a.filter.names.is_none() {
        a.filter.names = from_env("SQUEUE_NAMES");
    }
    if a.filter.partitions.is_none() {
        a.filter.partitions = from_env("SQUEUE_PARTITION");
    }
    let states_text = states_text.or_else(|| env.get("SQUEUE_STATES").cloned());
    let user = user.or_else(|| env.get("SQUEUE_USERS").cloned().map(UserChoice::Named));
    match user {
        None => {}
        Some(UserChoice::Me) => a.filter.users = Some(vec![users.current_uid()]),
        Some(UserChoice::Named(text)) => {
            let mut uids = Vec::new();
            for name in split_list(&text) {
                match users.uid_of(&name) {
                    Some(uid) => uids.push(uid),
                    None => a
                        .notices
                        .push(format!("{PROG}: error: Invalid user: {name}")),
                }
            }
            a.filter.users = Some(uids);
        }
    }
    a.filter.states = match states_text {
        Some(text) => parse_states(&text)?,
        None if a.start => StateFilter::Only(vec![JobState::Pending]),
        None => StateFilter::Active,
    };
    a.output.style = match (format, format_long) {
        (Some(f), _) => Style::Format(f),
        (None, Some(f)) => Style::FormatLong(f),
        (None, None) if a.start => Style::Start,
        (None, None) if a.long => Style::Long,
        (None, None) => Style::Default,
    };
    Ok(Step::Run(a))
}

/// `-t LIST` / `-t all`.
pub fn parse_states(text: &str) -> Result<StateFilter, Output> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(StateFilter::All);
    }
    let mut states = Vec::new();
    for name in split_list(text) {
        match JobState::parse_any(&name) {
            Ok(s) => states.push(s),
            Err(_) => {
                let mut out = error(format!("Invalid job state specified: {name}"));
                let valid: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
                out.err_line(format!(
                    "{PROG}: error: Valid job states include: {}",
                    valid.join(",")
                ));
                return Err(out);
            }
        }
    }
    Ok(StateFilter::Only(states))
}

/// The jobs to print, filtered, expanded and sorted as squeue does.
pub fn select(list: &JobList, args: &SqueueArgs) -> Vec<Job> {
    let mut shown: Vec<Job> = list
        .jobs
        .iter()
        .filter(|j| args.filter.admits(j))
        .filter_map(|j| match &args.filter.jobs {
            Some(sels) => jobs::restrict(j, sels),
            None => Some(j.clone()),
        })
        .collect();
    if args.expand_arrays {
        shown = jobs::expand_arrays(shown);
    }
    let mut refs: Vec<&Job> = shown.iter().collect();
    if args.start {
        fmt::sort_start(&mut refs);
    } else {
        fmt::sort_default(&mut refs, list.now);
    }
    refs.into_iter().cloned().collect()
}

/// squeue's output for a job list.
///
/// One job id that names no job at all is an error (`slurm_load_jobs error: Invalid job id
/// specified`, exit 1), as when Slurm's squeue loads a single job.
pub fn render(list: &JobList, args: &SqueueArgs, env: &FormatEnv) -> Output {
    if let Some(sels) = &args.filter.jobs
        && let Some(first) = sels.first()
        && sels.iter().all(|s| s.job_id == first.job_id)
    {
        let any = JobRef {
            job_id: first.job_id,
            array_task: None,
        };
        if !list.jobs.iter().any(|j| jobs::selects(&any, j)) {
            return Output::fail(format!("{LOAD_JOBS}: Invalid job id specified"), 1);
        }
    }
    let shown = select(list, args);
    let mut out = Output::default();
    let style_prints_date = args.output.style == Style::Long;
    if !args.output.no_header && !style_prints_date && (args.long || args.iterate.is_some()) {
        out.out_line(env.date_line());
    }
    common::append_printed(&mut out, fmt::squeue(&shown, &args.output, env));
    out
}

/// Runs `squeue`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let parse = |a: &[String]| parse_args(a, &super::env_map(), &SystemUsers);
    let parsed = match common::command_line(PROG, args, parse) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let mut notices = Output::default();
    for line in &parsed.notices {
        notices.err_line(line);
    }
    let _ = notices.emit();
    common::run_query(PROG, LOAD_JOBS, parsed.iterate, &parsed, once)
}

async fn once(session: &mut Session, args: &SqueueArgs) -> Result<Output, RpcError> {
    let list = session.list_jobs(JobQuery::default()).await?;
    let gids: Vec<u32> = list.jobs.iter().map(|j| j.spec.gid).collect();
    let def_mem = if needs_def_mem(args) {
        session
            .cluster_info()
            .await
            .ok()
            .and_then(|c| c.def_mem_per_cpu_mb)
    } else {
        None
    };
    let env = super::lookup::system_format_env(list.now, def_mem, gids);
    Ok(render(&list, args, &env))
}

/// Whether the layout shows memory (the cluster's DefMemPerCPU is then needed).
fn needs_def_mem(args: &SqueueArgs) -> bool {
    let parsed = match &args.output.style {
        Style::Format(f) => fmt::parse_format(f),
        Style::FormatLong(f) => fmt::parse_format_long(f),
        _ => return false,
    };
    parsed
        .layout
        .columns()
        .any(|c| matches!(c.field, fmt::JobField::MinMemory | fmt::JobField::Tres))
}

const USAGE: &str = "\
Usage: squeue [-A account] [--clusters names] [-i seconds] [--job jobid]
              [-n name] [-o format] [-p partitions] [--qos qos]
              [--reservation reservation] [--sort fields] [--start]
              [--step step_id] [-t states] [-u user_name] [--usage]
              [-L licenses] [-w nodes] [--federation] [--local] [--sibling]
	      [-ahjlrsv]
";

const HELP: &str = "\
Usage: squeue [OPTIONS]
  -A, --account=account(s)        comma separated list of accounts
                                  to view, default is all accounts
  -a, --all                       display jobs in hidden partitions
  -h, --noheader                  no headers on output
      --hide                      do not display jobs in hidden partitions
  -i, --iterate=seconds           specify an interation period
  -j, --job=job(s)                comma separated list of jobs IDs
                                  to view, default is all
  -l, --long                      long report
      --me                        equivalent to --user=<my username>
  -n, --name=job_name(s)          comma separated list of job names to view
  -o, --format=format             format specification
  -O, --Format=format             format specification
  -p, --partition=partition(s)    comma separated list of partitions
                                  to view, default is all partitions
  -q, --qos=qos(s)                comma separated list of qos's
                                  to view, default is all qos's
  -r, --array                     display one job array element per line
      --start                     print expected start times of pending jobs
  -t, --states=states             comma separated list of states to view,
                                  default is pending and running,
                                  '--states=all' reports all states
  -u, --user=user_name(s)         comma separated list of users to view
  -v, --verbose                   verbosity level
  -V, --version                   output version information and exit
  -w, --nodelist=hostlist         list of nodes to view, default is
                                  all nodes

Help options:
  --help                          show this help message
  --usage                         display a brief summary of squeue options
";
