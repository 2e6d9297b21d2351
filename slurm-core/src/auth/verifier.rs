//! What the controller does with every credential: signature, lifetime, clock, replay.

use super::token::{self, Claims, CredentialError, NONCE_LEN};
use super::{ClusterKey, MAX_CLOCK_SKEW_S, MAX_TTL_S};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Verifies credentials signed with the cluster key and remembers each nonce until its
/// credential has expired, so that a credential is accepted once.
#[derive(Debug)]
pub struct Verifier {
    key: Arc<ClusterKey>,
    seen: Mutex<ReplayCache>,
}

#[derive(Debug, Default)]
struct ReplayCache {
    /// Nonce → when it may be forgotten (its credential's expiry plus the allowed skew).
    until: HashMap<[u8; NONCE_LEN], u64>,
    next_prune: u64,
}

/// How often (seconds) expired nonces are dropped.
const PRUNE_EVERY_S: u64 = 10;

impl Verifier {
    pub fn new(key: Arc<ClusterKey>) -> Self {
        Self {
            key,
            seen: Mutex::new(ReplayCache::default()),
        }
    }

    pub fn key(&self) -> &Arc<ClusterKey> {
        &self.key
    }

    /// Verifies `token` now.
    pub fn verify(&self, token: &str) -> Result<Claims, CredentialError> {
        self.verify_at(token, super::now_secs())
    }

    /// Verifies `token` at time `now` (seconds since the epoch): the signature first, then
    /// the lifetime, then that the nonce is new.
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Claims, CredentialError> {
        let claims = token::decode(&self.key, token)?;
        if claims.ttl_s > MAX_TTL_S {
            return Err(CredentialError::TtlTooLong(claims.ttl_s));
        }
        if claims.issued > now.saturating_add(MAX_CLOCK_SKEW_S) {
            return Err(CredentialError::Rewound(claims.issued - now));
        }
        let expires = claims.expires();
        if now > expires {
            return Err(CredentialError::Expired(now - expires));
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if now >= seen.next_prune {
            seen.until.retain(|_, until| *until >= now);
            seen.next_prune = now + PRUNE_EVERY_S;
        }
        let forget_after = expires + MAX_CLOCK_SKEW_S;
        match seen.until.entry(claims.nonce) {
            std::collections::hash_map::Entry::Occupied(_) => Err(CredentialError::Replayed),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(forget_after);
                Ok(claims)
            }
        }
    }

    /// How many nonces are remembered (tests, diagnostics).
    pub fn remembered(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .until
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::encode;

    fn claims(issued: u64, ttl_s: u32, nonce: u8) -> Claims {
        Claims {
            uid: 1000,
            gid: 1000,
            issued,
            ttl_s,
            nonce: [nonce; NONCE_LEN],
            host: "h".into(),
        }
    }

    #[test]
    fn lifetime_replay_and_keys() {
        let key = Arc::new(ClusterKey::from_bytes(vec![5; 48]).unwrap());
        let v = Verifier::new(key.clone());
        let now = 1_000_000;
        let fresh = encode(&key, &claims(now, 300, 1));
        assert_eq!(v.verify_at(&fresh, now + 10).unwrap().uid, 1000);
        assert_eq!(
            v.verify_at(&fresh, now + 11),
            Err(CredentialError::Replayed)
        );

        let old = encode(&key, &claims(now - 400, 300, 2));
        assert_eq!(v.verify_at(&old, now), Err(CredentialError::Expired(100)));
        let future = encode(&key, &claims(now + 600, 300, 3));
        assert_eq!(
            v.verify_at(&future, now),
            Err(CredentialError::Rewound(600))
        );
        let slightly_ahead = encode(&key, &claims(now + 30, 300, 4));
        assert!(v.verify_at(&slightly_ahead, now).is_ok());
        let forever = encode(&key, &claims(now, u32::MAX, 5));
        assert_eq!(
            v.verify_at(&forever, now),
            Err(CredentialError::TtlTooLong(u32::MAX))
        );

        let other = ClusterKey::from_bytes(vec![6; 48]).unwrap();
        let foreign = encode(&other, &claims(now, 300, 6));
        assert_eq!(
            v.verify_at(&foreign, now),
            Err(CredentialError::BadSignature)
        );
        // Refused credentials leave no nonce behind.
        assert_eq!(v.remembered(), 2);
        // Nonces are forgotten once their credential has expired.
        let later = encode(&key, &claims(now + 1000, 300, 7));
        assert!(v.verify_at(&later, now + 1000).is_ok());
        assert_eq!(v.remembered(), 1);
    }
}
