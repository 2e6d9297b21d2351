//! `sbatch` without a controller: from argv, script and environment to the request, and
//! from the controller's answer to what sbatch prints.

mod common;

use common::args;
use slurm_core::commands::Output;
use slurm_core::commands::rpc::RpcError;
use slurm_core::commands::sbatch::{
    self, Invocation, Plan, Submission, WaitState, accepted_text, exported_environment,
    submit_failure, submitted_text, wait_state,
};
use slurm_core::model::{ExitStatus, Job, JobSpec, JobState, TimeLimit};
use slurm_core::parse::sbatch::{SubmitContext, wrap_script};
use slurm_core::proto::{Credential, JobList, SubmitReply};
use std::collections::BTreeMap;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn invocation() -> Invocation {
    Invocation {
        cwd: "/home/alice/work".into(),
        env: vars(&[
            ("PATH", "/usr/bin"),
            ("HOME", "/home/alice"),
            ("SLURM_CONF", "/etc/slurm/slurm.conf"),
        ]),
        credential: Credential {
            uid: 1001,
            gid: 100,
            user: "alice".into(),
            token: None,
        },
    }
}

fn ctx() -> SubmitContext {
    SubmitContext::at(1_800_000_000)
}

const SCRIPT: &str = "#!/bin/bash\n#SBATCH -J fromscript\n#SBATCH -t 30\nhostname\n";

/// Plans a submission whose script (if any) is `script`, read from `expected_path`.
fn plan_with(argv: &[&str], script: &str, expected_path: Option<&str>) -> Result<Plan, Output> {
    let expected_path = expected_path.map(str::to_owned);
    sbatch::plan(&args(argv), &ctx(), &invocation(), move |path| {
        assert_eq!(path.map(str::to_owned), expected_path, "script path");
        Ok(script.to_owned())
    })
}

fn submission(argv: &[&str], script: &str, path: Option<&str>) -> Submission {
    match plan_with(argv, script, path) {
        Ok(Plan::Submit(s)) => *s,
        other => panic!("sbatch {argv:?} did not plan a submission: {other:?}"),
    }
}

fn refusal(argv: &[&str], script: &str, path: Option<&str>) -> Output {
    match plan_with(argv, script, path) {
        Err(out) => out,
        other => panic!("sbatch {argv:?} should be refused: {other:?}"),
    }
}

#[test]
fn wrap_defaults() {
    let s = submission(&["--wrap=sleep 600", "-o", "/dev/null"], "", None);
    let spec = &s.request.spec;
    assert_eq!(spec.name, "wrap");
    assert_eq!(spec.user, "alice");
    assert_eq!((spec.uid, spec.gid), (1001, 100));
    assert_eq!(spec.work_dir, "/home/alice/work");
    assert_eq!(spec.stdout.as_deref(), Some("/dev/null"));
    assert_eq!(s.request.batch.script, wrap_script("sleep 600"));
    assert!(s.request.batch.args.is_empty());
    // --export defaults to ALL: the whole environment, in order.
    assert_eq!(s.request.batch.environment, invocation().env);
    assert!(!s.parsable && !s.wait && !s.quiet);
    assert!(s.notices.is_empty());
}

#[test]
fn script_file_directives_and_arguments() {
    let s = submission(
        &["-N", "2", "--parsable", "job.sh", "in.dat", "-v"],
        SCRIPT,
        Some("job.sh"),
    );
    let spec = &s.request.spec;
    assert_eq!(spec.name, "fromscript");
    assert_eq!(spec.time_limit, Some(TimeLimit::minutes(30)));
    assert_eq!(spec.min_nodes, 2);
    assert_eq!(s.request.batch.script, SCRIPT);
    // Everything after the script belongs to the script.
    assert_eq!(s.request.batch.args, args(&["in.dat", "-v"]));
    assert!(s.parsable);
}

#[test]
fn command_line_overrides_directives() {
    let s = submission(&["-J", "cli", "-t", "5", "job.sh"], SCRIPT, Some("job.sh"));
    assert_eq!(s.request.spec.name, "cli");
    assert_eq!(s.request.spec.time_limit, Some(TimeLimit::minutes(5)));
}

#[test]
fn script_from_stdin_is_named_sbatch() {
    let s = submission(&[], "#!/bin/sh\ntrue\n", None);
    assert_eq!(s.request.spec.name, "sbatch");
}

#[test]
fn chdir_is_resolved_against_the_current_directory() {
    let s = submission(&["--wrap=true", "--chdir=out"], "", None);
    assert_eq!(s.request.spec.work_dir, "/home/alice/work/out");
    let s = submission(&["--wrap=true", "-D", "/scratch"], "", None);
    assert_eq!(s.request.spec.work_dir, "/scratch");
}

#[test]
fn scripts_sbatch_refuses() {
    let out = refusal(&["job.sh"], "echo hi\n", Some("job.sh"));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "sbatch: error: This does not look like a batch script.  The first\n\
         sbatch: error: line must start with #! followed by the path to an interpreter.\n\
         sbatch: error: For instance: #!/bin/sh\n"
    );
    let out = refusal(&[], "  \n", None);
    assert_eq!(
        out.stderr,
        "sbatch: error: Batch script contains only whitespace!\n"
    );
}

#[test]
fn option_errors_name_the_option() {
    let out = refusal(&["--bogus", "--wrap=true"], "", None);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "sbatch: unrecognized option '--bogus'\nTry \"sbatch --help\" for more information\n"
    );
    let out = refusal(&["-t", "abc", "--wrap=true"], "", None);
    assert!(
        out.stderr
            .starts_with("sbatch: error: invalid value \"abc\" for --time"),
        "{}",
        out.stderr
    );
    let out = refusal(
        &["job.sh"],
        "#!/bin/sh\n#SBATCH --nodes=x\n",
        Some("job.sh"),
    );
    assert!(
        out.stderr
            .starts_with("sbatch: error: line 2: invalid value \"x\" for --nodes"),
        "{}",
        out.stderr
    );
    let out = refusal(&["--wrap=true", "--test-only"], "", None);
    assert_eq!(out.stderr, "sbatch: error: --test-only is not supported\n");
}

#[test]
fn unreadable_script() {
    let out = sbatch::plan(&args(&["missing.sh"]), &ctx(), &invocation(), |p| {
        Err(Output::fail(
            format!("sbatch: error: Unable to open file {}", p.unwrap_or("-")),
            1,
        ))
    })
    .unwrap_err();
    assert_eq!(
        out.stderr,
        "sbatch: error: Unable to open file missing.sh\n"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn help_usage_and_version_submit_nothing() {
    for (flag, needle) in [
        ("--help", "Usage: sbatch"),
        ("--usage", "Usage: sbatch"),
        ("-V", "slurm 22.05"),
    ] {
        match sbatch::plan(&args(&[flag]), &ctx(), &invocation(), |_| {
            panic!("no script is read for {flag}")
        }) {
            Ok(Plan::Print(out)) => {
                assert_eq!(out.code, 0);
                assert!(out.stdout.contains(needle), "{flag}: {}", out.stdout);
            }
            other => panic!("{flag}: {other:?}"),
        }
    }
}

#[test]
fn node_count_warnings_are_shown_unless_quiet() {
    let s = submission(&["--wrap=true", "-N", "2", "-n", "1"], "", None);
    assert_eq!(
        s.notices,
        vec!["sbatch: Warning: can't run 1 processes on 2 nodes, setting nnodes to 1".to_owned()]
    );
    let s = submission(&["--wrap=true", "-N", "2", "-n", "1", "-Q"], "", None);
    assert!(s.notices.is_empty());
}

#[test]
fn export_modes() {
    let env = vars(&[("A", "1"), ("B", "2"), ("SLURM_X", "x")]);
    assert_eq!(exported_environment(None, &env).unwrap(), env);
    assert_eq!(exported_environment(Some("ALL"), &env).unwrap(), env);
    assert_eq!(
        exported_environment(Some("NONE"), &env).unwrap(),
        vars(&[("SLURM_X", "x")])
    );
    assert_eq!(exported_environment(Some("NIL"), &env).unwrap(), vec![]);
    assert_eq!(
        exported_environment(Some("ALL,A=9,C=3"), &env).unwrap(),
        vars(&[("A", "9"), ("B", "2"), ("SLURM_X", "x"), ("C", "3")])
    );
    // A list without ALL: the SLURM_* variables plus the ones named.
    assert_eq!(
        exported_environment(Some("B,C=3,MISSING"), &env).unwrap(),
        vars(&[("SLURM_X", "x"), ("B", "2"), ("C", "3")])
    );
    let err = exported_environment(Some("ALL,1BAD=x"), &env).unwrap_err();
    assert!(err.contains("1BAD"), "{err}");
}

#[test]
fn export_option_and_default_variable() {
    let s = submission(&["--wrap=true", "--export=NONE"], "", None);
    assert_eq!(
        s.request.batch.environment,
        vars(&[("SLURM_CONF", "/etc/slurm/slurm.conf")])
    );
    assert_eq!(s.request.spec.export.as_deref(), Some("NONE"));
    // SLURM_EXPORT_ENV is the default for --export.
    let mut inv = invocation();
    inv.env.push(("SLURM_EXPORT_ENV".into(), "NIL".into()));
    let plan = sbatch::plan(&args(&["--wrap=true"]), &ctx(), &inv, |_| unreachable!());
    match plan {
        Ok(Plan::Submit(s)) => assert!(s.request.batch.environment.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sbatch_environment_variables_are_option_defaults() {
    let mut ctx = ctx();
    ctx.env = BTreeMap::from([("SBATCH_PARTITION".to_owned(), "gpu".to_owned())]);
    let plan = sbatch::plan(
        &args(&["--wrap=true"]),
        &ctx,
        &invocation(),
        |_| unreachable!(),
    );
    match plan {
        Ok(Plan::Submit(s)) => assert_eq!(s.request.spec.partitions, vec!["gpu".to_owned()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn submitted_lines() {
    let reply = SubmitReply {
        job_id: 42,
        cluster: "alpha".into(),
    };
    assert_eq!(
        submitted_text(&reply, false, "alpha"),
        "Submitted batch job 42\n"
    );
    assert_eq!(submitted_text(&reply, true, "alpha"), "42\n");
    // Placed on another cluster than the local configuration's: name it.
    assert_eq!(submitted_text(&reply, true, "beta"), "42;alpha\n");
    assert_eq!(
        submitted_text(&reply, false, "beta"),
        "Submitted batch job 42 on cluster alpha\n"
    );
    let anonymous = SubmitReply {
        job_id: 7,
        cluster: String::new(),
    };
    assert_eq!(submitted_text(&anonymous, true, "beta"), "7\n");
}

#[test]
fn submission_failures() {
    let spec = JobSpec::default();
    let out = submit_failure(&RpcError::Unreachable, &spec);
    assert_eq!(
        out.stderr,
        "sbatch: error: Batch job submission failed: \
         Unable to contact slurm controller (connect failure)\n"
    );
    assert_eq!(out.code, 1);
    let out = submit_failure(
        &RpcError::Rejected(
            "Requested time limit is invalid (missing or exceeds some limit)".into(),
        ),
        &spec,
    );
    assert_eq!(
        out.stderr,
        "sbatch: error: Batch job submission failed: \
         Requested time limit is invalid (missing or exceeds some limit)\n"
    );
    // Extra lines from the controller come first; no partition line is invented then.
    let spec = JobSpec {
        partitions: vec!["a".into(), "nosuch".into()],
        ..JobSpec::default()
    };
    let out = submit_failure(
        &RpcError::Rejected(
            "invalid partition specified: nosuch\nInvalid partition name specified".into(),
        ),
        &spec,
    );
    assert_eq!(
        out.stderr,
        "sbatch: error: invalid partition specified: nosuch\n\
         sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    );
    let out = submit_failure(&RpcError::Setup("slurm.conf: not found".into()), &spec);
    assert_eq!(out.stderr, "sbatch: error: slurm.conf: not found\n");
}

fn job(id: u32, state: JobState, exit: Option<ExitStatus>) -> Job {
    Job {
        exit,
        ..common::job(id, state, JobSpec::default())
    }
}

#[test]
fn waiting_for_a_job() {
    let list = |jobs| JobList {
        now: 0,
        jobs,
        allocations: vec![],
    };
    assert_eq!(
        wait_state(&list(vec![job(5, JobState::Running, None)]), 5),
        WaitState::Active
    );
    assert_eq!(wait_state(&list(vec![]), 5), WaitState::Gone);
    let done = job(5, JobState::Completed, Some(ExitStatus::SUCCESS));
    assert_eq!(wait_state(&list(vec![done]), 5), WaitState::Ended(0));
    let failed = job(5, JobState::Failed, Some(ExitStatus { code: 3, signal: 0 }));
    assert_eq!(wait_state(&list(vec![failed]), 5), WaitState::Ended(3));
    let killed = job(
        5,
        JobState::Cancelled,
        Some(ExitStatus { code: 0, signal: 9 }),
    );
    assert_eq!(wait_state(&list(vec![killed]), 5), WaitState::Ended(137));
    // Array tasks: every task must end; the highest status wins.
    let t1 = job(6, JobState::Completed, Some(ExitStatus::SUCCESS));
    let t1 = common::array_task(t1, 5, 1);
    let t2 = job(7, JobState::Failed, Some(ExitStatus { code: 2, signal: 0 }));
    let mut t2 = common::array_task(t2, 5, 2);
    assert_eq!(
        wait_state(&list(vec![t1.clone(), t2.clone()]), 5),
        WaitState::Ended(2)
    );
    t2.state = JobState::Running;
    assert_eq!(wait_state(&list(vec![t1, t2]), 5), WaitState::Active);
}

#[test]
fn quiet_submissions_print_nothing() {
    let reply = SubmitReply {
        job_id: 3,
        cluster: "c".into(),
    };
    let loud = submission(&["--wrap=true"], "", None);
    assert_eq!(accepted_text(&reply, &loud, "c"), "Submitted batch job 3\n");
    let quiet = submission(&["--wrap=true", "-Q", "--parsable"], "", None);
    assert!(quiet.quiet);
    assert_eq!(accepted_text(&reply, &quiet, "c"), "");
}

#[test]
fn a_working_directory_is_required() {
    let mut inv = invocation();
    inv.cwd = String::new();
    let plan = sbatch::plan(&args(&["--wrap=true"]), &ctx(), &inv, |_| unreachable!());
    let out = plan.expect_err("no working directory");
    assert_eq!(
        out.stderr,
        "sbatch: error: Unable to determine the current working directory; use --chdir\n"
    );
    let plan = sbatch::plan(
        &args(&["--wrap=true", "-D", "/tmp"]),
        &ctx(),
        &inv,
        |_| unreachable!(),
    );
    assert!(matches!(plan, Ok(Plan::Submit(s)) if s.request.spec.work_dir == "/tmp"));
}
