//! The signer daemon (`slinky authd`, the munged role). It listens on a Unix socket that
//! any local user may connect to; for each connection it asks the kernel who the peer is
//! (`SO_PEERCRED`) and answers with a credential for that uid and gid, signed with the
//! cluster key. Clients never see the key, so they cannot sign for anyone else.
//!
//! The exchange is one line each way: the client sends `ENCODE\n`, the signer answers
//! `OK <token>\n` (or `ERR <message>\n`) and closes.

use super::token::{self, Claims};
use super::{AuthError, ClusterKey};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The request line.
pub const REQUEST: &str = "ENCODE";
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the listen backlog.
const MAX_CONCURRENT: usize = 256;

/// A bound signer socket (removed when dropped).
#[derive(Debug)]
pub struct SignerSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for SignerSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl SignerSocket {
    /// Binds `path` (mode 0777: every local user may ask for a credential). A stale socket
    /// left by a signer that died is replaced; one that still answers is an error.
    pub fn bind(path: &Path) -> Result<Self, AuthError> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        super::check_socket_path(path)?;
        let err = |source| AuthError::Socket {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(err)?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755))
                .map_err(err)?;
        }
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "exists and is not a socket",
                )));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(AuthError::SocketInUse {
                    path: path.to_owned(),
                });
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        let listener = UnixListener::bind(path).map_err(err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).map_err(err)?;
        Ok(Self {
            listener,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves credentials until `shutdown` completes.
    pub async fn serve(self, key: Arc<ClusterKey>, ttl_s: u32, shutdown: impl Future<Output = ()>) {
        let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
        tracing::info!(socket = %self.path.display(), ttl_s, "auth signer listening");
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&limit).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let stream = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "auth signer: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let key = Arc::clone(&key);
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = answer(stream, &key, ttl_s).await {
                    tracing::debug!(error = %e, "auth signer: request failed");
                }
            });
        }
        tracing::info!(socket = %self.path.display(), "auth signer stopped");
    }
}

async fn answer(stream: UnixStream, key: &ClusterKey, ttl_s: u32) -> std::io::Result<()> {
    let peer = stream.peer_cred()?;
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read).take(128);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await;
    let reply = match read {
        Ok(Ok(_)) if line.trim_end() == REQUEST => {
            match Claims::new(peer.uid(), peer.gid(), ttl_s) {
                Ok(claims) => {
                    tracing::debug!(uid = peer.uid(), gid = peer.gid(), pid = ?peer.pid(), "credential issued");
                    format!("OK {}\n", token::encode(key, &claims))
                }
                Err(e) => format!("ERR {e}\n"),
            }
        }
        Ok(Ok(_)) => "ERR unknown request\n".to_owned(),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    write.write_all(reply.as_bytes()).await?;
    write.shutdown().await
}

/// Asks the signer at `path` for a credential for the calling process.
pub async fn request_credential(path: &Path, timeout: Duration) -> Result<String, AuthError> {
    let unreachable = |source| AuthError::SignerUnreachable {
        path: path.to_owned(),
        source,
    };
    let exchange = async {
        let mut stream = UnixStream::connect(path).await?;
        stream.write_all(format!("{REQUEST}\n").as_bytes()).await?;
        let mut line = String::new();
        BufReader::new(stream)
            .take(token::MAX_TOKEN_LEN as u64 + 64)
            .read_line(&mut line)
            .await?;
        Ok::<_, std::io::Error>(line)
    };
    let line = match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result.map_err(unreachable)?,
        Err(_) => {
            return Err(unreachable(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer",
            )));
        }
    };
    let line = line.trim_end();
    if let Some(token) = line.strip_prefix("OK ") {
        Ok(token.to_owned())
    } else {
        Err(AuthError::SignerRefused {
            path: path.to_owned(),
            message: line.strip_prefix("ERR ").unwrap_or(line).to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Verifier;

    #[tokio::test]
    async fn issues_credentials_for_the_peer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/auth.socket");
        let key = Arc::new(ClusterKey::random().unwrap());
        let socket = SignerSocket::bind(&path).unwrap();
        // A second signer on the same socket is refused.
        assert!(matches!(
            SignerSocket::bind(&path),
            Err(AuthError::SocketInUse { .. })
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(socket.serve(key.clone(), 300, async {
            let _ = stopped.await;
        }));
        let token = request_credential(&path, Duration::from_secs(5))
            .await
            .unwrap();
        let claims = Verifier::new(key).verify(&token).unwrap();
        assert_eq!(claims.uid, nix::unistd::getuid().as_raw());
        assert_eq!(claims.gid, nix::unistd::getegid().as_raw());
        assert_eq!(claims.ttl_s, 300);
        let again = request_credential(&path, Duration::from_secs(5))
            .await
            .unwrap();
        assert_ne!(token, again, "every credential has its own nonce");

        // A bad request gets an error line.
        let mut raw = UnixStream::connect(&path).await.unwrap();
        raw.write_all(b"DECODE\n").await.unwrap();
        let mut line = String::new();
        BufReader::new(raw).read_line(&mut line).await.unwrap();
        assert_eq!(line, "ERR unknown request\n");

        let _ = stop.send(());
        server.await.unwrap();
        assert!(!path.exists(), "the socket is removed on shutdown");
        let err = request_credential(&path, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::SignerUnreachable { .. }));
        assert!(
            err.to_string().starts_with("Credential encode failed"),
            "{err}"
        );
    }
}
