//! The cluster of the captured Slurm 22.05 scenario (the golden samples): one host `vm` with
//! 64 CPUs, partitions `debug` (default) and `maint` (down), users root, alice and bob, and
//! jobs 1-17 as they were at 12:44:28 on 2026-11-25 (UTC).
//!
//! Job 18 (`squeue_partitionconfig`, `18 PENDING PartitionConfig`) is not reproduced: the
//! model's `PendingReason` has no `PartitionConfig` variant.

use slurm_core::engine::NodeView;
use slurm_core::format::{FormatEnv, JobExtras, NodeExtras};
use slurm_core::model::{
    ExitStatus, Hold, Job, JobSpec, JobState, MemRequest, NodeBaseState, NodeConfig,
    PartitionConfig, PartitionState, PendingReason, TimeLimit, Timestamp,
};

/// 2026-11-25T00:00:00Z: the samples were taken that day, on a host running in UTC.
pub const DAY: Timestamp = 1_795_564_800;
pub const YEAR: i64 = 365 * 86_400;

/// A time of the capture day.
pub fn at(h: i64, m: i64, s: i64) -> Timestamp {
    DAY + h * 3600 + m * 60 + s
}

/// When `squeue`, `sinfo` and `scontrol` ran: 12:44:28.
pub fn now() -> Timestamp {
    at(12, 44, 28)
}

/// Adds the facts `scontrol show` prints that neither the model nor the protocol carries:
/// where jobs 1 and 9 were submitted from, when job 9 was last considered, and what the
/// node `vm` reported.
pub fn add_extras(env: &mut FormatEnv) {
    for (id, eval) in [(1, None), (9, Some(at(12, 44, 21)))] {
        env.jobs.insert(
            id,
            JobExtras {
                alloc_node: Some("localhost".into()),
                alloc_sid: 2523,
                last_sched_eval: eval,
                ..JobExtras::default()
            },
        );
    }
    env.nodes.insert(
        "vm".into(),
        NodeExtras {
            arch: Some("x86_64".into()),
            os: Some("Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0".into()),
            node_addr: Some("127.0.0.1".into()),
            hostname: Some("vm".into()),
            version: Some("22.05.8".into()),
            cpu_load_centi: Some(343),
            free_mem_mb: Some(15198),
            boot_time: Some(at(11, 46, 14)),
            slurmd_start_time: Some(at(12, 43, 51)),
            last_busy: Some(at(12, 43, 51)),
            ..NodeExtras::default()
        },
    );
}

pub fn partitions() -> Vec<PartitionConfig> {
    let mut debug = PartitionConfig::new("debug", vec!["vm".into()]);
    debug.default = true;
    debug.min_nodes = 0;
    let mut maint = PartitionConfig::new("maint", vec!["vm".into()]);
    maint.state = PartitionState::Down;
    maint.max_time = TimeLimit::minutes(60);
    maint.min_nodes = 0;
    vec![debug, maint]
}

/// The node while jobs 1, 2, 3, 4 and 6 run on it (6 CPUs, 600 MiB).
pub fn nodes() -> Vec<NodeView> {
    let mut config = NodeConfig::simple("vm", 64, 65536);
    config.sockets = 64;
    config.cores_per_socket = 1;
    vec![NodeView {
        config,
        alloc_cpus: 6,
        alloc_mem_mb: 600,
        jobs: vec![1, 2, 3, 4, 6],
        ..super::node("vm", NodeBaseState::Mixed)
    }]
}

fn spec(name: &str, user: &str) -> JobSpec {
    let base = super::spec(name, user);
    JobSpec {
        gid: base.uid,
        account: if base.uid == 0 { "root" } else { "physics" }.into(),
        work_dir: "/tmp".into(),
        stdout: Some("/dev/null".into()),
        ..base
    }
}

fn job(id: u32, name: &str, user: &str, state: JobState, priority: u32) -> Job {
    Job {
        priority,
        submit_time: at(12, 43, 53),
        eligible_time: Some(at(12, 43, 53)),
        ..super::job(id, state, spec(name, user))
    }
}

fn running(j: Job, start: Timestamp, cpus: u32, mem_mb: u64) -> Job {
    let mut j = super::allocated(j, "vm", cpus, mem_mb);
    j.start_time = Some(start);
    j
}

fn pending(mut j: Job, reason: PendingReason) -> Job {
    j.reason = reason;
    j
}

fn ended(mut j: Job, start: Timestamp, end: Timestamp, code: i32) -> Job {
    j = running(j, start, 1, 100);
    j.end_time = Some(end);
    j.exit = Some(ExitStatus { code, signal: 0 });
    j
}

/// Jobs 1-17, by id.
pub fn jobs() -> Vec<Job> {
    use JobState::{Cancelled, Completed, Failed, Pending, Running};
    use PendingReason as R;
    let started = at(12, 43, 54);
    let later = at(12, 44, 20);
    let next_year = started + YEAR;

    let mut myjob = job(3, "myjob", "root", Running, 10_508);
    myjob.spec.ntasks = 2;
    myjob.spec.mem = MemRequest::PerNode(200);
    myjob.time_limit = TimeLimit::minutes(30);
    let mut alice = job(4, "wrap", "alice", Running, 507);
    alice.time_limit = TimeLimit::Seconds(YEAR as u64);
    let mut bob = job(6, "wrap", "bob", Running, 507);
    bob.time_limit = TimeLimit::Seconds(YEAR as u64);
    let mut bigjob = pending(job(8, "bigjob", "root", Pending, 11_000), R::Resources);
    bigjob.spec.ntasks = 64;
    bigjob.planned_start = Some(next_year);
    let mut bigjob2 = pending(job(9, "bigjob2", "root", Pending, 11_000), R::Priority);
    bigjob2.spec.ntasks = 64;
    bigjob2.submit_time = at(12, 43, 58);
    bigjob2.eligible_time = Some(at(12, 43, 58));
    bigjob2.planned_start = Some(next_year);
    let mut held = pending(job(10, "held", "root", Pending, 0), R::JobHeldUser);
    held.hold = Some(Hold::User);
    let mut begin = pending(job(11, "later", "root", Pending, 10_507), R::BeginTime);
    begin.planned_start = Some(at(13, 43, 58));
    let mut downpart = pending(
        job(13, "downpart", "root", Pending, 10_507),
        R::PartitionDown,
    );
    downpart.partition = "maint".into();
    downpart.time_limit = TimeLimit::minutes(60);
    let mut cancelled = pending(job(16, "tocancel", "root", Cancelled, 0), R::BeginTime);
    cancelled.end_time = Some(at(12, 43, 58));

    vec![
        running(job(1, "wrap", "root", Running, 10_507), started, 1, 100),
        running(job(2, "wrap", "root", Running, 10_507), started, 1, 100),
        running(myjob, started, 2, 200),
        running(alice, later, 1, 100),
        pending(job(5, "wrap", "alice", Pending, 507), R::AssocGrpCpuLimit),
        running(bob, later, 1, 100),
        pending(job(7, "wrap", "bob", Pending, 507), R::AssocMaxJobsLimit),
        bigjob,
        bigjob2,
        held,
        begin,
        pending(job(12, "dep", "root", Pending, 10_507), R::Dependency),
        downpart,
        ended(job(14, "ok", "root", Completed, 0), later, later, 0),
        ended(job(15, "fails", "root", Failed, 0), later, later, 3),
        cancelled,
        ended(job(17, "hostname", "root", Completed, 0), later, later, 0),
    ]
}

/// The jobs with these ids, in this order.
pub fn pick(jobs: &[Job], ids: &[u32]) -> Vec<Job> {
    ids.iter()
        .filter_map(|id| jobs.iter().find(|j| j.id == *id).cloned())
        .collect()
}
