//! `slinky up`: a whole cluster on this machine, in the foreground. A controller (in this
//! process, the same code the controller pod runs) and one `slinky slurmd` process per node,
//! all on loopback, with state, logs and the slurm.conf they share under one directory.
//! Requests are authenticated: a cluster key is generated under the directory on first start
//! (mode 0400), this process serves the credential signer on a Unix socket for the commands,
//! and the controller and agents sign with the key (`AuthType=auth/slurm` in the generated
//! slurm.conf, unless a given config says `auth/none`). The accounting daemon runs in this
//! process too, and verifies requests with the same key.
//! Ctrl-C or SIGTERM stops everything; agents also die with this process if it is killed.

use anyhow::{Context, bail};
use slinky_operator::provision::{LocalAgents, LocalProcessProvider, follow_controller};
use slurm_core::auth::signer::SignerSocket;
use slurm_core::auth::{AuthMode, AuthSettings, ClusterKey, CredentialSource};
use slurm_core::config::{self, ClusterConfig, ControllerHost};
use slurm_core::controller::{ControllerOptions, serve};
use slurm_core::tls::TlsMode;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Directory for the generated slurm.conf, state, spools, logs and command links.
    #[arg(long, value_name = "DIR", default_value = ".slinky")]
    pub dir: PathBuf,
    /// Number of worker nodes when no --config is given (default: 2 on machines with up to
    /// 4 CPUs, else 4); this machine's CPUs and memory are split between them.
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// Run an existing slurm.conf: its nodes become local agents (as `slurmd -N NAME` would)
    /// and its controller host is mapped to loopback.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Controller port (default: a free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// The accounting database the local slurmdbd owns: `sqlite:///PATH` (default: under
    /// DIR/acct), `mysql://USER:PASS@HOST/DB`, or `none` for no accounting.
    #[arg(long, value_name = "URL")]
    pub accounting: Option<String>,
}

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("resolving {}", args.dir.display()))?;
    let port = match args.port {
        Some(p) => p,
        None => free_port()?,
    };
    let mut cluster = match &args.config {
        Some(path) => {
            let loaded = config::load_slurm_conf(path)?;
            for w in &loaded.warnings {
                eprintln!("slinky: {w}");
            }
            loaded.cluster
        }
        None => default_cluster(args.nodes)?,
    };
    if cluster.nodes.is_empty() {
        bail!("the configuration defines no nodes: nothing to run jobs on");
    }
    localize(&mut cluster, &dir, port);
    let dbd = local_accounting(&mut cluster, &dir, args.accounting.as_deref())?;
    let signer = match AuthMode::from_config(&cluster)? {
        AuthMode::Signed(settings) => {
            let (key, created) = ClusterKey::load_or_generate(&settings.key)?;
            if created {
                eprintln!(
                    "slinky: generated the cluster key {} (mode 0400)",
                    settings.key.display()
                );
            }
            Some((key, settings))
        }
        AuthMode::None => {
            eprintln!("slinky: warning: AuthType=auth/none: requests are not authenticated");
            None
        }
    };
    let conf_path = dir.join("slurm.conf");
    std::fs::write(&conf_path, config::render_slurm_conf(&cluster))
        .with_context(|| format!("writing {}", conf_path.display()))?;
    // What the commands and agents will read must load back to the same cluster.
    config::load_slurm_conf(&conf_path)
        .with_context(|| format!("re-reading {}", conf_path.display()))?;
    let bin = link_commands(&dir)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_cluster(cluster, dir, conf_path, bin, port, signer, dbd))
}

/// The local slurmdbd: its database URL and address. Accounting is on unless `url` is
/// `none`: the slurm.conf says `AccountingStorageType=accounting_storage/slurmdbd` with the
/// dbd on loopback, on a free port.
fn local_accounting(
    cluster: &mut ClusterConfig,
    dir: &Path,
    url: Option<&str>,
) -> anyhow::Result<Option<(String, SocketAddr)>> {
    use slurm_core::config::AccountingStorage;
    if url.is_some_and(|u| u.eq_ignore_ascii_case("none")) {
        cluster.accounting.storage = AccountingStorage::None;
        return Ok(None);
    }
    let url = match url {
        Some(u) => u.to_owned(),
        None => format!(
            "sqlite://{}",
            dir.join("acct").join("slurm_acct_db.sqlite").display()
        ),
    };
    slurm_core::dbd::Backend::of_url(&url)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    cluster.accounting.storage = AccountingStorage::Slurmdbd;
    // As a production cluster would: jobs need an association, limits and QOS hold.
    if cluster.accounting.enforce.is_empty() {
        cluster.accounting.enforce = ["associations", "limits", "qos"]
            .map(str::to_owned)
            .to_vec();
    }
    cluster.accounting.host = Some(addr.ip().to_string());
    cluster.accounting.port = Some(addr.port());
    Ok(Some((url, addr)))
}

async fn run_cluster(
    cluster: ClusterConfig,
    dir: PathBuf,
    conf_path: PathBuf,
    bin: PathBuf,
    port: u16,
    signer: Option<(ClusterKey, AuthSettings)>,
    dbd: Option<(String, SocketAddr)>,
) -> anyhow::Result<ExitCode> {
    // The accounting daemon (what `slinky slurmdbd` does), in this process.
    let (stop_dbd, dbd_stopped) = tokio::sync::oneshot::channel::<()>();
    let dbd = match dbd {
        Some((url, addr)) => {
            // Same key and SlurmUser as the controller: it verifies every request.
            let settings = slurm_core::dbd::DbdSettings::for_cluster(&cluster)?;
            let store = slurm_core::dbd::Store::open(&url)
                .await
                .with_context(|| format!("opening {}", slurm_core::dbd::store::redact(&url)))?;
            register_local_user(&store, &cluster.cluster_name, &cluster.slurm_user).await?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            println!(
                "slinky: accounting: slurmdbd on {addr}, database {}",
                slurm_core::dbd::store::redact(&url)
            );
            Some(tokio::spawn(async move {
                slurm_core::dbd::serve(store, listener, &settings, async {
                    let _ = dbd_stopped.await;
                })
                .await
            }))
        }
        None => None,
    };
    // The credential signer for the commands (what `slinky authd` does), in this process.
    let (stop_signer, signer_stopped) = tokio::sync::oneshot::channel::<()>();
    let signer = match signer {
        Some((key, settings)) => {
            let socket = SignerSocket::bind(&settings.socket)?;
            Some(tokio::spawn(socket.serve(
                std::sync::Arc::new(key),
                settings.ttl_s,
                async {
                    let _ = signer_stopped.await;
                },
            )))
        }
        None => None,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ControllerOptions {
        state_dir: PathBuf::from(&cluster.state_save_location),
        listen: addr,
        cluster: cluster.clone(),
    };
    let controller = tokio::spawn(serve(options, listener, async {
        let _ = stop_rx.await;
    }));

    // Agents are child processes: static nodes start now; cloud nodes (`State=CLOUD`) start
    // when the controller resumes them and stop when it suspends them, through the same
    // provider code the operator drives in Kubernetes.
    let provider = LocalProcessProvider::new(LocalAgents {
        exe: std::env::current_exe().context("locating the slinky binary")?,
        conf: conf_path.clone(),
        spool_root: dir.join("spool"),
        logs: dir.join("log"),
        emulate_gpus: true,
    });
    for node in cluster.nodes.iter().filter(|n| !n.cloud) {
        provider.start(&node.name).await?;
    }
    let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
    let cloud: Vec<&str> = cluster
        .nodes
        .iter()
        .filter(|n| n.cloud)
        .map(|n| n.name.as_str())
        .collect();
    println!(
        "slinky: cluster \"{}\" is up: controller on {addr}, {} node(s) ({}), state and logs in {}",
        cluster.cluster_name,
        names.len(),
        slurm_core::parse::hostlist::compress(&names),
        dir.display()
    );
    if !cloud.is_empty() {
        println!(
            "slinky: cloud node(s) {} start when jobs need them and stop after SuspendTime idle",
            slurm_core::parse::hostlist::compress(&cloud)
        );
    }
    let (stop_power, power_stopped) = tokio::sync::oneshot::channel::<()>();
    let power_credentials = CredentialSource::for_daemon(&cluster)?;
    println!(
        "Point the Slurm commands at it (in another shell), then try `sbatch --wrap hostname`:"
    );
    println!(
        "  export SLURM_CONF={} PATH={}:$PATH",
        conf_path.display(),
        bin.display()
    );
    println!("Ctrl-C stops the cluster.");

    let mut controller = controller;
    let follow = async {
        if cloud.is_empty() {
            std::future::pending::<()>().await;
        }
        follow_controller(&cluster, &power_credentials, &provider, async {
            let _ = power_stopped.await;
        })
        .await;
    };
    let outcome = tokio::select! {
        () = crate::shutdown_signal() => Ok(()),
        () = follow => Ok(()),
        result = &mut controller => match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::Error::new(e).context("the controller stopped")),
            Err(e) => Err(anyhow::anyhow!("the controller task failed: {e}")),
        },
    };
    let _ = stop_power.send(());
    eprintln!(
        "slinky: stopping {} agent(s) and the controller",
        provider.len().await
    );
    provider.stop_all().await;
    let _ = stop_tx.send(());
    if !controller.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut controller).await;
    }
    let _ = stop_signer.send(());
    let _ = stop_dbd.send(());
    if let Some(dbd) = dbd {
        let _ = tokio::time::timeout(Duration::from_secs(5), dbd).await;
    }
    if let Some(signer) = signer {
        let _ = tokio::time::timeout(Duration::from_secs(2), signer).await;
    }
    outcome.map(|()| ExitCode::SUCCESS)
}

/// The account every local user starts in.
const DEFAULT_ACCOUNT: &str = "default";

/// Registers the cluster, a `default` account and the user running `slinky up` (with
/// `default` as their default account) in the accounting database, as an administrator would
/// with `sacctmgr add account` / `add user` before users submit. Already registered (a
/// restart): nothing changes.
async fn register_local_user(
    store: &slurm_core::dbd::Store,
    cluster: &str,
    user: &str,
) -> anyhow::Result<()> {
    use slurm_core::proto::{AssocLimits, MgrOp, MgrRequest};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let ops = [
        MgrOp::AddAccounts {
            names: vec![DEFAULT_ACCOUNT.to_owned()],
            description: Some("default account".to_owned()),
            organization: Some("local".to_owned()),
            parent: None,
            limits: AssocLimits::default(),
        },
        MgrOp::AddUsers {
            names: vec![user.to_owned()],
            accounts: vec![DEFAULT_ACCOUNT.to_owned()],
            default_account: Some(DEFAULT_ACCOUNT.to_owned()),
            admin_level: None,
            limits: AssocLimits::default(),
            partitions: Vec::new(),
        },
    ];
    for op in ops {
        let request = MgrRequest {
            cluster: cluster.to_owned(),
            commit: true,
            op,
        };
        // "Nothing new added" on a restart is fine.
        store
            .manage(&request, now)
            .await
            .context("registering the local user with accounting")?;
    }
    Ok(())
}

/// Points a cluster at this machine: controller on loopback, state under `dir`, run by the
/// current user.
fn localize(cluster: &mut ClusterConfig, dir: &Path, port: u16) {
    let name = cluster
        .controller_hosts
        .first()
        .map_or_else(|| "localhost".to_owned(), |h| h.name.clone());
    cluster.controller_hosts = vec![ControllerHost {
        name,
        addr: Some("127.0.0.1".into()),
    }];
    cluster.controller_port = port;
    cluster.state_save_location = dir.join("state").display().to_string();
    cluster.slurm_user = slurm_core::client::current_credential().user;
    // Everything runs on loopback: plain gRPC (a given config's certificates name its real
    // hosts, not 127.0.0.1).
    if !matches!(TlsMode::from_config(cluster), Ok(TlsMode::Off)) {
        eprintln!(
            "slinky: TLS is off on loopback (TLSType={} not used)",
            cluster.tls_type
        );
    }
    cluster.tls_type = slurm_core::tls::TLS_NONE.to_owned();
    cluster.tls_parameters = None;
    if cluster.auth_type.trim() != slurm_core::auth::AUTH_NONE {
        cluster.auth_type = slurm_core::auth::AUTH_SLURM.to_owned();
        cluster.auth_info = Some(local_auth(dir).render());
    }
}

/// The key and signer socket of a local cluster: both under `dir`, unless the socket path
/// would be too long for a Unix socket (then it goes to the temp directory, named after a
/// hash of `dir`).
fn local_auth(dir: &Path) -> AuthSettings {
    let mut socket = dir.join("auth.socket");
    if slurm_core::auth::check_socket_path(&socket).is_err() {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in dir.as_os_str().as_encoded_bytes() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        socket = std::env::temp_dir().join(format!("slinky-auth-{hash:016x}.socket"));
    }
    AuthSettings {
        key: dir.join("slurm.key"),
        socket,
        ..AuthSettings::default()
    }
}

/// This machine split into `nodes` nodes in one partition, `debug`.
fn default_cluster(nodes: Option<u32>) -> anyhow::Result<ClusterConfig> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let nodes = nodes.unwrap_or(if cpus <= 4 { 2 } else { 4 }).max(1);
    let mem_mb = total_memory_mb().unwrap_or(4096);
    let node_cpus = (cpus / nodes).max(1);
    let node_mem = (mem_mb / u64::from(nodes)).max(256);
    let text = format!(
        "# A local cluster: this machine split into {nodes} node(s).\n\
         ClusterName=local\n\
         SlurmctldHost=localhost(127.0.0.1)\n\
         SchedulerType=sched/backfill\n\
         SelectType=select/cons_tres\n\
         SelectTypeParameters=CR_CPU_Memory\n\
         PriorityType=priority/multifactor\n\
         SlurmdTimeout=30\n\
         KillWait=5\n\
         MinJobAge=300\n\
         NodeName=node[1-{nodes}] CPUs={node_cpus} RealMemory={node_mem} State=UNKNOWN\n\
         PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
    );
    Ok(config::parse_slurm_conf(&text, "(default local cluster)")?.cluster)
}

fn total_memory_mb() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// `DIR/bin/sbatch` etc., links to this binary.
fn link_commands(dir: &Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the slinky binary")?;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    for name in crate::SLURM_COMMANDS
        .iter()
        .chain(std::iter::once(&"slinky"))
    {
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&exe, &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    Ok(bin)
}
