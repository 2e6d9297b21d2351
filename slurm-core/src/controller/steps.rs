//! Job steps as the controller tracks them: which jobs are allocations without a batch
//! script (made by `srun` or `salloc`), the steps of each job (`123.0`, `123.1`, ...), and
//! how a step's tasks are laid out over the job's nodes.

use crate::model::{ExitStatus, Job, JobState, Timestamp};
use crate::proto::{JobUsage, StepInfo, StepReport, StepRequest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The steps of one job (journaled as a whole at every change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSteps {
    /// The job runs no batch script: srun or salloc holds the allocation and releases it.
    pub allocation_only: bool,
    /// The next step number.
    pub next_step: u32,
    pub steps: Vec<StepInfo>,
}

impl JobSteps {
    pub fn allocation() -> Self {
        Self {
            allocation_only: true,
            ..Self::default()
        }
    }

    pub fn step_mut(&mut self, step_id: u32) -> Option<&mut StepInfo> {
        self.steps.iter_mut().find(|s| s.step_id == step_id)
    }

    /// Steps that have not ended, with the nodes they still run on.
    pub fn running(&self) -> impl Iterator<Item = &StepInfo> {
        self.steps.iter().filter(|s| s.end.is_none())
    }
}

/// Where a step's tasks run: the nodes in order, the tasks on each (block distribution:
/// consecutive task ids on a node) and the CPUs the step holds there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub nodes: Vec<String>,
    pub tasks_per_node: Vec<u32>,
    pub cpus_per_node: Vec<u32>,
}

impl Layout {
    pub fn ntasks(&self) -> u32 {
        self.tasks_per_node.iter().sum()
    }

    /// The global task ids on the node at `index`.
    pub fn tasks_of(&self, index: usize) -> Vec<u32> {
        let first: u32 = self.tasks_per_node[..index].iter().sum();
        (first..first + self.tasks_per_node[index]).collect()
    }
}

/// Slurm's message when a step asks for more than its job holds.
pub const TOO_MANY_PROCESSORS: &str = "More processors requested than permitted";
pub const TOO_MANY_NODES: &str = "Requested node configuration is not available";
/// Slurm's message while other steps hold the CPUs a step needs (srun waits and retries).
pub const NODES_BUSY: &str = "Requested nodes are busy";

/// Why a step cannot be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The job's allocation can never hold the step.
    #[error("{TOO_MANY_PROCESSORS}")]
    TooManyProcessors,
    #[error("{TOO_MANY_NODES}")]
    TooManyNodes,
    /// It fits the allocation, but running steps hold the CPUs now.
    #[error("{NODES_BUSY}")]
    Busy,
}

/// The CPUs that running, non-overlapping steps hold on each node of a job.
pub fn cpus_in_use(steps: &JobSteps) -> HashMap<&str, u32> {
    let mut used: HashMap<&str, u32> = HashMap::new();
    for step in steps.running().filter(|s| !s.overlap) {
        for (node, cpus) in step.nodes.iter().zip(&step.cpus_per_node) {
            *used.entry(node.as_str()).or_default() += cpus;
        }
    }
    used
}

/// Lays `req` out over the running `job` as srun's defaults do. Without `-N` or `-n` the
/// step spans the whole job and starts the job's task count (one per node unless the job
/// asked for more); `-N` alone starts nodes × tasks per node; `-n` tasks are spread
/// block-wise, the first nodes taking one more when they do not divide evenly. Tasks × CPUs
/// per task must fit a node's allocated CPUs.
///
/// Steps do not share CPUs unless `--overlap`: by default a step holds all the job's CPUs on
/// its nodes, with `--exact` only tasks × CPUs per task. The step takes the job's first
/// nodes that have what it holds free of `in_use`; when the allocation could hold it but
/// other steps hold the CPUs now, the answer is [`LayoutError::Busy`].
pub fn layout(
    job: &Job,
    req: &StepRequest,
    in_use: &HashMap<&str, u32>,
) -> Result<Layout, LayoutError> {
    let job_nodes: Vec<&str> = job.node_names();
    let total = job_nodes.len() as u32;
    if total == 0 {
        return Err(LayoutError::TooManyNodes);
    }
    let per_node = req.ntasks_per_node.or(job.spec.ntasks_per_node);
    let mut nodes = match (req.nodes, req.ntasks) {
        (Some(n), _) => n,
        (None, Some(t)) => t.min(total),
        (None, None) => total,
    };
    if nodes == 0 || nodes > total {
        return Err(LayoutError::TooManyNodes);
    }
    let ntasks = match req.ntasks {
        Some(t) => t,
        None if nodes == total && req.ntasks_per_node.is_none() => job.spec.ntasks.max(total),
        None => nodes * per_node.unwrap_or(1).max(1),
    };
    if ntasks == 0 {
        return Err(LayoutError::TooManyProcessors);
    }
    nodes = nodes.min(ntasks);
    let base = ntasks / nodes;
    let extra = ntasks % nodes;
    let tasks_per_node: Vec<u32> = (0..nodes).map(|i| base + u32::from(i < extra)).collect();
    let cpt = req.cpus_per_task.unwrap_or(job.spec.cpus_per_task).max(1);
    // What the step holds on a node with `alloc` CPUs for `tasks` tasks (0: no CPU count
    // is known for the node, nothing to check).
    let holds = |alloc: u32, tasks: u32| {
        if req.exact {
            tasks.saturating_mul(cpt).min(alloc)
        } else {
            alloc
        }
    };
    let fits = |alloc: u32, tasks: u32| alloc == 0 || tasks.saturating_mul(cpt) <= alloc;
    let pick = |busy: bool| -> Option<(Vec<String>, Vec<u32>)> {
        let mut chosen = Vec::new();
        let mut cpus = Vec::new();
        for (name, alloc) in job_nodes.iter().zip(job.allocation.iter().map(|a| a.cpus)) {
            let Some(&tasks) = tasks_per_node.get(chosen.len()) else {
                break;
            };
            let used = if busy && !req.overlap {
                in_use.get(name).copied().unwrap_or(0)
            } else {
                0
            };
            if fits(alloc, tasks) && used + holds(alloc, tasks) <= alloc {
                chosen.push((*name).to_owned());
                cpus.push(holds(alloc, tasks));
            }
        }
        (chosen.len() == tasks_per_node.len()).then_some((chosen, cpus))
    };
    if pick(false).is_none() {
        return Err(LayoutError::TooManyProcessors);
    }
    let (nodes, cpus_per_node) = pick(true).ok_or(LayoutError::Busy)?;
    Ok(Layout {
        nodes,
        tasks_per_node,
        cpus_per_node,
    })
}

/// A new step record.
pub fn new_step(
    job: &Job,
    step_id: u32,
    req: &StepRequest,
    layout: &Layout,
    now: Timestamp,
) -> StepInfo {
    StepInfo {
        job_id: job.id,
        step_id,
        name: req.name.clone(),
        nodes: layout.nodes.clone(),
        ntasks: layout.ntasks(),
        cpus: layout.cpus_per_node.iter().sum(),
        start: now,
        end: None,
        state: JobState::Running,
        exit: ExitStatus::SUCCESS,
        usage: JobUsage::default(),
        pending_nodes: layout.nodes.clone(),
        cpus_per_node: layout.cpus_per_node.clone(),
        overlap: req.overlap,
        ended_with_job: false,
    }
}

/// The larger of two exit statuses as Slurm ranks them: a signal over an exit code, then the
/// higher number.
pub fn worse(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |e: ExitStatus| (e.signal != 0, e.signal, e.code);
    if rank(b) > rank(a) { b } else { a }
}

/// Applies one node's report; true when the step has now ended on every node. A report for
/// a step its job's end already closed (the job's end overtook it) still counts.
pub fn apply_report(step: &mut StepInfo, report: &StepReport, now: Timestamp) -> bool {
    let before = step.pending_nodes.len();
    step.pending_nodes.retain(|n| n != &report.node);
    if step.pending_nodes.len() == before {
        return false; // a repeated or unknown report
    }
    step.exit = worse(step.exit, report.exit);
    step.usage.elapsed_s = step.usage.elapsed_s.max(report.usage.elapsed_s);
    step.usage.cpu_time_ms += report.usage.cpu_time_ms;
    step.usage.max_rss_kb = step.usage.max_rss_kb.max(report.usage.max_rss_kb);
    if report.cancelled {
        step.state = JobState::Cancelled;
        step.ended_with_job = false;
    }
    if !step.pending_nodes.is_empty() {
        return false;
    }
    step.end.get_or_insert(now);
    if step.state == JobState::Running || step.ended_with_job {
        step.ended_with_job = false;
        step.state = if step.exit.is_success() {
            JobState::Completed
        } else {
            JobState::Failed
        };
    }
    true
}

/// Ends a step whose job ended before all its nodes reported: CANCELLED unless their
/// reports, still accepted, say otherwise.
pub fn abandon(step: &mut StepInfo, now: Timestamp) {
    if step.end.is_none() {
        step.end = Some(now);
        if step.state == JobState::Running {
            step.state = JobState::Cancelled;
            step.ended_with_job = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, NodeAllocation};

    fn job(cpus: &[u32], spec: JobSpec) -> Job {
        Job {
            priority: 1,
            partition: "debug".into(),
            start_time: Some(0),
            allocation: cpus
                .iter()
                .enumerate()
                .map(|(i, &c)| NodeAllocation {
                    node: format!("n{}", i + 1),
                    cpus: c,
                    mem_mb: 100,
                    gres: vec![],
                })
                .collect(),
            ..Job::new(5, JobState::Running, spec)
        }
    }

    fn req(ntasks: Option<u32>, nodes: Option<u32>) -> StepRequest {
        StepRequest {
            job_id: 5,
            name: "x".into(),
            argv: vec!["x".into()],
            environment: vec![],
            work_dir: "/".into(),
            ntasks,
            nodes,
            ntasks_per_node: None,
            cpus_per_task: None,
            io_addr: String::new(),
            io_token: String::new(),
            stdin_task: Some(0),
            exact: false,
            overlap: false,
        }
    }

    fn lay(job: &Job, req: &StepRequest) -> Result<Layout, LayoutError> {
        layout(job, req, &HashMap::new())
    }

    fn spec(ntasks: u32) -> JobSpec {
        JobSpec {
            ntasks,
            ..JobSpec::default()
        }
    }

    #[test]
    fn default_is_the_jobs_task_count() {
        let l = lay(&job(&[2, 2], spec(2)), &req(None, None)).unwrap();
        assert_eq!(l.nodes, ["n1", "n2"]);
        assert_eq!(l.tasks_per_node, [1, 1]);
        let l = lay(&job(&[4], spec(4)), &req(None, None)).unwrap();
        assert_eq!(l.tasks_per_node, [4]);
        let mut s = spec(4);
        s.ntasks_per_node = Some(2);
        let l = lay(&job(&[2, 2], s), &req(None, None)).unwrap();
        assert_eq!(l.tasks_per_node, [2, 2]);
    }

    #[test]
    fn block_distribution() {
        let l = lay(&job(&[4, 4], spec(2)), &req(Some(4), None)).unwrap();
        assert_eq!(l.tasks_per_node, [2, 2]);
        assert_eq!(l.tasks_of(0), [0, 1]);
        assert_eq!(l.tasks_of(1), [2, 3]);
        let l = lay(&job(&[4, 4, 4], spec(3)), &req(Some(5), None)).unwrap();
        assert_eq!(l.tasks_per_node, [2, 2, 1]);
        assert_eq!(l.tasks_of(2), [4]);
        let l = lay(&job(&[4, 4], spec(2)), &req(Some(1), None)).unwrap();
        assert_eq!((l.nodes.len(), l.ntasks()), (1, 1));
        let l = lay(&job(&[4, 4], spec(2)), &req(Some(3), Some(1))).unwrap();
        assert_eq!(l.nodes, ["n1"]);
        assert_eq!(l.tasks_per_node, [3]);
    }

    #[test]
    fn limits() {
        assert_eq!(
            lay(&job(&[2], spec(1)), &req(Some(3), None)),
            Err(LayoutError::TooManyProcessors)
        );
        assert_eq!(
            lay(&job(&[2], spec(1)), &req(None, Some(2))),
            Err(LayoutError::TooManyNodes)
        );
    }

    /// Runs `req` as a new step of `steps`, as the controller does.
    fn start(j: &Job, steps: &mut JobSteps, req: &StepRequest) -> Result<Layout, LayoutError> {
        let l = layout(j, req, &cpus_in_use(steps))?;
        let id = steps.steps.len() as u32;
        steps.steps.push(new_step(j, id, req, &l, 0));
        Ok(l)
    }

    #[test]
    fn steps_hold_all_the_jobs_cpus_on_their_nodes_unless_exact_or_overlap() {
        let j = job(&[4], spec(4));
        let mut steps = JobSteps::default();
        let one = req(Some(1), None);
        assert_eq!(start(&j, &mut steps, &one).unwrap().cpus_per_node, [4]);
        assert_eq!(start(&j, &mut steps, &one), Err(LayoutError::Busy));
        let mut overlap = one.clone();
        overlap.overlap = true;
        assert!(start(&j, &mut steps, &overlap).is_ok(), "--overlap shares");
        // The first step ends: its CPUs are free again.
        steps.steps[0].end = Some(1);
        let mut exact = one.clone();
        exact.exact = true;
        exact.cpus_per_task = Some(2);
        assert_eq!(start(&j, &mut steps, &exact).unwrap().cpus_per_node, [2]);
        assert_eq!(start(&j, &mut steps, &exact).unwrap().cpus_per_node, [2]);
        assert_eq!(start(&j, &mut steps, &exact), Err(LayoutError::Busy));
        assert_eq!(steps.steps[3].cpus, 2);
        // Never fits, whatever runs: an error rather than a wait.
        let mut big = one;
        big.cpus_per_task = Some(5);
        assert_eq!(
            start(&j, &mut steps, &big),
            Err(LayoutError::TooManyProcessors)
        );
    }

    #[test]
    fn a_step_takes_the_first_nodes_with_free_cpus() {
        let j = job(&[2, 2, 2], spec(3));
        let mut steps = JobSteps::default();
        let mut one_node = req(Some(1), Some(1));
        one_node.exact = true;
        let nodes = |l: Layout| l.nodes;
        assert_eq!(nodes(start(&j, &mut steps, &one_node).unwrap()), ["n1"]);
        assert_eq!(nodes(start(&j, &mut steps, &one_node).unwrap()), ["n1"]);
        assert_eq!(nodes(start(&j, &mut steps, &one_node).unwrap()), ["n2"]);
        let two = req(Some(2), Some(2));
        assert_eq!(start(&j, &mut steps, &two), Err(LayoutError::Busy));
        let whole = req(Some(1), Some(1));
        assert_eq!(nodes(start(&j, &mut steps, &whole).unwrap()), ["n3"]);
    }

    #[test]
    fn exit_codes_and_reports() {
        let sig = ExitStatus { code: 0, signal: 9 };
        let three = ExitStatus { code: 3, signal: 0 };
        assert_eq!(worse(three, sig), sig);
        assert_eq!(worse(ExitStatus::SUCCESS, three), three);
        let j = job(&[2, 2], spec(2));
        let r = req(None, None);
        let l = lay(&j, &r).unwrap();
        let mut step = new_step(&j, 0, &r, &l, 10);
        assert_eq!(step.cpus, 4);
        let report = |node: &str, exit| StepReport {
            node: node.into(),
            job_id: 5,
            step_id: 0,
            exit,
            cancelled: false,
            usage: JobUsage {
                elapsed_s: 2,
                cpu_time_ms: 5,
                max_rss_kb: 100,
            },
        };
        assert!(!apply_report(&mut step, &report("n1", three), 11));
        assert!(!apply_report(&mut step, &report("n1", three), 11), "repeat");
        assert!(apply_report(
            &mut step,
            &report("n2", ExitStatus::SUCCESS),
            12
        ));
        assert_eq!(step.state, JobState::Failed);
        assert_eq!(step.exit, three);
        assert_eq!(step.usage.cpu_time_ms, 10);
        assert_eq!(step.end, Some(12));

        // The job's end overtakes the step's reports: CANCELLED until they arrive.
        let mut late = new_step(&j, 1, &r, &l, 10);
        assert!(!apply_report(&mut late, &report("n1", three), 11));
        abandon(&mut late, 12);
        assert_eq!(late.state, JobState::Cancelled);
        assert!(apply_report(
            &mut late,
            &report("n2", ExitStatus::SUCCESS),
            13
        ));
        assert_eq!(
            (late.state, late.exit, late.end),
            (JobState::Failed, three, Some(12))
        );
        // Killed with its job: it stays CANCELLED.
        let mut killed = new_step(&j, 2, &r, &l, 10);
        abandon(&mut killed, 12);
        let mut cancelled = report("n1", sig);
        cancelled.cancelled = true;
        apply_report(&mut killed, &cancelled, 13);
        apply_report(&mut killed, &report("n2", ExitStatus::SUCCESS), 13);
        assert_eq!(killed.state, JobState::Cancelled);
    }
}
