//! Who sent a request: the credential of every request is verified (signature, lifetime,
//! replay; see `crate::auth`) and replaced by the identity it proves. Failures are logged
//! with the peer's address and answered with Slurm's words.

use super::Shared;
use super::core::{ACCESS_DENIED, INVALID_USER_ID};
use crate::auth::NONCE_LEN;
use crate::proto::{Authed, Credential};
use tonic::{Request, Status};

/// What a refused credential is answered with.
pub const AUTH_FAILURE: &str = "Authentication failure";

/// A verified caller.
pub struct Caller {
    /// uid and gid from the credential, the user name as this host knows the uid (empty
    /// when it does not). Under auth/none: what the client claimed.
    pub cred: Credential,
    /// The credential's nonce (the controller's proof to a registering agent covers it).
    pub nonce: Option<[u8; NONCE_LEN]>,
    /// Where the request came from, for logs.
    pub peer: String,
}

impl Shared {
    /// Verifies the request's credential; gives the caller and the body.
    pub(super) fn authenticate<T>(
        &self,
        request: Request<Authed<T>>,
        rpc: &'static str,
    ) -> Result<(Caller, T), Status> {
        let peer = request
            .remote_addr()
            .map_or_else(|| "unknown peer".to_owned(), |a| a.to_string());
        let Authed { credential, body } = request.into_inner();
        let Some(verifier) = &self.verifier else {
            return Ok((
                Caller {
                    cred: credential,
                    nonce: None,
                    peer,
                },
                body,
            ));
        };
        let token = credential.token.as_deref().unwrap_or_default();
        let claims = verifier.verify(token).map_err(|e| {
            tracing::warn!(
                "{AUTH_FAILURE}: {rpc} from {peer} (claimed uid {}): {e}",
                credential.uid
            );
            Status::unauthenticated(AUTH_FAILURE)
        })?;
        if claims.uid != credential.uid {
            tracing::warn!(
                "Security violation: {rpc} from {peer}: credential of uid {} (issued on {}) claims uid {}",
                claims.uid,
                claims.host,
                credential.uid
            );
            return Err(Status::permission_denied(INVALID_USER_ID));
        }
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(claims.uid))
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default();
        Ok((
            Caller {
                cred: Credential {
                    uid: claims.uid,
                    gid: claims.gid,
                    user,
                    token: None,
                },
                nonce: Some(claims.nonce),
                peer,
            },
            body,
        ))
    }

    /// Like [`Self::authenticate`], for what only agents may do: the caller must be root,
    /// SlurmUser or the controller's own user.
    pub(super) fn authenticate_agent<T>(
        &self,
        request: Request<Authed<T>>,
        rpc: &'static str,
    ) -> Result<(Caller, T), Status> {
        let (caller, body) = self.authenticate(request, rpc)?;
        if self.verifier.is_some() && !self.core().is_operator(&caller.cred) {
            tracing::warn!(
                "Security violation: {rpc} from {} by uid {}, which is neither root nor SlurmUser",
                caller.peer,
                caller.cred.uid
            );
            return Err(Status::permission_denied(ACCESS_DENIED));
        }
        Ok((caller, body))
    }

    /// The proof of the key a registering agent expects, when authentication is on.
    pub(super) fn controller_proof(&self, caller: &Caller, node: &str) -> Option<String> {
        let verifier = self.verifier.as_ref()?;
        let nonce = caller.nonce.as_ref()?;
        Some(crate::auth::controller_proof(verifier.key(), nonce, node))
    }
}
