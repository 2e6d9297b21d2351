//! `slinky slurmd` flags: the binary's argument struct, compiled here from its source file.

use std::path::PathBuf;

use clap::Parser;

#[allow(dead_code)]
#[path = "../src/bin/slinky/slurmd_cmd.rs"]
mod slurmd_cmd;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: slurmd_cmd::SlurmdArgs,
}

fn parse(args: &[&str]) -> slurmd_cmd::SlurmdArgs {
    Cli::try_parse_from(std::iter::once("slurmd").chain(args.iter().copied()))
        .unwrap()
        .args
}

#[test]
fn flags_become_options() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("slurm.conf");
    std::fs::write(
        &conf,
        "ClusterName=alpha\nSlurmctldHost=ctl\nKillWait=7\nNodeName=n[1-2] CPUs=2\n\
         PartitionName=p Nodes=n[1-2] Default=YES\n",
    )
    .unwrap();
    let spool = dir.path().join("spool/n2");
    let args = parse(&[
        "-D",
        "-N",
        "n2",
        "--conf",
        conf.to_str().unwrap(),
        "--spool",
        spool.to_str().unwrap(),
        "--kill-jobs-on-exit",
    ]);
    assert!(args.foreground && args.kill_jobs_on_exit && !args.no_cgroups);
    let options = args.options().unwrap();
    assert_eq!(options.node_name, "n2");
    assert_eq!(options.spool_dir, spool);
    assert!(options.kill_jobs_on_exit);
    assert!(options.cgroup.enabled);
    assert_eq!(options.cluster.cluster_name, "alpha");
    assert_eq!(options.cluster.timers.kill_wait, 7);
}

#[test]
fn defaults() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("slurm.conf");
    std::fs::write(&conf, "ClusterName=c\nNodeName=x\n").unwrap();
    let args = parse(&["-f", conf.to_str().unwrap(), "--no-cgroups"]);
    let options = args.options().unwrap();
    let host = worker_agent::daemon::short_hostname();
    assert!(!host.is_empty() && !host.contains('.'));
    assert_eq!(options.node_name, host);
    assert_eq!(
        options.spool_dir,
        PathBuf::from("/var/spool/slurmd").join(&host)
    );
    assert!(!options.cgroup.enabled);
}

#[test]
fn unreadable_config_names_the_file() {
    let err = parse(&["--conf", "/nonexistent/slurm.conf"])
        .options()
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent/slurm.conf"),
        "{err:#}"
    );
}
