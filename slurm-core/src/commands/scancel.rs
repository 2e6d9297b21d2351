//! `scancel`: cancel or signal jobs.
//!
//! Job ids (`123`, `123_4`, `123_[1-3]`) go to the controller as they are. With filters
//! (`-u -t -p -n -A -q -w --me`), the jobs are listed first and the pending, running and
//! suspended ones that match (and, when ids are given too, that the ids name) become the
//! targets; an array's pending record is addressed task by task, so that `-t PENDING` leaves
//! its running tasks alone.
//!
//! Errors follow Slurm's scancel: `Kill job error on job id N: MESSAGE`; an unknown or
//! finished job is only reported with `-v` and does not fail a plain cancel; the exit status
//! is Slurm's error number truncated to 8 bits (`Access/permission denied` exits 210).

use super::common::{self, UserChoice};
use super::getopt::{self, HasArg, Opt, opt};
use super::jobs::{self, parse_job_id};
use super::lookup::{SystemUsers, UserDb};
use super::rpc::{self, RpcError, Session};
use super::signals::{SIGKILL, parse_signal};
use super::squeue::LOAD_JOBS;
use super::{Output, Step, getopt_failure};
use crate::model::{Job, JobRef, JobState};
use crate::parse::hostlist;
use crate::proto::{CancelRequest, JobList, JobQuery, TargetOutcomes};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "scancel";

/// Slurm's error numbers for the messages whose number shows in scancel's exit status.
const ERRNOS: &[(&str, u32)] = &[
    ("Invalid job id specified", 2017),
    ("Job/step already completing or completed", 2021),
    ("Access/permission denied", 2002),
    ("Invalid partition name specified", 2000),
];

const INVALID_JOB_ID: u32 = 2017;
const ALREADY_DONE: u32 = 2021;

/// Slurm's error number for a message (1 when it is not one scancel distinguishes).
pub fn errno_of(message: &str) -> u32 {
    ERRNOS
        .iter()
        .find(|(m, _)| *m == message)
        .map_or(1, |&(_, n)| n)
}

/// An error number as a process exit status (`exit(2002)` exits 210).
pub fn exit_status(errno: u32) -> u8 {
    match errno {
        0 => 0,
        n => match u8::try_from(n & 0xff).unwrap_or(1) {
            0 => 1,
            s => s,
        },
    }
}

/// scancel's job filters; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelFilter {
    pub account: Option<String>,
    pub name: Option<String>,
    pub partition: Option<String>,
    pub qos: Option<String>,
    /// `-t`: PENDING, RUNNING or SUSPENDED.
    pub state: Option<JobState>,
    pub user: Option<u32>,
    pub nodes: Option<Vec<String>>,
}

impl CancelFilter {
    /// True when any filter is set (scancel then lists jobs first).
    pub fn is_set(&self) -> bool {
        *self != Self::default()
    }

    /// Whether an active job passes every filter.
    pub fn admits(&self, job: &Job) -> bool {
        let active = matches!(
            job.state,
            JobState::Pending | JobState::Running | JobState::Suspended
        );
        let eq = |want: &Option<String>, have: &str| want.as_ref().is_none_or(|w| w == have);
        active
            && eq(&self.account, &job.spec.account)
            && eq(&self.name, &job.spec.name)
            && eq(&self.partition, &job.partition)
            && eq(&self.qos, &job.spec.qos)
            && self.state.is_none_or(|s| s == job.state)
            && self.user.is_none_or(|u| u == job.spec.uid)
            && self
                .nodes
                .as_ref()
                .is_none_or(|nodes| job.allocation.iter().any(|a| nodes.contains(&a.node)))
    }
}

/// A parsed scancel command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScancelArgs {
    /// The jobs named, in order.
    pub targets: Vec<JobRef>,
    /// The steps named (`123.0`): (job id, step id).
    pub steps: Vec<(crate::model::JobId, u32)>,
    pub filter: CancelFilter,
    /// `-s`: the signal to send instead of cancelling.
    pub signal: Option<i32>,
    /// `-b`: only the batch shell.
    pub batch: bool,
    pub verbose: u8,
    /// `-Q`: no error messages.
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Account,
    Batch,
    Ctld,
    Full,
    Help,
    Hurry,
    Interactive,
    Clusters,
    Me,
    Name,
    Partition,
    Qos,
    Quiet,
    Reservation,
    Signal,
    Sibling,
    State,
    User,
    Usage,
    Verbose,
    Version,
    Nodelist,
    Wckey,
}

const OPTIONS: &[Opt<K>] = &[
    opt("account", Some('A'), HasArg::Required, K::Account),
    opt("batch", Some('b'), HasArg::No, K::Batch),
    opt("ctld", None, HasArg::No, K::Ctld),
    opt("full", Some('f'), HasArg::No, K::Full),
    opt("help", None, HasArg::No, K::Help),
    opt("hurry", Some('H'), HasArg::No, K::Hurry),
    opt("interactive", Some('i'), HasArg::No, K::Interactive),
    opt("cluster", Some('M'), HasArg::Required, K::Clusters),
    opt("clusters", None, HasArg::Required, K::Clusters),
    opt("me", None, HasArg::No, K::Me),
    opt("name", Some('n'), HasArg::Required, K::Name),
    opt("jobname", None, HasArg::Required, K::Name),
    opt("partition", Some('p'), HasArg::Required, K::Partition),
    opt("qos", Some('q'), HasArg::Required, K::Qos),
    opt("quiet", Some('Q'), HasArg::No, K::Quiet),
    opt("reservation", Some('R'), HasArg::Required, K::Reservation),
    opt("signal", Some('s'), HasArg::Required, K::Signal),
    opt("sibling", None, HasArg::Required, K::Sibling),
    opt("state", Some('t'), HasArg::Required, K::State),
    opt("user", Some('u'), HasArg::Required, K::User),
    opt("usage", None, HasArg::No, K::Usage),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
    opt("nodelist", Some('w'), HasArg::Required, K::Nodelist),
    opt("wckey", None, HasArg::Required, K::Wckey),
];

fn error(message: impl std::fmt::Display) -> Output {
    common::error(PROG, message)
}

/// Parses scancel's arguments (without the program name). `env` supplies the `SCANCEL_*`
/// defaults (`ACCOUNT`, `BATCH`, `NAME`, `PARTITION`, `QOS`, `STATE`, `USER`, `VERBOSE`).
pub fn parse_args(
    args: &[String],
    env: &BTreeMap<String, String>,
    users: &dyn UserDb,
) -> Step<ScancelArgs> {
    parse_inner(args, env, users).unwrap_or_else(Step::Exit)
}

fn parse_inner(
    args: &[String],
    env: &BTreeMap<String, String>,
    users: &dyn UserDb,
) -> Result<Step<ScancelArgs>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut a = ScancelArgs::default();
    let get = |var: &str| env.get(&format!("SCANCEL_{var}")).cloned();
    a.filter.account = get("ACCOUNT");
    a.filter.name = get("NAME");
    a.filter.partition = get("PARTITION");
    a.filter.qos = get("QOS");
    a.batch = env.contains_key("SCANCEL_BATCH");
    if env.contains_key("SCANCEL_VERBOSE") {
        a.verbose = 1;
    }
    let mut user = get("USER").map(UserChoice::Named);
    let mut state_text = get("STATE");
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::Account => a.filter.account = Some(value),
            K::Batch => a.batch = true,
            K::Ctld | K::Full | K::Hurry => {}
            K::Help => return Ok(Step::Exit(Output::ok(HELP))),
            K::Usage => return Ok(Step::Exit(Output::ok(USAGE))),
            K::Version => return Ok(Step::Exit(common::version())),
            K::Me => user = Some(UserChoice::Me),
            K::User => user = Some(UserChoice::Named(value)),
            K::Name => a.filter.name = Some(value),
            K::Partition => a.filter.partition = Some(value),
            K::Qos => a.filter.qos = Some(value),
            K::Quiet => a.quiet = true,
            K::Verbose => a.verbose = a.verbose.saturating_add(1),
            K::Signal => {
                a.signal = Some(
                    parse_signal(&value)
                        .ok_or_else(|| error(format!("Unknown job signal: {value}")))?,
                );
            }
            K::State => state_text = Some(value),
            K::Nodelist => {
                let nodes = hostlist::expand(&value)
                    .map_err(|_| error(format!("Invalid node list: {value}")))?;
                a.filter.nodes = Some(nodes);
            }
            K::Interactive | K::Clusters | K::Reservation | K::Sibling | K::Wckey => {
                return Err(common::unsupported(PROG, OPTIONS, key));
            }
        }
    }
    a.filter.user = match user {
        None => None,
        Some(UserChoice::Me) => Some(users.current_uid()),
        Some(UserChoice::Named(name)) => Some(
            users
                .uid_of(&name)
                .ok_or_else(|| error(format!("Invalid user name: {name}")))?,
        ),
    };
    if let Some(text) = state_text {
        a.filter.state = Some(parse_state(&text)?);
    }
    for word in m.operands {
        for item in word.split([',', ' ']).filter(|s| !s.is_empty()) {
            if let Some((job, step)) = item.split_once('.') {
                match (job.parse(), step.parse()) {
                    (Ok(job), Ok(step)) => a.steps.push((job, step)),
                    _ => return Err(error(format!("Invalid job id {item}"))),
                }
                continue;
            }
            let refs = parse_job_id(item).map_err(|_| error(format!("Invalid job id {item}")))?;
            a.targets.extend(refs);
        }
    }
    if a.targets.is_empty() && a.steps.is_empty() && !a.filter.is_set() {
        return Err(error("No job identification provided"));
    }
    Ok(Step::Run(a))
}

fn parse_state(text: &str) -> Result<JobState, Output> {
    match JobState::parse_any(text) {
        Ok(s @ (JobState::Pending | JobState::Running | JobState::Suspended)) => Ok(s),
        _ => {
            let mut out = error(format!("Invalid job state specified: {text}"));
            out.err_line(format!(
                "{PROG}: error: Valid job states are PENDING, RUNNING, and SUSPENDED"
            ));
            Err(out)
        }
    }
}

/// The targets of a filtered cancel, and the errors for ids that name no active job.
pub fn filtered_targets(args: &ScancelArgs, list: &JobList) -> (Vec<JobRef>, Output) {
    let mut out = Output::default();
    for sel in &args.targets {
        let found = list
            .jobs
            .iter()
            .any(|j| !j.state.is_finished() && jobs::selects(sel, j));
        if !found {
            if !args.quiet {
                out.err_line(format!(
                    "{PROG}: error: Kill job error on job id {sel}: Invalid job id specified"
                ));
            }
            out.code = 1;
        }
    }
    // Pending jobs first, as scancel does, so that none starts on the resources the running
    // ones free.
    let mut matching: Vec<&Job> = list.jobs.iter().filter(|j| args.filter.admits(j)).collect();
    matching.sort_by_key(|j| j.state != JobState::Pending);
    let mut targets = Vec::new();
    for job in matching {
        let shown = if args.targets.is_empty() {
            Some(job.clone())
        } else {
            jobs::restrict(job, &args.targets)
        };
        if let Some(job) = shown {
            for r in jobs::refs_of(&job) {
                if !targets.contains(&r) {
                    targets.push(r);
                }
            }
        }
    }
    (targets, out)
}

/// The request for a list of targets.
pub fn request(args: &ScancelArgs, targets: Vec<JobRef>) -> CancelRequest {
    CancelRequest {
        targets,
        signal: args.signal,
        batch_only: args.batch,
    }
}

/// What scancel prints for the controller's answer (or its failure) about `targets`.
pub fn report(
    args: &ScancelArgs,
    targets: &[JobRef],
    result: &Result<TargetOutcomes, RpcError>,
) -> Output {
    let mut out = Output::default();
    let mut worst = 0u32;
    let sigkill = args.signal.is_none_or(|s| s == SIGKILL);
    for target in targets {
        if args.verbose > 0 {
            match args.signal {
                None => out.err_line(format!("{PROG}: Terminating job {target}")),
                Some(sig) => out.err_line(format!("{PROG}: Signal {sig} to job {target}")),
            }
        }
        let failure = match result {
            Ok(outcomes) => outcomes
                .outcomes
                .iter()
                .find(|o| o.target == *target)
                .and_then(|o| o.error.clone()),
            Err(e) => Some(e.to_string()),
        };
        let Some(message) = failure else { continue };
        let unreachable = matches!(result, Err(RpcError::Unreachable | RpcError::TimedOut));
        let errno = if unreachable { 1 } else { errno_of(&message) };
        let benign = errno == INVALID_JOB_ID || errno == ALREADY_DONE;
        if !args.quiet && (args.verbose > 0 || !benign) {
            out.err_line(format!(
                "{PROG}: error: Kill job error on job id {target}: {message}"
            ));
        }
        if !(benign && sigkill) {
            worst = worst.max(errno);
        }
    }
    out.code = exit_status(worst);
    out
}

/// Runs `scancel`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let parse = |a: &[String]| parse_args(a, &super::env_map(), &SystemUsers);
    let parsed = match common::command_line(PROG, args, parse) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    match rpc::block_on(run(parsed)) {
        Ok(out) => out.emit(),
        Err(e) => error(e).emit(),
    }
}

async fn run(args: ScancelArgs) -> Output {
    let session = Session::connect().await;
    let mut session = match session {
        Ok(s) => s,
        Err(e) if e.is_setup() || args.filter.is_set() => {
            let context = LOAD_JOBS;
            return Output::fail(e.line(PROG, context), 1);
        }
        Err(e) => {
            let mut out = report(&args, &args.targets, &Err(e));
            out.code = 1;
            return out;
        }
    };
    let mut steps_out = cancel_steps(&session, &args).await;
    if args.targets.is_empty() && !args.filter.is_set() {
        return steps_out;
    }
    let (targets, mut out) = if args.filter.is_set() {
        match session.list_jobs(JobQuery::default()).await {
            Ok(list) => filtered_targets(&args, &list),
            Err(e) => return Output::fail(e.line(PROG, LOAD_JOBS), 1),
        }
    } else {
        (args.targets.clone(), Output::default())
    };
    if targets.is_empty() {
        return out;
    }
    let result = session.cancel(request(&args, targets.clone())).await;
    let mut reported = report(&args, &targets, &result);
    if matches!(result, Err(RpcError::Unreachable | RpcError::TimedOut)) {
        reported.code = 1;
    }
    out.append(reported);
    steps_out.append(out);
    steps_out
}

/// `scancel JOB.STEP`: Slurm's `Kill job error on job step id J.S: MESSAGE` lines.
async fn cancel_steps(session: &Session, args: &ScancelArgs) -> Output {
    if args.steps.is_empty() {
        return Output::default();
    }
    let request = crate::proto::CancelStepsRequest {
        steps: args.steps.clone(),
        signal: args.signal,
    };
    let result = async {
        let mut client = crate::client::connect_steps(&session.cluster).await?;
        let request = session.authed(request).await?;
        Ok::<_, RpcError>(client.cancel_steps(request).await?.into_inner())
    }
    .await;
    let mut out = Output::default();
    match result {
        Ok(reply) => {
            for ((job, step), outcome) in args.steps.iter().zip(reply.outcomes) {
                if let Some(e) = outcome.error {
                    if !args.quiet {
                        out.err_line(format!(
                            "{PROG}: error: Kill job error on job step id {job}.{step}: {e}"
                        ));
                    }
                    out.code = out.code.max(exit_status(errno_of(&e)));
                }
            }
        }
        Err(e) => {
            out.err_line(format!("{PROG}: error: {e}"));
            out.code = 1;
        }
    }
    out
}

const USAGE: &str = "\
Usage: scancel [-A account] [--batch] [--full] [--interactive] [-n job_name]
               [-p partition] [-Q] [-q qos] [--reservation=reservation]
               [-s signal | integer] [-t PENDING | RUNNING | SUSPENDED]
               [--usage] [-u user_name] [--hurry] [-V] [-v] [-w hosts...]
               [--wckey=wckey] [--me] [job_id[_array_id][.step_id]]
";

const HELP: &str = "\
Usage: scancel [OPTIONS] [job_id[_array_id][.step_id]]
  -A, --account=account           act only on jobs charging this account
  -b, --batch                     signal batch shell for specified job
  -f, --full                      signal batch shell and all steps for specified job
  -H, --hurry                     avoid burst buffer stage out
  -n, --name=job_name             act only on jobs with this name
  -p, --partition=partition       act only on jobs in this partition
  -Q, --quiet                     disable warnings
  -q, --qos=qos                   act only on jobs with this quality of service
  -s, --signal=name | integer     signal to send to job, default is SIGKILL
  -t, --state=states              act only on jobs in this state.  Valid job
                                  states are PENDING, RUNNING and SUSPENDED
  -u, --user=user_name            act only on jobs of this user
      --me                        equivalent to --user=<my username>
  -V, --version                   output version information and exit
  -v, --verbose                   verbosity level
  -w, --nodelist                  act only on jobs on these nodes

Help options:
  --help                          show this help message
  --usage                         display brief usage message
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_numbers_and_exit_statuses() {
        assert_eq!(errno_of("Access/permission denied"), 2002);
        assert_eq!(errno_of("something else"), 1);
        assert_eq!(exit_status(2002), 210);
        assert_eq!(exit_status(2017), 225);
        assert_eq!(exit_status(0), 0);
        assert_eq!(exit_status(256), 1);
        assert_eq!(exit_status(1), 1);
    }
}
