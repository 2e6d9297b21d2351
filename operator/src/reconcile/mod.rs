//! The controllers (kube-rs runtime, in the style of kube's controller-rs): one for
//! `SlurmCluster`s, one for `Partition`s.
//!
//! - **SlurmCluster**: validates, makes sure the cluster key Secret exists (generated once),
//!   renders every object from the cluster and its valid partitions and server-side applies
//!   them (field manager `slinky-operator`), keeps one worker pod per static node, labels
//!   busy workers for the PodDisruptionBudget, and writes the status. A change to any
//!   Partition re-renders its cluster's ConfigMap. A worker pod being deleted (spot
//!   interruption, consolidation, eviction) drains its Slurm node, signals and requeues
//!   its jobs ([`workers::handle_terminating`]).
//! - **Partition**: validates and writes the status (node states, pending jobs from the
//!   Slurm controller).
//! - **Deletion**: both carry the finalizer `slinky.io/drain`: their Slurm nodes are
//!   drained, and their worker pods deleted once the nodes run nothing; then the finalizer
//!   goes.
//! - **Errors** become a Warning event and a retry with exponential backoff (5 s doubling to
//!   5 min); the operator never exits on one.
//!
//! The operator needs, besides its own namespace's Events: get/list/watch/create/patch/
//! delete on the CRDs (and their status), ConfigMaps, Secrets, Services, Pods,
//! PersistentVolumeClaims, ServiceAccounts, StatefulSets, Deployments,
//! PodDisruptionBudgets, Roles and RoleBindings; list on Nodes (to size static partitions
//! from their nodes).

pub mod apply;
pub mod cluster;
pub mod conditions;
pub mod database;
pub mod inputs;
pub mod partition;
pub mod slurm;
pub mod workers;

use crate::crd::{Partition, SlurmCluster};
use crate::instance_types::InstanceTypeCatalog;
use crate::{Error, Result};
use database::DatabaseResolver;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use slurm::{GrpcSlurm, SlurmNodeControl};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The finalizer both resources carry.
pub const FINALIZER: &str = "slinky.io/drain";
/// How often a healthy resource is looked at again (status refresh).
pub const REFRESH: Duration = Duration::from_secs(30);
/// The first retry after an error; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(5);
/// The longest wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What the reconcilers share.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub instance_types: Arc<dyn InstanceTypeCatalog>,
    pub databases: Arc<dyn DatabaseResolver>,
    pub slurm: Arc<dyn SlurmNodeControl>,
    /// Per cluster with dynamic partitions: the task that follows its controller's power
    /// decisions and creates or deletes worker pods.
    pub provisioners: crate::provision::Provisioners,
    /// What was done for terminating worker pods' jobs (signalled, requeued).
    pub terminations: workers::Terminations,
    /// Consecutive failures per object, for the backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context with the given seams.
    pub fn new(
        client: Client,
        instance_types: Arc<dyn InstanceTypeCatalog>,
        databases: Arc<dyn DatabaseResolver>,
        slurm: Arc<dyn SlurmNodeControl>,
    ) -> Self {
        let reporter = Reporter {
            controller: crate::render::names::FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            instance_types,
            databases,
            slurm,
            provisioners: crate::provision::Provisioners::default(),
            terminations: workers::Terminations::default(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The default build's seams: the offline instance table, no RDS, gRPC to Slurm (with
    /// the `aws` feature: EC2 and RDS lookups, see `crate::aws`).
    pub async fn with_defaults(client: Client) -> Self {
        #[cfg(feature = "aws")]
        {
            let config = crate::aws::load_config().await;
            Self::new(
                client,
                Arc::new(crate::aws::Ec2Catalog::new(&config)),
                Arc::new(crate::aws::RdsResolver::new(config)),
                Arc::new(GrpcSlurm),
            )
        }
        #[cfg(not(feature = "aws"))]
        {
            Self::new(
                client,
                Arc::new(crate::instance_types::OfflineCatalog),
                Arc::new(database::NoRds),
                Arc::new(GrpcSlurm),
            )
        }
    }

    /// Publishes an event about `obj` (failures to publish are only logged).
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!("cannot publish event {reason}: {e}");
        }
    }

    fn backoff(&self, key: String) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(key).or_default();
        *n = n.saturating_add(1);
        backoff_after(*n)
    }

    fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The wait after the `n`th consecutive failure.
pub fn backoff_after(n: u32) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
    MIN_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

fn key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

/// Turns a reconcile result into the next action: success resets the backoff; waiting for
/// something (nodes to finish their jobs) retries at [`REFRESH`] without a warning; an
/// error publishes a Warning event and backs off.
pub async fn finish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    result: Result<Action>,
) -> Result<Action> {
    let key = key(obj);
    match result {
        Ok(action) => {
            ctx.succeeded(&key);
            Ok(action)
        }
        Err(Error::Finalizer(e)) if is_waiting(&e) => Ok(Action::requeue(REFRESH)),
        Err(e) => {
            let wait = ctx.backoff(key.clone());
            tracing::warn!("{key}: {e}; retrying in {}s", wait.as_secs());
            ctx.event(obj, EventType::Warning, "ReconcileFailed", e.to_string())
                .await;
            Ok(Action::requeue(wait))
        }
    }
}

fn is_waiting(e: &kube::runtime::finalizer::Error<Error>) -> bool {
    matches!(
        e,
        kube::runtime::finalizer::Error::CleanupFailed(Error::Waiting(_))
    )
}

/// Where the operator looks: one namespace, or all.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Watch only this namespace.
    pub namespace: Option<String>,
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Connects to Kubernetes (in-cluster config, else the kubeconfig) and runs both
/// controllers until SIGINT/SIGTERM. A rustls crypto provider must be installed first.
pub async fn run_default(options: Options) -> Result<()> {
    let client = Client::try_default().await?;
    let ctx = Arc::new(Context::with_defaults(client).await);
    tracing::info!(
        namespace = options.namespace.as_deref().unwrap_or("(all)"),
        "slinky operator running"
    );
    run(ctx, options).await;
    Ok(())
}

/// Runs both controllers until SIGINT/SIGTERM.
pub async fn run(ctx: Arc<Context>, options: Options) {
    let ns = options.namespace.as_deref();
    let client = &ctx.client;
    let config = watcher::Config::default();
    let workers = watcher::Config::default().labels("app.kubernetes.io/component=worker");
    let clusters = Controller::new(api::<SlurmCluster>(client, ns), config.clone())
        .owns(api::<StatefulSet>(client, ns), config.clone())
        .owns(api::<Deployment>(client, ns), config.clone())
        .watches(api::<Partition>(client, ns), config.clone(), |p| {
            Some(ObjectRef::new(&p.spec.cluster_ref).within(&p.namespace()?))
        })
        // Worker pods: a deleted static pod is recreated, a terminating one drains its node.
        .watches(api::<Pod>(client, ns), workers.clone(), |pod| {
            let cluster = pod.labels().get(crate::render::names::LABEL_CLUSTER)?;
            Some(ObjectRef::new(cluster).within(&pod.namespace()?))
        })
        .shutdown_on_signal()
        .run(
            cluster::reconcile,
            |_, _: &Error, _| Action::requeue(MIN_BACKOFF),
            ctx.clone(),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!("cluster controller: {e}");
            }
        });
    let partitions = Controller::new(api::<Partition>(client, ns), config.clone())
        .owns(api::<Pod>(client, ns), workers)
        .shutdown_on_signal()
        .run(
            partition::reconcile,
            |_, _: &Error, _| Action::requeue(MIN_BACKOFF),
            ctx.clone(),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!("partition controller: {e}");
            }
        });
    futures::join!(clusters, partitions);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff_after(1), Duration::from_secs(5));
        assert_eq!(backoff_after(2), Duration::from_secs(10));
        assert_eq!(backoff_after(4), Duration::from_secs(40));
        assert_eq!(backoff_after(7), Duration::from_secs(300));
        assert_eq!(backoff_after(40), Duration::from_secs(300));
    }
}
