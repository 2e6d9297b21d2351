//! `sbatch`: submit a batch script.
//!
//! The script comes from the file named on the command line, from stdin, or from `--wrap`.
//! Options come from `#SBATCH` directives, `SBATCH_*` variables and the command line
//! ([`crate::parse::sbatch`]). The job's environment is captured per `--export` (default
//! `ALL`), its working directory defaults to the current one, and the user comes from the
//! caller's credential. Prints `Submitted batch job N` (`N` with `--parsable`), with
//! `on cluster C` / `;C` when the controller placed the job on a cluster other than the
//! local configuration's.

use super::rpc::{self, RpcError, Session};
use super::{Output, VERSION_LINE};
use crate::client::current_credential;
use crate::model::{JobId, JobRef, JobSpec, JobState};
use crate::parse::ParseError;
use crate::parse::sbatch::{SbatchRequest, SubmitContext, parse_command_line, validate_script};
use crate::proto::{BatchScript, Credential, JobList, JobQuery, SubmitReply, SubmitRequest};
use std::ffi::OsString;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

pub const PROG: &str = "sbatch";

/// What the submission needs from the submitting process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The current directory (the default working directory, and the base of a relative
    /// `--chdir`).
    pub cwd: String,
    /// The process environment, in order.
    pub env: Vec<(String, String)>,
    pub credential: Credential,
}

/// What to do after parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Print and exit (`--help`, `--usage`, `--version`).
    Print(Output),
    Submit(Box<Submission>),
}

/// A job ready to be sent, with the switches that shape what sbatch prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub request: SubmitRequest,
    pub parsable: bool,
    /// `-Q`: print nothing on success, and no warnings.
    pub quiet: bool,
    /// `-W`/`--wait`: wait for the job to end and exit with its exit code.
    pub wait: bool,
    /// Lines for stderr before the submission (warnings), already prefixed.
    pub notices: Vec<String>,
}

/// Parses the command line, reads the script through `read_script` (called with the path
/// given, or `None` for stdin, only when a script is needed) and builds the request.
///
/// Errors are sbatch's stderr lines and exit status.
pub fn plan(
    args: &[String],
    ctx: &SubmitContext,
    inv: &Invocation,
    read_script: impl FnOnce(Option<&str>) -> Result<String, Output>,
) -> Result<Plan, Output> {
    let cmd = parse_command_line(args, ctx).map_err(|e| parse_failure(&e))?;
    let script = if cmd.needs_script() {
        let text = read_script(cmd.script_path())?;
        validate_script(&text).map_err(|e| message_lines(&e.message))?;
        Some(text)
    } else {
        None
    };
    let req = cmd
        .into_request(script.as_deref())
        .map_err(|e| parse_failure(&e))?;
    if req.help {
        return Ok(Plan::Print(Output::ok(HELP)));
    }
    if req.usage {
        return Ok(Plan::Print(Output::ok(USAGE)));
    }
    if req.version {
        return Ok(Plan::Print(Output::ok(format!("{VERSION_LINE}\n"))));
    }
    if req.test_only {
        return Err(Output::fail(
            format!("{PROG}: error: --test-only is not supported"),
            1,
        ));
    }
    let notices = if req.quiet {
        Vec::new()
    } else {
        req.warnings.iter().map(|w| notice(w)).collect()
    };
    let (parsable, quiet, wait) = (req.parsable, req.quiet, req.wait);
    let request = build_request(req, inv)
        .map_err(|message| Output::fail(format!("{PROG}: error: {message}"), 1))?;
    Ok(Plan::Submit(Box::new(Submission {
        request,
        parsable,
        quiet,
        wait,
        notices,
    })))
}

fn notice(warning: &str) -> String {
    if warning.starts_with("Warning") {
        format!("{PROG}: {warning}")
    } else {
        format!("{PROG}: warning: {warning}")
    }
}

/// A parse error as sbatch prints it: getopt's errors with the `--help` hint, others as
/// `sbatch: error:` lines (with the script line for directives).
fn parse_failure(e: &ParseError) -> Output {
    let getopt_style = [
        "unrecognized option",
        "invalid option --",
        "requires an argument",
        "doesn't allow an argument",
        "is ambiguous",
    ];
    if e.line.is_none() && getopt_style.iter().any(|p| e.message.contains(p)) {
        let mut out = Output::fail(format!("{PROG}: {}", e.message), 1);
        out.err_line(format!("Try \"{PROG} --help\" for more information"));
        return out;
    }
    match e.line {
        Some(line) => message_lines(&format!("line {line}: {}", e.message)),
        None => message_lines(&e.message),
    }
}

/// Each line of a message as an `sbatch: error:` line.
fn message_lines(message: &str) -> Output {
    let mut out = Output {
        code: 1,
        ..Output::default()
    };
    for line in message.lines() {
        out.err_line(format!("{PROG}: error: {line}"));
    }
    out
}

/// Completes the job spec (user, working directory) and captures the environment.
pub fn build_request(req: SbatchRequest, inv: &Invocation) -> Result<SubmitRequest, String> {
    let mut spec = req.spec;
    spec.user.clone_from(&inv.credential.user);
    spec.uid = inv.credential.uid;
    spec.gid = inv.credential.gid;
    spec.work_dir = resolve_dir(&spec.work_dir, &inv.cwd);
    if !spec.work_dir.starts_with('/') {
        return Err("Unable to determine the current working directory; use --chdir".to_owned());
    }
    let default_export = inv
        .env
        .iter()
        .find(|(k, _)| k == "SLURM_EXPORT_ENV")
        .map(|(_, v)| v.as_str());
    let export = spec.export.as_deref().or(default_export);
    let environment = exported_environment(export, &inv.env)?;
    Ok(SubmitRequest {
        spec,
        batch: BatchScript {
            script: req.script,
            args: req.script_args,
            environment,
        },
    })
}

/// `--chdir` against the current directory (empty: the current directory).
pub fn resolve_dir(dir: &str, cwd: &str) -> String {
    if dir.is_empty() {
        cwd.to_owned()
    } else if dir.starts_with('/') || cwd.is_empty() {
        dir.to_owned()
    } else {
        format!("{}/{dir}", cwd.trim_end_matches('/'))
    }
}

/// The environment the job gets under `--export=VALUE` (`None`: `ALL`).
///
/// `ALL` starts from the whole environment, `NONE` from the `SLURM_*` variables only, `NIL`
/// from nothing, and a list without either from the `SLURM_*` variables; then `VAR=value`
/// items set variables and bare `VAR` items copy them from the environment.
pub fn exported_environment(
    export: Option<&str>,
    env: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let Some(export) = export else {
        return Ok(env.to_vec());
    };
    let items: Vec<&str> = export.split(',').filter(|s| !s.is_empty()).collect();
    let has = |word: &str| items.iter().any(|i| i.eq_ignore_ascii_case(word));
    let slurm_only = || -> Vec<(String, String)> {
        env.iter()
            .filter(|(k, _)| k.starts_with("SLURM_"))
            .cloned()
            .collect()
    };
    let mut out = if has("ALL") {
        env.to_vec()
    } else if has("NIL") {
        Vec::new()
    } else {
        slurm_only()
    };
    for item in items {
        if ["ALL", "NONE", "NIL"]
            .iter()
            .any(|w| item.eq_ignore_ascii_case(w))
        {
            continue;
        }
        let (name, value) = match item.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (item, None),
        };
        if !valid_var_name(name) {
            return Err(format!(
                "invalid variable name {name:?} in --export={export}"
            ));
        }
        let value = match value {
            Some(v) => v,
            None => match env.iter().find(|(k, _)| k == name) {
                Some((_, v)) => v.clone(),
                None => continue,
            },
        };
        match out.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name.to_owned(), value)),
        }
    }
    Ok(out)
}

fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What sbatch prints once the job is accepted. `local_cluster` is the `ClusterName` of the
/// configuration the command read.
pub fn submitted_text(reply: &SubmitReply, parsable: bool, local_cluster: &str) -> String {
    let elsewhere = !reply.cluster.is_empty() && reply.cluster != local_cluster;
    match (parsable, elsewhere) {
        (true, true) => format!("{};{}\n", reply.job_id, reply.cluster),
        (true, false) => format!("{}\n", reply.job_id),
        (false, true) => format!(
            "Submitted batch job {} on cluster {}\n",
            reply.job_id, reply.cluster
        ),
        (false, false) => format!("Submitted batch job {}\n", reply.job_id),
    }
}

/// What sbatch prints once the job is accepted, given its switches: nothing with `--quiet`.
pub fn accepted_text(reply: &SubmitReply, sub: &Submission, local_cluster: &str) -> String {
    if sub.quiet {
        String::new()
    } else {
        submitted_text(reply, sub.parsable, local_cluster)
    }
}

/// What sbatch prints when the submission fails.
///
/// A refusal may carry extra lines before Slurm's error text (`invalid partition specified:
/// x` then `Invalid partition name specified`); each becomes an `sbatch: error:` line. For
/// an invalid partition without such a line, sbatch names the requested partitions first,
/// as Slurm does.
pub fn submit_failure(err: &RpcError, spec: &JobSpec) -> Output {
    let mut out = Output {
        code: 1,
        ..Output::default()
    };
    match err {
        RpcError::Setup(msg) => out.err_line(format!("{PROG}: error: {msg}")),
        RpcError::Rejected(msg) => {
            let lines: Vec<&str> = msg.lines().filter(|l| !l.is_empty()).collect();
            let (last, before) = lines.split_last().unwrap_or((&"", &[]));
            for line in before {
                out.err_line(format!("{PROG}: error: {line}"));
            }
            if before.is_empty()
                && *last == "Invalid partition name specified"
                && !spec.partitions.is_empty()
            {
                out.err_line(format!(
                    "{PROG}: error: invalid partition specified: {}",
                    spec.partitions.join(",")
                ));
            }
            out.err_line(format!(
                "{PROG}: error: Batch job submission failed: {last}"
            ));
        }
        other => out.err_line(format!(
            "{PROG}: error: Batch job submission failed: {other}"
        )),
    }
    out
}

/// Where a waited-for job stands (`sbatch --wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitState {
    /// Some part of the job has not ended.
    Active,
    /// Every part ended; the exit status sbatch returns.
    Ended(u8),
    /// The controller no longer lists the job.
    Gone,
}

/// The state of job `job_id` (all its array tasks) in a job list. The exit status is the
/// highest of the tasks': the exit code, or 128 + the signal that ended it.
pub fn wait_state(list: &JobList, job_id: JobId) -> WaitState {
    let sel = JobRef {
        job_id,
        array_task: None,
    };
    let mut seen = false;
    let mut status = 0u8;
    for job in list.jobs.iter().filter(|j| super::jobs::selects(&sel, j)) {
        seen = true;
        if !job.state.is_finished() {
            return WaitState::Active;
        }
        let code = match job.exit {
            Some(e) if e.signal != 0 => 128 + (e.signal & 0x7f),
            Some(e) => e.code & 0xff,
            None if job.state == JobState::Completed => 0,
            None => 1,
        };
        status = status.max(u8::try_from(code).unwrap_or(u8::MAX));
    }
    if seen {
        WaitState::Ended(status)
    } else {
        WaitState::Gone
    }
}

/// Runs `sbatch`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match super::utf8_args(PROG, args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let now = super::now();
    let env_map = super::env_map();
    let ctx = SubmitContext {
        now,
        tz_offset_secs: super::tz::local_offset(now),
        env: env_map,
    };
    let inv = Invocation {
        cwd: std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        env: std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
        credential: current_credential(),
    };
    let submission = match plan(&args, &ctx, &inv, read_script) {
        Ok(Plan::Submit(s)) => s,
        Ok(Plan::Print(out)) | Err(out) => return out.emit(),
    };
    let mut pre = Output::default();
    for line in &submission.notices {
        pre.err_line(line);
    }
    let _ = pre.emit();
    let result = rpc::block_on(submit_and_wait(*submission));
    match result {
        Ok(out) => out.emit(),
        Err(e) => Output::fail(format!("{PROG}: error: {e}"), 1).emit(),
    }
}

/// Reads the batch script from a file or stdin.
fn read_script(path: Option<&str>) -> Result<String, Output> {
    let mut bytes = Vec::new();
    let read = match path {
        Some(p) => std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut bytes)),
        None => std::io::stdin().lock().read_to_end(&mut bytes),
    };
    if read.is_err() {
        let what = path.map_or_else(|| "stdin".to_owned(), str::to_owned);
        return Err(Output::fail(
            format!("{PROG}: error: Unable to open file {what}"),
            1,
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        Output::fail(
            format!("{PROG}: error: Batch script is not valid UTF-8 text"),
            1,
        )
    })
}

async fn submit_and_wait(sub: Submission) -> Output {
    let spec = sub.request.spec.clone();
    let mut session = match Session::connect().await {
        Ok(s) => s,
        Err(e) => return submit_failure(&e, &spec),
    };
    let reply = match session.submit(sub.request.clone()).await {
        Ok(r) => r,
        Err(e) => return submit_failure(&e, &spec),
    };
    let text = accepted_text(&reply, &sub, &session.cluster.cluster_name);
    if !sub.wait {
        return Output::ok(text);
    }
    let _ = Output::ok(text).emit();
    wait_for(&mut session, reply.job_id).await
}

/// Polls the controller until the job ends (`--wait`).
async fn wait_for(session: &mut Session, job_id: JobId) -> Output {
    let mut delay = Duration::from_secs(2);
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
        match session.list_jobs(JobQuery::default()).await {
            Ok(list) => match wait_state(&list, job_id) {
                WaitState::Active => {}
                WaitState::Ended(code) => {
                    return Output {
                        code,
                        ..Output::default()
                    };
                }
                WaitState::Gone => return Output::default(),
            },
            Err(RpcError::Unreachable | RpcError::TimedOut) => {} // keep waiting
            Err(e) => {
                return Output::fail(format!("{PROG}: error: {e}"), 1);
            }
        }
    }
}

const USAGE: &str = "\
Usage: sbatch [-N nnodes] [-n ntasks] [-c ncpus] [-t minutes] [-p partition]
              [-A account] [-q qos] [-J jobname] [-o out] [-e err] [-i in]
              [-D path] [-a array] [-d dependency] [-b begin] [-w hosts] [-x hosts]
              [-C features] [-G gpus] [--gres=list] [--mem=MB] [--mem-per-cpu=MB]
              [--ntasks-per-node=n] [--export=names] [--exclusive] [--hold]
              [--nice[=value]] [--requeue] [--no-requeue] [--signal=[B:]num[@time]]
              [--comment=name] [--parsable] [--wait] [--wrap=command] [-vQ]
              executable [args...]
";

const HELP: &str = "\
Usage: sbatch [OPTIONS...] executable [args...]

Parallel run options:
  -a, --array=indexes         job array index values
  -A, --account=name          charge job to specified account
  -b, --begin=time            defer job until HH:MM MM/DD/YY
      --comment=name          arbitrary comment
  -c, --cpus-per-task=ncpus   number of cpus required per task
  -d, --dependency=type:jobid[:time] defer job until condition on jobid is satisfied
  -D, --chdir=directory       set working directory for batch script
  -e, --error=err             file for batch script's standard error
      --export[=names]        specify environment variables to export
  -H, --hold                  submit job in held state
  -i, --input=in              file for batch script's standard input
  -J, --job-name=jobname      name of job
  -n, --ntasks=ntasks         number of tasks to run
      --nice[=value]          decrease scheduling priority by value
      --no-requeue            if set, do not permit the job to be requeued
      --ntasks-per-node=n     number of tasks to invoke on each node
  -N, --nodes=N               number of nodes on which to run (N = min[-max])
  -o, --output=out            file for batch script's standard output
  -p, --partition=partition   partition requested
      --parsable              outputs only the jobid and cluster name (if present),
                              separated by semicolon, only on successful submission.
  -q, --qos=qos               quality of service
  -Q, --quiet                 quiet mode (suppress informational messages)
      --requeue               if set, permit the job to be requeued
  -t, --time=minutes          time limit
  -v, --verbose               verbose mode (multiple -v's increase verbosity)
  -W, --wait                  wait for completion of submitted job
      --wrap[=command string] wrap command string in a sh script and submit
      --signal=[[R][B]:]num[@time] send signal when time limit within time seconds

Constraint options:
  -C, --constraint=list       specify a list of constraints
  -w, --nodelist=hosts...     request a specific list of hosts
  -x, --exclude=hosts...      exclude a specific list of hosts
      --exclusive             allocate nodes in exclusive mode
      --mem=MB                minimum amount of real memory
      --mem-per-cpu=MB        maximum amount of real memory per allocated cpu

GPU scheduling options:
  -G, --gpus=n                count of GPUs required for the job
      --gpus-per-node=n       number of GPUs required per allocated node
      --gpus-per-task=n       number of GPUs required per spawned task
      --gres=list             required generic resources

Help options:
  -h, --help                  show this help message
      --usage                 display brief usage message

Other options:
  -V, --version               output version information and exit
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories() {
        assert_eq!(resolve_dir("", "/home/a"), "/home/a");
        assert_eq!(resolve_dir("/tmp", "/home/a"), "/tmp");
        assert_eq!(resolve_dir("run", "/home/a/"), "/home/a/run");
        assert_eq!(resolve_dir("run", ""), "run");
    }

    #[test]
    fn variable_names() {
        assert!(valid_var_name("PATH"));
        assert!(valid_var_name("_x1"));
        assert!(!valid_var_name("1x"));
        assert!(!valid_var_name(""));
        assert!(!valid_var_name("A-B"));
    }
}
