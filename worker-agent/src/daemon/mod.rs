//! The worker agent daemon (the slurmd role): registers the node with the controller, runs
//! the batch steps it is sent, and reports how they ended.
//!
//! - [`hardware`]: CPUs, topology, memory and GPUs to register (fitted to the node's
//!   slurm.conf definition in local mode).
//! - [`connection`]: connect with backoff, register, follow the command stream, heartbeats,
//!   report delivery; reconnect on failure.
//! - [`jobs`]: launch, signal, terminate, re-adopt after a restart, and the end of each job.
//! - [`batch`]: a launched job's batch [`crate::StepSpec`].
//! - [`gpus`]: which GPUs each job uses.
//! - [`adopted`]: supervising steps started by a previous agent.
//! - [`outcome`]: a step's outcome as the report the engine expects.
//! - [`outbox`], [`spool`]: reports kept until acknowledged, and the agent's spool files.
//! - [`steps`]: srun steps: tasks with their I/O streamed to srun, step reports.
//!
//! [`run_agent`] is the entry point; `slinky slurmd` wraps it.

pub mod adopted;
pub mod batch;
pub mod connection;
pub mod gpus;
pub mod hardware;
pub mod jobs;
pub mod outbox;
pub mod outcome;
pub mod spool;
pub mod steps;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slurm_core::auth::{AuthError, CredentialSource};
use slurm_core::client::{ClientError, controller_uri};
use slurm_core::config::{ClusterConfig, GresConf, LoadedConfig};
use slurm_core::proto::{NodeHardware, TerminateReason};

use crate::cgroup::{
    CgroupConfig, CgroupManager, TrackingMode, cgroup2_mount, select_cgroup_manager,
};
use crate::launch::AgentConfig;
use crate::state;

use self::jobs::Jobs;
use self::outbox::Outbox;
use self::spool::Spool;

/// Where the spool directories of nodes live by default: `/var/spool/slurmd/<node>`.
pub const DEFAULT_SPOOL_ROOT: &str = "/var/spool/slurmd";

/// How to run an agent.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The node this agent stands for (`slurmd -N`).
    pub node_name: String,
    /// The cluster's slurm.conf: controller address, timers, the node's definition.
    pub cluster: ClusterConfig,
    /// gres.conf, for GPU discovery without NVML.
    pub gres_conf: Option<GresConf>,
    /// State of running steps, unacknowledged reports, batch scripts. One per node name.
    pub spool_dir: PathBuf,
    /// On shutdown, terminate running jobs (reported as NODE_FAIL) instead of leaving them
    /// for the next agent to re-adopt.
    pub kill_jobs_on_exit: bool,
    /// Cgroup settings, used unless `cgroup_manager` is given. Without a `root`, the
    /// agent's steps go under `<cgroup2 mount>/slinky/<node>-<hash of the spool path>`
    /// ([`agent_cgroup_root`]), so that agents sharing a host (local clusters, whose job ids
    /// all start at 1) never meet in the same job cgroup.
    pub cgroup: CgroupConfig,
    /// A ready containment manager (tests, embedding); `None`: detect from `cgroup`.
    pub cgroup_manager: Option<Arc<dyn CgroupManager>>,
    /// Hardware to register instead of detecting it.
    pub hardware: Option<NodeHardware>,
    /// First delay between connection attempts; doubles up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// How often step usage is sampled (and adopted steps polled).
    pub sample_interval: Duration,
    /// How long a launch waits for the directory of an output file to appear.
    pub output_dir_wait: Duration,
    /// When no GPU device is found but slurm.conf gives the node GPUs, register that many
    /// emulated devices (local clusters replaying a GPU cluster's config on a laptop: jobs get
    /// CUDA_VISIBLE_DEVICES indices but no real device). Never on real nodes.
    pub emulate_gpus: bool,
}

impl AgentOptions {
    /// Options with the defaults: cgroups detected, hardware detected, retries from 500 ms
    /// up to 10 s, usage sampled every second.
    pub fn new(
        node_name: impl Into<String>,
        cluster: ClusterConfig,
        spool_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            node_name: node_name.into(),
            cluster,
            gres_conf: None,
            spool_dir: spool_dir.into(),
            kill_jobs_on_exit: false,
            cgroup: CgroupConfig::default(),
            cgroup_manager: None,
            hardware: None,
            retry_initial: Duration::from_millis(500),
            retry_max: Duration::from_secs(10),
            sample_interval: Duration::from_secs(1),
            output_dir_wait: Duration::from_secs(5),
            emulate_gpus: false,
        }
    }

    /// Options for a loaded slurm.conf (and its gres.conf).
    pub fn from_loaded(
        node_name: impl Into<String>,
        loaded: LoadedConfig,
        spool_dir: impl Into<PathBuf>,
    ) -> Self {
        let mut options = Self::new(node_name, loaded.cluster, spool_dir);
        options.gres_conf = loaded.gres_conf;
        options
    }
}

/// Why the agent could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("invalid node name {0:?}")]
    InvalidNodeName(String),
    #[error("spool directory {path}: {source}", path = .path.display())]
    Spool {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot tell where the controller is: {0}")]
    Controller(#[from] ClientError),
    #[error("authentication (AuthType/AuthInfo): {0}")]
    Auth(#[from] AuthError),
}

/// The default spool directory of `node`.
pub fn default_spool_dir(node: &str) -> PathBuf {
    Path::new(DEFAULT_SPOOL_ROOT).join(node)
}

/// The host name up to its first dot (what `slurmd` uses when no `-N` is given).
pub fn short_hostname() -> String {
    let full = nix::sys::utsname::uname()
        .ok()
        .and_then(|u| u.nodename().to_str().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    full.split('.').next().unwrap_or(&full).to_owned()
}

/// The cgroup directory of the agent for `node` with spool `spool`, relative to the cgroup2
/// mount: `slinky/<node>-<8 hex digits>`, the digits a hash of the spool path (stable across
/// restarts of the same agent, distinct between agents of different clusters).
pub fn agent_cgroup_root(node: &str, spool: &Path) -> PathBuf {
    let spool = spool.canonicalize().unwrap_or_else(|_| spool.to_path_buf());
    // FNV-1a, 64 bits: stable across builds and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in spool.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Path::new("slinky").join(format!("{node}-{:08x}", hash as u32))
}

/// Removes the agent's (empty) cgroup directory when it leaves no step behind.
fn remove_cgroup_root(tracking: &TrackingMode) {
    if let TrackingMode::CgroupV2 { root, .. } = tracking {
        let _ = std::fs::remove_dir(root);
    }
}

/// What the connection and the jobs share.
#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) node: String,
    pub(crate) cluster: ClusterConfig,
    pub(crate) hardware: NodeHardware,
    pub(crate) jobs: Arc<Jobs>,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) message_timeout: Duration,
    pub(crate) retry_initial: Duration,
    pub(crate) retry_max: Duration,
    /// Signs this agent's requests with the cluster key (unsigned under auth/none).
    pub(crate) credentials: CredentialSource,
}

/// Runs the agent until `shutdown` completes: detects the hardware, re-adopts the steps a
/// previous agent left running, then serves the controller connection (reconnecting as
/// needed). On shutdown running jobs are left running (the next agent re-adopts them)
/// unless [`AgentOptions::kill_jobs_on_exit`] is set; reports not yet delivered stay in the
/// spool.
pub async fn run_agent(
    options: AgentOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    let node = options.node_name.clone();
    if node.is_empty() || node.contains(['/', ' ', ',']) {
        return Err(AgentError::InvalidNodeName(node));
    }
    let controller = controller_uri(&options.cluster)?;
    let credentials = CredentialSource::for_daemon(&options.cluster)?;
    let spool = Spool::open(&options.spool_dir)?;
    tracing::info!(
        node = %node,
        controller = %controller,
        spool = %spool.root().display(),
        "slurmd starting"
    );

    let node_config = options.cluster.nodes.iter().find(|n| n.name == node);
    let hardware = match options.hardware.clone() {
        Some(hw) => hw,
        None => hardware::detect(&node, node_config, options.gres_conf.as_ref()),
    };
    let hardware = match node_config {
        Some(cfg) if options.emulate_gpus && hardware.gpus.is_empty() => NodeHardware {
            gpus: hardware::emulated_gpus(&node, cfg),
            ..hardware
        },
        _ => hardware,
    };
    let cgroups = options.cgroup_manager.clone().unwrap_or_else(|| {
        let mut config = options.cgroup.clone();
        if config.root.is_none() {
            config.root = cgroup2_mount().map(|m| m.join(agent_cgroup_root(&node, spool.root())));
        }
        select_cgroup_manager(&config)
    });
    let tracking = cgroups.mode();
    let outbox = Arc::new(Outbox::load(&spool));
    let runner_config = AgentConfig {
        node_name: node.clone(),
        cluster_name: options.cluster.cluster_name.clone(),
        spool_dir: spool.root().to_path_buf(),
        sample_interval: options.sample_interval,
        output_dir_wait: options.output_dir_wait,
    };
    let timers = options.cluster.timers;
    let jobs = Arc::new(Jobs::new(
        runner_config,
        cgroups,
        timers,
        spool.clone(),
        Arc::clone(&outbox),
        &hardware.gpus,
    ));
    jobs.recover(state::recover(spool.root()));

    let agent = Arc::new(Agent {
        node,
        message_timeout: Duration::from_secs(options.cluster.timers.message_timeout.max(1)),
        cluster: options.cluster,
        hardware,
        jobs: Arc::clone(&jobs),
        outbox,
        retry_initial: options.retry_initial,
        retry_max: options.retry_max,
        credentials,
    });

    tokio::select! {
        () = connection::run(&agent) => {}
        () = shutdown => {}
    }

    let running = jobs.running();
    if running.is_empty() {
        tracing::info!("slurmd stopping");
        remove_cgroup_root(&tracking);
    } else if options.kill_jobs_on_exit {
        tracing::info!(jobs = ?running, "slurmd stopping: terminating running jobs");
        jobs.terminate_all(TerminateReason::NodeFail);
        let bound = Duration::from_secs(timers.kill_wait + timers.unkillable_step_timeout)
            + Duration::from_secs(2);
        if !jobs.wait_idle(bound).await {
            tracing::error!(jobs = ?jobs.running(), "jobs still running at exit");
        }
        connection::flush_reports(&agent, agent.message_timeout.min(Duration::from_secs(5))).await;
    } else {
        tracing::info!(
            jobs = ?running,
            "slurmd stopping; running jobs keep running and the next agent re-adopts them"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_roots_differ_per_spool() {
        let a = agent_cgroup_root("n1", Path::new("/nonexistent/a/spool/n1"));
        let b = agent_cgroup_root("n1", Path::new("/nonexistent/b/spool/n1"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            agent_cgroup_root("n1", Path::new("/nonexistent/a/spool/n1"))
        );
        let name = a.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(
            a.starts_with("slinky") && name.starts_with("n1-") && name.len() == 11,
            "{a:?}"
        );
    }

    #[test]
    fn short_hostname_has_no_domain() {
        let h = short_hostname();
        assert!(!h.is_empty() && !h.contains('.'));
    }
}
