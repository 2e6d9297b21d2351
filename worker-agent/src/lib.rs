//! The worker agent's runtime layer (the slurmstepd role): runs job steps as real process
//! trees and reports how they ended.
//!
//! - [`step`]: what to run ([`StepSpec`]) and how it ended ([`StepOutcome`]).
//! - [`env`]: the `SLURM_*` environment of a step.
//! - [`launch`]: [`StepRunner`] starts a step ([`RunningStep`]) and supervises it: time
//!   limit, `--signal`, cancellation (SIGCONT+SIGTERM, KillWait, SIGKILL,
//!   UnkillableStepTimeout), usage sampling, cleanup.
//! - [`cgroup`]: step containment, cgroup v2 ([`CgroupV2`]) or `/proc` process trees
//!   ([`NoCgroups`]); [`select_cgroup_manager`] detects which the host allows.
//! - [`signals`]: `--signal` parsing and the termination sequence.
//! - [`usage`], [`procfs`]: CPU and memory accounting.
//! - [`user`]: the identity a step runs as.
//! - [`state`]: state files of running steps and [`state::recover`] after a restart.
//! - [`gpu`]: GPU discovery (NVML behind the `nvml` feature, gres.conf, none).
//!
//! The gRPC protocol and the daemon loop are built on top of this.

pub mod cgroup;
pub mod daemon;
pub mod env;
mod exec;
pub mod gpu;
pub mod launch;
pub mod procfs;
pub mod signals;
pub mod state;
pub mod step;
pub mod usage;
pub mod user;

pub use cgroup::{
    CgroupConfig, CgroupManager, CgroupV2, NoCgroups, StepContainer, TrackingMode,
    select_cgroup_manager,
};
pub use env::step_environment;
#[cfg(feature = "nvml")]
pub use gpu::NvmlDiscovery;
pub use gpu::{GpuDevice, GpuDiscovery, GpuSource, GresConfDiscovery, NoGpus, discover_gpus};
pub use launch::{AgentConfig, LaunchError, RunningStep, StepHandle, StepRunner, TaskPipes};
pub use signals::{SignalScope, SignalSpec, parse_signal_spec};
pub use state::{RecoveredStep, StepRecord, recover};
pub use step::{
    ArrayInfo, EndReason, OpenMode, StepAllocation, StepCommand, StepId, StepIo, StepLayout,
    StepOutcome, StepSpec, StepUser, TaskInfo,
};
pub use usage::Usage;
