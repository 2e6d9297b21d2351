//! Login pods: where users run sbatch, squeue and sacct. Each runs the credential signer
//! (`slinky authd`), so the commands there get credentials without reading the key.

use super::controller::claim_spec;
use super::{meta, names, pod};
use crate::crd::{SlurmCluster, VolumeSpec};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

const COMPONENT: &str = "login";
const HOME_VOLUME: &str = "home";
const RUN_VOLUME: &str = "run-slinky";

/// The /home claim the operator creates (a homeVolume without existingClaim), shared by
/// every login pod: ReadWriteMany.
pub fn home_claim(c: &SlurmCluster) -> Option<PersistentVolumeClaim> {
    let home = c.spec.login.home_volume.as_ref()?;
    if home.existing_claim.is_some() {
        return None;
    }
    let mut spec = claim_spec(&VolumeSpec {
        size: home.size.clone(),
        storage_class_name: home.storage_class_name.clone(),
    });
    spec.access_modes = Some(vec!["ReadWriteMany".into()]);
    Some(PersistentVolumeClaim {
        metadata: meta(c, names::home(c), COMPONENT),
        spec: Some(spec),
        ..Default::default()
    })
}

/// The login Deployment.
pub fn deployment(c: &SlurmCluster, config_hash: &str) -> Deployment {
    let key = format!("{}/{}", names::KEY_DIR, names::KEY_FILE);
    let mut container = pod::slinky_container(
        c,
        "login",
        &["authd", "--key", &key, "--socket", names::AUTH_SOCKET],
    );
    container.resources = c.spec.login.resources.clone();
    let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
    mounts.push(pod::mount(RUN_VOLUME, "/run/slinky", false));
    let mut volumes = pod::base_volumes(c);
    volumes.push(pod::empty_dir(RUN_VOLUME));
    if let Some(home) = &c.spec.login.home_volume {
        let claim = home
            .existing_claim
            .clone()
            .unwrap_or_else(|| names::home(c));
        volumes.push(pod::claim_volume(HOME_VOLUME, claim));
        mounts.push(pod::mount(HOME_VOLUME, "/home", false));
    }
    Deployment {
        metadata: meta(c, names::login(c), COMPONENT),
        spec: DeploymentSpec {
            replicas: Some(c.spec.login.replicas),
            selector: LabelSelector {
                match_labels: Some(names::selector(c, COMPONENT)),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(names::labels(c, COMPONENT)),
                    annotations: Some(BTreeMap::from([(
                        names::ANNOTATION_CONFIG_HASH.into(),
                        config_hash.to_owned(),
                    )])),
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
