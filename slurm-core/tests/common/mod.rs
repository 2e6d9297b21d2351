//! Fixtures shared by the integration tests; a test file takes them with `mod common;`.
//!
//! * argv and environment helpers, and the two outcomes of parsing a command line;
//! * [`Users`]: the test host's users (root, alice 1001, bob 1002) with a chosen caller;
//! * bare jobs and nodes for the tests to adjust;
//! * [`capture`]: the cluster of the captured Slurm 22.05 scenario;
//! * [`golden`]: Slurm's output for that scenario.

// Each test file uses some of the fixtures only.
#![allow(dead_code)]

pub mod capture;
pub mod golden;

use slurm_core::commands::lookup::{UserDb, numeric_id};
use slurm_core::commands::rpc::RpcError;
use slurm_core::commands::{Output, Step};
use slurm_core::engine::NodeView;
use slurm_core::model::{
    ArraySpec, Job, JobRef, JobSpec, JobState, NodeAllocation, NodeBaseState, NodeConfig, NodeState,
};
use slurm_core::proto::{TargetOutcome, TargetOutcomes};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A command line as the commands' parsers take it.
pub fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

/// An environment as the commands' parsers take it.
pub fn env_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The parsed arguments of a command line that must be accepted.
pub fn accepted<T: Debug>(prog: &str, argv: &[&str], step: Step<T>) -> T {
    match step {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("{prog} {argv:?} refused: {out:?}"),
    }
}

/// The output of a command line that must not run (refused, `--help`, `--version`).
pub fn refused<T: Debug>(prog: &str, argv: &[&str], step: Step<T>) -> Output {
    match step {
        Step::Exit(out) => out,
        Step::Run(a) => panic!("{prog} {argv:?} accepted: {a:?}"),
    }
}

/// A job or array task reference.
pub fn r(job_id: u32, task: Option<u32>) -> JobRef {
    JobRef {
        job_id,
        array_task: task,
    }
}

/// The controller's answer about jobs: each target with its error, if any.
pub fn outcomes(list: &[(JobRef, Option<&str>)]) -> Result<TargetOutcomes, RpcError> {
    Ok(TargetOutcomes {
        outcomes: list
            .iter()
            .map(|(t, e)| TargetOutcome {
                target: *t,
                error: e.map(str::to_owned),
            })
            .collect(),
    })
}

/// The test host's users: root (0), alice (1001) and bob (1002); the field is the caller's
/// uid. Only group 0 has a name (`root`).
pub struct Users(pub u32);

impl UserDb for Users {
    fn uid_of(&self, name: &str) -> Option<u32> {
        numeric_id(name).or(match name {
            "root" => Some(0),
            "alice" => Some(1001),
            "bob" => Some(1002),
            _ => None,
        })
    }
    fn current_uid(&self) -> u32 {
        self.0
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        (gid == 0).then(|| "root".to_owned())
    }
}

/// A job `name` of `user` (uid from [`Users`], unknown users get 0), charged to `physics`
/// with QOS `normal`.
pub fn spec(name: &str, user: &str) -> JobSpec {
    JobSpec {
        name: name.into(),
        user: user.into(),
        uid: Users(0).uid_of(user).unwrap_or(0),
        account: "physics".into(),
        qos: "normal".into(),
        ..JobSpec::default()
    }
}

/// A job with only an id, a state and a specification: priority 1 in partition `debug`, no
/// time limit, submitted at 0, with no pending reason, eligible time, start, allocation or
/// exit status. Tests change the fields they care about (`Job { priority: 5, ..job(..) }`).
pub fn job(id: u32, state: JobState, spec: JobSpec) -> Job {
    Job {
        priority: 1,
        partition: "debug".into(),
        ..Job::new(id, state, spec)
    }
}

/// `j` as an array's pending record holding the tasks `indices` (the array's id is its own).
pub fn array_record(mut j: Job, indices: &[u32]) -> Job {
    j.array_job_id = Some(j.id);
    j.array_pending = Some(ArraySpec {
        indices: indices.to_vec(),
        max_running: None,
    });
    j
}

/// `j` as task `task` of array `array`, split off into its own record.
pub fn array_task(mut j: Job, array: u32, task: u32) -> Job {
    j.array_job_id = Some(array);
    j.array_task_id = Some(task);
    j
}

/// `j` allocated `cpus` and `mem_mb` on one node.
pub fn allocated(mut j: Job, node: &str, cpus: u32, mem_mb: u64) -> Job {
    j.allocation = vec![NodeAllocation {
        node: node.into(),
        cpus,
        mem_mb,
        gres: Vec::new(),
    }];
    j
}

/// A node with 4 CPUs and 1024 MiB, in state `base`, with nothing allocated.
pub fn node(name: &str, base: NodeBaseState) -> NodeView {
    NodeView {
        config: NodeConfig::simple(name, 4, 1024),
        state: NodeState::new(base),
        reason: None,
        alloc_cpus: 0,
        alloc_mem_mb: 0,
        alloc_gres: Vec::new(),
        jobs: Vec::new(),
    }
}
