//! Test fixtures shared by the formatters' and the commands' unit tests.

use crate::model::{Job, JobId, JobSpec, JobState, PendingReason, TimeLimit};

/// A job with only an id, a state and a specification: priority 1 in partition `debug`, no
/// time limit, submitted at 0, with no pending reason, eligible time, start, allocation or
/// exit status. Tests change the fields they care about (`Job { priority: 5, ..job(..) }`).
pub(crate) fn job(id: JobId, state: JobState, spec: JobSpec) -> Job {
    Job {
        id,
        array_job_id: None,
        array_task_id: None,
        spec,
        state,
        reason: PendingReason::None,
        priority: 1,
        partition: "debug".into(),
        time_limit: TimeLimit::Infinite,
        submit_time: 0,
        eligible_time: None,
        start_time: None,
        end_time: None,
        planned_start: None,
        allocation: Vec::new(),
        exit: None,
        restarts: 0,
        cancelled_by: None,
        hold: None,
        array_pending: None,
        configuring: false,
    }
}
