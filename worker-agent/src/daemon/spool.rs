//! The agent's files in its spool directory, besides what the step runtime keeps there
//! (`job<id>/slurm_script`, `steps/<job>.<step>.json`):
//!
//! - `jobs/<id>.json`: a [`JobRecord`] per running job, what a restarted agent needs to go
//!   on supervising a re-adopted step (time limit, kill timers, GPUs);
//! - `reports/<id>.json`: how a job ended, kept until the controller acknowledged it (see
//!   [`super::outbox`]).
//!
//! Files are written atomically (temporary file, then rename).

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use slurm_core::model::JobId;

use super::AgentError;

/// What the agent remembers about a running job across its own restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: JobId,
    /// The job's time limit in seconds; `None`: unlimited.
    pub time_limit_s: Option<u64>,
    /// `KillWait` when the job was launched.
    pub kill_wait_s: u64,
    /// `UnkillableStepTimeout` when the job was launched.
    pub unkillable_step_timeout_s: u64,
    /// GPU indices given to the job on this node.
    pub gpus: Vec<u32>,
}

/// The spool directory of one node.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
}

impl Spool {
    /// Creates (if needed) the spool directory and its subdirectories.
    pub fn open(root: &Path) -> Result<Self, AgentError> {
        let spool = Self {
            root: root.to_path_buf(),
        };
        for dir in [spool.root.clone(), spool.jobs_dir(), spool.reports_dir()] {
            fs::create_dir_all(&dir).map_err(|source| AgentError::Spool {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(spool)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }

    fn job_path(&self, job_id: JobId) -> PathBuf {
        self.jobs_dir().join(format!("{job_id}.json"))
    }

    /// Records a launched job.
    pub fn save_job(&self, record: &JobRecord) -> std::io::Result<()> {
        write_json(&self.job_path(record.job_id), record)
    }

    /// The record of a job, if there is a readable one.
    pub fn load_job(&self, job_id: JobId) -> Option<JobRecord> {
        read_json(&self.job_path(job_id))
            .map_err(|e| {
                tracing::warn!(job_id, error = %e, "job record unreadable");
            })
            .ok()
    }

    /// Forgets a job (missing is fine).
    pub fn remove_job(&self, job_id: JobId) {
        remove(&self.job_path(job_id));
    }

    /// Job ids that have a record (running, or ended while no agent ran).
    pub fn recorded_jobs(&self) -> Vec<JobId> {
        json_files(&self.jobs_dir())
            .iter()
            .filter_map(|p| p.file_stem()?.to_str()?.parse().ok())
            .collect()
    }
}

/// Writes `value` as JSON to `path`, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, json)?;
    fs::rename(&tmp, path)
}

/// Reads a JSON file.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Removes a file, logging failures other than "not found".
pub(crate) fn remove(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove spool file");
    }
}

/// The `*.json` files of a directory, sorted.
pub(crate) fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("n1")).unwrap();
        let rec = JobRecord {
            job_id: 7,
            time_limit_s: Some(60),
            kill_wait_s: 30,
            unkillable_step_timeout_s: 60,
            gpus: vec![1],
        };
        spool.save_job(&rec).unwrap();
        assert_eq!(spool.load_job(7), Some(rec));
        assert_eq!(spool.recorded_jobs(), vec![7]);
        spool.remove_job(7);
        spool.remove_job(7);
        assert_eq!(spool.load_job(7), None);
        assert!(spool.recorded_jobs().is_empty());
    }

    #[test]
    fn unwritable_spool_is_an_error() {
        let err = Spool::open(Path::new("/proc/no-such-spool")).unwrap_err();
        assert!(err.to_string().contains("/proc/no-such-spool"), "{err}");
    }
}
