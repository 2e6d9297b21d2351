//! Typed scheduler, priority, accounting and timer settings with Slurm's defaults.

use std::fmt;

/// `SelectType=` + `SelectTypeParameters=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectParams {
    /// Only `select/cons_tres` is implemented (`select/linear` is accepted with a warning and
    /// behaves like cons_tres with whole-node allocation).
    pub whole_nodes: bool,
    /// `CR_CPU_Memory` (default here) tracks memory; `CR_CPU`/`CR_Core` do not.
    pub track_memory: bool,
}

impl Default for SelectParams {
    fn default() -> Self {
        Self {
            whole_nodes: false,
            track_memory: true,
        }
    }
}

/// Which scheduling policy a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchedulerPolicy {
    /// Strict priority order: the first job that cannot start blocks every job behind it.
    Fcfs,
    /// Backfill with a reservation for the first blocked job only.
    Easy,
    /// Slurm's sched/backfill: every blocked job gets a reservation; lower jobs start only when
    /// they delay none of them.
    #[default]
    Backfill,
}

impl fmt::Display for SchedulerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fcfs => "fcfs",
            Self::Easy => "easy",
            Self::Backfill => "backfill",
        })
    }
}

/// `SchedulerType=` + `SchedulerParameters=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerParams {
    /// `sched/backfill` → Backfill, `sched/builtin` → Fcfs.
    pub policy: SchedulerPolicy,
    /// `bf_window=` minutes (default 1440).
    pub bf_window_min: u64,
    /// `bf_resolution=` seconds (default 60).
    pub bf_resolution_s: u64,
    /// `bf_max_job_test=` (default 500 in Slurm; `None` = all pending jobs).
    pub bf_max_job_test: Option<u32>,
    /// `bf_interval=` seconds (default 30).
    pub bf_interval_s: u64,
    /// `sched_interval=` seconds (default 60).
    pub sched_interval_s: u64,
    /// `max_array_tasks`/`MaxArraySize=` (default 1001).
    pub max_array_size: u32,
}

impl Default for SchedulerParams {
    fn default() -> Self {
        Self {
            policy: SchedulerPolicy::Backfill,
            bf_window_min: 1440,
            bf_resolution_s: 60,
            bf_max_job_test: Some(500),
            bf_interval_s: 30,
            sched_interval_s: 60,
            max_array_size: 1001,
        }
    }
}

/// `PriorityType=priority/multifactor` and its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityParams {
    /// `priority/multifactor` (true) or `priority/basic` (false: FIFO by submit order).
    pub multifactor: bool,
    pub weight_age: u32,
    pub weight_fairshare: u32,
    pub weight_job_size: u32,
    pub weight_partition: u32,
    pub weight_qos: u32,
    /// `PriorityWeightTRES=` as given, e.g. `CPU=1000,Mem=2000,GRES/gpu=3000`.
    pub weight_tres: Vec<(String, u32)>,
    /// `PriorityDecayHalfLife=` seconds (default 7 days); 0 disables decay.
    pub decay_half_life_s: u64,
    /// `PriorityMaxAge=` seconds (default 7 days).
    pub max_age_s: u64,
    /// `PriorityFavorSmall=YES`.
    pub favor_small: bool,
    /// `PriorityCalcPeriod=` seconds (default 5 min).
    pub calc_period_s: u64,
    /// `PriorityFlags=FAIR_TREE` (Slurm's default since 19.05) vs classic.
    pub fair_tree: bool,
}

impl Default for PriorityParams {
    fn default() -> Self {
        Self {
            multifactor: false,
            weight_age: 0,
            weight_fairshare: 0,
            weight_job_size: 0,
            weight_partition: 0,
            weight_qos: 0,
            weight_tres: Vec::new(),
            decay_half_life_s: 7 * 24 * 3600,
            max_age_s: 7 * 24 * 3600,
            favor_small: false,
            calc_period_s: 300,
            fair_tree: false,
        }
    }
}

/// Which accounting storage a cluster uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AccountingStorage {
    #[default]
    None,
    /// `accounting_storage/slurmdbd`.
    Slurmdbd,
}

/// `AccountingStorage*` settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountingParams {
    pub storage: AccountingStorage,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// `AccountingStorageEnforce=` flags, lowercased (`associations`, `limits`, `qos`, ...).
    pub enforce: Vec<String>,
    /// `AccountingStorageTRES=` extra TRES to track (e.g. `gres/gpu`).
    pub tres: Vec<String>,
}

/// Daemon timers, all in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// `KillWait=` (default 30).
    pub kill_wait: u64,
    /// `SlurmdTimeout=` (default 300).
    pub slurmd_timeout: u64,
    /// `SlurmctldTimeout=` (default 120).
    pub slurmctld_timeout: u64,
    /// `UnkillableStepTimeout=` (default 60).
    pub unkillable_step_timeout: u64,
    /// `MinJobAge=` (default 300).
    pub min_job_age: u64,
    /// `InactiveLimit=` (default 0).
    pub inactive_limit: u64,
    /// `MessageTimeout=` (default 10).
    pub message_timeout: u64,
    /// `Waittime=` (default 0).
    pub wait_time: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            kill_wait: 30,
            slurmd_timeout: 300,
            slurmctld_timeout: 120,
            unkillable_step_timeout: 60,
            min_job_age: 300,
            inactive_limit: 0,
            message_timeout: 10,
            wait_time: 0,
        }
    }
}

/// Power saving for cloud nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerParams {
    /// `SuspendTime=` seconds idle before power-down; `None` = never (`INFINITE`/-1).
    pub suspend_time: Option<u64>,
    /// `ResumeTimeout=` (default 60).
    pub resume_timeout: u64,
    /// `SuspendTimeout=` (default 30).
    pub suspend_timeout: u64,
}

impl Default for PowerParams {
    fn default() -> Self {
        Self {
            suspend_time: None,
            resume_timeout: 60,
            suspend_timeout: 30,
        }
    }
}
