//! Pure rendering: a `SlurmCluster` and its valid `Partition`s in, Kubernetes objects out.
//! Nothing here talks to the API server; the reconciler resolves what needs I/O (instance
//! types, the database endpoint, Kubernetes nodes) into [`ClusterInputs`] first.

pub mod controller;
pub mod dbd;
pub mod login;
pub mod names;
mod pod;
pub mod rbac;
pub mod secrets;
pub mod slurm_conf;
pub mod worker;

use crate::crd::{Partition, SlurmCluster};
use crate::validate::ValidPartition;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use std::collections::BTreeMap;

pub use worker::render_worker_pod;

/// A valid partition and what validation resolved for it.
#[derive(Debug, Clone)]
pub struct PartitionInput<'a> {
    pub partition: &'a Partition,
    pub valid: ValidPartition,
}

/// The MySQL/MariaDB server the dbd uses (backends mysql and rds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// A hash of the database URL in the `<cluster>-dbd-storage` Secret (see
    /// [`hash_json`]): a new password rolls the dbd.
    pub url_hash: String,
}

/// Everything rendering needs.
#[derive(Debug, Clone)]
pub struct ClusterInputs<'a> {
    pub cluster: &'a SlurmCluster,
    /// The valid partitions of the cluster, in Slurm name order.
    pub partitions: Vec<PartitionInput<'a>>,
    /// The database server for backends mysql and rds (`None` for sqlite).
    pub database: Option<Database>,
}

impl<'a> ClusterInputs<'a> {
    /// Inputs with the partitions sorted by Slurm name (the order of slurm.conf).
    pub fn new(
        cluster: &'a SlurmCluster,
        mut partitions: Vec<PartitionInput<'a>>,
        database: Option<Database>,
    ) -> Self {
        partitions.sort_by_key(|p| p.partition.slurm_name());
        Self {
            cluster,
            partitions,
            database,
        }
    }
}

/// Every object of a cluster the reconciler applies, except the Secrets (the cluster key
/// is generated once; the database URL holds a password read at reconcile time) and the
/// worker pods (applied one by one, see [`worker`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub config_map: ConfigMap,
    pub controller_service: Service,
    pub controller_headless_service: Service,
    pub controller: StatefulSet,
    pub dbd_data: Option<PersistentVolumeClaim>,
    pub dbd_service: Service,
    pub dbd: Deployment,
    pub home: Option<PersistentVolumeClaim>,
    pub login: Deployment,
    pub workers_service: Service,
    pub busy_workers_pdb: PodDisruptionBudget,
    /// One pod per node of each static partition.
    pub static_workers: Vec<Pod>,
    /// The pod each node of a dynamic partition gets when the controller resumes it, by
    /// Slurm node name.
    pub dynamic_workers: std::collections::BTreeMap<String, Pod>,
}

/// Renders every object of the cluster.
pub fn render_cluster(inputs: &ClusterInputs<'_>) -> Rendered {
    let config_map = config_map(inputs);
    let config_hash = hash_config(&config_map);
    let static_workers = inputs
        .partitions
        .iter()
        .filter(|p| p.partition.spec.provisioning == crate::crd::Provisioning::Static)
        .flat_map(|p| {
            p.partition
                .node_names()
                .into_iter()
                .map(move |node| render_worker_pod(inputs.cluster, p, &node))
        })
        .collect();
    let dynamic_workers = inputs
        .partitions
        .iter()
        .filter(|p| p.partition.spec.provisioning == crate::crd::Provisioning::Dynamic)
        .flat_map(|p| {
            p.partition
                .node_names()
                .into_iter()
                .map(move |node| (node.clone(), render_worker_pod(inputs.cluster, p, &node)))
        })
        .collect();
    Rendered {
        service_account: rbac::service_account(inputs.cluster),
        role: rbac::role(inputs.cluster),
        role_binding: rbac::role_binding(inputs.cluster),
        controller_service: controller::service(inputs.cluster),
        controller_headless_service: controller::headless_service(inputs.cluster),
        controller: controller::stateful_set(inputs.cluster, &config_hash),
        dbd_data: dbd::data_claim(inputs.cluster),
        dbd_service: dbd::service(inputs.cluster),
        dbd: dbd::deployment(
            inputs.cluster,
            &config_hash,
            inputs.database.as_ref().map(|d| d.url_hash.as_str()),
        ),
        home: login::home_claim(inputs.cluster),
        login: login::deployment(inputs.cluster, &config_hash),
        workers_service: worker::headless_service(inputs.cluster),
        busy_workers_pdb: worker::busy_workers_pdb(inputs.cluster),
        static_workers,
        dynamic_workers,
        config_map,
    }
}

/// The ConfigMap with slurm.conf, gres.conf (when there are GPUs) and slurmdbd.conf.
pub fn config_map(inputs: &ClusterInputs<'_>) -> ConfigMap {
    let c = inputs.cluster;
    let mut data = BTreeMap::from([
        ("slurm.conf".to_owned(), slurm_conf::slurm_conf(inputs)),
        (
            "slurmdbd.conf".to_owned(),
            slurm_conf::slurmdbd_conf(inputs),
        ),
    ]);
    if let Some(gres) = slurm_conf::gres_conf(inputs) {
        data.insert("gres.conf".into(), gres);
    }
    ConfigMap {
        metadata: meta(c, names::config_map(c), "config"),
        data: Some(data),
        ..Default::default()
    }
}

/// A short stable hash of the ConfigMap's data, for pod template annotations.
pub fn hash_config(cm: &ConfigMap) -> String {
    hash_json(&cm.data)
}

/// FNV-1a (64 bit) of a value's JSON, as 16 hex digits: stable across runs and versions.
pub fn hash_json<T: serde::Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The owner reference every object of the cluster carries.
pub fn owner(c: &SlurmCluster) -> OwnerReference {
    c.controller_owner_ref(&())
        .unwrap_or_else(|| OwnerReference {
            api_version: "slinky.io/v1alpha1".into(),
            kind: "SlurmCluster".into(),
            name: names::cluster(c).to_owned(),
            uid: String::new(),
            controller: Some(true),
            block_owner_deletion: None,
        })
}

/// Metadata of a cluster-owned object.
pub fn meta(c: &SlurmCluster, name: String, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(names::namespace(c).to_owned()),
        labels: Some(names::labels(c, component)),
        owner_references: Some(vec![owner(c)]),
        ..Default::default()
    }
}
