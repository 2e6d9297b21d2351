//! A client of the dbd for the reports and the controller: `QueryUsage` (sreport's cluster
//! and user reports), `QueryJobSizes`, `QueryShares` (sshare; the controller's fairshare can
//! be fed from it) and `RecordCapacity` (the controller's TRES totals).
//!
//! ```no_run
//! # async fn f(cluster: &slurm_core::config::ClusterConfig,
//! #            creds: slurm_core::auth::CredentialSource) -> Result<(), Box<dyn std::error::Error>> {
//! use slurm_core::dbd::client::DbdClient;
//! let mut dbd = DbdClient::connect(cluster, creds).await?;
//! let shares = dbd.decayed_usage(&cluster.cluster_name, 7 * 86_400).await?;
//! for a in &shares.assocs {
//!     println!("{}/{}: {}", a.account, a.user, a.usage);
//! }
//! # Ok(()) }
//! ```

use crate::auth::CredentialSource;
use crate::client::ClientError;
use crate::config::ClusterConfig;
use crate::model::Timestamp;
use crate::proto::slurm_dbd::slurm_dbd_client::SlurmDbdClient;
use crate::proto::{
    CapacityRecord, EventList, EventQuery, JobSizes, JobSizesQuery, MgrList, MgrQuery, SharesQuery,
    SharesReply, UsageQuery, UsageReport,
};
use std::time::Duration;
use tonic::transport::Channel;

/// Why a call to the dbd failed.
#[derive(Debug, thiserror::Error)]
pub enum DbdCallError {
    /// The request could not be prepared (configuration, credential).
    #[error("{0}")]
    Setup(String),
    /// The dbd could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The dbd answered with an error.
    #[error("{0}")]
    Refused(String),
    #[error("Socket timed out on send/recv operation")]
    TimedOut,
}

/// A connection to the dbd that signs every request.
pub struct DbdClient {
    inner: SlurmDbdClient<Channel>,
    credentials: CredentialSource,
    timeout: Duration,
}

impl DbdClient {
    /// Connects to the dbd of `cluster` (AccountingStorageHost/Port, TLS as configured).
    pub async fn connect(
        cluster: &ClusterConfig,
        credentials: CredentialSource,
    ) -> Result<Self, DbdCallError> {
        let message_timeout = Duration::from_secs(cluster.timers.message_timeout.max(1));
        let endpoint = crate::client::dbd_endpoint(cluster, message_timeout)
            .map_err(|e| DbdCallError::Setup(e.to_string()))?;
        let channel = crate::client::connect_daemon(&endpoint)
            .await
            .map_err(|e| match e {
                ClientError::Connect { .. } => {
                    DbdCallError::Unreachable("Connection refused".to_owned())
                }
                other => DbdCallError::Unreachable(other.to_string()),
            })?;
        Ok(Self {
            inner: SlurmDbdClient::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
            credentials,
            timeout: message_timeout.saturating_mul(6),
        })
    }

    async fn authed<T>(&self, body: T) -> Result<crate::proto::Authed<T>, DbdCallError> {
        self.credentials
            .authed(body)
            .await
            .map_err(|e| DbdCallError::Setup(e.to_string()))
    }

    /// TRES-seconds per association in a window (`sreport cluster ...`, `user TopUsage`).
    pub async fn usage(&mut self, q: UsageQuery) -> Result<UsageReport, DbdCallError> {
        let req = self.authed(q).await?;
        let call = self.inner.query_usage(req);
        finish_with(self.timeout, call).await
    }

    /// `sacctmgr show event`: node events.
    pub async fn events(&mut self, q: EventQuery) -> Result<EventList, DbdCallError> {
        let req = self.authed(q).await?;
        let call = self.inner.query_events(req);
        finish_with(self.timeout, call).await
    }

    /// `sreport job SizesByAccount`.
    pub async fn job_sizes(&mut self, q: JobSizesQuery) -> Result<JobSizes, DbdCallError> {
        let req = self.authed(q).await?;
        let call = self.inner.query_job_sizes(req);
        finish_with(self.timeout, call).await
    }

    /// Each association's shares and usage decayed with `half_life_s` (PriorityDecayHalfLife)
    /// up to the dbd's clock: what sshare prints, and what the controller's fairshare needs.
    pub async fn decayed_usage(
        &mut self,
        cluster: &str,
        half_life_s: u64,
    ) -> Result<SharesReply, DbdCallError> {
        let req = self
            .authed(SharesQuery {
                cluster: cluster.to_owned(),
                half_life_s,
            })
            .await?;
        let call = self.inner.query_shares(req);
        finish_with(self.timeout, call).await
    }

    /// `sacctmgr show ...`: one of accounting's tables (associations, users, QOS, ...).
    pub async fn show(&mut self, q: MgrQuery) -> Result<MgrList, DbdCallError> {
        let req = self.authed(q).await?;
        let call = self.inner.show_accounting(req);
        finish_with(self.timeout, call).await
    }

    /// Records the cluster's TRES totals (`cpu=64,mem=256000M,node=4,gres/gpu=8`) from
    /// `since` on; needs an operator's credential (the controller's).
    pub async fn record_capacity(
        &mut self,
        cluster: &str,
        since: Timestamp,
        tres: &str,
    ) -> Result<(), DbdCallError> {
        let req = self
            .authed(CapacityRecord {
                cluster: cluster.to_owned(),
                since,
                tres: tres.to_owned(),
            })
            .await?;
        let call = self.inner.record_capacity(req);
        finish_with(self.timeout, call).await.map(|_| ())
    }
}

async fn finish_with<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, DbdCallError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(reply)) => Ok(reply.into_inner()),
        Ok(Err(status)) => Err(DbdCallError::Refused(
            crate::commands::rpc::RpcError::from(status).to_string(),
        )),
        Err(_) => Err(DbdCallError::TimedOut),
    }
}
