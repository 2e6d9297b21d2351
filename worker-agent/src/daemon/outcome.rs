//! How a step's end is reported to the controller: [`StepOutcome`] → [`JobReport`].

use slurm_core::engine::JobEnd;
use slurm_core::model::JobId;
use slurm_core::proto::{JobReport, JobUsage, TerminateReason};

use crate::step::{EndReason, StepOutcome};

/// The drain reason of a node whose step survived SIGKILL, as in Slurm.
pub const KILL_TASK_FAILED: &str = "Kill task failed";

/// The engine's [`JobEnd`] for a batch step that ended with `outcome`. `terminate` is why
/// the controller asked the agent to end the job, if it did; `past_time_limit` tells
/// whether the step had reached its time limit (for an unkillable step, whose outcome does
/// not say why it was being killed).
pub fn job_end(
    outcome: &StepOutcome,
    terminate: Option<TerminateReason>,
    past_time_limit: bool,
) -> JobEnd {
    let exit = outcome.exit;
    let requested = |reason: TerminateReason| match reason {
        TerminateReason::TimeLimit => JobEnd::TimedOut,
        TerminateReason::NodeFail => JobEnd::NodeFailed,
        TerminateReason::Cancelled | TerminateReason::Requeue => JobEnd::Cancelled(exit),
    };
    match &outcome.end_reason {
        EndReason::TimedOut => JobEnd::TimedOut,
        EndReason::OutOfMemory => JobEnd::OutOfMemory(exit),
        EndReason::Cancelled => requested(terminate.unwrap_or(TerminateReason::Cancelled)),
        EndReason::Unkillable => match terminate {
            Some(reason) => requested(reason),
            None if past_time_limit => JobEnd::TimedOut,
            None => JobEnd::Exited(exit),
        },
        EndReason::Completed | EndReason::Failed | EndReason::LaunchFailed(_) => {
            JobEnd::Exited(exit)
        }
    }
}

/// What the step used, in the protocol's units.
pub fn usage(outcome: &StepOutcome) -> JobUsage {
    JobUsage {
        elapsed_s: outcome.elapsed.as_secs(),
        cpu_time_ms: u64::try_from(outcome.cpu_time.as_millis()).unwrap_or(u64::MAX),
        max_rss_kb: outcome.max_rss_kib,
    }
}

/// The report of job `job_id` on `node`.
pub fn report(
    node: &str,
    job_id: JobId,
    outcome: &StepOutcome,
    terminate: Option<TerminateReason>,
    past_time_limit: bool,
) -> JobReport {
    JobReport {
        node: node.to_owned(),
        job_id,
        end: job_end(outcome, terminate, past_time_limit),
        usage: usage(outcome),
        drain_reason: (outcome.end_reason == EndReason::Unkillable)
            .then(|| KILL_TASK_FAILED.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slurm_core::model::ExitStatus;
    use std::time::Duration;

    fn outcome(end_reason: EndReason, code: i32, signal: i32) -> StepOutcome {
        StepOutcome {
            exit: ExitStatus { code, signal },
            end_reason,
            elapsed: Duration::from_millis(2_500),
            cpu_time: Duration::from_millis(1_234),
            max_rss_kib: 4_096,
        }
    }

    #[test]
    fn mapping() {
        let exit = |code, signal| ExitStatus { code, signal };
        let cases = [
            (
                outcome(EndReason::Completed, 0, 0),
                None,
                JobEnd::Exited(exit(0, 0)),
            ),
            (
                outcome(EndReason::Failed, 3, 0),
                None,
                JobEnd::Exited(exit(3, 0)),
            ),
            (
                outcome(EndReason::Failed, 0, 9),
                None,
                JobEnd::Exited(exit(0, 9)),
            ),
            (outcome(EndReason::TimedOut, 0, 15), None, JobEnd::TimedOut),
            (
                outcome(EndReason::OutOfMemory, 0, 9),
                None,
                JobEnd::OutOfMemory(exit(0, 9)),
            ),
            (
                outcome(EndReason::Cancelled, 0, 15),
                Some(TerminateReason::Cancelled),
                JobEnd::Cancelled(exit(0, 15)),
            ),
            (
                outcome(EndReason::Cancelled, 0, 15),
                Some(TerminateReason::TimeLimit),
                JobEnd::TimedOut,
            ),
            (
                outcome(EndReason::Cancelled, 0, 15),
                Some(TerminateReason::NodeFail),
                JobEnd::NodeFailed,
            ),
            (
                outcome(EndReason::LaunchFailed("x".into()), 1, 0),
                None,
                JobEnd::Exited(exit(1, 0)),
            ),
        ];
        for (o, terminate, want) in cases {
            assert_eq!(job_end(&o, terminate, false), want, "{o:?} {terminate:?}");
        }
    }

    #[test]
    fn unkillable_drains() {
        let o = outcome(EndReason::Unkillable, 0, 9);
        let r = report("n1", 5, &o, Some(TerminateReason::Cancelled), false);
        assert_eq!(r.end, JobEnd::Cancelled(ExitStatus { code: 0, signal: 9 }));
        assert_eq!(r.drain_reason.as_deref(), Some(KILL_TASK_FAILED));
        assert_eq!(job_end(&o, None, true), JobEnd::TimedOut);
        assert_eq!(
            r.usage,
            JobUsage {
                elapsed_s: 2,
                cpu_time_ms: 1_234,
                max_rss_kb: 4_096
            }
        );
        let fine = report("n1", 5, &outcome(EndReason::Completed, 0, 0), None, false);
        assert_eq!(fine.drain_reason, None);
    }
}
