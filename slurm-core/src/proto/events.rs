//! Node events: what the controller tells accounting when a node goes DOWN or DRAIN and
//! when it comes back (`AcctEvent::Node`), and what `sacctmgr show event` asks for
//! (`QueryEvents`); and sshare's figures the dbd computes for a caller who may not see the
//! whole association tree (`PrivateData=usage`).

use crate::model::Timestamp;
use serde::{Deserialize, Serialize};

/// Why a node is out of service: its state as `sacctmgr show event` prints it (`DOWN`,
/// `DOWN*`, `DRAIN`, `DRNG`), the reason, who set it and the node's TRES.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDown {
    pub state: String,
    pub reason: String,
    /// Who set the state (SlurmUser's uid for the controller's own decisions).
    pub uid: u32,
    /// `uid`'s name, where the controller knows it.
    pub user: String,
    /// The node's TRES (`billing=8,cpu=8,mem=32000M,node=1`): the TRES time an event takes
    /// away from the cluster (sreport's Down).
    pub tres: String,
}

/// A node's accounting state from `time` on: `down` opens an event (closing one with a
/// different state or reason), `None` closes the open one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcctNodeState {
    pub node: String,
    pub time: Timestamp,
    pub down: Option<NodeDown>,
}

/// `QueryEvents` (`sacctmgr show event`): node events that overlap `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Empty: every cluster.
    pub clusters: Vec<String>,
    /// `Nodes=` (empty: any).
    pub nodes: Vec<String>,
    /// `Start=` / `End=`; `None`: unbounded.
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    /// `States=` (case-insensitive; `DOWN` also matches `DOWN*`).
    pub states: Vec<String>,
    /// `Reason=`.
    pub reasons: Vec<String>,
    /// `User=` (names).
    pub users: Vec<String>,
    /// `CondFlags=Open`: only events still going on.
    pub open_only: bool,
}

/// One node event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEvent {
    pub cluster: String,
    pub node: String,
    pub start: Timestamp,
    /// `None` while the node is still down.
    pub end: Option<Timestamp>,
    /// Its state, reason, who set it and the node's TRES (flattened: the same fields on the
    /// wire).
    #[serde(flatten)]
    pub down: NodeDown,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventList {
    /// The dbd's clock (the duration of open events).
    pub now: Timestamp,
    /// By cluster, start time and node.
    pub events: Vec<NodeEvent>,
}

/// sshare's figures of one association, computed over the whole tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComputedShares {
    /// Depth in the tree (the account column's indentation).
    pub depth: u32,
    pub norm_shares: f64,
    pub norm_usage: f64,
    pub effective_usage: f64,
    pub fairshare: Option<f64>,
}
