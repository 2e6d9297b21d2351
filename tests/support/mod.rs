//! A real cluster on loopback for end-to-end tests and benchmarks: `slinky slurmctld` and one
//! `slinky slurmd` per node as separate processes, driven through the real commands
//! (`slinky sbatch ...`) with `SLURM_CONF` pointing at a generated slurm.conf.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The slinky binary built for this test or bench.
pub fn slinky() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_slinky"))
}

pub struct Node {
    pub name: &'static str,
    pub cpus: u32,
    pub mem_mb: u64,
}

pub const fn node(name: &'static str, cpus: u32, mem_mb: u64) -> Node {
    Node { name, cpus, mem_mb }
}

pub struct LocalCluster {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    /// Where commands run (the submit directory).
    pub work: PathBuf,
    controller: Option<Child>,
    agents: HashMap<String, Child>,
    nodes: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl LocalCluster {
    /// Starts a controller and agents for `nodes` in partition `debug` (default), with
    /// `extra` appended to slurm.conf (more partitions, timers). Waits until every node is
    /// registered.
    pub fn start(nodes: &[Node], extra: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("slinky-e2e")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let mut text = format!(
            "ClusterName=e2e\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort={port}\n\
             SlurmUser={user}\nStateSaveLocation={}\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU_Memory\nSchedulerType=sched/backfill\n\
             SlurmdTimeout=5\nKillWait=2\nMinJobAge=600\n",
            dir.path().join("state").display()
        );
        for n in nodes {
            text.push_str(&format!(
                "NodeName={} CPUs={} RealMemory={} State=UNKNOWN\n",
                n.name, n.cpus, n.mem_mb
            ));
        }
        let names: Vec<String> = nodes.iter().map(|n| n.name.to_owned()).collect();
        text.push_str(&format!(
            "PartitionName=debug Nodes={} Default=YES MaxTime=INFINITE State=UP\n",
            names.join(",")
        ));
        text.push_str(extra);
        let conf = dir.path().join("slurm.conf");
        std::fs::write(&conf, text).unwrap();
        let mut cluster = Self {
            conf,
            work,
            controller: None,
            agents: HashMap::new(),
            nodes: names.clone(),
            dir,
        };
        cluster.start_controller();
        for name in &names {
            cluster.start_agent(name);
        }
        cluster.wait_nodes_up();
        cluster
    }

    fn log(&self, name: &str) -> std::fs::File {
        let logs = self.dir.path().join("log");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{name}.log")))
            .unwrap()
    }

    pub fn start_controller(&mut self) {
        let log = self.log("slurmctld");
        let child = Command::new(slinky())
            .args(["slurmctld", "-D", "-f"])
            .arg(&self.conf)
            .env("SLINKY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start slurmctld");
        self.controller = Some(child);
        self.wait_controller();
    }

    /// SIGKILLs the controller (no chance to save anything more).
    pub fn kill_controller(&mut self) {
        if let Some(mut c) = self.controller.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn start_agent(&mut self, name: &str) {
        let log = self.log(&format!("slurmd-{name}"));
        let child = Command::new(slinky())
            .args(["slurmd", "-D", "-N", name, "--conf"])
            .arg(&self.conf)
            .arg("--spool")
            .arg(self.dir.path().join("spool").join(name))
            .arg("--kill-jobs-on-exit")
            .env("SLURM_CONF", &self.conf)
            .env("SLINKY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start slurmd");
        self.agents.insert(name.to_owned(), child);
    }

    /// SIGKILLs a node's agent.
    pub fn kill_agent(&mut self, name: &str) {
        if let Some(mut a) = self.agents.remove(name) {
            let _ = a.kill();
            let _ = a.wait();
        }
    }

    /// A command (`sbatch`, `squeue`, ...) run as `slinky NAME` from the work directory.
    pub fn cmd(&self, name: &str) -> Command {
        let mut c = Command::new(slinky());
        c.arg(name)
            .current_dir(&self.work)
            .env("SLURM_CONF", &self.conf)
            .env_remove("SLURM_JOB_ID")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        self.cmd(name).args(args).output().expect("run command")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, name: &str, args: &[&str]) -> String {
        let out = self.run(name, args);
        assert!(
            out.status.success(),
            "{name} {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `sbatch --parsable ARGS` → the job id.
    pub fn sbatch(&self, args: &[&str]) -> u32 {
        let mut all = vec!["--parsable"];
        all.extend_from_slice(args);
        let out = self.ok("sbatch", &all);
        out.trim()
            .split(';')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("sbatch printed {out:?}"))
    }

    /// Writes a script into the work directory and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.work.join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    /// The job's state as `squeue -t all` prints it (`%T`), or "" when unknown.
    pub fn state(&self, job: &str) -> String {
        let out = self.run("squeue", &["-h", "-t", "all", "-j", job, "-o", "%T"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    }

    /// Waits until `job` is in one of `states`; panics with the logs after `timeout`.
    pub fn wait_state(&self, job: &str, states: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state(job);
            if states.contains(&state.as_str()) {
                return state;
            }
            if Instant::now() > deadline {
                panic!(
                    "job {job} still {state:?} after {timeout:?}, wanted {states:?}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_controller(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.run("sinfo", &["-h"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("controller did not come up\n{}", self.logs());
    }

    /// Waits until no node is flagged not responding (`*`) or unknown.
    pub fn wait_nodes_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let out = self.run("sinfo", &["-h", "-N", "-o", "%N %t"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let lines: Vec<&str> = text.lines().collect();
            if out.status.success()
                && lines.len() >= self.nodes.len()
                && lines.iter().all(|l| !l.contains('*') && !l.contains("unk"))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nodes did not register\n{}", self.logs());
    }

    /// A file in the work directory, once it exists and is non-empty.
    pub fn read_when_ready(&self, name: &str, timeout: Duration) -> String {
        let path = self.work.join(name);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && !text.is_empty()
            {
                return text;
            }
            if Instant::now() > deadline {
                panic!("{} never appeared\n{}", path.display(), self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// All daemon logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("log")) {
            for e in entries.flatten() {
                out.push_str(&format!("--- {}\n", e.path().display()));
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The controller's resident memory, from /proc (KiB).
    pub fn controller_rss_kb(&self) -> u64 {
        let Some(c) = &self.controller else { return 0 };
        std::fs::read_to_string(format!("/proc/{}/status", c.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        // Agents first, gently, so they end their jobs.
        for a in self.agents.values() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(a.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for a in self.agents.values_mut() {
            while Instant::now() < deadline {
                if matches!(a.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = a.kill();
            let _ = a.wait();
        }
        self.kill_controller();
    }
}
