//! Accounting's associations and limits enforced by the controller
//! (`AccountingStorageEnforce=associations,limits,qos`): a user without an association
//! cannot submit; limits set with `sacctmgr` keep jobs pending with Slurm's reason and take
//! effect, both ways, without restarting anything.

use crate::accounting::{Dbd, dbd_dir};
use crate::support::LocalCluster;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

fn user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map_or_else(|| "root".to_owned(), |u| u.name)
}

/// Retries `sbatch --parsable ARGS` until it succeeds (the controller reads accounting's
/// tables every two seconds); returns the job id.
fn sbatch_eventually(c: &LocalCluster, args: &[&str]) -> String {
    let deadline = Instant::now() + T;
    loop {
        let mut all = vec!["--parsable"];
        all.extend_from_slice(args);
        let out = c.run("sbatch", &all);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "sbatch kept failing: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn reason(c: &LocalCluster, job: &str) -> String {
    c.ok("squeue", &["-h", "-j", job, "-o", "%T %r"])
        .trim()
        .to_owned()
}

fn wait_for(c: &LocalCluster, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn associations_and_limits_from_sacctmgr_are_enforced_live() {
    let dir = dbd_dir();
    let dbd = Dbd::start(dir.path());
    let c = dbd.cluster_with("AccountingStorageEnforce=associations,limits,qos\n");
    let me = user();

    // No association yet: refused with Slurm's message.
    c.wait_log("slurmctld", &["associations:"], T);
    let out = c.run("sbatch", &["--wrap", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"
    );

    c.ok("sacctmgr", &["-i", "add", "account", "physics"]);
    c.ok(
        "sacctmgr",
        &["-i", "add", "user", &me, "Account=physics", "MaxJobs=1"],
    );
    // Taken into account without a restart. (root's default account is `root`, as in Slurm,
    // so the jobs name theirs.)
    let first = sbatch_eventually(
        &c,
        &["-A", "physics", "-o", "/dev/null", "--wrap", "sleep 30"],
    );
    let second = c
        .sbatch(&["-A", "physics", "-o", "/dev/null", "--wrap", "true"])
        .to_string();
    c.wait_state(&first, &["RUNNING"], T);
    wait_for(&c, "the second job to wait on MaxJobs", || {
        reason(&c, &second) == "PENDING AssocMaxJobsLimit"
    });
    let account = c.ok("squeue", &["-h", "-j", &first, "-o", "%a"]);
    assert_eq!(account.trim(), "physics");

    // Raising the limit lets it run, again without a restart.
    c.ok(
        "sacctmgr",
        &["-i", "modify", "user", &me, "set", "MaxJobs=2"],
    );
    c.wait_state(&second, &["COMPLETED"], T);

    // A group CPU limit on the account keeps the next one pending with AssocGrpCpuLimit
    // (once the controller has read it: within two seconds).
    let loads = |c: &LocalCluster| c.log_text("slurmctld").matches("associations:").count();
    let before = loads(&c);
    c.ok(
        "sacctmgr",
        &["-i", "modify", "account", "physics", "set", "GrpTRES=cpu=1"],
    );
    wait_for(&c, "the controller to read the new limit", || {
        loads(&c) > before
    });
    let third = c
        .sbatch(&["-A", "physics", "-o", "/dev/null", "--wrap", "true"])
        .to_string();
    wait_for(&c, "the third job to wait on GrpTRES", || {
        reason(&c, &third) == "PENDING AssocGrpCpuLimit"
    });
    c.ok("scancel", &[&first]);
    c.wait_state(&third, &["COMPLETED"], T);
}

/// Fairshare from recorded usage: after a job in account `heavy` and a controller restart
/// (so nothing is remembered but what accounting recorded), a job in `light` gets the higher
/// priority and runs first.
#[test]
fn fairshare_comes_from_accountings_recorded_usage() {
    let dir = dbd_dir();
    let dbd = Dbd::start(dir.path());
    let mut c = dbd.cluster_with(
        "AccountingStorageEnforce=associations\nPriorityType=priority/multifactor\n\
         PriorityWeightFairshare=100000\nPriorityWeightAge=0\nPriorityWeightJobSize=0\n\
         PriorityWeightPartition=0\nPriorityDecayHalfLife=7-0\n",
    );
    let me = user();
    c.ok("sacctmgr", &["-i", "add", "account", "heavy,light"]);
    c.ok(
        "sacctmgr",
        &["-i", "add", "user", &me, "Account=heavy,light"],
    );
    let used = sbatch_eventually(
        &c,
        &[
            "-A",
            "heavy",
            "-n",
            "2",
            "-o",
            "/dev/null",
            "--wrap",
            "sleep 2",
        ],
    );
    c.wait_state(&used, &["COMPLETED"], T);
    wait_for(&c, "the usage to be recorded", || {
        c.ok("sacct", &["-X", "-n", "-P", "-o", "State", "-j", &used])
            .trim()
            == "COMPLETED"
    });

    // Forget everything but the journal: the engine's own usage counts are gone.
    c.kill_controller();
    c.start_controller();
    c.wait_controller();
    c.wait_log("slurmctld", &["associations:"], T);
    std::thread::sleep(Duration::from_secs(3));

    // Two-CPU jobs of an account, on /dev/null.
    let two_cpus = |account: &str, command: &str| {
        let args = [
            "-A",
            account,
            "-n",
            "2",
            "-o",
            "/dev/null",
            "--wrap",
            command,
        ];
        c.sbatch(&args).to_string()
    };
    let blocker = two_cpus("light", "sleep 4");
    c.wait_state(&blocker, &["RUNNING"], T);
    let heavy = two_cpus("heavy", "true");
    let light = two_cpus("light", "true");
    let priority = |job: &str| -> u64 {
        c.ok("squeue", &["-h", "-j", job, "-o", "%Q"])
            .trim()
            .parse()
            .unwrap_or(0)
    };
    wait_for(&c, "priorities from fairshare", || {
        priority(&light) > priority(&heavy)
    });
    // The light account's job, submitted later, waits on Resources; the heavy one behind it.
    wait_for(&c, "the pending reasons", || {
        reason(&c, &light) == "PENDING Resources" && reason(&c, &heavy) == "PENDING Priority"
    });
}
