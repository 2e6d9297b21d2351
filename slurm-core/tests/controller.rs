//! The controller over real gRPC on loopback: submissions, listing, cancellation, launches to
//! a registered agent, job reports, and state that survives a restart. The agent side here is
//! driven by hand through the agents' service (the real agent has its own tests).

use slurm_core::config::parse_slurm_conf;
use slurm_core::controller::{ControllerOptions, serve};
use slurm_core::engine::JobEnd;
use slurm_core::model::{ExitStatus, JobRef, JobSpec, JobState};
use slurm_core::proto::slurmctld::slurmctld_client::SlurmctldClient;
use slurm_core::proto::slurmd_gateway::slurmd_gateway_client::SlurmdGatewayClient;
use slurm_core::proto::*;
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::transport::Channel;

const CONF: &str = "ClusterName=test\n\
AuthType=auth/none\n\
SlurmctldHost=localhost(127.0.0.1)\n\
SlurmdTimeout=300\n\
NodeName=n[1-2] CPUs=4 RealMemory=4000\n\
PartitionName=debug Nodes=ALL Default=YES MaxTime=1:00:00 State=UP\n";

struct Running {
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<()>,
    uri: String,
}

async fn start(state: &Path) -> Running {
    let cluster = parse_slurm_conf(CONF, "test").unwrap().cluster;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    let options = ControllerOptions {
        cluster,
        state_dir: state.to_owned(),
        listen: addr,
    };
    let handle = tokio::spawn(async move {
        serve(options, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        stop,
        handle,
        uri: format!("http://{addr}"),
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
    async fn commands(&self) -> SlurmctldClient<Channel> {
        SlurmctldClient::connect(self.uri.clone()).await.unwrap()
    }
    async fn gateway(&self) -> SlurmdGatewayClient<Channel> {
        SlurmdGatewayClient::connect(self.uri.clone())
            .await
            .unwrap()
    }
}

fn cred() -> Credential {
    slurm_core::client::current_credential()
}

fn spec(name: &str) -> JobSpec {
    let c = cred();
    JobSpec {
        name: name.into(),
        user: c.user,
        uid: c.uid,
        gid: c.gid,
        work_dir: "/tmp".into(),
        ..JobSpec::default()
    }
}

async fn submit(
    client: &mut SlurmctldClient<Channel>,
    spec: JobSpec,
) -> Result<u32, tonic::Status> {
    client
        .submit(Authed::new(
            cred(),
            SubmitRequest {
                spec,
                batch: BatchScript {
                    script: "#!/bin/sh\ntrue\n".into(),
                    ..BatchScript::default()
                },
            },
        ))
        .await
        .map(|r| r.into_inner().job_id)
}

async fn jobs(client: &mut SlurmctldClient<Channel>) -> Vec<slurm_core::model::Job> {
    client
        .list_jobs(Authed::new(cred(), JobQuery::default()))
        .await
        .unwrap()
        .into_inner()
        .jobs
}

async fn register(
    gw: &mut SlurmdGatewayClient<Channel>,
    node: &str,
    running: Vec<u32>,
) -> RegisterReply {
    gw.register(Authed::new(
        cred(),
        NodeRegistration {
            node: node.into(),
            hardware: NodeHardware {
                cpus: 4,
                sockets: 1,
                cores_per_socket: 4,
                threads_per_core: 1,
                real_memory_mb: 4000,
                gpus: vec![],
            },
            running,
            finished: vec![],
            version: "test".into(),
        },
    ))
    .await
    .unwrap()
    .into_inner()
}

async fn next_command(stream: &mut tonic::Streaming<AgentCommand>) -> AgentCommand {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("a command within 5 s")
        .unwrap()
        .expect("stream open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_launch_report_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = start(dir.path()).await;
    let mut client = ctl.commands().await;

    // Nodes have not registered: the job waits.
    let id = submit(&mut client, spec("first")).await.unwrap();
    assert_eq!(id, 1);
    let bad = submit(
        &mut client,
        JobSpec {
            partitions: vec!["nope".into()],
            ..spec("bad")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad.message(), "Invalid partition name specified");

    let mut gw = ctl.gateway().await;
    let reply = register(&mut gw, "n1", vec![]).await;
    assert!(reply.orphans.is_empty());
    let mut stream = gw
        .commands(Authed::new(
            cred(),
            CommandStreamRequest { node: "n1".into() },
        ))
        .await
        .unwrap()
        .into_inner();
    let AgentCommand::Launch(launch) = next_command(&mut stream).await else {
        panic!("expected a launch")
    };
    assert_eq!(launch.job.id, id);
    assert_eq!(launch.batch.script, "#!/bin/sh\ntrue\n");
    assert_eq!(launch.job.allocation[0].node, "n1");

    // A second job starts too, then gets cancelled while running.
    let id2 = submit(&mut client, spec("second")).await.unwrap();
    let AgentCommand::Launch(l2) = next_command(&mut stream).await else {
        panic!()
    };
    assert_eq!(l2.job.id, id2);
    let out = client
        .cancel(Authed::new(
            cred(),
            CancelRequest {
                targets: vec![JobRef {
                    job_id: id2,
                    array_task: None,
                }],
                ..CancelRequest::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.outcomes[0].error, None);
    let AgentCommand::Terminate { job_id, reason } = next_command(&mut stream).await else {
        panic!()
    };
    assert_eq!((job_id, reason), (id2, TerminateReason::Cancelled));

    // The first completes.
    gw.report_job(Authed::new(
        cred(),
        JobReport {
            node: "n1".into(),
            job_id: id,
            end: JobEnd::Exited(ExitStatus::SUCCESS),
            usage: JobUsage {
                elapsed_s: 1,
                cpu_time_ms: 5,
                max_rss_kb: 1000,
            },
            drain_reason: None,
        },
    ))
    .await
    .unwrap();
    let listed = jobs(&mut client).await;
    assert_eq!(
        listed.iter().find(|j| j.id == id).unwrap().state,
        JobState::Completed
    );
    assert_eq!(
        listed.iter().find(|j| j.id == id2).unwrap().state,
        JobState::Running
    );

    // Unknown job ids are Slurm's error.
    let out = client
        .cancel(Authed::new(
            cred(),
            CancelRequest {
                targets: vec![JobRef {
                    job_id: 999,
                    array_task: None,
                }],
                ..CancelRequest::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        out.outcomes[0].error.as_deref(),
        Some("Invalid job id specified")
    );

    // Restart: everything acknowledged is still there; the running job stays running and its
    // pending cancel is remembered.
    drop(stream);
    ctl.stop().await;
    let ctl = start(dir.path()).await;
    let mut client = ctl.commands().await;
    let listed = jobs(&mut client).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed.iter().find(|j| j.id == id).unwrap().state,
        JobState::Completed
    );
    assert_eq!(
        listed.iter().find(|j| j.id == id2).unwrap().state,
        JobState::Running
    );
    let id3 = submit(&mut client, spec("third")).await.unwrap();
    assert_eq!(id3, 3, "ids are not reused after a restart");

    // The agent comes back still running job 2; it then reports it cancelled.
    let mut gw = ctl.gateway().await;
    let reply = register(&mut gw, "n1", vec![id2, 77]).await;
    assert_eq!(reply.orphans, vec![77]);
    gw.report_job(Authed::new(
        cred(),
        JobReport {
            node: "n1".into(),
            job_id: id2,
            end: JobEnd::Cancelled(ExitStatus {
                code: 0,
                signal: 15,
            }),
            usage: JobUsage::default(),
            drain_reason: None,
        },
    ))
    .await
    .unwrap();
    let listed = jobs(&mut client).await;
    let j2 = listed.iter().find(|j| j.id == id2).unwrap();
    assert_eq!(j2.state, JobState::Cancelled);
    assert_eq!(j2.cancelled_by, Some(cred().uid));
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_job_after_agent_restart_is_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = start(dir.path()).await;
    let mut client = ctl.commands().await;
    let mut gw = ctl.gateway().await;
    register(&mut gw, "n2", vec![]).await;
    let mut stream = gw
        .commands(Authed::new(
            cred(),
            CommandStreamRequest { node: "n2".into() },
        ))
        .await
        .unwrap()
        .into_inner();
    let id = submit(&mut client, spec("lost")).await.unwrap();
    let AgentCommand::Launch(_) = next_command(&mut stream).await else {
        panic!()
    };
    drop(stream);
    // The agent restarts without the job (e.g. its host rebooted).
    register(&mut gw, "n2", vec![]).await;
    let job = jobs(&mut client)
        .await
        .into_iter()
        .find(|j| j.id == id)
        .unwrap();
    assert!(
        matches!(job.state, JobState::Pending | JobState::Running),
        "requeued (and maybe restarted), got {:?}",
        job.state
    );
    assert_eq!(job.restarts, 1);
    ctl.stop().await;
}
