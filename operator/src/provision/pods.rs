//! The Kubernetes provider: a dynamic partition's node is a worker pod. Resuming a node
//! creates its pod (with the partition's nodeSelector, tolerations and GPU/EFA requests, so
//! Karpenter provisions a matching instance); suspending it deletes the pod. The pods are
//! rendered by the reconciler ([`crate::render::render_worker_pod`]) and handed over as
//! templates, so a Partition change applies to the next pod created.

use super::{NodeProvider, ProviderError};
use crate::reconcile::slurm::SlurmTarget;
use crate::render::names;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Worker pods to create, by Slurm node name.
pub type PodTemplates = Arc<RwLock<BTreeMap<String, Pod>>>;

pub struct KubePodProvider {
    pods: Api<Pod>,
    /// The label selector of the cluster's worker pods.
    selector: String,
    templates: PodTemplates,
}

impl KubePodProvider {
    pub fn new(pods: Api<Pod>, cluster_name: &str, templates: PodTemplates) -> Self {
        Self {
            pods,
            selector: names::cluster_workers_selector(cluster_name),
            templates,
        }
    }

    fn template(&self, node: &str) -> Option<Pod> {
        self.templates
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(node)
            .cloned()
    }

    /// The pod of `node`, by its label (its name when the template is gone).
    async fn pod_name(&self, node: &str) -> Result<Option<String>, ProviderError> {
        if let Some(t) = self.template(node) {
            return Ok(Some(t.name_any()));
        }
        let selector = format!("{},{}={node}", self.selector, names::LABEL_NODE);
        let list = self
            .pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| ProviderError::List(e.to_string()))?;
        Ok(list.items.first().map(|p| p.name_any()))
    }
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

impl NodeProvider for KubePodProvider {
    async fn resume(&self, nodes: &[String]) -> Result<(), ProviderError> {
        for node in nodes {
            let pod = self.template(node).ok_or_else(|| ProviderError::Start {
                node: node.clone(),
                reason: "no dynamic partition of this cluster has that node".into(),
            })?;
            match self.pods.create(&PostParams::default(), &pod).await {
                Ok(_) => tracing::info!("created worker pod {} for node {node}", pod.name_any()),
                Err(e) if is_status(&e, 409) => {}
                Err(e) => {
                    return Err(ProviderError::Start {
                        node: node.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    async fn suspend(&self, nodes: &[String]) -> Result<(), ProviderError> {
        for node in nodes {
            let Some(name) = self.pod_name(node).await? else {
                continue;
            };
            match self.pods.delete(&name, &DeleteParams::default()).await {
                Ok(_) => tracing::info!("deleted worker pod {name} of node {node}"),
                Err(e) if is_status(&e, 404) => {}
                Err(e) => {
                    return Err(ProviderError::Stop {
                        node: node.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    async fn running(&self) -> Result<Vec<String>, ProviderError> {
        let list = self
            .pods
            .list(&ListParams::default().labels(&self.selector))
            .await
            .map_err(|e| ProviderError::List(e.to_string()))?;
        let mut nodes: Vec<String> = list
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.labels().get(names::LABEL_NODE).cloned())
            .collect();
        nodes.sort();
        Ok(nodes)
    }
}

/// One cluster's provisioning: the templates the reconciler keeps current and the task
/// following the cluster's controller.
struct Provisioner {
    templates: PodTemplates,
    task: tokio::task::JoinHandle<()>,
}

/// The provisioners of every cluster with dynamic partitions, by `namespace/name`.
#[derive(Default)]
pub struct Provisioners {
    clusters: std::sync::Mutex<BTreeMap<String, Provisioner>>,
}

impl Provisioners {
    /// Makes sure the cluster `key` follows its controller with these dynamic-node pod
    /// templates (replacing the previous templates; an empty set stops following).
    pub fn ensure(
        &self,
        key: &str,
        pods: Api<Pod>,
        cluster_name: &str,
        target: &SlurmTarget,
        dynamic: BTreeMap<String, Pod>,
    ) -> Result<(), String> {
        let mut clusters = self.clusters.lock().unwrap_or_else(|e| e.into_inner());
        if dynamic.is_empty() {
            if let Some(p) = clusters.remove(key) {
                p.task.abort();
            }
            return Ok(());
        }
        if let Some(p) = clusters.get(key)
            && !p.task.is_finished()
        {
            *p.templates.write().unwrap_or_else(|e| e.into_inner()) = dynamic;
            return Ok(());
        }
        let templates: PodTemplates = Arc::new(RwLock::new(dynamic));
        let provider = KubePodProvider::new(pods, cluster_name, templates.clone());
        let slurm_key = slurm_core::auth::ClusterKey::from_bytes(target.key.clone())
            .map_err(|e| e.to_string())?;
        let credentials = slurm_core::auth::CredentialSource::KeyAs {
            key: Arc::new(slurm_key),
            uid: 0,
            gid: 0,
            ttl_s: 300,
        };
        let config = target.client_config();
        let name = key.to_owned();
        let task = tokio::spawn(async move {
            tracing::info!("{name}: following the controller's power decisions");
            super::follow_controller(
                &config,
                &credentials,
                &provider,
                std::future::pending::<()>(),
            )
            .await;
        });
        clusters.insert(key.to_owned(), Provisioner { templates, task });
        Ok(())
    }

    /// Stops following a deleted cluster.
    pub fn stop(&self, key: &str) {
        if let Some(p) = self
            .clusters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key)
        {
            p.task.abort();
        }
    }
}

impl Drop for Provisioners {
    fn drop(&mut self) {
        for p in self
            .clusters
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            p.task.abort();
        }
    }
}
