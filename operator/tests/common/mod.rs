//! Shared by the operator's integration tests: the example resources of examples/k8s/ and
//! golden-file comparison.

#![allow(dead_code)]

use slinky_operator::crd::{Partition, SlurmCluster};
use slinky_operator::instance_types::OfflineCatalog;
use slinky_operator::render::PartitionInput;
use slinky_operator::validate;
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A resource from examples/k8s/, with a uid (owner references need one).
pub fn example<T: serde::de::DeserializeOwned + kube::Resource>(file: &str) -> T {
    let path = repo().join("examples/k8s").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut obj: T =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = obj.meta().name.clone().unwrap_or_default();
    obj.meta_mut().uid = Some(format!("uid-{name}"));
    obj
}

/// The example cluster.
pub fn cluster() -> SlurmCluster {
    example("slurmcluster.yaml")
}

/// The example partitions: dynamic GPU, static GPU, dynamic CPU.
pub fn partitions() -> Vec<Partition> {
    vec![
        example("partition-gpu-dynamic.yaml"),
        example("partition-gpu-static.yaml"),
        example("partition-cpu.yaml"),
    ]
}

/// A partition validated against the offline table (panics when invalid).
pub fn input(p: &Partition) -> PartitionInput<'_> {
    let types = OfflineCatalog::describe_now(&p.spec.instance_types);
    let valid = validate::validate_partition(p, &types, None)
        .unwrap_or_else(|e| panic!("{}: {e}", p.metadata.name.as_deref().unwrap_or_default()));
    PartitionInput {
        partition: p,
        valid,
    }
}

/// Compares `actual` with operator/tests/golden/NAME; `SLINKY_UPDATE_GOLDEN=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("SLINKY_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return;
    }
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    panic!(
        "{} differs from the rendering at line {}:\n  golden:   {:?}\n  rendered: {:?}\n\
         If the change is intended, regenerate the golden files:\n  \
         SLINKY_UPDATE_GOLDEN=1 cargo test -p slinky-operator --test render",
        path.display(),
        line + 1,
        expected.lines().nth(line).unwrap_or("(end of file)"),
        actual.lines().nth(line).unwrap_or("(end of file)"),
    );
}
