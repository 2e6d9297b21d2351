//! Metrics over replay results: pure functions, no I/O.
//!
//! - wait = start − submit; mean, and p50/p95/max by the nearest-rank method (the smallest
//!   wait such that at least p % of the jobs waited no longer);
//! - bounded slowdown = max(1, (wait + run) / max(run, τ)) with τ = 10 s, averaged;
//! - utilization = Σ(run × procs) / (machine procs × (last end − first submit));
//! - makespan = last end − first submit.
//!
//! An empty result set has all metrics 0.

use super::driver::JobResult;

/// τ of the bounded slowdown, seconds.
pub const SLOWDOWN_TAU_S: i64 = 10;

/// The summary `slinky sim` prints.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Metrics {
    pub jobs: usize,
    pub mean_wait_s: f64,
    pub p50_wait_s: i64,
    pub p95_wait_s: i64,
    pub max_wait_s: i64,
    pub mean_bounded_slowdown: f64,
    pub utilization: f64,
    pub makespan_s: i64,
}

/// Computes every metric; `machine_procs` is the machine's total processor count.
pub fn summarize(results: &[JobResult], machine_procs: u64) -> Metrics {
    let mut waits: Vec<i64> = results.iter().map(JobResult::wait).collect();
    waits.sort_unstable();
    Metrics {
        jobs: results.len(),
        mean_wait_s: mean(waits.iter().map(|w| *w as f64)),
        p50_wait_s: percentile(&waits, 50.0),
        p95_wait_s: percentile(&waits, 95.0),
        max_wait_s: waits.last().copied().unwrap_or(0),
        mean_bounded_slowdown: mean(
            results
                .iter()
                .map(|r| bounded_slowdown(r.wait(), r.run(), SLOWDOWN_TAU_S)),
        ),
        utilization: utilization(results, machine_procs),
        makespan_s: makespan(results),
    }
}

/// max(1, (wait + run) / max(run, tau)).
pub fn bounded_slowdown(wait: i64, run: i64, tau: i64) -> f64 {
    let denominator = run.max(tau).max(1) as f64;
    ((wait + run) as f64 / denominator).max(1.0)
}

/// The arithmetic mean, 0 for no values.
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Nearest-rank percentile of ascending `sorted` values (`p` in 0..=100), 0 when empty.
pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Last end − first submit (0 when empty).
pub fn makespan(results: &[JobResult]) -> i64 {
    let first = results.iter().map(|r| r.submit).min();
    let last = results.iter().map(|r| r.end).max();
    match (first, last) {
        (Some(first), Some(last)) => (last - first).max(0),
        _ => 0,
    }
}

/// Σ(run × procs) / (machine_procs × makespan), 0 when either factor is 0.
pub fn utilization(results: &[JobResult], machine_procs: u64) -> f64 {
    let span = makespan(results);
    if span == 0 || machine_procs == 0 {
        return 0.0;
    }
    let used: f64 = results
        .iter()
        .map(|r| r.run() as f64 * f64::from(r.procs))
        .sum();
    used / (machine_procs as f64 * span as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(submit: i64, start: i64, end: i64, procs: u32) -> JobResult {
        JobResult {
            submit,
            start,
            end,
            procs,
            timed_out: false,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn bounded_slowdown_by_hand() {
        assert!(close(bounded_slowdown(0, 100, 10), 1.0));
        assert!(close(bounded_slowdown(100, 100, 10), 2.0));
        // A 2 s job that waited 18 s: (18 + 2) / max(2, 10) = 2, not 10.
        assert!(close(bounded_slowdown(18, 2, 10), 2.0));
        // Never below 1, even for a job shorter than tau that did not wait.
        assert!(close(bounded_slowdown(0, 2, 10), 1.0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v = [0, 0, 0, 99, 198, 296, 297];
        assert_eq!(percentile(&v, 50.0), 99);
        assert_eq!(percentile(&v, 95.0), 297);
        assert_eq!(percentile(&v, 0.0), 0);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 75.1), 4);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn summary_by_hand() {
        // Machine of 4 procs. Job A: 2 procs [0, 100), no wait. Job B: submitted 10, 4 procs
        // [100, 150), waited 90. Job C: submitted 20, 1 proc [150, 155), waited 130.
        let results = [r(0, 0, 100, 2), r(10, 100, 150, 4), r(20, 150, 155, 1)];
        let m = summarize(&results, 4);
        assert_eq!(m.jobs, 3);
        assert!(close(m.mean_wait_s, (0.0 + 90.0 + 130.0) / 3.0));
        assert_eq!((m.p50_wait_s, m.p95_wait_s, m.max_wait_s), (90, 130, 130));
        // Slowdowns: 1, (90 + 50) / 50 = 2.8, (130 + 5) / 10 = 13.5.
        assert!(close(m.mean_bounded_slowdown, (1.0 + 2.8 + 13.5) / 3.0));
        assert_eq!(m.makespan_s, 155);
        // (200 + 200 + 5) / (4 * 155).
        assert!(close(m.utilization, 405.0 / 620.0));
    }

    #[test]
    fn empty_results_are_all_zero() {
        assert_eq!(summarize(&[], 8), Metrics::default());
        assert!(close(utilization(&[r(0, 0, 10, 1)], 0), 0.0));
    }
}
