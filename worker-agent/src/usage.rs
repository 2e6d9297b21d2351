//! Live and final resource usage of a step (what `sstat` and `sacct` show).

use std::time::Duration;

use crate::cgroup::ContainerStats;
use crate::procfs::{self, ProcStat};

/// A step's usage so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// User + system CPU time of the whole tree (never decreases).
    pub cpu_time: Duration,
    /// Resident memory now, in KiB.
    pub rss_kib: u64,
    /// Peak resident memory so far, in KiB.
    pub max_rss_kib: u64,
    /// Virtual memory of the live processes now, in KiB.
    pub vsize_kib: u64,
    /// Peak virtual memory so far (over samples), in KiB.
    pub max_vsize_kib: u64,
    /// Live processes at the last sample.
    pub processes: u32,
    /// Samples taken.
    pub samples: u64,
    /// OOM kills reported by the cgroup.
    pub oom_kills: u64,
}

/// Folds samples into a [`Usage`].
///
/// CPU: the cgroup's `usage_usec` when available, else the sum over the tree of each
/// process's own and reaped children's ticks; the maximum over samples is kept (a process
/// reaped by someone outside the tree takes its time with it). Memory: `memory.peak` /
/// `memory.current` when available, else the sum of the live processes' RSS, with each
/// process's `VmHWM` as a floor for the peak.
#[derive(Debug, Clone, Default)]
pub struct UsageAccumulator {
    usage: Usage,
}

impl UsageAccumulator {
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Adds one sample: the tree's processes and the container's own counters.
    pub fn record(&mut self, procs: &[ProcStat], stats: &ContainerStats) {
        let u = &mut self.usage;
        u.samples += 1;
        let cpu = match stats.cpu_usec {
            Some(us) => Duration::from_micros(us),
            None => procfs::ticks_to_duration(procs.iter().map(ProcStat::total_ticks).sum()),
        };
        u.cpu_time = u.cpu_time.max(cpu);
        let live: Vec<&ProcStat> = procs.iter().filter(|p| !p.is_zombie()).collect();
        u.processes = live.len() as u32;
        let page = procfs::page_kib();
        let rss_sum: u64 = live.iter().map(|p| p.rss_pages * page).sum();
        u.rss_kib = stats.memory_current.map_or(rss_sum, |b| b / 1024);
        let peak = match stats.memory_peak {
            Some(b) => b / 1024,
            None => {
                let hwm = live
                    .iter()
                    .filter_map(|p| procfs::read_vm_hwm_kib(p.pid))
                    .max()
                    .unwrap_or(0);
                rss_sum.max(hwm)
            }
        };
        u.max_rss_kib = u.max_rss_kib.max(peak).max(u.rss_kib);
        u.vsize_kib = live.iter().map(|p| p.vsize_bytes / 1024).sum();
        u.max_vsize_kib = u.max_vsize_kib.max(u.vsize_kib);
        if let Some(n) = stats.oom_kills {
            u.oom_kills = u.oom_kills.max(n);
        }
    }

    /// Adds CPU time known from elsewhere (the leader's final `/proc` entry).
    pub fn record_cpu(&mut self, cpu: Duration) {
        self.usage.cpu_time = self.usage.cpu_time.max(cpu);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ticks: u64, rss_pages: u64, state: char) -> ProcStat {
        ProcStat {
            pid: -pid, // never a real process: no VmHWM is read
            comm: String::new(),
            state,
            ppid: 1,
            pgrp: 1,
            session: 1,
            utime: ticks,
            stime: 0,
            cutime: 0,
            cstime: 0,
            starttime: 0,
            vsize_bytes: 8192 * 1024,
            rss_pages,
        }
    }

    #[test]
    fn process_samples() {
        let mut acc = UsageAccumulator::default();
        let hz = procfs::clock_ticks();
        let page = procfs::page_kib();
        acc.record(
            &[p(1, hz, 10, 'S'), p(2, hz, 5, 'R')],
            &ContainerStats::default(),
        );
        let u = acc.usage();
        assert_eq!(u.cpu_time, Duration::from_secs(2));
        assert_eq!(u.rss_kib, 15 * page);
        assert_eq!(u.max_rss_kib, 15 * page);
        assert_eq!(u.processes, 2);
        assert_eq!((u.vsize_kib, u.max_vsize_kib), (16384, 16384));
        // One process went away (reaped elsewhere): CPU never goes down, peak stays.
        acc.record(
            &[p(1, hz, 2, 'S'), p(2, 0, 100, 'Z')],
            &ContainerStats::default(),
        );
        let u = acc.usage();
        assert_eq!(u.cpu_time, Duration::from_secs(2));
        assert_eq!(u.rss_kib, 2 * page);
        assert_eq!(u.max_rss_kib, 15 * page);
        assert_eq!(u.processes, 1);
        assert_eq!((u.vsize_kib, u.max_vsize_kib), (8192, 16384));
        assert_eq!(u.samples, 2);
    }

    #[test]
    fn cgroup_counters_win() {
        let mut acc = UsageAccumulator::default();
        let stats = ContainerStats {
            cpu_usec: Some(1_500_000),
            memory_peak: Some(64 * 1024 * 1024),
            memory_current: Some(32 * 1024 * 1024),
            oom_kills: Some(1),
        };
        acc.record(&[p(1, 1, 1, 'S')], &stats);
        let u = acc.usage();
        assert_eq!(u.cpu_time, Duration::from_millis(1500));
        assert_eq!(u.max_rss_kib, 65536);
        assert_eq!(u.rss_kib, 32768);
        assert_eq!(u.oom_kills, 1);
        acc.record_cpu(Duration::from_secs(3));
        assert_eq!(acc.usage().cpu_time, Duration::from_secs(3));
    }
}
