//! Array tasks addressed one by one (`scancel 123_4`, `scontrol hold 123_4`) before they start.

use super::{Clock, Engine, EngineError};
use crate::model::JobId;

impl<C: Clock> Engine<C> {
    /// Splits pending task `index` of array job `array_id` off as its own pending job and
    /// returns that job's id; a task that already has its own record returns that record.
    pub fn split_pending_array_task(
        &mut self,
        array_id: JobId,
        index: u32,
    ) -> Result<JobId, EngineError> {
        if let Some(existing) = self
            .array_tasks
            .get(&array_id)
            .into_iter()
            .flatten()
            .copied()
            .chain(std::iter::once(array_id))
            .find(|id| {
                self.jobs
                    .get(id)
                    .is_some_and(|e| e.job.array_task_id == Some(index))
            })
        {
            return Ok(existing);
        }
        let entry = self
            .jobs
            .get_mut(&array_id)
            .ok_or(EngineError::UnknownJob(array_id))?;
        let array = entry
            .job
            .array_pending
            .as_mut()
            .ok_or(EngineError::UnknownJob(array_id))?;
        let pos = array
            .indices
            .iter()
            .position(|&i| i == index)
            .ok_or(EngineError::UnknownJob(array_id))?;
        array.indices.remove(pos);
        if array.indices.is_empty() {
            // The last pending task keeps the array's own record.
            entry.job.array_pending = None;
            entry.job.array_task_id = Some(index);
            return Ok(array_id);
        }
        let mut task = entry.job.clone();
        task.id = self.next_id;
        self.next_id += 1;
        task.array_task_id = Some(index);
        task.array_pending = None;
        let task_id = task.id;
        self.array_tasks.entry(array_id).or_default().push(task_id);
        // The task leaves the array's pending count and counts as its own job.
        self.active.remove(&task.spec, 1);
        self.insert_pending(task);
        Ok(task_id)
    }

    /// Ids of the records that belong to array job `array_id` (its own record and split-off
    /// tasks), or just `array_id` for an ordinary job.
    pub fn array_members(&self, array_id: JobId) -> Vec<JobId> {
        let mut ids: Vec<JobId> = self
            .jobs
            .contains_key(&array_id)
            .then_some(array_id)
            .into_iter()
            .collect();
        ids.extend(
            self.array_tasks
                .get(&array_id)
                .into_iter()
                .flatten()
                .copied(),
        );
        ids
    }
}
