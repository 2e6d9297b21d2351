//! `SlurmCluster`: one Slurm cluster (controller, accounting daemon, login pods) in a
//! namespace. Its partitions are separate `Partition` resources that name it.

use super::common::{NodeCounts, SecretKeyRef, VolumeSpec};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The desired state of a Slurm cluster.
// kube's printcolumn(...) repeats `type_ = ...` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Debug, Clone, PartialEq, JsonSchema)]
#[kube(
    group = "slinky.io",
    version = "v1alpha1",
    kind = "SlurmCluster",
    namespaced,
    status = "SlurmClusterStatus",
    shortname = "slurmcluster",
    doc = "A Slurm cluster: controller (slurmctld), accounting daemon (slurmdbd) and login pods, run from one slinky image.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Nodes", type_ = "integer", json_path = ".status.nodes.total"),
    printcolumn(name = "Idle", type_ = "integer", json_path = ".status.nodes.idle"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SlurmClusterSpec {
    /// Slurm's `ClusterName` (default: the resource's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// The slinky image: one multi-call binary for slurmctld, slurmd, slurmdbd, authd and the
    /// commands.
    pub image: String,
    /// The pods' image pull policy (`Always`, `IfNotPresent`, `Never`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// The controller (slurmctld) pod.
    #[serde(default)]
    pub controller: ControllerSpec,
    /// Job accounting (slurmdbd) and where it stores its records.
    #[serde(default)]
    pub accounting: AccountingSpec,
    /// Login pods, where users run sbatch, squeue and sacct.
    #[serde(default)]
    pub login: LoginSpec,
    /// Scheduler settings (slurm.conf).
    #[serde(default)]
    pub scheduler: SchedulerSpec,
    /// Secret holding the cluster key (`slurm.key`). Default `<name>-auth-key`; generated
    /// once when absent and never rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_key_secret: Option<String>,
}

/// The controller pod.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ControllerSpec {
    /// CPU and memory for slurmctld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// The volume holding StateSaveLocation (the job journal).
    #[serde(default)]
    pub storage: VolumeSpec,
}

/// Where accounting records go.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountingBackend {
    /// SQLite on a volume of the dbd pod.
    #[default]
    Sqlite,
    /// An existing MySQL or MariaDB server.
    Mysql,
    /// An Amazon RDS instance (MySQL or MariaDB engine), found by its identifier.
    Rds,
}

impl AccountingBackend {
    /// The name as written in the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Mysql => "mysql",
            Self::Rds => "rds",
        }
    }
}

/// Job accounting.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "has(self.mysql) == (has(self.backend) && self.backend == 'mysql') && has(self.rds) == (has(self.backend) && self.backend == 'rds')"
).message("accounting: set exactly the block matching accounting.backend (mysql: for backend mysql, rds: for backend rds, neither for sqlite)"))]
pub struct AccountingSpec {
    /// `sqlite` (default), `mysql` or `rds`.
    #[serde(default)]
    pub backend: AccountingBackend,
    /// The SQLite volume (backend sqlite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<VolumeSpec>,
    /// The MySQL/MariaDB server (backend mysql).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MysqlSpec>,
    /// The RDS instance (backend rds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rds: Option<RdsSpec>,
}

fn default_mysql_port() -> u16 {
    3306
}

/// A MySQL or MariaDB server.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MysqlSpec {
    /// Host name or address.
    pub host: String,
    /// Port (default 3306).
    #[serde(default = "default_mysql_port")]
    pub port: u16,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// The user's password.
    pub password_secret: SecretKeyRef,
}

/// An Amazon RDS instance.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RdsSpec {
    /// `DBInstanceIdentifier`.
    pub instance_identifier: String,
    /// AWS region (default: the operator's region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// The user's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeyRef>,
    /// IAM database authentication instead of a password (not supported yet: refused with a
    /// message).
    #[serde(default)]
    pub iam_auth: bool,
}

fn default_login_replicas() -> i32 {
    1
}

/// Login pods.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginSpec {
    /// How many login pods (default 1).
    #[serde(default = "default_login_replicas")]
    pub replicas: i32,
    /// A shared volume mounted at /home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_volume: Option<HomeVolumeSpec>,
    /// CPU and memory for each login pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for LoginSpec {
    fn default() -> Self {
        Self {
            replicas: default_login_replicas(),
            home_volume: None,
            resources: None,
        }
    }
}

/// The login pods' /home.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HomeVolumeSpec {
    /// Size of the claim the operator creates (default `10Gi`; ignored with existingClaim).
    #[serde(default = "super::common::default_size")]
    pub size: String,
    /// StorageClass of the claim the operator creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Use this PersistentVolumeClaim instead of creating one (shared by every login pod, so
    /// it should be ReadWriteMany).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_claim: Option<String>,
}

/// Scheduler settings written to slurm.conf. Unset fields keep Slurm's defaults.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerSpec {
    /// `PriorityWeightAge` (any weight turns on priority/multifactor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_weight_age: Option<u32>,
    /// `PriorityWeightFairshare`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_weight_fairshare: Option<u32>,
    /// `PriorityWeightJobSize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_weight_job_size: Option<u32>,
    /// `PriorityWeightPartition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_weight_partition: Option<u32>,
    /// `PriorityWeightQOS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_weight_qos: Option<u32>,
    /// `PriorityDecayHalfLife`, a Slurm duration (`7-0` is seven days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_decay_half_life: Option<String>,
    /// `PriorityMaxAge`, a Slurm duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_max_age: Option<String>,
    /// Backfill scheduling parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillSpec>,
    /// `SlurmdTimeout`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurmd_timeout: Option<u64>,
    /// `KillWait`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_wait: Option<u64>,
    /// `MinJobAge`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_job_age: Option<u64>,
    /// `SuspendTime`, seconds a cloud node stays idle before it is powered down (default:
    /// the smallest `idleScaleDownSeconds` of the dynamic partitions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_time: Option<u64>,
    /// `ResumeTimeout`, seconds a cloud node may take to come up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_timeout: Option<u64>,
}

/// `SchedulerParameters` of sched/backfill.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackfillSpec {
    /// `bf_window`, minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
    /// `bf_resolution`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<u64>,
    /// `bf_max_job_test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_job_test: Option<u32>,
}

/// What the operator last saw of a cluster.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlurmClusterStatus {
    /// `Pending`, `Running`, `Degraded`, `Failed` or `Terminating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// `Ready`, `ControllerReady`, `AccountingReady`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation these conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Slurm nodes by state, as the controller reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeCounts>,
}

impl SlurmCluster {
    /// Slurm's `ClusterName`: `spec.clusterName`, else the resource's name.
    pub fn slurm_cluster_name(&self) -> String {
        self.spec
            .cluster_name
            .clone()
            .or_else(|| self.metadata.name.clone())
            .unwrap_or_default()
    }

    /// The Secret holding the cluster key.
    pub fn auth_key_secret_name(&self) -> String {
        self.spec.auth_key_secret.clone().unwrap_or_else(|| {
            format!(
                "{}-auth-key",
                self.metadata.name.as_deref().unwrap_or_default()
            )
        })
    }
}
