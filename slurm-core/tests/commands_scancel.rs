//! `scancel` without a controller: options, resolving filters over a job list, and how the
//! controller's answers are reported.

mod common;

use common::{Users, outcomes, r};
use slurm_core::commands::rpc::RpcError;
use slurm_core::commands::scancel::{self, CancelFilter, ScancelArgs};
use slurm_core::commands::{Output, Step};
use slurm_core::model::{Job, JobState};
use slurm_core::proto::JobList;

/// The caller is alice.
const USERS: Users = Users(1001);

fn parse_env(argv: &[&str], env: &[(&str, &str)]) -> Step<ScancelArgs> {
    scancel::parse_args(&common::args(argv), &common::env_map(env), &USERS)
}

fn parse(argv: &[&str]) -> ScancelArgs {
    common::accepted("scancel", argv, parse_env(argv, &[]))
}

fn refused(argv: &[&str]) -> Output {
    common::refused("scancel", argv, parse_env(argv, &[]))
}

fn job(id: u32, user: &str, state: JobState) -> Job {
    common::job(id, state, common::spec("work", user))
}

/// 1: alice running on n1; 2: alice done; 3: bob pending in gpu; array 20 (alice): task 1
/// running as job 21, tasks 2-3 pending in the record.
fn list() -> JobList {
    let running = common::allocated(job(1, "alice", JobState::Running), "n1", 1, 1);
    let mut gpu = job(3, "bob", JobState::Pending);
    gpu.partition = "gpu".into();
    let record = common::array_record(job(20, "alice", JobState::Pending), &[2, 3]);
    let task = common::array_task(job(21, "alice", JobState::Running), 20, 1);
    JobList {
        now: 0,
        jobs: vec![
            running,
            job(2, "alice", JobState::Completed),
            gpu,
            record,
            task,
        ],
        allocations: vec![],
    }
}

#[test]
fn job_ids() {
    let a = parse(&["5", "6_2", "7_[1-2]", "8,9"]);
    assert_eq!(
        a.targets,
        vec![
            r(5, None),
            r(6, Some(2)),
            r(7, Some(1)),
            r(7, Some(2)),
            r(8, None),
            r(9, None)
        ]
    );
    assert!(!a.filter.is_set());
    assert_eq!(a.signal, None);
    // Options may follow the ids.
    let a = parse(&["5", "-s", "USR1", "--batch"]);
    assert_eq!(a.signal, Some(10));
    assert!(a.batch);
    assert_eq!(parse(&["--signal=9", "5"]).signal, Some(9));
}

#[test]
fn argument_errors() {
    let out = refused(&[]);
    assert_eq!(
        out.stderr,
        "scancel: error: No job identification provided\n"
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        refused(&["abc"]).stderr,
        "scancel: error: Invalid job id abc\n"
    );
    assert_eq!(parse(&["5.0", "6"]).steps, [(5, 0)]);
    assert_eq!(
        refused(&["5.x"]).stderr,
        "scancel: error: Invalid job id 5.x\n"
    );
    assert_eq!(
        refused(&["-s", "FOO", "5"]).stderr,
        "scancel: error: Unknown job signal: FOO\n"
    );
    assert_eq!(
        refused(&["-u", "nobody"]).stderr,
        "scancel: error: Invalid user name: nobody\n"
    );
    assert_eq!(
        refused(&["-t", "COMPLETED"]).stderr,
        "scancel: error: Invalid job state specified: COMPLETED\n\
         scancel: error: Valid job states are PENDING, RUNNING, and SUSPENDED\n"
    );
    assert_eq!(
        refused(&["--bogus", "5"]).stderr,
        "scancel: unrecognized option '--bogus'\nTry \"scancel --help\" for more information\n"
    );
    assert_eq!(
        refused(&["-i", "5"]).stderr,
        "scancel: error: option --interactive is not supported\n"
    );
    let out = refused(&["-V"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "slurm 22.05.8\n"));
}

#[test]
fn filters() {
    let a = parse(&[
        "-u", "bob", "-t", "pd", "-p", "gpu", "-n", "x", "-A", "acct", "-q", "q",
    ]);
    assert_eq!(
        a.filter,
        CancelFilter {
            account: Some("acct".into()),
            name: Some("x".into()),
            partition: Some("gpu".into()),
            qos: Some("q".into()),
            state: Some(JobState::Pending),
            user: Some(1002),
            nodes: None,
        }
    );
    assert_eq!(parse(&["--me"]).filter.user, Some(1001));
    assert_eq!(
        parse(&["-w", "n[1-2]"]).filter.nodes,
        Some(vec!["n1".to_owned(), "n2".to_owned()])
    );
    let env = [("SCANCEL_PARTITION", "gpu"), ("SCANCEL_VERBOSE", "1")];
    match parse_env(&[], &env) {
        Step::Run(a) => {
            assert_eq!(a.filter.partition.as_deref(), Some("gpu"));
            assert_eq!(a.verbose, 1);
        }
        Step::Exit(out) => panic!("{out:?}"),
    }
}

#[test]
fn filters_resolve_to_active_jobs() {
    let (targets, out) = scancel::filtered_targets(&parse(&["-u", "alice"]), &list());
    // Job 2 has ended; the array's record is addressed task by task; pending jobs first.
    assert_eq!(
        targets,
        vec![r(20, Some(2)), r(20, Some(3)), r(1, None), r(20, Some(1))]
    );
    assert_eq!(out, Output::default());
    let (targets, _) =
        scancel::filtered_targets(&parse(&["-u", "alice", "-t", "PENDING"]), &list());
    assert_eq!(targets, vec![r(20, Some(2)), r(20, Some(3))]);
    let (targets, _) = scancel::filtered_targets(&parse(&["-p", "gpu"]), &list());
    assert_eq!(targets, vec![r(3, None)]);
    let (targets, _) = scancel::filtered_targets(&parse(&["-w", "n1"]), &list());
    assert_eq!(targets, vec![r(1, None)]);
    let (targets, _) = scancel::filtered_targets(&parse(&["-n", "none"]), &list());
    assert!(targets.is_empty());
}

#[test]
fn ids_with_filters_must_name_active_jobs() {
    let (targets, out) =
        scancel::filtered_targets(&parse(&["-u", "alice", "1", "3", "20_3", "2"]), &list());
    // 3 is bob's: filtered out silently; 2 has ended: an error.
    assert_eq!(targets, vec![r(20, Some(3)), r(1, None)]);
    assert_eq!(
        out.stderr,
        "scancel: error: Kill job error on job id 2: Invalid job id specified\n"
    );
    assert_eq!(out.code, 1);
    let (_, quiet) = scancel::filtered_targets(&parse(&["-Q", "-u", "alice", "2"]), &list());
    assert_eq!((quiet.stderr.as_str(), quiet.code), ("", 1));
}

#[test]
fn reports() {
    let a = parse(&["5", "6_1"]);
    let ok = outcomes(&[(r(5, None), None), (r(6, Some(1)), None)]);
    assert_eq!(scancel::report(&a, &a.targets, &ok), Output::default());

    let a = parse(&["-v", "5", "6_1"]);
    let out = scancel::report(&a, &a.targets, &ok);
    assert_eq!(
        out.stderr,
        "scancel: Terminating job 5\nscancel: Terminating job 6_1\n"
    );

    let a = parse(&["-v", "-s", "USR1", "5"]);
    let out = scancel::report(&a, &a.targets, &outcomes(&[(r(5, None), None)]));
    assert_eq!(out.stderr, "scancel: Signal 10 to job 5\n");

    // Signalling a finished job is an error; cancelling it is not.
    let done = outcomes(&[(r(5, None), Some("Job/step already completing or completed"))]);
    let a = parse(&["5"]);
    assert_eq!(scancel::report(&a, &a.targets, &done), Output::default());
    let a = parse(&["-s", "TERM", "5"]);
    let out = scancel::report(&a, &a.targets, &done);
    assert_eq!(out.code, 229, "2021 (already done) truncated to 8 bits");
    assert_eq!(out.stderr, "");

    // Other errors are always shown, unless -Q.
    let denied = outcomes(&[(r(5, None), Some("Access/permission denied"))]);
    let a = parse(&["-Q", "5"]);
    let out = scancel::report(&a, &a.targets, &denied);
    assert_eq!((out.stderr.as_str(), out.code), ("", 210));
}

#[test]
fn controller_failures() {
    let a = parse(&["5", "6"]);
    let out = scancel::report(&a, &a.targets, &Err(RpcError::Unreachable));
    assert_eq!(
        out.stderr,
        "scancel: error: Kill job error on job id 5: \
         Unable to contact slurm controller (connect failure)\n\
         scancel: error: Kill job error on job id 6: \
         Unable to contact slurm controller (connect failure)\n"
    );
    assert_eq!(out.code, 1);
    let req = scancel::request(&parse(&["-b", "-s", "HUP", "5"]), vec![r(5, None)]);
    assert_eq!(req.signal, Some(1));
    assert!(req.batch_only);
    assert_eq!(req.targets, vec![r(5, None)]);
}
