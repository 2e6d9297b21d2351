//! Job ids as users type them (`123`, `123_4`, `123_[1-3,7]`) and how they select jobs from a
//! job list, the way squeue, scancel and scontrol match them.

use crate::model::{ArraySpec, Job, JobId, JobRef};
use crate::parse::sbatch::parse_array;

/// A job id argument that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid job id: {0}")]
pub struct BadJobId(pub String);

/// Parses one job id: `123`, `123_4` or `123_[1-3,7]` (expanded to one reference per task).
pub fn parse_job_id(s: &str) -> Result<Vec<JobRef>, BadJobId> {
    let bad = || BadJobId(s.to_owned());
    let (job, task) = match s.split_once('_') {
        Some((job, task)) => (job, Some(task)),
        None => (s, None),
    };
    let job_id = parse_id(job).filter(|&id| id > 0).ok_or_else(bad)?;
    let Some(task) = task else {
        return Ok(vec![JobRef {
            job_id,
            array_task: None,
        }]);
    };
    let indices = if let Some(list) = task.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        // A throttle (`123_[2-4%2]`, as squeue and sacct print pending arrays) selects the
        // same tasks.
        let spec = parse_array(list).map_err(|_| bad())?;
        spec.indices
    } else {
        vec![parse_id(task).ok_or_else(bad)?]
    };
    Ok(indices
        .into_iter()
        .map(|t| JobRef {
            job_id,
            array_task: Some(t),
        })
        .collect())
}

/// Parses a comma-separated list of job ids (brackets may hold commas: `5_[1,3],7`).
pub fn parse_job_list(s: &str) -> Result<Vec<JobRef>, BadJobId> {
    let mut out = Vec::new();
    for item in split_outside_brackets(s) {
        if !item.is_empty() {
            out.extend(parse_job_id(item)?);
        }
    }
    Ok(out)
}

/// Splits a list at the commas outside brackets: `5_[1,3],7` → `5_[1,3]`, `7`.
pub(super) fn split_outside_brackets(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether `job` is (part of) the job `sel` names: `123` names job 123 and every task of
/// array 123; `123_4` names task 4 of array 123, split off or still in the pending record.
pub fn selects(sel: &JobRef, job: &Job) -> bool {
    match sel.array_task {
        None => job.id == sel.job_id || job.array_job_id == Some(sel.job_id),
        Some(task) => {
            job.array_job_id == Some(sel.job_id)
                && (job.array_task_id == Some(task) || pending_tasks(job).contains(&task))
        }
    }
}

/// The id of the job record `sel` names on its own: `123` is job 123; `123_4` is the job id
/// task 4 of array 123 got when it was split off from the pending record to start (`None`
/// while the task is still pending, or when `jobs` has no such task).
pub fn own_job_id(sel: &JobRef, jobs: &[Job]) -> Option<JobId> {
    let Some(task) = sel.array_task else {
        return Some(sel.job_id);
    };
    jobs.iter()
        .find(|j| j.array_job_id == Some(sel.job_id) && j.array_task_id == Some(task))
        .map(|j| j.id)
}

/// The task indices still held by an array's pending record (empty for other jobs).
pub fn pending_tasks(job: &Job) -> &[u32] {
    job.array_pending.as_ref().map_or(&[], |a| &a.indices)
}

/// The job as the selectors show it: a pending array record named only through some of its
/// tasks keeps just those tasks (one task prints as `123_4`), as squeue does. `None` when no
/// selector names the job.
pub fn restrict(job: &Job, sels: &[JobRef]) -> Option<Job> {
    if sels
        .iter()
        .any(|s| s.array_task.is_none() && selects(s, job))
    {
        return Some(job.clone());
    }
    let pending = pending_tasks(job);
    if pending.is_empty() {
        return sels.iter().any(|s| selects(s, job)).then(|| job.clone());
    }
    let wanted: Vec<u32> = pending
        .iter()
        .copied()
        .filter(|t| {
            sels.iter()
                .any(|s| s.job_id == job.array_job_id.unwrap_or(job.id) && s.array_task == Some(*t))
        })
        .collect();
    match wanted.as_slice() {
        [] => None,
        [task] => Some(as_task(job, *task)),
        _ => {
            let mut j = job.clone();
            j.array_pending = Some(ArraySpec {
                indices: wanted,
                max_running: job.array_pending.as_ref().and_then(|a| a.max_running),
            });
            Some(j)
        }
    }
}

/// One pending task of an array's pending record, as its own row (`squeue -r`).
pub fn as_task(job: &Job, task: u32) -> Job {
    let mut j = job.clone();
    j.array_job_id = Some(job.array_job_id.unwrap_or(job.id));
    j.array_task_id = Some(task);
    j.array_pending = None;
    j
}

/// Expands every array pending record into one job per task (`squeue -r`).
pub fn expand_arrays(jobs: Vec<Job>) -> Vec<Job> {
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let tasks = pending_tasks(&job);
        if tasks.is_empty() {
            out.push(job);
        } else {
            out.extend(tasks.iter().map(|&t| as_task(&job, t)));
        }
    }
    out
}

/// The references that address exactly what a job record holds: its own reference, or one
/// per pending task for an array's pending record (so that cancelling it leaves the array's
/// running tasks alone).
pub fn refs_of(job: &Job) -> Vec<JobRef> {
    let tasks = pending_tasks(job);
    if tasks.is_empty() {
        return vec![job.job_ref()];
    }
    let job_id: JobId = job.array_job_id.unwrap_or(job.id);
    tasks
        .iter()
        .map(|&t| JobRef {
            job_id,
            array_task: Some(t),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, JobState};

    fn r(job_id: u32, task: Option<u32>) -> JobRef {
        JobRef {
            job_id,
            array_task: task,
        }
    }

    fn job(id: u32) -> Job {
        crate::format::testing::job(id, JobState::Pending, JobSpec::default())
    }

    fn array_record(id: u32, tasks: &[u32]) -> Job {
        let mut j = job(id);
        j.array_job_id = Some(id);
        j.array_pending = Some(ArraySpec {
            indices: tasks.to_vec(),
            max_running: None,
        });
        j
    }

    fn task(id: u32, array: u32, t: u32) -> Job {
        let mut j = job(id);
        j.array_job_id = Some(array);
        j.array_task_id = Some(t);
        j
    }

    #[test]
    fn job_id_spellings() {
        assert_eq!(parse_job_id("12"), Ok(vec![r(12, None)]));
        assert_eq!(parse_job_id("12_3"), Ok(vec![r(12, Some(3))]));
        assert_eq!(
            parse_job_id("12_[1-2,5]"),
            Ok(vec![r(12, Some(1)), r(12, Some(2)), r(12, Some(5))])
        );
        for bad in ["", "0", "x", "12_", "12_x", "_3", "-5", "12.0", "1_2_3"] {
            assert_eq!(parse_job_id(bad), Err(BadJobId(bad.to_owned())), "{bad}");
        }
        assert_eq!(
            parse_job_id("12_[1-2%1]"),
            Ok(vec![r(12, Some(1)), r(12, Some(2))])
        );
        assert_eq!(
            parse_job_list("5_[1,3],7,"),
            Ok(vec![r(5, Some(1)), r(5, Some(3)), r(7, None)])
        );
        assert_eq!(
            BadJobId("x".into()).to_string(),
            "Invalid job id: x".to_owned()
        );
    }

    #[test]
    fn selection_covers_arrays() {
        let record = array_record(10, &[3, 4]);
        let running = task(11, 10, 1);
        assert!(selects(&r(10, None), &record));
        assert!(selects(&r(10, None), &running));
        assert!(selects(&r(10, Some(4)), &record));
        assert!(!selects(&r(10, Some(1)), &record));
        assert!(selects(&r(10, Some(1)), &running));
        assert!(selects(&r(11, None), &running));
        assert!(!selects(&r(11, Some(1)), &running));
        assert!(!selects(&r(12, None), &record));
    }

    #[test]
    fn restricting_a_pending_record() {
        let record = array_record(10, &[3, 4, 5]);
        let one = restrict(&record, &[r(10, Some(4))]).unwrap();
        assert_eq!(one.job_ref(), r(10, Some(4)));
        assert!(one.array_pending.is_none());
        let two = restrict(&record, &[r(10, Some(3)), r(10, Some(5))]).unwrap();
        assert_eq!(two.array_pending.unwrap().indices, vec![3, 5]);
        assert_eq!(restrict(&record, &[r(10, None)]), Some(record.clone()));
        assert_eq!(restrict(&record, &[r(10, Some(9))]), None);
        assert_eq!(restrict(&job(4), &[r(4, None)]), Some(job(4)));
        assert_eq!(restrict(&job(4), &[r(5, None)]), None);
    }

    #[test]
    fn array_tasks_resolve_to_their_own_job_ids() {
        let jobs = vec![task(4, 3, 1), task(3, 3, 0), array_record(5, &[2, 3])];
        assert_eq!(own_job_id(&r(3, Some(1)), &jobs), Some(4));
        assert_eq!(own_job_id(&r(3, Some(0)), &jobs), Some(3));
        assert_eq!(own_job_id(&r(3, Some(9)), &jobs), None, "no such task");
        assert_eq!(own_job_id(&r(5, Some(2)), &jobs), None, "still pending");
        assert_eq!(
            own_job_id(&r(42, None), &[]),
            Some(42),
            "plain ids need no lookup"
        );
    }

    #[test]
    fn expansion_and_refs() {
        let jobs = expand_arrays(vec![array_record(10, &[3, 4]), job(2)]);
        let refs: Vec<JobRef> = jobs.iter().map(Job::job_ref).collect();
        assert_eq!(refs, vec![r(10, Some(3)), r(10, Some(4)), r(2, None)]);
        assert_eq!(
            refs_of(&array_record(10, &[3, 4])),
            vec![r(10, Some(3)), r(10, Some(4))]
        );
        assert_eq!(refs_of(&task(11, 10, 1)), vec![r(10, Some(1))]);
        assert_eq!(refs_of(&job(2)), vec![r(2, None)]);
    }
}
