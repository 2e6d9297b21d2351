//! Daemon failures and user errors.

use crate::support::{LocalCluster, node};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[test]
fn controller_sigkill_and_restart_loses_nothing() {
    let mut c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let running = c
        .sbatch(&["-o", "r.out", "--wrap", "sleep 3; echo finished"])
        .to_string();
    c.wait_state(&running, &["RUNNING"], T);
    let pending = c
        .sbatch(&["-o", "p.out", "--wrap", "echo second"])
        .to_string();
    c.kill_controller();
    c.start_controller();
    // Both jobs are still known; the running one finishes and is recorded.
    c.wait_state(&running, &["COMPLETED"], T);
    assert_eq!(c.read_when_ready("r.out", T), "finished\n");
    c.wait_state(&pending, &["COMPLETED"], T);
    assert_eq!(c.read_when_ready("p.out", T), "second\n");
}

#[test]
fn a_dead_agent_fails_or_requeues_its_jobs() {
    let mut c = LocalCluster::start(&[node("n1", 1, 1000), node("n2", 1, 1000)], "");
    c.ok(
        "scontrol",
        &["update", "NodeName=n2", "State=DRAIN", "Reason=hold"],
    );
    let no_requeue = c
        .sbatch(&["--no-requeue", "-o", "/dev/null", "--wrap", "sleep 12"])
        .to_string();
    c.wait_state(&no_requeue, &["RUNNING"], T);
    c.kill_agent("n1");
    // SlurmdTimeout=5: the node goes DOWN and the job ends NODE_FAIL.
    c.wait_state(&no_requeue, &["NODE_FAIL"], T);
    let sinfo = c.ok("sinfo", &["-h", "-N", "-o", "%N %t"]);
    assert!(sinfo.contains("n1 down"), "{sinfo}");
}

#[test]
fn errors_read_like_slurm() {
    let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let out = c.run("sbatch", &["-p", "nosuch", "--wrap", "true"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "sbatch: error: Batch job submission failed: Invalid partition name specified"
        ),
        "{err}"
    );
    let out = c.run("scontrol", &["show", "job", "4242"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Invalid job id specified"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
