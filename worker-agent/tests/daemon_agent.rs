//! The agent daemon against a fake controller: registration, launches of real scripts,
//! exit codes, cancellation, time limits, reports kept across a controller outage and an
//! agent restart, and re-adoption of steps a previous agent left running.
//!
//! The fake controller is a test double of the other daemon, implementing the generated
//! `SlurmdGateway` server on loopback.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::unistd::{User, getegid, geteuid};
use slurm_core::config::parse_slurm_conf;
use slurm_core::engine::JobEnd;
use slurm_core::model::{
    ExitStatus, Gres, Job, JobId, JobSpec, JobState, NodeAllocation, TimeLimit,
};
use slurm_core::proto::slurmd_gateway::slurmd_gateway_server::{
    SlurmdGateway, SlurmdGatewayServer,
};
use slurm_core::proto::{
    Ack, AgentCommand, Authed, BatchScript, CommandStreamRequest, GpuInfo, Heartbeat,
    HeartbeatReply, JobReport, LaunchBatch, NodeHardware, NodeRegistration, RegisterReply,
    TerminateReason,
};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{TcpListenerStream, UnboundedReceiverStream};
use tonic::{Request, Response, Status};
use worker_agent::NoCgroups;
use worker_agent::daemon::spool::{JobRecord, Spool};
use worker_agent::daemon::{AgentOptions, run_agent};
use worker_agent::state::{self, StepRecord};

const NODE: &str = "n1";
/// Bound on every wait in these tests.
const WAIT: Duration = Duration::from_secs(4);

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
fn job_id() -> JobId {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 100_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed) + 2_000_000
}

// ----- the fake controller -----

type CommandTx = mpsc::UnboundedSender<Result<AgentCommand, Status>>;

#[derive(Default)]
struct FakeState {
    registrations: Vec<NodeRegistration>,
    reports: Vec<JobReport>,
    heartbeats: Vec<Heartbeat>,
    streams: Vec<CommandTx>,
    down: bool,
    orphans: Vec<JobId>,
}

#[derive(Clone, Default)]
struct Fake {
    state: Arc<Mutex<FakeState>>,
}

impl Fake {
    fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn unavailable(&self) -> Result<(), Status> {
        if self.with(|s| s.down) {
            Err(Status::unavailable("controller is down"))
        } else {
            Ok(())
        }
    }

    /// Down: every call fails and open command streams break. Up: calls succeed.
    fn set_down(&self, down: bool) {
        self.with(|s| {
            s.down = down;
            if down {
                for tx in s.streams.drain(..) {
                    let _ = tx.send(Err(Status::unavailable("controller going down")));
                }
            }
        });
    }

    /// Sends `command` on the agent's latest command stream.
    async fn send(&self, command: AgentCommand) {
        let tx = wait_for("an open command stream", || {
            self.with(|s| s.streams.last().filter(|t| !t.is_closed()).cloned())
        })
        .await;
        tx.send(Ok(command)).expect("command stream closed");
    }

    async fn report(&self, job_id: JobId) -> JobReport {
        wait_for(&format!("the report of job {job_id}"), || {
            self.with(|s| {
                s.reports
                    .iter()
                    .chain(s.registrations.iter().flat_map(|r| &r.finished))
                    .find(|r| r.job_id == job_id)
                    .cloned()
            })
        })
        .await
    }

    async fn registration(&self, n: usize) -> NodeRegistration {
        wait_for(&format!("registration #{n}"), || {
            self.with(|s| s.registrations.get(n - 1).cloned())
        })
        .await
    }
}

#[tonic::async_trait]
impl SlurmdGateway for Fake {
    async fn register(
        &self,
        request: Request<Authed<NodeRegistration>>,
    ) -> Result<Response<RegisterReply>, Status> {
        self.unavailable()?;
        let orphans = self.with(|s| {
            s.registrations.push(request.into_inner().body);
            s.orphans.clone()
        });
        Ok(Response::new(RegisterReply {
            cluster_name: "testcluster".into(),
            heartbeat_interval_ms: 200,
            orphans,
            controller_proof: None,
        }))
    }

    type CommandsStream = UnboundedReceiverStream<Result<AgentCommand, Status>>;

    async fn commands(
        &self,
        _request: Request<Authed<CommandStreamRequest>>,
    ) -> Result<Response<Self::CommandsStream>, Status> {
        self.unavailable()?;
        let (tx, rx) = mpsc::unbounded_channel();
        self.with(|s| s.streams.push(tx));
        Ok(Response::new(UnboundedReceiverStream::new(rx)))
    }

    async fn heartbeat(
        &self,
        request: Request<Authed<Heartbeat>>,
    ) -> Result<Response<HeartbeatReply>, Status> {
        self.unavailable()?;
        self.with(|s| s.heartbeats.push(request.into_inner().body));
        Ok(Response::new(HeartbeatReply { registered: true }))
    }

    async fn report_job(
        &self,
        request: Request<Authed<JobReport>>,
    ) -> Result<Response<Ack>, Status> {
        self.unavailable()?;
        self.with(|s| s.reports.push(request.into_inner().body));
        Ok(Response::new(Ack {}))
    }
}

/// Serves `fake` on `listener`.
fn serve(fake: &Fake, listener: tokio::net::TcpListener) {
    let service = SlurmdGatewayServer::new(fake.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
}

async fn start_fake() -> (Fake, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = Fake::default();
    serve(&fake, listener);
    (fake, port)
}

/// Polls `probe` until it gives a value, at most [`WAIT`].
async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ----- the agent -----

struct TestAgent {
    dir: tempfile::TempDir,
    port: u16,
}

impl TestAgent {
    fn new(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::create_dir_all(dir.path().join("work")).unwrap();
        Self { dir, port }
    }

    fn spool(&self) -> PathBuf {
        self.dir.path().join("spool").join(NODE)
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn options(&self) -> AgentOptions {
        let text = format!(
            "ClusterName=testcluster\n\
             AuthType=auth/none\n\
             SlurmctldHost=ctl(127.0.0.1)\n\
             SlurmctldPort={}\n\
             KillWait=1\n\
             UnkillableStepTimeout=3\n\
             MessageTimeout=2\n\
             NodeName={NODE} CPUs=2 RealMemory=1000\n\
             PartitionName=debug Nodes={NODE} Default=YES\n",
            self.port
        );
        let loaded = parse_slurm_conf(&text, "test-slurm.conf").unwrap();
        let mut o = AgentOptions::from_loaded(NODE, loaded, self.spool());
        o.cgroup_manager = Some(Arc::new(NoCgroups));
        o.retry_initial = Duration::from_millis(50);
        o.retry_max = Duration::from_millis(200);
        o.sample_interval = Duration::from_millis(50);
        o.output_dir_wait = Duration::from_millis(100);
        o
    }

    /// Starts the agent with its usual options.
    fn start(&self) -> RunningAgent {
        self.start_with(self.options())
    }

    fn start_with(&self, options: AgentOptions) -> RunningAgent {
        let (stop, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            run_agent(options, async {
                let _ = rx.await;
            })
            .await
            .expect("agent failed");
        });
        RunningAgent { stop, handle }
    }

    /// A launch of `script` as the current user in `work/`.
    fn launch(&self, job_id: JobId, script: &str, time_limit: TimeLimit) -> AgentCommand {
        let uid = geteuid();
        let user = User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| "unknown".to_owned(), |u| u.name);
        let spec = JobSpec {
            name: "testjob".into(),
            user,
            uid: uid.as_raw(),
            gid: getegid().as_raw(),
            work_dir: self.work().display().to_string(),
            ..JobSpec::default()
        };
        let job = Job {
            priority: 1,
            partition: "debug".into(),
            time_limit,
            allocation: vec![NodeAllocation {
                node: NODE.into(),
                cpus: 1,
                mem_mb: 100,
                gres: Vec::new(),
            }],
            ..Job::new(job_id, JobState::Running, spec)
        };
        AgentCommand::Launch(Box::new(LaunchBatch {
            job,
            batch: BatchScript {
                script: script.to_owned(),
                args: Vec::new(),
                environment: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())],
            },
            cluster_name: "testcluster".into(),
        }))
    }
}

/// An agent started by [`TestAgent::start`].
struct RunningAgent {
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningAgent {
    /// Stops the agent and waits (at most [`WAIT`]) until it has finished.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .unwrap()
            .unwrap();
    }
}

/// A fake controller and an agent started against it that has registered once.
async fn registered_agent() -> (Fake, TestAgent, RunningAgent) {
    init_tracing();
    let (fake, port) = start_fake().await;
    let agent = TestAgent::new(port);
    let running = agent.start();
    fake.registration(1).await;
    (fake, agent, running)
}

/// Waits until a heartbeat reports `id` running.
async fn wait_heartbeat_with(fake: &Fake, id: JobId) {
    wait_for("a heartbeat with the job", || {
        fake.with(|s| {
            s.heartbeats
                .iter()
                .any(|h| h.running.contains(&id))
                .then_some(())
        })
    })
    .await;
}

async fn wait_for_file(path: &Path) -> String {
    wait_for(&path.display().to_string(), || {
        fs::read_to_string(path).ok()
    })
    .await
}

fn exit(code: i32, signal: i32) -> ExitStatus {
    ExitStatus { code, signal }
}

// ----- tests -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_after_controller_appears_and_runs_a_script() {
    init_tracing();
    // A port with nothing listening yet: the agent retries until the controller appears.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = TestAgent::new(port);
    let running = agent.start();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fake = Fake::default();
    serve(
        &fake,
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
    );

    let reg = fake.registration(1).await;
    assert_eq!(reg.node, NODE);
    let hw = &reg.hardware;
    // slurm.conf gives the node 2 CPUs and 1000 MiB: never more is reported.
    assert!(hw.cpus >= 1 && hw.cpus <= 2, "{hw:?}");
    assert_eq!(
        hw.sockets * hw.cores_per_socket * hw.threads_per_core,
        hw.cpus
    );
    assert!(hw.real_memory_mb > 0 && hw.real_memory_mb <= 1000, "{hw:?}");
    assert!(hw.gpus.is_empty());
    assert!(reg.running.is_empty() && reg.finished.is_empty());

    let id = job_id();
    fake.send(agent.launch(
        id,
        "#!/bin/sh\necho hello from $SLURM_JOB_ID on $SLURMD_NODENAME\n\
         i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done\nsleep 1\n",
        TimeLimit::Infinite,
    ))
    .await;
    // Heartbeats carry the running job.
    wait_heartbeat_with(&fake, id).await;
    let report = fake.report(id).await;
    assert_eq!(report.node, NODE);
    assert_eq!(report.end, JobEnd::Exited(exit(0, 0)));
    assert_eq!(report.drain_reason, None);
    assert!(report.usage.elapsed_s >= 1, "{:?}", report.usage);
    assert!(report.usage.cpu_time_ms > 0, "{:?}", report.usage);
    assert!(report.usage.max_rss_kb > 0, "{:?}", report.usage);
    let out = wait_for_file(&agent.work().join(format!("slurm-{id}.out"))).await;
    assert_eq!(out, format!("hello from {id} on {NODE}\n"));
    // Acknowledged: nothing left in the spool.
    wait_for("an empty outbox", || {
        fs::read_dir(agent.spool().join("reports"))
            .unwrap()
            .next()
            .is_none()
            .then_some(())
    })
    .await;

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_script_and_script_without_shebang() {
    let (fake, agent, running) = registered_agent().await;

    let failing = job_id();
    fake.send(agent.launch(failing, "#!/bin/sh\nexit 3\n", TimeLimit::Infinite))
        .await;
    let plain = job_id();
    fake.send(agent.launch(plain, "echo plain > plain.txt\n", TimeLimit::Infinite))
        .await;
    assert_eq!(fake.report(failing).await.end, JobEnd::Exited(exit(3, 0)));
    assert_eq!(fake.report(plain).await.end, JobEnd::Exited(exit(0, 0)));
    assert_eq!(
        wait_for_file(&agent.work().join("plain.txt")).await,
        "plain\n"
    );

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_then_cancel_a_script_that_traps_sigterm() {
    let (fake, agent, running) = registered_agent().await;

    let id = job_id();
    fake.send(agent.launch(
        id,
        "#!/bin/sh\n\
         trap 'echo usr1 >> signals' USR1\n\
         trap 'echo term >> signals; exit 7' TERM\n\
         echo ready > ready\n\
         while :; do sleep 0.1; done\n",
        TimeLimit::Infinite,
    ))
    .await;
    wait_for_file(&agent.work().join("ready")).await;
    fake.send(AgentCommand::Signal {
        job_id: id,
        signal: nix::sys::signal::Signal::SIGUSR1 as i32,
        batch_only: true,
    })
    .await;
    wait_for("the USR1 trap", || {
        fs::read_to_string(agent.work().join("signals"))
            .ok()
            .filter(|s| s.contains("usr1"))
    })
    .await;
    fake.send(AgentCommand::Terminate {
        job_id: id,
        reason: TerminateReason::Cancelled,
    })
    .await;
    let report = fake.report(id).await;
    assert_eq!(report.end, JobEnd::Cancelled(exit(7, 0)));
    assert_eq!(
        fs::read_to_string(agent.work().join("signals")).unwrap(),
        "usr1\nterm\n"
    );

    // A terminate for a job this node does not run is answered with a report.
    let unknown = job_id();
    fake.send(AgentCommand::Terminate {
        job_id: unknown,
        reason: TerminateReason::Cancelled,
    })
    .await;
    assert_eq!(
        fake.report(unknown).await.end,
        JobEnd::Cancelled(exit(0, 0))
    );

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limit_ends_the_job_as_timed_out() {
    let (fake, agent, running) = registered_agent().await;

    let id = job_id();
    let started = Instant::now();
    fake.send(agent.launch(id, "#!/bin/sh\nsleep 30\n", TimeLimit::Seconds(1)))
        .await;
    let report = fake.report(id).await;
    assert_eq!(report.end, JobEnd::TimedOut);
    assert!(report.usage.elapsed_s >= 1, "{:?}", report.usage);
    assert!(started.elapsed() < Duration::from_secs(3));

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_survive_a_controller_outage_and_an_agent_restart() {
    let (fake, agent, running) = registered_agent().await;

    let id = job_id();
    fake.send(agent.launch(id, "#!/bin/sh\nsleep 0.5\nexit 4\n", TimeLimit::Infinite))
        .await;
    wait_heartbeat_with(&fake, id).await;
    fake.set_down(true);
    // The job ends while the controller is down: its report waits in the spool.
    let report_file = agent.spool().join("reports").join(format!("{id}.json"));
    wait_for("the report in the spool", || {
        report_file.exists().then_some(())
    })
    .await;
    assert!(fake.with(|s| s.reports.iter().all(|r| r.job_id != id)));

    // The agent restarts while the controller is still down.
    running.stop().await;
    let running = agent.start();
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.set_down(false);

    let reg = fake.registration(2).await;
    let delivered = reg
        .finished
        .iter()
        .find(|r| r.job_id == id)
        .expect("the registration carries the report");
    assert_eq!(delivered.end, JobEnd::Exited(exit(4, 0)));
    assert!(reg.running.is_empty());
    wait_for("the report to leave the spool", || {
        (!report_file.exists()).then_some(())
    })
    .await;

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_are_given_to_jobs_and_exported() {
    init_tracing();
    let (fake, port) = start_fake().await;
    let agent = TestAgent::new(port);
    let mut options = agent.options();
    let gpu = |index| GpuInfo {
        kind: Some("a100".into()),
        index,
        uuid: None,
        memory_mb: None,
        model: None,
    };
    let hardware = NodeHardware {
        cpus: 2,
        sockets: 1,
        cores_per_socket: 2,
        threads_per_core: 1,
        real_memory_mb: 1000,
        gpus: vec![gpu(0), gpu(1)],
    };
    options.hardware = Some(hardware.clone());
    let running = agent.start_with(options);
    assert_eq!(fake.registration(1).await.hardware, hardware);

    let (a, b) = (job_id(), job_id());
    // Each job holds its GPU until both have written theirs (bounded at 10 s), so the two
    // overlap however slowly the second one is launched.
    let script = format!(
        "#!/bin/sh\necho $CUDA_VISIBLE_DEVICES > gpus-$SLURM_JOB_ID\n\
         for i in $(seq 1 200); do [ -e gpus-{a} ] && [ -e gpus-{b} ] && break; sleep 0.05; done\n"
    );
    for id in [a, b] {
        let AgentCommand::Launch(mut launch) = agent.launch(id, &script, TimeLimit::Infinite)
        else {
            unreachable!()
        };
        launch.job.allocation[0].gres = vec![Gres::new("gpu", Some("a100"), 1)];
        fake.send(AgentCommand::Launch(launch)).await;
    }
    for id in [a, b] {
        assert_eq!(fake.report(id).await.end, JobEnd::Exited(exit(0, 0)));
    }
    let mut seen = vec![
        wait_for_file(&agent.work().join(format!("gpus-{a}"))).await,
        wait_for_file(&agent.work().join(format!("gpus-{b}"))).await,
    ];
    seen.sort();
    assert_eq!(seen, vec!["0\n", "1\n"]);

    running.stop().await;
}

/// Starts `sleep SECS` in its own session, detached from this process (as a step is once
/// its agent died), and returns its pid.
fn orphan_sleep(secs: &str) -> i32 {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "setsid sleep {secs} >/dev/null 2>&1 </dev/null & echo $!"
        ))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn record_step(spool: &Path, job_id: JobId, pid: i32) {
    let start_ticks = worker_agent::procfs::read_stat(pid).map_or(0, |s| s.starttime);
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    state::save(
        spool,
        &StepRecord {
            job_id,
            step_id: "batch".into(),
            pid,
            pgid: pid,
            start_ticks,
            started_at,
            cgroup: None,
            uid: geteuid().as_raw(),
        },
    )
    .unwrap();
    Spool::open(spool)
        .unwrap()
        .save_job(&JobRecord {
            job_id,
            time_limit_s: None,
            kill_wait_s: 1,
            unkillable_step_timeout_s: 3,
            gpus: Vec::new(),
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_agent_readopts_running_steps() {
    init_tracing();
    let (fake, port) = start_fake().await;
    let agent = TestAgent::new(port);
    let spool = agent.spool();
    fs::create_dir_all(&spool).unwrap();

    // What a previous agent left: a step that ends soon, one the controller no longer
    // knows, one to cancel, and one that ended while no agent watched.
    let (ends, orphan, cancel, lost) = (job_id(), job_id(), job_id(), job_id());
    let ends_pid = orphan_sleep("1");
    let orphan_pid = orphan_sleep("30");
    let cancel_pid = orphan_sleep("30");
    record_step(&spool, ends, ends_pid);
    record_step(&spool, orphan, orphan_pid);
    record_step(&spool, cancel, cancel_pid);
    record_step(&spool, lost, i32::MAX);
    fake.with(|s| s.orphans = vec![orphan]);

    let running = agent.start();
    let reg = fake.registration(1).await;
    let mut reported = reg.running.clone();
    reported.sort_unstable();
    let mut want = vec![ends, orphan, cancel];
    want.sort_unstable();
    assert_eq!(reported, want);
    let lost_report = reg
        .finished
        .iter()
        .find(|r| r.job_id == lost)
        .expect("the lost job is reported at registration");
    assert_eq!(lost_report.end, JobEnd::NodeFailed);

    fake.send(AgentCommand::Terminate {
        job_id: cancel,
        reason: TerminateReason::Cancelled,
    })
    .await;
    assert_eq!(
        fake.report(cancel).await.end,
        JobEnd::Cancelled(exit(0, 15))
    );
    assert_eq!(fake.report(ends).await.end, JobEnd::Exited(exit(0, 0)));
    // The orphan is killed and not reported.
    wait_for("the orphan to die", || {
        (!worker_agent::procfs::is_alive(orphan_pid, None)).then_some(())
    })
    .await;
    for pid in [ends_pid, cancel_pid] {
        assert!(!worker_agent::procfs::is_alive(pid, None), "pid {pid}");
    }
    wait_for("the agent to forget the orphan", || {
        state::recover(&spool).is_empty().then_some(())
    })
    .await;
    assert!(fake.with(|s| s.reports.iter().all(|r| r.job_id != orphan)));

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_jobs_on_exit_terminates_and_reports() {
    init_tracing();
    let (fake, port) = start_fake().await;
    let agent = TestAgent::new(port);
    let (tx, rx) = oneshot::channel::<()>();
    let mut options = agent.options();
    options.kill_jobs_on_exit = true;
    let handle = tokio::spawn(async move {
        run_agent(options, async {
            let _ = rx.await;
        })
        .await
    });
    fake.registration(1).await;
    let id = job_id();
    fake.send(agent.launch(
        id,
        "#!/bin/sh\necho ready > ready\nsleep 30\n",
        TimeLimit::Infinite,
    ))
    .await;
    wait_for_file(&agent.work().join("ready")).await;
    tx.send(()).unwrap();
    tokio::time::timeout(WAIT, handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(fake.report(id).await.end, JobEnd::NodeFailed);
    assert!(state::recover(&agent.spool()).is_empty());
}
