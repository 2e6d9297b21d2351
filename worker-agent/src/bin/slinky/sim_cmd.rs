//! `slinky sim`: replay an SWF trace through the scheduling engine and print the metrics.

use anyhow::Context;
use slurm_core::config::SchedulerPolicy;
use slurm_core::sim::{self, Counters, Machine, Metrics, SimConfig, Workload};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// With `--verbose`, a progress line every this many submitted jobs.
const PROGRESS_EVERY: usize = 10_000;

#[derive(clap::Args)]
pub struct SimArgs {
    /// Trace in the Standard Workload Format (.swf, or gzipped .swf.gz).
    #[arg(long, value_name = "FILE")]
    trace: PathBuf,
    /// Scheduling policy.
    #[arg(long, value_enum, default_value_t = Policy::Backfill)]
    policy: Policy,
    /// Replay only the first N usable jobs.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Pack onto N real nodes (with --cpus-per-node) instead of one pool of MaxProcs processors.
    #[arg(long, value_name = "N", requires = "cpus_per_node", value_parser = clap::value_parser!(u32).range(1..))]
    nodes: Option<u32>,
    /// CPUs per node (with --nodes).
    #[arg(long, value_name = "C", requires = "nodes", value_parser = clap::value_parser!(u32).range(1..))]
    cpus_per_node: Option<u32>,
    /// Slurm's own backfill defaults instead of the textbook policies: --bf-interval 30
    /// --bf-max-job-test 500 --bf-window 1440 --bf-resolution 60 (each can still be given).
    #[arg(long)]
    slurm_defaults: bool,
    /// Seconds between full (backfill) passes; 0 = a full pass at every event time (the
    /// default). Otherwise Slurm's main scheduler runs at every event time and the full pass
    /// at most this often.
    #[arg(long, value_name = "SECONDS")]
    bf_interval: Option<u64>,
    /// Most pending jobs one pass tests (Slurm's bf_max_job_test; its default is 500).
    /// Unlimited unless given.
    #[arg(long, value_name = "N")]
    bf_max_job_test: Option<u32>,
    /// How far ahead reservations may be made, minutes (Slurm's bf_window, default 1440).
    /// Unlimited unless given.
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..))]
    bf_window: Option<u64>,
    /// Granularity of planned end times, seconds (Slurm's bf_resolution, default 60); 1
    /// unless given.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    bf_resolution: Option<u64>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also print the replay's counters (passes, engine time), and progress on stderr every
    /// 10,000 submitted jobs.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Policy {
    /// First come, first served: the first job that cannot start blocks the rest.
    Fcfs,
    /// EASY backfill: a reservation for the first blocked job only.
    Easy,
    /// Slurm's (conservative) backfill: every blocked job gets a reservation.
    Backfill,
}

impl From<Policy> for SchedulerPolicy {
    fn from(p: Policy) -> Self {
        match p {
            Policy::Fcfs => Self::Fcfs,
            Policy::Easy => Self::Easy,
            Policy::Backfill => Self::Backfill,
        }
    }
}

/// What `--json` prints: exactly these keys.
#[derive(serde::Serialize)]
struct JsonReport {
    jobs: usize,
    skipped: usize,
    mean_wait_s: f64,
    p50_wait_s: i64,
    p95_wait_s: i64,
    max_wait_s: i64,
    mean_bounded_slowdown: f64,
    utilization: f64,
    makespan_s: i64,
    wall_s: f64,
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let began = Instant::now();
    let workload = sim::load(&args.trace, args.jobs)
        .with_context(|| format!("reading {}", args.trace.display()))?;
    let read_time = began.elapsed();
    let machine = machine(&args, &workload);
    let config = sim_config(&args, machine);
    let every = if args.verbose { PROGRESS_EVERY } else { 0 };
    let out = sim::replay_with_progress(&workload.jobs, &config, every, |p| {
        eprintln!(
            "progress    {}/{} jobs submitted, {} pending, {} running, simulated {}, wall {:.1} s",
            p.submitted,
            p.total,
            p.pending,
            p.running,
            human_duration(p.simulated_s),
            began.elapsed().as_secs_f64()
        );
    })
    .context("replaying the trace")?;
    let metrics = sim::summarize(&out.results, machine.total_procs());
    let wall = began.elapsed();
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&json_report(&metrics, workload.skipped, wall))?
        );
    } else {
        print!("{}", summary(&args, &workload, &config, &metrics, wall));
        if args.verbose {
            print!("{}", counters(&out.counters, read_time));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn machine(args: &SimArgs, workload: &Workload) -> Machine {
    match (args.nodes, args.cpus_per_node) {
        (Some(nodes), Some(cpus_per_node)) => Machine::Nodes {
            nodes,
            cpus_per_node,
        },
        _ => Machine::Pool {
            procs: workload.max_procs,
        },
    }
}

fn sim_config(args: &SimArgs, machine: Machine) -> SimConfig {
    let mut config = SimConfig::new(machine, args.policy.into());
    if args.slurm_defaults {
        config = config.with_slurm_defaults();
    }
    if let Some(interval) = args.bf_interval {
        config.bf_interval_s = interval;
    }
    if let Some(max) = args.bf_max_job_test {
        config.bf_max_job_test = Some(max);
    }
    if let Some(window) = args.bf_window {
        config.bf_window_min = window;
    }
    if let Some(resolution) = args.bf_resolution {
        config.bf_resolution_s = resolution;
    }
    config
}

fn json_report(m: &Metrics, skipped: usize, wall: Duration) -> JsonReport {
    JsonReport {
        jobs: m.jobs,
        skipped,
        mean_wait_s: m.mean_wait_s,
        p50_wait_s: m.p50_wait_s,
        p95_wait_s: m.p95_wait_s,
        max_wait_s: m.max_wait_s,
        mean_bounded_slowdown: m.mean_bounded_slowdown,
        utilization: m.utilization,
        makespan_s: m.makespan_s,
        wall_s: wall.as_secs_f64(),
    }
}

fn summary(
    args: &SimArgs,
    workload: &Workload,
    config: &SimConfig,
    m: &Metrics,
    wall: Duration,
) -> String {
    let machine = config.machine;
    let name = args.trace.file_name().map_or_else(
        || args.trace.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let machine_text = match machine {
        Machine::Pool { procs } => format!("{procs} processors"),
        Machine::Nodes {
            nodes,
            cpus_per_node,
        } => format!("{nodes} nodes x {cpus_per_node} CPUs"),
    };
    let policy = SchedulerPolicy::from(args.policy);
    let interval = if config.bf_interval_s > 0 {
        format!(" (full pass every {} s)", config.bf_interval_s)
    } else {
        String::new()
    };
    format!(
        "trace       {name} ({} jobs, {} skipped, {machine_text})\n\
         policy      {policy}{interval}\n\
         wait        mean {:.0} s  p50 {} s  p95 {} s  max {} s\n\
         slowdown    mean bounded (tau={}s) {:.2}\n\
         utilization {:.2}\n\
         makespan    {} s ({})\n\
         wall        {:.2} s\n",
        m.jobs,
        workload.skipped,
        m.mean_wait_s,
        m.p50_wait_s,
        m.p95_wait_s,
        m.max_wait_s,
        sim::metrics::SLOWDOWN_TAU_S,
        m.mean_bounded_slowdown,
        m.utilization,
        m.makespan_s,
        human_duration(m.makespan_s),
        wall.as_secs_f64(),
    )
}

fn counters(c: &Counters, read_time: Duration) -> String {
    format!(
        "read        {:.2} s\n\
         events      {} timestamps ({} wake-ups), {:.2} s in submits/ends\n\
         passes      {} full, {} main, {:.2} s in the engine\n\
         placement   {} jobs tested, {} searches, {} reservations\n\
         peak        {} pending, {} running\n",
        read_time.as_secs_f64(),
        c.batches,
        c.wakeups,
        c.events_time.as_secs_f64(),
        c.full_passes,
        c.main_passes,
        c.schedule_time.as_secs_f64(),
        c.tested,
        c.searches,
        c.reservations,
        c.max_pending,
        c.max_running,
    )
}

/// `93 d 4 h`, `5 h 3 min`, `42 s`.
fn human_duration(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, _) => format!("{m} min {} s", secs % 60),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}
