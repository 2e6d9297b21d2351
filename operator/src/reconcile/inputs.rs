//! What rendering needs that takes I/O: the cluster's partitions and their node sizes, the
//! cluster key, the database URL.

use super::Context;
use super::database::Endpoint;
use crate::crd::{AccountingBackend, Partition, Provisioning, SlurmCluster};
use crate::instance_types::InstanceType;
use crate::render::{self, Database, names};
use crate::validate::{self, Invalid, ValidPartition};
use crate::{Error, Result};
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, ListParams, PostParams};
use std::collections::BTreeMap;

/// The label Kubernetes puts the EC2 instance type in.
pub const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";

/// The partitions in `namespace` whose `clusterRef` is `cluster`, by resource name.
pub async fn partitions_of(
    ctx: &Context,
    namespace: &str,
    cluster: &str,
) -> Result<Vec<Partition>> {
    let api: Api<Partition> = Api::namespaced(ctx.client.clone(), namespace);
    let mut list: Vec<Partition> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|p| p.spec.cluster_ref == cluster)
        .collect();
    list.sort_by_key(|p| p.metadata.name.clone());
    Ok(list)
}

/// Validates a partition, looking its instance types up (and, for a static partition given
/// no size, the Kubernetes node its selector matches).
pub async fn check_partition(
    ctx: &Context,
    partition: &Partition,
) -> Result<std::result::Result<ValidPartition, Invalid>> {
    let types = ctx
        .instance_types
        .describe(&partition.spec.instance_types)
        .await;
    let discovered = if partition.spec.provisioning == Provisioning::Static
        && partition.spec.instance_types.is_empty()
        && partition.spec.node_size.is_none()
    {
        discover_node(ctx, partition).await?
    } else {
        None
    };
    Ok(validate::validate_partition(
        partition,
        &types,
        discovered.as_ref(),
    ))
}

/// The size of a Kubernetes node matching `partition`'s nodeSelector: its instance type
/// when labelled with one slinky knows, else its capacity. `None` when no node matches or
/// the operator may not list nodes.
pub async fn discover_node(ctx: &Context, partition: &Partition) -> Result<Option<InstanceType>> {
    let selector: Vec<String> = partition
        .spec
        .node_selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if selector.is_empty() {
        return Ok(None);
    }
    let api: Api<Node> = Api::all(ctx.client.clone());
    let nodes = match api
        .list(&ListParams::default().labels(&selector.join(",")).limit(1))
        .await
    {
        Ok(list) => list.items,
        Err(kube::Error::Api(e)) if e.code == 403 => {
            tracing::warn!("may not list nodes to size partition: {}", e.message);
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let Some(node) = nodes.first() else {
        return Ok(None);
    };
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(kind) = labels.get(INSTANCE_TYPE_LABEL) {
        let names = [kind.clone()];
        if let Some(t) = ctx.instance_types.describe(&names).await.remove(kind) {
            return Ok(Some(t));
        }
    }
    Ok(node_capacity(node))
}

/// A node's capacity as an instance type named `node NAME`.
pub fn node_capacity(node: &Node) -> Option<InstanceType> {
    let capacity = node.status.as_ref()?.capacity.as_ref()?;
    let get = |k: &str| capacity.get(k).map(|q| q.0.as_str());
    let vcpus = parse_cpu(get("cpu")?)?;
    let memory_mib = parse_bytes(get("memory")?)? / (1024 * 1024);
    let count = |k| get(k).and_then(|q| q.parse::<u32>().ok()).unwrap_or(0);
    Some(InstanceType {
        name: format!("node {}", node.metadata.name.as_deref().unwrap_or_default()),
        vcpus,
        memory_mib,
        gpus: count(render::worker::GPU_RESOURCE),
        gpu_type: None,
        gpu_model: None,
        efa_interfaces: count(render::worker::EFA_RESOURCE),
    })
}

fn parse_cpu(q: &str) -> Option<u32> {
    match q.strip_suffix('m') {
        Some(milli) => milli.parse::<u64>().ok().map(|m| (m / 1000) as u32),
        None => q.parse().ok(),
    }
}

fn parse_bytes(q: &str) -> Option<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (suffix, factor) in UNITS {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<u64>().ok().map(|n| n * factor);
        }
    }
    q.parse().ok()
}

/// The cluster key: read from its Secret, or generated and stored when the Secret does not
/// exist. An existing Secret is never changed.
pub async fn ensure_auth_key(ctx: &Context, cluster: &SlurmCluster) -> Result<(Vec<u8>, bool)> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), names::namespace(cluster));
    let name = cluster.auth_key_secret_name();
    if let Some(secret) = api.get_opt(&name).await? {
        return secret_key(&secret, names::KEY_FILE)
            .map(|k| (k, false))
            .ok_or(Error::MissingSecret {
                name,
                key: names::KEY_FILE.into(),
                field: "spec.authKeySecret",
            });
    }
    let key = render::secrets::random_key()?;
    let secret = render::secrets::auth_key_secret(cluster, key.clone());
    match api.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok((key, true)),
        // Created meanwhile (another reconcile): use that one.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let secret = api.get(&name).await?;
            secret_key(&secret, names::KEY_FILE)
                .map(|k| (k, false))
                .ok_or(Error::MissingSecret {
                    name,
                    key: names::KEY_FILE.into(),
                    field: "spec.authKeySecret",
                })
        }
        Err(e) => Err(e.into()),
    }
}

/// The cluster key if its Secret exists (never creates it).
pub async fn read_auth_key(ctx: &Context, cluster: &SlurmCluster) -> Result<Option<Vec<u8>>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), names::namespace(cluster));
    Ok(api
        .get_opt(&cluster.auth_key_secret_name())
        .await?
        .and_then(|s| secret_key(&s, names::KEY_FILE)))
}

fn secret_key(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    if let Some(v) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return Some(v.0.clone());
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|s| s.as_bytes().to_vec())
}

/// The database server and its URL (password included) for backends mysql and rds.
pub async fn database(ctx: &Context, cluster: &SlurmCluster) -> Result<Option<(Database, String)>> {
    let acct = &cluster.spec.accounting;
    let (endpoint, user, db, password_ref) = match acct.backend {
        AccountingBackend::Sqlite => return Ok(None),
        AccountingBackend::Mysql => {
            let m = acct
                .mysql
                .as_ref()
                .ok_or_else(|| Error::Database("spec.accounting.mysql is missing".into()))?;
            (
                Endpoint {
                    host: m.host.clone(),
                    port: m.port,
                },
                m.user.clone(),
                m.database.clone(),
                m.password_secret.clone(),
            )
        }
        AccountingBackend::Rds => {
            let r = acct
                .rds
                .as_ref()
                .ok_or_else(|| Error::Database("spec.accounting.rds is missing".into()))?;
            let password = r.password_secret.clone().ok_or_else(|| {
                Error::Database("spec.accounting.rds.passwordSecret is required".into())
            })?;
            (
                ctx.databases.rds_endpoint(r).await?,
                r.user.clone(),
                r.database.clone(),
                password,
            )
        }
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), names::namespace(cluster));
    let field = "spec.accounting passwordSecret";
    let secret = api
        .get_opt(&password_ref.name)
        .await?
        .ok_or_else(|| Error::MissingSecret {
            name: password_ref.name.clone(),
            key: password_ref.key.clone(),
            field,
        })?;
    let password = secret_key(&secret, &password_ref.key).ok_or_else(|| Error::MissingSecret {
        name: password_ref.name.clone(),
        key: password_ref.key.clone(),
        field,
    })?;
    let password = String::from_utf8_lossy(&password)
        .trim_end_matches('\n')
        .to_owned();
    let mut database = Database {
        host: endpoint.host,
        port: endpoint.port,
        user,
        database: db,
        url_hash: String::new(),
    };
    let url = render::secrets::database_url(&database, &password);
    database.url_hash = render::hash_json(&url);
    Ok(Some((database, url)))
}

/// Valid partitions of a cluster and the problems of the others, by resource name.
pub struct CheckedPartitions {
    pub partitions: Vec<Partition>,
    pub valid: BTreeMap<String, ValidPartition>,
    pub problems: BTreeMap<String, String>,
}

/// Checks every partition of the cluster, each alone and together (duplicate names, two
/// defaults).
pub async fn checked_partitions(
    ctx: &Context,
    namespace: &str,
    cluster: &str,
) -> Result<CheckedPartitions> {
    let partitions = partitions_of(ctx, namespace, cluster).await?;
    let refs: Vec<&Partition> = partitions.iter().collect();
    let mut problems: BTreeMap<String, String> = validate::validate_partition_set(&refs)
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    let mut valid = BTreeMap::new();
    for p in &partitions {
        let name = p.metadata.name.clone().unwrap_or_default();
        match check_partition(ctx, p).await? {
            Ok(v) if !problems.contains_key(&name) => {
                valid.insert(name, v);
            }
            Ok(_) => {}
            Err(invalid) => {
                problems
                    .entry(name)
                    .and_modify(|m| {
                        m.push_str("; ");
                        m.push_str(&invalid.to_string());
                    })
                    .or_insert_with(|| invalid.to_string());
            }
        }
    }
    Ok(CheckedPartitions {
        partitions,
        valid,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_cpu("96"), Some(96));
        assert_eq!(parse_cpu("95500m"), Some(95));
        assert_eq!(parse_bytes("16Gi"), Some(16 << 30));
        assert_eq!(parse_bytes("1024Ki"), Some(1 << 20));
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("x"), None);
    }
}
