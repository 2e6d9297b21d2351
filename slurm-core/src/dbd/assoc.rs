//! Clusters, accounts, users and associations: what `sacctmgr` adds, modifies, deletes and
//! shows. Every change is one transaction; a request with `commit: false` reports what it
//! would change and rolls back (sacctmgr asks before it commits).
//!
//! A cluster gets the associations `root` and `root`/`root` when it is registered (by
//! `sacctmgr add cluster`, or the first time the dbd hears from it); an account gets one
//! association per cluster, a user one per cluster and account.

use super::store::{Store, StoreError, get_i64, get_opt, get_text};
use crate::proto::{
    Account, AcctUser, Assoc, AssocLimits, ListChange, MgrEntity, MgrList, MgrOp, MgrQuery,
    MgrReply, MgrRequest,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap};

type Tx<'a> = Transaction<'a, Any>;

const ASSOC_COLUMNS: &str = "cluster, account, user_name, partition_name, shares, grp_tres, \
    grp_tres_run_mins, grp_jobs, grp_submit_jobs, max_jobs, max_submit_jobs, max_wall, \
    max_tres_per_job, qos, default_qos";

/// Slurm's admin levels.
pub const ADMIN_LEVELS: &[&str] = &["None", "Operator", "Administrator"];

fn opt_u32(row: &AnyRow, col: &str) -> Result<Option<u32>, StoreError> {
    Ok(get_opt(row, col)?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

fn decode_assoc(row: &AnyRow) -> Result<Assoc, StoreError> {
    Ok(Assoc {
        cluster: get_text(row, "cluster")?,
        account: get_text(row, "account")?,
        user: get_text(row, "user_name")?,
        partition: get_text(row, "partition_name")?,
        parent: String::new(),
        shares: u32::try_from(get_i64(row, "shares")?).unwrap_or(1),
        grp_tres: get_text(row, "grp_tres")?,
        grp_tres_run_mins: get_text(row, "grp_tres_run_mins")?,
        grp_jobs: opt_u32(row, "grp_jobs")?,
        grp_submit_jobs: opt_u32(row, "grp_submit_jobs")?,
        max_jobs: opt_u32(row, "max_jobs")?,
        max_submit_jobs: opt_u32(row, "max_submit_jobs")?,
        max_wall: opt_u32(row, "max_wall")?,
        max_tres_per_job: get_text(row, "max_tres_per_job")?,
        qos: get_text(row, "qos")?,
        default_qos: get_text(row, "default_qos")?,
    })
}

/// The order Slurm lists TRES in: cpu, mem, energy, node, billing, then the rest by name.
fn tres_rank(name: &str) -> (usize, String) {
    let fixed = ["cpu", "mem", "energy", "node", "billing"];
    match fixed.iter().position(|f| *f == name) {
        Some(i) => (i, String::new()),
        None => (fixed.len(), name.to_owned()),
    }
}

/// `old` with the entries of `change` set (`name=-1` removes one), in Slurm's order.
pub fn merge_tres(old: &str, change: &str) -> String {
    let mut map: BTreeMap<(usize, String), (String, String)> = BTreeMap::new();
    for (text, is_change) in [(old, false), (change, true)] {
        for entry in text.split(',').filter(|e| !e.is_empty()) {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            let name = name.trim().to_ascii_lowercase();
            let key = tres_rank(&name);
            if is_change && value.trim() == "-1" {
                map.remove(&key);
            } else {
                map.insert(key, (name, value.trim().to_owned()));
            }
        }
    }
    map.into_values()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn set_int(slot: &mut Option<u32>, v: Option<i64>) {
    if let Some(v) = v {
        *slot = u32::try_from(v).ok();
    }
}

/// Applies limits to an association.
pub fn apply_limits(a: &mut Assoc, l: &AssocLimits) {
    if let Some(s) = l.shares {
        a.shares = u32::try_from(s).unwrap_or(1);
    }
    if let Some(t) = &l.grp_tres {
        a.grp_tres = merge_tres(&a.grp_tres, t);
    }
    if let Some(t) = &l.grp_tres_run_mins {
        a.grp_tres_run_mins = merge_tres(&a.grp_tres_run_mins, t);
    }
    if let Some(t) = &l.max_tres_per_job {
        a.max_tres_per_job = merge_tres(&a.max_tres_per_job, t);
    }
    set_int(&mut a.grp_jobs, l.grp_jobs);
    set_int(&mut a.grp_submit_jobs, l.grp_submit_jobs);
    set_int(&mut a.max_jobs, l.max_jobs);
    set_int(&mut a.max_submit_jobs, l.max_submit_jobs);
    set_int(&mut a.max_wall, l.max_wall);
    if let Some(change) = &l.qos {
        a.qos = change.apply(&split_names(&a.qos)).join(",");
    }
    if let Some(d) = &l.default_qos {
        a.default_qos = d.clone();
    }
}

/// A comma-separated list of names.
pub fn split_names(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The QOS names a change refers to that do not exist, as Slurm's error says it.
fn bad_qos(l: &AssocLimits, known: &[String]) -> Option<String> {
    let mut names: Vec<&String> = match &l.qos {
        Some(ListChange::Set(n) | ListChange::Add(n)) => n.iter().collect(),
        _ => Vec::new(),
    };
    names.extend(l.default_qos.iter().filter(|d| !d.is_empty()));
    names
        .into_iter()
        .find(|n| !known.contains(n))
        .map(|n| format!(" Bad QosLevel value: {n}"))
}

async fn qos_names(tx: &mut Tx<'_>) -> Result<Vec<String>, StoreError> {
    Ok(super::qos::list(tx)
        .await?
        .into_iter()
        .map(|q| q.name)
        .collect())
}

fn opt_i64(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

async fn insert_assoc(
    tx: &mut Tx<'_>,
    key: (&str, &str, &str, &str),
    parent: &str,
    limits: &AssocLimits,
) -> Result<Assoc, StoreError> {
    let mut a = Assoc {
        cluster: key.0.to_owned(),
        account: key.1.to_owned(),
        user: key.2.to_owned(),
        partition: key.3.to_owned(),
        parent: parent.to_owned(),
        shares: 1,
        ..Assoc::default()
    };
    apply_limits(&mut a, limits);
    sqlx::query(&format!(
        "INSERT INTO assocs ({ASSOC_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(a.cluster.clone())
    .bind(a.account.clone())
    .bind(a.user.clone())
    .bind(a.partition.clone())
    .bind(i64::from(a.shares))
    .bind(a.grp_tres.clone())
    .bind(a.grp_tres_run_mins.clone())
    .bind(opt_i64(a.grp_jobs))
    .bind(opt_i64(a.grp_submit_jobs))
    .bind(opt_i64(a.max_jobs))
    .bind(opt_i64(a.max_submit_jobs))
    .bind(opt_i64(a.max_wall))
    .bind(a.max_tres_per_job.clone())
    .bind(a.qos.clone())
    .bind(a.default_qos.clone())
    .execute(&mut **tx)
    .await?;
    Ok(a)
}

/// `UPDATE table SET column = value WHERE name = name` (`table` and `column` are fixed
/// identifiers from this module, never user input).
async fn set_field(
    tx: &mut Tx<'_>,
    table: &'static str,
    column: &'static str,
    value: String,
    name: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!("UPDATE {table} SET {column} = ? WHERE name = ?"))
        .bind(value)
        .bind(name.to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn update_assoc(tx: &mut Tx<'_>, a: &Assoc) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE assocs SET shares = ?, grp_tres = ?, grp_tres_run_mins = ?, grp_jobs = ?, \
         grp_submit_jobs = ?, max_jobs = ?, max_submit_jobs = ?, max_wall = ?, \
         max_tres_per_job = ?, qos = ?, default_qos = ? \
         WHERE cluster = ? AND account = ? AND user_name = ? AND partition_name = ?",
    )
    .bind(i64::from(a.shares))
    .bind(a.grp_tres.clone())
    .bind(a.grp_tres_run_mins.clone())
    .bind(opt_i64(a.grp_jobs))
    .bind(opt_i64(a.grp_submit_jobs))
    .bind(opt_i64(a.max_jobs))
    .bind(opt_i64(a.max_submit_jobs))
    .bind(opt_i64(a.max_wall))
    .bind(a.max_tres_per_job.clone())
    .bind(a.qos.clone())
    .bind(a.default_qos.clone())
    .bind(a.cluster.clone())
    .bind(a.account.clone())
    .bind(a.user.clone())
    .bind(a.partition.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn all_assocs(tx: &mut Tx<'_>) -> Result<Vec<Assoc>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ASSOC_COLUMNS} FROM assocs ORDER BY cluster, account, user_name, partition_name"
    ))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(decode_assoc).collect()
}

async fn clusters(tx: &mut Tx<'_>) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT name FROM clusters ORDER BY name")
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|r| get_text(r, "name")).collect()
}

pub(super) async fn accounts(tx: &mut Tx<'_>) -> Result<Vec<Account>, StoreError> {
    let rows =
        sqlx::query("SELECT name, parent, description, organization FROM accounts ORDER BY name")
            .fetch_all(&mut **tx)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Account {
                name: get_text(r, "name")?,
                parent: get_text(r, "parent")?,
                description: get_text(r, "description")?,
                organization: get_text(r, "organization")?,
            })
        })
        .collect()
}

async fn users(tx: &mut Tx<'_>) -> Result<Vec<AcctUser>, StoreError> {
    let rows = sqlx::query("SELECT name, default_account, admin_level FROM users ORDER BY name")
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AcctUser {
                name: get_text(r, "name")?,
                default_account: get_text(r, "default_account")?,
                admin_level: get_text(r, "admin_level")?,
            })
        })
        .collect()
}

/// Registers a cluster (with its `root` associations) unless it is known; true if it was new.
pub(super) async fn ensure_cluster(
    tx: &mut Tx<'_>,
    name: &str,
    now: i64,
) -> Result<bool, StoreError> {
    if name.is_empty() {
        return Ok(false);
    }
    let known = sqlx::query("SELECT name FROM clusters WHERE name = ?")
        .bind(name.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_some() {
        return Ok(false);
    }
    sqlx::query("INSERT INTO clusters (name, created) VALUES (?, ?)")
        .bind(name.to_owned())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    super::qos::ensure_normal(tx).await?;
    let normal = AssocLimits {
        qos: Some(ListChange::Set(vec![super::qos::NORMAL.to_owned()])),
        ..AssocLimits::default()
    };
    insert_assoc(tx, (name, "root", "", ""), "", &normal).await?;
    insert_assoc(tx, (name, "root", "root", ""), "", &AssocLimits::default()).await?;
    Ok(true)
}

fn failed(error: String) -> MgrReply {
    MgrReply {
        error: Some(error),
        ..MgrReply::default()
    }
}

fn no_account(name: &str) -> String {
    format!(
        " This account '{name}' doesn't exist.\n        Contact your admin to add this account."
    )
}

fn bad_admin(level: &str) -> Option<String> {
    (!ADMIN_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)))
        .then(|| format!(" Unknown AdminLevel '{level}': use None, Operator or Administrator"))
}

fn admin_level(level: &str) -> String {
    ADMIN_LEVELS
        .iter()
        .find(|l| l.eq_ignore_ascii_case(level))
        .map_or_else(|| "None".to_owned(), |l| (*l).to_owned())
}

/// Associations in Slurm's tree order: per cluster, an account's own association, its users'
/// (by name and partition), then its sub-accounts (by name); parents filled in.
pub fn tree_order(assocs: Vec<Assoc>, accounts: &[Account]) -> Vec<Assoc> {
    let parent_of: BTreeMap<&str, &str> = accounts
        .iter()
        .map(|a| (a.name.as_str(), a.parent.as_str()))
        .collect();
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in accounts {
        if !a.parent.is_empty() {
            children.entry(a.parent.as_str()).or_default().push(&a.name);
        }
    }
    let mut by_cluster: BTreeMap<String, BTreeMap<String, Vec<Assoc>>> = BTreeMap::new();
    for mut a in assocs {
        if a.user.is_empty() {
            a.parent = parent_of
                .get(a.account.as_str())
                .copied()
                .unwrap_or("")
                .to_owned();
        }
        by_cluster
            .entry(a.cluster.clone())
            .or_default()
            .entry(a.account.clone())
            .or_default()
            .push(a);
    }
    let mut out = Vec::new();
    for (_, mut per_account) in by_cluster {
        fn visit(
            account: &str,
            children: &BTreeMap<&str, Vec<&str>>,
            per_account: &mut BTreeMap<String, Vec<Assoc>>,
            out: &mut Vec<Assoc>,
        ) {
            if let Some(mut list) = per_account.remove(account) {
                list.sort_by(|a, b| {
                    (!a.user.is_empty(), &a.user, &a.partition).cmp(&(
                        !b.user.is_empty(),
                        &b.user,
                        &b.partition,
                    ))
                });
                out.extend(list);
            }
            for child in children.get(account).into_iter().flatten() {
                visit(child, children, per_account, out);
            }
        }
        visit("root", &children, &mut per_account, &mut out);
        // Anything not under root (should not happen) comes last, by name.
        let rest: Vec<String> = per_account.keys().cloned().collect();
        for account in rest {
            visit(&account, &children, &mut per_account, &mut out);
        }
    }
    out
}

/// Associations (in [`tree_order`]) with their effective QOS list and default QOS: an
/// association without its own inherits its parent's (a user's from its account's, an
/// account's from its parent account's).
pub fn with_inherited_qos(mut assocs: Vec<Assoc>) -> Vec<Assoc> {
    let mut by_account: HashMap<(String, String), (String, String)> = HashMap::new();
    for a in &mut assocs {
        let from = if a.user.is_empty() && a.partition.is_empty() {
            a.parent.clone()
        } else {
            a.account.clone()
        };
        if let Some((qos, def)) = by_account.get(&(a.cluster.clone(), from)) {
            if a.qos.is_empty() {
                a.qos.clone_from(qos);
            }
            if a.default_qos.is_empty() {
                a.default_qos.clone_from(def);
            }
        }
        if a.user.is_empty() && a.partition.is_empty() {
            by_account.insert(
                (a.cluster.clone(), a.account.clone()),
                (a.qos.clone(), a.default_qos.clone()),
            );
        }
    }
    assocs
}

/// The account and every account under it.
fn with_descendants(names: &[String], accounts: &[Account]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = names.iter().cloned().collect();
    loop {
        let before = out.len();
        for a in accounts {
            if out.contains(&a.parent) {
                out.insert(a.name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

impl Store {
    /// Applies one `sacctmgr` change in one transaction (rolled back unless `commit`).
    pub async fn manage(&self, req: &MgrRequest, now: i64) -> Result<MgrReply, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !matches!(req.op, MgrOp::AddClusters { .. }) {
            ensure_cluster(&mut tx, &req.cluster, now).await?;
        }
        let reply = apply(&mut tx, &req.op, now).await?;
        if req.commit && reply.error.is_none() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(reply)
    }

    /// What `sacctmgr show` lists.
    pub async fn show(&self, q: &MgrQuery) -> Result<MgrList, StoreError> {
        let mut tx = self.pool.begin().await?;
        let named = |n: &str| q.names.is_empty() || q.names.iter().any(|x| x == n);
        let mut list = MgrList::default();
        match q.entity {
            MgrEntity::Clusters => {
                list.clusters = clusters(&mut tx).await?;
                list.clusters.retain(|c| named(c));
            }
            MgrEntity::Accounts => {
                list.accounts = accounts(&mut tx).await?;
                list.accounts.retain(|a| named(&a.name));
                if q.with_assocs {
                    let accts = accounts(&mut tx).await?;
                    list.assocs =
                        with_inherited_qos(tree_order(all_assocs(&mut tx).await?, &accts));
                    list.assocs.retain(|a| named(&a.account));
                }
            }
            MgrEntity::Users => {
                list.users = users(&mut tx).await?;
                list.users.retain(|u| named(&u.name));
                if q.with_assocs {
                    let accts = accounts(&mut tx).await?;
                    list.assocs =
                        with_inherited_qos(tree_order(all_assocs(&mut tx).await?, &accts));
                    list.assocs.retain(|a| !a.user.is_empty() && named(&a.user));
                }
            }
            MgrEntity::Assocs => {
                let accts = accounts(&mut tx).await?;
                let wanted: BTreeSet<String> = if q.with_subaccounts {
                    with_descendants(&q.accounts, &accts)
                } else {
                    q.accounts.iter().cloned().collect()
                };
                let assocs = with_inherited_qos(tree_order(all_assocs(&mut tx).await?, &accts));
                list.assocs = assocs
                    .into_iter()
                    .filter(|a| {
                        (q.users.is_empty() || q.users.contains(&a.user))
                            && (wanted.is_empty() || wanted.contains(&a.account))
                            && (q.partitions.is_empty() || q.partitions.contains(&a.partition))
                    })
                    .collect();
            }
            MgrEntity::Qos => {
                list.qos = super::qos::list(&mut tx).await?;
                list.qos.retain(|x| named(&x.name));
            }
        }
        tx.rollback().await?;
        Ok(list)
    }
}

async fn apply(tx: &mut Tx<'_>, op: &MgrOp, now: i64) -> Result<MgrReply, StoreError> {
    let mut reply = MgrReply::default();
    match op {
        MgrOp::AddClusters { names } => {
            for name in names {
                if ensure_cluster(tx, name, now).await? {
                    reply.objects.push(name.clone());
                }
            }
        }
        MgrOp::AddAccounts {
            names,
            description,
            organization,
            parent,
            limits,
        } => {
            let parent = parent.as_deref().unwrap_or("root");
            let known = accounts(tx).await?;
            if !known.iter().any(|a| a.name == parent) {
                return Ok(failed(format!(" Parent account '{parent}' doesn't exist.")));
            }
            let cls = clusters(tx).await?;
            for name in names {
                if known.iter().any(|a| &a.name == name) {
                    continue;
                }
                let org = organization.clone().unwrap_or_else(|| {
                    if parent == "root" {
                        name.clone()
                    } else {
                        parent.to_owned()
                    }
                });
                sqlx::query(
                    "INSERT INTO accounts (name, parent, description, organization) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(name.clone())
                .bind(parent.to_owned())
                .bind(description.clone().unwrap_or_else(|| name.clone()))
                .bind(org)
                .execute(&mut **tx)
                .await?;
                reply.objects.push(name.clone());
                for c in &cls {
                    reply
                        .assocs
                        .push(insert_assoc(tx, (c, name, "", ""), parent, limits).await?);
                }
            }
        }
        MgrOp::AddUsers {
            names,
            accounts: accts,
            default_account,
            admin_level: level,
            limits,
            partitions,
        } => {
            let mut accts = accts.clone();
            if accts.is_empty()
                && let Some(d) = default_account
            {
                accts.push(d.clone());
            }
            if accts.is_empty() {
                return Ok(failed(" Need name of account to add user to.".to_owned()));
            }
            if let Some(e) = level.as_deref().and_then(bad_admin) {
                return Ok(failed(e));
            }
            let known = accounts(tx).await?;
            for a in accts.iter().chain(default_account.iter()) {
                if !known.iter().any(|k| &k.name == a) {
                    return Ok(failed(no_account(a)));
                }
            }
            if let Some(e) = bad_qos(limits, &qos_names(tx).await?) {
                return Ok(failed(e));
            }
            let parts: Vec<String> = if partitions.is_empty() {
                vec![String::new()]
            } else {
                partitions.clone()
            };
            let known_users = users(tx).await?;
            let existing = all_assocs(tx).await?;
            let cls = clusters(tx).await?;
            for name in names {
                if !known_users.iter().any(|u| &u.name == name) {
                    sqlx::query(
                        "INSERT INTO users (name, default_account, admin_level) VALUES (?, ?, ?)",
                    )
                    .bind(name.clone())
                    .bind(default_account.clone().unwrap_or_else(|| accts[0].clone()))
                    .bind(admin_level(level.as_deref().unwrap_or("None")))
                    .execute(&mut **tx)
                    .await?;
                    reply.objects.push(name.clone());
                }
                for a in &accts {
                    for c in &cls {
                        for p in &parts {
                            let present = existing.iter().any(|e| {
                                &e.cluster == c
                                    && &e.account == a
                                    && &e.user == name
                                    && &e.partition == p
                            });
                            if !present {
                                reply
                                    .assocs
                                    .push(insert_assoc(tx, (c, a, name, p), "", limits).await?);
                            }
                        }
                    }
                }
            }
        }
        MgrOp::ModifyAccounts {
            names,
            description,
            organization,
            limits,
        } => {
            let known = accounts(tx).await?;
            for name in names {
                if !known.iter().any(|a| &a.name == name) {
                    continue;
                }
                if description.is_some() || organization.is_some() {
                    if let Some(d) = description {
                        set_field(tx, "accounts", "description", d.clone(), name).await?;
                    }
                    if let Some(o) = organization {
                        set_field(tx, "accounts", "organization", o.clone(), name).await?;
                    }
                    reply.objects.push(name.clone());
                }
            }
            if !limits.is_empty() {
                if let Some(e) = bad_qos(limits, &qos_names(tx).await?) {
                    return Ok(failed(e));
                }
                let chosen = |a: &Assoc| a.user.is_empty() && names.contains(&a.account);
                if let Err(e) = modify_assocs(tx, limits, chosen, &mut reply).await? {
                    return Ok(failed(e));
                }
            }
        }
        MgrOp::ModifyUsers {
            names,
            accounts: only,
            default_account,
            admin_level: level,
            limits,
            partitions,
        } => {
            if let Some(e) = level.as_deref().and_then(bad_admin) {
                return Ok(failed(e));
            }
            if let Some(d) = default_account
                && !accounts(tx).await?.iter().any(|a| &a.name == d)
            {
                return Ok(failed(no_account(d)));
            }
            let known = users(tx).await?;
            for name in names {
                if !known.iter().any(|u| &u.name == name) {
                    continue;
                }
                if default_account.is_some() || level.is_some() {
                    if let Some(d) = default_account {
                        set_field(tx, "users", "default_account", d.clone(), name).await?;
                    }
                    if let Some(l) = level {
                        set_field(tx, "users", "admin_level", admin_level(l), name).await?;
                    }
                    reply.objects.push(name.clone());
                }
            }
            if !limits.is_empty() {
                if let Some(e) = bad_qos(limits, &qos_names(tx).await?) {
                    return Ok(failed(e));
                }
                let chosen = |a: &Assoc| {
                    names.contains(&a.user)
                        && (only.is_empty() || only.contains(&a.account))
                        && (partitions.is_empty() || partitions.contains(&a.partition))
                };
                if let Err(e) = modify_assocs(tx, limits, chosen, &mut reply).await? {
                    return Ok(failed(e));
                }
            }
        }
        MgrOp::DeleteAccounts { names } => {
            let known = accounts(tx).await?;
            for name in names {
                if !known.iter().any(|a| &a.name == name) {
                    continue;
                }
                if name == "root" {
                    return Ok(failed(" Can't delete the root account.".to_owned()));
                }
                if let Some(child) = known.iter().find(|a| &a.parent == name) {
                    return Ok(failed(format!(
                        " Can't delete account '{name}': it is the parent of '{}'.",
                        child.name
                    )));
                }
                sqlx::query("DELETE FROM assocs WHERE account = ?")
                    .bind(name.clone())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM accounts WHERE name = ?")
                    .bind(name.clone())
                    .execute(&mut **tx)
                    .await?;
                reply.objects.push(name.clone());
            }
        }
        MgrOp::DeleteUsers { names } => {
            let known = users(tx).await?;
            for name in names {
                if !known.iter().any(|u| &u.name == name) {
                    continue;
                }
                sqlx::query("DELETE FROM assocs WHERE user_name = ?")
                    .bind(name.clone())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM users WHERE name = ?")
                    .bind(name.clone())
                    .execute(&mut **tx)
                    .await?;
                reply.objects.push(name.clone());
            }
        }
        MgrOp::AddQos { .. } | MgrOp::ModifyQos { .. } | MgrOp::DeleteQos { .. } => {
            return super::qos::apply(tx, op).await;
        }
    }
    Ok(reply)
}

/// Applies limits to the associations `chosen` picks. A relative QOS change (`QOS+=`,
/// `QOS-=`) of an association that inherits its list starts from the inherited one; a
/// default QOS must be in the association's (effective) list. `Err` says why nothing was
/// changed.
async fn modify_assocs(
    tx: &mut Tx<'_>,
    limits: &AssocLimits,
    chosen: impl Fn(&Assoc) -> bool,
    reply: &mut MgrReply,
) -> Result<Result<(), String>, StoreError> {
    let accts = accounts(tx).await?;
    let stored_list = all_assocs(tx).await?;
    let mut stored_by_key: HashMap<(String, String, String, String), Assoc> = stored_list
        .iter()
        .map(|s| {
            (
                (
                    s.cluster.clone(),
                    s.account.clone(),
                    s.user.clone(),
                    s.partition.clone(),
                ),
                s.clone(),
            )
        })
        .collect();
    for a in with_inherited_qos(tree_order(stored_list, &accts)) {
        if !chosen(&a) {
            continue;
        }
        let key = (
            a.cluster.clone(),
            a.account.clone(),
            a.user.clone(),
            a.partition.clone(),
        );
        let mut stored = stored_by_key.remove(&key).unwrap_or_else(|| a.clone());
        stored.parent.clone_from(&a.parent);
        if matches!(limits.qos, Some(ListChange::Add(_) | ListChange::Remove(_)))
            && stored.qos.is_empty()
        {
            stored.qos.clone_from(&a.qos);
        }
        apply_limits(&mut stored, limits);
        let effective = if stored.qos.is_empty() {
            &a.qos
        } else {
            &stored.qos
        };
        if let Some(d) = limits.default_qos.as_deref().filter(|d| !d.is_empty())
            && !split_names(effective).iter().any(|q| q == d)
        {
            return Ok(Err(format!(
                " Default QOS {d} is not in the QOS list of {}{}{} ({effective})",
                a.account,
                if a.user.is_empty() { "" } else { "/" },
                a.user
            )));
        }
        update_assoc(tx, &stored).await?;
        reply.assocs.push(stored);
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tres_merge_in_slurm_order() {
        assert_eq!(merge_tres("", "gres/gpu=2"), "gres/gpu=2");
        assert_eq!(merge_tres("gres/gpu=2", "cpu=4"), "cpu=4,gres/gpu=2");
        assert_eq!(merge_tres("cpu=4,gres/gpu=2", "gres/gpu=-1"), "cpu=4");
        assert_eq!(merge_tres("cpu=4", "cpu=8,node=1"), "cpu=8,node=1");
    }
}
