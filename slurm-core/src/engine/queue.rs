//! The pending queue in priority order, kept between passes under `priority/basic`.
//!
//! With basic priority a job's place in the queue is fixed when it is submitted (partition
//! tier, then submission order less its nice value), so a pass need not rebuild and sort the
//! whole queue: it walks this order and stops where it stops (nothing more can start, or
//! `bf_max_job_test` is spent), touching only the jobs it examines. New submissions are
//! appended when they sort last (the usual case); anything else that could move a job in the
//! order (a requeue, `scontrol update`, a restore) drops the order and the next pass rebuilds it.
//!
//! Under `priority/multifactor` priorities move with age and usage at every pass, and the pass
//! rebuilds its candidate list as before.

use super::profile::NEVER;
use super::{Clock, Engine, PlacementOption};
use crate::model::{JobId, JobState};

/// Sort key: higher tier first, then higher priority, then earlier submission.
pub(super) type OrderKey = (u16, u32, u64);

pub(super) fn order_key(tier: u16, priority: u32, seq: u64) -> OrderKey {
    (u16::MAX - tier, u32::MAX - priority, seq)
}

/// `priority/basic`: the first job gets [`super::priority::BASIC_TOP`], each later one less;
/// nice moves a job down (or up).
pub(super) fn basic_priority(seq: u64, nice: i32) -> u32 {
    let base = super::priority::BASIC_TOP.saturating_sub(u32::try_from(seq).unwrap_or(u32::MAX));
    (i64::from(base) - i64::from(nice)).clamp(1, i64::from(u32::MAX)) as u32
}

/// The least CPUs per node and the shortest duration among a job's placement options
/// (`u32::MAX` and [`NEVER`] when it has none).
pub(super) fn least_need(options: &[PlacementOption]) -> (u32, i64) {
    options
        .iter()
        .fold((u32::MAX, NEVER), |(cpus, duration), (_, shape, d)| {
            (cpus.min(shape.demand.cpus), duration.min(*d))
        })
}

/// For each position of `needs`, the component-wise least of it and everything after it.
pub(super) fn suffix_least(
    needs: impl DoubleEndedIterator<Item = (u32, i64)> + ExactSizeIterator,
) -> Vec<(u32, i64)> {
    let mut out = vec![(u32::MAX, NEVER); needs.len()];
    let mut least = (u32::MAX, NEVER);
    for (slot, (cpus, duration)) in out.iter_mut().zip(needs).rev() {
        least = (least.0.min(cpus), least.1.min(duration));
        *slot = least;
    }
    out
}

/// One queued job: its key and the least it needs of any of its placement options (for
/// deciding that nothing after a point can start).
#[derive(Debug, Clone, Copy)]
struct Queued {
    id: JobId,
    key: OrderKey,
    min_cpus: u32,
    min_duration: i64,
}

/// The pending jobs in priority order. Entries of jobs that are no longer pending stay until
/// the next compaction and are skipped when met.
#[derive(Debug, Default)]
pub(super) struct PendingOrder {
    entries: Vec<Queued>,
    /// Per position below `built`: the least CPUs per node and the shortest duration of the
    /// entries from there to `built`.
    suffix: Vec<(u32, i64)>,
    built: usize,
    /// The same minima over the entries appended since (`entries[built..]`).
    tail: (u32, i64),
}

impl PendingOrder {
    fn from_sorted(entries: Vec<Queued>) -> Self {
        let mut order = Self {
            entries,
            ..Self::default()
        };
        order.summarize();
        order
    }

    fn summarize(&mut self) {
        self.suffix = suffix_least(self.entries.iter().map(|q| (q.min_cpus, q.min_duration)));
        self.built = self.entries.len();
        self.tail = (u32::MAX, NEVER);
    }

    pub(super) fn id_at(&self, pos: usize) -> Option<JobId> {
        self.entries.get(pos).map(|q| q.id)
    }

    /// The least CPUs per node and the shortest duration any job at `pos` or after may need
    /// (lower bounds: entries of jobs gone since the last compaction still count).
    pub(super) fn least_from(&self, pos: usize) -> (u32, i64) {
        let built = self.suffix.get(pos).copied().unwrap_or((u32::MAX, NEVER));
        (built.0.min(self.tail.0), built.1.min(self.tail.1))
    }

    /// Appends a job that sorts after every queued one; false when it does not.
    fn push(&mut self, q: Queued) -> bool {
        if self.entries.last().is_some_and(|last| last.key >= q.key) {
            return false;
        }
        self.tail = (self.tail.0.min(q.min_cpus), self.tail.1.min(q.min_duration));
        self.entries.push(q);
        true
    }

    /// Drops the entries `keep` rejects and recomputes the minima, once enough has changed
    /// since the last time (`pending`: how many jobs are pending now).
    fn compact_if_worth_it(&mut self, pending: usize, keep: impl Fn(JobId) -> bool) {
        let gone = self.entries.len().saturating_sub(pending);
        let appended = self.entries.len() - self.built;
        if 4 * (gone + appended) <= self.entries.len().max(64) {
            return;
        }
        self.entries.retain(|q| keep(q.id));
        self.summarize();
    }
}

/// What the engine keeps between passes: the order, or why there is none.
#[derive(Debug, Default)]
pub(super) struct OrderCache {
    order: Option<PendingOrder>,
    /// Counts the times the order was dropped or a job could not be added to it, so that a
    /// pass that held the order meanwhile knows to drop it too.
    generation: u64,
}

impl OrderCache {
    /// Something that could move pending jobs in the order changed: rebuild it next pass.
    pub(super) fn invalidate(&mut self) {
        self.order = None;
        self.generation += 1;
    }
}

impl<C: Clock> Engine<C> {
    /// Whether passes walk a kept order (`priority/basic`) instead of sorting every pass.
    pub(super) fn keeps_order(&self) -> bool {
        self.keep_order && !self.cluster.priority.multifactor
    }

    /// Puts a job in the pending set (and in the kept order when it sorts last).
    pub(super) fn enqueue(&mut self, id: JobId) {
        self.pending.insert(id);
        if !self.keeps_order() {
            return;
        }
        let queued = self.queued(id);
        let cache = &mut self.order_cache;
        let appended = match (&mut cache.order, queued) {
            (Some(order), Some(q)) => order.push(q),
            _ => false,
        };
        if !appended {
            cache.invalidate();
        }
    }

    /// A job's entry in the order (computing and keeping its placement options).
    fn queued(&mut self, id: JobId) -> Option<Queued> {
        let options = self.options_of(id)?;
        let entry = self.jobs.get(&id)?;
        let tier = options
            .first()
            .map_or(0, |(pi, _, _)| self.parts[*pi].config.priority_tier);
        let priority = basic_priority(entry.seq, entry.job.spec.nice);
        let (min_cpus, min_duration) = least_need(&options);
        Some(Queued {
            id,
            key: order_key(tier, priority, entry.seq),
            min_cpus,
            min_duration,
        })
    }

    /// Takes the kept order out for a pass (building it when there is none), with the
    /// generation to hand back to [`Engine::return_order`].
    pub(super) fn take_order(&mut self) -> (PendingOrder, u64) {
        let order = match self.order_cache.order.take() {
            Some(order) => order,
            None => {
                let ids: Vec<JobId> = self.pending.iter().copied().collect();
                let mut entries: Vec<Queued> =
                    ids.into_iter().filter_map(|id| self.queued(id)).collect();
                entries.sort_unstable_by_key(|q| q.key);
                PendingOrder::from_sorted(entries)
            }
        };
        (order, self.order_cache.generation)
    }

    /// Keeps the order a pass used, unless it was invalidated meanwhile.
    pub(super) fn return_order(&mut self, mut order: PendingOrder, generation: u64) {
        if self.order_cache.generation != generation {
            return;
        }
        let jobs = &self.jobs;
        order.compact_if_worth_it(self.pending.len(), |id| {
            jobs.get(&id)
                .is_some_and(|e| e.job.state == JobState::Pending)
        });
        self.order_cache.order = Some(order);
    }

    /// True when `id` is still pending (entries of started or cancelled jobs are skipped).
    pub(super) fn is_pending(&self, id: JobId) -> bool {
        self.jobs
            .get(&id)
            .is_some_and(|e| e.job.state == JobState::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClusterConfig, SchedulerPolicy};
    use crate::engine::{Engine, JobEnd, ManualClock};
    use crate::model::{
        Dependency, DependencySpec, ExitStatus, Hold, Job, JobSpec, NodeConfig, PartitionConfig,
        TimeLimit,
    };
    use proptest::prelude::*;

    /// One thing that happens to a cluster between or as passes.
    #[derive(Debug, Clone)]
    enum Op {
        Submit {
            cpus: u32,
            minutes: u64,
            nice: i32,
            hold: bool,
            partition: bool,
            after: Option<(usize, u8)>,
        },
        End(usize, bool),
        Cancel(usize),
        Hold(usize),
        Release(usize),
        Nice(usize, i32),
        TimeLimit(usize, u64),
        Requeue(usize),
        Drain(usize),
        Resume(usize),
        Advance(i64),
        Schedule,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u32..=8, 1u64..=60, -5i32..=5, proptest::bool::weighted(0.1), proptest::bool::ANY, proptest::option::weighted(0.2, (0usize..8, 0u8..4)))
                .prop_map(|(cpus, minutes, nice, hold, partition, after)| Op::Submit { cpus, minutes, nice, hold, partition, after }),
            2 => (0usize..64, proptest::bool::ANY).prop_map(|(i, ok)| Op::End(i, ok)),
            1 => (0usize..64).prop_map(Op::Cancel),
            1 => (0usize..64).prop_map(Op::Hold),
            1 => (0usize..64).prop_map(Op::Release),
            1 => (0usize..64, -20i32..=20).prop_map(|(i, n)| Op::Nice(i, n)),
            1 => (0usize..64, 1u64..=90).prop_map(|(i, m)| Op::TimeLimit(i, m)),
            1 => (0usize..64).prop_map(Op::Requeue),
            1 => (0usize..3).prop_map(Op::Drain),
            1 => (0usize..3).prop_map(Op::Resume),
            2 => (1i64..1_800).prop_map(Op::Advance),
            3 => Just(Op::Schedule),
        ]
    }

    fn cluster(policy: SchedulerPolicy) -> ClusterConfig {
        let mut c = ClusterConfig::new("order");
        for i in 0..3 {
            c.nodes.push(NodeConfig::simple(format!("n{i}"), 8, 16_000));
        }
        let names: Vec<String> = c.nodes.iter().map(|n| n.name.clone()).collect();
        let mut main = PartitionConfig::new("main", names.clone());
        main.default = true;
        c.partitions.push(main);
        let mut high = PartitionConfig::new("high", names[..1].to_vec());
        high.priority_tier = 2;
        c.partitions.push(high);
        c.scheduler.policy = policy;
        c
    }

    /// What a pass decided and what every job looks like after it.
    fn snapshot(e: &Engine<ManualClock>) -> Vec<(JobId, JobState, String, Option<i64>, u32)> {
        let mut jobs: Vec<&Job> = e.jobs();
        jobs.sort_by_key(|j| j.id);
        jobs.iter()
            .map(|j| {
                (
                    j.id,
                    j.state,
                    j.reason.to_string(),
                    j.planned_start,
                    j.priority,
                )
            })
            .collect()
    }

    /// Applies `op` to `e` (ids picked from `ids`); returns the started jobs for a pass.
    fn apply(
        e: &mut Engine<ManualClock>,
        clock: &ManualClock,
        ids: &mut Vec<JobId>,
        op: &Op,
    ) -> Vec<JobId> {
        let pick = |i: usize| ids.get(i % ids.len().max(1)).copied();
        match op {
            Op::Submit {
                cpus,
                minutes,
                nice,
                hold,
                partition,
                after,
            } => {
                let dependency = after
                    .and_then(|(back, kind)| {
                        let target = *ids.iter().rev().nth(back)?;
                        Some(match kind {
                            0 => Dependency::After(target),
                            1 => Dependency::AfterOk(target),
                            2 => Dependency::AfterAny(target),
                            _ => Dependency::AfterNotOk(target),
                        })
                    })
                    .map(|d| DependencySpec {
                        conditions: vec![d],
                        any: false,
                    })
                    .unwrap_or_default();
                let spec = JobSpec {
                    name: "j".into(),
                    user: "alice".into(),
                    ntasks: *cpus,
                    nice: *nice,
                    hold: *hold,
                    partitions: if *partition {
                        vec!["high".into()]
                    } else {
                        Vec::new()
                    },
                    time_limit: Some(TimeLimit::minutes(*minutes)),
                    dependency,
                    ..JobSpec::default()
                };
                if let Ok(id) = e.submit(spec) {
                    ids.push(id);
                }
            }
            Op::End(i, ok) => {
                if let Some(id) = pick(*i) {
                    let exit = ExitStatus {
                        code: u8::from(!ok).into(),
                        signal: 0,
                    };
                    let _ = e.job_ended(id, JobEnd::Exited(exit));
                }
            }
            Op::Cancel(i) => {
                if let Some(id) = pick(*i) {
                    let _ = e.cancel(id, 0);
                }
            }
            Op::Hold(i) => {
                if let Some(id) = pick(*i) {
                    let _ = e.hold(id, Hold::User);
                }
            }
            Op::Release(i) => {
                if let Some(id) = pick(*i) {
                    let _ = e.release(id);
                }
            }
            Op::Nice(i, n) => {
                if let Some(id) = pick(*i) {
                    let _ = e.update_nice(id, *n);
                }
            }
            Op::TimeLimit(i, m) => {
                if let Some(id) = pick(*i) {
                    let _ = e.update_time_limit(id, TimeLimit::minutes(*m));
                }
            }
            Op::Requeue(i) => {
                if let Some(id) = pick(*i)
                    && e.request_requeue(id).is_ok()
                {
                    let _ = e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS));
                }
            }
            Op::Drain(n) => {
                let _ = e.drain_node(&format!("n{n}"), "test");
            }
            Op::Resume(n) => {
                let _ = e.resume_node(&format!("n{n}"));
            }
            Op::Advance(s) => clock.advance(*s),
            Op::Schedule => return e.schedule().iter().map(|s| s.job_id).collect(),
        }
        Vec::new()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Keeping the pending order between passes changes nothing: after any sequence of
        /// submissions (held, niced, with dependencies, in a higher-tier partition), ends,
        /// cancels, holds, releases, nice and time-limit updates, requeues, drains and
        /// resumes, the same jobs start and every job has the same state, reason, planned
        /// start and priority as when every pass sorts afresh.
        #[test]
        fn a_kept_order_decides_like_a_fresh_sort(
            ops in proptest::collection::vec(op(), 1..120),
            policy in super::super::tests::any_policy(),
            plan_all in proptest::bool::ANY,
        ) {
            let clocks = (ManualClock::new(1_000), ManualClock::new(1_000));
            let mut kept = Engine::new(cluster(policy), clocks.0.clone()).unwrap();
            let mut fresh = Engine::new(cluster(policy), clocks.1.clone()).unwrap();
            fresh.set_keep_order(false);
            kept.set_plan_all(plan_all);
            fresh.set_plan_all(plan_all);
            let (mut ids_kept, mut ids_fresh) = (Vec::new(), Vec::new());
            for (step, op) in ops.iter().chain([&Op::Schedule]).enumerate() {
                let a = apply(&mut kept, &clocks.0, &mut ids_kept, op);
                let b = apply(&mut fresh, &clocks.1, &mut ids_fresh, op);
                prop_assert_eq!(&a, &b, "starts at step {} ({:?})", step, op);
                // The active-job counts of the submit limits follow every change.
                prop_assert!(kept.active_counts_match_a_recount(), "active counts after step {}", step);
                if matches!(op, Op::Schedule) {
                    let (sa, sb) = (snapshot(&kept), snapshot(&fresh));
                    if plan_all {
                        prop_assert_eq!(sa, sb, "jobs after step {}", step);
                    } else {
                        // A pruned pass leaves the jobs after its stopping point unexamined;
                        // the kept order stops earlier, so only states must agree.
                        let states = |s: Vec<(JobId, JobState, String, Option<i64>, u32)>| {
                            s.into_iter().map(|j| (j.0, j.1)).collect::<Vec<_>>()
                        };
                        prop_assert_eq!(states(sa), states(sb), "states after step {}", step);
                    }
                }
            }
        }
    }

    #[test]
    fn basic_priority_follows_submission_and_nice() {
        assert!(basic_priority(1, 0) > basic_priority(2, 0));
        assert!(basic_priority(2, -10) > basic_priority(1, 0));
        assert_eq!(basic_priority(u64::MAX, 0), 1);
    }

    #[test]
    fn appends_only_what_sorts_last_and_keeps_lower_bounds() {
        let q = |id: JobId, seq: u64, cpus: u32, duration: i64| Queued {
            id,
            key: order_key(1, basic_priority(seq, 0), seq),
            min_cpus: cpus,
            min_duration: duration,
        };
        let mut order = PendingOrder::from_sorted(vec![q(1, 1, 8, 100), q(2, 2, 4, 500)]);
        assert_eq!(order.least_from(0), (4, 100));
        assert_eq!(order.least_from(1), (4, 500));
        assert!(order.push(q(3, 3, 2, 50)));
        assert!(
            !order.push(q(4, 1, 1, 1)),
            "an earlier key cannot be appended"
        );
        assert_eq!(order.least_from(1), (2, 50));
        assert_eq!(order.least_from(2), (2, 50));
        assert_eq!(order.id_at(2), Some(3));
    }
}
