//! Where one demand can start on the nodes of a partition, shared by every shape with that
//! demand (any time limit, any node count).
//!
//! A demand's fit intervals on a node end with an unbounded one, `[s, ∞)`: from `s` on the
//! node fits the demand for any duration. Before it there may be bounded gaps, and a job fits
//! in one only when it is no longer than the gap. So for a shape whose time limit is longer
//! than a node's longest gap, the node fits from `s` on and nowhere before, and one ordering
//! of the nodes by `s` serves all those shapes: a node a reservation touched is looked at
//! again once per demand, not once per shape (a pass has about twenty shapes per demand).
//! A node with a gap at least as long as a shape's time limit is handed to that shape's own
//! bound heap, as every node was before, and stays there. Most gaps are short (at 1,000
//! nodes, half of those found were at most 10 minutes, nearly all at most an hour), so most
//! shapes never take most gapped nodes.
//!
//! Keys only move later during a pass (reservations and starts only take), so a key computed
//! earlier is a lower bound, exact while the node's profile is unchanged since.

use super::super::bounds::{BoundHeap, BoundKey};
use super::super::fits::{Fit, FitCache};
use super::super::sorted_blocks::SortedBlocks;
use super::{Bounds, Placement, Plan, ShapeId};
use crate::engine::shape::Shape;
use crate::engine::{Clock, Engine};
use crate::model::Timestamp;

/// One demand's nodes in one partition, by where they fit it from some time on.
pub(super) struct Frontier {
    /// Nodes by (`s`, rank in the partition), `s` the start of their unbounded interval when
    /// last looked at: exact for a verified node, a lower bound otherwise. Nodes whose `s` is
    /// past the planning window are left out.
    unbounded: SortedBlocks<BoundKey>,
    /// Per rank: what the frontier knows of the node besides its key (one place, as every
    /// look at a key reads both).
    ranks: Vec<RankState>,
    /// Each time a node's longest gap grew, in order: the shapes whose time limit the gap
    /// now holds and did not before take the node into their heaps.
    gapped: Vec<GapGrown>,
}

/// A frontier's node, besides its key.
#[derive(Debug, Clone, Copy)]
struct RankState {
    /// The node's profile version when its key was found exact ([`UNVERIFIED`] when never).
    verified: u32,
    /// The longest gap the node has been seen with this pass (0: none). It only grows: a
    /// shape whose time limit the gap holds has the node in its heap and skips it here.
    longest_gap: GapSecs,
}

/// A node's longest gap grew from `before` to `after`: a shape whose time limit `after`
/// holds and `before` did not takes the node into its heap, with `key` (the start of its
/// first interval: no fit of any duration is earlier).
#[derive(Debug, Clone, Copy)]
struct GapGrown {
    key: BoundKey,
    before: GapSecs,
    after: GapSecs,
}

/// A gap's length in seconds, as a frontier keeps it (half the memory of a timestamp), or
/// [`ANY_GAP`].
type GapSecs = u32;

/// The longest gap of a node whose profile is long (its fit intervals are not kept) or
/// whose gap is too long to keep: it holds every duration, so every shape searches the
/// node in its heap.
const ANY_GAP: GapSecs = GapSecs::MAX;

/// `gap` seconds as a frontier keeps them.
fn gap_secs(gap: i64) -> GapSecs {
    GapSecs::try_from(gap)
        .ok()
        .filter(|g| *g != ANY_GAP)
        .unwrap_or(ANY_GAP)
}

/// Whether a gap of `gap` holds a job of time limit `duration` (every gap holds a job of
/// no time at all, as one of a second: gaps are not empty).
#[inline]
fn holds(gap: GapSecs, duration: i64) -> bool {
    gap == ANY_GAP || duration.max(1) <= i64::from(gap)
}

/// What a shape makes of a frontier key ([`Frontier::look`]).
enum Look {
    /// The node's gaps could hold the shape: its heap has the node.
    InHeap,
    /// The node changed since its key was found: a lower bound only.
    Stale,
    Exact,
}

/// A rank never verified (profile versions stop short of it).
const UNVERIFIED: u32 = u32::MAX;

/// What one search looks for: the partition's nodes by rank, the shape and its time limit,
/// and the earliest start it may have.
#[derive(Clone, Copy)]
struct Query<'a> {
    nodes: &'a [usize],
    shape: &'a Shape,
    duration: i64,
    from: Timestamp,
}

/// Unverified keys a search re-examines at a time before looking again.
const REFRESH_BATCH: usize = 32;

impl<C: Clock> Engine<C> {
    /// A search with shape `id`'s bounds over gapped nodes and its demand's frontier (the
    /// plan's fit slot is the demand's).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn search_frontier(
        &self,
        plan: &mut Plan,
        id: ShapeId,
        eligible: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
        horizon: Timestamp,
    ) -> Option<Placement> {
        let pi = plan.shapes.states[id].pi;
        let fid = self.frontier_of(plan, pi, eligible, shape);
        let mut frontier = std::mem::replace(&mut plan.frontiers[fid], Frontier::empty());
        let mut bounds = match plan.shapes.states[id].bounds.take() {
            Some(b) => b,
            None => Bounds {
                heap: BoundHeap::from_keys(Vec::new(), self.packing(plan, pi)),
                gapped_seen: 0,
            },
        };
        let query = Query {
            nodes: &self.parts[pi].nodes,
            shape,
            duration,
            from,
        };
        let (f, b) = (&mut frontier, &mut bounds);
        let found = if shape.nodes == 1 {
            self.first_fit_shared(plan, f, b, query)
        } else {
            self.first_common_fit_shared(plan, f, b, query)
        };
        plan.frontiers[fid] = frontier;
        plan.shapes.states[id].bounds = Some(bounds);
        found.filter(|(t, _)| *t <= horizon)
    }

    /// The frontier of the search's demand in partition `pi`, made by one sweep of its
    /// eligible nodes when first asked for.
    fn frontier_of(&self, plan: &mut Plan, pi: usize, eligible: &[usize], shape: &Shape) -> usize {
        let key = (pi, plan.fit_slot);
        if let Some(&fid) = plan.frontier_ids.get(&key) {
            return fid;
        }
        let rank = &self.parts[pi].rank;
        let mut frontier = Frontier::for_ranks(self.parts[pi].nodes.len());
        let mut unbounded = Vec::with_capacity(eligible.len());
        for &i in eligible {
            let r = rank[i] as usize;
            if let Some(key) = self.classify(plan, &mut frontier, i, r, shape) {
                unbounded.push(key);
            }
        }
        frontier.unbounded = SortedBlocks::from_keys(unbounded);
        let fid = plan.frontiers.len();
        plan.frontiers.push(frontier);
        plan.frontier_ids.insert(key, fid);
        fid
    }

    /// Looks at node `i` (rank `r`) afresh, and marks it verified: its key when its
    /// unbounded interval starts within the window. A longer gap than it had before is
    /// logged for the shapes it now concerns.
    fn classify(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        i: usize,
        r: usize,
        shape: &Shape,
    ) -> Option<BoundKey> {
        let base = plan.now;
        let fit = match plan.fits.get(plan.fit_slot, i) {
            Some(intervals) => {
                plan.cached_fits += 1;
                intervals.fit()
            }
            None => {
                plan.node_scans += 1;
                match self.fresh_intervals(plan, i, shape) {
                    Some(intervals) => Fit::of(intervals.iter().copied()),
                    // A long profile: searched directly by each shape (its gap is kept as
                    // ANY_GAP, which holds every duration).
                    None => Fit {
                        first: Some(base),
                        unbounded_from: None,
                        longest_gap: i64::MAX,
                    },
                }
            }
        };
        let state = &mut frontier.ranks[r];
        state.verified = plan.fits.version(i).unwrap_or(UNVERIFIED);
        let (before, after) = (state.longest_gap, gap_secs(fit.longest_gap));
        if after > before {
            state.longest_gap = after;
            frontier.gapped.push(GapGrown {
                key: BoundKey::new(base, fit.first.unwrap_or(base), r),
                before,
                after,
            });
        }
        let from = fit.unbounded_from.filter(|s| *s <= plan.horizon)?;
        Some(BoundKey::new(base, from, r))
    }

    /// Re-examines the frontier's keys in `plan.frontier_stale`: each is replaced by its
    /// node's exact key, or taken out when its unbounded interval starts past the window.
    fn refresh(&self, plan: &mut Plan, frontier: &mut Frontier, query: Query) {
        let Query { nodes, shape, .. } = query;
        let mut stale = std::mem::take(&mut plan.frontier_stale);
        for key in stale.drain(..) {
            let r = key.rank();
            let fresh = self.classify(plan, frontier, nodes[r], r, shape);
            // A change outside the demand's interval often leaves the key as it was.
            if fresh != Some(key) {
                frontier.unbounded.remove(key);
                if let Some(fresh) = fresh {
                    frontier.unbounded.insert(fresh);
                }
            }
        }
        plan.frontier_stale = stale;
    }

    /// Single node: the least (start, rank) over the frontier (a node starts at `s` or
    /// `from`, the later) and the shape's heap of gapped nodes.
    fn first_fit_shared(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        bounds: &mut Bounds,
        query: Query,
    ) -> Option<Placement> {
        let Query {
            nodes,
            shape,
            duration,
            from,
        } = query;
        let (window, base) = (plan.horizon, plan.now);
        let mut best = self.least_unbounded(plan, frontier, query);
        // Including the nodes whose gaps were found to hold the shape just now.
        frontier.hand_gapped(bounds, duration);
        let heap = &mut bounds.heap;
        while let Some(top) = heap.peek() {
            if best.is_some_and(|b| top > b) {
                break;
            }
            let (lb, pos) = (top.time(base), top.rank());
            if lb > window {
                break;
            }
            let fit = self.node_fit(plan, nodes[pos], shape, lb.max(from), duration, window);
            if fit == Some(lb) {
                best = Some(top);
                break;
            }
            heap.replace_least(fit.map(|e| BoundKey::new(base, e, pos)));
        }
        best.map(|key| (key.time(base), vec![nodes[key.rank()]]))
    }

    /// The least (max(`s`, `from`), rank) of the frontier's nodes for a shape of time limit
    /// `duration`, its unverified keys re-examined wherever they could be less.
    fn least_unbounded(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        query: Query,
    ) -> Option<BoundKey> {
        let Query {
            nodes,
            duration,
            from,
            ..
        } = query;
        let base = plan.now;
        loop {
            let mut best: Option<BoundKey> = None;
            let stale = &mut plan.frontier_stale;
            for key in frontier.unbounded.iter() {
                if best.is_some_and(|b| key > b) || stale.len() == REFRESH_BATCH {
                    break;
                }
                match frontier.look(key, duration, &plan.fits, nodes) {
                    Look::InHeap => {}
                    Look::Stale => stale.push(key),
                    Look::Exact => {
                        let start = BoundKey::new(base, key.time(base).max(from), key.rank());
                        best = Some(best.map_or(start, |b| b.min(start)));
                    }
                }
            }
            if stale.is_empty() {
                return best;
            }
            self.refresh(plan, frontier, query);
        }
    }

    /// Re-examines the frontier's unverified keys up to `limit` until none is left, and
    /// returns how many nodes it then has up to `limit` for a shape of time limit
    /// `duration` (they fit from their key on).
    fn settle_until(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        query: Query,
        limit: BoundKey,
    ) -> usize {
        let Query {
            nodes, duration, ..
        } = query;
        loop {
            let stale = &mut plan.frontier_stale;
            let mut count = 0;
            for key in frontier.unbounded.up_to(limit) {
                match frontier.look(key, duration, &plan.fits, nodes) {
                    Look::InHeap => {}
                    Look::Stale => stale.push(key),
                    Look::Exact => count += 1,
                }
            }
            if stale.is_empty() {
                return count;
            }
            self.refresh(plan, frontier, query);
        }
    }

    /// Several nodes: the earliest time at which `k` nodes fit together: frontier nodes from
    /// their key on, gapped ones where the shape's heap finds them (as in
    /// [`Engine::first_common_fit`]).
    fn first_common_fit_shared(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        bounds: &mut Bounds,
        query: Query,
    ) -> Option<Placement> {
        let Query {
            nodes,
            shape,
            duration,
            from,
        } = query;
        frontier.hand_gapped(bounds, duration);
        let k = shape.nodes as usize;
        let (window, base) = (plan.horizon, plan.now);
        let mut t = from;
        let (mut stale, mut fit_at_t) = std::mem::take(&mut plan.bound_buffers);
        let found = loop {
            let heap = &mut bounds.heap;
            heap.take_until(BoundKey::last_at(base, t), &mut stale);
            while let Some(key) = stale.pop() {
                let pos = key.rank();
                match self.node_fit(plan, nodes[pos], shape, t, duration, window) {
                    Some(e) if e == t => fit_at_t.push(BoundKey::new(base, e, pos)),
                    Some(e) => heap.push(BoundKey::new(base, e, pos)),
                    None => {}
                }
            }
            let limit = BoundKey::last_at(base, t);
            let unbounded_at_t = self.settle_until(plan, frontier, query, limit);
            if frontier.hand_gapped(bounds, duration) {
                // Nodes whose gaps were found to hold the shape: looked at with the heap's.
                continue;
            }
            let heap = &mut bounds.heap;
            let fitting = unbounded_at_t + fit_at_t.len();
            if frontier.unbounded.len() + fit_at_t.len() + heap.len() < k {
                heap.extend(fit_at_t.drain(..));
                break None;
            }
            if fitting >= k {
                // The k first in allocation order of every node that fits at t.
                let served = frontier.unbounded.up_to(limit);
                let served = served.filter(|key| frontier.serves(key.rank(), duration));
                let ranks = fit_at_t.iter().copied().chain(served).map(|key| key.rank());
                let mut chosen = std::mem::take(&mut plan.chosen_ranks);
                least_ranks(ranks, k, &mut chosen);
                let placement = chosen.iter().map(|&r| nodes[r]).collect();
                plan.chosen_ranks = chosen;
                heap.extend(fit_at_t.drain(..));
                break Some((t, placement));
            }
            // Else the next candidate is the (k - fitting)-th least key after t, of the
            // frontier's and the heap's: the heap's keys up to it are taken to be refreshed
            // there, with the gapped nodes that fit at t.
            let missing = k - fitting;
            let served = |key: &BoundKey| frontier.serves(key.rank(), duration);
            let next = if heap.len() == 0 {
                let nth = frontier
                    .unbounded
                    .after(limit)
                    .filter(served)
                    .nth(missing - 1);
                nth.map(|key| key.time(base))
            } else if frontier.unbounded.after(limit).find(served).is_none() {
                // Only the heap's: found without taking them out.
                heap.nth_least_time(missing - 1, base)
            } else {
                let mut after = frontier.unbounded.after(limit).filter(served).peekable();
                let mut next = None;
                for _ in 0..missing {
                    let key = match (after.peek().copied(), heap.peek()) {
                        (Some(u), Some(h)) if h < u => {
                            heap.take_until(h, &mut stale);
                            h
                        }
                        (Some(u), _) => {
                            after.next();
                            u
                        }
                        (None, Some(h)) => {
                            heap.take_until(h, &mut stale);
                            h
                        }
                        (None, None) => break,
                    };
                    next = Some(key.time(base));
                }
                next
            };
            let Some(next) = next else {
                heap.extend(stale.drain(..));
                heap.extend(fit_at_t.drain(..));
                break None;
            };
            t = next;
            stale.append(&mut fit_at_t);
            if t > window {
                heap.extend(stale.drain(..));
                break None;
            }
        };
        plan.bound_buffers = (stale, fit_at_t);
        found
    }
}

/// The `k` least of `ranks` (distinct), ascending, into `out`. Kept by insertion into a
/// short sorted list for small `k` (a multi-node job's nodes; every node that fits at its
/// time can be thousands), else sorted whole.
fn least_ranks(ranks: impl Iterator<Item = usize>, k: usize, out: &mut Vec<usize>) {
    out.clear();
    if k > SELECT_BY_INSERTION_UP_TO {
        out.extend(ranks);
        out.sort_unstable();
        out.truncate(k);
        return;
    }
    for r in ranks {
        if out.len() == k && out.last().is_some_and(|&last| r > last) {
            continue;
        }
        let at = out.partition_point(|&x| x < r);
        out.insert(at, r);
        out.truncate(k);
    }
}

/// The most nodes a multi-node search picks by insertion (see [`least_ranks`]).
const SELECT_BY_INSERTION_UP_TO: usize = 32;

impl Frontier {
    /// Gives the heap of a shape of time limit `duration` the nodes whose gaps have grown
    /// to hold it since it last looked; says whether there were some.
    fn hand_gapped(&self, bounds: &mut Bounds, duration: i64) -> bool {
        let new = self.gapped.get(bounds.gapped_seen..).unwrap_or_default();
        bounds.gapped_seen = self.gapped.len();
        let mut handed = false;
        for grown in new {
            if !holds(grown.before, duration) && holds(grown.after, duration) {
                bounds.heap.push(grown.key);
                handed = true;
            }
        }
        handed
    }

    /// What a shape of time limit `duration` makes of `key`: its node is in the shape's
    /// heap, or here with a key to re-examine, or here with an exact key.
    #[inline]
    fn look(&self, key: BoundKey, duration: i64, fits: &FitCache, nodes: &[usize]) -> Look {
        let r = key.rank();
        let state = self.ranks[r];
        if holds(state.longest_gap, duration) {
            Look::InHeap
        } else if fits.version(nodes[r]) != Some(state.verified) {
            Look::Stale
        } else {
            Look::Exact
        }
    }

    /// Whether a shape of time limit `duration` finds the node of rank `r` here (else in
    /// its heap).
    #[inline]
    fn serves(&self, r: usize, duration: i64) -> bool {
        !holds(self.ranks[r].longest_gap, duration)
    }

    /// A frontier of a partition of `ranks` nodes, none of them in it yet.
    fn for_ranks(ranks: usize) -> Self {
        Self {
            ranks: vec![
                RankState {
                    verified: UNVERIFIED,
                    longest_gap: 0,
                };
                ranks
            ],
            ..Self::empty()
        }
    }

    fn empty() -> Self {
        Self {
            unbounded: SortedBlocks::default(),
            ranks: Vec::new(),
            gapped: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Picking the k least ranks by insertion (or by sorting, for large k) gives the
        /// first k of the sorted ranks.
        #[test]
        fn least_ranks_are_the_first_sorted(
            ranks in proptest::collection::hash_set(0usize..5_000, 0..300),
            k in 1usize..48,
        ) {
            let ranks: Vec<usize> = ranks.into_iter().collect();
            let mut picked = Vec::new();
            least_ranks(ranks.iter().copied(), k, &mut picked);
            let mut sorted = ranks;
            sorted.sort_unstable();
            sorted.truncate(k);
            proptest::prop_assert_eq!(picked, sorted);
        }
    }
}
