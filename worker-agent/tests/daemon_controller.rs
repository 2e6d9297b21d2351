//! The agent with the real controller on loopback: a submitted batch job runs on the agent
//! and ends COMPLETED with its output written; a cancelled one ends CANCELLED.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slurm_core::client::current_credential;
use slurm_core::config::parse_slurm_conf;
use slurm_core::controller::{ControllerOptions, serve};
use slurm_core::model::{Job, JobId, JobRef, JobSpec, JobState};
use slurm_core::proto::slurmctld::slurmctld_client::SlurmctldClient;
use slurm_core::proto::{Authed, BatchScript, CancelRequest, JobQuery, SubmitRequest};
use tokio::sync::oneshot;
use tonic::transport::Channel;
use worker_agent::NoCgroups;
use worker_agent::daemon::{AgentOptions, run_agent};

const WAIT: Duration = Duration::from_secs(4);

async fn job(client: &mut SlurmctldClient<Channel>, id: JobId) -> Option<Job> {
    client
        .list_jobs(Authed::new(
            current_credential(),
            JobQuery { job_ids: vec![id] },
        ))
        .await
        .ok()?
        .into_inner()
        .jobs
        .into_iter()
        .find(|j| j.id == id)
}

async fn wait_state(client: &mut SlurmctldClient<Channel>, id: JobId, want: JobState) -> Job {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(j) = job(client, id).await
            && j.state == want
        {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never reached {want}: {:?}",
            job(client, id).await.map(|j| j.state)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn submit(client: &mut SlurmctldClient<Channel>, work: &str, script: &str) -> JobId {
    let c = current_credential();
    let spec = JobSpec {
        name: "e2e".into(),
        user: c.user.clone(),
        uid: c.uid,
        gid: c.gid,
        work_dir: work.to_owned(),
        ..JobSpec::default()
    };
    client
        .submit(Authed::new(
            c,
            SubmitRequest {
                spec,
                batch: BatchScript {
                    script: script.to_owned(),
                    args: Vec::new(),
                    environment: vec![("PATH".into(), "/usr/bin:/bin".into())],
                },
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .job_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_and_cancel_through_the_real_controller() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let work = dir.path().join("work");
    fs::create_dir_all(&work).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let conf = format!(
        "ClusterName=e2e\nAuthType=auth/none\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort={port}\n\
         KillWait=1\nNodeName=w1 CPUs=1 RealMemory=500\n\
         PartitionName=debug Nodes=ALL Default=YES MaxTime=1:00:00 State=UP\n"
    );
    let loaded = parse_slurm_conf(&conf, "e2e-slurm.conf").unwrap();
    let (stop_ctl, ctl_rx) = oneshot::channel::<()>();
    let controller = tokio::spawn(serve(
        ControllerOptions {
            cluster: loaded.cluster.clone(),
            state_dir: dir.path().join("state"),
            listen: listener.local_addr().unwrap(),
        },
        listener,
        async {
            let _ = ctl_rx.await;
        },
    ));

    let mut options = AgentOptions::from_loaded("w1", loaded, dir.path().join("spool/w1"));
    options.cgroup_manager = Some(Arc::new(NoCgroups));
    options.retry_initial = Duration::from_millis(50);
    options.sample_interval = Duration::from_millis(50);
    options.output_dir_wait = Duration::from_millis(100);
    let (stop_agent, agent_rx) = oneshot::channel::<()>();
    let agent = tokio::spawn(run_agent(options, async {
        let _ = agent_rx.await;
    }));

    let mut client = SlurmctldClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    let work_dir = work.display().to_string();
    let done = submit(
        &mut client,
        &work_dir,
        "#!/bin/sh\necho job $SLURM_JOB_ID on $SLURMD_NODENAME\n",
    )
    .await;
    let finished = wait_state(&mut client, done, JobState::Completed).await;
    assert_eq!(finished.exit.map(|e| e.to_string()), Some("0:0".into()));
    assert_eq!(
        fs::read_to_string(work.join(format!("slurm-{done}.out"))).unwrap(),
        format!("job {done} on w1\n")
    );

    let cancel = submit(
        &mut client,
        &work_dir,
        "#!/bin/sh\necho started > started\nsleep 30\n",
    )
    .await;
    wait_state(&mut client, cancel, JobState::Running).await;
    let started = work.join("started");
    let deadline = Instant::now() + WAIT;
    while !started.exists() {
        assert!(Instant::now() < deadline, "job {cancel} never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client
        .cancel(Authed::new(
            current_credential(),
            CancelRequest {
                targets: vec![JobRef {
                    job_id: cancel,
                    array_task: None,
                }],
                ..CancelRequest::default()
            },
        ))
        .await
        .unwrap();
    wait_state(&mut client, cancel, JobState::Cancelled).await;

    stop_agent.send(()).unwrap();
    tokio::time::timeout(WAIT, agent)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    stop_ctl.send(()).unwrap();
    let _ = tokio::time::timeout(WAIT, controller).await;
}
