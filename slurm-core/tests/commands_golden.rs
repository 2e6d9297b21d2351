//! The commands' output for the captured Slurm 22.05 scenario, byte for byte against the real
//! samples (`common::golden`, copies of `/work/shared/golden/`; `golden_format.rs` checks the
//! copies).
//!
//! Unlike `golden_format.rs`, which calls the formatters directly, these tests go through the
//! commands' own pieces: argv parsing, client-side filtering and sorting of the controller's
//! reply, and the error and exit-status conventions. The controller's reply is the captured
//! cluster (`common::capture`), its jobs listed in the controller's job-table order (which
//! decides squeue's order between jobs of equal priority, see `squeue::sort_default`).

mod common;

use common::capture::{self, now};
use common::golden::sample;
use common::{Users, args};
use slurm_core::commands::lookup::format_env;
use slurm_core::commands::rpc::RpcError;
use slurm_core::commands::{Output, Step, sbatch, scancel, scontrol, sinfo, squeue};
use slurm_core::format::FormatEnv;
use slurm_core::model::{JobSpec, PendingReason};
use slurm_core::proto::{ClusterInfo, JobList, SubmitReply};
use std::collections::BTreeMap;

/// The caller is root.
const USERS: Users = Users(0);

fn env() -> FormatEnv {
    format_env(now(), 0, Some(100), [0, 1001, 1002], &USERS)
}

/// [`env`] plus the facts `scontrol show` prints that the protocol does not carry.
fn scontrol_env() -> FormatEnv {
    let mut env = env();
    capture::add_extras(&mut env);
    env
}

fn cluster() -> ClusterInfo {
    ClusterInfo {
        now: now(),
        cluster_name: "test".into(),
        nodes: capture::nodes(),
        partitions: capture::partitions(),
        def_mem_per_cpu_mb: Some(100),
    }
}

/// The controller's job-table order.
const TABLE_ORDER: [u32; 17] = [8, 9, 11, 12, 7, 5, 10, 3, 1, 2, 4, 6, 13, 14, 15, 16, 17];

fn job_list() -> JobList {
    JobList {
        now: now(),
        jobs: capture::pick(&capture::jobs(), &TABLE_ORDER),
        allocations: vec![],
    }
}

fn squeue_out(argv: &[&str], list: &JobList) -> Output {
    let parsed = common::accepted(
        "squeue",
        argv,
        squeue::parse_args(&args(argv), &BTreeMap::new(), &USERS),
    );
    squeue::render(list, &parsed, &env())
}

/// Compares stdout + stderr (the samples hold both) and the exit status.
fn check(out: &Output, name: &str) {
    let (expected, exit) = sample(name);
    assert_eq!(format!("{}{}", out.stdout, out.stderr), expected, "{name}");
    assert_eq!(out.code, exit, "{name}: exit status");
}

#[test]
fn squeue_default() {
    check(&squeue_out(&[], &job_list()), "squeue");
}

#[test]
fn squeue_long() {
    check(&squeue_out(&["-l"], &job_list()), "squeue_long");
}

#[test]
fn squeue_format() {
    let out = squeue_out(&["-o", "%i %P %j %u %T %M %D %R"], &job_list());
    check(&out, "squeue_format");
}

#[test]
fn squeue_user_and_state_filters() {
    let argv = ["-u", "root", "-t", "PD", "-o", "%i %P %j %u %T %M %D %R"];
    check(&squeue_out(&argv, &job_list()), "squeue_user_pd");
}

#[test]
fn squeue_all_states() {
    let out = squeue_out(&["-t", "all", "-o", "%i %j %u %T %r %e"], &job_list());
    check(&out, "squeue_all_states");
}

#[test]
fn squeue_start() {
    check(&squeue_out(&["--start"], &job_list()), "squeue_start");
}

#[test]
fn squeue_after_release() {
    // `scontrol release 10 && squeue -h -n held -o '%i %T %r'`: the release prints nothing.
    let released = scontrol::report_jobs(
        &common::outcomes(&[(common::r(10, None), None)]),
        &[],
        false,
    );
    assert_eq!(released, Output::default());
    let mut list = job_list();
    for j in &mut list.jobs {
        if j.id == 10 {
            j.reason = PendingReason::None;
            j.hold = None;
        }
    }
    check(
        &squeue_out(&["-h", "-n", "held", "-o", "%i %T %r"], &list),
        "scontrol_hold_release",
    );
}

fn sinfo_out(argv: &[&str]) -> Output {
    let parsed = common::accepted(
        "sinfo",
        argv,
        sinfo::parse_args(&args(argv), &BTreeMap::new()),
    );
    sinfo::render(&cluster(), &parsed, &env())
}

#[test]
fn sinfo_default() {
    check(&sinfo_out(&[]), "sinfo");
}

#[test]
fn sinfo_summarize() {
    check(&sinfo_out(&["-s"]), "sinfo_summarize");
}

#[test]
fn sinfo_node_long() {
    check(&sinfo_out(&["-N", "-l"]), "sinfo_N_l");
}

#[test]
fn sinfo_version() {
    match sinfo::parse_args(&args(&["-V"]), &BTreeMap::new()) {
        Step::Exit(out) => {
            assert_eq!(out.code, 0);
            assert!(out.stdout.starts_with("slurm "), "{out:?}");
            assert!(sample("version").0.contains("22.05.8"));
            assert!(out.stdout.contains("22.05.8"));
        }
        Step::Run(_) => panic!("-V must print the version"),
    }
}

/// `scontrol show` records: Slurm ends each with a blank line, which the captures collapsed.
fn check_records(out: &Output, name: &str) {
    let (expected, exit) = sample(name);
    assert_eq!(
        out.stdout.trim_end_matches('\n'),
        expected.trim_end_matches('\n'),
        "{name}"
    );
    assert_eq!(out.code, exit);
}

fn scontrol_show(argv: &[&str]) -> Output {
    let parsed = common::accepted("scontrol", argv, scontrol::parse_args(&args(argv)));
    let env = scontrol_env();
    match parsed.command {
        scontrol::Command::ShowJob(id) => {
            scontrol::show_jobs(&job_list(), id.as_deref(), parsed.one_liner, &env)
        }
        scontrol::Command::ShowNode(n) => {
            scontrol::show_nodes(&cluster(), n.as_deref(), parsed.one_liner, &env)
        }
        scontrol::Command::ShowPartition(p) => {
            scontrol::show_partitions(&cluster(), p.as_deref(), parsed.one_liner)
        }
        other => panic!("not a show command: {other:?}"),
    }
}

#[test]
fn scontrol_show_job() {
    check_records(&scontrol_show(&["show", "job", "1"]), "scontrol_show_job");
    check_records(
        &scontrol_show(&["show", "job", "9"]),
        "scontrol_show_job_pending",
    );
}

#[test]
fn scontrol_show_unknown_job() {
    let out = scontrol_show(&["show", "job", "999999"]);
    check(&out, "scontrol_show_job_invalid");
}

#[test]
fn scontrol_show_node_and_partitions() {
    check_records(&scontrol_show(&["show", "node"]), "scontrol_show_node");
    check_records(
        &scontrol_show(&["show", "node", "vm"]),
        "scontrol_show_node",
    );
    check_records(
        &scontrol_show(&["show", "partition"]),
        "scontrol_show_partition",
    );
}

#[test]
fn sbatch_submitted() {
    let reply = |job_id| SubmitReply {
        job_id,
        cluster: "test".into(),
    };
    let (expected, exit) = sample("sbatch");
    assert_eq!(sbatch::submitted_text(&reply(1), false, "test"), expected);
    assert_eq!(exit, 0);
    let (expected, _) = sample("sbatch_parsable");
    assert_eq!(sbatch::submitted_text(&reply(2), true, "test"), expected);
}

#[test]
fn sbatch_refusals() {
    let spec = JobSpec {
        partitions: vec!["nosuch".into()],
        ..JobSpec::default()
    };
    let refused = RpcError::Rejected("Invalid partition name specified".into());
    check(
        &sbatch::submit_failure(&refused, &spec),
        "sbatch_invalid_partition",
    );
    let refused =
        RpcError::Rejected("Invalid account or account/partition combination specified".into());
    check(
        &sbatch::submit_failure(&refused, &JobSpec::default()),
        "sbatch_invalid_account",
    );
}

#[test]
fn sbatch_empty_script() {
    // `sbatch < /dev/null`
    let inv = sbatch::Invocation::default();
    let ctx = slurm_core::parse::sbatch::SubmitContext::at(now());
    let out = match sbatch::plan(&[], &ctx, &inv, |path| {
        assert_eq!(path, None, "the script comes from stdin");
        Ok(String::new())
    }) {
        Err(out) => out,
        Ok(plan) => panic!("an empty script must be refused: {plan:?}"),
    };
    check(&out, "sbatch_no_script");
}

fn scancel_report(argv: &[&str], error: Option<&str>) -> Output {
    let parsed = common::accepted(
        "scancel",
        argv,
        scancel::parse_args(&args(argv), &BTreeMap::new(), &USERS),
    );
    let answers: Vec<_> = parsed.targets.iter().map(|t| (*t, error)).collect();
    scancel::report(&parsed, &parsed.targets, &common::outcomes(&answers))
}

#[test]
fn scancel_unknown_job() {
    let out = scancel_report(&["999999"], Some("Invalid job id specified"));
    // The capture shows an empty line for an empty output.
    assert_eq!(sample("scancel_invalid").0.trim(), "");
    assert_eq!(out, Output::default());
    let out = scancel_report(&["-v", "999999"], Some("Invalid job id specified"));
    check(&out, "scancel_invalid_verbose");
}

#[test]
fn scancel_permission_denied() {
    let out = scancel_report(&["1"], Some("Access/permission denied"));
    check(&out, "scancel_other_user");
}
