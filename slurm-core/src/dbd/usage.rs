//! Usage rollups (migration 0003): what `sreport` reports and `sshare` decays.
//!
//! Every run of a job (a requeued job runs again) is one row of `job_runs`, kept in step
//! with the job's records: the record of a started job sets its current run (account, user,
//! partition, start, AllocTRES; the end once the job has ended), a requeue closes the
//! earlier run. When a run ends, its TRES-seconds are split across the hours it ran and
//! added to `usage_hour`, `usage_day` and `usage_month` (UTC periods) of its association.
//!
//! A run's contribution is a function of its row alone, so applying a record again (a
//! replayed batch, a new spool epoch) changes nothing: the old contribution is taken off
//! and the new one added only when the row changes. Runs still going are counted when a
//! report asks, up to the dbd's clock.
//!
//! The changes of a batch are summed in memory ([`Deltas`]) and written once per row of the
//! rollup tables, in the batch's transaction.

use super::store::{Store, StoreError, get_i64, get_opt, get_text};
use crate::model::Timestamp;
use crate::model::calendar::{civil_from_days, days_from_civil};
use crate::proto::{
    Account, AcctJob, AssocShares, CapacityRecord, CapacityRow, JobSizes, JobSizesQuery,
    JobSizesRow, SharesQuery, SharesReply, UsageQuery, UsageReport, UsageRow,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap};

type Tx<'a> = Transaction<'a, Any>;

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

// ----- periods -----

/// The rollup tables, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Hour,
    Day,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Hour, Period::Day, Period::Month];

    fn table(self) -> &'static str {
        match self {
            Self::Hour => "usage_hour",
            Self::Day => "usage_day",
            Self::Month => "usage_month",
        }
    }

    /// The start of the period `t` falls in (UTC).
    pub fn floor(self, t: Timestamp) -> Timestamp {
        match self {
            Self::Hour => t - t.rem_euclid(HOUR),
            Self::Day => t - t.rem_euclid(DAY),
            Self::Month => {
                let (y, m, _) = civil_from_days(t.div_euclid(DAY));
                days_from_civil(y, m, 1) * DAY
            }
        }
    }

    /// The start of the period after the one `t` falls in.
    pub fn next(self, t: Timestamp) -> Timestamp {
        match self {
            Self::Hour => self.floor(t) + HOUR,
            Self::Day => self.floor(t) + DAY,
            Self::Month => {
                let (y, m, _) = civil_from_days(t.div_euclid(DAY));
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                days_from_civil(y, m, 1) * DAY
            }
        }
    }

    /// `t` if it starts a period, else the start of the next one.
    fn ceil(self, t: Timestamp) -> Timestamp {
        if self.floor(t) == t { t } else { self.next(t) }
    }
}

/// `[start, end)` (whole hours) as the fewest ranges of hour, day and month periods:
/// (table, first period start, end). Rows with `lo <= period < hi` cover exactly the window.
pub fn decompose(start: Timestamp, end: Timestamp) -> Vec<(Period, Timestamp, Timestamp)> {
    let start = Period::Hour.floor(start);
    let end = Period::Hour.floor(end);
    let mut out = Vec::new();
    let mut push = |p: Period, lo: Timestamp, hi: Timestamp| {
        if lo < hi {
            out.push((p, lo, hi));
        }
    };
    if end <= start {
        return out;
    }
    let day = Period::Day.ceil(start);
    if day >= end {
        push(Period::Hour, start, end);
        return out;
    }
    push(Period::Hour, start, day);
    let month = Period::Month.ceil(day);
    let last_day = Period::Day.floor(end);
    if month >= end {
        push(Period::Day, day, last_day);
        push(Period::Hour, last_day, end);
        return out;
    }
    push(Period::Day, day, month);
    let last_month = Period::Month.floor(end);
    push(Period::Month, month, last_month);
    push(Period::Day, last_month.max(month), last_day);
    push(Period::Hour, last_day, end);
    out
}

// ----- TRES -----

/// The TRES counts of an AllocTRES string (`billing=4,cpu=4,gres/gpu=1,mem=3048M,node=2`),
/// memory in MB. Entries that do not parse are left out.
pub fn tres_counts(text: &str) -> Vec<(String, u64)> {
    if let Ok(list) = crate::parse::tres::parse_tres(text) {
        return list.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    }
    text.split(',')
        .filter_map(|e| {
            let (k, v) = e.split_once('=')?;
            let v = crate::parse::tres::parse_tres(e)
                .ok()
                .and_then(|l| l.0.first().map(|x| x.1))
                .or_else(|| v.parse().ok())?;
            Some((k.trim().to_ascii_lowercase(), v))
        })
        .collect()
}

// ----- runs -----

/// One run of a job, as `job_runs` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Run {
    pub cluster: String,
    pub account: String,
    pub user: String,
    pub partition: String,
    pub start: Timestamp,
    /// `None` while the run goes on.
    pub end: Option<Timestamp>,
    /// Seconds.
    pub time_limit: Option<i64>,
    pub alloc_tres: String,
    /// The UsageFactor of the job's QOS when the run was first recorded, in millionths:
    /// what its TRES-seconds count for in fairshare (migration 0007).
    pub usage_factor: i64,
}

/// A UsageFactor of 1, in millionths.
pub const UNIT_FACTOR: i64 = 1_000_000;

const RUN_COLUMNS: &str = "cluster, account, user_name, partition_name, start_time, end_time, \
    time_limit, alloc_tres, usage_factor";

fn decode_run(row: &AnyRow) -> Result<Run, StoreError> {
    Ok(Run {
        cluster: get_text(row, "cluster")?,
        account: get_text(row, "account")?,
        user: get_text(row, "user_name")?,
        partition: get_text(row, "partition_name")?,
        start: get_i64(row, "start_time")?,
        end: get_opt(row, "end_time")?,
        time_limit: get_opt(row, "time_limit")?,
        alloc_tres: get_text(row, "alloc_tres")?,
        usage_factor: get_i64(row, "usage_factor")?,
    })
}

/// The run a job record describes (none before it starts).
fn run_of(cluster: &str, job: &AcctJob) -> Option<Run> {
    let start = job.start?;
    Some(Run {
        cluster: cluster.to_owned(),
        account: job.account.clone(),
        user: job.user.clone(),
        partition: job.partition.clone(),
        start,
        end: if job.state.is_finished() {
            job.end.map(|e| e.max(start))
        } else {
            None
        },
        time_limit: job
            .time_limit
            .as_secs()
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        alloc_tres: job.alloc_tres.clone(),
        usage_factor: UNIT_FACTOR,
    })
}

/// `secs` seconds of `count` of a TRES, as (TRES-seconds, TRES-seconds × `factor`).
fn weighted(count: u64, secs: i64, factor: i64) -> (i64, i64) {
    let v = i64::try_from(count)
        .unwrap_or(i64::MAX)
        .saturating_mul(secs);
    let f = i128::from(v) * i128::from(factor) / i128::from(UNIT_FACTOR);
    (v, i64::try_from(f).unwrap_or(i64::MAX))
}

/// The UsageFactor of a QOS (1 for a QOS the dbd does not know).
async fn qos_factor(tx: &mut Tx<'_>, qos: &str) -> Result<i64, StoreError> {
    if qos.is_empty() {
        return Ok(UNIT_FACTOR);
    }
    let row = sqlx::query("SELECT usage_factor FROM qos WHERE name = ?")
        .bind(qos.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        Some(r) => Ok(get_i64(&r, "usage_factor")?.max(0)),
        None => Ok(UNIT_FACTOR),
    }
}

/// When a run that ended without a record of its end (the job was requeued) is taken to
/// have ended: at `now`, or at its time limit if that came first.
fn close_time(run: &Run, now: Timestamp) -> Timestamp {
    let by_limit = run
        .time_limit
        .map_or(i64::MAX, |l| run.start.saturating_add(l));
    now.min(by_limit).max(run.start)
}

/// (association, period start) → TRES → seconds, summed over a batch.
#[derive(Debug, Default)]
pub(super) struct Deltas {
    assocs: Vec<(String, String, String, String)>,
    index: HashMap<(String, String, String, String), usize>,
    /// (TRES-seconds, TRES-seconds × UsageFactor).
    map: HashMap<(Period, Timestamp, usize, String), (i64, i64)>,
}

impl Deltas {
    fn assoc(&mut self, run: &Run) -> usize {
        let key = (
            run.cluster.clone(),
            run.account.clone(),
            run.user.clone(),
            run.partition.clone(),
        );
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.assocs.push(key.clone());
        self.index.insert(key, self.assocs.len() - 1);
        self.assocs.len() - 1
    }

    /// Adds (`sign` 1) or takes off (-1) an ended run's TRES-seconds.
    pub fn add(&mut self, run: &Run, end: Timestamp, sign: i64) {
        if end <= run.start {
            return;
        }
        let counts = tres_counts(&run.alloc_tres);
        if counts.is_empty() {
            return;
        }
        let a = self.assoc(run);
        let mut t = run.start;
        while t < end {
            let next = Period::Hour.next(t).min(end);
            let secs = next - t;
            let hour = Period::Hour.floor(t);
            for p in Period::ALL {
                let period = if p == Period::Hour {
                    hour
                } else {
                    p.floor(hour)
                };
                for (name, count) in &counts {
                    let (v, f) = weighted(*count, secs, run.usage_factor);
                    let e = self
                        .map
                        .entry((p, period, a, name.clone()))
                        .or_insert((0, 0));
                    e.0 += sign * v;
                    e.1 += sign * f;
                }
            }
            t = next;
        }
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.map.values().all(|v| *v == (0, 0))
    }

    /// Writes the sums: each table's touched rows are read, then rewritten (deleted and
    /// inserted again with their new totals) a hundred at a time, so a batch costs a few
    /// statements per hundred rows whatever the backend.
    pub async fn flush(self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        let mut groups: BTreeMap<(Period, String), Vec<Delta>> = BTreeMap::new();
        for ((p, period, a, tres), delta) in self.map {
            if delta != (0, 0) {
                groups
                    .entry((p, self.assocs[a].0.clone()))
                    .or_default()
                    .push((period, a, tres, delta));
            }
        }
        for ((p, cluster), mut entries) in groups {
            entries.sort();
            for chunk in entries.chunks(CHUNK) {
                write_chunk(tx, p.table(), &cluster, &self.assocs, chunk).await?;
            }
        }
        Ok(())
    }
}

/// A change to one rollup row: (period, association index, TRES, (seconds, factored)).
type Delta = (Timestamp, usize, String, (i64, i64));

/// Rows changed at once by [`Deltas::flush`].
const CHUNK: usize = 100;

/// `(period, account, user_name, partition_name, tres) IN ((?, ?, ?, ?, ?), ...)`.
fn keys_in(n: usize) -> String {
    let one = "(?, ?, ?, ?, ?)";
    format!(
        "(period, account, user_name, partition_name, tres) IN ({})",
        vec![one; n].join(", ")
    )
}

/// Adds `chunk`'s deltas (period, association, TRES, seconds) to a rollup table.
async fn write_chunk(
    tx: &mut Tx<'_>,
    table: &str,
    cluster: &str,
    assocs: &[(String, String, String, String)],
    chunk: &[Delta],
) -> Result<(), StoreError> {
    type Key = (Timestamp, String, String, String, String);
    let key_of = |(period, a, tres, _): &Delta| -> Key {
        let (_, account, user, partition) = &assocs[*a];
        (
            *period,
            account.clone(),
            user.clone(),
            partition.clone(),
            tres.clone(),
        )
    };
    fn bind_keys<'q>(
        mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        keys: &[Key],
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        for (period, account, user, partition, tres) in keys {
            q = q
                .bind(*period)
                .bind(account.clone())
                .bind(user.clone())
                .bind(partition.clone())
                .bind(tres.clone());
        }
        q
    }
    let keys: Vec<Key> = chunk.iter().map(key_of).collect();
    let select = format!(
        "SELECT period, account, user_name, partition_name, tres, seconds, factored \
         FROM {table} WHERE cluster = ? AND {}",
        keys_in(keys.len())
    );
    let rows = bind_keys(sqlx::query(&select).bind(cluster.to_owned()), &keys)
        .fetch_all(&mut **tx)
        .await?;
    let mut old: HashMap<Key, (i64, i64)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        old.insert(
            (
                get_i64(row, "period")?,
                get_text(row, "account")?,
                get_text(row, "user_name")?,
                get_text(row, "partition_name")?,
                get_text(row, "tres")?,
            ),
            (get_i64(row, "seconds")?, get_i64(row, "factored")?),
        );
    }
    if !old.is_empty() {
        let existing: Vec<Key> = old.keys().cloned().collect();
        let delete = format!(
            "DELETE FROM {table} WHERE cluster = ? AND {}",
            keys_in(existing.len())
        );
        bind_keys(sqlx::query(&delete).bind(cluster.to_owned()), &existing)
            .execute(&mut **tx)
            .await?;
    }
    let mut new_rows: Vec<(Key, (i64, i64))> = Vec::with_capacity(keys.len());
    for (key, entry) in keys.into_iter().zip(chunk) {
        let (secs, factored) = old.get(&key).copied().unwrap_or((0, 0));
        let total = (secs + entry.3.0, factored + entry.3.1);
        if total.0 < 0 || total.1 < 0 {
            tracing::warn!(
                "usage rollup {table} {cluster}/{}/{} {} at {}: {total:?} seconds, kept at 0",
                key.1,
                key.2,
                key.4,
                key.0
            );
        }
        let total = (total.0.max(0), total.1.max(0));
        if total != (0, 0) {
            new_rows.push((key, total));
        }
    }
    if new_rows.is_empty() {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO {table} (cluster, period, account, user_name, partition_name, tres, \
         seconds, factored) VALUES {}",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; new_rows.len()].join(", ")
    );
    let mut q = sqlx::query(&insert);
    for ((period, account, user, partition, tres), (total, factored)) in new_rows {
        q = q
            .bind(cluster.to_owned())
            .bind(period)
            .bind(account)
            .bind(user)
            .bind(partition)
            .bind(tres)
            .bind(total)
            .bind(factored);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn insert_run(tx: &mut Tx<'_>, job_row: i64, run_no: i64, r: &Run) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO job_runs (job_row, run, {RUN_COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(job_row)
    .bind(run_no)
    .bind(r.cluster.clone())
    .bind(r.account.clone())
    .bind(r.user.clone())
    .bind(r.partition.clone())
    .bind(r.start)
    .bind(r.end)
    .bind(r.time_limit)
    .bind(r.alloc_tres.clone())
    .bind(r.usage_factor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Brings the runs of a job (its row `job_row`) in step with its record, collecting the
/// rollup changes in `deltas`.
pub(super) async fn apply_job(
    tx: &mut Tx<'_>,
    cluster: &str,
    job_row: i64,
    job: &AcctJob,
    now: Timestamp,
    deltas: &mut Deltas,
) -> Result<(), StoreError> {
    let run_no = i64::from(job.restarts);
    // Earlier runs still open were ended by the requeue.
    let open = sqlx::query(&format!(
        "SELECT run, {RUN_COLUMNS} FROM job_runs WHERE job_row = ? AND run < ? \
         AND end_time IS NULL"
    ))
    .bind(job_row)
    .bind(run_no)
    .fetch_all(&mut **tx)
    .await?;
    for row in &open {
        let run = decode_run(row)?;
        let end = close_time(&run, now);
        sqlx::query("UPDATE job_runs SET end_time = ? WHERE job_row = ? AND run = ?")
            .bind(end)
            .bind(job_row)
            .bind(get_i64(row, "run")?)
            .execute(&mut **tx)
            .await?;
        deltas.add(&run, end, 1);
    }
    let existing = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM job_runs WHERE job_row = ? AND run = ?"
    ))
    .bind(job_row)
    .bind(run_no)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| decode_run(&r))
    .transpose()?;
    // A run counts with its QOS's UsageFactor as it was when the run was first recorded.
    let mut wanted = run_of(cluster, job);
    if let Some(w) = wanted.as_mut() {
        w.usage_factor = match &existing {
            Some(old) => old.usage_factor,
            None => qos_factor(tx, &job.qos).await?,
        };
    }
    if existing == wanted {
        return Ok(());
    }
    if let Some(old) = &existing {
        if let Some(end) = old.end {
            deltas.add(old, end, -1);
        }
        sqlx::query("DELETE FROM job_runs WHERE job_row = ? AND run = ?")
            .bind(job_row)
            .bind(run_no)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(new) = &wanted {
        insert_run(tx, job_row, run_no, new).await?;
        if let Some(end) = new.end {
            deltas.add(new, end, 1);
        }
    }
    Ok(())
}

// ----- queries -----

fn in_list(column: &str, n: usize) -> String {
    if n == 0 {
        return "1 = 1".to_owned();
    }
    format!("{column} IN ({})", vec!["?"; n].join(", "))
}

/// Seconds of `[start, end)` that fall in `[lo, hi)`.
fn overlap(start: Timestamp, end: Timestamp, lo: Timestamp, hi: Timestamp) -> i64 {
    (end.min(hi) - start.max(lo)).max(0)
}

type UsageKey = (String, String, String, String, String);

impl Store {
    /// Recomputes the rollups from `job_runs` when a migration asked for it (jobs recorded
    /// before the rollups existed).
    pub(super) async fn rebuild_usage_if_asked(&self) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT value FROM usage_state WHERE name = ?")
            .bind("rebuild")
            .fetch_optional(&self.pool)
            .await?;
        let asked = match row {
            Some(r) => get_i64(&r, "value")? != 0,
            None => false,
        };
        if asked {
            self.rebuild_usage().await?;
        }
        Ok(())
    }

    /// Recomputes `usage_hour`, `usage_day` and `usage_month` from the ended runs.
    pub async fn rebuild_usage(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for p in Period::ALL {
            sqlx::query(&format!("DELETE FROM {}", p.table()))
                .execute(&mut *tx)
                .await?;
        }
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE end_time IS NOT NULL"
        ))
        .fetch_all(&mut *tx)
        .await?;
        let mut deltas = Deltas::default();
        for row in &rows {
            let run = decode_run(row)?;
            if let Some(end) = run.end {
                deltas.add(&run, end, 1);
            }
        }
        deltas.flush(&mut tx).await?;
        let updated = sqlx::query("UPDATE usage_state SET value = ? WHERE name = ?")
            .bind(0i64)
            .bind("rebuild")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            sqlx::query("INSERT INTO usage_state (name, value) VALUES (?, ?)")
                .bind("rebuild")
                .bind(0i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::info!("usage rollups rebuilt from {} job runs", rows.len());
        Ok(())
    }

    async fn cluster_names(&self, wanted: &[String]) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM clusters ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut names = Vec::new();
        for r in &rows {
            let n = get_text(r, "name")?;
            if wanted.is_empty() || wanted.contains(&n) {
                names.push(n);
            }
        }
        Ok(names)
    }

    /// Ended runs' TRES-seconds in `[start, end)` from the rollups, summed per association
    /// and TRES (`seconds > 0` only).
    async fn rolled_up(
        &self,
        clusters: &[String],
        tres: &[String],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeMap<UsageKey, i64>, StoreError> {
        let mut sums: BTreeMap<UsageKey, i64> = BTreeMap::new();
        for (p, lo, hi) in decompose(start, end) {
            let sql = format!(
                "SELECT cluster, account, user_name, partition_name, tres, seconds FROM {} \
                 WHERE period >= ? AND period < ? AND {} AND {}",
                p.table(),
                in_list("cluster", clusters.len()),
                in_list("tres", tres.len())
            );
            let mut q = sqlx::query(&sql).bind(lo).bind(hi);
            for c in clusters {
                q = q.bind(c.clone());
            }
            for t in tres {
                q = q.bind(t.clone());
            }
            let rows = q.fetch_all(&self.pool).await?;
            for row in &rows {
                let secs = get_i64(row, "seconds")?;
                if secs == 0 {
                    continue;
                }
                let key = (
                    get_text(row, "cluster")?,
                    get_text(row, "account")?,
                    get_text(row, "user_name")?,
                    get_text(row, "partition_name")?,
                    get_text(row, "tres")?,
                );
                *sums.entry(key).or_insert(0) += secs;
            }
        }
        Ok(sums)
    }

    /// Runs going on (no end yet) that started before `before`.
    async fn open_runs(
        &self,
        clusters: &[String],
        before: Timestamp,
    ) -> Result<Vec<Run>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE end_time IS NULL AND start_time < ? AND {}",
            in_list("cluster", clusters.len())
        );
        let mut q = sqlx::query(&sql).bind(before);
        for c in clusters {
            q = q.bind(c.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(decode_run).collect()
    }

    async fn all_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let list = super::assoc::accounts(&mut tx).await?;
        tx.rollback().await?;
        Ok(list)
    }

    /// What `sreport cluster ...` and `sreport user ...` report on: each association's
    /// TRES-seconds in the window and the clusters' capacity.
    pub async fn usage_report(
        &self,
        q: &UsageQuery,
        now: Timestamp,
    ) -> Result<UsageReport, StoreError> {
        let start = Period::Hour.floor(q.start);
        let end = Period::Hour.floor(q.end).max(start);
        let clusters = self.cluster_names(&q.clusters).await?;
        let mut sums = self.rolled_up(&clusters, &q.tres, start, end).await?;
        for run in self.open_runs(&clusters, end).await? {
            let secs = overlap(run.start, now, start, end);
            if secs == 0 {
                continue;
            }
            for (name, count) in tres_counts(&run.alloc_tres) {
                if !q.tres.is_empty() && !q.tres.contains(&name) {
                    continue;
                }
                let key = (
                    run.cluster.clone(),
                    run.account.clone(),
                    run.user.clone(),
                    run.partition.clone(),
                    name,
                );
                let v = i64::try_from(count).unwrap_or(i64::MAX);
                *sums.entry(key).or_insert(0) += v.saturating_mul(secs);
            }
        }
        let rows = sums
            .into_iter()
            .filter(|(_, s)| *s > 0)
            .map(|((cluster, account, user, partition, tres), s)| UsageRow {
                cluster,
                account,
                user,
                partition,
                tres,
                seconds: u64::try_from(s).unwrap_or(0),
            })
            .collect();
        let mut capacity = Vec::new();
        for c in &clusters {
            let mut rows = self
                .capacity(c, start, end, q.fallback_capacity.as_deref(), &q.tres)
                .await?;
            let down = self.down_seconds(c, start, end, now).await?;
            for row in &mut rows {
                row.down_seconds = down.get(&row.tres).copied().unwrap_or(0).min(row.seconds);
            }
            capacity.extend(rows);
        }
        Ok(UsageReport {
            now,
            start,
            end,
            rows,
            capacity,
            accounts: self.all_accounts().await?,
            clusters,
            private: false,
        })
    }

    /// A cluster's TRES-seconds of capacity in `[start, end)` from its recorded totals (or
    /// `fallback` for the whole window when there are none).
    async fn capacity(
        &self,
        cluster: &str,
        start: Timestamp,
        end: Timestamp,
        fallback: Option<&str>,
        only: &[String],
    ) -> Result<Vec<CapacityRow>, StoreError> {
        let rows =
            sqlx::query("SELECT since, tres FROM cluster_tres WHERE cluster = ? ORDER BY since")
                .bind(cluster.to_owned())
                .fetch_all(&self.pool)
                .await?;
        let mut spans: Vec<(Timestamp, Timestamp, String)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let since = get_i64(row, "since")?;
            let until = match rows.get(i + 1) {
                Some(next) => get_i64(next, "since")?,
                None => i64::MAX,
            };
            spans.push((since, until, get_text(row, "tres")?));
        }
        if spans.is_empty() {
            match fallback {
                Some(f) => spans.push((i64::MIN, i64::MAX, f.to_owned())),
                None => return Ok(Vec::new()),
            }
        }
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (since, until, tres) in &spans {
            let secs = overlap(*since, *until, start, end);
            if secs == 0 {
                continue;
            }
            for (name, count) in tres_counts(tres) {
                if !only.is_empty() && !only.contains(&name) {
                    continue;
                }
                let e = out.entry(name).or_insert((0, 0));
                e.0 = count;
                e.1 =
                    e.1.saturating_add(count.saturating_mul(secs.unsigned_abs()));
            }
        }
        Ok(out
            .into_iter()
            .map(|(tres, (count, seconds))| CapacityRow {
                cluster: cluster.to_owned(),
                tres,
                count,
                seconds,
                down_seconds: 0,
            })
            .collect())
    }

    /// Records a cluster's TRES totals from `since` on (nothing when they did not change).
    pub async fn record_capacity(
        &self,
        rec: &CapacityRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        super::assoc::ensure_cluster(&mut tx, &rec.cluster, now).await?;
        let last = sqlx::query(
            "SELECT since, tres FROM cluster_tres WHERE cluster = ? AND since <= ? \
             ORDER BY since DESC LIMIT 1",
        )
        .bind(rec.cluster.clone())
        .bind(rec.since)
        .fetch_optional(&mut *tx)
        .await?;
        match last {
            Some(row) if get_text(&row, "tres")? == rec.tres => {}
            Some(row) if get_i64(&row, "since")? == rec.since => {
                sqlx::query("UPDATE cluster_tres SET tres = ? WHERE cluster = ? AND since = ?")
                    .bind(rec.tres.clone())
                    .bind(rec.cluster.clone())
                    .bind(rec.since)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {
                sqlx::query("INSERT INTO cluster_tres (cluster, since, tres) VALUES (?, ?, ?)")
                    .bind(rec.cluster.clone())
                    .bind(rec.since)
                    .bind(rec.tres.clone())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `sreport job SizesByAccount`: the runs in the window by size and top-level account.
    pub async fn job_sizes(
        &self,
        q: &JobSizesQuery,
        now: Timestamp,
    ) -> Result<JobSizes, StoreError> {
        let start = Period::Hour.floor(q.start);
        let end = Period::Hour.floor(q.end).max(start);
        let clusters = self.cluster_names(&q.clusters).await?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM job_runs WHERE start_time < ? \
             AND (end_time IS NULL OR end_time > ?) AND {}",
            in_list("cluster", clusters.len())
        );
        let mut query = sqlx::query(&sql).bind(end).bind(start);
        for c in &clusters {
            query = query.bind(c.clone());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let accounts = self.all_accounts().await?;
        let parent: HashMap<&str, &str> = accounts
            .iter()
            .map(|a| (a.name.as_str(), a.parent.as_str()))
            .collect();
        let tops: Vec<String> = if q.accounts.is_empty() {
            vec!["root".to_owned()]
        } else {
            q.accounts.clone()
        };
        let tres = if q.tres.is_empty() { "cpu" } else { &q.tres };
        // The account a run is reported under.
        let group = |account: &str| -> Option<String> {
            if q.flat_view {
                return Some(account.to_owned());
            }
            if tops.iter().any(|t| t == account) {
                return Some(account.to_owned());
            }
            let mut a = account;
            for _ in 0..64 {
                let p = *parent.get(a)?;
                if tops.iter().any(|t| t == p) {
                    return Some(a.to_owned());
                }
                a = p;
            }
            None
        };
        // (cluster, account) → size → (seconds, jobs)
        let mut per: BTreeMap<(String, String), BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
        let mut sizes = BTreeSet::new();
        for row in &rows {
            let run = decode_run(row)?;
            if (!q.users.is_empty() && !q.users.contains(&run.user))
                || (!q.partitions.is_empty() && !q.partitions.contains(&run.partition))
            {
                continue;
            }
            let run_end = run.end.unwrap_or(now);
            let secs = overlap(run.start, run_end, start, end);
            if secs == 0 {
                continue;
            }
            let Some(account) = group(&run.account) else {
                continue;
            };
            let count = tres_counts(&run.alloc_tres)
                .into_iter()
                .find(|(n, _)| n == tres)
                .map_or(0, |(_, c)| c);
            sizes.insert(count);
            let e = per
                .entry((run.cluster.clone(), account))
                .or_default()
                .entry(count)
                .or_insert((0, 0));
            e.0 =
                e.0.saturating_add(count.saturating_mul(secs.unsigned_abs()));
            e.1 += 1;
        }
        let buckets: Vec<u64> = if q.grouping.is_empty() {
            sizes.into_iter().collect()
        } else {
            let mut b = vec![0];
            b.extend(q.grouping.iter().copied().filter(|g| *g > 0));
            b.sort_unstable();
            b.dedup();
            b
        };
        let bucket_of = |size: u64| -> usize {
            if q.grouping.is_empty() {
                buckets.iter().position(|b| *b == size).unwrap_or(0)
            } else {
                buckets.iter().rposition(|b| *b <= size).unwrap_or(0)
            }
        };
        let rows = per
            .into_iter()
            .map(|((cluster, account), by_size)| {
                let mut seconds = vec![0u64; buckets.len()];
                let mut jobs = vec![0u64; buckets.len()];
                for (size, (s, n)) in by_size {
                    let b = bucket_of(size);
                    seconds[b] += s;
                    jobs[b] += n;
                }
                JobSizesRow {
                    cluster,
                    account,
                    seconds,
                    jobs,
                }
            })
            .collect();
        Ok(JobSizes {
            start,
            end,
            buckets,
            rows,
        })
    }

    /// Each association's shares and decayed usage (see [`SharesQuery`]).
    pub async fn shares(&self, q: &SharesQuery, now: Timestamp) -> Result<SharesReply, StoreError> {
        let mut tx = self.pool.begin().await?;
        let accounts = super::assoc::accounts(&mut tx).await?;
        let mut assocs = super::assoc::all_assocs(&mut tx).await?;
        tx.rollback().await?;
        assocs.retain(|a| a.cluster == q.cluster);
        let assocs = super::assoc::tree_order(assocs, &accounts);
        let half_life = i64::try_from(q.half_life_s).unwrap_or(i64::MAX);
        // Decay of usage spread evenly over [a, b) (b <= now), seen at `now`.
        let weight = |a: Timestamp, b: Timestamp| -> f64 {
            let b = b.min(now);
            if b <= a {
                return 0.0;
            }
            if half_life <= 0 {
                return 1.0;
            }
            let t = half_life as f64;
            let ln2 = std::f64::consts::LN_2;
            let f = |x: Timestamp| 2f64.powf(-((now - x) as f64) / t);
            t / (ln2 * (b - a) as f64) * (f(b) - f(a))
        };
        let oldest = if half_life > 0 {
            now.saturating_sub(half_life.saturating_mul(60))
        } else {
            0
        };
        let end = Period::Hour.next(now);
        // Hours for the last week (where a day's usage is not spread evenly enough to
        // decay it as a whole), days and months before.
        let split = Period::Day
            .floor(now - 7 * DAY)
            .max(Period::Hour.floor(oldest));
        let mut ranges = decompose(oldest, split);
        ranges.push((Period::Hour, split, end));
        let clusters = vec![q.cluster.clone()];
        // (account, user, partition) → TRES → decayed seconds
        let mut used: HashMap<(String, String, String), BTreeMap<String, f64>> = HashMap::new();
        for (p, lo, hi) in ranges {
            let sql = format!(
                "SELECT account, user_name, partition_name, tres, period, factored FROM {} \
                 WHERE cluster = ? AND period >= ? AND period < ?",
                p.table()
            );
            let rows = sqlx::query(&sql)
                .bind(q.cluster.clone())
                .bind(lo)
                .bind(hi)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                let period = get_i64(row, "period")?;
                let secs = get_i64(row, "factored")? as f64;
                let w = weight(period, p.next(period));
                let key = (
                    get_text(row, "account")?,
                    get_text(row, "user_name")?,
                    get_text(row, "partition_name")?,
                );
                *used
                    .entry(key)
                    .or_default()
                    .entry(get_text(row, "tres")?)
                    .or_insert(0.0) += secs * w;
            }
        }
        // Runs going on: their usage so far, and the TRES-minutes they have left.
        let mut run_mins: HashMap<(String, String, String), BTreeMap<String, u64>> = HashMap::new();
        for run in self.open_runs(&clusters, now).await? {
            let key = (run.account.clone(), run.user.clone(), run.partition.clone());
            let counts = tres_counts(&run.alloc_tres);
            let factor = run.usage_factor as f64 / UNIT_FACTOR as f64;
            let w = weight(run.start, now) * (now - run.start).max(0) as f64 * factor;
            let left = run
                .time_limit
                .map_or(0, |l| (run.start.saturating_add(l) - now).max(0) / 60);
            for (name, count) in counts {
                *used
                    .entry(key.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_insert(0.0) += count as f64 * w;
                let (_, mins) = weighted(count, left, run.usage_factor);
                *run_mins
                    .entry(key.clone())
                    .or_default()
                    .entry(name)
                    .or_insert(0) += mins.unsigned_abs();
            }
        }
        // Usage by association: a job's usage goes to its partition's association if there
        // is one, else to the user's association for any partition, else to its account.
        let index: HashMap<(&str, &str, &str), usize> = assocs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                (
                    (a.account.as_str(), a.user.as_str(), a.partition.as_str()),
                    i,
                )
            })
            .collect();
        let n = assocs.len();
        let mut tres_used: Vec<BTreeMap<String, f64>> = vec![BTreeMap::new(); n];
        let mut mins: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); n];
        let target = |(account, user, partition): &(String, String, String)| {
            index
                .get(&(account.as_str(), user.as_str(), partition.as_str()))
                .or_else(|| index.get(&(account.as_str(), user.as_str(), "")))
                .or_else(|| index.get(&(account.as_str(), "", "")))
                .copied()
        };
        for (key, by_tres) in &used {
            if let Some(i) = target(key) {
                for (t, v) in by_tres {
                    *tres_used[i].entry(t.clone()).or_insert(0.0) += v;
                }
            }
        }
        for (key, by_tres) in &run_mins {
            if let Some(i) = target(key) {
                for (t, v) in by_tres {
                    *mins[i].entry(t.clone()).or_insert(0) += v;
                }
            }
        }
        // Accounts add up everything under them (children come after their parents).
        let account_row: HashMap<&str, usize> = assocs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.user.is_empty() && a.partition.is_empty())
            .map(|(i, a)| (a.account.as_str(), i))
            .collect();
        for i in (0..n).rev() {
            let a = &assocs[i];
            let up = if a.user.is_empty() {
                if a.parent.is_empty() {
                    None
                } else {
                    account_row.get(a.parent.as_str()).copied()
                }
            } else {
                account_row.get(a.account.as_str()).copied()
            };
            if let Some(p) = up
                && p != i
            {
                let (t, m) = (tres_used[i].clone(), mins[i].clone());
                for (k, v) in t {
                    *tres_used[p].entry(k).or_insert(0.0) += v;
                }
                for (k, v) in m {
                    *mins[p].entry(k).or_insert(0) += v;
                }
            }
        }
        let out = assocs
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                let get = |name: &str| tres_used[i].get(name).copied();
                let usage = get("billing").or_else(|| get("cpu")).unwrap_or(0.0);
                AssocShares {
                    account: a.account,
                    user: a.user,
                    partition: a.partition,
                    parent: a.parent,
                    shares: a.shares,
                    usage,
                    tres_usage: tres_used[i].iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    tres_run_mins: mins[i].iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    grp_tres_mins: String::new(),
                    computed: None,
                }
            })
            .collect();
        Ok(SharesReply {
            now,
            cluster: q.cluster.clone(),
            assocs: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: u32, d: u32, h: i64) -> Timestamp {
        days_from_civil(y, m, d) * DAY + h * HOUR
    }

    #[test]
    fn periods() {
        let t = at(2026, 11, 24, 13) + 1234;
        assert_eq!(Period::Hour.floor(t), at(2026, 11, 24, 13));
        assert_eq!(Period::Day.floor(t), at(2026, 11, 24, 0));
        assert_eq!(Period::Month.floor(t), at(2026, 11, 1, 0));
        assert_eq!(Period::Month.next(t), at(2026, 12, 1, 0));
        assert_eq!(Period::Month.next(at(2026, 12, 5, 0)), at(2027, 1, 1, 0));
        assert_eq!(at(1970, 1, 1, 0), 0);
        assert_eq!(at(2000, 3, 1, 0), 951_868_800);
    }

    #[test]
    fn windows_decompose_into_the_coarsest_periods() {
        let h = |y, m, d, h| at(y, m, d, h);
        // A month exactly.
        assert_eq!(
            decompose(h(2026, 11, 1, 0), h(2026, 12, 1, 0)),
            vec![(Period::Month, h(2026, 11, 1, 0), h(2026, 12, 1, 0))]
        );
        // Hours, days, months, days, hours.
        assert_eq!(
            decompose(h(2026, 10, 30, 5), h(2027, 1, 3, 7)),
            vec![
                (Period::Hour, h(2026, 10, 30, 5), h(2026, 10, 31, 0)),
                (Period::Day, h(2026, 10, 31, 0), h(2026, 11, 1, 0)),
                (Period::Month, h(2026, 11, 1, 0), h(2027, 1, 1, 0)),
                (Period::Day, h(2027, 1, 1, 0), h(2027, 1, 3, 0)),
                (Period::Hour, h(2027, 1, 3, 0), h(2027, 1, 3, 7)),
            ]
        );
        // Within a day.
        assert_eq!(
            decompose(h(2026, 11, 24, 1), h(2026, 11, 24, 3)),
            vec![(Period::Hour, h(2026, 11, 24, 1), h(2026, 11, 24, 3))]
        );
        // Days within a month.
        assert_eq!(
            decompose(h(2026, 11, 2, 0), h(2026, 11, 5, 2)),
            vec![
                (Period::Day, h(2026, 11, 2, 0), h(2026, 11, 5, 0)),
                (Period::Hour, h(2026, 11, 5, 0), h(2026, 11, 5, 2)),
            ]
        );
        assert!(decompose(10, 10).is_empty());
    }

    #[test]
    fn a_run_is_split_across_hours() {
        let run = Run {
            cluster: "c".into(),
            account: "a".into(),
            user: "u".into(),
            partition: "p".into(),
            start: at(2026, 11, 30, 23) + 1800,
            end: None,
            time_limit: None,
            alloc_tres: "billing=2,cpu=2,gres/gpu=1,mem=1G,node=1".into(),
            usage_factor: 2_500_000,
        };
        let mut d = Deltas::default();
        d.add(&run, at(2026, 12, 1, 1) + 600, 1);
        let both = |p, t, tres: &str| d.map.get(&(p, t, 0, tres.to_owned())).copied();
        // UsageFactor 2.5: fairshare's seconds beside the plain ones.
        assert_eq!(
            both(Period::Hour, at(2026, 12, 1, 0), "cpu"),
            Some((7200, 18000))
        );
        let get = |p, t, tres: &str| both(p, t, tres).map(|v| v.0);
        assert_eq!(get(Period::Hour, at(2026, 11, 30, 23), "cpu"), Some(3600));
        assert_eq!(get(Period::Hour, at(2026, 12, 1, 0), "cpu"), Some(7200));
        assert_eq!(get(Period::Hour, at(2026, 12, 1, 1), "gres/gpu"), Some(600));
        assert_eq!(get(Period::Day, at(2026, 12, 1, 0), "cpu"), Some(8400));
        assert_eq!(
            get(Period::Month, at(2026, 11, 1, 0), "mem"),
            Some(1024 * 1800)
        );
        assert_eq!(get(Period::Month, at(2026, 12, 1, 0), "node"), Some(4200));
        d.add(&run, at(2026, 12, 1, 1) + 600, -1);
        assert!(d.is_empty());
    }

    #[test]
    fn tres_strings() {
        assert_eq!(
            tres_counts("billing=4,cpu=4,gres/gpu=1,mem=3048M,node=2"),
            vec![
                ("billing".to_owned(), 4),
                ("cpu".to_owned(), 4),
                ("gres/gpu".to_owned(), 1),
                ("mem".to_owned(), 3048),
                ("node".to_owned(), 2)
            ]
        );
        assert_eq!(tres_counts(""), vec![]);
    }
}
