//! Talking to a cluster's Slurm controller: node states and pending jobs for the status,
//! and draining nodes before their pods go. [`SlurmNodeControl`] is the seam; [`GrpcSlurm`]
//! speaks slinky's gRPC protocol, signing its requests as root with the cluster key (the
//! operator holds the key: it created the Secret).

use crate::crd::{NodeCounts, PendingReasonCount};
use crate::{Error, Result};
use futures::future::BoxFuture;
use slurm_core::auth::{Claims, ClusterKey, token};
use slurm_core::config::{ClusterConfig, ControllerHost};
use slurm_core::model::{JobId, JobRef, JobState, NodeBaseState, NodeState};
use slurm_core::proto::{
    Authed, CancelRequest, ClusterQuery, Credential, JobAction, JobControlRequest, JobQuery,
    NodeAction, NodeUpdateRequest, TargetOutcome,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one request to the controller may take.
pub const SLURM_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a cluster's controller is and the key to sign with.
#[derive(Clone)]
pub struct SlurmTarget {
    /// `SlurmctldHost` (the controller Service's DNS name).
    pub host: String,
    pub port: u16,
    /// The cluster key's bytes.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for SlurmTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlurmTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// One node as the controller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub state: NodeState,
    /// Why it is drained or down (`scontrol show node`'s Reason).
    pub reason: Option<String>,
}

impl NodeInfo {
    /// Runs jobs (its pod must not be disrupted).
    pub fn busy(&self) -> bool {
        matches!(
            self.state.base,
            NodeBaseState::Mixed | NodeBaseState::Allocated
        ) || self.state.flags.completing
    }
}

/// One pending job, reduced to what the partition status shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJob {
    /// The partitions it may run in.
    pub partitions: Vec<String>,
    /// Slurm's reason (`Resources`).
    pub reason: String,
    /// The backfill planner's expected start, seconds since the epoch.
    pub planned_start: Option<i64>,
}

/// A job's `--signal=[{R|B}:]SIG[@TIME]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSignal {
    pub signal: i32,
    /// TIME: how long before its end the job wants the signal (Slurm's default: 60 s).
    pub lead: Duration,
    /// `B:`: only the batch shell is signalled.
    pub batch_only: bool,
}

impl JobSignal {
    /// Slurm's default TIME.
    pub const DEFAULT_LEAD: Duration = Duration::from_secs(60);

    /// Parses `--signal`'s value; `None` when it is not valid.
    pub fn parse(v: &str) -> Option<Self> {
        let (flags, rest) = v.split_once(':').unwrap_or(("", v));
        if v.contains(':') && (flags.is_empty() || !flags.chars().all(|c| "RBrb".contains(c))) {
            return None;
        }
        let (sig, time) = match rest.split_once('@') {
            Some((sig, time)) => (sig, Some(time)),
            None => (rest, None),
        };
        let signal = slurm_core::commands::signals::parse_signal(sig)?;
        let lead = match time {
            None => Self::DEFAULT_LEAD,
            Some(t) => Duration::from_secs(u64::from(t.parse::<u16>().ok()?)),
        };
        Some(Self {
            signal,
            lead,
            batch_only: flags.contains(['B', 'b']),
        })
    }
}

/// A running job, reduced to what a node's termination needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningJob {
    pub id: JobId,
    /// The nodes it runs on.
    pub nodes: Vec<String>,
    /// Its `--signal`, if it asked for one.
    pub signal: Option<JobSignal>,
    /// Whether it may be requeued (`--requeue`, the default, vs `--no-requeue`).
    pub requeue: bool,
}

/// What the controller reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmSnapshot {
    pub nodes: Vec<NodeInfo>,
    pub pending: Vec<PendingJob>,
    pub running: Vec<RunningJob>,
}

impl SlurmSnapshot {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The jobs running on node `name`.
    pub fn running_on<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RunningJob> + 'a {
        self.running
            .iter()
            .filter(move |j| j.nodes.iter().any(|n| n == name))
    }

    /// Counts of the nodes `names` (all nodes when `None`).
    pub fn counts(&self, names: Option<&[String]>) -> NodeCounts {
        let mut c = NodeCounts::default();
        for node in &self.nodes {
            if names.is_some_and(|n| !n.contains(&node.name)) {
                continue;
            }
            let (s, f) = (node.state.base, node.state.flags);
            c.total += 1;
            if f.drain {
                c.drain += 1;
            }
            if f.powered_down {
                c.powered_down += 1;
            } else if s == NodeBaseState::Down || f.not_responding {
                c.down += 1;
            } else {
                match s {
                    NodeBaseState::Idle => c.idle += 1,
                    NodeBaseState::Mixed => c.mixed += 1,
                    NodeBaseState::Allocated => c.allocated += 1,
                    _ => {}
                }
            }
        }
        c
    }

    /// Pending jobs of `partition`: how many, by reason (most common first), and the
    /// earliest planned start.
    pub fn pending_in(&self, partition: &str) -> (u32, Vec<PendingReasonCount>, Option<i64>) {
        let mut by_reason: BTreeMap<&str, u32> = BTreeMap::new();
        let mut total = 0;
        let mut earliest: Option<i64> = None;
        for job in self
            .pending
            .iter()
            .filter(|j| j.partitions.iter().any(|p| p == partition))
        {
            total += 1;
            *by_reason.entry(job.reason.as_str()).or_default() += 1;
            if let Some(t) = job.planned_start {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        let mut reasons: Vec<PendingReasonCount> = by_reason
            .into_iter()
            .map(|(reason, count)| PendingReasonCount {
                reason: reason.to_owned(),
                count,
            })
            .collect();
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        (total, reasons, earliest)
    }
}

/// The operator's view of, and hold on, a cluster's Slurm nodes.
pub trait SlurmNodeControl: Send + Sync {
    /// Node states and pending jobs.
    fn snapshot<'a>(&'a self, target: &'a SlurmTarget) -> BoxFuture<'a, Result<SlurmSnapshot>>;
    /// Drains `nodes` (no new jobs; running ones finish) with `reason`.
    fn drain<'a>(
        &'a self,
        target: &'a SlurmTarget,
        nodes: &'a [String],
        reason: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
    /// Lifts the drain of `nodes` (`scontrol update State=UNDRAIN`).
    fn undrain<'a>(
        &'a self,
        target: &'a SlurmTarget,
        nodes: &'a [String],
    ) -> BoxFuture<'a, Result<()>>;
    /// Sends `signal` to the jobs `jobs` (`scancel -s SIGNAL [--batch]`).
    fn signal_jobs<'a>(
        &'a self,
        target: &'a SlurmTarget,
        jobs: &'a [JobId],
        signal: i32,
        batch_only: bool,
    ) -> BoxFuture<'a, Result<()>>;
    /// Requeues the running jobs `jobs` (`scontrol requeue`): they are stopped and pend
    /// again.
    fn requeue<'a>(
        &'a self,
        target: &'a SlurmTarget,
        jobs: &'a [JobId],
    ) -> BoxFuture<'a, Result<()>>;
}

/// The controller over gRPC (`ClusterInfo`, `ListJobs`, `UpdateNodes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcSlurm;

fn slurm_err(e: impl std::fmt::Display) -> Error {
    Error::Slurm(e.to_string())
}

impl SlurmTarget {
    /// A client-side configuration that reaches this controller.
    pub fn client_config(&self) -> ClusterConfig {
        let mut cfg = ClusterConfig::new("operator");
        cfg.controller_hosts = vec![ControllerHost {
            name: self.host.clone(),
            addr: None,
        }];
        cfg.controller_port = self.port;
        cfg.timers.message_timeout = SLURM_TIMEOUT.as_secs();
        cfg
    }
}

impl GrpcSlurm {
    /// `body` with a fresh root credential signed with the cluster key.
    fn authed<T>(target: &SlurmTarget, body: T) -> Result<Authed<T>> {
        let key = ClusterKey::from_bytes(target.key.clone()).map_err(slurm_err)?;
        let claims = Claims::new(0, 0, 300).map_err(slurm_err)?;
        let credential = Credential {
            uid: 0,
            gid: 0,
            user: "root".into(),
            token: Some(token::encode(&key, &claims)),
        };
        Ok(Authed::new(credential, body))
    }

    async fn client(
        target: &SlurmTarget,
    ) -> Result<
        slurm_core::proto::slurmctld::slurmctld_client::SlurmctldClient<tonic::transport::Channel>,
    > {
        tokio::time::timeout(
            SLURM_TIMEOUT,
            slurm_core::client::connect_commands(&target.client_config()),
        )
        .await
        .map_err(|_| Error::Slurm(format!("{}:{} did not answer", target.host, target.port)))?
        .map_err(slurm_err)
    }

    async fn call<T>(
        f: impl Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T> {
        match tokio::time::timeout(SLURM_TIMEOUT, f).await {
            Ok(Ok(reply)) => Ok(reply.into_inner()),
            Ok(Err(status)) => Err(Error::Slurm(status.message().to_owned())),
            Err(_) => Err(Error::Slurm("request timed out".into())),
        }
    }
}

impl SlurmNodeControl for GrpcSlurm {
    fn snapshot<'a>(&'a self, target: &'a SlurmTarget) -> BoxFuture<'a, Result<SlurmSnapshot>> {
        Box::pin(async move {
            let mut client = Self::client(target).await?;
            let info =
                Self::call(client.cluster_info(Self::authed(target, ClusterQuery {})?)).await?;
            let jobs = Self::call(client.list_jobs(Self::authed(
                target,
                JobQuery {
                    job_ids: Vec::new(),
                },
            )?))
            .await?;
            Ok(SlurmSnapshot {
                nodes: info
                    .nodes
                    .into_iter()
                    .map(|n| NodeInfo {
                        name: n.config.name,
                        state: n.state,
                        reason: n.reason,
                    })
                    .collect(),
                pending: jobs
                    .jobs
                    .iter()
                    .filter(|j| j.state == JobState::Pending)
                    .map(|j| PendingJob {
                        partitions: j.partition.split(',').map(str::to_owned).collect(),
                        reason: j.reason.to_string(),
                        planned_start: j.planned_start,
                    })
                    .collect(),
                running: jobs
                    .jobs
                    .iter()
                    .filter(|j| j.state == JobState::Running)
                    .map(|j| RunningJob {
                        id: j.id,
                        nodes: j.allocation.iter().map(|a| a.node.clone()).collect(),
                        signal: j.spec.signal.as_deref().and_then(JobSignal::parse),
                        requeue: j.spec.requeue.unwrap_or(true),
                    })
                    .collect(),
            })
        })
    }

    fn drain<'a>(
        &'a self,
        target: &'a SlurmTarget,
        nodes: &'a [String],
        reason: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Self::update_nodes(
            target,
            nodes,
            NodeAction::Drain,
            Some(reason),
        ))
    }

    fn undrain<'a>(
        &'a self,
        target: &'a SlurmTarget,
        nodes: &'a [String],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Self::update_nodes(target, nodes, NodeAction::Undrain, None))
    }

    fn signal_jobs<'a>(
        &'a self,
        target: &'a SlurmTarget,
        jobs: &'a [JobId],
        signal: i32,
        batch_only: bool,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut client = Self::client(target).await?;
            let request = CancelRequest {
                targets: job_refs(jobs),
                signal: Some(signal),
                batch_only,
            };
            let reply = Self::call(client.cancel(Self::authed(target, request)?)).await?;
            refused("signal", reply.outcomes)
        })
    }

    fn requeue<'a>(
        &'a self,
        target: &'a SlurmTarget,
        jobs: &'a [JobId],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut client = Self::client(target).await?;
            let request = JobControlRequest {
                targets: job_refs(jobs),
                action: JobAction::Requeue,
            };
            let reply = Self::call(client.control_jobs(Self::authed(target, request)?)).await?;
            refused("requeue", reply.outcomes)
        })
    }
}

impl GrpcSlurm {
    async fn update_nodes(
        target: &SlurmTarget,
        nodes: &[String],
        action: NodeAction,
        reason: Option<&str>,
    ) -> Result<()> {
        let mut client = Self::client(target).await?;
        let request = NodeUpdateRequest {
            names: nodes.to_vec(),
            action,
            reason: reason.map(str::to_owned),
        };
        let outcomes = Self::call(client.update_nodes(Self::authed(target, request)?)).await?;
        let failed: Vec<String> = outcomes
            .outcomes
            .into_iter()
            .filter_map(|o| o.error.map(|e| format!("{}: {e}", o.node)))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Slurm(format!(
                "{} refused: {}",
                match action {
                    NodeAction::Drain => "drain",
                    NodeAction::Undrain => "undrain",
                    NodeAction::Resume => "resume",
                    NodeAction::Down => "down",
                },
                failed.join(", ")
            )))
        }
    }
}

fn job_refs(jobs: &[JobId]) -> Vec<JobRef> {
    jobs.iter()
        .map(|&job_id| JobRef {
            job_id,
            array_task: None,
        })
        .collect()
}

fn refused(what: &str, outcomes: Vec<TargetOutcome>) -> Result<()> {
    let failed: Vec<String> = outcomes
        .into_iter()
        .filter_map(|o| o.error.map(|e| format!("job {}: {e}", o.target)))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Slurm(format!(
            "{what} refused: {}",
            failed.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_signals_parse_as_sbatch_takes_them() {
        assert_eq!(
            JobSignal::parse("B:USR1@90"),
            Some(JobSignal {
                signal: 10,
                lead: Duration::from_secs(90),
                batch_only: true
            })
        );
        assert_eq!(
            JobSignal::parse("TERM"),
            Some(JobSignal {
                signal: 15,
                lead: JobSignal::DEFAULT_LEAD,
                batch_only: false
            })
        );
        assert_eq!(JobSignal::parse("R:10@5").map(|s| s.signal), Some(10));
        for bad in ["", "X:USR1", "USR1@x", "NOPE", ":USR1"] {
            assert_eq!(JobSignal::parse(bad), None, "{bad}");
        }
    }
}
