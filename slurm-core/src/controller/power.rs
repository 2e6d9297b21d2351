//! Power saving for cloud nodes (`State=CLOUD`), as Slurm's power save module does it: a
//! node allocated while powered down is resumed, a node idle for SuspendTime is suspended,
//! a resume that takes longer than ResumeTimeout marks the node DOWN. The decisions go out
//! as [`PowerEvent`]s to whoever watches (`WatchPower`): the operator creates or deletes
//! worker pods, `slinky up` starts or stops local agents.
//!
//! This type only keeps the timers; the node states themselves live in the engine.

use crate::config::PowerParams;
use crate::proto::PowerEvent;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How many undelivered events a slow watcher may fall behind before its stream ends (it
/// reconnects and starts from a fresh snapshot).
const WATCH_BACKLOG: usize = 1024;

/// The reason a node gets when it did not come up in time (Slurm's wording).
pub const RESUME_TIMEOUT_REASON: &str = "ResumeTimeout reached";

/// What one power tick decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PowerDecisions {
    /// Nodes that did not register within ResumeTimeout: to be set DOWN and powered down.
    pub resume_failed: Vec<String>,
    /// Idle nodes past SuspendTime: to be suspended.
    pub suspend: Vec<String>,
    /// Suspended nodes past SuspendTimeout: now powered down.
    pub powered_down: Vec<String>,
}

pub struct PowerSaving {
    suspend_time: Option<Duration>,
    suspend_timeout: Duration,
    resume_timeout: Duration,
    /// Nodes asked to resume, and when.
    resuming: HashMap<String, Instant>,
    /// Nodes asked to suspend, and when.
    suspending: HashMap<String, Instant>,
    /// Idle powered-up cloud nodes, and since when.
    idle_since: HashMap<String, Instant>,
    events: broadcast::Sender<PowerEvent>,
}

impl PowerSaving {
    pub fn new(settings: &PowerParams) -> Self {
        Self {
            suspend_time: settings.suspend_time.map(Duration::from_secs),
            suspend_timeout: Duration::from_secs(settings.suspend_timeout),
            resume_timeout: Duration::from_secs(settings.resume_timeout),
            resuming: HashMap::new(),
            suspending: HashMap::new(),
            idle_since: HashMap::new(),
            events: broadcast::channel(WATCH_BACKLOG).0,
        }
    }

    /// A new watcher's receiver; the caller sends it a snapshot first.
    pub fn subscribe(&self) -> broadcast::Receiver<PowerEvent> {
        self.events.subscribe()
    }

    /// The scheduler allocated jobs to these powered-down nodes.
    pub fn resume(&mut self, nodes: Vec<String>, now: Instant) {
        if nodes.is_empty() {
            return;
        }
        for node in &nodes {
            self.idle_since.remove(node);
            self.resuming.insert(node.clone(), now);
        }
        tracing::info!("power save: resuming {}", nodes.join(","));
        self.publish(PowerEvent::Resume { nodes });
    }

    /// Nodes that are going away (suspended, or given up on).
    pub fn suspend(&mut self, nodes: Vec<String>, now: Instant) {
        if nodes.is_empty() {
            return;
        }
        for node in &nodes {
            self.idle_since.remove(node);
            self.resuming.remove(node);
            self.suspending.insert(node.clone(), now);
        }
        tracing::info!("power save: suspending {}", nodes.join(","));
        self.publish(PowerEvent::Suspend { nodes });
    }

    /// A node's agent registered: it is up.
    pub fn registered(&mut self, node: &str) {
        self.resuming.remove(node);
    }

    /// Decides what is due at `now`, given the nodes still coming up and the idle ones (as
    /// the engine sees them). A node coming up that this controller never asked for (it
    /// restarted meanwhile) gets a full ResumeTimeout from now.
    pub fn tick(
        &mut self,
        now: Instant,
        powering_up: &[String],
        idle: &[String],
    ) -> PowerDecisions {
        let mut decisions = PowerDecisions::default();
        self.resuming.retain(|n, _| powering_up.contains(n));
        for node in powering_up {
            let since = *self.resuming.entry(node.clone()).or_insert(now);
            if now.duration_since(since) > self.resume_timeout {
                decisions.resume_failed.push(node.clone());
            }
        }
        let due: Vec<String> = self
            .suspending
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= self.suspend_timeout)
            .map(|(n, _)| n.clone())
            .collect();
        for node in due {
            self.suspending.remove(&node);
            decisions.powered_down.push(node);
        }
        self.idle_since.retain(|n, _| idle.contains(n));
        if let Some(limit) = self.suspend_time {
            for node in idle {
                let since = *self.idle_since.entry(node.clone()).or_insert(now);
                if now.duration_since(since) >= limit && !self.suspending.contains_key(node) {
                    decisions.suspend.push(node.clone());
                }
            }
        }
        decisions.resume_failed.sort();
        decisions.suspend.sort();
        decisions.powered_down.sort();
        decisions
    }

    fn publish(&self, event: PowerEvent) {
        // No watcher is not an error: the nodes are reconciled from the snapshot when one
        // connects.
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(suspend_time: Option<u64>) -> PowerParams {
        PowerParams {
            suspend_time,
            suspend_timeout: 5,
            resume_timeout: 60,
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resume_is_published_and_times_out() {
        let mut p = PowerSaving::new(&settings(None));
        let mut rx = p.subscribe();
        let t0 = Instant::now();
        p.resume(names(&["gpu-0", "gpu-1"]), t0);
        assert_eq!(
            rx.try_recv().unwrap(),
            PowerEvent::Resume {
                nodes: names(&["gpu-0", "gpu-1"])
            }
        );
        let up = names(&["gpu-0", "gpu-1"]);
        assert!(
            p.tick(t0 + Duration::from_secs(30), &up, &[])
                .resume_failed
                .is_empty()
        );
        p.registered("gpu-0");
        let late = p.tick(t0 + Duration::from_secs(61), &names(&["gpu-1"]), &[]);
        assert_eq!(late.resume_failed, names(&["gpu-1"]));
    }

    #[test]
    fn idle_nodes_are_suspended_after_suspend_time_then_powered_down() {
        let mut p = PowerSaving::new(&settings(Some(600)));
        let t0 = Instant::now();
        let idle = names(&["cpu-0"]);
        assert!(p.tick(t0, &[], &idle).suspend.is_empty());
        assert!(
            p.tick(t0 + Duration::from_secs(599), &[], &idle)
                .suspend
                .is_empty()
        );
        let d = p.tick(t0 + Duration::from_secs(600), &[], &idle);
        assert_eq!(d.suspend, idle);
        let t1 = t0 + Duration::from_secs(600);
        p.suspend(d.suspend, t1);
        // While suspending the node is not idle-eligible again, and after SuspendTimeout it
        // is powered down.
        assert!(
            p.tick(t1 + Duration::from_secs(1), &[], &[])
                .powered_down
                .is_empty()
        );
        assert_eq!(
            p.tick(t1 + Duration::from_secs(5), &[], &[]).powered_down,
            idle
        );
    }

    #[test]
    fn a_node_that_gets_work_restarts_its_idle_clock() {
        let mut p = PowerSaving::new(&settings(Some(10)));
        let t0 = Instant::now();
        let idle = names(&["n"]);
        p.tick(t0, &[], &idle);
        p.tick(t0 + Duration::from_secs(5), &[], &[]);
        assert!(
            p.tick(t0 + Duration::from_secs(12), &[], &idle)
                .suspend
                .is_empty()
        );
        assert_eq!(
            p.tick(t0 + Duration::from_secs(22), &[], &idle).suspend,
            idle
        );
    }

    #[test]
    fn no_suspend_time_means_never() {
        let mut p = PowerSaving::new(&settings(None));
        let t0 = Instant::now();
        let idle = names(&["n"]);
        p.tick(t0, &[], &idle);
        assert!(
            p.tick(t0 + Duration::from_secs(1 << 20), &[], &idle)
                .suspend
                .is_empty()
        );
    }
}
