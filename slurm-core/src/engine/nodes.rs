//! Node bookkeeping: capacity, free resources, expected releases and state transitions.

use super::resources::{GresKinds, Res};
use super::{Clock, Engine, EngineError, JobEnd, NodeFailOutcome};
use crate::model::{Gres, JobId, JobState, NodeBaseState, NodeConfig, NodeState, Timestamp};

/// One node as the engine tracks it.
#[derive(Debug, Clone)]
pub(super) struct NodeSlot {
    pub config: NodeConfig,
    pub capacity: Res,
    pub free: Res,
    pub state: NodeState,
    pub reason: Option<String>,
    /// Running jobs on this node: (job, expected end, resources held).
    pub jobs: Vec<(JobId, Timestamp, Res)>,
}

impl NodeSlot {
    pub fn new(config: NodeConfig, kinds: &GresKinds) -> Self {
        let mut capacity = Res {
            cpus: config.cpus,
            mem_mb: config.real_memory_mb,
            ..Res::ZERO
        };
        for g in &config.gres {
            if let Some(i) = kinds.index_of(&g.name, g.kind.as_deref()) {
                capacity.gres[i] += u32::try_from(g.count).unwrap_or(u32::MAX);
            }
        }
        let mut state = NodeState::new(NodeBaseState::Idle);
        if config.cloud {
            state.flags.cloud = true;
            state.flags.powered_down = true;
        }
        Self {
            config,
            capacity,
            free: capacity,
            state,
            reason: None,
            jobs: Vec::new(),
        }
    }

    /// True when new jobs may be placed here (powered-down cloud nodes included).
    pub fn schedulable(&self) -> bool {
        self.state.is_schedulable()
    }

    pub fn allocate(&mut self, job: JobId, end: Timestamp, res: Res) {
        self.free.sub(&res);
        self.jobs.push((job, end, res));
        self.refresh_base();
    }

    pub fn release(&mut self, job: JobId) {
        if let Some(pos) = self.jobs.iter().position(|(j, _, _)| *j == job) {
            let (_, _, res) = self.jobs.swap_remove(pos);
            self.free.add(&res);
        }
        self.refresh_base();
    }

    pub fn move_release(&mut self, job: JobId, end: Timestamp) {
        if let Some(entry) = self.jobs.iter_mut().find(|(j, _, _)| *j == job) {
            entry.1 = end;
        }
    }

    /// Recomputes IDLE / MIXED / ALLOCATED from the allocations (DOWN and UNKNOWN stay).
    pub fn refresh_base(&mut self) {
        if matches!(
            self.state.base,
            NodeBaseState::Down | NodeBaseState::Unknown | NodeBaseState::Future
        ) {
            return;
        }
        self.state.base = if self.jobs.is_empty() {
            NodeBaseState::Idle
        } else if self.free.cpus == 0 {
            NodeBaseState::Allocated
        } else {
            NodeBaseState::Mixed
        };
    }
}

/// A read-only view of a node for commands (`sinfo`, `scontrol show node`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeView {
    pub config: NodeConfig,
    pub state: NodeState,
    pub reason: Option<String>,
    pub alloc_cpus: u32,
    pub alloc_mem_mb: u64,
    pub alloc_gres: Vec<Gres>,
    pub jobs: Vec<JobId>,
}

impl<C: Clock> Engine<C> {
    pub(super) fn node_index(&self, name: &str) -> Result<usize, EngineError> {
        self.node_by_name
            .get(name)
            .copied()
            .ok_or_else(|| EngineError::UnknownNode(name.to_owned()))
    }

    pub fn node_view(&self, name: &str) -> Option<NodeView> {
        let i = *self.node_by_name.get(name)?;
        Some(self.view(i))
    }

    /// Each node's name and state, without building views (periodic checks).
    pub fn node_states(&self) -> impl Iterator<Item = (&str, NodeState)> + '_ {
        self.nodes.iter().map(|n| (n.config.name.as_str(), n.state))
    }

    /// Every node in configuration order.
    pub fn nodes(&self) -> Vec<NodeView> {
        (0..self.nodes.len()).map(|i| self.view(i)).collect()
    }

    fn view(&self, i: usize) -> NodeView {
        let n = &self.nodes[i];
        let mut used = n.capacity;
        used.sub(&n.free);
        let alloc_gres = used
            .gres
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(k, c)| self.kinds.gres(k, u64::from(*c)))
            .collect();
        NodeView {
            config: n.config.clone(),
            state: n.state,
            reason: n.reason.clone(),
            alloc_cpus: used.cpus,
            alloc_mem_mb: used.mem_mb,
            alloc_gres,
            jobs: n.jobs.iter().map(|(j, _, _)| *j).collect(),
        }
    }

    /// `scontrol update NodeName=X State=DRAIN Reason=...`: no new jobs; running ones finish.
    pub fn drain_node(&mut self, name: &str, reason: &str) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        node.state.flags.drain = true;
        node.reason = Some(reason.to_owned());
        Ok(())
    }

    /// `State=RESUME`: clears DRAIN and DOWN (a DOWN node that still does not respond stays
    /// NOT_RESPONDING until it registers).
    pub fn resume_node(&mut self, name: &str) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        node.state.flags.drain = false;
        if node.state.base == NodeBaseState::Down {
            node.state.base = NodeBaseState::Idle;
        }
        node.reason = None;
        node.refresh_base();
        Ok(())
    }

    /// Marks a node DOWN (admin request or missed heartbeats past SlurmdTimeout). Its running
    /// jobs are requeued when they allow it, else end as NODE_FAIL.
    pub fn down_node(
        &mut self,
        name: &str,
        reason: &str,
    ) -> Result<Vec<(JobId, NodeFailOutcome)>, EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        node.state.base = NodeBaseState::Down;
        node.reason = Some(reason.to_owned());
        let victims: Vec<JobId> = node.jobs.iter().map(|(j, _, _)| *j).collect();
        let mut outcomes = Vec::new();
        for id in victims {
            outcomes.push((id, self.fail_job_on_node(id)?));
        }
        Ok(outcomes)
    }

    fn fail_job_on_node(&mut self, id: JobId) -> Result<NodeFailOutcome, EngineError> {
        let requeue = self
            .jobs
            .get(&id)
            .is_some_and(|e| e.job.spec.requeue.unwrap_or(true) && e.cancel_by.is_none());
        if requeue {
            let now = self.clock.now();
            self.release_allocation(id, now);
            if let Some(entry) = self.jobs.get_mut(&id) {
                Self::reset_to_pending(entry, now);
                self.pending.insert(id);
                self.order_cache.invalidate();
            }
            Ok(NodeFailOutcome::Requeued)
        } else {
            self.job_ended(id, JobEnd::NodeFailed)?;
            Ok(NodeFailOutcome::Failed)
        }
    }

    /// Marks a node as not responding (a controller's view of a node that has not
    /// registered or missed heartbeats); it receives no new jobs until it registers.
    pub fn node_not_responding(&mut self, name: &str) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        self.nodes[i].state.flags.not_responding = true;
        Ok(())
    }

    /// A node's agent registered (or a powered-up cloud node came up): it is usable again,
    /// with the hardware it reported.
    pub fn node_registered(&mut self, name: &str) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        node.state.flags.not_responding = false;
        node.state.flags.powering_up = false;
        node.state.flags.powered_down = false;
        if node.state.base == NodeBaseState::Unknown {
            node.state.base = NodeBaseState::Idle;
        }
        node.refresh_base();
        Ok(())
    }

    /// A cloud node was suspended (its pod deleted): powered down until a job needs it.
    pub fn node_powered_down(&mut self, name: &str) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        if !node.jobs.is_empty() {
            return Err(EngineError::UnknownNode(format!("{name} has running jobs")));
        }
        node.state.flags.powered_down = true;
        node.state.flags.powering_up = false;
        node.state.flags.powering_down = false;
        Ok(())
    }

    /// Suspend requested for an idle cloud node (`idle%` until it is powered down).
    pub fn node_suspending(&mut self, name: &str) -> Result<(), EngineError> {
        let i = self.node_index(name)?;
        let node = &mut self.nodes[i];
        if !node.config.cloud || !node.jobs.is_empty() || node.state.flags.powered_down {
            return Err(EngineError::UnknownNode(format!(
                "{name} is not an idle powered-up cloud node"
            )));
        }
        node.state.flags.powering_down = true;
        Ok(())
    }

    /// After `node` came up: the jobs that waited for it (CONFIGURING) and whose other nodes
    /// are up too. Their clock starts now (time limit, usage); the caller launches them.
    pub fn start_configured_jobs(&mut self, node: &str) -> Vec<JobId> {
        let now = self.clock.now();
        let mut ready = Vec::new();
        for id in self.jobs_on_node(node) {
            let Some(entry) = self.jobs.get(&id) else {
                continue;
            };
            if !entry.job.configuring {
                continue;
            }
            let nodes: Vec<usize> = entry
                .job
                .allocation
                .iter()
                .filter_map(|a| self.node_by_name.get(&a.node).copied())
                .collect();
            if nodes.iter().any(|&i| self.nodes[i].state.flags.powering_up) {
                continue;
            }
            let end = entry
                .job
                .time_limit
                .as_secs()
                .map_or(super::profile::NEVER, |s| now.saturating_add(s as i64));
            for i in nodes {
                self.nodes[i].move_release(id, end);
            }
            if let Some(entry) = self.jobs.get_mut(&id) {
                entry.job.configuring = false;
                entry.job.start_time = Some(now);
                entry.usage_mark = now;
            }
            ready.push(id);
        }
        ready
    }

    /// Powered-up cloud nodes with no jobs and no power change under way (power-saving
    /// candidates once they have been idle for SuspendTime).
    pub fn idle_cloud_nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| {
                let f = n.state.flags;
                n.config.cloud
                    && n.jobs.is_empty()
                    && !f.powered_down
                    && !f.powering_up
                    && !f.powering_down
            })
            .map(|n| n.config.name.clone())
            .collect()
    }

    /// Jobs still running on a node (for drains and deletion checks).
    pub fn jobs_on_node(&self, name: &str) -> Vec<JobId> {
        self.node_by_name
            .get(name)
            .map(|&i| self.nodes[i].jobs.iter().map(|(j, _, _)| *j).collect())
            .unwrap_or_default()
    }

    pub(super) fn job_state(&self, id: JobId) -> Option<JobState> {
        self.jobs.get(&id).map(|e| e.job.state)
    }
}
