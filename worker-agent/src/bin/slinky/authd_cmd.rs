//! `slinky authd`: the credential signer (the munged role). Holds the cluster key and
//! answers on a Unix socket with a credential for whoever connects (uid/gid from the
//! kernel's peer credentials). Commands on this host get their credentials here; they never
//! read the key.

use anyhow::Context;
use slurm_core::auth::signer::SignerSocket;
use slurm_core::auth::{AuthMode, AuthSettings, ClusterKey};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct AuthdArgs {
    /// The cluster key (default: AuthInfo's key= in slurm.conf, else /etc/slurm/slurm.key).
    /// Must be readable by its owner only.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The socket to serve (default: AuthInfo's socket=, else /run/slinky/auth.socket).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Credential lifetime in seconds (default: AuthInfo's ttl=, else 300).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u32>,
    /// Create a new random key (mode 0400) when the key file does not exist.
    #[arg(long)]
    pub create_key: bool,
    /// slurm.conf to take defaults from (default: $SLURM_CONF, else /etc/slurm/slurm.conf;
    /// not needed when --key and --socket are given).
    #[arg(short = 'f', long = "conf", value_name = "FILE")]
    pub conf: Option<PathBuf>,
}

pub fn run(args: AuthdArgs) -> anyhow::Result<ExitCode> {
    let mut settings = if args.key.is_some() && args.socket.is_some() {
        AuthSettings::default()
    } else {
        let path = args
            .conf
            .clone()
            .unwrap_or_else(slurm_core::client::slurm_conf_path);
        let loaded = slurm_core::config::load_slurm_conf(&path)
            .with_context(|| format!("cannot load the configuration {}", path.display()))?;
        match AuthMode::from_config(&loaded.cluster)? {
            AuthMode::Signed(s) => s,
            AuthMode::None => anyhow::bail!(
                "{}: AuthType=auth/none: there is nothing to sign",
                path.display()
            ),
        }
    };
    if let Some(key) = args.key {
        settings.key = key;
    }
    if let Some(socket) = args.socket {
        settings.socket = socket;
    }
    if let Some(ttl) = args.ttl {
        anyhow::ensure!(
            (1..=slurm_core::auth::MAX_TTL_S).contains(&ttl),
            "--ttl must be between 1 and {} seconds",
            slurm_core::auth::MAX_TTL_S
        );
        settings.ttl_s = ttl;
    }
    let key = if args.create_key {
        let (key, created) = ClusterKey::load_or_generate(&settings.key)?;
        if created {
            tracing::info!(key = %settings.key.display(), "created a new cluster key");
        }
        key
    } else {
        ClusterKey::load(&settings.key)?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("authd")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let socket = SignerSocket::bind(&settings.socket)?;
        socket
            .serve(Arc::new(key), settings.ttl_s, crate::shutdown_signal())
            .await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
