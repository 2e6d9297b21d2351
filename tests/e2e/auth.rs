//! Authentication and authorisation with real processes: credentials from the signer
//! (`slinky authd`) for real local users, the controller's checks of signature, lifetime and
//! replay, and node admission by cluster key, both ways.

use crate::support::{LocalCluster, Setup, node};
use slurm_core::auth::token::{self, Claims};
use slurm_core::auth::{ClusterKey, NONCE_LEN};
use slurm_core::model::JobSpec;
use slurm_core::proto::slurmctld::slurmctld_client::SlurmctldClient;
use slurm_core::proto::slurmd_gateway::slurmd_gateway_client::SlurmdGatewayClient;
use slurm_core::proto::{
    Authed, BatchScript, Credential, JobQuery, NodeHardware, NodeRegistration, SubmitRequest,
};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// A local user the tests act as.
pub(crate) struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

static USERADD: Mutex<()> = Mutex::new(());

/// `name`, created with `useradd` when missing. `None` (with the reason printed) when the
/// tests do not run as root, or the user cannot be created.
pub(crate) fn test_user(name: &str) -> Option<User> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: acting as another user needs root (useradd, setuid)");
        return None;
    }
    let _guard = USERADD.lock().unwrap_or_else(|p| p.into_inner());
    let lookup = || nix::unistd::User::from_name(name).ok().flatten();
    if lookup().is_none() {
        let out = std::process::Command::new("useradd")
            .args(["-M", "-s", "/bin/sh", name])
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!(
                    "skipped: useradd {name} failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                return None;
            }
            Err(e) => {
                eprintln!("skipped: cannot run useradd: {e}");
                return None;
            }
        }
    }
    let u = lookup()?;
    Some(User {
        name: u.name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
    })
}

/// A work directory owned by `user` inside the cluster's directory.
pub(crate) fn work_dir(c: &LocalCluster, user: &User) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = c.path().join(format!("work-{}", user.name));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    nix::unistd::chown(
        &dir,
        Some(nix::unistd::Uid::from_raw(user.uid)),
        Some(nix::unistd::Gid::from_raw(user.gid)),
    )
    .unwrap();
    dir
}

pub(crate) fn run_as(
    c: &LocalCluster,
    user: &User,
    work: &Path,
    name: &str,
    args: &[&str],
) -> Output {
    let mut command = c.cmd_as(user.uid, user.gid, work, name);
    command.args(args);
    // The public copy of the binary was just written: a child another test thread forked
    // meanwhile may still hold its write descriptor until it execs (ETXTBSY), for a moment.
    let mut tries = 0;
    loop {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            out => return out.expect("run command as another user"),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn another_user_cannot_touch_jobs_it_does_not_own() {
    let Some(alice) = test_user("slinkyalice") else {
        return;
    };
    let c = LocalCluster::start(&[node("n1", 2, 1000)], "");
    let work = work_dir(&c, &alice);
    let root_job = c
        .sbatch(&["-J", "rootjob", "-o", "/dev/null", "--wrap", "sleep 60"])
        .to_string();
    c.wait_state(&root_job, &["RUNNING"], T);

    // The key is not readable by alice; her commands still work (credentials come from
    // the signer's socket).
    let cat = std::process::Command::new("cat")
        .arg(&c.auth.as_ref().unwrap().key)
        .uid_gid(alice.uid, alice.gid)
        .output()
        .unwrap();
    assert!(!cat.status.success(), "alice could read the cluster key");
    let squeue = run_as(&c, &alice, &work, "squeue", &["-h", "-o", "%i %u %T"]);
    assert!(squeue.status.success(), "{}", text(&squeue.stderr));
    assert!(
        text(&squeue.stdout).contains(&format!("{root_job} root RUNNING")),
        "{}",
        text(&squeue.stdout)
    );

    // scancel of root's job: Slurm's message and exit status (golden scancel_other_user).
    let out = run_as(&c, &alice, &work, "scancel", &[&root_job]);
    assert_eq!(out.status.code(), Some(210), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!("scancel: error: Kill job error on job id {root_job}: Access/permission denied\n")
    );
    for args in [
        vec!["hold", root_job.as_str()],
        vec!["update", &format!("JobId={root_job}"), "TimeLimit=5"],
        vec!["requeue", root_job.as_str()],
        vec!["update", "NodeName=n1", "State=DRAIN", "Reason=mine"],
    ] {
        let out = run_as(&c, &alice, &work, "scontrol", &args);
        assert!(!out.status.success(), "scontrol {args:?} succeeded");
        assert!(
            text(&out.stderr).contains("Access/permission denied"),
            "scontrol {args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(c.state(&root_job), "RUNNING");
    let sinfo = c.ok("sinfo", &["-h", "-N", "-o", "%N %t"]);
    assert!(!sinfo.contains("drain"), "{sinfo}");
    c.wait_log("slurmctld", &["Security violation", "by uid"], T);

    // Her own jobs are hers: they run as her, and she may cancel them.
    let out = run_as(
        &c,
        &alice,
        &work,
        "sbatch",
        &["--parsable", "-o", "whoami.out", "--wrap", "id -un"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let own = text(&out.stdout).trim().to_owned();
    c.wait_state(&own, &["COMPLETED"], T);
    let whoami = std::fs::read_to_string(work.join("whoami.out")).unwrap_or_default();
    assert_eq!(whoami.trim(), alice.name);
    let out = run_as(
        &c,
        &alice,
        &work,
        "sbatch",
        &["--parsable", "-o", "/dev/null", "--wrap", "sleep 60"],
    );
    let long = text(&out.stdout).trim().to_owned();
    let out = run_as(&c, &alice, &work, "scancel", &[&long]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    c.wait_state(&long, &["CANCELLED"], T);
    let owner = c.ok("squeue", &["-h", "-t", "all", "-j", &long, "-o", "%u"]);
    assert_eq!(owner.trim(), alice.name);
}

/// `uid`/`gid` for a std Command.
trait AsUser {
    fn uid_gid(&mut self, uid: u32, gid: u32) -> &mut Self;
}

impl AsUser for std::process::Command {
    fn uid_gid(&mut self, uid: u32, gid: u32) -> &mut Self {
        use std::os::unix::process::CommandExt;
        self.uid(uid).gid(gid)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn credential(uid: u32, token: Option<String>) -> Credential {
    Credential {
        uid,
        gid: uid,
        user: String::new(),
        token,
    }
}

fn claims(uid: u32, issued: u64) -> Claims {
    let mut nonce = [0u8; NONCE_LEN];
    slurm_core::auth::key::fill_random(&mut nonce).unwrap();
    Claims {
        uid,
        gid: uid,
        issued,
        ttl_s: 300,
        nonce,
        host: "attacker".into(),
    }
}

/// Sends `ListJobs` with `cred`; the refusal's message, if refused.
async fn list_with(
    client: &mut SlurmctldClient<tonic::transport::Channel>,
    cred: Credential,
) -> Option<String> {
    match client
        .list_jobs(Authed::new(cred, JobQuery::default()))
        .await
    {
        Ok(_) => None,
        Err(status) => Some(status.message().to_owned()),
    }
}

#[test]
fn forged_expired_replayed_and_tampered_credentials_are_refused() {
    let mut c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let key = ClusterKey::load(&c.auth.as_ref().unwrap().key).unwrap();
    let uri = c.controller_uri();
    let now = slurm_core::auth::now_secs();
    runtime().block_on(async {
        let mut client = SlurmctldClient::connect(uri).await.unwrap();
        // A credential signed with the cluster key goes through ...
        let good = token::encode(&key, &claims(0, now));
        assert_eq!(
            list_with(&mut client, credential(0, Some(good.clone()))).await,
            None
        );
        // ... once.
        let refused = list_with(&mut client, credential(0, Some(good.clone()))).await;
        assert_eq!(refused.as_deref(), Some("Authentication failure"));
        // Another key.
        let other = ClusterKey::random().unwrap();
        let forged = token::encode(&other, &claims(0, now));
        let refused = list_with(&mut client, credential(0, Some(forged))).await;
        assert_eq!(refused.as_deref(), Some("Authentication failure"));
        // Expired (issued 20 minutes ago with a 5 minute lifetime).
        let old = token::encode(&key, &claims(0, now - 1200));
        let refused = list_with(&mut client, credential(0, Some(old))).await;
        assert_eq!(refused.as_deref(), Some("Authentication failure"));
        // Tampered: a credential of uid 4242 turned into one of uid 0.
        let theirs = token::encode(&key, &claims(4242, now));
        let tampered = {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut bytes = b64.decode(&theirs[token::PREFIX.len()..]).unwrap();
            bytes[1..5].copy_from_slice(&0u32.to_be_bytes());
            format!("{}{}", token::PREFIX, b64.encode(&bytes))
        };
        assert_eq!(token::parse(&tampered).unwrap().claims.uid, 0);
        let refused = list_with(&mut client, credential(0, Some(tampered))).await;
        assert_eq!(refused.as_deref(), Some("Authentication failure"));
        // No credential, and garbage.
        let refused = list_with(&mut client, credential(0, None)).await;
        assert_eq!(refused.as_deref(), Some("Authentication failure"));
        let refused = list_with(&mut client, credential(0, Some("MUNGE:xyz:".into()))).await;
        assert_eq!(refused.as_deref(), Some("Authentication failure"));
        // A valid credential of one uid claiming another.
        let refused = list_with(&mut client, credential(0, Some(theirs))).await;
        assert_eq!(refused.as_deref(), Some("Invalid user id"));

        // Only root or SlurmUser may speak for a node, even with a valid credential.
        let mut gateway = SlurmdGatewayClient::connect(c.controller_uri())
            .await
            .unwrap();
        let user_token = token::encode(&key, &claims(4242, now));
        let registration = NodeRegistration {
            node: "n1".into(),
            hardware: NodeHardware::default(),
            running: vec![],
            finished: vec![],
            version: "impostor".into(),
        };
        let refused = gateway
            .register(Authed::new(
                credential(4242, Some(user_token)),
                registration,
            ))
            .await
            .expect_err("a user registered a node");
        assert_eq!(refused.message(), "Access/permission denied");
    });
    // Each refusal is logged with the reason and the peer's address.
    let log = c.log_text("slurmctld");
    for reason in [
        "Replayed credential",
        "bad signature",
        "Expired credential",
        "Missing credential",
        "not a slinky credential",
        "Security violation: ListJobs from 127.0.0.1:",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(reason) && l.contains("ListJobs from 127.0.0.1:")),
            "no log line for {reason:?}:\n{log}"
        );
    }
    assert!(
        log.contains("Security violation: Register from 127.0.0.1:")
            && log.contains("by uid 4242, which is neither root nor SlurmUser"),
        "{log}"
    );
    // Without the signer, commands cannot get a credential and say so.
    c.kill_authd();
    let out = c.run("squeue", &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("squeue: error: Credential encode failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_user_cannot_submit_as_someone_else_by_editing_the_request() {
    let Some(bob) = test_user("slinkybob") else {
        return;
    };
    let c = LocalCluster::start(&[node("n1", 1, 1000)], "");
    let work = work_dir(&c, &bob);
    // Bob's real credentials, from the signer, as `munge -n` would print them.
    let bobs_token = || {
        let out = run_as(&c, &bob, &work, "cred", &["encode"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    let decode = std::process::Command::new(crate::support::slinky())
        .args(["cred", "decode", "-f"])
        .arg(&c.conf)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(bobs_token().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        text(&decode.stdout).contains(&format!("UID:             {}", bob.uid)),
        "{}",
        text(&decode.stdout)
    );

    let request = |spec_uid: u32, spec_user: &str| SubmitRequest {
        spec: JobSpec {
            name: "edited".into(),
            uid: spec_uid,
            gid: 0,
            user: spec_user.into(),
            work_dir: work.display().to_string(),
            ..JobSpec::default()
        },
        batch: BatchScript {
            script: "#!/bin/sh\nid -u > edited.out\n".into(),
            ..BatchScript::default()
        },
    };
    let uri = c.controller_uri();
    runtime().block_on(async {
        let client = SlurmctldClient::connect(uri).await.unwrap();
        let submit = |cred: Credential, req: SubmitRequest| {
            let mut client = client.clone();
            async move {
                client
                    .submit(Authed::new(cred, req))
                    .await
                    .map(|r| r.into_inner().job_id)
                    .map_err(|s| s.message().to_owned())
            }
        };
        // Bob's credential, the envelope edited to claim root.
        let as_root = Credential {
            uid: 0,
            gid: 0,
            user: "root".into(),
            token: Some(bobs_token()),
        };
        assert_eq!(
            submit(as_root, request(0, "root")).await,
            Err("Invalid user id".to_owned())
        );
        // Bob's own envelope, the job edited to be root's.
        let honest = Credential {
            uid: bob.uid,
            gid: bob.gid,
            user: bob.name.clone(),
            token: Some(bobs_token()),
        };
        assert_eq!(
            submit(honest.clone(), request(0, "root")).await,
            Err("Invalid user id".to_owned())
        );
        // Unedited, it is accepted as Bob's; the same credential again is a replay.
        let token = bobs_token();
        let once = Credential {
            token: Some(token),
            ..honest
        };
        let id = submit(once.clone(), request(bob.uid, &bob.name))
            .await
            .expect("bob's own submission");
        assert_eq!(
            submit(once, request(bob.uid, &bob.name)).await,
            Err("Authentication failure".to_owned())
        );
        id
    });
    let jobs = c.ok("squeue", &["-h", "-t", "all", "-o", "%u %j"]);
    assert_eq!(jobs.trim(), format!("{} edited", bob.name), "{jobs}");
    c.wait_log(
        "slurmctld",
        &["Security violation: Submit from 127.0.0.1:", "claims uid 0"],
        T,
    );
    c.wait_log(
        "slurmctld",
        &["Security violation: submission from uid", "for uid 0"],
        T,
    );
}

#[test]
fn an_agent_with_another_key_cannot_join() {
    let mut c = LocalCluster::start_with(
        &[node("n1", 1, 1000), node("n2", 1, 1000)],
        "",
        Setup {
            agents: Some(vec!["n1".into()]),
            ..Setup::default()
        },
    );
    let key = &c.auth.as_ref().unwrap().key;
    let rogue_key = c.path().join("rogue.key");
    ClusterKey::generate(&rogue_key).unwrap();
    let conf = std::fs::read_to_string(&c.conf).unwrap().replace(
        &format!("key={}", key.display()),
        &format!("key={}", rogue_key.display()),
    );
    let rogue_conf = c.path().join("rogue.conf");
    std::fs::write(&rogue_conf, conf).unwrap();
    c.start_agent_with_conf("n2", &rogue_conf);
    c.wait_log(
        "slurmctld",
        &[
            "Authentication failure: Register from 127.0.0.1:",
            "bad signature",
        ],
        T,
    );
    c.wait_log("slurmd-n2", &["Register failed: Authentication failure"], T);
    std::thread::sleep(Duration::from_secs(1));
    let n2 = c.ok("sinfo", &["-h", "-N", "-n", "n2", "-o", "%t"]);
    assert!(n2.contains('*') || n2.contains("unk"), "n2 joined: {n2}");
    // With the cluster's key it joins.
    c.kill_agent("n2");
    c.start_agent("n2");
    c.wait_log("slurmd-n2", &["registered with the controller"], T);
}

#[test]
fn an_agent_does_not_follow_a_controller_without_the_key() {
    // A controller that authenticates nothing (auth/none) cannot prove it has the key.
    let mut c = LocalCluster::start_with(
        &[node("n1", 1, 1000)],
        "",
        Setup {
            auth: false,
            agents: Some(vec![]),
            ..Setup::default()
        },
    );
    let key = c.path().join("agent.key");
    ClusterKey::generate(&key).unwrap();
    let conf = std::fs::read_to_string(&c.conf).unwrap().replace(
        "AuthType=auth/none",
        &format!(
            "AuthType=auth/slurm\nAuthInfo=key={},socket={}",
            key.display(),
            c.path().join("none.socket").display()
        ),
    );
    let agent_conf = c.path().join("agent.conf");
    std::fs::write(&agent_conf, conf).unwrap();
    c.start_agent_with_conf("n1", &agent_conf);
    c.wait_log("slurmd-n1", &["did not prove it holds the cluster key"], T);
    // Launches from that controller are not followed.
    let id = c
        .sbatch(&["-o", "ran.out", "--wrap", "echo ran"])
        .to_string();
    std::thread::sleep(Duration::from_secs(3));
    assert!(!c.work.join("ran.out").exists(), "the agent ran job {id}");
    assert!(!c.log_text("slurmd-n1").contains("launch request"));
}

#[test]
fn daemons_refuse_a_missing_or_exposed_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("slurm.key");
    let conf = dir.path().join("slurm.conf");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=k\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort={port}\n\
             StateSaveLocation={}\nAuthType=auth/slurm\nAuthInfo=key={}\n\
             NodeName=n1 CPUs=1\nPartitionName=p Nodes=n1\n",
            dir.path().join("state").display(),
            key.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(crate::support::slinky())
            .args(args)
            .arg(&conf)
            .env("SLINKY_LOG", "error")
            .output()
            .unwrap()
    };
    // The dbd takes AuthType/AuthInfo from the slurm.conf beside it (no slurmdbd.conf).
    let dbd = || {
        std::process::Command::new(crate::support::slinky())
            .args(["slurmdbd", "-D", "--listen", "127.0.0.1:0", "--storage"])
            .arg(format!("sqlite://{}", dir.path().join("acct.db").display()))
            .env("SLURM_CONF", &conf)
            .env("SLINKY_LOG", "error")
            .output()
            .unwrap()
    };
    for out in [run(&["slurmctld", "-D", "-f"]), dbd()] {
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("cluster key {}", key.display())),
            "{err}"
        );
    }

    ClusterKey::generate(&key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [
        &["slurmctld", "-D", "-f"][..],
        &[
            "slurmd",
            "-D",
            "-N",
            "n1",
            "--spool",
            "/nonexistent-spool",
            "--conf",
        ][..],
        &["authd", "-f"][..],
    ] {
        let out = run(args);
        assert!(
            !out.status.success(),
            "{args:?} started with an exposed key"
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("mode 0644") && err.contains("chmod 0400"),
            "{args:?}: {err}"
        );
    }
    let out = dbd();
    assert!(
        !out.status.success(),
        "slurmdbd started with an exposed key"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("mode 0644") && err.contains("chmod 0400"),
        "{err}"
    );
}
