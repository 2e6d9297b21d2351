//! Golden tests: the formatters must reproduce real Slurm 22.05 output byte for byte.
//!
//! The expected texts are the samples of `common::golden` (copies of
//! `/work/shared/golden/*.txt`); `embedded_copies_match_the_shared_goldens` checks the copies
//! when the shared directory is there. Each test builds the model objects of the captured
//! scenario (`common::capture`) and renders them.
//!
//! The captures collapsed trailing blank lines: Slurm ends every `scontrol show` record with a
//! blank line, which the samples show once at most. `scontrol` comparisons therefore ignore
//! trailing newlines.
//!
//! Not reproduced: `squeue_partitionconfig.txt` (`18 PENDING PartitionConfig`): the model's
//! `PendingReason` has no `PartitionConfig` variant.

mod common;

use common::capture::{at, jobs, nodes, partitions, pick};
use common::golden::sample;
use slurm_core::format::{FormatEnv, scontrol, sinfo, squeue};
use slurm_core::model::{Job, JobState, PendingReason};

/// `squeue`, `sinfo` and `scontrol` ran at 12:44:28, with the facts only `scontrol` shows.
fn env() -> FormatEnv {
    let mut env = FormatEnv::new(common::capture::now(), 0);
    env.def_mem_per_cpu_mb = Some(100);
    common::capture::add_extras(&mut env);
    env
}

fn squeue_run(jobs: &[Job], style: squeue::Style, no_header: bool) -> String {
    let options = squeue::Options { style, no_header };
    let out = squeue::squeue(jobs, &options, &env());
    assert!(out.stderr.is_empty(), "{:?}", out.stderr);
    out.stdout
}

/// The order squeue printed (`-S P,t,-p`; see the module docs of `squeue::sort_default`).
const DEFAULT_ORDER: [u32; 13] = [8, 9, 11, 12, 7, 5, 10, 3, 1, 2, 4, 6, 13];

#[test]
fn squeue_default() {
    let (expected, exit) = sample("squeue");
    assert_eq!(exit, 0);
    let shown = pick(&jobs(), &DEFAULT_ORDER);
    assert_eq!(squeue_run(&shown, squeue::Style::Default, false), expected);
}

#[test]
fn squeue_long() {
    let (expected, _) = sample("squeue_long");
    let shown = pick(&jobs(), &DEFAULT_ORDER);
    assert_eq!(squeue_run(&shown, squeue::Style::Long, false), expected);
}

#[test]
fn squeue_format() {
    let (expected, _) = sample("squeue_format");
    let shown = pick(&jobs(), &DEFAULT_ORDER);
    let style = squeue::Style::Format("%i %P %j %u %T %M %D %R".into());
    assert_eq!(squeue_run(&shown, style, false), expected);
}

#[test]
fn squeue_user_pending() {
    let (expected, _) = sample("squeue_user_pd");
    let all = pick(&jobs(), &DEFAULT_ORDER);
    let shown: Vec<Job> = all
        .into_iter()
        .filter(|j| j.spec.user == "root" && j.state == JobState::Pending)
        .collect();
    let style = squeue::Style::Format("%i %P %j %u %T %M %D %R".into());
    assert_eq!(squeue_run(&shown, style, false), expected);
}

#[test]
fn squeue_all_states() {
    let (expected, _) = sample("squeue_all_states");
    let order = [16, 14, 17, 15, 8, 9, 11, 12, 7, 5, 10, 3, 1, 2, 4, 6, 13];
    let shown = pick(&jobs(), &order);
    let style = squeue::Style::Format("%i %j %u %T %r %e".into());
    assert_eq!(squeue_run(&shown, style, false), expected);
}

#[test]
fn squeue_start_sorted_like_slurm() {
    let (expected, _) = sample("squeue_start");
    let all = jobs();
    let mut shown: Vec<&Job> = all
        .iter()
        .filter(|j| j.state == JobState::Pending)
        .collect();
    squeue::sort_start(&mut shown);
    let options = squeue::Options {
        style: squeue::Style::Start,
        no_header: false,
    };
    let out = squeue::squeue(shown, &options, &env());
    assert_eq!(out.stdout, expected);
}

#[test]
fn squeue_after_release() {
    // `scontrol release 10 && squeue -h -n held -o '%i %T %r'`
    let (expected, _) = sample("scontrol_hold_release");
    let mut held = pick(&jobs(), &[10]);
    held[0].reason = PendingReason::None;
    held[0].hold = None;
    let style = squeue::Style::Format("%i %T %r".into());
    assert_eq!(squeue_run(&held, style, true), expected);
}

#[test]
fn squeue_default_sort_matches_apart_from_equal_priority_ties() {
    // Slurm printed 7 (bob) before 5 (alice) although both had priority 507: ties keep the
    // controller's job-table order, which the model does not have. Everything else matches.
    let all = jobs();
    let mut shown: Vec<&Job> = all
        .iter()
        .filter(|j| matches!(j.state, JobState::Pending | JobState::Running))
        .collect();
    squeue::sort_default(&mut shown, at(12, 44, 28));
    let ids: Vec<u32> = shown.iter().map(|j| j.id).collect();
    assert_eq!(ids, [8, 9, 11, 12, 5, 7, 10, 3, 1, 2, 4, 6, 13]);
}

fn sinfo_run(options: sinfo::Options) -> String {
    let out = sinfo::sinfo(&partitions(), &nodes(), &options, &env());
    assert!(out.stderr.is_empty(), "{:?}", out.stderr);
    out.stdout
}

#[test]
fn sinfo_default() {
    let (expected, _) = sample("sinfo");
    assert_eq!(sinfo_run(sinfo::Options::default()), expected);
}

#[test]
fn sinfo_summarize() {
    let (expected, _) = sample("sinfo_summarize");
    let options = sinfo::Options {
        summarize: true,
        ..sinfo::Options::default()
    };
    assert_eq!(sinfo_run(options), expected);
}

#[test]
fn sinfo_node_long() {
    let (expected, _) = sample("sinfo_N_l");
    let options = sinfo::Options {
        node_oriented: true,
        long: true,
        ..sinfo::Options::default()
    };
    assert_eq!(sinfo_run(options), expected);
}

/// `scontrol show` comparisons ignore trailing newlines (see the module docs).
fn same_record(actual: &str, expected: &str) {
    assert_eq!(
        actual.trim_end_matches('\n'),
        expected.trim_end_matches('\n')
    );
    assert!(
        actual.ends_with("\n\n"),
        "Slurm ends records with a blank line"
    );
}

#[test]
fn scontrol_show_running_job() {
    let (expected, _) = sample("scontrol_show_job");
    let job = &pick(&jobs(), &[1])[0];
    same_record(&scontrol::show_job(job, &env()), expected);
}

#[test]
fn scontrol_show_pending_job() {
    let (expected, _) = sample("scontrol_show_job_pending");
    let job = &pick(&jobs(), &[9])[0];
    same_record(&scontrol::show_job(job, &env()), expected);
}

#[test]
fn scontrol_show_unknown_job() {
    let (expected, exit) = sample("scontrol_show_job_invalid");
    assert_eq!(exit, 1);
    assert_eq!(format!("{}\n", scontrol::invalid_job_message()), expected);
}

#[test]
fn scontrol_show_node() {
    let (expected, _) = sample("scontrol_show_node");
    let out = scontrol::show_nodes(&nodes(), &partitions(), &env());
    same_record(&out, expected);
}

#[test]
fn scontrol_show_partitions() {
    let (expected, _) = sample("scontrol_show_partition");
    let out = scontrol::show_partitions(&partitions(), &nodes());
    same_record(&out, expected);
}

#[test]
fn embedded_copies_match_the_shared_goldens() {
    common::golden::check_embedded_copies();
}
