//! Real Python clients of Slurm against a real cluster: submitit (a function's return value,
//! an array through `map_array`, a cancelled job) and dask-jobqueue's `SLURMCluster` (two
//! workers as batch jobs, a computation, `close`). They run `sbatch`, `sacct`, `scancel`
//! and (inside the batch script) `srun` by name and parse what they print, so the commands
//! are on `PATH` as links to the slinky binary, as `slinky up` makes them.
//!
//! The libraries come from PyPI into a virtual environment under the cache directory
//! (`$HOME/.cache/slinky/pyenv`, or `SLINKY_PYENV`); `.ci/run` installs them before the
//! tests, and a test installs them itself when they are missing. Without them (no network,
//! no `python3 -m venv`) a test fails under CI (`CI` set) and is skipped elsewhere, saying
//! why.

use crate::accounting::{Dbd, dbd_dir};
use crate::support::{LocalCluster, slinky};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What `.ci/run` installs (keep the two lists the same).
pub const PACKAGES: &[&str] = &[
    "submitit==1.5.4",
    "dask-jobqueue==0.9.0",
    "distributed==2026.8.0",
];

/// The commands the clients run, linked into a directory on their `PATH`.
const LINKS: &[&str] = &[
    "sbatch", "squeue", "sacct", "scancel", "srun", "sinfo", "scontrol", "sstat",
];

/// The virtual environment's directory.
fn pyenv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLINKY_PYENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/slinky/pyenv")
}

fn imports(python: &Path, modules: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The environment's python once `submitit`, `dask_jobqueue` and `distributed` import,
/// installing them first when they do not; `Err` says why not.
fn pyenv() -> Result<PathBuf, String> {
    static READY: OnceLock<Mutex<Option<Result<PathBuf, String>>>> = OnceLock::new();
    let cell = READY.get_or_init(|| Mutex::new(None));
    let mut guard = cell.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = guard.as_ref() {
        return r.clone();
    }
    let result = install();
    *guard = Some(result.clone());
    result
}

fn install() -> Result<PathBuf, String> {
    const MODULES: &str = "submitit, dask_jobqueue, distributed";
    let dir = pyenv_dir();
    let python = dir.join("bin/python");
    if imports(&python, MODULES) {
        return Ok(python);
    }
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        if !status.success() {
            return Err(format!(
                "python3 -m venv {} failed ({status})",
                dir.display()
            ));
        }
    }
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !out.status.success() || !imports(&python, MODULES) {
        return Err(format!(
            "pip install {} into {} failed ({}):\n{}",
            PACKAGES.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(python)
}

/// The python to run the clients with; `None` (after saying why) when a local run has to
/// skip. Under CI a missing environment fails the test.
fn python_or_skip(test: &str) -> Option<PathBuf> {
    match pyenv() {
        Ok(p) => Some(p),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the Python clients are required under CI: {why}")
        }
        Err(why) => {
            eprintln!("skipping {test}: the Python clients are not available: {why}");
            None
        }
    }
}

/// A cluster that records jobs in its own dbd (submitit reads states from `sacct`), with
/// the Slurm commands linked under their own names.
struct ClientCluster {
    cluster: LocalCluster,
    bin: PathBuf,
    // Dropped after the cluster (fields drop in order).
    _dbd: Dbd,
    _dbd_dir: tempfile::TempDir,
}

impl ClientCluster {
    fn start() -> Self {
        let dbd_dir = dbd_dir();
        let dbd = Dbd::start(dbd_dir.path());
        let cluster = dbd.cluster_with("");
        let bin = cluster.path().join("links");
        std::fs::create_dir_all(&bin).unwrap();
        for name in LINKS {
            std::os::unix::fs::symlink(slinky(), bin.join(name)).unwrap();
        }
        Self {
            cluster,
            bin,
            _dbd: dbd,
            _dbd_dir: dbd_dir,
        }
    }

    /// Runs a Python script from the work directory with the commands on `PATH`; fails the
    /// test (with its output and the daemons' logs) unless it exits 0 within `timeout`.
    fn python(&self, python: &Path, name: &str, body: &str, timeout: Duration) -> String {
        let c = &self.cluster;
        let script = c.work.join(name);
        std::fs::write(&script, body).unwrap();
        let out_path = c.path().join(format!("{name}.stdout"));
        let err_path = c.path().join(format!("{name}.stderr"));
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new(python)
            .arg(&script)
            .current_dir(&c.work)
            .env("PATH", path)
            .env("SLURM_CONF", &c.conf)
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("SLURM_JOB_ID")
            .env_remove("SLURM_JOBID")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("start python");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for python") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        match status {
            Some(s) if s.success() => stdout,
            other => panic!(
                "{name} {}:\n--- stdout\n{stdout}--- stderr\n{stderr}\n--- sacct\n{}\n{}",
                other.map_or_else(|| format!("ran past {timeout:?}"), |s| s.to_string()),
                String::from_utf8_lossy(
                    &c.run("sacct", &["-a", "-P", "-o", "JobID,JobName,State,ExitCode"])
                        .stdout
                ),
                c.logs()
            ),
        }
    }
}

/// The value printed after `key=` on a line of the script's output.
fn printed<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in:\n{out}"))
}

const SUBMITIT: &str = r#"
import sys, time
import submitit

def add(a, b):
    return a + b

def square(x):
    return x * x

def forever():
    time.sleep(600)

executor = submitit.SlurmExecutor(folder="logs/%j", python=sys.executable)
executor.update_parameters(time=5, mem="100M", cpus_per_task=1)

job = executor.submit(add, 2, 3)
print(f"job={job.job_id}")
print(f"result={job.result()}")
# The result is written before the job ends: wait for sacct to say so.
deadline = time.time() + 60
while job.watcher.get_state(job.job_id, mode="force") != "COMPLETED":
    assert time.time() < deadline, job.state
    time.sleep(0.5)
print(f"state={job.state}")

jobs = executor.map_array(square, [1, 2, 3])
print(f"array={','.join(j.job_id for j in jobs)}")
print(f"squares={','.join(str(j.result()) for j in jobs)}")

slow = executor.submit(forever)
print(f"slow={slow.job_id}")
deadline = time.time() + 60
while slow.watcher.get_state(slow.job_id, mode="force") != "RUNNING":
    assert time.time() < deadline, slow.state
    time.sleep(0.5)
slow.cancel()
deadline = time.time() + 60
while not slow.watcher.get_state(slow.job_id, mode="force").startswith("CANCELLED"):
    assert time.time() < deadline, slow.state
    time.sleep(0.5)
print(f"cancelled={slow.state}")
"#;

#[test]
fn submitit_result_array_and_cancel() {
    let Some(python) = python_or_skip("submitit_result_array_and_cancel") else {
        return;
    };
    let cc = ClientCluster::start();
    let out = cc.python(
        &python,
        "submitit_run.py",
        SUBMITIT,
        Duration::from_secs(240),
    );
    assert_eq!(printed(&out, "result"), "5");
    assert_eq!(printed(&out, "state"), "COMPLETED");
    let job = printed(&out, "job");
    let array = printed(&out, "array");
    let main = array.split('_').next().unwrap();
    assert_eq!(array, format!("{main}_0,{main}_1,{main}_2"));
    assert_eq!(printed(&out, "squares"), "1,4,9");
    assert!(printed(&out, "cancelled").starts_with("CANCELLED"), "{out}");
    // The function ran in an srun step inside the batch script: sacct has both.
    let acct = cc
        .cluster
        .ok("sacct", &["-P", "-n", "-o", "JobID,State", "-j", job]);
    assert!(acct.contains(&format!("{job}|COMPLETED")), "{acct}");
    assert!(acct.contains(&format!("{job}.batch|COMPLETED")), "{acct}");
    assert!(acct.contains(&format!("{job}.0|COMPLETED")), "{acct}");
}

const DASK: &str = r#"
import sys
from dask_jobqueue import SLURMCluster
from distributed import Client

cluster = SLURMCluster(
    cores=1, processes=1, memory="400MB", walltime="00:10:00",
    python=sys.executable, log_directory="dask-logs", death_timeout=60,
    scheduler_options={"host": "127.0.0.1"},
)
cluster.scale(2)
client = Client(cluster)
client.wait_for_workers(2, timeout=150)
print(f"workers={len(client.scheduler_info()['workers'])}")
futures = client.map(lambda x: x * x, range(10))
print(f"total={client.submit(sum, futures).result()}")
client.close()
cluster.close()
print("closed=yes")
"#;

#[test]
fn dask_jobqueue_cluster_scales_computes_and_closes() {
    let Some(python) = python_or_skip("dask_jobqueue_cluster_scales_computes_and_closes") else {
        return;
    };
    let cc = ClientCluster::start();
    let out = cc.python(&python, "dask_run.py", DASK, Duration::from_secs(240));
    assert_eq!(printed(&out, "workers"), "2");
    assert_eq!(printed(&out, "total"), "285");
    assert_eq!(printed(&out, "closed"), "yes");
    // close() cancelled both worker jobs.
    let c = &cc.cluster;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let states = c.ok(
            "squeue",
            &["-h", "-t", "all", "-n", "dask-worker", "-o", "%T"],
        );
        let states: Vec<&str> = states.lines().map(str::trim).collect();
        if states.len() == 2 && states.iter().all(|s| *s == "CANCELLED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dask workers not cancelled: {states:?}\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
