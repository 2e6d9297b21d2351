//! `slurm.conf` and `gres.conf`: the cluster description the engine and daemons run from.
//!
//! [`ClusterConfig`] is the one output of loading; the engine, the daemons and
//! `slinky conf check` all consume it.
//!

pub mod gres_conf;
mod params;
pub mod report;
pub mod slurm_conf;

pub use gres_conf::{GresConf, GresConfEntry, apply_gres_conf, load_gres_conf, parse_gres_conf};
pub use params::*;
pub use report::render_report;
pub use slurm_conf::{
    ConfigError, ConfigWarning, LoadedConfig, Location, load_slurm_conf, parse_slurm_conf,
    render_slurm_conf,
};

use crate::model::{NodeConfig, PartitionConfig, Qos};

/// A cluster as configured: nodes, partitions and the scheduler's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    pub cluster_name: String,
    /// `SlurmctldHost=` entries (first is primary), each `name` or `name(addr)`.
    pub controller_hosts: Vec<ControllerHost>,
    pub controller_port: u16,
    pub slurmd_port: u16,
    /// `SlurmUser=`.
    pub slurm_user: String,
    /// `StateSaveLocation=`.
    pub state_save_location: String,
    /// `GresTypes=`.
    pub gres_types: Vec<String>,
    pub nodes: Vec<NodeConfig>,
    pub partitions: Vec<PartitionConfig>,
    pub qos: Vec<Qos>,
    pub select: SelectParams,
    pub scheduler: SchedulerParams,
    pub priority: PriorityParams,
    pub accounting: AccountingParams,
    pub timers: Timers,
    pub power: PowerParams,
    /// `AuthInfo=` / `AuthType=` as given.
    pub auth_type: String,
    pub auth_info: Option<String>,
    /// `TLSType=` / `TLSParameters=` as given (see `crate::tls`).
    pub tls_type: String,
    pub tls_parameters: Option<String>,
}

/// One `SlurmctldHost=` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerHost {
    pub name: String,
    /// The address in `name(addr)`, if given.
    pub addr: Option<String>,
}

impl ClusterConfig {
    /// An empty cluster with Slurm's defaults, named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            cluster_name: name.into(),
            controller_hosts: Vec::new(),
            controller_port: 6817,
            slurmd_port: 6818,
            slurm_user: "root".into(),
            state_save_location: "/var/spool/slurmctld".into(),
            gres_types: Vec::new(),
            nodes: Vec::new(),
            partitions: Vec::new(),
            qos: vec![Qos::normal()],
            select: SelectParams::default(),
            scheduler: SchedulerParams::default(),
            priority: PriorityParams::default(),
            accounting: AccountingParams::default(),
            timers: Timers::default(),
            power: PowerParams::default(),
            auth_type: "auth/munge".into(),
            auth_info: None,
            tls_type: crate::tls::TLS_NONE.into(),
            tls_parameters: None,
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn partition(&self, name: &str) -> Option<&PartitionConfig> {
        self.partitions.iter().find(|p| p.name == name)
    }

    /// The `Default=YES` partition, else the first one (as Slurm picks).
    pub fn default_partition(&self) -> Option<&PartitionConfig> {
        self.partitions
            .iter()
            .find(|p| p.default)
            .or_else(|| self.partitions.first())
    }
}
