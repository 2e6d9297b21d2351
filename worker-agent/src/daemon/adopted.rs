//! Supervising a step that a previous agent started ([`state::recover`] found it still
//! running): it is not this agent's child, so its exit status cannot be collected. The agent
//! watches its leader and its cgroup (or its session through `/proc`), enforces the time
//! limit from the recorded start, runs the termination sequence on request, accounts what
//! the cgroup or `/proc` shows, and cleans up once it is gone.
//!
//! A step that ends on its own is reported with exit status 0:0 (unknown; logged as such):
//! see the module documentation of [`crate::state`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use slurm_core::model::ExitStatus;
use tokio::sync::mpsc;

use crate::cgroup::{
    CgroupManager as _, ContainerStats, NoCgroups, StepContainer, StepLimits, cgroup_kill,
    cgroup_pids, cgroup_stats,
};
use crate::procfs::{self, ProcStat};
use crate::signals::{KillAction, KillSequence, SignalScope};
use crate::state::{self, StepRecord};
use crate::step::{EndReason, StepId, StepOutcome};
use crate::usage::UsageAccumulator;

use super::spool::JobRecord;

/// Requests to an adopted step's supervisor.
#[derive(Debug, Clone, Copy)]
pub enum AdoptedControl {
    /// SIGCONT+SIGTERM, KillWait, SIGKILL.
    Terminate,
    Signal(Signal, SignalScope),
}

/// Starts supervising `record` (a step found by [`state::recover`]). `job` is the agent's
/// own record of the job, for the time limit and kill timers; without it the step has no
/// time limit and the default timers apply.
pub fn adopt(
    record: StepRecord,
    job: Option<&JobRecord>,
    spool: &Path,
    poll: Duration,
) -> (
    mpsc::UnboundedSender<AdoptedControl>,
    tokio::task::JoinHandle<StepOutcome>,
) {
    let defaults = slurm_core::config::Timers::default();
    let (tx, rx) = mpsc::unbounded_channel();
    let container: Box<dyn StepContainer> = match &record.cgroup {
        Some(dir) if dir.is_dir() => Box::new(ExistingCgroup { dir: dir.clone() }),
        _ => {
            let step = record.step().unwrap_or(StepId::Batch);
            match NoCgroups.create(record.job_id, step, &StepLimits::default()) {
                Ok(mut c) => {
                    c.set_leader(record.pgid);
                    c
                }
                // NoCgroups cannot fail; keep a container that sees nothing rather than
                // panic.
                Err(_) => Box::new(ExistingCgroup {
                    dir: PathBuf::from("/nonexistent"),
                }),
            }
        }
    };
    let supervisor = Adopted {
        display_id: format!("{}.{}", record.job_id, record.step_id),
        time_limit: job.and_then(|j| j.time_limit_s).map(Duration::from_secs),
        kill_wait: Duration::from_secs(job.map_or(defaults.kill_wait, |j| j.kill_wait_s)),
        unkillable_timeout: Duration::from_secs(
            job.map_or(defaults.unkillable_step_timeout, |j| {
                j.unkillable_step_timeout_s
            }),
        ),
        spool: spool.to_path_buf(),
        record,
        container,
        acc: UsageAccumulator::default(),
        control: rx,
        poll: poll.max(Duration::from_millis(10)),
    };
    (tx, tokio::spawn(supervisor.run()))
}

struct Adopted {
    display_id: String,
    record: StepRecord,
    container: Box<dyn StepContainer>,
    acc: UsageAccumulator,
    control: mpsc::UnboundedReceiver<AdoptedControl>,
    time_limit: Option<Duration>,
    kill_wait: Duration,
    unkillable_timeout: Duration,
    spool: PathBuf,
    poll: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Terminate,
    TimeLimit,
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

impl Adopted {
    fn leader_alive(&self) -> bool {
        procfs::is_alive(self.record.pid, Some(self.record.start_ticks))
    }

    fn sample(&mut self) {
        let procs = self.container.processes();
        let stats = self.container.stats();
        self.acc.record(&procs, &stats);
    }

    fn start_kill(&mut self, cause: Cause) -> KillSequence {
        tracing::info!(step = %self.display_id, ?cause, "terminating adopted step: SIGCONT, SIGTERM");
        let (seq, _) = KillSequence::start(Instant::now(), self.kill_wait, self.unkillable_timeout);
        self.container.signal(Signal::SIGCONT);
        self.container.signal(Signal::SIGTERM);
        seq
    }

    async fn run(mut self) -> StepOutcome {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let already =
            Duration::from_secs(now_unix.saturating_sub(self.record.started_at).max(0) as u64);
        let start = Instant::now()
            .checked_sub(already)
            .unwrap_or_else(Instant::now);
        let limit_at = self.time_limit.map(|l| start + l);
        tracing::info!(
            step = %self.display_id,
            pid = self.record.pid,
            running_for_s = already.as_secs(),
            "re-adopted a step started by a previous agent"
        );
        let mut ticker = tokio::time::interval(self.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut kill: Option<KillSequence> = None;
        let mut cause: Option<Cause> = None;
        let mut killed = false;
        let mut open = true;
        let gave_up = loop {
            let kill_at = kill.as_ref().and_then(KillSequence::deadline);
            let limit_pending = if kill.is_none() { limit_at } else { None };
            tokio::select! {
                control = self.control.recv(), if open => match control {
                    None => open = false,
                    Some(AdoptedControl::Terminate) => {
                        if kill.is_none() {
                            cause = Some(Cause::Terminate);
                            kill = Some(self.start_kill(Cause::Terminate));
                        }
                    }
                    Some(AdoptedControl::Signal(sig, SignalScope::Leader)) => {
                        let _ = kill_pid(self.record.pid, sig);
                    }
                    Some(AdoptedControl::Signal(sig, SignalScope::Step)) => {
                        self.container.signal(sig);
                    }
                },
                () = sleep_until(limit_pending) => {
                    cause = Some(Cause::TimeLimit);
                    kill = Some(self.start_kill(Cause::TimeLimit));
                }
                () = sleep_until(kill_at) => {
                    match kill.as_mut().and_then(|k| k.on_deadline(Instant::now())) {
                        Some(KillAction::Kill) => {
                            tracing::info!(step = %self.display_id, "KillWait passed: SIGKILL");
                            killed = true;
                            self.container.kill_all();
                        }
                        Some(KillAction::GiveUp) => break true,
                        _ => {}
                    }
                }
                _ = ticker.tick() => {
                    self.sample();
                    if !self.leader_alive() {
                        break false;
                    }
                }
            }
        };
        let elapsed = start.elapsed();
        let mut unkillable = gave_up;
        if !gave_up && self.container.is_populated() {
            tracing::info!(step = %self.display_id, "killing processes left by the step");
            let deadline = Instant::now() + self.unkillable_timeout;
            loop {
                self.container.kill_all();
                if !self.container.is_populated() {
                    break;
                }
                if Instant::now() >= deadline {
                    unkillable = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.sample();
        let usage = self.acc.usage();
        if unkillable {
            tracing::error!(step = %self.display_id, "processes survived SIGKILL: unkillable step");
        } else {
            self.cleanup();
        }
        let exit = match cause {
            Some(_) if killed => ExitStatus {
                code: 0,
                signal: Signal::SIGKILL as i32,
            },
            Some(_) => ExitStatus {
                code: 0,
                signal: Signal::SIGTERM as i32,
            },
            None => {
                tracing::warn!(
                    step = %self.display_id,
                    "adopted step ended; its exit status cannot be known (not a child of this \
                     agent): reporting 0:0"
                );
                ExitStatus::SUCCESS
            }
        };
        let end_reason = if unkillable {
            EndReason::Unkillable
        } else {
            match cause {
                Some(Cause::Terminate) => EndReason::Cancelled,
                Some(Cause::TimeLimit) => EndReason::TimedOut,
                None if usage.oom_kills > 0 => EndReason::OutOfMemory,
                None => EndReason::Completed,
            }
        };
        StepOutcome {
            exit,
            end_reason,
            elapsed,
            cpu_time: usage.cpu_time,
            max_rss_kib: usage.max_rss_kib,
        }
    }

    /// Removes the step's cgroup, state file and batch script.
    fn cleanup(&mut self) {
        self.container.cleanup();
        if let Err(e) = state::remove(&self.spool, self.record.job_id, &self.record.step_id) {
            tracing::warn!(error = %e, "cannot remove step state file");
        }
        let dir = self.spool.join(format!("job{:05}", self.record.job_id));
        let _ = fs::remove_file(dir.join("slurm_script"));
        let _ = fs::remove_dir(&dir);
    }
}

fn kill_pid(pid: i32, sig: Signal) -> bool {
    kill(Pid::from_raw(pid), sig).is_ok()
}

/// The cgroup of a step created by a previous agent.
#[derive(Debug)]
struct ExistingCgroup {
    dir: PathBuf,
}

impl StepContainer for ExistingCgroup {
    fn join_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn set_leader(&mut self, _pid: i32) {}

    fn processes(&mut self) -> Vec<ProcStat> {
        cgroup_pids(&self.dir)
            .into_iter()
            .filter_map(procfs::read_stat)
            .collect()
    }

    fn signal(&mut self, sig: Signal) -> usize {
        cgroup_pids(&self.dir)
            .into_iter()
            .filter(|&p| kill_pid(p, sig))
            .count()
    }

    fn kill_all(&mut self) {
        if self.dir.join("cgroup.kill").exists() && cgroup_kill(&self.dir).is_ok() {
            return;
        }
        self.signal(Signal::SIGKILL);
    }

    fn is_populated(&mut self) -> bool {
        !cgroup_pids(&self.dir).is_empty()
    }

    fn stats(&mut self) -> ContainerStats {
        cgroup_stats(&self.dir)
    }

    fn cleanup(&mut self) {
        if self.dir.is_dir()
            && let Err(e) = fs::remove_dir(&self.dir)
        {
            tracing::warn!(path = %self.dir.display(), error = %e, "cannot remove step cgroup");
        }
        if let Some(job_dir) = self.dir.parent() {
            let _ = fs::remove_dir(job_dir);
        }
    }
}
