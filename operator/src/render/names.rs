//! Names of the objects a cluster is made of, the paths its pods use, and their labels.

use crate::crd::{Partition, SlurmCluster};
use std::collections::BTreeMap;

/// Where the ConfigMap (slurm.conf, gres.conf, slurmdbd.conf) is mounted.
pub const CONFIG_DIR: &str = "/etc/slurm";
/// `SLURM_CONF` of every pod.
pub const SLURM_CONF: &str = "/etc/slurm/slurm.conf";
/// Where the cluster key Secret is mounted.
pub const KEY_DIR: &str = "/etc/slinky/key";
/// The key's file name (and its key in the Secret).
pub const KEY_FILE: &str = "slurm.key";
/// The credential signer's socket on login pods.
pub const AUTH_SOCKET: &str = "/run/slinky/auth.socket";
/// The controller's StateSaveLocation (its volume).
pub const STATE_DIR: &str = "/var/spool/slurmctld";
/// The dbd's data directory (its SQLite volume).
pub const DBD_DATA_DIR: &str = "/var/lib/slurmdbd";
/// The agents' spool directory.
pub const SLURMD_SPOOL: &str = "/var/spool/slurmd";
/// slurmctld's port.
pub const SLURMCTLD_PORT: u16 = 6817;
/// slurmd's port.
pub const SLURMD_PORT: u16 = 6818;
/// slurmdbd's port.
pub const SLURMDBD_PORT: u16 = 6819;
/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "slinky-operator";

/// Label: which SlurmCluster an object belongs to.
pub const LABEL_CLUSTER: &str = "slinky.io/cluster";
/// Label: which Partition a worker pod belongs to (its Slurm name).
pub const LABEL_PARTITION: &str = "slinky.io/partition";
/// Label: the Slurm node a worker pod runs.
pub const LABEL_NODE: &str = "slinky.io/node";
/// Label: `"true"` while the worker's Slurm node runs jobs (the PodDisruptionBudget's
/// selector).
pub const LABEL_BUSY: &str = "slinky.io/busy";
/// Annotation: hash of the pod spec the operator rendered (worker pods).
pub const ANNOTATION_SPEC_HASH: &str = "slinky.io/spec-hash";
/// Annotation: hash of the ConfigMap's data (pod templates: a change rolls the pods).
pub const ANNOTATION_CONFIG_HASH: &str = "slinky.io/config-hash";
/// Annotation Karpenter honours: no voluntary disruption of a busy worker's node.
pub const ANNOTATION_DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";

/// The cluster's resource name.
pub fn cluster(c: &SlurmCluster) -> &str {
    c.metadata.name.as_deref().unwrap_or_default()
}

/// The cluster's namespace.
pub fn namespace(c: &SlurmCluster) -> &str {
    c.metadata.namespace.as_deref().unwrap_or("default")
}

/// ConfigMap with slurm.conf, gres.conf and slurmdbd.conf.
pub fn config_map(c: &SlurmCluster) -> String {
    format!("{}-config", cluster(c))
}

/// The controller's StatefulSet and its client Service.
pub fn controller(c: &SlurmCluster) -> String {
    format!("{}-controller", cluster(c))
}

/// The controller StatefulSet's governing (headless) Service.
pub fn controller_headless(c: &SlurmCluster) -> String {
    format!("{}-controller-hl", cluster(c))
}

/// `SlurmctldHost`: the controller Service's DNS name.
pub fn controller_host(c: &SlurmCluster) -> String {
    format!("{}.{}.svc", controller(c), namespace(c))
}

/// The dbd's Deployment and Service.
pub fn dbd(c: &SlurmCluster) -> String {
    format!("{}-dbd", cluster(c))
}

/// `AccountingStorageHost`: the dbd Service's DNS name.
pub fn dbd_host(c: &SlurmCluster) -> String {
    format!("{}.{}.svc", dbd(c), namespace(c))
}

/// The dbd's SQLite volume claim.
pub fn dbd_data(c: &SlurmCluster) -> String {
    format!("{}-dbd-data", cluster(c))
}

/// The Secret with the dbd's database URL (MySQL and RDS backends).
pub fn dbd_storage_secret(c: &SlurmCluster) -> String {
    format!("{}-dbd-storage", cluster(c))
}

/// The login Deployment.
pub fn login(c: &SlurmCluster) -> String {
    format!("{}-login", cluster(c))
}

/// The login pods' /home claim the operator creates.
pub fn home(c: &SlurmCluster) -> String {
    format!("{}-home", cluster(c))
}

/// The workers' headless Service (their pods' subdomain).
pub fn workers(c: &SlurmCluster) -> String {
    format!("{}-workers", cluster(c))
}

/// The PodDisruptionBudget protecting busy workers.
pub fn busy_workers_pdb(c: &SlurmCluster) -> String {
    format!("{}-busy-workers", cluster(c))
}

/// ServiceAccount, Role and RoleBinding of the cluster's pods.
pub fn service_account(c: &SlurmCluster) -> String {
    format!("{}-slurm", cluster(c))
}

/// A worker pod's name: `<cluster>-<node>`.
pub fn worker_pod(c: &SlurmCluster, node: &str) -> String {
    format!("{}-{node}", cluster(c))
}

/// Labels every object of the cluster carries; `component` is `controller`, `dbd`,
/// `login`, `worker`, `config`, `auth`, `rbac`.
pub fn labels(c: &SlurmCluster, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), "slinky".into()),
        ("app.kubernetes.io/instance".into(), cluster(c).to_owned()),
        ("app.kubernetes.io/component".into(), component.to_owned()),
        ("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into()),
        (LABEL_CLUSTER.into(), cluster(c).to_owned()),
    ])
}

/// The labels that select a component's pods.
pub fn selector(c: &SlurmCluster, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_CLUSTER.into(), cluster(c).to_owned()),
        ("app.kubernetes.io/component".into(), component.to_owned()),
    ])
}

/// The label selector (`k=v,k=v`) of a partition's worker pods.
pub fn partition_pods_selector(c_name: &str, p: &Partition) -> String {
    format!(
        "{LABEL_CLUSTER}={c_name},app.kubernetes.io/component=worker,{LABEL_PARTITION}={}",
        p.slurm_name()
    )
}

/// The label selector of every worker pod of a cluster.
pub fn cluster_workers_selector(c_name: &str) -> String {
    format!("{LABEL_CLUSTER}={c_name},app.kubernetes.io/component=worker")
}
