//! Scenario and property tests of the engine's scheduling decisions.

use super::*;
use crate::config::{ClusterConfig, SchedulerPolicy};
use crate::model::{
    ArraySpec, Dependency, DependencySpec, GpuRequest, Gres, JobSpec, NodeConfig, PartitionConfig,
    PendingReason, TimeLimit,
};
use proptest::prelude::*;

const T0: Timestamp = 1_700_000_000;

fn cluster(nodes: &[(&str, u32, u64)], policy: SchedulerPolicy) -> ClusterConfig {
    let mut c = ClusterConfig::new("test");
    for (name, cpus, mem) in nodes {
        c.nodes.push(NodeConfig::simple(*name, *cpus, *mem));
    }
    let mut p = PartitionConfig::new("debug", c.nodes.iter().map(|n| n.name.clone()).collect());
    p.default = true;
    c.partitions.push(p);
    c.scheduler.policy = policy;
    c.scheduler.bf_resolution_s = 1;
    c
}

fn engine(c: ClusterConfig) -> (Engine<ManualClock>, ManualClock) {
    let clock = ManualClock::new(T0);
    (Engine::new(c, clock.clone()).expect("valid cluster"), clock)
}

fn job(cpus: u32, minutes: u64) -> JobSpec {
    JobSpec {
        name: "job".into(),
        user: "alice".into(),
        ntasks: cpus,
        time_limit: Some(TimeLimit::minutes(minutes)),
        ..JobSpec::default()
    }
}

fn started(starts: &[JobStart]) -> Vec<JobId> {
    starts.iter().map(|s| s.job_id).collect()
}

fn reason(e: &Engine<ManualClock>, id: JobId) -> PendingReason {
    e.job(id).expect("job exists").reason
}

#[test]
fn a_job_that_fits_starts_and_completes() {
    let (mut e, clock) = engine(cluster(&[("n1", 4, 1000)], SchedulerPolicy::Backfill));
    let id = e.submit(job(2, 10)).unwrap();
    assert_eq!(
        e.job(id).unwrap().reason,
        PendingReason::None,
        "no reason before the first pass"
    );
    let starts = e.schedule();
    assert_eq!(started(&starts), vec![id]);
    assert_eq!(starts[0].allocation[0].cpus, 2);
    assert_eq!(e.node_view("n1").unwrap().state.sinfo_short(), "mix");
    clock.advance(60);
    e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS))
        .unwrap();
    let j = e.job(id).unwrap();
    assert_eq!(j.state, JobState::Completed);
    assert_eq!(j.end_time, Some(T0 + 60));
    assert_eq!(e.node_view("n1").unwrap().state.sinfo_short(), "idle");
    let failed = e.submit(job(1, 1)).unwrap();
    e.schedule();
    e.job_ended(failed, JobEnd::Exited(ExitStatus { code: 3, signal: 0 }))
        .unwrap();
    assert_eq!(e.job(failed).unwrap().state, JobState::Failed);
    assert_eq!(e.job(failed).unwrap().exit.unwrap().to_string(), "3:0");
}

#[test]
fn blocked_jobs_show_resources_then_priority_like_slurm() {
    let (mut e, _) = engine(cluster(&[("n1", 4, 1000)], SchedulerPolicy::Backfill));
    let running = e.submit(job(4, 60)).unwrap();
    let big = e.submit(job(4, 60)).unwrap();
    let big2 = e.submit(job(4, 60)).unwrap();
    assert_eq!(started(&e.schedule()), vec![running]);
    assert_eq!(reason(&e, big), PendingReason::Resources);
    assert_eq!(reason(&e, big2), PendingReason::Priority);
    assert_eq!(e.job(big).unwrap().planned_start, Some(T0 + 3600));
    assert_eq!(e.job(big2).unwrap().planned_start, Some(T0 + 7200));
}

#[test]
fn main_scheduler_passes_keep_the_last_full_pass_plans() {
    let (mut e, clock) = engine(cluster(&[("n1", 4, 1000)], SchedulerPolicy::Backfill));
    let running = e.submit(job(2, 60)).unwrap();
    assert_eq!(started(&e.schedule()), vec![running]);
    let big = e.submit(job(4, 60)).unwrap();
    assert!(e.schedule().is_empty());
    assert_eq!(e.job(big).unwrap().planned_start, Some(T0 + 3600));
    // A job that would backfill waits for the next full pass; the big job's plan stays.
    let short = e.submit(job(2, 30)).unwrap();
    clock.advance(10);
    assert!(
        e.schedule_main().is_empty(),
        "the main scheduler stops at the big job"
    );
    assert_eq!(e.job(big).unwrap().planned_start, Some(T0 + 3600));
    assert_eq!(reason(&e, big), PendingReason::Resources);
    assert_eq!(started(&e.schedule()), vec![short]);
    assert_eq!(e.job(big).unwrap().planned_start, Some(T0 + 3600));
}

#[test]
fn backfill_starts_short_jobs_that_delay_no_reservation() {
    let (mut e, _) = engine(cluster(&[("n1", 4, 1000)], SchedulerPolicy::Backfill));
    let running = e.submit(job(2, 60)).unwrap();
    assert_eq!(started(&e.schedule()), vec![running]);
    let big = e.submit(job(4, 60)).unwrap();
    let short = e.submit(job(2, 30)).unwrap();
    let long = e.submit(job(2, 120)).unwrap();
    let starts = e.schedule();
    assert_eq!(
        started(&starts),
        vec![short],
        "the short job fits before the big job's reserved start"
    );
    assert_eq!(e.job(big).unwrap().planned_start, Some(T0 + 3600));
    assert_eq!(reason(&e, long), PendingReason::Priority);
}

#[test]
fn fcfs_never_lets_a_lower_job_pass_a_blocked_one() {
    let (mut e, _) = engine(cluster(&[("n1", 4, 1000)], SchedulerPolicy::Fcfs));
    e.submit(job(2, 60)).unwrap();
    e.schedule();
    let big = e.submit(job(4, 60)).unwrap();
    let short = e.submit(job(1, 1)).unwrap();
    assert!(e.schedule().is_empty());
    assert_eq!(reason(&e, big), PendingReason::Resources);
    assert_eq!(reason(&e, short), PendingReason::Priority);
}

#[test]
fn easy_reserves_only_for_the_first_blocked_job() {
    // 4 CPUs: 2 busy for an hour. J1 (4 cpus) is reserved at +1h. J2 (3 cpus, 10 min) cannot
    // start now. J3 (2 cpus, 3 h): under EASY only J1's reservation counts, and J3 would
    // delay it, so it waits; under conservative backfill it waits too. J4 (1 cpu, 2 h) also
    // delays J1 in both. Then check that EASY lets a job delay J2 where backfill does not.
    let c = |policy| cluster(&[("n1", 4, 1000)], policy);
    for policy in [SchedulerPolicy::Easy, SchedulerPolicy::Backfill] {
        let (mut e, _) = engine(c(policy));
        e.submit(job(2, 60)).unwrap();
        e.schedule();
        let j1 = e.submit(job(4, 10)).unwrap();
        let j2 = e.submit(job(3, 10)).unwrap();
        let j3 = e.submit(job(1, 65)).unwrap();
        let starts = started(&e.schedule());
        assert_eq!(e.job(j1).unwrap().planned_start, Some(T0 + 3600));
        match policy {
            // J3 ends at +65 min: it overlaps J1's reservation at +60 → never allowed.
            SchedulerPolicy::Easy => {
                assert!(starts.is_empty());
                assert_eq!(
                    e.job(j2).unwrap().planned_start,
                    None,
                    "EASY plans only the first job"
                );
            }
            _ => {
                assert!(starts.is_empty());
                assert_eq!(e.job(j2).unwrap().planned_start, Some(T0 + 3600 + 600));
            }
        }
        assert_eq!(reason(&e, j3), PendingReason::Priority);
    }
}

#[test]
fn dependencies_follow_their_targets_outcome() {
    let (mut e, _) = engine(cluster(&[("n1", 8, 1000)], SchedulerPolicy::Backfill));
    let first = e.submit(job(1, 10)).unwrap();
    let dep = |d: Dependency| JobSpec {
        dependency: DependencySpec {
            conditions: vec![d],
            any: false,
        },
        ..job(1, 10)
    };
    let ok = e.submit(dep(Dependency::AfterOk(first))).unwrap();
    let notok = e.submit(dep(Dependency::AfterNotOk(first))).unwrap();
    let any = e.submit(dep(Dependency::AfterAny(first))).unwrap();
    let after = e.submit(dep(Dependency::After(first))).unwrap();
    assert_eq!(started(&e.schedule()), vec![first]);
    assert_eq!(
        reason(&e, after),
        PendingReason::Dependency,
        "evaluated before the pass started its target"
    );
    assert_eq!(started(&e.schedule()), vec![after]);
    assert_eq!(reason(&e, ok), PendingReason::Dependency);
    e.job_ended(first, JobEnd::Exited(ExitStatus { code: 1, signal: 0 }))
        .unwrap();
    assert_eq!(started(&e.schedule()), vec![notok, any]);
    assert_eq!(reason(&e, ok), PendingReason::DependencyNeverSatisfied);
    assert_eq!(
        e.submit(dep(Dependency::AfterOk(999))),
        Err(EngineError::InvalidDependency)
    );
}

#[test]
fn singleton_runs_one_job_per_name_and_user_at_a_time() {
    let (mut e, _) = engine(cluster(&[("n1", 8, 1000)], SchedulerPolicy::Backfill));
    let single = || JobSpec {
        dependency: DependencySpec {
            conditions: vec![Dependency::Singleton],
            any: false,
        },
        ..job(1, 10)
    };
    let a = e.submit(single()).unwrap();
    let b = e.submit(single()).unwrap();
    assert_eq!(started(&e.schedule()), vec![a]);
    assert_eq!(reason(&e, b), PendingReason::Dependency);
    e.job_ended(a, JobEnd::Exited(ExitStatus::SUCCESS)).unwrap();
    assert_eq!(started(&e.schedule()), vec![b]);
}

#[test]
fn arrays_expand_lazily_and_respect_their_throttle() {
    let (mut e, _) = engine(cluster(&[("n1", 8, 1000)], SchedulerPolicy::Backfill));
    let spec = JobSpec {
        array: Some(ArraySpec {
            indices: (0..5).collect(),
            max_running: Some(2),
        }),
        ..job(1, 10)
    };
    let array = e.submit(spec).unwrap();
    assert_eq!(
        e.pending_count(),
        1,
        "one record stands for every unstarted task"
    );
    let starts = e.schedule();
    assert_eq!(starts.len(), 2);
    let tasks: Vec<Option<u32>> = starts
        .iter()
        .map(|s| e.job(s.job_id).unwrap().array_task_id)
        .collect();
    assert_eq!(tasks, vec![Some(0), Some(1)]);
    assert_eq!(
        e.job(starts[0].job_id).unwrap().job_ref().to_string(),
        format!("{array}_0")
    );
    assert_eq!(reason(&e, array), PendingReason::JobArrayTaskLimit);
    assert_eq!(
        e.job(array)
            .unwrap()
            .array_pending
            .as_ref()
            .unwrap()
            .to_string(),
        "2-4%2"
    );
    e.job_ended(starts[0].job_id, JobEnd::Exited(ExitStatus::SUCCESS))
        .unwrap();
    assert_eq!(e.schedule().len(), 1);
}

#[test]
fn afterok_on_an_array_waits_for_every_task() {
    let (mut e, _) = engine(cluster(&[("n1", 2, 1000)], SchedulerPolicy::Backfill));
    let array = e
        .submit(JobSpec {
            array: Some(ArraySpec {
                indices: vec![1, 2, 3],
                max_running: None,
            }),
            ..job(1, 10)
        })
        .unwrap();
    let after = e
        .submit(JobSpec {
            dependency: DependencySpec {
                conditions: vec![Dependency::AfterOk(array)],
                any: false,
            },
            ..job(1, 10)
        })
        .unwrap();
    let mut ids = started(&e.schedule());
    while let Some(id) = ids.pop() {
        assert_ne!(id, after);
        e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS))
            .unwrap();
        ids.extend(started(&e.schedule()).into_iter().filter(|&s| s != after));
        if e.job(after).unwrap().state == JobState::Running {
            break;
        }
    }
    assert_eq!(e.job(after).unwrap().state, JobState::Running);
}

#[test]
fn holds_and_begin_times_keep_jobs_pending() {
    let (mut e, clock) = engine(cluster(&[("n1", 8, 1000)], SchedulerPolicy::Backfill));
    let held = e
        .submit(JobSpec {
            hold: true,
            ..job(1, 10)
        })
        .unwrap();
    let later = e
        .submit(JobSpec {
            begin: Some(T0 + 100),
            ..job(1, 10)
        })
        .unwrap();
    assert!(e.schedule().is_empty());
    assert_eq!(reason(&e, held), PendingReason::JobHeldUser);
    assert_eq!(reason(&e, later), PendingReason::BeginTime);
    e.release(held).unwrap();
    clock.advance(100);
    assert_eq!(started(&e.schedule()), vec![held, later]);
}

#[test]
fn typed_gpus_are_allocated_and_never_shared() {
    let mut c = ClusterConfig::new("gpu");
    c.nodes
        .push(NodeConfig::simple("g1", 96, 1_000_000).with_gres(Gres::new("gpu", Some("a100"), 8)));
    c.nodes.push(NodeConfig::simple("c1", 96, 1_000_000));
    let mut p = PartitionConfig::new("gpu", vec!["g1".into(), "c1".into()]);
    p.default = true;
    c.partitions.push(p);
    let (mut e, _) = engine(c);
    let gpu_job = |n| JobSpec {
        gpus: GpuRequest {
            per_node: Some(Gres::new("gpu", None, n)),
            ..Default::default()
        },
        ..job(1, 10)
    };
    let a = e.submit(gpu_job(6)).unwrap();
    let b = e.submit(gpu_job(4)).unwrap();
    let cpu_only = e.submit(job(4, 10)).unwrap();
    let starts = e.schedule();
    assert_eq!(started(&starts), vec![a, cpu_only]);
    assert_eq!(starts[0].allocation[0].node, "g1");
    assert_eq!(
        starts[0].allocation[0].gres,
        vec![Gres::new("gpu", Some("a100"), 6)]
    );
    assert_eq!(reason(&e, b), PendingReason::Resources);
    let too_many = e.submit(gpu_job(9));
    assert_eq!(
        too_many,
        Err(EngineError::Shape(ShapeError::NodeConfigUnavailable))
    );
    let typed = JobSpec {
        gres_per_node: vec![Gres::new("gpu", Some("h100"), 1)],
        ..job(1, 1)
    };
    assert!(e.submit(typed).is_err(), "no h100 anywhere");
}

#[test]
fn multi_node_jobs_get_distinct_nodes() {
    let (mut e, _) = engine(cluster(
        &[("n1", 4, 1000), ("n2", 4, 1000), ("n3", 4, 1000)],
        SchedulerPolicy::Backfill,
    ));
    let id = e
        .submit(JobSpec {
            min_nodes: 2,
            ntasks: 8,
            ..job(1, 10)
        })
        .unwrap();
    let starts = e.schedule();
    assert_eq!(started(&starts), vec![id]);
    let nodes: Vec<&str> = starts[0]
        .allocation
        .iter()
        .map(|a| a.node.as_str())
        .collect();
    assert_eq!(nodes, vec!["n1", "n2"]);
    assert!(starts[0].allocation.iter().all(|a| a.cpus == 4));
}

#[test]
fn exclusive_jobs_take_whole_nodes() {
    let (mut e, _) = engine(cluster(
        &[("n1", 4, 1000), ("n2", 4, 1000)],
        SchedulerPolicy::Backfill,
    ));
    let small = e.submit(job(1, 10)).unwrap();
    let excl = e
        .submit(JobSpec {
            exclusive: true,
            ..job(1, 10)
        })
        .unwrap();
    let starts = e.schedule();
    assert_eq!(started(&starts), vec![small, excl]);
    assert_eq!(starts[1].allocation[0].node, "n2");
    assert_eq!(starts[1].allocation[0].cpus, 4);
}

#[test]
fn partition_limits_and_states_give_slurm_reasons() {
    let mut c = cluster(&[("n1", 4, 1000)], SchedulerPolicy::Backfill);
    c.partitions[0].max_time = TimeLimit::minutes(60);
    let mut down = PartitionConfig::new("maint", vec!["n1".into()]);
    down.state = crate::model::PartitionState::Down;
    c.partitions.push(down);
    let (mut e, _) = engine(c);
    let too_long = e.submit(job(1, 120)).unwrap();
    let in_down = e
        .submit(JobSpec {
            partitions: vec!["maint".into()],
            ..job(1, 10)
        })
        .unwrap();
    e.schedule();
    assert_eq!(reason(&e, too_long), PendingReason::PartitionTimeLimit);
    assert_eq!(reason(&e, in_down), PendingReason::PartitionDown);
    assert_eq!(
        e.submit(JobSpec {
            partitions: vec!["nope".into()],
            ..job(1, 1)
        }),
        Err(EngineError::InvalidPartition("nope".into()))
    );
    let defaulted = e
        .submit(JobSpec {
            time_limit: None,
            ..job(1, 1)
        })
        .unwrap();
    assert_eq!(
        e.job(defaulted).unwrap().time_limit,
        TimeLimit::minutes(60),
        "MaxTime when no DefaultTime"
    );
}

#[test]
fn partitions_admit_only_their_allowed_accounts_and_qos() {
    let mut c = cluster(&[("n1", 4, 1000)], SchedulerPolicy::Backfill);
    c.partitions[0].allow_accounts = crate::model::AccessList::Only(vec!["physics".into()]);
    c.qos.push(crate::model::Qos {
        name: "high".into(),
        priority: 10,
        max_wall: None,
    });
    let (mut e, _) = engine(c);
    let err = e
        .submit(JobSpec {
            account: "chem".into(),
            ..job(1, 1)
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Job's account not permitted to use this partition (debug allows physics not chem)"
    );
    assert!(
        e.submit(JobSpec {
            account: "physics".into(),
            ..job(1, 1)
        })
        .is_ok()
    );
    assert_eq!(
        e.submit(JobSpec {
            account: "physics".into(),
            qos: "nope".into(),
            ..job(1, 1)
        }),
        Err(EngineError::InvalidQos("nope".into()))
    );
}

#[test]
fn node_failure_requeues_or_fails_jobs_and_drain_stops_new_work() {
    let (mut e, _) = engine(cluster(
        &[("n1", 4, 1000), ("n2", 4, 1000)],
        SchedulerPolicy::Backfill,
    ));
    let requeueable = e.submit(job(4, 10)).unwrap();
    let no_requeue = e
        .submit(JobSpec {
            requeue: Some(false),
            ..job(4, 10)
        })
        .unwrap();
    e.schedule();
    let outcomes = e.down_node("n1", "Not responding").unwrap();
    assert_eq!(outcomes, vec![(requeueable, NodeFailOutcome::Requeued)]);
    assert_eq!(e.job(requeueable).unwrap().state, JobState::Pending);
    assert_eq!(e.job(requeueable).unwrap().restarts, 1);
    e.down_node("n2", "Not responding").unwrap();
    assert_eq!(e.job(no_requeue).unwrap().state, JobState::NodeFail);
    e.schedule();
    assert_eq!(reason(&e, requeueable), PendingReason::ReqNodeNotAvail);
    e.resume_node("n1").unwrap();
    e.drain_node("n2", "maintenance").unwrap();
    e.resume_node("n2").unwrap();
    e.drain_node("n2", "maintenance").unwrap();
    assert_eq!(started(&e.schedule()), vec![requeueable]);
    assert_eq!(e.node_view("n2").unwrap().state.sinfo_short(), "drain");
}

#[test]
fn cancel_pending_and_running_jobs() {
    let (mut e, _) = engine(cluster(&[("n1", 1, 1000)], SchedulerPolicy::Backfill));
    let run = e.submit(job(1, 10)).unwrap();
    let wait = e.submit(job(1, 10)).unwrap();
    e.schedule();
    assert_eq!(e.cancel(wait, 1001), Ok(CancelEffect::Cancelled));
    assert_eq!(e.job(wait).unwrap().state, JobState::Cancelled);
    assert_eq!(e.cancel(run, 1001), Ok(CancelEffect::SignalRunning));
    e.job_ended(
        run,
        JobEnd::Exited(ExitStatus {
            code: 0,
            signal: 15,
        }),
    )
    .unwrap();
    assert_eq!(e.job(run).unwrap().state, JobState::Cancelled);
    assert_eq!(e.job(run).unwrap().cancelled_by, Some(1001));
    assert_eq!(e.cancel(run, 1001), Ok(CancelEffect::AlreadyFinished));
}

#[test]
fn multifactor_priority_favours_low_usage_users() {
    let mut c = cluster(&[("n1", 1, 1000)], SchedulerPolicy::Backfill);
    c.priority.multifactor = true;
    c.priority.weight_fairshare = 10_000;
    let (mut e, clock) = engine(c);
    let heavy = e
        .submit(JobSpec {
            user: "heavy".into(),
            ..job(1, 600)
        })
        .unwrap();
    e.schedule();
    clock.advance(36_000);
    e.job_ended(heavy, JobEnd::Exited(ExitStatus::SUCCESS))
        .unwrap();
    let blocker = e
        .submit(JobSpec {
            user: "x".into(),
            ..job(1, 10)
        })
        .unwrap();
    e.schedule();
    let from_heavy = e
        .submit(JobSpec {
            user: "heavy".into(),
            ..job(1, 10)
        })
        .unwrap();
    let from_light = e
        .submit(JobSpec {
            user: "light".into(),
            ..job(1, 10)
        })
        .unwrap();
    e.schedule();
    assert!(e.job(from_light).unwrap().priority > e.job(from_heavy).unwrap().priority);
    e.job_ended(blocker, JobEnd::Exited(ExitStatus::SUCCESS))
        .unwrap();
    assert_eq!(started(&e.schedule()), vec![from_light]);
}

#[test]
fn overdue_jobs_are_reported_and_time_out() {
    let (mut e, clock) = engine(cluster(&[("n1", 1, 1000)], SchedulerPolicy::Backfill));
    let id = e.submit(job(1, 1)).unwrap();
    e.schedule();
    clock.advance(59);
    assert!(e.overdue_jobs().is_empty());
    clock.advance(1);
    assert_eq!(e.overdue_jobs(), vec![id]);
    e.job_ended(id, JobEnd::TimedOut).unwrap();
    assert_eq!(e.job(id).unwrap().state, JobState::Timeout);
}

// ----- properties -----

#[derive(Debug, Clone)]
struct Req {
    cpus: u32,
    nodes: u32,
    gpus: u32,
    minutes: u64,
    run_fraction: u32,
}

fn req() -> impl Strategy<Value = Req> {
    (1u32..=8, 1u32..=3, 0u32..=4, 1u64..=120, 1u32..=100).prop_map(
        |(cpus, nodes, gpus, minutes, run_fraction)| Req {
            cpus,
            nodes,
            gpus,
            minutes,
            run_fraction,
        },
    )
}

fn gpu_cluster(policy: SchedulerPolicy) -> ClusterConfig {
    let mut c = ClusterConfig::new("prop");
    for i in 0..4 {
        c.nodes.push(NodeConfig::simple(format!("c{i}"), 8, 16_000));
    }
    for i in 0..2 {
        c.nodes.push(
            NodeConfig::simple(format!("g{i}"), 16, 32_000).with_gres(Gres::new(
                "gpu",
                Some("a100"),
                4,
            )),
        );
    }
    let mut p = PartitionConfig::new("all", c.nodes.iter().map(|n| n.name.clone()).collect());
    p.default = true;
    c.partitions.push(p);
    c.scheduler.policy = policy;
    c.scheduler.bf_resolution_s = 60;
    c
}

fn spec_of(r: &Req) -> JobSpec {
    JobSpec {
        min_nodes: r.nodes,
        ntasks: r.nodes * r.cpus,
        mem: crate::model::MemRequest::PerCpu(500),
        gpus: GpuRequest {
            per_node: (r.gpus > 0).then(|| Gres::new("gpu", None, u64::from(r.gpus))),
            ..Default::default()
        },
        ..job(1, r.minutes)
    }
}

/// Replays a workload to completion, checking capacity after every pass. Returns each job's
/// (id, start time).
fn replay(policy: SchedulerPolicy, reqs: &[Req]) -> Vec<(JobId, Timestamp)> {
    let (mut e, clock) = engine(gpu_cluster(policy));
    let mut runtime = HashMap::new();
    for r in reqs {
        if let Ok(id) = e.submit(spec_of(r)) {
            runtime.insert(
                id,
                (r.minutes * 60 * u64::from(r.run_fraction) / 100).max(1) as i64,
            );
        }
    }
    let mut ends: std::collections::BTreeMap<(Timestamp, JobId), ()> = Default::default();
    let mut starts = Vec::new();
    for _ in 0..10_000 {
        for s in e.schedule() {
            starts.push((s.job_id, clock.now()));
            ends.insert((clock.now() + runtime[&s.job_id], s.job_id), ());
        }
        assert_capacity_respected(&e);
        let Some(((t, id), ())) = ends.pop_first() else {
            break;
        };
        clock.set(t);
        e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS))
            .unwrap();
    }
    assert_eq!(e.pending_count(), 0, "every feasible job eventually runs");
    starts
}

fn assert_capacity_respected(e: &Engine<ManualClock>) {
    for n in e.nodes() {
        assert!(
            n.alloc_cpus <= n.config.cpus,
            "{} over-allocated CPUs",
            n.config.name
        );
        assert!(
            n.alloc_mem_mb <= n.config.real_memory_mb,
            "{} over-allocated memory",
            n.config.name
        );
        let gpus: u64 = n.alloc_gres.iter().map(|g| g.count).sum();
        let have: u64 = n.config.gres.iter().map(|g| g.count).sum();
        assert!(gpus <= have, "{} over-allocated GPUs", n.config.name);
    }
}

/// FCFS, EASY or Slurm-style backfill, for property tests run under every policy.
pub(super) fn any_policy() -> impl Strategy<Value = SchedulerPolicy> {
    prop_oneof![
        Just(SchedulerPolicy::Fcfs),
        Just(SchedulerPolicy::Easy),
        Just(SchedulerPolicy::Backfill)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn never_over_allocates_and_everything_runs(
        reqs in proptest::collection::vec(req(), 1..40),
        policy in any_policy(),
    ) {
        replay(policy, &reqs);
    }

    #[test]
    fn decisions_are_deterministic(reqs in proptest::collection::vec(req(), 1..30)) {
        prop_assert_eq!(replay(SchedulerPolicy::Backfill, &reqs), replay(SchedulerPolicy::Backfill, &reqs));
    }

    /// With every job running exactly its time limit and no new arrivals, the first blocked
    /// job starts no later than the start backfill planned for it: backfilled jobs never
    /// delay it.
    #[test]
    fn backfill_never_delays_the_top_reservation(reqs in proptest::collection::vec(req(), 2..30)) {
        let (mut e, clock) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        let ids: Vec<JobId> = reqs.iter().filter_map(|r| e.submit(spec_of(r)).ok()).collect();
        let mut ends: std::collections::BTreeSet<(Timestamp, JobId)> = Default::default();
        let mut started_at: HashMap<JobId, Timestamp> = HashMap::new();
        let mut promised: Option<(JobId, Timestamp)> = None;
        for _ in 0..10_000 {
            for s in e.schedule() {
                started_at.insert(s.job_id, clock.now());
                let limit = e.job(s.job_id).unwrap().time_limit.as_secs().unwrap() as i64;
                ends.insert((clock.now() + limit, s.job_id));
            }
            if promised.is_none() {
                promised = ids.iter()
                    .filter_map(|id| e.job(*id))
                    .filter(|j| j.state == JobState::Pending && j.reason == PendingReason::Resources)
                    .find_map(|j| j.planned_start.map(|t| (j.id, t)));
            }
            let Some((t, id)) = ends.pop_first() else { break };
            clock.set(t);
            e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS)).unwrap();
        }
        if let Some((id, planned)) = promised {
            let actual = started_at[&id];
            prop_assert!(actual <= planned, "job {} planned at {} started at {}", id, planned, actual);
        }
    }
}

#[test]
fn cloud_nodes_are_resumed_for_a_job_that_starts_once_all_are_up() {
    let mut c = cluster(
        &[("c1", 4, 1000), ("c2", 4, 1000)],
        SchedulerPolicy::Backfill,
    );
    for n in &mut c.nodes {
        n.cloud = true;
    }
    let (mut e, clock) = engine(c);
    assert_eq!(e.node_view("c1").unwrap().state.sinfo_short(), "idle~");
    let id = e
        .submit(JobSpec {
            min_nodes: 2,
            ..job(8, 10)
        })
        .unwrap();
    let starts = e.schedule();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].resume_nodes, vec!["c1", "c2"]);
    let j = e.job(id).unwrap();
    assert!(j.configuring);
    assert_eq!(j.state_short(), "CF");
    assert_eq!(e.node_view("c1").unwrap().state.sinfo_short(), "alloc#");

    // Booting takes two minutes; the first node up is not enough.
    clock.advance(120);
    e.node_registered("c1").unwrap();
    assert!(e.start_configured_jobs("c1").is_empty());
    e.node_registered("c2").unwrap();
    assert_eq!(e.start_configured_jobs("c2"), vec![id]);
    let j = e.job(id).unwrap();
    assert!(!j.configuring);
    assert_eq!(
        j.start_time,
        Some(T0 + 120),
        "the clock starts when the nodes are up"
    );
    // The time limit counts from then: not overdue at T0 + 10 min.
    clock.advance(10 * 60 - 1);
    assert!(e.overdue_jobs().is_empty());

    // Idle again: a suspend candidate, then powered down.
    e.job_ended(id, JobEnd::Exited(ExitStatus::SUCCESS))
        .unwrap();
    assert_eq!(e.idle_cloud_nodes(), vec!["c1", "c2"]);
    e.node_suspending("c1").unwrap();
    assert_eq!(e.node_view("c1").unwrap().state.sinfo_short(), "idle%");
    assert_eq!(e.idle_cloud_nodes(), vec!["c2"]);
    e.node_powered_down("c1").unwrap();
    assert_eq!(e.node_view("c1").unwrap().state.sinfo_short(), "idle~");
}

mod association_limits {
    use super::*;
    use crate::model::TresList;
    use crate::parse::tres::parse_tres;

    fn tres(s: &str) -> TresList {
        parse_tres(s).unwrap()
    }

    /// physics → gpu-team; alice in gpu-team (default), bob in physics.
    fn associations(
        team: AssocLimitSet,
        alice: AssocLimitSet,
        physics: AssocLimitSet,
    ) -> Associations {
        let account = |parent: &str, limits| AccountAssoc {
            parent: parent.into(),
            shares: 1,
            limits,
        };
        let user = |user: &str, account: &str, limits| UserAssoc {
            user: user.into(),
            account: account.into(),
            shares: 1,
            limits,
            ..Default::default()
        };
        Associations::new(
            vec![
                ("physics".into(), account("", physics)),
                ("gpu-team".into(), account("physics", team)),
            ],
            vec![
                user("alice", "gpu-team", alice),
                user("bob", "physics", AssocLimitSet::default()),
            ],
            [("alice".to_owned(), "gpu-team".to_owned())].into(),
            true,
        )
    }

    fn gpu_job(user: &str, gpus: u64, minutes: u64) -> JobSpec {
        JobSpec {
            user: user.into(),
            gpus: GpuRequest {
                per_node: Some(Gres::new("gpu", None, gpus)),
                ..Default::default()
            },
            ..job(1, minutes)
        }
    }

    #[test]
    fn jobs_need_an_association_and_get_the_default_account() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        e.set_associations(Some(associations(
            AssocLimitSet::default(),
            AssocLimitSet::default(),
            AssocLimitSet::default(),
        )));
        let err = e.submit(gpu_job("carol", 1, 10)).unwrap_err();
        assert_eq!(
            err.slurm_error(),
            "Invalid account or account/partition combination specified"
        );
        let mut wrong = gpu_job("bob", 1, 10);
        wrong.account = "gpu-team".into();
        assert!(e.submit(wrong).is_err(), "bob has no gpu-team association");
        let id = e.submit(gpu_job("alice", 1, 10)).unwrap();
        assert_eq!(e.job(id).unwrap().spec.account, "gpu-team");
    }

    #[test]
    fn group_gpu_limit_up_the_tree_keeps_jobs_pending() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        // The limit is on the parent account: it covers gpu-team's users too.
        let physics = AssocLimitSet {
            grp_tres: tres("gres/gpu=4"),
            ..Default::default()
        };
        e.set_associations(Some(associations(
            AssocLimitSet::default(),
            AssocLimitSet::default(),
            physics,
        )));
        let a = e.submit(gpu_job("alice", 2, 10)).unwrap();
        let b = e.submit(gpu_job("bob", 2, 10)).unwrap();
        let c = e.submit(gpu_job("alice", 1, 10)).unwrap();
        let started = started(&e.schedule());
        assert_eq!(started, vec![a, b]);
        assert_eq!(reason(&e, c), PendingReason::AssocGrpGRES);
        e.job_ended(a, JobEnd::Exited(ExitStatus::SUCCESS)).unwrap();
        assert_eq!(super::started(&e.schedule()), vec![c]);
    }

    #[test]
    fn max_jobs_and_max_submit_jobs_per_user() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        // MaxJobs set on the account is inherited by its users.
        let team = AssocLimitSet {
            max_jobs: Some(2),
            ..Default::default()
        };
        let alice = AssocLimitSet {
            max_submit_jobs: Some(3),
            ..Default::default()
        };
        e.set_associations(Some(associations(team, alice, AssocLimitSet::default())));
        let ids: Vec<JobId> = (0..3)
            .map(|_| e.submit(gpu_job("alice", 1, 10)).unwrap())
            .collect();
        let err = e.submit(gpu_job("alice", 1, 10)).unwrap_err();
        assert_eq!(
            err.slurm_error(),
            "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"
        );
        assert_eq!(started(&e.schedule()), ids[..2].to_vec());
        assert_eq!(reason(&e, ids[2]), PendingReason::AssocMaxJobsLimit);
    }

    #[test]
    fn grp_submit_jobs_counts_the_subtree_as_jobs_come_and_go() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        let none = AssocLimitSet::default;
        let physics = AssocLimitSet {
            grp_submit_jobs: Some(5),
            ..Default::default()
        };
        e.set_associations(Some(associations(none(), none(), physics)));
        let bob = || gpu_job("bob", 0, 10);
        // A pending array counts each task: alice's 3 (in gpu-team, under physics) and
        // bob's 2 reach physics' limit of 5.
        let array = e
            .submit(JobSpec {
                array: Some(crate::model::ArraySpec {
                    indices: vec![0, 1, 2],
                    max_running: None,
                }),
                ..gpu_job("alice", 0, 10)
            })
            .unwrap();
        let b1 = e.submit(bob()).unwrap();
        e.submit(bob()).unwrap();
        assert!(e.active_counts_match_a_recount());
        let refused = e.submit(bob()).unwrap_err();
        assert!(matches!(refused, EngineError::SubmitLimit { .. }));
        // Addressing a task splits it off; starting jobs splits the rest: still 5.
        e.split_pending_array_task(array, 2).unwrap();
        let started = started(&e.schedule());
        assert_eq!(started.len(), 5);
        assert!(e.active_counts_match_a_recount());
        assert!(e.submit(bob()).is_err());
        // A requeued job stays active; an ended one makes room for one more.
        e.request_requeue(b1).unwrap();
        e.job_ended(b1, JobEnd::Exited(ExitStatus::SUCCESS))
            .unwrap();
        assert!(e.submit(bob()).is_err());
        e.job_ended(started[0], JobEnd::Exited(ExitStatus::SUCCESS))
            .unwrap();
        let b3 = e.submit(bob()).unwrap();
        assert!(e.submit(bob()).is_err());
        // So does a cancelled pending job.
        e.cancel(b3, 0).unwrap();
        e.submit(bob()).unwrap();
        assert!(e.active_counts_match_a_recount());
    }

    #[test]
    fn restored_jobs_count_toward_submit_limits_unless_finished() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        let alice = AssocLimitSet {
            max_submit_jobs: Some(2),
            ..Default::default()
        };
        e.set_associations(Some(associations(
            AssocLimitSet::default(),
            alice,
            AssocLimitSet::default(),
        )));
        let spec = || JobSpec {
            account: "gpu-team".into(),
            ..gpu_job("alice", 0, 10)
        };
        let job = |id, state, spec| crate::model::Job {
            partition: "all".into(),
            ..crate::model::Job::new(id, state, spec)
        };
        e.restore_job(job(1, JobState::Pending, spec()), None)
            .unwrap();
        // A finished job counts for nothing, not even as a zero.
        let bob = JobSpec {
            account: "physics".into(),
            ..gpu_job("bob", 0, 10)
        };
        e.restore_job(job(2, JobState::Completed, bob), None)
            .unwrap();
        assert!(e.active_counts_match_a_recount());
        e.submit(spec()).unwrap();
        assert!(e.submit(spec()).is_err());
    }

    #[test]
    fn per_job_and_run_minute_limits() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        let team = AssocLimitSet {
            max_wall: Some(TimeLimit::minutes(60)),
            max_tres_per_job: tres("cpu=4"),
            grp_tres_run_mins: tres("cpu=100"),
            ..Default::default()
        };
        e.set_associations(Some(associations(
            team,
            AssocLimitSet::default(),
            AssocLimitSet::default(),
        )));
        let long = e.submit(gpu_job("alice", 0, 120)).unwrap();
        let wide = e.submit(JobSpec {
            ntasks: 8,
            ..gpu_job("alice", 0, 10)
        });
        let wide = wide.unwrap();
        // 2 CPUs x 40 min = 80 CPU-minutes fits; a second such job would make 160.
        let first = e
            .submit(JobSpec {
                ntasks: 2,
                ..gpu_job("alice", 0, 40)
            })
            .unwrap();
        let second = e
            .submit(JobSpec {
                ntasks: 2,
                ..gpu_job("alice", 0, 40)
            })
            .unwrap();
        assert_eq!(started(&e.schedule()), vec![first]);
        assert_eq!(
            reason(&e, long),
            PendingReason::AssocMaxWallDurationPerJobLimit
        );
        assert_eq!(reason(&e, wide), PendingReason::AssocMaxCpuPerJobLimit);
        assert_eq!(
            reason(&e, second),
            PendingReason::AssocGrpCPURunMinutesLimit
        );
    }

    #[test]
    fn qos_must_be_allowed_and_its_per_user_limits_hold() {
        let (mut e, _) = engine(gpu_cluster(SchedulerPolicy::Backfill));
        let mut assocs = associations(
            AssocLimitSet::default(),
            AssocLimitSet::default(),
            AssocLimitSet::default(),
        );
        let qos: HashMap<String, QosLimitSet> = [
            ("normal".to_owned(), QosLimitSet::default()),
            (
                "gpu".to_owned(),
                QosLimitSet {
                    max_tres_per_user: tres("gres/gpu=2"),
                    ..Default::default()
                },
            ),
            ("high".to_owned(), QosLimitSet::default()),
        ]
        .into();
        assocs = assocs.with_qos(qos);
        e.set_associations(Some(assocs));
        e.set_qos(
            ["normal", "gpu", "high"]
                .iter()
                .map(|n| crate::model::Qos {
                    name: (*n).into(),
                    ..crate::model::Qos::normal()
                })
                .collect(),
        );
        let with_qos = |q: &str, gpus| JobSpec {
            qos: q.into(),
            ..gpu_job("alice", gpus, 10)
        };
        let a = e.submit(with_qos("gpu", 2)).unwrap();
        let b = e.submit(with_qos("gpu", 1)).unwrap();
        let c = e.submit(with_qos("", 1)).unwrap();
        assert_eq!(e.job(c).unwrap().spec.qos, "normal");
        assert_eq!(started(&e.schedule()), vec![a, c]);
        assert_eq!(reason(&e, b), PendingReason::QOSMaxGRESPerUser);
        assert!(e.submit(with_qos("nosuch", 1)).is_err());
    }
}
