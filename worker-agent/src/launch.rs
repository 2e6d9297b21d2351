//! Launching a step as a real process tree and supervising it to the end (the slurmstepd
//! role): limits, signals, usage sampling and the final [`StepOutcome`].

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::{Pid, pipe2};
use slurm_core::model::ExitStatus;
use tokio::sync::{mpsc, watch};

use crate::cgroup::{CgroupManager, StepContainer, StepLimits};
use crate::env::step_environment;
use crate::exec::{self, ChildSetup, Stage, SwitchUser};
use crate::procfs;
use crate::signals::{KillAction, KillSequence, SignalScope, SignalSpec};
use crate::state::{self, StepRecord};
use crate::step::{EndReason, OpenMode, StepCommand, StepId, StepOutcome, StepSpec};
use crate::usage::{Usage, UsageAccumulator};
use crate::user::{Identity, UserError, resolve_identity};

/// Node-wide settings of the step runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// `SLURMD_NODENAME`, `%N`.
    pub node_name: String,
    /// `SLURM_CLUSTER_NAME`.
    pub cluster_name: String,
    /// Batch scripts (`job00042/slurm_script`) and step state files (`steps/`).
    pub spool_dir: PathBuf,
    /// How often live usage is sampled.
    pub sample_interval: Duration,
    /// How long to wait for the directory of an output file to appear (tools create it
    /// right after sbatch returns).
    pub output_dir_wait: Duration,
}

impl AgentConfig {
    pub fn new(node_name: impl Into<String>, spool_dir: impl Into<PathBuf>) -> Self {
        Self {
            node_name: node_name.into(),
            cluster_name: "cluster".to_owned(),
            spool_dir: spool_dir.into(),
            sample_interval: Duration::from_secs(1),
            output_dir_wait: Duration::from_secs(5),
        }
    }
}

/// Why a step could not be started. The message is what slurmstepd would log; the step's
/// outcome is [`EndReason::LaunchFailed`] with exit code 1 ([`LaunchError::outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("couldn't chdir to `{dir}': {reason}")]
    Chdir { dir: String, reason: String },
    #[error("Could not open {stream} file {path}: {reason}")]
    Open {
        stream: &'static str,
        path: String,
        reason: String,
    },
    #[error("cannot write the batch script {path}: {reason}")]
    Script { path: String, reason: String },
    #[error("cannot set up the step cgroup: {0}")]
    Cgroup(String),
    #[error("{call}: {reason}")]
    Credentials { call: String, reason: String },
    #[error("execve(): {program}: {reason}")]
    Exec { program: String, reason: String },
    #[error("invalid step: {0}")]
    Invalid(String),
}

impl LaunchError {
    /// The outcome to report for a step that failed to launch.
    pub fn outcome(&self) -> StepOutcome {
        StepOutcome::launch_failed(self.to_string())
    }
}

/// Requests to a running step's supervisor.
#[derive(Debug, Clone, Copy)]
enum Control {
    Cancel,
    Signal(Signal, SignalScope),
}

/// A clonable handle for cancelling, signalling and observing a running step.
#[derive(Debug, Clone)]
pub struct StepHandle {
    control: mpsc::UnboundedSender<Control>,
    usage: watch::Receiver<Usage>,
}

impl StepHandle {
    /// Cancels the step as `scancel` does: SIGCONT and SIGTERM to every process, SIGKILL
    /// after KillWait; the step ends [`EndReason::Cancelled`]. No effect once it ended.
    pub fn cancel(&self) {
        let _ = self.control.send(Control::Cancel);
    }

    /// Sends `sig` (`scancel -s`; `-b` is [`SignalScope::Leader`]).
    pub fn signal(&self, sig: Signal, scope: SignalScope) {
        let _ = self.control.send(Control::Signal(sig, scope));
    }

    /// The latest usage sample (what `sstat` shows).
    pub fn usage(&self) -> Usage {
        *self.usage.borrow()
    }
}

/// The parent's ends of a task's piped standard streams.
#[derive(Debug, Default)]
pub struct TaskPipes {
    pub stdin: Option<tokio::process::ChildStdin>,
    pub stdout: Option<tokio::process::ChildStdout>,
    pub stderr: Option<tokio::process::ChildStderr>,
}

/// A launched step.
#[derive(Debug)]
pub struct RunningStep {
    pid: i32,
    /// The pipes of a step launched with [`StepSpec::pipe_output`] / `pipe_stdin`.
    pipes: TaskPipes,
    cgroup: Option<PathBuf>,
    handle: StepHandle,
    supervisor: tokio::task::JoinHandle<StepOutcome>,
}

impl RunningStep {
    /// The step's first process (it leads the step's session and process group).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The step's standard stream pipes (each `None` unless asked for); taken once.
    pub fn take_pipes(&mut self) -> TaskPipes {
        std::mem::take(&mut self.pipes)
    }

    /// The step's cgroup, when cgroups are in use.
    pub fn cgroup(&self) -> Option<&Path> {
        self.cgroup.as_deref()
    }

    pub fn handle(&self) -> StepHandle {
        self.handle.clone()
    }

    pub fn cancel(&self) {
        self.handle.cancel();
    }

    pub fn signal(&self, sig: Signal, scope: SignalScope) {
        self.handle.signal(sig, scope);
    }

    pub fn usage(&self) -> Usage {
        self.handle.usage()
    }

    /// Waits for the step to end.
    pub async fn wait(self) -> StepOutcome {
        match self.supervisor.await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(pid = self.pid, error = %e, "step supervisor failed");
                StepOutcome {
                    exit: ExitStatus { code: 1, signal: 0 },
                    end_reason: EndReason::Failed,
                    elapsed: Duration::ZERO,
                    cpu_time: Duration::ZERO,
                    max_rss_kib: 0,
                }
            }
        }
    }
}

/// Launches steps on this node.
#[derive(Debug, Clone)]
pub struct StepRunner {
    config: Arc<AgentConfig>,
    cgroups: Arc<dyn CgroupManager>,
}

/// What must be removed when a step is finished.
#[derive(Debug)]
struct Leftovers {
    spool: PathBuf,
    job_id: u32,
    step: String,
    script: Option<PathBuf>,
}

impl Leftovers {
    fn remove_script(&self) {
        if let Some(script) = &self.script {
            let _ = fs::remove_file(script);
            if let Some(dir) = script.parent() {
                let _ = fs::remove_dir(dir);
            }
        }
    }

    fn remove_all(&self) {
        self.remove_script();
        if let Err(e) = state::remove(&self.spool, self.job_id, &self.step) {
            tracing::warn!(error = %e, "cannot remove step state file");
        }
    }
}

impl StepRunner {
    pub fn new(config: AgentConfig, cgroups: Arc<dyn CgroupManager>) -> Self {
        Self {
            config: Arc::new(config),
            cgroups,
        }
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    pub fn cgroups(&self) -> &Arc<dyn CgroupManager> {
        &self.cgroups
    }

    /// Launches and waits: the step's outcome, a launch failure included.
    pub async fn run(&self, spec: StepSpec) -> StepOutcome {
        match self.launch(spec).await {
            Ok(step) => step.wait().await,
            Err(e) => e.outcome(),
        }
    }

    /// Starts the step and returns once its first process runs.
    ///
    /// In order: resolve the user (uid, gid, supplementary groups); expand the output
    /// paths and wait up to [`AgentConfig::output_dir_wait`] for their directories; build
    /// the environment; write the batch script; create the step cgroup; fork. The child
    /// joins the cgroup, calls setsid, takes the user's groups, gid and uid, opens its
    /// streams as that user (truncating or appending) and changes to the work directory;
    /// any failure there becomes a [`LaunchError`] naming the failed step.
    pub async fn launch(&self, spec: StepSpec) -> Result<RunningStep, LaunchError> {
        let cfg = &self.config;
        let identity = resolve_identity(&spec.user)?;
        let io = spec.resolve_io(&cfg.node_name);
        for path in std::iter::once(&io.stdout).chain(io.stderr.as_ref()) {
            if let Some(dir) = path.parent() {
                wait_for_dir(dir, cfg.output_dir_wait).await;
            }
        }
        let env = step_environment(&spec, &cfg.node_name, &cfg.cluster_name);

        let (program, args, script) = match &spec.command {
            StepCommand::Script(text) => {
                let path = write_script(&cfg.spool_dir, &spec, text, &identity)?;
                (path.clone(), Vec::new(), Some(path))
            }
            StepCommand::Argv(argv) => {
                let (first, rest) = argv
                    .split_first()
                    .ok_or_else(|| LaunchError::Invalid("empty command line".to_owned()))?;
                (PathBuf::from(first), rest.to_vec(), None)
            }
        };
        let leftovers = Leftovers {
            spool: cfg.spool_dir.clone(),
            job_id: spec.job_id,
            step: spec.step_id.to_string(),
            script,
        };

        let limits = StepLimits {
            cpus: spec.alloc.cpus,
            mem_mib: spec.alloc.mem_mib,
            cpu_ids: spec.alloc.cpu_ids.clone(),
        };
        let mut container = match self.cgroups.create(spec.job_id, spec.step_id, &limits) {
            Ok(c) => c,
            Err(e) => {
                leftovers.remove_script();
                return Err(LaunchError::Cgroup(e.to_string()));
            }
        };

        let mut spawned = spawn_child(&spec, &identity, &io, &program, &args, &env, &*container);
        for attempt in 1..=TEXT_BUSY_RETRIES {
            // A batch script is written through a descriptor that a concurrent fork (another
            // step's launch) copies into its child until that child executes; while it does,
            // the kernel refuses to execute the script. The window is short: try again.
            match &spawned {
                Err(failure) if failure.text_busy => {
                    tokio::time::sleep(Duration::from_millis(2 * attempt)).await;
                    spawned =
                        spawn_child(&spec, &identity, &io, &program, &args, &env, &*container);
                }
                _ => break,
            }
        }
        let mut child = match spawned.map_err(|f| f.error) {
            Ok(child) => child,
            Err(e) => {
                container.cleanup();
                leftovers.remove_script();
                tracing::warn!(step = %spec.display_id(), error = %e, "step launch failed");
                return Err(e);
            }
        };
        let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
            container.cleanup();
            leftovers.remove_script();
            return Err(LaunchError::Exec {
                program: program.display().to_string(),
                reason: "the process exited before it could be tracked".to_owned(),
            });
        };
        container.set_leader(pid);
        let pipes = TaskPipes {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        };
        let start = Instant::now();
        let started_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let record = StepRecord {
            job_id: spec.job_id,
            step_id: spec.step_id.to_string(),
            pid,
            pgid: pid,
            start_ticks: procfs::read_stat(pid).map_or(0, |s| s.starttime),
            started_at,
            cgroup: container.path().map(Path::to_path_buf),
            uid: spec.user.uid,
        };
        if let Err(e) = state::save(&cfg.spool_dir, &record) {
            tracing::warn!(error = %e, "cannot record the running step; it cannot be re-adopted");
        }
        tracing::info!(
            step = %spec.display_id(),
            pid,
            uid = identity.uid,
            tracking = %self.cgroups.mode(),
            "step launched"
        );

        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (usage_tx, usage_rx) = watch::channel(Usage::default());
        let cgroup = container.path().map(Path::to_path_buf);
        let supervisor = Supervisor {
            display_id: spec.display_id(),
            step_id: spec.step_id,
            child,
            pid,
            container,
            acc: UsageAccumulator::default(),
            usage_tx,
            control_rx,
            start,
            time_limit: spec.time_limit,
            kill_wait: spec.kill_wait,
            unkillable_timeout: spec.unkillable_step_timeout,
            signal: spec.signal,
            sample_interval: cfg.sample_interval.max(Duration::from_millis(10)),
            leftovers,
        };
        Ok(RunningStep {
            pid,
            pipes,
            cgroup,
            handle: StepHandle {
                control: control_tx,
                usage: usage_rx,
            },
            supervisor: tokio::spawn(supervisor.run()),
        })
    }
}

/// How many times a launch is retried while its script is busy (about 2.5 s in all).
const TEXT_BUSY_RETRIES: u64 = 50;

/// Why forking and executing a step's first process failed.
struct SpawnFailure {
    error: LaunchError,
    /// execve() refused the program because a descriptor open for writing on it exists
    /// (ETXTBSY): worth trying again shortly.
    text_busy: bool,
}

impl From<LaunchError> for SpawnFailure {
    fn from(error: LaunchError) -> Self {
        Self {
            error,
            text_busy: false,
        }
    }
}

/// Polls for `dir` until it exists or `max` has passed.
async fn wait_for_dir(dir: &Path, max: Duration) {
    let deadline = Instant::now() + max;
    while !dir.is_dir() {
        let now = Instant::now();
        if now >= deadline {
            tracing::debug!(dir = %dir.display(), "output directory still missing");
            return;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_millis(50))).await;
    }
}

fn script_err(path: &Path) -> impl Fn(std::io::Error) -> LaunchError + '_ {
    move |e| LaunchError::Script {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes the batch script to `<spool>/job<id>/slurm_script` (`step<id>_script` for other
/// steps), mode 0700, owned by the user.
fn write_script(
    spool: &Path,
    spec: &StepSpec,
    text: &str,
    identity: &Identity,
) -> Result<PathBuf, LaunchError> {
    if !spool.exists() {
        fs::create_dir_all(spool).map_err(script_err(spool))?;
        fs::set_permissions(spool, fs::Permissions::from_mode(0o755)).map_err(script_err(spool))?;
    }
    let dir = spool.join(format!("job{:05}", spec.job_id));
    match fs::create_dir(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(script_err(&dir)(e));
        }
        _ => {}
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(script_err(&dir))?;
    let name = match spec.step_id {
        StepId::Batch => "slurm_script".to_owned(),
        other => format!("step{other}_script"),
    };
    let path = dir.join(name);
    let _ = fs::remove_file(&path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&path)
        .map_err(script_err(&path))?;
    file.write_all(text.as_bytes()).map_err(script_err(&path))?;
    file.set_permissions(fs::Permissions::from_mode(0o700))
        .map_err(script_err(&path))?;
    if identity.switch {
        let (uid, gid) = (Some(identity.uid), Some(identity.gid));
        std::os::unix::fs::fchown(&file, uid, gid).map_err(script_err(&path))?;
        std::os::unix::fs::chown(&dir, uid, gid).map_err(script_err(&dir))?;
    }
    Ok(path)
}

fn cstring(what: &str, path: &Path) -> Result<CString, LaunchError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| LaunchError::Invalid(format!("{what} {} contains a NUL byte", path.display())))
}

/// Forks and executes the step's first process.
fn spawn_child(
    spec: &StepSpec,
    identity: &Identity,
    io: &crate::step::ResolvedIo,
    program: &Path,
    args: &[String],
    env: &std::collections::BTreeMap<String, String>,
    container: &dyn StepContainer,
) -> Result<tokio::process::Child, SpawnFailure> {
    let work_dir = cstring("work dir", &spec.work_dir)?;
    let setup_err =
        |reason: String| LaunchError::Invalid(format!("cannot create a pipe: {reason}"));
    let (report_rd, report_wr) = pipe2(OFlag::O_CLOEXEC).map_err(|e| setup_err(e.to_string()))?;
    let mut chdir_message = b"slurmstepd: error: couldn't chdir to `".to_vec();
    chdir_message.extend_from_slice(spec.work_dir.as_os_str().as_bytes());
    chdir_message.extend_from_slice(b"': ");
    let setup = ChildSetup {
        cgroup_fd: container.join_fd(),
        switch_user: identity.switch.then(|| SwitchUser {
            uid: identity.uid,
            gid: identity.gid,
            groups: identity.groups.clone(),
        }),
        stdin: cstring("stdin", &io.stdin)?,
        stdout: cstring("stdout", &io.stdout)?,
        stderr: io
            .stderr
            .as_deref()
            .map(|p| cstring("stderr", p))
            .transpose()?,
        append: spec.io.open_mode == OpenMode::Append,
        work_dir,
        chdir_message,
        report_fd: std::os::fd::AsRawFd::as_raw_fd(&report_wr),
        keep_stdin: spec.pipe_stdin,
        keep_output: spec.pipe_output,
    };
    let piped = |yes: bool| if yes { Stdio::piped() } else { Stdio::null() };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env)
        .stdin(piped(spec.pipe_stdin))
        .stdout(piped(spec.pipe_output))
        .stderr(piped(spec.pipe_output))
        .kill_on_drop(false);
    exec::install(&mut cmd, setup);
    let result = cmd.spawn();
    drop(report_wr);
    drop(cmd);
    match result {
        Ok(child) => Ok(child),
        Err(e) => {
            let mut byte = [0u8; 1];
            let stage = match fs::File::from(report_rd).read(&mut byte) {
                Ok(1) => Stage::from_byte(byte[0]),
                _ => None,
            };
            let text_busy = stage.is_none() && e.raw_os_error() == Some(Errno::ETXTBSY as i32);
            let reason = e
                .raw_os_error()
                .map_or_else(|| e.to_string(), |n| Errno::from_raw(n).desc().to_owned());
            let shown = |p: &Path| p.display().to_string();
            let error = match stage {
                Some(Stage::Chdir) => LaunchError::Chdir {
                    dir: shown(&spec.work_dir),
                    reason,
                },
                Some(Stage::Stdout) => LaunchError::Open {
                    stream: "stdout",
                    path: shown(&io.stdout),
                    reason,
                },
                Some(Stage::Stderr) => LaunchError::Open {
                    stream: "stderr",
                    path: io
                        .stderr
                        .as_deref()
                        .map_or_else(|| shown(&io.stdout), shown),
                    reason,
                },
                Some(Stage::Stdin) => LaunchError::Open {
                    stream: "stdin",
                    path: shown(&io.stdin),
                    reason,
                },
                Some(Stage::JoinCgroup) => LaunchError::Cgroup(format!(
                    "cannot join {}: {reason}",
                    container.path().map_or_else(String::new, shown)
                )),
                Some(
                    stage @ (Stage::Setsid | Stage::Setgroups | Stage::Setgid | Stage::Setuid),
                ) => {
                    let call = match stage {
                        Stage::Setsid => "setsid()".to_owned(),
                        Stage::Setgroups => format!("setgroups({:?})", identity.groups),
                        Stage::Setgid => format!("setgid({})", identity.gid),
                        _ => format!("setuid({})", identity.uid),
                    };
                    LaunchError::Credentials { call, reason }
                }
                None => LaunchError::Exec {
                    program: shown(program),
                    reason,
                },
            };
            Err(SpawnFailure { error, text_busy })
        }
    }
}

/// Why the agent started terminating the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillCause {
    Cancel,
    TimeLimit,
}

/// Owns a running step until it ends.
struct Supervisor {
    display_id: String,
    step_id: StepId,
    child: tokio::process::Child,
    pid: i32,
    container: Box<dyn StepContainer>,
    acc: UsageAccumulator,
    usage_tx: watch::Sender<Usage>,
    control_rx: mpsc::UnboundedReceiver<Control>,
    start: Instant,
    time_limit: Option<Duration>,
    kill_wait: Duration,
    unkillable_timeout: Duration,
    signal: Option<SignalSpec>,
    sample_interval: Duration,
    leftovers: Leftovers,
}

/// Blocks until `pid` has exited, leaving it a zombie (so its final `/proc` entry can be
/// read before it is reaped).
fn wait_exited(pid: i32) {
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Err(Errno::EINTR) => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::debug!(pid, error = %e, "waitid failed; treating the process as exited");
                return;
            }
        }
    }
}

/// Sleeps until `at`, or forever when `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

impl Supervisor {
    fn sample(&mut self) {
        let procs = self.container.processes();
        let stats = self.container.stats();
        self.acc.record(&procs, &stats);
        self.usage_tx.send_replace(self.acc.usage());
    }

    fn send(&mut self, sig: Signal, scope: SignalScope) {
        match scope {
            SignalScope::Leader => {
                let _ = kill(Pid::from_raw(self.pid), sig);
            }
            // The container reaches every process (the process-tree tracker signals the
            // step's process group first).
            SignalScope::Step => {
                self.container.signal(sig);
            }
        }
    }

    fn kill_everything(&mut self) {
        self.container.kill_all();
    }

    fn start_kill(&mut self, cause: KillCause) -> KillSequence {
        tracing::info!(step = %self.display_id, ?cause, "terminating step: SIGCONT, SIGTERM");
        let (seq, action) =
            KillSequence::start(Instant::now(), self.kill_wait, self.unkillable_timeout);
        debug_assert_eq!(action, KillAction::ContTerm);
        self.send(Signal::SIGCONT, SignalScope::Step);
        self.send(Signal::SIGTERM, SignalScope::Step);
        seq
    }

    async fn run(mut self) -> StepOutcome {
        let pid = self.pid;
        let mut exited = tokio::task::spawn_blocking(move || wait_exited(pid));
        let limit_at = self.time_limit.map(|l| self.start + l);
        let mut warning = match (self.signal, self.time_limit) {
            (Some(spec), Some(limit)) => spec
                .scope_for(self.step_id)
                .map(|scope| (spec.due(self.start, limit), spec.signal, scope)),
            _ => None,
        };
        let mut ticker = tokio::time::interval(self.sample_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut kill: Option<KillSequence> = None;
        let mut cause: Option<KillCause> = None;
        let mut controls_open = true;

        let gave_up = loop {
            let kill_at = kill.as_ref().and_then(KillSequence::deadline);
            let limit_pending = if kill.is_none() { limit_at } else { None };
            tokio::select! {
                _ = &mut exited => break false,
                control = self.control_rx.recv(), if controls_open => match control {
                    None => controls_open = false,
                    Some(Control::Cancel) => {
                        if kill.is_none() {
                            cause = Some(KillCause::Cancel);
                            kill = Some(self.start_kill(KillCause::Cancel));
                        }
                    }
                    Some(Control::Signal(sig, scope)) => self.send(sig, scope),
                },
                () = sleep_until(limit_pending) => {
                    cause = Some(KillCause::TimeLimit);
                    kill = Some(self.start_kill(KillCause::TimeLimit));
                }
                () = sleep_until(warning.map(|w| w.0)) => {
                    if let Some((_, sig, scope)) = warning.take() {
                        tracing::info!(step = %self.display_id, ?sig, ?scope, "--signal before the time limit");
                        self.send(sig, scope);
                    }
                }
                () = sleep_until(kill_at) => {
                    match kill.as_mut().and_then(|k| k.on_deadline(Instant::now())) {
                        Some(KillAction::Kill) => {
                            tracing::info!(step = %self.display_id, "KillWait passed: SIGKILL");
                            self.kill_everything();
                        }
                        Some(KillAction::GiveUp) => break true,
                        _ => {}
                    }
                }
                _ = ticker.tick() => self.sample(),
            }
        };
        let elapsed = self.start.elapsed();

        if gave_up {
            return self.unkillable(exited, elapsed, cause);
        }

        // The leader has exited and is a zombie: take the last sample with it, then kill
        // whatever it left behind, as slurmstepd does when the batch script ends.
        self.sample();
        if let Some(leader) = procfs::read_stat(pid) {
            self.acc
                .record_cpu(procfs::ticks_to_duration(leader.total_ticks()));
        }
        let mut leftover_alive = false;
        if self.container.is_populated() {
            tracing::info!(step = %self.display_id, "killing processes left by the step");
            let deadline = Instant::now() + self.unkillable_timeout;
            loop {
                self.kill_everything();
                if !self.container.is_populated() {
                    break;
                }
                if Instant::now() >= deadline {
                    leftover_alive = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let status = match self.child.wait().await {
            Ok(s) => ExitStatus {
                code: s.code().unwrap_or(0),
                signal: s.signal().unwrap_or(0),
            },
            Err(e) => {
                tracing::error!(step = %self.display_id, error = %e, "cannot reap the step");
                ExitStatus { code: 1, signal: 0 }
            }
        };
        self.sample();
        let usage = self.acc.usage();
        if leftover_alive {
            tracing::error!(step = %self.display_id, "processes survived SIGKILL: unkillable step");
        } else {
            self.container.cleanup();
            self.leftovers.remove_all();
        }
        let end_reason = if leftover_alive {
            EndReason::Unkillable
        } else {
            match cause {
                Some(KillCause::Cancel) => EndReason::Cancelled,
                Some(KillCause::TimeLimit) => EndReason::TimedOut,
                None if usage.oom_kills > 0 => EndReason::OutOfMemory,
                None if status.is_success() => EndReason::Completed,
                None => EndReason::Failed,
            }
        };
        tracing::info!(step = %self.display_id, exit = %status, ?end_reason, "step ended");
        StepOutcome {
            exit: status,
            end_reason,
            elapsed,
            cpu_time: usage.cpu_time,
            max_rss_kib: usage.max_rss_kib,
        }
    }

    /// The step survived SIGKILL for UnkillableStepTimeout: report it, and leave a task
    /// that reaps and cleans up if it ever exits.
    fn unkillable(
        mut self,
        exited: tokio::task::JoinHandle<()>,
        elapsed: Duration,
        cause: Option<KillCause>,
    ) -> StepOutcome {
        tracing::error!(
            step = %self.display_id,
            ?cause,
            "step did not exit within UnkillableStepTimeout after SIGKILL: Kill task failed"
        );
        self.sample();
        let usage = self.acc.usage();
        let display_id = self.display_id.clone();
        tokio::spawn(async move {
            let _ = exited.await;
            let _ = self.child.wait().await;
            self.kill_everything();
            if !self.container.is_populated() {
                self.container.cleanup();
            }
            self.leftovers.remove_all();
            tracing::info!(step = %display_id, "unkillable step finally exited");
        });
        StepOutcome {
            exit: ExitStatus {
                code: 0,
                signal: Signal::SIGKILL as i32,
            },
            end_reason: EndReason::Unkillable,
            elapsed,
            cpu_time: usage.cpu_time,
            max_rss_kib: usage.max_rss_kib,
        }
    }
}
