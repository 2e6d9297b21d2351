//! Which of the node's GPUs each job uses. The controller allocates GPU *counts* (typed or
//! not); the node picks the devices, lowest free index first.

use std::collections::BTreeMap;

use slurm_core::model::{Gres, JobId};
use slurm_core::proto::GpuInfo;

/// The node's GPUs and their users.
#[derive(Debug, Clone, Default)]
pub struct GpuPool {
    /// Index and GRES type of each GPU, by index.
    devices: Vec<(u32, Option<String>)>,
    in_use: BTreeMap<u32, JobId>,
}

impl GpuPool {
    pub fn new(gpus: &[GpuInfo]) -> Self {
        let mut devices: Vec<_> = gpus.iter().map(|g| (g.index, g.kind.clone())).collect();
        devices.sort();
        Self {
            devices,
            in_use: BTreeMap::new(),
        }
    }

    /// Picks free GPUs for `job` matching its allocation `gres` on this node (only `gpu`
    /// entries count). Gives what is free when fewer than asked are (logged).
    pub fn assign(&mut self, job: JobId, gres: &[Gres]) -> Vec<u32> {
        let mut picked = Vec::new();
        for want in gres.iter().filter(|g| g.name == "gpu") {
            let free: Vec<u32> = self
                .devices
                .iter()
                .filter(|(i, kind)| {
                    !self.in_use.contains_key(i)
                        && !picked.contains(i)
                        && (want.kind.is_none() || kind.is_none() || *kind == want.kind)
                })
                .map(|(i, _)| *i)
                .take(usize::try_from(want.count).unwrap_or(usize::MAX))
                .collect();
            if (free.len() as u64) < want.count {
                tracing::warn!(
                    job_id = job,
                    wanted = %want,
                    free = free.len(),
                    "not enough free GPUs on this node for the job's allocation"
                );
            }
            picked.extend(free);
        }
        picked.sort_unstable();
        self.reserve(job, &picked);
        picked
    }

    /// Marks `gpus` as used by `job` (a re-adopted job keeps its devices).
    pub fn reserve(&mut self, job: JobId, gpus: &[u32]) {
        for &g in gpus {
            self.in_use.insert(g, job);
        }
    }

    /// Frees the GPUs of `job`.
    /// The GPUs `job` uses here.
    pub fn of_job(&self, job: JobId) -> Vec<u32> {
        self.in_use
            .iter()
            .filter(|(_, j)| **j == job)
            .map(|(i, _)| *i)
            .collect()
    }

    pub fn release(&mut self, job: JobId) {
        self.in_use.retain(|_, j| *j != job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> GpuPool {
        let gpu = |index, kind: &str| GpuInfo {
            kind: Some(kind.to_owned()),
            index,
            uuid: None,
            memory_mb: None,
            model: None,
        };
        GpuPool::new(&[gpu(2, "t4"), gpu(0, "a100"), gpu(1, "a100")])
    }

    #[test]
    fn assigns_by_type_and_releases() {
        let mut p = pool();
        assert_eq!(p.assign(1, &[Gres::new("gpu", Some("a100"), 1)]), vec![0]);
        assert_eq!(p.assign(2, &[Gres::new("gpu", None, 2)]), vec![1, 2]);
        assert_eq!(p.assign(3, &[Gres::new("gpu", None, 1)]), Vec::<u32>::new());
        p.release(2);
        assert_eq!(p.assign(4, &[Gres::new("gpu", Some("t4"), 1)]), vec![2]);
        assert_eq!(
            p.assign(5, &[Gres::new("shard", None, 1)]),
            Vec::<u32>::new()
        );
        p.reserve(6, &[1]);
        assert_eq!(
            p.assign(7, &[Gres::new("gpu", Some("a100"), 1)]),
            Vec::<u32>::new()
        );
    }
}
