//! Worker pods: keeping one per static node, marking busy ones for the
//! PodDisruptionBudget, removing them once their Slurm node runs nothing, and draining the
//! Slurm node of a pod that is being deleted (signal, requeue) before it goes.

use super::Context;
use super::slurm::{SlurmSnapshot, SlurmTarget};
use crate::Result;
use crate::render::names;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use slurm_core::model::JobId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// The worker pods of a cluster (every partition, static and dynamic).
pub async fn list(ctx: &Context, namespace: &str, cluster: &str) -> Result<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let lp = ListParams::default().labels(&names::cluster_workers_selector(cluster));
    Ok(api.list(&lp).await?.items)
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.labels().get(names::LABEL_NODE).map(String::as_str)
}

fn partition_of(pod: &Pod) -> Option<&str> {
    pod.labels().get(names::LABEL_PARTITION).map(String::as_str)
}

/// Whether the Slurm node of `pod` may lose its pod now: the controller says it runs no
/// job. Without a snapshot nothing is known, so no.
pub fn idle(pod: &Pod, snapshot: Option<&SlurmSnapshot>) -> bool {
    let Some(snapshot) = snapshot else {
        return false;
    };
    let Some(node) = node_of(pod) else {
        return true;
    };
    snapshot
        .nodes
        .iter()
        .find(|n| n.name == node)
        .is_none_or(|n| !n.busy())
}

/// What [`sync_static`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    pub created: Vec<String>,
    pub deleted: Vec<String>,
    /// Pods that should be replaced or removed but whose node still runs jobs.
    pub waiting: Vec<String>,
}

/// Makes the pods of the static partitions `static_partitions` (Slurm names) match
/// `desired`: creates missing pods; replaces pods whose spec changed and removes pods of
/// nodes that no longer exist, each only once its node runs nothing. Pods of other
/// partitions (dynamic ones, run by the node provider) are left alone.
pub async fn sync_static(
    ctx: &Context,
    namespace: &str,
    desired: &[Pod],
    static_partitions: &BTreeSet<String>,
    existing: &[Pod],
    snapshot: Option<&SlurmSnapshot>,
) -> Result<SyncOutcome> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let mut outcome = SyncOutcome::default();
    let existing: BTreeMap<String, &Pod> = existing
        .iter()
        .filter(|p| partition_of(p).is_some_and(|part| static_partitions.contains(part)))
        .map(|p| (p.name_any(), p))
        .collect();
    let hash = |p: &Pod| p.annotations().get(names::ANNOTATION_SPEC_HASH).cloned();
    for pod in desired {
        let name = pod.name_any();
        match existing.get(&name) {
            None => {
                super::apply::apply(&api, pod).await?;
                outcome.created.push(name);
            }
            Some(current) if hash(current) != hash(pod) => {
                if current.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                if idle(current, snapshot) || !running(current) {
                    api.delete(&name, &DeleteParams::default()).await?;
                    outcome.deleted.push(name);
                } else {
                    outcome.waiting.push(name);
                }
            }
            Some(_) => {}
        }
    }
    let wanted: BTreeSet<String> = desired.iter().map(|p| p.name_any()).collect();
    for (name, pod) in existing {
        if wanted.contains(&name) || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if idle(pod, snapshot) || !running(pod) {
            api.delete(&name, &DeleteParams::default()).await?;
            outcome.deleted.push(name);
        } else {
            outcome.waiting.push(name);
        }
    }
    Ok(outcome)
}

fn running(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_none_or(|phase| phase == "Running" || phase == "Unknown")
}

/// Labels workers whose node runs jobs `slinky.io/busy=true` (and
/// `karpenter.sh/do-not-disrupt`), the others `false`; only pods whose label changes are
/// patched.
pub async fn label_busy(
    ctx: &Context,
    namespace: &str,
    pods: &[Pod],
    snapshot: &SlurmSnapshot,
) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    for pod in pods {
        let Some(node) = node_of(pod) else { continue };
        let busy = snapshot.nodes.iter().any(|n| n.name == node && n.busy());
        let want = if busy { "true" } else { "false" };
        if pod.labels().get(names::LABEL_BUSY).map(String::as_str) == Some(want)
            || pod.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let disrupt = if busy {
            serde_json::Value::String("true".into())
        } else {
            serde_json::Value::Null
        };
        let patch = serde_json::json!({
            "metadata": {
                "labels": { names::LABEL_BUSY: want },
                "annotations": { names::ANNOTATION_DO_NOT_DISRUPT: disrupt },
            }
        });
        api.patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    }
    Ok(())
}

/// Deletes the pods among `pods` whose node runs nothing (`force`: every pod), and says how
/// many remain.
pub async fn remove_idle(
    ctx: &Context,
    namespace: &str,
    pods: &[Pod],
    snapshot: Option<&SlurmSnapshot>,
    force: bool,
) -> Result<usize> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let mut remaining = 0;
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            remaining += 1;
            continue;
        }
        if force || idle(pod, snapshot) || !running(pod) {
            match api.delete(&pod.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        remaining += 1;
    }
    Ok(remaining)
}

/// Taints that mean a Kubernetes node is going away (cordoned, or chosen by Karpenter for
/// disruption).
pub const LEAVING_TAINTS: &[&str] = &["node.kubernetes.io/unschedulable", "karpenter.sh/disrupted"];

/// Whether `node` is cordoned or about to be disrupted.
pub fn leaving(node: &Node) -> bool {
    let Some(spec) = &node.spec else {
        return false;
    };
    spec.unschedulable == Some(true)
        || spec
            .taints
            .iter()
            .flatten()
            .any(|t| LEAVING_TAINTS.contains(&t.key.as_str()))
}

/// Drains the Slurm nodes whose pods run on Kubernetes nodes that are cordoned or being
/// disrupted, so that their jobs finish and no new ones start (their pods are protected by
/// the PodDisruptionBudget while busy). Returns the Slurm nodes drained. Without permission
/// to read nodes this does nothing.
pub async fn drain_leaving(
    ctx: &Context,
    pods: &[Pod],
    snapshot: &SlurmSnapshot,
    target: &SlurmTarget,
) -> Result<Vec<String>> {
    let drained: BTreeSet<&str> = snapshot
        .nodes
        .iter()
        .filter(|n| n.state.flags.drain)
        .map(|n| n.name.as_str())
        .collect();
    let mut by_host: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for pod in pods {
        let (Some(node), Some(host)) = (
            node_of(pod),
            pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
        ) else {
            continue;
        };
        if !drained.contains(node) && snapshot.nodes.iter().any(|n| n.name == node) {
            by_host.entry(host).or_default().push(node.to_owned());
        }
    }
    let api: Api<Node> = Api::all(ctx.client.clone());
    let mut out = Vec::new();
    for (host, slurm_nodes) in by_host {
        let node = match api.get_opt(host).await {
            Ok(Some(node)) => node,
            Ok(None) => continue,
            Err(kube::Error::Api(e)) if e.code == 403 => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        if !leaving(&node) {
            continue;
        }
        let reason = format!("Kubernetes node {host} is cordoned or being disrupted");
        ctx.slurm.drain(target, &slurm_nodes, &reason).await?;
        out.extend(slurm_nodes);
    }
    Ok(out)
}

/// Drain reasons the operator sets for a worker pod being deleted start with this; such a
/// drain is lifted again once no pod of the node is terminating (the replacement pod runs,
/// or the pod is gone).
pub const POD_DELETED: &str = "pod deleted";

/// The longest a job's `--signal` lead time is honoured between a pod's termination notice
/// and the job's requeue (the worker pod's preStop hook keeps the agent up
/// [`crate::render::worker::PRE_STOP_SECONDS`], and the requeue's termination sequence needs
/// KillWait of that).
pub const MAX_SIGNAL_LEAD: Duration = Duration::from_secs(30);

/// Why `pod` is going away (`pod deleted: <reason>`), or `None` while it is not being
/// deleted. The reason is the pod's `DisruptionTarget` condition when Kubernetes set one
/// (`EvictionByEvictionAPI`, `DeletionByTaintManager`, `TerminationByKubelet`,
/// `PreemptionByScheduler`), else that the pod is terminating.
pub fn termination_reason(pod: &Pod) -> Option<String> {
    pod.metadata.deletion_timestamp.as_ref()?;
    let disruption = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| {
            c.iter()
                .find(|c| c.type_ == "DisruptionTarget" && c.status == "True")
        });
    let why = match disruption {
        Some(c) => match (c.reason.as_deref(), c.message.as_deref()) {
            (Some(r), Some(m)) if !m.is_empty() => format!("{r} ({m})"),
            (Some(r), _) => r.to_owned(),
            (None, Some(m)) => m.to_owned(),
            (None, None) => "DisruptionTarget".to_owned(),
        },
        None => format!("{} is terminating", pod.name_any()),
    };
    Some(format!("{POD_DELETED}: {why}"))
}

/// When the pod's termination notice came: its deletion deadline less its grace period
/// (the API server sets both on a graceful delete).
pub fn notice_time(pod: &Pod) -> Option<Timestamp> {
    let deadline = pod.metadata.deletion_timestamp.as_ref()?.0;
    let grace = pod
        .metadata
        .deletion_grace_period_seconds
        .unwrap_or(0)
        .max(0);
    deadline
        .checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(grace))
        .ok()
}

/// What [`handle_terminating`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TerminationOutcome {
    /// Slurm nodes drained because their pod is being deleted, with the reason.
    pub drained: Vec<(String, String)>,
    /// Jobs sent their `--signal`.
    pub signalled: Vec<JobId>,
    /// Jobs requeued.
    pub requeued: Vec<JobId>,
    /// Nodes whose pod-deletion drain was lifted.
    pub undrained: Vec<String>,
    /// When to look again (a job's signal lead time runs).
    pub next: Option<Duration>,
}

/// What the operator already did for a terminating pod's jobs (by pod uid), so that a job
/// is signalled and requeued once.
#[derive(Debug, Default)]
pub struct Terminations {
    pods: Mutex<HashMap<String, TerminationState>>,
}

#[derive(Debug)]
struct TerminationState {
    seen: std::time::Instant,
    signalled: BTreeSet<JobId>,
    requeued: BTreeSet<JobId>,
}

impl Terminations {
    /// Forgets pods seen longer ago than an hour (they are long gone).
    fn prune(map: &mut HashMap<String, TerminationState>) {
        map.retain(|_, s| s.seen.elapsed() < Duration::from_secs(3600));
    }
}

fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}/{}",
        pod.namespace().unwrap_or_default(),
        pod.name_any(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    )
}

/// A worker pod being deleted (spot interruption, Karpenter consolidation, eviction, a
/// person) drains its Slurm node before it goes, as Slurm would on a node failure notice:
///
/// 1. the node is drained with `pod deleted: <reason>` (no new jobs);
/// 2. each job running there that asked for `--signal=[B:]SIG@TIME` gets SIG now;
/// 3. each job that may be requeued is requeued: at once, or TIME (at most
///    [`MAX_SIGNAL_LEAD`]) after the termination notice when it asked for a signal; jobs
///    with `--no-requeue` keep running until the agent stops (they end NODE_FAIL).
///
/// Nodes the controller itself is powering down (idle suspend) are left alone. A drain this
/// function set is lifted once no pod of the node is terminating any more.
pub async fn handle_terminating(
    ctx: &Context,
    pods: &[Pod],
    snapshot: &SlurmSnapshot,
    target: &SlurmTarget,
    now: Timestamp,
) -> Result<TerminationOutcome> {
    let mut out = TerminationOutcome::default();
    let terminating: BTreeMap<&str, &Pod> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .filter_map(|p| Some((node_of(p)?, p)))
        .collect();
    for (&node, &pod) in &terminating {
        let Some(info) = snapshot.node(node) else {
            continue;
        };
        let flags = info.state.flags;
        if flags.powering_down || flags.powered_down {
            continue;
        }
        if !flags.drain {
            let reason = termination_reason(pod).unwrap_or_else(|| POD_DELETED.to_owned());
            ctx.slurm.drain(target, &[node.to_owned()], &reason).await?;
            out.drained.push((node.to_owned(), reason));
        }
        let elapsed = notice_time(pod)
            .map(|t| now.duration_since(t).unsigned_abs())
            .unwrap_or_default();
        let mut to_signal: Vec<(JobId, i32, bool)> = Vec::new();
        let mut to_requeue: Vec<JobId> = Vec::new();
        {
            let mut states = ctx
                .terminations
                .pods
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            Terminations::prune(&mut states);
            let state = states
                .entry(pod_key(pod))
                .or_insert_with(|| TerminationState {
                    seen: std::time::Instant::now(),
                    signalled: BTreeSet::new(),
                    requeued: BTreeSet::new(),
                });
            for job in snapshot.running_on(node) {
                if let Some(sig) = job.signal
                    && state.signalled.insert(job.id)
                {
                    to_signal.push((job.id, sig.signal, sig.batch_only));
                }
                if !job.requeue || state.requeued.contains(&job.id) {
                    continue;
                }
                let wait = job
                    .signal
                    .map_or(Duration::ZERO, |s| s.lead.min(MAX_SIGNAL_LEAD));
                if elapsed >= wait {
                    state.requeued.insert(job.id);
                    to_requeue.push(job.id);
                } else {
                    // Whole seconds, rounded up: not a moment too early.
                    let left = Duration::from_secs((wait - elapsed).as_secs_f64().ceil() as u64);
                    out.next = Some(out.next.map_or(left, |n| n.min(left)));
                }
            }
        }
        for (id, signal, batch_only) in to_signal {
            if let Err(e) = ctx
                .slurm
                .signal_jobs(target, &[id], signal, batch_only)
                .await
            {
                tracing::warn!("job {id} on {node}: signal {signal}: {e}");
                continue;
            }
            out.signalled.push(id);
        }
        if !to_requeue.is_empty() {
            ctx.slurm.requeue(target, &to_requeue).await?;
            out.requeued.extend(to_requeue);
        }
    }
    for info in &snapshot.nodes {
        let ours = info
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with(POD_DELETED));
        if info.state.flags.drain && ours && !terminating.contains_key(info.name.as_str()) {
            ctx.slurm
                .undrain(target, std::slice::from_ref(&info.name))
                .await?;
            out.undrained.push(info.name.clone());
        }
    }
    Ok(out)
}
