//! The gRPC services: [`Commands`] for sbatch/squeue/scancel/scontrol, [`Gateway`] for the
//! agents.

use super::Shared;
use super::core::{ACCESS_DENIED, Core};
use crate::format;
use crate::model::JobId;
use crate::proto::slurmctld::slurmctld_server::Slurmctld;
use crate::proto::slurmd_gateway::slurmd_gateway_server::SlurmdGateway;
use crate::proto::*;
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::wrappers::{BroadcastStream, UnboundedReceiverStream};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

pub struct Commands(pub Arc<Shared>);

/// The stream of power decisions a `WatchPower` caller receives.
pub type PowerEventStream = Pin<Box<dyn Stream<Item = Result<PowerEvent, Status>> + Send>>;

type Reply<T> = Result<Response<T>, Status>;

/// A new job from `add` (a submission, or an allocation for srun or salloc): the scheduler
/// is woken and, as it is recorded at once, the reply waits (at most 500 ms) until the dbd
/// has stored it, so sacct shows the job once the command returns (no wait while the dbd is
/// unreachable: the record stays spooled).
async fn add_job(
    shared: &Shared,
    add: impl FnOnce(&mut Core) -> Result<JobId, Status>,
) -> Reply<SubmitReply> {
    let (job_id, accounting) = {
        let mut core = shared.core();
        let job_id = add(&mut core)?;
        (job_id, core.accounting().map(|q| (q.clone(), q.last_seq())))
    };
    shared.wake.notify_one();
    if let Some((queue, seq)) = accounting {
        queue
            .wait_stored(seq, std::time::Duration::from_millis(500))
            .await;
    }
    Ok(Response::new(SubmitReply {
        job_id,
        cluster: shared.cluster_name.clone(),
    }))
}

#[tonic::async_trait]
impl Slurmctld for Commands {
    async fn submit(&self, request: Request<Authed<SubmitRequest>>) -> Reply<SubmitReply> {
        let (caller, body) = self.0.authenticate(request, "Submit")?;
        add_job(&self.0, |core| core.submit(&caller.cred, body)).await
    }

    async fn list_jobs(&self, request: Request<Authed<JobQuery>>) -> Reply<JobList> {
        let (_, query) = self.0.authenticate(request, "ListJobs")?;
        let core = self.0.core();
        let engine = core.engine();
        let jobs: Vec<crate::model::Job> = if query.job_ids.is_empty() {
            engine.jobs().into_iter().cloned().collect()
        } else {
            let mut ids: Vec<_> = query
                .job_ids
                .iter()
                .flat_map(|id| {
                    let members = engine.array_members(*id);
                    if members.is_empty() {
                        vec![*id]
                    } else {
                        members
                    }
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.iter()
                .filter_map(|id| engine.job(*id).cloned())
                .collect()
        };
        let allocations = jobs
            .iter()
            .map(|j| j.id)
            .filter(|&id| core.is_allocation_only(id))
            .collect();
        Ok(Response::new(JobList {
            now: engine.now(),
            jobs,
            allocations,
        }))
    }

    async fn cluster_info(&self, request: Request<Authed<ClusterQuery>>) -> Reply<ClusterInfo> {
        self.0.authenticate(request, "ClusterInfo")?;
        let core = self.0.core();
        let engine = core.engine();
        let cluster = engine.cluster();
        Ok(Response::new(ClusterInfo {
            now: engine.now(),
            cluster_name: cluster.cluster_name.clone(),
            nodes: engine.nodes(),
            partitions: cluster.partitions.clone(),
            // DefMemPerCPU is applied per partition when loading the config.
            def_mem_per_cpu_mb: None,
        }))
    }

    async fn cancel(&self, request: Request<Authed<CancelRequest>>) -> Reply<TargetOutcomes> {
        let (caller, body) = self.0.authenticate(request, "Cancel")?;
        let (outcomes, dispatches) =
            self.0
                .core()
                .cancel(&caller.cred, &body.targets, body.signal, body.batch_only)?;
        self.0.dispatch(dispatches);
        self.0.wake.notify_one();
        Ok(Response::new(TargetOutcomes { outcomes }))
    }

    async fn control_jobs(
        &self,
        request: Request<Authed<JobControlRequest>>,
    ) -> Reply<TargetOutcomes> {
        let (caller, body) = self.0.authenticate(request, "ControlJobs")?;
        let (outcomes, dispatches) =
            self.0
                .core()
                .control(&caller.cred, &body.targets, &body.action)?;
        self.0.dispatch(dispatches);
        self.0.wake.notify_one();
        Ok(Response::new(TargetOutcomes { outcomes }))
    }

    async fn update_nodes(
        &self,
        request: Request<Authed<NodeUpdateRequest>>,
    ) -> Reply<NodeOutcomes> {
        let (caller, body) = self.0.authenticate(request, "UpdateNodes")?;
        let (outcomes, dispatches) = self.0.core().update_nodes(
            &caller.cred,
            &body.names,
            body.action,
            body.reason.as_deref(),
        )?;
        self.0.dispatch(dispatches);
        self.0.wake.notify_one();
        Ok(Response::new(NodeOutcomes { outcomes }))
    }

    type WatchPowerStream = PowerEventStream;

    async fn watch_power(
        &self,
        request: Request<Authed<PowerWatchRequest>>,
    ) -> Reply<Self::WatchPowerStream> {
        let (caller, _) = self.0.authenticate(request, "WatchPower")?;
        let (snapshot, receiver) = {
            let core = self.0.core();
            if !core.is_operator(&caller.cred) {
                tracing::warn!("Security violation: WatchPower by uid {}", caller.cred.uid);
                return Err(Status::permission_denied(ACCESS_DENIED));
            }
            core.watch_power()
        };
        tracing::info!("power watcher connected (uid {})", caller.cred.uid);
        let snapshot = tokio_stream::once(Ok(snapshot));
        let events = BroadcastStream::new(receiver).map_while(|event| match event {
            Ok(e) => Some(Ok(e)),
            // A watcher that fell behind reconnects and starts from a fresh snapshot.
            Err(_) => None,
        });
        Ok(Response::new(Box::pin(snapshot.chain(events))))
    }

    async fn show_config(&self, request: Request<Authed<ConfigQuery>>) -> Reply<ConfigReply> {
        self.0.authenticate(request, "ShowConfig")?;
        let core = self.0.core();
        let engine = core.engine();
        Ok(Response::new(ConfigReply {
            now: engine.now(),
            entries: config_entries(engine.cluster()),
        }))
    }

    async fn stat_steps(&self, request: Request<Authed<StatQuery>>) -> Reply<StatReply> {
        let (_, query) = self.0.authenticate(request, "StatSteps")?;
        let core = self.0.core();
        let live = self.0.live();
        let jobs = query
            .job_ids
            .iter()
            .map(|&id| super::live_usage::stat_job(&core, &live, id))
            .collect();
        Ok(Response::new(StatReply { jobs }))
    }
}

/// `scontrol show config` pairs for what slinky implements, in Slurm's alphabetical order.
fn config_entries(c: &crate::config::ClusterConfig) -> Vec<(String, String)> {
    let hosts: Vec<String> = c
        .controller_hosts
        .iter()
        .map(|h| match &h.addr {
            Some(a) => format!("{}({a})", h.name),
            None => h.name.clone(),
        })
        .collect();
    let secs = |s: u64| format!("{s} sec");
    let mut entries = vec![
        (
            "AccountingStorageType".to_owned(),
            match c.accounting.storage {
                crate::config::AccountingStorage::None => "(null)",
                crate::config::AccountingStorage::Slurmdbd => "accounting_storage/slurmdbd",
            }
            .to_owned(),
        ),
        (
            "AuthInfo".to_owned(),
            c.auth_info.clone().unwrap_or_else(|| "(null)".to_owned()),
        ),
        ("AuthType".to_owned(), c.auth_type.clone()),
        ("ClusterName".to_owned(), c.cluster_name.clone()),
        (
            "GresTypes".to_owned(),
            if c.gres_types.is_empty() {
                "(null)".to_owned()
            } else {
                c.gres_types.join(",")
            },
        ),
        ("KillWait".to_owned(), secs(c.timers.kill_wait)),
        (
            "MaxArraySize".to_owned(),
            c.scheduler.max_array_size.to_string(),
        ),
        ("MinJobAge".to_owned(), secs(c.timers.min_job_age)),
        (
            "PriorityDecayHalfLife".to_owned(),
            format::timefmt::hms(c.priority.decay_half_life_s as i64),
        ),
        (
            "PriorityMaxAge".to_owned(),
            format::timefmt::hms(c.priority.max_age_s as i64),
        ),
        (
            "PriorityType".to_owned(),
            if c.priority.multifactor {
                "priority/multifactor"
            } else {
                "priority/basic"
            }
            .to_owned(),
        ),
        (
            "PriorityWeightAge".to_owned(),
            c.priority.weight_age.to_string(),
        ),
        (
            "PriorityWeightFairShare".to_owned(),
            c.priority.weight_fairshare.to_string(),
        ),
        (
            "PriorityWeightJobSize".to_owned(),
            c.priority.weight_job_size.to_string(),
        ),
        (
            "PriorityWeightPartition".to_owned(),
            c.priority.weight_partition.to_string(),
        ),
        (
            "PriorityWeightQOS".to_owned(),
            c.priority.weight_qos.to_string(),
        ),
        ("SchedulerType".to_owned(), c.scheduler.policy.to_string()),
        ("SlurmUser".to_owned(), c.slurm_user.clone()),
        (
            "SlurmctldHost[0]".to_owned(),
            hosts.first().cloned().unwrap_or_default(),
        ),
        ("SlurmctldPort".to_owned(), c.controller_port.to_string()),
        ("SlurmdPort".to_owned(), c.slurmd_port.to_string()),
        ("SlurmdTimeout".to_owned(), secs(c.timers.slurmd_timeout)),
        (
            "StateSaveLocation".to_owned(),
            c.state_save_location.clone(),
        ),
        (
            "UnkillableStepTimeout".to_owned(),
            secs(c.timers.unkillable_step_timeout),
        ),
    ];
    entries.sort_by_key(|e| e.0.to_lowercase());
    entries
}

pub struct Gateway(pub Arc<Shared>);

#[tonic::async_trait]
impl SlurmdGateway for Gateway {
    async fn register(&self, request: Request<Authed<NodeRegistration>>) -> Reply<RegisterReply> {
        let (caller, reg) = self.0.authenticate_agent(request, "Register")?;
        let registered = self
            .0
            .core()
            .node_registered(&reg.node, &reg.running, &reg.finished)?;
        // The channel exists before the launches are queued on it.
        self.0.agents().register(&reg.node);
        self.0.dispatch(registered.launches);
        tracing::info!(
            "node {} registered: {} cpus, {} MiB, {} gpus, {} running jobs",
            reg.node,
            reg.hardware.cpus,
            reg.hardware.real_memory_mb,
            reg.hardware.gpus.len(),
            reg.running.len()
        );
        self.0.wake.notify_one();
        Ok(Response::new(RegisterReply {
            cluster_name: self.0.cluster_name.clone(),
            heartbeat_interval_ms: self.0.heartbeat_ms,
            orphans: registered.orphans,
            controller_proof: self.0.controller_proof(&caller, &reg.node),
        }))
    }

    type CommandsStream = UnboundedReceiverStream<Result<AgentCommand, Status>>;

    async fn commands(
        &self,
        request: Request<Authed<CommandStreamRequest>>,
    ) -> Reply<Self::CommandsStream> {
        let (_, CommandStreamRequest { node }) = self.0.authenticate_agent(request, "Commands")?;
        let receiver = self.0.agents().take_stream(&node).ok_or_else(|| {
            Status::failed_precondition(format!("node {node} must register before streaming"))
        })?;
        Ok(Response::new(UnboundedReceiverStream::new(receiver)))
    }

    async fn heartbeat(&self, request: Request<Authed<Heartbeat>>) -> Reply<HeartbeatReply> {
        let (_, hb) = self.0.authenticate_agent(request, "Heartbeat")?;
        let registered = self.0.agents().seen(&hb.node);
        if registered {
            self.0.live().record(&hb.node, hb.usage);
        }
        Ok(Response::new(HeartbeatReply { registered }))
    }

    async fn report_job(&self, request: Request<Authed<JobReport>>) -> Reply<Ack> {
        let (_, report) = self.0.authenticate_agent(request, "ReportJob")?;
        self.0.agents().seen(&report.node);
        let kills = {
            let mut core = self.0.core();
            core.job_report(&report)?;
            core.take_deferred()
        };
        self.0.dispatch(kills);
        self.0.wake.notify_one();
        Ok(Response::new(Ack {}))
    }
}

/// Job steps: allocations for srun and salloc, steps in them, agents' step reports.
pub struct Steps(pub Arc<Shared>);

#[tonic::async_trait]
impl crate::proto::slurm_steps::slurm_steps_server::SlurmSteps for Steps {
    async fn allocate(&self, request: Request<Authed<AllocateRequest>>) -> Reply<SubmitReply> {
        let (caller, body) = self.0.authenticate(request, "Allocate")?;
        add_job(&self.0, |core| core.allocate(&caller.cred, body)).await
    }

    async fn create_step(&self, request: Request<Authed<StepRequest>>) -> Reply<StepReply> {
        let (caller, body) = self.0.authenticate(request, "CreateStep")?;
        let (reply, dispatches) = self.0.core().create_step(&caller.cred, body)?;
        self.0.dispatch(dispatches);
        Ok(Response::new(reply))
    }

    async fn release_allocation(&self, request: Request<Authed<ReleaseRequest>>) -> Reply<Ack> {
        let (caller, body) = self.0.authenticate(request, "ReleaseAllocation")?;
        let dispatches = self.0.core().release_allocation(&caller.cred, body)?;
        self.0.dispatch(dispatches);
        self.0.wake.notify_one();
        Ok(Response::new(Ack {}))
    }

    async fn cancel_steps(
        &self,
        request: Request<Authed<CancelStepsRequest>>,
    ) -> Reply<TargetOutcomes> {
        let (caller, body) = self.0.authenticate(request, "CancelSteps")?;
        let mut outcomes = Vec::new();
        let mut dispatches = Vec::new();
        {
            let mut core = self.0.core();
            for &(job_id, step_id) in &body.steps {
                let error = match core.cancel_step(&caller.cred, job_id, step_id, body.signal) {
                    Ok(d) => {
                        dispatches.extend(d);
                        None
                    }
                    Err(e) => Some(e),
                };
                outcomes.push(TargetOutcome {
                    target: crate::model::JobRef {
                        job_id,
                        array_task: None,
                    },
                    error,
                });
            }
        }
        self.0.dispatch(dispatches);
        Ok(Response::new(TargetOutcomes { outcomes }))
    }

    type HoldAllocationStream = Pin<Box<dyn Stream<Item = Result<Ack, Status>> + Send>>;

    async fn hold_allocation(
        &self,
        request: Request<Authed<HoldRequest>>,
    ) -> Reply<Self::HoldAllocationStream> {
        let (caller, body) = self.0.authenticate(request, "HoldAllocation")?;
        let job_id = body.job_id;
        self.0.core().hold_allocation(&caller.cred, job_id)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let _ = sender.try_send(Ok(Ack {}));
        let shared = self.0.clone();
        // The stream is dropped when the caller goes away (it exited, or its socket was
        // closed when it was killed): the receiver with it, which ends this wait.
        tokio::spawn(async move {
            sender.closed().await;
            shared.core().unhold_allocation(job_id);
            tracing::debug!("allocation {job_id}: a holder went away");
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }

    async fn report_step(&self, request: Request<Authed<StepReport>>) -> Reply<Ack> {
        let (_, report) = self.0.authenticate_agent(request, "ReportStep")?;
        self.0.agents().seen(&report.node);
        self.0.core().step_report(&report)?;
        Ok(Response::new(Ack {}))
    }
}
