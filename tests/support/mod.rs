//! A real cluster on loopback for end-to-end tests and benchmarks: `slinky slurmctld`, one
//! `slinky slurmd` per node and the credential signer `slinky authd` as separate processes,
//! driven through the real commands (`slinky sbatch ...`) with `SLURM_CONF` pointing at a
//! generated slurm.conf. Every cluster is authenticated (a fresh cluster key, mode 0400)
//! unless a test asks for `AuthType=auth/none`.
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
    /// The cluster key and the signer's socket (`None` under auth/none).
    pub auth: Option<Auth>,
    controller: Option<Child>,
    agents: HashMap<String, Child>,
    authd: Option<Child>,
    nodes: Vec<String>,
}

pub struct Auth {
    pub key: PathBuf,
    pub socket: PathBuf,
}

/// How to start a cluster.
pub struct Setup {
    /// Sign and verify credentials (else `AuthType=auth/none`).
    pub auth: bool,
    /// The nodes whose agents start (default: all).
    pub agents: Option<Vec<String>>,
    /// An existing cluster key to use (one the dbd also holds) instead of a fresh one.
    pub key: Option<PathBuf>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            auth: true,
            agents: None,
            key: None,
        }
    }
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
        Self::start_with(nodes, extra, Setup::default())
    }

    /// [`Self::start`] with a choice of authentication and of the agents to start (waits
    /// for those to register).
    pub fn start_with(nodes: &[Node], extra: &str, setup: Setup) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("slinky-e2e")
            .tempdir()
            .expect("temp dir");
        // Other users (tests that act as them) reach the conf and the signer's socket; the
        // key itself stays readable by its owner only.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = free_port();
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let mut text = format!(
            "ClusterName=e2e\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort={port}\n\
             SlurmUser={user}\nStateSaveLocation={}\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU_Memory\nSchedulerType=sched/backfill\n\
             SchedulerParameters=bf_interval=1\n\
             SlurmdTimeout=5\nKillWait=2\nMinJobAge=600\n",
            dir.path().join("state").display()
        );
        let auth = setup.auth.then(|| Auth {
            key: setup
                .key
                .clone()
                .unwrap_or_else(|| dir.path().join("slurm.key")),
            socket: dir.path().join("auth.socket"),
        });
        match &auth {
            Some(a) => {
                if setup.key.is_none() {
                    slurm_core::auth::ClusterKey::generate(&a.key).expect("cluster key");
                }
                text.push_str(&format!(
                    "AuthType=auth/slurm\nAuthInfo=key={},socket={}\n",
                    a.key.display(),
                    a.socket.display()
                ));
            }
            None => text.push_str("AuthType=auth/none\n"),
        }
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
        let started = setup.agents.unwrap_or_else(|| names.clone());
        let mut cluster = Self {
            conf,
            work,
            auth,
            controller: None,
            agents: HashMap::new(),
            authd: None,
            nodes: started.clone(),
            dir,
        };
        if cluster.auth.is_some() {
            cluster.start_authd();
        }
        cluster.start_controller();
        for name in &started {
            cluster.start_agent(name);
        }
        cluster.wait_nodes_up();
        cluster
    }

    /// Starts `slinky authd` (the signer) and waits for its socket.
    pub fn start_authd(&mut self) {
        let auth = self.auth.as_ref().expect("an authenticated cluster");
        let log = self.log("authd");
        let child = Command::new(slinky())
            .arg("authd")
            .arg("--key")
            .arg(&auth.key)
            .arg("--socket")
            .arg(&auth.socket)
            .env("SLINKY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start authd");
        self.authd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&auth.socket).is_err() {
            if Instant::now() > deadline {
                panic!("authd did not come up\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the signer (commands can no longer get credentials).
    pub fn kill_authd(&mut self) {
        if let Some(mut a) = self.authd.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
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
        let conf = self.conf.clone();
        self.start_agent_with_conf(name, &conf);
    }

    /// Starts a node's agent with another slurm.conf (another key, another AuthType).
    pub fn start_agent_with_conf(&mut self, name: &str, conf: &Path) {
        let log = self.log(&format!("slurmd-{name}"));
        let child = Command::new(slinky())
            .args(["slurmd", "-D", "-N", name, "--conf"])
            .arg(conf)
            .arg("--spool")
            .arg(self.dir.path().join("spool").join(name))
            .arg("--kill-jobs-on-exit")
            .env("SLURM_CONF", conf)
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
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let name = l.split_whitespace().next().unwrap_or("");
                    self.nodes.iter().any(|n| n == name)
                })
                .collect();
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

    /// The whole log of a daemon (`slurmctld`, `slurmd-n1`, `authd`).
    pub fn log_text(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("log").join(format!("{name}.log")))
            .unwrap_or_default()
    }

    /// Waits until a daemon's log has a line containing every one of `words`; returns it.
    pub fn wait_log(&self, name: &str, words: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .log_text(name)
                .lines()
                .find(|l| words.iter().all(|w| l.contains(w)))
            {
                return line.to_owned();
            }
            if Instant::now() > deadline {
                panic!(
                    "no line with {words:?} in the {name} log after {timeout:?}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The controller's gRPC address (`http://127.0.0.1:PORT`).
    pub fn controller_uri(&self) -> String {
        let loaded = slurm_core::config::load_slurm_conf(&self.conf).expect("conf");
        slurm_core::client::controller_uri(&loaded.cluster).expect("uri")
    }

    /// A copy of the slinky binary that every user may run (the build's own lives under the
    /// builder's home, which other users may not enter).
    pub fn public_slinky(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("bin").join("slinky");
        if !path.exists() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::set_permissions(
                path.parent().unwrap(),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
            let tmp = path.with_extension("tmp");
            std::fs::copy(slinky(), &tmp).expect("copy slinky");
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        }
        path
    }

    /// A command run as another user (`uid`, `gid`) from `work`, through
    /// [`Self::public_slinky`].
    pub fn cmd_as(&self, uid: u32, gid: u32, work: &Path, name: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new(self.public_slinky());
        c.arg(name)
            .current_dir(work)
            .env("SLURM_CONF", &self.conf)
            .env_remove("SLURM_JOB_ID")
            .env("HOME", work)
            .stdin(Stdio::null())
            .uid(uid)
            .gid(gid);
        c
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
        self.kill_authd();
    }
}
