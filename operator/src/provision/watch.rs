//! Following the controller's power decisions: one `WatchPower` stream at a time,
//! reconnecting with backoff, every event applied to the provider.

use super::{NodeProvider, ProviderError};
use slurm_core::auth::CredentialSource;
use slurm_core::config::ClusterConfig;
use slurm_core::proto::{PowerEvent, PowerWatchRequest};
use std::collections::HashSet;
use std::time::Duration;

const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Applies one decision. A snapshot starts the nodes that should be up and are not, and
/// stops the ones this provider runs that should be down (other nodes it runs, static
/// ones, are not the controller's to power).
pub async fn apply<P: NodeProvider>(provider: &P, event: PowerEvent) -> Result<(), ProviderError> {
    match event {
        PowerEvent::Resume { nodes } => provider.resume(&nodes).await,
        PowerEvent::Suspend { nodes } => provider.suspend(&nodes).await,
        PowerEvent::Snapshot { up, down } => {
            let running: HashSet<String> = provider.running().await?.into_iter().collect();
            let start: Vec<String> = up.into_iter().filter(|n| !running.contains(n)).collect();
            let stop: Vec<String> = down.into_iter().filter(|n| running.contains(n)).collect();
            if !stop.is_empty() {
                provider.suspend(&stop).await?;
            }
            if !start.is_empty() {
                provider.resume(&start).await?;
            }
            Ok(())
        }
    }
}

/// Follows the controller of `cluster` until `shutdown` completes: subscribes to its power
/// decisions and applies each. A lost connection is retried with backoff (200 ms doubling
/// to 30 s); every new stream starts with a snapshot, so nothing decided meanwhile is lost.
/// A provider error is logged and the stream goes on (the controller's ResumeTimeout
/// handles nodes that never come up).
pub async fn follow_controller<P: NodeProvider>(
    cluster: &ClusterConfig,
    credentials: &CredentialSource,
    provider: &P,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = MIN_BACKOFF;
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            outcome = follow_once(cluster, credentials, provider) => {
                match outcome {
                    Ok(()) => {
                        tracing::info!("power watch ended; reconnecting");
                        backoff = MIN_BACKOFF;
                    }
                    Err(e) => {
                        tracing::warn!("power watch: {e}; retrying in {backoff:?}");
                    }
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One stream: connect, subscribe, apply events until the stream ends.
async fn follow_once<P: NodeProvider>(
    cluster: &ClusterConfig,
    credentials: &CredentialSource,
    provider: &P,
) -> Result<(), String> {
    let mut client = slurm_core::client::connect_commands(cluster)
        .await
        .map_err(|e| e.to_string())?;
    let request = credentials
        .authed(PowerWatchRequest {})
        .await
        .map_err(|e| e.to_string())?;
    let mut stream = client
        .watch_power(request)
        .await
        .map_err(|s| s.message().to_owned())?
        .into_inner();
    tracing::info!("following the controller's power decisions");
    while let Some(event) = stream.message().await.map_err(|s| s.message().to_owned())? {
        tracing::info!("power decision: {event:?}");
        if let Err(e) = apply(provider, event).await {
            tracing::error!("{e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A provider that only remembers what it was asked.
    #[derive(Default)]
    struct Recorder {
        up: Mutex<Vec<String>>,
        calls: Mutex<Vec<String>>,
    }

    impl NodeProvider for Recorder {
        async fn resume(&self, nodes: &[String]) -> Result<(), ProviderError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("resume {}", nodes.join(",")));
            self.up.lock().unwrap().extend(nodes.iter().cloned());
            Ok(())
        }
        async fn suspend(&self, nodes: &[String]) -> Result<(), ProviderError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("suspend {}", nodes.join(",")));
            self.up.lock().unwrap().retain(|n| !nodes.contains(n));
            Ok(())
        }
        async fn running(&self) -> Result<Vec<String>, ProviderError> {
            Ok(self.up.lock().unwrap().clone())
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn snapshot_starts_missing_nodes_and_stops_unwanted_ones() {
        let p = Recorder::default();
        *p.up.lock().unwrap() = names(&["static-0", "gpu-0", "gpu-2"]);
        apply(
            &p,
            PowerEvent::Snapshot {
                up: names(&["gpu-0", "gpu-1"]),
                down: names(&["gpu-2", "gpu-3"]),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            *p.calls.lock().unwrap(),
            names(&["suspend gpu-2", "resume gpu-1"])
        );
    }

    #[tokio::test]
    async fn resume_and_suspend_events_go_straight_through() {
        let p = Recorder::default();
        apply(
            &p,
            PowerEvent::Resume {
                nodes: names(&["a", "b"]),
            },
        )
        .await
        .unwrap();
        apply(
            &p,
            PowerEvent::Suspend {
                nodes: names(&["a"]),
            },
        )
        .await
        .unwrap();
        assert_eq!(*p.up.lock().unwrap(), names(&["b"]));
    }
}
