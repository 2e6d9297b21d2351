//! Batch jobs from submission to their output files.

use crate::support::{LocalCluster, node};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[test]
fn a_script_runs_as_a_process_and_completes() {
    let c = LocalCluster::start(&[node("n1", 2, 1000), node("n2", 2, 1000)], "");
    let script = c.script(
        "hello.sh",
        "#!/bin/sh\n#SBATCH -J hello\n#SBATCH -c 2\necho \"job=$SLURM_JOB_ID name=$SLURM_JOB_NAME nodes=$SLURM_JOB_NODELIST cpus=$SLURM_CPUS_ON_NODE part=$SLURM_JOB_PARTITION\"\n",
    );
    let out = c.ok("sbatch", &[script.to_str().unwrap()]);
    let id: u32 = out
        .trim()
        .strip_prefix("Submitted batch job ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected sbatch output {out:?}"));
    let id = id.to_string();
    c.wait_state(&id, &["COMPLETED"], T);
    let text = c.read_when_ready(&format!("slurm-{id}.out"), T);
    assert!(text.contains(&format!("job={id} name=hello")), "{text}");
    assert!(text.contains("cpus=2 part=debug"), "{text}");
}

#[test]
fn output_patterns_exit_codes_and_wrap() {
    let c = LocalCluster::start(&[node("n1", 2, 1000)], "");
    let ok = c.sbatch(&["-J", "pat", "-o", "out-%x-%j.txt", "--wrap", "echo wrapped"]);
    let bad = c.sbatch(&[
        "-e",
        "err-%j.txt",
        "-o",
        "/dev/null",
        "--wrap",
        "echo oops >&2; exit 3",
    ]);
    c.wait_state(&ok.to_string(), &["COMPLETED"], T);
    assert_eq!(
        c.read_when_ready(&format!("out-pat-{ok}.txt"), T),
        "wrapped\n"
    );
    c.wait_state(&bad.to_string(), &["FAILED"], T);
    assert_eq!(c.read_when_ready(&format!("err-{bad}.txt"), T), "oops\n");
    let show = c.ok("scontrol", &["show", "job", &bad.to_string()]);
    assert!(show.contains("ExitCode=3:0"), "{show}");
}

#[test]
fn arrays_and_dependencies() {
    let c = LocalCluster::start(&[node("n1", 2, 1000), node("n2", 2, 1000)], "");
    let array = c.sbatch(&[
        "--array=1-4%2",
        "-o",
        "arr-%A_%a.out",
        "--wrap",
        "echo task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT",
    ]);
    let after = c.sbatch(&[
        "-d",
        &format!("afterok:{array}"),
        "-o",
        "after.out",
        "--wrap",
        "cat arr-*.out | sort",
    ]);
    c.wait_state(&after.to_string(), &["COMPLETED"], T);
    let text = c.read_when_ready("after.out", T);
    assert_eq!(
        text,
        "task 1 of 4\ntask 2 of 4\ntask 3 of 4\ntask 4 of 4\n",
        "{}",
        c.logs()
    );
}

#[test]
fn cancel_sends_sigterm_to_the_script() {
    let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let script = c.script(
        "trap.sh",
        "#!/bin/bash\ntrap 'echo got TERM > trapped.txt; exit 0' TERM\necho started > started.txt\nwhile true; do sleep 0.1; done\n",
    );
    let id = c
        .sbatch(&["-o", "/dev/null", script.to_str().unwrap()])
        .to_string();
    c.read_when_ready("started.txt", T);
    // A pending job behind it is cancelled at once.
    let queued = c.sbatch(&["--wrap", "true"]).to_string();
    c.ok("scancel", &[&queued]);
    assert_eq!(c.wait_state(&queued, &["CANCELLED"], T), "CANCELLED");
    c.ok("scancel", &[&id]);
    c.wait_state(&id, &["CANCELLED"], T);
    assert_eq!(c.read_when_ready("trapped.txt", T), "got TERM\n");
}

#[test]
fn time_limit_ends_a_job_as_timeout() {
    let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let id = c
        .sbatch(&["-t", "0:02", "-o", "/dev/null", "--wrap", "sleep 60"])
        .to_string();
    c.wait_state(&id, &["TIMEOUT"], Duration::from_secs(40));
}

#[test]
fn drain_keeps_new_jobs_off_a_node_and_resume_brings_it_back() {
    let c = LocalCluster::start(&[node("n1", 1, 1000), node("n2", 1, 1000)], "");
    c.ok(
        "scontrol",
        &["update", "NodeName=n1", "State=DRAIN", "Reason=maintenance"],
    );
    let sinfo = c.ok("sinfo", &["-R", "-h"]);
    assert!(sinfo.contains("maintenance"), "{sinfo}");
    let a = c
        .sbatch(&["-o", "/dev/null", "--wrap", "sleep 1"])
        .to_string();
    let b = c
        .sbatch(&["-o", "/dev/null", "--wrap", "sleep 1"])
        .to_string();
    c.wait_state(&a, &["RUNNING", "COMPLETED"], T);
    let nodes = c.ok("squeue", &["-h", "-t", "all", "-o", "%N", "-j", &a]);
    assert_eq!(nodes.trim(), "n2");
    c.ok("scontrol", &["update", "NodeName=n1", "State=RESUME"]);
    c.wait_state(&b, &["COMPLETED"], T);
}

#[test]
fn open_mode_append_keeps_earlier_output_and_requeued_runs_append() {
    let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let run = |args: &[&str]| {
        let id = c.sbatch(args).to_string();
        c.wait_state(&id, &["COMPLETED"], T);
    };
    let append = ["-o", "shared.out", "--open-mode=append", "--wrap"];
    run(&[&append[..], &["echo first"]].concat());
    run(&[&append[..], &["echo second"]].concat());
    assert_eq!(c.read_when_ready("shared.out", T), "first\nsecond\n");
    run(&["-o", "shared.out", "--wrap", "echo third"]);
    assert_eq!(
        c.read_when_ready("shared.out", T),
        "third\n",
        "truncated by default"
    );

    // A requeued run appends to what the first run wrote.
    let twice = "if [ -e ran.flag ]; then echo rerun; else touch ran.flag; echo run; sleep 60; fi";
    let id = c
        .sbatch(&["-o", "requeued.out", "--wrap", twice])
        .to_string();
    c.read_when_ready("requeued.out", T);
    c.ok("scontrol", &["requeue", &id]);
    c.wait_state(&id, &["COMPLETED"], Duration::from_secs(60));
    assert_eq!(c.read_when_ready("requeued.out", T), "run\nrerun\n");
}
