//! Keeps the engine in step with accounting: associations and QOS
//! (`AccountingStorageEnforce=associations,limits,qos`) and fairshare's usage (decayed
//! usage per association, as the dbd records it, under priority/multifactor). The dbd is
//! read at start and every [`REFRESH`], so `sacctmgr` changes take effect without restarting
//! anything, and a user who used many GPU-hours yesterday waits behind one who used none,
//! across controller restarts. While the dbd cannot be reached the last tables stay in force.

use super::Shared;
use crate::auth::CredentialSource;
use crate::config::ClusterConfig;
use crate::dbd::client::{DbdCallError, DbdClient};
use crate::engine::{AccountAssoc, AssocLimitSet, Associations, QosLimitSet, UserAssoc};
use crate::model::{Qos, TimeLimit, TresList};
use crate::parse::tres::parse_tres;
use crate::proto::{self, MgrEntity, MgrList, MgrQuery};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the tables are read again.
pub const REFRESH: Duration = Duration::from_secs(2);

/// Which parts of `AccountingStorageEnforce` are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enforcement {
    pub associations: bool,
    pub limits: bool,
    pub qos: bool,
}

impl Enforcement {
    /// From the cluster's configuration (`limits` and `qos` imply `associations`, as in
    /// Slurm); `None` when nothing is enforced or there is no dbd.
    pub fn of(cluster: &ClusterConfig) -> Option<Self> {
        if cluster.accounting.storage != crate::config::AccountingStorage::Slurmdbd {
            return None;
        }
        let has = |flag: &str| cluster.accounting.enforce.iter().any(|f| f == flag);
        let limits = has("limits") || has("safe");
        let qos = has("qos");
        let associations = has("associations") || limits || qos;
        associations.then_some(Self {
            associations,
            limits,
            qos,
        })
    }
}

/// The engine's view of accounting's tables.
pub fn associations_from(list: &MgrList, enforce: Enforcement) -> (Associations, Vec<Qos>) {
    let mut accounts = Vec::new();
    let mut users = Vec::new();
    for a in &list.assocs {
        let limits = limit_set(a);
        if a.user.is_empty() {
            accounts.push((
                a.account.clone(),
                AccountAssoc {
                    parent: a.parent.clone(),
                    shares: a.shares,
                    limits,
                },
            ));
        } else {
            users.push(UserAssoc {
                user: a.user.clone(),
                account: a.account.clone(),
                partition: a.partition.clone(),
                shares: a.shares,
                limits,
                qos: split_list(&a.qos),
                default_qos: a.default_qos.clone(),
            });
        }
    }
    let defaults: HashMap<String, String> = list
        .users
        .iter()
        .filter(|u| !u.default_account.is_empty())
        .map(|u| (u.name.clone(), u.default_account.clone()))
        .collect();
    let mut assocs = Associations::new(accounts, users, defaults, enforce.limits);
    if enforce.qos {
        assocs = assocs.with_qos(
            list.qos
                .iter()
                .map(|q| (q.name.clone(), qos_limits(q)))
                .collect(),
        );
    }
    let qos = list
        .qos
        .iter()
        .map(|q| Qos {
            name: q.name.clone(),
            priority: q.priority,
            max_wall: q.max_wall.map(|m| TimeLimit::minutes(u64::from(m))),
        })
        .collect();
    (assocs, qos)
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A TRES limit string as stored; one that does not parse is logged and ignored (accounting
/// validated it when it was set).
fn tres(s: &str) -> TresList {
    if s.is_empty() {
        return TresList::default();
    }
    parse_tres(s).unwrap_or_else(|e| {
        tracing::warn!("ignoring TRES limit {s:?} from accounting: {e}");
        TresList::default()
    })
}

fn limit_set(a: &proto::Assoc) -> AssocLimitSet {
    AssocLimitSet {
        grp_tres: tres(&a.grp_tres),
        grp_tres_run_mins: tres(&a.grp_tres_run_mins),
        grp_jobs: a.grp_jobs,
        grp_submit_jobs: a.grp_submit_jobs,
        max_jobs: a.max_jobs,
        max_submit_jobs: a.max_submit_jobs,
        max_wall: a.max_wall.map(|m| TimeLimit::minutes(u64::from(m))),
        max_tres_per_job: tres(&a.max_tres_per_job),
    }
}

fn qos_limits(q: &proto::Qos) -> QosLimitSet {
    QosLimitSet {
        max_tres_per_job: tres(&q.max_tres_per_job),
        max_tres_per_user: tres(&q.max_tres_per_user),
        max_jobs_per_user: q.max_jobs_per_user,
        max_submit_jobs_per_user: q.max_submit_jobs_per_user,
        grp_tres: tres(&q.grp_tres),
        grp_jobs: q.grp_jobs,
    }
}

/// Reads associations, users and QOS from the dbd.
async fn fetch(dbd: &mut DbdClient) -> Result<MgrList, DbdCallError> {
    let mut merged = MgrList::default();
    for entity in [MgrEntity::Assocs, MgrEntity::Users, MgrEntity::Qos] {
        let reply = dbd
            .show(MgrQuery {
                entity,
                names: Vec::new(),
                users: Vec::new(),
                accounts: Vec::new(),
                partitions: Vec::new(),
                with_subaccounts: false,
                with_assocs: false,
            })
            .await?;
        merged.assocs.extend(reply.assocs);
        merged.users.extend(reply.users);
        merged.qos.extend(reply.qos);
    }
    Ok(merged)
}

/// What to follow: the tables to enforce, fairshare usage, or both.
#[derive(Debug, Clone, Copy)]
pub struct Follow {
    pub enforce: Option<Enforcement>,
    /// PriorityDecayHalfLife, when fairshare counts (multifactor with a fairshare weight).
    pub fairshare_half_life_s: Option<u64>,
}

impl Follow {
    pub fn of(cluster: &ClusterConfig) -> Option<Self> {
        if cluster.accounting.storage != crate::config::AccountingStorage::Slurmdbd {
            return None;
        }
        let fairshare =
            (cluster.priority.weight_fairshare > 0).then_some(cluster.priority.decay_half_life_s);
        let follow = Self {
            enforce: Enforcement::of(cluster),
            fairshare_half_life_s: fairshare,
        };
        (follow.enforce.is_some() || fairshare.is_some()).then_some(follow)
    }
}

/// Decayed usage per (account, user) association from the dbd.
async fn fetch_usage(
    dbd: &mut DbdClient,
    cluster_name: &str,
    half_life_s: u64,
) -> Result<Vec<(String, String, f64)>, DbdCallError> {
    let reply = dbd.decayed_usage(cluster_name, half_life_s).await?;
    Ok(reply
        .assocs
        .into_iter()
        .filter(|a| !a.user.is_empty())
        .map(|a| (a.account, a.user, a.usage))
        .collect())
}

/// The connection to the dbd, opened when first needed and again after a failed call.
struct Connection {
    cluster: ClusterConfig,
    credentials: CredentialSource,
    client: Option<DbdClient>,
}

impl Connection {
    async fn client(&mut self) -> Result<&mut DbdClient, DbdCallError> {
        let client = match self.client.take() {
            Some(client) => client,
            None => DbdClient::connect(&self.cluster, self.credentials.clone()).await?,
        };
        Ok(self.client.insert(client))
    }

    /// Forgets the connection after `result` failed, so the next call reconnects.
    fn check<T>(&mut self, result: Result<T, DbdCallError>) -> Result<T, DbdCallError> {
        if result.is_err() {
            self.client = None;
        }
        result
    }
}

/// Follows accounting until the task is aborted.
pub async fn run(
    shared: Arc<Shared>,
    cluster: ClusterConfig,
    credentials: CredentialSource,
    follow: Follow,
) {
    let cluster_name = cluster.cluster_name.clone();
    let mut dbd = Connection {
        cluster,
        credentials,
        client: None,
    };
    let mut last: Option<MgrList> = None;
    let mut last_usage: Option<Vec<(String, String, f64)>> = None;
    let mut failing = false;
    loop {
        if let Some(half_life) = follow.fairshare_half_life_s {
            let usage = match dbd.client().await {
                Ok(client) => fetch_usage(client, &cluster_name, half_life).await,
                Err(e) => Err(e),
            };
            match dbd.check(usage) {
                Ok(usage) if last_usage.as_ref() != Some(&usage) => {
                    shared.core().set_recorded_usage(&usage);
                    last_usage = Some(usage);
                }
                Ok(_) => {}
                Err(e) => tracing::debug!("fairshare usage from accounting: {e}"),
            }
        }
        let Some(enforce) = follow.enforce else {
            tokio::time::sleep(REFRESH).await;
            continue;
        };
        let list = match dbd.client().await {
            Ok(client) => fetch(client).await,
            Err(e) => Err(e),
        };
        match dbd.check(list) {
            Ok(list) => {
                if failing {
                    tracing::info!("associations: accounting reachable again");
                    failing = false;
                }
                if last.as_ref() != Some(&list) {
                    let (assocs, qos) = associations_from(&list, enforce);
                    tracing::info!(
                        "associations: {} loaded from accounting ({} QOS)",
                        list.assocs.len(),
                        list.qos.len()
                    );
                    shared.core().set_accounting_policy(assocs, qos);
                    shared.wake.notify_one();
                    last = Some(list);
                }
            }
            Err(e) => {
                if !failing {
                    let state = if last.is_some() {
                        "keeping the last associations"
                    } else {
                        "not enforcing associations until it answers"
                    };
                    tracing::warn!("associations: accounting unreachable ({e}); {state}");
                    failing = true;
                }
            }
        }
        tokio::time::sleep(REFRESH).await;
    }
}
