//! `Partition`: one Slurm partition of a `SlurmCluster` in the same namespace, and the
//! worker pods (Slurm nodes) behind it.

use super::common::NodeCounts;
use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The default `idleScaleDownSeconds` (ten minutes).
pub const DEFAULT_IDLE_SCALE_DOWN_SECONDS: u64 = 600;

fn default_idle_scale_down() -> u64 {
    DEFAULT_IDLE_SCALE_DOWN_SECONDS
}

/// The desired state of a Slurm partition.
// kube's printcolumn(...) repeats `type_ = ...` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Debug, Clone, PartialEq, KubeSchema)]
#[kube(
    group = "slinky.io",
    version = "v1alpha1",
    kind = "Partition",
    namespaced,
    status = "PartitionStatus",
    shortname = "slurmpartition",
    shortname = "spart",
    doc = "A Slurm partition of a SlurmCluster: its nodes (worker pods), their size and placement, and Slurm's partition limits.",
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.clusterRef"),
    printcolumn(
        name = "Provisioning",
        type_ = "string",
        json_path = ".spec.provisioning"
    ),
    printcolumn(name = "Nodes", type_ = "integer", json_path = ".spec.nodes"),
    printcolumn(name = "Idle", type_ = "integer", json_path = ".status.nodes.idle"),
    printcolumn(
        name = "Alloc",
        type_ = "integer",
        json_path = ".status.nodes.allocated"
    ),
    printcolumn(name = "Pending", type_ = "integer", json_path = ".status.pendingJobs"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.provisioning) || self.provisioning != 'dynamic' || (has(self.instanceTypes) && size(self.instanceTypes) > 0) || has(self.nodeSize)"
).message("a dynamic partition needs instanceTypes or nodeSize: slinky writes each node's CPUs, memory and GPUs into slurm.conf before the node exists"))]
pub struct PartitionSpec {
    /// The `SlurmCluster` (same namespace) this partition belongs to.
    pub cluster_ref: String,
    /// Slurm's `PartitionName` (default: the resource's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_name: Option<String>,
    /// `static`: one worker pod per node, always running. `dynamic`: nodes are `State=CLOUD`
    /// and get a pod only while Slurm needs them.
    #[serde(default)]
    pub provisioning: Provisioning,
    /// How many nodes (static), or at most how many (dynamic).
    #[schemars(range(min = 0, max = 10000))]
    pub nodes: u32,
    /// EC2 instance types the nodes run on; the smallest one sizes the Slurm node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_types: Vec<String>,
    /// An explicit node size; wins over instanceTypes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_size: Option<NodeSize>,
    /// The node's GRES in Slurm's syntax (`gpu:8`, `gpu:a100:8`); default: the instance
    /// type's GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// Request the EFA devices of the instance type (`vpc.amazonaws.com/efa`).
    #[serde(default)]
    pub efa_enabled: bool,
    /// Node labels the worker pods must run on (e.g. a Karpenter NodePool).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of the worker pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Labels added to the worker pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Resources of the worker pods (default: the node's size less a reserve for the
    /// kubelet and system daemons, GPUs and EFA devices as limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_resources: Option<ResourceRequirements>,
    /// `MaxTime`, a Slurm duration (`1-00:00:00`, `UNLIMITED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time: Option<String>,
    /// `DefaultTime`, a Slurm duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_time: Option<String>,
    /// `PriorityTier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_tier: Option<u16>,
    /// `AllowAccounts` (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_accounts: Option<Vec<String>>,
    /// `AllowGroups` (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_groups: Option<Vec<String>>,
    /// `Default=YES`: jobs that name no partition go here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// `State` (default `UP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PartitionStateSpec>,
    /// Seconds a dynamic node stays idle before its pod is removed (default 600).
    #[serde(default = "default_idle_scale_down")]
    pub idle_scale_down_seconds: u64,
}

/// How a partition's nodes come to exist.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provisioning {
    /// Always running: one worker pod per node.
    #[default]
    Static,
    /// `State=CLOUD` nodes: a pod is created when Slurm resumes the node and removed when it
    /// suspends it.
    Dynamic,
}

impl Provisioning {
    /// The name as written in the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Dynamic => "dynamic",
        }
    }
}

/// An explicit node size.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSize {
    /// Slurm `CPUs`.
    #[schemars(range(min = 1))]
    pub cpus: u32,
    /// Slurm `RealMemory`, MiB.
    #[serde(rename = "memoryMiB")]
    #[schemars(range(min = 1))]
    pub memory_mib: u64,
    /// GPUs per node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
    /// The GPUs' GRES type (`a100`, `h100`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_type: Option<String>,
}

/// Slurm's partition states.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
pub enum PartitionStateSpec {
    /// Accepts and runs jobs.
    #[serde(rename = "UP")]
    Up,
    /// Accepts jobs, starts none.
    #[serde(rename = "DOWN")]
    Down,
    /// Accepts no new jobs, runs those queued.
    #[serde(rename = "DRAIN")]
    Drain,
    /// Neither accepts nor runs jobs.
    #[serde(rename = "INACTIVE")]
    Inactive,
}

/// Pending jobs of one reason.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
pub struct PendingReasonCount {
    /// Slurm's reason (`Resources`, `Priority`, `PartitionTimeLimit`...).
    pub reason: String,
    /// How many pending jobs give it.
    pub count: u32,
}

/// What the operator last saw of a partition.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartitionStatus {
    /// The partition's nodes by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeCounts>,
    /// Jobs waiting in this partition.
    #[serde(default)]
    pub pending_jobs: u32,
    /// Why they wait, most common first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_reasons: Vec<PendingReasonCount>,
    /// The earliest start the backfill planner expects for a pending job (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_planned_start: Option<String>,
    /// `Ready` (rendered into the cluster's slurm.conf, workers running) and `Valid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation these conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Partition {
    /// Slurm's `PartitionName`: `spec.partitionName`, else the resource's name.
    pub fn slurm_name(&self) -> String {
        self.spec
            .partition_name
            .clone()
            .or_else(|| self.metadata.name.clone())
            .unwrap_or_default()
    }

    /// The Slurm node names of this partition: `<partition>-0` … `<partition>-<nodes-1>`.
    pub fn node_names(&self) -> Vec<String> {
        let name = self.slurm_name();
        (0..self.spec.nodes)
            .map(|i| format!("{name}-{i}"))
            .collect()
    }
}
