//! Live usage of running steps (what `sstat` shows). Every agent sends the latest sample of
//! each task it runs with its heartbeat; the controller keeps the last set per node and
//! answers `StatSteps` by joining it with the jobs and steps it knows to be running. Samples
//! are as fresh as the last heartbeat (a third of SlurmdTimeout, 1–30 s), like Slurm's
//! JobAcctGatherFrequency.

use super::core::Core;
use crate::model::{JobId, JobState};
use crate::proto::{JobStat, LiveTaskUsage, StepStat};
use std::collections::HashMap;

/// The latest heartbeat samples, by node.
#[derive(Debug, Default)]
pub struct LiveUsage {
    by_node: HashMap<String, Vec<LiveTaskUsage>>,
}

impl LiveUsage {
    /// Replaces what `node` reported last.
    pub fn record(&mut self, node: &str, mut tasks: Vec<LiveTaskUsage>) {
        for t in &mut tasks {
            t.node = node.to_owned();
        }
        self.by_node.insert(node.to_owned(), tasks);
    }

    /// The samples of one step on `nodes`, ordered by task id.
    pub fn tasks(
        &self,
        job_id: JobId,
        step_id: Option<u32>,
        nodes: &[String],
    ) -> Vec<LiveTaskUsage> {
        let mut out: Vec<LiveTaskUsage> = nodes
            .iter()
            .filter_map(|n| self.by_node.get(n))
            .flatten()
            .filter(|t| t.job_id == job_id && t.step_id == step_id)
            .cloned()
            .collect();
        out.sort_by_key(|t| t.task);
        out.dedup_by_key(|t| t.task);
        out
    }
}

/// One job's running steps and their samples: the batch step (on the job's first node)
/// while the batch script runs, then the srun steps that have not ended.
pub fn stat_job(core: &Core, live: &LiveUsage, job_id: JobId) -> JobStat {
    let Some(job) = core.engine().job(job_id) else {
        return JobStat {
            job_id,
            found: false,
            steps: Vec::new(),
        };
    };
    let mut steps = Vec::new();
    let running = matches!(job.state, JobState::Running | JobState::Suspended) && !job.configuring;
    if running {
        if !core.is_allocation_only(job_id)
            && let Some(first) = job.allocation.first()
        {
            let nodes = vec![first.node.clone()];
            steps.push(StepStat {
                step_id: None,
                tasks: live.tasks(job_id, None, &nodes),
                nodes,
                ntasks: 1,
            });
        }
        if let Some(job_steps) = core.steps_of(job_id) {
            for s in job_steps.running() {
                steps.push(StepStat {
                    step_id: Some(s.step_id),
                    tasks: live.tasks(job_id, Some(s.step_id), &s.nodes),
                    nodes: s.nodes.clone(),
                    ntasks: s.ntasks,
                });
            }
        }
    }
    JobStat {
        job_id,
        found: true,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(job_id: JobId, step_id: Option<u32>, task: u32) -> LiveTaskUsage {
        LiveTaskUsage {
            job_id,
            step_id,
            task,
            cpu_time_ms: 10,
            ..LiveTaskUsage::default()
        }
    }

    #[test]
    fn latest_heartbeat_per_node_wins() {
        let mut live = LiveUsage::default();
        live.record("n1", vec![sample(1, None, 0), sample(1, Some(0), 0)]);
        live.record("n2", vec![sample(1, Some(0), 1)]);
        let nodes = vec!["n1".to_owned(), "n2".to_owned()];
        let step0 = live.tasks(1, Some(0), &nodes);
        assert_eq!(step0.len(), 2);
        assert_eq!(
            (step0[0].node.as_str(), step0[1].node.as_str()),
            ("n1", "n2")
        );
        assert_eq!(live.tasks(1, None, &nodes[..1]).len(), 1);
        // The next heartbeat from n1 no longer has the step: its tasks there are gone.
        live.record("n1", vec![sample(1, None, 0)]);
        assert_eq!(live.tasks(1, Some(0), &nodes).len(), 1);
        live.record("n2", Vec::new());
        assert!(live.tasks(1, Some(0), &nodes).is_empty());
        assert!(live.tasks(2, None, &nodes).is_empty());
    }
}
