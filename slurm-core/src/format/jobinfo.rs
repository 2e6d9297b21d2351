//! Facts derived from a [`Job`] the way Slurm's job record presents them (shared by squeue and
//! `scontrol show job`).

use super::{FormatEnv, mem_exact};
use crate::model::{
    Dependency, Gres, Job, JobState, MemRequest, PendingReason, TimeLimit, Timestamp,
};
use crate::parse::hostlist;

/// The job id as squeue's `%i` prints it: `123`, `123_4` for an array task, `123_[5-9%2]` for
/// an array's pending record.
pub fn job_id_text(job: &Job) -> String {
    if let Some(spec) = pending_array(job) {
        return format!("{}_[{spec}]", job.array_job_id.unwrap_or(job.id));
    }
    job.job_ref().to_string()
}

/// The pending record's task list, when this job is one (`None` for tasks and plain jobs).
pub(super) fn pending_array(job: &Job) -> Option<&crate::model::ArraySpec> {
    job.array_pending.as_ref().filter(|s| !s.indices.is_empty())
}

/// The array task field (`%K`, `ArrayTaskId=`): `5-9%2` for a pending record, `4` for a task.
pub(super) fn array_task_text(job: &Job, with_throttle: bool) -> Option<String> {
    if let Some(spec) = pending_array(job) {
        let mut spec = spec.clone();
        if !with_throttle {
            spec.max_running = None;
        }
        return Some(spec.to_string());
    }
    job.array_task_id.map(|t| t.to_string())
}

/// True for array tasks and array pending records.
pub(super) fn is_array(job: &Job) -> bool {
    pending_array(job).is_some() || job.array_task_id.is_some()
}

/// The job's state reason as Slurm names it (`%r`, `Reason=`).
///
/// Ended jobs whose reason was cleared get the reason Slurm records when a job ends badly:
/// `NonZeroExitCode` (FAILED), `TimeLimit` (TIMEOUT), `NodeDown` (NODE_FAIL), `OutOfMemory`,
/// `BootFail`, `DeadLine`.
pub fn reason_text(job: &Job) -> &'static str {
    if job.reason != PendingReason::None {
        return job.reason.as_str();
    }
    match job.state {
        JobState::Failed => "NonZeroExitCode",
        JobState::Timeout => "TimeLimit",
        JobState::NodeFail => "NodeDown",
        JobState::OutOfMemory => "OutOfMemory",
        JobState::BootFail => "BootFail",
        JobState::Deadline => "DeadLine",
        _ => "None",
    }
}

/// squeue's NODELIST(REASON): `(Reason)` for pending jobs and jobs that ended badly, else the
/// compressed node list.
pub(super) fn reason_list(job: &Job) -> (String, bool) {
    let shows_reason = matches!(
        job.state,
        JobState::Pending
            | JobState::Timeout
            | JobState::OutOfMemory
            | JobState::Deadline
            | JobState::Failed
    );
    if shows_reason {
        (format!("({})", reason_text(job)), true)
    } else {
        (node_list(job), false)
    }
}

/// The allocated nodes, compressed (`vm`, `n[1-4]`); empty before the job starts.
pub(super) fn node_list(job: &Job) -> String {
    hostlist::compress(&job.node_names())
}

/// `NumNodes`: allocated nodes once started, else the requested minimum.
pub(super) fn num_nodes(job: &Job) -> u32 {
    if job.allocation.is_empty() {
        job.spec.min_nodes.max(1)
    } else {
        u32::try_from(job.allocation.len()).unwrap_or(u32::MAX)
    }
}

/// `NumCPUs`: allocated CPUs once started, else tasks × CPUs per task.
pub(super) fn num_cpus(job: &Job) -> u32 {
    if job.allocation.is_empty() {
        requested_cpus(job)
    } else {
        job.allocation
            .iter()
            .map(|a| a.cpus)
            .fold(0, u32::saturating_add)
    }
}

pub(crate) fn requested_cpus(job: &Job) -> u32 {
    job.spec
        .ntasks
        .max(1)
        .saturating_mul(job.spec.cpus_per_task.max(1))
}

/// `MinCPUsNode` / `%c`: CPUs per task (times tasks per node when given).
pub(super) fn min_cpus_per_node(job: &Job) -> u32 {
    let cpt = job.spec.cpus_per_task.max(1);
    job.spec
        .ntasks_per_node
        .map_or(cpt, |n| cpt.saturating_mul(n.max(1)))
}

/// Seconds the job has run (`%M`, `RunTime=`): 0 while pending, up to `now` while running,
/// up to the end once ended. (A suspended job counts until `now`: suspension time is not
/// modelled.)
pub(super) fn time_used(job: &Job, now: Timestamp) -> i64 {
    let Some(start) = job.start_time else {
        return 0;
    };
    if job.state == JobState::Pending {
        return 0;
    }
    let end = if job.state.is_finished() {
        job.end_time.unwrap_or(now)
    } else {
        now
    };
    end.saturating_sub(start).max(0)
}

/// The start time squeue and scontrol show: the actual start, or the planned one while
/// pending.
pub(super) fn start_time(job: &Job) -> Option<Timestamp> {
    if job.state == JobState::Pending {
        job.planned_start
    } else {
        job.start_time
    }
}

/// When the job ends (or is expected to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndTime {
    /// Not known (Slurm's 0).
    Unset,
    /// Never, as far as anyone knows: started (or planned) with an infinite limit.
    Never,
    At(Timestamp),
}

pub(super) fn end_time(job: &Job) -> EndTime {
    if job.state.is_finished() {
        return job.end_time.map_or(EndTime::Unset, EndTime::At);
    }
    let from = if job.state == JobState::Pending {
        job.planned_start
    } else {
        job.end_time.or(job.start_time)
    };
    match (from, job.time_limit) {
        (None, _) => EndTime::Unset,
        (Some(t), _) if job.end_time == Some(t) => EndTime::At(t),
        (Some(_), TimeLimit::Infinite) => EndTime::Never,
        (Some(t), TimeLimit::Seconds(s)) => {
            EndTime::At(t.saturating_add(i64::try_from(s).unwrap_or(i64::MAX)))
        }
    }
}

/// True when Slurm would say the end is in the unbounded future (`NONE`, `EndTime=Unknown`).
pub(super) fn ends_never(job: &Job, now: Timestamp) -> bool {
    match end_time(job) {
        EndTime::Never => true,
        EndTime::At(t) => job.time_limit == TimeLimit::Infinite && t > now,
        EndTime::Unset => false,
    }
}

/// The dependency string (`%E`, `Dependency=`): `(null)` once satisfied or when there is
/// none, else each condition with `(unfulfilled)` / `(failed)` appended.
pub(super) fn dependency_text(job: &Job) -> String {
    let deps = &job.spec.dependency;
    let status = match job.reason {
        PendingReason::Dependency => "(unfulfilled)",
        PendingReason::DependencyNeverSatisfied => "(failed)",
        _ => return "(null)".to_owned(),
    };
    if deps.is_empty() || job.state != JobState::Pending {
        return "(null)".to_owned();
    }
    let sep = if deps.any { "?" } else { "," };
    deps.conditions
        .iter()
        .map(|d: &Dependency| format!("{d}{status}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The memory request: (per CPU?, MiB). `--mem=0` and no request without a default are
/// `(false, 0)`.
pub(super) fn mem_request(job: &Job, env: &FormatEnv) -> (bool, u64) {
    match job.spec.mem {
        MemRequest::PerNode(mb) => (false, mb),
        MemRequest::PerCpu(mb) => (true, mb),
        MemRequest::WholeNode => (false, 0),
        MemRequest::Default => env.def_mem_per_cpu_mb.map_or((false, 0), |mb| (true, mb)),
    }
}

/// `MIN_MEMORY` / `MinMemoryCPU=`: the request in exact units (`100M`, `0`).
pub(super) fn min_memory_text(job: &Job, env: &FormatEnv) -> String {
    mem_exact(mem_request(job, env).1)
}

/// The job's TRES string (`TRES=`): allocated resources once started, else the request.
pub(super) fn tres_text(job: &Job, env: &FormatEnv) -> String {
    let nodes = u64::from(num_nodes(job));
    let cpus = u64::from(num_cpus(job));
    let (mem, gres) = if job.allocation.is_empty() {
        (requested_mem(job, env), requested_gres(job))
    } else {
        let mem = job
            .allocation
            .iter()
            .map(|a| a.mem_mb)
            .fold(0, u64::saturating_add);
        let gres: Vec<Gres> = job.allocation.iter().flat_map(|a| a.gres.clone()).collect();
        (mem, gres)
    };
    tres_line(cpus, mem, Some(nodes), cpus, &gres)
}

pub(crate) fn requested_mem(job: &Job, env: &FormatEnv) -> u64 {
    let (per_cpu, mb) = mem_request(job, env);
    let times = if per_cpu {
        u64::from(requested_cpus(job))
    } else {
        u64::from(job.spec.min_nodes.max(1))
    };
    mb.saturating_mul(times)
}

pub(crate) fn requested_gres(job: &Job) -> Vec<Gres> {
    let nodes = u64::from(job.spec.min_nodes.max(1));
    let tasks = u64::from(job.spec.ntasks.max(1));
    let per_node = job.spec.gres_per_node.iter().chain(&job.spec.gpus.per_node);
    let mut out: Vec<Gres> = per_node
        .map(|g| Gres {
            count: g.count.saturating_mul(nodes),
            ..g.clone()
        })
        .collect();
    out.extend(job.spec.gpus.per_job.iter().cloned());
    out.extend(job.spec.gpus.per_task.iter().map(|g| Gres {
        count: g.count.saturating_mul(tasks),
        ..g.clone()
    }));
    out
}

/// A TRES string in Slurm's order: `cpu=…,mem=…,node=…,billing=…,gres/NAME=…`. Zero memory
/// is left out; GRES counts of the same name are added up (typed GRES count toward their
/// name, as `gres/gpu` does).
pub(super) fn tres_line(
    cpus: u64,
    mem_mb: u64,
    nodes: Option<u64>,
    billing: u64,
    gres: &[Gres],
) -> String {
    let mut parts = vec![format!("cpu={cpus}")];
    if mem_mb > 0 {
        parts.push(format!("mem={}", mem_exact(mem_mb)));
    }
    if let Some(n) = nodes {
        parts.push(format!("node={n}"));
    }
    parts.push(format!("billing={billing}"));
    parts.extend(
        gres_totals(gres)
            .into_iter()
            .map(|(n, c)| format!("gres/{n}={c}")),
    );
    parts.join(",")
}

/// GRES counts summed by name, in first-seen order.
pub(crate) fn gres_totals(gres: &[Gres]) -> Vec<(String, u64)> {
    let mut totals: Vec<(String, u64)> = Vec::new();
    for g in gres {
        match totals.iter_mut().find(|(n, _)| *n == g.name) {
            Some(entry) => entry.1 = entry.1.saturating_add(g.count),
            None => totals.push((g.name.clone(), g.count)),
        }
    }
    totals
}

/// A GRES list in TRES-per-X syntax: `gres:gpu:2,gres:gpu:a100:1`.
pub(super) fn tres_per(gres: &[Gres]) -> Option<String> {
    if gres.is_empty() {
        return None;
    }
    let parts: Vec<String> = gres.iter().map(|g| format!("gres:{g}")).collect();
    Some(parts.join(","))
}

/// `TresPerNode` / `%b`.
pub(super) fn tres_per_node(job: &Job) -> Option<String> {
    let gres: Vec<Gres> = job
        .spec
        .gres_per_node
        .iter()
        .chain(&job.spec.gpus.per_node)
        .cloned()
        .collect();
    tres_per(&gres)
}

/// The group a job runs as.
pub(super) fn group_name(job: &Job, env: &FormatEnv) -> String {
    env.group_name(job.spec.gid)
}

/// The user name, or the uid when the name is unknown.
pub(super) fn user_name(job: &Job) -> String {
    if job.spec.user.is_empty() {
        job.spec.uid.to_string()
    } else {
        job.spec.user.clone()
    }
}

/// Replaces `%A %a %j %u %x %%` in a stdio pattern and makes it absolute against the working
/// directory (`_fname_format`). Width modifiers (`%4j`) are honoured for numbers.
pub(super) fn expand_stdio(pattern: &str, job: &Job) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut width = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            width.push(d);
            chars.next();
        }
        let w: usize = width.parse::<usize>().unwrap_or(0).min(10);
        match chars.next() {
            Some('%') => out.push('%'),
            Some(code) => {
                out.push_str(&stdio_code(code, w, job).unwrap_or_else(|| format!("%{width}{code}")))
            }
            None => {
                out.push('%');
                out.push_str(&width);
            }
        }
    }
    if out.starts_with('/') {
        out
    } else {
        format!("{}/{out}", job.spec.work_dir)
    }
}

fn stdio_code(code: char, width: usize, job: &Job) -> Option<String> {
    let num = |n: u32| format!("{n:0width$}");
    Some(match code {
        'A' => num(job.array_job_id.unwrap_or(job.id)),
        'a' => num(job.array_task_id.unwrap_or(u32::MAX - 1)),
        'j' => num(job.id),
        'u' => user_name(job),
        'x' => job.spec.name.clone(),
        _ => return None,
    })
}

/// `StdOut=`: the pattern, else `WORKDIR/slurm-%j.out` (`slurm-%A_%a.out` for arrays).
pub(super) fn stdout_path(job: &Job) -> String {
    match &job.spec.stdout {
        Some(p) => expand_stdio(p, job),
        None => default_out(job),
    }
}

/// `StdErr=`: its own pattern, else the stdout path.
pub(super) fn stderr_path(job: &Job) -> String {
    match &job.spec.stderr {
        Some(p) => expand_stdio(p, job),
        None => stdout_path(job),
    }
}

/// `StdIn=`: its pattern, else `/dev/null`.
pub(super) fn stdin_path(job: &Job) -> String {
    job.spec
        .stdin
        .as_deref()
        .map_or_else(|| "/dev/null".to_owned(), |p| expand_stdio(p, job))
}

fn default_out(job: &Job) -> String {
    match (job.array_job_id, job.array_task_id) {
        (Some(a), Some(t)) => format!("{}/slurm-{a}_{t}.out", job.spec.work_dir),
        _ => format!("{}/slurm-{}.out", job.spec.work_dir, job.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArraySpec, DependencySpec, JobSpec, NodeAllocation};

    fn job(id: u32, state: JobState) -> Job {
        let spec = JobSpec {
            name: "wrap".into(),
            user: "root".into(),
            work_dir: "/tmp".into(),
            ..JobSpec::default()
        };
        Job {
            submit_time: 100,
            eligible_time: Some(100),
            ..crate::format::testing::job(id, state, spec)
        }
    }

    #[test]
    fn array_ids() {
        let mut j = job(7, JobState::Pending);
        j.array_job_id = Some(7);
        j.array_pending = Some(ArraySpec {
            indices: vec![5, 6, 7, 8, 9],
            max_running: Some(2),
        });
        assert_eq!(job_id_text(&j), "7_[5-9%2]");
        assert_eq!(array_task_text(&j, false).as_deref(), Some("5-9"));
        let mut t = job(12, JobState::Running);
        t.array_job_id = Some(7);
        t.array_task_id = Some(4);
        assert_eq!(job_id_text(&t), "7_4");
        assert!(is_array(&t));
        assert_eq!(job_id_text(&job(3, JobState::Running)), "3");
    }

    #[test]
    fn reasons_and_end_times() {
        let mut j = job(1, JobState::Failed);
        assert_eq!(reason_text(&j), "NonZeroExitCode");
        assert_eq!(reason_list(&j).0, "(NonZeroExitCode)");
        j.state = JobState::Running;
        j.start_time = Some(1000);
        j.allocation.push(NodeAllocation {
            node: "n1".into(),
            cpus: 2,
            mem_mb: 200,
            gres: vec![],
        });
        assert_eq!(reason_list(&j).0, "n1");
        assert_eq!(end_time(&j), EndTime::Never);
        j.time_limit = TimeLimit::minutes(30);
        assert_eq!(end_time(&j), EndTime::At(2800));
        assert_eq!(time_used(&j, 1034), 34);
        let p = job(2, JobState::Pending);
        assert_eq!(end_time(&p), EndTime::Unset);
        assert_eq!(time_used(&p, 5000), 0);
    }

    #[test]
    fn dependency_strings() {
        let mut j = job(3, JobState::Pending);
        assert_eq!(dependency_text(&j), "(null)");
        j.spec.dependency = DependencySpec {
            conditions: vec![Dependency::AfterOk(1), Dependency::Singleton],
            any: false,
        };
        j.reason = PendingReason::Dependency;
        assert_eq!(
            dependency_text(&j),
            "afterok:1(unfulfilled),singleton(unfulfilled)"
        );
        j.reason = PendingReason::Priority;
        assert_eq!(dependency_text(&j), "(null)");
    }

    #[test]
    fn stdio_patterns() {
        let mut j = job(42, JobState::Pending);
        assert_eq!(stdout_path(&j), "/tmp/slurm-42.out");
        assert_eq!(stderr_path(&j), "/tmp/slurm-42.out");
        assert_eq!(stdin_path(&j), "/dev/null");
        j.spec.stdout = Some("out-%x-%5j.%u.%%.%q%".into());
        assert_eq!(stdout_path(&j), "/tmp/out-wrap-00042.root.%.%q%");
        j.spec.stderr = Some("/dev/null".into());
        assert_eq!(stderr_path(&j), "/dev/null");
    }

    #[test]
    fn tres_strings() {
        let mut j = job(1, JobState::Pending);
        j.spec.ntasks = 64;
        let mut env = FormatEnv::new(0, 0);
        assert_eq!(tres_text(&j, &env), "cpu=64,node=1,billing=64");
        env.def_mem_per_cpu_mb = Some(100);
        assert_eq!(tres_text(&j, &env), "cpu=64,mem=6400M,node=1,billing=64");
        j.spec.gpus.per_node = Some(Gres::new("gpu", Some("a100"), 2));
        assert!(tres_text(&j, &env).ends_with(",gres/gpu=2"));
        assert_eq!(tres_per_node(&j).as_deref(), Some("gres:gpu:a100:2"));
    }
}
