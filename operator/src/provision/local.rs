//! The local provider: a node is a `slinky slurmd -N NODE` child process on this machine
//! (what `slinky up` runs, and the end-to-end tests of the dynamic path).

use super::{NodeProvider, ProviderError};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// How long a stopping agent gets after SIGTERM (it ends its jobs first) before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Where local agents find their configuration and keep their files.
#[derive(Debug, Clone)]
pub struct LocalAgents {
    /// The `slinky` binary.
    pub exe: PathBuf,
    /// The slurm.conf the agents read.
    pub conf: PathBuf,
    /// One spool directory per node is made under this.
    pub spool_root: PathBuf,
    /// `slurmd-NODE.log` files go here.
    pub logs: PathBuf,
    /// Agents emulate the GPUs their node is configured with when the host has none.
    pub emulate_gpus: bool,
}

/// Runs nodes as child processes; dropping it kills them (and each agent also exits with
/// its parent through `SLINKY_PARENT_PID`).
pub struct LocalProcessProvider {
    agents: LocalAgents,
    children: Mutex<HashMap<String, Child>>,
}

impl LocalProcessProvider {
    pub fn new(agents: LocalAgents) -> Self {
        Self {
            agents,
            children: Mutex::new(HashMap::new()),
        }
    }

    /// Starts `node`'s agent unless it runs already.
    pub async fn start(&self, node: &str) -> Result<(), ProviderError> {
        let mut children = self.children.lock().await;
        if let Some(child) = children.get_mut(node)
            && matches!(child.try_wait(), Ok(None))
        {
            return Ok(());
        }
        let child = self.spawn(node).map_err(|e| ProviderError::Start {
            node: node.to_owned(),
            reason: e.to_string(),
        })?;
        tracing::info!(
            "started the agent of node {node} (pid {})",
            child.id().unwrap_or(0)
        );
        children.insert(node.to_owned(), child);
        Ok(())
    }

    /// Stops these nodes' agents: SIGTERM, then SIGKILL after a grace period.
    pub async fn stop(&self, nodes: &[String]) {
        let mut stopping = Vec::new();
        {
            let mut children = self.children.lock().await;
            for node in nodes {
                if let Some(child) = children.remove(node) {
                    stopping.push((node.clone(), child));
                }
            }
        }
        for (_, child) in &stopping {
            if let Some(pid) = child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
        }
        for (node, mut child) in stopping {
            if tokio::time::timeout(STOP_GRACE, child.wait())
                .await
                .is_err()
            {
                tracing::warn!("agent of node {node} ignored SIGTERM; killing it");
                let _ = child.kill().await;
            }
            tracing::info!("stopped the agent of node {node}");
        }
    }

    /// Stops every agent this provider started.
    pub async fn stop_all(&self) {
        let nodes: Vec<String> = self.children.lock().await.keys().cloned().collect();
        self.stop(&nodes).await;
    }

    /// How many agents run now.
    pub async fn len(&self) -> usize {
        self.children.lock().await.len()
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    fn spawn(&self, node: &str) -> std::io::Result<Child> {
        let a = &self.agents;
        std::fs::create_dir_all(&a.logs)?;
        let log = std::fs::File::create(log_path(&a.logs, node))?;
        let mut cmd = Command::new(&a.exe);
        cmd.arg("slurmd")
            .arg("-D")
            .arg("-N")
            .arg(node)
            .arg("--conf")
            .arg(&a.conf)
            .arg("--spool")
            .arg(a.spool_root.join(node))
            .arg("--kill-jobs-on-exit");
        if a.emulate_gpus {
            cmd.arg("--emulate-gpus");
        }
        cmd.env("SLURM_CONF", &a.conf)
            .env("SLINKY_PARENT_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        cmd.spawn()
    }
}

/// The log file of `node`'s agent.
pub fn log_path(logs: &Path, node: &str) -> PathBuf {
    logs.join(format!("slurmd-{node}.log"))
}

impl NodeProvider for LocalProcessProvider {
    async fn resume(&self, nodes: &[String]) -> Result<(), ProviderError> {
        for node in nodes {
            self.start(node).await?;
        }
        Ok(())
    }

    async fn suspend(&self, nodes: &[String]) -> Result<(), ProviderError> {
        self.stop(nodes).await;
        Ok(())
    }

    async fn running(&self) -> Result<Vec<String>, ProviderError> {
        let mut children = self.children.lock().await;
        children.retain(|_, c| matches!(c.try_wait(), Ok(None)));
        let mut names: Vec<String> = children.keys().cloned().collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider whose "agent" is `sleep`: starting twice runs one process, stopping ends
    /// it, and `running` reflects both.
    #[tokio::test]
    async fn starts_once_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-slinky");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        let mut perms = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&script, perms).unwrap();
        let p = LocalProcessProvider::new(LocalAgents {
            exe: script,
            conf: dir.path().join("slurm.conf"),
            spool_root: dir.path().join("spool"),
            logs: dir.path().join("log"),
            emulate_gpus: false,
        });
        let nodes = vec!["cloud1".to_owned()];
        p.resume(&nodes).await.unwrap();
        p.resume(&nodes).await.unwrap();
        assert_eq!(p.running().await.unwrap(), nodes);
        p.suspend(&nodes).await.unwrap();
        assert!(p.running().await.unwrap().is_empty());
        assert!(log_path(&dir.path().join("log"), "cloud1").exists());
    }
}
