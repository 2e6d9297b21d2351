//! Where one demand can start on the nodes of a partition, shared by every shape with that
//! demand (any time limit, any node count).
//!
//! On most nodes a demand's fit intervals are one unbounded interval `[s, ∞)`: the node fits
//! the demand for any duration from `s` on. One ordering of those nodes by `s` serves all the
//! shapes of the demand, so a node a reservation touched is looked at again once per demand,
//! not once per shape (a pass has about twenty shapes per demand). The other nodes, with
//! bounded gaps before their last interval, fit a job or not by how long it runs: they are
//! handed to each shape's own bound heap, as every node was before.
//!
//! Keys only move later during a pass (reservations and starts only take), so a key computed
//! earlier is a lower bound, exact while the node's profile is unchanged since.

use super::super::bounds::{BoundHeap, BoundKey, sort_bounds};
use super::super::fits::Fit;
use super::super::sorted_blocks::SortedBlocks;
use super::{Bounds, Placement, Plan, ShapeId};
use crate::engine::shape::Shape;
use crate::engine::{Clock, Engine};
use crate::model::Timestamp;

/// One demand's nodes in one partition, as far as they fit it from some time on.
pub(super) struct Frontier {
    /// Nodes whose intervals were one unbounded interval `[s, ∞)` when last looked at, by
    /// (`s`, rank in the partition): exact for a verified node, a lower bound otherwise.
    /// Nodes that cannot fit within the planning window are left out.
    unbounded: SortedBlocks<BoundKey>,
    /// Per rank: the node's profile version when its key was found exact ([`UNVERIFIED`]
    /// when never).
    verified: Vec<u32>,
    /// Nodes found with bounded gaps, in the order found, each with a lower bound of its
    /// earliest fit for any duration (its first interval's start): every shape's heap takes
    /// them. A node stays here once found, even if its gaps are later taken.
    gapped: Vec<BoundKey>,
}

/// A rank never verified (profile versions stop short of it).
const UNVERIFIED: u32 = u32::MAX;

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
        let nodes = &self.parts[pi].nodes;
        let found = if shape.nodes == 1 {
            self.first_fit_shared(
                plan,
                &mut frontier,
                &mut bounds,
                nodes,
                shape,
                duration,
                from,
            )
        } else {
            let (f, b) = (&mut frontier, &mut bounds);
            self.first_common_fit_shared(plan, f, b, nodes, shape, duration, from)
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
        let mut frontier = Frontier::empty();
        frontier.verified = vec![UNVERIFIED; self.parts[pi].nodes.len()];
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

    /// Looks at node `i` (rank `r`) afresh: its key when it fits the demand from some time
    /// within the window on, for any duration (marked verified); a gapped node goes to the
    /// frontier's gapped list instead, and one that cannot fit within the window nowhere.
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
                    // A long profile: searched directly by each shape.
                    None => Fit::Gaps(base),
                }
            }
        };
        match fit {
            Fit::From(start) if start <= plan.horizon => {
                frontier.verified[r] = plan.fits.version(i).unwrap_or(UNVERIFIED);
                Some(BoundKey::new(base, start, r))
            }
            Fit::From(_) | Fit::Never => None,
            Fit::Gaps(start) => {
                frontier.gapped.push(BoundKey::new(base, start, r));
                None
            }
        }
    }

    /// Re-examines the frontier's keys in `plan.frontier_stale`: each is replaced by its
    /// node's exact key, or taken out when the node is gapped now or cannot fit within the
    /// window.
    fn refresh(&self, plan: &mut Plan, frontier: &mut Frontier, nodes: &[usize], shape: &Shape) {
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
    #[allow(clippy::too_many_arguments)]
    fn first_fit_shared(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        bounds: &mut Bounds,
        nodes: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
    ) -> Option<Placement> {
        let (window, base) = (plan.horizon, plan.now);
        let mut best = self.least_unbounded(plan, frontier, nodes, shape, from);
        // Including the nodes found gapped just now.
        frontier.hand_gapped(bounds);
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

    /// The least (max(`s`, `from`), rank) of the frontier's nodes, its unverified keys
    /// re-examined wherever they could be less.
    fn least_unbounded(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        nodes: &[usize],
        shape: &Shape,
        from: Timestamp,
    ) -> Option<BoundKey> {
        let base = plan.now;
        loop {
            let mut best: Option<BoundKey> = None;
            let stale = &mut plan.frontier_stale;
            for key in frontier.unbounded.iter() {
                if best.is_some_and(|b| key > b) || stale.len() == REFRESH_BATCH {
                    break;
                }
                let r = key.rank();
                if plan.fits.version(nodes[r]) != Some(frontier.verified[r]) {
                    stale.push(key);
                    continue;
                }
                let start = BoundKey::new(base, key.time(base).max(from), r);
                best = Some(best.map_or(start, |b| b.min(start)));
            }
            if stale.is_empty() {
                return best;
            }
            self.refresh(plan, frontier, nodes, shape);
        }
    }

    /// Re-examines the frontier's unverified keys up to `limit` until none is left, and
    /// returns how many nodes it then has up to `limit` (they fit from their key on).
    fn settle_until(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        nodes: &[usize],
        shape: &Shape,
        limit: BoundKey,
    ) -> usize {
        loop {
            let stale = &mut plan.frontier_stale;
            let mut count = 0;
            for key in frontier.unbounded.up_to(limit) {
                let r = key.rank();
                if plan.fits.version(nodes[r]) != Some(frontier.verified[r]) {
                    stale.push(key);
                } else {
                    count += 1;
                }
            }
            if stale.is_empty() {
                return count;
            }
            self.refresh(plan, frontier, nodes, shape);
        }
    }

    /// Several nodes: the earliest time at which `k` nodes fit together: frontier nodes from
    /// their key on, gapped ones where the shape's heap finds them (as in
    /// [`Engine::first_common_fit`]).
    #[allow(clippy::too_many_arguments)]
    fn first_common_fit_shared(
        &self,
        plan: &mut Plan,
        frontier: &mut Frontier,
        bounds: &mut Bounds,
        nodes: &[usize],
        shape: &Shape,
        duration: i64,
        from: Timestamp,
    ) -> Option<Placement> {
        frontier.hand_gapped(bounds);
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
            let unbounded_at_t = self.settle_until(plan, frontier, nodes, shape, limit);
            if frontier.hand_gapped(bounds) {
                // Nodes found gapped at t: looked at with the heap's first.
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
                let mut chosen = std::mem::take(&mut plan.chosen_keys);
                chosen.clear();
                chosen.extend(fit_at_t.iter().copied());
                let at_t = |key: &BoundKey| BoundKey::new(base, t, key.rank());
                chosen.extend(frontier.unbounded.up_to(limit).map(|key| at_t(&key)));
                sort_bounds(&mut chosen);
                let placement = chosen[..k].iter().map(|key| nodes[key.rank()]).collect();
                plan.chosen_keys = chosen;
                heap.extend(fit_at_t.drain(..));
                break Some((t, placement));
            }
            // Else the next candidate is the (k - fitting)-th least key after t, of the
            // frontier's and the heap's: the heap's keys up to it are taken to be refreshed
            // there, with the gapped nodes that fit at t.
            let missing = k - fitting;
            let first_after = frontier.unbounded.after(limit).next();
            let next = if heap.len() == 0 {
                let nth = frontier.unbounded.after(limit).nth(missing - 1);
                nth.map(|key| key.time(base))
            } else if first_after.is_none() {
                // Only the heap's: found without taking them out.
                heap.nth_least_time(missing - 1, base)
            } else {
                let mut after = frontier.unbounded.after(limit).peekable();
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

impl Frontier {
    /// Gives the shape's heap the nodes found gapped since it last took them; says whether
    /// there were some.
    fn hand_gapped(&self, bounds: &mut Bounds) -> bool {
        let new = self.gapped.get(bounds.gapped_seen..).unwrap_or_default();
        bounds.heap.extend(new.iter().copied());
        bounds.gapped_seen = self.gapped.len();
        !new.is_empty()
    }

    fn empty() -> Self {
        Self {
            unbounded: SortedBlocks::default(),
            verified: Vec::new(),
            gapped: Vec::new(),
        }
    }
}
