//! Background work: the scheduling loop (woken by events, at most every
//! [`MIN_PASS_INTERVAL`], and at least every SchedulerParameters' sched_interval) and a
//! one-second tick for silent nodes, overdue jobs and purging.

use super::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Passes triggered by bursts of events (a thousand submissions) are coalesced.
const MIN_PASS_INTERVAL: Duration = Duration::from_millis(50);
const TICK: Duration = Duration::from_secs(1);

pub fn spawn(
    shared: Arc<Shared>,
    slurmd_timeout_s: u64,
    sched_interval_s: u64,
) -> Vec<JoinHandle<()>> {
    let sched = tokio::spawn(schedule_loop(
        shared.clone(),
        Duration::from_secs(sched_interval_s.clamp(1, 60)),
    ));
    let syncer = shared.core().syncer();
    let tick = tokio::spawn(tick_loop(
        shared,
        Duration::from_secs(slurmd_timeout_s.max(1)),
    ));
    let sync = tokio::spawn(sync_loop(syncer));
    vec![sched, tick, sync]
}

async fn schedule_loop(shared: Arc<Shared>, interval: Duration) {
    loop {
        let _ = tokio::time::timeout(interval, shared.wake.notified()).await;
        let started = std::time::Instant::now();
        let dispatches = {
            let mut core = shared.core();
            core.schedule(&shared.cluster_name)
        };
        match dispatches {
            Ok(d) => {
                if !d.is_empty() {
                    tracing::debug!("pass started {} jobs in {:?}", d.len(), started.elapsed());
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
