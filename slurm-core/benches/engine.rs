//! Engine benchmarks: figures are printed, not asserted.
//!
//! `cargo bench -p slurm-core --bench engine` (release build). For each size it builds a busy
//! cluster of mixed CPU and 8-GPU nodes, queues exactly the stated number of pending jobs and
//! times full scheduling passes (priority + backfill over every pending job, planned starts
//! included): the first pass after the submissions, then repeated passes over the same queue
//! (min and median). Memory per pending job is measured with a counting global allocator (live
//! heap bytes held by the engine after submitting the pending jobs, and after the first pass,
//! divided by their number); the process RSS growth is printed next to it as a cross-check.
//!
//! `ENGINE_BENCH_SUBMIT=N` times N submissions under enforced submit limits instead.
//!
//! `ENGINE_BENCH_SIZES=1000x10000` (nodes x pending, comma-separated) runs other sizes;
//! `ENGINE_BENCH_REPEATS=N` times N repeated passes instead of 7 (3 above 50,000 pending).
//!
//! Each full-pass line ends with a fingerprint of the first pass's decisions (every pending
//! job's planned start and reason): equal fingerprints, the same decisions.
//! `ENGINE_BENCH_PER_SHAPE_HEAPS=1` plans with a full bound heap per shape instead of one
//! shared frontier per demand, to check that sharing them decides alike.
//!
//! `ENGINE_BENCH_TRACE=FILE.swf.gz` replays that trace with conservative backfill on its pool
//! of processors instead (`ENGINE_BENCH_TRACE_JOBS=N`: its first N jobs) and prints the replay's
//! time, counters and a fingerprint of every job's start time (equal fingerprints: the same
//! decisions), like `slinky sim` without building the whole binary. With
//! `ENGINE_BENCH_TRACE_SLURM_DEFAULTS=1` it uses Slurm's backfill defaults (bf_interval 30 s,
//! bf_max_job_test 500, bf_window 1440 min, bf_resolution 60 s) instead of textbook
//! conservative backfill.

use slurm_core::config::{ClusterConfig, SchedulerPolicy};
use slurm_core::engine::{Engine, ManualClock};
use slurm_core::model::{
    GpuRequest, Gres, JobSpec, MemRequest, NodeConfig, PartitionConfig, TimeLimit,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// The workspace denies `unsafe`; a global allocator cannot be written without it. This one is
// confined to the bench binary (the engine itself has none).
// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

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

/// CPU time this thread has run, in nanoseconds (`/proc/thread-self/schedstat`; 0 where
/// unavailable): unlike wall time, it does not count the time other processes held the CPU.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
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

/// One full pass, with its wall and CPU time. Kept out of line so that a profiler can count
/// the timed passes alone: `valgrind --tool=callgrind --collect-atstart=no
/// --toggle-collect='*timed_pass*'` leaves out the passes that fill the cluster.
#[inline(never)]
fn timed_pass(
    engine: &mut Engine<ManualClock>,
) -> (
    (
        Vec<slurm_core::engine::JobStart>,
        slurm_core::engine::PassStats,
    ),
    Duration,
    Duration,
) {
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    let out = engine.schedule_with_stats();
    (
        out,
        start.elapsed(),
        Duration::from_nanos(cpu_ns() - cpu_start),
    )
}

/// A cluster of `nodes` nodes kept busy, with exactly `pending` jobs queued.
fn full_pass(nodes: usize, pending: usize, repeats: usize) {
    let clock = ManualClock::new(T0);
    let mut engine = Engine::new(cluster(nodes), clock.clone()).expect("bench cluster is valid");
    engine.set_shared_frontiers(std::env::var_os("ENGINE_BENCH_PER_SHAPE_HEAPS").is_none());
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
    // Top the queue up to exactly `pending` jobs, measuring what they cost.
    let mut added = 0usize;
    let (live_before, rss_before) = (live_bytes(), rss_kib());
    while engine.pending_count() < pending {
        if engine.submit(random_job(&mut rng, 200)).is_ok() {
            added += 1;
        }
    }
    let (live_submitted, rss_submitted) = (live_bytes(), rss_kib());
    let queued = engine.pending_count();

    let ((starts, stats), first, first_cpu) = timed_pass(&mut engine);
    let plans = plans_fingerprint(&engine);
    let live_after_pass = live_bytes();
    let (mut times, mut cpu_times): (Vec<Duration>, Vec<Duration>) = (0..repeats)
        .map(|_| {
            clock.advance(30);
            let (_, wall, cpu) = timed_pass(&mut engine);
            (wall, cpu)
        })
        .unzip();
    times.sort();
    cpu_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (min, median) = (times[0], times[times.len() / 2]);
    println!(
        "full pass: {nodes:>6} nodes, {queued:>6} pending ({running} running): first {:>8.1} ms, \
         then min {:>8.1} ms, median {:>8.1} ms over {repeats} (CPU time: first {:.1} ms, min \
         {:.1} ms, median {:.1} ms) [{} started, {} reservations, {} searches, {} node scans, {} cached fits; plans {plans:016x}]",
        ms(first),
        ms(min),
        ms(median),
        ms(first_cpu),
        ms(cpu_times[0]),
        ms(cpu_times[cpu_times.len() / 2]),
        starts.len(),
        stats.reservations,
        stats.searches,
        stats.node_scans,
        stats.cached_fits,
    );
    // Slurm's main scheduler, which the controller runs at events between full passes.
    let mut main_cpu: Vec<Duration> = (0..repeats)
        .map(|_| {
            clock.advance(1);
            let cpu_start = cpu_ns();
            engine.schedule_main();
            Duration::from_nanos(cpu_ns() - cpu_start)
        })
        .collect();
    main_cpu.sort();
    println!(
        "main pass: {nodes:>6} nodes, {queued:>6} pending: CPU time min {:.1} ms, median {:.1} ms over {repeats}",
        ms(main_cpu[0]),
        ms(main_cpu[main_cpu.len() / 2]),
    );
    let per_job = |bytes: usize, base: usize| bytes.saturating_sub(base) as f64 / added as f64;
    println!(
        "memory:    {:>8.0} bytes per pending job after submit, {:>8.0} after a pass \
         (live heap, {added} jobs); RSS growth {:>8.0} bytes per job",
        per_job(live_submitted, live_before),
        per_job(live_after_pass, live_before),
        per_job(rss_submitted as usize * 1024, rss_before as usize * 1024),
    );
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs available, {model}")
}

/// FNV-1a over every pending job's id, planned start and reason, by id.
fn plans_fingerprint(engine: &Engine<ManualClock>) -> u64 {
    let mut plans: Vec<_> = engine
        .pending_jobs()
        .map(|j| (j.id, j.planned_start, j.reason.to_string()))
        .collect();
    plans.sort();
    let bytes = plans.iter().flat_map(|(id, planned, reason)| {
        let planned = planned.unwrap_or(i64::MIN);
        let id = u64::from(*id);
        let fields = [id.to_le_bytes(), planned.to_le_bytes()];
        fields
            .into_iter()
            .flatten()
            .chain(reason.bytes())
            .collect::<Vec<_>>()
    });
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FNV-1a over every job's start time, in input order.
fn fingerprint(results: &[slurm_core::sim::JobResult]) -> u64 {
    results.iter().fold(0xcbf2_9ce4_8422_2325, |h, r| {
        r.start
            .to_le_bytes()
            .iter()
            .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
    })
}

fn replay_trace(path: &str) {
    use slurm_core::sim::{Machine, SimConfig, load, replay_with_progress, summarize};
    let jobs = std::env::var("ENGINE_BENCH_TRACE_JOBS")
        .ok()
        .and_then(|n| n.parse().ok());
    let workload = match load(path.as_ref(), jobs) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return;
        }
    };
    let machine = Machine::Pool {
        procs: workload.max_procs,
    };
    let mut config = SimConfig::new(machine, SchedulerPolicy::Backfill);
    if std::env::var_os("ENGINE_BENCH_TRACE_SLURM_DEFAULTS").is_some() {
        // As `slinky sim --slurm-defaults`.
        config = config.with_slurm_defaults();
    }
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    let out = replay_with_progress(&workload.jobs, &config, 50_000, |p| {
        eprintln!(
            "  {:>7}/{} submitted, {} pending, {} running, {:.1} s",
            p.submitted,
            p.total,
            p.pending,
            p.running,
            start.elapsed().as_secs_f64()
        );
    });
    let wall = start.elapsed();
    let cpu = Duration::from_nanos(cpu_ns() - cpu_start);
    match out {
        Ok(out) => {
            let m = summarize(&out.results, machine.total_procs());
            println!(
                "trace:     {path}: {} jobs in {:.2} s (CPU time {:.2} s; passes {:.2} s), mean wait {:.0} s \
                 (p50 {}, p95 {}, max {}), mean bounded slowdown {:.2}, utilization {:.3}, fingerprint {:016x}; {:?}",
                out.results.len(),
                wall.as_secs_f64(),
                cpu.as_secs_f64(),
                out.counters.schedule_time.as_secs_f64(),
                m.mean_wait_s,
                m.p50_wait_s,
                m.p95_wait_s,
                m.max_wait_s,
                m.mean_bounded_slowdown,
                m.utilization,
                fingerprint(&out.results),
                out.counters,
            );
        }
        Err(e) => eprintln!("replay failed: {e}"),
    }
}

/// Submissions under enforced associations with submit limits (GrpSubmitJobs on the
/// account, MaxSubmitJobs on each user, both far above what is submitted): each submission
/// is checked against the jobs already active.
fn submissions_under_limits(jobs: usize) {
    use slurm_core::engine::{AccountAssoc, AssocLimitSet, Associations, UserAssoc};
    let clock = ManualClock::new(T0);
    let mut engine = Engine::new(cluster(100), clock).expect("bench cluster is valid");
    let users = 200;
    let limit = |grp: Option<u32>, max: Option<u32>| AssocLimitSet {
        grp_submit_jobs: grp,
        max_submit_jobs: max,
        ..AssocLimitSet::default()
    };
    let accounts = (0..10)
        .map(|a| {
            let account = AccountAssoc {
                parent: String::new(),
                shares: 1,
                limits: limit(Some(10_000_000), None),
            };
            (format!("acct{a}"), account)
        })
        .collect();
    let user_assocs = (0..users)
        .flat_map(|u| {
            (0..10).map(move |a| UserAssoc {
                user: format!("user{u}"),
                account: format!("acct{a}"),
                shares: 1,
                limits: limit(None, Some(10_000_000)),
                ..UserAssoc::default()
            })
        })
        .collect();
    engine.set_associations(Some(Associations::new(
        accounts,
        user_assocs,
        Default::default(),
        true,
    )));
    let mut rng = Lcg(7);
    let specs: Vec<_> = (0..jobs).map(|_| random_job(&mut rng, users)).collect();
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    let accepted = specs
        .into_iter()
        .filter(|spec| engine.submit(spec.clone()).is_ok())
        .count();
    let wall = start.elapsed();
    let cpu = Duration::from_nanos(cpu_ns() - cpu_start);
    println!(
        "submit:    {accepted} of {jobs} jobs under submit limits in {:.1} ms ({:.0} jobs/s; CPU \
         time {:.1} ms)",
        wall.as_secs_f64() * 1e3,
        accepted as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e3,
    );
}

fn main() {
    if let Ok(path) = std::env::var("ENGINE_BENCH_TRACE") {
        replay_trace(&path);
        return;
    }
    // `cargo test --benches` runs this binary with `--bench` absent; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        full_pass(100, 1_000, 1);
        submissions_under_limits(1_000);
        return;
    }
    if let Ok(jobs) = std::env::var("ENGINE_BENCH_SUBMIT") {
        submissions_under_limits(jobs.parse().unwrap_or(20_000));
        return;
    }
    println!("machine:   {}", machine());
    let sizes: Vec<(usize, usize)> = std::env::var("ENGINE_BENCH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| {
                    let (n, p) = s.trim().split_once('x')?;
                    Some((n.parse().ok()?, p.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_else(|| vec![(1_000, 10_000), (10_000, 100_000)]);
    for (nodes, pending) in sizes {
        let repeats = std::env::var("ENGINE_BENCH_REPEATS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(if pending > 50_000 { 3 } else { 7 });
        full_pass(nodes, pending, repeats);
    }
}
