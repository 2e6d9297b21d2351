//! The agent's side of the controller connection: connect with backoff, register, follow the
//! command stream, send heartbeats and job reports; on any failure start over (jobs keep
//! running meanwhile).

use std::sync::Arc;
use std::time::{Duration, Instant};

use slurm_core::auth::AuthError;
use slurm_core::client::{ClientError, connect_agent};
use slurm_core::proto::slurmd_gateway::slurmd_gateway_client::SlurmdGatewayClient;
use slurm_core::proto::{
    AgentCommand, CommandStreamRequest, Heartbeat, NodeRegistration, RegisterReply,
};
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::Agent;

type Client = SlurmdGatewayClient<Channel>;

/// Why a session with the controller ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot connect to the controller: {0}")]
    Connect(#[source] ClientError),
    #[error("{call} failed: {status}", status = .status.message())]
    Rpc {
        call: &'static str,
        #[source]
        status: tonic::Status,
    },
    #[error("{call}: no answer from the controller within {timeout:?}")]
    Timeout {
        call: &'static str,
        timeout: Duration,
    },
    #[error("the controller closed the command stream")]
    StreamClosed,
    #[error("cannot sign a credential: {0}")]
    Auth(#[from] AuthError),
    /// The controller's answer to the registration does not prove it holds the cluster key
    /// (another cluster's controller, or an impostor): nothing it says is followed.
    #[error(
        "the controller at {0} did not prove it holds the cluster key (Authentication failure); not following it"
    )]
    ControllerNotAuthenticated(String),
}

/// How a session ended without an error.
enum Ended {
    /// The controller no longer knows this agent: register again at once.
    Reregister,
}

/// What the session's helper tasks tell it.
enum Event {
    Reregister,
    Failed(SessionError),
}

/// Exponential backoff between connection attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Self {
            initial,
            max: max.max(initial),
            next: initial,
        }
    }

    /// The delay before the next attempt; doubles up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Logs repeated failures sparingly: the first of a kind at WARN, repeats of the same
/// message at DEBUG, with a WARN reminder every minute.
#[derive(Debug, Default)]
pub struct FailureLog {
    last: Option<String>,
    since: Option<Instant>,
    last_warn: Option<Instant>,
    count: u64,
}

impl FailureLog {
    /// Records a failure; returns true when it was logged at WARN.
    pub fn failed(&mut self, error: &dyn std::fmt::Display) -> bool {
        let message = error.to_string();
        let now = Instant::now();
        self.count += 1;
        if self.since.is_none() {
            self.since = Some(now);
        }
        let new_kind = self.last.as_deref() != Some(message.as_str());
        let reminder = self
            .last_warn
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60));
        self.last = Some(message);
        if new_kind || reminder {
            self.last_warn = Some(now);
            tracing::warn!(
                error = %error,
                attempts = self.count,
                "no session with the controller; retrying"
            );
            true
        } else {
            tracing::debug!(error = %error, attempts = self.count, "controller still unreachable");
            false
        }
    }

    /// A session was established: logs the recovery if there were failures.
    pub fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(
                attempts = self.count,
                after_s = since.elapsed().as_secs(),
                "controller reachable again"
            );
        }
        self.last = None;
        self.last_warn = None;
        self.count = 0;
    }
}

/// Aborts a helper task when the session ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn call<T>(
    name: &'static str,
    timeout: Duration,
    fut: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, SessionError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(status)) => Err(SessionError::Rpc { call: name, status }),
        Err(_) => Err(SessionError::Timeout {
            call: name,
            timeout,
        }),
    }
}

/// Serves the controller connection forever: sessions, and backoff between them.
pub(crate) async fn run(agent: &Arc<Agent>) {
    let mut backoff = Backoff::new(agent.retry_initial, agent.retry_max);
    let mut failures = FailureLog::default();
    loop {
        match session(agent, &mut backoff, &mut failures).await {
            Ok(Ended::Reregister) => {
                tracing::info!("controller asked for a new registration");
            }
            Err(e) => {
                failures.failed(&e);
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

async fn session(
    agent: &Arc<Agent>,
    backoff: &mut Backoff,
    failures: &mut FailureLog,
) -> Result<Ended, SessionError> {
    let mut client = connect_agent(&agent.cluster)
        .await
        .map_err(SessionError::Connect)?;
    let reply = register(agent, &mut client).await?;
    backoff.reset();
    failures.recovered();
    agent.jobs.kill_orphans(&reply.orphans);

    let request = agent
        .credentials
        .authed(CommandStreamRequest {
            node: agent.node.clone(),
        })
        .await?;
    let mut stream = call("Commands", agent.message_timeout, client.commands(request)).await?;

    let (events_tx, mut events) = mpsc::channel(4);
    let _reporter = AbortOnDrop(tokio::spawn(send_reports(
        Arc::clone(agent),
        client.clone(),
        events_tx.clone(),
    )));
    let interval = Duration::from_millis(reply.heartbeat_interval_ms.max(100));
    let _heartbeats = AbortOnDrop(tokio::spawn(send_heartbeats(
        Arc::clone(agent),
        client,
        interval,
        events_tx,
    )));

    loop {
        tokio::select! {
            message = stream.message() => match message {
                Ok(Some(command)) => handle(agent, command),
                Ok(None) => return Err(SessionError::StreamClosed),
                Err(status) => return Err(SessionError::Rpc { call: "Commands", status }),
            },
            event = events.recv() => match event {
                Some(Event::Reregister) => return Ok(Ended::Reregister),
                Some(Event::Failed(e)) => return Err(e),
                None => return Err(SessionError::StreamClosed),
            },
        }
    }
}

/// Registers: hardware, running jobs, and the reports not yet acknowledged (which the
/// reply acknowledges).
async fn register(agent: &Agent, client: &mut Client) -> Result<RegisterReply, SessionError> {
    let pending = agent.outbox.pending();
    let registration = NodeRegistration {
        node: agent.node.clone(),
        hardware: agent.hardware.clone(),
        running: agent.jobs.running(),
        finished: pending.iter().map(|p| p.report.clone()).collect(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let running = registration.running.len();
    let signed = agent.credentials.signed(registration).await?;
    let reply = call(
        "Register",
        agent.message_timeout,
        client.register(signed.request),
    )
    .await?;
    // With a key, the controller must prove it has the same one before anything it says
    // (orphans to kill, report acknowledgements, launches) is taken.
    if let Some(key) = agent.credentials.key() {
        let proven = match (&signed.nonce, &reply.controller_proof) {
            (Some(nonce), Some(proof)) => {
                slurm_core::auth::check_controller_proof(key, nonce, &agent.node, proof)
            }
            _ => false,
        };
        if !proven {
            let controller = slurm_core::client::controller_uri(&agent.cluster)
                .unwrap_or_else(|_| "?".to_owned());
            return Err(SessionError::ControllerNotAuthenticated(controller));
        }
    }
    for p in &pending {
        agent.outbox.ack(p.report.job_id, p.seq);
    }
    tracing::info!(
        node = %agent.node,
        cluster = %reply.cluster_name,
        running,
        reported = pending.len(),
        orphans = reply.orphans.len(),
        heartbeat_ms = reply.heartbeat_interval_ms,
        "registered with the controller"
    );
    Ok(reply)
}

fn handle(agent: &Arc<Agent>, command: AgentCommand) {
    match command {
        AgentCommand::Launch(launch) => {
            tracing::info!(job_id = launch.job.id, "launch request");
            agent.jobs.launch(*launch);
        }
        AgentCommand::Signal {
            job_id,
            signal,
            batch_only,
        } => agent.jobs.signal(job_id, signal, batch_only),
        AgentCommand::Terminate { job_id, reason } => agent.jobs.terminate(job_id, reason),
        AgentCommand::LaunchStep(launch) => {
            tracing::info!(
                job_id = launch.job.id,
                step_id = launch.step_id,
                tasks = ?launch.tasks,
                "step launch request"
            );
            super::steps::launch(agent, *launch);
        }
        AgentCommand::SignalStep {
            job_id,
            step_id,
            signal,
        } => agent.jobs.signal_steps(job_id, step_id, signal),
    }
}

/// True for answers that say the controller will never take this report: retrying would
/// only block the reports behind it.
fn refused_for_good(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::NotFound
            | tonic::Code::InvalidArgument
            | tonic::Code::AlreadyExists
            | tonic::Code::FailedPrecondition
    )
}

/// Sends every pending report, then waits for new ones.
async fn send_reports(agent: Arc<Agent>, mut client: Client, events: mpsc::Sender<Event>) {
    loop {
        for p in agent.outbox.pending() {
            let job_id = p.report.job_id;
            let request = match agent.credentials.authed(p.report).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = events.send(Event::Failed(e.into())).await;
                    return;
                }
            };
            let result = call(
                "ReportJob",
                agent.message_timeout,
                client.report_job(request),
            )
            .await;
            match result {
                Ok(_) => {
                    tracing::debug!(job_id, "job report acknowledged");
                    agent.outbox.ack(job_id, p.seq);
                }
                Err(SessionError::Rpc { status, .. }) if refused_for_good(&status) => {
                    tracing::error!(
                        job_id,
                        error = %status.message(),
                        "controller refused the job report; dropping it"
                    );
                    agent.outbox.ack(job_id, p.seq);
                }
                Err(e) => {
                    let _ = events.send(Event::Failed(e)).await;
                    return;
                }
            }
        }
        agent.outbox.changed().await;
    }
}

async fn send_heartbeats(
    agent: Arc<Agent>,
    mut client: Client,
    interval: Duration,
    events: mpsc::Sender<Event>,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let beat = Heartbeat {
            node: agent.node.clone(),
            running: agent.jobs.running(),
            usage: agent.jobs.live_usage(),
        };
        let request = match agent.credentials.authed(beat).await {
            Ok(r) => r,
            Err(e) => {
                let _ = events.send(Event::Failed(e.into())).await;
                return;
            }
        };
        match call(
            "Heartbeat",
            agent.message_timeout,
            client.heartbeat(request),
        )
        .await
        {
            Ok(reply) if reply.registered => {}
            Ok(_) => {
                let _ = events.send(Event::Reregister).await;
                return;
            }
            Err(e) => {
                let _ = events.send(Event::Failed(e)).await;
                return;
            }
        }
    }
}

/// On shutdown: tries, for at most `within`, to deliver the reports still pending. What is
/// not delivered stays in the spool for the next agent.
pub(crate) async fn flush_reports(agent: &Agent, within: Duration) {
    if agent.outbox.is_empty() {
        return;
    }
    let attempt = async {
        let mut client = connect_agent(&agent.cluster)
            .await
            .map_err(SessionError::Connect)?;
        for p in agent.outbox.pending() {
            let job_id = p.report.job_id;
            let request = agent.credentials.authed(p.report).await?;
            call(
                "ReportJob",
                agent.message_timeout,
                client.report_job(request),
            )
            .await?;
            agent.outbox.ack(job_id, p.seq);
        }
        Ok::<(), SessionError>(())
    };
    match tokio::time::timeout(within, attempt).await {
        Ok(Ok(())) => tracing::info!("pending job reports delivered"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "job reports not delivered; kept in the spool for the next agent");
        }
        Err(_) => tracing::warn!(
            "job reports not delivered in time; kept in the spool for the next agent"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let got: Vec<u64> = (0..4).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(got, vec![100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn repeated_failures_are_logged_once() {
        let mut log = FailureLog::default();
        assert!(log.failed(&"connection refused"));
        assert!(!log.failed(&"connection refused"));
        assert!(!log.failed(&"connection refused"));
        assert!(log.failed(&"timed out"));
        log.recovered();
        assert!(log.failed(&"timed out"));
    }
}
