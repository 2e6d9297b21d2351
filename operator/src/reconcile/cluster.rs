//! The SlurmCluster reconciler: every object of the cluster, its static worker pods, its
//! status; on deletion, drain and remove the workers first.

use super::slurm::{SlurmSnapshot, SlurmTarget};
use super::{Context, FINALIZER, REFRESH, apply, conditions, inputs, workers};
use crate::crd::{Provisioning, SlurmCluster, SlurmClusterStatus};
use crate::render::{self, ClusterInputs, PartitionInput, names};
use crate::validate;
use crate::{Error, Result};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Client, ResourceExt};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How long a deleted cluster waits for an unreachable Slurm controller before its worker
/// pods are removed anyway.
pub const UNREACHABLE_GRACE: Duration = Duration::from_secs(300);

/// The controller's entry point.
pub async fn reconcile(cluster: Arc<SlurmCluster>, ctx: Arc<Context>) -> Result<Action> {
    let ns = cluster.namespace().unwrap_or_else(|| "default".into());
    let api: Api<SlurmCluster> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, cluster.clone(), |event| async {
        match event {
            Finalizer::Apply(c) => apply_cluster(&c, &ctx).await,
            Finalizer::Cleanup(c) => cleanup(&c, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    super::finish(&ctx, cluster.as_ref(), result).await
}

fn ns_api<K>(client: &Client, ns: &str) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), ns)
}

/// The Slurm controller of `cluster`, when its key is known.
pub fn target(cluster: &SlurmCluster, key: Vec<u8>) -> SlurmTarget {
    SlurmTarget {
        host: names::controller_host(cluster),
        port: names::SLURMCTLD_PORT,
        key,
    }
}

/// The controller's snapshot, or why there is none.
pub async fn snapshot(
    ctx: &Context,
    target: &SlurmTarget,
) -> std::result::Result<SlurmSnapshot, String> {
    ctx.slurm.snapshot(target).await.map_err(|e| e.to_string())
}

async fn apply_cluster(cluster: &SlurmCluster, ctx: &Context) -> Result<Action> {
    let ns = names::namespace(cluster).to_owned();
    let name = names::cluster(cluster).to_owned();
    let generation = cluster.metadata.generation;
    let previous = cluster
        .status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let now = Timestamp::now();
    let condition = |t: &str, ok: bool, reason: &str, message: String| {
        conditions::condition(t, ok, reason, message, generation, &previous, now)
    };
    let api: Api<SlurmCluster> = ns_api(&ctx.client, &ns);

    if let Err(invalid) = validate::validate_cluster(cluster) {
        let message = invalid.to_string();
        ctx.event(cluster, EventType::Warning, "Invalid", message.clone())
            .await;
        let status = SlurmClusterStatus {
            phase: Some("Failed".into()),
            conditions: vec![condition("Ready", false, "Invalid", message)],
            observed_generation: generation,
            nodes: None,
        };
        apply::apply_status(
            &api,
            &name,
            serde_json::to_value(status).unwrap_or_default(),
        )
        .await?;
        return Ok(Action::requeue(Duration::from_secs(300)));
    }

    let (key, created) = inputs::ensure_auth_key(ctx, cluster).await?;
    if created {
        ctx.event(
            cluster,
            EventType::Normal,
            "AuthKeyCreated",
            format!(
                "generated the cluster key in Secret {}",
                cluster.auth_key_secret_name()
            ),
        )
        .await;
    }
    let database = match inputs::database(ctx, cluster).await {
        Ok(database) => database,
        Err(e) => {
            // Say so in the status too; the error itself becomes a Warning event and a retry.
            let status = SlurmClusterStatus {
                phase: Some(
                    if previous.is_empty() {
                        "Pending"
                    } else {
                        "Degraded"
                    }
                    .into(),
                ),
                conditions: vec![
                    condition("Ready", false, "AccountingUnavailable", e.to_string()),
                    condition(
                        "AccountingReady",
                        false,
                        "DatabaseUnavailable",
                        e.to_string(),
                    ),
                ],
                observed_generation: generation,
                nodes: cluster.status.as_ref().and_then(|s| s.nodes.clone()),
            };
            apply::apply_status(
                &api,
                &name,
                serde_json::to_value(status).unwrap_or_default(),
            )
            .await?;
            return Err(e);
        }
    };
    if let Some((_, url)) = &database {
        let secret = render::secrets::dbd_storage_secret(cluster, url);
        apply::apply(&ns_api::<Secret>(&ctx.client, &ns), &secret).await?;
    }
    let checked = inputs::checked_partitions(ctx, &ns, &name).await?;
    let partition_inputs: Vec<PartitionInput<'_>> = checked
        .partitions
        .iter()
        .filter_map(|p| {
            let valid = checked.valid.get(&p.name_any())?.clone();
            Some(PartitionInput {
                partition: p,
                valid,
            })
        })
        .collect();
    let static_partitions: BTreeSet<String> = partition_inputs
        .iter()
        .filter(|p| p.partition.spec.provisioning == Provisioning::Static)
        .map(|p| p.partition.slurm_name())
        .collect();
    let inputs = ClusterInputs::new(cluster, partition_inputs, database.map(|(db, _)| db));
    let r = render::render_cluster(&inputs);

    let client = &ctx.client;
    apply::apply(&ns_api::<ServiceAccount>(client, &ns), &r.service_account).await?;
    apply::apply(&ns_api::<Role>(client, &ns), &r.role).await?;
    apply::apply(&ns_api::<RoleBinding>(client, &ns), &r.role_binding).await?;
    apply::apply(&ns_api::<ConfigMap>(client, &ns), &r.config_map).await?;
    let services = ns_api::<Service>(client, &ns);
    apply::apply(&services, &r.controller_headless_service).await?;
    apply::apply(&services, &r.controller_service).await?;
    let controller = apply_controller(ctx, cluster, &ns, &r.controller).await?;
    let claims = ns_api::<PersistentVolumeClaim>(client, &ns);
    if let Some(claim) = &r.dbd_data {
        apply::apply(&claims, claim).await?;
    }
    apply::apply(&services, &r.dbd_service).await?;
    let deployments = ns_api::<Deployment>(client, &ns);
    let dbd = apply::apply(&deployments, &r.dbd).await?;
    if let Some(claim) = &r.home {
        apply::apply(&claims, claim).await?;
    }
    apply::apply(&deployments, &r.login).await?;
    apply::apply(&services, &r.workers_service).await?;
    apply::apply(
        &ns_api::<PodDisruptionBudget>(client, &ns),
        &r.busy_workers_pdb,
    )
    .await?;

    // Dynamic partitions: their pods come and go with the controller's power decisions.
    let target = target(cluster, key);
    ctx.provisioners
        .ensure(
            &format!("{ns}/{name}"),
            ns_api(client, &ns),
            &name,
            &target,
            r.dynamic_workers.clone(),
        )
        .map_err(Error::Slurm)?;
    let pods = workers::list(ctx, &ns, &name).await?;
    let snapshot = snapshot(ctx, &target).await;
    let sync = workers::sync_static(
        ctx,
        &ns,
        &r.static_workers,
        &static_partitions,
        &pods,
        snapshot.as_ref().ok(),
    )
    .await?;
    if !sync.created.is_empty() || !sync.deleted.is_empty() {
        ctx.event(
            cluster,
            EventType::Normal,
            "WorkersChanged",
            format!(
                "worker pods created: [{}], deleted: [{}]",
                sync.created.join(", "),
                sync.deleted.join(", ")
            ),
        )
        .await;
    }
    let mut next = REFRESH;
    if let Ok(s) = &snapshot {
        match workers::handle_terminating(ctx, &pods, s, &target, Timestamp::now()).await {
            Ok(t) => {
                next = t
                    .next
                    .map_or(next, |n| n.max(Duration::from_secs(1)).min(next));
                for (node, reason) in &t.drained {
                    ctx.event(
                        cluster,
                        EventType::Normal,
                        "PodTerminating",
                        format!("drained Slurm node {node}: {reason}"),
                    )
                    .await;
                }
                if !t.signalled.is_empty() || !t.requeued.is_empty() {
                    let ids = |v: &[slurm_core::model::JobId]| {
                        v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                    };
                    ctx.event(
                        cluster,
                        EventType::Normal,
                        "JobsRequeued",
                        format!(
                            "jobs on terminating worker pods: signalled [{}], requeued [{}]",
                            ids(&t.signalled),
                            ids(&t.requeued)
                        ),
                    )
                    .await;
                }
                if !t.undrained.is_empty() {
                    ctx.event(
                        cluster,
                        EventType::Normal,
                        "NodesUndrained",
                        format!(
                            "worker pods replaced, drain lifted: {}",
                            t.undrained.join(", ")
                        ),
                    )
                    .await;
                }
            }
            Err(e) => {
                // The rest of the reconcile goes on; the next pass tries again.
                ctx.event(
                    cluster,
                    EventType::Warning,
                    "DrainFailed",
                    format!("terminating worker pods: {e}"),
                )
                .await;
                next = Duration::from_secs(5);
            }
        }
        workers::label_busy(ctx, &ns, &pods, s).await?;
        let drained = workers::drain_leaving(ctx, &pods, s, &target).await?;
        if !drained.is_empty() {
            ctx.event(
                cluster,
                EventType::Normal,
                "NodesDrained",
                format!(
                    "drained Slurm nodes on cordoned Kubernetes nodes: {}",
                    drained.join(", ")
                ),
            )
            .await;
        }
    }

    let ready = |replicas: Option<i32>| replicas.unwrap_or(0) >= 1;
    let controller_ready = ready(controller.status.as_ref().and_then(|s| s.ready_replicas));
    let dbd_ready = ready(dbd.status.as_ref().and_then(|s| s.available_replicas));
    let mut conds = vec![
        condition(
            "ControllerReady",
            controller_ready,
            if controller_ready {
                "Running"
            } else {
                "Starting"
            },
            if controller_ready {
                "slurmctld is running".into()
            } else {
                format!(
                    "waiting for StatefulSet {} to be ready",
                    names::controller(cluster)
                )
            },
        ),
        condition(
            "AccountingReady",
            dbd_ready,
            if dbd_ready { "Running" } else { "Starting" },
            if dbd_ready {
                format!(
                    "slurmdbd is running ({})",
                    cluster.spec.accounting.backend.as_str()
                )
            } else {
                format!(
                    "waiting for Deployment {} to be available",
                    names::dbd(cluster)
                )
            },
        ),
    ];
    let all_ready = controller_ready && dbd_ready && snapshot.is_ok();
    let ready_message = match (&snapshot, all_ready) {
        (_, true) => "the cluster is running".to_owned(),
        (Err(e), _) if controller_ready => format!("cannot reach slurmctld: {e}"),
        _ => "waiting for the controller and the accounting daemon".to_owned(),
    };
    conds.insert(
        0,
        condition(
            "Ready",
            all_ready,
            if all_ready { "Running" } else { "NotReady" },
            ready_message,
        ),
    );
    let phase = if all_ready {
        "Running"
    } else if previous.is_empty() {
        "Pending"
    } else {
        "Degraded"
    };
    let status = SlurmClusterStatus {
        phase: Some(phase.into()),
        conditions: conds,
        observed_generation: generation,
        nodes: snapshot.ok().map(|s| s.counts(None)),
    };
    apply::apply_status(
        &api,
        &name,
        serde_json::to_value(status).unwrap_or_default(),
    )
    .await?;
    Ok(Action::requeue(next))
}

/// Applies the controller StatefulSet. Its volume claim template cannot change once created:
/// when `spec.controller.storage` changed, the existing template is kept (with a Warning
/// saying how to resize) so that the rest of the cluster still reconciles.
async fn apply_controller(
    ctx: &Context,
    cluster: &SlurmCluster,
    ns: &str,
    rendered: &StatefulSet,
) -> Result<StatefulSet> {
    let api = ns_api::<StatefulSet>(&ctx.client, ns);
    match apply::apply(&api, rendered).await {
        Err(Error::Kube(kube::Error::Api(e))) if e.code == 422 => {
            let name = names::controller(cluster);
            let Some(existing) = api.get_opt(&name).await? else {
                return Err(Error::Kube(kube::Error::Api(e)));
            };
            let mut kept = rendered.clone();
            kept.spec.volume_claim_templates = existing.spec.volume_claim_templates.clone();
            if kept == *rendered {
                return Err(Error::Kube(kube::Error::Api(e)));
            }
            ctx.event(
                cluster,
                EventType::Warning,
                "StorageUnchanged",
                format!(
                    "spec.controller.storage applies to new clusters only (a StatefulSet's volume claim template is immutable); resize PersistentVolumeClaim state-{name}-0 instead"
                ),
            )
            .await;
            apply::apply(&api, &kept).await
        }
        other => other,
    }
}

/// Deletion: drain every node of the cluster and remove its worker pods once their nodes
/// run nothing (or, if the controller stays unreachable for [`UNREACHABLE_GRACE`], anyway).
async fn cleanup(cluster: &SlurmCluster, ctx: &Context) -> Result<Action> {
    let ns = names::namespace(cluster).to_owned();
    let name = names::cluster(cluster).to_owned();
    // No new worker pods for a cluster going away; the drain below removes the others.
    ctx.provisioners.stop(&format!("{ns}/{name}"));
    let pods = workers::list(ctx, &ns, &name).await?;
    if pods.is_empty() {
        return Ok(Action::await_change());
    }
    let key = inputs::read_auth_key(ctx, cluster).await?;
    let snapshot = match key {
        Some(key) => {
            let target = target(cluster, key);
            let nodes: Vec<String> = pods
                .iter()
                .filter_map(|p| p.labels().get(names::LABEL_NODE).cloned())
                .collect();
            if let Err(e) = ctx
                .slurm
                .drain(&target, &nodes, "SlurmCluster deleted")
                .await
            {
                tracing::info!("{ns}/{name}: drain before deletion: {e}");
            }
            snapshot(ctx, &target).await.ok()
        }
        None => None,
    };
    let force = snapshot.is_none() && waited_long(cluster);
    let remaining = workers::remove_idle(ctx, &ns, &pods, snapshot.as_ref(), force).await?;
    if remaining == 0 {
        return Ok(Action::await_change());
    }
    Err(Error::Waiting(format!(
        "{remaining} worker pods of cluster {name} still run jobs or are stopping"
    )))
}

/// Whether the object was marked for deletion more than [`UNREACHABLE_GRACE`] ago.
pub fn waited_long<K: kube::Resource>(obj: &K) -> bool {
    obj.meta().deletion_timestamp.as_ref().is_some_and(|t| {
        Timestamp::now().duration_since(t.0).as_secs() >= UNREACHABLE_GRACE.as_secs() as i64
    })
}
