//! The size of a partition's Slurm nodes: from `nodeSize`, else the smallest of its
//! `instanceTypes`, else (static partitions) the Kubernetes node its selector matches; and
//! the GRES they offer.

use crate::crd::Partition;
use crate::instance_types::InstanceType;
use slurm_core::model::Gres;
use std::collections::BTreeMap;

/// A Slurm node's hardware, as slurm.conf and the worker pod state it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeShape {
    /// Slurm `CPUs`.
    pub cpus: u32,
    /// Slurm `RealMemory`, MiB (the machine's memory less [`memory_reserve_mib`] when the
    /// size comes from an instance type).
    pub real_memory_mib: u64,
    /// GPUs per node.
    pub gpus: u32,
    /// Their GRES type (`a100`).
    pub gpu_type: Option<String>,
    /// EFA interfaces of the instance type (0: none known).
    pub efa_interfaces: u32,
    /// Where the size came from, for messages (`nodeSize`, `p4d.24xlarge`, `node ip-10-…`).
    pub source: String,
    /// True when the size was given explicitly (`nodeSize`): used verbatim for the pods too.
    pub explicit: bool,
}

/// Memory kept back from Slurm on an instance-sized node for the kubelet, the system and
/// daemon pods: 10% of the machine, at least 2 GiB, at most 32 GiB.
pub fn memory_reserve_mib(memory_mib: u64) -> u64 {
    (memory_mib / 10).clamp(2048, 32 * 1024).min(memory_mib / 2)
}

/// CPU kept back from the worker pod's request (not from Slurm), in millicores: one core on
/// machines with 8 or more vCPUs, half a core below.
pub fn cpu_reserve_millis(vcpus: u32) -> u64 {
    if vcpus >= 8 { 1000 } else { 500 }
}

/// Why a partition's nodes could not be sized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// An instance type that neither the table nor EC2 knows.
    #[error(
        "spec.instanceTypes: unknown instance type {0:?} (not in slinky's table; set spec.nodeSize, or run the operator built with the aws feature to ask EC2)"
    )]
    UnknownInstanceType(String),
    /// Nothing to size the nodes from.
    #[error("spec.nodeSize: cannot size the nodes: set spec.nodeSize or spec.instanceTypes{0}")]
    NoSize(&'static str),
}

impl NodeShape {
    /// The shape of an instance type (memory less the reserve).
    pub fn from_instance(t: &InstanceType, source: String) -> Self {
        Self {
            cpus: t.vcpus,
            real_memory_mib: t.memory_mib - memory_reserve_mib(t.memory_mib),
            gpus: t.gpus,
            gpu_type: t.gpu_type.clone(),
            efa_interfaces: t.efa_interfaces,
            source,
            explicit: false,
        }
    }
}

/// Sizes `partition`'s nodes. `types` holds the looked-up `instanceTypes`; `discovered` is
/// what the reconciler found on a Kubernetes node matching a static partition's selector.
pub fn resolve_shape(
    partition: &Partition,
    types: &BTreeMap<String, InstanceType>,
    discovered: Option<&InstanceType>,
) -> Result<NodeShape, ShapeError> {
    let spec = &partition.spec;
    let known: Vec<&InstanceType> = spec
        .instance_types
        .iter()
        .map(|n| {
            types
                .get(n)
                .ok_or_else(|| ShapeError::UnknownInstanceType(n.clone()))
        })
        .collect::<Result<_, _>>()
        .or_else(|e| {
            if spec.node_size.is_some() {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })?;
    if let Some(size) = &spec.node_size {
        return Ok(NodeShape {
            cpus: size.cpus,
            real_memory_mib: size.memory_mib,
            gpus: size.gpus.unwrap_or(0),
            gpu_type: size.gpu_type.clone().or_else(|| common_gpu_type(&known)),
            efa_interfaces: known.iter().map(|t| t.efa_interfaces).min().unwrap_or(0),
            source: "spec.nodeSize".into(),
            explicit: true,
        });
    }
    if let Some(first) = known.first() {
        let smallest = InstanceType {
            name: first.name.clone(),
            vcpus: known.iter().map(|t| t.vcpus).min().unwrap_or(0),
            memory_mib: known.iter().map(|t| t.memory_mib).min().unwrap_or(0),
            gpus: known.iter().map(|t| t.gpus).min().unwrap_or(0),
            gpu_type: common_gpu_type(&known),
            gpu_model: None,
            efa_interfaces: known.iter().map(|t| t.efa_interfaces).min().unwrap_or(0),
        };
        let names: Vec<&str> = known.iter().map(|t| t.name.as_str()).collect();
        return Ok(NodeShape::from_instance(&smallest, names.join(",")));
    }
    if let Some(t) = discovered {
        return Ok(NodeShape::from_instance(t, t.name.clone()));
    }
    Err(ShapeError::NoSize(match spec.provisioning {
        crate::crd::Provisioning::Static => {
            " (no Kubernetes node matching spec.nodeSelector was found to size them from)"
        }
        crate::crd::Provisioning::Dynamic => "",
    }))
}

/// The GPU type every listed instance type shares, if any.
fn common_gpu_type(types: &[&InstanceType]) -> Option<String> {
    let first = types.first()?.gpu_type.clone()?;
    types
        .iter()
        .all(|t| t.gpu_type.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The GRES a node of `shape` offers: `spec.gres` (typed with the instance's GPU type when
/// it names none), else the shape's GPUs. Errors name the field.
pub fn node_gres(partition: &Partition, shape: &NodeShape) -> Result<Vec<Gres>, String> {
    let Some(text) = partition.spec.gres.as_deref() else {
        return Ok(if shape.gpus > 0 {
            vec![Gres::new(
                "gpu",
                shape.gpu_type.as_deref(),
                shape.gpus.into(),
            )]
        } else {
            Vec::new()
        });
    };
    let mut gres =
        slurm_core::parse::tres::parse_gres_list(text).map_err(|e| format!("spec.gres: {e}"))?;
    for g in &mut gres {
        if g.name != "gpu" {
            continue;
        }
        let has = u64::from(shape.gpus);
        if g.count > has {
            let what = if shape.explicit {
                format!("spec.nodeSize.gpus is {has}")
            } else {
                format!("instance type {} has {has} GPUs", shape.source)
            };
            return Err(format!(
                "spec.gres asks for {} but {what}",
                slurm_core::parse::tres::format_gres_list(std::slice::from_ref(g))
            ));
        }
        match (&g.kind, &shape.gpu_type) {
            (None, Some(kind)) => g.kind = Some(kind.clone()),
            (Some(asked), Some(kind)) if !asked.eq_ignore_ascii_case(kind) => {
                return Err(format!(
                    "spec.gres asks for GPU type {asked} but {} has {kind} GPUs",
                    if shape.explicit {
                        "spec.nodeSize"
                    } else {
                        shape.source.as_str()
                    }
                ));
            }
            _ => {}
        }
    }
    Ok(gres)
}

/// The number of GPUs in `gres`.
pub fn gpu_count(gres: &[Gres]) -> u64 {
    gres.iter()
        .filter(|g| g.name == "gpu")
        .map(|g| g.count)
        .sum()
}
