//! Jobs: what a user asks for ([`JobSpec`]) and what the controller knows about it ([`Job`]).

use super::{Gres, JobState, PendingReason, TimeLimit, Timestamp};
use std::fmt;

/// A job id as Slurm numbers them (JobIdRaw). Array tasks get their own ids once split off.
pub type JobId = u32;

/// How a job names itself in `squeue`/`sacct`: `123`, or `123_4` for array task 4 of 123.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct JobRef {
    pub job_id: JobId,
    pub array_task: Option<u32>,
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.array_task {
            Some(task) => write!(f, "{}_{}", self.job_id, task),
            None => write!(f, "{}", self.job_id),
        }
    }
}

/// `--mem`, `--mem-per-cpu`, or nothing (partition default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum MemRequest {
    /// No request: the partition's DefMemPerCPU applies, else nothing is reserved.
    #[default]
    Default,
    /// `--mem=N` (MiB per node). `--mem=0` is [`MemRequest::WholeNode`].
    PerNode(u64),
    /// `--mem-per-cpu=N` (MiB).
    PerCpu(u64),
    /// `--mem=0`: all the memory of each allocated node.
    WholeNode,
}

/// GPUs requested through `--gpus`, `--gpus-per-node` or `--gpus-per-task` (`--gres` lands in
/// [`JobSpec::gres_per_node`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct GpuRequest {
    pub per_job: Option<Gres>,
    pub per_node: Option<Gres>,
    pub per_task: Option<Gres>,
}

/// One dependency condition (`afterok:123`, `singleton`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Dependency {
    /// `after:ID`: once the job has started (or was cancelled).
    After(JobId),
    /// `afterany:ID`: once the job has ended, however it ended.
    AfterAny(JobId),
    /// `afterok:ID`: once the job completed with exit code 0.
    AfterOk(JobId),
    /// `afternotok:ID`: once the job failed, timed out, was cancelled or hit a node failure.
    AfterNotOk(JobId),
    /// `singleton`: no other job with this name and user is running or pending ahead.
    Singleton,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::After(id) => write!(f, "after:{id}"),
            Self::AfterAny(id) => write!(f, "afterany:{id}"),
            Self::AfterOk(id) => write!(f, "afterok:{id}"),
            Self::AfterNotOk(id) => write!(f, "afternotok:{id}"),
            Self::Singleton => f.write_str("singleton"),
        }
    }
}

/// A `--dependency` expression: all conditions (`,`) or any of them (`?`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DependencySpec {
    pub conditions: Vec<Dependency>,
    /// True for `?`-separated lists: any one satisfied condition is enough.
    pub any: bool,
}

impl DependencySpec {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }
}

impl fmt::Display for DependencySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.any { "?" } else { "," };
        let parts: Vec<String> = self.conditions.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(sep))
    }
}

/// `--array=0-15:2%4`: the task indices and an optional throttle (`%4`: at most 4 running).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArraySpec {
    /// Task indices in ascending order, without duplicates.
    pub indices: Vec<u32>,
    pub max_running: Option<u32>,
}

impl fmt::Display for ArraySpec {
    /// Compact ranges: `0-3,7,9-15:2` is printed as `0-3,7,9,11,13,15`... compacted to runs of
    /// consecutive indices (`0-3,7,9,11,13,15`); `%N` appended when throttled.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut i = 0;
        while i < self.indices.len() {
            let start = self.indices[i];
            let mut end = start;
            while i + 1 < self.indices.len() && self.indices[i + 1] == end + 1 {
                i += 1;
                end = self.indices[i];
            }
            parts.push(if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            });
            i += 1;
        }
        f.write_str(&parts.join(","))?;
        if let Some(n) = self.max_running {
            write!(f, "%{n}")?;
        }
        Ok(())
    }
}

/// What a user asks for: everything the scheduler needs, plus what the batch runtime needs
/// to launch the job (paths, environment), which the engine carries but does not interpret.
///
/// Laid out in declaration order (`repr(C)`, see [`Job`]): what a pass reads for every
/// pending job comes first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[repr(C)]
pub struct JobSpec {
    /// `--begin`.
    pub begin: Option<Timestamp>,
    pub dependency: DependencySpec,
    /// Empty means the association's default QOS (`normal`).
    pub qos: String,
    /// `--nice` (may be negative for admins).
    pub nice: i32,
    pub name: String,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    /// Empty means the user's default account.
    pub account: String,
    /// Candidate partitions in the user's order (`-p a,b`); empty means the default partition.
    pub partitions: Vec<String>,
    /// `-N`: minimum node count (and maximum, Slurm's `-N min-max` max).
    pub min_nodes: u32,
    pub max_nodes: Option<u32>,
    /// `-n`: number of tasks.
    pub ntasks: u32,
    /// `-c`.
    pub cpus_per_task: u32,
    /// `--ntasks-per-node`.
    pub ntasks_per_node: Option<u32>,
    pub mem: MemRequest,
    /// `--gres` (per node).
    pub gres_per_node: Vec<Gres>,
    pub gpus: GpuRequest,
    /// `-t`; `None` means the partition's DefaultTime (else MaxTime).
    pub time_limit: Option<TimeLimit>,
    /// `--time-min` is not supported; listed here for completeness of the model.
    pub exclusive: bool,
    /// `--hold`: submitted held (`JobHeldUser`).
    pub hold: bool,
    pub array: Option<ArraySpec>,
    /// `--requeue` / `--no-requeue`; `None` means the cluster default (JobRequeue=1).
    pub requeue: Option<bool>,
    pub comment: Option<String>,
    /// `--constraint`: required node features (`&`-joined list; `|` alternatives unsupported).
    pub constraint: Vec<String>,
    /// `--signal=[B:]SIG[@TIME]`.
    pub signal: Option<String>,
    /// `--chdir` (absolute), else the submit directory.
    pub work_dir: String,
    /// `-o` / `-e` / `-i` patterns (`%j`, `%x`, ...) as given.
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub stdin: Option<String>,
    /// `--open-mode`; `None`: not given (see [`Job::output_open_mode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_mode: Option<OpenMode>,
    /// `--export` value as given (`ALL`, `NONE`, `ALL,VAR=x`).
    pub export: Option<String>,
    /// `-w`/`--nodelist`: nodes the job must include.
    pub required_nodes: Vec<String>,
    /// `-x`/`--exclude`.
    pub excluded_nodes: Vec<String>,
}

impl Default for JobSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            user: String::new(),
            uid: 0,
            gid: 0,
            account: String::new(),
            partitions: Vec::new(),
            qos: String::new(),
            min_nodes: 1,
            max_nodes: None,
            ntasks: 1,
            cpus_per_task: 1,
            ntasks_per_node: None,
            mem: MemRequest::Default,
            gres_per_node: Vec::new(),
            gpus: GpuRequest::default(),
            time_limit: None,
            exclusive: false,
            dependency: DependencySpec::default(),
            hold: false,
            begin: None,
            array: None,
            nice: 0,
            requeue: None,
            comment: None,
            constraint: Vec::new(),
            signal: None,
            work_dir: String::new(),
            stdout: None,
            stderr: None,
            stdin: None,
            open_mode: None,
            export: None,
            required_nodes: Vec::new(),
            excluded_nodes: Vec::new(),
        }
    }
}

/// `--open-mode`: how a job's output and error files are opened when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenMode {
    /// Existing contents are discarded (Slurm's default, `JobFileAppend=0`).
    #[default]
    Truncate,
    /// Output is added after what the file holds (`O_APPEND`).
    Append,
}

impl OpenMode {
    /// The option's value as sbatch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Truncate => "truncate",
            Self::Append => "append",
        }
    }
}

impl fmt::Display for OpenMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a job's run ended, as reported by the node that ran it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExitStatus {
    /// Process exit code (0-255).
    pub code: i32,
    /// Terminating signal number, 0 if none.
    pub signal: i32,
}

impl ExitStatus {
    pub const SUCCESS: Self = Self { code: 0, signal: 0 };

    pub fn is_success(self) -> bool {
        self.code == 0 && self.signal == 0
    }
}

impl fmt::Display for ExitStatus {
    /// Slurm's `ExitCode=N:M`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.code, self.signal)
    }
}

/// Who holds a job: the user (`JobHeldUser`) or an operator (`JobHeldAdmin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Hold {
    User,
    Admin,
}

/// The pieces of a running job's allocation on one node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeAllocation {
    pub node: String,
    pub cpus: u32,
    pub mem_mb: u64,
    /// GRES allocated on this node, typed (`gpu:a100:2`).
    pub gres: Vec<Gres>,
}

/// A job as the controller tracks it.
///
/// Laid out in declaration order (`repr(C)`): the fields a scheduling pass reads and writes
/// for every pending job come first, then the spec (whose own such fields come first), so
/// that a pass touches a few adjacent cache lines of each job, not one line per field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[repr(C)]
pub struct Job {
    pub id: JobId,
    pub state: JobState,
    pub reason: PendingReason,
    /// Set while the job is held (`scontrol hold`, `sbatch --hold`).
    pub hold: Option<Hold>,
    pub priority: u32,
    /// The effective time limit (spec or partition default).
    pub time_limit: TimeLimit,
    pub eligible_time: Option<Timestamp>,
    /// Planned start from the last backfill pass (`squeue --start`).
    pub planned_start: Option<Timestamp>,
    /// For an array's pending record: the task indices not yet started (squeue prints
    /// `123_[5-9%2]`). `None` for ordinary jobs and for split-off tasks.
    pub array_pending: Option<ArraySpec>,
    pub spec: JobSpec,
    /// Set for array tasks: the array's job id (`%A`) and this task's index (`%a`).
    pub array_job_id: Option<JobId>,
    pub array_task_id: Option<u32>,
    /// The partition it runs (or will run) in, chosen from `spec.partitions`.
    pub partition: String,
    pub submit_time: Timestamp,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub allocation: Vec<NodeAllocation>,
    pub exit: Option<ExitStatus>,
    /// Times requeued.
    pub restarts: u32,
    /// Who cancelled it (uid), for `CANCELLED by N`.
    pub cancelled_by: Option<u32>,
    /// Allocated, waiting for powered-down cloud nodes to come up (Slurm's CONFIGURING flag,
    /// `CF` in squeue); the job's time starts counting when they have registered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub configuring: bool,
}

impl Job {
    /// A record of `spec` in `state` and nothing else yet: no partition, priority 0, no time
    /// limit, submitted at 0, no reason, times, allocation, exit status, restarts or holds.
    /// Callers set what they know (`Job { partition, ..Job::new(id, state, spec) }`).
    pub fn new(id: JobId, state: JobState, spec: JobSpec) -> Self {
        Self {
            id,
            array_job_id: None,
            array_task_id: None,
            spec,
            state,
            reason: PendingReason::None,
            priority: 0,
            partition: String::new(),
            time_limit: TimeLimit::Infinite,
            submit_time: 0,
            eligible_time: None,
            start_time: None,
            end_time: None,
            planned_start: None,
            allocation: Vec::new(),
            exit: None,
            restarts: 0,
            cancelled_by: None,
            hold: None,
            array_pending: None,
            configuring: false,
        }
    }

    /// The state as squeue's `%T` and scontrol print it: `CONFIGURING` while the job waits
    /// for its nodes to power up, else the state's name.
    pub fn state_name(&self) -> &'static str {
        if self.configuring && self.state == JobState::Running {
            "CONFIGURING"
        } else {
            self.state.as_str()
        }
    }

    /// The two-letter state squeue's `%t` prints (`CF` while configuring).
    pub fn state_short(&self) -> &'static str {
        if self.configuring && self.state == JobState::Running {
            "CF"
        } else {
            self.state.short()
        }
    }

    pub fn job_ref(&self) -> JobRef {
        match (self.array_job_id, self.array_task_id) {
            (Some(array), Some(task)) => JobRef {
                job_id: array,
                array_task: Some(task),
            },
            _ => JobRef {
                job_id: self.id,
                array_task: None,
            },
        }
    }

    /// How this run opens its output files: `--open-mode` when given; otherwise a requeued
    /// run appends, so the output of earlier runs is kept, and a first run truncates.
    pub fn output_open_mode(&self) -> OpenMode {
        match self.spec.open_mode {
            Some(mode) => mode,
            None if self.restarts > 0 => OpenMode::Append,
            None => OpenMode::Truncate,
        }
    }

    /// Node names of the allocation, in allocation order.
    pub fn node_names(&self) -> Vec<&str> {
        self.allocation.iter().map(|a| a.node.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_with(open_mode: Option<OpenMode>, restarts: u32) -> Job {
        let spec = JobSpec {
            open_mode,
            ..JobSpec::default()
        };
        Job {
            restarts,
            ..Job::new(7, JobState::Pending, spec)
        }
    }

    #[test]
    fn first_runs_truncate_and_requeued_runs_append_unless_told() {
        assert_eq!(job_with(None, 0).output_open_mode(), OpenMode::Truncate);
        assert_eq!(job_with(None, 2).output_open_mode(), OpenMode::Append);
        let append = Some(OpenMode::Append);
        assert_eq!(job_with(append, 0).output_open_mode(), OpenMode::Append);
        let truncate = Some(OpenMode::Truncate);
        assert_eq!(job_with(truncate, 1).output_open_mode(), OpenMode::Truncate);
    }

    #[test]
    fn open_mode_is_optional_in_stored_specs() {
        let mut stored = serde_json::to_value(JobSpec::default()).unwrap();
        assert!(stored.get("open_mode").is_none(), "left out when not given");
        let spec: JobSpec = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(
            spec.open_mode, None,
            "records written before the field load"
        );
        stored["open_mode"] = serde_json::json!("append");
        let spec: JobSpec = serde_json::from_value(stored).unwrap();
        assert_eq!(spec.open_mode, Some(OpenMode::Append));
        assert_eq!(OpenMode::Append.to_string(), "append");
    }
}
