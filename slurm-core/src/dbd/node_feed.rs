//! The controller's side of node events: which journaled node changes accounting hears
//! about. A node that goes DOWN or DRAIN (or changes reason) opens an event; one that comes
//! back closes it. Other changes (allocated, idle, powered down) send nothing.

use crate::config::ClusterConfig;
use crate::model::{NodeBaseState, NodeState, Timestamp};
use crate::proto::{AcctNodeState, NodeDown};
use std::collections::HashMap;

/// A node's state as `sacctmgr show event` prints it, when it is an event: `DOWN` (`DOWN*`
/// when not responding), `DRAIN` (drained) or `DRNG` (draining: jobs still run).
pub fn event_state(state: &NodeState) -> Option<String> {
    if state.base == NodeBaseState::Down {
        let mut s = String::from("DOWN");
        if state.flags.not_responding {
            s.push('*');
        }
        return Some(s);
    }
    if state.flags.drain {
        let busy = state.flags.completing
            || matches!(state.base, NodeBaseState::Mixed | NodeBaseState::Allocated);
        return Some(if busy { "DRNG" } else { "DRAIN" }.to_owned());
    }
    None
}

/// Which node changes to send, and with what: each node's TRES, who the controller's own
/// decisions are made by, and what was last sent per node.
#[derive(Debug)]
pub struct NodeFeed {
    tres: HashMap<String, String>,
    /// SlurmUser (uid, name).
    system: (u32, String),
    /// Node → (down or drain, reason) last sent; `None`: up.
    sent: HashMap<String, Option<(bool, String)>>,
}

impl NodeFeed {
    pub fn new(cluster: &ClusterConfig) -> Self {
        let tres = cluster
            .nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    super::record::acct_tres(u64::from(n.cpus), n.real_memory_mb, 1, true, &n.gres),
                )
            })
            .collect();
        let user = cluster.slurm_user.clone();
        let uid = match nix::unistd::User::from_name(&user) {
            Ok(Some(u)) => u.uid.as_raw(),
            _ => user.parse().unwrap_or(0),
        };
        Self {
            tres,
            system: (uid, user),
            sent: HashMap::new(),
        }
    }

    /// The event a journaled node change makes (`None` when accounting already knows).
    /// `by`: who made the change (uid, name); the controller itself (SlurmUser) if `None`.
    pub fn change(
        &mut self,
        node: &str,
        state: &NodeState,
        reason: Option<&str>,
        by: Option<(u32, &str)>,
        now: Timestamp,
    ) -> Option<AcctNodeState> {
        let down = event_state(state);
        let reason = reason.unwrap_or_default().to_owned();
        let key = down
            .as_ref()
            .map(|s| (s.starts_with("DOWN"), reason.clone()));
        if self.sent.get(node) == Some(&key) {
            return None;
        }
        self.sent.insert(node.to_owned(), key);
        let (uid, user) = by.map_or_else(|| self.system.clone(), |(u, n)| (u, n.to_owned()));
        Some(AcctNodeState {
            node: node.to_owned(),
            time: now,
            down: down.map(|state| NodeDown {
                state,
                reason,
                uid,
                user,
                tres: self.tres.get(node).cloned().unwrap_or_default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeConfig;

    fn st(base: NodeBaseState, drain: bool, not_responding: bool) -> NodeState {
        let mut s = NodeState::new(base);
        s.flags.drain = drain;
        s.flags.not_responding = not_responding;
        s
    }

    #[test]
    fn states_that_are_events() {
        assert_eq!(event_state(&st(NodeBaseState::Idle, false, false)), None);
        assert_eq!(
            event_state(&st(NodeBaseState::Idle, true, false)).as_deref(),
            Some("DRAIN")
        );
        assert_eq!(
            event_state(&st(NodeBaseState::Mixed, true, false)).as_deref(),
            Some("DRNG")
        );
        assert_eq!(
            event_state(&st(NodeBaseState::Down, true, true)).as_deref(),
            Some("DOWN*")
        );
    }

    #[test]
    fn only_changes_are_sent() {
        let mut c = ClusterConfig::new("c");
        c.nodes.push(NodeConfig::simple("n1", 4, 8000));
        c.slurm_user = "root".into();
        let mut feed = NodeFeed::new(&c);
        let idle = st(NodeBaseState::Idle, false, false);
        let drained = st(NodeBaseState::Idle, true, false);
        // The first state of a node is always sent (the dbd may hold an open event).
        let up = feed.change("n1", &idle, None, None, 10).unwrap();
        assert_eq!(up.down, None);
        assert!(feed.change("n1", &idle, None, None, 11).is_none());
        let ev = feed
            .change("n1", &drained, Some("disk"), Some((1000, "admin")), 12)
            .unwrap();
        let down = ev.down.unwrap();
        assert_eq!(
            (down.state.as_str(), down.reason.as_str()),
            ("DRAIN", "disk")
        );
        assert_eq!((down.uid, down.user.as_str()), (1000, "admin"));
        assert_eq!(down.tres, "billing=4,cpu=4,mem=8000M,node=1");
        assert_eq!(ev.time, 12);
        // Draining → drained is the same event; a new reason is a new one.
        let draining = st(NodeBaseState::Mixed, true, false);
        assert!(
            feed.change("n1", &draining, Some("disk"), None, 13)
                .is_none()
        );
        assert!(feed.change("n1", &drained, Some("fan"), None, 14).is_some());
        let down = feed
            .change(
                "n1",
                &st(NodeBaseState::Down, false, true),
                Some("Not responding"),
                None,
                15,
            )
            .unwrap()
            .down
            .unwrap();
        assert_eq!(
            (down.state.as_str(), down.uid, down.user.as_str()),
            ("DOWN*", 0, "root")
        );
        assert_eq!(feed.change("n1", &idle, None, None, 16).unwrap().down, None);
    }
}
