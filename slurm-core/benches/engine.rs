//! Engine benchmarks: figures are printed, not asserted.
//!
//! `cargo bench -p slurm-core --bench engine` (release build). Measures one full scheduling
//! pass (priority + backfill over every pending job, planned starts included) on a busy
//! cluster of mixed CPU and 8-GPU nodes, and the engine's memory per pending job.

use slurm_core::config::{ClusterConfig, SchedulerPolicy};
use slurm_core::engine::{Engine, ManualClock};
use slurm_core::model::{
    GpuRequest, Gres, JobSpec, MemRequest, NodeConfig, PartitionConfig, TimeLimit,
};
use std::time::Instant;

const T0: i64 = 1_700_000_000;

/// A small deterministic generator (no external crates, same numbers every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// `nodes` nodes: 80% CPU nodes (64 CPUs, 256 GiB), 20% GPU nodes (96 CPUs, 1 TiB, 8 A100).
fn cluster(nodes: usize) -> ClusterConfig {
    let mut c = ClusterConfig::new("bench");
    let gpu_nodes = nodes / 5;
    for i in 0..nodes - gpu_nodes {
        c.nodes
            .push(NodeConfig::simple(format!("cpu{i:05}"), 64, 256 * 1024));
    }
    for i in 0..gpu_nodes {
        c.nodes.push(
            NodeConfig::simple(format!("gpu{i:05}"), 96, 1024 * 1024).with_gres(Gres::new(
                "gpu",
                Some("a100"),
                8,
            )),
        );
    }
    let cpu: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| n.gres.is_empty())
        .map(|n| n.name.clone())
        .collect();
    let gpu: Vec<String> = c
        .nodes
        .iter()
        .filter(|n| !n.gres.is_empty())
        .map(|n| n.name.clone())
        .collect();
    let mut p = PartitionConfig::new("cpu", cpu);
    p.default = true;
    c.partitions.push(p);
    c.partitions.push(PartitionConfig::new("gpu", gpu));
    c.scheduler.policy = SchedulerPolicy::Backfill;
    c.scheduler.bf_max_job_test = None;
    c.priority.multifactor = true;
    c.priority.weight_age = 1000;
    c.priority.weight_fairshare = 10_000;
    c.priority.weight_job_size = 100;
    c
}

fn random_job(rng: &mut Lcg, users: u64) -> JobSpec {
    let gpu = rng.next().is_multiple_of(4);
    let user = format!("user{}", rng.next() % users);
    let minutes = rng.pick(&[10, 30, 60, 120, 240, 720, 1440]);
    let mut spec = JobSpec {
        name: "bench".into(),
        account: format!("acct{}", rng.next() % 10),
        user,
        time_limit: Some(TimeLimit::minutes(minutes)),
        ..JobSpec::default()
    };
    if gpu {
        spec.partitions = vec!["gpu".into()];
        spec.min_nodes = rng.pick(&[1, 1, 1, 2, 4]);
        spec.ntasks = spec.min_nodes * rng.pick(&[1, 8]);
        spec.cpus_per_task = rng.pick(&[1, 4, 12]);
        spec.gpus = GpuRequest {
            per_node: Some(Gres::new("gpu", None, rng.pick(&[1, 2, 4, 8]))),
            ..Default::default()
        };
        spec.mem = MemRequest::PerNode(rng.pick(&[16_384, 65_536, 262_144]));
    } else {
        spec.partitions = vec!["cpu".into()];
        spec.min_nodes = rng.pick(&[1, 1, 1, 1, 2, 8]);
        spec.ntasks = spec.min_nodes * rng.pick(&[1, 4, 16, 32, 64]);
        spec.mem = MemRequest::PerCpu(rng.pick(&[1024, 2048, 4096]));
    }
    spec
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn full_pass(nodes: usize, pending: usize) {
    let clock = ManualClock::new(T0);
    let mut engine = Engine::new(cluster(nodes), clock.clone()).expect("bench cluster is valid");
    let mut rng = Lcg(42);
    // Fill the cluster first so the pending jobs have to be planned around running ones.
    let mut submitted = 0;
    while engine.running_count() < nodes * 2 && submitted < nodes * 4 {
        let _ = engine.submit(random_job(&mut rng, 200));
        submitted += 1;
        if submitted.is_multiple_of(1000) {
            engine.schedule();
        }
    }
    engine.schedule();
    let running = engine.running_count();
    clock.advance(600);
    let rss_before = rss_kib();
    for _ in 0..pending {
        let _ = engine.submit(random_job(&mut rng, 200));
    }
    let rss_after = rss_kib();
    let queued = engine.pending_count();
    let start = Instant::now();
    let (starts, stats) = engine.schedule_with_stats();
    let first = start.elapsed();
    clock.advance(30);
    let start = Instant::now();
    engine.schedule();
    let second = start.elapsed();
    println!(
        "full pass: {nodes:>6} nodes, {queued:>6} pending ({running} running): first {:>8.1} ms, next {:>8.1} ms \
         [{} started, {} reservations, {} searches, {} node scans]",
        first.as_secs_f64() * 1e3,
        second.as_secs_f64() * 1e3,
        starts.len(),
        stats.reservations,
        stats.searches,
        stats.node_scans,
    );
    let per_job = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / pending as f64;
    println!(
        "memory:    {per_job:>8.0} bytes per pending job (RSS growth while submitting {pending} jobs)"
    );
}

fn main() {
    // `cargo test --benches` runs this binary with `--bench` absent; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        full_pass(100, 1_000);
        return;
    }
    full_pass(1_000, 10_000);
    full_pass(10_000, 100_000);
}
