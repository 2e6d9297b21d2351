//! `srun`: run a parallel job step.
//!
//! Inside an allocation (`SLURM_JOB_ID`, or `--jobid`) srun creates a step of that job;
//! otherwise it first asks the controller for an allocation with sbatch's options (-N, -n,
//! -c, --mem, --gres, -p, -t, -J, -A, -q, ...), waits for it, and releases it when the step
//! ends. The tasks run on the nodes' agents; srun serves a small gRPC service (`StepIo`) the
//! agents dial to stream each task's stdout and stderr (printed live, `-l` prefixes
//! `N: `), each task's exit, and to receive srun's stdin (for task 0) and signals. srun
//! exits with the highest task exit code (128 + the signal for a task killed by one).
//!
//! Ctrl-C: the first prints the step's status, a second within a second forwards SIGINT to
//! the tasks, a third ends the step; SIGTERM ends the step.

use super::rpc::{self, RpcError, Session};
use super::{Output, Step, VERSION_LINE};
use crate::model::{ExitStatus, JobId, JobSpec, JobState};
use crate::parse::sbatch::{SubmitContext, parse_command_line, takes_value};
use crate::proto::step_io::step_io_server::{StepIo, StepIoServer};
use crate::proto::{
    AllocateRequest, JobQuery, ReleaseRequest, StepIoDown, StepIoUp, StepReply, StepRequest,
};
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub const PROG: &str = "srun";

/// How long srun waits for every node of a step to connect.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);

/// Which tasks read srun's stdin (`-i`/`--input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One task (default: task 0).
    Task(u32),
    /// No task: stdin is /dev/null everywhere.
    None,
}

/// What srun's own options ask for, and the allocation options it shares with sbatch.
#[derive(Debug, Clone, PartialEq)]
pub struct SrunArgs {
    pub label: bool,
    pub input: Input,
    pub quiet: bool,
    pub jobid: Option<JobId>,
    /// sbatch-style options (the allocation request; also the step's shape).
    pub alloc_args: Vec<String>,
    /// The job spec those options give.
    pub spec: JobSpec,
    /// Which shape options were given (`-n`, `-N`, `--ntasks-per-node`, `-c`).
    pub ntasks: Option<u32>,
    pub nodes: Option<u32>,
    pub ntasks_per_node: Option<u32>,
    pub cpus_per_task: Option<u32>,
    /// `--exact` or `--exclusive` (`SLURM_EXACT`): the step holds only the CPUs it needs.
    pub exact: bool,
    /// `--overlap` (`SLURM_OVERLAP`): the step shares resources with every other step.
    pub overlap: bool,
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Warnings to print before running (without the `srun: ` prefix).
    pub warnings: Vec<String>,
}

/// srun's own options: (long name, short letter, takes a value).
const SRUN_ONLY: &[(&str, Option<char>, bool)] = &[
    ("label", Some('l'), false),
    ("unbuffered", Some('u'), false),
    ("input", Some('i'), true),
    ("overlap", None, false),
    ("exact", None, false),
    ("pty", None, false),
    ("mpi", None, true),
    ("kill-on-bad-exit", Some('K'), false),
    ("disable-status", Some('X'), false),
    ("jobid", None, true),
    ("quiet", Some('Q'), false),
    ("verbose", Some('v'), false),
    ("wait", Some('W'), true),
    ("help", Some('h'), false),
    ("usage", None, false),
    ("version", Some('V'), false),
];

/// One option occurrence split off the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opt {
    /// srun's own (else sbatch's).
    pub(crate) own: bool,
    pub(crate) name: String,
    pub(crate) value: Option<String>,
}

/// Splits options from the command: srun's own options, sbatch's options (passed on as
/// `--name=value` / `-x value` words), and the first operand on.
pub(crate) fn split_options(
    prog: &str,
    args: &[String],
) -> Result<(Vec<Opt>, Vec<String>), Output> {
    let mut opts = Vec::new();
    let mut i = 0;
    let fail = |message: String| {
        let mut out = Output::fail(format!("{prog}: {message}"), 1);
        out.err_line(format!("Try \"{prog} --help\" for more information"));
        Err(out)
    };
    while let Some(word) = args.get(i) {
        i += 1;
        if word == "--" {
            return Ok((opts, args[i..].to_vec()));
        }
        if let Some(body) = word.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let own = SRUN_ONLY.iter().find(|(long, _, _)| *long == name).copied();
            let (own, wants) = match own {
                Some((_, _, wants)) => (true, wants),
                None => match takes_value(name) {
                    Some(wants) => (false, wants),
                    None => return fail(format!("unrecognized option '--{name}'")),
                },
            };
            let value = match (inline, wants) {
                (Some(v), _) => Some(v),
                (None, true) => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => return fail(format!("option '--{name}' requires an argument")),
                },
                (None, false) => None,
            };
            opts.push(Opt {
                own,
                name: name.to_owned(),
                value,
            });
        } else if word.len() > 1 && word.starts_with('-') {
            let chars: Vec<char> = word.chars().skip(1).collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let own = SRUN_ONLY.iter().find(|(_, s, _)| *s == Some(c)).copied();
                let (own, wants, name) = match own {
                    Some((long, _, wants)) => (true, wants, long.to_owned()),
                    None => match takes_value(&c.to_string()) {
                        Some(wants) => (false, wants, c.to_string()),
                        None => return fail(format!("invalid option -- '{c}'")),
                    },
                };
                let value = if !wants {
                    None
                } else if k < chars.len() {
                    let v: String = chars[k..].iter().collect();
                    k = chars.len();
                    Some(v)
                } else if let Some(v) = args.get(i) {
                    i += 1;
                    Some(v.clone())
                } else {
                    return fail(format!("option requires an argument -- '{c}'"));
                };
                opts.push(Opt { own, name, value });
            }
        } else {
            return Ok((opts, args[i - 1..].to_vec()));
        }
    }
    Ok((opts, Vec::new()))
}

/// Parses srun's command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Step<SrunArgs>, Output> {
    let (opts, argv) = split_options(PROG, args)?;
    let mut out = SrunArgs {
        label: false,
        input: Input::Task(0),
        quiet: false,
        jobid: None,
        alloc_args: Vec::new(),
        spec: JobSpec::default(),
        ntasks: None,
        nodes: None,
        ntasks_per_node: None,
        cpus_per_task: None,
        exact: env_flag("SLURM_EXACT"),
        overlap: env_flag("SLURM_OVERLAP"),
        argv,
        warnings: Vec::new(),
    };
    let number = |o: &Opt| -> Result<u32, Output> {
        let v = o.value.as_deref().unwrap_or_default();
        let v = v.split('-').next().unwrap_or_default();
        v.parse().map_err(|_| {
            Output::fail(
                format!(
                    "{PROG}: error: Invalid numeric value \"{v}\" for --{}.",
                    o.name
                ),
                1,
            )
        })
    };
    for o in &opts {
        if o.own {
            match o.name.as_str() {
                "label" => out.label = true,
                "quiet" => out.quiet = true,
                "help" => return Ok(Step::Exit(Output::ok(HELP))),
                "usage" => return Ok(Step::Exit(Output::ok(USAGE))),
                "version" => return Ok(Step::Exit(Output::ok(format!("{VERSION_LINE}\n")))),
                "jobid" => out.jobid = Some(number(o)?),
                "exact" => out.exact = true,
                "overlap" => out.overlap = true,
                "input" => {
                    let v = o.value.as_deref().unwrap_or_default();
                    out.input = match v {
                        "none" => Input::None,
                        "all" => Input::Task(0),
                        n => match n.parse() {
                            Ok(t) => Input::Task(t),
                            Err(_) => {
                                return Err(Output::fail(
                                    format!(
                                        "{PROG}: error: --input={v}: only a task number, `all` or `none` is supported"
                                    ),
                                    1,
                                ));
                            }
                        },
                    };
                }
                _ => {} // accepted, no effect here
            }
            continue;
        }
        match o.name.as_str() {
            "n" | "ntasks" => out.ntasks = Some(number(o)?),
            "N" | "nodes" => out.nodes = Some(number(o)?),
            "ntasks-per-node" => out.ntasks_per_node = Some(number(o)?),
            "c" | "cpus-per-task" => out.cpus_per_task = Some(number(o)?),
            // For a step, --exclusive means dedicated CPUs (and implies --exact).
            "exclusive" => out.exact = true,
            _ => {}
        }
        let word = match (&o.value, o.name.chars().count()) {
            (Some(v), 1) => format!("-{}{v}", o.name),
            (Some(v), _) => format!("--{}={v}", o.name),
            (None, 1) => format!("-{}", o.name),
            (None, _) => format!("--{}", o.name),
        };
        out.alloc_args.push(word);
    }
    if out.argv.is_empty() {
        return Err(Output::fail(
            format!("{PROG}: fatal: No command given to execute."),
            1,
        ));
    }
    let ctx = SubmitContext::at(super::now());
    let cmd = parse_command_line(&out.alloc_args, &ctx)
        .map_err(|e| Output::fail(format!("{PROG}: error: {}", e.message), 1))?;
    let req = cmd
        .into_request(Some("#!/bin/sh\n"))
        .map_err(|e| Output::fail(format!("{PROG}: error: {}", e.message), 1))?;
    out.spec = req.spec;
    out.warnings = req.warnings;
    if !out
        .alloc_args
        .iter()
        .any(|a| a.starts_with("-J") || a.starts_with("--job-name"))
    {
        let base = out.argv[0].rsplit('/').next().unwrap_or_default();
        out.spec.name = base.to_owned();
    }
    Ok(Step::Run(out))
}

/// An input environment variable that switches an option on (set and not `0`).
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A task's exit status as srun's exit code: the code, or 128 + the signal.
pub fn exit_code(exit: ExitStatus) -> u8 {
    if exit.signal != 0 {
        u8::try_from(128 + (exit.signal & 0x7f)).unwrap_or(u8::MAX)
    } else {
        u8::try_from(exit.code & 0xff).unwrap_or(u8::MAX)
    }
}

/// A signal's description as `strsignal` gives it (what srun prints for a killed task).
pub fn signal_text(sig: i32) -> String {
    match sig {
        1 => "Hangup".into(),
        2 => "Interrupt".into(),
        3 => "Quit".into(),
        4 => "Illegal instruction".into(),
        6 => "Aborted".into(),
        7 => "Bus error".into(),
        8 => "Floating point exception".into(),
        9 => "Killed".into(),
        10 => "User defined signal 1".into(),
        11 => "Segmentation fault".into(),
        12 => "User defined signal 2".into(),
        13 => "Broken pipe".into(),
        14 => "Alarm clock".into(),
        15 => "Terminated".into(),
        n => format!("Signal {n}"),
    }
}

/// `0`, `0-3`, `0,2-3`: task ids as srun lists them.
pub fn task_ranges(tasks: &[u32]) -> String {
    let mut sorted = tasks.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// srun's error lines for tasks that did not exit 0, grouped by node and status as Slurm
/// does: `srun: error: n1: tasks 0-1: Exited with exit code 3`, `...: task 2: Killed`.
pub fn failure_lines(exits: &BTreeMap<u32, (String, ExitStatus)>) -> Vec<String> {
    let mut groups: BTreeMap<(String, i32, i32), Vec<u32>> = BTreeMap::new();
    for (task, (node, exit)) in exits {
        if !exit.is_success() {
            groups
                .entry((node.clone(), exit.signal, exit.code))
                .or_default()
                .push(*task);
        }
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, tasks)| tasks[0]);
    groups
        .into_iter()
        .map(|((node, signal, code), tasks)| {
            let what = if tasks.len() == 1 { "task" } else { "tasks" };
            let status = if signal != 0 {
                signal_text(signal)
            } else {
                format!("Exited with exit code {code}")
            };
            format!(
                "{PROG}: error: {node}: {what} {}: {status}",
                task_ranges(&tasks)
            )
        })
        .collect()
}

/// Prefixes complete lines of each task's output with `N: ` (`--label`), the width of the
/// highest task id.
#[derive(Debug, Default)]
pub struct Labeler {
    width: usize,
    partial: HashMap<(u32, bool), Vec<u8>>,
}

impl Labeler {
    pub fn new(ntasks: u32) -> Self {
        Self {
            width: ntasks.saturating_sub(1).to_string().len(),
            partial: HashMap::new(),
        }
    }

    fn prefix(&self, task: u32) -> Vec<u8> {
        format!("{task:>width$}: ", width = self.width).into_bytes()
    }

    /// The labelled text of the complete lines in `data`; the rest waits for its newline.
    pub fn feed(&mut self, task: u32, stderr: bool, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let buf = self.partial.entry((task, stderr)).or_default();
        buf.extend_from_slice(data);
        let mut lines = Vec::new();
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            lines.push(buf.drain(..=pos).collect::<Vec<u8>>());
        }
        for line in lines {
            out.extend(self.prefix(task));
            out.extend(line);
        }
        out
    }

    /// What is left of a task's stream (no final newline), labelled.
    pub fn flush(&mut self, task: u32, stderr: bool) -> Vec<u8> {
        match self.partial.remove(&(task, stderr)) {
            Some(rest) if !rest.is_empty() => {
                let mut out = self.prefix(task);
                out.extend(rest);
                out.push(b'\n');
                out
            }
            _ => Vec::new(),
        }
    }
}

/// Runs `srun`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match super::utf8_args(PROG, args) {
        Ok(a) => a,
        Err(out) => return out.emit(),
    };
    let a = match parse_args(&args) {
        Ok(Step::Run(a)) => a,
        Ok(Step::Exit(out)) | Err(out) => return out.emit(),
    };
    for w in &a.warnings {
        eprintln!("{PROG}: {w}");
    }
    match rpc::block_on(run(a)).and_then(|r| r) {
        Ok(code) => ExitCode::from(code),
        Err(e) => Output::fail(format!("{PROG}: error: {e}"), 1).emit(),
    }
}

/// An allocation held by srun or salloc.
pub struct Allocation {
    pub job_id: JobId,
    /// Made by this command (released at the end), or an existing one.
    pub ours: bool,
    /// The job's nodes.
    pub nodes: Vec<String>,
    /// The job as it started (`None` for an allocation srun was given).
    pub job: Option<crate::model::Job>,
    /// Keeps an allocation made by this command held while the command runs.
    pub holder: Option<rpc::AllocationHolder>,
}

/// Asks the controller for an allocation and waits until it runs (printing `queued and
/// waiting` and `has been allocated resources` when it had to wait). `Err` carries the
/// exit code after the error was printed.
pub async fn allocate(
    prog: &str,
    session: &mut Session,
    spec: JobSpec,
    environment: Vec<(String, String)>,
    quiet: bool,
) -> Result<Allocation, u8> {
    let partitions = spec.partitions.clone();
    let mut client = match crate::client::connect_steps(&session.cluster).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "{}",
                RpcError::from(e).line(prog, &format!("{prog}: error"))
            );
            return Err(1);
        }
    };
    let request = match session.authed(AllocateRequest { spec, environment }).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{prog}: error: {e}");
            return Err(1);
        }
    };
    let reply = match client.allocate(request).await {
        Ok(r) => r.into_inner(),
        Err(status) => {
            let e = RpcError::from(status);
            let msg = e.to_string();
            let lines: Vec<&str> = msg.lines().filter(|l| !l.is_empty()).collect();
            let (last, before) = lines.split_last().unwrap_or((&"", &[]));
            for line in before {
                eprintln!("{prog}: error: {line}");
            }
            if before.is_empty()
                && *last == "Invalid partition name specified"
                && !partitions.is_empty()
            {
                eprintln!(
                    "{prog}: error: invalid partition specified: {}",
                    partitions.join(",")
                );
            }
            eprintln!("{prog}: error: Unable to allocate resources: {last}");
            return Err(1);
        }
    };
    let job_id = reply.job_id;
    let mut holder = Some(session.hold_allocation(job_id));
    let mut announced = false;
    // The controller's scheduling pass runs within moments of the request: only a job
    // still pending after this grace had to wait (and is announced so).
    let grace = Instant::now() + Duration::from_millis(500);
    let mut delay = Duration::from_millis(50);
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let list = session
            .list_jobs(JobQuery {
                job_ids: vec![job_id],
            })
            .await;
        if let Ok(list) = list
            && let Some(job) = list.jobs.iter().find(|j| j.id == job_id)
        {
            match job.state {
                JobState::Running if !job.configuring => {
                    if announced && !quiet {
                        eprintln!("{prog}: job {job_id} has been allocated resources");
                    }
                    return Ok(Allocation {
                        job_id,
                        ours: true,
                        nodes: job.node_names().iter().map(|n| (*n).to_owned()).collect(),
                        job: Some(job.clone()),
                        holder: holder.take(),
                    });
                }
                JobState::Pending | JobState::Running if Instant::now() < grace => {}
                JobState::Pending | JobState::Running => {
                    if !announced && !quiet {
                        eprintln!("{prog}: job {job_id} queued and waiting for resources");
                    }
                    announced = true;
                }
                _ => {
                    eprintln!("{prog}: error: Job allocation {job_id} has been revoked.");
                    return Err(1);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = &mut interrupted => {
                // Ctrl-C while waiting: give the allocation back.
                eprintln!("{prog}: Job allocation {job_id} has been revoked.");
                release(session, job_id, ExitStatus { code: 0, signal: 2 }).await;
                return Err(1);
            }
        }
        delay = (delay * 2).min(Duration::from_millis(250));
    }
}

/// Releases an allocation made by this command.
pub async fn release(session: &Session, job_id: JobId, exit: ExitStatus) {
    let Ok(mut client) = crate::client::connect_steps(&session.cluster).await else {
        return;
    };
    if let Ok(request) = session.authed(ReleaseRequest { job_id, exit }).await
        && let Err(status) = client.release_allocation(request).await
    {
        tracing::debug!("release of job {job_id}: {}", status.message());
    }
}

/// What the I/O server tells the main loop.
enum Event {
    Attached {
        node: String,
        sender: mpsc::Sender<StepIoDown>,
    },
    Up(String, StepIoUp),
    Closed(String),
}

/// srun's I/O service: agents attach with the step's token.
struct IoService {
    job_id: JobId,
    step_id: std::sync::Arc<std::sync::OnceLock<u32>>,
    token: String,
    events: mpsc::UnboundedSender<Event>,
}

type DownStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<StepIoDown, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl StepIo for IoService {
    type AttachStream = DownStream;

    async fn attach(
        &self,
        request: tonic::Request<tonic::Streaming<StepIoUp>>,
    ) -> Result<tonic::Response<Self::AttachStream>, tonic::Status> {
        let mut up = request.into_inner();
        let hello = up
            .message()
            .await?
            .ok_or_else(|| tonic::Status::invalid_argument("no hello"))?;
        let StepIoUp::Hello {
            job_id,
            step_id,
            node,
            token,
            ..
        } = hello
        else {
            return Err(tonic::Status::invalid_argument("hello expected"));
        };
        let ok_step = self.step_id.get().is_none_or(|s| *s == step_id);
        if token != self.token || job_id != self.job_id || !ok_step {
            return Err(tonic::Status::permission_denied("Access/permission denied"));
        }
        let (tx, rx) = mpsc::channel::<StepIoDown>(64);
        let _ = self.events.send(Event::Attached {
            node: node.clone(),
            sender: tx,
        });
        let events = self.events.clone();
        tokio::spawn(async move {
            while let Ok(Some(message)) = up.message().await {
                if events.send(Event::Up(node.clone(), message)).is_err() {
                    return;
                }
            }
            let _ = events.send(Event::Closed(node));
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(tonic::Response::new(Box::pin(
            tokio_stream::StreamExt::map(stream, Ok),
        )))
    }
}

/// The address the agents should dial: the interface that reaches the controller
/// (`SLURM_SRUN_COMM_HOST` overrides).
fn advertised_ip(session: &Session) -> String {
    if let Ok(host) = std::env::var("SLURM_SRUN_COMM_HOST")
        && !host.is_empty()
    {
        return host;
    }
    let target = crate::client::controller_address(&session.cluster)
        .ok()
        .and_then(|(h, p)| {
            std::net::ToSocketAddrs::to_socket_addrs(&(h.as_str(), p))
                .ok()?
                .next()
        });
    target
        .and_then(|addr| {
            let sock = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
            sock.connect(addr).ok()?;
            Some(sock.local_addr().ok()?.ip().to_string())
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The caller's environment, in order.
pub fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

async fn run(a: SrunArgs) -> Result<u8, RpcError> {
    let mut session = Session::connect().await?;
    let env = environment();
    let from_env = std::env::var("SLURM_JOB_ID")
        .ok()
        .and_then(|v| v.parse::<JobId>().ok());
    let alloc = match a.jobid.or(from_env) {
        Some(job_id) => Allocation {
            job_id,
            ours: false,
            nodes: Vec::new(),
            job: None,
            holder: None,
        },
        None => match allocate(PROG, &mut session, a.spec.clone(), env.clone(), a.quiet).await {
            Ok(alloc) => alloc,
            Err(code) => return Ok(code),
        },
    };
    let worst = run_step(&session, &a, alloc.job_id, env).await;
    let code = match worst {
        Ok(exit) => {
            if alloc.ours {
                release(&session, alloc.job_id, exit).await;
            }
            exit_code(exit)
        }
        Err(code) => {
            if alloc.ours {
                release(&session, alloc.job_id, ExitStatus { code: 1, signal: 0 }).await;
            }
            code
        }
    };
    Ok(code)
}

/// Creates the step, relays its I/O and returns the worst task exit status (`Err`: the exit
/// code after an error was printed).
async fn run_step(
    session: &Session,
    a: &SrunArgs,
    job_id: JobId,
    environment: Vec<(String, String)>,
) -> Result<ExitStatus, u8> {
    let listener = match tokio::net::TcpListener::bind(("0.0.0.0", 0)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{PROG}: error: cannot listen for the step's I/O: {e}");
            return Err(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let token = random_token();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let step_cell = std::sync::Arc::new(std::sync::OnceLock::new());
    let service = IoService {
        job_id,
        step_id: step_cell.clone(),
        token: token.clone(),
        events: events_tx,
    };
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(StepIoServer::new(service))
            .serve_with_incoming(crate::proto::transport::incoming_nodelay(listener)),
    );
    let _server = AbortOnDrop(server);

    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let request = StepRequest {
        job_id,
        name: a.spec.name.clone(),
        argv: a.argv.clone(),
        environment,
        work_dir: cwd,
        ntasks: a.ntasks,
        nodes: a.nodes,
        ntasks_per_node: a.ntasks_per_node,
        cpus_per_task: a.cpus_per_task,
        io_addr: format!("{}:{port}", advertised_ip(session)),
        io_token: token,
        stdin_task: match a.input {
            Input::Task(t) => Some(t),
            Input::None => None,
        },
        exact: a.exact,
        overlap: a.overlap,
    };
    let reply = create_step_when_free(session, request, a.quiet).await?;
    let _ = step_cell.set(reply.step_id);
    relay(a, job_id, &reply, &mut events).await
}

/// Why a step was not created.
enum CreateError {
    /// Other steps hold the CPUs it needs: ask again later.
    Busy(String),
    Failed(RpcError),
}

/// Creates the step, waiting while other steps hold its CPUs as srun does ("step creation
/// temporarily disabled, retrying"). `Err`: the exit code after the error was printed.
async fn create_step_when_free(
    session: &Session,
    request: StepRequest,
    quiet: bool,
) -> Result<StepReply, u8> {
    let job_id = request.job_id;
    let mut waited = false;
    let mut delay = Duration::from_millis(100);
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        match create_step(session, request.clone()).await {
            Ok(reply) => {
                if waited && !quiet {
                    eprintln!("{PROG}: Step created for StepId={job_id}.{}", reply.step_id);
                }
                return Ok(reply);
            }
            Err(CreateError::Busy(why)) => {
                if !waited && !quiet {
                    eprintln!(
                        "{PROG}: Job {job_id} step creation temporarily disabled, retrying ({why})"
                    );
                }
                waited = true;
            }
            Err(CreateError::Failed(e)) => {
                eprintln!("{PROG}: error: Unable to create step for job {job_id}: {e}");
                return Err(1);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = &mut interrupted => {
                eprintln!("{PROG}: Cancelled pending job step with signal 2");
                eprintln!("{PROG}: error: Unable to create step for job {job_id}: Job/step already completing or completed");
                return Err(1);
            }
        }
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

async fn create_step(session: &Session, request: StepRequest) -> Result<StepReply, CreateError> {
    let failed = |e: RpcError| CreateError::Failed(e);
    let mut client = crate::client::connect_steps(&session.cluster)
        .await
        .map_err(|e| failed(e.into()))?;
    let request = session.authed(request).await.map_err(failed)?;
    match client.create_step(request).await {
        Ok(reply) => Ok(reply.into_inner()),
        Err(status) if status.code() == tonic::Code::ResourceExhausted => {
            Err(CreateError::Busy(status.message().to_owned()))
        }
        Err(status) => Err(failed(status.into())),
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads stdin on a thread (it blocks) and hands chunks over; `None` at end of input.
fn stdin_reader() -> mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.blocking_send(None);
                    return;
                }
                Ok(n) => {
                    if tx.blocking_send(Some(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The main loop: output, exits, stdin, Ctrl-C.
async fn relay(
    a: &SrunArgs,
    job_id: JobId,
    reply: &StepReply,
    events: &mut mpsc::UnboundedReceiver<Event>,
) -> Result<ExitStatus, u8> {
    use tokio::signal::unix::{SignalKind, signal};
    let step = format!("{job_id}.{}", reply.step_id);
    let ntasks: u32 = reply.tasks_per_node.iter().sum();
    let mut node_of_task: HashMap<u32, String> = HashMap::new();
    let mut next = 0;
    for (node, &n) in reply.nodes.iter().zip(&reply.tasks_per_node) {
        for t in next..next + n {
            node_of_task.insert(t, node.clone());
        }
        next += n;
    }
    let stdin_node = match a.input {
        Input::Task(t) => node_of_task.get(&t).cloned(),
        Input::None => None,
    };
    let mut senders: HashMap<String, mpsc::Sender<StepIoDown>> = HashMap::new();
    let mut exits: BTreeMap<u32, (String, ExitStatus)> = BTreeMap::new();
    let mut labeler = a.label.then(|| Labeler::new(ntasks));
    let mut stdin = stdin_node.as_ref().map(|_| stdin_reader());
    let mut stdin_buffer: Vec<StepIoDown> = Vec::new();
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let mut last_intr: Option<Instant> = None;
    let mut intr_sent = 0;
    let mut closed: Vec<String> = Vec::new();
    // Nodes that never connect (an agent gone, srun unreachable from a node) end the step.
    let attach_deadline = tokio::time::Instant::now() + ATTACH_TIMEOUT;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let broadcast = |senders: &HashMap<String, mpsc::Sender<StepIoDown>>, m: StepIoDown| {
        for s in senders.values() {
            let _ = s.try_send(m.clone());
        }
    };
    while (exits.len() as u32) < ntasks {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                match event {
                    Event::Attached { node, sender } => {
                        if Some(&node) == stdin_node.as_ref() {
                            for m in stdin_buffer.drain(..) {
                                let _ = sender.send(m).await;
                            }
                        }
                        senders.insert(node, sender);
                    }
                    Event::Up(_, StepIoUp::Output { task, stderr: is_err, data }) => {
                        let bytes = match labeler.as_mut() {
                            Some(l) => l.feed(task, is_err, &data),
                            None => data,
                        };
                        if is_err {
                            let mut e = stderr.lock();
                            let _ = e.write_all(&bytes);
                            let _ = e.flush();
                        } else {
                            let mut o = stdout.lock();
                            let _ = o.write_all(&bytes);
                            let _ = o.flush();
                        }
                    }
                    Event::Up(node, StepIoUp::Exited { task, exit }) => {
                        if let Some(l) = labeler.as_mut() {
                            let _ = stdout.lock().write_all(&l.flush(task, false));
                            let _ = stderr.lock().write_all(&l.flush(task, true));
                        }
                        exits.insert(task, (node, exit));
                    }
                    Event::Up(node, StepIoUp::LaunchFailed { task, message }) => {
                        eprintln!("{PROG}: error: {node}: task {task}: {message}");
                    }
                    Event::Up(_, StepIoUp::Hello { .. }) => {}
                    Event::Closed(node) => {
                        closed.push(node.clone());
                        if closed.len() >= reply.nodes.len() {
                            break;
                        }
                    }
                }
            }
            chunk = async { stdin.as_mut().unwrap().recv().await }, if stdin.is_some() => {
                let message = match chunk {
                    Some(Some(data)) => StepIoDown::Stdin { data },
                    _ => {
                        stdin = None;
                        StepIoDown::StdinClosed
                    }
                };
                match stdin_node.as_ref().and_then(|n| senders.get(n)) {
                    Some(s) => { let _ = s.send(message).await; }
                    None => stdin_buffer.push(message),
                }
            }
            _ = async { sigint.as_mut().unwrap().recv().await }, if sigint.is_some() => {
                let now = Instant::now();
                let within = last_intr.is_some_and(|t| now.duration_since(t) <= Duration::from_secs(1));
                if !within {
                    last_intr = Some(now);
                    eprintln!("{PROG}: interrupt (one more within 1 sec to abort)");
                    for line in status_lines(&step, ntasks, &exits) {
                        eprintln!("{line}");
                    }
                } else if intr_sent == 0 {
                    intr_sent += 1;
                    last_intr = Some(now);
                    eprintln!("{PROG}: sending Ctrl-C to StepId={step}");
                    broadcast(&senders, StepIoDown::Signal { signal: 2 });
                } else {
                    eprintln!("{PROG}: forcing job termination");
                    broadcast(&senders, StepIoDown::Cancel);
                }
            }
            () = tokio::time::sleep_until(attach_deadline), if senders.len() < reply.nodes.len() => {
                let missing: Vec<&str> = reply
                    .nodes
                    .iter()
                    .filter(|n| !senders.contains_key(*n))
                    .map(String::as_str)
                    .collect();
                eprintln!(
                    "{PROG}: error: StepId={step}: no answer from {} within {}s; ending the step",
                    crate::parse::hostlist::compress(&missing),
                    ATTACH_TIMEOUT.as_secs()
                );
                broadcast(&senders, StepIoDown::Cancel);
                // The attached nodes' tasks end and report; the others count as failed.
                for (t, n) in &node_of_task {
                    if missing.contains(&n.as_str()) {
                        exits.entry(*t).or_insert((n.clone(), ExitStatus { code: 1, signal: 0 }));
                    }
                }
            }
            _ = async { sigterm.as_mut().unwrap().recv().await }, if sigterm.is_some() => {
                eprintln!("{PROG}: forcing job termination");
                broadcast(&senders, StepIoDown::Cancel);
            }
        }
    }
    let lost: Vec<u32> = (0..ntasks).filter(|t| !exits.contains_key(t)).collect();
    for t in &lost {
        let node = node_of_task.get(t).cloned().unwrap_or_default();
        exits.insert(*t, (node, ExitStatus { code: 1, signal: 0 }));
    }
    if !lost.is_empty() {
        eprintln!(
            "{PROG}: error: StepId={step} tasks {}: lost (no exit status)",
            task_ranges(&lost)
        );
    }
    for line in failure_lines(&exits) {
        eprintln!("{line}");
    }
    let worst = exits
        .values()
        .map(|(_, e)| *e)
        .fold(ExitStatus::SUCCESS, crate::controller::steps::worse);
    Ok(worst)
}

/// The step's status, as srun prints it on the first Ctrl-C.
fn status_lines(
    step: &str,
    ntasks: u32,
    exits: &BTreeMap<u32, (String, ExitStatus)>,
) -> Vec<String> {
    let running: Vec<u32> = (0..ntasks).filter(|t| !exits.contains_key(t)).collect();
    let done: Vec<u32> = exits.keys().copied().collect();
    let mut out = Vec::new();
    for (tasks, what) in [(running, "running"), (done, "exited")] {
        if !tasks.is_empty() {
            let noun = if tasks.len() == 1 { "task" } else { "tasks" };
            out.push(format!(
                "{PROG}: StepId={step} {noun} {}: {what}",
                task_ranges(&tasks)
            ));
        }
    }
    out
}

const USAGE: &str = "\
Usage: srun [-N nnodes] [-n ntasks] [-c ncpus] [-t minutes] [-p partition]
            [-A account] [-q qos] [-J jobname] [--mem=MB] [--gres=list] [-G gpus]
            [-l] [-i in] [--jobid=id] [-Q] executable [args...]
";

const HELP: &str = "\
Usage: srun [OPTIONS(0)... [executable(0) [args(0)...]]]

Parallel run options:
  -A, --account=name          charge job to specified account
  -c, --cpus-per-task=ncpus   number of cpus required per task
  -D, --chdir=path            change remote current working directory
  -i, --input=in              location of stdin redirection (task number or none)
  -J, --job-name=jobname      name of job
      --jobid=id              run under already allocated job
  -l, --label                 prepend task number to lines of stdout/err
  -n, --ntasks=ntasks         number of tasks to run
      --ntasks-per-node=n     number of tasks to invoke on each node
  -N, --nodes=N               number of nodes on which to run (N = min[-max])
  -p, --partition=partition   partition requested
  -q, --qos=qos               quality of service
  -Q, --quiet                 quiet mode (suppress informational messages)
  -t, --time=minutes          time limit
      --mem=MB                minimum amount of real memory
  -G, --gpus=n                count of GPUs required for the job
      --gres=list             required generic resources

Help options:
  -h, --help                  show this help message
      --usage                 display brief usage message

Other options:
  -V, --version               output version information and exit
";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn parsed(words: &[&str]) -> SrunArgs {
        match parse_args(&args(words)) {
            Ok(Step::Run(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_split_from_the_command() {
        let a = parsed(&["-l", "-N", "2", "-n4", "--mem=100", "hostname", "-l", "-x"]);
        assert!(a.label);
        assert_eq!(a.argv, ["hostname", "-l", "-x"]);
        assert_eq!((a.nodes, a.ntasks), (Some(2), Some(4)));
        assert_eq!(a.spec.min_nodes, 2);
        assert_eq!(a.spec.ntasks, 4);
        assert_eq!(a.spec.name, "hostname");
        let a = parsed(&["--label", "-J", "x", "-p", "gpu", "--", "/bin/echo", "hi"]);
        assert_eq!(a.spec.name, "x");
        assert_eq!(a.spec.partitions, ["gpu"]);
        assert_eq!(a.argv, ["/bin/echo", "hi"]);
        let a = parsed(&["-lu", "--input=none", "true"]);
        assert!(a.label);
        assert_eq!(a.input, Input::None);
        assert_eq!(parsed(&["true"]).ntasks, None);
    }

    #[test]
    fn bad_options() {
        let Err(out) = parse_args(&args(&["--bogus", "x"])) else {
            panic!()
        };
        assert!(
            out.stderr.contains("unrecognized option '--bogus'"),
            "{out:?}"
        );
        let Err(out) = parse_args(&args(&["-l"])) else {
            panic!()
        };
        assert!(out.stderr.contains("No command given"), "{out:?}");
    }

    #[test]
    fn labels() {
        let mut l = Labeler::new(4);
        assert_eq!(l.feed(2, false, b"a\nb"), b"2: a\n");
        assert_eq!(l.feed(2, false, b"c\n"), b"2: bc\n");
        assert_eq!(l.feed(1, false, b"x"), b"");
        assert_eq!(l.flush(1, false), b"1: x\n");
        let mut wide = Labeler::new(12);
        assert_eq!(wide.feed(3, true, b"e\n"), b" 3: e\n");
    }

    #[test]
    fn exit_codes_and_errors() {
        assert_eq!(exit_code(ExitStatus { code: 3, signal: 0 }), 3);
        assert_eq!(exit_code(ExitStatus { code: 0, signal: 9 }), 137);
        assert_eq!(task_ranges(&[3, 0, 1, 2, 5]), "0-3,5");
        let mut exits = BTreeMap::new();
        exits.insert(0, ("n1".to_owned(), ExitStatus { code: 3, signal: 0 }));
        exits.insert(1, ("n1".to_owned(), ExitStatus { code: 3, signal: 0 }));
        exits.insert(2, ("n2".to_owned(), ExitStatus::SUCCESS));
        exits.insert(3, ("n2".to_owned(), ExitStatus { code: 0, signal: 9 }));
        assert_eq!(
            failure_lines(&exits),
            [
                "srun: error: n1: tasks 0-1: Exited with exit code 3",
                "srun: error: n2: task 3: Killed"
            ]
        );
    }
}
