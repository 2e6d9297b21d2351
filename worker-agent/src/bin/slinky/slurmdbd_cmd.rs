//! `slinky slurmdbd`: the accounting daemon, as the dbd pod (or `slinky up`) runs it.
//! It verifies every request with the cluster key: `AuthType`/`AuthInfo`/`SlurmUser` come
//! from slurmdbd.conf, else from the slurm.conf beside it (`SLURM_CONF`), else Slurm's
//! defaults.

use anyhow::Context;
use slurm_core::dbd::DbdSettings;
use slurm_core::dbd::conf::DbdConf;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SlurmdbdArgs {
    /// slurmdbd.conf to run from (default: slurmdbd.conf beside $SLURM_CONF, else
    /// /etc/slurm/slurmdbd.conf; not needed with --storage).
    #[arg(short = 'f', long = "conf", value_name = "FILE")]
    pub conf: Option<PathBuf>,
    /// Run in the foreground (the only mode; accepted for compatibility with slurmdbd).
    #[arg(short = 'D')]
    pub foreground: bool,
    /// The database: `sqlite:///PATH` or `mysql://USER:PASS@HOST[:PORT]/DB` (overrides the
    /// Storage* settings).
    #[arg(long, value_name = "URL", env = "SLINKY_DBD_STORAGE")]
    pub storage: Option<String>,
    /// Where to listen (overrides DbdAddr/DbdPort; default 0.0.0.0:6819).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
}

/// slurmdbd.conf beside the slurm.conf commands read.
fn default_conf_path() -> PathBuf {
    slurm_core::client::slurm_conf_path()
        .parent()
        .map_or_else(|| PathBuf::from("/etc/slurm"), |p| p.to_owned())
        .join("slurmdbd.conf")
}

pub fn run(args: SlurmdbdArgs) -> anyhow::Result<ExitCode> {
    let conf = match (&args.conf, &args.storage) {
        (Some(path), _) => DbdConf::load(path)?,
        (None, Some(_)) => {
            let path = default_conf_path();
            if path.exists() {
                DbdConf::load(&path)?
            } else {
                DbdConf::default()
            }
        }
        (None, None) => DbdConf::load(&default_conf_path())?,
    };
    for key in &conf.ignored {
        tracing::warn!("slurmdbd.conf: {key} is not a slurmdbd option slinky knows; ignored");
    }
    let url = match args.storage {
        Some(url) => url,
        None => conf.storage_url()?,
    };
    let listen = args.listen.unwrap_or_else(|| conf.listen());
    let settings = DbdSettings::resolve(&conf, cluster_config(&conf)?.as_ref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(slurm_core::dbd::run_dbd(
        &url,
        listen,
        settings,
        crate::shutdown_signal(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The cluster's slurm.conf, when slurmdbd.conf leaves an authentication setting to it and
/// there is one to read.
fn cluster_config(conf: &DbdConf) -> anyhow::Result<Option<slurm_core::config::ClusterConfig>> {
    if conf.auth_type.is_some() && conf.auth_info.is_some() && conf.slurm_user.is_some() {
        return Ok(None);
    }
    let path = slurm_core::client::slurm_conf_path();
    if !path.exists() {
        return Ok(None);
    }
    let loaded = slurm_core::config::load_slurm_conf(&path).with_context(|| {
        format!(
            "reading {} for AuthType, AuthInfo and SlurmUser (or set them in slurmdbd.conf)",
            path.display()
        )
    })?;
    Ok(Some(loaded.cluster))
}
