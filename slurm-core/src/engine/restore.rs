//! Rebuilding an engine from saved state: a controller that restarts loads its job records
//! and node states and hands them back here, so running jobs keep their allocations and
//! pending jobs keep their place in the queue.

use super::profile::NEVER;
use super::resources::Res;
use super::{Clock, Engine, EngineError, JobEntry};
use crate::model::{Job, JobState, NodeState};

impl<C: Clock> Engine<C> {
    /// Puts a saved job back. Running jobs take their recorded allocation on their nodes
    /// again; pending jobs queue in the order they are restored (restore in id order).
    /// `cancel_requested` is the uid of a cancel that was asked for while the job ran.
    pub fn restore_job(
        &mut self,
        job: Job,
        cancel_requested: Option<u32>,
    ) -> Result<(), EngineError> {
        let id = job.id;
        if self.jobs.contains_key(&id) {
            return Err(EngineError::DuplicateJob(id));
        }
        self.next_id = self.next_id.max(id.saturating_add(1));
        if let (Some(array), Some(_)) = (job.array_job_id, job.array_task_id)
            && array != id
        {
            self.array_tasks.entry(array).or_default().push(id);
        }
        match job.state {
            JobState::Pending => {
                self.pending.insert(id);
                self.order_cache.invalidate();
            }
            JobState::Running | JobState::Suspended | JobState::Completing => {
                let end = match (job.start_time, job.time_limit.as_secs()) {
                    (Some(start), Some(limit)) => start.saturating_add(limit as i64).min(NEVER),
                    _ => NEVER,
                };
                for alloc in &job.allocation {
                    let i = *self
                        .node_by_name
                        .get(&alloc.node)
                        .ok_or_else(|| EngineError::UnknownNode(alloc.node.clone()))?;
                    let mut res = Res {
                        cpus: alloc.cpus,
                        mem_mb: alloc.mem_mb,
                        ..Res::ZERO
                    };
                    for g in &alloc.gres {
                        if let Some(k) = self.kinds.index_of(&g.name, g.kind.as_deref()) {
                            res.gres[k] += u32::try_from(g.count).unwrap_or(u32::MAX);
                        }
                    }
                    let node = &mut self.nodes[i];
                    node.allocate(id, end, res);
                    // A job runs there, so the node is up (or coming up).
                    if node.state.flags.powered_down {
                        node.state.flags.powered_down = false;
                        node.state.flags.powering_up = true;
                    }
                }
                self.running.insert(id);
            }
            _ => {}
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let usage_mark = job.start_time.unwrap_or(0);
        self.active
            .add(&job.spec, super::limits::ActiveJobs::weight(&job));
        self.jobs.insert(
            id,
            JobEntry {
                job,
                seq,
                usage_mark,
                cancel_by: cancel_requested,
                requeue_requested: false,
                placement: None,
                fairshare_user: None,
            },
        );
        Ok(())
    }

    /// Restores a node's saved administrative state (DRAIN, DOWN and their reason). Allocation
    /// flags are recomputed from the restored jobs.
    pub fn restore_node_state(
        &mut self,
        name: &str,
        state: NodeState,
        reason: Option<String>,
    ) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        node.state.flags.drain = state.flags.drain;
        if state.base == crate::model::NodeBaseState::Down {
            node.state.base = crate::model::NodeBaseState::Down;
        }
        node.reason = reason;
        node.refresh_base();
        Ok(())
    }

    /// The uid of a cancel requested while the job runs, if any (saved with the job).
    pub fn pending_cancel(&self, id: crate::model::JobId) -> Option<u32> {
        self.jobs.get(&id).and_then(|e| e.cancel_by)
    }
}
