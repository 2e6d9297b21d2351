//! Nodes: their configured hardware and their state (base state plus flags, as Slurm keeps it).

use super::Gres;
use std::fmt;

/// A node's hardware as configured (`NodeName=` lines) or registered by its agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeConfig {
    pub name: String,
    pub cpus: u32,
    pub boards: u32,
    pub sockets: u32,
    pub cores_per_socket: u32,
    pub threads_per_core: u32,
    /// `RealMemory=`, MiB.
    pub real_memory_mb: u64,
    /// GRES on the node, typed where the config says so (`gpu:a100:8`).
    pub gres: Vec<Gres>,
    /// `Features=` (available features, used by `--constraint`).
    pub features: Vec<String>,
    /// `Weight=`: lower weights are allocated first.
    pub weight: u32,
    /// `State=CLOUD` in slurm.conf: the node may be powered down and resumed on demand.
    pub cloud: bool,
}

impl NodeConfig {
    /// A node with `cpus` single-threaded cores on one socket and no GRES.
    pub fn simple(name: impl Into<String>, cpus: u32, real_memory_mb: u64) -> Self {
        Self {
            name: name.into(),
            cpus,
            boards: 1,
            sockets: 1,
            cores_per_socket: cpus,
            threads_per_core: 1,
            real_memory_mb,
            gres: Vec::new(),
            features: Vec::new(),
            weight: 1,
            cloud: false,
        }
    }

    pub fn with_gres(mut self, gres: Gres) -> Self {
        self.gres.push(gres);
        self
    }
}

/// The base state of a node, from its allocations and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum NodeBaseState {
    /// Never registered since the controller started.
    Unknown,
    Idle,
    Mixed,
    Allocated,
    Down,
    Future,
}

/// Flags layered on the base state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct NodeFlags {
    /// An admin or the system asked for no new work (DRAIN / DRAINING once jobs are gone).
    pub drain: bool,
    /// A cloud node that is powered down (`idle~` in sinfo).
    pub powered_down: bool,
    /// Resume requested, not registered yet (`idle#`, `alloc#`).
    pub powering_up: bool,
    /// Suspend in progress (`idle%`).
    pub powering_down: bool,
    /// Missed heartbeats (the `*` suffix).
    pub not_responding: bool,
    /// Jobs ending on it (the `comp` state).
    pub completing: bool,
    /// A `State=CLOUD` node.
    pub cloud: bool,
}

/// A node state as Slurm reports it: base state plus flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct NodeState {
    pub base: NodeBaseState,
    pub flags: NodeFlags,
}

impl NodeState {
    pub fn new(base: NodeBaseState) -> Self {
        Self {
            base,
            flags: NodeFlags::default(),
        }
    }

    /// True when the node may receive new jobs (it may still need powering up).
    pub fn is_schedulable(&self) -> bool {
        !self.flags.drain
            && !self.flags.not_responding
            && !self.flags.powering_down
            && matches!(
                self.base,
                NodeBaseState::Idle | NodeBaseState::Mixed | NodeBaseState::Allocated
            )
    }

    /// sinfo's compact state: `idle`, `mix`, `alloc`, `drain`, `drng`, `down*`, `idle~`,
    /// `alloc#`, `comp`...
    pub fn sinfo_short(&self) -> String {
        let f = self.flags;
        let busy = matches!(self.base, NodeBaseState::Mixed | NodeBaseState::Allocated);
        let mut s = String::from(if f.drain && self.base != NodeBaseState::Down {
            if busy { "drng" } else { "drain" }
        } else if f.completing {
            "comp"
        } else {
            match self.base {
                NodeBaseState::Unknown => "unk",
                NodeBaseState::Idle => "idle",
                NodeBaseState::Mixed => "mix",
                NodeBaseState::Allocated => "alloc",
                NodeBaseState::Down => "down",
                NodeBaseState::Future => "futr",
            }
        });
        if f.not_responding {
            s.push('*');
        } else if f.powered_down {
            s.push('~');
        } else if f.powering_up {
            s.push('#');
        } else if f.powering_down {
            s.push('%');
        }
        s
    }

    /// sinfo's long state (`sinfo -l`, `-N -l`): `idle`, `mixed`, `allocated`, `drained`,
    /// `draining`, `down*`, `idle~`.
    pub fn sinfo_long(&self) -> String {
        let short = self.sinfo_short();
        let (word, suffix) = short.split_at(short.trim_end_matches(['*', '~', '#', '%']).len());
        let long = match word {
            "mix" => "mixed",
            "alloc" => "allocated",
            "drain" => "drained",
            "drng" => "draining",
            "comp" => "completing",
            "unk" => "unknown",
            "futr" => "future",
            other => other,
        };
        format!("{long}{suffix}")
    }
}

impl fmt::Display for NodeState {
    /// `scontrol show node`'s `State=`: `IDLE`, `MIXED+DRAIN`, `IDLE+CLOUD+POWERED_DOWN`,
    /// `DOWN+NOT_RESPONDING`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = match self.base {
            NodeBaseState::Unknown => "UNKNOWN",
            NodeBaseState::Idle => "IDLE",
            NodeBaseState::Mixed => "MIXED",
            NodeBaseState::Allocated => "ALLOCATED",
            NodeBaseState::Down => "DOWN",
            NodeBaseState::Future => "FUTURE",
        };
        let mut s = String::from(base);
        let flags = [
            (self.flags.cloud, "CLOUD"),
            (self.flags.completing, "COMPLETING"),
            (self.flags.drain, "DRAIN"),
            (self.flags.not_responding, "NOT_RESPONDING"),
            (self.flags.powered_down, "POWERED_DOWN"),
            (self.flags.powering_down, "POWERING_DOWN"),
            (self.flags.powering_up, "POWERING_UP"),
        ];
        for (on, name) in flags {
            if on {
                s.push('+');
                s.push_str(name);
            }
        }
        f.pad(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinfo_states_match_slurm_spellings() {
        let mut st = NodeState::new(NodeBaseState::Idle);
        assert_eq!(st.sinfo_short(), "idle");
        st.flags.powered_down = true;
        st.flags.cloud = true;
        assert_eq!(st.sinfo_short(), "idle~");
        assert_eq!(st.to_string(), "IDLE+CLOUD+POWERED_DOWN");
        let mut drained = NodeState::new(NodeBaseState::Mixed);
        drained.flags.drain = true;
        assert_eq!(drained.sinfo_short(), "drng");
        assert_eq!(drained.sinfo_long(), "draining");
        let mut down = NodeState::new(NodeBaseState::Down);
        down.flags.not_responding = true;
        assert_eq!(down.sinfo_short(), "down*");
        assert_eq!(down.sinfo_long(), "down*");
    }
}
