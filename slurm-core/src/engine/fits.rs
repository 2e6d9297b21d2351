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
    /// The pass's start: intervals are kept as seconds after it.
    base: Timestamp,
    slots: FastMap<NodeDemand, usize>,
    /// Per (slot, node), at `slot * nodes + node`: (profile version computed at, start and
    /// end in `intervals`); [`NOT_COMPUTED`] as the version where none was.
    entries: Vec<(u32, u32, u32)>,
    /// Per slot: every interval computed for it (superseded ones stay until the pass ends,
    /// unless their refit took their place), as seconds after `base` ([`Packed`]): half the
    /// memory of timestamps, and lookups are most of a pass and wait on memory.
    intervals: Vec<Vec<Packed>>,
    /// Intervals as timestamps, for a refit to read and write.
    scratch: Vec<(Timestamp, Timestamp)>,
    /// Per node: how many times its profile changed this pass.
    versions: Vec<u32>,
    /// Per node: the time window `[start, end)` of each change, in order (change `v` moved
    /// the node from version `v` to `v + 1`): intervals computed at an older version need
    /// re-examining only within the changes made since.
    changes: Vec<Vec<(Timestamp, Timestamp)>>,
}

/// An interval as seconds after the pass's start; an end of [`UNBOUNDED`] never ends.
type Packed = (u32, u32);

/// A packed interval's end that is [`NEVER`].
const UNBOUNDED: u32 = u32::MAX;

/// The interval as seconds after `base`, when both ends are representable.
fn pack(base: Timestamp, (start, end): (Timestamp, Timestamp)) -> Option<Packed> {
    let offset = |t: Timestamp| {
        u32::try_from(t.checked_sub(base)?)
            .ok()
            .filter(|o| *o != UNBOUNDED)
    };
    let end = if end >= NEVER {
        UNBOUNDED
    } else {
        offset(end)?
    };
    Some((offset(start)?, end))
}

#[inline]
fn unpack(base: Timestamp, (start, end): Packed) -> (Timestamp, Timestamp) {
    let end = match end {
        UNBOUNDED => NEVER,
        e => base + i64::from(e),
    };
    (base + i64::from(start), end)
}

/// A node's fit intervals for one demand, as the cache keeps them.
#[derive(Debug, Clone, Copy)]
pub struct Intervals<'a> {
    packed: &'a [Packed],
    base: Timestamp,
}

/// How a demand fits a node over the rest of the pass, in brief.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// Where the first interval starts (`None`: the demand never fits).
    pub first: Option<Timestamp>,
    /// Where the last, unbounded interval starts: from then on the demand fits for any
    /// duration.
    pub unbounded_from: Option<Timestamp>,
    /// The longest bounded interval (0 when there is none): a job of a longer duration fits
    /// only from `unbounded_from` on.
    pub longest_gap: i64,
}

impl Fit {
    /// The fit of these intervals (sorted, disjoint; the last may be unbounded).
    #[inline]
    pub fn of(intervals: impl Iterator<Item = (Timestamp, Timestamp)>) -> Self {
        let mut fit = Fit {
            first: None,
            unbounded_from: None,
            longest_gap: 0,
        };
        for (start, end) in intervals {
            fit.first.get_or_insert(start);
            if end >= NEVER {
                fit.unbounded_from = Some(start);
            } else {
                fit.longest_gap = fit.longest_gap.max(end - start);
            }
        }
        fit
    }
}

impl Intervals<'_> {
    /// How the demand fits, by these intervals.
    #[inline]
    pub fn fit(self) -> Fit {
        let base = self.base;
        Fit::of(self.packed.iter().map(|&i| unpack(base, i)))
    }

    /// [`earliest_in`] these intervals.
    #[inline]
    pub fn earliest(self, from: Timestamp, duration: i64, horizon: Timestamp) -> Option<Timestamp> {
        let base = self.base;
        let intervals = self.packed.iter().map(|&i| unpack(base, i));
        earliest_in(intervals, from, duration, horizon)
    }
}

/// What a refit starts from: where in the list it appends to a node's intervals computed
/// before some changes are, and a window holding every change made since (outside it the
/// profile is as it was).
pub struct Stale {
    pub intervals: std::ops::Range<usize>,
    pub changed: (Timestamp, Timestamp),
}

/// Intervals a new slot's arena has room for, per node.
const INTERVALS_RESERVED_PER_NODE: usize = 4;

/// The version of an entry never computed (profile versions stop short of it).
const NOT_COMPUTED: u32 = u32::MAX;

impl FitCache {
    /// An empty cache for `nodes` nodes and a pass starting at `base`.
    pub fn new(nodes: usize, base: Timestamp) -> Self {
        Self {
            base,
            slots: FastMap::default(),
            entries: Vec::new(),
            intervals: Vec::new(),
            scratch: Vec::new(),
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

    /// How many times `node`'s profile changed this pass (what was computed from it before
    /// the latest change is stale).
    #[inline]
    pub fn version(&self, node: usize) -> Option<u32> {
        self.versions.get(node).copied()
    }

    /// The current intervals of `slot` on `node`, if computed since its profile last changed.
    #[inline]
    pub fn get(&self, slot: usize, node: usize) -> Option<Intervals<'_>> {
        let version = *self.versions.get(node)?;
        let (computed, start, end) = *self.entries.get(slot * self.versions.len() + node)?;
        let packed = (computed == version)
            .then(|| self.intervals[slot].get(start as usize..end as usize))??;
        Some(Intervals {
            packed,
            base: self.base,
        })
    }

    /// Stores the intervals `fill` appends for `slot` on `node`, and returns them (kept, or
    /// when too far from the pass's start to pack, not). `fill` is
    /// given the node's stale intervals, when there are some, to start from: a range of the
    /// list it appends to.
    #[inline]
    pub fn store(
        &mut self,
        slot: usize,
        node: usize,
        fill: impl FnOnce(Option<Stale>, &mut Vec<(Timestamp, Timestamp)>),
    ) -> &[(Timestamp, Timestamp)] {
        let (nodes, base) = (self.versions.len(), self.base);
        self.scratch.clear();
        let old = self.stale(slot, node).map(|stale| {
            let range = stale.intervals;
            let arena = &self.intervals[slot];
            let packed = arena.get(range.clone()).unwrap_or_default();
            self.scratch.extend(packed.iter().map(|&i| unpack(base, i)));
            let stale = Stale {
                intervals: 0..self.scratch.len(),
                changed: stale.changed,
            };
            (range, stale)
        });
        let (old, stale) = old.unzip();
        let first = self.scratch.len();
        fill(stale, &mut self.scratch);
        let fresh = &self.scratch[first..];
        let arena = &mut self.intervals[slot];
        let mark = arena.len();
        arena.extend(fresh.iter().map_while(|&i| pack(base, i)));
        let entry = if arena.len() - mark < fresh.len() {
            // An end too far from the pass's start to pack: not kept (the node is scanned
            // again at its next lookup).
            arena.truncate(mark);
            (NOT_COMPUTED, 0, 0)
        } else {
            let (mut start, mut end) = (mark, arena.len());
            // Refitted intervals that fit where the stale ones were go back there (they are
            // rarely more), so that the arena does not grow with every refit: fewer cache
            // misses and no copying as it grows.
            if let Some(old) = old
                && end - start <= old.len()
            {
                arena.copy_within(start..end, old.start);
                arena.truncate(start);
                (start, end) = (old.start, old.start + (end - start));
            }
            match (u32::try_from(start), u32::try_from(end)) {
                (Ok(s), Ok(e)) => (self.versions[node], s, e),
                _ => (NOT_COMPUTED, 0, 0),
            }
        };
        if let Some(slot_entry) = self.entries.get_mut(slot * nodes + node) {
            *slot_entry = entry;
        }
        &self.scratch[first..]
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
    intervals: impl IntoIterator<Item = (Timestamp, Timestamp)>,
    from: Timestamp,
    duration: i64,
    horizon: Timestamp,
) -> Option<Timestamp> {
    for (start, end) in intervals {
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Intervals kept packed answer as the timestamps they came from do, and intervals
        /// too far from the pass's start to pack are refused.
        #[test]
        fn packed_intervals_answer_like_timestamps(
            base in 0i64..2_000_000_000,
            gaps in proptest::collection::vec((1i64..5_000, 1i64..5_000), 0..6),
            unbounded in proptest::bool::ANY,
            from in 0i64..40_000,
            duration in 1i64..10_000,
            horizon in 0i64..40_000,
        ) {
            let mut intervals = Vec::new();
            let mut t = base;
            for (gap, len) in gaps {
                intervals.push((t + gap, t + gap + len));
                t += gap + len;
            }
            if unbounded {
                intervals.push((t + 1, NEVER));
            }
            let packed: Vec<Packed> = intervals.iter().map(|&i| pack(base, i)).collect::<Option<_>>().expect("near intervals pack");
            let kept = Intervals { packed: &packed, base };
            let (from, horizon) = (base + from, base + horizon);
            proptest::prop_assert_eq!(
                kept.earliest(from, duration, horizon),
                earliest_in(intervals.iter().copied(), from, duration, horizon)
            );
            proptest::prop_assert_eq!(pack(base, (base, base + i64::from(u32::MAX))), None);
            proptest::prop_assert_eq!(pack(base, (base - 1, base + 1)), None);
        }
    }
}
