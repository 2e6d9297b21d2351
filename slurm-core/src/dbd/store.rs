//! The accounting database: one [`Store`] over a sqlx `AnyPool`, with the same queries on
//! SQLite and MySQL/MariaDB (`?` placeholders, no upsert dialects: a row is looked up, then
//! updated or inserted, inside one transaction).
//!
//! Writes come as batches of the controller's queue ([`RecordJobsRequest`]). A batch is
//! applied in one transaction together with the feed's new high-water mark, so a batch is
//! stored entirely or not at all, and a replayed record (sequence number at or below the
//! mark for its cluster and spool epoch) is skipped: delivery may repeat, rows never
//! duplicate.

use super::migrate::Embedded;
use crate::model::{JobRef, JobState, TimeLimit, Timestamp};
use crate::parse::sbatch::parse_array;
use crate::proto::{
    AcctEvent, AcctJob, AcctJobQuery, AcctJobRecord, AcctStep, JobUsage, RecordJobsRequest,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// MySQL or MariaDB.
    MySql,
}

impl Backend {
    /// The backend of a storage URL: `sqlite:…`, `mysql://…` (also `mariadb://…`).
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(StoreError::BadUrl(redact(url))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported storage URL {0} (expected sqlite:///PATH or mysql://USER:PASS@HOST[:PORT]/DB)"
    )]
    BadUrl(String),
    #[error("accounting database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("accounting database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unreadable row in the accounting database: {0}")]
    Corrupt(String),
}

/// A URL with its password replaced by `***` (for logs and errors).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// The open accounting database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) pool: AnyPool,
    backend: Backend,
}

/// Columns of `jobs` in the order [`decode_job`] reads them.
const JOB_COLUMNS: &str = "id, cluster, job_id, submit, array_job_id, array_task_id, \
    array_pending, name, user_name, uid, gid, account, partition_name, qos, state, reason, \
    cancelled_by, exit_code, exit_signal, eligible, start_time, end_time, time_limit, \
    nodelist, batch_host, alloc_nodes, alloc_cpus, batch_cpus, batch_tres, req_cpus, \
    req_nodes, alloc_tres, req_tres, work_dir, priority, restarts";

/// Columns of `steps` in the order [`decode_step`] reads them.
const STEP_COLUMNS: &str = "job_row, step, name, state, exit_code, exit_signal, start_time, \
    end_time, nodelist, alloc_cpus, alloc_tres, elapsed_s, cpu_time_ms, max_rss_kb";

/// A value to bind.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &[Arg],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::OptInt(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.clone()),
            Arg::OptText(v) => q.bind(v.clone()),
        };
    }
    q
}

fn i(v: impl Into<i64>) -> Arg {
    Arg::Int(v.into())
}

fn t(v: &str) -> Arg {
    Arg::Text(v.to_owned())
}

fn limit_secs(limit: TimeLimit) -> Option<i64> {
    limit
        .as_secs()
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
}

/// The values of every `jobs` column but `id`, `cluster`, `job_id`, `submit` and `seq`, in
/// the order of [`JOB_SET`].
fn job_values(j: &AcctJob) -> Vec<Arg> {
    vec![
        Arg::OptInt(j.array_job_id.map(i64::from)),
        Arg::OptInt(j.array_task_id.map(i64::from)),
        Arg::OptText(j.array_pending.clone()),
        t(&j.name),
        t(&j.user),
        i(j.uid),
        i(j.gid),
        t(&j.account),
        t(&j.partition),
        t(&j.qos),
        t(j.state.as_str()),
        t(&j.reason),
        Arg::OptInt(j.cancelled_by.map(i64::from)),
        i(j.exit_code),
        i(j.exit_signal),
        Arg::OptInt(j.eligible),
        Arg::OptInt(j.start),
        Arg::OptInt(j.end),
        Arg::OptInt(limit_secs(j.time_limit)),
        t(&j.nodelist),
        t(&j.batch_host),
        i(j.alloc_nodes),
        i(j.alloc_cpus),
        i(j.batch_cpus),
        t(&j.batch_tres),
        i(j.req_cpus),
        i(j.req_nodes),
        t(&j.alloc_tres),
        t(&j.req_tres),
        t(&j.work_dir),
        i(j.priority),
        i(j.restarts),
    ]
}

const JOB_SET: &[&str] = &[
    "array_job_id",
    "array_task_id",
    "array_pending",
    "name",
    "user_name",
    "uid",
    "gid",
    "account",
    "partition_name",
    "qos",
    "state",
    "reason",
    "cancelled_by",
    "exit_code",
    "exit_signal",
    "eligible",
    "start_time",
    "end_time",
    "time_limit",
    "nodelist",
    "batch_host",
    "alloc_nodes",
    "alloc_cpus",
    "batch_cpus",
    "batch_tres",
    "req_cpus",
    "req_nodes",
    "alloc_tres",
    "req_tres",
    "work_dir",
    "priority",
    "restarts",
];

pub(super) fn get_i64(row: &AnyRow, col: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(super) fn get_opt(row: &AnyRow, col: &str) -> Result<Option<i64>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

fn get_u32(row: &AnyRow, col: &str) -> Result<u32, StoreError> {
    let v = get_i64(row, col)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col}={v}")))
}

fn get_opt_u32(row: &AnyRow, col: &str) -> Result<Option<u32>, StoreError> {
    get_opt(row, col)?
        .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col}={v}"))))
        .transpose()
}

pub(super) fn get_text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(col)?)
}

fn get_state(row: &AnyRow, col: &str) -> Result<JobState, StoreError> {
    let s = get_text(row, col)?;
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{col}={s}")))
}

fn decode_job(row: &AnyRow) -> Result<(i64, String, AcctJob), StoreError> {
    let job = AcctJob {
        job_id: get_u32(row, "job_id")?,
        array_job_id: get_opt_u32(row, "array_job_id")?,
        array_task_id: get_opt_u32(row, "array_task_id")?,
        array_pending: row.try_get::<Option<String>, _>("array_pending")?,
        name: get_text(row, "name")?,
        user: get_text(row, "user_name")?,
        uid: get_u32(row, "uid")?,
        gid: get_u32(row, "gid")?,
        account: get_text(row, "account")?,
        partition: get_text(row, "partition_name")?,
        qos: get_text(row, "qos")?,
        state: get_state(row, "state")?,
        reason: get_text(row, "reason")?,
        cancelled_by: get_opt_u32(row, "cancelled_by")?,
        exit_code: get_i64(row, "exit_code")? as i32,
        exit_signal: get_i64(row, "exit_signal")? as i32,
        submit: get_i64(row, "submit")?,
        eligible: get_opt(row, "eligible")?,
        start: get_opt(row, "start_time")?,
        end: get_opt(row, "end_time")?,
        time_limit: match get_opt(row, "time_limit")? {
            Some(s) => TimeLimit::Seconds(u64::try_from(s).unwrap_or(0)),
            None => TimeLimit::Infinite,
        },
        nodelist: get_text(row, "nodelist")?,
        batch_host: get_text(row, "batch_host")?,
        alloc_nodes: get_u32(row, "alloc_nodes")?,
        alloc_cpus: get_u32(row, "alloc_cpus")?,
        batch_cpus: get_u32(row, "batch_cpus")?,
        batch_tres: get_text(row, "batch_tres")?,
        req_cpus: get_u32(row, "req_cpus")?,
        req_nodes: get_u32(row, "req_nodes")?,
        alloc_tres: get_text(row, "alloc_tres")?,
        req_tres: get_text(row, "req_tres")?,
        work_dir: get_text(row, "work_dir")?,
        priority: get_u32(row, "priority")?,
        restarts: get_u32(row, "restarts")?,
    };
    Ok((get_i64(row, "id")?, get_text(row, "cluster")?, job))
}

fn decode_step(row: &AnyRow) -> Result<(i64, AcctStep), StoreError> {
    let usage = match (
        get_opt(row, "elapsed_s")?,
        get_opt(row, "cpu_time_ms")?,
        get_opt(row, "max_rss_kb")?,
    ) {
        (Some(e), Some(c), Some(m)) => Some(JobUsage {
            elapsed_s: u64::try_from(e).unwrap_or(0),
            cpu_time_ms: u64::try_from(c).unwrap_or(0),
            max_rss_kb: u64::try_from(m).unwrap_or(0),
        }),
        _ => None,
    };
    let step = AcctStep {
        step: get_text(row, "step")?,
        name: get_text(row, "name")?,
        state: get_state(row, "state")?,
        exit_code: get_i64(row, "exit_code")? as i32,
        exit_signal: get_i64(row, "exit_signal")? as i32,
        start: get_opt(row, "start_time")?,
        end: get_opt(row, "end_time")?,
        nodelist: get_text(row, "nodelist")?,
        alloc_cpus: get_u32(row, "alloc_cpus")?,
        alloc_tres: get_text(row, "alloc_tres")?,
        usage,
    };
    Ok((get_i64(row, "job_row")?, step))
}

/// The state a job's batch step has, given the job's: the batch shell of a job that hit
/// its time limit was cancelled; a completing job's shell has ended but the step is still
/// being cleaned up, shown as running.
fn batch_step_state(job: JobState) -> JobState {
    match job {
        JobState::Timeout => JobState::Cancelled,
        JobState::Completing | JobState::Suspended => JobState::Running,
        s => s,
    }
}

/// The WHERE clause (and its arguments) of a query, on `jobs` columns.
fn where_clause(q: &AcctJobQuery) -> (String, Vec<Arg>) {
    let mut sql = String::from("1 = 1");
    let mut args = Vec::new();
    let list = |sql: &mut String, args: &mut Vec<Arg>, expr: &str, values: Vec<Arg>| {
        if values.is_empty() {
            sql.push_str(" AND 1 = 0");
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        sql.push_str(&format!(" AND {expr} IN ({marks})"));
        args.extend(values);
    };
    if !q.clusters.is_empty() {
        list(
            &mut sql,
            &mut args,
            "cluster",
            q.clusters.iter().map(|c| t(c)).collect(),
        );
    }
    if let Some(uids) = &q.uids {
        list(
            &mut sql,
            &mut args,
            "uid",
            uids.iter().map(|&u| i(u)).collect(),
        );
    }
    if let Some(accounts) = &q.accounts {
        let values = accounts.iter().map(|a| t(&a.to_lowercase())).collect();
        list(&mut sql, &mut args, "LOWER(account)", values);
    }
    if let Some(parts) = &q.partitions {
        list(
            &mut sql,
            &mut args,
            "partition_name",
            parts.iter().map(|p| t(p)).collect(),
        );
    }
    if let Some(names) = &q.names {
        list(
            &mut sql,
            &mut args,
            "name",
            names.iter().map(|n| t(n)).collect(),
        );
    }
    if !q.jobs.is_empty() {
        let mut alts = Vec::new();
        for r in &q.jobs {
            match r.array_task {
                None => {
                    alts.push("(job_id = ? OR array_job_id = ?)");
                    args.extend([i(r.job_id), i(r.job_id)]);
                }
                Some(task) => {
                    alts.push(
                        "(array_job_id = ? AND (array_task_id = ? OR array_pending IS NOT NULL))",
                    );
                    args.extend([i(r.job_id), i(task)]);
                }
            }
        }
        sql.push_str(&format!(" AND ({})", alts.join(" OR ")));
    }
    let window = q.start.is_some() || q.end.is_some();
    let start = q.start.unwrap_or(0);
    let end = q.end.unwrap_or(i64::MAX);
    match &q.states {
        Some(states) => {
            let mut alts = Vec::new();
            for &s in states {
                if !window {
                    alts.push("state = ?".to_owned());
                    args.push(t(s.as_str()));
                    continue;
                }
                match s {
                    // Pending at some moment of the window.
                    JobState::Pending => {
                        alts.push(
                            "(submit <= ? AND (start_time IS NULL OR start_time >= ?) \
                             AND (end_time IS NULL OR end_time >= ?))"
                                .to_owned(),
                        );
                        args.extend([i(end), i(start), i(start)]);
                    }
                    // Running at some moment of the window.
                    JobState::Running => {
                        alts.push(
                            "(start_time IS NOT NULL AND start_time <= ? \
                             AND (end_time IS NULL OR end_time >= ?))"
                                .to_owned(),
                        );
                        args.extend([i(end), i(start)]);
                    }
                    JobState::Suspended | JobState::Completing => {
                        alts.push("state = ?".to_owned());
                        args.push(t(s.as_str()));
                    }
                    // Ended in this state during the window.
                    _ => {
                        alts.push(
                            "(state = ? AND end_time IS NOT NULL AND end_time >= ? \
                             AND end_time <= ?)"
                                .to_owned(),
                        );
                        args.extend([t(s.as_str()), i(start), i(end)]);
                    }
                }
            }
            if alts.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                sql.push_str(&format!(" AND ({})", alts.join(" OR ")));
            }
        }
        None if window => {
            // Present (eligible, running or ending) at some moment of the window.
            sql.push_str(" AND submit <= ? AND (end_time IS NULL OR end_time >= ?)");
            args.extend([i(end), i(start)]);
        }
        None => {}
    }
    (sql, args)
}

/// Whether a row found through `123_4` really holds task 4 (a pending record holds a list).
fn task_selected(job: &AcctJob, sels: &[JobRef]) -> bool {
    if sels.is_empty() {
        return true;
    }
    sels.iter().any(|s| match s.array_task {
        None => job.job_id == s.job_id || job.array_job_id == Some(s.job_id),
        Some(task) => {
            job.array_job_id == Some(s.job_id)
                && (job.array_task_id == Some(task)
                    || job
                        .array_pending
                        .as_deref()
                        .and_then(|p| parse_array(p).ok())
                        .is_some_and(|spec| spec.indices.contains(&task)))
        }
    })
}

impl Store {
    /// Opens the database a URL names, creating it (SQLite) and bringing its schema up to
    /// date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let (url, max) = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::MySql => (url.to_owned(), 8),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            // Readers do not block the writer; kept in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let migrator = sqlx::migrate::Migrator::new(Embedded(backend)).await?;
        migrator.run(&pool).await?;
        let store = Self { pool, backend };
        store.rebuild_usage_if_asked().await?;
        store.fill_job_records_if_asked().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success = ?")
            .bind(true)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT name FROM clusters WHERE 1 = 0")
            .fetch_all(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies a batch of the controller's queue in one transaction; returns the highest
    /// sequence number now stored for the batch's (cluster, epoch).
    pub async fn record_jobs(
        &self,
        req: &RecordJobsRequest,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let epoch = i64::try_from(req.epoch).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT name FROM clusters WHERE name = ?")
            .bind(req.cluster.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            super::assoc::ensure_cluster(&mut tx, &req.cluster, now).await?;
        }
        let feed = sqlx::query("SELECT last_seq FROM job_feeds WHERE cluster = ? AND epoch = ?")
            .bind(req.cluster.clone())
            .bind(epoch)
            .fetch_optional(&mut *tx)
            .await?;
        let stored = match &feed {
            Some(row) => u64::try_from(get_i64(row, "last_seq")?).unwrap_or(0),
            None => 0,
        };
        let mut last = stored;
        let mut deltas = super::usage::Deltas::default();
        for record in &req.records {
            if record.seq <= last {
                continue;
            }
            let seq = i64::try_from(record.seq).unwrap_or(i64::MAX);
            match &record.event {
                AcctEvent::Job(job) => {
                    apply_job(&mut tx, &req.cluster, (epoch, seq), job, now, &mut deltas).await?
                }
                AcctEvent::Usage { job_id, usage } => {
                    apply_usage(&mut tx, &req.cluster, *job_id, usage).await?
                }
                AcctEvent::Steps { job_id, steps } => {
                    apply_steps(&mut tx, &req.cluster, *job_id, steps).await?
                }
                AcctEvent::Node(node) => {
                    super::events::apply_node(&mut tx, &req.cluster, node).await?
                }
            }
            last = record.seq;
        }
        deltas.flush(&mut tx).await?;
        if last != stored || feed.is_none() {
            let last_i = i64::try_from(last).unwrap_or(i64::MAX);
            if feed.is_some() {
                sqlx::query(
                    "UPDATE job_feeds SET last_seq = ?, updated = ? WHERE cluster = ? AND epoch = ?",
                )
                .bind(last_i)
                .bind(now)
                .bind(req.cluster.clone())
                .bind(epoch)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "INSERT INTO job_feeds (cluster, epoch, last_seq, updated) VALUES (?, ?, ?, ?)",
                )
                .bind(req.cluster.clone())
                .bind(epoch)
                .bind(last_i)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(last)
    }

    /// The high-water mark of a feed (0 when nothing was stored).
    pub async fn feed_position(&self, cluster: &str, epoch: u64) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT last_seq FROM job_feeds WHERE cluster = ? AND epoch = ?")
            .bind(cluster.to_owned())
            .bind(i64::try_from(epoch).unwrap_or(i64::MAX))
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => u64::try_from(get_i64(&r, "last_seq")?).unwrap_or(0),
            None => 0,
        })
    }

    /// The jobs (with their steps) a query selects, by cluster and job id: from the JSON
    /// each row holds (migration 0005), else from the columns.
    pub async fn query_jobs(&self, q: &AcctJobQuery) -> Result<Vec<AcctJobRecord>, StoreError> {
        let (cond, args) = where_clause(q);
        let sql = format!(
            "SELECT cluster, record, steps_record FROM jobs WHERE {cond} \
             ORDER BY cluster, job_id, submit"
        );
        let rows = bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = get_long_text(row, 1, self.backend)?;
            let steps = get_long_text(row, 2, self.backend)?;
            let (Some(record), Some(steps)) = (record, steps) else {
                return self.query_jobs_from_columns(q).await;
            };
            let job: AcctJob = serde_json::from_str(&record)
                .map_err(|e| StoreError::Corrupt(format!("job record: {e}")))?;
            if !task_selected(&job, &q.jobs) {
                continue;
            }
            let steps: Vec<AcctStep> = serde_json::from_str(&steps)
                .map_err(|e| StoreError::Corrupt(format!("steps record: {e}")))?;
            out.push(AcctJobRecord {
                cluster: row.try_get::<String, _>(0)?,
                job,
                steps,
            });
        }
        sort_records(&mut out);
        Ok(out)
    }

    /// [`Self::query_jobs`] from the columns (rows stored before their JSON was kept).
    async fn query_jobs_from_columns(
        &self,
        q: &AcctJobQuery,
    ) -> Result<Vec<AcctJobRecord>, StoreError> {
        let (cond, args) = where_clause(q);
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {cond} ORDER BY cluster, job_id, submit");
        let rows = bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut index: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let (id, cluster, job) = decode_job(row)?;
            if !task_selected(&job, &q.jobs) {
                continue;
            }
            index.insert(id, out.len());
            out.push(AcctJobRecord {
                cluster,
                job,
                steps: Vec::new(),
            });
        }
        if out.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE job_row IN \
             (SELECT id FROM jobs WHERE {cond}) ORDER BY job_row, step"
        );
        let rows = bind_all(sqlx::query(&sql), &args)
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            let (job_row, step) = decode_step(row)?;
            if let Some(&at) = index.get(&job_row) {
                out[at].steps.push(step);
            }
        }
        for record in &mut out {
            record.steps.sort_by_key(|s| step_order(&s.step));
        }
        sort_records(&mut out);
        Ok(out)
    }

    /// Gives every job row its JSON record and steps when migration 0005 asked for it.
    async fn fill_job_records_if_asked(&self) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT value FROM usage_state WHERE name = ?")
            .bind("job_records")
            .fetch_optional(&self.pool)
            .await?;
        if !matches!(&row, Some(r) if get_i64(r, "value")? != 0) {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE record IS NULL OR steps_record IS NULL"
        ))
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let (id, _, job) = decode_job(row)?;
            store_record(&mut tx, id, &job).await?;
            store_steps_record(&mut tx, id).await?;
        }
        sqlx::query("UPDATE usage_state SET value = ? WHERE name = ?")
            .bind(0i64)
            .bind("job_records")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if !rows.is_empty() {
            tracing::info!("{} job records kept as JSON", rows.len());
        }
        Ok(())
    }
}

/// sacct's order: by cluster; an array's records together, its pending record first, then
/// its tasks in order.
fn sort_records(out: &mut [AcctJobRecord]) {
    out.sort_by(|a, b| {
        let key = |r: &AcctJobRecord| {
            let j = &r.job;
            (
                j.array_job_id.unwrap_or(j.job_id),
                j.array_task_id.map_or(0, |t| u64::from(t) + 1),
                j.job_id,
            )
        };
        a.cluster.cmp(&b.cluster).then_with(|| key(a).cmp(&key(b)))
    });
}

/// A TEXT column (MySQL's reach the Any driver as BLOB).
fn get_long_text(
    row: &AnyRow,
    index: usize,
    backend: Backend,
) -> Result<Option<String>, StoreError> {
    match backend {
        Backend::Sqlite => Ok(row.try_get::<Option<String>, _>(index)?),
        Backend::MySql => Ok(row.try_get::<Option<Vec<u8>>, _>(index)?.map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Keeps a job's record as JSON on its row.
async fn store_record(
    tx: &mut Transaction<'_, Any>,
    row_id: i64,
    job: &AcctJob,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET record = ? WHERE id = ?")
        .bind(to_json(job))
        .bind(row_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Keeps a job's steps (as they are now in `steps`) as JSON on its row.
async fn store_steps_record(tx: &mut Transaction<'_, Any>, row_id: i64) -> Result<(), StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {STEP_COLUMNS} FROM steps WHERE job_row = ?"
    ))
    .bind(row_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut steps = rows
        .iter()
        .map(|r| decode_step(r).map(|(_, s)| s))
        .collect::<Result<Vec<_>, _>>()?;
    steps.sort_by_key(|s| step_order(&s.step));
    sqlx::query("UPDATE jobs SET steps_record = ? WHERE id = ?")
        .bind(to_json(&steps))
        .bind(row_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Steps in sacct's order: `batch`, `extern`, then numbered steps in numeric order.
fn step_order(step: &str) -> (u8, u64, String) {
    match step {
        "batch" => (0, 0, String::new()),
        "extern" => (1, 0, String::new()),
        s => match s.parse::<u64>() {
            Ok(n) => (2, n, String::new()),
            Err(_) => (3, 0, s.to_owned()),
        },
    }
}

/// A SQLite URL that creates the file (and its folder) when missing, and the pool size (one
/// connection for an in-memory database, which is private to its connection).
fn sqlite_url(url: &str) -> Result<(String, u32), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path == ":memory:" || path.is_empty() {
        return Ok((url.to_owned(), 1));
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
            path: parent.display().to_string(),
            source,
        })?;
    }
    let query = match query {
        Some(q) if q.contains("mode=") => q.to_owned(),
        Some(q) => format!("{q}&mode=rwc"),
        None => "mode=rwc".to_owned(),
    };
    Ok((format!("sqlite://{path}?{query}"), 4))
}

async fn apply_job(
    tx: &mut Transaction<'_, Any>,
    cluster: &str,
    (epoch, seq): (i64, i64),
    job: &AcctJob,
    now: Timestamp,
    deltas: &mut super::usage::Deltas,
) -> Result<(), StoreError> {
    let existing = sqlx::query(
        "SELECT id, feed_epoch, seq FROM jobs WHERE cluster = ? AND job_id = ? AND submit = ?",
    )
    .bind(cluster.to_owned())
    .bind(i64::from(job.job_id))
    .bind(job.submit)
    .fetch_optional(&mut **tx)
    .await?;
    let values = job_values(job);
    let row_id = match existing {
        Some(row) => {
            let id = get_i64(&row, "id")?;
            if get_i64(&row, "feed_epoch")? == epoch && get_i64(&row, "seq")? >= seq {
                // A newer record of the same spool is already stored.
                return Ok(());
            }
            let set: Vec<String> = JOB_SET.iter().map(|c| format!("{c} = ?")).collect();
            let sql = format!(
                "UPDATE jobs SET {}, feed_epoch = ?, seq = ?, record = ? WHERE id = ?",
                set.join(", ")
            );
            let mut args = values;
            args.extend([
                Arg::Int(epoch),
                Arg::Int(seq),
                Arg::Text(to_json(job)),
                Arg::Int(id),
            ]);
            bind_all(sqlx::query(&sql), &args)
                .execute(&mut **tx)
                .await?;
            id
        }
        None => {
            let marks = vec!["?"; JOB_SET.len() + 6].join(", ");
            let sql = format!(
                "INSERT INTO jobs (cluster, job_id, submit, {}, feed_epoch, seq, record) \
                 VALUES ({marks})",
                JOB_SET.join(", ")
            );
            let mut args = vec![t(cluster), i(job.job_id), Arg::Int(job.submit)];
            args.extend(values);
            args.extend([Arg::Int(epoch), Arg::Int(seq), Arg::Text(to_json(job))]);
            bind_all(sqlx::query(&sql), &args)
                .execute(&mut **tx)
                .await?;
            // (The Any driver gives no last insert id for SQLite: look the row up.)
            let row =
                sqlx::query("SELECT id FROM jobs WHERE cluster = ? AND job_id = ? AND submit = ?")
                    .bind(cluster.to_owned())
                    .bind(i64::from(job.job_id))
                    .bind(job.submit)
                    .fetch_one(&mut **tx)
                    .await?;
            get_i64(&row, "id")?
        }
    };
    super::usage::apply_job(tx, cluster, row_id, job, now, deltas).await?;
    if job.start.is_some() {
        upsert_batch_step(tx, row_id, job).await?;
    } else {
        // Not started (or requeued): no step of an earlier run remains current.
        sqlx::query("DELETE FROM steps WHERE job_row = ?")
            .bind(row_id)
            .execute(&mut **tx)
            .await?;
    }
    store_steps_record(tx, row_id).await?;
    Ok(())
}

/// Inserts or updates one step row: `columns` are set to `values` (same order).
async fn upsert_step_row(
    tx: &mut Transaction<'_, Any>,
    row_id: i64,
    step: &str,
    columns: &[&str],
    values: Vec<Arg>,
) -> Result<(), StoreError> {
    let found = sqlx::query("SELECT step FROM steps WHERE job_row = ? AND step = ?")
        .bind(row_id)
        .bind(step.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    let sql = if found.is_some() {
        let sets: Vec<String> = columns.iter().map(|c| format!("{c} = ?")).collect();
        format!(
            "UPDATE steps SET {} WHERE job_row = ? AND step = ?",
            sets.join(", ")
        )
    } else {
        format!(
            "INSERT INTO steps ({}, job_row, step) VALUES ({}?, ?)",
            columns.join(", "),
            "?, ".repeat(columns.len())
        )
    };
    let mut args = values;
    args.extend([Arg::Int(row_id), t(step)]);
    bind_all(sqlx::query(&sql), &args)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The step columns a record describes (usage columns are separate).
const STEP_RECORD_COLUMNS: [&str; 9] = [
    "name",
    "state",
    "exit_code",
    "exit_signal",
    "start_time",
    "end_time",
    "nodelist",
    "alloc_cpus",
    "alloc_tres",
];

/// The batch step as the job record describes it (usage columns are left alone).
async fn upsert_batch_step(
    tx: &mut Transaction<'_, Any>,
    row_id: i64,
    job: &AcctJob,
) -> Result<(), StoreError> {
    let state = batch_step_state(job.state);
    let values = vec![
        t("batch"),
        t(state.as_str()),
        i(job.exit_code),
        i(job.exit_signal),
        Arg::OptInt(job.start),
        Arg::OptInt(if job.state.is_finished() {
            job.end
        } else {
            None
        }),
        t(&job.batch_host),
        i(job.batch_cpus),
        t(&job.batch_tres),
    ];
    upsert_step_row(tx, row_id, "batch", &STEP_RECORD_COLUMNS, values).await
}

/// The row of the latest job `job_id` of `cluster` (a requeued id may have older rows).
async fn latest_job_row(
    tx: &mut Transaction<'_, Any>,
    cluster: &str,
    job_id: u32,
) -> Result<Option<(i64, AcctJob)>, StoreError> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE cluster = ? AND job_id = ? ORDER BY submit DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(cluster.to_owned())
        .bind(i64::from(job_id))
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| decode_job(&row).map(|(row_id, _, job)| (row_id, job)))
        .transpose()
}

/// A job's srun steps: each row upserted with its usage, then the job's JSON steps record.
async fn apply_steps(
    tx: &mut Transaction<'_, Any>,
    cluster: &str,
    job_id: u32,
    steps: &[AcctStep],
) -> Result<(), StoreError> {
    let Some((row_id, _)) = latest_job_row(tx, cluster, job_id).await? else {
        tracing::warn!("steps of unknown job {job_id} on cluster {cluster} ignored");
        return Ok(());
    };
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut columns = STEP_RECORD_COLUMNS.to_vec();
    columns.extend(["elapsed_s", "cpu_time_ms", "max_rss_kb"]);
    for step in steps {
        let usage = step.usage.unwrap_or_default();
        let values = vec![
            t(&step.name),
            t(step.state.as_str()),
            i(step.exit_code),
            i(step.exit_signal),
            Arg::OptInt(step.start),
            Arg::OptInt(step.end),
            t(&step.nodelist),
            i(step.alloc_cpus),
            t(&step.alloc_tres),
            Arg::Int(clamp(usage.elapsed_s)),
            Arg::Int(clamp(usage.cpu_time_ms)),
            Arg::Int(clamp(usage.max_rss_kb)),
        ];
        upsert_step_row(tx, row_id, &step.step, &columns, values).await?;
    }
    store_steps_record(tx, row_id).await?;
    Ok(())
}

async fn apply_usage(
    tx: &mut Transaction<'_, Any>,
    cluster: &str,
    job_id: u32,
    usage: &JobUsage,
) -> Result<(), StoreError> {
    let Some((row_id, job)) = latest_job_row(tx, cluster, job_id).await? else {
        tracing::warn!("usage of unknown job {job_id} on cluster {cluster} ignored");
        return Ok(());
    };
    upsert_batch_step(tx, row_id, &job).await?;
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    sqlx::query(
        "UPDATE steps SET elapsed_s = ?, cpu_time_ms = ?, max_rss_kb = ? WHERE job_row = ? AND step = ?",
    )
    .bind(clamp(usage.elapsed_s))
    .bind(clamp(usage.cpu_time_ms))
    .bind(clamp(usage.max_rss_kb))
    .bind(row_id)
    .bind("batch")
    .execute(&mut **tx)
    .await?;
    store_steps_record(tx, row_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Backend::of_url("sqlite:///tmp/a.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("mysql://u:p@h/db").unwrap(), Backend::MySql);
        assert_eq!(
            Backend::of_url("mariadb://u:p@h/db").unwrap(),
            Backend::MySql
        );
        let e = Backend::of_url("postgres://u:secret@h/db").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert_eq!(
            redact("mysql://u:secret@h:3306/db"),
            "mysql://u:***@h:3306/db"
        );
        assert_eq!(redact("sqlite:///x"), "sqlite:///x");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/acct.db");
        let (u, n) = sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert_eq!(u, format!("sqlite://{}?mode=rwc", path.display()));
        assert_eq!(n, 4);
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(sqlite_url("sqlite::memory:").unwrap().1, 1);
    }

    #[test]
    fn steps_sort_like_sacct() {
        let mut steps = vec!["10", "2", "batch", "extern", "0"];
        steps.sort_by_key(|s| step_order(s));
        assert_eq!(steps, ["batch", "extern", "0", "2", "10"]);
    }
}
