//! A node's future availability as a step function, the backfill planner's core structure.
//!
//! Segment `i` spans `[points[i].0, points[i + 1].0)` with `points[i].1` free; the last
//! segment extends to the end of time. Running jobs release their resources at their expected
//! end (start + time limit); reservations take resources for an interval.

use super::resources::{NodeDemand, Res};
use crate::model::Timestamp;

/// Far enough in the future to stand for "never" in plans, yet safe to add to.
pub const NEVER: Timestamp = i64::MAX / 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    points: Vec<(Timestamp, Res)>,
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
        Self { points }
    }

    /// Resources free at time `t`.
    pub fn free_at(&self, t: Timestamp) -> Res {
        self.points[self.segment_index(t)].1
    }

    /// The fewest CPUs free at any time in `[from, until)` (at `from` when `until <= from`).
    pub fn min_free_cpus(&self, from: Timestamp, until: Timestamp) -> u32 {
        let first = self.segment_index(from);
        self.points[first + 1..]
            .iter()
            .take_while(|p| p.0 < until)
            .fold(self.points[first].1.cpus, |min, p| min.min(p.1.cpus))
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
        let first = self.segment_index(from);
        for i in first..self.points.len() {
            let seg_start = self.points[i].0.max(from);
            let seg_end = self.points.get(i + 1).map_or(NEVER, |p| p.0);
            if demand.fits(&self.points[i].1, capacity) {
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
        None
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
        let i = self.split_at(start);
        let j = if end >= NEVER {
            self.points.len()
        } else {
            self.split_at(end)
        };
        for point in &mut self.points[i..j] {
            point.1.sub(res);
        }
    }

    /// Index of the segment containing `t` (the first one when `t` precedes the profile).
    fn segment_index(&self, t: Timestamp) -> usize {
        self.points.partition_point(|p| p.0 <= t).saturating_sub(1)
    }

    /// Ensures a breakpoint at `t` and returns its index.
    fn split_at(&mut self, t: Timestamp) -> usize {
        let t = t.max(self.points[0].0);
        let i = self.segment_index(t);
        if self.points[i].0 == t {
            return i;
        }
        let value = self.points[i].1;
        self.points.insert(i + 1, (t, value));
        i + 1
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
