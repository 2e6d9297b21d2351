//! The Partition reconciler: validation and status (node states, pending jobs); on
//! deletion, drain the partition's nodes and remove its worker pods once they run nothing.
//! (Its nodes and pods themselves come from the cluster reconciler, which watches
//! Partitions.)

use super::cluster::{snapshot, target, waited_long};
use super::{Context, FINALIZER, REFRESH, apply, conditions, inputs, workers};
use crate::crd::{Partition, PartitionStatus, SlurmCluster};
use crate::render::names;
use crate::{Error, Result};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use std::sync::Arc;

/// The controller's entry point.
pub async fn reconcile(partition: Arc<Partition>, ctx: Arc<Context>) -> Result<Action> {
    let ns = partition.namespace().unwrap_or_else(|| "default".into());
    let api: Api<Partition> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, partition.clone(), |event| async {
        match event {
            Finalizer::Apply(p) => apply_partition(&p, &ctx).await,
            Finalizer::Cleanup(p) => cleanup(&p, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    super::finish(&ctx, partition.as_ref(), result).await
}

async fn apply_partition(partition: &Partition, ctx: &Context) -> Result<Action> {
    let ns = partition.namespace().unwrap_or_else(|| "default".into());
    let name = partition.name_any();
    let generation = partition.metadata.generation;
    let previous = partition
        .status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let now = Timestamp::now();
    let condition = |t: &str, ok: bool, reason: &str, message: String| {
        conditions::condition(t, ok, reason, message, generation, &previous, now)
    };
    let clusters: Api<SlurmCluster> = Api::namespaced(ctx.client.clone(), &ns);
    let cluster = clusters.get_opt(&partition.spec.cluster_ref).await?;

    // Validity, alone and among the cluster's other partitions.
    let checked = inputs::checked_partitions(ctx, &ns, &partition.spec.cluster_ref).await?;
    let problem = checked.problems.get(&name).cloned();
    let warnings = checked
        .valid
        .get(&name)
        .map(|v| v.warnings.clone())
        .unwrap_or_default();
    let changed = partition
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        != generation;
    if changed {
        if let Some(message) = &problem {
            ctx.event(partition, EventType::Warning, "Invalid", message.clone())
                .await;
        }
        for w in &warnings {
            ctx.event(partition, EventType::Warning, "Warning", w.clone())
                .await;
        }
    }

    let mut status = PartitionStatus {
        observed_generation: generation,
        ..Default::default()
    };
    let valid = condition(
        "Valid",
        problem.is_none(),
        if problem.is_some() {
            "Invalid"
        } else {
            "Valid"
        },
        problem
            .clone()
            .unwrap_or_else(|| match warnings.is_empty() {
                true => "the partition is valid".into(),
                false => warnings.join("; "),
            }),
    );
    let ready = match (&cluster, &problem) {
        (None, _) => condition(
            "Ready",
            false,
            "ClusterNotFound",
            format!(
                "SlurmCluster {} not found in namespace {ns}",
                partition.spec.cluster_ref
            ),
        ),
        (Some(_), Some(_)) => condition(
            "Ready",
            false,
            "Invalid",
            "the partition is not in slurm.conf until it is valid".into(),
        ),
        (Some(cluster), None) => match inputs::read_auth_key(ctx, cluster).await? {
            None => condition("Ready", false, "Pending", "the cluster is starting".into()),
            Some(key) => match snapshot(ctx, &target(cluster, key)).await {
                Err(e) => condition(
                    "Ready",
                    false,
                    "ControllerUnreachable",
                    format!("cannot reach slurmctld: {e}"),
                ),
                Ok(snap) => {
                    let nodes = partition.node_names();
                    let counts = snap.counts(Some(&nodes));
                    let (pending, reasons, earliest) = snap.pending_in(&partition.slurm_name());
                    status.pending_jobs = pending;
                    status.pending_reasons = reasons;
                    status.earliest_planned_start = earliest
                        .and_then(|t| Timestamp::from_second(t).ok())
                        .map(|t| t.to_string());
                    let known = counts.total == nodes.len() as u32;
                    status.nodes = Some(counts);
                    if known {
                        condition(
                            "Ready",
                            true,
                            "InSlurm",
                            "the partition's nodes are in Slurm".into(),
                        )
                    } else {
                        condition(
                            "Ready",
                            false,
                            "Configuring",
                            "slurmctld does not know every node yet (restarting with the new slurm.conf)".into(),
                        )
                    }
                }
            },
        },
    };
    status.conditions = vec![ready, valid];
    apply::apply_status(
        &api(ctx, &ns),
        &name,
        serde_json::to_value(status).unwrap_or_default(),
    )
    .await?;
    Ok(Action::requeue(REFRESH))
}

fn api(ctx: &Context, ns: &str) -> Api<Partition> {
    Api::namespaced(ctx.client.clone(), ns)
}

/// Deletion: drain the partition's nodes, remove its worker pods once their nodes run
/// nothing; a partition whose cluster is gone loses its pods at once.
async fn cleanup(partition: &Partition, ctx: &Context) -> Result<Action> {
    let ns = partition.namespace().unwrap_or_else(|| "default".into());
    let cluster_name = &partition.spec.cluster_ref;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let lp = ListParams::default().labels(&names::partition_pods_selector(cluster_name, partition));
    let list = pods.list(&lp).await?.items;
    if list.is_empty() {
        return Ok(Action::await_change());
    }
    let clusters: Api<SlurmCluster> = Api::namespaced(ctx.client.clone(), &ns);
    let cluster = clusters.get_opt(cluster_name).await?;
    let key = match &cluster {
        Some(c) => inputs::read_auth_key(ctx, c).await?,
        None => None,
    };
    let snapshot = match (&cluster, key) {
        (Some(c), Some(key)) => {
            let target = target(c, key);
            let nodes = partition.node_names();
            if let Err(e) = ctx.slurm.drain(&target, &nodes, "Partition deleted").await {
                tracing::info!("{ns}/{}: drain before deletion: {e}", partition.name_any());
            }
            snapshot(ctx, &target).await.ok()
        }
        _ => None,
    };
    let force = cluster.is_none() || (snapshot.is_none() && waited_long(partition));
    let remaining = workers::remove_idle(ctx, &ns, &list, snapshot.as_ref(), force).await?;
    if remaining == 0 {
        return Ok(Action::await_change());
    }
    Err(Error::Waiting(format!(
        "{remaining} worker pods of partition {} still run jobs or are stopping",
        partition.slurm_name()
    )))
}
