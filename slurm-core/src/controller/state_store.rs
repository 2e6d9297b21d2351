//! Durable controller state (`StateSaveLocation`): a journal of record upserts, fsynced
//! before a request is acknowledged, compacted into a snapshot now and then, plus one file per
//! batch script.
//!
//! Records are outcomes, not inputs: the job as it is after the change. Recovery takes the
//! last record of every job, so it does not depend on replaying the engine's decisions.
//!
//! Layout:
//! ```text
//! DIR/snapshot.json      everything as of the last compaction (written to a temp file,
//!                        fsynced, renamed)
//! DIR/journal.jsonl      records since then, one JSON object a line
//! DIR/scripts/ID.json    the batch script, arguments and environment of job ID
//! ```
//! A torn last journal line (a crash in the middle of a write, never acknowledged) is
//! dropped; a bad line anywhere else is an error naming the file and line.
//!
//! When data reaches the disk is a [`SyncPolicy`]. Either way a record is written to the
//! file (the kernel's page cache) before the request is acknowledged, so a controller killed
//! with SIGKILL loses nothing it acknowledged. `Always` also waits for fdatasync, so a host
//! crash loses nothing either, at one disk flush per request; `Periodic` (the default) flushes
//! in the background within [`PERIODIC_SYNC`], like slurmctld's periodic state save but
//! tighter.

use crate::model::{Job, JobId, NodeState};
use crate::proto::{BatchScript, JobUsage};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One change, as written to the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// A job as it is now (new or changed).
    Job(Box<Job>),
    /// A cancel was requested for a running job by this uid.
    CancelRequested { job_id: JobId, uid: u32 },
    /// What a finished job used.
    Usage { job_id: JobId, usage: JobUsage },
    /// A node's administrative state changed.
    Node {
        name: String,
        state: NodeState,
        reason: Option<String>,
    },
    /// The job was purged after MinJobAge.
    Purged(JobId),
    /// A job's steps (and whether it is an allocation without a batch script), as they are
    /// now.
    Steps {
        job_id: JobId,
        steps: Box<super::steps::JobSteps>,
    },
}

/// Everything recovered from disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recovered {
    pub jobs: BTreeMap<JobId, Job>,
    pub cancels: HashMap<JobId, u32>,
    pub usage: HashMap<JobId, JobUsage>,
    pub nodes: BTreeMap<String, (NodeState, Option<String>)>,
    /// The lowest id never handed out.
    pub next_job_id: JobId,
    /// Jobs' steps (absent from state saved before steps existed).
    #[serde(default)]
    pub steps: HashMap<JobId, super::steps::JobSteps>,
}

impl Recovered {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Job(job) => {
                self.next_job_id = self.next_job_id.max(job.id.saturating_add(1));
                self.jobs.insert(job.id, *job);
            }
            Record::CancelRequested { job_id, uid } => {
                self.cancels.insert(job_id, uid);
            }
            Record::Usage { job_id, usage } => {
                self.usage.insert(job_id, usage);
            }
            Record::Node {
                name,
                state,
                reason,
            } => {
                self.nodes.insert(name, (state, reason));
            }
            Record::Purged(id) => {
                self.jobs.remove(&id);
                self.cancels.remove(&id);
                self.usage.remove(&id);
                self.steps.remove(&id);
            }
            Record::Steps { job_id, steps } => {
                self.steps.insert(job_id, *steps);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}:{line}: unreadable state record: {message}")]
    Corrupt {
        path: String,
        line: usize,
        message: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Journal records between compactions.
const COMPACT_AFTER: usize = 20_000;

/// How often `Periodic` state is flushed to disk.
pub const PERIODIC_SYNC: std::time::Duration = std::time::Duration::from_millis(100);

/// When state reaches the disk (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// fdatasync before every acknowledgement.
    Always,
    /// Written before the acknowledgement, flushed within [`PERIODIC_SYNC`].
    #[default]
    Periodic,
}

impl SyncPolicy {
    /// `SLINKY_STATE_SYNC=always|periodic` (default periodic).
    pub fn from_env() -> Self {
        match std::env::var("SLINKY_STATE_SYNC").as_deref() {
            Ok("always") => Self::Always,
            _ => Self::Periodic,
        }
    }
}

/// Flushes a store's files from outside the lock that guards the store.
#[derive(Debug, Clone)]
pub struct Syncer {
    journal: Arc<File>,
    dirty: Arc<AtomicBool>,
}

impl Syncer {
    /// Flushes everything written since the last flush (journal and scripts), if anything.
    pub fn flush(&self) -> io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        // syncfs covers the script files written without their own fsync as well.
        let result = nix::unistd::syncfs(&*self.journal)
            .map_err(io::Error::from)
            .and_then(|()| self.journal.sync_data());
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

/// The open state directory.
pub struct StateStore {
    dir: PathBuf,
    journal: Arc<File>,
    records: usize,
    policy: SyncPolicy,
    dirty: Arc<AtomicBool>,
    next_job_id: JobId,
}

impl StateStore {
    /// Opens (creating if needed) a state directory and reads what it holds.
    pub fn open(dir: &Path) -> Result<(Self, Recovered), StateError> {
        fs::create_dir_all(dir.join("scripts")).map_err(io_err(dir))?;
        let mut recovered = Recovered {
            next_job_id: 1,
            ..Recovered::default()
        };
        let snapshot = dir.join("snapshot.json");
        if snapshot.exists() {
            let text = fs::read_to_string(&snapshot).map_err(io_err(&snapshot))?;
            recovered = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path: snapshot.display().to_string(),
                line: e.line(),
                message: e.to_string(),
            })?;
        }
        let journal_path = dir.join("journal.jsonl");
        let mut records = 0;
        let mut valid_len = 0u64;
        if journal_path.exists() {
            let file = File::open(&journal_path).map_err(io_err(&journal_path))?;
            let mut lines = BufReader::new(file).lines().enumerate().peekable();
            while let Some((index, line)) = lines.next() {
                let line = line.map_err(io_err(&journal_path))?;
                let is_last = lines.peek().is_none();
                match serde_json::from_str::<Record>(&line) {
                    Ok(record) => {
                        recovered.apply(record);
                        records += 1;
                        valid_len += line.len() as u64 + 1;
                    }
                    Err(_) if is_last => {
                        tracing::warn!(
                            "{}:{}: dropping a torn last record (never acknowledged)",
                            journal_path.display(),
                            index + 1
                        );
                    }
                    Err(e) => {
                        return Err(StateError::Corrupt {
                            path: journal_path.display().to_string(),
                            line: index + 1,
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)
            .map_err(io_err(&journal_path))?;
        // Cut a torn tail so new records start on a line of their own.
        if journal.metadata().map_err(io_err(&journal_path))?.len() != valid_len {
            journal.set_len(valid_len).map_err(io_err(&journal_path))?;
        }
        let store = Self {
            dir: dir.to_owned(),
            journal: Arc::new(journal),
            records,
            policy: SyncPolicy::from_env(),
            dirty: Arc::new(AtomicBool::new(false)),
            next_job_id: recovered.next_job_id,
        };
        Ok((store, recovered))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends records and waits until they are on disk.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(records.len() * 512);
        for record in records {
            if let Record::Job(job) = record {
                self.next_job_id = self.next_job_id.max(job.id.saturating_add(1));
            }
            serde_json::to_writer(&mut buf, record).map_err(|e| StateError::Io {
                path: self.journal_path().display().to_string(),
                source: io::Error::other(e),
            })?;
            buf.push(b'\n');
        }
        let path = self.journal_path();
        (&*self.journal).write_all(&buf).map_err(io_err(&path))?;
        match self.policy {
            SyncPolicy::Always => self.journal.sync_data().map_err(io_err(&path))?,
            SyncPolicy::Periodic => self.dirty.store(true, Ordering::Release),
        }
        self.records += records.len();
        Ok(())
    }

    /// True when the journal is long enough to be folded into a snapshot.
    pub fn wants_compaction(&self) -> bool {
        self.records >= COMPACT_AFTER
    }

    /// Writes `state` as the new snapshot and empties the journal.
    pub fn compact(&mut self, mut state: Recovered) -> Result<(), StateError> {
        let past_jobs = state.jobs.keys().max().map_or(1, |id| id.saturating_add(1));
        state.next_job_id = state.next_job_id.max(self.next_job_id).max(past_jobs);
        self.next_job_id = state.next_job_id;
        let path = self.dir.join("snapshot.json");
        let tmp = self.dir.join("snapshot.json.tmp");
        let data = serde_json::to_vec(&state).map_err(|e| StateError::Io {
            path: tmp.display().to_string(),
            source: io::Error::other(e),
        })?;
        // Scripts written under the periodic policy reach the disk before the journal that
        // covers them is emptied.
        nix::unistd::syncfs(&*self.journal).map_err(|e| io_err(&self.dir)(io::Error::from(e)))?;
        write_synced(&tmp, &data)?;
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(&self.dir)?;
        let journal = self.journal_path();
        self.journal.set_len(0).map_err(io_err(&journal))?;
        self.journal.sync_all().map_err(io_err(&journal))?;
        self.records = 0;
        Ok(())
    }

    /// Saves a job's batch script durably (before the submission is acknowledged).
    pub fn save_script(&self, job_id: JobId, script: &BatchScript) -> Result<(), StateError> {
        let path = self.script_path(job_id);
        let data = serde_json::to_vec(script).map_err(|e| StateError::Io {
            path: path.display().to_string(),
            source: io::Error::other(e),
        })?;
        match self.policy {
            SyncPolicy::Always => write_synced(&path, &data),
            SyncPolicy::Periodic => {
                fs::write(&path, &data).map_err(io_err(&path))?;
                self.dirty.store(true, Ordering::Release);
                Ok(())
            }
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> SyncPolicy {
        self.policy
    }

    /// Sets the policy (tests; the controller takes it from the environment).
    pub fn set_policy(&mut self, policy: SyncPolicy) {
        self.policy = policy;
    }

    /// A handle that flushes this store in the background.
    pub fn syncer(&self) -> Syncer {
        Syncer {
            journal: self.journal.clone(),
            dirty: self.dirty.clone(),
        }
    }

    pub fn load_script(&self, job_id: JobId) -> Result<BatchScript, StateError> {
        let path = self.script_path(job_id);
        let text = fs::read_to_string(&path).map_err(io_err(&path))?;
        serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: path.display().to_string(),
            line: e.line(),
            message: e.to_string(),
        })
    }

    pub fn remove_script(&self, job_id: JobId) {
        let _ = fs::remove_file(self.script_path(job_id));
    }

    fn script_path(&self, job_id: JobId) -> PathBuf {
        self.dir.join("scripts").join(format!("{job_id}.json"))
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }
}

fn write_synced(path: &Path, data: &[u8]) -> Result<(), StateError> {
    let mut file = File::create(path).map_err(io_err(path))?;
    file.write_all(data).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, JobState};

    fn job(id: JobId, state: JobState) -> Job {
        Job {
            priority: 1,
            partition: "debug".into(),
            submit_time: 100,
            ..Job::new(id, state, JobSpec::default())
        }
    }

    #[test]
    fn records_survive_reopen_and_last_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, rec) = StateStore::open(dir.path()).unwrap();
        assert_eq!(rec.next_job_id, 1);
        store
            .append(&[
                Record::Job(Box::new(job(1, JobState::Pending))),
                Record::Job(Box::new(job(2, JobState::Pending))),
            ])
            .unwrap();
        store
            .append(&[Record::Job(Box::new(job(1, JobState::Running)))])
            .unwrap();
        drop(store);
        let (_, rec) = StateStore::open(dir.path()).unwrap();
        assert_eq!(rec.jobs.len(), 2);
        assert_eq!(rec.jobs[&1].state, JobState::Running);
        assert_eq!(rec.next_job_id, 3);
    }

    #[test]
    fn torn_last_line_is_dropped_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = StateStore::open(dir.path()).unwrap();
        store
            .append(&[Record::Job(Box::new(job(1, JobState::Pending)))])
            .unwrap();
        drop(store);
        let path = dir.path().join("journal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"Job\":{\"id\":2,").unwrap();
        drop(f);
        let (mut store, rec) = StateStore::open(dir.path()).unwrap();
        assert_eq!(rec.jobs.len(), 1);
        store
            .append(&[Record::Job(Box::new(job(3, JobState::Pending)))])
            .unwrap();
        drop(store);
        let (_, rec) = StateStore::open(dir.path()).unwrap();
        assert_eq!(rec.jobs.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn corrupt_middle_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path()).unwrap();
        fs::write(
            dir.path().join("journal.jsonl"),
            "garbage\n{\"Purged\":1}\n",
        )
        .unwrap();
        let err = StateStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("journal.jsonl:1:"), "{err}");
    }

    #[test]
    fn compaction_keeps_state_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = StateStore::open(dir.path()).unwrap();
        store
            .append(&[
                Record::Job(Box::new(job(7, JobState::Completed))),
                Record::Purged(7),
            ])
            .unwrap();
        let (_, mut rec) = StateStore::open(dir.path()).unwrap();
        assert!(rec.jobs.is_empty());
        rec.jobs.insert(8, job(8, JobState::Pending));
        store.compact(rec).unwrap();
        drop(store);
        let (_, rec) = StateStore::open(dir.path()).unwrap();
        assert_eq!(rec.jobs.keys().copied().collect::<Vec<_>>(), vec![8]);
        assert_eq!(rec.next_job_id, 9);
    }

    #[test]
    fn both_sync_policies_keep_what_was_written() {
        for policy in [SyncPolicy::Always, SyncPolicy::Periodic] {
            let dir = tempfile::tempdir().unwrap();
            let (mut store, _) = StateStore::open(dir.path()).unwrap();
            store.set_policy(policy);
            let syncer = store.syncer();
            store
                .append(&[Record::Job(Box::new(job(4, JobState::Pending)))])
                .unwrap();
            store.save_script(4, &BatchScript::default()).unwrap();
            syncer.flush().unwrap();
            // Nothing dirty left: a second flush is a no-op.
            assert!(!syncer.dirty.load(Ordering::Acquire));
            syncer.flush().unwrap();
            drop(store);
            let (store, rec) = StateStore::open(dir.path()).unwrap();
            assert_eq!(rec.jobs.len(), 1, "{policy:?}");
            assert!(store.load_script(4).is_ok());
        }
    }

    #[test]
    fn scripts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = StateStore::open(dir.path()).unwrap();
        let script = BatchScript {
            script: "#!/bin/sh\necho hi\n".into(),
            args: vec!["a".into()],
            environment: vec![("PATH".into(), "/bin".into())],
        };
        store.save_script(5, &script).unwrap();
        assert_eq!(store.load_script(5).unwrap(), script);
        store.remove_script(5);
        assert!(store.load_script(5).is_err());
    }

    #[test]
    fn steps_survive_reopen_and_purge() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = StateStore::open(dir.path()).unwrap();
        let mut steps = crate::controller::steps::JobSteps::allocation();
        steps.next_step = 2;
        store
            .append(&[
                Record::Job(Box::new(job(1, JobState::Running))),
                Record::Steps {
                    job_id: 1,
                    steps: Box::new(steps.clone()),
                },
            ])
            .unwrap();
        drop(store);
        let (mut store, rec) = StateStore::open(dir.path()).unwrap();
        assert_eq!(rec.steps.get(&1), Some(&steps));
        store.append(&[Record::Purged(1)]).unwrap();
        drop(store);
        let (_, rec) = StateStore::open(dir.path()).unwrap();
        assert!(rec.steps.is_empty());
    }
}
