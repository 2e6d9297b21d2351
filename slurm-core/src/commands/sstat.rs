//! `sstat`: live usage of running steps (`sstat -j 123`, `123.0`, `123.batch`, `-a`).
//!
//! An array task (`123_4`, `123_4.0`) is first resolved to its own job id through the job
//! list, as squeue and sacct match array tasks. One `StatSteps` request asks the controller for the jobs' running steps and each task's
//! latest usage sample (agents send them with their heartbeats). The selection and layout
//! follow Slurm 22.05's sstat: without a step, the job's first srun step (`-a`: every running
//! step, the batch step included); fixed-width columns (`JobID` left-aligned in 12, the
//! others right-aligned, over-long values cut with a trailing `+`) or `|`-separated with
//! `-p`/`-P`; errors per job on stderr (`couldn't get steps for job N`, `No steps running
//! for job N`, `StepId=N.S not found running.`) with exit status 0, as Slurm does.
//!
//! Measured here: CPU time, resident memory (current and peak) and virtual memory per task.
//! Disk I/O, pages and energy are not measured: those columns are blank (energy prints `0`).

pub use super::acct_columns::Style;
use super::acct_columns::{self, FieldInfo};
use super::getopt::{self, HasArg, Opt, opt};
use super::jobs::{own_job_id, parse_job_id, split_outside_brackets};
use super::rpc::{RpcError, Session};
use super::sacct::size_kb;
use super::{Output, Step, common, getopt_failure};
use crate::format::timefmt;
use crate::model::{Job, JobId, JobRef};
use crate::parse::hostlist;
use crate::proto::{JobQuery, JobStat, LiveTaskUsage, StatQuery, StatReply, StepStat};
use std::ffi::OsString;
use std::process::ExitCode;

pub const PROG: &str = "sstat";

/// The columns without `-o` (Slurm's `STAT_FIELDS`; abbreviations resolve by prefix).
pub const DEFAULT_FORMAT: &str = "jobid,maxvmsize,maxvmsizenode,maxvmsizetask,avevmsize,\
maxrss,maxrssnode,maxrsstask,averss,maxpages,maxpagesnode,maxpagestask,avepages,mincpu,\
mincpunode,mincputask,avecpu,ntasks,avecpufreq,reqcpufreqmin,reqcpufreqmax,reqcpufreqgov,\
consumedenergy,maxdiskread,maxdiskreadnode,maxdiskreadtask,avediskread,maxdiskwrite,\
maxdiskwritenode,maxdiskwritetask,avediskwrite,tresusageinave,tresusageinmax,\
tresusageinmaxn,tresusageinmaxt,tresusageinmin,tresusageinminn,tresusageinmint,\
tresusageintot,tresusageoutave,tresusageoutmax,tresusageoutmaxn,tresusageoutmaxt,\
tresusageoutmin,tresusageoutminn,tresusageoutmint,tresusageouttot";

/// An sstat field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    AveCpu,
    AveCpuFreq,
    AveDiskRead,
    AveDiskWrite,
    AvePages,
    AveRss,
    AveVmSize,
    ConsumedEnergy,
    ConsumedEnergyRaw,
    JobId,
    MaxDiskRead,
    MaxDiskReadNode,
    MaxDiskReadTask,
    MaxDiskWrite,
    MaxDiskWriteNode,
    MaxDiskWriteTask,
    MaxPages,
    MaxPagesNode,
    MaxPagesTask,
    MaxRss,
    MaxRssNode,
    MaxRssTask,
    MaxVmSize,
    MaxVmSizeNode,
    MaxVmSizeTask,
    MinCpu,
    MinCpuNode,
    MinCpuTask,
    NodeList,
    NTasks,
    Pids,
    ReqCpuFreq,
    ReqCpuFreqMin,
    ReqCpuFreqMax,
    ReqCpuFreqGov,
    TresUsageInAve,
    TresUsageInMax,
    TresUsageInMaxNode,
    TresUsageInMaxTask,
    TresUsageInMin,
    TresUsageInMinNode,
    TresUsageInMinTask,
    TresUsageInTot,
    TresUsageOutAve,
    TresUsageOutMax,
    TresUsageOutMaxNode,
    TresUsageOutMaxTask,
    TresUsageOutMin,
    TresUsageOutMinNode,
    TresUsageOutMinTask,
    TresUsageOutTot,
}

/// Slurm's field table, in its order (prefixes resolve to the first match): the field, its
/// name, its default width (negative: left-aligned) and whether it is a number (never cut).
const FIELDS: &[FieldInfo<Field>] = &[
    (Field::AveCpu, "AveCPU", 10, false),
    (Field::AveCpuFreq, "AveCPUFreq", 10, false),
    (Field::AveDiskRead, "AveDiskRead", 12, false),
    (Field::AveDiskWrite, "AveDiskWrite", 12, false),
    (Field::AvePages, "AvePages", 10, false),
    (Field::AveRss, "AveRSS", 10, false),
    (Field::AveVmSize, "AveVMSize", 10, false),
    (Field::ConsumedEnergy, "ConsumedEnergy", 14, false),
    (Field::ConsumedEnergyRaw, "ConsumedEnergyRaw", 17, true),
    (Field::JobId, "JobID", -12, false),
    (Field::MaxDiskRead, "MaxDiskRead", 12, false),
    (Field::MaxDiskReadNode, "MaxDiskReadNode", 15, false),
    (Field::MaxDiskReadTask, "MaxDiskReadTask", 15, true),
    (Field::MaxDiskWrite, "MaxDiskWrite", 12, false),
    (Field::MaxDiskWriteNode, "MaxDiskWriteNode", 16, false),
    (Field::MaxDiskWriteTask, "MaxDiskWriteTask", 16, true),
    (Field::MaxPages, "MaxPages", 8, false),
    (Field::MaxPagesNode, "MaxPagesNode", 12, false),
    (Field::MaxPagesTask, "MaxPagesTask", 14, true),
    (Field::MaxRss, "MaxRSS", 10, false),
    (Field::MaxRssNode, "MaxRSSNode", 10, false),
    (Field::MaxRssTask, "MaxRSSTask", 10, true),
    (Field::MaxVmSize, "MaxVMSize", 10, false),
    (Field::MaxVmSizeNode, "MaxVMSizeNode", 14, false),
    (Field::MaxVmSizeTask, "MaxVMSizeTask", 14, true),
    (Field::MinCpu, "MinCPU", 10, false),
    (Field::MinCpuNode, "MinCPUNode", 10, false),
    (Field::MinCpuTask, "MinCPUTask", 10, true),
    (Field::NodeList, "Nodelist", 20, false),
    (Field::NTasks, "NTasks", 8, true),
    (Field::Pids, "Pids", 20, false),
    (Field::ReqCpuFreq, "ReqCPUFreq", 10, false),
    (Field::ReqCpuFreqMin, "ReqCPUFreqMin", 13, false),
    (Field::ReqCpuFreqMax, "ReqCPUFreqMax", 13, false),
    (Field::ReqCpuFreqGov, "ReqCPUFreqGov", 13, false),
    (Field::TresUsageInAve, "TRESUsageInAve", 14, false),
    (Field::TresUsageInMax, "TRESUsageInMax", 14, false),
    (Field::TresUsageInMaxNode, "TRESUsageInMaxNode", 18, false),
    (Field::TresUsageInMaxTask, "TRESUsageInMaxTask", 18, false),
    (Field::TresUsageInMin, "TRESUsageInMin", 14, false),
    (Field::TresUsageInMinNode, "TRESUsageInMinNode", 18, false),
    (Field::TresUsageInMinTask, "TRESUsageInMinTask", 18, false),
    (Field::TresUsageInTot, "TRESUsageInTot", 14, false),
    (Field::TresUsageOutAve, "TRESUsageOutAve", 15, false),
    (Field::TresUsageOutMax, "TRESUsageOutMax", 15, false),
    (Field::TresUsageOutMaxNode, "TRESUsageOutMaxNode", 19, false),
    (Field::TresUsageOutMaxTask, "TRESUsageOutMaxTask", 19, false),
    (Field::TresUsageOutMin, "TRESUsageOutMin", 15, false),
    (Field::TresUsageOutMinNode, "TRESUsageOutMinNode", 19, false),
    (Field::TresUsageOutMinTask, "TRESUsageOutMinTask", 19, false),
    (Field::TresUsageOutTot, "TRESUsageOutTot", 15, false),
];

/// One column of the layout.
pub type Column = acct_columns::Column<Field>;

/// Which step of a job an argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepSel {
    /// `123`: the first srun step (`-a`: every running step).
    Any,
    /// `123.batch`.
    Batch,
    /// `123.extern` (never running here: slinky has no extern step).
    Extern,
    /// `123.4`.
    Step(u32),
}

/// One `-j` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The job as typed: `123`, or the array task `123_4`.
    pub job: JobRef,
    pub step: StepSel,
}

impl Target {
    /// Whether the job is named as an array task, whose own job id must be looked up.
    fn names_array_task(&self) -> bool {
        self.job.array_task.is_some()
    }
}

/// A parsed sstat command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstatArgs {
    pub columns: Vec<Column>,
    pub style: Style,
    pub no_header: bool,
    /// `-a`.
    pub all_steps: bool,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    AllSteps,
    HelpFormat,
    Help,
    Jobs,
    NoHeader,
    Format,
    Parsable,
    Parsable2,
    Usage,
    Verbose,
    Version,
}

const OPTIONS: &[Opt<K>] = &[
    opt("allsteps", Some('a'), HasArg::No, K::AllSteps),
    opt("helpformat", Some('e'), HasArg::No, K::HelpFormat),
    opt("help", Some('h'), HasArg::No, K::Help),
    opt("jobs", Some('j'), HasArg::Required, K::Jobs),
    opt("noheader", Some('n'), HasArg::No, K::NoHeader),
    opt("fields", None, HasArg::Required, K::Format),
    opt("format", Some('o'), HasArg::Required, K::Format),
    opt("parsable", Some('p'), HasArg::No, K::Parsable),
    opt("parsable2", Some('P'), HasArg::No, K::Parsable2),
    opt("usage", None, HasArg::No, K::Usage),
    opt("verbose", Some('v'), HasArg::No, K::Verbose),
    opt("version", Some('V'), HasArg::No, K::Version),
];

fn error(message: impl std::fmt::Display) -> Output {
    common::error(PROG, message)
}

/// Looks a field up as sstat does: case-insensitively, a prefix being enough (the first
/// match in the table's order wins, so `maxrss` is `MaxRSS` and `maxrssn` `MaxRSSNode`).
pub fn lookup_field(name: &str) -> Option<FieldInfo<Field>> {
    let lower = name.to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    FIELDS
        .iter()
        .find(|f| f.1.to_ascii_lowercase().starts_with(&lower))
        .copied()
}

/// Parses a `-o` list: `JobID,MaxRSS%12,avecpu`.
pub fn parse_format(text: &str) -> Result<Vec<Column>, Output> {
    acct_columns::parse_format(text, lookup_field)
        .map_err(|name| error(format!("Invalid field requested: \"{name}\"")))
}

/// Parses a `-j` list: `123,124.0,125.batch,126_3.0,127_[1-2]`.
pub fn parse_targets(text: &str) -> Result<Vec<Target>, Output> {
    let mut out = Vec::new();
    for item in split_outside_brackets(text)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let bad = || Output::fail(format!("{PROG}: fatal: Bad job/step specified: {item}"), 1);
        let (job, step) = match item.split_once('.') {
            Some((j, s)) => (j, Some(s)),
            None => (item, None),
        };
        let jobs = parse_job_id(job).map_err(|_| bad())?;
        let step = match step {
            None => StepSel::Any,
            Some("batch") => StepSel::Batch,
            Some("extern") => StepSel::Extern,
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                StepSel::Step(s.parse().map_err(|_| bad())?)
            }
            Some(_) => return Err(bad()),
        };
        for job in jobs {
            let target = Target { job, step };
            if !out.contains(&target) {
                out.push(target);
            }
        }
    }
    Ok(out)
}

/// The job id whose steps each target selects, in the targets' order: its own for a plain
/// id, the task's job id (looked up in `jobs`) for an array task; `None` for an array task
/// that has not started or does not exist.
pub fn stat_job_ids(targets: &[Target], jobs: &[Job]) -> Vec<Option<JobId>> {
    targets.iter().map(|t| own_job_id(&t.job, jobs)).collect()
}

/// `-e`: the field names, four to a line.
pub fn help_format() -> String {
    acct_columns::help_format(FIELDS)
}

/// Parses sstat's arguments (without the program name).
pub fn parse_args(args: &[String]) -> Step<SstatArgs> {
    parse_inner(args).unwrap_or_else(Step::Exit)
}

fn parse_inner(args: &[String]) -> Result<Step<SstatArgs>, Output> {
    let m = getopt::parse(args, OPTIONS).map_err(|e| getopt_failure(PROG, &e))?;
    let mut formats: Vec<String> = Vec::new();
    let mut a = SstatArgs {
        columns: Vec::new(),
        style: Style::Fixed,
        no_header: false,
        all_steps: false,
        targets: Vec::new(),
    };
    for (key, value) in m.opts {
        let value = value.unwrap_or_default();
        match key {
            K::AllSteps => a.all_steps = true,
            K::HelpFormat => return Ok(Step::Exit(Output::ok(help_format()))),
            K::Help => return Ok(Step::Exit(Output::ok(HELP))),
            K::Usage => return Ok(Step::Exit(Output::ok(USAGE))),
            K::Version => return Ok(Step::Exit(common::version())),
            K::Jobs => {
                for t in parse_targets(&value)? {
                    if !a.targets.contains(&t) {
                        a.targets.push(t);
                    }
                }
            }
            K::NoHeader => a.no_header = true,
            K::Format => formats.push(value),
            K::Parsable => a.style = Style::Parsable,
            K::Parsable2 => a.style = Style::Parsable2,
            K::Verbose => {}
        }
    }
    // As in Slurm, a job list may also follow the options.
    if let Some(list) = m.operands.first() {
        for t in parse_targets(list)? {
            if !a.targets.contains(&t) {
                a.targets.push(t);
            }
        }
    }
    if a.targets.is_empty() {
        return Err(error("You didn't give me any jobs to stat."));
    }
    let format = if formats.is_empty() {
        DEFAULT_FORMAT.to_owned()
    } else {
        formats.join(",")
    };
    a.columns = parse_format(&format)?;
    Ok(Step::Run(a))
}

// ----- values -----

/// A task's sample with its node, the unit statistics are built from.
#[derive(Debug, Clone, Copy)]
struct Extreme<'a> {
    value: u64,
    node: &'a str,
    task: u32,
}

/// The largest (`max`) or smallest value over the tasks, the first task winning ties.
fn extreme<'a>(
    tasks: &'a [LiveTaskUsage],
    value: impl Fn(&LiveTaskUsage) -> u64,
    max: bool,
) -> Option<Extreme<'a>> {
    let mut best: Option<Extreme<'a>> = None;
    for t in tasks {
        let v = value(t);
        let better = match best {
            None => true,
            Some(b) if max => v > b.value,
            Some(b) => v < b.value,
        };
        if better {
            best = Some(Extreme {
                value: v,
                node: &t.node,
                task: t.task,
            });
        }
    }
    best
}

/// One step's usage, aggregated over its tasks as sstat does.
#[derive(Debug, Clone)]
struct StepStats<'a> {
    ntasks: u64,
    cpu_tot_ms: u64,
    rss_tot_kb: u64,
    vsize_tot_kb: u64,
    cpu_max: Extreme<'a>,
    cpu_min: Extreme<'a>,
    rss_max: Extreme<'a>,
    rss_min: Extreme<'a>,
    vsize_max: Extreme<'a>,
    vsize_min: Extreme<'a>,
}

impl<'a> StepStats<'a> {
    /// `None` when no task has been sampled yet.
    fn of(tasks: &'a [LiveTaskUsage]) -> Option<Self> {
        let cpu = |t: &LiveTaskUsage| t.cpu_time_ms;
        let rss = |t: &LiveTaskUsage| t.max_rss_kb;
        let vsize = |t: &LiveTaskUsage| t.max_vsize_kb;
        Some(Self {
            ntasks: tasks.len() as u64,
            cpu_tot_ms: tasks.iter().map(cpu).sum(),
            rss_tot_kb: tasks.iter().map(|t| t.rss_kb).sum(),
            vsize_tot_kb: tasks.iter().map(|t| t.vsize_kb).sum(),
            cpu_max: extreme(tasks, cpu, true)?,
            cpu_min: extreme(tasks, cpu, false)?,
            rss_max: extreme(tasks, rss, true)?,
            rss_min: extreme(tasks, rss, false)?,
            vsize_max: extreme(tasks, vsize, true)?,
            vsize_min: extreme(tasks, vsize, false)?,
        })
    }

    fn ave(&self, total: u64) -> u64 {
        total / self.ntasks.max(1)
    }
}

/// sstat's CPU time (`_elapsed_time` of whole seconds): `00:MM:SS`, `HH:MM:SS`, `D-HH:MM:SS`.
fn cpu_text(ms: u64) -> String {
    timefmt::hms(i64::try_from(ms / 1000).unwrap_or(i64::MAX))
}

/// A TRES usage string of what is measured here: `cpu=00:00:05,mem=1500K,vmem=20000K`.
fn tres(cpu: String, mem: String, vmem: String) -> String {
    format!("cpu={cpu},mem={mem},vmem={vmem}")
}

/// The JobID column: `123.0`, `123.batch`.
fn step_id_text(job_id: JobId, step: &StepStat) -> String {
    match step.step_id {
        Some(s) => format!("{job_id}.{s}"),
        None => format!("{job_id}.batch"),
    }
}

fn value(job_id: JobId, step: &StepStat, stats: Option<&StepStats<'_>>, field: Field) -> String {
    let size = |kb: u64| size_kb(kb, None);
    // Fields every row has, sampled or not.
    match field {
        Field::JobId => return step_id_text(job_id, step),
        Field::NodeList => {
            let mut nodes: Vec<&str> = step.tasks.iter().map(|t| t.node.as_str()).collect();
            if nodes.is_empty() {
                nodes = step.nodes.iter().map(String::as_str).collect();
            }
            return hostlist::compress(&nodes);
        }
        Field::NTasks => {
            return stats
                .map_or(u64::from(step.ntasks), |s| s.ntasks)
                .to_string();
        }
        Field::AveCpuFreq | Field::ConsumedEnergy | Field::ConsumedEnergyRaw => {
            return "0".to_owned();
        }
        Field::ReqCpuFreq | Field::ReqCpuFreqMin | Field::ReqCpuFreqMax | Field::ReqCpuFreqGov => {
            return "Unknown".to_owned();
        }
        _ => {}
    }
    let Some(s) = stats else {
        return String::new();
    };
    match field {
        Field::AveCpu => cpu_text(s.ave(s.cpu_tot_ms)),
        Field::AveRss => size(s.ave(s.rss_tot_kb)),
        Field::AveVmSize => size(s.ave(s.vsize_tot_kb)),
        Field::MaxRss => size(s.rss_max.value),
        Field::MaxRssNode => s.rss_max.node.to_owned(),
        Field::MaxRssTask => s.rss_max.task.to_string(),
        Field::MaxVmSize => size(s.vsize_max.value),
        Field::MaxVmSizeNode => s.vsize_max.node.to_owned(),
        Field::MaxVmSizeTask => s.vsize_max.task.to_string(),
        Field::MinCpu => cpu_text(s.cpu_min.value),
        Field::MinCpuNode => s.cpu_min.node.to_owned(),
        Field::MinCpuTask => s.cpu_min.task.to_string(),
        Field::TresUsageInAve => tres(
            cpu_text(s.ave(s.cpu_tot_ms)),
            size(s.ave(s.rss_tot_kb)),
            size(s.ave(s.vsize_tot_kb)),
        ),
        Field::TresUsageInMax => tres(
            cpu_text(s.cpu_max.value),
            size(s.rss_max.value),
            size(s.vsize_max.value),
        ),
        Field::TresUsageInMaxNode => tres(
            s.cpu_max.node.to_owned(),
            s.rss_max.node.to_owned(),
            s.vsize_max.node.to_owned(),
        ),
        Field::TresUsageInMaxTask => tres(
            s.cpu_max.task.to_string(),
            s.rss_max.task.to_string(),
            s.vsize_max.task.to_string(),
        ),
        Field::TresUsageInMin => tres(
            cpu_text(s.cpu_min.value),
            size(s.rss_min.value),
            size(s.vsize_min.value),
        ),
        Field::TresUsageInMinNode => tres(
            s.cpu_min.node.to_owned(),
            s.rss_min.node.to_owned(),
            s.vsize_min.node.to_owned(),
        ),
        Field::TresUsageInMinTask => tres(
            s.cpu_min.task.to_string(),
            s.rss_min.task.to_string(),
            s.vsize_min.task.to_string(),
        ),
        Field::TresUsageInTot => tres(
            cpu_text(s.cpu_tot_ms),
            size(s.rss_tot_kb),
            size(s.vsize_tot_kb),
        ),
        // Not measured: disk I/O, pages, process ids, outbound TRES.
        _ => String::new(),
    }
}

/// The steps of `job` a target selects, or the error line when there are none.
fn select(job: &JobStat, target: Target, all_steps: bool) -> Result<Vec<&StepStat>, String> {
    let id = target.job;
    if !job.found {
        return Err(format!("{PROG}: error: couldn't get steps for job {id}"));
    }
    let wanted: Vec<&StepStat> = job
        .steps
        .iter()
        .filter(|s| match target.step {
            StepSel::Any => true,
            StepSel::Batch => s.step_id.is_none(),
            StepSel::Extern => false,
            StepSel::Step(n) => s.step_id == Some(n),
        })
        .collect();
    if wanted.is_empty() {
        return Err(match target.step {
            StepSel::Any => format!("{PROG}: error: No steps running for job {id}"),
            StepSel::Batch => format!("{PROG}: error: StepId={id}.batch not found running."),
            StepSel::Extern => format!("{PROG}: error: StepId={id}.extern not found running."),
            StepSel::Step(n) => format!("{PROG}: error: StepId={id}.{n} not found running."),
        });
    }
    if target.step == StepSel::Any && !all_steps {
        // No step named: the first srun step (the batch step only with -a).
        return Ok(wanted
            .into_iter()
            .find(|s| s.step_id.is_some())
            .into_iter()
            .collect());
    }
    Ok(wanted)
}

/// sstat's output for a reply; `job_ids` are the targets' from [`stat_job_ids`].
pub fn render(reply: &StatReply, args: &SstatArgs, job_ids: &[Option<JobId>]) -> Output {
    let mut out = Output::default();
    if !args.no_header {
        out.stdout
            .push_str(&acct_columns::header(FIELDS, &args.columns, args.style));
    }
    let missing = JobStat::default();
    for (&target, &job_id) in args.targets.iter().zip(job_ids) {
        let job = job_id
            .and_then(|id| reply.jobs.iter().find(|j| j.job_id == id))
            .unwrap_or(&missing);
        match select(job, target, args.all_steps) {
            Err(line) => out.err_line(line),
            Ok(steps) => {
                for step in steps {
                    let stats = StepStats::of(&step.tasks);
                    let values: Vec<String> = args
                        .columns
                        .iter()
                        .map(|c| value(job.job_id, step, stats.as_ref(), c.field))
                        .collect();
                    let columns = &args.columns;
                    acct_columns::push_line(&mut out.stdout, FIELDS, &values, columns, args.style);
                }
            }
        }
    }
    out
}

// ----- running -----

async fn once(session: &mut Session, args: &SstatArgs) -> Result<Output, RpcError> {
    let arrays: Vec<JobId> = args
        .targets
        .iter()
        .filter(|t| t.names_array_task())
        .map(|t| t.job.job_id)
        .collect();
    let jobs = if arrays.is_empty() {
        Vec::new()
    } else {
        session.list_jobs(JobQuery { job_ids: arrays }).await?.jobs
    };
    let target_ids = stat_job_ids(&args.targets, &jobs);
    let mut job_ids: Vec<JobId> = target_ids.iter().flatten().copied().collect();
    job_ids.sort_unstable();
    job_ids.dedup();
    let reply = session.stat_steps(StatQuery { job_ids }).await?;
    Ok(render(&reply, args, &target_ids))
}

/// Runs `sstat`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let parsed = match common::command_line(PROG, args, parse_args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    common::run_query(PROG, "slurm_get_job_steps", None, &parsed, once)
}

const USAGE: &str = "Usage: sstat [options] -j <job(.stepid)>\n\tUse --help for help\n";

const HELP: &str = "\
sstat [<OPTION>] -j <job(.stepid)>
    Valid <OPTION> values are:
      -a, --allsteps:
                   Print all steps for the given job(s) when no step is
                   specified.
      -e, --helpformat:
                   Print a list of fields that can be specified with the
                   '--format' option
     -h, --help:   Print this description of use.
     -j, --jobs:
                   Format is <job(.step)>. Stat this job step
                   or comma-separated list of job steps. This option is
                   required.  The step portion will default to the lowest
                   numbered (not batch, extern, etc) step running if not
                   specified, unless the --allsteps flag is set where not
                   specifying a step will result in all running steps
                   to be displayed.
     -n, --noheader:
                   No header will be added to the beginning of output.
                   The default is to print a header.
     -o, --format:
                   Comma separated list of fields. (use \"--helpformat\"
                   for a list of available fields).
     -p, --parsable: output will be '|' delimited with a '|' at the end
     -P, --parsable2: output will be '|' delimited without a '|' at the end
     --usage:      Display brief usage message.
     -v, --verbose:
                   Primarily for debugging purposes, report the state of
                   various variables during processing.
     -V, --version: Print version.

";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> SstatArgs {
        let a: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
        match parse_args(&a) {
            Step::Run(a) => a,
            Step::Exit(out) => panic!("exit: {out:?}"),
        }
    }

    fn exit(a: &[&str]) -> Output {
        let a: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
        match parse_args(&a) {
            Step::Run(a) => panic!("ran: {a:?}"),
            Step::Exit(out) => out,
        }
    }

    fn plain(job_id: JobId, step: StepSel) -> Target {
        Target {
            job: JobRef {
                job_id,
                array_task: None,
            },
            step,
        }
    }

    /// Renders for targets that name no array task (no job list needed).
    fn render_plain(reply: &StatReply, a: &SstatArgs) -> Output {
        render(reply, a, &stat_job_ids(&a.targets, &[]))
    }

    fn task(step_id: Option<u32>, task: u32, node: &str, cpu_s: u64, rss: u64) -> LiveTaskUsage {
        LiveTaskUsage {
            job_id: 7,
            step_id,
            task,
            node: node.to_owned(),
            cpu_time_ms: cpu_s * 1000,
            rss_kb: rss,
            max_rss_kb: rss * 2,
            vsize_kb: 10_000 + u64::from(task),
            max_vsize_kb: 20_000 + u64::from(task),
        }
    }

    fn reply() -> StatReply {
        StatReply {
            jobs: vec![
                JobStat {
                    job_id: 7,
                    found: true,
                    steps: vec![
                        StepStat {
                            step_id: None,
                            nodes: vec!["n1".into()],
                            ntasks: 1,
                            tasks: vec![task(None, 0, "n1", 3, 1000)],
                        },
                        StepStat {
                            step_id: Some(0),
                            nodes: vec!["n1".into(), "n2".into()],
                            ntasks: 2,
                            tasks: vec![
                                task(Some(0), 0, "n1", 4, 1000),
                                task(Some(0), 1, "n2", 2, 3000),
                            ],
                        },
                    ],
                },
                JobStat {
                    job_id: 8,
                    found: true,
                    steps: vec![],
                },
            ],
        }
    }

    #[test]
    fn options_and_job_lists() {
        let a = args(&["-j", "7,7.batch", "--jobs=8.2", "-a", "-n", "-P"]);
        assert_eq!(
            a.targets,
            vec![
                plain(7, StepSel::Any),
                plain(7, StepSel::Batch),
                plain(8, StepSel::Step(2)),
            ]
        );
        assert!(a.all_steps && a.no_header);
        assert_eq!(a.style, Style::Parsable2);
        assert_eq!(a.columns.len(), 47);
        // Operands are a job list too.
        assert_eq!(args(&["9"]).targets[0].job.job_id, 9);
        let out = exit(&[]);
        assert_eq!(
            out.stderr,
            "sstat: error: You didn't give me any jobs to stat.\n"
        );
        assert_eq!(out.code, 1);
        let out = exit(&["-j", "x1"]);
        assert_eq!(out.stderr, "sstat: fatal: Bad job/step specified: x1\n");
        assert_eq!(exit(&["-j", "1.y"]).code, 1);
        assert_eq!(exit(&["-V"]).stdout, "slurm 22.05.8\n");
    }

    #[test]
    fn fields_are_case_insensitive_prefixes_with_widths() {
        let a = args(&["-j", "7", "-o", "jobid,MAXRSS%14,maxrssn,avecpu%-9,ntasks"]);
        let fields: Vec<(Field, i32)> = a.columns.iter().map(|c| (c.field, c.width)).collect();
        assert_eq!(
            fields,
            vec![
                (Field::JobId, -12),
                (Field::MaxRss, 14),
                (Field::MaxRssNode, 10),
                (Field::AveCpu, -9),
                (Field::NTasks, 8),
            ]
        );
        let out = exit(&["-j", "7", "-o", "JobID,Bogus"]);
        assert_eq!(
            out.stderr,
            "sstat: error: Invalid field requested: \"Bogus\"\n"
        );
    }

    #[test]
    fn fixed_width_rows_of_the_first_srun_step() {
        let a = args(&[
            "-j",
            "7",
            "-o",
            "JobID,MaxRSS,MaxRSSNode,MaxRSSTask,AveCPU,NTasks",
        ]);
        let out = render_plain(&reply(), &a);
        assert_eq!(
            out.stdout,
            "JobID            MaxRSS MaxRSSNode MaxRSSTask     AveCPU   NTasks \n\
             ------------ ---------- ---------- ---------- ---------- -------- \n\
             7.0               6000K         n2          1   00:00:03        2 \n"
        );
        assert_eq!(out.stderr, "");
        assert_eq!(out.code, 0);
    }

    #[test]
    fn all_steps_batch_and_parsable() {
        let a = args(&[
            "-a",
            "-P",
            "-j",
            "7",
            "-o",
            "JobID,Nodelist,MinCPU,MinCPUNode,MinCPUTask,AveRSS,MaxVMSize,TRESUsageInTot",
        ]);
        let out = render_plain(&reply(), &a);
        assert_eq!(
            out.stdout,
            "JobID|Nodelist|MinCPU|MinCPUNode|MinCPUTask|AveRSS|MaxVMSize|TRESUsageInTot\n\
             7.batch|n1|00:00:03|n1|0|1000K|20000K|cpu=00:00:03,mem=1000K,vmem=10000K\n\
             7.0|n[1-2]|00:00:02|n2|1|2000K|20001K|cpu=00:00:06,mem=4000K,vmem=20001K\n"
        );
        let a = args(&["-p", "-n", "-j", "7.batch", "-o", "jobid,ntasks,avecpufreq"]);
        assert_eq!(render_plain(&reply(), &a).stdout, "7.batch|1|0|\n");
    }

    #[test]
    fn errors_per_job_exit_zero() {
        let a = args(&["-n", "-j", "8,8.1,9,7.5,7.extern"]);
        let out = render_plain(&reply(), &a);
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "sstat: error: No steps running for job 8\n\
             sstat: error: StepId=8.1 not found running.\n\
             sstat: error: couldn't get steps for job 9\n\
             sstat: error: StepId=7.5 not found running.\n\
             sstat: error: StepId=7.extern not found running.\n"
        );
        assert_eq!(out.code, 0);
    }

    #[test]
    fn array_tasks_are_stated_under_their_own_job_ids() {
        let a = args(&[
            "-P",
            "-n",
            "-j",
            "3_1,3_1.batch,3_[2,4]",
            "-o",
            "JobID,NTasks",
        ]);
        let task = |id, t| JobRef {
            job_id: id,
            array_task: Some(t),
        };
        let targets: Vec<(JobRef, StepSel)> = a.targets.iter().map(|t| (t.job, t.step)).collect();
        assert_eq!(
            targets,
            vec![
                (task(3, 1), StepSel::Any),
                (task(3, 1), StepSel::Batch),
                (task(3, 2), StepSel::Any),
                (task(3, 4), StepSel::Any),
            ]
        );
        // Task 1 of array 3 runs as job 7; task 2 as job 8 (no steps); task 4 is unknown.
        let array_task = |id, t| {
            let mut j = crate::format::testing::job(
                id,
                crate::model::JobState::Running,
                crate::model::JobSpec::default(),
            );
            j.array_job_id = Some(3);
            j.array_task_id = Some(t);
            j
        };
        let jobs = [array_task(7, 1), array_task(8, 2)];
        let ids = stat_job_ids(&a.targets, &jobs);
        assert_eq!(ids, vec![Some(7), Some(7), Some(8), None]);
        let out = render(&reply(), &a, &ids);
        assert_eq!(out.stdout, "7.0|2\n7.batch|1\n");
        assert_eq!(
            out.stderr,
            "sstat: error: No steps running for job 3_2\n\
             sstat: error: couldn't get steps for job 3_4\n"
        );
        let a = args(&["-j", "3_1.0"]);
        assert_eq!(
            a.targets,
            vec![Target {
                job: task(3, 1),
                step: StepSel::Step(0)
            }]
        );
        assert_eq!(exit(&["-j", "3_x"]).code, 1);
        assert_eq!(exit(&["-j", "0_1"]).code, 1);
    }

    #[test]
    fn a_step_not_sampled_yet_has_blank_usage() {
        let reply = StatReply {
            jobs: vec![JobStat {
                job_id: 3,
                found: true,
                steps: vec![StepStat {
                    step_id: Some(1),
                    nodes: vec!["a1".into(), "a2".into()],
                    ntasks: 4,
                    tasks: vec![],
                }],
            }],
        };
        let a = args(&[
            "-P",
            "-n",
            "-j",
            "3.1",
            "-o",
            "JobID,NTasks,Nodelist,MaxRSS,AveCPU",
        ]);
        assert_eq!(render_plain(&reply, &a).stdout, "3.1|4|a[1-2]||\n");
    }
}
