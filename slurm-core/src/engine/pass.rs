//! One scheduling pass: eligibility, priorities, then placement in priority order with the
//! configured policy (FCFS, EASY or Slurm-style backfill).
//!
//! Placement uses one [`Profile`] per node, built lazily from the node's free resources and
//! its running jobs' expected ends (start + time limit, rounded up to `bf_resolution`).
//! Starting a job takes its resources from now to its end; a reservation takes them from
//! its planned start. A job may start now only if it fits the profiles, i.e. delays no
//! reservation already made for a higher-priority job.

use super::bounds::{BoundHeap, BoundKey, MAX_BOUND_OFFSET, Packing, sort_bounds};
use super::candidates::{Candidate, PassInputs, PassQueue};
use super::fits::{FitCache, earliest_in};
use super::fxhash::FastMap;
use super::limits::{self, Associations, LimitUsage};
use super::profile::{NEVER, Profile};
use super::resources::{NodeDemand, Res};
use super::shape::Shape;
use super::{Clock, Engine, JobStart};
use crate::config::SchedulerPolicy;
use crate::model::{Gres, JobId, JobState, NodeAllocation, PendingReason, Timestamp};
use frontier::Frontier;

mod frontier;

/// Counters from one pass (for benchmarks and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Pending jobs looked at.
    pub pending: usize,
    /// Eligible jobs placement was attempted for.
    pub tested: usize,
    pub started: usize,
    pub reservations: usize,
    /// Placement searches actually run (the rest were answered from the shape caches).
    pub searches: usize,
    /// Node profiles examined by those searches.
    pub node_scans: usize,
    /// Nodes those searches answered from fit intervals already computed this pass.
    pub cached_fits: usize,
}

/// A full pass (the configured policy) or Slurm's main scheduler between full passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PassKind {
    Full,
    Main,
}

impl PassKind {
    /// What a blocked job's planned start becomes: `planned` after a full pass; unchanged
    /// (`None`) after a main one, which plans nothing.
    fn planned(self, planned: Option<Timestamp>) -> Option<Option<Timestamp>> {
        (self == PassKind::Full).then_some(planned)
    }
}

/// Where a job could run: start time and node indices.
type Placement = (Timestamp, Vec<usize>);

/// Per-pass planning state.
struct Plan {
    now: Timestamp,
    horizon: Timestamp,
    resolution: i64,
    profiles: Vec<Option<Profile>>,
    /// Every (partition, shape, duration) searched or probed this pass, with what is known
    /// of it.
    shapes: ShapeTable,
    /// Shapes with no start within the window: any shape needing at least as much fails too.
    failed: Vec<ShapeId>,
    /// Nodes of a partition that could ever hold a demand (schedulable, big enough).
    /// By partition, then demand (looked up by reference: no key is built per lookup).
    eligible: Vec<FastMap<NodeDemand, std::rc::Rc<Vec<usize>>>>,
    /// Per node: CPUs free throughout a window from now (only when not planning every job).
    window: Option<FreeWindow>,
    /// Where searched demands fit on each node (shared across time limits and node counts).
    fits: FitCache,
    /// The slot in `fits` of the demand being searched.
    fit_slot: usize,
    /// Scratch lists of a multi-node search (bounds to refresh, nodes that fit at the
    /// candidate time), kept to be reused.
    bound_buffers: (Vec<BoundKey>, Vec<BoundKey>),
    /// Per (partition, fit slot): where the demand fits from some time on, shared by its
    /// shapes (see [`frontier`]), in `frontiers`.
    frontier_ids: FastMap<(usize, usize), usize>,
    frontiers: Vec<Frontier>,
    /// Scratch lists of frontier searches: keys to re-examine, and the ranks a multi-node
    /// search picks.
    frontier_stale: Vec<BoundKey>,
    chosen_ranks: Vec<usize>,
    searches: usize,
    node_scans: usize,
    cached_fits: usize,
}

/// Index of a shape in [`ShapeTable`].
type ShapeId = usize;

/// One (partition, shape, duration) of this pass and what is known of it.
struct ShapeState {
    pi: usize,
    shape: Shape,
    duration: i64,
    /// Earliest start already known impossible to beat (`Some(None)`: none in the window).
    earliest: Option<Option<Timestamp>>,
    /// Lower bounds of each eligible node's earliest fit (absent while being searched).
    bounds: Option<Bounds>,
}

/// The shapes of a pass, interned once so that every later lookup is an index: looking them
/// up by value (a shape holds its GRES list) cost hashing, comparing and cloning per search.
#[derive(Default)]
struct ShapeTable {
    by_hash: FastMap<u64, Vec<ShapeId>>,
    states: Vec<ShapeState>,
}

impl ShapeTable {
    fn intern(&mut self, pi: usize, shape: &Shape, duration: i64) -> ShapeId {
        use std::hash::{Hash, Hasher};
        let mut hasher = super::fxhash::FxHasher::default();
        (pi, shape, duration).hash(&mut hasher);
        let states = &mut self.states;
        let ids = self.by_hash.entry(hasher.finish()).or_default();
        if let Some(&id) = ids.iter().find(|&&id| {
            let s = &states[id];
            s.pi == pi && s.duration == duration && s.shape == *shape
        }) {
            return id;
        }
        let id = states.len();
        states.push(ShapeState {
            pi,
            shape: shape.clone(),
            duration,
            earliest: None,
            bounds: None,
        });
        ids.push(id);
        id
    }
}

/// Lower bounds on the earliest fit of one shape on each eligible node, smallest first: a
/// [`BoundHeap`] of (bound, rank of the node in the partition's allocation order). Reservations
/// and starts only take resources away during a pass, so a bound computed earlier never
/// overstates a node. A single-node shape refreshes them lazily from the top; a multi-node
/// shape where they reach its candidate time, and its k smallest decide.
///
/// With a shared frontier (see [`frontier`]) the heap holds only the nodes the frontier
/// found gapped.
struct Bounds {
    heap: BoundHeap,
    /// With a shared frontier: how many of its gapped nodes the heap has taken.
    gapped_seen: usize,
}

/// Upper bounds on the CPUs each schedulable node keeps free throughout `[now, now + d)`: a
/// job needing `c` CPUs per node for `d` seconds can start now only on a node where that is
/// at least `c`. Profiles only lose resources during a pass, and a longer window has a smaller
/// minimum, so a bound computed earlier (for a window no longer than the current one) stays an
/// upper bound; a max-heap refreshed lazily from the top gives the largest exact value.
/// Used only when the engine does not plan every job ([`Engine::set_plan_all`]).
struct FreeWindow {
    /// Per node: (bound, window length it was computed for; 0 = the CPUs free now).
    bound: Vec<(u32, i64)>,
    /// Nodes whose profile lost resources within their bound's window since it was computed.
    stale: Vec<bool>,
    /// (bound, node), possibly with superseded entries (skipped when they differ from `bound`).
    heap: std::collections::BinaryHeap<(u32, usize)>,
}

impl FreeWindow {
    fn new(nodes: &[super::nodes::NodeSlot]) -> Self {
        Self {
            bound: nodes.iter().map(|n| (n.free.cpus, 0)).collect(),
            stale: vec![false; nodes.len()],
            heap: nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.schedulable())
                .map(|(i, n)| (n.free.cpus, i))
                .collect(),
        }
    }

    /// Node `i`'s profile lost resources from `start` on.
    fn touched(&mut self, i: usize, start: Timestamp, now: Timestamp) {
        if start <= now.saturating_add(self.bound[i].1) {
            self.stale[i] = true;
        }
    }
}

/// `Plan::fit_slot` when the search does not use fit intervals.
const NO_FIT_SLOT: usize = usize::MAX;

/// How many failed shapes are remembered for dominance checks (bounds the check's cost).
const FAILED_SHAPES_KEPT: usize = 64;

fn shape_dominates(a: &Shape, a_duration: i64, b: &Shape, b_duration: i64) -> bool {
    a.nodes >= b.nodes && a_duration >= b_duration && a.demand.dominates(&b.demand)
}

impl Plan {
    fn round_up(&self, t: Timestamp) -> Timestamp {
        if t >= NEVER {
            return NEVER;
        }
        // A running job due to end now (or overdue) still holds its resources: it frees them
        // a second from now, not a whole resolution step later (that would move a
        // reservation planned for its end and let backfill take the gap).
        if t <= self.now {
            return self.now + 1;
        }
        let d = t - self.now;
        self.now + (d + self.resolution - 1) / self.resolution * self.resolution
    }
}

impl<C: Clock> Engine<C> {
    /// A full pass with the configured policy (Slurm's backfill by default).
    pub fn schedule(&mut self) -> Vec<JobStart> {
        self.schedule_with_stats().0
    }

    pub fn schedule_with_stats(&mut self) -> (Vec<JobStart>, PassStats) {
        let policy = self.cluster.scheduler.policy;
        self.run_pass(policy, PassKind::Full)
    }

    /// Slurm's main (event-triggered) scheduler: priority order, start what fits now, and
    /// stop each partition at its first job that cannot start. No reservations: cheap. The
    /// planned starts of the last full pass stay (`squeue --start` shows them until the next).
    pub fn schedule_main(&mut self) -> Vec<JobStart> {
        self.run_pass(SchedulerPolicy::Fcfs, PassKind::Main).0
    }

    fn run_pass(&mut self, policy: SchedulerPolicy, kind: PassKind) -> (Vec<JobStart>, PassStats) {
        let now = self.clock.now();
        self.charge_running_usage(now);
        let mut stats = PassStats {
            pending: self.pending.len(),
            ..PassStats::default()
        };
        let mut queue = self.pass_queue(now);
        let window = self.cluster.scheduler.bf_window_min.saturating_mul(60) as i64;
        let mut plan = Plan {
            now,
            horizon: now.saturating_add(window.min(MAX_BOUND_OFFSET)),
            resolution: self.cluster.scheduler.bf_resolution_s.max(1) as i64,
            profiles: vec![None; self.nodes.len()],
            shapes: ShapeTable::default(),
            failed: Vec::new(),
            eligible: vec![FastMap::default(); self.parts.len()],
            window: (!self.plan_all).then(|| FreeWindow::new(&self.nodes)),
            fits: FitCache::new(self.nodes.len(), now),
            fit_slot: 0,
            bound_buffers: Default::default(),
            frontier_ids: FastMap::default(),
            frontiers: Vec::new(),
            frontier_stale: Vec::new(),
            chosen_ranks: Vec::new(),
            searches: 0,
            node_scans: 0,
            cached_fits: 0,
        };
        let mut max_free = self.max_free_cpus();
        let mut blocked = vec![false; self.parts.len()];
        let mut easy_reserved = vec![false; self.parts.len()];
        let max_test = self
            .cluster
            .scheduler
            .bf_max_job_test
            .map_or(usize::MAX, |n| n as usize);
        let mut starts = Vec::new();
        // Association limits: taken out for the pass (jobs start while they are read).
        let associations = self.associations.take();
        let mut limit_usage = associations.as_ref().map(|a| {
            let running = self.running.iter().filter_map(|id| self.jobs.get(id));
            LimitUsage::from_running(a, running.map(|e| &e.job), now)
        });
        let mut priorities = PassInputs::new(self);
        while let Some((cand, (least_cpus, least_duration))) =
            self.next_candidate(&mut queue, now, &mut priorities)
        {
            let cand = &cand;
            let out_of_budget = stats.tested >= max_test;
            let nothing_fits = !self.plan_all
                && (max_free < least_cpus
                    || self.window_free_cpus(&mut plan, least_duration) < least_cpus
                    || (policy == SchedulerPolicy::Fcfs && blocked.iter().all(|b| *b))
                    || out_of_budget);
            if nothing_fits {
                // It stays so for every later candidate (free resources only shrink during
                // a pass, and the minima of what the rest need only grow; every partition
                // stays blocked; the budget stays spent): leave the rest unexamined.
                break;
            }
            if out_of_budget {
                self.mark_blocked(&mut plan, cand, &mut blocked, kind.planned(None));
                continue;
            }
            stats.tested += 1;
            let limited = match (&associations, &limit_usage) {
                (Some(a), Some(usage)) => self.limit_reason(a, usage, cand),
                _ => None,
            };
            if let Some(reason) = limited {
                self.set_reason(cand.id, reason);
                continue;
            }
            let mut started_any = false;
            loop {
                if self.array_throttled(cand) {
                    self.set_reason(cand.id, PendingReason::JobArrayTaskLimit);
                    break;
                }
                let mut best: Option<(usize, Placement, usize)> = None;
                let mut started = None;
                for (opt, (pi, shape, duration)) in cand.options.iter().enumerate() {
                    if policy == SchedulerPolicy::Fcfs && blocked[*pi] {
                        continue;
                    }
                    let wants_reservation = match policy {
                        SchedulerPolicy::Backfill => true,
                        SchedulerPolicy::Easy => !easy_reserved[*pi],
                        SchedulerPolicy::Fcfs => false,
                    } && !started_any;
                    let horizon = if wants_reservation { plan.horizon } else { now };
                    match self.earliest_start(&mut plan, *pi, shape, *duration, horizon) {
                        Some((t, nodes)) if t == now => {
                            started = Some((*pi, opt, nodes));
                            break;
                        }
                        Some((t, nodes))
                            if wants_reservation
                                && best.as_ref().is_none_or(|(_, (bt, _), _)| t < *bt) =>
                        {
                            best = Some((*pi, (t, nodes), opt));
                        }
                        _ => {}
                    }
                }
                match started {
                    Some((pi, opt, nodes)) => {
                        let (_, shape, duration) = &cand.options[opt];
                        let start =
                            self.start_job(&mut plan, cand.id, pi, shape, *duration, &nodes);
                        if let (Some(a), Some(usage), Some(entry)) = (
                            &associations,
                            limit_usage.as_mut(),
                            self.jobs.get(&start.job_id),
                        ) {
                            let job = &entry.job;
                            let mins = job.time_limit.as_secs().map_or(0, |s| s.div_ceil(60));
                            usage.add(a, job, &limits::allocated_tres(job), mins);
                        }
                        stats.started += 1;
                        started_any = true;
                        priorities.started.push(start.job_id);
                        max_free = self.max_free_cpus();
                        starts.push(start);
                        let more_tasks = self
                            .jobs
                            .get(&cand.id)
                            .is_some_and(|e| e.job.array_pending.is_some());
                        if !more_tasks {
                            break;
                        }
                    }
                    None => {
                        if started_any {
                            break;
                        }
                        let planned = best.map(|(pi, (t, nodes), opt)| {
                            let (_, shape, duration) = &cand.options[opt];
                            self.reserve(&mut plan, shape, t, *duration, &nodes);
                            easy_reserved[pi] = true;
                            stats.reservations += 1;
                            t
                        });
                        self.mark_blocked(&mut plan, cand, &mut blocked, kind.planned(planned));
                        break;
                    }
                }
            }
        }
        self.associations = associations;
        if let PassQueue::Kept {
            order, generation, ..
        } = queue
        {
            self.return_order(order, generation);
        }
        stats.searches = plan.searches;
        stats.node_scans = plan.node_scans;
        stats.cached_fits = plan.cached_fits;
        (starts, stats)
    }

    /// The association limit that keeps a candidate pending, if any (its TRES as it would
    /// run in its first partition option).
    fn limit_reason(
        &self,
        associations: &Associations,
        usage: &LimitUsage,
        cand: &Candidate,
    ) -> Option<PendingReason> {
        let job = &self.jobs.get(&cand.id)?.job;
        let (pi, shape, _) = cand.options.first()?;
        let nodes = u64::from(shape.nodes);
        let gres: Vec<Gres> = shape
            .demand
            .gres
            .iter()
            .filter(|need| need.mask != 0)
            .map(|need| {
                let first = need.mask.trailing_zeros() as usize;
                let g = self.kinds.gres(first, nodes * u64::from(need.count));
                // A need any type can serve counts as the untyped GRES.
                if need.mask.count_ones() == 1 {
                    g
                } else {
                    Gres { kind: None, ..g }
                }
            })
            .collect();
        // `--mem=0` (the whole node) counts no memory until it runs.
        let tres = limits::job_tres(
            shape.total_cpus(),
            nodes * shape.demand.mem_mb,
            nodes,
            &gres,
        );
        // The partition the job would run in decides a partition-specific association.
        usage.blocked(associations, job, &self.parts[*pi].config.name, &tres)
    }

    /// Charges running jobs' CPU-seconds since the last pass to fairshare, and decays usage.
    fn charge_running_usage(&mut self, now: Timestamp) {
        self.fairshare.decay_to(now);
        if self.cluster.priority.weight_fairshare == 0 {
            return;
        }
        for id in &self.running {
            if let Some(entry) = self.jobs.get_mut(id) {
                let cpus: u64 = entry.job.allocation.iter().map(|a| u64::from(a.cpus)).sum();
                let elapsed = (now - entry.usage_mark).max(0) as f64;
                entry.usage_mark = now;
                let user = entry.fairshare_user(&mut self.fairshare);
                self.fairshare.add_usage_to(user, cpus as f64 * elapsed);
            }
        }
    }

    /// Whether the candidate is an array already running as many tasks as its `%N` allows.
    fn array_throttled(&self, cand: &Candidate) -> bool {
        let Some(max) = cand.array_limit else {
            return false;
        };
        let running = self
            .array_tasks
            .get(&cand.id)
            .into_iter()
            .flatten()
            .filter(|t| {
                self.job_state(**t)
                    .is_some_and(|s| !s.is_finished() && s != JobState::Pending)
            })
            .count();
        running >= max as usize
    }

    /// Sets Resources for the first blocked job of a partition, Priority for the rest, and
    /// its planned start when `planned` is `Some`.
    fn mark_blocked(
        &mut self,
        plan: &mut Plan,
        cand: &Candidate,
        blocked: &mut [bool],
        planned: Option<Option<Timestamp>>,
    ) {
        let first = cand.options.first().map(|(pi, _, _)| *pi);
        let nodes_missing = cand.options.iter().all(|(pi, shape, _)| {
            self.eligible_nodes(plan, *pi, &shape.demand).len() < shape.nodes as usize
        });
        let reason = if nodes_missing {
            PendingReason::ReqNodeNotAvail
        } else if first.is_some_and(|pi| blocked[pi]) {
            PendingReason::Priority
        } else {
            PendingReason::Resources
        };
        for (pi, _, _) in cand.options.iter() {
            blocked[*pi] = true;
        }
        if let Some(entry) = self.jobs.get_mut(&cand.id) {
            if let Some(planned) = planned {
                entry.job.planned_start = planned;
            }
            if entry.job.state == JobState::Pending {
                entry.job.reason = reason;
            }
        }
    }

    pub(super) fn set_reason(&mut self, id: JobId, reason: PendingReason) {
        if let Some(entry) = self.jobs.get_mut(&id) {
            entry.job.reason = reason;
            entry.job.planned_start = None;
        }
    }

    /// Schedulable nodes of a partition that could ever hold `demand`, in allocation order.
    fn eligible_nodes(
        &self,
        plan: &mut Plan,
        pi: usize,
        demand: &NodeDemand,
    ) -> std::rc::Rc<Vec<usize>> {
        if let Some(list) = plan.eligible[pi].get(demand) {
            return list.clone();
        }
        let list: Vec<usize> = self.parts[pi]
            .nodes
            .iter()
            .copied()
            .filter(|&i| {
                self.nodes[i].schedulable() && demand.fits_capacity(&self.nodes[i].capacity)
            })
            .collect();
        let list = std::rc::Rc::new(list);
        plan.eligible[pi].insert(demand.clone(), list.clone());
        list
    }

    /// The most CPUs any schedulable node keeps free throughout `[now, now + duration)`
    /// (`u32::MAX` when the pass does not track it).
    fn window_free_cpus(&self, plan: &mut Plan, duration: i64) -> u32 {
        let Some(mut window) = plan.window.take() else {
            return u32::MAX;
        };
        let now = plan.now;
        let mut best = 0;
        while let Some(&(b, i)) = window.heap.peek() {
            let (current, length) = window.bound[i];
            if b != current {
                window.heap.pop();
                continue;
            }
            if length == duration && !window.stale[i] {
                best = b;
                break;
            }
            window.heap.pop();
            let exact = plan.profiles[i]
                .as_ref()
                .map_or(self.nodes[i].free.cpus, |p| {
                    p.min_free_cpus(now, now.saturating_add(duration))
                });
            window.bound[i] = (exact, duration);
            window.stale[i] = false;
            window.heap.push((exact, i));
        }
        plan.window = Some(window);
        best
    }

    fn max_free_cpus(&self) -> u32 {
        self.nodes
            .iter()
            .filter(|n| n.schedulable())
            .map(|n| n.free.cpus)
            .max()
            .unwrap_or(0)
    }

    /// The earliest start at or after now (and not after `horizon`) for `shape` in
    /// partition `pi`, with the nodes to use.
    fn earliest_start(
        &self,
        plan: &mut Plan,
        pi: usize,
        shape: &Shape,
        duration: i64,
        horizon: Timestamp,
    ) -> Option<Placement> {
        let id = plan.shapes.intern(pi, shape, duration);
        let mut from = plan.now;
        if let Some(cached) = plan.shapes.states[id].earliest {
            match cached {
                None => return None,
                Some(t) if t > horizon => return None,
                Some(t) => from = t,
            }
        }
        let dominated = plan.failed.iter().any(|&f| {
            let f = &plan.shapes.states[f];
            f.pi == pi && shape_dominates(shape, duration, &f.shape, f.duration)
        });
        if dominated {
            plan.shapes.states[id].earliest = Some(None);
            return None;
        }
        plan.searches += 1;
        let found = self.search(plan, id, from, horizon);
        // Availability only shrinks during a pass, so this is a lower bound for later jobs
        // of the same shape. A search cut short by a smaller horizon proves less.
        let earliest = match &found {
            Some((t, _)) => Some(*t),
            None if horizon >= plan.horizon => {
                if plan.failed.len() == FAILED_SHAPES_KEPT {
                    plan.failed.remove(0);
                }
                plan.failed.push(id);
                None
            }
            None => Some(horizon + 1),
        };
        plan.shapes.states[id].earliest = Some(earliest);
        found
    }

    fn search(
        &self,
        plan: &mut Plan,
        id: ShapeId,
        from: Timestamp,
        horizon: Timestamp,
    ) -> Option<Placement> {
        let state = &plan.shapes.states[id];
        let (pi, duration) = (state.pi, state.duration);
        // Cloned once per search (not per node); searches are far fewer than node answers.
        let shape = state.shape.clone();
        let k = shape.nodes as usize;
        let eligible = self.eligible_nodes(plan, pi, &shape.demand);
        if eligible.len() < k {
            return None;
        }
        // One node (a pool) gains nothing from fit intervals: every reservation changes it.
        plan.fit_slot = match eligible.len() {
            1 => NO_FIT_SLOT,
            _ => plan.fits.slot(&shape.demand),
        };
        if horizon < plan.horizon {
            // A "can it start now?" probe (FCFS, or EASY after its reservation): a plain scan.
            return self.probe_now(plan, &eligible, &shape, duration, from, horizon);
        }
        if self.shared_frontiers && plan.fit_slot != NO_FIT_SLOT {
            return self.search_frontier(plan, id, &eligible, &shape, duration, from, horizon);
        }
        let mut bounds = match plan.shapes.states[id].bounds.take() {
            Some(b) => b,
            None => self.initial_bounds(plan, pi, &eligible, &shape, duration, from),
        };
        let nodes = &self.parts[pi].nodes;
        let heap = &mut bounds.heap;
        let found = if k == 1 {
            self.first_fit(plan, heap, nodes, &shape, duration, from, horizon)
        } else {
            self.first_common_fit(plan, heap, nodes, &shape, duration, from, horizon)
        };
        plan.shapes.states[id].bounds = Some(bounds);
        found
    }

    /// Starting bounds for a shape with a heap of every eligible node: `from` for each
    /// (refreshed lazily), except that shapes answered from fit intervals start exact (see
    /// [`Engine::exact_bounds`]).
    fn initial_bounds(
        &self,
        plan: &mut Plan,
        pi: usize,
        eligible: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
    ) -> Bounds {
        let heap = if plan.fit_slot != NO_FIT_SLOT {
            self.exact_bounds(plan, pi, eligible, shape, duration, from)
        } else {
            let rank = &self.parts[pi].rank;
            let keys = eligible
                .iter()
                .map(|&i| BoundKey::new(plan.now, from, rank[i] as usize));
            BoundHeap::from_keys(keys.collect(), self.packing(plan, pi))
        };
        Bounds {
            heap,
            gapped_seen: 0,
        }
    }

    /// How a partition's bounds pack into 32 bits, when its ranks and the window allow.
    fn packing(&self, plan: &Plan, pi: usize) -> Option<Packing> {
        Packing::new(self.parts[pi].nodes.len(), plan.horizon - plan.now)
    }

    /// A shape's bounds computed exactly in one sweep of the eligible nodes in allocation
    /// order. A single-node shape stops at the first node where it fits at `from` (the
    /// answer; the nodes after it keep `from`); a multi-node shape sweeps them all. The lazy
    /// heap would refresh the same nodes one pop at a time: all of them whenever fewer than
    /// the shape's nodes fit at `from`.
    fn exact_bounds(
        &self,
        plan: &mut Plan,
        pi: usize,
        eligible: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
    ) -> BoundHeap {
        let (window, base) = (plan.horizon, plan.now);
        let rank = &self.parts[pi].rank;
        let key = |t: Timestamp, i: usize| BoundKey::new(base, t, rank[i] as usize);
        let single = shape.nodes == 1;
        let mut entries = Vec::with_capacity(eligible.len());
        for (n, &i) in eligible.iter().enumerate() {
            match self.node_fit(plan, i, shape, from, duration, window) {
                Some(e) if e == from && single => {
                    entries.push(key(e, i));
                    entries.extend(eligible[n + 1..].iter().map(|&j| key(from, j)));
                    break;
                }
                Some(e) => entries.push(key(e, i)),
                None => {}
            }
        }
        BoundHeap::from_keys(entries, self.packing(plan, pi))
    }

    /// The earliest fit of `shape` on node `i` at or after `from`: from the node's fit
    /// intervals when they are current (most answers: kept small to be inlined), else by
    /// scanning its profile.
    #[inline]
    fn node_fit(
        &self,
        plan: &mut Plan,
        i: usize,
        shape: &Shape,
        from: Timestamp,
        duration: i64,
        horizon: Timestamp,
    ) -> Option<Timestamp> {
        let slot = plan.fit_slot;
        if slot != NO_FIT_SLOT
            && let Some(intervals) = plan.fits.get(slot, i)
        {
            plan.cached_fits += 1;
            return intervals.earliest(from, duration, horizon);
        }
        self.scan_node(plan, i, shape, from, duration, horizon)
    }

    /// [`Engine::node_fit`] when the node's intervals are not current: scans its profile
    /// (and keeps the intervals it finds).
    #[inline(never)]
    fn scan_node(
        &self,
        plan: &mut Plan,
        i: usize,
        shape: &Shape,
        from: Timestamp,
        duration: i64,
        horizon: Timestamp,
    ) -> Option<Timestamp> {
        plan.node_scans += 1;
        if plan.fit_slot != NO_FIT_SLOT
            && let Some(intervals) = self.fresh_intervals(plan, i, shape)
        {
            return earliest_in(intervals.iter().copied(), from, duration, horizon);
        }
        // A search without fit intervals, or a long profile (a pool planning its whole
        // queue), which changes with every reservation: search the profile directly.
        let cap = self.nodes[i].capacity;
        self.profile(plan, i)
            .earliest_fit(&shape.demand, &cap, from, duration, horizon)
    }

    /// Node `i`'s fit intervals for the search's demand, computed from its profile (or
    /// refitted from stale ones) and kept; `None` for a long profile, which is searched
    /// directly instead.
    fn fresh_intervals<'p>(
        &self,
        plan: &'p mut Plan,
        i: usize,
        shape: &Shape,
    ) -> Option<&'p [(Timestamp, Timestamp)]> {
        let slot = plan.fit_slot;
        let cap = self.nodes[i].capacity;
        if !self.profile(plan, i).is_small() {
            return None;
        }
        let (profiles, fits) = (&plan.profiles, &mut plan.fits);
        let profile = profiles[i].as_ref()?;
        Some(fits.store(slot, i, |stale, out| match stale {
            Some(stale) => profile.refit_intervals(&shape.demand, &cap, stale, out),
            None => profile.fit_intervals(&shape.demand, &cap, out),
        }))
    }

    /// Single node: refresh the least bound in place (or drop it) until the least is exact.
    #[allow(clippy::too_many_arguments)]
    fn first_fit(
        &self,
        plan: &mut Plan,
        heap: &mut BoundHeap,
        nodes: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
        horizon: Timestamp,
    ) -> Option<Placement> {
        let (window, base) = (plan.horizon, plan.now);
        while let Some(top) = heap.peek() {
            let (lb, pos) = (top.time(base), top.rank());
            if lb > horizon {
                return None;
            }
            let start = lb.max(from);
            let fit = self.node_fit(plan, nodes[pos], shape, start, duration, window);
            if fit == Some(lb) {
                return Some((lb, vec![nodes[pos]]));
            }
            heap.replace_least(fit.map(|e| BoundKey::new(base, e, pos)));
            if fit == Some(start) {
                return Some((start, vec![nodes[pos]]));
            }
        }
        None
    }

    /// Several nodes: the earliest time at which `k` nodes fit together. No start can
    /// precede the k-th smallest lower bound, so only nodes whose bound is at or before the
    /// candidate time are re-examined.
    #[allow(clippy::too_many_arguments)]
    fn first_common_fit(
        &self,
        plan: &mut Plan,
        heap: &mut BoundHeap,
        nodes: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
        horizon: Timestamp,
    ) -> Option<Placement> {
        let k = shape.nodes as usize;
        let (window, base) = (plan.horizon, plan.now);
        let mut t = from;
        // Buffers kept in the plan between searches (no allocation per search): bounds taken
        // out of the heap to refresh at t, and the nodes found to fit at t.
        let (mut stale, mut fit_at_t) = std::mem::take(&mut plan.bound_buffers);
        let found = loop {
            // Bounds at or before t are stale: refresh them (they can only move later). After
            // that the nodes that fit at t are in `fit_at_t`, the rest in the heap, after t.
            heap.take_until(BoundKey::last_at(base, t), &mut stale);
            while let Some(key) = stale.pop() {
                let pos = key.rank();
                match self.node_fit(plan, nodes[pos], shape, t, duration, window) {
                    Some(e) if e == t => fit_at_t.push(BoundKey::new(base, e, pos)),
                    Some(e) => heap.push(BoundKey::new(base, e, pos)),
                    None => {}
                }
            }
            if fit_at_t.len() + heap.len() < k {
                heap.extend(fit_at_t.drain(..));
                break None;
            }
            // The k smallest bounds (by time, then allocation order): k nodes fit together
            // at t when all of them are at t.
            if fit_at_t.len() >= k {
                sort_bounds(&mut fit_at_t);
                let chosen = fit_at_t[..k].iter().map(|key| nodes[key.rank()]).collect();
                heap.extend(fit_at_t.drain(..));
                break Some((t, chosen));
            }
            // Else the k-th smallest is a later time, where the nodes that fit at t and the
            // bounds up to it must be looked at again (the heap holds at least the missing
            // nodes, all after t).
            if let Some(kth) = heap.nth_least_time(k - fit_at_t.len() - 1, base) {
                t = kth;
            }
            stale.append(&mut fit_at_t);
            if t > horizon {
                heap.extend(stale.drain(..));
                break None;
            }
        };
        plan.bound_buffers = (stale, fit_at_t);
        found
    }

    /// Whether the shape fits from `from` to within `horizon` (normally: right now), scanning
    /// nodes in allocation order.
    fn probe_now(
        &self,
        plan: &mut Plan,
        eligible: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
        _horizon: Timestamp,
    ) -> Option<Placement> {
        let k = shape.nodes as usize;
        let mut chosen = Vec::with_capacity(k);
        for &i in eligible {
            if self.node_fit(plan, i, shape, from, duration, from) == Some(from) {
                chosen.push(i);
                if chosen.len() == k {
                    return Some((from, chosen));
                }
            }
        }
        None
    }

    /// Node `i`'s profile, built on first use from its free resources and running jobs.
    fn profile<'p>(&self, plan: &'p mut Plan, i: usize) -> &'p mut Profile {
        if plan.profiles[i].is_none() {
            let profile = self.new_profile(plan, i);
            plan.profiles[i] = Some(profile);
        }
        let node = &self.nodes[i];
        plan.profiles[i].get_or_insert_with(|| Profile::new(plan.now, node.free, []))
    }

    #[inline(never)]
    fn new_profile(&self, plan: &Plan, i: usize) -> Profile {
        let node = &self.nodes[i];
        let releases = node
            .jobs
            .iter()
            .map(|(_, end, r)| (plan.round_up(*end), *r));
        Profile::new(plan.now, node.free, releases)
    }

    fn reserve(
        &self,
        plan: &mut Plan,
        shape: &Shape,
        start: Timestamp,
        duration: i64,
        nodes: &[usize],
    ) {
        let end = start.saturating_add(duration).min(NEVER);
        for &i in nodes {
            let cap = self.nodes[i].capacity;
            let profile = self.profile(plan, i);
            let free = profile.free_at(start);
            if let Some(taken) = shape.demand.take_from(&free, &cap) {
                profile.reserve(start, end, &taken);
                plan.fits.touched(i, start, end);
                if let Some(window) = plan.window.as_mut() {
                    window.touched(i, start, plan.now);
                }
            }
        }
    }

    /// Starts a job (or the next task of an array) on `nodes`.
    fn start_job(
        &mut self,
        plan: &mut Plan,
        id: JobId,
        pi: usize,
        shape: &Shape,
        duration: i64,
        nodes: &[usize],
    ) -> JobStart {
        let now = plan.now;
        let job_id = self.split_array_task(id);
        let end = now.saturating_add(duration).min(NEVER);
        let planned_end = plan.round_up(end);
        let mut allocation = Vec::with_capacity(nodes.len());
        let mut resume_nodes = Vec::new();
        let mut configuring = false;
        for &i in nodes {
            let cap = self.nodes[i].capacity;
            let taken = shape
                .demand
                .take_from(&self.nodes[i].free, &cap)
                .unwrap_or(Res::ZERO);
            self.profile(plan, i).reserve(now, planned_end, &taken);
            plan.fits.touched(i, now, planned_end);
            if let Some(window) = plan.window.as_mut() {
                window.touched(i, now, now);
            }
            let node = &mut self.nodes[i];
            node.allocate(job_id, end, taken);
            if node.state.flags.powered_down {
                node.state.flags.powered_down = false;
                node.state.flags.powering_up = true;
                resume_nodes.push(node.config.name.clone());
            }
            configuring |= node.state.flags.powering_up;
            let gres = taken
                .gres
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(k, c)| self.kinds.gres(k, u64::from(*c)))
                .collect();
            allocation.push(NodeAllocation {
                node: self.nodes[i].config.name.clone(),
                cpus: taken.cpus,
                mem_mb: taken.mem_mb,
                gres,
            });
        }
        let partition = self.parts[pi].config.name.clone();
        if let Some(entry) = self.jobs.get_mut(&job_id) {
            let job = &mut entry.job;
            job.state = JobState::Running;
            job.reason = PendingReason::None;
            job.start_time = Some(now);
            job.planned_start = None;
            job.partition = partition;
            job.allocation = allocation.clone();
            job.configuring = configuring;
            entry.usage_mark = now;
        }
        self.pending.remove(&job_id);
        self.running.insert(job_id);
        JobStart {
            job_id,
            allocation,
            resume_nodes,
        }
    }

    /// For an array's pending record, splits off the next task as its own job and returns
    /// its id (the last task keeps the array's own id); other jobs are returned as they are.
    fn split_array_task(&mut self, id: JobId) -> JobId {
        let Some(entry) = self.jobs.get_mut(&id) else {
            return id;
        };
        let Some(array) = entry.job.array_pending.as_mut() else {
            return id;
        };
        if array.indices.is_empty() {
            entry.job.array_pending = None;
            return id;
        }
        let index = array.indices.remove(0);
        if array.indices.is_empty() {
            entry.job.array_pending = None;
            entry.job.array_task_id = Some(index);
            return id;
        }
        let mut task = entry.job.clone();
        task.id = self.next_id;
        self.next_id += 1;
        task.array_task_id = Some(index);
        task.array_pending = None;
        let task_id = task.id;
        self.array_tasks.entry(id).or_default().push(task_id);
        // The task leaves the array's pending count and counts as its own job.
        self.active.remove(&task.spec, 1);
        self.insert_pending(task);
        task_id
    }
}

#[cfg(test)]
mod tests {
    use super::super::{JobEnd, ManualClock};
    use super::*;
    use crate::config::ClusterConfig;
    use crate::model::{ExitStatus, GpuRequest, Gres, JobSpec, MemRequest, NodeConfig};
    use crate::model::{PartitionConfig, TimeLimit, Timestamp};
    use proptest::prelude::*;

    /// (arrival offset s, CPUs per node, nodes, GPUs per node, limit min, run % of limit)
    type Req = (i64, u32, u32, u32, u64, u32);

    fn cluster(policy: SchedulerPolicy, resolution: u64) -> ClusterConfig {
        let mut c = ClusterConfig::new("prune");
        for i in 0..3 {
            c.nodes.push(NodeConfig::simple(format!("c{i}"), 8, 16_000));
        }
        c.nodes
            .push(NodeConfig::simple("g0", 16, 32_000).with_gres(Gres::new(
                "gpu",
                Some("a100"),
                4,
            )));
        let mut p = PartitionConfig::new("all", c.nodes.iter().map(|n| n.name.clone()).collect());
        p.default = true;
        c.partitions.push(p);
        c.scheduler.policy = policy;
        c.scheduler.bf_resolution_s = resolution;
        c
    }

    /// Every (job, start), and every (job, pass time, planned start) of pending jobs.
    type Replay = (
        Vec<(JobId, Timestamp)>,
        Vec<(JobId, Timestamp, Option<Timestamp>)>,
    );

    /// Replays `reqs` (arrivals, then ends at start + run) and returns every (job, start)
    /// and, when planning every job, every pending job's planned start after each pass.
    fn starts(
        reqs: &[Req],
        policy: SchedulerPolicy,
        resolution: u64,
        plan_all: bool,
        frontiers: bool,
    ) -> Replay {
        let clock = ManualClock::new(0);
        let mut e = Engine::new(cluster(policy, resolution), clock.clone()).unwrap();
        e.set_plan_all(plan_all);
        e.set_shared_frontiers(frontiers);
        let mut arrivals: Vec<&Req> = reqs.iter().collect();
        arrivals.sort_by_key(|r| r.0);
        let mut next = 0;
        let mut run = std::collections::HashMap::new();
        let mut ends = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut plans = Vec::new();
        loop {
            let t = match (arrivals.get(next), ends.first()) {
                (Some(r), Some(&(end, _))) => r.0.min(end),
                (Some(r), None) => r.0,
                (None, Some(&(end, _))) => end,
                (None, None) => break,
            };
            clock.set(t);
            while let Some(&&(_, id)) = ends.first().filter(|(end, _)| *end <= t).as_ref() {
                ends.pop_first();
                e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS))
                    .unwrap();
            }
            while let Some(&&(at, cpus, nodes, gpus, minutes, pct)) = arrivals.get(next) {
                if at > t {
                    break;
                }
                next += 1;
                let spec = JobSpec {
                    user: "u".into(),
                    min_nodes: nodes,
                    ntasks: nodes * cpus,
                    mem: MemRequest::PerCpu(500),
                    gpus: GpuRequest {
                        per_node: (gpus > 0).then(|| Gres::new("gpu", None, u64::from(gpus))),
                        ..Default::default()
                    },
                    time_limit: Some(TimeLimit::minutes(minutes)),
                    ..JobSpec::default()
                };
                if let Ok(id) = e.submit(spec) {
                    run.insert(id, (minutes as i64 * 60 * i64::from(pct) / 100).max(1));
                }
            }
            for s in e.schedule() {
                out.push((s.job_id, t));
                ends.insert((t + run[&s.job_id], s.job_id));
            }
            if plan_all {
                plans.extend(e.pending_jobs().map(|j| (j.id, t, j.planned_start)));
            }
        }
        (out, plans)
    }

    fn req() -> impl Strategy<Value = Req> {
        (
            0i64..3_000,
            1u32..=8,
            1u32..=2,
            0u32..=4,
            0u64..=90,
            1u32..=100,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Not planning every job (the simulator's mode) stops a pass early only when nothing
        /// further could start: the same jobs start at the same times.
        #[test]
        fn pruned_passes_start_the_same_jobs(
            reqs in proptest::collection::vec(req(), 1..60),
            policy in super::super::tests::any_policy(),
            resolution in prop_oneof![Just(1u64), Just(60u64)],
        ) {
            prop_assert_eq!(
                starts(&reqs, policy, resolution, true, true).0,
                starts(&reqs, policy, resolution, false, true).0
            );
        }

        /// Sharing one frontier per demand across shapes is exact: the same jobs start at the
        /// same times and every pending job gets the same planned start as with a full heap
        /// per shape.
        #[test]
        fn shared_frontiers_decide_like_heaps_per_shape(
            reqs in proptest::collection::vec(req(), 1..60),
            policy in prop_oneof![Just(SchedulerPolicy::Easy), Just(SchedulerPolicy::Backfill)],
            resolution in prop_oneof![Just(1u64), Just(60u64)],
        ) {
            prop_assert_eq!(
                starts(&reqs, policy, resolution, true, true),
                starts(&reqs, policy, resolution, true, false)
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// The same with queues long enough that node profiles outgrow one chunk: a long
        /// profile keeps no fit intervals, and the frontier hands it to every shape's heap.
        #[test]
        fn shared_frontiers_decide_like_heaps_per_shape_on_long_profiles(
            reqs in proptest::collection::vec(req(), 150..220),
            resolution in prop_oneof![Just(1u64), Just(60u64)],
        ) {
            prop_assert_eq!(
                starts(&reqs, SchedulerPolicy::Backfill, resolution, true, true),
                starts(&reqs, SchedulerPolicy::Backfill, resolution, true, false)
            );
        }
    }
}
