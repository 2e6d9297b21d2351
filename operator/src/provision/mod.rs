//! Provisioning of cloud nodes (`State=CLOUD` in slurm.conf): the controller decides which
//! nodes must exist (a pending job was allocated to powered-down nodes: resume them; a node
//! idle past SuspendTime: suspend it) and streams those decisions (`WatchPower`); a
//! [`NodeProvider`] makes them real. In Kubernetes the provider creates and deletes worker
//! pods ([`KubePodProvider`]; Karpenter turns them into GPU nodes); `slinky up` uses
//! [`LocalProcessProvider`],
//! which starts and stops `slinky slurmd` processes. Both are driven by the same code:
//! [`follow_controller`] and [`apply`].

mod local;
mod pods;
mod watch;

pub use local::{LocalAgents, LocalProcessProvider};
pub use pods::{KubePodProvider, PodTemplates, Provisioners};
pub use watch::{apply, follow_controller};

use std::future::Future;

/// Why a provider could not start or stop a node.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("starting node {node}: {reason}")]
    Start { node: String, reason: String },
    #[error("stopping node {node}: {reason}")]
    Stop { node: String, reason: String },
    #[error("listing nodes: {0}")]
    List(String),
}

/// Makes cloud nodes exist or go away. Every method is idempotent: resuming a running node
/// or suspending a stopped one does nothing.
pub trait NodeProvider: Send + Sync {
    /// Starts these nodes' agents (worker pods, local processes).
    fn resume(&self, nodes: &[String]) -> impl Future<Output = Result<(), ProviderError>> + Send;
    /// Stops these nodes' agents.
    fn suspend(&self, nodes: &[String]) -> impl Future<Output = Result<(), ProviderError>> + Send;
    /// The cloud nodes this provider runs now.
    fn running(&self) -> impl Future<Output = Result<Vec<String>, ProviderError>> + Send;
}
