//! `squeue`: the default, `-l` and `--start` layouts, `-o` / `-O` formats and Slurm's sort
//! orders.
//!
//! Filtering (`-u`, `-t`, `-p`, ...) is the caller's business; the layouts print the jobs they
//! are given, in the order given. [`sort_default`] and [`sort_start`] reproduce squeue's
//! default orders (`-S P,t,-p` and `--start`'s `-S S`).

use super::fields::{self, FieldDef, FieldTable, Layout, Parsed};
use super::jobinfo::{self as ji, EndTime};
use super::{FormatEnv, timefmt};
use crate::model::{Job, JobState, TimeLimit, Timestamp};
use crate::parse::hostlist;
use std::cmp::Ordering;

/// `squeue` with no format option.
pub const DEFAULT_FORMAT: &str = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";
/// `squeue -l`.
pub const LONG_FORMAT: &str = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R";
/// `squeue --start`.
pub const START_FORMAT: &str = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R";

/// A column squeue can print. Each has a `%` letter and/or `-O` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobField {
    Account,
    ArrayJobId,
    ArrayTaskId,
    BatchHost,
    Command,
    Comment,
    Contiguous,
    CoreSpec,
    Cores,
    CpusPerTask,
    Dependency,
    EligibleTime,
    EndTime,
    ExcNodes,
    ExitCode,
    Features,
    GroupId,
    GroupName,
    /// `%i`: `123`, `123_4`, `123_[5-9]`.
    JobArrayId,
    /// `%A` / `-O JobID`: the plain job id.
    JobId,
    Licenses,
    MinCpus,
    MinMemory,
    MinTmpDisk,
    Name,
    Nice,
    NodeList,
    NumCpus,
    NumNodes,
    NumTasks,
    OverSubscribe,
    Partition,
    Priority,
    PriorityLong,
    Qos,
    Reason,
    ReasonList,
    ReqNodes,
    Requeue,
    Reservation,
    RestartCnt,
    Sct,
    SchedNodes,
    Sockets,
    StartTime,
    State,
    StateCompact,
    StdErr,
    StdIn,
    StdOut,
    SubmitTime,
    Threads,
    TimeLeft,
    TimeLimit,
    TimeUsed,
    Tres,
    TresPerNode,
    UserId,
    UserName,
    Wckey,
    WorkDir,
}

const FIELDS: &[FieldDef<JobField>] = {
    use JobField as F;
    &[
        (F::Account, Some('a'), &["account"], "ACCOUNT", true),
        (F::JobId, Some('A'), &["jobid"], "JOBID", true),
        (
            F::TresPerNode,
            Some('b'),
            &["tres-per-node", "gres"],
            "TRES_PER_NODE",
            true,
        ),
        (F::BatchHost, Some('B'), &["batchhost"], "EXEC_HOST", true),
        (F::MinCpus, Some('c'), &["mincpus"], "MIN_CPUS", true),
        (F::NumCpus, Some('C'), &["numcpus"], "CPUS", true),
        (
            F::MinTmpDisk,
            Some('d'),
            &["mintmpdisk"],
            "MIN_TMP_DISK",
            true,
        ),
        (F::NumNodes, Some('D'), &["numnodes"], "NODES", true),
        (F::EndTime, Some('e'), &["endtime"], "END_TIME", true),
        (
            F::Dependency,
            Some('E'),
            &["dependency"],
            "DEPENDENCY",
            true,
        ),
        (F::Features, Some('f'), &["feature"], "FEATURES", true),
        (
            F::ArrayJobId,
            Some('F'),
            &["arrayjobid"],
            "ARRAY_JOB_ID",
            true,
        ),
        (F::GroupName, Some('g'), &["groupname"], "GROUP", true),
        (F::GroupId, Some('G'), &["groupid"], "GROUP", true),
        (
            F::OverSubscribe,
            Some('h'),
            &["oversubscribe", "shared"],
            "OVER_SUBSCRIBE",
            true,
        ),
        (
            F::Sockets,
            Some('H'),
            &["sockets"],
            "SOCKETS_PER_NODE",
            true,
        ),
        (F::JobArrayId, Some('i'), &["jobarrayid"], "JOBID", true),
        (F::Cores, Some('I'), &["cores"], "CORES_PER_SOCKET", true),
        (F::Name, Some('j'), &["name"], "NAME", true),
        (
            F::Threads,
            Some('J'),
            &["threads"],
            "THREADS_PER_CORE",
            true,
        ),
        (F::Comment, Some('k'), &["comment"], "COMMENT", true),
        (
            F::ArrayTaskId,
            Some('K'),
            &["arraytaskid"],
            "ARRAY_TASK_ID",
            true,
        ),
        (F::TimeLimit, Some('l'), &["timelimit"], "TIME_LIMIT", true),
        (F::TimeLeft, Some('L'), &["timeleft"], "TIME_LEFT", true),
        (F::MinMemory, Some('m'), &["minmemory"], "MIN_MEMORY", true),
        (F::TimeUsed, Some('M'), &["timeused"], "TIME", true),
        (F::ReqNodes, Some('n'), &["reqnodes"], "REQ_NODES", true),
        (F::NodeList, Some('N'), &["nodelist"], "NODELIST", false),
        (F::Command, Some('o'), &["command"], "COMMAND", true),
        (
            F::Contiguous,
            Some('O'),
            &["contiguous"],
            "CONTIGUOUS",
            true,
        ),
        (F::Priority, Some('p'), &["priority"], "PRIORITY", true),
        (F::Partition, Some('P'), &["partition"], "PARTITION", true),
        (F::Qos, Some('q'), &["qos"], "QOS", true),
        (
            F::PriorityLong,
            Some('Q'),
            &["prioritylong"],
            "PRIORITY",
            true,
        ),
        (F::Reason, Some('r'), &["reason"], "REASON", true),
        (
            F::ReasonList,
            Some('R'),
            &["reasonlist"],
            "NODELIST(REASON)",
            false,
        ),
        (F::StartTime, Some('S'), &["starttime"], "START_TIME", true),
        (F::StateCompact, Some('t'), &["statecompact"], "ST", true),
        (F::State, Some('T'), &["state"], "STATE", true),
        (F::UserId, Some('U'), &["userid"], "UID", true),
        (F::UserName, Some('u'), &["username"], "USER", true),
        (
            F::Reservation,
            Some('v'),
            &["reservation"],
            "RESERVATION",
            true,
        ),
        (
            F::SubmitTime,
            Some('V'),
            &["submittime"],
            "SUBMIT_TIME",
            true,
        ),
        (F::Wckey, Some('w'), &["wckey"], "WCKEY", true),
        (F::Licenses, Some('W'), &["licenses"], "LICENSES", true),
        (F::ExcNodes, Some('x'), &["excnodes"], "EXC_NODES", true),
        (F::CoreSpec, Some('X'), &["corespec"], "CORE_SPEC", true),
        (F::Nice, Some('y'), &["nice"], "NICE", true),
        (
            F::SchedNodes,
            Some('Y'),
            &["schednodes"],
            "SCHEDNODES",
            false,
        ),
        (F::Sct, Some('z'), &["sct"], "S:C:T", true),
        (F::WorkDir, Some('Z'), &["workdir"], "WORK_DIR", true),
        (
            F::CpusPerTask,
            None,
            &["cpuspertask", "cpus-per-task"],
            "CPUS_PER_TASK",
            true,
        ),
        (
            F::EligibleTime,
            None,
            &["eligibletime"],
            "ELIGIBLE_TIME",
            true,
        ),
        (F::ExitCode, None, &["exit_code"], "EXIT_CODE", true),
        (F::NumTasks, None, &["numtasks"], "TASKS", true),
        (F::Requeue, None, &["requeue"], "REQUEUE", true),
        (F::RestartCnt, None, &["restartcnt"], "RESTARTCNT", true),
        (F::StdErr, None, &["stderr"], "STDERR", true),
        (F::StdIn, None, &["stdin"], "STDIN", true),
        (F::StdOut, None, &["stdout"], "STDOUT", true),
        (F::Tres, None, &["tres", "tres-alloc"], "TRES_ALLOC", true),
    ]
};

impl FieldTable for JobField {
    const FIELDS: &'static [FieldDef<Self>] = FIELDS;
}

/// squeue reports format errors through Slurm's `error()`: `squeue: error: ...`.
const ERROR_PREFIX: &str = "squeue: error: ";

/// Parses a `-o` format (`%.18i %.9P ...`). Errors are squeue's stderr lines.
pub fn parse_format(format: &str) -> Parsed<JobField> {
    fields::parse_percent(format, "job", JobField::from_code).prefixed(ERROR_PREFIX)
}

/// Parses a `-O` field list (`JobID,Partition:.9,Name:20|`). Errors are squeue's stderr
/// lines.
pub fn parse_format_long(format: &str) -> Parsed<JobField> {
    fields::parse_long(format, "job", JobField::from_name).prefixed(ERROR_PREFIX)
}

/// Which layout `squeue` was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Style {
    #[default]
    Default,
    /// `-l`: the long layout, preceded by a date line.
    Long,
    /// `--start`: expected start times (callers pass pending jobs only, see [`sort_start`]).
    Start,
    /// `-o FORMAT`.
    Format(String),
    /// `-O FIELDS`.
    FormatLong(String),
}

/// squeue's options that shape its output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub style: Style,
    /// `-h`.
    pub no_header: bool,
}

/// What squeue prints: the table, and the error lines for its stderr (unknown format codes).
pub use super::fields::Printed as Output;

/// Runs squeue's printing for `jobs` (already filtered and sorted).
pub fn squeue<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
    options: &Options,
    env: &FormatEnv,
) -> Output {
    let parsed = match &options.style {
        Style::Default => parse_format(DEFAULT_FORMAT),
        Style::Long => parse_format(LONG_FORMAT),
        Style::Start => parse_format(START_FORMAT),
        Style::Format(f) => parse_format(f),
        Style::FormatLong(f) => parse_format_long(f),
    };
    let mut stdout = String::new();
    if options.style == Style::Long && !options.no_header {
        stdout.push_str(&env.date_line());
        stdout.push('\n');
    }
    stdout.push_str(&render(jobs, &parsed.layout, !options.no_header, env));
    Output {
        stdout,
        stderr: parsed.errors,
    }
}

/// Renders jobs with a parsed layout, with or without the header line.
pub fn render<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
    layout: &Layout<JobField>,
    header: bool,
    env: &FormatEnv,
) -> String {
    let mut out = String::new();
    if header {
        fields::render_header(&mut out, layout, |c| c.width);
    }
    for job in jobs {
        fields::render_line(&mut out, layout, |c| c.width, |f, _| value(job, f, env));
    }
    out
}

/// One job's value for a field, and whether Slurm cuts it to the column width.
pub fn value(job: &Job, field: JobField, env: &FormatEnv) -> (String, bool) {
    use JobField as F;
    let cut = |s: String| (s, true);
    match field {
        F::TimeUsed => (timefmt::elapsed(ji::time_used(job, env.now)), false),
        F::TimeLimit => (limit(job.time_limit), false),
        F::TimeLeft => (time_left(job, env.now), false),
        F::NodeList | F::ReqNodes | F::ExcNodes => (nodes_value(job, field), false),
        F::ReasonList => ji::reason_list(job),
        F::SchedNodes => ("(null)".to_owned(), false),
        F::StartTime => cut(env.iso_or_na(ji::start_time(job))),
        F::EndTime => cut(end_time(job, env)),
        F::SubmitTime => cut(env.iso(job.submit_time)),
        F::EligibleTime => cut(env.iso_or_na(job.eligible_time)),
        _ => cut(plain_value(job, field, env)),
    }
}

/// Values printed with the ordinary "cut to width" rule.
fn plain_value(job: &Job, field: JobField, env: &FormatEnv) -> String {
    use JobField as F;
    match field {
        F::JobArrayId => ji::job_id_text(job),
        F::JobId => job.id.to_string(),
        F::ArrayJobId => job
            .array_job_id
            .filter(|_| ji::is_array(job))
            .unwrap_or(job.id)
            .to_string(),
        F::ArrayTaskId => ji::array_task_text(job, true).unwrap_or_else(|| "N/A".to_owned()),
        F::Partition => job.partition.clone(),
        F::Name => job.spec.name.clone(),
        F::UserName => ji::user_name(job),
        F::UserId => job.spec.uid.to_string(),
        F::GroupName => ji::group_name(job, env),
        F::GroupId => job.spec.gid.to_string(),
        F::Account => or_null(&job.spec.account),
        F::Qos => or_null(&job.spec.qos),
        F::State => job.state_name().to_owned(),
        F::StateCompact => job.state_short().to_owned(),
        F::Reason => ji::reason_text(job).to_owned(),
        F::NumNodes => ji::num_nodes(job).to_string(),
        F::NumCpus => ji::num_cpus(job).to_string(),
        F::NumTasks => job.spec.ntasks.to_string(),
        F::MinCpus => ji::min_cpus_per_node(job).to_string(),
        F::CpusPerTask => job.spec.cpus_per_task.to_string(),
        F::MinMemory => ji::min_memory_text(job, env),
        F::MinTmpDisk => "0".to_owned(),
        F::Priority => format!("{:16.14}", f64::from(job.priority) / f64::from(u32::MAX)),
        F::PriorityLong => job.priority.to_string(),
        F::Dependency => ji::dependency_text(job),
        F::Features => features(job),
        F::TresPerNode => ji::tres_per_node(job).unwrap_or_else(|| "N/A".to_owned()),
        F::Tres => ji::tres_text(job, env),
        F::BatchHost => batch_host(job),
        F::OverSubscribe => share_text(job).to_owned(),
        F::Contiguous => "0".to_owned(),
        F::RestartCnt => job.restarts.to_string(),
        F::Requeue => u8::from(job.spec.requeue.unwrap_or(true)).to_string(),
        F::ExitCode => exit_code(job),
        F::Comment => job
            .spec
            .comment
            .clone()
            .unwrap_or_else(|| "(null)".to_owned()),
        F::Command => env
            .job(job.id)
            .command
            .clone()
            .unwrap_or_else(|| "(null)".to_owned()),
        F::WorkDir => job.spec.work_dir.clone(),
        F::StdOut => ji::stdout_path(job),
        F::StdErr => ji::stderr_path(job),
        F::StdIn => ji::stdin_path(job),
        F::Nice => job.spec.nice.to_string(),
        F::Reservation | F::Wckey | F::Licenses => "(null)".to_owned(),
        F::CoreSpec => "N/A".to_owned(),
        F::Sockets | F::Cores | F::Threads => "*".to_owned(),
        F::Sct => "*:*:*".to_owned(),
        // Handled in `value`.
        F::TimeUsed
        | F::TimeLimit
        | F::TimeLeft
        | F::NodeList
        | F::ReqNodes
        | F::ExcNodes
        | F::ReasonList
        | F::SchedNodes
        | F::StartTime
        | F::EndTime
        | F::SubmitTime
        | F::EligibleTime => value(job, field, env).0,
    }
}

fn or_null(s: &str) -> String {
    if s.is_empty() {
        "(null)".to_owned()
    } else {
        s.to_owned()
    }
}

/// `%l`: `UNLIMITED` or squeue's elapsed spelling.
fn limit(limit: TimeLimit) -> String {
    match limit {
        TimeLimit::Infinite => "UNLIMITED".to_owned(),
        TimeLimit::Seconds(s) => timefmt::elapsed(i64::try_from(s).unwrap_or(i64::MAX)),
    }
}

fn time_left(job: &Job, now: Timestamp) -> String {
    match job.time_limit {
        TimeLimit::Infinite => "UNLIMITED".to_owned(),
        TimeLimit::Seconds(s) => {
            let s = i64::try_from(s).unwrap_or(i64::MAX);
            timefmt::elapsed(s.saturating_sub(ji::time_used(job, now)))
        }
    }
}

/// `%e`: `NONE` for jobs that run without end, `N/A` when unknown, else the time.
fn end_time(job: &Job, env: &FormatEnv) -> String {
    if ji::ends_never(job, env.now) {
        return "NONE".to_owned();
    }
    match ji::end_time(job) {
        EndTime::At(t) => env.iso_or_na(Some(t)),
        EndTime::Never | EndTime::Unset => "N/A".to_owned(),
    }
}

fn nodes_value(job: &Job, field: JobField) -> String {
    match field {
        JobField::ReqNodes => hostlist::compress(&job.spec.required_nodes),
        JobField::ExcNodes => hostlist::compress(&job.spec.excluded_nodes),
        _ => ji::node_list(job),
    }
}

fn features(job: &Job) -> String {
    if job.spec.constraint.is_empty() {
        "(null)".to_owned()
    } else {
        job.spec.constraint.join("&")
    }
}

fn batch_host(job: &Job) -> String {
    job.allocation
        .first()
        .map_or_else(|| "n/a".to_owned(), |a| a.node.clone())
}

/// Slurm's `job_share_string`: `NO` for `--exclusive`, `OK` otherwise.
pub(super) fn share_text(job: &Job) -> &'static str {
    if job.spec.exclusive { "NO" } else { "OK" }
}

/// Slurm's `%o`-style raw exit code (`exit_code` as a wait status: code << 8 | signal).
fn exit_code(job: &Job) -> String {
    job.exit
        .map_or(0, |e| (e.code & 0xff) << 8 | (e.signal & 0x7f))
        .to_string()
}

/// squeue's default order (`-S P,t,-p`): partition name, then compact state (`CA` < `CD` <
/// `F` < `PD` < `R` ...), then priority, highest first. As squeue does, the list is first
/// sorted by start time (latest first) so that ties keep a meaningful order; remaining ties
/// keep the input order (Slurm keeps the controller's job-table order).
pub fn sort_default(jobs: &mut [&Job], now: Timestamp) {
    jobs.sort_by_key(|j| std::cmp::Reverse(sort_start_key(j, now)));
    jobs.sort_by(|a, b| {
        a.partition
            .cmp(&b.partition)
            .then_with(|| a.state.short().cmp(b.state.short()))
            .then_with(|| b.priority.cmp(&a.priority))
    });
}

/// `--start`'s order (`-S S`): expected start time, earliest first, jobs without one last
/// (ties by job id).
pub fn sort_start(jobs: &mut [&Job]) {
    jobs.sort_by(|a, b| compare_start(a, b).then_with(|| a.id.cmp(&b.id)));
}

fn compare_start(a: &Job, b: &Job) -> Ordering {
    match (ji::start_time(a), ji::start_time(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// squeue's `_get_start_time`: unknown starts count as `now + 100`, overdue pending ones as
/// `now`.
fn sort_start_key(job: &Job, now: Timestamp) -> Timestamp {
    match ji::start_time(job) {
        None | Some(0) => now.saturating_add(100),
        Some(t) if job.state == JobState::Pending && t < now => now,
        Some(t) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArraySpec, JobSpec, NodeAllocation, PendingReason};

    fn job(id: u32, state: JobState, partition: &str, priority: u32) -> Job {
        let spec = JobSpec {
            name: format!("job{id}"),
            user: "alice".into(),
            work_dir: "/home/alice".into(),
            ..JobSpec::default()
        };
        Job {
            priority,
            partition: partition.into(),
            time_limit: TimeLimit::minutes(60),
            submit_time: 1000,
            eligible_time: Some(1000),
            ..crate::format::testing::job(id, state, spec)
        }
    }

    fn running(id: u32, nodes: &[&str]) -> Job {
        let mut j = job(id, JobState::Running, "batch", 10);
        j.start_time = Some(1000);
        j.allocation = nodes
            .iter()
            .map(|n| NodeAllocation {
                node: (*n).into(),
                cpus: 4,
                mem_mb: 1024,
                gres: vec![],
            })
            .collect();
        j
    }

    #[test]
    fn every_field_has_a_definition_and_codes_are_unique() {
        for d in FIELDS {
            assert_eq!(d.0.def().0, d.0);
            if let Some(c) = d.1 {
                assert_eq!(JobField::from_code(c), Some(d.0), "{c}");
            }
            for n in d.2 {
                assert_eq!(JobField::from_name(n), Some(d.0), "{n}");
            }
        }
        assert_eq!(JobField::from_name("JobID"), Some(JobField::JobId));
        assert_eq!(JobField::from_code('!'), None);
    }

    #[test]
    fn default_layout_rows() {
        let env = FormatEnv::new(1034, 0);
        let mut pending = job(8, JobState::Pending, "batch", 5);
        pending.reason = PendingReason::Resources;
        pending.spec.min_nodes = 2;
        let jobs = [pending, running(3, &["n1", "n2", "n3"])];
        let out = squeue(&jobs, &Options::default(), &env);
        assert_eq!(
            out.stdout,
            "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n\
             \x20                8     batch     job8    alice PD       0:00      2 (Resources)\n\
             \x20                3     batch     job3    alice  R       0:34      3 n[1-3]\n"
        );
        assert!(out.stderr.is_empty());
    }

    #[test]
    fn no_header_and_long_date_line() {
        let env = FormatEnv::new(1_795_610_668, 0);
        let jobs = [running(3, &["vm"])];
        let long = squeue(
            &jobs,
            &Options {
                style: Style::Long,
                no_header: false,
            },
            &env,
        );
        assert!(long.stdout.starts_with("Wed Nov 25 12:44:28 2026\n"));
        let bare = squeue(
            &jobs,
            &Options {
                style: Style::Long,
                no_header: true,
            },
            &env,
        );
        assert!(bare.stdout.starts_with("                 3"));
        assert_eq!(bare.stdout.lines().count(), 1);
    }

    #[test]
    fn custom_formats_and_unknown_codes() {
        let env = FormatEnv::new(1034, 0);
        let jobs = [running(3, &["vm"])];
        let opts = Options {
            style: Style::Format("%-6i|%5j|%.4T|%q|%!x".into()),
            no_header: false,
        };
        let out = squeue(&jobs, &opts, &env);
        assert_eq!(
            out.stdout,
            "JOBID |NAME |STAT|QOS|%!x\n3     |job3 |RUNN|(null)|%!x\n"
        );
        assert_eq!(
            out.stderr,
            vec!["squeue: error: Invalid job format specification: !"]
        );
    }

    #[test]
    fn long_field_names() {
        let env = FormatEnv::new(1034, 0);
        let jobs = [running(3, &["vm"])];
        let opts = Options {
            style: Style::FormatLong("jobid:6,STATE:.8,NumNodes:3 ,reasonlist".into()),
            no_header: false,
        };
        let out = squeue(&jobs, &opts, &env);
        assert_eq!(
            out.stdout,
            "JOBID    STATENOD NODELIST(REASON)    \n3      RUNNING1   vm                  \n"
        );
    }

    #[test]
    fn array_records() {
        let env = FormatEnv::new(1034, 0);
        let mut rec = job(20, JobState::Pending, "batch", 1);
        rec.array_job_id = Some(20);
        rec.array_pending = Some(ArraySpec {
            indices: vec![5, 6, 7, 8, 9],
            max_running: Some(2),
        });
        rec.reason = PendingReason::JobArrayTaskLimit;
        let mut task = running(24, &["vm"]);
        task.array_job_id = Some(20);
        task.array_task_id = Some(4);
        let layout = parse_format("%i %F %K %A %R").layout;
        let out = render([&rec, &task], &layout, false, &env);
        assert_eq!(
            out,
            "20_[5-9%2] 20 5-9%2 20 (JobArrayTaskLimit)\n20_4 20 4 24 vm\n"
        );
    }

    #[test]
    fn times_and_limits() {
        let env = FormatEnv::new(1000 + 365 * 86400, 0);
        let mut j = running(3, &["vm"]);
        j.time_limit = TimeLimit::Seconds(365 * 86400);
        let layout = parse_format("%.9l|%.5M|%L|%e").layout;
        let out = render([&j], &layout, false, &env);
        assert_eq!(out, "365-00:00:00|365-00:00:00|0:00|1971-01-01T00:16:40\n");
    }

    #[test]
    fn default_sort_order() {
        let mut a = job(1, JobState::Running, "batch", 5);
        a.start_time = Some(10);
        let b = job(2, JobState::Pending, "batch", 1);
        let c = job(3, JobState::Pending, "batch", 9);
        let d = job(4, JobState::Pending, "alpha", 1);
        let jobs = [a, b, c, d];
        let mut refs: Vec<&Job> = jobs.iter().collect();
        sort_default(&mut refs, 1000);
        let ids: Vec<u32> = refs.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![4, 3, 2, 1]);
    }

    #[test]
    fn start_sort_order() {
        let mut a = job(1, JobState::Pending, "batch", 5);
        a.planned_start = Some(500);
        let b = job(2, JobState::Pending, "batch", 1);
        let mut c = job(3, JobState::Pending, "batch", 9);
        c.planned_start = Some(200);
        let jobs = [b, a, c];
        let mut refs: Vec<&Job> = jobs.iter().collect();
        sort_start(&mut refs);
        let ids: Vec<u32> = refs.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![3, 1, 2]);
    }
}
