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
//! * `service`: the gRPC service.

pub mod conf;
pub mod migrate;
pub mod queue;
pub mod record;
mod service;
pub mod store;
#[cfg(test)]
mod tests;

use crate::proto::slurm_dbd::slurm_dbd_server::SlurmDbdServer;
use std::future::Future;
use std::net::SocketAddr;
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
}

/// Opens the database at `storage_url` and serves on `listen` until `shutdown` completes.
pub async fn run_dbd(
    storage_url: &str,
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DbdError> {
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
    serve(store, listener, shutdown).await
}

/// Serves an open store on an already bound listener (tests bind port 0).
pub async fn serve(
    store: Store,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DbdError> {
    let local = listener.local_addr().ok();
    tracing::info!(
        "slurmdbd listening on {}",
        local.map_or_else(|| "?".into(), |a| a.to_string())
    );
    tracing::warn!(
        "slurmdbd does not verify credentials yet: anyone who can reach it may record or read jobs"
    );
    let incoming = crate::proto::transport::incoming_nodelay(listener);
    let result = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(
            SlurmDbdServer::new(service::Dbd::new(store.clone()))
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    store.close().await;
    result?;
    tracing::info!("slurmdbd stopped");
    Ok(())
}
