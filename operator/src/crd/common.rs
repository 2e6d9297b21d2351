//! Types shared by both custom resources: volumes, Secret references, node counts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The default size of a volume the operator claims (`10Gi`).
pub const DEFAULT_VOLUME_SIZE: &str = "10Gi";

/// [`DEFAULT_VOLUME_SIZE`] as a serde default.
pub(crate) fn default_size() -> String {
    DEFAULT_VOLUME_SIZE.to_owned()
}

/// A persistent volume the operator claims.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSpec {
    /// Requested size as a Kubernetes quantity (default `10Gi`).
    #[serde(default = "default_size")]
    pub size: String,
    /// StorageClass to claim from (default: the cluster's default class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

impl Default for VolumeSpec {
    fn default() -> Self {
        Self {
            size: default_size(),
            storage_class_name: None,
        }
    }
}

/// A key of a Secret in the resource's namespace.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: String,
    /// The key inside the Secret.
    pub key: String,
}

/// Slurm nodes by state, as the controller reports them (a node may count in `drain` and in
/// its base state).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeCounts {
    /// Every node the partition (or cluster) defines.
    #[serde(default)]
    pub total: u32,
    /// Powered up, no jobs.
    #[serde(default)]
    pub idle: u32,
    /// Every CPU allocated.
    #[serde(default)]
    pub allocated: u32,
    /// Some CPUs allocated.
    #[serde(default)]
    pub mixed: u32,
    /// Draining or drained (`scontrol update state=drain`, or being deleted).
    #[serde(default)]
    pub drain: u32,
    /// Down or not responding.
    #[serde(default)]
    pub down: u32,
    /// Cloud nodes that are powered down (`idle~`).
    #[serde(default)]
    pub powered_down: u32,
}
