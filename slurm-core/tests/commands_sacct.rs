//! sacct against Slurm's own output (the samples in `shared/golden`, embedded in
//! `common::golden`): the same jobs, rendered from the records the dbd returns, byte for byte.

mod common;

use common::Users;
use common::golden::sample;
use slurm_core::commands::sacct::{self, Context, SacctArgs, Style};
use slurm_core::model::{JobRef, JobState, TimeLimit};
use slurm_core::proto::{AcctJob, AcctJobList, AcctJobRecord, AcctStep, JobUsage};

const NOW: i64 = 1_795_000_000;

fn job(id: u32, name: &str, account: &str, cpus: u32, state: JobState) -> AcctJob {
    let (user, uid) = match id {
        4 | 5 => ("alice", 1001),
        6 | 7 => ("bob", 1002),
        _ => ("root", 0),
    };
    AcctJob {
        job_id: id,
        array_job_id: None,
        array_task_id: None,
        array_pending: None,
        name: name.into(),
        user: user.into(),
        uid,
        gid: uid,
        account: account.into(),
        partition: if id == 13 { "maint" } else { "debug" }.into(),
        qos: "normal".into(),
        state,
        reason: "None".into(),
        cancelled_by: None,
        exit_code: 0,
        exit_signal: 0,
        submit: NOW - 100,
        eligible: Some(NOW - 100),
        start: None,
        end: None,
        time_limit: TimeLimit::Infinite,
        nodelist: String::new(),
        batch_host: String::new(),
        alloc_nodes: 0,
        alloc_cpus: 0,
        batch_cpus: 0,
        batch_tres: String::new(),
        req_cpus: cpus,
        req_nodes: 1,
        alloc_tres: String::new(),
        req_tres: format!("billing={cpus},cpu={cpus},node=1"),
        work_dir: "/root".into(),
        priority: 1,
        restarts: 0,
    }
}

fn step(j: &AcctJob, id: &str, name: &str, usage: Option<u64>) -> AcctStep {
    AcctStep {
        step: id.into(),
        name: name.into(),
        state: j.state,
        exit_code: j.exit_code,
        exit_signal: j.exit_signal,
        start: j.start,
        end: j.end,
        nodelist: "bench".into(),
        alloc_cpus: j.alloc_cpus,
        alloc_tres: format!("cpu={},node=1", j.alloc_cpus),
        usage: usage.map(|kb| JobUsage {
            elapsed_s: 0,
            cpu_time_ms: 3,
            max_rss_kb: kb,
        }),
    }
}

/// A job started `ran` seconds ago, still running or ended right away with `exit`.
fn record(
    mut j: AcctJob,
    ran: Option<i64>,
    exit: i32,
    step_name: Option<(&str, &str, u64)>,
) -> AcctJobRecord {
    let mut steps = Vec::new();
    if let Some(ran) = ran {
        j.start = Some(NOW - ran);
        j.alloc_cpus = j.req_cpus;
        j.alloc_nodes = 1;
        j.nodelist = "bench".into();
        j.alloc_tres = j.req_tres.clone();
        if j.state.is_finished() {
            j.end = j.start;
            j.exit_code = exit;
        }
        let (id, name, kb) = step_name.unwrap_or(("batch", "batch", 0));
        let usage = j.state.is_finished().then_some(kb);
        steps.push(step(&j, id, name, usage));
    }
    AcctJobRecord {
        cluster: "bench".into(),
        job: j,
        steps,
    }
}

/// The jobs of the golden samples.
fn list() -> AcctJobList {
    use JobState::*;
    let jobs = vec![
        record(job(1, "wrap", "root", 1, Running), Some(35), 0, None),
        record(job(2, "wrap", "root", 1, Running), Some(35), 0, None),
        record(job(3, "myjob", "root", 2, Running), Some(35), 0, None),
        record(job(4, "wrap", "physics", 1, Running), Some(9), 0, None),
        record(job(5, "wrap", "physics", 1, Pending), None, 0, None),
        record(job(6, "wrap", "physics", 1, Running), Some(9), 0, None),
        record(job(7, "wrap", "physics", 1, Pending), None, 0, None),
        record(job(8, "bigjob", "root", 64, Pending), None, 0, None),
        record(job(9, "bigjob2", "root", 64, Pending), None, 0, None),
        record(job(10, "held", "root", 1, Pending), None, 0, None),
        record(job(13, "downpart", "root", 1, Pending), None, 0, None),
        record(
            job(14, "ok", "root", 1, Completed),
            Some(50),
            0,
            Some(("batch", "batch", 1072)),
        ),
        record(
            job(15, "fails", "root", 1, Failed),
            Some(50),
            3,
            Some(("batch", "batch", 1072)),
        ),
        record(
            job(17, "hostname", "root", 1, Completed),
            Some(50),
            0,
            Some(("0", "hostname", 808)),
        ),
    ];
    AcctJobList { now: NOW, jobs }
}

const CTX: Context = Context {
    now: NOW,
    tz_offset_secs: 0,
};

fn args(argv: &[&str], uid: u32) -> SacctArgs {
    let step = sacct::parse_args(&common::args(argv), CTX, &Users(uid), "bench");
    common::accepted("sacct", argv, step)
}

/// What the dbd would return for a query (the parts these samples exercise).
fn select(list: &AcctJobList, a: &SacctArgs) -> AcctJobList {
    let jobs = list
        .jobs
        .iter()
        .filter(|r| a.query.uids.as_ref().is_none_or(|u| u.contains(&r.job.uid)))
        .cloned()
        .collect();
    AcctJobList {
        now: list.now,
        jobs,
    }
}

fn check(argv: &[&str], uid: u32, name: &str) {
    let a = args(argv, uid);
    let out = sacct::render(&select(&list(), &a), &a, 0);
    assert_eq!(out.stdout, sample(name).0, "{name}");
    assert_eq!((out.stderr.as_str(), out.code), ("", 0), "{name}");
}

#[test]
fn default_columns() {
    check(&[], 0, "sacct");
}

#[test]
fn all_users_allocations_only() {
    check(&["-a", "-X"], 0, "sacct_all");
}

#[test]
fn parsable2_with_elapsed_and_maxrss() {
    check(
        &[
            "--parsable2",
            "-o",
            "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode,Elapsed,MaxRSS",
        ],
        0,
        "sacct_parsable2",
    );
}

#[test]
fn a_user_sees_their_own_jobs() {
    let a = args(
        &["-X", "-o", "JobID,JobName,User,Account,State,Reason%20"],
        1001,
    );
    assert_eq!(a.query.uids, Some(vec![1001]));
    check(
        &["-X", "-o", "JobID,JobName,User,Account,State,Reason%20"],
        1001,
        "sacct_alice",
    );
}

#[test]
fn selection_goes_to_the_query() {
    let a = args(
        &[
            "-j",
            "12,13_4",
            "-u",
            "alice,bob",
            "-A",
            "physics",
            "-s",
            "CD,ca",
        ],
        1001,
    );
    assert_eq!(
        a.query.jobs,
        [
            JobRef {
                job_id: 12,
                array_task: None
            },
            JobRef {
                job_id: 13,
                array_task: Some(4)
            }
        ]
    );
    assert_eq!(a.query.uids, Some(vec![1001, 1002]));
    assert_eq!(a.query.accounts, Some(vec!["physics".to_owned()]));
    assert_eq!(
        a.query.states,
        Some(vec![JobState::Completed, JobState::Cancelled])
    );
    // With -s and no -S the window is "now".
    assert_eq!((a.query.start, a.query.end), (Some(NOW), Some(NOW)));
    assert_eq!(a.query.clusters, ["bench"]);
    // Plain sacct: since midnight, until now; -j alone: any time, any user.
    let a = args(&[], 1001);
    assert_eq!(a.query.start, Some(NOW - NOW % 86_400));
    assert_eq!(a.query.end, Some(NOW));
    let a = args(&["-j", "5"], 1001);
    assert_eq!(
        (a.query.start, a.query.end, a.query.uids),
        (None, None, None)
    );
    let a = args(&["-S", "2026-11-01T00:00:00", "-E", "now", "-L"], 0);
    assert_eq!(a.query.start, Some(1_793_491_200));
    assert!(a.query.clusters.is_empty());
    assert_eq!(a.style, Style::Fixed);
}

#[test]
fn formats_states_and_cuts() {
    let mut l = list();
    let j = &mut l.jobs[4].job;
    j.state = JobState::Cancelled;
    j.cancelled_by = Some(1001);
    j.name = "a-very-long-job-name".into();
    j.array_job_id = Some(5);
    j.array_pending = Some("1-3".into());
    let a = args(
        &[
            "-X",
            "-n",
            "-j",
            "5",
            "-o",
            "jobid,jobname,state%20,elapsedraw,timelimit,nodelist",
        ],
        0,
    );
    let out = sacct::render(&l, &a, 0);
    let line = out.stdout.lines().find(|l| l.starts_with("5_")).unwrap();
    assert_eq!(
        line,
        "5_[1-3]      a-very-lo+    CANCELLED by 1001          0  UNLIMITED   None assigned "
    );
    let a = args(
        &[
            "-P",
            "-o",
            "JobID,TotalCPU,MaxRSS,ReqTRES,AllocTRES,Start,End",
            "-j",
            "14",
        ],
        0,
    );
    let out = sacct::render(&l, &a, 0);
    assert!(
        out.stdout.contains("14.batch|00:00.003|1072K|"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("|2026-11-18T11:05:50|2026-11-18T11:05:50\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_fields_and_options() {
    let run = |argv: &[&str]| {
        let step = sacct::parse_args(&common::args(argv), CTX, &Users(0), "bench");
        common::refused("sacct", argv, step)
    };
    let out = run(&["-o", "JobID,Bogus"]);
    assert_eq!(
        out.stderr,
        "sacct: error: Invalid field requested: \"Bogus\"\n"
    );
    assert_eq!(out.code, 1);
    let out = run(&["-s", "nope"]);
    assert_eq!(
        out.stderr,
        "sacct: error: Invalid job state specified: nope\n"
    );
    let out = run(&["--frobnicate"]);
    assert!(
        out.stderr
            .starts_with("sacct: unrecognized option '--frobnicate'"),
        "{}",
        out.stderr
    );
    let out = run(&["-e"]);
    assert!(
        out.stdout.starts_with("Account             AllocCPUS"),
        "{}",
        out.stdout
    );
}

#[test]
fn sizes_and_times() {
    assert_eq!(sacct::size_kb(1072, None), "1072K");
    assert_eq!(sacct::size_kb(808, None), "808K");
    assert_eq!(sacct::size_kb(1536, None), "1.50M");
    assert_eq!(sacct::size_kb(2 * 1024 * 1024, None), "2G");
    assert_eq!(sacct::size_kb(1072, Some('M')), "1.05M");
    assert_eq!(sacct::size_kb(0, None), "0");
    assert_eq!(sacct::cpu_time(3), "00:00.003");
    assert_eq!(sacct::cpu_time(61_500), "01:01.500");
    assert_eq!(sacct::cpu_time(3_600_000), "01:00:00");
    assert_eq!(sacct::cpu_time(90_000_000), "1-01:00:00");
    assert_eq!(
        sacct::local_midnight(NOW, 3600),
        NOW - (NOW + 3600) % 86_400
    );
}
