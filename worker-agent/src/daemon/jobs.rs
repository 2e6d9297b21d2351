//! The node's jobs: launching batch steps, delivering signals and terminations, re-adopting
//! steps after an agent restart, and turning each end into a report in the outbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use slurm_core::config::Timers;
use slurm_core::engine::JobEnd;
use slurm_core::model::{ExitStatus, JobId};
use slurm_core::proto::{
    GpuInfo, JobReport, JobUsage, LaunchBatch, LiveTaskUsage, TerminateReason,
};
use tokio::sync::{Notify, mpsc};

use crate::cgroup::CgroupManager;
use crate::launch::{AgentConfig, StepHandle, StepRunner};
use crate::signals::SignalScope;
use crate::state::{RecoveredStep, StepRecord};
use crate::step::{EndReason, StepOutcome};
use crate::usage::Usage;

use super::adopted::{self, AdoptedControl};
use super::batch::batch_step;
use super::gpus::GpuPool;
use super::outbox::Outbox;
use super::outcome;
use super::spool::{JobRecord, Spool};

/// How the agent reaches a job's step.
#[derive(Debug)]
enum Control {
    /// Being launched: requests wait in the entry until the step runs.
    Starting,
    Launched(StepHandle),
    Adopted(mpsc::UnboundedSender<AdoptedControl>),
}

#[derive(Debug)]
struct Entry {
    control: Control,
    /// Why the controller asked to end the job, once it did.
    terminate: Option<TerminateReason>,
    /// Signals that arrived while the step was starting.
    queued_signals: Vec<(Signal, SignalScope)>,
    /// The controller does not know the job: kill it, report nothing.
    orphan: bool,
    time_limit: Option<Duration>,
}

impl Entry {
    fn new(control: Control, time_limit: Option<Duration>) -> Self {
        Self {
            control,
            terminate: None,
            queued_signals: Vec::new(),
            orphan: false,
            time_limit,
        }
    }

    fn cancel(&self) {
        match &self.control {
            Control::Starting => {}
            Control::Launched(h) => h.cancel(),
            Control::Adopted(tx) => {
                let _ = tx.send(AdoptedControl::Terminate);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<JobId, Entry>,
    gpus: GpuPool,
    /// srun steps running here, by (job, step).
    steps: HashMap<(JobId, u32), StepEntry>,
}

/// The tasks of one srun step on this node.
#[derive(Debug, Default)]
struct StepEntry {
    handles: Vec<StepHandle>,
    /// The global task id of each of `handles`.
    tasks: Vec<u32>,
    /// The step was told to end (its tasks may still be starting).
    cancelled: bool,
    /// GPUs this step took because its job had none here (an allocation without a batch
    /// script): released with the last step.
    own_gpus: bool,
}

/// The jobs running on this node.
#[derive(Debug)]
pub struct Jobs {
    node: String,
    runner_config: AgentConfig,
    cgroups: Arc<dyn CgroupManager>,
    timers: Timers,
    spool: Spool,
    outbox: Arc<Outbox>,
    inner: Mutex<Inner>,
    /// Woken whenever a job ends.
    ended: Notify,
}

impl Jobs {
    pub fn new(
        runner_config: AgentConfig,
        cgroups: Arc<dyn CgroupManager>,
        timers: Timers,
        spool: Spool,
        outbox: Arc<Outbox>,
        gpus: &[GpuInfo],
    ) -> Self {
        Self {
            node: runner_config.node_name.clone(),
            runner_config,
            cgroups,
            timers,
            spool,
            outbox,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                gpus: GpuPool::new(gpus),
                steps: HashMap::new(),
            }),
            ended: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Job ids running (or starting) here, ascending.
    pub fn running(&self) -> Vec<JobId> {
        let mut ids: Vec<JobId> = self.lock().entries.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn is_running(&self, job_id: JobId) -> bool {
        self.lock().entries.contains_key(&job_id)
    }

    /// Takes over what a previous agent left in the spool: steps still running are
    /// re-adopted; jobs whose step is gone are reported lost (NODE_FAIL), unless a report of
    /// theirs is already waiting in the outbox.
    pub fn recover(self: &Arc<Self>, found: Vec<RecoveredStep>) {
        let mut lost: Vec<(JobId, String)> = Vec::new();
        for step in found {
            match step {
                // An srun task's I/O went with the previous agent: it cannot be re-attached.
                RecoveredStep::Running(record)
                    if matches!(record.step(), Some(crate::step::StepId::Task { .. })) =>
                {
                    tracing::warn!(job_id = record.job_id, step = %record.step_id, "killing an srun task left by a previous agent");
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(record.pgid),
                        Signal::SIGKILL,
                    );
                    let _ = crate::state::remove(self.spool.root(), record.job_id, &record.step_id);
                }
                RecoveredStep::Running(record) => self.adopt(record),
                RecoveredStep::Lost {
                    record: Some(record),
                    ..
                } if matches!(record.step(), Some(crate::step::StepId::Task { .. })) => {}
                RecoveredStep::Lost {
                    record: Some(record),
                    reason,
                    ..
                } => lost.push((record.job_id, reason)),
                RecoveredStep::Lost { record: None, .. } => {}
            }
        }
        for job_id in self.spool.recorded_jobs() {
            if !self.is_running(job_id) && !lost.iter().any(|(j, _)| *j == job_id) {
                lost.push((job_id, "its step was not running".to_owned()));
            }
        }
        for (job_id, reason) in lost {
            if self.is_running(job_id) {
                continue;
            }
            self.spool.remove_job(job_id);
            if self.outbox.contains(job_id) {
                continue;
            }
            tracing::error!(
                job_id,
                %reason,
                "job ended while no agent watched it; its exit status is unknown: reporting it \
                 lost (NODE_FAIL)"
            );
            self.outbox.push(JobReport {
                node: self.node.clone(),
                job_id,
                end: JobEnd::NodeFailed,
                usage: JobUsage::default(),
                drain_reason: None,
            });
        }
    }

    fn adopt(self: &Arc<Self>, record: StepRecord) {
        let job_id = record.job_id;
        if self.is_running(job_id) {
            tracing::warn!(job_id, step = %record.step_id, "second step of an adopted job ignored");
            return;
        }
        let meta = self.spool.load_job(job_id);
        let (tx, handle) = adopted::adopt(
            record,
            meta.as_ref(),
            self.spool.root(),
            self.runner_config.sample_interval,
        );
        {
            let mut inner = self.lock();
            if let Some(m) = &meta {
                inner.gpus.reserve(job_id, &m.gpus);
            }
            let limit = meta
                .as_ref()
                .and_then(|m| m.time_limit_s)
                .map(Duration::from_secs);
            inner
                .entries
                .insert(job_id, Entry::new(Control::Adopted(tx), limit));
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = handle.await.unwrap_or_else(|e| {
                tracing::error!(job_id, error = %e, "adopted step supervisor failed");
                failed_outcome()
            });
            this.finish(job_id, &outcome);
        });
    }

    /// Starts the batch step of a job the controller placed here. Returns at once: the
    /// step is launched and supervised in the background, and its end lands in the outbox.
    pub fn launch(self: &Arc<Self>, launch: LaunchBatch) {
        let job_id = launch.job.id;
        let time_limit = launch.job.time_limit.as_secs().map(Duration::from_secs);
        let gpus = {
            let mut inner = self.lock();
            if inner.entries.contains_key(&job_id) {
                tracing::info!(job_id, "job already runs here; duplicate launch ignored");
                return;
            }
            let alloc = launch.job.allocation.iter().find(|a| a.node == self.node);
            if alloc.is_none() {
                tracing::warn!(job_id, node = %self.node, "job's allocation does not include this node");
            }
            let gres = alloc.map(|a| a.gres.as_slice()).unwrap_or_default();
            let gpus = inner.gpus.assign(job_id, gres);
            inner
                .entries
                .insert(job_id, Entry::new(Control::Starting, time_limit));
            gpus
        };
        let spec = batch_step(&launch, &self.node, gpus.clone(), &self.timers);
        let record = JobRecord {
            job_id,
            time_limit_s: launch.job.time_limit.as_secs(),
            kill_wait_s: self.timers.kill_wait,
            unkillable_step_timeout_s: self.timers.unkillable_step_timeout,
            gpus,
        };
        if let Err(e) = self.spool.save_job(&record) {
            tracing::warn!(
                job_id,
                error = %e,
                "cannot record the job in the spool; it cannot be re-adopted after a restart"
            );
        }
        let mut config = self.runner_config.clone();
        if !launch.cluster_name.is_empty() {
            config.cluster_name.clone_from(&launch.cluster_name);
        }
        let runner = StepRunner::new(config, Arc::clone(&self.cgroups));
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let launched = runner.launch(spec).await;
            let outcome = match launched {
                Ok(step) => {
                    this.started(job_id, step.handle());
                    step.wait().await
                }
                Err(e) => {
                    tracing::error!(job_id, error = %e, "batch job launch failed");
                    e.outcome()
                }
            };
            this.finish(job_id, &outcome);
        });
    }

    /// The step of `job_id` runs: requests that arrived while it started are applied.
    fn started(&self, job_id: JobId, handle: StepHandle) {
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get_mut(&job_id) else {
            return;
        };
        for (sig, scope) in entry.queued_signals.drain(..) {
            handle.signal(sig, scope);
        }
        if entry.terminate.is_some() {
            handle.cancel();
        }
        entry.control = Control::Launched(handle);
    }

    /// A job's step ended: free its GPUs, forget its record, queue its report.
    fn finish(&self, job_id: JobId, outcome: &StepOutcome) {
        let entry = {
            let mut inner = self.lock();
            inner.gpus.release(job_id);
            inner.entries.remove(&job_id)
        };
        let (terminate, orphan, limit) = entry
            .map(|e| (e.terminate, e.orphan, e.time_limit))
            .unwrap_or((None, false, None));
        let past_limit = limit.is_some_and(|l| outcome.elapsed >= l);
        let report = outcome::report(&self.node, job_id, outcome, terminate, past_limit);
        if orphan {
            tracing::info!(
                job_id,
                "orphan job ended; the controller does not know it, nothing to report"
            );
        } else {
            tracing::info!(job_id, end = ?report.end, "job ended");
            self.outbox.push(report);
        }
        self.spool.remove_job(job_id);
        self.ended.notify_waiters();
    }

    /// `scancel -s`: delivers `signal` to the job's step (`batch_only`: the batch shell
    /// only).
    pub fn signal(&self, job_id: JobId, signal: i32, batch_only: bool) {
        let Ok(sig) = Signal::try_from(signal) else {
            tracing::warn!(job_id, signal, "invalid signal number; not delivered");
            return;
        };
        let scope = if batch_only {
            SignalScope::Leader
        } else {
            SignalScope::Step
        };
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get_mut(&job_id) else {
            tracing::info!(job_id, ?sig, "signal for a job not running here ignored");
            return;
        };
        tracing::info!(job_id, ?sig, ?scope, "delivering signal");
        match &entry.control {
            Control::Starting => entry.queued_signals.push((sig, scope)),
            Control::Launched(h) => h.signal(sig, scope),
            Control::Adopted(tx) => {
                let _ = tx.send(AdoptedControl::Signal(sig, scope));
            }
        }
    }

    /// Ends the job with the termination sequence (SIGCONT+SIGTERM, KillWait, SIGKILL).
    /// A job that is not running here and has no pending report is reported ended at once,
    /// so that the controller does not wait for it.
    pub fn terminate(&self, job_id: JobId, reason: TerminateReason) {
        self.signal_steps(job_id, None, None);
        {
            let mut inner = self.lock();
            if let Some(entry) = inner.entries.get_mut(&job_id) {
                tracing::info!(job_id, ?reason, "terminating job");
                if entry.terminate.is_none() {
                    entry.terminate = Some(reason);
                }
                entry.cancel();
                return;
            }
        }
        if self.outbox.contains(job_id) {
            tracing::info!(
                job_id,
                "terminate for a job that already ended here; its report is pending"
            );
            return;
        }
        tracing::warn!(
            job_id,
            ?reason,
            "terminate for a job not running here: reporting it ended"
        );
        let outcome = StepOutcome {
            exit: ExitStatus::SUCCESS,
            end_reason: EndReason::Cancelled,
            elapsed: Duration::ZERO,
            cpu_time: Duration::ZERO,
            max_rss_kib: 0,
        };
        self.outbox.push(outcome::report(
            &self.node,
            job_id,
            &outcome,
            Some(reason),
            false,
        ));
    }

    /// Kills jobs the controller does not know; their ends are not reported.
    pub fn kill_orphans(&self, orphans: &[JobId]) {
        for &job_id in orphans {
            let mut inner = self.lock();
            if let Some(entry) = inner.entries.get_mut(&job_id) {
                tracing::warn!(job_id, "controller does not know this job: killing it");
                entry.orphan = true;
                entry.terminate.get_or_insert(TerminateReason::Cancelled);
                entry.cancel();
            }
        }
    }

    /// Terminates every job (agent shutdown with `--kill-jobs-on-exit`).
    pub fn terminate_all(&self, reason: TerminateReason) {
        for job_id in self.running() {
            self.terminate(job_id, reason);
        }
    }

    /// Waits until no job runs, at most `timeout`; true when none does.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ended = self.ended.notified();
            if self.lock().entries.is_empty() {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return self.lock().entries.is_empty();
            }
        }
    }
}

fn failed_outcome() -> StepOutcome {
    StepOutcome {
        exit: ExitStatus { code: 1, signal: 0 },
        end_reason: EndReason::Failed,
        elapsed: Duration::ZERO,
        cpu_time: Duration::ZERO,
        max_rss_kib: 0,
    }
}

// ----- srun steps -----

impl Jobs {
    /// A runner for steps of cluster `cluster_name`.
    pub(crate) fn step_runner(&self, cluster_name: &str) -> StepRunner {
        let mut config = self.runner_config.clone();
        if !cluster_name.is_empty() {
            config.cluster_name = cluster_name.to_owned();
        }
        StepRunner::new(config, Arc::clone(&self.cgroups))
    }

    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Registers a starting step; returns the GPUs its tasks see: the job's on this node
    /// (assigned now when no batch script of the job runs here).
    pub(crate) fn step_starting(
        &self,
        job_id: JobId,
        step_id: u32,
        gres: &[slurm_core::model::Gres],
    ) -> Vec<u32> {
        let mut inner = self.lock();
        let mut gpus = inner.gpus.of_job(job_id);
        let mut own_gpus = false;
        if gpus.is_empty() && !inner.entries.contains_key(&job_id) {
            gpus = inner.gpus.assign(job_id, gres);
            own_gpus = !gpus.is_empty();
        }
        inner.steps.insert(
            (job_id, step_id),
            StepEntry {
                own_gpus,
                ..StepEntry::default()
            },
        );
        gpus
    }

    /// The step's tasks run (told to end at once when the step was cancelled meanwhile).
    pub(crate) fn step_started(
        &self,
        job_id: JobId,
        step_id: u32,
        handles: Vec<StepHandle>,
        tasks: Vec<u32>,
    ) {
        let mut inner = self.lock();
        if let Some(entry) = inner.steps.get_mut(&(job_id, step_id)) {
            if entry.cancelled {
                handles.iter().for_each(StepHandle::cancel);
            }
            entry.handles = handles;
            entry.tasks = tasks;
        }
    }

    /// The latest usage sample of every task running here: each batch step (task 0) and
    /// each srun task (what `sstat` shows; sent with heartbeats). Re-adopted batch steps
    /// are not sampled and are left out.
    pub fn live_usage(&self) -> Vec<LiveTaskUsage> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (&job_id, entry) in &inner.entries {
            if let Control::Launched(handle) = &entry.control {
                out.push(live_sample(job_id, None, 0, &handle.usage()));
            }
        }
        for (&(job_id, step_id), entry) in &inner.steps {
            for (i, handle) in entry.handles.iter().enumerate() {
                let task = entry
                    .tasks
                    .get(i)
                    .copied()
                    .unwrap_or_else(|| u32::try_from(i).unwrap_or(u32::MAX));
                out.push(live_sample(job_id, Some(step_id), task, &handle.usage()));
            }
        }
        out.sort_by_key(|u| (u.job_id, u.step_id, u.task));
        out
    }

    /// Whether the step was told to end.
    pub(crate) fn step_cancelled(&self, job_id: JobId, step_id: u32) -> bool {
        self.lock()
            .steps
            .get(&(job_id, step_id))
            .is_some_and(|e| e.cancelled)
    }

    /// The step ended here.
    pub(crate) fn step_finished(&self, job_id: JobId, step_id: u32) {
        let mut inner = self.lock();
        let own = inner
            .steps
            .remove(&(job_id, step_id))
            .is_some_and(|e| e.own_gpus);
        let others = inner.steps.keys().any(|(j, _)| *j == job_id);
        if own && !others && !inner.entries.contains_key(&job_id) {
            inner.gpus.release(job_id);
        }
    }

    /// Signals (`Some`) or ends (`None`) one step of a job, or all of them.
    pub fn signal_steps(&self, job_id: JobId, step_id: Option<u32>, signal: Option<i32>) {
        let sig = match signal.map(Signal::try_from) {
            Some(Err(_)) => {
                tracing::warn!(job_id, ?signal, "invalid signal number; not delivered");
                return;
            }
            Some(Ok(sig)) => Some(sig),
            None => None,
        };
        let mut inner = self.lock();
        for ((job, step), entry) in inner.steps.iter_mut() {
            if *job != job_id || step_id.is_some_and(|s| s != *step) {
                continue;
            }
            tracing::info!(job_id, step, ?sig, "signalling step");
            match sig {
                Some(sig) => entry
                    .handles
                    .iter()
                    .for_each(|h| h.signal(sig, SignalScope::Step)),
                None => {
                    entry.cancelled = true;
                    entry.handles.iter().for_each(StepHandle::cancel);
                }
            }
        }
    }
}

/// A task's usage as the heartbeat carries it (the controller fills in the node).
fn live_sample(job_id: JobId, step_id: Option<u32>, task: u32, u: &Usage) -> LiveTaskUsage {
    LiveTaskUsage {
        job_id,
        step_id,
        task,
        node: String::new(),
        cpu_time_ms: u64::try_from(u.cpu_time.as_millis()).unwrap_or(u64::MAX),
        rss_kb: u.rss_kib,
        max_rss_kb: u.max_rss_kib,
        vsize_kb: u.vsize_kib,
        max_vsize_kb: u.max_vsize_kib,
    }
}
