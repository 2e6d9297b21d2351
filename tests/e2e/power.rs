//! The dynamic path without Kubernetes: `slinky up` with `State=CLOUD` nodes. The
//! controller resumes powered-down nodes when a job is allocated to them and suspends them
//! after SuspendTime idle; the local node provider (the operator's provisioning code with
//! processes instead of pods) starts and stops their agents.

use crate::support::slinky;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONF: &str = "\
ClusterName=cloud-test
SlurmctldHost=controller
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
GresTypes=gpu
SlurmdTimeout=30
SuspendTime=3
SuspendTimeout=1
ResumeTimeout=60
NodeName=static1 CPUs=1 RealMemory=512 State=UNKNOWN
NodeName=gpu[1-3] CPUs=2 RealMemory=512 Gres=gpu:2 State=CLOUD
PartitionName=cpu Nodes=static1 Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=gpu[1-3] MaxTime=INFINITE State=UP
";

/// A `slinky up` process, stopped (SIGTERM, as Ctrl-C) when dropped.
struct Up {
    child: Child,
    dir: tempfile::TempDir,
}

impl Up {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("cloud.conf");
        std::fs::write(&conf, CONF).unwrap();
        let log = std::fs::File::create(dir.path().join("up.log")).unwrap();
        let child = Command::new(slinky())
            .arg("up")
            .arg("--dir")
            .arg(dir.path().join("cluster"))
            .arg("--config")
            .arg(&conf)
            .arg("--accounting")
            .arg("none")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start slinky up");
        let up = Self { child, dir };
        up.wait_for(Duration::from_secs(30), "the cluster to answer", || {
            up.sinfo("cpu") == "idle 1"
        });
        up
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("cluster").join("slurm.conf")
    }

    fn cmd(&self, name: &str, args: &[&str]) -> String {
        let out = Command::new(slinky())
            .arg(name)
            .args(args)
            .current_dir(self.dir.path())
            .env("SLURM_CONF", self.conf())
            .env_remove("SLURM_JOB_ID")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `STATE COUNT` of a partition's nodes, e.g. `idle~ 3`.
    fn sinfo(&self, partition: &str) -> String {
        if !self.conf().exists() {
            return String::new();
        }
        self.cmd("sinfo", &["-h", "-p", partition, "-o", "%t %D"])
            .lines()
            .collect::<Vec<_>>()
            .join(",")
    }

    fn state(&self, job: &str) -> String {
        self.cmd("squeue", &["-h", "-t", "all", "-j", job, "-o", "%T"])
    }

    fn log(&self) -> String {
        let mut text = std::fs::read_to_string(self.dir.path().join("up.log")).unwrap_or_default();
        let logs = self.dir.path().join("cluster").join("log");
        for entry in std::fs::read_dir(logs).into_iter().flatten().flatten() {
            text.push_str(&format!("\n--- {}\n", entry.path().display()));
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        text
    }

    fn wait_for(&self, timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The agent processes running for `node` (by their command line `slurmd -D -N NODE`).
fn agents_of(node: &str, conf_dir: &Path) -> usize {
    let conf = conf_dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmd| {
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            args.windows(2)
                .any(|w| w[0] == b"-N" && w[1] == node.as_bytes())
                && String::from_utf8_lossy(cmd).contains(&conf)
        })
        .count()
}

#[test]
fn cloud_nodes_start_for_a_job_and_stop_when_idle() {
    let up = Up::start();
    let cluster_dir = up.dir.path().join("cluster");
    assert_eq!(up.sinfo("gpu"), "idle~ 3", "cloud nodes start powered down");
    assert_eq!(agents_of("gpu1", &cluster_dir), 0);

    // A 2-node job resumes exactly the two nodes its allocation needs.
    let out = up.cmd(
        "sbatch",
        &[
            "--parsable",
            "-p",
            "gpu",
            "-N",
            "2",
            "--gres=gpu:2",
            "-o",
            "job-%j.out",
            "--wrap",
            "echo nodes=$SLURM_JOB_NODELIST gpus=$CUDA_VISIBLE_DEVICES; sleep 1",
        ],
    );
    let job: u32 = out
        .parse()
        .unwrap_or_else(|_| panic!("sbatch printed {out:?}"));
    up.wait_for(Duration::from_secs(60), "the job to complete", || {
        up.state(&job.to_string()) == "COMPLETED"
    });
    let output = std::fs::read_to_string(up.dir.path().join(format!("job-{job}.out"))).unwrap();
    assert_eq!(output.trim(), "nodes=gpu[1-2] gpus=0,1");
    assert_eq!(agents_of("gpu3", &cluster_dir), 0, "gpu3 was never needed");

    // --gpus-per-task binds each task of a step to its own GPU.
    let out = up.cmd(
        "srun",
        &[
            "-p",
            "gpu",
            "-N",
            "1",
            "-n",
            "2",
            "--gpus-per-task=1",
            "-l",
            "sh",
            "-c",
            "echo $CUDA_VISIBLE_DEVICES",
        ],
    );
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["0: 0", "1: 1"], "{out}");

    // Idle past SuspendTime (3 s) + SuspendTimeout (1 s): powered down again, agents gone.
    up.wait_for(Duration::from_secs(30), "the nodes to power down", || {
        up.sinfo("gpu") == "idle~ 3"
    });
    up.wait_for(Duration::from_secs(20), "the agents to stop", || {
        agents_of("gpu1", &cluster_dir) + agents_of("gpu2", &cluster_dir) == 0
    });

    // And they come back for the next job.
    let out = up.cmd(
        "sbatch",
        &["--parsable", "-p", "gpu", "-N", "3", "--wrap", "true"],
    );
    up.wait_for(
        Duration::from_secs(60),
        "the second job to complete",
        || up.state(out.trim()) == "COMPLETED",
    );
    assert!(
        up.log().contains("power save: resuming gpu1,gpu2,gpu3")
            || up.log().contains("resuming gpu[1-3]"),
        "{}",
        up.log()
    );
    assert_eq!(
        agents_of("static1", &cluster_dir),
        1,
        "the static node kept running"
    );
}
