//! The CRDs in crds/ are what `slinky crds` prints, and carry the validation users meet at
//! `kubectl apply`.

mod common;

use slinky_operator::crd::{self, CRDS_FILE, REGENERATE_COMMAND};

#[test]
fn crds_folder_is_up_to_date() {
    let path = common::repo().join(CRDS_FILE);
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = crd::crds_yaml().unwrap();
    assert!(
        on_disk == generated,
        "{CRDS_FILE} is stale (the CRD types changed). Regenerate it with\n  {REGENERATE_COMMAND}\n\
         and copy it into the chart with\n  bash deploy/sync-crds.sh"
    );
}

#[test]
fn crds_parse_back_and_name_both_kinds() {
    let text = crd::crds_yaml().unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slurmclusters.slinky.io", "partitions.slinky.io"]);
    let partition = &docs[1]["spec"];
    assert_eq!(partition["scope"], "Namespaced");
    let short: Vec<&str> = partition["names"]["shortNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(short, ["slurmpartition", "spart"]);
    let columns: Vec<&str> = partition["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "Cluster",
            "Provisioning",
            "Nodes",
            "Idle",
            "Alloc",
            "Pending",
            "Age"
        ]
    );
    assert!(partition["versions"][0]["subresources"]["status"].is_object());
}

#[test]
fn cel_rules_are_in_the_schemas() {
    let text = crd::crds_yaml().unwrap();
    assert!(text.contains("a dynamic partition needs instanceTypes or nodeSize"));
    assert!(text.contains("set exactly the block matching accounting.backend"));
}

#[test]
fn example_resources_deserialize() {
    let c = common::cluster();
    assert_eq!(c.spec.accounting.backend, crd::AccountingBackend::Sqlite);
    for p in common::partitions() {
        assert_eq!(p.spec.cluster_ref, "slinky-cluster");
    }
}

/// The CEL rules, evaluated client-side (kube's `cel` feature) as the API server would.
mod cel {
    use super::common;
    use kube::core::cel::validate_cel;
    use slinky_operator::crd::{AccountingBackend, Partition, Provisioning};

    fn messages<T: kube::CustomResourceExt + serde::Serialize>(obj: &T) -> Vec<String> {
        match validate_cel(obj) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_vec().into_iter().map(|e| e.message).collect(),
        }
    }

    #[test]
    fn the_examples_pass() {
        assert!(messages(&common::cluster()).is_empty());
        for p in common::partitions() {
            assert!(messages(&p).is_empty(), "{:?}", p.metadata.name);
        }
    }

    #[test]
    fn a_dynamic_partition_needs_instance_types_or_a_node_size() {
        let mut p: Partition = common::example("partition-gpu-dynamic.yaml");
        p.spec.instance_types.clear();
        assert_eq!(
            messages(&p),
            [
                "a dynamic partition needs instanceTypes or nodeSize: slinky writes each node's CPUs, memory and GPUs into slurm.conf before the node exists"
            ]
        );
        p.spec.provisioning = Provisioning::Static;
        assert!(messages(&p).is_empty());
    }

    #[test]
    fn the_accounting_block_must_match_the_backend() {
        let mut c = common::cluster();
        c.spec.accounting.backend = AccountingBackend::Mysql;
        assert_eq!(
            messages(&c),
            [
                "accounting: set exactly the block matching accounting.backend (mysql: for backend mysql, rds: for backend rds, neither for sqlite)"
            ]
        );
    }
}
