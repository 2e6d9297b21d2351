//! Turns a job request into what it needs per node in one partition (cons_tres semantics).
//!
//! Tasks are spread evenly: a job of `n` tasks on `k` nodes needs `ceil(n / k)` tasks' worth
//! of CPUs on each node. Without `-N`, `k` is the fewest nodes the partition's largest node
//! size allows.

use super::resources::{GresKinds, GresNeed, NodeDemand};
use crate::config::SelectParams;
use crate::model::{Gres, JobSpec, MemRequest, PartitionConfig};

/// A job's per-node demand in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    pub nodes: u32,
    pub tasks_per_node: u32,
    pub demand: NodeDemand,
}

/// Why a request can never be satisfied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("Invalid generic resource (gres) specification")]
    UnknownGres(String),
    #[error("Requested node configuration is not available")]
    NodeConfigUnavailable,
}

impl Shape {
    /// Total CPUs over all nodes.
    pub fn total_cpus(&self) -> u64 {
        u64::from(self.nodes) * u64::from(self.demand.cpus)
    }
}

/// Computes the per-node shape of `spec` in `partition`, whose largest node has
/// `max_node_cpus` CPUs.
pub fn shape_for(
    spec: &JobSpec,
    partition: &PartitionConfig,
    max_node_cpus: u32,
    kinds: &GresKinds,
    select: &SelectParams,
) -> Result<Shape, ShapeError> {
    let cpt = spec.cpus_per_task.max(1);
    let ntasks = spec.ntasks.max(1).max(spec.min_nodes);
    let (nodes, tasks_per_node) = match spec.ntasks_per_node {
        Some(per) if per > 0 => (spec.min_nodes.max(ntasks.div_ceil(per)), per),
        _ => spread(ntasks, cpt, spec.min_nodes.max(1), max_node_cpus.max(1)),
    };
    let cpus = tasks_per_node.saturating_mul(cpt);
    let mut gres = Vec::new();
    let mut add = |g: &Gres, count: u64| -> Result<(), ShapeError> {
        let mask = kinds.mask_for(&g.name, g.kind.as_deref());
        if mask == 0 {
            return Err(ShapeError::UnknownGres(g.to_string()));
        }
        let count = u32::try_from(count).map_err(|_| ShapeError::NodeConfigUnavailable)?;
        if count > 0 {
            gres.push(GresNeed { mask, count });
        }
        Ok(())
    };
    for g in &spec.gres_per_node {
        add(g, g.count)?;
    }
    if let Some(g) = &spec.gpus.per_node {
        add(g, g.count)?;
    }
    if let Some(g) = &spec.gpus.per_task {
        add(g, g.count * u64::from(tasks_per_node))?;
    }
    if let Some(g) = &spec.gpus.per_job {
        add(g, g.count.div_ceil(u64::from(nodes)))?;
    }
    let (mem_mb, whole_memory) = if !select.track_memory {
        (0, false)
    } else {
        match spec.mem {
            MemRequest::Default => (
                partition.def_mem_per_cpu_mb.unwrap_or(0) * u64::from(cpus),
                false,
            ),
            MemRequest::PerNode(mb) => (mb, false),
            MemRequest::PerCpu(mb) => (mb * u64::from(cpus), false),
            MemRequest::WholeNode => (0, true),
        }
    };
    let exclusive = spec.exclusive
        || select.whole_nodes
        || partition.oversubscribe == crate::model::OverSubscribe::Exclusive;
    Ok(Shape {
        nodes,
        tasks_per_node,
        demand: NodeDemand {
            cpus,
            mem_mb,
            whole_memory,
            gres,
            exclusive,
        },
    })
}

/// The fewest nodes (at least `min_nodes`) over which `ntasks` tasks of `cpt` CPUs spread
/// evenly within `max_cpus` per node, and the tasks per node.
fn spread(ntasks: u32, cpt: u32, min_nodes: u32, max_cpus: u32) -> (u32, u32) {
    let tasks_fit = (max_cpus / cpt).max(1);
    let mut nodes = min_nodes.max(ntasks.div_ceil(tasks_fit));
    loop {
        let per = ntasks.div_ceil(nodes);
        if per * cpt <= max_cpus || nodes >= ntasks {
            return (nodes, per);
        }
        nodes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part() -> PartitionConfig {
        PartitionConfig::new("p", vec![])
    }

    #[test]
    fn tasks_spread_over_the_fewest_nodes() {
        let kinds = GresKinds::default();
        let spec = JobSpec {
            ntasks: 10,
            cpus_per_task: 2,
            ..JobSpec::default()
        };
        let s = shape_for(&spec, &part(), 8, &kinds, &SelectParams::default()).unwrap();
        assert_eq!((s.nodes, s.tasks_per_node, s.demand.cpus), (3, 4, 8));
        let spec = JobSpec {
            min_nodes: 2,
            ntasks: 1,
            ..JobSpec::default()
        };
        let s = shape_for(&spec, &part(), 8, &kinds, &SelectParams::default()).unwrap();
        assert_eq!(
            (s.nodes, s.tasks_per_node),
            (2, 1),
            "-N 2 implies one task per node"
        );
    }

    #[test]
    fn gpus_per_job_split_across_nodes_and_unknown_gres_rejected() {
        let mut kinds = GresKinds::default();
        kinds.intern("gpu", Some("a100")).unwrap();
        let spec = JobSpec {
            min_nodes: 2,
            gpus: crate::model::GpuRequest {
                per_job: Some(Gres::new("gpu", None, 16)),
                ..Default::default()
            },
            ..JobSpec::default()
        };
        let s = shape_for(&spec, &part(), 96, &kinds, &SelectParams::default()).unwrap();
        assert_eq!(s.demand.gres, vec![GresNeed { mask: 1, count: 8 }]);
        let bad = JobSpec {
            gres_per_node: vec![Gres::new("fpga", None, 1)],
            ..JobSpec::default()
        };
        assert!(matches!(
            shape_for(&bad, &part(), 96, &kinds, &SelectParams::default()),
            Err(ShapeError::UnknownGres(_))
        ));
    }
}
