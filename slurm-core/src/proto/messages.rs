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
    Usage { job_id: JobId, usage: JobUsage },
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
    },
    DeleteAccounts {
        names: Vec<String>,
    },
    DeleteUsers {
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgrQuery {
    pub entity: MgrEntity,
    pub names: Vec<String>,
    /// Associations of these users / accounts only (empty: any).
    pub users: Vec<String>,
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgrList {
    pub clusters: Vec<String>,
    pub accounts: Vec<Account>,
    pub users: Vec<AcctUser>,
    /// In Slurm's tree order: an account, its users, then its sub-accounts.
    pub assocs: Vec<Assoc>,
}
