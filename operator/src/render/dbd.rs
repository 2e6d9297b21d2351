//! The accounting daemon (slurmdbd): a Deployment, its Service, and its SQLite volume (or
//! the database URL Secret for MySQL and RDS).

use super::controller::claim_spec;
use super::{meta, names, pod};
use crate::crd::{AccountingBackend, SlurmCluster};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, PersistentVolumeClaim, PodSpec, PodTemplateSpec, SecretKeySelector,
    Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

const COMPONENT: &str = "dbd";
const DATA_VOLUME: &str = "data";
/// The key of the database URL in the `<cluster>-dbd-storage` Secret.
pub const STORAGE_URL_KEY: &str = "url";
/// Annotation: hash of the database URL (a new password rolls the dbd).
pub const ANNOTATION_STORAGE_HASH: &str = "slinky.io/storage-hash";

/// The SQLite volume claim (backend sqlite only).
pub fn data_claim(c: &SlurmCluster) -> Option<PersistentVolumeClaim> {
    let acct = &c.spec.accounting;
    (acct.backend == AccountingBackend::Sqlite).then(|| PersistentVolumeClaim {
        metadata: meta(c, names::dbd_data(c), COMPONENT),
        spec: Some(claim_spec(&acct.storage.clone().unwrap_or_default())),
        ..Default::default()
    })
}

/// The dbd's Service (`AccountingStorageHost`).
pub fn service(c: &SlurmCluster) -> Service {
    Service {
        metadata: meta(c, names::dbd(c), COMPONENT),
        spec: Some(ServiceSpec {
            selector: Some(names::selector(c, COMPONENT)),
            ports: Some(vec![ServicePort {
                name: Some("slurmdbd".into()),
                port: names::SLURMDBD_PORT.into(),
                target_port: Some(IntOrString::String("slurmdbd".into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The dbd Deployment: one replica, recreated rather than rolled (SQLite allows one
/// writer). For MySQL and RDS it reads the database URL, password included, from the
/// `<cluster>-dbd-storage` Secret; `storage_hash` (a hash of that URL) rolls the pod when
/// it changes.
pub fn deployment(c: &SlurmCluster, config_hash: &str, storage_hash: Option<&str>) -> Deployment {
    let mut container = pod::slinky_container(c, "slurmdbd", &["slurmdbd", "-D"]);
    container.ports = Some(vec![pod::port("slurmdbd", names::SLURMDBD_PORT)]);
    container.readiness_probe = Some(pod::tcp_probe(names::SLURMDBD_PORT, 5));
    container.liveness_probe = Some(pod::tcp_probe(names::SLURMDBD_PORT, 60));
    let mut volumes = pod::base_volumes(c);
    match c.spec.accounting.backend {
        AccountingBackend::Sqlite => {
            volumes.push(pod::claim_volume(DATA_VOLUME, names::dbd_data(c)));
            container
                .volume_mounts
                .get_or_insert_with(Vec::new)
                .push(pod::mount(DATA_VOLUME, names::DBD_DATA_DIR, false));
        }
        AccountingBackend::Mysql | AccountingBackend::Rds => {
            container.env.get_or_insert_with(Vec::new).push(EnvVar {
                name: "SLINKY_DBD_STORAGE".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: names::dbd_storage_secret(c),
                        key: STORAGE_URL_KEY.into(),
                        optional: None,
                    }),
                    ..Default::default()
                }),
            });
        }
    }
    let mut annotations = BTreeMap::from([(
        names::ANNOTATION_CONFIG_HASH.to_owned(),
        config_hash.to_owned(),
    )]);
    if let Some(hash) = storage_hash {
        annotations.insert(ANNOTATION_STORAGE_HASH.into(), hash.to_owned());
    }
    Deployment {
        metadata: meta(c, names::dbd(c), COMPONENT),
        spec: DeploymentSpec {
            replicas: Some(1),
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            selector: LabelSelector {
                match_labels: Some(names::selector(c, COMPONENT)),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(names::labels(c, COMPONENT)),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(names::service_account(c)),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    }
}
