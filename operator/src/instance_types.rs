//! EC2 instance types: vCPUs, memory, GPUs and EFA interfaces, from an offline table of
//! common types. With the `aws` feature, `crate::aws::Ec2Catalog` asks EC2's
//! DescribeInstanceTypes and falls back to this table.

use futures::future::BoxFuture;
use std::collections::BTreeMap;

/// What slinky needs to know about an instance type to write its Slurm node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceType {
    /// The EC2 name (`p4d.24xlarge`).
    pub name: String,
    pub vcpus: u32,
    /// Memory, MiB.
    pub memory_mib: u64,
    pub gpus: u32,
    /// The GPUs' GRES type (`a100`, `h100`, `a10g`), lowercase.
    pub gpu_type: Option<String>,
    /// The GPU model as AWS names it (`NVIDIA A100 40GB`).
    pub gpu_model: Option<String>,
    /// EFA network interfaces (0: no EFA).
    pub efa_interfaces: u32,
}

/// One row of the offline table.
struct Row {
    name: &'static str,
    vcpus: u32,
    memory_gib: u64,
    gpus: u32,
    gpu: Option<(&'static str, &'static str)>,
    efa: u32,
}

const fn cpu(name: &'static str, vcpus: u32, memory_gib: u64, efa: u32) -> Row {
    Row {
        name,
        vcpus,
        memory_gib,
        gpus: 0,
        gpu: None,
        efa,
    }
}

const fn gpu(
    name: &'static str,
    vcpus: u32,
    memory_gib: u64,
    gpus: u32,
    kind: (&'static str, &'static str),
    efa: u32,
) -> Row {
    Row {
        name,
        vcpus,
        memory_gib,
        gpus,
        gpu: Some(kind),
        efa,
    }
}

const A100_40: (&str, &str) = ("a100", "NVIDIA A100 40GB");
const A100_80: (&str, &str) = ("a100", "NVIDIA A100 80GB");
const H100: (&str, &str) = ("h100", "NVIDIA H100 80GB");
const H200: (&str, &str) = ("h200", "NVIDIA H200 141GB");
const A10G: (&str, &str) = ("a10g", "NVIDIA A10G 24GB");
const L4: (&str, &str) = ("l4", "NVIDIA L4 24GB");

/// Names that are not EC2 types but appear in documentation, and the type they mean.
/// `p4dn.24xlarge` does not exist; guides that say it mean `p4d.24xlarge`.
const ALIASES: &[(&str, &str)] = &[("p4dn.24xlarge", "p4d.24xlarge")];

/// The offline table (public EC2 specifications). EFA counts are the maximum EFA-capable
/// network interfaces; 0 where the type has none (or where slinky does not know of one).
const TABLE: &[Row] = &[
    gpu("p4d.24xlarge", 96, 1152, 8, A100_40, 4),
    gpu("p4de.24xlarge", 96, 1152, 8, A100_80, 4),
    gpu("p5.48xlarge", 192, 2048, 8, H100, 32),
    gpu("p5e.48xlarge", 192, 2048, 8, H200, 32),
    gpu("p5en.48xlarge", 192, 2048, 8, H200, 16),
    gpu("g5.xlarge", 4, 16, 1, A10G, 0),
    gpu("g5.2xlarge", 8, 32, 1, A10G, 0),
    gpu("g5.4xlarge", 16, 64, 1, A10G, 0),
    gpu("g5.8xlarge", 32, 128, 1, A10G, 1),
    gpu("g5.12xlarge", 48, 192, 4, A10G, 1),
    gpu("g5.16xlarge", 64, 256, 1, A10G, 1),
    gpu("g5.24xlarge", 96, 384, 4, A10G, 1),
    gpu("g5.48xlarge", 192, 768, 8, A10G, 1),
    gpu("g6.xlarge", 4, 16, 1, L4, 0),
    gpu("g6.2xlarge", 8, 32, 1, L4, 0),
    gpu("g6.4xlarge", 16, 64, 1, L4, 0),
    gpu("g6.8xlarge", 32, 128, 1, L4, 1),
    gpu("g6.12xlarge", 48, 192, 4, L4, 1),
    gpu("g6.16xlarge", 64, 256, 1, L4, 1),
    gpu("g6.24xlarge", 96, 384, 4, L4, 1),
    gpu("g6.48xlarge", 192, 768, 8, L4, 1),
    cpu("c5.large", 2, 4, 0),
    cpu("c5.xlarge", 4, 8, 0),
    cpu("c5.2xlarge", 8, 16, 0),
    cpu("c5.4xlarge", 16, 32, 0),
    cpu("c5.9xlarge", 36, 72, 0),
    cpu("c5.12xlarge", 48, 96, 0),
    cpu("c5.18xlarge", 72, 144, 0),
    cpu("c5.24xlarge", 96, 192, 0),
    cpu("c5.metal", 96, 192, 0),
    cpu("c5n.9xlarge", 36, 96, 1),
    cpu("c5n.18xlarge", 72, 192, 1),
    cpu("m5.large", 2, 8, 0),
    cpu("m5.xlarge", 4, 16, 0),
    cpu("m5.2xlarge", 8, 32, 0),
    cpu("m5.4xlarge", 16, 64, 0),
    cpu("m5.8xlarge", 32, 128, 0),
    cpu("m5.12xlarge", 48, 192, 0),
    cpu("m5.16xlarge", 64, 256, 0),
    cpu("m5.24xlarge", 96, 384, 0),
    cpu("m5.metal", 96, 384, 0),
];

impl Row {
    fn to_instance_type(&self, name: &str) -> InstanceType {
        InstanceType {
            name: name.to_owned(),
            vcpus: self.vcpus,
            memory_mib: self.memory_gib * 1024,
            gpus: self.gpus,
            gpu_type: self.gpu.map(|(kind, _)| kind.to_owned()),
            gpu_model: self.gpu.map(|(_, model)| model.to_owned()),
            efa_interfaces: self.efa,
        }
    }
}

/// The real EC2 name behind `name` (`p4dn.24xlarge` → `p4d.24xlarge`), else `name`.
pub fn canonical_name(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, real)| real)
}

/// Looks `name` up in the offline table (aliases included; the result keeps the name
/// asked for).
pub fn lookup(name: &str) -> Option<InstanceType> {
    let real = canonical_name(name);
    TABLE
        .iter()
        .find(|row| row.name == real)
        .map(|row| row.to_instance_type(name))
}

/// Every type the offline table knows, aliases excluded.
pub fn known_names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|row| row.name)
}

/// Where instance types are looked up. The reconciler resolves a partition's types through
/// this before rendering, so rendering stays pure.
pub trait InstanceTypeCatalog: Send + Sync {
    /// The types of `names` that this catalog knows, by the name asked for; unknown names
    /// are left out (validation reports them).
    fn describe<'a>(&'a self, names: &'a [String])
    -> BoxFuture<'a, BTreeMap<String, InstanceType>>;
}

/// The offline table only (the default build).
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineCatalog;

impl OfflineCatalog {
    /// The types of `names` the table knows.
    pub fn describe_now(names: &[String]) -> BTreeMap<String, InstanceType> {
        names
            .iter()
            .filter_map(|n| lookup(n).map(|t| (n.clone(), t)))
            .collect()
    }
}

impl InstanceTypeCatalog for OfflineCatalog {
    fn describe<'a>(
        &'a self,
        names: &'a [String],
    ) -> BoxFuture<'a, BTreeMap<String, InstanceType>> {
        Box::pin(async move { Self::describe_now(names) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p4dn_is_an_alias_of_p4d() {
        let t = lookup("p4dn.24xlarge").unwrap();
        assert_eq!(t.name, "p4dn.24xlarge");
        assert_eq!(
            (t.vcpus, t.memory_mib, t.gpus, t.efa_interfaces),
            (96, 1152 * 1024, 8, 4)
        );
        assert_eq!(t.gpu_type.as_deref(), Some("a100"));
        assert_eq!(t.gpu_model.as_deref(), Some("NVIDIA A100 40GB"));
        assert_eq!(canonical_name("p4dn.24xlarge"), "p4d.24xlarge");
    }

    #[test]
    fn common_types_are_known() {
        for name in [
            "p4d.24xlarge",
            "p4de.24xlarge",
            "p5.48xlarge",
            "p5e.48xlarge",
            "g5.xlarge",
            "g5.48xlarge",
            "g6.12xlarge",
            "c5.24xlarge",
            "m5.large",
        ] {
            assert!(lookup(name).is_some(), "{name}");
        }
        assert_eq!(lookup("c5.24xlarge").unwrap().vcpus, 96);
        assert_eq!(
            lookup("p5.48xlarge").unwrap().gpu_type.as_deref(),
            Some("h100")
        );
        assert!(lookup("x9.nonsense").is_none());
    }

    #[test]
    fn table_has_no_duplicates() {
        let mut names: Vec<_> = known_names().collect();
        let len = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), len);
    }
}
