//! The controller (slurmctld): a one-replica StatefulSet with its state volume, a headless
//! Service governing it and a ClusterIP Service whose DNS name is `SlurmctldHost`.

use super::{meta, names, pod};
use crate::crd::{SlurmCluster, VolumeSpec};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Service,
    ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

const COMPONENT: &str = "controller";
const STATE_VOLUME: &str = "state";

fn slurmctld_port() -> ServicePort {
    ServicePort {
        name: Some("slurmctld".into()),
        port: names::SLURMCTLD_PORT.into(),
        target_port: Some(IntOrString::String("slurmctld".into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// The Service clients, agents and the dbd reach the controller through.
pub fn service(c: &SlurmCluster) -> Service {
    Service {
        metadata: meta(c, names::controller(c), COMPONENT),
        spec: Some(ServiceSpec {
            selector: Some(names::selector(c, COMPONENT)),
            ports: Some(vec![slurmctld_port()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The StatefulSet's governing Service (stable pod DNS, ready or not).
pub fn headless_service(c: &SlurmCluster) -> Service {
    Service {
        metadata: meta(c, names::controller_headless(c), COMPONENT),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(names::selector(c, COMPONENT)),
            ports: Some(vec![slurmctld_port()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A claim (template) of `size` from `class`, ReadWriteOnce.
pub fn claim_spec(volume: &VolumeSpec) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        storage_class_name: volume.storage_class_name.clone(),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".into(),
                Quantity(volume.size.clone()),
            )])),
            limits: None,
        }),
        ..Default::default()
    }
}

/// The controller StatefulSet. `config_hash` rolls it when slurm.conf changes (the
/// controller reads its nodes and partitions at start).
pub fn stateful_set(c: &SlurmCluster, config_hash: &str) -> StatefulSet {
    let mut container = pod::slinky_container(c, "slurmctld", &["slurmctld", "-D"]);
    container.ports = Some(vec![pod::port("slurmctld", names::SLURMCTLD_PORT)]);
    container.readiness_probe = Some(pod::tcp_probe(names::SLURMCTLD_PORT, 5));
    container.liveness_probe = Some(pod::tcp_probe(names::SLURMCTLD_PORT, 60));
    container.resources = c.spec.controller.resources.clone();
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .push(pod::mount(STATE_VOLUME, names::STATE_DIR, false));
    let labels = names::labels(c, COMPONENT);
    StatefulSet {
        metadata: meta(c, names::controller(c), COMPONENT),
        spec: StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(names::controller_headless(c)),
            selector: LabelSelector {
                match_labels: Some(names::selector(c, COMPONENT)),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(BTreeMap::from([(
                        names::ANNOTATION_CONFIG_HASH.into(),
                        config_hash.to_owned(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(names::service_account(c)),
                    automount_service_account_token: Some(true),
                    enable_service_links: Some(false),
                    termination_grace_period_seconds: Some(30),
                    containers: vec![container],
                    volumes: Some(pod::base_volumes(c)),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(STATE_VOLUME.into()),
                    labels: Some(names::labels(c, COMPONENT)),
                    ..Default::default()
                },
                spec: Some(claim_spec(&c.spec.controller.storage)),
                ..Default::default()
            }]),
            ..Default::default()
        },
        ..Default::default()
    }
}
