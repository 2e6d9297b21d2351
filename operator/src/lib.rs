//! The Kubernetes operator of slinky: the `SlurmCluster` and `Partition` custom resources,
//! and the reconciler that turns them into a running Slurm cluster.
//!
//! | module | job |
//! |---|---|
//! | [`crd`] | the resources' Rust types, their CRDs (`slinky crds`) |
//! | [`instance_types`] | EC2 instance sizes: an offline table, a lookup seam |
//! | [`shape`] | a partition's Slurm node size and GRES |
//! | [`validate`] | checks with messages that name the field |
//! | [`render`] | pure functions: resources in, Kubernetes objects and slurm.conf out |
//! | [`reconcile`] | the controllers (kube-rs runtime): apply, status, finalizers, events |
//! | [`provision`] | node providers: resume/suspend named Slurm nodes on the controller's power events |
//! | `aws` (feature `aws`) | EC2 DescribeInstanceTypes and RDS DescribeDBInstances |

#[cfg(feature = "aws")]
pub mod aws;
pub mod crd;
mod error;
pub mod instance_types;
pub mod provision;
pub mod reconcile;
pub mod render;
pub mod shape;
pub mod validate;
pub mod yaml;

pub use error::{Error, Result};
