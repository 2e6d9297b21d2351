//! Accounting end to end: `slinky slurmdbd` on SQLite as its own process, the controller's
//! queue of job records to it, and `sacct`. The dbd is killed mid-run: the controller keeps
//! scheduling, spools what it cannot deliver, and replays it in order, without duplicates,
//! when the dbd returns (even after a controller restart in between).

use crate::support::{LocalCluster, node, slinky};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// A `slinky slurmdbd` process on a fixed loopback port.
struct Dbd {
    port: u16,
    url: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Dbd {
    fn start(dir: &std::path::Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut dbd = Self {
            port,
            url: format!("sqlite://{}", dir.join("acct.db").display()),
            log: dir.join("slurmdbd.log"),
            child: None,
        };
        dbd.restart();
        dbd
    }

    fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(slinky())
            .args(["slurmdbd", "-D", "--storage", &self.url, "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .env("SLINKY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start slurmdbd");
        self.child = Some(child);
        let deadline = Instant::now() + T;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "slurmdbd did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn conf(&self) -> String {
        format!(
            "AccountingStorageType=accounting_storage/slurmdbd\n\
             AccountingStorageHost=127.0.0.1\nAccountingStoragePort={}\n",
            self.port
        )
    }
}

impl Drop for Dbd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn dbd_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("slinky-e2e-dbd")
        .tempdir()
        .unwrap()
}

/// `sacct -X -n -P -o JobID,State,ExitCode -j IDS` as (id, state, exit code) rows.
fn sacct_rows(c: &LocalCluster, jobs: &str) -> Vec<(String, String, String)> {
    let out = c.ok(
        "sacct",
        &["-X", "-n", "-P", "-o", "JobID,State,ExitCode", "-j", jobs],
    );
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect()
}

/// Waits until sacct reports exactly `want` for `jobs`.
fn wait_sacct(c: &LocalCluster, jobs: &str, want: &[(&str, &str, &str)]) {
    let deadline = Instant::now() + T;
    loop {
        let rows = sacct_rows(c, jobs);
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|(a, b, e)| (a.as_str(), b.as_str(), e.as_str()))
            .collect();
        if got == want {
            return;
        }
        if Instant::now() > deadline {
            panic!("sacct shows {got:?}, wanted {want:?}\n{}", c.logs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn jobs_are_recorded_from_submit_to_end() {
    let dir = dbd_dir();
    let dbd = Dbd::start(dir.path());
    let c = LocalCluster::start(&[node("n1", 2, 1000)], &dbd.conf());
    let uid = nix::unistd::getuid().as_raw();
    // Recorded at submit: visible as soon as sbatch returns.
    let held = c.sbatch(&["-H", "-J", "held", "--wrap", "true"]);
    let out = c.ok("sacct", &["-j", &held.to_string()]);
    assert_eq!(
        out,
        format!(
            "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n\
             ------------ ---------- ---------- ---------- ---------- ---------- -------- \n\
             {held:<12}       held      debug                     1    PENDING      0:0 \n"
        )
    );
    let failing = c.sbatch(&[
        "-J",
        "fails",
        "-o",
        "/dev/null",
        "--wrap",
        "sleep 1; exit 3",
    ]);
    c.wait_state(&failing.to_string(), &["FAILED"], T);
    c.ok("scancel", &[&held.to_string()]);
    let ids = format!("{held},{failing}");
    wait_sacct(
        &c,
        &ids,
        &[
            (&held.to_string(), &format!("CANCELLED by {uid}"), "0:0"),
            (&failing.to_string(), "FAILED", "3:0"),
        ],
    );
    // The batch step, with what it used.
    let out = c.ok(
        "sacct",
        &[
            "-n",
            "-P",
            "-j",
            &failing.to_string(),
            "-o",
            "JobID,JobName,State,ExitCode,Elapsed,NodeList,AllocCPUS,MaxRSS,TotalCPU",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!("{failing}|fails|FAILED|3:0|00:00:0")),
        "{out}"
    );
    assert!(lines[0].contains("|n1|1||"), "{out}");
    let step: Vec<&str> = lines[1].split('|').collect();
    assert_eq!(
        &step[..4],
        [
            format!("{failing}.batch").as_str(),
            "batch",
            "FAILED",
            "3:0"
        ],
        "{out}"
    );
    assert_eq!(step[5], "n1", "{out}");
    assert!(
        step[7].ends_with('K') || step[7].ends_with('M'),
        "MaxRSS: {out}"
    );
    // A user's own jobs by default; -u picks others; -s filters.
    let out = c.ok("sacct", &["-X", "-n", "-u", "nobody"]);
    assert_eq!(out, "");
    let out = c.ok(
        "sacct",
        &[
            "-X",
            "-n",
            "-P",
            "-o",
            "JobID",
            "-s",
            "F",
            "-S",
            "now-1hour",
        ],
    );
    assert_eq!(out, format!("{failing}\n"));
}

#[test]
fn a_dbd_outage_loses_and_duplicates_nothing() {
    let dir = dbd_dir();
    let mut dbd = Dbd::start(dir.path());
    let mut c = LocalCluster::start(&[node("n1", 2, 1000)], &dbd.conf());
    let first = c.sbatch(&["-o", "/dev/null", "--wrap", "true"]);
    c.wait_state(&first.to_string(), &["COMPLETED"], T);
    wait_sacct(
        &c,
        &first.to_string(),
        &[(&first.to_string(), "COMPLETED", "0:0")],
    );

    dbd.kill();
    // sacct says so, the way Slurm's does.
    let out = c.run("sacct", &["-X"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Problem talking to the database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Scheduling goes on without the dbd, and submission does not wait for it.
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(c.sbatch(&["-o", "/dev/null", "--wrap", &format!("exit {}", i % 2)]));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    for id in &ids {
        c.wait_state(&id.to_string(), &["COMPLETED", "FAILED"], T);
    }
    // The spool is on disk: a controller killed meanwhile still delivers it.
    c.kill_controller();
    c.start_controller();
    let held = c.sbatch(&["-H", "--wrap", "true"]);
    dbd.restart();

    let all: Vec<String> = std::iter::once(first)
        .chain(ids.iter().copied())
        .chain(std::iter::once(held))
        .map(|id| id.to_string())
        .collect();
    let want: Vec<(String, &str, &str)> = all
        .iter()
        .enumerate()
        .map(|(n, id)| match n {
            0 => (id.clone(), "COMPLETED", "0:0"),
            n if n == all.len() - 1 => (id.clone(), "PENDING", "0:0"),
            n if (n - 1) % 2 == 0 => (id.clone(), "COMPLETED", "0:0"),
            _ => (id.clone(), "FAILED", "1:0"),
        })
        .collect();
    let want_refs: Vec<(&str, &str, &str)> =
        want.iter().map(|(a, b, e)| (a.as_str(), *b, *e)).collect();
    wait_sacct(&c, &all.join(","), &want_refs);
    // One row per job and one batch step per job that ran: nothing was stored twice.
    let out = c.ok(
        "sacct",
        &["-n", "-P", "-o", "JobIDRaw", "-j", &all.join(",")],
    );
    let mut rows: Vec<&str> = out.lines().collect();
    let total = rows.len();
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), total, "{out}");
    assert_eq!(total, all.len() * 2 - 1, "{out}");
    assert!(
        c.log_text("slurmctld").contains("reachable again"),
        "{}",
        c.logs()
    );
}
