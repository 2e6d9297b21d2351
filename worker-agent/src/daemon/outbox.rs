//! Reports of ended jobs waiting for the controller's acknowledgement.
//!
//! A report is written to `<spool>/reports/<job>.json` before it is sent, and removed only
//! once the controller acknowledged it (a `ReportJob` reply, or a `Register` reply for the
//! reports the registration carried), so a report survives both a lost connection and an
//! agent restart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use slurm_core::model::JobId;
use slurm_core::proto::JobReport;
use tokio::sync::Notify;

use super::spool::{self, Spool};

/// A pending report and the number that tells it from a later report of the same job id (a
/// requeued job may run on this node again).
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub seq: u64,
    pub report: JobReport,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    pending: BTreeMap<JobId, Pending>,
}

/// The outbox of one node.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    inner: Mutex<Inner>,
    changed: Notify,
}

impl Outbox {
    /// Loads the reports a previous agent left unacknowledged. Unreadable files are renamed
    /// to `*.json.bad` and logged.
    pub fn load(spool: &Spool) -> Self {
        let dir = spool.reports_dir();
        let mut inner = Inner::default();
        for file in spool::json_files(&dir) {
            match spool::read_json::<JobReport>(&file) {
                Ok(report) => {
                    tracing::info!(
                        job_id = report.job_id,
                        "unacknowledged job report from a previous agent"
                    );
                    inner.next_seq += 1;
                    inner.pending.insert(
                        report.job_id,
                        Pending {
                            seq: inner.next_seq,
                            report,
                        },
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "unreadable job report; set aside as .bad");
                    let _ = std::fs::rename(&file, file.with_extension("json.bad"));
                }
            }
        }
        Self {
            dir,
            inner: Mutex::new(inner),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn path(&self, job_id: JobId) -> PathBuf {
        self.dir.join(format!("{job_id}.json"))
    }

    /// Queues a report (replacing an older one of the same job) and wakes the sender. A
    /// report that cannot be written to disk is still kept in memory.
    pub fn push(&self, report: JobReport) {
        if let Err(e) = spool::write_json(&self.path(report.job_id), &report) {
            tracing::error!(
                job_id = report.job_id,
                error = %e,
                "cannot save the job report in the spool; it is lost if the agent restarts \
                 before the controller acknowledges it"
            );
        }
        {
            let mut inner = self.lock();
            inner.next_seq += 1;
            let seq = inner.next_seq;
            inner.pending.insert(report.job_id, Pending { seq, report });
        }
        self.changed.notify_one();
    }

    /// Every pending report, oldest job id first.
    pub fn pending(&self) -> Vec<Pending> {
        self.lock().pending.values().cloned().collect()
    }

    pub fn contains(&self, job_id: JobId) -> bool {
        self.lock().pending.contains_key(&job_id)
    }

    pub fn is_empty(&self) -> bool {
        self.lock().pending.is_empty()
    }

    /// The controller acknowledged the report `seq` of `job_id`: forget it, unless a newer
    /// report of the job replaced it meanwhile.
    pub fn ack(&self, job_id: JobId, seq: u64) {
        let mut inner = self.lock();
        if inner.pending.get(&job_id).is_some_and(|p| p.seq == seq) {
            inner.pending.remove(&job_id);
            spool::remove(&self.path(job_id));
        }
    }

    /// Waits until a report is pushed (a push since the last wait counts).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slurm_core::engine::JobEnd;
    use slurm_core::model::ExitStatus;
    use slurm_core::proto::JobUsage;

    fn report(job_id: JobId, code: i32) -> JobReport {
        JobReport {
            node: "n1".into(),
            job_id,
            end: JobEnd::Exited(ExitStatus { code, signal: 0 }),
            usage: JobUsage::default(),
            drain_reason: None,
        }
    }

    #[test]
    fn survives_restart_until_acked() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let outbox = Outbox::load(&spool);
        outbox.push(report(3, 0));
        outbox.push(report(4, 1));
        std::fs::write(spool.reports_dir().join("9.json"), b"{oops").unwrap();

        let again = Outbox::load(&spool);
        let pending = again.pending();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[1].report, report(4, 1));
        assert!(spool.reports_dir().join("9.json.bad").exists());

        again.ack(3, pending[0].seq);
        assert!(!again.contains(3));
        assert_eq!(Outbox::load(&spool).pending().len(), 1);
    }

    #[test]
    fn ack_of_a_replaced_report_keeps_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let outbox = Outbox::load(&spool);
        outbox.push(report(5, 0));
        let old = outbox.pending()[0].seq;
        outbox.push(report(5, 2));
        outbox.ack(5, old);
        assert_eq!(outbox.pending()[0].report, report(5, 2));
        assert!(spool.reports_dir().join("5.json").exists());
    }
}
