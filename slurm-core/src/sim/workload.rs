//! The SWF → simulator mapping: which records become jobs, with how many processors and
//! which time limit (see `docs/simulator.md`).

use super::swf::{self, SwfError, SwfHeader, SwfRecord, SwfTrace};
use std::path::Path;

/// One job to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimJob {
    /// SWF job number (field 1).
    pub swf_id: i64,
    /// Line in the trace file, for messages.
    pub line: u64,
    /// Submit time (field 2), seconds.
    pub submit: i64,
    /// Processors, already capped at the machine size.
    pub procs: u32,
    /// Recorded run time (field 4), seconds; always > 0.
    pub run_time: i64,
    /// Requested time (field 9), or the run time when the trace has none; always > 0. The
    /// engine plans with it as the job's time limit.
    pub requested_time: i64,
    /// User id (field 12), -1 when unknown.
    pub user: i64,
}

impl SimJob {
    /// How long the job runs in the simulation: its run time, cut at its requested time.
    pub fn sim_run_time(&self) -> i64 {
        self.run_time.min(self.requested_time)
    }

    /// True when the job ran longer than it asked for, so the simulation kills it at its limit.
    pub fn times_out(&self) -> bool {
        self.run_time > self.requested_time
    }
}

/// The jobs of a trace, ready to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    pub header: SwfHeader,
    /// Usable jobs in file order.
    pub jobs: Vec<SimJob>,
    /// Records that were read but cannot be replayed (run time <= 0 or no processor count).
    pub skipped: usize,
    /// The machine size: `; MaxProcs:`, else `; MaxNodes:`, else the largest job. Jobs are capped at it.
    pub max_procs: u32,
}

/// Processors a record asks for: field 8 when positive, else field 5; `None` when neither is.
pub fn record_procs(r: &SwfRecord) -> Option<u32> {
    [r.requested_procs, r.allocated_procs]
        .into_iter()
        .find(|p| *p > 0)
        .map(|p| u32::try_from(p).unwrap_or(u32::MAX))
}

/// True when a record can be replayed: a positive run time and a processor count.
pub fn is_usable(r: &SwfRecord) -> bool {
    r.run_time > 0 && record_procs(r).is_some()
}

/// Maps a parsed trace to jobs (see the module docs for the rules).
pub fn from_trace(trace: SwfTrace) -> Workload {
    let usable: Vec<&SwfRecord> = trace.records.iter().filter(|r| is_usable(r)).collect();
    let skipped = trace.records.len() - usable.len();
    let largest = usable
        .iter()
        .filter_map(|r| record_procs(r))
        .max()
        .unwrap_or(0);
    let max_procs = trace
        .header
        .max_procs
        .or(trace.header.max_nodes)
        .unwrap_or(largest);
    let jobs = usable
        .into_iter()
        .filter_map(|r| to_job(r, max_procs))
        .collect();
    Workload {
        header: trace.header,
        jobs,
        skipped,
        max_procs,
    }
}

fn to_job(r: &SwfRecord, max_procs: u32) -> Option<SimJob> {
    let procs = record_procs(r)?.min(max_procs);
    let requested_time = if r.requested_time > 0 {
        r.requested_time
    } else {
        r.run_time
    };
    Some(SimJob {
        swf_id: r.job_id,
        line: r.line,
        submit: r.submit,
        procs,
        run_time: r.run_time,
        requested_time,
        user: r.user,
    })
}

/// Reads `path` (plain or gzipped) and maps it, stopping after `max_jobs` usable jobs if given.
pub fn load(path: &Path, max_jobs: Option<usize>) -> Result<Workload, SwfError> {
    let mut usable = 0usize;
    let trace = swf::read_path(path, |r| {
        usable += usize::from(is_usable(r));
        max_jobs.is_none_or(|n| usable < n)
    })?;
    Ok(from_trace(trace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(line: u64, run: i64, alloc: i64, req_procs: i64, req_time: i64) -> SwfRecord {
        SwfRecord {
            line,
            job_id: line as i64,
            submit: 10 * line as i64,
            run_time: run,
            allocated_procs: alloc,
            requested_procs: req_procs,
            requested_time: req_time,
            user: 3,
        }
    }

    fn trace(header: SwfHeader, records: Vec<SwfRecord>) -> SwfTrace {
        SwfTrace { header, records }
    }

    #[test]
    fn processors_prefer_requested_then_allocated_and_are_capped() {
        let header = SwfHeader {
            max_procs: Some(64),
            max_nodes: Some(8),
            ..SwfHeader::default()
        };
        let w = from_trace(trace(
            header,
            vec![
                rec(1, 10, 4, 8, 100),
                rec(2, 10, 4, -1, 100),
                rec(3, 10, 4, 0, 100),
                rec(4, 10, 99, 128, 100),
            ],
        ));
        let procs: Vec<u32> = w.jobs.iter().map(|j| j.procs).collect();
        assert_eq!(procs, vec![8, 4, 4, 64]);
        assert_eq!(w.max_procs, 64);
    }

    #[test]
    fn machine_size_falls_back_to_max_nodes_then_largest_job() {
        let nodes_only = SwfHeader {
            max_nodes: Some(16),
            ..SwfHeader::default()
        };
        assert_eq!(
            from_trace(trace(nodes_only, vec![rec(1, 10, 32, -1, 5)])).jobs[0].procs,
            16
        );
        let w = from_trace(trace(
            SwfHeader::default(),
            vec![rec(1, 10, 32, -1, 5), rec(2, 10, 6, -1, 5)],
        ));
        assert_eq!(w.max_procs, 32);
    }

    #[test]
    fn unusable_records_are_skipped_and_counted() {
        let recs = vec![
            rec(1, 0, 4, 4, 10),
            rec(2, -1, 4, 4, 10),
            rec(3, 10, -1, -1, 10),
            rec(4, 10, 1, 1, 10),
        ];
        let w = from_trace(trace(SwfHeader::default(), recs));
        assert_eq!((w.jobs.len(), w.skipped), (1, 3));
        assert_eq!(w.jobs[0].line, 4);
    }

    #[test]
    fn requested_time_defaults_to_run_time_and_cuts_long_runs() {
        let w = from_trace(trace(
            SwfHeader::default(),
            vec![rec(1, 50, 1, 1, -1), rec(2, 50, 1, 1, 20)],
        ));
        let (a, b) = (w.jobs[0], w.jobs[1]);
        assert_eq!(
            (a.requested_time, a.sim_run_time(), a.times_out()),
            (50, 50, false)
        );
        assert_eq!(
            (b.requested_time, b.sim_run_time(), b.times_out()),
            (20, 20, true)
        );
    }
}
