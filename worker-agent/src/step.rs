//! What the agent is asked to run ([`StepSpec`]) and how a run ended ([`StepOutcome`]).
//!
//! ## Output file names
//!
//! [`StepIo`] carries the `-o`/`-e`/`-i` values *as the user wrote them* (`slurm-%j.out`), and
//! the agent expands them here with [`slurm_core::parse::sbatch::expand_output_pattern`]: only
//! the node knows `%N` (its own name), `%n` (its index in the job), `%t` and `%s`, so
//! expanding on the node is what slurmd does. A pattern that contains no `%` expands to
//! itself, so a caller that already expanded a path may pass it unchanged. Relative paths are
//! relative to the step's work directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use slurm_core::config::Timers;
use slurm_core::model::{ExitStatus, Job, JobId, JobState};
use slurm_core::parse::sbatch::{PatternContext, default_output_pattern, expand_output_pattern};

use crate::signals::SignalSpec;

/// Which step of a job this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepId {
    /// The batch script (`123.batch`).
    Batch,
    /// An `srun` step (`123.0`).
    Numbered(u32),
    /// `salloc`'s interactive step (`123.interactive`).
    Interactive,
    /// One task of an `srun` step (`123.0` task 3, contained as `step_0.3`): each task is
    /// its own process tree, so that one task's end does not reap the others.
    Task { step: u32, task: u32 },
}

impl StepId {
    /// The directory name Slurm's cgroup plugin uses: `step_batch`, `step_0`,
    /// `step_interactive`.
    pub fn cgroup_name(self) -> String {
        format!("step_{self}")
    }

    /// Parses what [`fmt::Display`] prints (`batch`, `interactive`, a number).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "batch" => Some(Self::Batch),
            "interactive" => Some(Self::Interactive),
            n => match n.split_once('.') {
                Some((step, task)) => Some(Self::Task {
                    step: step.parse().ok()?,
                    task: task.parse().ok()?,
                }),
                None => n.parse().ok().map(Self::Numbered),
            },
        }
    }
}

impl fmt::Display for StepId {
    /// `batch`, `interactive` or the number, as in `123.batch` / `123.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Batch => f.write_str("batch"),
            Self::Numbered(n) => write!(f, "{n}"),
            Self::Interactive => f.write_str("interactive"),
            Self::Task { step, task } => write!(f, "{step}.{task}"),
        }
    }
}

/// Array task information, for array tasks only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayInfo {
    /// `SLURM_ARRAY_JOB_ID` (`%A`).
    pub array_job_id: JobId,
    /// `SLURM_ARRAY_TASK_ID` (`%a`).
    pub task_id: u32,
    pub task_count: u32,
    pub task_min: u32,
    pub task_max: u32,
    /// `SLURM_ARRAY_TASK_STEP`, when the indices form a stepped range.
    pub task_step: Option<u32>,
}

/// Who the step runs as. The uid and gid are authoritative; the name is used for the
/// environment, `%u` and the supplementary group lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// What to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepCommand {
    /// A batch script: written to `<spool>/job<id>/slurm_script` (mode 0700, owned by the
    /// user) and executed as a file, so the kernel runs its `#!` interpreter.
    Script(String),
    /// A program and its arguments (`srun prog args`); a name without `/` is looked up in
    /// the step environment's `PATH`.
    Argv(Vec<String>),
}

/// `--open-mode`: truncate (sbatch's default) or append; the job model's own type.
pub use slurm_core::model::OpenMode;

/// Standard streams, as patterns (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepIo {
    /// `-o`; `None`: `slurm-%j.out` (`slurm-%A_%a.out` for arrays) for the batch step,
    /// `/dev/null` for other steps (I/O forwarding to `srun` is not done here).
    pub stdout: Option<String>,
    /// `-e`; `None`: the same file as stdout.
    pub stderr: Option<String>,
    /// `-i`; `None`: `/dev/null`.
    pub stdin: Option<String>,
    pub open_mode: OpenMode,
}

/// The resources allocated to the step on this node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepAllocation {
    pub cpus: u32,
    /// Memory in MiB; 0 means no limit.
    pub mem_mib: u64,
    /// GPU indices on this node (`/dev/nvidiaN`).
    pub gpus: Vec<u32>,
    /// Specific CPU ids, when the controller bound the step to cores (`cpuset.cpus`).
    pub cpu_ids: Option<Vec<u32>>,
}

/// Task layout information for `SLURM_PROCID` and friends. The batch step is task 0 on node
/// 0 with one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// `SLURM_NTASKS`: tasks in the job (the batch step reports the job's count).
    pub ntasks: u32,
    pub procid: u32,
    pub localid: u32,
    pub nodeid: u32,
    /// Every node of the job, in allocation order.
    pub nodes: Vec<String>,
}

impl Default for TaskInfo {
    fn default() -> Self {
        Self {
            ntasks: 1,
            procid: 0,
            localid: 0,
            nodeid: 0,
            nodes: Vec::new(),
        }
    }
}

/// Everything the agent needs to run one step on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpec {
    pub job_id: JobId,
    pub step_id: StepId,
    pub array: Option<ArrayInfo>,
    pub job_name: String,
    pub user: StepUser,
    pub partition: String,
    pub account: String,
    /// `SLURM_SUBMIT_DIR` / `SLURM_SUBMIT_HOST`.
    pub submit_dir: String,
    pub submit_host: String,
    /// The directory the step runs in (`--chdir`, else the submit directory).
    pub work_dir: PathBuf,
    pub command: StepCommand,
    /// The user's exported environment (`--export` already applied by the caller). The
    /// agent adds the `SLURM_*` variables on top (see [`crate::env`]).
    pub env: Vec<(String, String)>,
    pub io: StepIo,
    pub alloc: StepAllocation,
    /// `-c`, when given (`SLURM_CPUS_PER_TASK` is set only then).
    pub cpus_per_task: Option<u32>,
    /// `None`: no limit.
    pub time_limit: Option<Duration>,
    /// `KillWait`: time between SIGTERM and SIGKILL.
    pub kill_wait: Duration,
    /// `UnkillableStepTimeout`: time after SIGKILL before the step is declared unkillable.
    pub unkillable_step_timeout: Duration,
    /// `--signal`, parsed with [`crate::signals::parse_signal_spec`].
    pub signal: Option<SignalSpec>,
    pub tasks: TaskInfo,
    /// The task's stdout and stderr go to pipes the caller reads (srun's I/O forwarding)
    /// instead of files.
    pub pipe_output: bool,
    /// The task's stdin is a pipe the caller writes (srun's stdin, for one task).
    pub pipe_stdin: bool,
    /// `SLURM_STEP_NODELIST`, `SLURM_STEP_NUM_NODES`, `SLURM_STEP_NUM_TASKS` of an srun step.
    pub step_layout: Option<StepLayout>,
}

/// The nodes and task count of an srun step (its job's may be larger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLayout {
    pub nodes: Vec<String>,
    pub ntasks: u32,
}

impl StepSpec {
    /// A minimal spec (batch script, one task, no limits) that callers fill in further.
    pub fn new(job_id: JobId, step_id: StepId, user: StepUser, command: StepCommand) -> Self {
        let timers = Timers::default();
        Self {
            job_id,
            step_id,
            array: None,
            job_name: String::new(),
            user,
            partition: String::new(),
            account: String::new(),
            submit_dir: String::new(),
            submit_host: String::new(),
            work_dir: PathBuf::from("/"),
            command,
            env: Vec::new(),
            io: StepIo::default(),
            alloc: StepAllocation::default(),
            cpus_per_task: None,
            time_limit: None,
            kill_wait: Duration::from_secs(timers.kill_wait),
            unkillable_step_timeout: Duration::from_secs(timers.unkillable_step_timeout),
            signal: None,
            tasks: TaskInfo::default(),
            pipe_output: false,
            pipe_stdin: false,
            step_layout: None,
        }
    }

    /// The batch step of a controller-side [`Job`] on node `node`: allocation, limits,
    /// `--signal`, paths and identity come from the job; `script`, the exported `env` and
    /// the GPU indices (which the node picks) from the caller. An unparsable `--signal` is
    /// dropped (sbatch validated it already).
    pub fn batch_for_job(
        job: &Job,
        node: &str,
        script: String,
        env: Vec<(String, String)>,
        gpus: Vec<u32>,
        timers: &Timers,
    ) -> Self {
        let spec = &job.spec;
        let alloc = job.allocation.iter().find(|a| a.node == node);
        let nodes: Vec<String> = job.node_names().iter().map(|n| (*n).to_owned()).collect();
        let nodeid = nodes.iter().position(|n| n == node).unwrap_or(0) as u32;
        let array = match (job.array_job_id, job.array_task_id) {
            (Some(array_job_id), Some(task_id)) => Some(ArrayInfo {
                array_job_id,
                task_id,
                task_count: 1,
                task_min: task_id,
                task_max: task_id,
                task_step: None,
            }),
            _ => None,
        };
        let user = StepUser {
            name: spec.user.clone(),
            uid: spec.uid,
            gid: spec.gid,
        };
        Self {
            array,
            job_name: spec.name.clone(),
            partition: job.partition.clone(),
            account: spec.account.clone(),
            submit_dir: spec.work_dir.clone(),
            work_dir: PathBuf::from(&spec.work_dir),
            env,
            io: StepIo {
                stdout: spec.stdout.clone(),
                stderr: spec.stderr.clone(),
                stdin: spec.stdin.clone(),
                open_mode: job.output_open_mode(),
            },
            alloc: StepAllocation {
                cpus: alloc.map_or(0, |a| a.cpus),
                mem_mib: alloc.map_or(0, |a| a.mem_mb),
                gpus,
                cpu_ids: None,
            },
            cpus_per_task: (spec.cpus_per_task > 1).then_some(spec.cpus_per_task),
            time_limit: job.time_limit.as_secs().map(Duration::from_secs),
            kill_wait: Duration::from_secs(timers.kill_wait),
            unkillable_step_timeout: Duration::from_secs(timers.unkillable_step_timeout),
            signal: spec
                .signal
                .as_deref()
                .and_then(|s| crate::signals::parse_signal_spec(s).ok()),
            tasks: TaskInfo {
                ntasks: spec.ntasks.max(1),
                procid: 0,
                localid: 0,
                nodeid,
                nodes,
            },
            ..Self::new(job.id, StepId::Batch, user, StepCommand::Script(script))
        }
    }

    /// `123.batch`, `123.0`.
    pub fn display_id(&self) -> String {
        format!("{}.{}", self.job_id, self.step_id)
    }

    /// The context for `%` patterns on node `node_name`.
    pub fn pattern_context(&self, node_name: &str) -> PatternContext {
        PatternContext {
            job_name: self.job_name.clone(),
            array_job_id: self.array.as_ref().map(|a| a.array_job_id),
            array_task_id: self.array.as_ref().map(|a| a.task_id),
            user: self.user.name.clone(),
            node_name: node_name.to_owned(),
            node_id: self.tasks.nodeid,
            task_id: self.tasks.procid,
            step: self.step_id.to_string(),
            ..PatternContext::new(self.job_id)
        }
    }

    /// The absolute stdout, stderr and stdin paths on node `node_name`. `stderr` is `None`
    /// when it is the stdout file.
    pub fn resolve_io(&self, node_name: &str) -> ResolvedIo {
        let ctx = self.pattern_context(node_name);
        let expand = |p: &str| absolute(&self.work_dir, &expand_output_pattern(p, &ctx));
        let stdout = match (&self.io.stdout, self.step_id) {
            (Some(p), _) => expand(p),
            (None, StepId::Batch) => expand(default_output_pattern(self.array.is_some())),
            (None, _) => PathBuf::from("/dev/null"),
        };
        let stderr = self
            .io
            .stderr
            .as_deref()
            .map(expand)
            .filter(|p| *p != stdout);
        let stdin = self
            .io
            .stdin
            .as_deref()
            .map_or_else(|| PathBuf::from("/dev/null"), expand);
        ResolvedIo {
            stdout,
            stderr,
            stdin,
        }
    }
}

/// `path` made absolute against `base`.
fn absolute(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Expanded, absolute standard stream paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIo {
    pub stdout: PathBuf,
    /// `None`: stderr goes to the stdout file.
    pub stderr: Option<PathBuf>,
    pub stdin: PathBuf,
}

/// Why a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// Exit status 0:0.
    Completed,
    /// Non-zero exit code or killed by a signal the agent did not send.
    Failed,
    /// Ended after [`crate::RunningStep::cancel`].
    Cancelled,
    /// Ended after reaching its time limit.
    TimedOut,
    /// The cgroup reported an OOM kill.
    OutOfMemory,
    /// Processes were still alive `UnkillableStepTimeout` after SIGKILL: the daemon should
    /// drain the node with reason "Kill task failed".
    Unkillable,
    /// The step never started; the message is what slurmstepd would log.
    LaunchFailed(String),
}

impl EndReason {
    /// The job state Slurm records for a job whose batch step ended this way. An unkillable
    /// step is recorded as FAILED (the node is drained separately).
    pub fn job_state(&self) -> JobState {
        match self {
            Self::Completed => JobState::Completed,
            Self::Failed | Self::Unkillable | Self::LaunchFailed(_) => JobState::Failed,
            Self::Cancelled => JobState::Cancelled,
            Self::TimedOut => JobState::Timeout,
            Self::OutOfMemory => JobState::OutOfMemory,
        }
    }
}

/// How a step ended, with its resource usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// Slurm's `ExitCode=code:signal` (`exit 3` → 3:0, killed by SIGKILL → 0:9).
    pub exit: ExitStatus,
    pub end_reason: EndReason,
    pub elapsed: Duration,
    /// User + system time of the whole process tree.
    pub cpu_time: Duration,
    /// Peak memory: the cgroup's `memory.peak`, else the largest sampled RSS sum.
    pub max_rss_kib: u64,
}

impl StepOutcome {
    /// The outcome of a step that could not be started: exit code 1, like slurmstepd.
    pub fn launch_failed(message: impl Into<String>) -> Self {
        Self {
            exit: ExitStatus { code: 1, signal: 0 },
            end_reason: EndReason::LaunchFailed(message.into()),
            elapsed: Duration::ZERO,
            cpu_time: Duration::ZERO,
            max_rss_kib: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> StepSpec {
        let mut s = StepSpec::new(
            42,
            StepId::Batch,
            StepUser {
                name: "alice".into(),
                uid: 1000,
                gid: 1000,
            },
            StepCommand::Script("#!/bin/sh\n".into()),
        );
        s.work_dir = PathBuf::from("/home/alice/run");
        s.job_name = "train".into();
        s
    }

    #[test]
    fn step_ids() {
        assert_eq!(StepId::Batch.to_string(), "batch");
        assert_eq!(StepId::Numbered(3).cgroup_name(), "step_3");
        assert_eq!(StepId::Interactive.cgroup_name(), "step_interactive");
        for id in [StepId::Batch, StepId::Numbered(7), StepId::Interactive] {
            assert_eq!(StepId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(StepId::parse("x"), None);
    }

    #[test]
    fn default_io_paths() {
        let s = spec();
        let io = s.resolve_io("n1");
        assert_eq!(io.stdout, PathBuf::from("/home/alice/run/slurm-42.out"));
        assert_eq!(io.stderr, None);
        assert_eq!(io.stdin, PathBuf::from("/dev/null"));

        let mut a = spec();
        a.array = Some(ArrayInfo {
            array_job_id: 40,
            task_id: 2,
            task_count: 3,
            task_min: 0,
            task_max: 2,
            task_step: None,
        });
        assert_eq!(
            a.resolve_io("n1").stdout,
            PathBuf::from("/home/alice/run/slurm-40_2.out")
        );

        let mut n = spec();
        n.step_id = StepId::Numbered(0);
        assert_eq!(n.resolve_io("n1").stdout, PathBuf::from("/dev/null"));
    }

    #[test]
    fn patterns_expand_on_the_node() {
        let mut s = spec();
        s.io.stdout = Some("/logs/%x-%j-%N.out".into());
        s.io.stderr = Some("err/%u.%s".into());
        s.io.stdin = Some("in.txt".into());
        let io = s.resolve_io("gpu-03");
        assert_eq!(io.stdout, PathBuf::from("/logs/train-42-gpu-03.out"));
        assert_eq!(
            io.stderr,
            Some(PathBuf::from("/home/alice/run/err/alice.batch"))
        );
        assert_eq!(io.stdin, PathBuf::from("/home/alice/run/in.txt"));
        s.io.stderr = Some("/logs/%x-%j-%N.out".into());
        assert_eq!(s.resolve_io("gpu-03").stderr, None, "same file as stdout");
    }

    #[test]
    fn end_reasons_map_to_job_states() {
        assert_eq!(EndReason::TimedOut.job_state(), JobState::Timeout);
        assert_eq!(EndReason::OutOfMemory.job_state(), JobState::OutOfMemory);
        assert_eq!(EndReason::Cancelled.job_state(), JobState::Cancelled);
        assert_eq!(
            EndReason::LaunchFailed("x".into()).job_state(),
            JobState::Failed
        );
        let o = StepOutcome::launch_failed("couldn't chdir");
        assert_eq!(o.exit.to_string(), "1:0");
    }

    #[test]
    fn batch_for_job() {
        use slurm_core::model::{NodeAllocation, TimeLimit};
        let spec = slurm_core::model::JobSpec {
            name: "j".into(),
            user: "bob".into(),
            uid: 1001,
            gid: 1001,
            work_dir: "/w".into(),
            cpus_per_task: 2,
            signal: Some("B:USR1@30".into()),
            ..Default::default()
        };
        let job = Job {
            array_job_id: Some(5),
            array_task_id: Some(2),
            priority: 1,
            partition: "debug".into(),
            time_limit: TimeLimit::minutes(2),
            allocation: vec![
                NodeAllocation {
                    node: "n1".into(),
                    cpus: 4,
                    mem_mb: 100,
                    gres: vec![],
                },
                NodeAllocation {
                    node: "n2".into(),
                    cpus: 8,
                    mem_mb: 200,
                    gres: vec![],
                },
            ],
            ..Job::new(7, JobState::Running, spec)
        };
        let s = StepSpec::batch_for_job(
            &job,
            "n2",
            "#!/bin/sh\n".into(),
            vec![],
            vec![1],
            &Timers::default(),
        );
        assert_eq!(s.alloc.cpus, 8);
        assert_eq!(s.alloc.mem_mib, 200);
        assert_eq!(s.tasks.nodeid, 1);
        assert_eq!(s.time_limit, Some(Duration::from_secs(120)));
        assert_eq!(s.cpus_per_task, Some(2));
        assert_eq!(s.array.as_ref().map(|a| a.array_job_id), Some(5));
        assert_eq!(s.signal.map(|s| s.batch_only), Some(true));
        assert_eq!(s.kill_wait, Duration::from_secs(30));
        assert_eq!(s.display_id(), "7.batch");
        assert_eq!(s.io.open_mode, OpenMode::Truncate, "a first run truncates");

        let mut requeued = job.clone();
        requeued.restarts = 1;
        let timers = Timers::default();
        let batch =
            |job: &Job| StepSpec::batch_for_job(job, "n1", String::new(), vec![], vec![], &timers);
        assert_eq!(
            batch(&requeued).io.open_mode,
            OpenMode::Append,
            "a requeued run appends"
        );
        requeued.spec.open_mode = Some(OpenMode::Truncate);
        assert_eq!(
            batch(&requeued).io.open_mode,
            OpenMode::Truncate,
            "unless told to truncate"
        );
        let mut append = job;
        append.spec.open_mode = Some(OpenMode::Append);
        assert_eq!(batch(&append).io.open_mode, OpenMode::Append);
    }
}
