//! The scheduling engine. Synchronous and deterministic: same inputs, same decisions.
//!
//! Architecture invariant: no I/O, no system clock (time comes from the injected [`Clock`]),
//! no threads, no randomness.
//!
//! The controller (or the simulator) feeds it events — submissions, job ends, node changes —
//! and calls [`Engine::schedule`], which returns the jobs to start with their allocations.

mod arrays;
mod bounds;
mod candidates;
mod clock;
mod deps;
mod fairshare;
mod fits;
mod fxhash;
mod limits;
mod nodes;
mod pass;
mod priority;
mod profile;
mod queue;
mod resources;
mod restore;
mod shape;
mod sorted_blocks;

pub use clock::{Clock, ManualClock, SystemClock};
pub use fairshare::Fairshare;
pub use limits::{AccountAssoc, AssocLimitSet, Associations, QosLimitSet, UserAssoc};
pub use nodes::NodeView;
pub use pass::PassStats;
pub use priority::Factors;
pub use resources::{GresKinds, MAX_GRES_KINDS, NodeDemand, Res, TooManyGresKinds};
pub use shape::{Shape, ShapeError};

use crate::config::ClusterConfig;
use crate::model::{
    ExitStatus, Hold, Job, JobId, JobSpec, JobState, NodeAllocation, PartitionState, PendingReason,
    Qos, TimeLimit, Timestamp,
};
use nodes::NodeSlot;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Why the engine refused a request. Messages follow Slurm's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("invalid partition specified: {0}")]
    InvalidPartition(String),
    #[error("Partition {0} is not accepting new jobs (state {1})")]
    PartitionClosed(String, PartitionState),
    #[error("invalid qos specification: {0}")]
    InvalidQos(String),
    #[error(
        "Job's account not permitted to use this partition ({partition} allows {allowed} not {account})"
    )]
    AccountNotAllowed {
        partition: String,
        allowed: String,
        account: String,
    },
    #[error(
        "Job's QOS not permitted to use this partition ({partition} allows {allowed} not {qos})"
    )]
    QosNotAllowed {
        partition: String,
        allowed: String,
        qos: String,
    },
    #[error("Job dependency problem")]
    InvalidDependency,
    #[error("Invalid job array specification (size {0} exceeds MaxArraySize {1})")]
    ArrayTooLarge(usize, u32),
    #[error("Invalid job id specified")]
    UnknownJob(JobId),
    #[error("job {0} is already known")]
    DuplicateJob(JobId),
    #[error("Invalid node name specified: {0}")]
    UnknownNode(String),
    #[error("partition {partition} has {nodes} nodes; at most 16,777,216 are supported")]
    TooManyNodes { partition: String, nodes: usize },
    #[error("Job is not pending: {0}")]
    NotPending(JobId),
    #[error("Job is not running: {0}")]
    NotRunning(JobId),
    #[error("{0}")]
    Shape(#[from] ShapeError),
    #[error("{0}")]
    Gres(#[from] TooManyGresKinds),
    #[error("Requested time limit is invalid (missing or exceeds some limit)")]
    TimeLimitExceedsPartition,
    #[error("no association for user {user}, account {account:?} (partitions {partitions})")]
    InvalidAccount {
        user: String,
        account: String,
        partitions: String,
    },
    #[error("submit limit reached for user {user} in account {account}")]
    SubmitLimit { user: String, account: String },
}

impl EngineError {
    /// The text of the Slurm error code this maps to, as Slurm's commands print it after
    /// "Batch job submission failed: " and the like.
    pub fn slurm_error(&self) -> &'static str {
        match self {
            Self::InvalidPartition(_) => "Invalid partition name specified",
            Self::PartitionClosed(..) => "Required partition not available (inactive or drain)",
            Self::InvalidQos(_) | Self::QosNotAllowed { .. } => "Invalid qos specification",
            Self::AccountNotAllowed { .. } | Self::InvalidAccount { .. } => {
                "Invalid account or account/partition combination specified"
            }
            Self::SubmitLimit { .. } => {
                "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"
            }
            Self::InvalidDependency => "Job dependency problem",
            Self::ArrayTooLarge(..) => "Invalid job array specification",
            Self::UnknownJob(_) | Self::DuplicateJob(_) => "Invalid job id specified",
            Self::UnknownNode(_) => "Invalid node name specified",
            Self::NotPending(_) => "Job is no longer pending execution",
            Self::NotRunning(_) => "Job is pending execution",
            Self::Shape(ShapeError::UnknownGres(_)) => {
                "Invalid generic resource (gres) specification"
            }
            Self::Shape(ShapeError::NodeConfigUnavailable)
            | Self::Gres(_)
            | Self::TooManyNodes { .. } => "Requested node configuration is not available",
            Self::TimeLimitExceedsPartition => {
                "Requested time limit is invalid (missing or exceeds some limit)"
            }
        }
    }
}

/// How a running job ended, as its node reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum JobEnd {
    /// The batch script exited (COMPLETED if status is 0:0, else FAILED).
    Exited(ExitStatus),
    /// Killed at its time limit.
    TimedOut,
    /// Ended after a cancel request.
    Cancelled(ExitStatus),
    /// Killed by the OOM killer / cgroup memory limit.
    OutOfMemory(ExitStatus),
    /// Its node failed.
    NodeFailed,
}

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelEffect {
    /// A pending job is now CANCELLED.
    Cancelled,
    /// The job is running: the caller must signal it; its end will be recorded as CANCELLED.
    SignalRunning,
    /// It had already finished (scancel exits 0 for these).
    AlreadyFinished,
}

/// A job the engine decided to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStart {
    pub job_id: JobId,
    pub allocation: Vec<NodeAllocation>,
    /// Nodes of the allocation that are powered down and must be resumed first.
    pub resume_nodes: Vec<String>,
}

/// What happened to a job whose node failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeFailOutcome {
    Requeued,
    Failed,
}

/// Engine-side bookkeeping kept beside each job.
///
/// Laid out in declaration order (`repr(C)`), as are [`Job`] and [`crate::model::JobSpec`]:
/// what a pass reads and writes for every pending job comes first in each, so that it lies
/// in a few adjacent cache lines of the entry instead of one line per field. With 100,000
/// pending jobs, those lines are most of what a pass waits for outside its searches.
#[derive(Debug, Clone)]
#[repr(C)]
struct JobEntry {
    /// Order of submission, for `priority/basic` and stable ties.
    seq: u64,
    /// The job's placement options (partition, shape, seconds) as the last pass computed
    /// them; they depend only on its spec and time limit, and are cleared when those change.
    placement: Option<Arc<[PlacementOption]>>,
    /// Its (account, user) association in fairshare, once looked up (by name, once).
    fairshare_user: Option<fairshare::UserId>,
    job: Job,
    /// When usage was last charged for this running job.
    usage_mark: Timestamp,
    /// Requested while running; applied when its end is reported.
    cancel_by: Option<u32>,
    requeue_requested: bool,
}

impl JobEntry {
    /// Its fairshare association, created (one share) when new. Its account and user never
    /// change after submission, so the index is looked up once.
    #[inline]
    fn fairshare_user(&mut self, fairshare: &mut Fairshare) -> fairshare::UserId {
        match self.fairshare_user {
            Some(user) => user,
            None => self.look_up_fairshare_user(fairshare),
        }
    }

    #[inline(never)]
    fn look_up_fairshare_user(&mut self, fairshare: &mut Fairshare) -> fairshare::UserId {
        let spec = &self.job.spec;
        let account = if spec.account.is_empty() {
            fairshare::ROOT
        } else {
            &spec.account
        };
        *self
            .fairshare_user
            .insert(fairshare.ensure_user(account, &spec.user))
    }
}

/// (partition index, shape in it, time limit in seconds).
type PlacementOption = (usize, Shape, i64);

/// A partition with its nodes resolved to indices, in allocation order (weight, config order).
#[derive(Debug, Clone)]
struct PartSlot {
    config: crate::model::PartitionConfig,
    nodes: Vec<usize>,
    /// Position of each node (by node index) in `nodes`; `u32::MAX` when not a member.
    rank: Vec<u32>,
    /// Distinct node capacities with how many nodes have each (feasibility checks).
    capacities: Vec<(Res, usize)>,
    max_node_cpus: u32,
}

/// The scheduling engine.
pub struct Engine<C: Clock = SystemClock> {
    clock: C,
    cluster: ClusterConfig,
    kinds: GresKinds,
    nodes: Vec<NodeSlot>,
    node_by_name: fxhash::FastMap<String, usize>,
    parts: Vec<PartSlot>,
    part_by_name: fxhash::FastMap<String, usize>,
    qos: fxhash::FastMap<String, Qos>,
    /// Some QOS has a MaxWall (else eligibility skips looking the job's QOS up).
    qos_wall_limits: bool,
    jobs: fxhash::FastMap<JobId, JobEntry>,
    pending: BTreeSet<JobId>,
    running: BTreeSet<JobId>,
    /// Array job id → its split-off task ids.
    array_tasks: HashMap<JobId, Vec<JobId>>,
    /// Final states of purged jobs, for dependencies.
    history: HashMap<JobId, (JobState, ExitStatus)>,
    next_id: JobId,
    next_seq: u64,
    fairshare: Fairshare,
    /// Accounting's associations when `AccountingStorageEnforce` has `associations`
    /// (`None`: not enforced, or not loaded yet).
    associations: Option<Associations>,
    total_cpus: u64,
    /// Planned starts for every pending job, not only until nothing else can start.
    plan_all: bool,
    /// Searches share one frontier per demand (an exact speed-up; off only to check that it
    /// is exact).
    shared_frontiers: bool,
    /// The pending queue in priority order, kept between passes under basic priority.
    order_cache: queue::OrderCache,
    /// Passes may keep that order (an exact speed-up; off only to check that it is exact).
    keep_order: bool,
    /// Jobs' placement options, one copy of each.
    placements: candidates::SharedPlacements,
    /// Active jobs per user, account and QOS, kept as jobs come and go (submit limits).
    active: limits::ActiveJobs,
}

impl<C: Clock> Engine<C> {
    /// Builds an engine for `cluster`. Nodes start IDLE (cloud nodes powered down); a
    /// controller marks nodes that have not registered with [`Engine::node_not_responding`].
    pub fn new(cluster: ClusterConfig, clock: C) -> Result<Self, EngineError> {
        let mut kinds = GresKinds::default();
        for node in &cluster.nodes {
            for g in &node.gres {
                kinds.intern(&g.name, g.kind.as_deref())?;
            }
        }
        let nodes: Vec<NodeSlot> = cluster
            .nodes
            .iter()
            .map(|n| NodeSlot::new(n.clone(), &kinds))
            .collect();
        let node_by_name: fxhash::FastMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.config.name.clone(), i))
            .collect();
        let mut parts = Vec::new();
        for p in &cluster.partitions {
            let mut idx: Vec<usize> = Vec::with_capacity(p.nodes.len());
            for name in &p.nodes {
                let i = *node_by_name
                    .get(name)
                    .ok_or_else(|| EngineError::UnknownNode(name.clone()))?;
                idx.push(i);
            }
            idx.sort_by_key(|&i| (nodes[i].config.weight, i));
            idx.dedup();
            if idx.len() > bounds::MAX_PARTITION_NODES {
                return Err(EngineError::TooManyNodes {
                    partition: p.name.clone(),
                    nodes: idx.len(),
                });
            }
            let max_node_cpus = idx.iter().map(|&i| nodes[i].config.cpus).max().unwrap_or(0);
            let mut rank = vec![u32::MAX; nodes.len()];
            for (pos, &i) in idx.iter().enumerate() {
                rank[i] = pos as u32;
            }
            let mut capacities: Vec<(Res, usize)> = Vec::new();
            for &i in &idx {
                match capacities.iter_mut().find(|(c, _)| *c == nodes[i].capacity) {
                    Some((_, n)) => *n += 1,
                    None => capacities.push((nodes[i].capacity, 1)),
                }
            }
            parts.push(PartSlot {
                config: p.clone(),
                nodes: idx,
                rank,
                capacities,
                max_node_cpus,
            });
        }
        let part_by_name = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.config.name.clone(), i))
            .collect();
        let mut qos: fxhash::FastMap<String, Qos> = cluster
            .qos
            .iter()
            .map(|q| (q.name.clone(), q.clone()))
            .collect();
        qos.entry("normal".into()).or_insert_with(Qos::normal);
        let total_cpus = nodes.iter().map(|n| u64::from(n.config.cpus)).sum();
        let now = clock.now();
        Ok(Self {
            fairshare: Fairshare::new(cluster.priority.decay_half_life_s, now),
            associations: None,
            clock,
            kinds,
            nodes,
            node_by_name,
            parts,
            part_by_name,
            qos_wall_limits: qos.values().any(|q| q.max_wall.is_some()),
            qos,
            jobs: fxhash::FastMap::default(),
            pending: BTreeSet::new(),
            running: BTreeSet::new(),
            array_tasks: HashMap::new(),
            history: HashMap::new(),
            next_id: 1,
            next_seq: 0,
            total_cpus,
            plan_all: true,
            shared_frontiers: true,
            order_cache: queue::OrderCache::default(),
            placements: candidates::SharedPlacements::default(),
            keep_order: true,
            active: limits::ActiveJobs::default(),
            cluster,
        })
    }

    /// When false, a pass stops planning once no remaining job could start now (same starts,
    /// fewer planned start times; the jobs after that point keep the reason and planned start
    /// their last examination gave them). The simulator turns this off; live controllers keep it on
    /// so `squeue --start` has answers.
    pub fn set_plan_all(&mut self, plan_all: bool) {
        self.plan_all = plan_all;
    }

    /// Turns off sharing one frontier per demand across shapes (tests compare both ways).
    #[doc(hidden)]
    pub fn set_shared_frontiers(&mut self, on: bool) {
        self.shared_frontiers = on;
    }

    /// Turns off keeping the pending order between passes (tests compare both ways).
    #[doc(hidden)]
    pub fn set_keep_order(&mut self, on: bool) {
        self.keep_order = on;
        self.order_cache.invalidate();
    }

    /// Sets the next job id (controllers restore it from their state).
    pub fn set_next_job_id(&mut self, id: JobId) {
        self.next_id = id.max(1);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn cluster(&self) -> &ClusterConfig {
        &self.cluster
    }

    pub fn fairshare(&self) -> &Fairshare {
        &self.fairshare
    }

    // ----- submission -----

    /// Fairshare from accounting: decayed usage per (account, user) association replaces
    /// what the engine has counted (`PriorityDecayHalfLife` applies from here on).
    pub fn set_recorded_usage<'a>(
        &mut self,
        usage: impl IntoIterator<Item = (&'a str, &'a str, f64)>,
    ) {
        let now = self.clock.now();
        self.fairshare.set_recorded_usage(usage, now);
    }

    /// Replaces the QOS definitions (priority, MaxWall) with accounting's; `normal` always
    /// exists.
    pub fn set_qos(&mut self, qos: Vec<Qos>) {
        let mut table: fxhash::FastMap<String, Qos> =
            qos.into_iter().map(|q| (q.name.clone(), q)).collect();
        table.entry("normal".into()).or_insert_with(Qos::normal);
        self.qos_wall_limits = table.values().any(|q| q.max_wall.is_some());
        self.qos = table;
    }

    /// Replaces the associations (from accounting) and their shares in fairshare's tree.
    /// `None` stops enforcing them.
    pub fn set_associations(&mut self, associations: Option<Associations>) {
        if let Some(a) = &associations {
            for (name, acct) in a.accounts() {
                let parent = if acct.parent.is_empty() {
                    fairshare::ROOT
                } else {
                    acct.parent.as_str()
                };
                self.fairshare.set_account(name, parent, acct.shares.max(1));
            }
            for u in a.users() {
                self.fairshare
                    .set_user(&u.account, &u.user, u.shares.max(1));
            }
        }
        self.associations = associations;
    }

    /// Under enforced associations: fills in the user's default account when the job names
    /// none, and refuses a job without an association or over its submit limits.
    fn check_association(&self, spec: &mut JobSpec) -> Result<(), EngineError> {
        let Some(assocs) = &self.associations else {
            return Ok(());
        };
        let invalid = |spec: &JobSpec| EngineError::InvalidAccount {
            user: spec.user.clone(),
            account: spec.account.clone(),
            partitions: spec.partitions.join(","),
        };
        let Some(account) = assocs.resolve_account(&spec.user, &spec.account) else {
            return Err(invalid(spec));
        };
        spec.account = account.to_owned();
        match assocs.resolve_qos(&spec.user, &spec.account, &spec.partitions, &spec.qos) {
            Some(qos) => spec.qos = qos,
            None => return Err(EngineError::InvalidQos(spec.qos.clone())),
        }
        let new_jobs = spec
            .array
            .as_ref()
            .map_or(1, |a| a.indices.len().max(1) as u32);
        assocs
            .check_submit(
                &spec.user,
                &spec.account,
                &spec.qos,
                &spec.partitions,
                new_jobs,
                &self.active,
            )
            .map_err(|refusal| match refusal {
                limits::SubmitRefusal::InvalidAccount => invalid(spec),
                limits::SubmitRefusal::SubmitLimit => EngineError::SubmitLimit {
                    user: spec.user.clone(),
                    account: spec.account.clone(),
                },
            })
    }

    /// True when the active-job counts kept for the submit limits equal a fresh count.
    #[cfg(test)]
    pub(crate) fn active_counts_match_a_recount(&self) -> bool {
        self.active == limits::ActiveJobs::count(self.jobs.values().map(|e| &e.job))
    }

    /// Accepts a job (PENDING, reason None until the next pass) and returns its id.
    pub fn submit(&mut self, mut spec: JobSpec) -> Result<JobId, EngineError> {
        let now = self.clock.now();
        if spec.partitions.is_empty() {
            let default = self
                .cluster
                .default_partition()
                .ok_or_else(|| EngineError::InvalidPartition("(null)".into()))?;
            spec.partitions.push(default.name.clone());
        }
        self.check_association(&mut spec)?;
        if spec.qos.is_empty() {
            spec.qos = "normal".into();
        }
        let mut part_limit = None;
        for name in &spec.partitions {
            let p = self.part(name)?;
            let account = if spec.account.is_empty() {
                fairshare::ROOT
            } else {
                &spec.account
            };
            if !p.config.allow_accounts.allows(account) {
                return Err(EngineError::AccountNotAllowed {
                    partition: name.clone(),
                    allowed: p.config.allow_accounts.to_string(),
                    account: account.to_owned(),
                });
            }
            if !p.config.allow_qos.allows(&spec.qos) {
                return Err(EngineError::QosNotAllowed {
                    partition: name.clone(),
                    allowed: p.config.allow_qos.to_string(),
                    qos: spec.qos.clone(),
                });
            }
            if matches!(
                p.config.state,
                PartitionState::Drain | PartitionState::Inactive
            ) {
                return Err(EngineError::PartitionClosed(name.clone(), p.config.state));
            }
            let shape = shape::shape_for(
                &spec,
                &p.config,
                p.max_node_cpus,
                &self.kinds,
                &self.cluster.select,
            )?;
            self.check_feasible(p, &shape)?;
            part_limit.get_or_insert(p.config.default_time.unwrap_or(p.config.max_time));
        }
        if !self.qos.contains_key(&spec.qos) {
            return Err(EngineError::InvalidQos(spec.qos.clone()));
        }
        for dep in &spec.dependency.conditions {
            if let Some(target) = deps::target(dep)
                && !self.jobs.contains_key(&target)
                && !self.history.contains_key(&target)
            {
                return Err(EngineError::InvalidDependency);
            }
        }
        if let Some(array) = &spec.array
            && array.indices.len() > self.cluster.scheduler.max_array_size as usize
        {
            return Err(EngineError::ArrayTooLarge(
                array.indices.len(),
                self.cluster.scheduler.max_array_size,
            ));
        }
        if spec.array.as_ref().is_some_and(|a| a.indices.is_empty()) {
            spec.array = None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let time_limit = spec
            .time_limit
            .unwrap_or(part_limit.unwrap_or(TimeLimit::Infinite));
        let account = if spec.account.is_empty() {
            fairshare::ROOT.to_owned()
        } else {
            spec.account.clone()
        };
        self.fairshare.ensure_user(&account, &spec.user);
        let job = Job {
            array_job_id: spec.array.as_ref().map(|_| id),
            partition: spec.partitions[0].clone(),
            time_limit,
            submit_time: now,
            hold: spec.hold.then_some(Hold::User),
            array_pending: spec.array.clone(),
            ..Job::new(id, JobState::Pending, spec)
        };
        self.insert_pending(job);
        Ok(id)
    }

    fn insert_pending(&mut self, job: Job) {
        self.active.add(&job.spec, limits::ActiveJobs::weight(&job));
        let id = job.id;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.jobs.insert(
            id,
            JobEntry {
                job,
                seq,
                usage_mark: 0,
                cancel_by: None,
                requeue_requested: false,
                placement: None,
                fairshare_user: None,
            },
        );
        self.enqueue(id);
    }

    /// Rejects requests no node in the partition could ever hold.
    fn check_feasible(&self, p: &PartSlot, shape: &Shape) -> Result<(), EngineError> {
        let capable: usize = p
            .capacities
            .iter()
            .filter(|(cap, _)| shape.demand.fits_capacity(cap))
            .map(|(_, n)| n)
            .sum();
        if capable < shape.nodes as usize {
            return Err(ShapeError::NodeConfigUnavailable.into());
        }
        Ok(())
    }

    fn part(&self, name: &str) -> Result<&PartSlot, EngineError> {
        self.part_by_name
            .get(name)
            .map(|&i| &self.parts[i])
            .ok_or_else(|| EngineError::InvalidPartition(name.to_owned()))
    }

    // ----- queries -----

    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs.get(&id).map(|e| &e.job)
    }

    /// Every job the engine still holds, in id order.
    pub fn jobs(&self) -> Vec<&Job> {
        let mut all: Vec<&Job> = self.jobs.values().map(|e| &e.job).collect();
        all.sort_by_key(|j| j.id);
        all
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    pub fn running_count(&self) -> usize {
        self.running.len()
    }

    pub fn running_jobs(&self) -> impl Iterator<Item = &Job> + '_ {
        self.running.iter().filter_map(|id| self.job(*id))
    }

    pub fn pending_jobs(&self) -> impl Iterator<Item = &Job> + '_ {
        self.pending.iter().filter_map(|id| self.job(*id))
    }

    /// Running jobs past their time limit at `now` (the caller kills them; their end is
    /// reported as [`JobEnd::TimedOut`]).
    pub fn overdue_jobs(&self) -> Vec<JobId> {
        let now = self.clock.now();
        self.running_jobs()
            .filter(|j| match (j.start_time, j.time_limit.as_secs()) {
                (Some(start), Some(limit)) => now >= start + limit as i64,
                _ => false,
            })
            .map(|j| j.id)
            .collect()
    }

    // ----- job lifecycle -----

    /// Records the end of a running job and frees its resources.
    pub fn job_ended(&mut self, id: JobId, end: JobEnd) -> Result<(), EngineError> {
        let now = self.clock.now();
        if !self.running.contains(&id) {
            return Err(EngineError::NotRunning(id));
        }
        self.release_allocation(id, now);
        let entry = self.jobs.get_mut(&id).ok_or(EngineError::UnknownJob(id))?;
        if entry.requeue_requested && entry.cancel_by.is_none() {
            entry.requeue_requested = false;
            Self::reset_to_pending(entry, now);
            self.enqueue(id);
            return Ok(());
        }
        let job = &mut entry.job;
        let (state, exit) = match end {
            _ if entry.cancel_by.is_some() => {
                job.cancelled_by = entry.cancel_by;
                let exit = match end {
                    JobEnd::Exited(e) | JobEnd::Cancelled(e) | JobEnd::OutOfMemory(e) => e,
                    _ => ExitStatus {
                        code: 0,
                        signal: 15,
                    },
                };
                (JobState::Cancelled, exit)
            }
            JobEnd::Exited(e) if e.is_success() => (JobState::Completed, e),
            JobEnd::Exited(e) => (JobState::Failed, e),
            JobEnd::TimedOut => (
                JobState::Timeout,
                ExitStatus {
                    code: 0,
                    signal: 15,
                },
            ),
            JobEnd::Cancelled(e) => (JobState::Cancelled, e),
            JobEnd::OutOfMemory(e) => (JobState::OutOfMemory, e),
            JobEnd::NodeFailed => (JobState::NodeFail, ExitStatus { code: 0, signal: 9 }),
        };
        self.active
            .remove(&job.spec, limits::ActiveJobs::weight(job));
        job.state = state;
        job.exit = Some(exit);
        job.end_time = Some(now);
        job.reason = PendingReason::None;
        Ok(())
    }

    /// Cancels a job (`scancel`). Pending jobs end at once; running ones need signalling.
    pub fn cancel(&mut self, id: JobId, by_uid: u32) -> Result<CancelEffect, EngineError> {
        let now = self.clock.now();
        let entry = self.jobs.get_mut(&id).ok_or(EngineError::UnknownJob(id))?;
        match entry.job.state {
            JobState::Pending => {
                let job = &mut entry.job;
                self.active
                    .remove(&job.spec, limits::ActiveJobs::weight(job));
                job.state = JobState::Cancelled;
                job.cancelled_by = Some(by_uid);
                job.end_time = Some(now);
                job.reason = PendingReason::None;
                job.exit = Some(ExitStatus::SUCCESS);
                job.array_pending = None;
                self.pending.remove(&id);
                Ok(CancelEffect::Cancelled)
            }
            JobState::Running | JobState::Suspended | JobState::Completing => {
                entry.cancel_by = Some(by_uid);
                Ok(CancelEffect::SignalRunning)
            }
            _ => Ok(CancelEffect::AlreadyFinished),
        }
    }

    /// Holds a pending job (`scontrol hold` / `uhold`).
    pub fn hold(&mut self, id: JobId, kind: Hold) -> Result<(), EngineError> {
        let job = self.pending_job_mut(id)?;
        job.hold = Some(kind);
        job.reason = match kind {
            Hold::User => PendingReason::JobHeldUser,
            Hold::Admin => PendingReason::JobHeldAdmin,
        };
        job.priority = 0;
        Ok(())
    }

    /// Releases a held job (`scontrol release`).
    pub fn release(&mut self, id: JobId) -> Result<(), EngineError> {
        let job = self.pending_job_mut(id)?;
        job.hold = None;
        job.reason = PendingReason::None;
        Ok(())
    }

    /// Changes a pending job's time limit, partition or nice value (`scontrol update`). A
    /// running job's time limit may change too.
    pub fn update_time_limit(&mut self, id: JobId, limit: TimeLimit) -> Result<(), EngineError> {
        let entry = self.jobs.get_mut(&id).ok_or(EngineError::UnknownJob(id))?;
        if entry.job.state.is_finished() {
            return Err(EngineError::NotPending(id));
        }
        entry.job.time_limit = limit;
        entry.job.spec.time_limit = Some(limit);
        entry.placement = None;
        self.order_cache.invalidate();
        if entry.job.state == JobState::Running {
            let start = entry.job.start_time.unwrap_or(0);
            let end = limit.as_secs().map_or(profile::NEVER, |s| start + s as i64);
            let nodes: Vec<usize> = entry
                .job
                .allocation
                .iter()
                .filter_map(|a| self.node_by_name.get(&a.node).copied())
                .collect();
            for i in nodes {
                self.nodes[i].move_release(id, end);
            }
        }
        Ok(())
    }

    pub fn update_partition(&mut self, id: JobId, partition: &str) -> Result<(), EngineError> {
        let p = self.part(partition)?;
        let spec = &self.pending_job(id)?.spec;
        let shape = shape::shape_for(
            spec,
            &p.config,
            p.max_node_cpus,
            &self.kinds,
            &self.cluster.select,
        )?;
        self.check_feasible(p, &shape)?;
        let job = self.pending_job_mut(id)?;
        job.spec.partitions = vec![partition.to_owned()];
        job.partition = partition.to_owned();
        Ok(())
    }

    pub fn update_nice(&mut self, id: JobId, nice: i32) -> Result<(), EngineError> {
        self.pending_job_mut(id)?.spec.nice = nice;
        Ok(())
    }

    /// Requeues a running job (`scontrol requeue`): it is killed and pends again. The caller
    /// kills it; its end report then puts it back in the queue.
    pub fn request_requeue(&mut self, id: JobId) -> Result<(), EngineError> {
        let entry = self.jobs.get_mut(&id).ok_or(EngineError::UnknownJob(id))?;
        if entry.job.state != JobState::Running {
            return Err(EngineError::NotRunning(id));
        }
        entry.requeue_requested = true;
        Ok(())
    }

    fn pending_job(&self, id: JobId) -> Result<&Job, EngineError> {
        let entry = self.jobs.get(&id).ok_or(EngineError::UnknownJob(id))?;
        if entry.job.state != JobState::Pending {
            return Err(EngineError::NotPending(id));
        }
        Ok(&entry.job)
    }

    fn pending_job_mut(&mut self, id: JobId) -> Result<&mut Job, EngineError> {
        let entry = self.jobs.get_mut(&id).ok_or(EngineError::UnknownJob(id))?;
        if entry.job.state != JobState::Pending {
            return Err(EngineError::NotPending(id));
        }
        entry.placement = None;
        // Its place in the order or what it needs may change: the order is rebuilt.
        self.order_cache.invalidate();
        Ok(&mut entry.job)
    }

    fn reset_to_pending(entry: &mut JobEntry, now: Timestamp) {
        let job = &mut entry.job;
        job.state = JobState::Pending;
        job.reason = PendingReason::None;
        job.start_time = None;
        job.end_time = None;
        job.allocation.clear();
        job.restarts += 1;
        job.eligible_time = None;
        job.submit_time = job.submit_time.min(now);
        job.planned_start = None;
    }

    /// Frees the resources of a running job and charges its usage.
    fn release_allocation(&mut self, id: JobId, now: Timestamp) {
        let Some(entry) = self.jobs.get_mut(&id) else {
            return;
        };
        self.running.remove(&id);
        let cpus: u64 = entry.job.allocation.iter().map(|a| u64::from(a.cpus)).sum();
        let elapsed = (now - entry.usage_mark).max(0) as f64;
        entry.usage_mark = now;
        let user = entry.fairshare_user(&mut self.fairshare);
        self.fairshare.add_usage_to(user, cpus as f64 * elapsed);
        for alloc in &entry.job.allocation {
            if let Some(&i) = self.node_by_name.get(&alloc.node) {
                self.nodes[i].release(id);
            }
        }
    }

    /// Forgets finished jobs that ended before `before` (MinJobAge), keeping their final
    /// state for dependency checks. Returns how many were purged.
    pub fn purge_finished(&mut self, before: Timestamp) -> usize {
        let old: Vec<JobId> = self
            .jobs
            .values()
            .filter(|e| e.job.state.is_finished() && e.job.end_time.is_some_and(|t| t < before))
            .map(|e| e.job.id)
            .collect();
        for id in &old {
            if let Some(e) = self.jobs.remove(id) {
                self.history.insert(
                    *id,
                    (e.job.state, e.job.exit.unwrap_or(ExitStatus::SUCCESS)),
                );
            }
        }
        old.len()
    }
}

#[cfg(test)]
mod tests;
