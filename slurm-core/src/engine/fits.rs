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
    /// The slot of each demand searched: its index in `slots`.
    by_demand: FastMap<NodeDemand, usize>,
    slots: Vec<Slot>,
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

/// One demand's intervals on every node.
struct Slot {
    /// Per node: its intervals as of a profile version (a list per slot, not one for all:
    /// a new slot does not copy the others').
    entries: Vec<Entry>,
    /// Every interval list kept outside an entry (superseded ones stay until the pass ends,
    /// unless their refit took their place), as seconds after `base` ([`Packed`]): half the
    /// memory of timestamps, and lookups are most of a pass and wait on memory.
    list: Vec<Packed>,
}

/// A node's intervals for one slot, as computed at a profile version.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The profile version they were computed at; [`NOT_COMPUTED`] where none were.
    version: u32,
    /// Where they are: when its end is [`UNBOUNDED`], this is the one interval there is (a
    /// node that fits the demand from some time on and never before, as most do: no list to
    /// read); otherwise the range of the slot's list that holds them.
    kept: Packed,
}

impl Slot {
    /// Appends `fresh` to the list, or writes them where `old` (an entry's stale
    /// [`Entry::kept`]) had its intervals when they fit there; returns their range, or
    /// `None` when one is too far from the pass's start to pack.
    fn keep_in_list(
        &mut self,
        old: Option<Packed>,
        fresh: &[(Timestamp, Timestamp)],
        base: Timestamp,
    ) -> Option<Packed> {
        let list = &mut self.list;
        let mark = list.len();
        list.extend(fresh.iter().map_while(|&i| pack(base, i)));
        if list.len() - mark < fresh.len() {
            list.truncate(mark);
            return None;
        }
        let (mut start, mut end) = (mark, list.len());
        // Refitted intervals that fit where the stale ones were go back there (they are
        // rarely more), so that the list does not grow with every refit: fewer cache misses
        // and no copying as it grows.
        if let Some((old_start, old_end)) = old.filter(|o| o.1 != UNBOUNDED)
            && end - start <= (old_end - old_start) as usize
        {
            let old_start = old_start as usize;
            list.copy_within(start..end, old_start);
            list.truncate(start);
            (start, end) = (old_start, old_start + (end - start));
        }
        let start = u32::try_from(start).ok()?;
        // An end of UNBOUNDED would read as one interval kept in the entry.
        let end = u32::try_from(end).ok().filter(|e| *e != UNBOUNDED)?;
        Some((start, end))
    }
}

impl Entry {
    const NONE: Self = Self {
        version: NOT_COMPUTED,
        kept: (0, 0),
    };

    /// The intervals it keeps, in itself or in `list` (its slot's).
    #[inline]
    fn intervals<'e>(&'e self, list: &'e [Packed]) -> Option<&'e [Packed]> {
        match self.kept {
            (_, UNBOUNDED) => Some(std::slice::from_ref(&self.kept)),
            (start, end) => list.get(start as usize..end as usize),
        }
    }
}

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

/// Intervals a new slot's list has room for, per node.
const INTERVALS_RESERVED_PER_NODE: usize = 4;

/// The version of an entry never computed (profile versions stop short of it).
const NOT_COMPUTED: u32 = u32::MAX;

impl FitCache {
    /// An empty cache for `nodes` nodes and a pass starting at `base`.
    pub fn new(nodes: usize, base: Timestamp) -> Self {
        Self {
            base,
            by_demand: FastMap::default(),
            slots: Vec::new(),
            scratch: Vec::new(),
            versions: vec![0; nodes],
            changes: vec![Vec::new(); nodes],
        }
    }

    /// The slot of `demand`, created when new.
    pub fn slot(&mut self, demand: &NodeDemand) -> usize {
        if let Some(&slot) = self.by_demand.get(demand) {
            return slot;
        }
        let slot = self.slots.len();
        self.by_demand.insert(demand.clone(), slot);
        let nodes = self.versions.len();
        self.slots.push(Slot {
            entries: vec![Entry::NONE; nodes],
            // Room for a few intervals per node: the list grows as nodes are rescanned, and
            // doubling from empty copied it over and over.
            list: Vec::with_capacity(nodes * INTERVALS_RESERVED_PER_NODE),
        });
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
        let slot = self.slots.get(slot)?;
        let entry = slot.entries.get(node)?;
        if entry.version != version {
            return None;
        }
        Some(Intervals {
            packed: entry.intervals(&slot.list)?,
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
        let base = self.base;
        self.scratch.clear();
        let old = self.stale(slot, node).map(|(entry, changed)| {
            let list = self.slots.get(slot).map_or(&[][..], |s| s.list.as_slice());
            let packed = entry.intervals(list).unwrap_or_default();
            self.scratch.extend(packed.iter().map(|&i| unpack(base, i)));
            let stale = Stale {
                intervals: 0..self.scratch.len(),
                changed,
            };
            (entry.kept, stale)
        });
        let (old, stale) = old.unzip();
        let first = self.scratch.len();
        fill(stale, &mut self.scratch);
        let fresh = &self.scratch[first..];
        let version = self.versions[node];
        if let Some(slot) = self.slots.get_mut(slot) {
            let kept = match fresh {
                [one] if one.1 >= NEVER => pack(base, *one),
                _ => slot.keep_in_list(old, fresh, base),
            };
            if let Some(entry) = slot.entries.get_mut(node) {
                // Intervals too far from the pass's start to pack are not kept (the node is
                // scanned again at its next lookup).
                *entry = kept.map_or(Entry::NONE, |kept| Entry { version, kept });
            }
        }
        &self.scratch[first..]
    }

    /// When `slot`'s intervals on `node` were computed before its latest changes: their
    /// entry, and the window holding every change made since.
    fn stale(&self, slot: usize, node: usize) -> Option<(Entry, (Timestamp, Timestamp))> {
        let entry = *self.slots.get(slot)?.entries.get(node)?;
        let computed = entry.version;
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
        Some((entry, changed))
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

    /// What a [`FitCache`] test does next: stores intervals for a (slot, node), or changes a
    /// node's profile within a window.
    #[derive(Debug, Clone)]
    enum Step {
        Store {
            slot: usize,
            node: usize,
            intervals: Vec<(Timestamp, Timestamp)>,
        },
        Touch {
            node: usize,
            window: (Timestamp, Timestamp),
        },
    }

    /// What a test stored for a (slot, node).
    #[derive(Debug, Clone)]
    struct Stored {
        intervals: Vec<(Timestamp, Timestamp)>,
        /// They pack (so they are kept).
        packs: bool,
        /// The windows of the node's changes since.
        changes_since: Vec<(Timestamp, Timestamp)>,
    }

    /// Sorted, disjoint intervals after `base`, the last one unbounded or not; some too far
    /// from `base` to pack.
    fn intervals(
        base: Timestamp,
    ) -> impl proptest::strategy::Strategy<Value = Vec<(Timestamp, Timestamp)>> {
        use proptest::prelude::*;
        (
            proptest::collection::vec((0i64..5_000, 1i64..5_000), 0..4),
            any::<bool>(),
            prop_oneof![9 => Just(0i64), 1 => Just(i64::from(u32::MAX))],
        )
            .prop_map(move |(gaps, unbounded, far)| {
                let mut out = Vec::new();
                let mut t = base;
                for (gap, len) in gaps {
                    out.push((t + gap, t + gap + len));
                    t += gap + len;
                }
                if unbounded {
                    out.push((t + 1 + far, NEVER));
                }
                out
            })
    }

    fn steps(base: Timestamp) -> impl proptest::strategy::Strategy<Value = Vec<Step>> {
        use proptest::prelude::*;
        let step = prop_oneof![
            3 => (0usize..3, 0usize..4, intervals(base)).prop_map(|(slot, node, intervals)| {
                Step::Store { slot, node, intervals }
            }),
            1 => (0usize..4, 0i64..20_000, 1i64..5_000).prop_map(move |(node, at, len)| {
                Step::Touch { node, window: (base + at, base + at + len) }
            }),
        ];
        proptest::collection::vec(step, 1..40)
    }

    proptest::proptest! {
        /// A cache answers with what was last stored for a (slot, node) while the node is
        /// unchanged, and with nothing after a change. A store is handed what was stored
        /// before, with a window holding every change since; intervals that do not pack are
        /// not kept. Whether kept in the entry (one unbounded interval) or in
        /// the slot's list, refitted in place or appended.
        #[test]
        fn the_cache_answers_with_what_was_stored_until_the_node_changes(
            steps in steps(1_000_000),
        ) {
            let base = 1_000_000;
            let mut cache = FitCache::new(4, base);
            for cpus in 1..=3 {
                cache.slot(&NodeDemand { cpus, ..NodeDemand::default() });
            }
            let mut stored: std::collections::HashMap<(usize, usize), Stored> = Default::default();
            let mut version = [0u32; 4];
            for step in steps {
                match step {
                    Step::Store { slot, node, intervals } => {
                        let before = stored.get(&(slot, node)).cloned();
                        let returned = cache.store(slot, node, |stale, out| {
                            let seen = stale.map(|stale| {
                                (out[stale.intervals.clone()].to_vec(), stale.changed)
                            });
                            // Intervals that packed are handed back, with a window holding
                            // the changes since.
                            let expected = before.as_ref().filter(|b| b.packs);
                            match (&seen, expected) {
                                (Some((was, changed)), Some(before)) => {
                                    assert_eq!(was, &before.intervals);
                                    for w in &before.changes_since {
                                        assert!(changed.0 <= w.0 && w.1 <= changed.1);
                                    }
                                }
                                (None, None) => {}
                                (seen, expected) => panic!("stale {seen:?}, expected {expected:?}"),
                            }
                            out.extend(intervals.iter().copied());
                        }).to_vec();
                        proptest::prop_assert_eq!(&returned, &intervals);
                        let packs = intervals.iter().all(|i| pack(base, *i).is_some());
                        let changes_since = Vec::new();
                        stored.insert((slot, node), Stored { intervals, packs, changes_since });
                    }
                    Step::Touch { node, window } => {
                        cache.touched(node, window.0, window.1);
                        version[node] += 1;
                        for ((_, n), stored) in stored.iter_mut() {
                            if *n == node {
                                stored.changes_since.push(window);
                            }
                        }
                    }
                }
                for slot in 0..3 {
                    for node in 0..4 {
                        let answer = cache.get(slot, node).map(|i| {
                            i.packed.iter().map(|&p| unpack(base, p)).collect::<Vec<_>>()
                        });
                        let expected = stored
                            .get(&(slot, node))
                            .filter(|s| s.packs && s.changes_since.is_empty())
                            .map(|s| s.intervals.clone());
                        proptest::prop_assert_eq!(answer, expected, "slot {} node {}", slot, node);
                    }
                }
            }
            proptest::prop_assert_eq!(cache.version(0), Some(version[0]));
        }
    }

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
