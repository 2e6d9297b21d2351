//! Request and reply bodies. Jobs, nodes and partitions travel as the model's own types.

use crate::engine::{JobEnd, NodeView};
use crate::model::{Job, JobId, JobRef, JobSpec, PartitionConfig, TimeLimit, Timestamp};
use serde::{Deserialize, Serialize};

/// Who is asking: what the client says of itself, and the signed credential that proves it
/// (`crate::auth`). A controller that authenticates trusts only the token: it uses the
/// token's uid and gid, looks the user name up itself, and refuses a request whose claimed
/// uid differs from the token's (`Invalid user id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    /// A signed credential (`slinky1:...`, see `crate::auth::token`); `None` only under
    /// `AuthType=auth/none`.
    pub token: Option<String>,
}

/// Every request: a credential and the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authed<T> {
    pub credential: Credential,
    pub body: T,
}

impl<T> Authed<T> {
    pub fn new(credential: Credential, body: T) -> Self {
        Self { credential, body }
    }
}

// ----- commands -> controller -----

/// What a batch job runs: the script, its arguments and the environment it was submitted
/// with (`--export`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchScript {
    pub script: String,
    pub args: Vec<String>,
    pub environment: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitRequest {
    pub spec: JobSpec,
    pub batch: BatchScript,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReply {
    pub job_id: JobId,
    pub cluster: String,
}

/// Which jobs to list; empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobQuery {
    pub job_ids: Vec<JobId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    /// The controller's clock when the list was taken.
    pub now: Timestamp,
    pub jobs: Vec<Job>,
    /// Which of `jobs` are allocations made by srun or salloc (no batch script).
    #[serde(default)]
    pub allocations: Vec<JobId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterQuery {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub now: Timestamp,
    pub cluster_name: String,
    pub nodes: Vec<NodeView>,
    pub partitions: Vec<PartitionConfig>,
    /// Cluster-wide DefMemPerCPU (MiB), for formatting jobs without a memory request.
    pub def_mem_per_cpu_mb: Option<u64>,
}

/// `scancel`: the jobs (or array tasks) to cancel, or to signal when `signal` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub targets: Vec<JobRef>,
    /// `-s SIGNAL`: deliver this signal instead of cancelling.
    pub signal: Option<i32>,
    /// `--batch`: only the batch shell, not its children.
    pub batch_only: bool,
}

/// What happened to each target of a request; `error` is Slurm's message when it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetOutcome {
    pub target: JobRef,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetOutcomes {
    pub outcomes: Vec<TargetOutcome>,
}

/// `scontrol update JobId=...` fields; unset ones are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobUpdate {
    pub time_limit: Option<TimeLimit>,
    pub partition: Option<String>,
    pub nice: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobAction {
    Hold,
    Release,
    Requeue,
    Update(JobUpdate),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobControlRequest {
    pub targets: Vec<JobRef>,
    pub action: JobAction,
}

/// `scontrol update NodeName=... State=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeAction {
    Drain,
    Resume,
    Down,
    Undrain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeUpdateRequest {
    pub names: Vec<String>,
    pub action: NodeAction,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOutcome {
    pub node: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOutcomes {
    pub outcomes: Vec<NodeOutcome>,
}

/// `WatchPower`: a node provider (the operator, or `slinky up`'s local one) subscribes to
/// the controller's power-saving decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerWatchRequest {}

/// What the controller wants done with cloud nodes (`State=CLOUD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerEvent {
    /// First message on every stream: the cloud nodes that should exist now (up or coming
    /// up), and those that should not (powered down or going down).
    Snapshot { up: Vec<String>, down: Vec<String> },
    /// Start these nodes (a job was allocated to them).
    Resume { nodes: Vec<String> },
    /// Stop these nodes (idle past SuspendTime, or failed to come up in ResumeTimeout).
    Suspend { nodes: Vec<String> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigQuery {}

/// `scontrol show config`: `Key = Value` pairs in Slurm's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigReply {
    pub now: Timestamp,
    pub entries: Vec<(String, String)>,
}

// ----- agents <-> controller -----

/// A GPU as the agent found it (NVML, gres.conf).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// GRES type (`a100`), if known.
    pub kind: Option<String>,
    /// Device minor number (`/dev/nvidiaN`), the index CUDA_VISIBLE_DEVICES uses.
    pub index: u32,
    pub uuid: Option<String>,
    pub memory_mb: Option<u64>,
    pub model: Option<String>,
}

/// What an agent found on its host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHardware {
    pub cpus: u32,
    pub sockets: u32,
    pub cores_per_socket: u32,
    pub threads_per_core: u32,
    pub real_memory_mb: u64,
    pub gpus: Vec<GpuInfo>,
}

/// Sent when an agent (re)connects: its hardware, the jobs it still runs, and how the jobs
/// that ended while it could not reach the controller ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRegistration {
    pub node: String,
    pub hardware: NodeHardware,
    pub running: Vec<JobId>,
    pub finished: Vec<JobReport>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterReply {
    pub cluster_name: String,
    /// How often the agent should send heartbeats.
    pub heartbeat_interval_ms: u64,
    /// Jobs the agent runs that the controller does not know (or knows as ended): kill them.
    pub orphans: Vec<JobId>,
    /// The controller's proof that it holds the cluster key: an HMAC over the nonce of the
    /// registration's credential (`crate::auth::controller_proof`). `None` under auth/none.
    #[serde(default)]
    pub controller_proof: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandStreamRequest {
    pub node: String,
}

/// Why the controller ends a job on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminateReason {
    Cancelled,
    TimeLimit,
    Requeue,
    NodeFail,
}

/// Work for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AgentCommand {
    /// Run the job's batch script on this node (its first node).
    Launch(Box<LaunchBatch>),
    /// Deliver a signal (`scancel -s`).
    Signal {
        job_id: JobId,
        signal: i32,
        batch_only: bool,
    },
    /// End the job: SIGCONT+SIGTERM, KillWait, SIGKILL.
    Terminate {
        job_id: JobId,
        reason: TerminateReason,
    },
    /// Start this node's tasks of a job step (`srun`).
    LaunchStep(Box<LaunchStep>),
    /// Signal or end a job's steps on this node: one step (`scancel 12.3`) or all of them
    /// (`step_id: None`, when the job ends); `signal: None` runs the termination sequence.
    SignalStep {
        job_id: JobId,
        step_id: Option<u32>,
        signal: Option<i32>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchBatch {
    pub job: Job,
    pub batch: BatchScript,
    pub cluster_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub node: String,
    pub running: Vec<JobId>,
    /// The latest usage sample of every task running here (what `sstat` shows).
    #[serde(default)]
    pub usage: Vec<LiveTaskUsage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// False when the controller does not know this agent's stream (it should re-register).
    pub registered: bool,
}

/// What a job used, as measured on its batch node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobUsage {
    pub elapsed_s: u64,
    pub cpu_time_ms: u64,
    pub max_rss_kb: u64,
}

/// How a job ended on a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    pub node: String,
    pub job_id: JobId,
    pub end: JobEnd,
    pub usage: JobUsage,
    /// Set when the node could not kill the job (UnkillableStepTimeout): the controller
    /// drains the node with this reason.
    pub drain_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {}

// ----- controller / commands <-> dbd (accounting) -----

/// A job as the accounting database records it: a flat record the controller derives from
/// its [`Job`] at every change, and what `sacct` gets back. Times are seconds since the
/// epoch; text fields hold what sacct prints (TRES strings, the compressed node list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctJob {
    pub job_id: JobId,
    /// Set for array tasks and array pending records: the array's job id.
    pub array_job_id: Option<JobId>,
    /// Set for a split-off array task.
    pub array_task_id: Option<u32>,
    /// For an array's pending record: the tasks not started yet (`5-9%2`).
    pub array_pending: Option<String>,
    pub name: String,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub account: String,
    pub partition: String,
    pub qos: String,
    pub state: crate::model::JobState,
    /// The state reason as Slurm names it (`None`, `Resources`, `JobHeldUser`, ...).
    pub reason: String,
    /// Who cancelled the job (`CANCELLED by N`).
    pub cancelled_by: Option<u32>,
    /// How the job ended (`0:0` until it has).
    pub exit_code: i32,
    pub exit_signal: i32,
    pub submit: Timestamp,
    pub eligible: Option<Timestamp>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub time_limit: TimeLimit,
    /// Compressed host list of the allocation; empty until the job starts.
    pub nodelist: String,
    /// The node that runs the batch script.
    pub batch_host: String,
    pub alloc_nodes: u32,
    /// Allocated CPUs (0 until the job starts).
    pub alloc_cpus: u32,
    /// CPUs on the batch host (the batch step's allocation).
    pub batch_cpus: u32,
    /// The batch step's `AllocTRES` (`cpu=2,mem=2G,node=1`).
    pub batch_tres: String,
    pub req_cpus: u32,
    pub req_nodes: u32,
    /// `AllocTRES` (`billing=2,cpu=2,mem=2G,node=1`), empty until the job starts.
    pub alloc_tres: String,
    /// `ReqTRES`.
    pub req_tres: String,
    pub work_dir: String,
    pub priority: u32,
    /// Times requeued.
    pub restarts: u32,
}

/// A step of a recorded job (`123.batch`, `123.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctStep {
    /// `batch`, `extern` or a step number.
    pub step: String,
    pub name: String,
    pub state: crate::model::JobState,
    pub exit_code: i32,
    pub exit_signal: i32,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub nodelist: String,
    pub alloc_cpus: u32,
    pub alloc_tres: String,
    /// Measured usage, once the step has ended.
    pub usage: Option<JobUsage>,
}

/// One change to record: a job as it is after a change, or what a job used when it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcctEvent {
    Job(Box<AcctJob>),
    Usage {
        job_id: JobId,
        usage: JobUsage,
    },
    /// A job's srun steps as they are now (`123.0`, `123.1`...), usage included once ended.
    Steps {
        job_id: JobId,
        steps: Vec<AcctStep>,
    },
    /// A node went DOWN or DRAIN, or came back (`sacctmgr show event`, sreport's Down).
    Node(super::events::AcctNodeState),
}

/// A spooled event with its place in the controller's outbound queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctRecord {
    /// Strictly increasing within one spool (`epoch`).
    pub seq: u64,
    pub event: AcctEvent,
}

/// `RecordJobs`: a batch of the controller's queue, in order. Applying it is idempotent: the
/// dbd remembers the last sequence number applied for (cluster, epoch) and skips what it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordJobsRequest {
    pub cluster: String,
    /// Identifies one spool (created with the controller's state directory): a new state
    /// directory starts its sequence numbers again under a new epoch.
    pub epoch: u64,
    pub records: Vec<AcctRecord>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordJobsReply {
    /// Everything up to this sequence number is stored.
    pub acked_seq: u64,
}

/// `sacct`'s selection; `None` / empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctJobQuery {
    pub clusters: Vec<String>,
    /// `-j`: jobs, array tasks (`123_4`) and whole arrays (`123`).
    pub jobs: Vec<JobRef>,
    /// `-u` (or the caller alone).
    pub uids: Option<Vec<u32>>,
    /// `-A` (case-insensitive).
    pub accounts: Option<Vec<String>>,
    /// `-r`.
    pub partitions: Option<Vec<String>>,
    /// `--name`.
    pub names: Option<Vec<String>>,
    /// `-s`: jobs that were in one of these states during the window.
    pub states: Option<Vec<crate::model::JobState>>,
    /// `-S` / `-E`: the time window.
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

/// A recorded job and its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctJobRecord {
    pub cluster: String,
    pub job: AcctJob,
    pub steps: Vec<AcctStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctJobList {
    /// The dbd's clock when the list was taken (elapsed time of running jobs).
    pub now: Timestamp,
    pub jobs: Vec<AcctJobRecord>,
}

// ----- sacctmgr -----

/// Limits to set on associations. `None`: unchanged; an integer of -1 clears a limit; a TRES
/// entry `name=-1` removes that TRES from the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssocLimits {
    pub shares: Option<i64>,
    pub grp_tres: Option<String>,
    pub grp_tres_run_mins: Option<String>,
    pub grp_jobs: Option<i64>,
    pub grp_submit_jobs: Option<i64>,
    pub max_jobs: Option<i64>,
    pub max_submit_jobs: Option<i64>,
    /// Minutes.
    pub max_wall: Option<i64>,
    pub max_tres_per_job: Option<String>,
    /// `QOS=a,b` (`QOS+=`, `QOS-=`).
    #[serde(default)]
    pub qos: Option<ListChange>,
    /// `DefaultQOS=`; empty clears it.
    #[serde(default)]
    pub default_qos: Option<String>,
}

impl AssocLimits {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One association as stored. `user` is empty for an account's own association.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assoc {
    pub cluster: String,
    pub account: String,
    pub user: String,
    pub partition: String,
    /// The parent account of an account's own association (empty otherwise).
    pub parent: String,
    pub shares: u32,
    pub grp_tres: String,
    pub grp_tres_run_mins: String,
    pub grp_jobs: Option<u32>,
    pub grp_submit_jobs: Option<u32>,
    pub max_jobs: Option<u32>,
    pub max_submit_jobs: Option<u32>,
    pub max_wall: Option<u32>,
    pub max_tres_per_job: String,
    /// The QOS the association may use, comma-separated; in `show` replies the effective
    /// list (inherited from the parent when the association has none of its own).
    #[serde(default)]
    pub qos: String,
    /// Its default QOS (empty: none).
    #[serde(default)]
    pub default_qos: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub parent: String,
    pub description: String,
    pub organization: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctUser {
    pub name: String,
    pub default_account: String,
    /// `None`, `Operator` or `Administrator`.
    pub admin_level: String,
}

/// What `sacctmgr` changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MgrOp {
    AddClusters {
        names: Vec<String>,
    },
    AddAccounts {
        names: Vec<String>,
        description: Option<String>,
        organization: Option<String>,
        parent: Option<String>,
        limits: AssocLimits,
    },
    AddUsers {
        names: Vec<String>,
        accounts: Vec<String>,
        default_account: Option<String>,
        admin_level: Option<String>,
        limits: AssocLimits,
        /// One association per partition (none: the association for any partition).
        #[serde(default)]
        partitions: Vec<String>,
    },
    ModifyAccounts {
        names: Vec<String>,
        description: Option<String>,
        organization: Option<String>,
        limits: AssocLimits,
    },
    ModifyUsers {
        names: Vec<String>,
        /// Only the associations under these accounts (all when empty).
        accounts: Vec<String>,
        default_account: Option<String>,
        admin_level: Option<String>,
        limits: AssocLimits,
        /// Only the associations of these partitions (all when empty).
        #[serde(default)]
        partitions: Vec<String>,
    },
    DeleteAccounts {
        names: Vec<String>,
    },
    DeleteUsers {
        names: Vec<String>,
    },
    AddQos {
        names: Vec<String>,
        settings: QosSettings,
    },
    ModifyQos {
        names: Vec<String>,
        settings: QosSettings,
    },
    DeleteQos {
        names: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgrRequest {
    /// The caller's cluster: registered with the dbd if it is not yet.
    pub cluster: String,
    /// `false`: report what would change and change nothing (sacctmgr asks before it commits).
    pub commit: bool,
    pub op: MgrOp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgrReply {
    /// The objects (clusters, accounts, users) added, modified or deleted.
    pub objects: Vec<String>,
    /// The associations added or modified.
    pub assocs: Vec<Assoc>,
    /// Why nothing was done (Slurm's wording), when something was wrong with the request.
    pub error: Option<String>,
}

/// What `sacctmgr show` lists; names select (all when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MgrEntity {
    Clusters,
    Accounts,
    Users,
    Assocs,
    Qos,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgrQuery {
    pub entity: MgrEntity,
    pub names: Vec<String>,
    /// Associations of these users / accounts only (empty: any).
    pub users: Vec<String>,
    pub accounts: Vec<String>,
    /// Associations of these partitions only (empty: any).
    #[serde(default)]
    pub partitions: Vec<String>,
    /// `WithSubaccounts`: the accounts' sub-accounts (and their users) too.
    #[serde(default)]
    pub with_subaccounts: bool,
    /// `-s` with users or accounts: their associations too (in `assocs`).
    #[serde(default)]
    pub with_assocs: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgrList {
    pub clusters: Vec<String>,
    pub accounts: Vec<Account>,
    pub users: Vec<AcctUser>,
    /// In Slurm's tree order: an account, its users, then its sub-accounts.
    pub assocs: Vec<Assoc>,
    /// In the order they were added (`normal` first).
    #[serde(default)]
    pub qos: Vec<Qos>,
}

// ----- QOS (sacctmgr), usage rollups (sreport) and shares (sshare) -----

/// A change to a list: `Name=a,b` sets it, `Name+=a` adds to it, `Name-=a` removes from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListChange {
    Set(Vec<String>),
    Add(Vec<String>),
    Remove(Vec<String>),
}

impl ListChange {
    /// `list` changed (kept in its order, names added at the end, no duplicates).
    pub fn apply(&self, list: &[String]) -> Vec<String> {
        let mut out: Vec<String> = match self {
            Self::Set(names) => Vec::with_capacity(names.len()),
            _ => list.to_vec(),
        };
        match self {
            Self::Set(names) | Self::Add(names) => {
                for n in names {
                    if !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
            Self::Remove(names) => out.retain(|n| !names.contains(n)),
        }
        out
    }
}

/// A quality of service as the accounting database stores it. `None` or empty: no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qos {
    pub name: String,
    pub description: String,
    pub priority: u32,
    /// Slurm's flag names, comma-separated (`DenyOnLimit,NoDecay`).
    pub flags: String,
    /// GraceTime, seconds.
    pub grace_time: u32,
    /// `cluster` (the cluster's PreemptMode), `off`, `cancel`, `requeue` or `suspend`.
    pub preempt_mode: String,
    /// The QOS whose jobs this one's may preempt.
    pub preempt: Vec<String>,
    /// UsageFactor in millionths (1.0 is 1000000).
    pub usage_factor_micros: u64,
    pub max_tres_per_job: String,
    pub max_tres_per_user: String,
    /// MaxWall (MaxWallDurationPerJob), minutes.
    pub max_wall: Option<u32>,
    pub max_jobs_per_user: Option<u32>,
    pub max_submit_jobs_per_user: Option<u32>,
    pub grp_tres: String,
    pub grp_jobs: Option<u32>,
}

/// What `sacctmgr add/modify qos` sets. `None`: unchanged; an integer of -1 clears a limit
/// (a UsageFactor of -1 resets it to 1); a TRES entry `name=-1` removes that TRES.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QosSettings {
    pub description: Option<String>,
    pub priority: Option<i64>,
    pub flags: Option<ListChange>,
    /// Seconds.
    pub grace_time: Option<i64>,
    pub preempt_mode: Option<String>,
    pub preempt: Option<ListChange>,
    /// Millionths.
    pub usage_factor_micros: Option<i64>,
    pub max_tres_per_job: Option<String>,
    pub max_tres_per_user: Option<String>,
    /// Minutes.
    pub max_wall: Option<i64>,
    pub max_jobs_per_user: Option<i64>,
    pub max_submit_jobs_per_user: Option<i64>,
    pub grp_tres: Option<String>,
    pub grp_jobs: Option<i64>,
}

impl QosSettings {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `QueryUsage`: the TRES-seconds each association used in `[start, end)` (whole hours),
/// from the dbd's hourly, daily and monthly rollups plus the jobs running now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageQuery {
    /// Empty: every cluster.
    pub clusters: Vec<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// TRES names (`cpu`, `mem`, `gres/gpu`); empty: all.
    pub tres: Vec<String>,
    /// The cluster's TRES totals (`cpu=64,mem=256000,node=4,gres/gpu=8`) to assume for the
    /// whole window when the dbd has no record of them (sreport passes its slurm.conf's).
    pub fallback_capacity: Option<String>,
}

/// TRES-seconds of one association and TRES.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub cluster: String,
    pub account: String,
    pub user: String,
    pub partition: String,
    pub tres: String,
    pub seconds: u64,
}

/// What a cluster could have used of one TRES in the window (sreport's Reported).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityRow {
    pub cluster: String,
    pub tres: String,
    /// The TRES count (the last one in the window).
    pub count: u64,
    /// count × seconds, summed over the window.
    pub seconds: u64,
    /// TRES-seconds of the window that nodes spent DOWN or DRAINED (node events).
    #[serde(default)]
    pub down_seconds: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// The dbd's clock when the report was taken.
    pub now: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    /// By cluster, account, user, partition, TRES; only non-zero usage.
    pub rows: Vec<UsageRow>,
    pub capacity: Vec<CapacityRow>,
    /// The account tree (parents), for tree-ordered reports.
    pub accounts: Vec<Account>,
    /// The clusters the report covers.
    pub clusters: Vec<String>,
    /// `PrivateData=usage` for a user who is not an operator: `rows` hold only that user's
    /// own usage (and cluster-wide reports are refused).
    #[serde(default)]
    pub private: bool,
}

/// `QueryJobSizes` (`sreport job SizesByAccount`): TRES-seconds (and job counts) of the job
/// runs in `[start, end)`, by size (count of `tres` per job) and top-level account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSizesQuery {
    pub clusters: Vec<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// `cpu` by default.
    pub tres: String,
    /// Group under the children of these accounts (`root` when empty).
    pub accounts: Vec<String>,
    /// Bucket lower bounds after the first (`50,250,500,1000`); empty: one bucket per size.
    pub grouping: Vec<u64>,
    /// `FlatView`: every account on its own line.
    pub flat_view: bool,
    pub users: Vec<String>,
    pub partitions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSizesRow {
    pub cluster: String,
    pub account: String,
    /// Per bucket (the buckets of the reply): TRES-seconds and number of jobs.
    pub seconds: Vec<u64>,
    pub jobs: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSizes {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Bucket lower bounds (the first is 0; with `individual` grouping, each size seen).
    pub buckets: Vec<u64>,
    /// By cluster and account name.
    pub rows: Vec<JobSizesRow>,
}

/// `QueryShares`: each association's shares and decayed usage (sshare; the controller's
/// fairshare). Usage is billing TRES-seconds (cpu-seconds where a job has no billing),
/// decayed with `half_life_s` (PriorityDecayHalfLife; 0: no decay) up to the dbd's now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharesQuery {
    pub cluster: String,
    pub half_life_s: u64,
}

/// One association's shares and usage. An account's own association has an empty `user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssocShares {
    pub account: String,
    pub user: String,
    pub partition: String,
    /// The parent account of an account's association (empty for root).
    pub parent: String,
    pub shares: u32,
    /// Decayed usage (for an account: of the associations under it).
    pub usage: f64,
    /// Decayed TRES-seconds per TRES.
    pub tres_usage: Vec<(String, f64)>,
    /// TRES-minutes the association's running jobs have left (sshare's TRESRunMins).
    pub tres_run_mins: Vec<(String, u64)>,
    /// GrpTRESMins (not stored yet: empty).
    pub grp_tres_mins: String,
    /// `PrivateData=usage`: what sshare prints of this association, computed by the dbd
    /// over the whole tree (which the caller does not get).
    #[serde(default)]
    pub computed: Option<super::events::ComputedShares>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SharesReply {
    pub now: Timestamp,
    pub cluster: String,
    /// In Slurm's tree order (an account, its users, then its sub-accounts).
    pub assocs: Vec<AssocShares>,
}

/// `RecordCapacity`: the cluster's TRES totals from `since` on (sreport's Reported time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityRecord {
    pub cluster: String,
    pub since: Timestamp,
    /// `cpu=64,mem=256000M,node=4,gres/gpu=8`.
    pub tres: String,
}

// ----- job steps (srun, salloc) -----

/// `Allocate` (srun or salloc without an allocation): a job that runs no batch script; its
/// steps come from `CreateStep` and it ends with `ReleaseAllocation` (or its time limit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocateRequest {
    pub spec: JobSpec,
    /// The caller's environment (what steps start from, like a batch job's `--export`).
    pub environment: Vec<(String, String)>,
}

/// `CreateStep`: a new step of a running job. The controller lays the tasks out over the
/// job's nodes and tells each node's agent to start its tasks, which connect to `io_addr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub job_id: JobId,
    pub name: String,
    pub argv: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub work_dir: String,
    /// `-n`; `None`: nodes × tasks per node.
    pub ntasks: Option<u32>,
    /// `-N`; `None`: every node of the job (or fewer when `-n` is smaller).
    pub nodes: Option<u32>,
    pub ntasks_per_node: Option<u32>,
    pub cpus_per_task: Option<u32>,
    /// srun's I/O server (`host:port`) and the token the agents present to it.
    pub io_addr: String,
    pub io_token: String,
    /// The task whose stdin srun forwards (`None`: every task reads /dev/null).
    pub stdin_task: Option<u32>,
    /// `--exact` (or `--exclusive`): the step holds only the CPUs its tasks need, so steps
    /// can run side by side; by default a step holds every CPU of the job on its nodes.
    #[serde(default)]
    pub exact: bool,
    /// `--overlap`: the step shares its resources with every other step.
    #[serde(default)]
    pub overlap: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReply {
    pub step_id: u32,
    /// The step's nodes, in order, and the number of tasks on each.
    pub nodes: Vec<String>,
    pub tasks_per_node: Vec<u32>,
}

/// What an agent runs for a step on its node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchStep {
    pub job: Job,
    pub step_id: u32,
    pub name: String,
    pub argv: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub work_dir: String,
    /// Global task ids on this node (`SLURM_PROCID`), in order (`SLURM_LOCALID` 0, 1, ...).
    pub tasks: Vec<u32>,
    /// This node's index in the step (`SLURM_NODEID`).
    pub node_index: u32,
    pub step_nodes: Vec<String>,
    pub ntasks: u32,
    pub cpus_per_task: Option<u32>,
    pub io_addr: String,
    pub io_token: String,
    pub stdin_task: Option<u32>,
    pub cluster_name: String,
}

/// How a step ended on one node (agents → controller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub node: String,
    pub job_id: JobId,
    pub step_id: u32,
    /// The highest exit status of the node's tasks (a signal wins over a code).
    pub exit: crate::model::ExitStatus,
    /// True when the step was cancelled (scancel, srun's second Ctrl-C).
    pub cancelled: bool,
    pub usage: JobUsage,
}

/// `scancel JOB.STEP`: end (or signal, with `signal`) these steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelStepsRequest {
    /// (job id, step id).
    pub steps: Vec<(JobId, u32)>,
    pub signal: Option<i32>,
}

/// `HoldAllocation`: srun or salloc keeps this stream open while it holds the allocation it
/// created; the controller answers one `Ack` and then nothing until the stream closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequest {
    pub job_id: JobId,
}

/// `ReleaseAllocation`: srun or salloc is done with an allocation it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    pub job_id: JobId,
    pub exit: crate::model::ExitStatus,
}

/// A step as the controller tracks it (journaled; shown by `squeue -s`, recorded for sacct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInfo {
    pub job_id: JobId,
    pub step_id: u32,
    pub name: String,
    pub nodes: Vec<String>,
    pub ntasks: u32,
    pub cpus: u32,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub state: crate::model::JobState,
    pub exit: crate::model::ExitStatus,
    pub usage: JobUsage,
    /// Nodes whose end is still to be reported.
    pub pending_nodes: Vec<String>,
    /// The CPUs the step holds on each of `nodes` (empty in records from before steps held
    /// CPUs).
    #[serde(default)]
    pub cpus_per_node: Vec<u32>,
    /// `--overlap`: holds nothing, shares everything.
    #[serde(default)]
    pub overlap: bool,
    /// The step was recorded CANCELLED because its job ended before all its nodes reported;
    /// a report arriving afterwards (the job's end overtook it) still sets its state.
    #[serde(default)]
    pub ended_with_job: bool,
}

/// Agent ↔ srun: what an agent sends on a step's I/O stream. The first message is `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepIoUp {
    Hello {
        job_id: JobId,
        step_id: u32,
        node: String,
        token: String,
        tasks: Vec<u32>,
    },
    Output {
        task: u32,
        stderr: bool,
        #[serde(with = "b64")]
        data: Vec<u8>,
    },
    /// A task ended (its output has all been sent).
    Exited {
        task: u32,
        exit: crate::model::ExitStatus,
    },
    /// A task could not be started: slurmstepd's message.
    LaunchFailed { task: u32, message: String },
}

/// srun → agent on a step's I/O stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepIoDown {
    Stdin {
        #[serde(with = "b64")]
        data: Vec<u8>,
    },
    StdinClosed,
    /// Deliver a signal to every task of the step on this node.
    Signal {
        signal: i32,
    },
    /// End the step: SIGCONT+SIGTERM, KillWait, SIGKILL.
    Cancel,
}

/// Bytes as base64 text (the JSON codec would otherwise send a number per byte).
mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

// ----- live usage of running steps (sstat) -----

/// One running task's usage as its node last sampled it. Agents send these with every
/// heartbeat; the controller keeps the latest set per node and answers `StatSteps` from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveTaskUsage {
    pub job_id: JobId,
    /// The srun step; `None` for the batch step.
    pub step_id: Option<u32>,
    /// The task's global id (`SLURM_PROCID`; 0 for the batch step).
    pub task: u32,
    /// Filled in by the controller from the heartbeat's sender.
    #[serde(default)]
    pub node: String,
    pub cpu_time_ms: u64,
    pub rss_kb: u64,
    pub max_rss_kb: u64,
    pub vsize_kb: u64,
    pub max_vsize_kb: u64,
}

/// `StatSteps` (sstat): the running steps of these jobs and their live usage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatQuery {
    pub job_ids: Vec<JobId>,
}

/// A running step as `sstat` sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStat {
    /// `None`: the batch step.
    pub step_id: Option<u32>,
    /// The step's nodes, in order.
    pub nodes: Vec<String>,
    pub ntasks: u32,
    /// The tasks' latest samples (a task not sampled yet is missing).
    pub tasks: Vec<LiveTaskUsage>,
}

/// One job of a [`StatQuery`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStat {
    pub job_id: JobId,
    /// False when the controller does not know the job (never existed, or purged).
    pub found: bool,
    /// Its running steps: the batch step first, then srun steps in order.
    pub steps: Vec<StepStat>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatReply {
    pub jobs: Vec<JobStat>,
}
