//! `slinky slurmctld`: the controller daemon, as the controller pod runs it.

use anyhow::Context;
use slurm_core::config;
use slurm_core::controller::{ControllerOptions, listen_address, run_controller};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SlurmctldArgs {
    /// slurm.conf to run from (default: $SLURM_CONF, else /etc/slurm/slurm.conf).
    #[arg(short = 'f', long = "conf", value_name = "FILE")]
    pub conf: Option<PathBuf>,
    /// Run in the foreground (the only mode; accepted for compatibility with slurmctld).
    #[arg(short = 'D')]
    pub foreground: bool,
    /// Override StateSaveLocation.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: SlurmctldArgs) -> anyhow::Result<ExitCode> {
    let path = args
        .conf
        .unwrap_or_else(slurm_core::client::slurm_conf_path);
    let loaded = config::load_slurm_conf(&path)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let cluster = loaded.cluster;
    let state_dir = args
        .state_dir
        .unwrap_or_else(|| PathBuf::from(&cluster.state_save_location));
    let options = ControllerOptions {
        listen: listen_address(&cluster),
        state_dir,
        cluster,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_controller(options, crate::shutdown_signal()))?;
    Ok(ExitCode::SUCCESS)
}
