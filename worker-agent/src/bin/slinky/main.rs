//! `slinky`: one multi-call binary. Called as `sbatch`, `squeue`, `sinfo`, `scancel` or
//! `scontrol` (a link name) it is that command; otherwise `slinky COMMAND`:
//! `slinky up` (a local cluster), `slinky slurmctld`, `slinky slurmd`, `slinky authd`,
//! `slinky cred`, `slinky sim`, `slinky conf check`, and the Slurm commands as subcommands
//! (`slinky sbatch ...`).

mod authd_cmd;
mod conf_cmd;
mod cred_cmd;
mod operator_cmd;
mod sim_cmd;
mod slurmctld_cmd;
mod slurmd_cmd;
mod slurmdbd_cmd;
mod up_cmd;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "slinky",
    version,
    about = "A Slurm-compatible scheduler for Kubernetes",
    after_help = "The Slurm commands are available as `slinky sbatch|squeue|sinfo|scancel|scontrol ...` and under their own names through links (`slinky up` creates them)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local cluster: a controller and worker agents on this machine.
    Up(up_cmd::UpArgs),
    /// The controller daemon (slurmctld role).
    Slurmctld(slurmctld_cmd::SlurmctldArgs),
    /// The worker agent daemon (slurmd role).
    Slurmd(slurmd_cmd::SlurmdArgs),
    /// The accounting daemon (slurmdbd role): job records in SQLite or MySQL/MariaDB.
    Slurmdbd(slurmdbd_cmd::SlurmdbdArgs),
    /// The credential signer (munged role): signs credentials for local users.
    Authd(authd_cmd::AuthdArgs),
    /// Print a credential (`encode`, like `munge -n`) or check one (`decode`, like `unmunge`).
    #[command(subcommand)]
    Cred(cred_cmd::CredCommand),
    /// Replay a workload trace (SWF) through the scheduling engine.
    Sim(sim_cmd::SimArgs),
    /// Work with slurm.conf files.
    #[command(subcommand)]
    Conf(conf_cmd::ConfCommand),
    /// Print the SlurmCluster and Partition CustomResourceDefinitions (YAML).
    Crds(operator_cmd::CrdsArgs),
    /// Run the Kubernetes operator (in-cluster config, else the kubeconfig).
    Operator(operator_cmd::OperatorArgs),
}

/// The Slurm commands this binary answers to.
pub const SLURM_COMMANDS: &[&str] = &[
    "sbatch", "squeue", "sinfo", "scancel", "scontrol", "sacct", "sacctmgr", "sreport", "sshare",
    "srun", "salloc", "sstat",
];

fn slurm_command(name: &str, args: Vec<OsString>) -> Option<ExitCode> {
    use slurm_core::commands;
    Some(match name {
        "sbatch" => commands::sbatch::main(args),
        "squeue" => commands::squeue::main(args),
        "sinfo" => commands::sinfo::main(args),
        "scancel" => commands::scancel::main(args),
        "scontrol" => commands::scontrol::main(args),
        "sacct" => commands::sacct::main(args),
        "sacctmgr" => commands::sacctmgr::main(args),
        "sreport" => commands::sreport::main(args),
        "sshare" => commands::sshare::main(args),
        "srun" => commands::srun::main(args),
        "salloc" => commands::salloc::main(args),
        "sstat" => commands::sstat::main(args),
        _ => return None,
    })
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Logs go to stderr; `SLINKY_LOG` (an EnvFilter such as `debug` or `slurm_core=trace`)
/// overrides the level.
fn init_logging(default_level: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLINKY_LOG")
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Daemons started by `slinky up` end with it, even when it is killed.
fn die_with_parent() {
    let Some(parent) = std::env::var("SLINKY_PARENT_PID")
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return;
    };
    if nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).is_ok()
        && nix::unistd::getppid().as_raw() != parent
    {
        // The parent is already gone.
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    // Before anything can touch TLS: rustls panics when it must choose between the crypto
    // providers compiled in (ring, and aws-lc-rs if a dependency enables it).
    slurm_core::tls::install_crypto_provider();
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let program = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(code) = slurm_command(&program, args.clone()) {
        return code;
    }
    if let Some(sub) = args.get(1).map(|a| a.to_string_lossy().into_owned())
        && SLURM_COMMANDS.contains(&sub.as_str())
    {
        args.remove(0);
        return slurm_command(&sub, args).unwrap_or(ExitCode::FAILURE);
    }
    die_with_parent();
    let cli = Cli::parse();
    let daemon = matches!(
        cli.command,
        Command::Up(_)
            | Command::Slurmctld(_)
            | Command::Slurmd(_)
            | Command::Slurmdbd(_)
            | Command::Authd(_)
            | Command::Operator(_)
    );
    init_logging(if daemon { "info" } else { "warn" });
    let result = match cli.command {
        Command::Up(args) => up_cmd::run(args),
        Command::Slurmctld(args) => slurmctld_cmd::run(args),
        Command::Slurmd(args) => slurmd_cmd::run(args),
        Command::Slurmdbd(args) => slurmdbd_cmd::run(args),
        Command::Authd(args) => authd_cmd::run(args),
        Command::Cred(cmd) => cred_cmd::run(cmd),
        Command::Sim(args) => sim_cmd::run(args),
        Command::Conf(cmd) => conf_cmd::run(cmd),
        Command::Crds(args) => operator_cmd::crds(args),
        Command::Operator(args) => operator_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("slinky: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
