//! Output formatting for `squeue`, `sinfo` and `scontrol show`, byte for byte as Slurm 22.05
//! prints it.
//!
//! Everything here is a pure function from model data to text: no clock, no I/O, no user or
//! group database. What the model does not carry comes in through [`FormatEnv`]: the current
//! time and time zone, group names, and optional per-job / per-node facts ([`JobExtras`],
//! [`NodeExtras`]) for the few `scontrol show` fields the controller does not track. Every
//! field left unset prints what Slurm prints when it does not know the value.
//!
//! * [`squeue`]: the default, `-l` and `--start` layouts, `-o` `%` formats, `-O` field lists
//!   and Slurm's default sort orders;
//! * [`sinfo`]: partition summaries, `-s`, `-N`, `-l`, `-R` and `-o` / `-O` formats;
//! * [`scontrol`]: `show job`, `show node`, `show partition` and their error messages;
//! * [`fields`]: the column engine shared by squeue and sinfo (format parsing, padding);
//! * [`timefmt`]: Slurm's duration and date spellings.
//!
//! Multi-record `scontrol` outputs end each record with a blank line, as Slurm does.

pub mod fields;
mod jobinfo;
pub mod scontrol;
pub mod sinfo;
pub mod squeue;
#[cfg(test)]
pub(crate) mod testing;
pub mod timefmt;

use crate::model::{JobId, Timestamp};
use std::collections::HashMap;

/// Requested resources of a job (also what accounting records as `ReqTRES`).
pub(crate) use jobinfo::{gres_totals, requested_cpus, requested_gres, requested_mem};
pub use jobinfo::{job_id_text, reason_text};

/// The outside facts output depends on: the clock, the local time zone, names, and facts the
/// model does not keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatEnv {
    /// The moment the command runs (elapsed times, "ends in the future" checks, date lines).
    pub now: Timestamp,
    /// Local time zone offset east of UTC, in seconds (dates print in local time).
    pub tz_offset_secs: i32,
    /// Group names by gid (`GroupId=name(gid)`); gid 0 is `root`, unknown ones are `nobody`.
    pub group_names: HashMap<u32, String>,
    /// The cluster-wide `DefMemPerCPU` (MiB), applied to jobs without a memory request.
    pub def_mem_per_cpu_mb: Option<u64>,
    /// Optional per-job facts, by job id.
    pub jobs: HashMap<JobId, JobExtras>,
    /// Optional per-node facts, by node name.
    pub nodes: HashMap<String, NodeExtras>,
}

impl FormatEnv {
    /// An environment with a clock and a time zone and nothing else.
    pub fn new(now: Timestamp, tz_offset_secs: i32) -> Self {
        Self {
            now,
            tz_offset_secs,
            ..Self::default()
        }
    }

    /// The group name Slurm's `gid_to_string` would give.
    pub fn group_name(&self, gid: u32) -> String {
        match self.group_names.get(&gid) {
            Some(name) => name.clone(),
            None if gid == 0 => "root".to_owned(),
            None => "nobody".to_owned(),
        }
    }

    /// The extra facts about a job (all unset when none were given).
    pub fn job(&self, id: JobId) -> &JobExtras {
        self.jobs.get(&id).unwrap_or(&NO_JOB_EXTRAS)
    }

    /// The extra facts about a node (all unset when none were given).
    pub fn node(&self, name: &str) -> &NodeExtras {
        self.nodes.get(name).unwrap_or(&NO_NODE_EXTRAS)
    }

    fn iso(&self, ts: Timestamp) -> String {
        timefmt::iso(ts, self.tz_offset_secs)
    }

    fn iso_or_unknown(&self, ts: Option<Timestamp>) -> String {
        timefmt::iso_or_unknown(ts, self.tz_offset_secs)
    }

    fn iso_or_na(&self, ts: Option<Timestamp>) -> String {
        timefmt::iso_or_na(ts, self.tz_offset_secs)
    }

    /// The date line `-l` outputs start with: `Wed Nov 25 12:44:28 2026`.
    pub fn date_line(&self) -> String {
        timefmt::ctime(self.now, self.tz_offset_secs)
    }
}

/// Job facts the model does not carry. Unset fields print Slurm's "unknown" spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobExtras {
    /// Submit host and session id (`AllocNode:Sid=host:sid`); unset prints `(null):0`.
    pub alloc_node: Option<String>,
    pub alloc_sid: u32,
    /// Last time the scheduler looked at the job; unset uses the start time, else `Unknown`.
    pub last_sched_eval: Option<Timestamp>,
    /// When the job started accruing age priority; unset uses the eligible time.
    pub accrue_time: Option<Timestamp>,
    /// The batch script path (`Command=`); unset prints `(null)` like `sbatch --wrap`.
    pub command: Option<String>,
    /// Started by the backfill scheduler (`Scheduler=Backfill` instead of `Main`).
    pub backfill: bool,
    /// An allocation made by srun or salloc, with no batch script (`BatchFlag=0`).
    pub interactive: bool,
}

/// Node facts reported by the node's agent or recorded with its reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeExtras {
    /// `Arch=` (omitted when unknown).
    pub arch: Option<String>,
    /// `OS=` line (omitted when unknown).
    pub os: Option<String>,
    /// `NodeAddr=` / `NodeHostName=` (default: the node name).
    pub node_addr: Option<String>,
    pub hostname: Option<String>,
    /// slurmd version (`Version=`, omitted when unknown).
    pub version: Option<String>,
    /// Load average in hundredths (`CPULoad=3.43` is 343); unknown prints `N/A`.
    pub cpu_load_centi: Option<u32>,
    /// Free memory (MiB); unknown prints `N/A`.
    pub free_mem_mb: Option<u64>,
    pub boot_time: Option<Timestamp>,
    pub slurmd_start_time: Option<Timestamp>,
    pub last_busy: Option<Timestamp>,
    /// Who set the node's reason, and when (`Reason=x [user@time]`, sinfo `-R`).
    pub reason_user: Option<String>,
    pub reason_time: Option<Timestamp>,
}

static NO_JOB_EXTRAS: JobExtras = JobExtras {
    alloc_node: None,
    alloc_sid: 0,
    last_sched_eval: None,
    accrue_time: None,
    command: None,
    backfill: false,
    interactive: false,
};

static NO_NODE_EXTRAS: NodeExtras = NodeExtras {
    arch: None,
    os: None,
    node_addr: None,
    hostname: None,
    version: None,
    cpu_load_centi: None,
    free_mem_mb: None,
    boot_time: None,
    slurmd_start_time: None,
    last_busy: None,
    reason_user: None,
    reason_time: None,
};

/// A partition's `OverSubscribe=` as Slurm prints it (`YES` and `FORCE` with the default
/// job count of 4).
pub(crate) fn oversubscribe_text(o: crate::model::OverSubscribe) -> &'static str {
    use crate::model::OverSubscribe;
    match o {
        OverSubscribe::No => "NO",
        OverSubscribe::Exclusive => "EXCLUSIVE",
        OverSubscribe::Yes => "YES:4",
        OverSubscribe::Force => "FORCE:4",
    }
}

/// Memory the way Slurm's `convert_num_unit(..., CONVERT_NUM_UNIT_EXACT)` prints MiB: the
/// largest unit that divides the value exactly (`100M`, `64G`, `6400M`, `1T`), `0` for zero.
///
/// This differs on purpose from [`crate::parse::memory::format_mem_mb`], which allows two
/// decimals (`6400` → `6.25G`): Slurm 22.05 prints `mem=6400M` in TRES strings.
pub fn mem_exact(mb: u64) -> String {
    if mb == 0 {
        return "0".to_owned();
    }
    let mut value = mb;
    for unit in ["M", "G", "T"] {
        if !value.is_multiple_of(1024) {
            return format!("{value}{unit}");
        }
        value /= 1024;
    }
    format!("{value}P")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_memory_units() {
        assert_eq!(mem_exact(0), "0");
        assert_eq!(mem_exact(100), "100M");
        assert_eq!(mem_exact(6400), "6400M");
        assert_eq!(mem_exact(65536), "64G");
        assert_eq!(mem_exact(1536), "1536M");
        assert_eq!(mem_exact(1024 * 1024), "1T");
        assert_eq!(mem_exact(u64::MAX), format!("{}M", u64::MAX));
        assert_eq!(mem_exact(1 << 50), "1048576P");
    }

    #[test]
    fn group_name_fallbacks() {
        let mut env = FormatEnv::new(0, 0);
        assert_eq!(env.group_name(0), "root");
        assert_eq!(env.group_name(1000), "nobody");
        env.group_names.insert(1000, "users".into());
        assert_eq!(env.group_name(1000), "users");
        assert_eq!(env.job(5), &JobExtras::default());
        assert_eq!(env.node("x"), &NodeExtras::default());
    }
}
