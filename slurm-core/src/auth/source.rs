//! Where a process gets the credentials it sends: commands ask the signer's socket (they
//! cannot read the key), daemons that hold the key sign their own, and a cluster configured
//! with `AuthType=auth/none` sends none.

use super::token::{self, Claims, NONCE_LEN};
use super::{AuthError, AuthMode, ClusterKey};
use crate::config::ClusterConfig;
use crate::proto::{Authed, Credential};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A way to obtain credentials.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// `AuthType=auth/none`: the caller's claimed identity, unsigned.
    Unsigned,
    /// Ask the signer (`slinky authd`) listening on this socket.
    Signer { socket: PathBuf, timeout: Duration },
    /// Sign with the cluster key (daemons).
    Key { key: Arc<ClusterKey>, ttl_s: u32 },
    /// Sign with the cluster key as a given identity: a key holder acting as root or
    /// SlurmUser whatever uid its own process has (the operator's pod).
    KeyAs {
        key: Arc<ClusterKey>,
        uid: u32,
        gid: u32,
        ttl_s: u32,
    },
}

/// A signed request, and the nonce of its credential (what the controller's proof covers).
pub struct SignedRequest<T> {
    pub request: Authed<T>,
    pub nonce: Option<[u8; NONCE_LEN]>,
}

impl CredentialSource {
    /// For commands: the signer's socket named by AuthInfo (no key is read).
    pub fn for_commands(cluster: &ClusterConfig) -> Result<Self, AuthError> {
        Ok(match AuthMode::from_config(cluster)? {
            AuthMode::None => Self::Unsigned,
            AuthMode::Signed(s) => Self::Signer {
                socket: s.socket,
                timeout: Duration::from_secs(cluster.timers.message_timeout.clamp(1, 10)),
            },
        })
    }

    /// For daemons that hold the key: loads it (and checks its permissions).
    pub fn for_daemon(cluster: &ClusterConfig) -> Result<Self, AuthError> {
        Ok(match AuthMode::from_config(cluster)? {
            AuthMode::None => Self::Unsigned,
            AuthMode::Signed(s) => Self::Key {
                key: Arc::new(ClusterKey::load(&s.key)?),
                ttl_s: s.ttl_s,
            },
        })
    }

    /// The key, when this source signs with one.
    pub fn key(&self) -> Option<&Arc<ClusterKey>> {
        match self {
            Self::Key { key, .. } | Self::KeyAs { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The caller's credential: its claimed identity plus, unless unsigned, a token.
    pub async fn credential(&self) -> Result<Credential, AuthError> {
        Ok(self.credential_with_nonce().await?.0)
    }

    async fn credential_with_nonce(
        &self,
    ) -> Result<(Credential, Option<[u8; NONCE_LEN]>), AuthError> {
        let mut credential = crate::client::current_credential();
        match self {
            Self::Unsigned => Ok((credential, None)),
            Self::Signer { socket, timeout } => {
                let token = super::signer::request_credential(socket, *timeout).await?;
                let nonce = token::parse(&token).ok().map(|u| u.claims.nonce);
                credential.token = Some(token);
                Ok((credential, nonce))
            }
            Self::Key { key, ttl_s } => {
                // The identity a key holder signs is its own effective uid/gid.
                let claims = Claims::new(
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                    *ttl_s,
                )?;
                credential.uid = claims.uid;
                credential.gid = claims.gid;
                credential.token = Some(token::encode(key, &claims));
                Ok((credential, Some(claims.nonce)))
            }
            Self::KeyAs {
                key,
                uid,
                gid,
                ttl_s,
            } => {
                let claims = Claims::new(*uid, *gid, *ttl_s)?;
                if credential.uid != *uid {
                    credential.user = if *uid == 0 {
                        "root".to_owned()
                    } else {
                        uid.to_string()
                    };
                }
                credential.uid = *uid;
                credential.gid = *gid;
                credential.token = Some(token::encode(key, &claims));
                Ok((credential, Some(claims.nonce)))
            }
        }
    }

    /// Wraps a request body with a fresh credential.
    pub async fn authed<T>(&self, body: T) -> Result<Authed<T>, AuthError> {
        Ok(Authed::new(self.credential().await?, body))
    }

    /// Like [`Self::authed`], also giving the credential's nonce.
    pub async fn signed<T>(&self, body: T) -> Result<SignedRequest<T>, AuthError> {
        let (credential, nonce) = self.credential_with_nonce().await?;
        Ok(SignedRequest {
            request: Authed::new(credential, body),
            nonce,
        })
    }
}
