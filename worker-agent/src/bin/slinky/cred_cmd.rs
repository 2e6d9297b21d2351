//! `slinky cred encode|decode`: MUNGE's `munge -n` and `unmunge`, for checking a cluster's
//! authentication by hand (`slinky cred encode | ssh ctl slinky cred decode`).

use anyhow::Context;
use slurm_core::auth::{AuthMode, ClusterKey, CredentialSource, token};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum CredCommand {
    /// Print a credential for the calling user, from the signer (`slinky authd`) named by
    /// slurm.conf's AuthInfo (like `munge -n`).
    Encode {
        /// slurm.conf (default: $SLURM_CONF, else /etc/slurm/slurm.conf).
        #[arg(short = 'f', long = "conf", value_name = "FILE")]
        conf: Option<PathBuf>,
    },
    /// Read a credential from stdin, check it with the cluster key and print what it says
    /// (like `unmunge`). Needs read access to the key.
    Decode {
        /// The cluster key (default: AuthInfo's key= in slurm.conf).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        #[arg(short = 'f', long = "conf", value_name = "FILE")]
        conf: Option<PathBuf>,
    },
}

fn cluster(conf: Option<PathBuf>) -> anyhow::Result<slurm_core::config::ClusterConfig> {
    let path = conf.unwrap_or_else(slurm_core::client::slurm_conf_path);
    Ok(slurm_core::config::load_slurm_conf(&path)
        .with_context(|| format!("cannot load the configuration {}", path.display()))?
        .cluster)
}

pub fn run(cmd: CredCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CredCommand::Encode { conf } => {
            let cluster = cluster(conf)?;
            let source = CredentialSource::for_commands(&cluster)?;
            anyhow::ensure!(
                !matches!(source, CredentialSource::Unsigned),
                "AuthType=auth/none: there are no credentials"
            );
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let credential = runtime.block_on(source.credential())?;
            println!("{}", credential.token.unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        CredCommand::Decode { key, conf } => {
            let key_path = match key {
                Some(k) => k,
                None => match AuthMode::from_config(&cluster(conf)?)? {
                    AuthMode::Signed(s) => s.key,
                    AuthMode::None => anyhow::bail!("AuthType=auth/none: there is no key"),
                },
            };
            let key = ClusterKey::load(&key_path)?;
            let mut text = String::new();
            std::io::stdin()
                .take(token::MAX_TOKEN_LEN as u64 + 2)
                .read_to_string(&mut text)?;
            match token::decode(&key, text.trim()) {
                Ok(c) => {
                    let now = slurm_core::auth::now_secs();
                    let status = if now > c.expires() {
                        "Expired credential"
                    } else {
                        "Success"
                    };
                    println!("STATUS:          {status}");
                    println!("ENCODE_HOST:     {}", c.host);
                    println!("ENCODE_TIME:     {}", c.issued);
                    println!("DECODE_TIME:     {now}");
                    println!("TTL:             {}", c.ttl_s);
                    println!("UID:             {}", c.uid);
                    println!("GID:             {}", c.gid);
                    Ok(if now > c.expires() {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    })
                }
                Err(e) => {
                    println!("STATUS:          {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
