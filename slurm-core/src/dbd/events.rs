//! Node events (migration 0006): a node DOWN or DRAINED is one row of `node_events` from
//! the time the controller recorded the change until the node is back, as Slurm's event
//! table keeps them (`sacctmgr show event`), and the TRES time they take away from a cluster
//! is sreport's Down.
//!
//! The controller sends a node's state each time it changes ([`AcctNodeState`]): a DOWN or
//! DRAIN state opens an event (closing an open one of another kind or reason), an up state
//! closes the open one. A state that repeats the open event (a controller restart sends
//! every node's state again) changes nothing.

use super::store::{Store, StoreError, get_i64, get_opt, get_text};
use super::usage::tres_counts;
use crate::model::Timestamp;
use crate::proto::{AcctNodeState, EventQuery, NodeDown, NodeEvent};
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;

type Tx<'a> = Transaction<'a, Any>;

/// What makes two states the same event: `DOWN` and `DOWN*` are both down, `DRAIN` and
/// `DRNG` both drained (a draining node whose jobs end is still the same drain).
fn kind(state: &str) -> &str {
    let s = state.trim_end_matches(['*', '~', '#', '%', '!']);
    match s.to_ascii_uppercase().as_str() {
        "DRNG" | "DRAINING" | "DRAINED" | "DRAIN" => "DRAIN",
        _ if s.eq_ignore_ascii_case("down") => "DOWN",
        _ => s,
    }
}

/// Applies one node state change in the batch's transaction.
pub(super) async fn apply_node(
    tx: &mut Tx<'_>,
    cluster: &str,
    ev: &AcctNodeState,
) -> Result<(), StoreError> {
    let open = sqlx::query(
        "SELECT id, time_start, state, reason FROM node_events \
         WHERE cluster = ? AND node_name = ? AND time_end IS NULL",
    )
    .bind(cluster.to_owned())
    .bind(ev.node.clone())
    .fetch_all(&mut **tx)
    .await?;
    if let Some(down) = &ev.down {
        for row in &open {
            if kind(&get_text(row, "state")?).eq_ignore_ascii_case(kind(&down.state))
                && get_text(row, "reason")? == down.reason
            {
                return Ok(());
            }
        }
    }
    for row in &open {
        // An event closed in the second it opened still happened (a drain undone at once).
        let start = get_i64(row, "time_start")?;
        sqlx::query("UPDATE node_events SET time_end = ? WHERE id = ?")
            .bind(ev.time.max(start))
            .bind(get_i64(row, "id")?)
            .execute(&mut **tx)
            .await?;
    }
    let Some(down) = &ev.down else {
        return Ok(());
    };
    // The same change recorded again (a spool replayed under a new epoch) is not doubled:
    // an event of this kind and reason that started then, or was going on then.
    let around = sqlx::query(
        "SELECT time_start, time_end, state, reason FROM node_events \
         WHERE cluster = ? AND node_name = ? AND time_start <= ? AND time_end >= ?",
    )
    .bind(cluster.to_owned())
    .bind(ev.node.clone())
    .bind(ev.time)
    .bind(ev.time)
    .fetch_all(&mut **tx)
    .await?;
    for row in &around {
        let (start, end) = (get_i64(row, "time_start")?, get_i64(row, "time_end")?);
        let same = kind(&get_text(row, "state")?).eq_ignore_ascii_case(kind(&down.state))
            && get_text(row, "reason")? == down.reason;
        if same && (start == ev.time || end > ev.time) {
            return Ok(());
        }
    }
    sqlx::query(
        "INSERT INTO node_events (cluster, node_name, time_start, time_end, state, reason, \
         reason_uid, user_name, tres) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?)",
    )
    .bind(cluster.to_owned())
    .bind(ev.node.clone())
    .bind(ev.time)
    .bind(down.state.clone())
    .bind(down.reason.clone())
    .bind(i64::from(down.uid))
    .bind(down.user.clone())
    .bind(down.tres.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn decode(row: &sqlx::any::AnyRow) -> Result<NodeEvent, StoreError> {
    Ok(NodeEvent {
        cluster: get_text(row, "cluster")?,
        node: get_text(row, "node_name")?,
        start: get_i64(row, "time_start")?,
        end: get_opt(row, "time_end")?,
        down: NodeDown {
            state: get_text(row, "state")?,
            reason: get_text(row, "reason")?,
            uid: u32::try_from(get_i64(row, "reason_uid")?).unwrap_or(u32::MAX),
            user: get_text(row, "user_name")?,
            tres: get_text(row, "tres")?,
        },
    })
}

/// Does `state` match one of the `States=` asked for (`DOWN` matches `DOWN*`, `DRAIN`
/// matches `DRNG`)?
fn state_matches(state: &str, wanted: &[String]) -> bool {
    wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case(state) || kind(w).eq_ignore_ascii_case(kind(state)))
}

impl Store {
    /// Node events that overlap the query's window, by cluster, start and node.
    pub async fn query_events(&self, q: &EventQuery) -> Result<Vec<NodeEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT cluster, node_name, time_start, time_end, state, reason, reason_uid, \
             user_name, tres FROM node_events WHERE 1 = 1",
        );
        if !q.clusters.is_empty() {
            sql.push_str(&format!(
                " AND cluster IN ({})",
                vec!["?"; q.clusters.len()].join(", ")
            ));
        }
        if !q.nodes.is_empty() {
            sql.push_str(&format!(
                " AND node_name IN ({})",
                vec!["?"; q.nodes.len()].join(", ")
            ));
        }
        if q.end.is_some() {
            sql.push_str(" AND time_start < ?");
        }
        if q.open_only {
            sql.push_str(" AND time_end IS NULL");
        } else if q.start.is_some() {
            sql.push_str(" AND (time_end IS NULL OR time_end > ?)");
        }
        sql.push_str(" ORDER BY cluster, time_start, node_name, id");
        let mut query = sqlx::query(&sql);
        for c in &q.clusters {
            query = query.bind(c.clone());
        }
        for n in &q.nodes {
            query = query.bind(n.clone());
        }
        if let Some(end) = q.end {
            query = query.bind(end);
        }
        if let (false, Some(start)) = (q.open_only, q.start) {
            query = query.bind(start);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let e = decode(row)?;
            if state_matches(&e.down.state, &q.states)
                && (q.reasons.is_empty() || q.reasons.contains(&e.down.reason))
                && (q.users.is_empty() || q.users.contains(&e.down.user))
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// TRES-seconds of `[start, end)` that a cluster's nodes spent down or drained (open
    /// events count up to `now`), per TRES.
    pub(super) async fn down_seconds(
        &self,
        cluster: &str,
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let rows = sqlx::query(
            "SELECT time_start, time_end, tres FROM node_events WHERE cluster = ? \
             AND time_start < ? AND (time_end IS NULL OR time_end > ?)",
        )
        .bind(cluster.to_owned())
        .bind(end)
        .bind(start)
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for row in &rows {
            let from = get_i64(row, "time_start")?.max(start);
            let to = get_opt(row, "time_end")?
                .unwrap_or_else(|| now.max(from))
                .min(end);
            let secs = u64::try_from(to - from).unwrap_or(0);
            if secs == 0 {
                continue;
            }
            for (name, count) in tres_counts(&get_text(row, "tres")?) {
                let e = out.entry(name).or_insert(0);
                *e = e.saturating_add(count.saturating_mul(secs));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_state_filters() {
        assert_eq!(kind("DOWN*"), "DOWN");
        assert_eq!(kind("DRNG"), "DRAIN");
        assert_eq!(kind("DRAIN"), "DRAIN");
        assert_eq!(kind("FAIL"), "FAIL");
        assert!(state_matches("DOWN*", &["down".into()]));
        assert!(state_matches("DRNG", &["DRAIN".into()]));
        assert!(!state_matches("DRAIN", &["DOWN".into()]));
        assert!(state_matches("DRAIN", &[]));
    }
}
