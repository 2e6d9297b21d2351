//! Accounting end to end: `slinky slurmdbd` on SQLite as its own process, the controller's
//! queue of job records to it, and `sacct`. The dbd is killed mid-run: the controller keeps
//! scheduling, spools what it cannot deliver, and replays it in order, without duplicates,
//! when the dbd returns (even after a controller restart in between). The dbd holds the
//! cluster's key and refuses requests whose credentials it cannot verify.

use crate::support::{LocalCluster, Setup, node, slinky};
use slurm_core::auth::ClusterKey;
use slurm_core::auth::token::{self, Claims};
use slurm_core::proto::slurm_dbd::slurm_dbd_client::SlurmDbdClient;
use slurm_core::proto::{
    AcctEvent, AcctJobQuery, AcctRecord, Authed, Credential, RecordJobsRequest,
};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

/// A `slinky slurmdbd` process on a fixed loopback port, with its own cluster key (the
/// clusters in these tests share it) and a slurmdbd.conf that names it.
pub(crate) struct Dbd {
    pub port: u16,
    url: String,
    key: PathBuf,
    conf_file: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Dbd {
    pub fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, "")
    }

    /// [`Self::start`] with `extra` appended to slurmdbd.conf (TLS settings).
    pub fn start_with(dir: &std::path::Path, extra: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let key = dir.join("slurm.key");
        slurm_core::auth::ClusterKey::generate(&key).expect("cluster key");
        let conf_file = dir.join("slurmdbd.conf");
        std::fs::write(
            &conf_file,
            format!(
                "AuthType=auth/slurm\nAuthInfo=key={}\nSlurmUser=root\n{extra}",
                key.display()
            ),
        )
        .unwrap();
        let mut dbd = Self {
            port,
            url: format!("sqlite://{}", dir.join("acct.db").display()),
            key,
            conf_file,
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
            .args(["slurmdbd", "-D", "-f"])
            .arg(&self.conf_file)
            .args(["--storage", &self.url, "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .env_remove("SLURM_CONF")
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

    /// A cluster that records its jobs in this dbd (and signs with its key).
    fn cluster(&self) -> LocalCluster {
        self.cluster_with("")
    }

    /// [`Self::cluster`] with `extra` appended to slurm.conf.
    pub fn cluster_with(&self, extra: &str) -> LocalCluster {
        LocalCluster::start_with(
            &[node("n1", 2, 1000)],
            &format!("{}{extra}", self.conf()),
            Setup {
                key: Some(self.key.clone()),
                ..Setup::default()
            },
        )
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

pub(crate) fn dbd_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("slinky-e2e-dbd")
        .tempdir()
        .unwrap()
}

/// A dbd in a fresh directory (kept while the returned guard lives) and a one-node cluster
/// that records to it.
fn dbd_with_cluster() -> (tempfile::TempDir, Dbd, LocalCluster) {
    let dir = dbd_dir();
    let dbd = Dbd::start(dir.path());
    let cluster = dbd.cluster();
    (dir, dbd, cluster)
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
    let (_dir, _dbd, c) = dbd_with_cluster();
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
    let mut c = dbd.cluster();
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

/// The message a request was refused with (`accepted` when it was not).
fn refusal<T>(r: Result<tonic::Response<T>, tonic::Status>) -> String {
    match r {
        Ok(_) => "accepted".to_owned(),
        Err(s) => s.message().to_owned(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A credential for `uid`, signed with `key` now (`None`: unsigned).
fn credential(key: Option<&ClusterKey>, uid: u32) -> Credential {
    Credential {
        uid,
        gid: uid,
        user: String::new(),
        token: key.map(|k| token::encode(k, &Claims::new(uid, uid, 300).unwrap())),
    }
}

#[test]
fn the_dbd_refuses_forged_and_unsigned_requests() {
    let (_dir, dbd, c) = dbd_with_cluster();
    let held = c
        .sbatch(&["-H", "-J", "real", "--wrap", "true"])
        .to_string();
    wait_sacct(&c, &held, &[(&held, "PENDING", "0:0")]);

    let key = ClusterKey::load(&dbd.key).unwrap();
    let other = ClusterKey::random().unwrap();
    let me = nix::unistd::getuid().as_raw();
    let uri = format!("http://127.0.0.1:{}", dbd.port);
    runtime().block_on(async {
        let mut client = SlurmDbdClient::connect(uri).await.unwrap();
        let all = AcctJobQuery::default();
        // A credential signed with the cluster key reads ...
        let list = client
            .query_jobs(Authed::new(credential(Some(&key), me), all.clone()))
            .await
            .expect("a signed query")
            .into_inner();
        let mut forged = list
            .jobs
            .iter()
            .find(|r| r.job.job_id.to_string() == held)
            .expect("the held job is recorded")
            .job
            .clone();
        forged.name = "forged".into();
        forged.state = slurm_core::model::JobState::Completed;
        let rewrite = RecordJobsRequest {
            cluster: "e2e".into(),
            epoch: 1,
            records: vec![AcctRecord {
                seq: 1,
                event: AcctEvent::Job(Box::new(forged)),
            }],
        };
        // ... but without a credential, or with one signed by another key, nothing goes.
        for cred in [credential(None, me), credential(Some(&other), me)] {
            let r = client
                .record_jobs(Authed::new(cred.clone(), rewrite.clone()))
                .await;
            assert_eq!(refusal(r), "Authentication failure");
            let r = client.query_jobs(Authed::new(cred, all.clone())).await;
            assert_eq!(refusal(r), "Authentication failure");
        }
        // A credential is accepted once.
        let once = credential(Some(&key), me);
        let r = client
            .query_jobs(Authed::new(once.clone(), all.clone()))
            .await;
        assert!(r.is_ok());
        let r = client.query_jobs(Authed::new(once, all.clone())).await;
        assert_eq!(refusal(r), "Authentication failure");
        // A user's valid credential may query, but not record jobs.
        let user = credential(Some(&key), 4242);
        let r = client.query_jobs(Authed::new(user, all.clone())).await;
        assert!(r.is_ok(), "{r:?}");
        let user = credential(Some(&key), 4242);
        let r = client.record_jobs(Authed::new(user, rewrite.clone())).await;
        assert_eq!(refusal(r), "Access/permission denied");
        // Nor may it claim to be someone else.
        let mut claimed = credential(Some(&key), 4242);
        claimed.uid = 0;
        let r = client.record_jobs(Authed::new(claimed, rewrite)).await;
        assert_eq!(refusal(r), "Invalid user id");
    });
    // The record is as the controller sent it.
    let out = c.ok(
        "sacct",
        &["-X", "-n", "-P", "-o", "JobName,State", "-j", &held],
    );
    assert_eq!(out, "real|PENDING\n");
    // Each refusal is in the dbd's log with the reason and the peer's address.
    let log = dbd.log_text();
    for words in [
        [
            "Authentication failure: RecordJobs from 127.0.0.1:",
            "Missing credential",
        ],
        [
            "Authentication failure: QueryJobs from 127.0.0.1:",
            "bad signature",
        ],
        [
            "Authentication failure: QueryJobs from 127.0.0.1:",
            "Replayed credential",
        ],
        [
            "Security violation: RecordJobs from 127.0.0.1:",
            "by uid 4242",
        ],
        [
            "Security violation: RecordJobs from 127.0.0.1:",
            "claims uid 0",
        ],
    ] {
        assert!(
            log.lines().any(|l| words.iter().all(|w| l.contains(w))),
            "no log line with {words:?}:\n{log}"
        );
    }
    // Another local user reads accounting with the credential the signer gives them.
    if let Some(alice) = crate::auth::test_user("slinkyalice") {
        let work = crate::auth::work_dir(&c, &alice);
        let out = crate::auth::run_as(
            &c,
            &alice,
            &work,
            "sacct",
            &["-a", "-X", "-n", "-P", "-o", "JobID,User", "-j", &held],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{held}|root\n")
        );
        // Her own jobs by default: none.
        let out = crate::auth::run_as(&c, &alice, &work, "sacct", &["-X", "-n"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    }
}

#[test]
fn a_cluster_with_another_key_can_neither_record_nor_read() {
    let dir = dbd_dir();
    let dbd = Dbd::start(dir.path());
    // A fresh key of its own, not the dbd's.
    let c = LocalCluster::start(&[node("n1", 1, 1000)], &dbd.conf());
    c.sbatch(&["-H", "--wrap", "true"]);
    c.wait_log(
        "slurmctld",
        &[
            "did not store accounting records: Authentication failure",
            "does it hold the same cluster key?",
        ],
        T,
    );
    let out = c.run("sacct", &["-X"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "sacct: error: Problem talking to the database: Authentication failure\n"
    );
    let log = dbd.log_text();
    for rpc in ["RecordJobs", "QueryJobs"] {
        assert!(
            log.lines().any(|l| l
                .contains(&format!("Authentication failure: {rpc} from 127.0.0.1:"))
                && l.contains("bad signature")),
            "no refusal of {rpc} in\n{log}"
        );
    }
}

#[test]
fn sacctmgr_adds_an_account_and_a_user_and_shows_the_association() {
    let (_dir, _dbd, c) = dbd_with_cluster();
    let out = c.ok(
        "sacctmgr",
        &[
            "-i",
            "add",
            "account",
            "physics",
            "Description=phys",
            "Organization=science",
        ],
    );
    assert_eq!(
        out,
        " Adding Account(s)\n  physics\n Settings\n  Description     = phys\n  \
         Organization    = science\n Associations\n  A = physics    C = e2e       \n \
         Settings\n  Parent        = root\n"
    );
    // The second time nothing is added (exit 1, as Slurm's).
    let again = c.run("sacctmgr", &["-i", "add", "account", "physics"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        " Nothing new added.\n"
    );
    let out = c.ok(
        "sacctmgr",
        &["-i", "add", "user", "alice", "Account=physics"],
    );
    assert_eq!(
        out,
        " Adding User(s)\n  alice\n Settings =\n  Default Account = physics\n \
         Associations =\n  U = alice     A = physics    C = e2e       \n"
    );
    let out = c.ok(
        "sacctmgr",
        &[
            "-i",
            "modify",
            "user",
            "alice",
            "set",
            "GrpTRES=gres/gpu=2",
            "MaxJobs=3",
        ],
    );
    assert_eq!(
        out,
        " Modified user associations...\n  C = e2e        A = physics              U = alice    \n"
    );
    let out = c.ok(
        "sacctmgr",
        &[
            "show",
            "assoc",
            "format=Account,User,Partition,GrpTRES,MaxJobs",
        ],
    );
    assert_eq!(
        out,
        "   Account       User  Partition       GrpTRES MaxJobs \n\
         ---------- ---------- ---------- ------------- ------- \n      \
         root                                             \n      \
         root       root                                  \n   \
         physics                                             \n   \
         physics      alice               gres/gpu=2       3 \n"
    );
    let out = c.ok("sacctmgr", &["-nP", "show", "user"]);
    assert_eq!(out, "alice|physics|None\nroot|root|Administrator\n");
    // Without -i, sacctmgr asks; anything but y discards.
    let out = c.run("sacctmgr", &["delete", "user", "alice"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("(N/y):  Changes Discarded\n"));
    let out = c.ok("sacctmgr", &["-i", "delete", "user", "alice"]);
    assert_eq!(out, " Deleting users...\n  alice\n");
    let out = c.ok(
        "sacctmgr",
        &["-n", "-P", "show", "assoc", "format=Account,User"],
    );
    assert_eq!(out, "root|\nroot|root\nphysics|\n");
    // Changes need an operator; any user may look.
    if let Some(alice) = crate::auth::test_user("slinkyalice") {
        let work = crate::auth::work_dir(&c, &alice);
        let out = crate::auth::run_as(
            &c,
            &alice,
            &work,
            "sacctmgr",
            &["-i", "add", "account", "x"],
        );
        assert_eq!(out.status.code(), Some(1));
        let out = crate::auth::run_as(&c, &alice, &work, "sacctmgr", &["-nP", "show", "account"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "physics|phys|science\nroot|default root account|root\n"
        );
    }
}

#[test]
fn srun_steps_are_recorded_with_their_exit_codes() {
    let (_dir, _dbd, c) = dbd_with_cluster();
    let script = c.script(
        "steps.sh",
        &format!(
            "#!/bin/sh\n#SBATCH -o /dev/null\n{s} srun true\n{s} srun sh -c 'exit 3'\nexit 0\n",
            s = slinky().display()
        ),
    );
    let id = c.sbatch(&[script.to_str().unwrap()]).to_string();
    c.wait_state(&id, &["COMPLETED"], T);
    let deadline = Instant::now() + T;
    loop {
        let out = c.ok(
            "sacct",
            &["-n", "-P", "-o", "JobID,State,ExitCode", "-j", &id],
        );
        let want = format!(
            "{id}|COMPLETED|0:0\n{id}.batch|COMPLETED|0:0\n{id}.0|COMPLETED|0:0\n{id}.1|FAILED|3:0\n"
        );
        if out == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sacct printed:\n{out}\nwanted:\n{want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `sacctmgr -nP show event nodes=n1 format=...` until `done` accepts its lines.
fn wait_events(c: &LocalCluster, dbd: &Dbd, done: impl Fn(&[&str]) -> bool) -> String {
    let deadline = Instant::now() + T;
    loop {
        let out = c.ok(
            "sacctmgr",
            &[
                "-nP",
                "show",
                "event",
                "nodes=n1",
                "format=NodeName,State,Reason,User,TimeStart,TimeEnd",
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        if done(&lines) {
            return out;
        }
        if Instant::now() > deadline {
            let spool = c.dir.path().join("state/accounting/spool.jsonl");
            panic!(
                "sacctmgr show event: {out}\n{}\n--- slurmdbd\n{}\n--- spool\n{}",
                c.logs(),
                dbd.log_text(),
                std::fs::read_to_string(&spool).unwrap_or_default()
                    + &std::fs::read_to_string(spool.with_file_name("acked")).unwrap_or_default()
                    + &std::fs::read_to_string(spool.with_file_name("acked.hint"))
                        .unwrap_or_default()
                    + &String::from_utf8_lossy(
                        &c.run("sacctmgr", &["-P", "show", "event", "All_Time"])
                            .stdout
                    )
                    + &std::fs::read_to_string(c.dir.path().join("state/journal.jsonl"))
                        .unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn node_events_are_recorded_and_sreport_shows_down_time() {
    let (_dir, dbd, c) = dbd_with_cluster();
    c.wait_nodes_up();
    let uid = nix::unistd::getuid().as_raw();
    let me = format!("({uid})");
    // Drained with a reason: an open event, set by the caller.
    c.ok(
        "scontrol",
        &["update", "NodeName=n1", "State=DRAIN", "Reason=disk errors"],
    );
    let out = wait_events(&c, &dbd, |l| l.len() == 1);
    let f: Vec<&str> = out.trim_end().split('|').collect();
    assert_eq!(&f[..3], ["n1", "DRAIN", "disk errors"], "{out}");
    assert!(f[3].ends_with(&me), "{out}");
    assert_eq!(f[5], "Unknown", "{out}");
    // Resumed: the event ends.
    c.ok("scontrol", &["update", "NodeName=n1", "State=RESUME"]);
    let out = wait_events(&c, &dbd, |l| l.len() == 1 && !l[0].ends_with("Unknown"));
    let f: Vec<&str> = out.trim_end().split('|').collect();
    assert!(f[5] >= f[4] && f[5].starts_with("20"), "{out}");
    // The default listing, as Slurm prints it.
    let out = c.ok("sacctmgr", &["show", "events", "Nodes=n1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "   Cluster        NodeName           TimeStart             TimeEnd  State                         Reason       User "
    );
    assert!(
        lines[2].starts_with("       e2e              n1 20"),
        "{out}"
    );
    assert!(
        lines[2].contains("  DRAIN                    disk errors"),
        "{out}"
    );
    // Down: an open DOWN event, and sreport's Down for this hour. sreport rounds its window
    // to the nearest hour, so the outage must not straddle an hour's (or, for zones offset by
    // half an hour, a half hour's) edge, nor start within a minute of one.
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if (10..1740).contains(&(now % 1800)) {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    c.ok(
        "scontrol",
        &["update", "NodeName=n1", "State=DOWN", "Reason=broken fan"],
    );
    wait_events(&c, &dbd, |l| {
        l.len() == 2 && l[1].starts_with("n1|DOWN|broken fan|") && l[1].ends_with("Unknown")
    });
    let out = c.ok(
        "sacctmgr",
        &[
            "-nP",
            "show",
            "event",
            "States=DOWN",
            "format=NodeName,Reason",
        ],
    );
    assert_eq!(out, "n1|broken fan\n");
    std::thread::sleep(Duration::from_secs(2));
    let out = c.ok(
        "sreport",
        &[
            "-nP",
            "-t",
            "seconds",
            "cluster",
            "utilization",
            "start=now-30minutes",
            "end=now",
        ],
    );
    // Cluster|Allocated|Down|PLND Down|Idle|Planned|Reported
    let f: Vec<u64> = out
        .trim_end()
        .split('|')
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(f.len(), 6, "{out}");
    assert!(f[1] >= 2, "Down: {out}");
    assert_eq!(f[0] + f[1] + f[3], f[5], "{out}");
    assert_eq!(f[5], 2 * 3600, "{out}");
    c.ok("scontrol", &["update", "NodeName=n1", "State=RESUME"]);
    wait_events(&c, &dbd, |l| l.len() == 2 && !l[1].ends_with("Unknown"));
}

#[test]
fn private_usage_hides_other_users_usage() {
    let dir = dbd_dir();
    let dbd = Dbd::start_with(dir.path(), "PrivateData=usage\n");
    let c = dbd.cluster();
    // root's job, still running: usage in this hour.
    let job = c.sbatch(&["-o", "/dev/null", "--wrap", "sleep 30"]);
    c.wait_state(&job.to_string(), &["RUNNING"], T);
    std::thread::sleep(Duration::from_secs(2));
    let top = [
        "-nP",
        "-t",
        "seconds",
        "user",
        "topusage",
        "start=now-30minutes",
        "end=now",
    ];
    // An operator sees everyone's usage and the cluster's.
    let deadline = Instant::now() + T;
    loop {
        let out = c.ok("sreport", &top);
        if out.contains("|root|") {
            break;
        }
        assert!(Instant::now() < deadline, "sreport as root: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = c.ok(
        "sreport",
        &[
            "-nP",
            "cluster",
            "utilization",
            "start=now-30minutes",
            "end=now",
        ],
    );
    assert!(out.starts_with("e2e|"), "{out}");
    // Another user sees none of it.
    if let Some(alice) = crate::auth::test_user("slinkyalice") {
        let work = crate::auth::work_dir(&c, &alice);
        let out = crate::auth::run_as(&c, &alice, &work, "sreport", &top);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
        let out = crate::auth::run_as(
            &c,
            &alice,
            &work,
            "sreport",
            &[
                "-nP",
                "cluster",
                "utilization",
                "start=now-30minutes",
                "end=now",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Access/permission denied"),
            "{out:?}"
        );
        let out = crate::auth::run_as(&c, &alice, &work, "sshare", &["-a", "-n", "-P"]);
        assert!(out.status.success(), "{out:?}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("root"),
            "{out:?}"
        );
    }
    c.ok("scancel", &[&job.to_string()]);
}
