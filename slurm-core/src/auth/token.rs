//! The credential token: `slinky1:` followed by URL-safe base64 (no padding) of
//!
//! ```text
//! version u8 (= 1) | uid u32 | gid u32 | issued u64 | ttl u32 | nonce [u8; 16]
//!   | host_len u8 | host [u8; host_len] | HMAC-SHA256(domain | all of the above) [u8; 32]
//! ```
//!
//! (integers big-endian). Decoding checks the length and layout before anything else and
//! never panics on any input (property-tested here; `slurm-core/fuzz` has a libFuzzer
//! target).

use super::ClusterKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What every token starts with.
pub const PREFIX: &str = "slinky1:";
pub const VERSION: u8 = 1;
pub const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
const MAX_HOST_LEN: usize = 255;
/// Bytes before the host name.
const FIXED_LEN: usize = 1 + 4 + 4 + 8 + 4 + NONCE_LEN + 1;
/// The longest token text there can be.
pub const MAX_TOKEN_LEN: usize =
    PREFIX.len() + (FIXED_LEN + MAX_HOST_LEN + MAC_LEN).div_ceil(3) * 4;
const DOMAIN: &[u8] = b"slinky-credential-v1\0";

/// What a credential says: who, since when, for how long, issued where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch.
    pub issued: u64,
    pub ttl_s: u32,
    /// Random; the verifier refuses a nonce it has already seen (replay).
    pub nonce: [u8; NONCE_LEN],
    /// The host whose signer issued it (for logs).
    pub host: String,
}

impl Claims {
    /// A credential for uid/gid issued now on this host, with a fresh random nonce.
    pub fn new(uid: u32, gid: u32, ttl_s: u32) -> Result<Self, super::AuthError> {
        let mut nonce = [0u8; NONCE_LEN];
        super::key::fill_random(&mut nonce)?;
        Ok(Self {
            uid,
            gid,
            issued: super::now_secs(),
            ttl_s,
            nonce,
            host: super::host_name(),
        })
    }

    /// When it stops being valid (seconds since the epoch).
    pub fn expires(&self) -> u64 {
        self.issued.saturating_add(u64::from(self.ttl_s))
    }
}

/// Why a credential is not accepted. The words follow MUNGE's error strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("Missing credential")]
    Missing,
    #[error("Invalid credential: {0}")]
    Malformed(&'static str),
    #[error("Invalid credential: unsupported version {0}")]
    Version(u8),
    #[error("Invalid credential: bad signature (signed with another key, or altered)")]
    BadSignature,
    #[error("Invalid credential: lifetime of {0} s is longer than {max} s", max = super::MAX_TTL_S)]
    TtlTooLong(u32),
    #[error("Expired credential (expired {0} s ago)")]
    Expired(u64),
    #[error("Rewound credential (issued {0} s in the future)")]
    Rewound(u64),
    #[error("Replayed credential")]
    Replayed,
}

fn payload(claims: &Claims) -> Vec<u8> {
    let mut cut = claims.host.len().min(MAX_HOST_LEN);
    while !claims.host.is_char_boundary(cut) {
        cut -= 1;
    }
    let host = &claims.host.as_bytes()[..cut];
    let mut out = Vec::with_capacity(FIXED_LEN + host.len() + MAC_LEN);
    out.push(VERSION);
    out.extend_from_slice(&claims.uid.to_be_bytes());
    out.extend_from_slice(&claims.gid.to_be_bytes());
    out.extend_from_slice(&claims.issued.to_be_bytes());
    out.extend_from_slice(&claims.ttl_s.to_be_bytes());
    out.extend_from_slice(&claims.nonce);
    out.push(host.len() as u8);
    out.extend_from_slice(host);
    out
}

/// Signs claims with the cluster key. A host name longer than 255 bytes is cut.
pub fn encode(key: &ClusterKey, claims: &Claims) -> String {
    let mut bytes = payload(claims);
    let mac = key.mac(&[DOMAIN, &bytes]);
    bytes.extend_from_slice(&mac);
    let mut out = String::with_capacity(MAX_TOKEN_LEN);
    out.push_str(PREFIX);
    URL_SAFE_NO_PAD.encode_string(&bytes, &mut out);
    out
}

/// A token taken apart, its signature not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    pub claims: Claims,
    signed: Vec<u8>,
    mac: [u8; MAC_LEN],
}

impl Unverified {
    /// Checks the signature (constant time) and gives the claims.
    pub fn verify(self, key: &ClusterKey) -> Result<Claims, CredentialError> {
        if key.verify_mac(&[DOMAIN, &self.signed], &self.mac) {
            Ok(self.claims)
        } else {
            Err(CredentialError::BadSignature)
        }
    }
}

/// Parses a token without checking its signature.
pub fn parse(token: &str) -> Result<Unverified, CredentialError> {
    use CredentialError::Malformed;
    if token.is_empty() {
        return Err(CredentialError::Missing);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(Malformed("too long"));
    }
    let body = token
        .strip_prefix(PREFIX)
        .ok_or(Malformed("not a slinky credential"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| Malformed("bad base64"))?;
    if bytes.len() < FIXED_LEN + MAC_LEN {
        return Err(Malformed("too short"));
    }
    if bytes[0] != VERSION {
        return Err(CredentialError::Version(bytes[0]));
    }
    let host_len = usize::from(bytes[FIXED_LEN - 1]);
    if bytes.len() != FIXED_LEN + host_len + MAC_LEN {
        return Err(Malformed("bad length"));
    }
    let (signed, mac) = bytes.split_at(FIXED_LEN + host_len);
    let mut r = Reader(&signed[1..]);
    let uid = u32::from_be_bytes(r.take()?);
    let gid = u32::from_be_bytes(r.take()?);
    let issued = u64::from_be_bytes(r.take()?);
    let ttl_s = u32::from_be_bytes(r.take()?);
    let nonce: [u8; NONCE_LEN] = r.take()?;
    let [_len]: [u8; 1] = r.take()?;
    let host = std::str::from_utf8(r.0)
        .map_err(|_| Malformed("host name is not UTF-8"))?
        .to_owned();
    let mac: [u8; MAC_LEN] = mac.try_into().map_err(|_| Malformed("bad length"))?;
    Ok(Unverified {
        claims: Claims {
            uid,
            gid,
            issued,
            ttl_s,
            nonce,
            host,
        },
        signed: signed.to_vec(),
        mac,
    })
}

/// Parses a token and checks its signature (not its age: see [`super::Verifier`]).
pub fn decode(key: &ClusterKey, token: &str) -> Result<Claims, CredentialError> {
    parse(token)?.verify(key)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], CredentialError> {
        let (head, rest) = self
            .0
            .split_at_checked(N)
            .ok_or(CredentialError::Malformed("truncated"))?;
        self.0 = rest;
        head.try_into()
            .map_err(|_| CredentialError::Malformed("truncated"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(b: u8) -> ClusterKey {
        ClusterKey::from_bytes(vec![b; 32]).unwrap()
    }

    fn claims() -> Claims {
        Claims {
            uid: 1000,
            gid: 100,
            issued: 1_700_000_000,
            ttl_s: 300,
            nonce: [9; NONCE_LEN],
            host: "login1".into(),
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let k = key(1);
        let token = encode(&k, &claims());
        assert!(token.starts_with(PREFIX));
        assert!(token.len() <= MAX_TOKEN_LEN);
        assert_eq!(decode(&k, &token).unwrap(), claims());
        assert_eq!(decode(&key(2), &token), Err(CredentialError::BadSignature));
        assert_eq!(decode(&k, ""), Err(CredentialError::Missing));
        assert!(matches!(
            decode(&k, "MUNGE:abc:"),
            Err(CredentialError::Malformed(_))
        ));
        assert!(matches!(
            decode(&k, "slinky1:!!"),
            Err(CredentialError::Malformed(_))
        ));

        // Changing the uid inside the token breaks the signature.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token[PREFIX.len()..]).unwrap();
        bytes[4] ^= 0x01;
        let tampered = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(parse(&tampered).unwrap().claims.uid, 1001);
        assert_eq!(decode(&k, &tampered), Err(CredentialError::BadSignature));

        bytes[0] = 2;
        let future = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(decode(&k, &future), Err(CredentialError::Version(2)));

        let long_host = Claims {
            host: "h".repeat(400),
            ..claims()
        };
        let token = encode(&k, &long_host);
        assert!(token.len() <= MAX_TOKEN_LEN);
        assert_eq!(decode(&k, &token).unwrap().host.len(), 255);
        let wide_host = Claims {
            host: "é".repeat(200),
            ..claims()
        };
        assert_eq!(decode(&k, &encode(&k, &wide_host)).unwrap().host.len(), 254);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = decode(&key(1), &s);
            let _ = decode(&key(1), &format!("{PREFIX}{s}"));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
            let _ = decode(&key(1), &token);
        }

        /// Any change to a valid token's bytes is refused, never accepted as other claims.
        #[test]
        fn any_mutation_is_refused(index in 0usize..200, flip in 1u8..=255) {
            let k = key(1);
            let token = encode(&k, &claims());
            let mut bytes = URL_SAFE_NO_PAD.decode(&token[PREFIX.len()..]).unwrap();
            let i = index % bytes.len();
            bytes[i] ^= flip;
            let mutated = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert!(decode(&k, &mutated).is_err());
        }

        #[test]
        fn claims_round_trip(uid: u32, gid: u32, issued: u64, ttl_s: u32,
                             nonce: [u8; NONCE_LEN], host in "[a-z0-9.-]{0,64}") {
            let k = key(3);
            let c = Claims { uid, gid, issued, ttl_s, nonce, host };
            prop_assert_eq!(decode(&k, &encode(&k, &c)).unwrap(), c);
        }
    }
}
