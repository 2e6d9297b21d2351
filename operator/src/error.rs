//! The operator's errors.

/// Everything that can go wrong in rendering and reconciling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Serializing YAML failed.
    #[error("writing YAML: {0}")]
    Yaml(String),
    /// The OS random number generator failed.
    #[error("generating the cluster key: {0}")]
    Random(String),
    /// The resource is invalid; the message names the fields.
    #[error("{0}")]
    Invalid(#[from] crate::validate::Invalid),
    /// A Secret the spec names is missing, or lacks the key.
    #[error("Secret {name} has no key {key:?} (named by {field})")]
    MissingSecret {
        name: String,
        key: String,
        field: &'static str,
    },
    /// A database endpoint could not be resolved (RDS).
    #[error("{0}")]
    Database(String),
    /// A finalizer step failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// Deletion waits for something (nodes still running jobs); not a failure.
    #[error("waiting: {0}")]
    Waiting(String),
    /// The Slurm controller refused or could not be reached.
    #[error("Slurm controller: {0}")]
    Slurm(String),
}

/// The operator's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
