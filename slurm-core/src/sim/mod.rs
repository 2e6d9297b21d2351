//! `slinky sim`: replays SWF workload traces through the real engine.
//!
//! - [`swf`] streams a Standard Workload Format file (plain or gzipped) into compact records
//!   and the header fields that matter;
//! - [`workload`] maps records to [`SimJob`]s (processors, requested time, skipped jobs);
//! - [`driver`] replays them through [`crate::engine::Engine`] on a
//!   [`crate::engine::ManualClock`] and returns per-job results and counters;
//! - [`metrics`] summarises the results (waits, bounded slowdown, utilization, makespan).
//!
//! ```no_run
//! use slurm_core::config::SchedulerPolicy;
//! use slurm_core::sim::{Machine, SimConfig, load, replay, summarize};
//! let workload = load("trace.swf.gz".as_ref(), Some(1000))?;
//! let machine = Machine::Pool { procs: workload.max_procs };
//! let out = replay(&workload.jobs, &SimConfig::new(machine, SchedulerPolicy::Backfill))?;
//! let metrics = summarize(&out.results, machine.total_procs());
//! println!("mean wait {:.0} s", metrics.mean_wait_s);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `docs/simulator.md` for the mapping rules and the metric definitions.

pub mod driver;
pub mod metrics;
pub mod swf;
pub mod workload;

pub use driver::{
    Counters, JobResult, Machine, Progress, SimConfig, SimError, SimOutput, replay,
    replay_with_progress,
};
pub use metrics::{Metrics, summarize};
pub use swf::{SwfError, SwfHeader, SwfRecord, SwfTrace};
pub use workload::{SimJob, Workload, from_trace, load};
