//! `slinky conf check` end to end on examples/configs, and the library loader on the same files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use slurm_core::config::{load_slurm_conf, render_slurm_conf};
use slurm_core::model::{Gres, TimeLimit};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/configs")
}

fn slinky(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slinky"))
        .args(args)
        .output()
        .expect("run slinky")
}

fn check(path: &Path, extra: &[&str]) -> (i32, String, String) {
    let path = path.to_str().expect("utf-8 path");
    let mut args = vec!["conf", "check", path];
    args.extend_from_slice(extra);
    let out = slinky(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every valid example: the seeds and the GPU cluster.
fn valid_examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(configs())
        .expect("examples/configs")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".slurm.conf"))
        .collect();
    paths.sort();
    paths.push(configs().join("gpu-cluster/slurm.conf"));
    paths
}

#[test]
fn every_example_config_checks_and_renders_back() {
    let examples = valid_examples();
    assert!(examples.len() >= 3, "{examples:?}");
    for path in examples {
        let (code, stdout, stderr) = check(&path, &[]);
        assert_eq!(code, 0, "{}: {stderr}", path.display());
        assert!(stdout.starts_with("Cluster "), "{stdout}");
        assert!(stderr.is_empty(), "{stderr}");

        let loaded = load_slurm_conf(&path).expect("loads");
        let text = render_slurm_conf(&loaded.cluster);
        let again = slurm_core::config::parse_slurm_conf(&text, "rendered").expect("reparses");
        assert_eq!(again.cluster, loaded.cluster, "{text}");
    }
}

#[test]
fn seed_cpu_report_lists_the_cluster_and_the_ignored_keys() {
    let path = configs().join("seed-cpu.slurm.conf");
    let (code, stdout, _) = check(&path, &[]);
    assert_eq!(code, 0);
    for expected in [
        "Cluster hpc-demo-cluster",
        "Nodes: 1 in 1 hardware group",
        "  NodeName=slurm-demo.hpc-node-login (1 node)",
        "  PartitionName=cpu (1 node, default)",
        "14 warnings:",
    ] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "{expected:?} in\n{stdout}"
        );
    }
    let file = path.display().to_string();
    for (line, key) in [
        (33, "ProctrackType"),
        (54, "TaskPlugin"),
        (127, "SlurmctldLogFile"),
    ] {
        let warning = format!("warning: {file}:{line}: {key} is not used by slinky (ignored)");
        assert!(stdout.contains(&warning), "{warning:?} in\n{stdout}");
    }
}

#[test]
fn seed_gpu_with_its_gres_conf() {
    let path = configs().join("seed-gpu.slurm.conf");
    let gres = configs().join("seed-gres.conf");
    let (code, stdout, stderr) = check(&path, &["--gres-conf", gres.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("  NodeName=slurm-demo.hpc-node-compute[01-02] (2 nodes)\n"));
    assert!(stdout.contains("Gres=gpu:tesla:2"), "{stdout}");
    assert!(
        stdout.contains("  PartitionName=gpu (2 nodes, default)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("15 warnings:"), "{stdout}");
}

#[test]
fn gpu_cluster_loads_with_include_defaults_and_gres_conf() {
    let path = configs().join("gpu-cluster/slurm.conf");
    let loaded = load_slurm_conf(&path).expect("loads");
    let c = &loaded.cluster;
    assert_eq!(c.cluster_name, "gpu-cluster");
    assert_eq!(c.controller_hosts.len(), 2);
    assert_eq!(c.controller_port, 6817);
    assert_eq!(c.nodes.len(), 20);
    let gpu = c.node("gpu-003").expect("gpu-003");
    assert_eq!(
        (gpu.cpus, gpu.real_memory_mb, gpu.cloud),
        (96, 1_100_000, true)
    );
    assert_eq!(gpu.gres, [Gres::new("gpu", Some("a100"), 8)]);
    assert_eq!(gpu.weight, 100);
    let cpu = c.node("cpu-016").expect("cpu-016");
    assert_eq!((cpu.cpus, cpu.weight, cpu.cloud), (64, 10, false));
    assert_eq!(cpu.features, ["cpu", "avx512"]);
    let part = c.partition("gpu-partition").expect("gpu-partition");
    assert_eq!(part.nodes.len(), 4);
    assert_eq!(part.max_time, TimeLimit::Seconds(7 * 86400));
    assert_eq!(part.default_time, Some(TimeLimit::Seconds(3600)));
    assert_eq!((part.priority_tier, part.priority_job_factor), (10, 100));
    assert_eq!(part.def_mem_per_cpu_mb, Some(8000));
    assert_eq!(
        c.partition("cpu").expect("cpu").def_mem_per_cpu_mb,
        Some(2048)
    );
    assert_eq!(c.default_partition().expect("default").name, "cpu");
    let gres_conf = loaded.gres_conf.as_ref().expect("gres.conf applied");
    assert_eq!(gres_conf.entries[0].files.len(), 8);
    let keys: Vec<Option<&str>> = loaded.warnings.iter().map(|w| w.key.as_deref()).collect();
    assert_eq!(
        keys,
        [
            Some("SchedulerParameters"),
            Some("ProctrackType"),
            Some("TaskPlugin")
        ]
    );

    let (code, stdout, _) = check(&path, &[]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("  NodeName=gpu-[001-004] (4 nodes)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  PartitionName=gpu-partition (4 nodes)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("File=/dev/nvidia[0-7]"), "{stdout}");
}

#[test]
fn invalid_config_exits_1_naming_file_and_line() {
    let path = configs().join("invalid/unknown-node.slurm.conf");
    let (code, stdout, stderr) = check(&path, &[]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    let expected = format!(
        "slinky: error: {}:6: partition batch: unknown node \"node-05\" in Nodes=\n",
        path.display()
    );
    assert_eq!(stderr, expected);
}

#[test]
fn missing_file_exits_1() {
    let path = configs().join("does-not-exist.conf");
    let (code, _, stderr) = check(&path, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(&format!("slinky: error: cannot read {}: ", path.display())),
        "{stderr}"
    );
}
