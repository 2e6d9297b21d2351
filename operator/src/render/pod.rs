//! Pieces every Slurm pod shares: the config and key volumes, `SLURM_CONF`, the slinky
//! container.

use super::names;
use crate::crd::SlurmCluster;
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, Probe,
    SecretVolumeSource, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Volume name of the ConfigMap.
pub const CONFIG_VOLUME: &str = "slurm-config";
/// Volume name of the cluster key.
pub const KEY_VOLUME: &str = "auth-key";

/// The ConfigMap and key volumes (key file mode 0400: the daemons refuse a key others can
/// read).
pub fn base_volumes(c: &SlurmCluster) -> Vec<Volume> {
    vec![
        Volume {
            name: CONFIG_VOLUME.into(),
            config_map: Some(ConfigMapVolumeSource {
                name: names::config_map(c),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: KEY_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(c.auth_key_secret_name()),
                default_mode: Some(0o400),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

/// An emptyDir volume.
pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

/// A volume from a claim.
pub fn claim_volume(name: &str, claim: String) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(
            k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                claim_name: claim,
                read_only: None,
            },
        ),
        ..Default::default()
    }
}

/// A mount.
pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// The mounts of [`base_volumes`].
pub fn base_mounts() -> Vec<VolumeMount> {
    vec![
        mount(CONFIG_VOLUME, names::CONFIG_DIR, true),
        mount(KEY_VOLUME, names::KEY_DIR, true),
    ]
}

/// An environment variable.
pub fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// A container running `slinky ARGS...` from the cluster's image with `SLURM_CONF` set and
/// the config and key mounted.
pub fn slinky_container(c: &SlurmCluster, name: &str, args: &[&str]) -> Container {
    Container {
        name: name.into(),
        image: Some(c.spec.image.clone()),
        image_pull_policy: c.spec.image_pull_policy.clone(),
        command: Some(vec!["slinky".into()]),
        args: Some(args.iter().map(|a| (*a).to_owned()).collect()),
        env: Some(vec![env("SLURM_CONF", names::SLURM_CONF)]),
        volume_mounts: Some(base_mounts()),
        ..Default::default()
    }
}

/// A named TCP port.
pub fn port(name: &str, port: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port.into(),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A TCP probe on `port`.
pub fn tcp_probe(port: u16, initial_delay: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(port.into()),
            host: None,
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(10),
        ..Default::default()
    }
}
