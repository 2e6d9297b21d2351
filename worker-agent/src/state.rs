//! Step state files, so that a restarted agent can find the steps still running.
//!
//! Each running step has `<spool>/steps/<job>.<step>.json` with its leader's pid, process
//! group, start time (clock ticks since boot, from `/proc/<pid>/stat`, which tells a live
//! step from a reused pid), its cgroup and its wall-clock start. The file is written right
//! after launch and removed once the step is finished. [`recover`] reads them all after a
//! restart.
//!
//! What re-adoption needs beyond this (for the daemon): a recovered step is not a child of
//! the new agent, so its exit status cannot be collected with `wait`; the agent can only
//! watch the cgroup (or the pid) until it empties, account usage from the cgroup, report the
//! step as ended with an unknown exit code, and enforce the time limit from `started_at`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::procfs;
use crate::step::StepId;

/// One running step as recorded on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub job_id: u32,
    /// [`StepId`] as displayed (`batch`, `0`, `interactive`).
    pub step_id: String,
    pub pid: i32,
    pub pgid: i32,
    /// `/proc/<pid>/stat` start time, in clock ticks since boot.
    pub start_ticks: u64,
    /// Wall-clock start, seconds since the Unix epoch.
    pub started_at: i64,
    pub cgroup: Option<PathBuf>,
    pub uid: u32,
}

impl StepRecord {
    pub fn step(&self) -> Option<StepId> {
        StepId::parse(&self.step_id)
    }
}

/// What [`recover`] found for one state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveredStep {
    /// The step's leader is alive with the recorded start time.
    Running(StepRecord),
    /// The step is gone (or the file is unreadable); `reason` says why. Its state file is
    /// removed.
    Lost {
        file: PathBuf,
        record: Option<StepRecord>,
        reason: String,
    },
}

/// A state file could not be written or removed.
#[derive(Debug, thiserror::Error)]
#[error("step state file {path}: {source}")]
pub struct StateError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The directory of state files under the spool directory.
pub fn state_dir(spool: &Path) -> PathBuf {
    spool.join("steps")
}

fn record_path(spool: &Path, job_id: u32, step: &str) -> PathBuf {
    state_dir(spool).join(format!("{job_id}.{step}.json"))
}

/// Writes (atomically: temporary file, then rename) the state file of `record`.
pub fn save(spool: &Path, record: &StepRecord) -> Result<PathBuf, StateError> {
    let dir = state_dir(spool);
    let path = record_path(spool, record.job_id, &record.step_id);
    let err = |source| StateError {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(&dir).map_err(err)?;
    let json = serde_json::to_vec_pretty(record).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, json).map_err(err)?;
    fs::rename(&tmp, &path).map_err(err)?;
    Ok(path)
}

/// Removes the state file of a finished step (missing is fine).
pub fn remove(spool: &Path, job_id: u32, step: &str) -> Result<(), StateError> {
    let path = record_path(spool, job_id, step);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StateError { path, source: e }),
        _ => Ok(()),
    }
}

/// Reads every state file under `spool` and checks each step's leader. Files of lost steps
/// are removed; running ones are kept for the new agent to watch.
pub fn recover(spool: &Path) -> Vec<RecoveredStep> {
    let dir = state_dir(spool);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let found = check(&file);
        if let RecoveredStep::Lost { reason, .. } = &found {
            tracing::warn!(file = %file.display(), %reason, "step from a previous agent is lost");
            let _ = fs::remove_file(&file);
        } else {
            tracing::info!(file = %file.display(), "step from a previous agent is still running");
        }
        out.push(found);
    }
    out
}

fn check(file: &Path) -> RecoveredStep {
    let lost = |record: Option<StepRecord>, reason: String| RecoveredStep::Lost {
        file: file.to_path_buf(),
        record,
        reason,
    };
    let record: StepRecord = match fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => return lost(None, format!("unreadable state file: {e}")),
    };
    match procfs::read_stat(record.pid) {
        None => {
            let reason = format!("process {} no longer exists", record.pid);
            lost(Some(record), reason)
        }
        Some(s) if s.starttime != record.start_ticks => {
            let reason = format!(
                "pid {} was reused by another process (start time {} instead of {})",
                record.pid, s.starttime, record.start_ticks
            );
            lost(Some(record), reason)
        }
        Some(s) if s.is_zombie() => {
            let reason = format!(
                "process {} has exited (zombie) and its status cannot be collected",
                record.pid
            );
            lost(Some(record), reason)
        }
        Some(_) => RecoveredStep::Running(record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: i32, start_ticks: u64) -> StepRecord {
        StepRecord {
            job_id: 42,
            step_id: "batch".into(),
            pid,
            pgid: pid,
            start_ticks,
            started_at: 1_700_000_000,
            cgroup: Some(PathBuf::from("/sys/fs/cgroup/slinky/job_42/step_batch")),
            uid: 1000,
        }
    }

    #[test]
    fn round_trip_and_recover() {
        let spool = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let start = procfs::read_stat(me).unwrap().starttime;

        let alive = record(me, start);
        save(spool.path(), &alive).unwrap();
        let reused = StepRecord {
            job_id: 43,
            ..record(me, start + 1)
        };
        save(spool.path(), &reused).unwrap();
        let gone = StepRecord {
            job_id: 44,
            step_id: "0".into(),
            ..record(i32::MAX, 1)
        };
        save(spool.path(), &gone).unwrap();
        fs::write(state_dir(spool.path()).join("45.batch.json"), b"{not json").unwrap();

        let found = recover(spool.path());
        assert_eq!(found.len(), 4);
        assert_eq!(found[0], RecoveredStep::Running(alive.clone()));
        assert_eq!(alive.step(), Some(StepId::Batch));
        let reasons: Vec<&str> = found[1..]
            .iter()
            .map(|f| match f {
                RecoveredStep::Lost { reason, .. } => reason.as_str(),
                RecoveredStep::Running(_) => "running",
            })
            .collect();
        assert!(reasons[0].contains("reused"), "{}", reasons[0]);
        assert!(reasons[1].contains("no longer exists"), "{}", reasons[1]);
        assert!(reasons[2].contains("unreadable"), "{}", reasons[2]);

        // Lost files were removed; the running one stays until the step is finished.
        assert_eq!(recover(spool.path()).len(), 1);
        remove(spool.path(), 42, "batch").unwrap();
        remove(spool.path(), 42, "batch").unwrap();
        assert!(recover(spool.path()).is_empty());
    }

    #[test]
    fn missing_spool_recovers_nothing() {
        assert!(recover(Path::new("/nonexistent/spool")).is_empty());
    }
}
