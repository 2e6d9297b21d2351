//! The event loop: replays jobs through the real [`Engine`] on a [`ManualClock`].
//!
//! Events are processed in time order. At each distinct timestamp the driver sets the clock,
//! reports every completion due then, submits every arrival due then, and runs one scheduling
//! pass; the jobs it starts get completion events at `start + min(run, requested)`.
//!
//! With a backfill interval (`bf_interval_s > 0`) the pass at each timestamp is Slurm's cheap
//! main scheduler ([`Engine::schedule_main`]), and the full pass ([`Engine::schedule`]) runs
//! only once `bf_interval_s` simulated seconds have passed since the previous full pass and a
//! job arrived or ended meanwhile. Like Slurm's backfill thread, which wakes on its own timer,
//! the driver then adds a wake-up event at the time the next full pass is due while jobs are
//! pending, so a quiet period does not postpone it.

use super::workload::SimJob;
use crate::config::{ClusterConfig, SchedulerPolicy, SelectParams};
use crate::engine::{Engine, EngineError, JobEnd, JobStart, ManualClock};
use crate::model::{ExitStatus, JobId, JobSpec, NodeConfig, PartitionConfig, TimeLimit, Timestamp};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

/// `bf_window` standing for "no window" (100 years, in minutes): reservations as far out as needed.
pub const UNLIMITED_WINDOW_MIN: u64 = 100 * 365 * 24 * 60;

/// Finished jobs are purged from the engine after this many completions.
const PURGE_EVERY: u64 = 4096;

/// The simulated machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// One partition over a single pool of `procs` processors (one node with that many CPUs):
    /// no fragmentation, the classic model of scheduling studies.
    Pool { procs: u32 },
    /// `nodes` real nodes of `cpus_per_node` CPUs each; jobs wider than a node span several.
    Nodes { nodes: u32, cpus_per_node: u32 },
}

impl Machine {
    /// Total processors.
    pub fn total_procs(&self) -> u64 {
        match *self {
            Self::Pool { procs } => u64::from(procs),
            Self::Nodes {
                nodes,
                cpus_per_node,
            } => u64::from(nodes) * u64::from(cpus_per_node),
        }
    }

    fn node_configs(&self) -> Vec<NodeConfig> {
        match *self {
            Self::Pool { procs } => vec![NodeConfig::simple("pool", procs, 0)],
            Self::Nodes {
                nodes,
                cpus_per_node,
            } => (0..nodes)
                .map(|i| NodeConfig::simple(format!("n{i:04}"), cpus_per_node, 0))
                .collect(),
        }
    }
}

/// How to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimConfig {
    pub machine: Machine,
    pub policy: SchedulerPolicy,
    /// `bf_max_job_test`: `None` (the default here) tests every pending job, as the textbook
    /// policies do; Slurm's own default is `Some(500)`.
    pub bf_max_job_test: Option<u32>,
    /// Seconds between full passes; 0 (default) = a full pass at every event timestamp.
    pub bf_interval_s: u64,
    /// `bf_window` in minutes; default [`UNLIMITED_WINDOW_MIN`] (Slurm: 1440).
    pub bf_window_min: u64,
    /// `bf_resolution` in seconds; default 1, i.e. exact (Slurm: 60).
    pub bf_resolution_s: u64,
}

impl SimConfig {
    /// Slurm's own `SchedulerParameters` defaults for backfill: a full pass every 30 s
    /// (`bf_interval`), at most 500 jobs tested (`bf_max_job_test`), reservations up to a
    /// day ahead (`bf_window=1440`), times rounded to a minute (`bf_resolution=60`); the main
    /// scheduler runs at every event in between.
    pub fn with_slurm_defaults(mut self) -> Self {
        self.bf_interval_s = 30;
        self.bf_max_job_test = Some(500);
        self.bf_window_min = 1440;
        self.bf_resolution_s = 60;
        self
    }

    pub fn new(machine: Machine, policy: SchedulerPolicy) -> Self {
        Self {
            machine,
            policy,
            bf_max_job_test: None,
            bf_interval_s: 0,
            bf_window_min: UNLIMITED_WINDOW_MIN,
            bf_resolution_s: 1,
        }
    }

    /// The cluster the engine runs: the machine's nodes in one default partition `batch`,
    /// CPUs only (no memory tracking), FIFO priority.
    pub fn cluster(&self) -> ClusterConfig {
        let mut cluster = ClusterConfig::new("sim");
        cluster.nodes = self.machine.node_configs();
        let mut part = PartitionConfig::new(
            "batch",
            cluster.nodes.iter().map(|n| n.name.clone()).collect(),
        );
        part.default = true;
        cluster.partitions.push(part);
        cluster.select = SelectParams {
            whole_nodes: false,
            track_memory: false,
        };
        let s = &mut cluster.scheduler;
        s.policy = self.policy;
        s.bf_max_job_test = self.bf_max_job_test;
        s.bf_interval_s = self.bf_interval_s;
        s.bf_window_min = self.bf_window_min;
        s.bf_resolution_s = self.bf_resolution_s;
        cluster
    }
}

/// What happened to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobResult {
    pub submit: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Processors it held: the CPUs of its allocation (more than it asked for when its tasks
    /// do not divide evenly over real nodes).
    pub procs: u32,
    /// Killed at its requested time.
    pub timed_out: bool,
}

impl JobResult {
    pub fn wait(&self) -> i64 {
        self.start - self.submit
    }

    pub fn run(&self) -> i64 {
        self.end - self.start
    }
}

/// Counters about the replay itself (for profiling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Distinct event timestamps processed.
    pub batches: u64,
    /// Full passes ([`Engine::schedule`]).
    pub full_passes: u64,
    /// Main-scheduler passes ([`Engine::schedule_main`], only with a backfill interval).
    pub main_passes: u64,
    /// Timestamps with no event but a due full pass (backfill interval wake-ups).
    pub wakeups: u64,
    /// Jobs placement was attempted for, summed over full passes.
    pub tested: u64,
    /// Placement searches, summed over full passes.
    pub searches: u64,
    /// Reservations made, summed over full passes.
    pub reservations: u64,
    /// Largest pending queue seen at a pass.
    pub max_pending: usize,
    /// Largest number of running jobs seen.
    pub max_running: usize,
    /// Time spent in scheduling passes.
    pub schedule_time: Duration,
    /// Time spent in submissions, job ends and purges.
    pub events_time: Duration,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimOutput {
    /// One result per input job, in input order.
    pub results: Vec<JobResult>,
    pub counters: Counters,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the machine has no processors")]
    EmptyMachine,
    #[error("cannot build the simulated cluster: {0}")]
    Cluster(EngineError),
    #[error("job {swf_id} (line {line}) was rejected: {source}")]
    Rejected {
        swf_id: i64,
        line: u64,
        source: EngineError,
    },
    #[error("engine error: {0}")]
    Engine(#[from] EngineError),
    #[error("{0} jobs never started")]
    Stuck(usize),
}

/// Where a replay stands (for progress reports on long traces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Jobs submitted so far, out of `total`.
    pub submitted: usize,
    pub total: usize,
    pub pending: usize,
    pub running: usize,
    /// Simulated seconds since the first submission.
    pub simulated_s: i64,
}

/// Replays `jobs` (in any order; they are taken by submit time, ties in input order).
pub fn replay(jobs: &[SimJob], config: &SimConfig) -> Result<SimOutput, SimError> {
    replay_with_progress(jobs, config, 0, |_| {})
}

/// [`replay`], calling `report` each time another `every` jobs have been submitted (never
/// when `every` is 0).
pub fn replay_with_progress(
    jobs: &[SimJob],
    config: &SimConfig,
    every: usize,
    mut report: impl FnMut(Progress),
) -> Result<SimOutput, SimError> {
    if config.machine.total_procs() == 0 {
        return Err(SimError::EmptyMachine);
    }
    let mut sim = Sim::new(jobs, config)?;
    let first = sim.next_time().unwrap_or(0);
    let mut next_report = every;
    while let Some(t) = sim.next_time() {
        sim.step(t)?;
        if every > 0 && sim.next_arrival >= next_report {
            next_report = (sim.next_arrival / every + 1) * every;
            report(Progress {
                submitted: sim.next_arrival,
                total: jobs.len(),
                pending: sim.engine.pending_count(),
                running: sim.engine.running_count(),
                simulated_s: t - first,
            });
        }
    }
    sim.finish()
}

/// Not started yet.
const UNSTARTED: Timestamp = Timestamp::MIN;

struct Sim<'a> {
    jobs: &'a [SimJob],
    config: &'a SimConfig,
    clock: ManualClock,
    engine: Engine<ManualClock>,
    /// Job indices by submit time.
    arrivals: Vec<usize>,
    next_arrival: usize,
    /// (end time, job index, engine id).
    completions: BinaryHeap<Reverse<(Timestamp, usize, JobId)>>,
    index_of: HashMap<JobId, usize>,
    results: Vec<JobResult>,
    /// When the next full pass is due while only main passes run (backfill interval).
    wakeup: Option<Timestamp>,
    last_full: Option<Timestamp>,
    changed_since_full: bool,
    ends_since_purge: u64,
    counters: Counters,
}

impl<'a> Sim<'a> {
    fn new(jobs: &'a [SimJob], config: &'a SimConfig) -> Result<Self, SimError> {
        let mut arrivals: Vec<usize> = (0..jobs.len()).collect();
        arrivals.sort_by_key(|&i| jobs[i].submit);
        let t0 = arrivals.first().map_or(0, |&i| jobs[i].submit);
        let clock = ManualClock::new(t0);
        let mut engine = Engine::new(config.cluster(), clock.clone()).map_err(SimError::Cluster)?;
        engine.set_plan_all(false);
        let results = jobs
            .iter()
            .map(|j| JobResult {
                submit: j.submit,
                start: UNSTARTED,
                end: UNSTARTED,
                procs: 0,
                timed_out: false,
            })
            .collect();
        Ok(Self {
            jobs,
            config,
            clock,
            engine,
            arrivals,
            next_arrival: 0,
            completions: BinaryHeap::new(),
            index_of: HashMap::new(),
            results,
            wakeup: None,
            last_full: None,
            changed_since_full: false,
            ends_since_purge: 0,
            counters: Counters::default(),
        })
    }

    /// The earliest pending event time, if any.
    fn next_time(&self) -> Option<Timestamp> {
        let arrival = self
            .arrivals
            .get(self.next_arrival)
            .map(|&i| self.jobs[i].submit);
        let completion = self.completions.peek().map(|Reverse((t, _, _))| *t);
        [arrival, completion, self.wakeup]
            .into_iter()
            .flatten()
            .min()
    }

    /// Processes everything due at `t`, then runs one pass.
    fn step(&mut self, t: Timestamp) -> Result<(), SimError> {
        self.clock.set(t);
        self.counters.batches += 1;
        let events = Instant::now();
        let ended = self.report_completions(t)?;
        let arrived = self.submit_arrivals(t)?;
        if ended + arrived == 0 {
            self.counters.wakeups += 1;
        }
        self.changed_since_full |= ended + arrived > 0;
        self.maybe_purge(t);
        self.counters.events_time += events.elapsed();
        let starts = self.pass(t);
        for start in starts {
            self.record_start(t, &start);
        }
        self.counters.max_running = self.counters.max_running.max(self.engine.running_count());
        Ok(())
    }

    fn report_completions(&mut self, t: Timestamp) -> Result<usize, SimError> {
        let mut n = 0;
        while let Some(&Reverse((end, index, id))) = self.completions.peek() {
            if end > t {
                break;
            }
            self.completions.pop();
            let how = if self.results[index].timed_out {
                JobEnd::TimedOut
            } else {
                JobEnd::Exited(ExitStatus::SUCCESS)
            };
            self.engine.job_ended(id, how)?;
            self.index_of.remove(&id);
            n += 1;
        }
        self.ends_since_purge += n as u64;
        Ok(n)
    }

    fn submit_arrivals(&mut self, t: Timestamp) -> Result<usize, SimError> {
        let mut n = 0;
        while let Some(&index) = self.arrivals.get(self.next_arrival) {
            let job = &self.jobs[index];
            if job.submit > t {
                break;
            }
            let procs = capped_procs(job, &self.config.machine);
            let spec = JobSpec {
                ntasks: procs,
                time_limit: Some(TimeLimit::Seconds(job.requested_time.unsigned_abs())),
                user: format!("u{}", job.user),
                ..JobSpec::default()
            };
            let id = self
                .engine
                .submit(spec)
                .map_err(|source| SimError::Rejected {
                    swf_id: job.swf_id,
                    line: job.line,
                    source,
                })?;
            self.index_of.insert(id, index);
            self.results[index].procs = procs;
            self.results[index].timed_out = job.times_out();
            self.next_arrival += 1;
            n += 1;
        }
        Ok(n)
    }

    fn maybe_purge(&mut self, t: Timestamp) {
        if self.ends_since_purge >= PURGE_EVERY {
            self.engine.purge_finished(t.saturating_add(1));
            self.ends_since_purge = 0;
        }
    }

    /// Runs the pass due at `t` (full or main) and returns the jobs it started.
    fn pass(&mut self, t: Timestamp) -> Vec<JobStart> {
        self.counters.max_pending = self.counters.max_pending.max(self.engine.pending_count());
        let interval = i64::try_from(self.config.bf_interval_s).unwrap_or(i64::MAX);
        let full_due = interval == 0
            || (self.changed_since_full
                && self
                    .last_full
                    .is_none_or(|last| t.saturating_sub(last) >= interval));
        let timer = Instant::now();
        let starts = if full_due {
            let (starts, stats) = self.engine.schedule_with_stats();
            self.counters.full_passes += 1;
            self.counters.tested += stats.tested as u64;
            self.counters.searches += stats.searches as u64;
            self.counters.reservations += stats.reservations as u64;
            self.last_full = Some(t);
            self.changed_since_full = false;
            self.wakeup = None;
            starts
        } else {
            self.counters.main_passes += 1;
            self.engine.schedule_main()
        };
        self.counters.schedule_time += timer.elapsed();
        if !full_due && self.changed_since_full && self.engine.pending_count() > 0 {
            self.wakeup = self.last_full.map(|last| last.saturating_add(interval));
        }
        starts
    }

    fn record_start(&mut self, t: Timestamp, start: &JobStart) {
        let Some(&index) = self.index_of.get(&start.job_id) else {
            return;
        };
        let end = t + self.jobs[index].sim_run_time();
        let result = &mut self.results[index];
        let held: u32 = start.allocation.iter().map(|a| a.cpus).sum();
        if held > 0 {
            result.procs = held;
        }
        result.start = t;
        result.end = end;
        self.completions.push(Reverse((end, index, start.job_id)));
    }

    fn finish(self) -> Result<SimOutput, SimError> {
        let never = self.results.iter().filter(|r| r.start == UNSTARTED).count();
        if never > 0 {
            return Err(SimError::Stuck(never));
        }
        Ok(SimOutput {
            results: self.results,
            counters: self.counters,
        })
    }
}

/// A job's processors, capped at the machine's size so that the engine accepts it.
fn capped_procs(job: &SimJob, machine: &Machine) -> u32 {
    let total = u32::try_from(machine.total_procs()).unwrap_or(u32::MAX);
    job.procs.clamp(1, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(submit: i64, procs: u32, run: i64, req: i64) -> SimJob {
        SimJob {
            swf_id: submit,
            line: 1,
            submit,
            procs,
            run_time: run,
            requested_time: req,
            user: 1,
        }
    }

    fn starts(jobs: &[SimJob], config: &SimConfig) -> Vec<i64> {
        replay(jobs, config)
            .unwrap()
            .results
            .iter()
            .map(|r| r.start)
            .collect()
    }

    /// The classic case: a small short job backfills ahead of a blocked wide job.
    fn backfill_case() -> Vec<SimJob> {
        vec![job(0, 3, 100, 100), job(1, 4, 100, 100), job(2, 1, 50, 50)]
    }

    #[test]
    fn fcfs_keeps_order_backfill_jumps_without_delay() {
        let pool = Machine::Pool { procs: 4 };
        let fcfs = starts(
            &backfill_case(),
            &SimConfig::new(pool, SchedulerPolicy::Fcfs),
        );
        assert_eq!(fcfs, vec![0, 100, 200]);
        for policy in [SchedulerPolicy::Easy, SchedulerPolicy::Backfill] {
            assert_eq!(
                starts(&backfill_case(), &SimConfig::new(pool, policy)),
                vec![0, 100, 2],
                "{policy}"
            );
        }
    }

    #[test]
    fn runs_are_cut_at_the_requested_time() {
        let out = replay(
            &[job(5, 1, 100, 30)],
            &SimConfig::new(Machine::Pool { procs: 1 }, SchedulerPolicy::Backfill),
        )
        .unwrap();
        let r = out.results[0];
        assert_eq!((r.start, r.end, r.timed_out), (5, 35, true));
    }

    #[test]
    fn jobs_are_capped_at_the_machine_and_nodes_fragment() {
        let jobs = [job(0, 5, 10, 10), job(0, 3, 10, 10), job(0, 20, 10, 10)];
        let run = |machine| {
            let out = replay(&jobs, &SimConfig::new(machine, SchedulerPolicy::Backfill)).unwrap();
            out.results
                .iter()
                .map(|r| (r.start, r.procs))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            run(Machine::Pool { procs: 8 }),
            vec![(0, 5), (0, 3), (10, 8)]
        );
        // On two 4-CPU nodes the 5-task job takes 3 CPUs on each node, so the 3-CPU job waits.
        let nodes = Machine::Nodes {
            nodes: 2,
            cpus_per_node: 4,
        };
        assert_eq!(run(nodes), vec![(0, 6), (10, 3), (20, 8)]);
    }

    #[test]
    fn interval_defers_backfill_but_wakes_up_on_its_own() {
        let mut config = SimConfig::new(Machine::Pool { procs: 4 }, SchedulerPolicy::Backfill);
        config.bf_interval_s = 30;
        // t=0 full pass starts job 0; t=1 and t=2 only main passes: job 2 must wait for the
        // wake-up at t=30 to backfill.
        let out = replay(&backfill_case(), &config).unwrap();
        let got: Vec<i64> = out.results.iter().map(|r| r.start).collect();
        assert_eq!(got, vec![0, 100, 30]);
        assert_eq!(out.counters.wakeups, 1);
        assert!(out.counters.main_passes >= 2);
    }

    #[test]
    fn progress_is_reported_every_n_submissions() {
        let jobs: Vec<SimJob> = (0..5).map(|i| job(i * 10, 1, 5, 5)).collect();
        let config = SimConfig::new(Machine::Pool { procs: 1 }, SchedulerPolicy::Backfill);
        let mut seen = Vec::new();
        let out = replay_with_progress(&jobs, &config, 2, |p| seen.push(p)).unwrap();
        assert_eq!(out.results, replay(&jobs, &config).unwrap().results);
        let submitted: Vec<usize> = seen.iter().map(|p| p.submitted).collect();
        assert_eq!(submitted, vec![2, 4]);
        assert_eq!((seen[0].total, seen[0].simulated_s), (5, 10));
    }

    /// The textbook policies on a pool of `procs` processors, written out independently of
    /// the engine: at each event time, ends then arrivals, then jobs in submission order
    /// against a step function of free processors (running jobs release at start + requested
    /// time). FCFS stops at the first job that cannot start; EASY reserves for that job
    /// only; conservative backfill reserves for every job. Returns the start times.
    fn reference(jobs: &[SimJob], procs: i64, policy: SchedulerPolicy) -> Vec<i64> {
        let n = jobs.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| jobs[i].submit);
        let (mut start, mut end) = (vec![i64::MIN; n], vec![0; n]);
        let (mut running, mut pending): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        let (mut next, mut free) = (0, procs);
        loop {
            let arrival = order.get(next).map(|&i| jobs[i].submit);
            let Some(t) = running.iter().map(|&i| end[i]).chain(arrival).min() else {
                break;
            };
            running.retain(|&i| {
                let done = end[i] <= t;
                free += if done { i64::from(jobs[i].procs) } else { 0 };
                !done
            });
            while next < n && jobs[order[next]].submit <= t {
                pending.push(order[next]);
                next += 1;
            }
            // (time, free from then on), sorted by time.
            let mut profile = vec![(t, free)];
            let mut releases: Vec<(i64, i64)> = running
                .iter()
                .map(|&i| (start[i] + jobs[i].requested_time, i64::from(jobs[i].procs)))
                .collect();
            releases.sort_unstable();
            for (at, p) in releases {
                let last = profile[profile.len() - 1];
                if last.0 == at {
                    profile.last_mut().unwrap().1 += p;
                } else {
                    profile.push((at, last.1 + p));
                }
            }
            let (mut blocked, mut reserved) = (false, false);
            let mut waiting = Vec::new();
            for &i in &pending {
                let (need, len) = (i64::from(jobs[i].procs), jobs[i].requested_time);
                if policy == SchedulerPolicy::Fcfs && blocked {
                    waiting.push(i);
                    continue;
                }
                let mut at = None;
                let mut run_from = None;
                for (k, &(from, avail)) in profile.iter().enumerate() {
                    let until = profile.get(k + 1).map_or(i64::MAX, |p| p.0);
                    if avail < need {
                        run_from = None;
                        continue;
                    }
                    let s = *run_from.get_or_insert(from);
                    if until == i64::MAX || until - s >= len {
                        at = Some(s);
                        break;
                    }
                }
                let at = at.expect("every job fits the empty machine");
                let reserve = match policy {
                    SchedulerPolicy::Backfill => true,
                    SchedulerPolicy::Easy => !reserved,
                    SchedulerPolicy::Fcfs => false,
                };
                if at == t || reserve {
                    for b in [at, at + len] {
                        let k = profile.partition_point(|p| p.0 <= b) - 1;
                        if profile[k].0 != b {
                            profile.insert(k + 1, (b, profile[k].1));
                        }
                    }
                    for p in profile.iter_mut().filter(|p| p.0 >= at && p.0 < at + len) {
                        p.1 -= need;
                    }
                }
                if at == t {
                    start[i] = t;
                    end[i] = t + jobs[i].sim_run_time();
                    free -= need;
                    running.push(i);
                } else {
                    reserved |= reserve;
                    blocked = true;
                    waiting.push(i);
                }
            }
            pending = waiting;
        }
        start
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The replay through the engine starts every job exactly when the independent
        /// reference model does, for each policy.
        #[test]
        fn engine_replay_matches_the_reference_model(
            raw in proptest::collection::vec((0i64..400, 1u32..=8, 1i64..200, 1i64..300), 1..50),
            policy in proptest::prop_oneof![
                proptest::strategy::Just(SchedulerPolicy::Fcfs),
                proptest::strategy::Just(SchedulerPolicy::Easy),
                proptest::strategy::Just(SchedulerPolicy::Backfill),
            ],
        ) {
            let jobs: Vec<SimJob> = raw
                .iter()
                .map(|&(submit, procs, run, req)| job(submit, procs, run, req))
                .collect();
            let config = SimConfig::new(Machine::Pool { procs: 8 }, policy);
            proptest::prop_assert_eq!(starts(&jobs, &config), reference(&jobs, 8, policy));
        }
    }

    #[test]
    fn empty_inputs() {
        let config = SimConfig::new(Machine::Pool { procs: 4 }, SchedulerPolicy::Fcfs);
        assert_eq!(replay(&[], &config).unwrap().results, vec![]);
        let none = SimConfig::new(Machine::Pool { procs: 0 }, SchedulerPolicy::Fcfs);
        assert!(matches!(
            replay(&[job(0, 1, 1, 1)], &none),
            Err(SimError::EmptyMachine)
        ));
    }
}
