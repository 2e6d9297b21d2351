//! Checks the apiserver's schema cannot make, with messages that name the field. The
//! reconciler runs them before rendering and reports failures as a `Valid=False` condition
//! and a Warning event; the CEL rules in the CRDs repeat the simplest of them at admission.

use crate::crd::{AccountingBackend, Partition, Provisioning, SlurmCluster};
use crate::instance_types::InstanceType;
use crate::shape::{self, NodeShape};
use slurm_core::model::TimeLimit;
use slurm_core::parse::duration::parse_time_limit;
use std::collections::BTreeMap;
use std::fmt;

/// The longest Slurm node name (a DNS label: it is the worker pod's hostname).
pub const MAX_NODE_NAME: usize = 63;

/// One problem, in the words a user reads: `spec.gres asks for gpu:16 but …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every problem found in a resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join(.0))]
pub struct Invalid(pub Vec<Problem>);

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.0.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a valid partition resolves to: its node size and GRES, and warnings that do not
/// stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPartition {
    pub shape: NodeShape,
    pub gres: Vec<slurm_core::model::Gres>,
    pub warnings: Vec<String>,
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NODE_NAME
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn duration(field: &str, value: Option<&str>, problems: &mut Vec<Problem>) -> Option<TimeLimit> {
    let value = value?;
    match parse_time_limit(value) {
        Ok(limit) => Some(limit),
        Err(e) => {
            problems.push(Problem(format!(
                "{field}: {} (a Slurm duration: MM, HH:MM:SS, D-HH, D-HH:MM:SS or UNLIMITED)",
                e.message
            )));
            None
        }
    }
}

/// Checks a cluster's spec.
pub fn validate_cluster(cluster: &SlurmCluster) -> Result<(), Invalid> {
    let spec = &cluster.spec;
    let mut problems = Vec::new();
    let mut problem = |s: String| problems.push(Problem(s));
    if spec.image.trim().is_empty() {
        problem("spec.image: the slinky image is required".into());
    }
    if let Some(policy) = &spec.image_pull_policy
        && !["Always", "IfNotPresent", "Never"].contains(&policy.as_str())
    {
        problem(format!(
            "spec.imagePullPolicy: {policy:?} is not Always, IfNotPresent or Never"
        ));
    }
    let name = cluster.slurm_cluster_name();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        problem(format!(
            "spec.clusterName: {name:?} is not a Slurm cluster name (lowercase letters, digits, '-' and '_')"
        ));
    }
    let acct = &spec.accounting;
    let backend = acct.backend.as_str();
    if acct.mysql.is_some() && acct.backend != AccountingBackend::Mysql {
        problem(format!(
            "spec.accounting.mysql: set, but backend is {backend}; remove it or set backend: mysql"
        ));
    }
    if acct.rds.is_some() && acct.backend != AccountingBackend::Rds {
        problem(format!(
            "spec.accounting.rds: set, but backend is {backend}; remove it or set backend: rds"
        ));
    }
    if acct.backend == AccountingBackend::Mysql && acct.mysql.is_none() {
        problem(
            "spec.accounting.mysql: required when backend is mysql (host, database, user, passwordSecret)"
                .into(),
        );
    }
    if acct.backend == AccountingBackend::Rds && acct.rds.is_none() {
        problem(
            "spec.accounting.rds: required when backend is rds (instanceIdentifier, database, user, passwordSecret)"
                .into(),
        );
    }
    if let Some(rds) = &acct.rds
        && acct.backend == AccountingBackend::Rds
    {
        if rds.iam_auth {
            problem("spec.accounting.rds.iamAuth: IAM database authentication is not supported yet (the dbd cannot refresh IAM tokens); set iamAuth: false and give passwordSecret".into());
        } else if rds.password_secret.is_none() {
            problem("spec.accounting.rds.passwordSecret: required (the Secret key holding the database user's password)".into());
        }
    }
    if acct.backend != AccountingBackend::Sqlite && acct.storage.is_some() {
        problem(format!(
            "spec.accounting.storage: only used by backend sqlite (backend is {backend})"
        ));
    }
    if spec.login.replicas < 0 {
        problem("spec.login.replicas: must not be negative".into());
    }
    if let Some(home) = &spec.login.home_volume
        && home.existing_claim.as_deref() == Some("")
    {
        problem("spec.login.homeVolume.existingClaim: empty claim name".into());
    }
    let sched = &spec.scheduler;
    duration(
        "spec.scheduler.priorityDecayHalfLife",
        sched.priority_decay_half_life.as_deref(),
        &mut problems,
    );
    duration(
        "spec.scheduler.priorityMaxAge",
        sched.priority_max_age.as_deref(),
        &mut problems,
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Invalid(problems))
    }
}

/// Checks a partition's spec and sizes its nodes. `types` holds its looked-up
/// `instanceTypes`; `discovered` the instance type found on a Kubernetes node matching a
/// static partition's selector.
pub fn validate_partition(
    partition: &Partition,
    types: &BTreeMap<String, InstanceType>,
    discovered: Option<&InstanceType>,
) -> Result<ValidPartition, Invalid> {
    let spec = &partition.spec;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if spec.cluster_ref.is_empty() {
        problems.push(Problem(
            "spec.clusterRef: the SlurmCluster's name is required".into(),
        ));
    }
    let name = partition.slurm_name();
    let last_node = format!("{name}-{}", spec.nodes.saturating_sub(1));
    if !dns_label(&name) {
        problems.push(Problem(format!(
            "spec.partitionName: {name:?} must be lowercase letters, digits and '-' (its nodes' names are pod hostnames)"
        )));
    } else if last_node.len() > MAX_NODE_NAME {
        problems.push(Problem(format!(
            "spec.partitionName: node name {last_node:?} is longer than {MAX_NODE_NAME} characters"
        )));
    }
    if spec.provisioning == Provisioning::Dynamic
        && spec.instance_types.is_empty()
        && spec.node_size.is_none()
    {
        problems.push(Problem(
            "spec: a dynamic partition needs instanceTypes or nodeSize (slinky writes each node's CPUs, memory and GPUs into slurm.conf before the node exists)".into(),
        ));
    }
    let max = duration("spec.maxTime", spec.max_time.as_deref(), &mut problems);
    let default = duration(
        "spec.defaultTime",
        spec.default_time.as_deref(),
        &mut problems,
    );
    if let (Some(TimeLimit::Seconds(max)), Some(TimeLimit::Seconds(default))) = (max, default)
        && default > max
    {
        problems.push(Problem(format!(
            "spec.defaultTime: {} is longer than spec.maxTime {}",
            spec.default_time.as_deref().unwrap_or_default(),
            spec.max_time.as_deref().unwrap_or_default()
        )));
    }
    if let Some(list) = &spec.allow_accounts
        && list.iter().any(|a| a.is_empty() || a.contains(','))
    {
        problems.push(Problem(
            "spec.allowAccounts: account names must be non-empty and contain no ','".into(),
        ));
    }
    if let Some(list) = &spec.allow_groups
        && list.iter().any(|a| a.is_empty() || a.contains(','))
    {
        problems.push(Problem(
            "spec.allowGroups: group names must be non-empty and contain no ','".into(),
        ));
    }
    let shaped = match shape::resolve_shape(partition, types, discovered) {
        Ok(shape) => match shape::node_gres(partition, &shape) {
            Ok(gres) => Some((shape, gres)),
            Err(message) => {
                problems.push(Problem(message));
                None
            }
        },
        Err(e) => {
            // A dynamic partition without a size already has its problem.
            if !(spec.provisioning == Provisioning::Dynamic
                && spec.instance_types.is_empty()
                && spec.node_size.is_none())
            {
                problems.push(Problem(e.to_string()));
            }
            None
        }
    };
    if let Some((shape, _)) = &shaped
        && spec.efa_enabled
        && shape.efa_interfaces == 0
    {
        warnings.push(format!(
            "spec.efaEnabled: slinky knows no EFA interface on {}; the worker pods request one vpc.amazonaws.com/efa device and stay Pending where the node has none",
            shape.source
        ));
    }
    match shaped {
        Some((shape, gres)) if problems.is_empty() => Ok(ValidPartition {
            shape,
            gres,
            warnings,
        }),
        _ => Err(Invalid(problems)),
    }
}

/// Problems among the partitions of one cluster: two resources with the same Slurm name, or
/// more than one default. Each problem is reported on the later resource (by name).
pub fn validate_partition_set(partitions: &[&Partition]) -> BTreeMap<String, Problem> {
    let mut sorted: Vec<&Partition> = partitions.to_vec();
    sorted.sort_by_key(|p| p.metadata.name.clone());
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut default: Option<String> = None;
    let mut out = BTreeMap::new();
    for p in sorted {
        let resource = p.metadata.name.clone().unwrap_or_default();
        let slurm = p.slurm_name();
        if let Some(first) = seen.get(&slurm) {
            out.insert(
                resource.clone(),
                Problem(format!(
                    "spec.partitionName: Partition {first} already defines Slurm partition {slurm}"
                )),
            );
            continue;
        }
        seen.insert(slurm, resource.clone());
        if p.spec.default == Some(true) {
            if let Some(first) = &default {
                out.insert(
                    resource.clone(),
                    Problem(format!(
                        "spec.default: Partition {first} is already the cluster's default partition"
                    )),
                );
            } else {
                default = Some(resource);
            }
        }
    }
    out
}
