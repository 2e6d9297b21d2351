//! `slinky conf check` (TODO(helper)).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum ConfCommand {
    /// Validate a slurm.conf (and its gres.conf) and print the cluster it describes.
    Check {
        /// Path to slurm.conf.
        file: std::path::PathBuf,
    },
}

pub fn run(_cmd: ConfCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("slinky conf check is not implemented yet")
}
