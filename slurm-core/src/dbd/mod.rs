//! Accounting: the dbd daemon (the slurmdbd role), its database, and the controller's
//! durable queue of job records to it.
//!
//! ```text
//! controller: Core::save ──▶ AcctQueue (spool.jsonl, fsynced) ──RecordJobs──▶ dbd ──▶ SQLite
//!                                  ▲ trimmed on acknowledgement                   or MariaDB
//! sacct ───────────────────────────────────────────────────QueryJobs──▶ dbd
//! ```
//!
//! * [`store`]: the database through sqlx (one `AnyPool`, the same queries on SQLite and
//!   MySQL/MariaDB), idempotent batch ingestion, job queries;
//! * [`migrate`]: the schema's versioned migrations, one set per backend;
//! * [`record`]: a controller job flattened into an accounting record;
//! * [`queue`]: the controller's spool and the task that delivers it, in order, with retries;
//! * [`conf`]: the `slurmdbd.conf` file;
//! * [`events`]: node events (DOWN/DRAIN with reason and times), sreport's Down time;
//! * `service`: the gRPC service; every request's credential is verified with the cluster
//!   key ([`DbdSettings`]), `RecordJobs` needs root or SlurmUser.

pub mod assoc;
pub mod client;
pub mod conf;
pub mod events;
pub mod migrate;
pub mod node_feed;
pub mod qos;
pub mod queue;
pub mod record;
mod service;
pub mod store;
#[cfg(test)]
mod tests;
pub mod usage;

use crate::auth::{AuthError, AuthMode, ClusterKey, Verifier};
use crate::config::ClusterConfig;
use crate::proto::slurm_dbd::slurm_dbd_server::SlurmDbdServer;
use crate::tls::{Daemon, TlsAcceptor, TlsError, TlsMode};
use conf::DbdConf;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
pub use store::{Backend, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DbdError {
    #[error(transparent)]
    Store(#[from] StoreError),
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
    Tls(#[from] TlsError),
}

/// Who may reach the dbd and what each caller may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbdSettings {
    /// `AuthType`/`AuthInfo`: how credentials are checked (the key is loaded at start).
    pub auth: AuthMode,
    /// `SlurmUser`: with root and the dbd's own uid, who may record jobs.
    pub slurm_user: String,
    /// `PrivateData=jobs`: users see only their own jobs.
    pub private_jobs: bool,
    /// `PrivateData=usage`: users see only their own usage (sreport, sshare).
    pub private_usage: bool,
    /// `TLSType`/`TLSParameters`: the dbd serves TLS with `dbd_cert_file`.
    pub tls: TlsMode,
}

/// Why the dbd's settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("authentication (AuthType/AuthInfo): {0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Tls(#[from] TlsError),
}

impl DbdSettings {
    /// The settings of a dbd: slurmdbd.conf's `AuthType`, `AuthInfo`, `SlurmUser`, `TLSType`
    /// and `TLSParameters`, each falling back to the cluster's slurm.conf (when one was
    /// read), then to Slurm's defaults (auth/munge, i.e. the cluster key at its default
    /// path; root; tls/none).
    pub fn resolve(conf: &DbdConf, cluster: Option<&ClusterConfig>) -> Result<Self, SettingsError> {
        let auth_type = conf
            .auth_type
            .clone()
            .or_else(|| cluster.map(|c| c.auth_type.clone()))
            .unwrap_or_else(|| crate::auth::AUTH_MUNGE.to_owned());
        let auth_info = conf
            .auth_info
            .clone()
            .or_else(|| cluster.and_then(|c| c.auth_info.clone()));
        let slurm_user = conf
            .slurm_user
            .clone()
            .or_else(|| cluster.map(|c| c.slurm_user.clone()))
            .unwrap_or_else(|| "root".to_owned());
        let tls_type = conf
            .tls_type
            .clone()
            .or_else(|| cluster.map(|c| c.tls_type.clone()))
            .unwrap_or_else(|| crate::tls::TLS_NONE.to_owned());
        let tls_parameters = conf
            .tls_parameters
            .clone()
            .or_else(|| cluster.and_then(|c| c.tls_parameters.clone()));
        Ok(Self {
            auth: AuthMode::parse(&auth_type, auth_info.as_deref())?,
            slurm_user,
            private_jobs: conf.private_data.iter().any(|p| p == "jobs"),
            private_usage: conf.private_data.iter().any(|p| p == "usage"),
            tls: TlsMode::parse(&tls_type, tls_parameters.as_deref())?,
        })
    }

    /// The settings of the dbd a cluster's own processes run (`slinky up`): its slurm.conf's.
    pub fn for_cluster(cluster: &ClusterConfig) -> Result<Self, SettingsError> {
        Ok(Self {
            auth: AuthMode::from_config(cluster)?,
            slurm_user: cluster.slurm_user.clone(),
            private_jobs: false,
            private_usage: false,
            tls: TlsMode::from_config(cluster)?,
        })
    }

    /// Loads the key and builds the service's access rules.
    fn access(&self) -> Result<service::Access, AuthError> {
        // (The TLS identity is loaded by `tls_acceptor`.)
        let verifier = match &self.auth {
            AuthMode::None => {
                tracing::warn!(
                    "AuthType=auth/none: slurmdbd does NOT authenticate requests; anyone who can reach it may record or read jobs"
                );
                None
            }
            AuthMode::Signed(settings) => {
                let key = ClusterKey::load(&settings.key)?;
                tracing::info!("authentication: cluster key {}", settings.key.display());
                Some(Verifier::new(Arc::new(key)))
            }
        };
        Ok(service::Access {
            verifier,
            operators: crate::auth::server::operator_uids(&self.slurm_user),
            private_jobs: self.private_jobs,
            private_usage: self.private_usage,
        })
    }

    /// Loads the dbd's certificate and key, when TLS is on.
    fn tls_acceptor(&self) -> Result<Option<TlsAcceptor>, TlsError> {
        let acceptor = self.tls.acceptor(Daemon::Slurmdbd)?;
        if let Some(s) = self.tls.settings() {
            tracing::info!("TLS: serving with {}", s.dbd_cert_file.display());
        }
        Ok(acceptor)
    }
}

/// Opens the database at `storage_url` and serves on `listen` until `shutdown` completes.
pub async fn run_dbd(
    storage_url: &str,
    listen: SocketAddr,
    settings: DbdSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DbdError> {
    // A missing or exposed key, or an unusable certificate, stops the daemon before it
    // touches the database.
    let access = settings.access()?;
    let tls = settings.tls_acceptor()?;
    let store = Store::open(storage_url).await?;
    tracing::info!(
        "accounting database {} (schema version {})",
        store::redact(storage_url),
        store.schema_version().await?
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DbdError::Bind {
            addr: listen,
            source,
        })?;
    serve_with(store, listener, access, tls, shutdown).await
}

/// Serves an open store on an already bound listener (tests bind port 0).
pub async fn serve(
    store: Store,
    listener: tokio::net::TcpListener,
    settings: &DbdSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DbdError> {
    let ready = settings
        .access()
        .map_err(DbdError::from)
        .and_then(|a| Ok((a, settings.tls_acceptor()?)));
    let (access, tls) = match ready {
        Ok(r) => r,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    serve_with(store, listener, access, tls, shutdown).await
}

async fn serve_with(
    store: Store,
    listener: tokio::net::TcpListener,
    access: service::Access,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DbdError> {
    let local = listener.local_addr().ok();
    tracing::info!(
        "slurmdbd listening on {}",
        local.map_or_else(|| "?".into(), |a| a.to_string())
    );
    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(
            SlurmDbdServer::new(service::Dbd::new(store.clone(), access))
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        );
    let result =
        crate::proto::transport::serve_router(router, listener, tls, "slurmdbd", shutdown).await;
    store.close().await;
    result?;
    tracing::info!("slurmdbd stopped");
    Ok(())
}
