//! `slinky conf check FILE`: load a slurm.conf (and its gres.conf), print what slinky
//! understood, then the warnings. Exits 0 when the config loads, 1 (via `main`) when not.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use slurm_core::config::{self, LoadedConfig};

#[derive(clap::Subcommand)]
pub enum ConfCommand {
    /// Validate a slurm.conf (and its gres.conf) and print the cluster it describes.
    Check {
        /// Path to slurm.conf.
        file: PathBuf,
        /// gres.conf to apply (default: `gres.conf` next to FILE, when present).
        #[arg(long, value_name = "FILE")]
        gres_conf: Option<PathBuf>,
    },
}

pub fn run(cmd: ConfCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfCommand::Check { file, gres_conf } => check(&file, gres_conf.as_deref()),
    }
}

fn check(file: &Path, gres_conf: Option<&Path>) -> anyhow::Result<ExitCode> {
    let loaded = load(file, gres_conf)?;
    print!(
        "{}",
        config::render_report(&loaded.cluster, loaded.gres_conf.as_ref(), &loaded.warnings)
    );
    Ok(ExitCode::SUCCESS)
}

fn load(file: &Path, gres_conf: Option<&Path>) -> Result<LoadedConfig, config::ConfigError> {
    let Some(gres_path) = gres_conf else {
        return config::load_slurm_conf(file);
    };
    let text = config::slurm_conf::read_file(file)?;
    let loaded = config::parse_slurm_conf(&text, &file.display().to_string())?;
    Ok(loaded.with_gres_conf(config::load_gres_conf(gres_path)?))
}
