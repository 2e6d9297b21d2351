//! Test fixtures shared by the formatters' and the commands' unit tests.

use crate::model::{Job, JobId, JobSpec, JobState};

/// A job with only an id, a state and a specification: priority 1 in partition `debug`, no
/// time limit, submitted at 0, with no pending reason, eligible time, start, allocation or
/// exit status. Tests change the fields they care about (`Job { priority: 5, ..job(..) }`).
pub(crate) fn job(id: JobId, state: JobState, spec: JobSpec) -> Job {
    Job {
        priority: 1,
        partition: "debug".into(),
        ..Job::new(id, state, spec)
    }
}
