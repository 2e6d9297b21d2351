//! Talking to the controller: a small current-thread runtime, the connection found through
//! `SLURM_CONF`, one method per request, and errors reduced to Slurm's wording.

use crate::auth::{AuthError, CredentialSource};
use crate::client::{self, ClientError};
use crate::config::ClusterConfig;
use crate::model::JobId;
use crate::proto::slurmctld::slurmctld_client::SlurmctldClient;
use crate::proto::{
    CancelRequest, ClusterInfo, ClusterQuery, ConfigQuery, ConfigReply, HoldRequest,
    JobControlRequest, JobList, JobQuery, NodeOutcomes, NodeUpdateRequest, SubmitReply,
    SubmitRequest, TargetOutcomes,
};
use std::future::Future;
use std::time::Duration;
use tonic::Code;
use tonic::transport::Channel;

/// Slurm's text for a lost or refused connection.
pub const UNREACHABLE: &str = "Unable to contact slurm controller (connect failure)";
/// Slurm's text for a request that got no answer in time.
pub const TIMED_OUT: &str = "Socket timed out on send/recv operation";

/// Why a request to the controller did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The configuration could not be read, or names no usable controller: the command
    /// prints `prog: error: MESSAGE`.
    #[error("{0}")]
    Setup(String),
    #[error("{UNREACHABLE}")]
    Unreachable,
    #[error("{TIMED_OUT}")]
    TimedOut,
    /// The controller refused the request; the message is Slurm's wording
    /// (`Invalid job id specified`).
    #[error("{0}")]
    Rejected(String),
}

impl RpcError {
    /// True for errors about this host's setup rather than the request.
    pub fn is_setup(&self) -> bool {
        matches!(self, Self::Setup(_))
    }

    /// The error line a command prints: `prog: error: MESSAGE` for setup errors, else
    /// `CONTEXT: MESSAGE` (Slurm's `slurm_perror(CONTEXT)`).
    pub fn line(&self, prog: &str, context: &str) -> String {
        if self.is_setup() {
            format!("{prog}: error: {self}")
        } else {
            format!("{context}: {self}")
        }
    }
}

impl From<ClientError> for RpcError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Unreachable(_) => Self::Unreachable,
            // Reached, but not trusted (or not TLS): this host's TLS setup, said in full.
            e @ ClientError::TlsHandshake { .. } => Self::Setup(format!("{UNREACHABLE}: {e}")),
            other => Self::Setup(other.to_string()),
        }
    }
}

impl From<AuthError> for RpcError {
    fn from(e: AuthError) -> Self {
        Self::Setup(e.to_string())
    }
}

impl From<tonic::Status> for RpcError {
    fn from(status: tonic::Status) -> Self {
        let message = status.message();
        match status.code() {
            Code::Unavailable if is_transport_failure(message) => Self::Unreachable,
            Code::Unknown if message.starts_with("Service was not ready") => Self::Unreachable,
            // The connection broke under the call (e.g. a plain client at a TLS server):
            // statuses made on this side from the transport's errors.
            Code::Unknown | Code::Internal | Code::Cancelled
                if !message.is_empty() && is_transport_failure(message) =>
            {
                Self::Unreachable
            }
            Code::DeadlineExceeded => Self::TimedOut,
            _ if message.is_empty() => Self::Rejected(format!("{:?}", status.code())),
            _ => Self::Rejected(message.to_owned()),
        }
    }
}

/// Whether an `Unavailable` status comes from the connection rather than from the
/// controller (which uses `Unavailable` with its own message, e.g. when it cannot save state).
fn is_transport_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.is_empty()
        || [
            "transport",
            "connect",
            "connection",
            "tcp",
            "broken pipe",
            "h2 protocol",
            "http2",
            "operation was canceled",
            "dns",
        ]
        .iter()
        .any(|w| m.contains(w))
}

/// Builds the small runtime a command runs its requests on and runs `f` to completion.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, RpcError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RpcError::Setup(format!("cannot start the I/O runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// A connection to the controller, with the configuration it was found through.
/// The task that holds an allocation (see [`Session::hold_allocation`]); dropping it lets
/// the allocation go.
#[derive(Debug)]
pub struct AllocationHolder(tokio::task::JoinHandle<()>);

impl Drop for AllocationHolder {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Session {
    pub cluster: ClusterConfig,
    client: SlurmctldClient<Channel>,
    timeout: Duration,
    /// Where each request's credential comes from (the signer's socket, unless auth/none).
    credentials: CredentialSource,
}

/// How long one request may take (Slurm's MessageTimeout, with room for large replies).
fn request_timeout(cluster: &ClusterConfig) -> Duration {
    Duration::from_secs(cluster.timers.message_timeout.max(1).saturating_mul(3))
}

/// Loads `SLURM_CONF` (without connecting).
pub fn load_config() -> Result<ClusterConfig, RpcError> {
    Ok(client::load_cluster_config()?)
}

impl Session {
    /// Loads `SLURM_CONF` and connects to its controller.
    pub async fn connect() -> Result<Self, RpcError> {
        let cluster = load_config()?;
        Self::connect_to(cluster).await
    }

    /// Connects to the controller of an already loaded configuration.
    pub async fn connect_to(cluster: ClusterConfig) -> Result<Self, RpcError> {
        let credentials = CredentialSource::for_commands(&cluster)?;
        let client = client::connect_commands(&cluster).await?;
        let timeout = request_timeout(&cluster);
        Ok(Self {
            cluster,
            client,
            timeout,
            credentials,
        })
    }

    /// A request body with a fresh credential (one per request: the controller accepts each
    /// credential once).
    pub async fn authed<T>(&self, body: T) -> Result<crate::proto::Authed<T>, RpcError> {
        Ok(self.credentials.authed(body).await?)
    }

    /// Holds the allocation `job_id` made by this command until the returned task is
    /// dropped: a `HoldAllocation` stream, reopened when the controller restarts, whose
    /// closing (at exit, or when the kernel closes the socket of a killed command) tells the
    /// controller to revoke the allocation.
    pub fn hold_allocation(&self, job_id: JobId) -> AllocationHolder {
        let cluster = self.cluster.clone();
        let credentials = self.credentials.clone();
        AllocationHolder(tokio::spawn(async move {
            let mut delay = Duration::from_millis(200);
            loop {
                if let Ok(mut client) = client::connect_steps(&cluster).await
                    && let Ok(request) = credentials.authed(HoldRequest { job_id }).await
                {
                    match client.hold_allocation(request).await {
                        Ok(reply) => {
                            delay = Duration::from_millis(200);
                            let mut stream = reply.into_inner();
                            while let Ok(Some(_)) = stream.message().await {}
                        }
                        // The allocation ended, or is not ours to hold: nothing to keep.
                        Err(status)
                            if matches!(
                                status.code(),
                                Code::NotFound
                                    | Code::FailedPrecondition
                                    | Code::PermissionDenied
                                    | Code::InvalidArgument
                            ) =>
                        {
                            return;
                        }
                        Err(_) => {}
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }))
    }

    async fn call<T, F>(&self, f: F) -> Result<T, RpcError>
    where
        F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(Ok(reply)) => Ok(reply.into_inner()),
            Ok(Err(status)) => Err(status.into()),
            Err(_) => Err(RpcError::TimedOut),
        }
    }

    pub async fn submit(&mut self, req: SubmitRequest) -> Result<SubmitReply, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(req).await?;
        self.call(c.submit(req)).await
    }

    pub async fn list_jobs(&mut self, query: JobQuery) -> Result<JobList, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(query).await?;
        self.call(c.list_jobs(req)).await
    }

    pub async fn cluster_info(&mut self) -> Result<ClusterInfo, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(ClusterQuery {}).await?;
        self.call(c.cluster_info(req)).await
    }

    pub async fn cancel(&mut self, req: CancelRequest) -> Result<TargetOutcomes, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(req).await?;
        self.call(c.cancel(req)).await
    }

    pub async fn control_jobs(
        &mut self,
        req: JobControlRequest,
    ) -> Result<TargetOutcomes, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(req).await?;
        self.call(c.control_jobs(req)).await
    }

    pub async fn update_nodes(&mut self, req: NodeUpdateRequest) -> Result<NodeOutcomes, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(req).await?;
        self.call(c.update_nodes(req)).await
    }

    pub async fn show_config(&mut self) -> Result<ConfigReply, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(ConfigQuery {}).await?;
        self.call(c.show_config(req)).await
    }

    /// `sstat`: the jobs' running steps and their live usage.
    pub async fn stat_steps(
        &mut self,
        query: crate::proto::StatQuery,
    ) -> Result<crate::proto::StatReply, RpcError> {
        let mut c = self.client.clone();
        let req = self.authed(query).await?;
        self.call(c.stat_steps(req)).await
    }
}

/// Connects and runs one request on a fresh runtime.
pub fn with_session<T, F, Fut>(f: F) -> Result<T, RpcError>
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = Result<T, RpcError>>,
{
    block_on(async move {
        let session = Session::connect().await?;
        f(session).await
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_slurm_wording() {
        let e = RpcError::from(tonic::Status::unavailable("tcp connect error"));
        assert_eq!(e.to_string(), UNREACHABLE);
        let e = RpcError::from(tonic::Status::unavailable(""));
        assert_eq!(e, RpcError::Unreachable);
        let e = RpcError::from(tonic::Status::unavailable(
            "Unable to save controller state: x",
        ));
        assert_eq!(e.to_string(), "Unable to save controller state: x");
        let e = RpcError::from(tonic::Status::unknown("Service was not ready: x"));
        assert_eq!(e, RpcError::Unreachable);
        let e = RpcError::from(tonic::Status::internal("h2 protocol error: http2 error"));
        assert_eq!(e, RpcError::Unreachable);
        let e = RpcError::from(tonic::Status::unknown("transport error"));
        assert_eq!(e, RpcError::Unreachable);
        let e = RpcError::from(tonic::Status::cancelled("operation was canceled"));
        assert_eq!(e, RpcError::Unreachable);
        let e = RpcError::from(tonic::Status::internal("encoding a message: x"));
        assert_eq!(e.to_string(), "encoding a message: x");
        let e = RpcError::from(tonic::Status::deadline_exceeded(""));
        assert_eq!(e.to_string(), TIMED_OUT);
        let e = RpcError::from(tonic::Status::invalid_argument("Invalid job id specified"));
        assert_eq!(e.to_string(), "Invalid job id specified");
        let e = RpcError::from(tonic::Status::permission_denied(""));
        assert_eq!(e.to_string(), "PermissionDenied");
    }

    #[test]
    fn error_lines() {
        assert_eq!(
            RpcError::Unreachable.line("squeue", "slurm_load_jobs error"),
            "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"
        );
        assert_eq!(
            RpcError::Setup("/etc/slurm/slurm.conf: not found".into())
                .line("squeue", "slurm_load_jobs error"),
            "squeue: error: /etc/slurm/slurm.conf: not found"
        );
    }
}
