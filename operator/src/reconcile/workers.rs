//! Worker pods: keeping one per static node, marking busy ones for the
//! PodDisruptionBudget, and removing them once their Slurm node runs nothing.

use super::Context;
use super::slurm::{SlurmSnapshot, SlurmTarget};
use crate::Result;
use crate::render::names;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use std::collections::{BTreeMap, BTreeSet};

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
