//! The commands' connection to the controller, against a stand-in controller served on
//! loopback: requests carry the caller's credential, replies come back, refusals keep
//! Slurm's wording, and an unreachable controller reads as Slurm says it.

use slurm_core::commands::rpc::{self, RpcError, Session};
use slurm_core::commands::{Step, sbatch, scancel};
use slurm_core::config::{ClusterConfig, ControllerHost};
use slurm_core::model::{JobRef, JobSpec};
use slurm_core::proto::slurmctld::slurmctld_server::{Slurmctld, SlurmctldServer};
use slurm_core::proto::{
    Authed, BatchScript, CancelRequest, ClusterInfo, ClusterQuery, ConfigQuery, ConfigReply,
    Credential, JobControlRequest, JobList, JobQuery, NodeOutcomes, NodeUpdateRequest, SubmitReply,
    SubmitRequest, TargetOutcome, TargetOutcomes,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// A controller that accepts every job as 42 (but refuses partition `nosuch`), knows no
/// jobs, and reports job 999 as unknown when cancelling.
#[derive(Default, Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Credential>>>,
}

impl Fake {
    fn note<T>(&self, req: &Request<Authed<T>>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(req.get_ref().credential.clone());
        }
    }
}

#[tonic::async_trait]
impl Slurmctld for Fake {
    async fn submit(
        &self,
        req: Request<Authed<SubmitRequest>>,
    ) -> Result<Response<SubmitReply>, Status> {
        self.note(&req);
        if req.get_ref().body.spec.partitions == ["nosuch"] {
            return Err(Status::invalid_argument("Invalid partition name specified"));
        }
        Ok(Response::new(SubmitReply {
            job_id: 42,
            cluster: "test".into(),
        }))
    }

    async fn list_jobs(&self, req: Request<Authed<JobQuery>>) -> Result<Response<JobList>, Status> {
        self.note(&req);
        Ok(Response::new(JobList {
            now: 1,
            jobs: Vec::new(),
            allocations: vec![],
        }))
    }

    async fn cluster_info(
        &self,
        _: Request<Authed<ClusterQuery>>,
    ) -> Result<Response<ClusterInfo>, Status> {
        Err(Status::unimplemented("not here"))
    }

    async fn cancel(
        &self,
        req: Request<Authed<CancelRequest>>,
    ) -> Result<Response<TargetOutcomes>, Status> {
        self.note(&req);
        let outcomes = req
            .into_inner()
            .body
            .targets
            .into_iter()
            .map(|target| TargetOutcome {
                target,
                error: (target.job_id == 999).then(|| "Invalid job id specified".to_owned()),
            })
            .collect();
        Ok(Response::new(TargetOutcomes { outcomes }))
    }

    async fn control_jobs(
        &self,
        _: Request<Authed<JobControlRequest>>,
    ) -> Result<Response<TargetOutcomes>, Status> {
        Err(Status::permission_denied("Access/permission denied"))
    }

    async fn update_nodes(
        &self,
        _: Request<Authed<NodeUpdateRequest>>,
    ) -> Result<Response<NodeOutcomes>, Status> {
        Err(Status::unavailable(
            "Unable to save controller state: disk full",
        ))
    }

    type WatchPowerStream = slurm_core::controller::PowerEventStream;

    async fn watch_power(
        &self,
        _: Request<Authed<slurm_core::proto::PowerWatchRequest>>,
    ) -> Result<Response<Self::WatchPowerStream>, Status> {
        Err(Status::permission_denied("Access/permission denied"))
    }

    async fn show_config(
        &self,
        _: Request<Authed<ConfigQuery>>,
    ) -> Result<Response<ConfigReply>, Status> {
        Ok(Response::new(ConfigReply::default()))
    }

    async fn stat_steps(
        &self,
        _: Request<Authed<slurm_core::proto::StatQuery>>,
    ) -> Result<Response<slurm_core::proto::StatReply>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

fn cluster(port: u16) -> ClusterConfig {
    let mut c = ClusterConfig::new("test");
    c.controller_hosts = vec![ControllerHost {
        name: "ctl".into(),
        addr: Some("127.0.0.1".into()),
    }];
    c.controller_port = port;
    c.timers.message_timeout = 2;
    c.auth_type = "auth/none".into();
    c
}

/// Serves `fake` on a loopback port from a thread of its own; returns the port.
fn serve(fake: Fake) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr").port())
                .expect("send port");
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(SlurmctldServer::new(fake))
                .serve_with_incoming(incoming)
                .await;
        });
    });
    rx.recv().expect("server port")
}

fn submit_request(partition: &str) -> SubmitRequest {
    let mut spec = JobSpec::default();
    if !partition.is_empty() {
        spec.partitions = vec![partition.into()];
    }
    SubmitRequest {
        spec,
        batch: BatchScript::default(),
    }
}

#[test]
fn requests_round_trip_with_the_callers_credential() {
    let fake = Fake::default();
    let port = serve(fake.clone());
    let result = rpc::block_on(async move {
        let mut s = Session::connect_to(cluster(port)).await?;
        let reply = s.submit(submit_request("")).await?;
        let list = s.list_jobs(JobQuery::default()).await?;
        let refused = s.submit(submit_request("nosuch")).await;
        Ok::<_, RpcError>((reply, list, refused, s.cluster.cluster_name.clone()))
    })
    .expect("runtime");
    let (reply, list, refused, local) = result.expect("requests");
    assert_eq!(
        sbatch::submitted_text(&reply, false, &local),
        "Submitted batch job 42\n"
    );
    assert!(list.jobs.is_empty());
    let refused = refused.expect_err("partition nosuch is refused");
    assert_eq!(
        refused,
        RpcError::Rejected("Invalid partition name specified".into())
    );
    let out = sbatch::submit_failure(&refused, &submit_request("nosuch").spec);
    assert_eq!(
        out.stderr,
        "sbatch: error: invalid partition specified: nosuch\n\
         sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    );
    let me = slurm_core::client::current_credential();
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|c| c.uid == me.uid && c.gid == me.gid && c.user == me.user)
    );
}

#[test]
fn cancel_outcomes_and_refusals() {
    let port = serve(Fake::default());
    let args = match scancel::parse_args(
        &["-v".to_owned(), "5".to_owned(), "999".to_owned()],
        &BTreeMap::new(),
        &slurm_core::commands::lookup::SystemUsers,
    ) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("{out:?}"),
    };
    let targets = args.targets.clone();
    let req = scancel::request(&args, targets.clone());
    let (cancelled, held, drained, shown) = rpc::block_on(async move {
        let mut s = Session::connect_to(cluster(port)).await.expect("connect");
        let cancelled = s.cancel(req).await;
        let held = s
            .control_jobs(JobControlRequest {
                targets: vec![JobRef {
                    job_id: 5,
                    array_task: None,
                }],
                action: slurm_core::proto::JobAction::Hold,
            })
            .await;
        let drained = s
            .update_nodes(NodeUpdateRequest {
                names: vec!["n1".into()],
                action: slurm_core::proto::NodeAction::Drain,
                reason: Some("x".into()),
            })
            .await;
        let shown = s.cluster_info().await;
        (cancelled, held, drained, shown)
    })
    .expect("runtime");
    let out = scancel::report(&args, &targets, &cancelled);
    assert_eq!(
        out.stderr,
        "scancel: Terminating job 5\n\
         scancel: Terminating job 999\n\
         scancel: error: Kill job error on job id 999: Invalid job id specified\n"
    );
    assert_eq!(out.code, 0);
    assert_eq!(
        held.expect_err("refused"),
        RpcError::Rejected("Access/permission denied".into())
    );
    // The controller's own `Unavailable` keeps its message.
    assert_eq!(
        drained.expect_err("refused").to_string(),
        "Unable to save controller state: disk full"
    );
    assert_eq!(
        shown.expect_err("refused"),
        RpcError::Rejected("not here".into())
    );
}

#[test]
fn an_unreachable_controller() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let err = rpc::block_on(async move { Session::connect_to(cluster(port)).await.err() })
        .expect("runtime")
        .expect("nothing listens there");
    assert_eq!(err, RpcError::Unreachable);
    assert_eq!(
        err.line("squeue", "slurm_load_jobs error"),
        "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"
    );
    assert_eq!(
        err.line("sinfo", "slurm_load_partitions"),
        "slurm_load_partitions: Unable to contact slurm controller (connect failure)"
    );
}

#[test]
fn a_missing_configuration_is_a_setup_error() {
    let mut c = cluster(1);
    c.controller_hosts.clear();
    let err = rpc::block_on(async move { Session::connect_to(c).await.err() })
        .expect("runtime")
        .expect("no controller configured");
    assert!(err.is_setup(), "{err:?}");
    assert!(
        err.line("squeue", "slurm_load_jobs error")
            .starts_with("squeue: error: "),
        "{err}"
    );
}
