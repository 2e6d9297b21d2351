//! Partitions (`PartitionName=` lines).

use super::{OverSubscribe, PartitionState, TimeLimit};

/// Who may use a partition: `ALL` or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum AccessList {
    #[default]
    All,
    Only(Vec<String>),
}

impl AccessList {
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

impl std::fmt::Display for AccessList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("ALL"),
            Self::Only(names) => f.write_str(&names.join(",")),
        }
    }
}

/// A partition's configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionConfig {
    pub name: String,
    /// Node names (expanded; `Nodes=ALL` is resolved by the config loader).
    pub nodes: Vec<String>,
    pub default: bool,
    pub state: PartitionState,
    pub max_time: TimeLimit,
    /// Applied to jobs that do not ask for a time limit; `None` means MaxTime.
    pub default_time: Option<TimeLimit>,
    pub max_nodes: Option<u32>,
    pub min_nodes: u32,
    pub priority_job_factor: u16,
    pub priority_tier: u16,
    pub allow_accounts: AccessList,
    pub allow_groups: AccessList,
    pub allow_qos: AccessList,
    pub oversubscribe: OverSubscribe,
    /// `DefMemPerCPU=` (MiB) used when a job gives no memory request.
    pub def_mem_per_cpu_mb: Option<u64>,
}

impl PartitionConfig {
    pub fn new(name: impl Into<String>, nodes: Vec<String>) -> Self {
        Self {
            name: name.into(),
            nodes,
            default: false,
            state: PartitionState::Up,
            max_time: TimeLimit::Infinite,
            default_time: None,
            max_nodes: None,
            min_nodes: 1,
            priority_job_factor: 1,
            priority_tier: 1,
            allow_accounts: AccessList::All,
            allow_groups: AccessList::All,
            allow_qos: AccessList::All,
            oversubscribe: OverSubscribe::No,
            def_mem_per_cpu_mb: None,
        }
    }
}
