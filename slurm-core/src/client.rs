//! How commands and agents find and reach the controller, the way Slurm's do: `SLURM_CONF`
//! (else `/etc/slurm/slurm.conf`) names the config, whose `SlurmctldHost` and `SlurmctldPort`
//! give the address. The credential every request carries comes from
//! [`crate::auth::CredentialSource`] (`AuthType`/`AuthInfo` say which). Connections are
//! plain, or TLS trusting the cluster's CA when `TLSType` says so (see [`crate::tls`]); the
//! accounting daemon is reached the same way (`AccountingStorageHost`/`Port`).

use crate::config::{self, ClusterConfig, ConfigError};
use crate::proto::slurmctld::slurmctld_client::SlurmctldClient;
use crate::proto::slurmd_gateway::slurmd_gateway_client::SlurmdGatewayClient;
use crate::proto::{Authed, Credential};
use crate::tls::TlsMode;
use std::path::PathBuf;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// Where the config lives when `SLURM_CONF` is unset.
pub const DEFAULT_SLURM_CONF: &str = "/etc/slurm/slurm.conf";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{path}: no SlurmctldHost is configured")]
    NoController { path: String },
    #[error("invalid controller address {0}")]
    BadAddress(String),
    /// Slurm's wording, which scripts grep for.
    #[error("Unable to contact slurm controller (connect failure)")]
    Unreachable(#[source] tonic::transport::Error),
    /// The TLS settings cannot be used (an unknown TLSType, an unreadable CA file).
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The server was reached but the TLS handshake failed (it is not trusted, not TLS, or
    /// does not name the host dialed).
    #[error("TLS handshake with {addr} failed: {reason}")]
    TlsHandshake { addr: String, reason: String },
    /// A daemon other than the controller could not be reached.
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
}

/// The path of the slurm.conf that commands read.
pub fn slurm_conf_path() -> PathBuf {
    std::env::var_os("SLURM_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SLURM_CONF))
}

/// Loads the slurm.conf that commands read (warnings are the daemons' business, not the
/// commands').
pub fn load_cluster_config() -> Result<ClusterConfig, ClientError> {
    let path = slurm_conf_path();
    Ok(config::load_slurm_conf(&path)?.cluster)
}

/// The primary controller's host (its address when `SlurmctldHost=name(addr)` gives one)
/// and port.
pub fn controller_address(cluster: &ClusterConfig) -> Result<(String, u16), ClientError> {
    let host = cluster
        .controller_hosts
        .first()
        .ok_or_else(|| ClientError::NoController {
            path: slurm_conf_path().display().to_string(),
        })?;
    let addr = host.addr.as_deref().unwrap_or(&host.name);
    Ok((addr.to_owned(), cluster.controller_port))
}

/// `http://ADDR:PORT` (`https://` under TLS) of the primary controller.
pub fn controller_uri(cluster: &ClusterConfig) -> Result<String, ClientError> {
    let (host, port) = controller_address(cluster)?;
    let mode = TlsMode::from_config(cluster).unwrap_or_default();
    Ok(crate::tls::uri(&mode, &host, port))
}

/// The dbd's host and port: `AccountingStorageHost` (default `localhost`) and
/// `AccountingStoragePort` (default 6819).
pub fn dbd_address(cluster: &ClusterConfig) -> (String, u16) {
    let host = cluster.accounting.host.as_deref().unwrap_or("localhost");
    let port = cluster
        .accounting
        .port
        .unwrap_or(crate::proto::DEFAULT_SLURMDBD_PORT);
    (host.to_owned(), port)
}

/// An endpoint for `host:port`: plain, or TLS trusting the CA of the cluster's
/// `TLSParameters` and expecting a certificate that names `host`.
pub fn endpoint(
    cluster: &ClusterConfig,
    host: &str,
    port: u16,
    connect_timeout: Duration,
) -> Result<Endpoint, ClientError> {
    let mode = TlsMode::from_config(cluster)?;
    let uri = crate::tls::uri(&mode, host, port);
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .map_err(|_| ClientError::BadAddress(uri))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true);
    if let Some(settings) = mode.settings() {
        endpoint = endpoint
            .tls_config(settings.client(host)?)
            .map_err(|e| crate::tls::TlsError::Config(e.to_string()))?;
    }
    Ok(endpoint)
}

/// The dbd's endpoint (see [`endpoint`]).
pub fn dbd_endpoint(
    cluster: &ClusterConfig,
    connect_timeout: Duration,
) -> Result<Endpoint, ClientError> {
    let (host, port) = dbd_address(cluster);
    endpoint(cluster, &host, port, connect_timeout)
}

/// Connects to a daemon other than the controller (the dbd): a failed TLS handshake says
/// why ([`ClientError::TlsHandshake`]); anything else is [`ClientError::Connect`].
pub async fn connect_daemon(endpoint: &Endpoint) -> Result<Channel, ClientError> {
    endpoint.connect().await.map_err(|e| {
        tls_failure(endpoint, &e).unwrap_or_else(|| ClientError::Connect {
            addr: endpoint_addr(endpoint),
            reason: error_chain(&e),
        })
    })
}

/// An error and its sources, `: `-separated (tonic's own text is only "transport error").
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

fn endpoint_addr(endpoint: &Endpoint) -> String {
    let uri = endpoint.uri();
    match (uri.host(), uri.port_u16()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        _ => uri.to_string(),
    }
}

/// What a failed connection to `endpoint` was: a TLS handshake that failed (with why), or
/// none (the server is down or unreachable).
pub fn tls_failure(endpoint: &Endpoint, error: &tonic::transport::Error) -> Option<ClientError> {
    let reason = crate::tls::handshake_failure(error)?;
    Some(ClientError::TlsHandshake {
        addr: endpoint_addr(endpoint),
        reason,
    })
}

async fn channel(cluster: &ClusterConfig) -> Result<Channel, ClientError> {
    let (host, port) = controller_address(cluster)?;
    let timeout = Duration::from_secs(cluster.timers.message_timeout.max(1));
    let endpoint = endpoint(cluster, &host, port, timeout)?;
    endpoint
        .connect()
        .await
        .map_err(|e| tls_failure(&endpoint, &e).unwrap_or(ClientError::Unreachable(e)))
}

/// A connected client for the commands' service.
pub async fn connect_commands(
    cluster: &ClusterConfig,
) -> Result<SlurmctldClient<Channel>, ClientError> {
    Ok(SlurmctldClient::new(channel(cluster).await?)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX))
}

/// A connected client for the agents' service.
pub async fn connect_agent(
    cluster: &ClusterConfig,
) -> Result<SlurmdGatewayClient<Channel>, ClientError> {
    Ok(SlurmdGatewayClient::new(channel(cluster).await?)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX))
}

/// A connected client for the job steps' service (srun, salloc, agents' step reports).
pub async fn connect_steps(
    cluster: &ClusterConfig,
) -> Result<crate::proto::slurm_steps::slurm_steps_client::SlurmStepsClient<Channel>, ClientError> {
    Ok(
        crate::proto::slurm_steps::slurm_steps_client::SlurmStepsClient::new(
            channel(cluster).await?,
        )
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX),
    )
}

/// The calling process's identity (real uid/gid and user name).
pub fn current_credential() -> Credential {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| uid.to_string());
    Credential {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        user,
        token: None,
    }
}

/// Wraps a request body with the caller's *unsigned* credential: accepted only by a
/// controller running `AuthType=auth/none`. Commands and agents use
/// [`crate::auth::CredentialSource`], which signs.
pub fn authed<T>(body: T) -> Authed<T> {
    Authed::new(current_credential(), body)
}
