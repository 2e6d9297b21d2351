//! Quality of service (migration 0004): `sacctmgr add/modify/delete/show qos`.
//!
//! A QOS has a priority, preemption settings (GraceTime, PreemptMode, the QOS it may
//! preempt), a UsageFactor and limits (per job, per user, for the whole QOS). `normal` is
//! created by the migration (and again with a cluster if it was deleted); every cluster's
//! root association allows it, and associations inherit their parent's QOS list until
//! they get their own.

use super::assoc::merge_tres;
use super::store::{StoreError, get_i64, get_opt, get_text};
use crate::proto::{ListChange, MgrOp, MgrReply, Qos, QosSettings};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

type Tx<'a> = Transaction<'a, Any>;

/// The QOS every cluster allows by default.
pub const NORMAL: &str = "normal";

/// Slurm's QOS flags (`sacctmgr modify qos ... set Flags=`), as it spells them.
pub const FLAGS: &[&str] = &[
    "DenyOnLimit",
    "EnforceUsageThreshold",
    "NoDecay",
    "NoReserve",
    "OverPartQOS",
    "PartitionMaxNodes",
    "PartitionMinNodes",
    "PartitionTimeLimit",
    "RequiresReservation",
    "UsageFactorSafe",
];

/// Slurm's preemption modes, lower case as `sacctmgr show qos` prints them.
pub const PREEMPT_MODES: &[&str] = &["cluster", "off", "cancel", "requeue", "suspend"];

const QOS_COLUMNS: &str = "name, description, priority, flags, grace_time, preempt_mode, \
    preempt, usage_factor, max_tres_per_job, max_tres_per_user, max_wall, max_jobs_per_user, \
    max_submit_jobs_per_user, grp_tres, grp_jobs";

fn opt_u32(row: &AnyRow, col: &str) -> Result<Option<u32>, StoreError> {
    Ok(get_opt(row, col)?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn decode(row: &AnyRow) -> Result<Qos, StoreError> {
    Ok(Qos {
        name: get_text(row, "name")?,
        description: get_text(row, "description")?,
        priority: u32::try_from(get_i64(row, "priority")?).unwrap_or(0),
        flags: get_text(row, "flags")?,
        grace_time: u32::try_from(get_i64(row, "grace_time")?).unwrap_or(0),
        preempt_mode: get_text(row, "preempt_mode")?,
        preempt: split(&get_text(row, "preempt")?),
        usage_factor_micros: u64::try_from(get_i64(row, "usage_factor")?).unwrap_or(0),
        max_tres_per_job: get_text(row, "max_tres_per_job")?,
        max_tres_per_user: get_text(row, "max_tres_per_user")?,
        max_wall: opt_u32(row, "max_wall")?,
        max_jobs_per_user: opt_u32(row, "max_jobs_per_user")?,
        max_submit_jobs_per_user: opt_u32(row, "max_submit_jobs_per_user")?,
        grp_tres: get_text(row, "grp_tres")?,
        grp_jobs: opt_u32(row, "grp_jobs")?,
    })
}

/// Every QOS, in the order they were added.
pub async fn list(tx: &mut Tx<'_>) -> Result<Vec<Qos>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {QOS_COLUMNS} FROM qos ORDER BY id"))
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(decode).collect()
}

/// A new QOS with Slurm's defaults.
pub fn new_qos(name: &str) -> Qos {
    Qos {
        name: name.to_owned(),
        description: name.to_owned(),
        preempt_mode: "cluster".to_owned(),
        usage_factor_micros: 1_000_000,
        ..Qos::default()
    }
}

fn set_limit(slot: &mut Option<u32>, v: Option<i64>) {
    if let Some(v) = v {
        *slot = u32::try_from(v).ok();
    }
}

/// `flags` changed as `change` says, each flag spelled as Slurm spells it.
fn change_flags(flags: &str, change: &ListChange) -> String {
    change.apply(&split(flags)).join(",")
}

/// Applies settings to a QOS.
pub fn apply_settings(q: &mut Qos, s: &QosSettings) {
    if let Some(d) = &s.description {
        q.description = d.clone();
    }
    if let Some(p) = s.priority {
        q.priority = u32::try_from(p).unwrap_or(0);
    }
    if let Some(f) = &s.flags {
        q.flags = change_flags(&q.flags, f);
    }
    if let Some(g) = s.grace_time {
        q.grace_time = u32::try_from(g).unwrap_or(0);
    }
    if let Some(m) = &s.preempt_mode {
        q.preempt_mode = m.clone();
    }
    if let Some(p) = &s.preempt {
        q.preempt = p.apply(&q.preempt);
    }
    if let Some(u) = s.usage_factor_micros {
        q.usage_factor_micros = u64::try_from(u).unwrap_or(1_000_000);
    }
    if let Some(t) = &s.max_tres_per_job {
        q.max_tres_per_job = merge_tres(&q.max_tres_per_job, t);
    }
    if let Some(t) = &s.max_tres_per_user {
        q.max_tres_per_user = merge_tres(&q.max_tres_per_user, t);
    }
    if let Some(t) = &s.grp_tres {
        q.grp_tres = merge_tres(&q.grp_tres, t);
    }
    set_limit(&mut q.max_wall, s.max_wall);
    set_limit(&mut q.max_jobs_per_user, s.max_jobs_per_user);
    set_limit(&mut q.max_submit_jobs_per_user, s.max_submit_jobs_per_user);
    set_limit(&mut q.grp_jobs, s.grp_jobs);
}

fn opt_i64(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

async fn insert(tx: &mut Tx<'_>, q: &Qos) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO qos ({QOS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(q.name.clone())
    .bind(q.description.clone())
    .bind(i64::from(q.priority))
    .bind(q.flags.clone())
    .bind(i64::from(q.grace_time))
    .bind(q.preempt_mode.clone())
    .bind(q.preempt.join(","))
    .bind(i64::try_from(q.usage_factor_micros).unwrap_or(i64::MAX))
    .bind(q.max_tres_per_job.clone())
    .bind(q.max_tres_per_user.clone())
    .bind(opt_i64(q.max_wall))
    .bind(opt_i64(q.max_jobs_per_user))
    .bind(opt_i64(q.max_submit_jobs_per_user))
    .bind(q.grp_tres.clone())
    .bind(opt_i64(q.grp_jobs))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn update(tx: &mut Tx<'_>, q: &Qos) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE qos SET description = ?, priority = ?, flags = ?, grace_time = ?, \
         preempt_mode = ?, preempt = ?, usage_factor = ?, max_tres_per_job = ?, \
         max_tres_per_user = ?, max_wall = ?, max_jobs_per_user = ?, \
         max_submit_jobs_per_user = ?, grp_tres = ?, grp_jobs = ? WHERE name = ?",
    )
    .bind(q.description.clone())
    .bind(i64::from(q.priority))
    .bind(q.flags.clone())
    .bind(i64::from(q.grace_time))
    .bind(q.preempt_mode.clone())
    .bind(q.preempt.join(","))
    .bind(i64::try_from(q.usage_factor_micros).unwrap_or(i64::MAX))
    .bind(q.max_tres_per_job.clone())
    .bind(q.max_tres_per_user.clone())
    .bind(opt_i64(q.max_wall))
    .bind(opt_i64(q.max_jobs_per_user))
    .bind(opt_i64(q.max_submit_jobs_per_user))
    .bind(q.grp_tres.clone())
    .bind(opt_i64(q.grp_jobs))
    .bind(q.name.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates `normal` if it is missing.
pub async fn ensure_normal(tx: &mut Tx<'_>) -> Result<(), StoreError> {
    let found = sqlx::query("SELECT name FROM qos WHERE name = ?")
        .bind(NORMAL)
        .fetch_optional(&mut **tx)
        .await?;
    if found.is_none() {
        let mut q = new_qos(NORMAL);
        q.description = "Normal QOS default".to_owned();
        insert(tx, &q).await?;
    }
    Ok(())
}

fn failed(error: String) -> MgrReply {
    MgrReply {
        error: Some(error),
        ..MgrReply::default()
    }
}

/// Checks the QOS names a setting refers to (Preempt=); `None` when they all exist.
fn unknown_preempt(s: &QosSettings, known: &[Qos], also: &[String]) -> Option<String> {
    let names = match &s.preempt {
        Some(ListChange::Set(n) | ListChange::Add(n)) => n,
        _ => return None,
    };
    names
        .iter()
        .find(|n| !known.iter().any(|q| &q.name == *n) && !also.contains(n))
        .map(|n| format!(" Bad Preempt value: {n}"))
}

/// Applies a QOS change (the caller commits or rolls back).
pub async fn apply(tx: &mut Tx<'_>, op: &MgrOp) -> Result<MgrReply, StoreError> {
    let mut reply = MgrReply::default();
    let known = list(tx).await?;
    match op {
        MgrOp::AddQos { names, settings } => {
            if let Some(e) = unknown_preempt(settings, &known, names) {
                return Ok(failed(e));
            }
            for name in names {
                if known.iter().any(|q| &q.name == name) {
                    continue;
                }
                let mut q = new_qos(name);
                apply_settings(&mut q, settings);
                q.preempt.retain(|p| p != name);
                insert(tx, &q).await?;
                reply.objects.push(name.clone());
            }
        }
        MgrOp::ModifyQos { names, settings } => {
            if let Some(e) = unknown_preempt(settings, &known, &[]) {
                return Ok(failed(e));
            }
            for mut q in known.iter().filter(|q| names.contains(&q.name)).cloned() {
                apply_settings(&mut q, settings);
                q.preempt.retain(|p| p != &q.name);
                update(tx, &q).await?;
                reply.objects.push(q.name.clone());
            }
        }
        MgrOp::DeleteQos { names } => {
            let doomed: Vec<&Qos> = known.iter().filter(|q| names.contains(&q.name)).collect();
            if doomed.is_empty() {
                return Ok(reply);
            }
            // Slurm refuses to delete a QOS that is some association's default.
            let mut defaults = Vec::new();
            for q in &doomed {
                let rows = sqlx::query(
                    "SELECT cluster, account, user_name, partition_name FROM assocs \
                     WHERE default_qos = ? ORDER BY cluster, account, user_name, partition_name",
                )
                .bind(q.name.clone())
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let (c, a, u, p) = (
                        get_text(r, "cluster")?,
                        get_text(r, "account")?,
                        get_text(r, "user_name")?,
                        get_text(r, "partition_name")?,
                    );
                    let mut line = format!("  DefQOS = {:<10} C = {c:<10} A = {a:<20}", q.name);
                    if !u.is_empty() {
                        line.push_str(&format!(" U = {u:<9}"));
                        if !p.is_empty() {
                            line.push_str(&format!(" P = {p}"));
                        }
                    }
                    defaults.push(line);
                }
            }
            if !defaults.is_empty() {
                let mut text =
                    " Associations listed below have these as their Default QOS.\n".to_owned();
                for l in defaults {
                    text.push_str(&l);
                    text.push('\n');
                }
                text.push_str(
                    " Please either remove the qos' listed above from list and resubmit,\n \
                     or change the default qos to remove the qos.\n Changes Discarded",
                );
                return Ok(failed(text));
            }
            let gone: Vec<String> = doomed.iter().map(|q| q.name.clone()).collect();
            for name in &gone {
                sqlx::query("DELETE FROM qos WHERE name = ?")
                    .bind(name.clone())
                    .execute(&mut **tx)
                    .await?;
                reply.objects.push(name.clone());
            }
            // No QOS or association refers to them any more.
            let remove = ListChange::Remove(gone.clone());
            for mut q in known.into_iter().filter(|q| !gone.contains(&q.name)) {
                let before = q.preempt.clone();
                q.preempt = remove.apply(&q.preempt);
                if q.preempt != before {
                    update(tx, &q).await?;
                }
            }
            let rows = sqlx::query("SELECT id, qos FROM assocs WHERE qos <> ?")
                .bind("")
                .fetch_all(&mut **tx)
                .await?;
            for r in &rows {
                let old = split(&get_text(r, "qos")?);
                let new = remove.apply(&old);
                if new != old {
                    sqlx::query("UPDATE assocs SET qos = ? WHERE id = ?")
                        .bind(new.join(","))
                        .bind(get_i64(r, "id")?)
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
        _ => {}
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_like_sacctmgr() {
        let mut q = new_qos("high");
        assert_eq!(q.usage_factor_micros, 1_000_000);
        let s = QosSettings {
            priority: Some(100),
            flags: Some(ListChange::Set(vec!["DenyOnLimit".into()])),
            preempt: Some(ListChange::Set(vec!["normal".into(), "low".into()])),
            max_tres_per_user: Some("gres/gpu=4".into()),
            max_wall: Some(120),
            grp_jobs: Some(10),
            ..QosSettings::default()
        };
        apply_settings(&mut q, &s);
        assert_eq!(q.priority, 100);
        assert_eq!(q.preempt, ["normal", "low"]);
        assert_eq!(q.max_tres_per_user, "gres/gpu=4");
        let more = QosSettings {
            flags: Some(ListChange::Add(vec!["NoDecay".into()])),
            preempt: Some(ListChange::Remove(vec!["normal".into()])),
            max_tres_per_user: Some("cpu=8".into()),
            grp_jobs: Some(-1),
            ..QosSettings::default()
        };
        apply_settings(&mut q, &more);
        assert_eq!(q.flags, "DenyOnLimit,NoDecay");
        assert_eq!(q.preempt, ["low"]);
        assert_eq!(q.max_tres_per_user, "cpu=8,gres/gpu=4");
        assert_eq!((q.grp_jobs, q.max_wall), (None, Some(120)));
    }
}
