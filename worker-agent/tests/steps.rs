//! Real processes: launch, output files, exit codes, cancellation, limits, cleanup, usage.
//!
//! Every behaviour is checked under both containment modes the host allows: process-tree
//! tracking always, cgroup v2 when it is usable here (otherwise the test prints why it ran
//! only the process-tree variant).

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{User, geteuid};
use worker_agent::cgroup::{
    CgroupConfig, CgroupError, CgroupManager, CgroupV2, ContainerStats, NoCgroups, StepContainer,
    StepLimits, TrackingMode, cgroup2_mount,
};
use worker_agent::{
    AgentConfig, EndReason, LaunchError, OpenMode, RecoveredStep, SignalScope, StepCommand, StepId,
    StepOutcome, StepRunner, StepSpec, StepUser, parse_signal_spec, recover,
};

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_test_writer()
        .try_init();
}

/// Job ids unique across concurrently running test binaries.
fn job_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 100_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed) + 1_000_000
}

/// The containment managers to test with: process trees, and cgroup v2 when usable.
fn managers(test: &str) -> Vec<(&'static str, Arc<dyn CgroupManager>)> {
    init_tracing();
    let mut out: Vec<(&'static str, Arc<dyn CgroupManager>)> =
        vec![("proc-tree", Arc::new(NoCgroups))];
    match cgroup_manager() {
        Ok(cg) => out.push(("cgroup-v2", Arc::new(cg))),
        Err(reason) => {
            println!("{test}: cgroup v2 variant skipped: {reason}");
        }
    }
    out
}

fn cgroup_manager() -> Result<CgroupV2, String> {
    let mount = cgroup2_mount().ok_or_else(|| "no cgroup2 filesystem mounted".to_owned())?;
    CgroupV2::probe(&CgroupConfig {
        root: Some(mount.join("slinky-test")),
        ..CgroupConfig::default()
    })
}

/// A scratch directory every user can enter (steps may run as another user).
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

struct Env {
    dir: tempfile::TempDir,
    runner: StepRunner,
}

impl Env {
    fn new(manager: Arc<dyn CgroupManager>) -> Self {
        let dir = scratch();
        let mut cfg = AgentConfig::new("node-a", dir.path().join("spool"));
        cfg.cluster_name = "testcluster".into();
        cfg.sample_interval = Duration::from_millis(100);
        cfg.output_dir_wait = Duration::from_millis(300);
        Self {
            runner: StepRunner::new(cfg, manager),
            dir,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn work(&self) -> PathBuf {
        let w = self.path().join("work");
        fs::create_dir_all(&w).unwrap();
        fs::set_permissions(&w, fs::Permissions::from_mode(0o777)).unwrap();
        w
    }

    /// A batch step running `script` as the current user in `work/`.
    fn spec(&self, script: &str) -> StepSpec {
        let uid = geteuid();
        let name = User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| "unknown".to_owned(), |u| u.name);
        let mut s = StepSpec::new(
            job_id(),
            StepId::Batch,
            StepUser {
                name,
                uid: uid.as_raw(),
                gid: nix::unistd::getegid().as_raw(),
            },
            StepCommand::Script(format!("#!/bin/sh\n{script}\n")),
        );
        s.job_name = "testjob".into();
        s.work_dir = self.work();
        s.submit_dir = s.work_dir.display().to_string();
        s.submit_host = "login".into();
        s.env = vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())];
        s.kill_wait = Duration::from_secs(1);
        s.unkillable_step_timeout = Duration::from_secs(5);
        s.alloc.cpus = 2;
        s.alloc.gpus = vec![0, 2];
        s
    }

    fn out(&self, spec: &StepSpec) -> String {
        let path = spec.work_dir.join(format!("slurm-{}.out", spec.job_id));
        fs::read_to_string(path).unwrap_or_default()
    }
}

/// Polls `f` for up to `max`.
async fn eventually(max: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + max;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

fn assert_ended(o: &StepOutcome, reason: EndReason, exit: &str, mode: &str) {
    assert_eq!(o.end_reason, reason, "{mode}: {o:?}");
    assert_eq!(o.exit.to_string(), exit, "{mode}: {o:?}");
}

/// True when `pid` is gone (or a zombie nobody reaps).
fn dead(pid: i32) -> bool {
    worker_agent::procfs::read_stat(pid).is_none_or(|s| s.is_zombie())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_output_files_and_cwd() {
    for (mode, m) in managers("env_output_files_and_cwd") {
        let env = Env::new(m);
        let mut spec = env.spec(
            "echo job=$SLURM_JOB_ID name=$SLURM_JOB_NAME node=$SLURMD_NODENAME\n\
             echo cpus=$SLURM_CPUS_ON_NODE gpus=$CUDA_VISIBLE_DEVICES cluster=$SLURM_CLUSTER_NAME\n\
             echo nodelist=$SLURM_JOB_NODELIST ntasks=$SLURM_NTASKS env=$ENVIRONMENT\n\
             echo pwd=$(pwd)\n\
             echo script=$0\n\
             echo oops >&2\n\
             exit 0",
        );
        spec.io.stderr = Some("err-%j.txt".into());
        let id = spec.job_id;
        let work = spec.work_dir.clone();
        let o = env.runner.run(spec.clone()).await;
        assert_ended(&o, EndReason::Completed, "0:0", mode);
        let out = env.out(&spec);
        assert!(
            out.contains(&format!("job={id} name=testjob node=node-a\n")),
            "{mode}: {out}"
        );
        assert!(
            out.contains("cpus=2 gpus=0,2 cluster=testcluster\n"),
            "{mode}: {out}"
        );
        assert!(
            out.contains("nodelist=node-a ntasks=1 env=BATCH\n"),
            "{mode}: {out}"
        );
        assert!(
            out.contains(&format!("pwd={}\n", work.display())),
            "{mode}: {out}"
        );
        let script = env
            .path()
            .join("spool")
            .join(format!("job{id:05}"))
            .join("slurm_script");
        assert!(
            out.contains(&format!("script={}\n", script.display())),
            "{mode}: {out}"
        );
        assert!(
            !script.exists(),
            "{mode}: the batch script is removed afterwards"
        );
        assert!(!out.contains("oops"), "{mode}: stderr goes to its own file");
        let err = fs::read_to_string(work.join(format!("err-{id}.txt"))).unwrap();
        assert_eq!(err, "oops\n", "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_defaults_to_stdout_and_open_modes() {
    for (mode, m) in managers("stderr_defaults_to_stdout_and_open_modes") {
        let env = Env::new(m);
        let mut spec = env.spec("echo out; echo err >&2");
        spec.io.stdout = Some("log.txt".into());
        let log = spec.work_dir.join("log.txt");
        fs::write(&log, "old content\n").unwrap();
        let o = env.runner.run(spec.clone()).await;
        assert_ended(&o, EndReason::Completed, "0:0", mode);
        assert_eq!(
            fs::read_to_string(&log).unwrap(),
            "out\nerr\n",
            "{mode}: truncated"
        );
        spec.io.open_mode = OpenMode::Append;
        spec.job_id = job_id();
        env.runner.run(spec).await;
        assert_eq!(
            fs::read_to_string(&log).unwrap(),
            "out\nerr\nout\nerr\n",
            "{mode}: appended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_signals() {
    for (mode, m) in managers("exit_codes_and_signals") {
        let env = Env::new(m);
        let o = env.runner.run(env.spec("exit 3")).await;
        assert_ended(&o, EndReason::Failed, "3:0", mode);
        let o = env.runner.run(env.spec("kill -9 $$")).await;
        assert_ended(&o, EndReason::Failed, "0:9", mode);
        let mut argv = env.spec("");
        argv.command = StepCommand::Argv(vec!["sh".into(), "-c".into(), "exit 5".into()]);
        argv.step_id = StepId::Numbered(0);
        let o = env.runner.run(argv).await;
        assert_ended(&o, EndReason::Failed, "5:0", mode);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_a_trapping_script() {
    for (mode, m) in managers("cancel_reaches_a_trapping_script") {
        let env = Env::new(m);
        let spec = env.spec("trap 'echo got TERM; exit 0' TERM\necho ready\nsleep 30 &\nwait");
        let step = env.runner.launch(spec.clone()).await.unwrap();
        assert!(eventually(Duration::from_secs(5), || env.out(&spec).contains("ready")).await);
        step.cancel();
        let o = step.wait().await;
        assert_ended(&o, EndReason::Cancelled, "0:0", mode);
        assert_eq!(env.out(&spec), "ready\ngot TERM\n", "{mode}");
        assert!(o.elapsed < Duration::from_secs(3), "{mode}: {o:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ignored_means_sigkill_after_kill_wait() {
    for (mode, m) in managers("sigterm_ignored_means_sigkill_after_kill_wait") {
        let env = Env::new(m);
        let spec = env.spec("trap '' TERM\necho ready\nsleep 30");
        let step = env.runner.launch(spec.clone()).await.unwrap();
        assert!(eventually(Duration::from_secs(5), || env.out(&spec).contains("ready")).await);
        let t0 = Instant::now();
        step.cancel();
        let o = step.wait().await;
        assert_ended(&o, EndReason::Cancelled, "0:9", mode);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(950),
            "{mode}: KillWait respected ({took:?})"
        );
        assert!(took < Duration::from_secs(4), "{mode}: {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limit_times_out() {
    for (mode, m) in managers("time_limit_times_out") {
        let env = Env::new(m);
        let mut spec = env.spec("echo start\nsleep 30\necho never");
        spec.time_limit = Some(Duration::from_millis(800));
        let o = env.runner.run(spec.clone()).await;
        assert_eq!(o.end_reason, EndReason::TimedOut, "{mode}: {o:?}");
        assert_eq!(o.exit.signal, 15, "{mode}: {o:?}");
        assert!(o.elapsed >= Duration::from_millis(800), "{mode}: {o:?}");
        assert!(o.elapsed < Duration::from_secs(4), "{mode}: {o:?}");
        assert_eq!(env.out(&spec), "start\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_option_warns_the_batch_shell() {
    for (mode, m) in managers("signal_option_warns_the_batch_shell") {
        let env = Env::new(m);
        let mut spec = env.spec("trap 'echo got USR1; exit 0' USR1\nsleep 30 &\nwait");
        spec.time_limit = Some(Duration::from_secs(2));
        spec.signal = Some(parse_signal_spec("B:USR1@1").unwrap());
        let o = env.runner.run(spec.clone()).await;
        assert_ended(&o, EndReason::Completed, "0:0", mode);
        assert!(o.elapsed >= Duration::from_millis(900), "{mode}: {o:?}");
        assert!(o.elapsed < Duration::from_millis(1900), "{mode}: {o:?}");
        assert_eq!(env.out(&spec), "got USR1\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scancel_signal_to_the_step() {
    for (mode, m) in managers("scancel_signal_to_the_step") {
        let env = Env::new(m);
        let spec = env.spec("trap 'echo got HUP; exit 4' HUP\necho ready\nsleep 30 &\nwait");
        let step = env.runner.launch(spec.clone()).await.unwrap();
        assert!(eventually(Duration::from_secs(5), || env.out(&spec).contains("ready")).await);
        step.signal(Signal::SIGHUP, SignalScope::Step);
        let o = step.wait().await;
        assert_ended(&o, EndReason::Failed, "4:0", mode);
        assert_eq!(env.out(&spec), "ready\ngot HUP\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_processes_are_killed() {
    for (mode, m) in managers("background_processes_are_killed") {
        let env = Env::new(m);
        // A plain background child, and one that left the session with setsid; the script
        // lives long enough for the process-tree tracker to see both.
        let spec = env.spec(
            "sleep 300 &\necho $! > bg1.pid\nsetsid sleep 301 &\necho $! > bg2.pid\nsleep 0.5\nexit 0",
        );
        let work = spec.work_dir.clone();
        let o = env.runner.run(spec).await;
        assert_ended(&o, EndReason::Completed, "0:0", mode);
        for f in ["bg1.pid", "bg2.pid"] {
            let pid: i32 = fs::read_to_string(work.join(f))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert!(dead(pid), "{mode}: {f} ({pid}) survived the step");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_work_dir_fails_the_launch() {
    for (mode, m) in managers("missing_work_dir_fails_the_launch") {
        let env = Env::new(m);
        let mut spec = env.spec("echo hi");
        let missing = env.path().join("nope");
        spec.work_dir = missing.clone();
        spec.io.stdout = Some(env.path().join("out-%j.txt").display().to_string());
        let out = env.path().join(format!("out-{}.txt", spec.job_id));
        let err = env.runner.launch(spec.clone()).await.unwrap_err();
        let want = format!(
            "couldn't chdir to `{}': No such file or directory",
            missing.display()
        );
        assert!(matches!(err, LaunchError::Chdir { .. }), "{mode}: {err:?}");
        assert_eq!(err.to_string(), want, "{mode}");
        let logged = fs::read_to_string(&out).unwrap();
        assert_eq!(logged, format!("slurmstepd: error: {want}\n"), "{mode}");
        let o = err.outcome();
        assert_eq!(o.exit.to_string(), "1:0");
        assert_eq!(o.end_reason, EndReason::LaunchFailed(want.clone()));
        spec.job_id = job_id();
        assert_eq!(
            env.runner.run(spec).await.end_reason,
            EndReason::LaunchFailed(want)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_directory_is_awaited_briefly() {
    let (mode, m) = managers("output_directory_is_awaited_briefly").remove(0);
    let env = Env::new(m);
    let mut spec = env.spec("echo late");
    let later = env.path().join("later");
    spec.io.stdout = Some(later.join("o.txt").display().to_string());
    let dir = later.clone();
    let maker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fs::create_dir(&dir).unwrap();
    });
    let o = env.runner.run(spec.clone()).await;
    maker.await.unwrap();
    assert_ended(&o, EndReason::Completed, "0:0", mode);
    assert_eq!(fs::read_to_string(later.join("o.txt")).unwrap(), "late\n");

    spec.job_id = job_id();
    spec.io.stdout = Some(env.path().join("never/o.txt").display().to_string());
    let t0 = Instant::now();
    let err = env.runner.launch(spec).await.unwrap_err();
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "waited for the directory"
    );
    assert!(
        err.to_string().starts_with("Could not open stdout file ")
            && err
                .to_string()
                .ends_with("never/o.txt: No such file or directory"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reports_cpu_time_of_a_busy_loop() {
    for (mode, m) in managers("usage_reports_cpu_time_of_a_busy_loop") {
        let env = Env::new(m);
        let spec = env.spec("timeout 0.6 sh -c 'while :; do :; done'\nexit 0");
        let step = env.runner.launch(spec).await.unwrap();
        let handle = step.handle();
        let live = eventually(Duration::from_secs(2), || {
            handle.usage().cpu_time > Duration::ZERO
        })
        .await;
        assert!(
            live,
            "{mode}: live usage shows CPU time: {:?}",
            handle.usage()
        );
        assert!(handle.usage().samples > 0);
        let o = step.wait().await;
        assert_ended(&o, EndReason::Completed, "0:0", mode);
        // A 0.6 s busy loop; on a loaded 2-core machine it may get a fraction of a core.
        assert!(o.cpu_time >= Duration::from_millis(100), "{mode}: {o:?}");
        assert!(o.max_rss_kib > 0, "{mode}: {o:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_steps_are_recorded_for_recovery() {
    let (_, m) = managers("running_steps_are_recorded_for_recovery").remove(0);
    let env = Env::new(m);
    let spec = env.spec("sleep 30");
    let spool = env.path().join("spool");
    let step = env.runner.launch(spec.clone()).await.unwrap();
    let found = recover(&spool);
    assert_eq!(found.len(), 1, "{found:?}");
    match &found[0] {
        RecoveredStep::Running(r) => {
            assert_eq!(r.pid, step.pid());
            assert_eq!(r.job_id, spec.job_id);
            assert_eq!(r.step_id, "batch");
        }
        other => panic!("not running: {other:?}"),
    }
    step.cancel();
    let o = step.wait().await;
    assert_eq!(o.end_reason, EndReason::Cancelled);
    assert!(recover(&spool).is_empty(), "state file removed at the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_as_another_user_when_root() {
    init_tracing();
    if !geteuid().is_root() {
        println!("runs_as_another_user_when_root: skipped: the tests do not run as root");
        return;
    }
    let user = match ensure_test_user() {
        Ok(u) => u,
        Err(reason) => {
            println!("runs_as_another_user_when_root: skipped: {reason}");
            return;
        }
    };
    for (mode, m) in managers("runs_as_another_user_when_root") {
        let env = Env::new(m);
        let mut spec = env.spec("id -u\nid -g\nstat -c '%u %a' \"$0\"\necho $SLURM_JOB_USER");
        spec.user = StepUser {
            name: user.name.clone(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        };
        let o = env.runner.run(spec.clone()).await;
        assert_ended(&o, EndReason::Completed, "0:0", mode);
        let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
        assert_eq!(
            env.out(&spec),
            format!("{uid}\n{gid}\n{uid} 700\n{}\n", user.name),
            "{mode}"
        );
        let out = spec.work_dir.join(format!("slurm-{}.out", spec.job_id));
        let meta = fs::metadata(out).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (uid, gid),
            "{mode}: output owned by the user"
        );

        // The user cannot write where it has no permission: the open fails as that user.
        let mut denied = env.spec("echo hi");
        denied.user = spec.user.clone();
        let locked = env.path().join("root-only");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        denied.io.stdout = Some(locked.join("o.txt").display().to_string());
        let err = env.runner.launch(denied).await.unwrap_err();
        assert!(
            err.to_string().ends_with("Permission denied"),
            "{mode}: {err}"
        );
    }
}

fn ensure_test_user() -> Result<User, String> {
    if let Ok(Some(u)) = User::from_name("slinkytest") {
        return Ok(u);
    }
    let status = std::process::Command::new("useradd")
        .args(["--no-create-home", "--shell", "/bin/sh", "slinkytest"])
        .status()
        .map_err(|e| format!("useradd: {e}"))?;
    // A concurrent test binary may have created it first.
    match User::from_name("slinkytest") {
        Ok(Some(u)) => Ok(u),
        _ => Err(format!("useradd slinkytest failed: {status}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_gives_out_of_memory() {
    init_tracing();
    let cg = match cgroup_manager() {
        Ok(cg) => cg,
        Err(reason) => {
            println!("memory_limit_gives_out_of_memory: skipped: cgroup v2 unusable: {reason}");
            return;
        }
    };
    if !cg.controllers().iter().any(|c| c == "memory") {
        println!(
            "memory_limit_gives_out_of_memory: skipped: the memory controller is not available \
             on this host's cgroup v2 hierarchy (controllers: {:?})",
            cg.controllers()
        );
        return;
    }
    let env = Env::new(Arc::new(cg));
    let mut spec = env.spec("head -c 200000000 /dev/zero | tail > /dev/null\nexit 0");
    spec.alloc.mem_mib = 32;
    let o = env.runner.run(spec).await;
    assert_eq!(o.end_reason, EndReason::OutOfMemory, "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroup_step_directory_lifecycle() {
    init_tracing();
    let cg = match cgroup_manager() {
        Ok(cg) => cg,
        Err(reason) => {
            println!("cgroup_step_directory_lifecycle: skipped: cgroup v2 unusable: {reason}");
            return;
        }
    };
    let env = Env::new(Arc::new(cg));
    let spec = env.spec("cat /proc/self/cgroup\nsleep 30");
    let step = env.runner.launch(spec.clone()).await.unwrap();
    let dir = step.cgroup().unwrap().to_path_buf();
    assert!(
        dir.ends_with(format!("job_{}/step_batch", spec.job_id)),
        "{}",
        dir.display()
    );
    assert!(
        eventually(Duration::from_secs(5), || env
            .out(&spec)
            .contains("step_batch"))
        .await,
        "the step runs inside its cgroup: {}",
        env.out(&spec)
    );
    step.cancel();
    step.wait().await;
    assert!(!dir.exists(), "step cgroup removed");
    assert!(
        !dir.parent().unwrap().exists(),
        "job cgroup removed with its last step"
    );
}

/// A container that delivers every signal but SIGKILL: its processes look unkillable.
#[derive(Debug)]
struct Deaf(Box<dyn StepContainer>);

impl StepContainer for Deaf {
    fn join_fd(&self) -> Option<std::os::fd::RawFd> {
        self.0.join_fd()
    }
    fn path(&self) -> Option<&Path> {
        self.0.path()
    }
    fn set_leader(&mut self, pid: i32) {
        self.0.set_leader(pid);
    }
    fn processes(&mut self) -> Vec<worker_agent::procfs::ProcStat> {
        self.0.processes()
    }
    fn signal(&mut self, sig: Signal) -> usize {
        if sig == Signal::SIGKILL {
            0
        } else {
            self.0.signal(sig)
        }
    }
    fn kill_all(&mut self) {}
    fn stats(&mut self) -> ContainerStats {
        self.0.stats()
    }
    fn cleanup(&mut self) {
        self.0.cleanup();
    }
}

#[derive(Debug)]
struct DeafManager;

impl CgroupManager for DeafManager {
    fn mode(&self) -> TrackingMode {
        TrackingMode::ProcessTree
    }
    fn create(
        &self,
        job_id: u32,
        step: StepId,
        limits: &StepLimits,
    ) -> Result<Box<dyn StepContainer>, CgroupError> {
        Ok(Box::new(Deaf(NoCgroups.create(job_id, step, limits)?)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unkillable_step_is_reported() {
    init_tracing();
    let env = Env::new(Arc::new(DeafManager));
    let mut spec = env.spec("trap '' TERM\necho ready\nsleep 30");
    spec.kill_wait = Duration::from_millis(300);
    spec.unkillable_step_timeout = Duration::from_millis(400);
    let step = env.runner.launch(spec.clone()).await.unwrap();
    let pid = step.pid();
    assert!(eventually(Duration::from_secs(5), || env.out(&spec).contains("ready")).await);
    step.cancel();
    let o = step.wait().await;
    assert_ended(&o, EndReason::Unkillable, "0:9", "deaf");
    assert!(o.elapsed >= Duration::from_millis(700), "{o:?}");
    assert!(!dead(pid), "the step is still there");
    // It stays recorded until it finally exits; then the agent reaps and forgets it.
    let spool = env.path().join("spool");
    assert_eq!(recover(&spool).len(), 1);
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(5), || recover(&spool).is_empty()).await);
}

/// Many batch scripts launched at once all run: a script being written while another
/// launch forks can be briefly "busy" to execve(), and the launch tries again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_launches_all_run() {
    init_tracing();
    let env = Env::new(Arc::new(NoCgroups));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..48 {
        let runner = env.runner.clone();
        let spec = env.spec(&format!("echo task{i}"));
        tasks.spawn(async move { (i, runner.run(spec).await) });
    }
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, outcome) = joined.unwrap();
        assert_ended(
            &outcome,
            EndReason::Completed,
            "0:0",
            &format!("launch {i}"),
        );
        done += 1;
    }
    assert_eq!(done, 48);
}
