//! The Kubernetes operator (SlurmCluster and Partition CRDs).
//!
//! Not implemented yet: the operator issue builds the CRDs and reconcilers here. The crate
//! exists so the workspace has the client's layout.

pub mod provision;
