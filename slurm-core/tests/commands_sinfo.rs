//! `sinfo` without a controller: options and the partition, node and state filters.

mod common;

use common::node;
use slurm_core::commands::sinfo::{self, SinfoArgs, state_matches};
use slurm_core::commands::{Output, Step};
use slurm_core::format::FormatEnv;
use slurm_core::format::sinfo::Format;
use slurm_core::model::{NodeBaseState, NodeState, PartitionConfig};
use slurm_core::proto::ClusterInfo;

fn parse_env(argv: &[&str], env: &[(&str, &str)]) -> Step<SinfoArgs> {
    sinfo::parse_args(&common::args(argv), &common::env_map(env))
}

fn parse(argv: &[&str]) -> SinfoArgs {
    common::accepted("sinfo", argv, parse_env(argv, &[]))
}

fn refused(argv: &[&str]) -> Output {
    common::refused("sinfo", argv, parse_env(argv, &[]))
}

/// n1 idle, n2 mixed, n3 drained (down, not responding), n4 idle; partitions cpu (n1-n3,
/// default) and gpu (n4), and an empty one.
fn cluster() -> ClusterInfo {
    let mut n3 = node("n3", NodeBaseState::Down);
    n3.state.flags.drain = true;
    n3.state.flags.not_responding = true;
    n3.reason = Some("broken".into());
    let mut cpu = PartitionConfig::new("cpu", vec!["n1".into(), "n2".into(), "n3".into()]);
    cpu.default = true;
    ClusterInfo {
        now: 1_800_000_000,
        cluster_name: "c".into(),
        nodes: vec![
            node("n1", NodeBaseState::Idle),
            node("n2", NodeBaseState::Mixed),
            n3,
            node("n4", NodeBaseState::Idle),
        ],
        partitions: vec![
            cpu,
            PartitionConfig::new("gpu", vec!["n4".into()]),
            PartitionConfig::new("empty", vec![]),
        ],
        def_mem_per_cpu_mb: None,
    }
}

fn selected(argv: &[&str]) -> (Vec<String>, Vec<String>) {
    let info = cluster();
    let (parts, nodes) = sinfo::select(&info, &parse(argv));
    (
        parts.into_iter().map(|p| p.name).collect(),
        nodes.into_iter().map(|n| n.config.name).collect(),
    )
}

fn render(argv: &[&str]) -> String {
    let out = sinfo::render(&cluster(), &parse(argv), &FormatEnv::new(1_800_000_000, 0));
    assert_eq!(out.code, 0);
    out.stdout
}

#[test]
fn layouts() {
    let a = parse(&["-N", "-l", "-h", "-e"]);
    assert!(a.output.node_oriented && a.output.long && a.output.no_header && a.output.exact);
    assert!(parse(&["-s"]).output.summarize);
    assert!(parse(&["-R"]).output.list_reasons);
    assert_eq!(
        parse(&["-o", "%P %D"]).output.format,
        Some(Format::Percent("%P %D".into()))
    );
    assert_eq!(
        parse(&["--Format=partition,nodes"]).output.format,
        Some(Format::Fields("partition,nodes".into()))
    );
    match parse_env(&[], &[("SINFO_FORMAT", "%P"), ("SINFO_PARTITION", "gpu")]) {
        Step::Run(a) => {
            assert_eq!(a.output.format, Some(Format::Percent("%P".into())));
            assert_eq!(a.partitions, Some(vec!["gpu".to_owned()]));
        }
        Step::Exit(out) => panic!("{out:?}"),
    }
}

#[test]
fn no_filters_keep_everything() {
    let (parts, nodes) = selected(&[]);
    assert_eq!(parts, ["cpu", "gpu", "empty"]);
    assert_eq!(nodes, ["n1", "n2", "n3", "n4"]);
}

#[test]
fn partition_filter() {
    assert_eq!(
        selected(&["-p", "gpu"]),
        (vec!["gpu".into()], vec!["n4".into()])
    );
    let out = render(&["-p", "gpu", "-h", "-o", "%P %D %N"]);
    assert_eq!(out, "gpu 1 n4\n");
    let (parts, nodes) = selected(&["-p", "nosuch"]);
    assert!(parts.is_empty() && nodes.is_empty());
}

#[test]
fn node_and_state_filters() {
    // Partitions left without nodes are not shown once nodes are filtered.
    assert_eq!(
        selected(&["-n", "n[1-2]"]),
        (vec!["cpu".into()], vec!["n1".into(), "n2".into()])
    );
    assert_eq!(selected(&["-t", "idle"]).1, ["n1", "n4"]);
    assert_eq!(selected(&["-t", "IDLE,mix"]).1, ["n1", "n2", "n4"]);
    assert_eq!(selected(&["-t", "drain"]).1, ["n3"]);
    assert_eq!(selected(&["-t", "all"]).1, ["n1", "n2", "n3", "n4"]);
    assert_eq!(selected(&["-d"]).1, ["n3"]);
    assert_eq!(selected(&["-r"]).1, ["n1", "n2", "n4"]);
    let out = render(&["-t", "idle", "-h", "-o", "%P %t %N"]);
    assert_eq!(out, "cpu* idle n1\ngpu idle n4\n");
}

#[test]
fn state_names() {
    let mut st = NodeState::new(NodeBaseState::Mixed);
    assert!(state_matches("mix", &st) && state_matches("mixed", &st));
    assert!(!state_matches("drain", &st));
    st.flags.drain = true;
    assert!(state_matches("drain", &st) && state_matches("draining", &st));
    assert!(!state_matches("drained", &st));
    let mut idle = NodeState::new(NodeBaseState::Idle);
    idle.flags.powered_down = true;
    idle.flags.cloud = true;
    assert!(state_matches("powered_down", &idle) && state_matches("cloud", &idle));
    assert!(state_matches("idle", &idle));
}

#[test]
fn option_errors() {
    assert_eq!(
        refused(&["-t", "weird"]).stderr,
        "sinfo: error: Bad state string weird\n"
    );
    assert_eq!(
        refused(&["--bogus"]).stderr,
        "sinfo: unrecognized option '--bogus'\nTry \"sinfo --help\" for more information\n"
    );
    assert_eq!(
        refused(&["-d", "-r"]).stderr,
        "sinfo: error: -d (--dead) and -r (--responding) are mutually exclusive\n"
    );
    assert_eq!(refused(&["-i", "x"]).stderr, "sinfo: error: --iterate=x\n");
    assert!(
        refused(&["extra"])
            .stderr
            .starts_with("sinfo: error: Unrecognized option: extra")
    );
    assert_eq!(
        refused(&["--sort=P"]).stderr,
        "sinfo: error: option --sort is not supported\n"
    );
    let out = refused(&["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("Usage: sinfo [OPTIONS]"));
}
