//! A node's future availability as a step function, the backfill planner's core structure.
//!
//! Segment `i` spans `[points[i].0, points[i + 1].0)` with `points[i].1` free; the last
//! segment extends to the end of time. Running jobs release their resources at their expected
//! end (start + time limit); reservations take resources for an interval.

use super::fits::Stale;
use super::resources::{NodeDemand, Res};
use crate::model::Timestamp;

/// Far enough in the future to stand for "never" in plans, yet safe to add to.
pub const NEVER: Timestamp = i64::MAX / 4;

/// The profile is kept in chunks of consecutive breakpoints, each with the component-wise
/// least and most free over its points and a lazily subtracted reservation, so that searches
/// skip whole chunks and a long reservation touches only the chunks at its ends: a pool node
/// planning thousands of queued jobs has tens of thousands of breakpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Never empty; chunks are in time order and none is empty.
    chunks: Vec<Chunk>,
    /// Each chunk's first time, side by side (a search over them touches no chunk).
    starts: Vec<Timestamp>,
}

/// Breakpoints per chunk after a split (a chunk is split when it reaches twice this).
const CHUNK_POINTS: usize = 32;

/// Spare room for breakpoints in a new chunk.
const RESERVED_POINTS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Chunk {
    /// (time, free before `taken` is subtracted).
    points: Vec<(Timestamp, Res)>,
    /// Subtracted (saturating) from every point of the chunk.
    taken: Res,
    /// Component-wise least and most of `points`' values, before `taken`.
    least: Res,
    most: Res,
}

impl Chunk {
    fn new(points: Vec<(Timestamp, Res)>, taken: Res) -> Self {
        let mut chunk = Self {
            points,
            taken,
            least: Res::ZERO,
            most: Res::ZERO,
        };
        chunk.summarize();
        chunk
    }

    fn start(&self) -> Timestamp {
        self.points[0].0
    }

    fn value(&self, i: usize) -> Res {
        let mut v = self.points[i].1;
        v.sub(&self.taken);
        v
    }

    /// Component-wise least and most free over the chunk (subtraction saturates per
    /// component, so it commutes with the minimum and the maximum).
    fn bounds(&self) -> (Res, Res) {
        let (mut least, mut most) = (self.least, self.most);
        least.sub(&self.taken);
        most.sub(&self.taken);
        (least, most)
    }

    fn summarize(&mut self) {
        let mut points = self.points.iter().map(|p| p.1);
        let first = points.next().unwrap_or_default();
        let (mut least, mut most) = (first, first);
        for v in points {
            least.meet(&v);
            most.join(&v);
        }
        self.least = least;
        self.most = most;
    }

    /// Subtracts `res` from the points in `range`.
    fn take(&mut self, range: std::ops::Range<usize>, res: &Res) {
        if range.start == 0 && range.end == self.points.len() {
            self.taken.add(res);
            return;
        }
        // The least can only fall, to the new values in the range. The most falls only where
        // the range held it (in some component); elsewhere it stays as it was.
        let mut range_most = Res::ZERO;
        for point in &mut self.points[range] {
            range_most.join(&point.1);
            point.1.sub(res);
            self.least.meet(&point.1);
        }
        if res.may_lower_max(&self.most, &range_most) {
            self.summarize();
        }
    }
}

impl Profile {
    /// A profile starting `now` with `free` resources and `releases` (time, resources) added
    /// back at their times. Releases need not be sorted; times at or before `now` count as now.
    pub fn new(
        now: Timestamp,
        free: Res,
        releases: impl IntoIterator<Item = (Timestamp, Res)>,
    ) -> Self {
        let mut rel: Vec<(Timestamp, Res)> = releases.into_iter().collect();
        rel.sort_unstable_by_key(|(t, _)| *t);
        let mut points = Vec::with_capacity(rel.len() + 1);
        let mut current = free;
        let mut iter = rel.into_iter().peekable();
        while let Some((t, _)) = iter.peek() {
            if *t > now {
                break;
            }
            current.add(&iter.next().map(|(_, r)| r).unwrap_or_default());
        }
        points.push((now, current));
        for (t, r) in iter {
            current.add(&r);
            match points.last_mut() {
                Some(last) if last.0 == t => last.1 = current,
                _ => points.push((t, current)),
            }
        }
        // Room for the breakpoints a few reservations add, without growing the list each time.
        let chunks: Vec<Chunk> = points
            .chunks(CHUNK_POINTS)
            .map(|c| {
                let mut chunk_points = Vec::with_capacity(c.len() + RESERVED_POINTS);
                chunk_points.extend_from_slice(c);
                Chunk::new(chunk_points, Res::ZERO)
            })
            .collect();
        let starts = chunks.iter().map(Chunk::start).collect();
        Self { chunks, starts }
    }

    /// Resources free at time `t`.
    pub fn free_at(&self, t: Timestamp) -> Res {
        let (c, i) = self.locate(t);
        self.chunks[c].value(i)
    }

    /// The fewest CPUs free at any time in `[from, until)` (at `from` when `until <= from`).
    pub fn min_free_cpus(&self, from: Timestamp, until: Timestamp) -> u32 {
        let (c, i) = self.locate(from);
        let mut min = self.chunks[c].value(i).cpus;
        let mut first = i + 1;
        for chunk in &self.chunks[c..] {
            if chunk.start() >= until {
                break;
            }
            if first == 0 && chunk.points.last().is_some_and(|p| p.0 < until) {
                min = min.min(chunk.bounds().0.cpus);
            } else {
                for j in first..chunk.points.len() {
                    if chunk.points[j].0 >= until {
                        break;
                    }
                    min = min.min(chunk.value(j).cpus);
                }
            }
            first = 0;
        }
        min
    }

    /// The earliest `t >= from` (and `<= horizon`) such that `demand` fits during
    /// `[t, t + duration)`, or `None`.
    pub fn earliest_fit(
        &self,
        demand: &NodeDemand,
        capacity: &Res,
        from: Timestamp,
        duration: i64,
        horizon: Timestamp,
    ) -> Option<Timestamp> {
        let mut run_start: Option<Timestamp> = None;
        let (first_chunk, mut first) = self.locate(from);
        for c in first_chunk..self.chunks.len() {
            let chunk = &self.chunks[c];
            let chunk_end = self.starts.get(c + 1).copied().unwrap_or(NEVER);
            if first == 0 && self.chunks.len() > 1 {
                // A whole chunk ahead: decide it from its bounds when they settle it.
                let (least, most) = chunk.bounds();
                if !demand.fits(&most, capacity) {
                    run_start = None;
                    if chunk_end > horizon {
                        return None;
                    }
                    continue;
                }
                if demand.fits(&least, capacity) {
                    let start = *run_start.get_or_insert(chunk.start().max(from));
                    if start > horizon {
                        return None;
                    }
                    if chunk_end.saturating_sub(start) >= duration || chunk_end >= NEVER {
                        return Some(start);
                    }
                    continue;
                }
            }
            for i in first..chunk.points.len() {
                let seg_start = chunk.points[i].0.max(from);
                let seg_end = chunk.points.get(i + 1).map_or(chunk_end, |p| p.0);
                if demand.fits_minus(&chunk.points[i].1, &chunk.taken, capacity) {
                    let start = *run_start.get_or_insert(seg_start);
                    if start > horizon {
                        return None;
                    }
                    if seg_end.saturating_sub(start) >= duration || seg_end >= NEVER {
                        return Some(start);
                    }
                } else {
                    run_start = None;
                    if seg_end > horizon {
                        return None;
                    }
                }
            }
            first = 0;
        }
        None
    }

    /// True when the profile is one chunk (a few breakpoints): cheap to scan whole.
    pub fn is_small(&self) -> bool {
        self.chunks.len() == 1
    }

    /// Appends the maximal intervals `[start, end)` during which `demand` fits, in time order
    /// (the last one ends at [`NEVER`] when the demand fits from some time on).
    pub fn fit_intervals(
        &self,
        demand: &NodeDemand,
        capacity: &Res,
        out: &mut Vec<(Timestamp, Timestamp)>,
    ) {
        let mut run: Option<Timestamp> = None;
        for chunk in &self.chunks {
            for point in &chunk.points {
                let fits = demand.fits_minus(&point.1, &chunk.taken, capacity);
                match (fits, run) {
                    (true, None) => run = Some(point.0),
                    (false, Some(start)) => {
                        out.push((start, point.0));
                        run = None;
                    }
                    _ => {}
                }
            }
        }
        if let Some(start) = run {
            out.push((start, NEVER));
        }
    }

    /// Like [`Profile::fit_intervals`], from the intervals computed before some reservations
    /// (`stale`: where they are in `out`, and a window holding every reservation since):
    /// outside the window the profile is as it was, and inside it a demand can only have
    /// stopped fitting (reservations only take), so only the old intervals' parts within the
    /// window are looked at again. The new intervals are appended to `out`.
    pub fn refit_intervals(
        &self,
        demand: &NodeDemand,
        capacity: &Res,
        stale: Stale,
        out: &mut Vec<(Timestamp, Timestamp)>,
    ) {
        let (from, until) = stale.changed;
        let first = out.len();
        let mut runs = Runs { out, first };
        for k in stale.intervals {
            let (start, end) = runs.out[k];
            if end <= from || start >= until {
                runs.push(start, end);
                continue;
            }
            runs.push(start, from);
            self.fit_runs(demand, capacity, start.max(from), end.min(until), &mut runs);
            runs.push(until, end);
        }
    }

    /// Appends the parts of `[from, until)` during which `demand` fits.
    fn fit_runs(
        &self,
        demand: &NodeDemand,
        capacity: &Res,
        from: Timestamp,
        until: Timestamp,
        runs: &mut Runs<'_>,
    ) {
        let (first_chunk, mut first) = self.locate(from);
        for (c, chunk) in self.chunks.iter().enumerate().skip(first_chunk) {
            let chunk_end = self.starts.get(c + 1).copied().unwrap_or(NEVER);
            for (i, point) in chunk.points.iter().enumerate().skip(first) {
                if point.0 >= until {
                    return;
                }
                if demand.fits_minus(&point.1, &chunk.taken, capacity) {
                    let end = chunk.points.get(i + 1).map_or(chunk_end, |p| p.0);
                    runs.push(point.0.max(from), end.min(until));
                }
            }
            first = 0;
        }
    }

    /// True when `demand` fits during `[start, start + duration)`.
    #[cfg(test)]
    pub fn fits_at(
        &self,
        demand: &NodeDemand,
        capacity: &Res,
        start: Timestamp,
        duration: i64,
    ) -> bool {
        self.earliest_fit(demand, capacity, start, duration, start) == Some(start)
    }

    /// Takes `res` during `[start, end)`.
    pub fn reserve(&mut self, start: Timestamp, end: Timestamp, res: &Res) {
        let start = start.max(self.chunks[0].start());
        if end <= start {
            return;
        }
        self.split_at(start);
        if end < NEVER {
            self.split_at(end);
        }
        let (c, i) = self.locate(start);
        for (k, chunk) in self.chunks.iter_mut().enumerate().skip(c) {
            let from = if k == c { i } else { 0 };
            if chunk.start() >= end {
                break;
            }
            let to = chunk.points.partition_point(|p| p.0 < end);
            chunk.take(from..to, res);
        }
    }

    /// (chunk, point) of the segment containing `t` (the first one when `t` precedes the
    /// profile).
    fn locate(&self, t: Timestamp) -> (usize, usize) {
        let c = match self.chunks.len() {
            1 => 0,
            _ => self.starts.partition_point(|&s| s <= t).saturating_sub(1),
        };
        let i = self.chunks[c]
            .points
            .partition_point(|p| p.0 <= t)
            .saturating_sub(1);
        (c, i)
    }

    /// Ensures a breakpoint at `t` (not before the profile's start).
    fn split_at(&mut self, t: Timestamp) {
        let (c, i) = self.locate(t);
        let chunk = &mut self.chunks[c];
        if chunk.points[i].0 == t {
            return;
        }
        let value = chunk.points[i].1;
        chunk.points.insert(i + 1, (t, value));
        if chunk.points.len() >= 2 * CHUNK_POINTS {
            let tail = chunk.points.split_off(CHUNK_POINTS);
            let taken = chunk.taken;
            chunk.summarize();
            let tail = Chunk::new(tail, taken);
            self.starts.insert(c + 1, tail.start());
            self.chunks.insert(c + 1, tail);
        }
    }
}

/// Fit intervals being appended to an arena after `first`: adjoining ones are merged, so
/// that the pieces a refit produces come out maximal, like a full scan's.
struct Runs<'a> {
    out: &'a mut Vec<(Timestamp, Timestamp)>,
    first: usize,
}

impl Runs<'_> {
    fn push(&mut self, start: Timestamp, end: Timestamp) {
        if start >= end {
            return;
        }
        if self.out.len() > self.first
            && let Some(last) = self.out.last_mut()
            && last.1 == start
        {
            last.1 = end;
            return;
        }
        self.out.push((start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpus(n: u32) -> Res {
        Res {
            cpus: n,
            ..Res::ZERO
        }
    }

    fn need(n: u32) -> NodeDemand {
        NodeDemand {
            cpus: n,
            ..Default::default()
        }
    }

    /// The plain step function the chunked profile must agree with: every breakpoint in one
    /// list, every search a linear scan.
    struct Flat(Vec<(Timestamp, Res)>);

    impl Flat {
        fn index(&self, t: Timestamp) -> usize {
            self.0.partition_point(|p| p.0 <= t).saturating_sub(1)
        }

        fn split(&mut self, t: Timestamp) {
            let t = t.max(self.0[0].0);
            let i = self.index(t);
            if self.0[i].0 != t {
                let v = self.0[i].1;
                self.0.insert(i + 1, (t, v));
            }
        }

        fn reserve(&mut self, start: Timestamp, end: Timestamp, res: &Res) {
            self.split(start);
            self.split(end);
            for p in self.0.iter_mut().filter(|p| p.0 >= start && p.0 < end) {
                p.1.sub(res);
            }
        }

        fn earliest_fit(
            &self,
            demand: &NodeDemand,
            cap: &Res,
            from: Timestamp,
            duration: i64,
            horizon: Timestamp,
        ) -> Option<Timestamp> {
            let mut run: Option<Timestamp> = None;
            for i in self.index(from)..self.0.len() {
                let seg_end = self.0.get(i + 1).map_or(NEVER, |p| p.0);
                if demand.fits(&self.0[i].1, cap) {
                    let start = *run.get_or_insert(self.0[i].0.max(from));
                    if start > horizon {
                        return None;
                    }
                    if seg_end - start >= duration || seg_end >= NEVER {
                        return Some(start);
                    }
                } else {
                    run = None;
                    if seg_end > horizon {
                        return None;
                    }
                }
            }
            None
        }

        fn min_free_cpus(&self, from: Timestamp, until: Timestamp) -> u32 {
            let first = self.index(from);
            self.0[first + 1..]
                .iter()
                .take_while(|p| p.0 < until)
                .fold(self.0[first].1.cpus, |m, p| m.min(p.1.cpus))
        }
    }

    fn res(cpus: u32, mem: u64) -> Res {
        Res {
            cpus,
            mem_mb: mem,
            ..Res::ZERO
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Chunked profiles answer every query like the flat step function, through enough
        /// reservations to split chunks many times.
        #[test]
        fn chunked_profile_matches_a_flat_one(
            releases in proptest::collection::vec((0i64..5_000, 0u32..8, 0u64..8), 0..300),
            reservations in proptest::collection::vec((0i64..6_000, 1i64..2_000, 0u32..6, 0u64..6), 0..400),
            queries in proptest::collection::vec((0i64..7_000, 0u32..40, 0u64..40, 1i64..3_000, 0i64..8_000, proptest::bool::ANY), 1..40),
        ) {
            let cap = res(1_000, 1_000);
            let free = res(3, 3);
            let rel: Vec<(Timestamp, Res)> =
                releases.iter().map(|&(t, c, m)| (t, res(c, m))).collect();
            let mut chunked = Profile::new(0, free, rel.clone());
            let flat_profile = Profile::new(0, free, rel);
            let mut flat = Flat(
                flat_profile.chunks.iter().flat_map(|c| c.points.clone()).collect(),
            );
            for &(start, len, c, m) in &reservations {
                chunked.reserve(start, start + len, &res(c, m));
                flat.reserve(start, start + len, &res(c, m));
            }
            for &(from, c, m, duration, horizon, exclusive) in &queries {
                let demand = NodeDemand { cpus: c, mem_mb: m, exclusive, ..Default::default() };
                let cap = if exclusive { chunked.free_at(NEVER - 1) } else { cap };
                proptest::prop_assert_eq!(
                    chunked.earliest_fit(&demand, &cap, from, duration, horizon),
                    flat.earliest_fit(&demand, &cap, from, duration, horizon)
                );
                proptest::prop_assert_eq!(
                    chunked.min_free_cpus(from, from + duration),
                    flat.min_free_cpus(from, from + duration)
                );
                proptest::prop_assert_eq!(chunked.free_at(from), flat.0[flat.index(from)].1);
                let mut intervals = Vec::new();
                chunked.fit_intervals(&demand, &cap, &mut intervals);
                proptest::prop_assert_eq!(
                    super::super::fits::earliest_in(intervals.iter().copied(), from, duration, horizon),
                    flat.earliest_fit(&demand, &cap, from, duration, horizon)
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Refitting stale intervals within the window of the reservations made since gives
        /// exactly the intervals a full scan finds, batch after batch (chunks splitting too).
        #[test]
        fn refitted_intervals_equal_a_full_scan(
            releases in proptest::collection::vec((0i64..5_000, 0u32..8, 0u64..8), 0..120),
            batches in proptest::collection::vec(
                proptest::collection::vec((0i64..6_000, 1i64..2_000, 0u32..4, 0u64..4, proptest::bool::weighted(0.1)), 1..6),
                1..40,
            ),
            demands in proptest::collection::vec((0u32..30, 0u64..30, proptest::bool::weighted(0.2)), 1..4),
        ) {
            let cap = res(1_000, 1_000);
            let rel: Vec<(Timestamp, Res)> =
                releases.iter().map(|&(t, c, m)| (t, res(c, m))).collect();
            let mut profile = Profile::new(0, res(6, 6), rel);
            let scan = |p: &Profile, d: &NodeDemand| {
                let mut out = Vec::new();
                p.fit_intervals(d, &cap, &mut out);
                out
            };
            let demands: Vec<NodeDemand> = demands
                .iter()
                .map(|&(c, m, exclusive)| NodeDemand { cpus: c, mem_mb: m, exclusive, ..Default::default() })
                .collect();
            let mut known: Vec<_> = demands.iter().map(|d| scan(&profile, d)).collect();
            for batch in &batches {
                let mut window = (NEVER, Timestamp::MIN);
                for &(start, len, c, m, unbounded) in batch {
                    let end = if unbounded { NEVER } else { start + len };
                    profile.reserve(start, end, &res(c, m));
                    window = (window.0.min(start), window.1.max(end));
                }
                for (d, old) in demands.iter().zip(known.iter_mut()) {
                    // The stale intervals sit in the arena after something a refit must leave
                    // alone, and the new ones go after them.
                    let mut out = vec![(-5, 0)];
                    out.extend_from_slice(old);
                    let stale = Stale { intervals: 1..out.len(), changed: window };
                    profile.refit_intervals(d, &cap, stale, &mut out);
                    let full = scan(&profile, d);
                    proptest::prop_assert_eq!(&out[1 + old.len()..], &full[..]);
                    *old = full;
                }
            }
        }
    }

    #[test]
    fn releases_make_room_later() {
        let cap = cpus(8);
        let p = Profile::new(100, cpus(2), [(160, cpus(4)), (130, cpus(2))]);
        assert_eq!(p.earliest_fit(&need(2), &cap, 100, 50, 10_000), Some(100));
        assert_eq!(p.earliest_fit(&need(4), &cap, 100, 50, 10_000), Some(130));
        assert_eq!(p.earliest_fit(&need(8), &cap, 100, 50, 10_000), Some(160));
        assert_eq!(p.earliest_fit(&need(9), &cap, 100, 50, 10_000), None);
        assert_eq!(
            p.earliest_fit(&need(8), &cap, 100, 50, 150),
            None,
            "beyond horizon"
        );
    }

    #[test]
    fn min_free_cpus_over_a_window() {
        let mut p = Profile::new(100, cpus(2), [(160, cpus(4)), (130, cpus(2))]);
        p.reserve(140, 200, &cpus(3));
        // 100: 2, 130: 4, 140: 1, 160: 5, 200: 8.
        assert_eq!(p.min_free_cpus(100, 100), 2);
        assert_eq!(p.min_free_cpus(100, 130), 2);
        assert_eq!(p.min_free_cpus(130, 140), 4);
        assert_eq!(p.min_free_cpus(130, 141), 1);
        assert_eq!(p.min_free_cpus(160, NEVER), 5);
        assert_eq!(
            p.min_free_cpus(0, 120),
            2,
            "before the profile: its first segment"
        );
    }

    #[test]
    fn reservations_block_overlapping_intervals_only() {
        let cap = cpus(8);
        let mut p = Profile::new(0, cpus(8), []);
        p.reserve(100, 200, &cpus(6));
        assert!(
            p.fits_at(&need(8), &cap, 0, 100),
            "ends exactly when the reservation starts"
        );
        assert!(!p.fits_at(&need(8), &cap, 0, 101));
        assert!(p.fits_at(&need(2), &cap, 0, 1_000));
        assert_eq!(p.earliest_fit(&need(3), &cap, 0, 150, 10_000), Some(200));
        assert_eq!(p.earliest_fit(&need(3), &cap, 0, 50, 10_000), Some(0));
    }
}
