//! The ServiceAccount the cluster's pods run as, and its Role: read-only access to the
//! cluster's pods, for the controller pod (the only one that mounts a token).

use super::{meta, names};
use crate::crd::SlurmCluster;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

const COMPONENT: &str = "rbac";

/// The ServiceAccount (no token unless a pod asks for one).
pub fn service_account(c: &SlurmCluster) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(c, names::service_account(c), COMPONENT),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// Read-only access to pods in the namespace.
pub fn role(c: &SlurmCluster) -> Role {
    Role {
        metadata: meta(c, names::service_account(c), COMPONENT),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".into()]),
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            ..Default::default()
        }]),
    }
}

/// Binds [`role`] to [`service_account`].
pub fn role_binding(c: &SlurmCluster) -> RoleBinding {
    RoleBinding {
        metadata: meta(c, names::service_account(c), COMPONENT),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: names::service_account(c),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: names::service_account(c),
            namespace: Some(names::namespace(c).to_owned()),
            api_group: None,
        }]),
    }
}
