//! How commands and agents find and reach the controller, the way Slurm's do: `SLURM_CONF`
//! (else `/etc/slurm/slurm.conf`) names the config, whose `SlurmctldHost` and `SlurmctldPort`
//! give the address. The credential every request carries comes from
//! [`crate::auth::CredentialSource`] (`AuthType`/`AuthInfo` say which).

use crate::config::{self, ClusterConfig, ConfigError};
use crate::proto::slurmctld::slurmctld_client::SlurmctldClient;
use crate::proto::slurmd_gateway::slurmd_gateway_client::SlurmdGatewayClient;
use crate::proto::{Authed, Credential};
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

/// `http://ADDR:PORT` of the primary controller.
pub fn controller_uri(cluster: &ClusterConfig) -> Result<String, ClientError> {
    let host = cluster
        .controller_hosts
        .first()
        .ok_or_else(|| ClientError::NoController {
            path: slurm_conf_path().display().to_string(),
        })?;
    let addr = host.addr.as_deref().unwrap_or(&host.name);
    let addr = if addr.contains(':') && !addr.starts_with('[') {
        format!("[{addr}]")
    } else {
        addr.to_owned()
    };
    Ok(format!("http://{addr}:{}", cluster.controller_port))
}

async fn channel(cluster: &ClusterConfig) -> Result<Channel, ClientError> {
    let uri = controller_uri(cluster)?;
    let timeout = Duration::from_secs(cluster.timers.message_timeout.max(1));
    Endpoint::from_shared(uri.clone())
        .map_err(|_| ClientError::BadAddress(uri))?
        .connect_timeout(timeout)
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(ClientError::Unreachable)
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
