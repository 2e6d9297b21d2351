//! Who sent a request: the credential of every request is verified (signature, lifetime,
//! replay; see `crate::auth::server`) and replaced by the identity it proves. Failures are
//! logged with the peer's address and answered with Slurm's words.

use super::Shared;
use crate::auth::server::Caller;
use crate::proto::Authed;
use tonic::{Request, Status};

impl Shared {
    /// Verifies the request's credential; gives the caller and the body.
    pub(super) fn authenticate<T>(
        &self,
        request: Request<Authed<T>>,
        rpc: &'static str,
    ) -> Result<(Caller, T), Status> {
        crate::auth::server::authenticate(self.verifier.as_ref(), request, rpc)
    }

    /// Like [`Self::authenticate`], for what only agents may do: the caller must be root,
    /// SlurmUser or the controller's own user.
    pub(super) fn authenticate_agent<T>(
        &self,
        request: Request<Authed<T>>,
        rpc: &'static str,
    ) -> Result<(Caller, T), Status> {
        let (caller, body) = self.authenticate(request, rpc)?;
        if self.verifier.is_some() {
            crate::auth::server::require_operator(&caller, self.core().operators(), rpc)?;
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
