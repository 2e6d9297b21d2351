//! The messages users read when a resource is wrong: each names the field and says what to
//! do.

mod common;

use slinky_operator::crd::{
    AccountingBackend, MysqlSpec, NodeSize, Partition, Provisioning, RdsSpec, SecretKeyRef,
};
use slinky_operator::instance_types::OfflineCatalog;
use slinky_operator::validate::{validate_cluster, validate_partition, validate_partition_set};

fn problems(p: &Partition) -> String {
    let types = OfflineCatalog::describe_now(&p.spec.instance_types);
    validate_partition(p, &types, None).unwrap_err().to_string()
}

fn gpu() -> Partition {
    common::example("partition-gpu-dynamic.yaml")
}

#[test]
fn the_examples_are_valid() {
    validate_cluster(&common::cluster()).unwrap();
    for p in common::partitions() {
        let types = OfflineCatalog::describe_now(&p.spec.instance_types);
        let valid = validate_partition(&p, &types, None).unwrap();
        assert!(valid.warnings.is_empty(), "{:?}", valid.warnings);
    }
}

#[test]
fn more_gpus_than_the_instance_type_has() {
    let mut p = gpu();
    p.spec.gres = Some("gpu:16".into());
    assert_eq!(
        problems(&p),
        "spec.gres asks for gpu:16 but instance type p4dn.24xlarge has 8 GPUs"
    );
}

#[test]
fn more_gpus_than_the_node_size_has() {
    let mut p = gpu();
    p.spec.instance_types.clear();
    p.spec.node_size = Some(NodeSize {
        cpus: 48,
        memory_mib: 200_000,
        gpus: Some(4),
        gpu_type: Some("a10g".into()),
    });
    assert_eq!(
        problems(&p),
        "spec.gres asks for gpu:8 but spec.nodeSize.gpus is 4"
    );
}

#[test]
fn a_gpu_type_the_instance_does_not_have() {
    let mut p = gpu();
    p.spec.gres = Some("gpu:h100:8".into());
    assert_eq!(
        problems(&p),
        "spec.gres asks for GPU type h100 but p4dn.24xlarge has a100 GPUs"
    );
}

#[test]
fn a_dynamic_partition_without_a_size() {
    let mut p = gpu();
    p.spec.instance_types.clear();
    assert_eq!(
        problems(&p),
        "spec: a dynamic partition needs instanceTypes or nodeSize (slinky writes each node's CPUs, memory and GPUs into slurm.conf before the node exists)"
    );
}

#[test]
fn a_static_partition_without_a_size_or_a_matching_node() {
    let mut p: Partition = common::example("partition-gpu-static.yaml");
    p.spec.instance_types.clear();
    assert_eq!(
        problems(&p),
        "spec.nodeSize: cannot size the nodes: set spec.nodeSize or spec.instanceTypes (no Kubernetes node matching spec.nodeSelector was found to size them from)"
    );
    // With a node found by its selector, it is sized from that node.
    let node = slinky_operator::instance_types::lookup("p4d.24xlarge").unwrap();
    let valid = validate_partition(&p, &Default::default(), Some(&node)).unwrap();
    assert_eq!(valid.shape.cpus, 96);
    assert_eq!(valid.shape.gpus, 8);
}

#[test]
fn an_unknown_instance_type() {
    let mut p = gpu();
    p.spec.instance_types = vec!["p9.huge".into()];
    assert_eq!(
        problems(&p),
        "spec.instanceTypes: unknown instance type \"p9.huge\" (not in slinky's table; set spec.nodeSize, or run the operator built with the aws feature to ask EC2)"
    );
    // An explicit size makes the name irrelevant.
    p.spec.node_size = Some(NodeSize {
        cpus: 8,
        memory_mib: 32_000,
        gpus: Some(8),
        gpu_type: None,
    });
    let types = OfflineCatalog::describe_now(&p.spec.instance_types);
    validate_partition(&p, &types, None).unwrap();
}

#[test]
fn several_instance_types_size_nodes_by_the_smallest() {
    let mut p = gpu();
    p.spec.instance_types = vec!["g5.48xlarge".into(), "g5.12xlarge".into()];
    p.spec.gres = None;
    p.spec.efa_enabled = false;
    let types = OfflineCatalog::describe_now(&p.spec.instance_types);
    let valid = validate_partition(&p, &types, None).unwrap();
    assert_eq!(valid.shape.cpus, 48);
    assert_eq!(valid.shape.gpus, 4);
    assert_eq!(
        slurm_core::parse::tres::format_gres_list(&valid.gres),
        "gpu:a10g:4"
    );
}

#[test]
fn bad_durations_and_default_longer_than_max() {
    let mut p = gpu();
    p.spec.max_time = Some("2 days".into());
    let message = problems(&p);
    assert!(
        message.starts_with("spec.maxTime: invalid time limit \"2 days\""),
        "{message}"
    );
    assert!(message.ends_with("(a Slurm duration: MM, HH:MM:SS, D-HH, D-HH:MM:SS or UNLIMITED)"));
    p.spec.max_time = Some("1:00:00".into());
    p.spec.default_time = Some("2:00:00".into());
    assert_eq!(
        problems(&p),
        "spec.defaultTime: 2:00:00 is longer than spec.maxTime 1:00:00"
    );
}

#[test]
fn names_that_cannot_be_hostnames() {
    let mut p = gpu();
    p.spec.partition_name = Some("GPU_Partition".into());
    assert_eq!(
        problems(&p),
        "spec.partitionName: \"GPU_Partition\" must be lowercase letters, digits and '-' (its nodes' names are pod hostnames)"
    );
}

#[test]
fn efa_on_a_type_without_efa_is_a_warning() {
    let mut p = gpu();
    p.spec.instance_types = vec!["g5.xlarge".into()];
    p.spec.gres = Some("gpu:1".into());
    let types = OfflineCatalog::describe_now(&p.spec.instance_types);
    let valid = validate_partition(&p, &types, None).unwrap();
    assert_eq!(
        valid.warnings,
        [
            "spec.efaEnabled: slinky knows no EFA interface on g5.xlarge; the worker pods request one vpc.amazonaws.com/efa device and stay Pending where the node has none"
        ]
    );
}

#[test]
fn two_partitions_with_one_slurm_name_and_two_defaults() {
    let a: Partition = common::example("partition-cpu.yaml");
    let mut b = a.clone();
    b.metadata.name = Some("cpu-partition-2".into());
    b.spec.partition_name = Some("cpu-partition".into());
    let mut c: Partition = common::example("partition-gpu-static.yaml");
    c.spec.default = Some(true);
    let problems = validate_partition_set(&[&a, &b, &c]);
    assert_eq!(
        problems["cpu-partition-2"].0,
        "spec.partitionName: Partition cpu-partition already defines Slurm partition cpu-partition"
    );
    assert_eq!(
        problems["static-gpu-partition"].0,
        "spec.default: Partition cpu-partition is already the cluster's default partition"
    );
    assert_eq!(problems.len(), 2);
}

#[test]
fn accounting_blocks_must_match_the_backend() {
    let mut c = common::cluster();
    c.spec.accounting.backend = AccountingBackend::Mysql;
    c.spec.accounting.storage = None;
    assert_eq!(
        validate_cluster(&c).unwrap_err().to_string(),
        "spec.accounting.mysql: required when backend is mysql (host, database, user, passwordSecret)"
    );
    c.spec.accounting.backend = AccountingBackend::Sqlite;
    c.spec.accounting.mysql = Some(MysqlSpec {
        host: "db".into(),
        port: 3306,
        database: "slurm".into(),
        user: "slurm".into(),
        password_secret: SecretKeyRef {
            name: "db".into(),
            key: "password".into(),
        },
    });
    assert_eq!(
        validate_cluster(&c).unwrap_err().to_string(),
        "spec.accounting.mysql: set, but backend is sqlite; remove it or set backend: mysql"
    );
}

#[test]
fn rds_needs_a_password_and_refuses_iam_auth() {
    let mut c = common::cluster();
    c.spec.accounting.backend = AccountingBackend::Rds;
    c.spec.accounting.storage = None;
    c.spec.accounting.rds = Some(RdsSpec {
        instance_identifier: "slurm-acct".into(),
        region: None,
        database: "slurm".into(),
        user: "slurm".into(),
        password_secret: None,
        iam_auth: false,
    });
    assert_eq!(
        validate_cluster(&c).unwrap_err().to_string(),
        "spec.accounting.rds.passwordSecret: required (the Secret key holding the database user's password)"
    );
    c.spec.accounting.rds.as_mut().unwrap().iam_auth = true;
    assert!(validate_cluster(&c).unwrap_err().to_string().starts_with(
        "spec.accounting.rds.iamAuth: IAM database authentication is not supported yet"
    ));
}

#[test]
fn cluster_level_problems_are_all_reported() {
    let mut c = common::cluster();
    c.spec.image = String::new();
    c.spec.image_pull_policy = Some("Sometimes".into());
    c.spec.scheduler.priority_decay_half_life = Some("a week".into());
    let message = validate_cluster(&c).unwrap_err().to_string();
    let parts: Vec<&str> = message.split("; ").collect();
    assert_eq!(parts[0], "spec.image: the slinky image is required");
    assert_eq!(
        parts[1],
        "spec.imagePullPolicy: \"Sometimes\" is not Always, IfNotPresent or Never"
    );
    assert!(parts[2].starts_with("spec.scheduler.priorityDecayHalfLife: invalid time limit"));
}

#[test]
fn provisioning_defaults_to_static() {
    let p: Partition = serde_saphyr::from_str(
        "apiVersion: slinky.io/v1alpha1\nkind: Partition\nmetadata: {name: p}\nspec: {clusterRef: c, nodes: 1}\n",
    )
    .unwrap();
    assert_eq!(p.spec.provisioning, Provisioning::Static);
    assert_eq!(p.spec.idle_scale_down_seconds, 600);
}
