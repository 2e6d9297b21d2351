//! srun steps on this node (the slurmstepd role for `123.0`): start the node's tasks as
//! real processes with piped standard streams, connect to srun's I/O server, stream each
//! task's output and exit status to it, take its stdin (for the stdin task) and signals,
//! and report the node's end of the step to the controller.
//!
//! The agent dials srun (as slurmstepd does); the connection is authenticated by the
//! per-step token srun gave the controller, which reached this agent over its
//! authenticated command stream.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slurm_core::model::ExitStatus;
use slurm_core::proto::step_io::step_io_client::StepIoClient;
use slurm_core::proto::{JobUsage, LaunchStep, StepIoDown, StepIoUp, StepReport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::Agent;
use crate::launch::StepHandle;
use crate::signals::SignalScope;
use crate::step::{
    EndReason, StepAllocation, StepCommand, StepId, StepIo, StepLayout, StepOutcome, StepSpec,
    TaskInfo,
};

/// How long an agent tries to reach srun.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a task's output may trail its exit (a grandchild holding the pipe).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the node's tasks of a step in the background.
pub(crate) fn launch(agent: &Arc<Agent>, launch: LaunchStep) {
    let agent = Arc::clone(agent);
    tokio::spawn(async move {
        let (job_id, step_id) = (launch.job.id, launch.step_id);
        let report = run(&agent, launch).await;
        agent.jobs.step_finished(job_id, step_id);
        send_report(&agent, report).await;
    });
}

/// The GPUs a task sees (`CUDA_VISIBLE_DEVICES`): with `--gpus-per-task=N` each task is
/// bound to its own N of the node's GPUs, in local task order (Slurm's implied
/// `--gpu-bind=per_task:N`); otherwise, or when the node has too few, all of them.
pub fn gpus_of_task(node_gpus: Vec<u32>, per_task: Option<u64>, local: usize) -> Vec<u32> {
    let Some(n) = per_task
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
    else {
        return node_gpus;
    };
    match node_gpus.get(local * n..(local + 1) * n) {
        Some(mine) => mine.to_vec(),
        None => node_gpus,
    }
}

/// One task's spec on this node.
pub fn task_spec(
    launch: &LaunchStep,
    node: &str,
    local: usize,
    task: u32,
    gpus: Vec<u32>,
    timers: &slurm_core::config::Timers,
    now: i64,
) -> StepSpec {
    let job = &launch.job;
    let per_task = job.spec.gpus.per_task.as_ref().map(|g| g.count);
    let gpus = gpus_of_task(gpus, per_task, local);
    let mut spec = StepSpec::batch_for_job(
        job,
        node,
        String::new(),
        launch.environment.clone(),
        gpus.clone(),
        timers,
    );
    let alloc = job.allocation.iter().find(|a| a.node == node);
    spec.step_id = StepId::Task {
        step: launch.step_id,
        task,
    };
    spec.command = StepCommand::Argv(launch.argv.clone());
    if !launch.work_dir.is_empty() {
        spec.work_dir = PathBuf::from(&launch.work_dir);
    }
    spec.io = StepIo::default();
    spec.pipe_output = true;
    spec.pipe_stdin = launch.stdin_task == Some(task);
    spec.signal = None;
    spec.alloc = StepAllocation {
        cpus: alloc.map_or(0, |a| a.cpus),
        mem_mib: alloc.map_or(0, |a| a.mem_mb),
        gpus,
        cpu_ids: None,
    };
    if let Some(c) = launch.cpus_per_task {
        spec.cpus_per_task = (c > 1).then_some(c);
    }
    // What is left of the job's time limit (the controller also ends steps with the job).
    if let (Some(limit), Some(start)) = (spec.time_limit, job.start_time) {
        let used = Duration::from_secs(u64::try_from(now - start).unwrap_or(0));
        spec.time_limit = Some(limit.saturating_sub(used).max(Duration::from_secs(1)));
    }
    spec.tasks = TaskInfo {
        ntasks: launch.ntasks,
        procid: task,
        localid: local as u32,
        nodeid: launch.node_index,
        nodes: job.node_names().iter().map(|n| (*n).to_owned()).collect(),
    };
    spec.step_layout = Some(StepLayout {
        nodes: launch.step_nodes.clone(),
        ntasks: launch.ntasks,
    });
    if let Some((_, host)) = launch.environment.iter().find(|(k, _)| k == "HOSTNAME") {
        spec.submit_host.clone_from(host);
    }
    spec
}

/// Runs the node's tasks to their end; returns the node's report of the step.
async fn run(agent: &Arc<Agent>, launch: LaunchStep) -> StepReport {
    let (job_id, step_id) = (launch.job.id, launch.step_id);
    let node = agent.node.clone();
    let gres = launch
        .job
        .allocation
        .iter()
        .find(|a| a.node == node)
        .map(|a| a.gres.clone())
        .unwrap_or_default();
    let gpus = agent.jobs.step_starting(job_id, step_id, &gres);
    let mut report = StepReport {
        node: node.clone(),
        job_id,
        step_id,
        exit: ExitStatus::SUCCESS,
        cancelled: false,
        usage: JobUsage::default(),
    };

    let (up, up_rx) = mpsc::channel::<StepIoUp>(256);
    let _ = up
        .send(StepIoUp::Hello {
            job_id,
            step_id,
            node: node.clone(),
            token: launch.io_token.clone(),
            tasks: launch.tasks.clone(),
        })
        .await;
    let down = match attach(&launch.io_addr, up_rx).await {
        Ok(down) => down,
        Err(e) => {
            tracing::error!(job_id, step_id, addr = %launch.io_addr, error = %e, "cannot reach srun; step not started");
            report.exit = ExitStatus { code: 1, signal: 0 };
            return report;
        }
    };

    let runner = agent.jobs.step_runner(&launch.cluster_name);
    let now = slurm_core::commands::now();
    let mut handles: Vec<StepHandle> = Vec::new();
    let mut task_ids: Vec<u32> = Vec::new();
    let mut stdin_pipe = None;
    let mut waiting = Vec::new();
    for (local, &task) in launch.tasks.iter().enumerate() {
        if agent.jobs.step_cancelled(job_id, step_id) {
            break;
        }
        let spec = task_spec(
            &launch,
            &node,
            local,
            task,
            gpus.clone(),
            agent.jobs.timers(),
            now,
        );
        let launched = runner.launch(spec).await;
        match launched {
            Ok(mut step) => {
                let pipes = step.take_pipes();
                if pipes.stdin.is_some() {
                    stdin_pipe = pipes.stdin;
                }
                let pumps = [
                    pipes
                        .stdout
                        .map(|p| tokio::spawn(pump(p, task, false, up.clone()))),
                    pipes
                        .stderr
                        .map(|p| tokio::spawn(pump(p, task, true, up.clone()))),
                ];
                handles.push(step.handle());
                task_ids.push(task);
                let up = up.clone();
                waiting.push(tokio::spawn(async move {
                    let outcome = step.wait().await;
                    for pump in pumps.into_iter().flatten() {
                        let _ = tokio::time::timeout(DRAIN_TIMEOUT, pump).await;
                    }
                    let _ = up
                        .send(StepIoUp::Exited {
                            task,
                            exit: outcome.exit,
                        })
                        .await;
                    outcome
                }));
            }
            Err(e) => {
                tracing::warn!(job_id, step_id, task, error = %e, "task launch failed");
                let outcome = e.outcome();
                let _ = up
                    .send(StepIoUp::LaunchFailed {
                        task,
                        message: e.to_string(),
                    })
                    .await;
                let _ = up
                    .send(StepIoUp::Exited {
                        task,
                        exit: outcome.exit,
                    })
                    .await;
                add_outcome(&mut report, &outcome);
            }
        }
    }
    agent
        .jobs
        .step_started(job_id, step_id, handles.clone(), task_ids);
    let control = tokio::spawn(follow_srun(down, handles, stdin_pipe));
    for waited in waiting {
        match waited.await {
            Ok(outcome) => add_outcome(&mut report, &outcome),
            Err(e) => {
                tracing::error!(job_id, step_id, error = %e, "task supervisor failed");
                report.exit = ExitStatus { code: 1, signal: 0 };
            }
        }
    }
    if agent.jobs.step_cancelled(job_id, step_id) {
        report.cancelled = true;
    }
    drop(up);
    // srun closes its side once every node has reported; stop following it regardless.
    let _ = tokio::time::timeout(Duration::from_secs(1), control).await;
    report
}

fn add_outcome(report: &mut StepReport, outcome: &StepOutcome) {
    report.exit = slurm_core::controller::steps::worse(report.exit, outcome.exit);
    report.usage.elapsed_s = report.usage.elapsed_s.max(outcome.elapsed.as_secs());
    report.usage.cpu_time_ms += u64::try_from(outcome.cpu_time.as_millis()).unwrap_or(u64::MAX);
    report.usage.max_rss_kb = report.usage.max_rss_kb.max(outcome.max_rss_kib);
    if outcome.end_reason == EndReason::Cancelled {
        report.cancelled = true;
    }
}

/// Opens the I/O stream to srun at `addr`.
async fn attach(
    addr: &str,
    up: mpsc::Receiver<StepIoUp>,
) -> Result<tonic::Streaming<StepIoDown>, String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| slurm_core::client::error_chain(&e))?;
    let mut client = StepIoClient::new(channel);
    client
        .attach(ReceiverStream::new(up))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| s.message().to_owned())
}

/// Forwards a task's output stream to srun.
async fn pump(
    mut pipe: impl tokio::io::AsyncRead + Unpin,
    task: u32,
    stderr: bool,
    up: mpsc::Sender<StepIoUp>,
) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let chunk = StepIoUp::Output {
                    task,
                    stderr,
                    data: buf[..n].to_vec(),
                };
                if up.send(chunk).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What srun sends: stdin for the stdin task, signals and cancellation for every task.
async fn follow_srun(
    mut down: tonic::Streaming<StepIoDown>,
    handles: Vec<StepHandle>,
    mut stdin: Option<tokio::process::ChildStdin>,
) {
    while let Ok(Some(message)) = down.message().await {
        match message {
            StepIoDown::Stdin { data } => {
                if let Some(pipe) = stdin.as_mut()
                    && pipe.write_all(&data).await.is_err()
                {
                    stdin = None;
                }
            }
            StepIoDown::StdinClosed => stdin = None,
            StepIoDown::Signal { signal } => {
                if let Ok(sig) = nix::sys::signal::Signal::try_from(signal) {
                    handles
                        .iter()
                        .for_each(|h| h.signal(sig, SignalScope::Step));
                }
            }
            StepIoDown::Cancel => handles.iter().for_each(StepHandle::cancel),
        }
    }
}

/// Tells the controller how the step ended here, trying until it acknowledges: the step
/// holds its CPUs in the job (later steps wait for them) until every node has reported.
/// The controller acknowledges reports of steps it no longer knows, so this ends once the
/// controller is reachable.
async fn send_report(agent: &Agent, report: StepReport) {
    let (job_id, step_id) = (report.job_id, report.step_id);
    let mut delay = Duration::from_millis(250);
    let mut attempt = 0u32;
    loop {
        if attempt > 0 {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_REPORT_RETRY);
        }
        attempt = attempt.wrapping_add(1);
        let Ok(mut client) = slurm_core::client::connect_steps(&agent.cluster).await else {
            continue;
        };
        let Ok(request) = agent.credentials.authed(report.clone()).await else {
            continue;
        };
        match client.report_step(request).await {
            Ok(_) => return,
            Err(status) if attempt % 10 == 1 => {
                tracing::warn!(job_id, step_id, error = %status.message(), "step report not delivered yet; retrying")
            }
            Err(_) => {}
        }
    }
}

/// The longest wait between two tries of a step report.
const MAX_REPORT_RETRY: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::gpus_of_task;

    #[test]
    fn gpus_per_task_binds_each_task_to_its_own() {
        let node = vec![0, 1, 2, 3];
        assert_eq!(gpus_of_task(node.clone(), Some(1), 0), [0]);
        assert_eq!(gpus_of_task(node.clone(), Some(1), 3), [3]);
        assert_eq!(gpus_of_task(node.clone(), Some(2), 1), [2, 3]);
        assert_eq!(gpus_of_task(node.clone(), Some(2), 2), node, "too few: all");
        assert_eq!(gpus_of_task(node.clone(), None, 1), node);
        assert_eq!(gpus_of_task(node.clone(), Some(0), 1), node);
    }
}
