//! `slinky sim` (TODO(helper)).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SimArgs {}

pub fn run(_args: SimArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("slinky sim is not implemented yet")
}
