//! `slinky`: the command-line entry point (simulator, config check; more with later issues).

mod conf_cmd;
mod sim_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "slinky",
    version,
    about = "A Slurm-compatible scheduler for Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a workload trace (SWF) through the scheduling engine.
    Sim(sim_cmd::SimArgs),
    /// Work with slurm.conf files.
    #[command(subcommand)]
    Conf(conf_cmd::ConfCommand),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => sim_cmd::run(args),
        Command::Conf(cmd) => conf_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("slinky: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
