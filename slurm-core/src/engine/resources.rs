//! Per-node resource vectors (CPUs, memory, typed GRES) and the arithmetic the selector and
//! the backfill planner do on them.

use crate::model::Gres;
use std::fmt;

/// The most distinct GRES kinds (`gpu:a100`, `gpu:h100`, `shard`...) one cluster may define.
pub const MAX_GRES_KINDS: usize = 8;

/// The cluster's GRES kinds, indexed: each distinct `(name, type)` found on the nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GresKinds {
    kinds: Vec<(String, Option<String>)>,
}

/// A cluster that configures more GRES kinds than [`MAX_GRES_KINDS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many distinct GRES kinds (at most {MAX_GRES_KINDS} name:type pairs are supported)")]
pub struct TooManyGresKinds;

impl GresKinds {
    /// The index of `(name, type)`, registering it if new.
    pub fn intern(&mut self, name: &str, kind: Option<&str>) -> Result<usize, TooManyGresKinds> {
        if let Some(i) = self.position(name, kind) {
            return Ok(i);
        }
        if self.kinds.len() == MAX_GRES_KINDS {
            return Err(TooManyGresKinds);
        }
        self.kinds.push((name.to_owned(), kind.map(str::to_owned)));
        Ok(self.kinds.len() - 1)
    }

    /// The index of exactly `(name, type)`, if registered.
    pub fn index_of(&self, name: &str, kind: Option<&str>) -> Option<usize> {
        self.position(name, kind)
    }

    fn position(&self, name: &str, kind: Option<&str>) -> Option<usize> {
        self.kinds
            .iter()
            .position(|(n, k)| n == name && k.as_deref() == kind)
    }

    /// The kinds a request for `name[:type]` may use: all types of `name` when untyped.
    pub fn mask_for(&self, name: &str, kind: Option<&str>) -> u8 {
        self.kinds
            .iter()
            .enumerate()
            .filter(|(_, (n, k))| n == name && (kind.is_none() || k.as_deref() == kind))
            .fold(0u8, |mask, (i, _)| mask | (1 << i))
    }

    pub fn gres(&self, index: usize, count: u64) -> Gres {
        let (name, kind) = &self.kinds[index];
        Gres {
            name: name.clone(),
            kind: kind.clone(),
            count,
        }
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// True when any kind is named `name` (e.g. the cluster has GPUs at all).
    pub fn has_name(&self, name: &str) -> bool {
        self.kinds.iter().any(|(n, _)| n == name)
    }
}

/// Resources on one node: what it has, what is free, or what is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Res {
    pub cpus: u32,
    pub mem_mb: u64,
    pub gres: [u32; MAX_GRES_KINDS],
}

impl Res {
    pub const ZERO: Res = Res {
        cpus: 0,
        mem_mb: 0,
        gres: [0; MAX_GRES_KINDS],
    };

    /// True when every component of `self` is at least `other`'s.
    pub fn covers(&self, other: &Res) -> bool {
        self.cpus >= other.cpus
            && self.mem_mb >= other.mem_mb
            && self.gres.iter().zip(other.gres.iter()).all(|(a, b)| a >= b)
    }

    /// Adds `other` component-wise.
    pub fn add(&mut self, other: &Res) {
        self.cpus += other.cpus;
        self.mem_mb += other.mem_mb;
        for (a, b) in self.gres.iter_mut().zip(other.gres.iter()) {
            *a += b;
        }
    }

    /// Subtracts `other` component-wise, saturating at zero (callers check `covers` first).
    pub fn sub(&mut self, other: &Res) {
        self.cpus = self.cpus.saturating_sub(other.cpus);
        self.mem_mb = self.mem_mb.saturating_sub(other.mem_mb);
        for (a, b) in self.gres.iter_mut().zip(other.gres.iter()) {
            *a = a.saturating_sub(*b);
        }
    }

    /// Whether taking `self` from points whose component-wise maximum is `range_most` can
    /// lower `most`, the maximum over a larger set of points: only in a component that is
    /// taken, non-zero, and reached within the range.
    pub fn may_lower_max(&self, most: &Res, range_most: &Res) -> bool {
        let hit = |taken: u64, most: u64, range: u64| taken > 0 && most > 0 && range >= most;
        hit(
            u64::from(self.cpus),
            u64::from(most.cpus),
            u64::from(range_most.cpus),
        ) || hit(self.mem_mb, most.mem_mb, range_most.mem_mb)
            || (0..MAX_GRES_KINDS).any(|k| {
                hit(
                    u64::from(self.gres[k]),
                    u64::from(most.gres[k]),
                    u64::from(range_most.gres[k]),
                )
            })
    }

    /// Lowers every component to at most `other`'s (component-wise minimum).
    pub fn meet(&mut self, other: &Res) {
        self.cpus = self.cpus.min(other.cpus);
        self.mem_mb = self.mem_mb.min(other.mem_mb);
        for (a, b) in self.gres.iter_mut().zip(other.gres.iter()) {
            *a = (*a).min(*b);
        }
    }

    /// Raises every component to at least `other`'s (component-wise maximum).
    pub fn join(&mut self, other: &Res) {
        self.cpus = self.cpus.max(other.cpus);
        self.mem_mb = self.mem_mb.max(other.mem_mb);
        for (a, b) in self.gres.iter_mut().zip(other.gres.iter()) {
            *a = (*a).max(*b);
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    pub fn total_gres(&self) -> u64 {
        self.gres.iter().map(|&g| u64::from(g)).sum()
    }
}

impl fmt::Display for Res {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpu={},mem={}M", self.cpus, self.mem_mb)?;
        for (i, g) in self.gres.iter().enumerate().filter(|(_, g)| **g > 0) {
            write!(f, ",gres#{i}={g}")?;
        }
        Ok(())
    }
}

/// One GRES need of a job on each node: `count` units from any kind in `mask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GresNeed {
    pub mask: u8,
    pub count: u32,
}

/// The GRES kinds a need's mask accepts, in index order.
fn kinds(mask: u8) -> impl Iterator<Item = usize> {
    let mut rest = mask;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            i
        })
    })
}

/// What a job needs on each of its nodes. GRES needs may be untyped (served by any type).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NodeDemand {
    pub cpus: u32,
    pub mem_mb: u64,
    /// `--mem=0`: all of the node's memory.
    pub whole_memory: bool,
    pub gres: Vec<GresNeed>,
    /// `--exclusive`: the node must be empty and is taken whole.
    pub exclusive: bool,
}

impl NodeDemand {
    /// The concrete resources this demand takes from a node with `free` available, or `None`
    /// when it does not fit. Untyped GRES needs are served from kinds in index order.
    pub fn take_from(&self, free: &Res, capacity: &Res) -> Option<Res> {
        if self.exclusive {
            return (free == capacity && self.fits_capacity(capacity)).then_some(*capacity);
        }
        let mem = if self.whole_memory {
            capacity.mem_mb
        } else {
            self.mem_mb
        };
        if free.cpus < self.cpus || free.mem_mb < mem {
            return None;
        }
        let mut taken = Res {
            cpus: self.cpus,
            mem_mb: mem,
            gres: [0; MAX_GRES_KINDS],
        };
        let mut left = free.gres;
        for need in &self.gres {
            let mut remaining = need.count;
            for i in kinds(need.mask) {
                if remaining == 0 {
                    break;
                }
                let n = remaining.min(left[i]);
                left[i] -= n;
                taken.gres[i] += n;
                remaining -= n;
            }
            if remaining > 0 {
                return None;
            }
        }
        Some(taken)
    }

    /// True when the demand fits in `free` on a node of `capacity` (same rules as
    /// [`NodeDemand::take_from`], without building the result).
    pub fn fits(&self, free: &Res, capacity: &Res) -> bool {
        if self.exclusive {
            return free == capacity;
        }
        let mem = if self.whole_memory {
            capacity.mem_mb
        } else {
            self.mem_mb
        };
        if free.cpus < self.cpus || free.mem_mb < mem {
            return false;
        }
        self.gres.is_empty() || self.gres_fit(&free.gres)
    }

    /// [`NodeDemand::fits`] on `before` less `taken` (saturating), without building that
    /// difference unless the CPUs and memory fit: a profile scan asks this at every point.
    pub fn fits_minus(&self, before: &Res, taken: &Res, capacity: &Res) -> bool {
        if self.exclusive {
            let mut free = *before;
            free.sub(taken);
            return free == *capacity;
        }
        let mem = if self.whole_memory {
            capacity.mem_mb
        } else {
            self.mem_mb
        };
        if before.cpus.saturating_sub(taken.cpus) < self.cpus
            || before.mem_mb.saturating_sub(taken.mem_mb) < mem
        {
            return false;
        }
        match self.gres.as_slice() {
            [] => true,
            [need] => {
                let free = kinds(need.mask)
                    .map(|i| u64::from(before.gres[i].saturating_sub(taken.gres[i])))
                    .sum::<u64>();
                free >= u64::from(need.count)
            }
            _ => {
                let mut gres = before.gres;
                for (a, b) in gres.iter_mut().zip(taken.gres.iter()) {
                    *a = a.saturating_sub(*b);
                }
                self.gres_fit(&gres)
            }
        }
    }

    /// True when every node that can hold `self` can also hold `other`, at any time: `self`
    /// needs at least as much of everything.
    pub fn dominates(&self, other: &NodeDemand) -> bool {
        let mem_ok = self.whole_memory || (!other.whole_memory && self.mem_mb >= other.mem_mb);
        let gres_ok = other.gres.iter().all(|o| {
            self.gres
                .iter()
                .any(|s| s.mask == o.mask && s.count >= o.count)
        });
        (self.exclusive || !other.exclusive) && self.cpus >= other.cpus && mem_ok && gres_ok
    }

    /// True when the demand could ever fit on a node of this capacity.
    pub fn fits_capacity(&self, capacity: &Res) -> bool {
        let mem = if self.whole_memory { 0 } else { self.mem_mb };
        capacity.cpus >= self.cpus && capacity.mem_mb >= mem && self.gres_fit(&capacity.gres)
    }

    fn gres_fit(&self, free: &[u32; MAX_GRES_KINDS]) -> bool {
        if let [need] = self.gres.as_slice() {
            // One need (the usual case): the kinds it accepts hold enough together.
            return kinds(need.mask).map(|i| u64::from(free[i])).sum::<u64>()
                >= u64::from(need.count);
        }
        let mut left = *free;
        self.gres.iter().all(|need| {
            let mut remaining = need.count;
            for i in kinds(need.mask) {
                let n = remaining.min(left[i]);
                left[i] -= n;
                remaining -= n;
            }
            remaining == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_node(kinds: &mut GresKinds) -> Res {
        let a100 = kinds.intern("gpu", Some("a100")).unwrap();
        let mut r = Res {
            cpus: 96,
            mem_mb: 1_000_000,
            ..Res::ZERO
        };
        r.gres[a100] = 8;
        r
    }

    #[test]
    fn untyped_gpu_request_is_served_by_typed_gpus() {
        let mut kinds = GresKinds::default();
        let cap = gpu_node(&mut kinds);
        let demand = NodeDemand {
            cpus: 4,
            mem_mb: 100,
            gres: vec![GresNeed {
                mask: kinds.mask_for("gpu", None),
                count: 2,
            }],
            ..Default::default()
        };
        let taken = demand.take_from(&cap, &cap).unwrap();
        assert_eq!(taken.gres[0], 2);
        let typed = NodeDemand {
            gres: vec![GresNeed {
                mask: kinds.mask_for("gpu", Some("h100")),
                count: 1,
            }],
            ..demand.clone()
        };
        assert!(typed.take_from(&cap, &cap).is_none(), "no h100 on the node");
    }

    #[test]
    fn exclusive_needs_an_empty_node_and_takes_it_all() {
        let mut kinds = GresKinds::default();
        let cap = gpu_node(&mut kinds);
        let demand = NodeDemand {
            cpus: 1,
            exclusive: true,
            ..Default::default()
        };
        assert_eq!(demand.take_from(&cap, &cap), Some(cap));
        let mut busy = cap;
        busy.cpus -= 1;
        assert_eq!(demand.take_from(&busy, &cap), None);
    }

    fn small_res() -> impl proptest::strategy::Strategy<Value = Res> {
        use proptest::prelude::*;
        (0u32..6, 0u64..6, proptest::array::uniform2(0u32..4)).prop_map(|(cpus, mem_mb, g)| {
            let mut r = Res {
                cpus,
                mem_mb,
                ..Res::ZERO
            };
            r.gres[..2].copy_from_slice(&g);
            r
        })
    }

    proptest::proptest! {
        /// Asking on a point less what its chunk has taken answers like asking on the
        /// difference, and like taking the resources.
        #[test]
        fn fits_minus_is_fits_on_the_difference(
            before in small_res(),
            taken in small_res(),
            capacity in small_res(),
            cpus in 0u32..4,
            mem_mb in 0u64..4,
            whole_memory in proptest::bool::ANY,
            exclusive in proptest::bool::weighted(0.1),
            needs in proptest::collection::vec((1u8..4, 1u32..3), 0..3),
        ) {
            let demand = NodeDemand {
                cpus,
                mem_mb,
                whole_memory,
                gres: needs.into_iter().map(|(mask, count)| GresNeed { mask, count }).collect(),
                exclusive,
            };
            let mut free = before;
            free.sub(&taken);
            proptest::prop_assert_eq!(
                demand.fits_minus(&before, &taken, &capacity),
                demand.fits(&free, &capacity)
            );
            // And both agree with taking the resources need by need (an exclusive demand
            // also needs to fit the node's capacity to be taken).
            if !exclusive {
                proptest::prop_assert_eq!(
                    demand.fits(&free, &capacity),
                    demand.take_from(&free, &capacity).is_some()
                );
            }
        }
    }
}
