//! Background work: the scheduling loop and a one-second tick for silent nodes, overdue jobs
//! and purging.
//!
//! The scheduling loop runs like slurmctld's: events (submissions, job ends, node changes)
//! wake Slurm's cheap main scheduler (at most every [`MIN_PASS_INTERVAL`]), which starts jobs
//! in priority order and stops each partition at its first job that cannot start; the full
//! backfill pass, which plans every pending job, runs every `bf_interval` seconds. A pass also
//! runs at least every SchedulerParameters' `sched_interval`.

use super::Shared;
use crate::config::{SchedulerParams, SchedulerPolicy};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Passes triggered by bursts of events (a thousand submissions) are coalesced.
const MIN_PASS_INTERVAL: Duration = Duration::from_millis(50);
const TICK: Duration = Duration::from_secs(1);

pub fn spawn(
    shared: Arc<Shared>,
    slurmd_timeout_s: u64,
    scheduler: &SchedulerParams,
) -> Vec<JoinHandle<()>> {
    let sched = tokio::spawn(schedule_loop(shared.clone(), Cadence::of(scheduler)));
    let syncer = shared.core().syncer();
    let tick = tokio::spawn(tick_loop(
        shared,
        Duration::from_secs(slurmd_timeout_s.max(1)),
    ));
    let sync = tokio::spawn(sync_loop(syncer));
    vec![sched, tick, sync]
}

/// When the scheduling loop runs and which passes are full ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cadence {
    /// The longest wait between passes without events.
    sched_interval: Duration,
    /// Time between full passes; `None`: every pass is full (no backfill configured, or
    /// `bf_interval=0`).
    bf_interval: Option<Duration>,
}

impl Cadence {
    fn of(scheduler: &SchedulerParams) -> Self {
        let backfills = scheduler.policy != SchedulerPolicy::Fcfs;
        Self {
            sched_interval: Duration::from_secs(scheduler.sched_interval_s.clamp(1, 60)),
            bf_interval: (backfills && scheduler.bf_interval_s > 0)
                .then(|| Duration::from_secs(scheduler.bf_interval_s)),
        }
    }

    /// Whether a pass now is a full one, the last full pass having begun at `last_full`.
    fn full_due(&self, last_full: Option<Instant>, now: Instant) -> bool {
        match (self.bf_interval, last_full) {
            (Some(interval), Some(last)) => now.saturating_duration_since(last) >= interval,
            _ => true,
        }
    }

    /// How long to wait for an event before the next pass is due anyway.
    fn wait(&self, last_full: Option<Instant>, now: Instant) -> Duration {
        match (self.bf_interval, last_full) {
            (Some(interval), Some(last)) => self
                .sched_interval
                .min((last + interval).saturating_duration_since(now)),
            _ => self.sched_interval,
        }
    }
}

async fn schedule_loop(shared: Arc<Shared>, cadence: Cadence) {
    let mut last_full: Option<Instant> = None;
    loop {
        let wait = cadence.wait(last_full, Instant::now());
        let _ = tokio::time::timeout(wait, shared.wake.notified()).await;
        let started = Instant::now();
        let full = cadence.full_due(last_full, started);
        if full {
            last_full = Some(started);
        }
        let dispatches = {
            let mut core = shared.core();
            core.schedule(&shared.cluster_name, full)
        };
        match dispatches {
            Ok(d) => {
                if !d.is_empty() {
                    tracing::debug!(
                        "{} pass started {} jobs in {:?}",
                        if full { "full" } else { "main" },
                        d.len(),
                        started.elapsed()
                    );
                }
                shared.dispatch(d);
            }
            Err(e) => tracing::error!("scheduling pass not saved: {}", e.message()),
        }
        tokio::time::sleep(MIN_PASS_INTERVAL).await;
    }
}

/// Flushes state written under the periodic sync policy (a no-op when nothing is dirty).
async fn sync_loop(syncer: super::state_store::Syncer) {
    let mut ticker = tokio::time::interval(super::state_store::PERIODIC_SYNC);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let s = syncer.clone();
        match tokio::task::spawn_blocking(move || s.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("flushing controller state to disk: {e}"),
            Err(e) => tracing::error!("state flush task failed: {e}"),
        }
    }
}

async fn tick_loop(shared: Arc<Shared>, slurmd_timeout: Duration) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purge_countdown = 0u32;
    loop {
        ticker.tick().await;
        let nodes: Vec<String> = {
            let core = shared.core();
            core.engine()
                .node_states()
                .filter(|(_, state)| {
                    // Nodes powering up or down are watched by power saving's timers.
                    let f = state.flags;
                    !f.powered_down && !f.powering_up && !f.powering_down
                })
                .map(|(name, _)| name.to_owned())
                .collect()
        };
        let silent = shared.agents().silent(nodes.into_iter(), slurmd_timeout);
        let mut dispatches = Vec::new();
        {
            let mut core = shared.core();
            for node in &silent {
                match core.node_silent(node) {
                    Ok(d) => dispatches.extend(d),
                    Err(e) => tracing::error!("node {node}: {}", e.message()),
                }
            }
            dispatches.extend(core.overdue());
            match core.revoke_abandoned_allocations() {
                Ok(d) => dispatches.extend(d),
                Err(e) => tracing::error!("revoking abandoned allocations: {}", e.message()),
            }
            match core.power_tick() {
                Ok(d) => dispatches.extend(d),
                Err(e) => tracing::error!("power saving: {}", e.message()),
            }
            if purge_countdown == 0 {
                purge_countdown = 10;
                let now = core.engine().now();
                if let Err(e) = core.purge(now) {
                    tracing::error!("purging old jobs: {}", e.message());
                }
            }
            purge_countdown -= 1;
        }
        if !silent.is_empty() {
            shared.wake.notify_one();
        }
        shared.dispatch(dispatches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(policy: SchedulerPolicy, bf_interval_s: u64) -> SchedulerParams {
        SchedulerParams {
            policy,
            bf_interval_s,
            sched_interval_s: 60,
            ..SchedulerParams::default()
        }
    }

    #[test]
    fn backfill_passes_are_full_every_bf_interval_and_main_in_between() {
        let cadence = Cadence::of(&params(SchedulerPolicy::Backfill, 30));
        let t0 = Instant::now();
        assert!(cadence.full_due(None, t0), "the first pass is full");
        assert!(!cadence.full_due(Some(t0), t0 + Duration::from_secs(29)));
        assert!(cadence.full_due(Some(t0), t0 + Duration::from_secs(30)));
        assert_eq!(
            cadence.wait(Some(t0), t0 + Duration::from_secs(20)),
            Duration::from_secs(10),
            "the loop wakes when the next full pass is due"
        );
        assert_eq!(cadence.wait(None, t0), Duration::from_secs(60));
    }

    #[test]
    fn without_backfill_or_interval_every_pass_is_full() {
        let t0 = Instant::now();
        for cadence in [
            Cadence::of(&params(SchedulerPolicy::Fcfs, 30)),
            Cadence::of(&params(SchedulerPolicy::Backfill, 0)),
        ] {
            assert!(cadence.full_due(Some(t0), t0));
            assert_eq!(cadence.wait(Some(t0), t0), Duration::from_secs(60));
        }
    }
}
