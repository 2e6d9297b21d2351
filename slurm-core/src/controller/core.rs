//! The controller's state behind one lock: the engine, the durable store and per-job usage.
//! Every method that changes something journals it before returning, so whatever a caller
//! acknowledges is on disk. Methods return what must be sent to agents ([`Dispatch`]); the
//! caller sends it after releasing the lock.

use super::power::{PowerDecisions, PowerSaving, RESUME_TIMEOUT_REASON};
use super::state_store::{Record, Recovered, StateError, StateStore};
use crate::config::ClusterConfig;
use crate::engine::{CancelEffect, Engine, EngineError, JobEnd, NodeFailOutcome, SystemClock};
use crate::model::{ExitStatus, Hold, Job, JobId, JobRef, JobState, NodeBaseState, Timestamp};
use crate::proto::PowerEvent;
use crate::proto::{
    AgentCommand, BatchScript, Credential, JobAction, JobReport, JobUsage, LaunchBatch, NodeAction,
    NodeOutcome, SubmitRequest, TargetOutcome, TerminateReason,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;
use tonic::Status;

/// A command for the agent of `node`.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub node: String,
    pub command: AgentCommand,
}

/// The reason a node gets when it stops answering.
pub const NOT_RESPONDING: &str = "Not responding";

pub struct Core {
    engine: Engine<SystemClock>,
    store: StateStore,
    usage: HashMap<JobId, JobUsage>,
    /// Running jobs already told to stop for their time limit.
    timeout_sent: HashSet<JobId>,
    /// uids allowed to act on any job and on nodes: root and SlurmUser.
    operators: Vec<u32>,
    /// The outbound queue to the dbd (AccountingStorageType=accounting_storage/slurmdbd).
    accounting: Option<crate::dbd::queue::AcctQueue>,
    /// Cloud nodes' resume/suspend timers and the watchers of those decisions.
    power: PowerSaving,
    /// Jobs' steps, and which jobs are allocations without a batch script (srun, salloc).
    steps: HashMap<JobId, super::steps::JobSteps>,
    /// Commands decided where the caller takes no dispatches (steps to kill when a job's
    /// end is reported); see [`Core::take_deferred`].
    deferred: Vec<Dispatch>,
    /// Which srun/salloc allocations their command still holds.
    holds: super::holds::AllocationHolds,
}

/// What an agent's registration asks of the caller.
#[derive(Debug, Default)]
pub struct Registered {
    /// Jobs the agent runs that should not run.
    pub orphans: Vec<JobId>,
    /// Jobs that waited for this node to come up and can start now.
    pub launches: Vec<Dispatch>,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("restoring saved state: {0}")]
    Restore(#[from] EngineError),
}

fn persist_failed(e: StateError) -> Status {
    tracing::error!("state save failed: {e}");
    Status::unavailable(format!("Unable to save controller state: {e}"))
}

/// Slurm's messages travel as the status message; the code tells the kind.
pub fn engine_status(e: EngineError) -> Status {
    tracing::debug!("request refused: {e}");
    let msg = e.slurm_error();
    match e {
        EngineError::UnknownJob(_) | EngineError::UnknownNode(_) => Status::not_found(msg),
        EngineError::NotPending(_) | EngineError::NotRunning(_) => Status::failed_precondition(msg),
        _ => Status::invalid_argument(msg),
    }
}

pub use crate::auth::server::{ACCESS_DENIED, INVALID_USER_ID};

impl Core {
    /// Builds the engine for `cluster` and restores what `state_dir` holds.
    pub fn open(cluster: ClusterConfig, state_dir: &Path) -> Result<Self, CoreError> {
        let (store, recovered) = StateStore::open(state_dir)?;
        let mut engine = Engine::new(cluster, SystemClock)?;
        let operators = crate::auth::server::operator_uids(&engine.cluster().slurm_user);
        let restored = recovered.jobs.len();
        for (_, job) in recovered.jobs {
            let cancel = recovered.cancels.get(&job.id).copied();
            engine.restore_job(job, cancel)?;
        }
        for (name, (state, reason)) in recovered.nodes {
            if let Err(e) = engine.restore_node_state(&name, state, reason) {
                tracing::warn!("saved state of node {name} ignored: {e}");
            }
        }
        engine.set_next_job_id(recovered.next_job_id);
        // Until each agent registers, its node takes no new work (a powered-down cloud node
        // has no agent; it is resumed when a job needs it).
        let asleep: HashSet<String> = engine
            .node_states()
            .filter(|(_, state)| state.flags.powered_down)
            .map(|(name, _)| name.to_owned())
            .collect();
        for node in engine.nodes() {
            if !asleep.contains(&node.config.name) {
                engine.node_not_responding(&node.config.name)?;
            }
        }
        let power = PowerSaving::new(&engine.cluster().power);
        let mut holds = super::holds::AllocationHolds::default();
        let now = engine.now();
        for (&id, steps) in &recovered.steps {
            if steps.allocation_only {
                holds.track(id, now);
            }
        }
        tracing::info!(
            "restored {restored} jobs from {} (next job id {})",
            state_dir.display(),
            recovered.next_job_id
        );
        Ok(Self {
            engine,
            store,
            usage: recovered.usage,
            timeout_sent: HashSet::new(),
            operators,
            accounting: None,
            power,
            steps: recovered.steps,
            deferred: Vec::new(),
            holds,
        })
    }

    /// Hands every journaled job change and job usage to the accounting queue from now on.
    pub fn set_accounting(&mut self, queue: Option<crate::dbd::queue::AcctQueue>) {
        self.accounting = queue;
    }

    /// The accounting queue, when accounting is on.
    pub fn accounting(&self) -> Option<&crate::dbd::queue::AcctQueue> {
        self.accounting.as_ref()
    }

    /// Flushes the state store from outside the lock.
    pub fn syncer(&self) -> super::state_store::Syncer {
        self.store.syncer()
    }

    /// Accounting's associations and QOS, enforced from the next submission and pass on.
    pub fn set_accounting_policy(
        &mut self,
        associations: crate::engine::Associations,
        qos: Vec<crate::model::Qos>,
    ) {
        self.engine.set_qos(qos);
        self.engine.set_associations(Some(associations));
    }

    /// Fairshare's usage as accounting recorded it, per (account, user).
    pub fn set_recorded_usage(&mut self, usage: &[(String, String, f64)]) {
        self.engine
            .set_recorded_usage(usage.iter().map(|(a, u, x)| (a.as_str(), u.as_str(), *x)));
    }

    pub fn engine(&self) -> &Engine<SystemClock> {
        &self.engine
    }

    pub fn usage(&self, id: JobId) -> Option<JobUsage> {
        self.usage.get(&id).copied()
    }

    pub fn is_operator(&self, cred: &Credential) -> bool {
        self.operators.contains(&cred.uid)
    }

    /// root, SlurmUser and the controller's own uid.
    pub fn operators(&self) -> &[u32] {
        &self.operators
    }

    fn may_modify(&self, cred: &Credential, job: &Job) -> bool {
        self.is_operator(cred) || cred.uid == job.spec.uid
    }

    fn job_record(&self, id: JobId) -> Option<Record> {
        self.engine
            .job(id)
            .map(|j| Record::Job(Box::new(j.clone())))
    }

    fn records_for(&self, ids: impl IntoIterator<Item = JobId>) -> Vec<Record> {
        ids.into_iter()
            .filter_map(|id| self.job_record(id))
            .collect()
    }

    fn save(&mut self, records: &[Record]) -> Result<(), Status> {
        self.save_by(records, None)
    }

    /// [`Core::save`], with the node changes among `records` made by `by` (accounting's
    /// node events name who set a node DOWN or DRAIN; SlurmUser when `None`).
    fn save_by(&mut self, records: &[Record], by: Option<&Credential>) -> Result<(), Status> {
        self.store.append(records).map_err(persist_failed)?;
        if let Some(queue) = &self.accounting {
            queue.record_by(records, by.map(|c| (c.uid, c.user.as_str())));
        }
        if self.store.wants_compaction() {
            let snapshot = self.snapshot();
            if let Err(e) = self.store.compact(snapshot) {
                tracing::error!("state compaction failed (the journal keeps growing): {e}");
            }
        }
        Ok(())
    }

    fn snapshot(&self) -> Recovered {
        let mut state = Recovered::default();
        for job in self.engine.jobs() {
            if let Some(uid) = self.engine.pending_cancel(job.id) {
                state.cancels.insert(job.id, uid);
            }
            state.jobs.insert(job.id, job.clone());
        }
        state.next_job_id = state.jobs.keys().max().map_or(1, |id| id + 1);
        state.usage = self.usage.clone();
        state.steps = self.steps.clone();
        for node in self.engine.nodes() {
            state
                .nodes
                .insert(node.config.name.clone(), (node.state, node.reason.clone()));
        }
        state
    }

    fn node_record(&self, name: &str) -> Option<Record> {
        self.engine.node_view(name).map(|n| Record::Node {
            name: n.config.name,
            state: n.state,
            reason: n.reason,
        })
    }

    // ----- commands -----

    /// `sbatch`: accepted only once the job and its script are on disk.
    pub fn submit(&mut self, cred: &Credential, req: SubmitRequest) -> Result<JobId, Status> {
        let mut spec = req.spec;
        if cred.user.is_empty() {
            tracing::warn!(
                "submission from uid {}, which has no user name here",
                cred.uid
            );
            return Err(Status::permission_denied(INVALID_USER_ID));
        }
        let operator = self.is_operator(cred);
        // Only operators may submit for someone else. A spec that names no one (uid 0 and no
        // user) is filled in with the caller.
        let unnamed = spec.uid == 0 && spec.user.is_empty();
        if !operator && !unnamed && spec.uid != cred.uid {
            tracing::warn!(
                "Security violation: submission from uid {} for uid {}",
                cred.uid,
                spec.uid
            );
            return Err(Status::permission_denied(INVALID_USER_ID));
        }
        if !operator || spec.user.is_empty() {
            spec.uid = cred.uid;
            spec.gid = cred.gid;
            spec.user = cred.user.clone();
        }
        let id = self.engine.submit(spec).map_err(engine_status)?;
        let saved = self
            .store
            .save_script(id, &req.batch)
            .map_err(persist_failed)
            .and_then(|()| {
                let records = self.records_for([id]);
                self.save(&records)
            });
        if let Err(status) = saved {
            // Not acknowledged: take it back out of the queue.
            let _ = self.engine.cancel(id, cred.uid);
            return Err(status);
        }
        Ok(id)
    }

    /// Resolves `123`, `123_4` to job records (an array's own record and its tasks).
    fn resolve(&mut self, target: JobRef) -> Result<Vec<JobId>, String> {
        let invalid = || "Invalid job id specified".to_owned();
        match target.array_task {
            None => {
                let ids = self.engine.array_members(target.job_id);
                if ids.is_empty() {
                    // A task's own id (`scancel 125` for task 123_2).
                    return Err(invalid());
                }
                Ok(ids)
            }
            Some(index) => self
                .engine
                .split_pending_array_task(target.job_id, index)
                .map(|id| vec![id])
                .or_else(|_| {
                    self.engine
                        .array_members(target.job_id)
                        .into_iter()
                        .find(|id| {
                            self.engine
                                .job(*id)
                                .is_some_and(|j| j.array_task_id == Some(index))
                        })
                        .map(|id| vec![id])
                        .ok_or_else(invalid)
                }),
        }
    }

    /// The node that runs a job's batch script.
    fn batch_host(&self, id: JobId) -> Option<String> {
        self.engine
            .job(id)
            .and_then(|j| j.allocation.first())
            .map(|a| a.node.clone())
    }

    /// `scancel` (or `scancel -s SIG`).
    pub fn cancel(
        &mut self,
        cred: &Credential,
        targets: &[JobRef],
        signal: Option<i32>,
        batch_only: bool,
    ) -> Result<(Vec<TargetOutcome>, Vec<Dispatch>), Status> {
        let mut outcomes = Vec::new();
        let mut dispatches = Vec::new();
        let mut records = Vec::new();
        for &target in targets {
            let error = match self.resolve(target) {
                Err(msg) => Some(msg),
                Ok(ids) => {
                    let mut error = None;
                    for id in ids {
                        let Some(job) = self.engine.job(id) else {
                            continue;
                        };
                        if !self.may_modify(cred, job) {
                            tracing::warn!(
                                "Security violation: cancel of job {id} (uid {}) by uid {}",
                                job.spec.uid,
                                cred.uid
                            );
                            error = Some(ACCESS_DENIED.to_owned());
                            continue;
                        }
                        let state = job.state;
                        match signal {
                            Some(sig) if sig != nix::sys::signal::Signal::SIGKILL as i32 => {
                                if state == JobState::Running {
                                    if let Some(node) = self.batch_host(id) {
                                        dispatches.push(Dispatch {
                                            node,
                                            command: AgentCommand::Signal {
                                                job_id: id,
                                                signal: sig,
                                                batch_only,
                                            },
                                        });
                                    }
                                } else if state == JobState::Pending {
                                    error = Some("Job is pending execution".to_owned());
                                }
                            }
                            _ => match self.engine.cancel(id, cred.uid) {
                                Ok(CancelEffect::Cancelled) => records.extend(self.job_record(id)),
                                Ok(CancelEffect::SignalRunning) => {
                                    records.push(Record::CancelRequested {
                                        job_id: id,
                                        uid: cred.uid,
                                    });
                                    dispatches.extend(self.kill_steps(id));
                                    if let Some(node) = self.batch_host(id) {
                                        dispatches.push(Dispatch {
                                            node,
                                            command: AgentCommand::Terminate {
                                                job_id: id,
                                                reason: TerminateReason::Cancelled,
                                            },
                                        });
                                    }
                                }
                                Ok(CancelEffect::AlreadyFinished) => {}
                                Err(e) => error = Some(e.slurm_error().to_owned()),
                            },
                        }
                    }
                    error
                }
            };
            outcomes.push(TargetOutcome { target, error });
        }
        self.save(&records)?;
        Ok((outcomes, dispatches))
    }

    /// `scontrol hold|release|requeue|update JobId=`.
    pub fn control(
        &mut self,
        cred: &Credential,
        targets: &[JobRef],
        action: &JobAction,
    ) -> Result<(Vec<TargetOutcome>, Vec<Dispatch>), Status> {
        let mut outcomes = Vec::new();
        let mut dispatches = Vec::new();
        let mut changed = Vec::new();
        for &target in targets {
            let error = match self.resolve(target) {
                Err(msg) => Some(msg),
                Ok(ids) => {
                    let mut error = None;
                    for id in ids {
                        let Some(job) = self.engine.job(id).cloned() else {
                            continue;
                        };
                        if !self.may_modify(cred, &job) {
                            tracing::warn!(
                                "Security violation: {action:?} of job {id} (uid {}) by uid {}",
                                job.spec.uid,
                                cred.uid
                            );
                            error = Some(ACCESS_DENIED.to_owned());
                            continue;
                        }
                        if job.state.is_finished() && !matches!(action, JobAction::Requeue) {
                            // Finished members of an array are left alone.
                            if target.array_task.is_some() || job.array_job_id.is_none() {
                                error = Some("Job/step already completing or completed".into());
                            }
                            continue;
                        }
                        match self.apply_action(cred, &job, action) {
                            Ok(dispatch) => {
                                changed.push(id);
                                dispatches.extend(dispatch);
                            }
                            Err(msg) => error = Some(msg),
                        }
                    }
                    error
                }
            };
            outcomes.push(TargetOutcome { target, error });
        }
        let records = self.records_for(changed);
        self.save(&records)?;
        Ok((outcomes, dispatches))
    }

    fn apply_action(
        &mut self,
        cred: &Credential,
        job: &Job,
        action: &JobAction,
    ) -> Result<Option<Dispatch>, String> {
        let id = job.id;
        let result = match action {
            JobAction::Hold => {
                let kind = if self.is_operator(cred) {
                    Hold::Admin
                } else {
                    Hold::User
                };
                self.engine.hold(id, kind)
            }
            JobAction::Release => {
                if job.hold == Some(Hold::Admin) && !self.is_operator(cred) {
                    return Err(ACCESS_DENIED.into());
                }
                self.engine.release(id)
            }
            JobAction::Requeue => {
                if job.state != JobState::Running {
                    return Err("Job is not running".into());
                }
                self.engine
                    .request_requeue(id)
                    .map_err(|e| e.slurm_error().to_owned())?;
                return Ok(self.batch_host(id).map(|node| Dispatch {
                    node,
                    command: AgentCommand::Terminate {
                        job_id: id,
                        reason: TerminateReason::Requeue,
                    },
                }));
            }
            JobAction::Update(update) => {
                if let Some(limit) = update.time_limit {
                    if limit > job.time_limit && !self.is_operator(cred) {
                        return Err(ACCESS_DENIED.into());
                    }
                    self.engine
                        .update_time_limit(id, limit)
                        .map_err(|e| e.slurm_error().to_owned())?;
                    self.timeout_sent.remove(&id);
                }
                if let Some(partition) = &update.partition {
                    self.engine
                        .update_partition(id, partition)
                        .map_err(|e| e.slurm_error().to_owned())?;
                }
                if let Some(nice) = update.nice {
                    if nice < 0 && !self.is_operator(cred) {
                        return Err(ACCESS_DENIED.into());
                    }
                    self.engine.update_nice(id, nice)
                } else {
                    Ok(())
                }
            }
        };
        result
            .map(|()| None)
            .map_err(|e| e.slurm_error().to_owned())
    }

    /// `scontrol update NodeName=... State=...`.
    pub fn update_nodes(
        &mut self,
        cred: &Credential,
        names: &[String],
        action: NodeAction,
        reason: Option<&str>,
    ) -> Result<(Vec<NodeOutcome>, Vec<Dispatch>), Status> {
        if !self.is_operator(cred) {
            tracing::warn!(
                "Security violation: node update of {} by uid {}",
                names.join(","),
                cred.uid
            );
            return Err(Status::permission_denied(ACCESS_DENIED));
        }
        let mut outcomes = Vec::new();
        let mut dispatches = Vec::new();
        let mut records = Vec::new();
        for name in names {
            let result = match action {
                NodeAction::Drain => match reason {
                    None => Err(
                        "You must specify a reason when DOWNING or DRAINING a node. Request denied"
                            .to_owned(),
                    ),
                    Some(r) => self
                        .engine
                        .drain_node(name, r)
                        .map_err(|e| e.slurm_error().to_owned()),
                },
                NodeAction::Resume | NodeAction::Undrain => self
                    .engine
                    .resume_node(name)
                    .map_err(|e| e.slurm_error().to_owned()),
                NodeAction::Down => match reason {
                    None => Err(
                        "You must specify a reason when DOWNING or DRAINING a node. Request denied"
                            .to_owned(),
                    ),
                    Some(r) => self
                        .down_node(name, r, &mut records, &mut dispatches)
                        .map_err(|e| e.slurm_error().to_owned()),
                },
            };
            records.extend(self.node_record(name));
            outcomes.push(NodeOutcome {
                node: name.clone(),
                error: result.err(),
            });
        }
        self.save_by(&records, Some(cred))?;
        Ok((outcomes, dispatches))
    }

    /// Marks a node DOWN: its jobs are requeued or end NODE_FAIL, and the other nodes of
    /// those jobs are told to stop them.
    fn down_node(
        &mut self,
        name: &str,
        reason: &str,
        records: &mut Vec<Record>,
        dispatches: &mut Vec<Dispatch>,
    ) -> Result<(), EngineError> {
        let hosts: HashMap<JobId, String> = self
            .engine
            .jobs_on_node(name)
            .into_iter()
            .filter_map(|id| self.batch_host(id).map(|h| (id, h)))
            .collect();
        let outcomes = self.engine.down_node(name, reason)?;
        for (id, outcome) in outcomes {
            tracing::warn!("job {id} on DOWN node {name}: {outcome:?}");
            if let Some(host) = hosts.get(&id).filter(|h| h.as_str() != name) {
                dispatches.push(Dispatch {
                    node: host.clone(),
                    command: AgentCommand::Terminate {
                        job_id: id,
                        reason: match outcome {
                            NodeFailOutcome::Requeued => TerminateReason::Requeue,
                            NodeFailOutcome::Failed => TerminateReason::NodeFail,
                        },
                    },
                });
            }
            records.extend(self.job_record(id));
        }
        Ok(())
    }

    // ----- scheduling -----

    /// One scheduling pass, full (the configured policy, planning every pending job) or
    /// Slurm's main scheduler; returns the launches for the started jobs' batch hosts.
    pub fn schedule(&mut self, cluster_name: &str, full: bool) -> Result<Vec<Dispatch>, Status> {
        let starts = if full {
            self.engine.schedule()
        } else {
            self.engine.schedule_main()
        };
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<JobId> = Vec::new();
        for start in &starts {
            ids.push(start.job_id);
            if let Some(array) = self.engine.job(start.job_id).and_then(|j| j.array_job_id)
                && array != start.job_id
            {
                ids.push(array);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let records = self.records_for(ids);
        self.save(&records)?;
        let mut dispatches = Vec::new();
        let mut resume = Vec::new();
        for start in starts {
            resume.extend(start.resume_nodes);
            // A job waiting for nodes to power up starts when the last of them registers.
            if self.engine.job(start.job_id).is_some_and(|j| j.configuring) {
                continue;
            }
            dispatches.extend(self.launch(start.job_id, cluster_name));
        }
        self.power.resume(resume, Instant::now());
        Ok(dispatches)
    }

    /// The batch launch of a started job, for its first node.
    fn launch(&self, id: JobId, cluster_name: &str) -> Option<Dispatch> {
        if self.is_allocation_only(id) {
            // srun or salloc holds the allocation: nothing runs until it creates steps.
            return None;
        }
        let job = self.engine.job(id)?.clone();
        let node = job.allocation.first()?.node.clone();
        let script_id = job.array_job_id.unwrap_or(job.id);
        let batch = match self.store.load_script(script_id) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("job {}: batch script lost: {e}", job.id);
                BatchScript::default()
            }
        };
        Some(Dispatch {
            node,
            command: AgentCommand::Launch(Box::new(LaunchBatch {
                job,
                batch,
                cluster_name: cluster_name.to_owned(),
            })),
        })
    }

    // ----- power saving -----

    /// A watcher of power decisions: the cloud nodes that should be up now, and the
    /// receiver of every later decision (taken under the same lock, so none is missed).
    pub fn watch_power(&self) -> (PowerEvent, tokio::sync::broadcast::Receiver<PowerEvent>) {
        let (up, down): (Vec<_>, Vec<_>) = self
            .engine
            .nodes()
            .into_iter()
            .filter(|n| n.config.cloud)
            .partition(|n| !n.state.flags.powered_down && !n.state.flags.powering_down);
        let names =
            |v: Vec<crate::engine::NodeView>| v.into_iter().map(|n| n.config.name).collect();
        let snapshot = PowerEvent::Snapshot {
            up: names(up),
            down: names(down),
        };
        (snapshot, self.power.subscribe())
    }

    /// Power saving's periodic work: nodes that did not come up in ResumeTimeout go DOWN
    /// (their jobs requeue or fail) and are powered down; idle nodes past SuspendTime are
    /// suspended; suspended nodes past SuspendTimeout count as powered down.
    pub fn power_tick(&mut self) -> Result<Vec<Dispatch>, Status> {
        let now = Instant::now();
        let powering_up: Vec<String> = self
            .engine
            .node_states()
            .filter(|(_, s)| s.flags.powering_up)
            .map(|(n, _)| n.to_owned())
            .collect();
        let idle = self.engine.idle_cloud_nodes();
        let decisions = self.power.tick(now, &powering_up, &idle);
        if decisions == PowerDecisions::default() {
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        let mut dispatches = Vec::new();
        for node in &decisions.resume_failed {
            tracing::error!("node {node} did not register within ResumeTimeout; setting DOWN");
            if let Err(e) =
                self.down_node(node, RESUME_TIMEOUT_REASON, &mut records, &mut dispatches)
            {
                tracing::error!("node {node}: {e}");
            }
            if let Err(e) = self.engine.node_powered_down(node) {
                tracing::error!("node {node}: {e}");
            }
            records.extend(self.node_record(node));
        }
        let mut suspended = decisions.resume_failed.clone();
        for node in &decisions.suspend {
            match self.engine.node_suspending(node) {
                Ok(()) => {
                    suspended.push(node.clone());
                    records.extend(self.node_record(node));
                }
                Err(e) => tracing::warn!("not suspending {node}: {e}"),
            }
        }
        for node in &decisions.powered_down {
            match self.engine.node_powered_down(node) {
                Ok(()) => records.extend(self.node_record(node)),
                Err(e) => tracing::warn!("node {node} not powered down: {e}"),
            }
        }
        self.save(&records)?;
        self.power.suspend(suspended, now);
        Ok(dispatches)
    }

    /// Running jobs past their limit that their node has not ended yet: tell it again.
    pub fn overdue(&mut self) -> Vec<Dispatch> {
        let mut out = Vec::new();
        for id in self.engine.overdue_jobs() {
            if self.timeout_sent.insert(id)
                && let Some(node) = self.batch_host(id)
            {
                out.extend(self.kill_steps(id));
                out.push(Dispatch {
                    node,
                    command: AgentCommand::Terminate {
                        job_id: id,
                        reason: TerminateReason::TimeLimit,
                    },
                });
            }
        }
        out
    }

    /// Forgets jobs that ended more than MinJobAge ago.
    pub fn purge(&mut self, now: Timestamp) -> Result<usize, Status> {
        let before = now - self.engine.cluster().timers.min_job_age as i64;
        let old: Vec<&Job> = self
            .engine
            .jobs()
            .into_iter()
            .filter(|j| j.state.is_finished() && j.end_time.is_some_and(|t| t < before))
            .collect();
        if old.is_empty() {
            return Ok(0);
        }
        let ids: Vec<JobId> = old.iter().map(|j| j.id).collect();
        // A script is shared by an array's records: keep it while any of them remains.
        let scripts: Vec<JobId> = old
            .iter()
            .filter(|j| j.array_job_id.is_none() || j.array_job_id == Some(j.id))
            .map(|j| j.id)
            .collect();
        self.engine.purge_finished(before);
        let records: Vec<Record> = ids.iter().map(|&id| Record::Purged(id)).collect();
        self.save(&records)?;
        for id in &ids {
            self.usage.remove(id);
            self.timeout_sent.remove(id);
            self.steps.remove(id);
        }
        for id in scripts {
            if self.engine.array_members(id).is_empty() {
                self.store.remove_script(id);
            }
        }
        Ok(ids.len())
    }

    // ----- agents -----

    /// A job's end as its node reports it. Reports are idempotent: a repeated one is
    /// acknowledged and ignored.
    pub fn job_report(&mut self, report: &JobReport) -> Result<(), Status> {
        let id = report.job_id;
        let mut records = Vec::new();
        let on_this_node = self.engine.job(id).is_some_and(|j| {
            j.state == JobState::Running
                && self.batch_host(id).as_deref() == Some(report.node.as_str())
        });
        if on_this_node {
            self.engine
                .job_ended(id, report.end)
                .map_err(engine_status)?;
            self.timeout_sent.remove(&id);
            self.usage.insert(id, report.usage);
            records.extend(self.job_record(id));
            let kills = self.kill_steps(id);
            self.deferred.extend(kills);
            records.extend(self.end_steps(id));
            records.push(Record::Usage {
                job_id: id,
                usage: report.usage,
            });
        } else {
            tracing::debug!(
                "ignoring report for job {id} from {}: not running there",
                report.node
            );
        }
        if let Some(reason) = &report.drain_reason
            && self.engine.drain_node(&report.node, reason).is_ok()
        {
            records.extend(self.node_record(&report.node));
        }
        self.save(&records)
    }

    /// An agent (re)registered. Jobs this controller believed ran there that the agent no
    /// longer has are lost (requeued or NODE_FAIL); returns the jobs it runs that should not
    /// run (orphans) and the launches of jobs that waited for this node to power up.
    pub fn node_registered(
        &mut self,
        node: &str,
        running: &[JobId],
        finished: &[JobReport],
    ) -> Result<Registered, Status> {
        if self.engine.node_view(node).is_none() {
            return Err(Status::not_found(format!(
                "Invalid node name specified: {node}"
            )));
        }
        for report in finished {
            self.job_report(report)?;
        }
        let view = self.engine.node_view(node).expect("checked above");
        if view.state.base == NodeBaseState::Down && view.reason.as_deref() == Some(NOT_RESPONDING)
        {
            // ReturnToService=1: a node that was only silent comes back by itself.
            self.engine.resume_node(node).map_err(engine_status)?;
        }
        self.engine.node_registered(node).map_err(engine_status)?;
        self.power.registered(node);
        let mut records: Vec<Record> = self.node_record(node).into_iter().collect();
        let running_set: HashSet<JobId> = running.iter().copied().collect();
        let expected: Vec<JobId> = self
            .running_on(node)
            .into_iter()
            .filter(|id| !self.engine.job(*id).is_some_and(|j| j.configuring))
            .filter(|id| !self.is_allocation_only(*id))
            .collect();
        for id in expected.iter().filter(|id| !running_set.contains(id)) {
            tracing::warn!("job {id} lost by node {node} (not running there after registration)");
            let requeue = self
                .engine
                .job(*id)
                .is_some_and(|j| j.spec.requeue.unwrap_or(true))
                && self.engine.pending_cancel(*id).is_none();
            if requeue {
                let _ = self.engine.request_requeue(*id);
            }
            let _ = self.engine.job_ended(*id, JobEnd::NodeFailed);
            records.extend(self.job_record(*id));
        }
        let expected: HashSet<JobId> = expected.into_iter().collect();
        let orphans: Vec<JobId> = running
            .iter()
            .copied()
            .filter(|id| !expected.contains(id))
            .collect();
        let cluster_name = self.engine.cluster().cluster_name.clone();
        let mut launches = Vec::new();
        for id in self.engine.start_configured_jobs(node) {
            tracing::info!("job {id}: nodes are up, launching");
            records.extend(self.job_record(id));
            launches.extend(self.launch(id, &cluster_name));
        }
        self.save(&records)?;
        Ok(Registered { orphans, launches })
    }

    /// The node has been silent for SlurmdTimeout.
    pub fn node_silent(&mut self, node: &str) -> Result<Vec<Dispatch>, Status> {
        let Some(view) = self.engine.node_view(node) else {
            return Ok(Vec::new());
        };
        if view.state.base == NodeBaseState::Down {
            return Ok(Vec::new());
        }
        tracing::warn!("node {node} not responding, setting DOWN");
        let mut records = Vec::new();
        let mut dispatches = Vec::new();
        self.engine
            .node_not_responding(node)
            .map_err(engine_status)?;
        self.down_node(node, NOT_RESPONDING, &mut records, &mut dispatches)
            .map_err(engine_status)?;
        records.extend(self.node_record(node));
        self.save(&records)?;
        Ok(dispatches)
    }

    /// Jobs whose batch runs on `node` and that should be running there now.
    fn running_on(&self, node: &str) -> Vec<JobId> {
        self.engine
            .jobs_on_node(node)
            .into_iter()
            .filter(|id| self.batch_host(*id).as_deref() == Some(node))
            .collect()
    }
}

// ----- job steps (srun, salloc) -----

impl Core {
    /// Commands decided by calls that return none (see `deferred`).
    pub fn take_deferred(&mut self) -> Vec<Dispatch> {
        std::mem::take(&mut self.deferred)
    }

    /// True for a job that runs no batch script (made by srun or salloc).
    pub fn is_allocation_only(&self, id: JobId) -> bool {
        self.steps.get(&id).is_some_and(|s| s.allocation_only)
    }

    /// A job's steps.
    pub fn steps_of(&self, id: JobId) -> Option<&super::steps::JobSteps> {
        self.steps.get(&id)
    }

    fn steps_record(&self, id: JobId) -> Option<Record> {
        self.steps.get(&id).map(|s| Record::Steps {
            job_id: id,
            steps: Box::new(s.clone()),
        })
    }

    /// `srun`/`salloc` without an allocation: a job like a batch job, but one that launches
    /// nothing; accepted once it is on disk.
    pub fn allocate(
        &mut self,
        cred: &Credential,
        req: crate::proto::AllocateRequest,
    ) -> Result<JobId, Status> {
        let batch = BatchScript {
            script: String::new(),
            args: Vec::new(),
            environment: req.environment,
        };
        // Marked before the submission is journaled, so that a pass cannot launch it.
        let id = self.submit(
            cred,
            SubmitRequest {
                spec: req.spec,
                batch,
            },
        )?;
        self.steps.insert(id, super::steps::JobSteps::allocation());
        let records: Vec<Record> = self.steps_record(id).into_iter().collect();
        if let Err(status) = self.save(&records) {
            self.steps.remove(&id);
            let _ = self.engine.cancel(id, cred.uid);
            return Err(status);
        }
        self.holds.track(id, self.engine.now());
        Ok(id)
    }

    /// srun or salloc opened a `HoldAllocation` stream for its allocation.
    pub fn hold_allocation(&mut self, cred: &Credential, id: JobId) -> Result<(), Status> {
        let job = self
            .engine
            .job(id)
            .ok_or_else(|| Status::not_found("Invalid job id specified"))?;
        if !self.may_modify(cred, job) {
            return Err(Status::permission_denied(ACCESS_DENIED));
        }
        if !self.is_allocation_only(id) {
            return Err(Status::invalid_argument(
                "Only allocations made by srun or salloc can be held",
            ));
        }
        if !matches!(job.state, JobState::Pending | JobState::Running) {
            return Err(Status::failed_precondition("Job has already completed"));
        }
        self.holds.attach(id, self.engine.now());
        Ok(())
    }

    /// A `HoldAllocation` stream closed.
    pub fn unhold_allocation(&mut self, id: JobId) {
        self.holds.detach(id, self.engine.now());
    }

    /// Revokes the allocations whose srun or salloc went away without releasing them
    /// (killed, or its host lost) and did not come back within the grace: their jobs end
    /// CANCELLED and their steps are killed.
    pub fn revoke_abandoned_allocations(&mut self) -> Result<Vec<Dispatch>, Status> {
        let now = self.engine.now();
        let mut dispatches = Vec::new();
        for id in self.holds.abandoned(now) {
            self.holds.forget(id);
            let Some(job) = self.engine.job(id) else {
                continue;
            };
            if !matches!(job.state, JobState::Pending | JobState::Running) {
                continue;
            }
            tracing::warn!("allocation {id}: its srun/salloc is gone; revoking it");
            if job.state == JobState::Running {
                let _ = self.engine.cancel(id, 0);
            }
            dispatches.extend(self.end_allocation(id, ExitStatus { code: 0, signal: 9 }, 0)?);
        }
        Ok(dispatches)
    }

    /// `srun` in an allocation: lays out the step, journals it, and returns the launches
    /// for its nodes.
    pub fn create_step(
        &mut self,
        cred: &Credential,
        req: crate::proto::StepRequest,
    ) -> Result<(crate::proto::StepReply, Vec<Dispatch>), Status> {
        let job = self
            .engine
            .job(req.job_id)
            .cloned()
            .ok_or_else(|| Status::not_found("Invalid job id specified"))?;
        if !self.may_modify(cred, &job) {
            tracing::warn!(
                "Security violation: step creation in job {} (uid {}) by uid {}",
                job.id,
                job.spec.uid,
                cred.uid
            );
            return Err(Status::permission_denied(ACCESS_DENIED));
        }
        match job.state {
            JobState::Running if !job.configuring => {}
            JobState::Running | JobState::Pending => {
                return Err(Status::failed_precondition("Job is pending execution"));
            }
            _ => {
                return Err(Status::failed_precondition("Job has already completed"));
            }
        }
        let layout = {
            let no_steps = super::steps::JobSteps::default();
            let steps = self.steps.get(&job.id).unwrap_or(&no_steps);
            super::steps::layout(&job, &req, &super::steps::cpus_in_use(steps))
        };
        let layout = layout.map_err(|e| match e {
            // srun waits and asks again.
            super::steps::LayoutError::Busy => Status::resource_exhausted(e.to_string()),
            _ => Status::invalid_argument(e.to_string()),
        })?;
        let now = self.engine.now();
        let entry = self.steps.entry(job.id).or_default();
        let step_id = entry.next_step;
        entry.next_step += 1;
        entry
            .steps
            .push(super::steps::new_step(&job, step_id, &req, &layout, now));
        let records: Vec<Record> = self.steps_record(job.id).into_iter().collect();
        self.save(&records)?;
        let cluster_name = self.engine.cluster().cluster_name.clone();
        let ntasks = layout.ntasks();
        let dispatches = layout
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| Dispatch {
                node: node.clone(),
                command: AgentCommand::LaunchStep(Box::new(crate::proto::LaunchStep {
                    job: job.clone(),
                    step_id,
                    name: req.name.clone(),
                    argv: req.argv.clone(),
                    environment: req.environment.clone(),
                    work_dir: req.work_dir.clone(),
                    tasks: layout.tasks_of(i),
                    node_index: i as u32,
                    step_nodes: layout.nodes.clone(),
                    ntasks,
                    cpus_per_task: req.cpus_per_task,
                    io_addr: req.io_addr.clone(),
                    io_token: req.io_token.clone(),
                    stdin_task: req.stdin_task,
                    cluster_name: cluster_name.clone(),
                })),
            })
            .collect();
        tracing::info!(
            "step {}.{step_id} created: {} tasks on {}",
            job.id,
            ntasks,
            layout.nodes.join(",")
        );
        Ok((
            crate::proto::StepReply {
                step_id,
                nodes: layout.nodes,
                tasks_per_node: layout.tasks_per_node,
            },
            dispatches,
        ))
    }

    /// A node's tasks of a step ended. Repeated reports are ignored.
    pub fn step_report(&mut self, report: &crate::proto::StepReport) -> Result<(), Status> {
        let now = self.engine.now();
        let Some(step) = self
            .steps
            .get_mut(&report.job_id)
            .and_then(|s| s.step_mut(report.step_id))
        else {
            tracing::debug!(
                "report for unknown step {}.{} from {}",
                report.job_id,
                report.step_id,
                report.node
            );
            return Ok(());
        };
        if super::steps::apply_report(step, report, now) {
            tracing::info!(
                "step {}.{} ended: {} {}",
                report.job_id,
                report.step_id,
                step.state,
                step.exit
            );
        }
        let records: Vec<Record> = self.steps_record(report.job_id).into_iter().collect();
        self.save(&records)
    }

    /// srun or salloc is done with the allocation it made: the job ends with `exit`
    /// (COMPLETED or FAILED) and its steps are killed.
    pub fn release_allocation(
        &mut self,
        cred: &Credential,
        req: crate::proto::ReleaseRequest,
    ) -> Result<Vec<Dispatch>, Status> {
        let job = self
            .engine
            .job(req.job_id)
            .ok_or_else(|| Status::not_found("Invalid job id specified"))?;
        if !self.may_modify(cred, job) {
            return Err(Status::permission_denied(ACCESS_DENIED));
        }
        if !self.is_allocation_only(req.job_id) {
            return Err(Status::invalid_argument(
                "Only allocations made by srun or salloc can be released",
            ));
        }
        self.holds.forget(req.job_id);
        self.end_allocation(req.job_id, req.exit, cred.uid)
    }

    /// Ends an allocation-only job: a running one with `exit` (CANCELLED when a cancel is
    /// pending), its steps killed; a pending one is cancelled by `by_uid`.
    fn end_allocation(
        &mut self,
        id: JobId,
        exit: ExitStatus,
        by_uid: u32,
    ) -> Result<Vec<Dispatch>, Status> {
        let Some(state) = self.engine.job(id).map(|j| j.state) else {
            return Ok(Vec::new());
        };
        let mut dispatches = Vec::new();
        let mut records = Vec::new();
        match state {
            JobState::Running => {
                dispatches.extend(self.kill_steps(id));
                let end = if self.engine.pending_cancel(id).is_some() {
                    JobEnd::Cancelled(exit)
                } else {
                    JobEnd::Exited(exit)
                };
                self.engine.job_ended(id, end).map_err(engine_status)?;
                self.timeout_sent.remove(&id);
                records.extend(self.job_record(id));
                records.extend(self.end_steps(id));
            }
            JobState::Pending => {
                let _ = self.engine.cancel(id, by_uid);
                records.extend(self.job_record(id));
            }
            _ => {}
        }
        self.save(&records)?;
        Ok(dispatches)
    }

    /// `scancel JOB.STEP` (or `-s SIG`): the step's nodes are told to signal or end it.
    pub fn cancel_step(
        &mut self,
        cred: &Credential,
        job_id: JobId,
        step_id: u32,
        signal: Option<i32>,
    ) -> Result<Vec<Dispatch>, String> {
        let job = self
            .engine
            .job(job_id)
            .ok_or_else(|| "Invalid job id specified".to_owned())?;
        if !self.may_modify(cred, job) {
            return Err(ACCESS_DENIED.to_owned());
        }
        let step = self
            .steps
            .get(&job_id)
            .and_then(|s| s.steps.iter().find(|s| s.step_id == step_id))
            .ok_or_else(|| "Invalid job id specified".to_owned())?;
        if step.end.is_some() {
            return Ok(Vec::new()); // already ended: nothing to do, as for jobs
        }
        let signal = signal.filter(|&s| s != nix::sys::signal::Signal::SIGKILL as i32);
        Ok(step
            .pending_nodes
            .iter()
            .map(|node| Dispatch {
                node: node.clone(),
                command: AgentCommand::SignalStep {
                    job_id,
                    step_id: Some(step_id),
                    signal,
                },
            })
            .collect())
    }

    /// Ends every running step of a job: the commands for their nodes.
    fn kill_steps(&self, id: JobId) -> Vec<Dispatch> {
        let Some(steps) = self.steps.get(&id) else {
            return Vec::new();
        };
        let mut nodes: Vec<&String> = steps.running().flat_map(|s| &s.pending_nodes).collect();
        nodes.sort();
        nodes.dedup();
        nodes
            .into_iter()
            .map(|node| Dispatch {
                node: node.clone(),
                command: AgentCommand::SignalStep {
                    job_id: id,
                    step_id: None,
                    signal: None,
                },
            })
            .collect()
    }

    /// A job ended: steps whose nodes have not reported are recorded as ended now.
    fn end_steps(&mut self, id: JobId) -> Option<Record> {
        let now = self.engine.now();
        let steps = self.steps.get_mut(&id)?;
        // Nothing to record when every step has ended already.
        steps.running().next()?;
        for step in &mut steps.steps {
            super::steps::abandon(step, now);
        }
        self.steps_record(id)
    }
}
