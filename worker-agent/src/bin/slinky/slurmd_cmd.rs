//! `slinky slurmd`: the worker agent daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use slurm_core::client::slurm_conf_path;
use slurm_core::config::load_slurm_conf;
use worker_agent::daemon::{self, AgentOptions};

#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct SlurmdArgs {
    /// The node this agent stands for (default: the short host name).
    #[arg(short = 'N', long = "nodename", value_name = "NODENAME")]
    pub node_name: Option<String>,
    /// slurm.conf to read (default: $SLURM_CONF, else /etc/slurm/slurm.conf).
    #[arg(short = 'f', long = "conf", value_name = "FILE")]
    pub conf: Option<PathBuf>,
    /// Spool directory for running steps' state and undelivered reports
    /// (default: /var/spool/slurmd/NODENAME).
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// Run in the foreground (accepted for compatibility: the agent never daemonizes).
    #[arg(short = 'D')]
    pub foreground: bool,
    /// On SIGTERM/SIGINT, terminate running jobs before exiting instead of leaving them to
    /// the next agent.
    #[arg(long)]
    pub kill_jobs_on_exit: bool,
    /// Track steps through /proc even where cgroup v2 is usable.
    #[arg(long)]
    pub no_cgroups: bool,
    /// Without GPU devices, emulate the GPUs slurm.conf gives this node (local clusters).
    #[arg(long)]
    pub emulate_gpus: bool,
}

impl SlurmdArgs {
    /// The agent options these flags describe (reads the config).
    pub fn options(&self) -> anyhow::Result<AgentOptions> {
        let conf = self.conf.clone().unwrap_or_else(slurm_conf_path);
        let loaded = load_slurm_conf(&conf)
            .with_context(|| format!("cannot load the configuration {}", conf.display()))?;
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        let node = self
            .node_name
            .clone()
            .unwrap_or_else(daemon::short_hostname);
        let spool = self
            .spool
            .clone()
            .unwrap_or_else(|| daemon::default_spool_dir(&node));
        let mut options = AgentOptions::from_loaded(node, loaded, spool);
        options.kill_jobs_on_exit = self.kill_jobs_on_exit;
        options.emulate_gpus = self.emulate_gpus;
        options.cgroup.enabled = !self.no_cgroups;
        Ok(options)
    }
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(args: SlurmdArgs) -> anyhow::Result<ExitCode> {
    let options = args.options()?;
    let node = options.node_name.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("slurmd")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = shutdown_signal()?;
        daemon::run_agent(options, shutdown)
            .await
            .with_context(|| format!("slurmd for node {node}"))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on the first SIGTERM or SIGINT.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutdown requested");
    })
}
