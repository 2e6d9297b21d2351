//! What a daemon (the controller, the dbd) does with the credential of every request: verify
//! it (signature, lifetime, replay: [`Verifier`]) and replace it by the identity it proves.
//! Refusals are logged with the peer's address and answered with Slurm's words.

use super::{NONCE_LEN, Verifier};
use crate::proto::{Authed, Credential};
use tonic::{Request, Status};

/// What a refused credential is answered with.
pub const AUTH_FAILURE: &str = "Authentication failure";
/// Slurm's ESLURM_ACCESS_DENIED.
pub const ACCESS_DENIED: &str = "Access/permission denied";
/// Slurm's ESLURM_USER_ID_MISSING: the uid is unknown, or a request names another user.
pub const INVALID_USER_ID: &str = "Invalid user id";

/// A verified caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// uid and gid from the credential, the user name as this host knows the uid (empty
    /// when it does not). Under auth/none: what the client claimed.
    pub cred: Credential,
    /// The credential's nonce (the controller's proof to a registering agent covers it).
    pub nonce: Option<[u8; NONCE_LEN]>,
    /// Where the request came from, for logs.
    pub peer: String,
}

/// The address a request came from, for logs.
pub fn peer_of<T>(request: &Request<T>) -> String {
    request
        .remote_addr()
        .map_or_else(|| "unknown peer".to_owned(), |a| a.to_string())
}

/// Verifies the credential of `request` (an `rpc` call) with `verifier`, or, without one
/// (`AuthType=auth/none`), takes the claimed identity as it is. Gives the caller and the body.
/// A refused credential is `Authentication failure` (unauthenticated); a valid credential of
/// one uid that claims another is `Invalid user id` (permission denied). Both are logged with
/// the reason and the peer's address.
pub fn authenticate<T>(
    verifier: Option<&Verifier>,
    request: Request<Authed<T>>,
    rpc: &'static str,
) -> Result<(Caller, T), Status> {
    let peer = peer_of(&request);
    let Authed { credential, body } = request.into_inner();
    let Some(verifier) = verifier else {
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
    Ok((
        Caller {
            cred: Credential {
                uid: claims.uid,
                gid: claims.gid,
                user: user_name(claims.uid).unwrap_or_default(),
                token: None,
            },
            nonce: Some(claims.nonce),
            peer,
        },
        body,
    ))
}

/// Refuses (and logs) a verified caller that is not an operator, for what only daemons and
/// administrators may do (`rpc`: the request's name in the log).
pub fn require_operator(
    caller: &Caller,
    operators: &[u32],
    rpc: &'static str,
) -> Result<(), Status> {
    if operators.contains(&caller.cred.uid) {
        return Ok(());
    }
    tracing::warn!(
        "Security violation: {rpc} from {} by uid {}, which is neither root nor SlurmUser",
        caller.peer,
        caller.cred.uid
    );
    Err(Status::permission_denied(ACCESS_DENIED))
}

/// The name this host knows `uid` by.
pub fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// The uids a daemon treats as operators: root, `slurm_user` (a name, or a number) and the
/// daemon's own uid.
pub fn operator_uids(slurm_user: &str) -> Vec<u32> {
    let mut uids = vec![0, nix::unistd::getuid().as_raw()];
    if let Ok(Some(user)) = nix::unistd::User::from_name(slurm_user) {
        uids.push(user.uid.as_raw());
    } else if let Ok(uid) = slurm_user.parse() {
        uids.push(uid);
    }
    uids.sort_unstable();
    uids.dedup();
    uids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::{Claims, encode};
    use crate::auth::{ClusterKey, now_secs};
    use std::sync::Arc;

    fn request(uid: u32, token: Option<String>) -> Request<Authed<u8>> {
        Request::new(Authed::new(
            Credential {
                uid,
                gid: uid,
                user: "claimed".into(),
                token,
            },
            7,
        ))
    }

    #[test]
    fn credentials_become_callers() {
        let key = Arc::new(ClusterKey::from_bytes(vec![3; 32]).unwrap());
        let v = Verifier::new(key.clone());
        let claims = Claims::new(4242, 4243, 300).unwrap();
        let token = encode(&key, &claims);
        let (caller, body) = authenticate(Some(&v), request(4242, Some(token.clone())), "X")
            .expect("a valid credential");
        assert_eq!((caller.cred.uid, caller.cred.gid, body), (4242, 4243, 7));
        assert_eq!(caller.peer, "unknown peer");
        assert_eq!(caller.nonce, Some(claims.nonce));
        assert!(caller.cred.token.is_none());
        // Once only.
        let e = authenticate(Some(&v), request(4242, Some(token)), "X").unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (tonic::Code::Unauthenticated, AUTH_FAILURE)
        );
        let e = authenticate(Some(&v), request(0, None), "X").unwrap_err();
        assert_eq!(e.message(), AUTH_FAILURE);
        // Someone else's credential.
        let theirs = encode(&key, &Claims::new(4242, 4242, 300).unwrap());
        let e = authenticate(Some(&v), request(0, Some(theirs)), "X").unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (tonic::Code::PermissionDenied, INVALID_USER_ID)
        );
        // auth/none: the claim as it is.
        let (caller, _) = authenticate(None, request(5, None), "X").unwrap();
        assert_eq!((caller.cred.uid, caller.cred.user.as_str()), (5, "claimed"));
        assert!(now_secs() > 0);
    }

    #[test]
    fn operators() {
        let ops = operator_uids("4321");
        assert!(ops.contains(&0) && ops.contains(&4321));
        assert!(ops.contains(&nix::unistd::getuid().as_raw()));
        let caller = |uid| Caller {
            cred: Credential {
                uid,
                gid: uid,
                user: String::new(),
                token: None,
            },
            nonce: None,
            peer: "p".into(),
        };
        assert!(require_operator(&caller(4321), &ops, "X").is_ok());
        let e = require_operator(&caller(4322), &[0, 4321], "X").unwrap_err();
        assert_eq!(e.message(), ACCESS_DENIED);
    }
}
