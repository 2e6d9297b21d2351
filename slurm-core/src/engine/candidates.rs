//! Which pending jobs a pass considers, in what order and with what priority: eligibility
//! (holds, begin times, dependencies, QOS wall limits, usable partitions) with the pending
//! reason of those left out, multifactor or basic priorities, and the order a pass walks —
//! a fresh sort, or the kept order of [`super::queue`].

use super::deps::DepStatus;
use super::fairshare::{Fairshare, UserId};
use super::fxhash::FastSet;
use super::priority::{self, JobFacts, Norms};
use super::profile::NEVER;
use super::queue::{PendingOrder, least_need, suffix_least};
use super::shape::shape_for;
use super::{Clock, Engine, PlacementOption};
use crate::model::{Job, JobId, PartitionState, PendingReason, TimeLimit, Timestamp};
use std::sync::Arc;

/// An eligible job's placement options for this pass.
pub(super) struct Candidate {
    pub(super) id: JobId,
    pub(super) tier: u16,
    pub(super) priority: u32,
    pub(super) seq: u64,
    /// (partition index, shape, duration in seconds) per usable partition, in user order.
    pub(super) options: Arc<[PlacementOption]>,
    /// For an array with tasks still to start and a `%N` throttle: N, the most of its tasks
    /// that may run at once (kept here so that the pass need not look the job up again).
    pub(super) array_limit: Option<u32>,
}

/// Placement options shared by every job that has the same ones (jobs repeat requests:
/// arrays, the same script submitted again). A pass reads each candidate's options, and
/// shared ones stay in cache where one copy per job would not.
#[derive(Default)]
pub(super) struct SharedPlacements {
    set: FastSet<Arc<[PlacementOption]>>,
    /// The set's size when it last dropped the options no job holds any more.
    kept_after_pruning: usize,
}

/// The fewest shared options before the set is pruned.
const PRUNE_FROM: usize = 1024;

impl SharedPlacements {
    /// `options`, shared with any job that has the same.
    fn share(&mut self, options: Vec<PlacementOption>) -> Arc<[PlacementOption]> {
        if let Some(shared) = self.set.get(options.as_slice()) {
            return shared.clone();
        }
        if self.set.len() >= 2 * self.kept_after_pruning.max(PRUNE_FROM) {
            // Held by the set alone: no job has these options any more.
            self.set.retain(|shared| Arc::strong_count(shared) > 1);
            self.kept_after_pruning = self.set.len();
        }
        let shared: Arc<[PlacementOption]> = options.into();
        self.set.insert(shared.clone());
        shared
    }
}

/// Where a pass takes its candidates from (see [`super::queue`]).
pub(super) enum PassQueue {
    /// Every eligible job, sorted, with the least any candidate from each position on needs.
    Sorted {
        candidates: std::vec::IntoIter<Candidate>,
        least: Vec<(u32, i64)>,
        pos: usize,
    },
    /// The kept order of `priority/basic`, walked lazily.
    Kept {
        order: PendingOrder,
        generation: u64,
        pos: usize,
    },
}

/// What candidates are judged by during one pass.
pub(super) struct PassInputs {
    norms: Norms,
    /// Fairshare factor per (account, user), computed once per pass.
    fairshare: FairshareCache,
    /// Jobs this pass started. A kept order is walked lazily, after earlier starts; a
    /// dependency is still judged as the pass found it (`after:` a job started by this very
    /// pass waits for the next one, as when every candidate was checked up front).
    pub(super) started: Vec<JobId>,
}

/// Fairshare factors by association, computed once per pass (NaN: not yet).
#[derive(Default)]
struct FairshareCache(Vec<f64>);

impl FairshareCache {
    fn factor(&mut self, fairshare: &Fairshare, user: UserId) -> f64 {
        if self.0.len() <= user.index() {
            self.0
                .resize(fairshare.user_count().max(user.index() + 1), f64::NAN);
        }
        let cached = &mut self.0[user.index()];
        if cached.is_nan() {
            *cached = fairshare.factor_of(user);
        }
        *cached
    }
}

impl PassInputs {
    pub(super) fn new<C: Clock>(engine: &Engine<C>) -> Self {
        Self {
            norms: Norms {
                total_cpus: engine.total_cpus,
                max_partition_factor: engine
                    .parts
                    .iter()
                    .map(|p| p.config.priority_job_factor)
                    .max()
                    .unwrap_or(1),
                max_qos_priority: engine.qos.values().map(|q| q.priority).max().unwrap_or(0),
            },
            fairshare: FairshareCache::default(),
            started: Vec::new(),
        }
    }
}

impl<C: Clock> Engine<C> {
    /// Where this pass takes its candidates from: under basic priority the kept order,
    /// walked as far as the pass goes; otherwise every eligible job, prioritised and sorted.
    pub(super) fn pass_queue(&mut self, now: Timestamp) -> PassQueue {
        if self.keeps_order() {
            let (order, generation) = self.take_order();
            return PassQueue::Kept {
                order,
                generation,
                pos: 0,
            };
        }
        let mut priorities = PassInputs::new(self);
        let ids: Vec<JobId> = self.pending.iter().copied().collect();
        // Room for every pending job up front: grown by doubling, the list was copied over
        // and over.
        let mut candidates: Vec<Candidate> = Vec::with_capacity(ids.len());
        candidates.extend(
            ids.into_iter()
                .filter_map(|id| self.candidate(id, now, &mut priorities)),
        );
        // Highest tier, then highest priority, then first submitted. Sequence numbers are
        // unique, so an unstable sort gives the one order there is.
        candidates.sort_unstable_by_key(|c| {
            (
                std::cmp::Reverse(c.tier),
                std::cmp::Reverse(c.priority),
                c.seq,
            )
        });
        // The least CPUs per node and the shortest duration among the candidates from each
        // position on: once no node has that many CPUs free (for that long, reservations
        // included), nothing further can start.
        let least = suffix_least(candidates.iter().map(|c| least_need(&c.options)));
        PassQueue::Sorted {
            candidates: candidates.into_iter(),
            least,
            pos: 0,
        }
    }

    /// The next candidate of the pass, with the least CPUs per node and the shortest
    /// duration it or any later candidate needs (lower bounds).
    pub(super) fn next_candidate(
        &mut self,
        queue: &mut PassQueue,
        now: Timestamp,
        priorities: &mut PassInputs,
    ) -> Option<(Candidate, (u32, i64))> {
        match queue {
            PassQueue::Sorted {
                candidates,
                least,
                pos,
            } => {
                let cand = candidates.next()?;
                let bounds = least[*pos];
                *pos += 1;
                Some((cand, bounds))
            }
            PassQueue::Kept { order, pos, .. } => loop {
                let id = order.id_at(*pos)?;
                let bounds = order.least_from(*pos);
                *pos += 1;
                if !self.is_pending(id) {
                    continue;
                }
                if let Some(cand) = self.candidate(id, now, priorities) {
                    return Some((cand, bounds));
                }
            },
        }
    }

    /// A pending job as a candidate of this pass: `None` (with its reason set) when it cannot
    /// be considered for reasons other than free resources; otherwise with its priority
    /// computed and recorded.
    pub(super) fn candidate(
        &mut self,
        id: JobId,
        now: Timestamp,
        inputs: &mut PassInputs,
    ) -> Option<Candidate> {
        let entry = self.jobs.get(&id)?;
        let after_started_now = || {
            entry.job.spec.dependency.conditions.iter().any(
                |d| matches!(d, crate::model::Dependency::After(t) if inputs.started.contains(t)),
            )
        };
        let reason = self.ineligible_reason(&entry.job, now).or_else(|| {
            (!inputs.started.is_empty() && after_started_now()).then_some(PendingReason::Dependency)
        });
        if let Some(reason) = reason {
            self.set_reason(id, reason);
            return None;
        }
        let options = self.options_of(id)?;
        let fairshare = if self.cluster.priority.multifactor {
            let entry = self.jobs.get_mut(&id)?;
            let user = entry.fairshare_user(&mut self.fairshare);
            inputs.fairshare.factor(&self.fairshare, user)
        } else {
            0.0
        };
        let entry = self.jobs.get(&id)?;
        let job = &entry.job;
        if options.is_empty() {
            let reason = self.partition_reason(job);
            self.set_reason(id, reason);
            return None;
        }
        let first_part = &self.parts[options[0].0].config;
        let tier = first_part.priority_tier;
        let part_factor = first_part.priority_job_factor;
        let priority = if self.cluster.priority.multifactor {
            let facts = JobFacts {
                eligible_since: job.eligible_time.or(Some(now)),
                cpus: options[0].1.total_cpus(),
                partition_factor: part_factor,
                qos_priority: self.qos.get(&job.spec.qos).map_or(0, |q| q.priority),
                fairshare,
                nice: job.spec.nice,
            };
            priority::weigh(
                &self.cluster.priority,
                &priority::factors(&self.cluster.priority, &inputs.norms, &facts, now),
            )
        } else {
            super::queue::basic_priority(entry.seq, job.spec.nice)
        };
        let seq = entry.seq;
        let array_limit = job.array_pending.as_ref().and_then(|a| a.max_running);
        if let Some(entry) = self.jobs.get_mut(&id) {
            entry.job.priority = priority;
            entry.job.eligible_time.get_or_insert(now);
        }
        Some(Candidate {
            id,
            tier,
            priority,
            seq,
            options,
            array_limit,
        })
    }

    /// A job's placement options, computed once and kept until its spec changes.
    pub(super) fn options_of(&mut self, id: JobId) -> Option<std::sync::Arc<[PlacementOption]>> {
        let entry = self.jobs.get(&id)?;
        if let Some(cached) = &entry.placement {
            return Some(cached.clone());
        }
        let options = self.placement_options(&entry.job);
        let options = self.placements.share(options);
        if let Some(entry) = self.jobs.get_mut(&id) {
            entry.placement = Some(options.clone());
        }
        Some(options)
    }

    /// Reasons a job cannot be considered at all this pass (not about free resources).
    fn ineligible_reason(&self, job: &Job, now: Timestamp) -> Option<PendingReason> {
        if let Some(hold) = job.hold {
            return Some(match hold {
                crate::model::Hold::User => PendingReason::JobHeldUser,
                crate::model::Hold::Admin => PendingReason::JobHeldAdmin,
            });
        }
        if job.spec.begin.is_some_and(|b| b > now) {
            return Some(PendingReason::BeginTime);
        }
        match self.dependency_status(job, &job.spec.dependency) {
            DepStatus::Satisfied => {}
            DepStatus::Waiting => return Some(PendingReason::Dependency),
            DepStatus::Never => return Some(PendingReason::DependencyNeverSatisfied),
        }
        let qos = self
            .qos_wall_limits
            .then(|| self.qos.get(&job.spec.qos))
            .flatten();
        if let Some(max) = qos.and_then(|q| q.max_wall)
            && job.time_limit > max
        {
            return Some(PendingReason::QOSMaxWallDurationPerJobLimit);
        }
        None
    }

    /// The partitions this job may run in now, with its shape in each.
    pub(super) fn placement_options(&self, job: &Job) -> Vec<PlacementOption> {
        let mut options = Vec::new();
        for name in &job.spec.partitions {
            let Some(&pi) = self.part_by_name.get(name) else {
                continue;
            };
            let part = &self.parts[pi];
            if !matches!(
                part.config.state,
                PartitionState::Up | PartitionState::Drain
            ) {
                continue;
            }
            if job.time_limit > part.config.max_time {
                continue;
            }
            let Ok(shape) = shape_for(
                &job.spec,
                &part.config,
                part.max_node_cpus,
                &self.kinds,
                &self.cluster.select,
            ) else {
                continue;
            };
            if part.config.max_nodes.is_some_and(|m| shape.nodes > m) {
                continue;
            }
            let duration = match job.time_limit {
                TimeLimit::Seconds(s) => i64::try_from(s).unwrap_or(NEVER).min(NEVER),
                TimeLimit::Infinite => NEVER,
            };
            options.push((pi, shape, duration));
        }
        options
    }

    /// Why no partition is usable (for a job with no placement options).
    fn partition_reason(&self, job: &Job) -> PendingReason {
        let parts: Vec<&super::PartSlot> = job
            .spec
            .partitions
            .iter()
            .filter_map(|n| self.part_by_name.get(n).map(|&i| &self.parts[i]))
            .collect();
        if parts.iter().all(|p| p.config.state == PartitionState::Down) {
            return PendingReason::PartitionDown;
        }
        if parts
            .iter()
            .all(|p| p.config.state == PartitionState::Inactive)
        {
            return PendingReason::PartitionInactive;
        }
        if parts.iter().any(|p| job.time_limit > p.config.max_time) {
            return PendingReason::PartitionTimeLimit;
        }
        PendingReason::PartitionNodeLimit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::resources::NodeDemand;
    use crate::engine::shape::Shape;

    fn options(cpus: u32) -> Vec<PlacementOption> {
        let demand = NodeDemand {
            cpus,
            ..NodeDemand::default()
        };
        let shape = Shape {
            nodes: 1,
            tasks_per_node: 1,
            demand,
        };
        vec![(0, shape, 600)]
    }

    #[test]
    fn jobs_with_the_same_options_share_one_copy_and_unheld_ones_are_dropped() {
        let mut shared = SharedPlacements::default();
        let a = shared.share(options(4));
        let b = shared.share(options(4));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &shared.share(options(8))));
        // Options no job holds any more go when the set has doubled since it was pruned.
        for cpus in 100..100 + 2 * PRUNE_FROM as u32 {
            drop(shared.share(options(cpus)));
        }
        assert!(shared.set.len() < PRUNE_FROM);
        assert!(shared.set.contains(a.as_ref()));
        assert!(Arc::ptr_eq(&a, &shared.share(options(4))));
    }
}
