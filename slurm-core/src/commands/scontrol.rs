//! `scontrol`: show jobs, nodes, partitions and the configuration; update nodes and jobs;
//! hold, release and requeue jobs.
//!
//! Commands and entity names are case-insensitive and may be abbreviated as Slurm allows
//! (`sho j 12`, `update nodename=n1 state=drain reason=x`).

use super::common;
use super::getopt::{self, HasArg, Opt, opt};
use super::jobs::{self, parse_job_list};
use super::rpc::{self, RpcError, Session};
use super::squeue::LOAD_JOBS;
use super::{Output, Step, getopt_failure};
use crate::engine::NodeView;
use crate::format::{FormatEnv, scontrol as fmt, timefmt};
use crate::model::{Job, JobRef, PartitionConfig};
use crate::parse::{duration, hostlist};
use crate::proto::{
    ClusterInfo, ConfigReply, JobAction, JobControlRequest, JobList, JobQuery, JobUpdate,
    NodeAction, NodeOutcomes, NodeUpdateRequest, TargetOutcomes,
};
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "scontrol";

/// What scontrol was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show job [ID]` (`None`: every job).
    ShowJob(Option<String>),
    /// `show node [NAMES]` (a hostlist).
    ShowNode(Option<String>),
    /// `show partition [NAME]`.
    ShowPartition(Option<String>),
    ShowConfig,
    /// `show hostnames LIST`: one name per line.
    ShowHostnames(String),
    /// `show hostlist NAMES`: the compressed form.
    ShowHostlist(String),
    /// `hold`, `release`, `requeue`, `update JobId=...`.
    ControlJobs(JobControlRequest),
    /// `update NodeName=...`.
    UpdateNodes(NodeUpdateRequest),
    Version,
    Help,
}

/// A parsed scontrol command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScontrolArgs {
    /// `-o`: one record per line.
    pub one_liner: bool,
    /// `-Q`: no error messages.
    pub quiet: bool,
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    All,
    Details,
    Help,
    Clusters,
    OneLiner,
    Quiet,
    Verbose,
    Version,
    Usage,
}

const OPTIONS: &[Opt<K>] = &[
    opt("all", Some('a'), HasArg::No, K::All),
    opt("details", Some('d'), HasArg::No, K::Details),
    opt("help", Some('h'), HasArg::No, K::Help),
    opt("cluster", Some('M'), HasArg::Required, K::Clusters),
    opt("clusters", None, HasArg::Required, K::Clusters),
    opt("oneliner", Some('o'), HasArg::No, K::OneLiner),
    opt("quiet", Some('Q'), HasArg::No, K::Quiet),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
    opt("usage", None, HasArg::No, K::Usage),
];

/// Whether `word` names `full`: a case-insensitive prefix at least `min` long (Slurm's
/// `xstrncasecmp(word, full, MAX(len, min))`).
fn is(word: &str, full: &str, min: usize) -> bool {
    word.len() >= min.min(full.len())
        && word.len() <= full.len()
        && full[..word.len()].eq_ignore_ascii_case(word)
}

fn fail(line: impl AsRef<str>) -> Output {
    Output::fail(line, 1)
}

/// Parses scontrol's arguments (without the program name).
pub fn parse_args(args: &[String]) -> Step<ScontrolArgs> {
    parse_inner(args).unwrap_or_else(Step::Exit)
}

fn parse_inner(args: &[String]) -> Result<Step<ScontrolArgs>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut one_liner = false;
    let mut quiet = false;
    for (key, _) in m.opts {
        match key {
            K::All | K::Details | K::Verbose => {}
            K::OneLiner => one_liner = true,
            K::Quiet => quiet = true,
            K::Help | K::Usage => return Ok(Step::Exit(Output::ok(HELP))),
            K::Version => return Ok(Step::Exit(common::version())),
            K::Clusters => {
                return Err(common::error(PROG, "option --clusters is not supported"));
            }
        }
    }
    let words = m.operands;
    let Some(first) = words.first() else {
        return Err(fail(format!(
            "{PROG}: error: no command given (interactive mode is not supported); \
             try \"{PROG} help\""
        )));
    };
    let rest = &words[1..];
    let command = if is(first, "show", 3) {
        parse_show(rest)?
    } else if is(first, "update", 1) {
        parse_update(rest)?
    } else if first.eq_ignore_ascii_case("hold")
        || first.eq_ignore_ascii_case("uhold")
        || first.eq_ignore_ascii_case("holdu")
    {
        Command::ControlJobs(job_request(first, rest, JobAction::Hold)?)
    } else if is(first, "release", 3) {
        Command::ControlJobs(job_request(first, rest, JobAction::Release)?)
    } else if is(first, "requeue", 3) {
        Command::ControlJobs(job_request(first, rest, JobAction::Requeue)?)
    } else if is(first, "version", 4) {
        Command::Version
    } else if is(first, "help", 2) {
        Command::Help
    } else {
        return Err(fail(format!("invalid keyword: {first}")));
    };
    Ok(Step::Run(ScontrolArgs {
        one_liner,
        quiet,
        command,
    }))
}

fn parse_show(rest: &[String]) -> Result<Command, Output> {
    let Some(entity) = rest.first() else {
        return Err(fail("too few arguments for keyword:show"));
    };
    if rest.len() > 2 {
        return Err(fail("too many arguments for keyword:show"));
    }
    let name = rest.get(1).cloned();
    let needs_name = |what: &str| {
        name.clone()
            .ok_or_else(|| fail(format!("too few arguments for keyword:{what}")))
    };
    Ok(if is(entity, "jobs", 1) {
        Command::ShowJob(name)
    } else if is(entity, "nodes", 1) {
        Command::ShowNode(name)
    } else if is(entity, "partitions", 2) {
        Command::ShowPartition(name)
    } else if is(entity, "config", 2) {
        Command::ShowConfig
    } else if is(entity, "hostnames", 5) {
        Command::ShowHostnames(needs_name("hostnames")?)
    } else if is(entity, "hostlist", 5) {
        Command::ShowHostlist(needs_name("hostlist")?)
    } else {
        return Err(fail(format!("invalid entity:{entity} for keyword:show ")));
    })
}

/// `hold|release|requeue JOBS...` (`JobId=` / `Job=` prefixes allowed).
fn job_request(
    keyword: &str,
    rest: &[String],
    action: JobAction,
) -> Result<JobControlRequest, Output> {
    if rest.is_empty() {
        return Err(fail(format!("too few arguments for keyword:{keyword}")));
    }
    let mut targets = Vec::new();
    for word in rest {
        let list = strip_tag(word, "JobId=").or_else(|| strip_tag(word, "Job="));
        let list = list.unwrap_or(word);
        let refs = parse_job_list(list)
            .ok()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| fail(format!("Invalid job id specified for job {list}")))?;
        targets.extend(refs);
    }
    Ok(JobControlRequest { targets, action })
}

fn strip_tag<'a>(word: &'a str, tag: &str) -> Option<&'a str> {
    let head = word.get(..tag.len())?;
    head.eq_ignore_ascii_case(tag).then(|| &word[tag.len()..])
}

/// `update NodeName=... State=... Reason=...` or `update JobId=... TimeLimit=...`.
fn parse_update(rest: &[String]) -> Result<Command, Output> {
    let mut pairs = Vec::new();
    for word in rest {
        let Some((tag, value)) = word.split_once('=') else {
            return Err(fail(format!(
                "{PROG}: error: Invalid input: {word}  Request aborted"
            )));
        };
        pairs.push((tag, value, word.as_str()));
    }
    if pairs.iter().any(|(t, _, _)| is(t, "NodeName", 1)) {
        return parse_node_update(&pairs).map(Command::UpdateNodes);
    }
    if pairs.iter().any(|(t, _, _)| is(t, "JobId", 3)) {
        return parse_job_update(&pairs).map(Command::ControlJobs);
    }
    let mut out = fail("No valid entity in update command");
    out.err_line("Input line must include \"NodeName\" or \"JobId\"");
    Err(out)
}

fn unsupported_parameter(word: &str) -> Output {
    let mut out = fail(format!("Update of this parameter is not supported: {word}"));
    out.err_line("Request aborted");
    out
}

fn parse_node_update(pairs: &[(&str, &str, &str)]) -> Result<NodeUpdateRequest, Output> {
    let mut names = Vec::new();
    let mut action = None;
    let mut reason = None;
    for &(tag, value, word) in pairs {
        if is(tag, "NodeName", 1) {
            names = hostlist::expand(value)
                .map_err(|_| fail("slurm_update error: Invalid node name specified"))?;
        } else if is(tag, "State", 1) {
            action = Some(node_action(value).ok_or_else(|| {
                let mut out = fail(format!("Invalid input: {word}"));
                out.err_line("Request aborted");
                out.err_line("Valid states are: DRAIN DOWN RESUME UNDRAIN");
                out
            })?);
        } else if is(tag, "Reason", 1) {
            let v = value.strip_prefix('"').unwrap_or(value);
            let v = v.strip_suffix('"').unwrap_or(v);
            reason = Some(v.to_owned());
        } else {
            return Err(unsupported_parameter(word));
        }
    }
    let Some(action) = action else {
        return Err(fail("No changes specified"));
    };
    let no_reason = reason.as_deref().is_none_or(str::is_empty);
    if matches!(action, NodeAction::Drain | NodeAction::Down) && no_reason {
        return Err(fail(
            "You must specify a reason when DOWNING or DRAINING a node. Request denied",
        ));
    }
    Ok(NodeUpdateRequest {
        names,
        action,
        reason,
    })
}

fn node_action(value: &str) -> Option<NodeAction> {
    if is(value, "DRAIN", 3) {
        Some(NodeAction::Drain)
    } else if is(value, "RESUME", 3) {
        Some(NodeAction::Resume)
    } else if is(value, "DOWN", 3) {
        Some(NodeAction::Down)
    } else if is(value, "UNDRAIN", 3) {
        Some(NodeAction::Undrain)
    } else {
        None
    }
}

fn parse_job_update(pairs: &[(&str, &str, &str)]) -> Result<JobControlRequest, Output> {
    let mut targets = Vec::new();
    let mut update = JobUpdate::default();
    for &(tag, value, word) in pairs {
        if is(tag, "JobId", 3) {
            targets = parse_job_list(value)
                .ok()
                .filter(|r| !r.is_empty())
                .ok_or_else(|| fail(format!("Invalid job id specified for job {value}")))?;
        } else if is(tag, "TimeLimit", 5) {
            let limit = duration::parse_time_limit(value)
                .map_err(|_| fail(format!("Invalid TimeLimit value: {value}")))?;
            update.time_limit = Some(limit);
        } else if is(tag, "Partition", 2) {
            if value.is_empty() {
                return Err(fail(format!("Invalid Partition value: {word}")));
            }
            update.partition = Some(value.to_owned());
        } else if is(tag, "Nice", 2) {
            let nice = value
                .parse::<i32>()
                .ok()
                .filter(|n| n.unsigned_abs() <= 2_147_483_645)
                .ok_or_else(|| fail(format!("Invalid nice value: {value}")))?;
            update.nice = Some(nice);
        } else {
            return Err(unsupported_parameter(word));
        }
    }
    if update == JobUpdate::default() {
        return Err(fail("No changes specified"));
    }
    Ok(JobControlRequest {
        targets,
        action: JobAction::Update(update),
    })
}

/// `show job [ID]` for a job list.
pub fn show_jobs(list: &JobList, id: Option<&str>, one_liner: bool, env: &FormatEnv) -> Output {
    let mut shown: Vec<Job> = match id {
        None => list.jobs.clone(),
        Some(text) => {
            let Ok(sels) = parse_job_list(text) else {
                return fail(fmt::INVALID_JOB_ID);
            };
            list.jobs
                .iter()
                .filter_map(|j| jobs::restrict(j, &sels))
                .collect()
        }
    };
    if shown.is_empty() {
        return match id {
            Some(_) => fail(fmt::INVALID_JOB_ID),
            None => Output::ok(format!("{}\n", fmt::NO_JOBS)),
        };
    }
    shown.sort_by_key(|j| (j.array_job_id.unwrap_or(j.id), j.array_task_id, j.id));
    Output::ok(
        shown
            .iter()
            .map(|j| fmt::show_job_with(j, env, one_liner))
            .collect::<String>(),
    )
}

/// `show node [NAMES]` for a cluster snapshot (unknown names print `Node X not found`).
pub fn show_nodes(
    info: &ClusterInfo,
    names: Option<&str>,
    one_liner: bool,
    env: &FormatEnv,
) -> Output {
    let mut out = Output::default();
    let Some(names) = names else {
        if info.nodes.is_empty() {
            out.out_line("No nodes in the system");
        }
        for node in &info.nodes {
            out.stdout
                .push_str(&fmt::show_node_with(node, &info.partitions, env, one_liner));
        }
        return out;
    };
    let wanted = hostlist::expand(names).unwrap_or_else(|_| vec![names.to_owned()]);
    for name in wanted {
        match info.nodes.iter().find(|n| n.config.name == name) {
            Some(node) => {
                out.stdout
                    .push_str(&fmt::show_node_with(node, &info.partitions, env, one_liner))
            }
            None => {
                out.out_line(fmt::node_not_found(&name));
                out.code = 1;
            }
        }
    }
    out
}

/// `show partition [NAME]` for a cluster snapshot.
pub fn show_partitions(info: &ClusterInfo, name: Option<&str>, one_liner: bool) -> Output {
    let chosen: Vec<&PartitionConfig> = info
        .partitions
        .iter()
        .filter(|p| name.is_none_or(|n| p.name == n))
        .collect();
    if chosen.is_empty() {
        return match name {
            Some(n) => Output {
                stdout: format!("{}\n", fmt::partition_not_found(n)),
                code: 1,
                ..Output::default()
            },
            None => Output::ok("No partitions in the system\n"),
        };
    }
    let nodes: &[NodeView] = &info.nodes;
    Output::ok(
        chosen
            .iter()
            .map(|p| fmt::show_partition_with(p, nodes, one_liner))
            .collect::<String>(),
    )
}

/// `show config`: `Key = Value` lines under the date, then the controller's status.
pub fn show_config(reply: &ConfigReply, controller: &str, tz_offset_secs: i32) -> Output {
    let mut out = Output::default();
    out.out_line(format!(
        "Configuration data as of {}",
        timefmt::iso(reply.now, tz_offset_secs)
    ));
    for (key, value) in &reply.entries {
        out.out_line(format!("{key:<23} = {value}"));
    }
    out.out_line("");
    out.out_line(format!("Slurmctld(primary) at {controller} is UP"));
    out
}

/// `show hostnames LIST` / `show hostlist NAMES`.
pub fn show_hosts(command: &Command) -> Output {
    match command {
        Command::ShowHostnames(list) => match hostlist::expand(list) {
            Ok(names) => Output::ok(names.iter().map(|n| format!("{n}\n")).collect::<String>()),
            Err(_) => fail(format!("{PROG}: error: Invalid hostlist: {list}")),
        },
        Command::ShowHostlist(names) => {
            let mut all = Vec::new();
            for part in names.split(',').filter(|p| !p.is_empty()) {
                match hostlist::expand(part) {
                    Ok(n) => all.extend(n),
                    Err(_) => return fail(format!("{PROG}: error: Invalid hostlist: {names}")),
                }
            }
            Output::ok(format!("{}\n", hostlist::compress(&all)))
        }
        _ => Output::default(),
    }
}

/// What scontrol prints for the outcome of `hold`, `release`, `requeue` or `update JobId=`:
/// `MESSAGE for job ID` per failed job.
pub fn report_jobs(
    result: &Result<TargetOutcomes, RpcError>,
    targets: &[JobRef],
    quiet: bool,
) -> Output {
    let mut out = Output::default();
    let failures: Vec<(String, String)> = match result {
        Ok(outcomes) => outcomes
            .outcomes
            .iter()
            .filter_map(|o| Some((o.target.to_string(), o.error.clone()?)))
            .collect(),
        Err(e) => targets
            .iter()
            .map(|t| (t.to_string(), e.to_string()))
            .collect(),
    };
    for (target, message) in failures {
        out.code = 1;
        if !quiet {
            out.err_line(format!("{message} for job {target}"));
        }
    }
    out
}

/// What scontrol prints for the outcome of `update NodeName=`.
pub fn report_nodes(result: &Result<NodeOutcomes, RpcError>, quiet: bool) -> Output {
    let mut out = Output::default();
    let messages: Vec<String> = match result {
        Ok(outcomes) => outcomes
            .outcomes
            .iter()
            .filter_map(|o| o.error.clone())
            .collect(),
        Err(e) => vec![e.to_string()],
    };
    let mut printed: Vec<&String> = Vec::new();
    for message in &messages {
        out.code = 1;
        if !quiet && !printed.contains(&message) {
            out.err_line(format!("slurm_update error: {message}"));
            printed.push(message);
        }
    }
    out
}

/// Runs `scontrol`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let parsed = match common::command_line(PROG, args, parse_args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    match &parsed.command {
        Command::Version => return common::version().emit(),
        Command::Help => return Output::ok(HELP).emit(),
        c @ (Command::ShowHostnames(_) | Command::ShowHostlist(_)) => return show_hosts(c).emit(),
        _ => {}
    }
    match rpc::block_on(run(parsed)) {
        Ok(Ok(out) | Err(out)) => out.emit(),
        Err(e) => common::error(PROG, e).emit(),
    }
}

/// The `slurm_perror` context of each request.
fn context(command: &Command) -> &'static str {
    match command {
        Command::ShowNode(_) => "slurm_load_node error",
        Command::ShowPartition(_) => "slurm_load_partitions error",
        Command::ShowConfig => "slurm_load_ctl_conf error",
        Command::UpdateNodes(_) | Command::ControlJobs(_) => "slurm_update error",
        _ => LOAD_JOBS,
    }
}

async fn run(args: ScontrolArgs) -> Result<Output, Output> {
    let ctx = context(&args.command);
    let mut session = Session::connect()
        .await
        .map_err(|e| fail(e.line(PROG, ctx)))?;
    let load_err = |e: RpcError| fail(e.line(PROG, ctx));
    Ok(match args.command {
        Command::ShowJob(id) => {
            let list = session
                .list_jobs(JobQuery::default())
                .await
                .map_err(load_err)?;
            let gids: Vec<u32> = list.jobs.iter().map(|j| j.spec.gid).collect();
            let def_mem = session
                .cluster_info()
                .await
                .ok()
                .and_then(|c| c.def_mem_per_cpu_mb);
            let mut env = super::lookup::system_format_env(list.now, def_mem, gids);
            for &job_id in &list.allocations {
                env.jobs.entry(job_id).or_default().interactive = true;
            }
            show_jobs(&list, id.as_deref(), args.one_liner, &env)
        }
        Command::ShowNode(names) => {
            let info = session.cluster_info().await.map_err(load_err)?;
            let env = super::lookup::system_format_env(info.now, info.def_mem_per_cpu_mb, []);
            show_nodes(&info, names.as_deref(), args.one_liner, &env)
        }
        Command::ShowPartition(name) => {
            let info = session.cluster_info().await.map_err(load_err)?;
            show_partitions(&info, name.as_deref(), args.one_liner)
        }
        Command::ShowConfig => {
            let reply = session.show_config().await.map_err(load_err)?;
            let host = session
                .cluster
                .controller_hosts
                .first()
                .map_or_else(|| "(null)".to_owned(), |h| h.name.clone());
            show_config(&reply, &host, super::tz::local_offset(reply.now))
        }
        Command::ControlJobs(req) => {
            let targets = req.targets.clone();
            let result = session.control_jobs(req).await;
            report_jobs(&result, &targets, args.quiet)
        }
        Command::UpdateNodes(req) => {
            let result = session.update_nodes(req).await;
            report_nodes(&result, args.quiet)
        }
        Command::ShowHostnames(_) | Command::ShowHostlist(_) | Command::Version | Command::Help => {
            Output::default()
        }
    })
}

const HELP: &str = "\
scontrol [<OPTION>] [<COMMAND>]
    Valid <OPTION> values are:
     -a or --all: equivalent to \"all\" command
     -d or --details: equivalent to \"details\" command
     -h or --help: equivalent to \"help\" command
     -o or --oneliner: equivalent to \"oneliner\" command
     -Q or --quiet: equivalent to \"quiet\" command
     -v or --verbose: equivalent to \"verbose\" command
     -V or --version: equivalent to \"version\" command

  <keyword> may be omitted from the execute line and scontrol will execute
  in interactive mode. (not supported by slinky)

    Valid <COMMAND> values are:
     help                     print this description of use.
     hold <job_list>          prevent specified job from starting. <job_list>
                              is either a space separate list of job IDs or
                              job names
     release <job_list>       permit specified job to start (see hold)
     requeue <job_id>         re-queue a batch job
     show <ENTITY> [<ID>]     display state of identified entity, default
                              is all records.
     uhold <job_list>         place user hold on specified job (see hold)
     update <SPECIFICATIONS>  update job or node configuration.
     version                  display tool version number.

  <ENTITY> may be \"config\", \"hostnames\", \"hostlist\", \"job\", \"node\" or
  \"partition\".

  <SPECIFICATIONS> are specified in the same format as the configuration
  file. You may wish to use the \"show\" keyword then use its output as
  input for the update keyword, editing as needed. Supported updates:
     update NodeName=<nodes> State=DRAIN|DOWN|RESUME|UNDRAIN Reason=<text>
     update JobId=<id> TimeLimit=<time> Partition=<name> Nice=<value>
";
