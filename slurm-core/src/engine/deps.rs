//! Dependency evaluation (`--dependency`).

use super::{Clock, Engine};
use crate::model::{Dependency, DependencySpec, ExitStatus, Job, JobId, JobState};

/// Where a job's dependencies stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepStatus {
    Satisfied,
    Waiting,
    /// Can never be satisfied (e.g. `afterok` on a job that failed).
    Never,
}

/// The job a condition refers to (`None` for singleton).
pub fn target(dep: &Dependency) -> Option<JobId> {
    match *dep {
        Dependency::After(id)
        | Dependency::AfterAny(id)
        | Dependency::AfterOk(id)
        | Dependency::AfterNotOk(id) => Some(id),
        Dependency::Singleton => None,
    }
}

/// What a dependency target looks like from here: an ordinary job, or every task of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetState {
    /// At least one task has not started.
    NotStarted,
    /// All started, at least one still running.
    Running,
    /// All ended; `ok` when every one completed with 0:0.
    Ended { ok: bool },
}

fn ended_ok(state: JobState, exit: Option<ExitStatus>) -> bool {
    state == JobState::Completed && exit.is_none_or(ExitStatus::is_success)
}

impl<C: Clock> Engine<C> {
    fn target_state(&self, id: JobId) -> Option<TargetState> {
        let mut states: Vec<(JobState, Option<ExitStatus>)> = Vec::new();
        if let Some(entry) = self.jobs.get(&id) {
            let still_pending = entry.job.state == JobState::Pending;
            let has_unsplit_tasks = entry.job.array_pending.is_some();
            if still_pending || has_unsplit_tasks {
                return Some(TargetState::NotStarted);
            }
            states.push((entry.job.state, entry.job.exit));
        } else if let Some((state, exit)) = self.history.get(&id) {
            states.push((*state, Some(*exit)));
        } else if !self.array_tasks.contains_key(&id) {
            return None;
        }
        for task in self.array_tasks.get(&id).into_iter().flatten() {
            if let Some(e) = self.jobs.get(task) {
                states.push((e.job.state, e.job.exit));
            } else if let Some((state, exit)) = self.history.get(task) {
                states.push((*state, Some(*exit)));
            }
        }
        if states.iter().any(|(s, _)| *s == JobState::Pending) {
            return Some(TargetState::NotStarted);
        }
        if states.iter().any(|(s, _)| !s.is_finished()) {
            return Some(TargetState::Running);
        }
        Some(TargetState::Ended {
            ok: states.iter().all(|(s, e)| ended_ok(*s, *e)),
        })
    }

    fn condition_status(&self, job: &Job, dep: &Dependency) -> DepStatus {
        use DepStatus::*;
        if *dep == Dependency::Singleton {
            let blocked = self.jobs.values().any(|e| {
                e.job.id < job.id
                    && !e.job.state.is_finished()
                    && e.job.spec.user == job.spec.user
                    && e.job.spec.name == job.spec.name
            });
            return if blocked { Waiting } else { Satisfied };
        }
        let Some(id) = target(dep) else {
            return Satisfied;
        };
        // A target that is gone entirely (purged long ago) no longer blocks anything.
        let Some(state) = self.target_state(id) else {
            return Satisfied;
        };
        match (dep, state) {
            (Dependency::After(_), TargetState::NotStarted) => Waiting,
            (Dependency::After(_), _) => Satisfied,
            (_, TargetState::NotStarted | TargetState::Running) => Waiting,
            (Dependency::AfterAny(_), TargetState::Ended { .. }) => Satisfied,
            (Dependency::AfterOk(_), TargetState::Ended { ok }) => {
                if ok {
                    Satisfied
                } else {
                    Never
                }
            }
            (Dependency::AfterNotOk(_), TargetState::Ended { ok }) => {
                if ok {
                    Never
                } else {
                    Satisfied
                }
            }
            (Dependency::Singleton, _) => Satisfied,
        }
    }

    pub(super) fn dependency_status(&self, job: &Job, spec: &DependencySpec) -> DepStatus {
        if spec.is_empty() {
            return DepStatus::Satisfied;
        }
        let statuses: Vec<DepStatus> = spec
            .conditions
            .iter()
            .map(|d| self.condition_status(job, d))
            .collect();
        if spec.any {
            if statuses.contains(&DepStatus::Satisfied) {
                DepStatus::Satisfied
            } else if statuses.iter().all(|s| *s == DepStatus::Never) {
                DepStatus::Never
            } else {
                DepStatus::Waiting
            }
        } else if statuses.contains(&DepStatus::Never) {
            DepStatus::Never
        } else if statuses.iter().all(|s| *s == DepStatus::Satisfied) {
            DepStatus::Satisfied
        } else {
            DepStatus::Waiting
        }
    }
}
