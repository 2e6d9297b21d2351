//! The controller daemon (the slurmctld role): owns the queue and the engine, keeps its state
//! durable, serves the commands and the agents over gRPC, and schedules on events and on an
//! interval.
//!
//! * [`state_store`]: the journal and snapshot under StateSaveLocation;
//! * [`core`]: the engine and the store behind one lock; every change is journaled before it
//!   is acknowledged;
//! * [`agents`]: command channels to registered agents and their liveness;
//! * `authn`: every request's credential verified (signature, lifetime, replay) and
//!   turned into the caller's identity; agents must be root or SlurmUser;
//! * [`service`]: the two gRPC services;
//! * [`assoc_sync`]: accounting's associations and QOS, read from the dbd every few
//!   seconds, enforced by the engine (`AccountingStorageEnforce`);
//! * [`power`]: power saving for cloud nodes (resume on allocation, suspend when idle,
//!   ResumeTimeout), streamed to node providers through `WatchPower`;
//! * [`live_usage`]: the running tasks' latest usage from agents' heartbeats (`sstat`);
//! * [`tasks`]: the scheduling loop and the periodic checks (silent nodes, time limits,
//!   power saving, purging old jobs).

pub mod agents;
pub mod assoc_sync;
mod authn;
pub mod core;
pub mod holds;
pub mod live_usage;
pub mod power;
mod service;
pub mod state_store;
pub mod steps;
mod tasks;

use crate::auth::{AuthError, AuthMode, ClusterKey, CredentialSource, Verifier};
use crate::config::ClusterConfig;
use crate::proto::slurmctld::slurmctld_server::SlurmctldServer;
use crate::proto::slurmd_gateway::slurmd_gateway_server::SlurmdGatewayServer;
use agents::{AgentRegistry, SendOutcome};
use core::{Core, CoreError, Dispatch};
pub use service::PowerEventStream;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// How to run a controller.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    pub cluster: ClusterConfig,
    /// StateSaveLocation.
    pub state_dir: PathBuf,
    /// Where to listen for commands and agents.
    pub listen: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("authentication (AuthType/AuthInfo): {0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Accounting(#[from] crate::dbd::queue::QueueError),
}

/// State shared by the services and the background tasks.
pub struct Shared {
    core: Mutex<Core>,
    agents: Mutex<AgentRegistry>,
    /// Wakes the scheduling loop (a submission, an ended job, a node that came back).
    wake: Notify,
    cluster_name: String,
    /// Heartbeat interval for agents (a third of SlurmdTimeout, between 1 and 30 s).
    heartbeat_ms: u64,
    /// Checks credentials; `None` under `AuthType=auth/none`.
    verifier: Option<Verifier>,
    /// Running tasks' latest usage, from heartbeats (`sstat`).
    live: Mutex<live_usage::LiveUsage>,
}

impl Shared {
    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn agents(&self) -> MutexGuard<'_, AgentRegistry> {
        self.agents.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self) -> MutexGuard<'_, live_usage::LiveUsage> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends commands to agents; a command for an agent that is gone is dropped (that node
    /// is handled when it re-registers or times out).
    fn dispatch(&self, dispatches: Vec<Dispatch>) {
        if dispatches.is_empty() {
            return;
        }
        let mut agents = self.agents();
        for d in dispatches {
            if agents.send(&d.node, d.command) == SendOutcome::NoAgent {
                tracing::warn!("no agent connected for node {}; command dropped", d.node);
            }
        }
    }
}

/// Address to listen on: the controller host's address when it is an IP, else all
/// interfaces, on SlurmctldPort.
pub fn listen_address(cluster: &ClusterConfig) -> SocketAddr {
    let ip = cluster
        .controller_hosts
        .first()
        .and_then(|h| h.addr.as_deref())
        .and_then(|a| a.parse().ok())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    SocketAddr::new(ip, cluster.controller_port)
}

/// Runs a controller until `shutdown` completes.
pub async fn run_controller(
    options: ControllerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ControllerError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ControllerError::Bind {
            addr: options.listen,
            source,
        })?;
    serve(options, listener, shutdown).await
}

/// Runs a controller on an already bound listener (tests bind port 0).
pub async fn serve(
    options: ControllerOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ControllerError> {
    let cluster_name = options.cluster.cluster_name.clone();
    let heartbeat_ms = (options.cluster.timers.slurmd_timeout * 1000 / 3).clamp(1000, 30_000);
    let slurmd_timeout = options.cluster.timers.slurmd_timeout;
    let scheduler = options.cluster.scheduler;
    // The same key verifies requests and signs the controller's own (to the dbd).
    let (verifier, credentials) = match AuthMode::from_config(&options.cluster)? {
        AuthMode::None => {
            tracing::warn!(
                "AuthType=auth/none: requests are NOT authenticated; any client may act as any user"
            );
            (None, CredentialSource::Unsigned)
        }
        AuthMode::Signed(settings) => {
            let key = Arc::new(ClusterKey::load(&settings.key)?);
            tracing::info!(
                "authentication: {}, cluster key {}",
                options.cluster.auth_type,
                settings.key.display()
            );
            let credentials = CredentialSource::Key {
                key: key.clone(),
                ttl_s: settings.ttl_s,
            };
            (Some(Verifier::new(key)), credentials)
        }
    };
    // TLS (TLSType): the controller's certificate and key, checked before anything starts.
    let tls_mode = crate::tls::TlsMode::from_config(&options.cluster)?;
    let tls = tls_mode.acceptor(crate::tls::Daemon::Slurmctld)?;
    if let Some(s) = tls_mode.settings() {
        tracing::info!("TLS: serving with {}", s.ctld_cert_file.display());
    }
    let follow = assoc_sync::Follow::of(&options.cluster);
    let assoc_source = follow.map(|f| (options.cluster.clone(), credentials.clone(), f));
    let accounting = crate::dbd::queue::AcctQueue::for_cluster(
        &options.cluster,
        &options.state_dir,
        credentials,
    )?;
    let mut core = Core::open(options.cluster, &options.state_dir)?;
    core.set_accounting(accounting.clone());
    let shared = Arc::new(Shared {
        core: Mutex::new(core),
        agents: Mutex::new(AgentRegistry::new()),
        wake: Notify::new(),
        cluster_name,
        heartbeat_ms,
        verifier,
        live: Mutex::new(live_usage::LiveUsage::default()),
    });
    let local = listener.local_addr().ok();
    tracing::info!(
        "slurmctld listening on {}",
        local.map_or_else(|| "?".into(), |a| a.to_string())
    );
    let mut background = tasks::spawn(shared.clone(), slurmd_timeout, &scheduler);
    background.extend(accounting.map(|queue| queue.spawn_delivery()));
    if let Some((cluster, credentials, follow)) = assoc_source {
        background.push(tokio::spawn(assoc_sync::run(
            shared.clone(),
            cluster,
            credentials,
            follow,
        )));
    }
    shared.wake.notify_one();
    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(
            SlurmctldServer::new(service::Commands(shared.clone()))
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(
            SlurmdGatewayServer::new(service::Gateway(shared.clone()))
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(
            crate::proto::slurm_steps::slurm_steps_server::SlurmStepsServer::new(service::Steps(
                shared.clone(),
            )),
        );
    let result =
        crate::proto::transport::serve_router(router, listener, tls, "slurmctld", shutdown).await;
    for task in background {
        task.abort();
    }
    result?;
    tracing::info!("slurmctld stopped");
    Ok(())
}
