//! `squeue` without a controller: options, client-side filters, array tasks and errors.

mod common;

use common::Users;
use slurm_core::commands::squeue::{self, JobFilter, SqueueArgs, StateFilter};
use slurm_core::commands::{Output, Step};
use slurm_core::format::FormatEnv;
use slurm_core::format::squeue::Style;
use slurm_core::model::{Job, JobRef, JobState};
use slurm_core::proto::JobList;

/// The caller is bob.
const USERS: Users = Users(1002);

fn parse_env(argv: &[&str], env: &[(&str, &str)]) -> Step<SqueueArgs> {
    squeue::parse_args(&common::args(argv), &common::env_map(env), &USERS)
}

fn parse(argv: &[&str]) -> SqueueArgs {
    common::accepted("squeue", argv, parse_env(argv, &[]))
}

fn refused(argv: &[&str]) -> Output {
    common::refused("squeue", argv, parse_env(argv, &[]))
}

const NOW: i64 = 1_800_000_000;

fn job(id: u32, user: &str, state: JobState) -> Job {
    Job {
        priority: 100,
        submit_time: NOW - 100,
        eligible_time: Some(NOW - 100),
        ..common::job(id, state, common::spec(&format!("job{id}"), user))
    }
}

fn on(j: Job, node: &str) -> Job {
    let mut j = common::allocated(j, node, 1, 100);
    j.start_time = Some(NOW - 50);
    j
}

/// Array 20: task 1 running (its own record, id 21), tasks 2-4 pending in the record.
fn array() -> Vec<Job> {
    let record = common::array_record(job(20, "alice", JobState::Pending), &[2, 3, 4]);
    let task = common::array_task(on(job(21, "alice", JobState::Running), "n2"), 20, 1);
    vec![record, task]
}

fn list() -> JobList {
    let mut gpu = job(3, "bob", JobState::Pending);
    gpu.partition = "gpu".into();
    gpu.spec.partitions = vec!["gpu".into(), "debug2".into()];
    gpu.spec.qos = "high".into();
    let mut jobs = vec![
        on(job(1, "alice", JobState::Running), "n1"),
        job(2, "alice", JobState::Completed),
        gpu,
    ];
    jobs.extend(array());
    JobList {
        now: NOW,
        jobs,
        allocations: vec![],
    }
}

fn env() -> FormatEnv {
    FormatEnv::new(NOW, 0)
}

fn ids(argv: &[&str]) -> Vec<String> {
    let a = parse(argv);
    squeue::select(&list(), &a)
        .iter()
        .map(slurm_core::format::job_id_text)
        .collect()
}

#[test]
fn defaults() {
    let a = parse(&[]);
    assert_eq!(a.output.style, Style::Default);
    assert!(!a.output.no_header);
    assert_eq!(a.filter, JobFilter::default());
    assert_eq!(a.filter.states, StateFilter::Active);
    // Finished jobs are hidden; pending array tasks share one line; partitions sort first.
    assert_eq!(ids(&[]), ["20_[2-4]", "1", "20_1", "3"]);
}

#[test]
fn array_tasks_one_per_line() {
    assert_eq!(ids(&["-r"]), ["20_2", "20_3", "20_4", "1", "20_1", "3"]);
    let a = parse_env(&[], &[("SQUEUE_ARRAY", "")]);
    assert!(matches!(a, Step::Run(a) if a.expand_arrays));
}

#[test]
fn job_selection() {
    assert_eq!(ids(&["-j", "1"]), ["1"]);
    assert_eq!(ids(&["--jobs=1,3"]), ["1", "3"]);
    assert_eq!(ids(&["-j1"]), ["1"]);
    // The whole array, or single tasks (pending ones cut out of the array's record).
    assert_eq!(ids(&["-j", "20"]), ["20_[2-4]", "20_1"]);
    assert_eq!(ids(&["-j", "20_3"]), ["20_3"]);
    assert_eq!(ids(&["-j", "20_[1,3-4]"]), ["20_[3-4]", "20_1"]);
    assert_eq!(ids(&["-j", "21"]), ["20_1"]);
    let a = parse(&["-j", "5,6"]);
    assert_eq!(
        a.filter.jobs,
        Some(vec![
            JobRef {
                job_id: 5,
                array_task: None
            },
            JobRef {
                job_id: 6,
                array_task: None
            }
        ])
    );
}

#[test]
fn one_unknown_job_is_an_error() {
    let out = squeue::render(&list(), &parse(&["-j", "999"]), &env());
    assert_eq!(
        out.stderr,
        "slurm_load_jobs error: Invalid job id specified\n"
    );
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    // A finished job that is still known prints the header only.
    let out = squeue::render(&list(), &parse(&["-j", "2", "-o", "%i"]), &env());
    assert_eq!((out.stdout.as_str(), out.code), ("JOBID\n", 0));
    // Several ids: no error.
    let out = squeue::render(&list(), &parse(&["-j", "998,999", "-o", "%i"]), &env());
    assert_eq!((out.stdout.as_str(), out.code), ("JOBID\n", 0));
}

#[test]
fn user_filters() {
    assert_eq!(ids(&["-u", "bob"]), ["3"]);
    assert_eq!(
        ids(&["--user=alice,bob", "-t", "all"]),
        ["2", "20_[2-4]", "1", "20_1", "3"]
    );
    assert_eq!(ids(&["--me"]), ["3"]);
    assert_eq!(ids(&["-u", "1001", "-t", "R"]), ["1", "20_1"]);
    // --me and -u: the last one wins.
    assert_eq!(ids(&["--me", "-u", "alice", "-t", "CD"]), ["2"]);
    // Unknown users are reported and match nothing.
    let a = parse(&["-u", "nobody,bob"]);
    assert_eq!(
        a.notices,
        vec!["squeue: error: Invalid user: nobody".to_owned()]
    );
    assert_eq!(a.filter.users, Some(vec![1002]));
}

#[test]
fn other_filters() {
    assert_eq!(ids(&["-p", "gpu"]), ["3"]);
    // A pending job matches any of its candidate partitions.
    assert_eq!(ids(&["-p", "debug2"]), ["3"]);
    assert_eq!(
        ids(&["-t", "PD,R", "-p", "debug"]),
        ["20_[2-4]", "1", "20_1"]
    );
    assert_eq!(ids(&["-n", "JOB1"]), ["1"]);
    assert_eq!(ids(&["-q", "high"]), ["3"]);
    assert_eq!(ids(&["-A", "PHYSICS", "-t", "CD"]), ["2"]);
    assert_eq!(ids(&["-w", "n[1-2]"]), ["1", "20_1"]);
    assert_eq!(ids(&["--nodelist=n2"]), ["20_1"]);
}

#[test]
fn state_names() {
    assert_eq!(
        parse(&["-t", "pending,RUNNING,cd"]).filter.states,
        StateFilter::Only(vec![
            JobState::Pending,
            JobState::Running,
            JobState::Completed
        ])
    );
    assert_eq!(parse(&["-t", "ALL"]).filter.states, StateFilter::All);
    let out = refused(&["-t", "bogus"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "squeue: error: Invalid job state specified: bogus"
    );
    assert!(lines[1].starts_with("squeue: error: Valid job states include: PENDING,RUNNING,"));
}

#[test]
fn layouts() {
    assert_eq!(parse(&["-l"]).output.style, Style::Long);
    assert_eq!(
        parse(&["-o", "%i %T"]).output.style,
        Style::Format("%i %T".into())
    );
    assert_eq!(
        parse(&["--Format=jobid,state"]).output.style,
        Style::FormatLong("jobid,state".into())
    );
    let start = parse(&["--start"]);
    assert_eq!(start.output.style, Style::Start);
    assert!(start.start);
    assert_eq!(
        start.filter.states,
        StateFilter::Only(vec![JobState::Pending])
    );
    // --start with a format keeps the format, and still sorts by start time.
    let a = parse(&["--start", "-o", "%i"]);
    assert_eq!(a.output.style, Style::Format("%i".into()));
    assert!(a.start);
    assert!(parse(&["-h"]).output.no_header);
}

#[test]
fn format_environment_variables() {
    let run = |argv: &[&str], env: &[(&str, &str)]| match parse_env(argv, env) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("{out:?}"),
    };
    let env = [("SQUEUE_FORMAT", "%i"), ("SQUEUE_STATES", "all")];
    let a = run(&[], &env);
    assert_eq!(a.output.style, Style::Format("%i".into()));
    assert_eq!(a.filter.states, StateFilter::All);
    // Options override the environment.
    let a = run(&["-l", "-t", "R"], &env);
    assert_eq!(a.output.style, Style::Long);
    assert_eq!(a.filter.states, StateFilter::Only(vec![JobState::Running]));
    let a = run(&[], &[("SQUEUE_FORMAT2", "jobid"), ("SQUEUE_USERS", "bob")]);
    assert_eq!(a.output.style, Style::FormatLong("jobid".into()));
    assert_eq!(a.filter.users, Some(vec![1002]));
}

#[test]
fn option_errors() {
    let out = refused(&["--bogus"]);
    assert_eq!(
        out.stderr,
        "squeue: unrecognized option '--bogus'\nTry \"squeue --help\" for more information\n"
    );
    assert_eq!(out.code, 1);
    let out = refused(&["-o", "%i", "-l"]);
    assert_eq!(
        out.stderr,
        "squeue: fatal: Options -o(--format) and -l(--long) are mutually exclusive. \
         Please remove one and retry.\n"
    );
    let out = refused(&["-o", "%i", "-O", "jobid"]);
    assert_eq!(
        out.stderr,
        "squeue: error: -O (--Format) is incompatible with -o (--format)\n"
    );
    let out = refused(&["-j", "x1"]);
    assert_eq!(out.stderr, "squeue: error: Invalid job id: x1\n");
    let out = refused(&["12"]);
    assert!(
        out.stderr
            .starts_with("squeue: error: Unrecognized option: 12\n")
    );
    assert!(out.stdout.starts_with("Usage: squeue"));
    let out = refused(&["-i", "0"]);
    assert_eq!(out.stderr, "squeue: error: --iterate=0\n");
    let out = refused(&["-w", "n[1-"]);
    assert_eq!(
        out.stderr,
        "squeue: error: 'n[1-' invalid entry for --nodelist\n"
    );
    let out = refused(&["--sort=P"]);
    assert_eq!(
        out.stderr,
        "squeue: error: option --sort is not supported\n"
    );
    for (flag, text) in [
        ("--help", "Usage: squeue [OPTIONS]"),
        ("--usage", "Usage: squeue [-A"),
        ("-V", "slurm 22.05"),
    ] {
        let out = refused(&[flag]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.starts_with(text), "{flag}: {}", out.stdout);
    }
}

#[test]
fn unknown_format_codes_are_reported_not_fatal() {
    let out = squeue::render(&list(), &parse(&["-o", "%i %=", "-j", "1"]), &env());
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("JOBID"), "{}", out.stdout);
    assert!(out.stderr.starts_with("squeue: error: "), "{}", out.stderr);
}

#[test]
fn iterate_prints_the_date_first() {
    let a = parse(&["-i", "5", "-o", "%i", "-j", "1"]);
    assert_eq!(a.iterate, Some(5));
    let out = squeue::render(&list(), &a, &env());
    assert_eq!(out.stdout, format!("{}\nJOBID\n1\n", env().date_line()));
    let quiet = squeue::render(
        &list(),
        &parse(&["-i", "5", "-h", "-o", "%i", "-j", "1"]),
        &env(),
    );
    assert_eq!(quiet.stdout, "1\n");
}
