//! Talking to a cluster's Slurm controller: node states and pending jobs for the status,
//! and draining nodes before their pods go. [`SlurmNodeControl`] is the seam; [`GrpcSlurm`]
//! speaks slinky's gRPC protocol, signing its requests as root with the cluster key (the
//! operator holds the key: it created the Secret).

use crate::crd::{NodeCounts, PendingReasonCount};
use crate::{Error, Result};
use futures::future::BoxFuture;
use slurm_core::auth::{Claims, ClusterKey, token};
use slurm_core::config::{ClusterConfig, ControllerHost};
use slurm_core::model::{JobState, NodeBaseState, NodeState};
use slurm_core::proto::{
    Authed, ClusterQuery, Credential, JobQuery, NodeAction, NodeUpdateRequest,
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

/// What the controller reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmSnapshot {
    pub nodes: Vec<NodeInfo>,
    pub pending: Vec<PendingJob>,
}

impl SlurmSnapshot {
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
}

/// The controller over gRPC (`ClusterInfo`, `ListJobs`, `UpdateNodes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcSlurm;

fn slurm_err(e: impl std::fmt::Display) -> Error {
    Error::Slurm(e.to_string())
}

impl GrpcSlurm {
    fn config(target: &SlurmTarget) -> ClusterConfig {
        let mut cfg = ClusterConfig::new("operator");
        cfg.controller_hosts = vec![ControllerHost {
            name: target.host.clone(),
            addr: None,
        }];
        cfg.controller_port = target.port;
        cfg.timers.message_timeout = SLURM_TIMEOUT.as_secs();
        cfg
    }

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
            slurm_core::client::connect_commands(&Self::config(target)),
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
                    })
                    .collect(),
                pending: jobs
                    .jobs
                    .into_iter()
                    .filter(|j| j.state == JobState::Pending)
                    .map(|j| PendingJob {
                        partitions: j.partition.split(',').map(str::to_owned).collect(),
                        reason: j.reason.to_string(),
                        planned_start: j.planned_start,
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
        Box::pin(async move {
            let mut client = Self::client(target).await?;
            let request = NodeUpdateRequest {
                names: nodes.to_vec(),
                action: NodeAction::Drain,
                reason: Some(reason.to_owned()),
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
                    "drain refused: {}",
                    failed.join(", ")
                )))
            }
        })
    }
}
