//! Where each searched per-node demand fits on each node, shared by every search of a pass
//! with that demand (any time limit, any node count): the maximal intervals during which the
//! demand fits the node's profile. A node's intervals are kept until its profile changes (a
//! start or a reservation on it), so most searches answer a node without scanning its profile.
//! After a change only the parts of its intervals within the changed window are looked at
//! again: a reservation only takes, so nothing outside the old intervals can start fitting.

use super::fxhash::FastMap;
use super::profile::NEVER;
use super::resources::NodeDemand;
use crate::model::Timestamp;

/// Per-pass cache of fit intervals, by demand and node.
pub struct FitCache {
    slots: FastMap<NodeDemand, usize>,
    /// Per (slot, node), at `slot * nodes + node`: (profile version computed at, start and
    /// end in `intervals`); [`NOT_COMPUTED`] as the version where none was.
    entries: Vec<(u32, u32, u32)>,
    /// Per slot: every interval computed for it (superseded ones stay until the pass ends,
    /// unless their refit took their place).
    intervals: Vec<Vec<(Timestamp, Timestamp)>>,
    /// Per node: how many times its profile changed this pass.
    versions: Vec<u32>,
    /// Per node: the time window `[start, end)` of each change, in order (change `v` moved
    /// the node from version `v` to `v + 1`): intervals computed at an older version need
    /// re-examining only within the changes made since.
    changes: Vec<Vec<(Timestamp, Timestamp)>>,
}

/// What a refit starts from: where in the arena a node's intervals computed before some
/// changes are, and a window holding every change made since (outside it the profile is as
/// it was).
pub struct Stale {
    pub intervals: std::ops::Range<usize>,
    pub changed: (Timestamp, Timestamp),
}

/// Intervals a new slot's arena has room for, per node.
const INTERVALS_RESERVED_PER_NODE: usize = 4;

/// The version of an entry never computed (profile versions stop short of it).
const NOT_COMPUTED: u32 = u32::MAX;

impl FitCache {
    pub fn new(nodes: usize) -> Self {
        Self {
            slots: FastMap::default(),
            entries: Vec::new(),
            intervals: Vec::new(),
            versions: vec![0; nodes],
            changes: vec![Vec::new(); nodes],
        }
    }

    /// The slot of `demand`, created when new.
    pub fn slot(&mut self, demand: &NodeDemand) -> usize {
        if let Some(&slot) = self.slots.get(demand) {
            return slot;
        }
        let slot = self.intervals.len();
        self.slots.insert(demand.clone(), slot);
        self.entries.extend(std::iter::repeat_n(
            (NOT_COMPUTED, 0, 0),
            self.versions.len(),
        ));
        // Room for a few intervals per node: the arena grows as nodes are rescanned, and
        // doubling from empty copied it over and over.
        self.intervals.push(Vec::with_capacity(
            self.versions.len() * INTERVALS_RESERVED_PER_NODE,
        ));
        slot
    }

    /// Node `node`'s profile changed within `[start, end)`: its intervals are stale for every
    /// demand.
    pub fn touched(&mut self, node: usize, start: Timestamp, end: Timestamp) {
        if let (Some(v), Some(changes)) = (self.versions.get_mut(node), self.changes.get_mut(node))
        {
            // Wrapping past NOT_COMPUTED would need four billion changes to one node in a pass
            // (the log no longer matches versions then, and stale intervals are recomputed).
            *v = (*v + 1) % NOT_COMPUTED;
            changes.push((start, end));
        }
    }

    /// The current intervals of `slot` on `node`, if computed since its profile last changed.
    #[inline]
    pub fn get(&self, slot: usize, node: usize) -> Option<&[(Timestamp, Timestamp)]> {
        let version = *self.versions.get(node)?;
        let (computed, start, end) = *self.entries.get(slot * self.versions.len() + node)?;
        (computed == version).then(|| self.intervals[slot].get(start as usize..end as usize))?
    }

    /// Stores the intervals `fill` appends for `slot` on `node`, and returns them. `fill` is
    /// given the node's stale intervals, when there are some, to start from.
    #[inline]
    pub fn store(
        &mut self,
        slot: usize,
        node: usize,
        fill: impl FnOnce(Option<Stale>, &mut Vec<(Timestamp, Timestamp)>),
    ) -> &[(Timestamp, Timestamp)] {
        let nodes = self.versions.len();
        let stale = self.stale(slot, node);
        let old = stale.as_ref().map(|s| s.intervals.clone());
        let arena = &mut self.intervals[slot];
        let mut start = arena.len();
        fill(stale, arena);
        let mut end = arena.len();
        // Refitted intervals that fit where the stale ones were go back there (they are
        // rarely more), so that the arena does not grow with every refit: fewer cache misses
        // and no copying as it grows.
        if let Some(old) = old
            && end - start <= old.len()
        {
            arena.copy_within(start..end, old.start);
            arena.truncate(start);
            (start, end) = (old.start, old.start + (end - start));
        }
        if let (Ok(s), Ok(e), Some(entry)) = (
            u32::try_from(start),
            u32::try_from(end),
            self.entries.get_mut(slot * nodes + node),
        ) {
            *entry = (self.versions[node], s, e);
        }
        &self.intervals[slot][start..end]
    }

    /// When `slot`'s intervals on `node` were computed before its latest changes: where they
    /// are, and the window holding every change made since.
    fn stale(&self, slot: usize, node: usize) -> Option<Stale> {
        let (computed, start, end) = *self.entries.get(slot * self.versions.len() + node)?;
        if computed == NOT_COMPUTED {
            return None;
        }
        let changes = self.changes.get(node)?;
        if changes.len() >= NOT_COMPUTED as usize {
            // Versions have wrapped: the log no longer tells which changes came since.
            return None;
        }
        let since = changes.get(computed as usize..)?;
        let changed = since.iter().fold((NEVER, Timestamp::MIN), |(s, e), c| {
            (s.min(c.0), e.max(c.1))
        });
        Some(Stale {
            intervals: start as usize..end as usize,
            changed,
        })
    }
}

/// The earliest `t >= from` (and `<= horizon`) such that `[t, t + duration)` lies within one
/// of `intervals` (sorted, disjoint, half-open; an end at [`NEVER`] is unbounded), or `None`:
/// the same answer as [`super::profile::Profile::earliest_fit`] on the profile they came from.
#[inline]
pub fn earliest_in(
    intervals: &[(Timestamp, Timestamp)],
    from: Timestamp,
    duration: i64,
    horizon: Timestamp,
) -> Option<Timestamp> {
    for &(start, end) in intervals {
        if end <= from {
            continue;
        }
        let s = start.max(from);
        if s > horizon {
            return None;
        }
        if end >= NEVER || end.saturating_sub(s) >= duration {
            return Some(s);
        }
    }
    None
}
