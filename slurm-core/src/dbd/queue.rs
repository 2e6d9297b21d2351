//! The controller's durable outbound queue of accounting records, and the task that delivers
//! it to the dbd (Slurm's "dbd agent").
//!
//! Every change the controller journals ([`Core::save`](crate::controller::core::Core)) is
//! handed to [`AcctQueue::record`]: job records and usage become [`AcctRecord`]s with
//! strictly increasing sequence numbers, appended to a spool file and fsynced. The delivery
//! task sends the oldest records in batches, in order, and trims the spool once the dbd has
//! acknowledged most of a long one. While the dbd (or its database) is down it retries with
//! exponential backoff; scheduling never waits for it. The dbd skips sequence numbers it already has, so
//! a batch delivered twice (an acknowledgement lost on the way back, a controller restart)
//! is stored once. Each call carries a fresh credential signed with the cluster key (the
//! dbd records jobs only for root, SlurmUser or its own user).
//!
//! Layout under `StateSaveLocation/accounting/`:
//! ```text
//! epoch         this spool's identity (microseconds at creation); a new state directory
//!               starts a new epoch, so its sequence numbers start again without clashing
//! spool.jsonl   records not yet acknowledged (and some that were, until trimmed)
//! acked         the highest acknowledged sequence number when the spool was last trimmed
//!               (temp file, fsync, rename)
//! acked.hint    the highest acknowledged sequence number (temp file, rename, no fsync: after
//!               a crash it may be older or unreadable, and the dbd skips what is sent again)
//! ```

use super::record::acct_job;
use crate::auth::CredentialSource;
use crate::config::{AccountingStorage, ClusterConfig};
use crate::controller::state_store::{Record, StateError, SyncPolicy};
use crate::proto::slurm_dbd::slurm_dbd_client::SlurmDbdClient;
use crate::proto::{AcctEvent, AcctRecord, RecordJobsRequest};
use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Records per `RecordJobs` call.
const BATCH: usize = 500;
/// Acknowledged lines kept in the spool before it is rewritten without them.
const TRIM_AFTER: usize = 10_000;
/// The acknowledgement written durably before each trim (see [`Spool::ack`]).
const ACKED: &str = "acked";
/// The latest acknowledgement, written without fsync (see [`Spool::ack`]).
const ACKED_HINT: &str = "acked.hint";
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long one delivery may take before it is retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a small file atomically and durably: temp file, fsync, rename, fsync the folder.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), StateError> {
    write_replacing(path, contents, true)
}

/// Replaces a small file atomically (temp file, rename): readers see the old contents or
/// the new. With `durable`, the new contents are on disk before it returns (fsync of the
/// file before the rename, of the folder after it).
fn write_replacing(path: &Path, contents: &[u8], durable: bool) -> Result<(), StateError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(contents).map_err(io_err(&tmp))?;
    if durable {
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if durable
        && let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The spool file and what of it is not acknowledged yet.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    file: File,
    epoch: u64,
    next_seq: u64,
    acked: u64,
    /// Unacknowledged records, oldest first.
    pending: VecDeque<AcctRecord>,
    /// Lines in the spool file (acknowledged ones included).
    lines: usize,
    /// The controller's state sync policy: under `Periodic` the spool is flushed with the
    /// state directory's filesystem by the controller's background flush (`syncfs`).
    policy: SyncPolicy,
}

impl Spool {
    /// Opens (creating if needed) a spool folder and reads what it holds. A torn last line
    /// (a crash in the middle of a write) is dropped; a bad line elsewhere is an error.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let epoch_path = dir.join("epoch");
        let epoch = match fs::read_to_string(&epoch_path) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|e| StateError::Corrupt {
                    path: epoch_path.display().to_string(),
                    line: 1,
                    message: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let epoch = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX) >> 1);
                write_atomic(&epoch_path, format!("{epoch}\n").as_bytes())?;
                epoch
            }
            Err(e) => return Err(io_err(&epoch_path)(e)),
        };
        let acked_path = dir.join(ACKED);
        let acked = match fs::read_to_string(&acked_path) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|e| StateError::Corrupt {
                    path: acked_path.display().to_string(),
                    line: 1,
                    message: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io_err(&acked_path)(e)),
        };
        // The later mark written without fsync, when it survived intact: fewer repeats.
        let hint = fs::read_to_string(dir.join(ACKED_HINT))
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let acked = acked.max(hint);
        let path = dir.join("spool.jsonl");
        let mut pending = VecDeque::new();
        let mut last_seq = acked;
        let mut lines = 0;
        let mut valid_len = 0u64;
        if path.exists() {
            let file = File::open(&path).map_err(io_err(&path))?;
            let mut it = BufReader::new(file).lines().enumerate().peekable();
            while let Some((index, line)) = it.next() {
                let line = line.map_err(io_err(&path))?;
                let is_last = it.peek().is_none();
                match serde_json::from_str::<AcctRecord>(&line) {
                    Ok(record) => {
                        valid_len += line.len() as u64 + 1;
                        lines += 1;
                        last_seq = last_seq.max(record.seq);
                        if record.seq > acked {
                            pending.push_back(record);
                        }
                    }
                    Err(_) if is_last => {
                        tracing::warn!(
                            "{}:{}: dropping a torn last accounting record",
                            path.display(),
                            index + 1
                        );
                    }
                    Err(e) => {
                        return Err(StateError::Corrupt {
                            path: path.display().to_string(),
                            line: index + 1,
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if file.metadata().map_err(io_err(&path))?.len() != valid_len {
            file.set_len(valid_len).map_err(io_err(&path))?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            file,
            epoch,
            next_seq: last_seq + 1,
            acked,
            pending,
            lines,
            policy: SyncPolicy::from_env(),
        })
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The sequence number of the newest record (0 when none was ever spooled).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The highest acknowledged sequence number.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Unacknowledged records.
    pub fn backlog(&self) -> usize {
        self.pending.len()
    }

    /// Appends events: written before returning (a SIGKILL loses none), on disk before
    /// returning under `SyncPolicy::Always`, else with the controller's next flush.
    pub fn push(&mut self, events: Vec<AcctEvent>) -> Result<(), StateError> {
        if events.is_empty() {
            return Ok(());
        }
        let path = self.dir.join("spool.jsonl");
        let mut buf = Vec::with_capacity(events.len() * 768);
        let mut records = Vec::with_capacity(events.len());
        for (n, event) in events.into_iter().enumerate() {
            let record = AcctRecord {
                seq: self.next_seq + n as u64,
                event,
            };
            serde_json::to_writer(&mut buf, &record).map_err(|e| StateError::Io {
                path: path.display().to_string(),
                source: e.into(),
            })?;
            buf.push(b'\n');
            records.push(record);
        }
        self.file.write_all(&buf).map_err(io_err(&path))?;
        if self.policy == SyncPolicy::Always {
            self.file.sync_data().map_err(io_err(&path))?;
        }
        self.next_seq += records.len() as u64;
        self.lines += records.len();
        self.pending.extend(records);
        Ok(())
    }

    /// The oldest unacknowledged records.
    pub fn batch(&self, max: usize) -> Vec<AcctRecord> {
        self.pending.iter().take(max).cloned().collect()
    }

    /// Everything up to `seq` is stored by the dbd: forget it, and trim the spool once it is
    /// long and mostly (or all) acknowledged.
    ///
    /// Acknowledging is cheap: it replaces `acked.hint` without waiting for the disk. After a
    /// crash the hint may be older than the dbd's position, or lost; the lines after the
    /// last mark are then sent again and the dbd skips them. Only trimming, which removes
    /// lines, first writes the `acked` mark durably, so the next sequence number never goes
    /// back whatever became of the hint. (It used to fsync the mark and truncate the spool
    /// at every acknowledgement: about 3.5 ms per sbatch, which waits for its job to be
    /// stored.)
    pub fn ack(&mut self, seq: u64) -> Result<(), StateError> {
        if seq <= self.acked {
            return Ok(());
        }
        while self.pending.front().is_some_and(|r| r.seq <= seq) {
            self.pending.pop_front();
        }
        self.acked = seq;
        let mark = format!("{seq}\n");
        let trim = self.lines > TRIM_AFTER && self.pending.len() * 2 < self.lines;
        if !trim {
            return write_replacing(&self.dir.join(ACKED_HINT), mark.as_bytes(), false);
        }
        write_atomic(&self.dir.join(ACKED), mark.as_bytes())?;
        let path = self.dir.join("spool.jsonl");
        if self.pending.is_empty() {
            self.file.set_len(0).map_err(io_err(&path))?;
            self.file.sync_all().map_err(io_err(&path))?;
            self.lines = 0;
        } else {
            let mut buf = Vec::new();
            for record in &self.pending {
                serde_json::to_writer(&mut buf, record).map_err(|e| StateError::Io {
                    path: path.display().to_string(),
                    source: e.into(),
                })?;
                buf.push(b'\n');
            }
            write_atomic(&path, &buf)?;
            self.file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            self.lines = self.pending.len();
        }
        Ok(())
    }
}

struct Inner {
    spool: Mutex<Spool>,
    wake: Notify,
    /// The highest sequence number the dbd has stored.
    stored: tokio::sync::watch::Sender<u64>,
    /// False from a failed delivery until the next successful one.
    healthy: std::sync::atomic::AtomicBool,
    cluster: String,
    /// Each partition's DefMemPerCPU (what a job without a memory request asks for).
    def_mem_per_cpu_mb: HashMap<String, Option<u64>>,
    /// `http://HOST:PORT` (`https://` under TLS) of the dbd, for logs.
    uri: String,
    /// How to reach it (plain, or TLS trusting the cluster's CA).
    endpoint: tonic::transport::Endpoint,
    /// How each delivery is signed (the controller's key, unless auth/none).
    credentials: CredentialSource,
    /// Which node changes become node events.
    nodes: Mutex<super::node_feed::NodeFeed>,
}

/// A handle on the queue: cheap to clone, shared by the controller's core and the delivery
/// task.
#[derive(Clone)]
pub struct AcctQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AcctQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcctQueue")
            .field("uri", &self.inner.uri)
            .field("backlog", &self.backlog())
            .finish()
    }
}

/// `http://HOST:PORT` (`https://` under TLS) of the dbd named by
/// AccountingStorageHost/Port (default `localhost:6819`).
pub fn dbd_uri(cluster: &ClusterConfig) -> String {
    let (host, port) = crate::client::dbd_address(cluster);
    let mode = crate::tls::TlsMode::from_config(cluster).unwrap_or_default();
    crate::tls::uri(&mode, &host, port)
}

/// Why the queue cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("accounting: {0}")]
    Client(#[from] crate::client::ClientError),
}

impl AcctQueue {
    /// The queue of a controller whose slurm.conf says
    /// `AccountingStorageType=accounting_storage/slurmdbd` (`None` otherwise), spooled under
    /// `state_dir/accounting`.
    /// `state_dir/accounting`; deliveries are signed by `credentials`.
    pub fn for_cluster(
        cluster: &ClusterConfig,
        state_dir: &Path,
        credentials: CredentialSource,
    ) -> Result<Option<Self>, QueueError> {
        if cluster.accounting.storage != AccountingStorage::Slurmdbd {
            return Ok(None);
        }
        Self::open(cluster, &state_dir.join("accounting"), credentials).map(Some)
    }

    /// Opens the spool in `dir` for `cluster`.
    pub fn open(
        cluster: &ClusterConfig,
        dir: &Path,
        credentials: CredentialSource,
    ) -> Result<Self, QueueError> {
        let endpoint = crate::client::dbd_endpoint(cluster, CONNECT_TIMEOUT)?;
        let spool = Spool::open(dir)?;
        if spool.backlog() > 0 {
            tracing::info!(
                "{} accounting records wait for the dbd ({})",
                spool.backlog(),
                dir.display()
            );
        }
        let (stored, _) = tokio::sync::watch::channel(spool.acked());
        Ok(Self {
            inner: Arc::new(Inner {
                spool: Mutex::new(spool),
                wake: Notify::new(),
                stored,
                healthy: std::sync::atomic::AtomicBool::new(true),
                cluster: cluster.cluster_name.clone(),
                def_mem_per_cpu_mb: cluster
                    .partitions
                    .iter()
                    .map(|p| (p.name.clone(), p.def_mem_per_cpu_mb))
                    .collect(),
                uri: dbd_uri(cluster),
                endpoint,
                credentials,
                nodes: Mutex::new(super::node_feed::NodeFeed::new(cluster)),
            }),
        })
    }

    fn spool(&self) -> MutexGuard<'_, Spool> {
        self.inner.spool.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn backlog(&self) -> usize {
        self.spool().backlog()
    }

    pub fn uri(&self) -> &str {
        &self.inner.uri
    }

    /// The sequence number of the newest spooled record.
    pub fn last_seq(&self) -> u64 {
        self.spool().last_seq()
    }

    /// Waits (at most `limit`) until the dbd has stored everything up to `seq`, so that a
    /// job is in sacct when sbatch returns. Returns at once while deliveries fail: then the
    /// record stays spooled and nothing waits for the dbd.
    pub async fn wait_stored(&self, seq: u64, limit: Duration) -> bool {
        use std::sync::atomic::Ordering;
        let mut rx = self.inner.stored.subscribe();
        if *rx.borrow() >= seq {
            return true;
        }
        if !self.inner.healthy.load(Ordering::Relaxed) {
            return false;
        }
        matches!(
            tokio::time::timeout(limit, rx.wait_for(|stored| *stored >= seq)).await,
            Ok(Ok(_))
        )
    }

    fn set_healthy(&self, healthy: bool) {
        self.inner
            .healthy
            .store(healthy, std::sync::atomic::Ordering::Relaxed);
    }

    /// Spools what accounting keeps of a set of journaled changes (jobs as they are now, and
    /// usage of ended jobs) and wakes the delivery task. A spool that cannot be written is
    /// logged, not fatal: the controller goes on scheduling.
    pub fn record(&self, records: &[Record]) {
        self.record_by(records, None);
    }

    /// [`AcctQueue::record`], with node changes (DOWN, DRAIN, back up: node events) made by
    /// `by` (uid, name), or by the controller itself (SlurmUser) when `None`.
    pub fn record_by(&self, records: &[Record], by: Option<(u32, &str)>) {
        let now = crate::commands::now();
        let mut nodes = self.inner.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let events: Vec<AcctEvent> = records
            .iter()
            .filter_map(|r| match r {
                Record::Job(job) => {
                    let def_mem = self
                        .inner
                        .def_mem_per_cpu_mb
                        .get(&job.partition)
                        .copied()
                        .flatten();
                    Some(AcctEvent::Job(Box::new(acct_job(job, def_mem))))
                }
                Record::Usage { job_id, usage } => Some(AcctEvent::Usage {
                    job_id: *job_id,
                    usage: *usage,
                }),
                Record::Steps { job_id, steps } if !steps.steps.is_empty() => {
                    Some(AcctEvent::Steps {
                        job_id: *job_id,
                        steps: steps.steps.iter().map(acct_step).collect(),
                    })
                }
                Record::Node {
                    name,
                    state,
                    reason,
                } => nodes
                    .change(name, state, reason.as_deref(), by, now)
                    .map(AcctEvent::Node),
                _ => None,
            })
            .collect();
        drop(nodes);
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.spool().push(events) {
            tracing::error!("accounting records lost: cannot write the spool: {e}");
            return;
        }
        self.inner.wake.notify_one();
    }

    /// Starts the delivery task.
    pub fn spawn_delivery(&self) -> JoinHandle<()> {
        tokio::spawn(deliver(self.clone()))
    }

    /// Sends one batch; returns whether something was acknowledged, or the error.
    async fn send_batch(
        &self,
        client: &mut SlurmDbdClient<tonic::transport::Channel>,
    ) -> Result<Option<usize>, String> {
        let (epoch, records) = {
            let spool = self.spool();
            (spool.epoch(), spool.batch(BATCH))
        };
        if records.is_empty() {
            return Ok(None);
        }
        let request = RecordJobsRequest {
            cluster: self.inner.cluster.clone(),
            epoch,
            records,
        };
        // A fresh credential for every call, retries included: the dbd accepts each once.
        let request = self
            .inner
            .credentials
            .authed(request)
            .await
            .map_err(|e| e.to_string())?;
        let call = client.record_jobs(request);
        let reply = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(reply)) => reply.into_inner(),
            Ok(Err(status)) => return Err(refusal(&status)),
            Err(_) => return Err("timed out".to_owned()),
        };
        let mut spool = self.spool();
        let before = spool.backlog();
        spool.ack(reply.acked_seq).map_err(|e| e.to_string())?;
        self.inner.stored.send_replace(spool.acked());
        Ok(Some(before - spool.backlog()))
    }
}

/// What a failed delivery is logged as: a refused credential says what to check.
fn refusal(status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unauthenticated => format!(
            "{} (the dbd refused the controller's credential: does it hold the same cluster key?)",
            status.message()
        ),
        tonic::Code::PermissionDenied => format!(
            "{} (the dbd records jobs only for root, its SlurmUser and its own user)",
            status.message()
        ),
        _ => status.message().to_owned(),
    }
}

async fn connect(
    endpoint: &tonic::transport::Endpoint,
) -> Result<SlurmDbdClient<tonic::transport::Channel>, String> {
    let channel = crate::client::connect_daemon(endpoint)
        .await
        .map_err(|e| e.to_string())?;
    Ok(SlurmDbdClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX))
}

/// Delivers the queue in order, forever: batches while there is a backlog, waits for new
/// records otherwise, backs off (200 ms doubling to 30 s) while the dbd cannot be reached
/// or cannot store.
async fn deliver(queue: AcctQueue) {
    let mut client = None;
    let mut backoff = MIN_BACKOFF;
    let mut failing = false;
    loop {
        if queue.backlog() == 0 {
            queue.inner.wake.notified().await;
            continue;
        }
        if client.is_none() {
            match connect(&queue.inner.endpoint).await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    queue.set_healthy(false);
                    if !failing {
                        tracing::warn!(
                            "cannot reach slurmdbd at {}: {e}; {} accounting records spooled, retrying",
                            queue.inner.uri,
                            queue.backlog()
                        );
                        failing = true;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        match queue.send_batch(c).await {
            Ok(_) => {
                queue.set_healthy(true);
                if failing {
                    tracing::info!(
                        "slurmdbd at {} reachable again; {} accounting records left to send",
                        queue.inner.uri,
                        queue.backlog()
                    );
                    failing = false;
                }
                backoff = MIN_BACKOFF;
            }
            Err(e) => {
                queue.set_healthy(false);
                if !failing {
                    tracing::warn!(
                        "slurmdbd at {} did not store accounting records: {e}; {} spooled, retrying",
                        queue.inner.uri,
                        queue.backlog()
                    );
                    failing = true;
                }
                client = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// An srun step as accounting records it.
fn acct_step(step: &crate::proto::StepInfo) -> crate::proto::AcctStep {
    let ended = step.end.is_some();
    crate::proto::AcctStep {
        step: step.step_id.to_string(),
        name: step.name.clone(),
        state: step.state,
        exit_code: step.exit.code,
        exit_signal: step.exit.signal,
        start: Some(step.start),
        end: step.end,
        nodelist: crate::parse::hostlist::compress(&step.nodes),
        alloc_cpus: step.cpus,
        alloc_tres: format!("cpu={},node={}", step.cpus, step.nodes.len()),
        usage: ended.then_some(step.usage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::JobUsage;

    fn usage(job_id: u32) -> AcctEvent {
        AcctEvent::Usage {
            job_id,
            usage: JobUsage::default(),
        }
    }

    #[test]
    fn spool_survives_reopen_and_skips_acknowledged_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        let epoch = s.epoch();
        s.push(vec![usage(1), usage(2)]).unwrap();
        s.push(vec![usage(3)]).unwrap();
        assert_eq!(
            s.batch(10).iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        drop(s);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.epoch(), epoch);
        assert_eq!(s.backlog(), 3);
        s.ack(2).unwrap();
        assert_eq!(s.batch(10).iter().map(|r| r.seq).collect::<Vec<_>>(), [3]);
        drop(s);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.batch(10).iter().map(|r| r.seq).collect::<Vec<_>>(), [3]);
        s.ack(3).unwrap();
        drop(s);
        // Sequence numbers never go back, even with an empty spool.
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.backlog(), 0);
        s.push(vec![usage(4)]).unwrap();
        assert_eq!(s.batch(1)[0].seq, 4);
    }

    #[test]
    fn torn_last_line_is_dropped_and_bad_lines_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        s.push(vec![usage(1), usage(2)]).unwrap();
        drop(s);
        let path = dir.path().join("spool.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":3,\"ev").unwrap();
        drop(f);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.backlog(), 2);
        s.push(vec![usage(3)]).unwrap();
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(
            s.batch(10).iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        drop(s);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("garbage\n{text}")).unwrap();
        let e = Spool::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains("spool.jsonl:1"), "{e}");
    }

    #[test]
    fn a_torn_hint_falls_back_to_the_durable_mark() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        s.push((0..3).map(usage).collect()).unwrap();
        s.ack(2).unwrap();
        drop(s);
        // A crash left the hint empty: everything after the durable mark (none yet) is
        // pending again, and sequence numbers still go on from the spool.
        fs::write(dir.path().join(ACKED_HINT), "").unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.backlog(), 3);
        s.push(vec![usage(4)]).unwrap();
        assert_eq!(s.batch(10).last().unwrap().seq, 4);
    }

    #[test]
    fn a_long_spool_acknowledged_whole_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        let path = dir.path().join("spool.jsonl");
        s.push((0..10).map(usage).collect()).unwrap();
        s.ack(10).unwrap();
        // Short: kept as it is (acknowledged lines are skipped when it is read again).
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 10);
        s.push((0..TRIM_AFTER as u32).map(usage).collect()).unwrap();
        s.ack(TRIM_AFTER as u64 + 10).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
        drop(s);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.backlog(), 0);
        s.push(vec![usage(1)]).unwrap();
        assert_eq!(s.batch(1)[0].seq, TRIM_AFTER as u64 + 11);
    }

    #[test]
    fn long_spools_are_rewritten_without_acknowledged_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        let events: Vec<AcctEvent> = (0..TRIM_AFTER as u32 + 10).map(usage).collect();
        s.push(events).unwrap();
        s.ack(TRIM_AFTER as u64).unwrap();
        assert_eq!(s.backlog(), 10);
        let lines = fs::read_to_string(dir.path().join("spool.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(lines, 10);
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.batch(1)[0].seq, TRIM_AFTER as u64 + 1);
    }

    #[test]
    fn uri_from_config() {
        let mut c = ClusterConfig::new("c");
        assert_eq!(dbd_uri(&c), "http://localhost:6819");
        c.accounting.host = Some("::1".into());
        c.accounting.port = Some(7000);
        assert_eq!(dbd_uri(&c), "http://[::1]:7000");
        c.tls_type = "tls/rustls".into();
        assert_eq!(dbd_uri(&c), "https://[::1]:7000");
    }
}
