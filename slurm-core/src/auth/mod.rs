//! Authentication, the way MUNGE (and Slurm's auth/slurm) does it: every node shares one
//! cluster key; a credential is a short-lived, HMAC-signed statement "this process runs as
//! uid/gid", made by something that holds the key and knows the caller's identity.
//!
//! * [`key`]: the cluster key file (random bytes, readable only by its owner);
//! * [`token`]: the credential itself: `slinky1:` + base64 of {version, uid, gid, issued,
//!   ttl, nonce, host} and its HMAC-SHA256; decoding never panics;
//! * [`verifier`]: what the controller and the dbd run on every request: signature
//!   (constant time), expiry, clock rewind and replay (nonces remembered until they expire);
//! * [`server`]: a request's credential turned into the caller's identity, refusals logged
//!   with the peer's address, operators (root, SlurmUser, the daemon's own uid);
//! * [`signer`]: the signer daemon (`slinky authd`, the munged role): a Unix socket that
//!   signs a credential for whoever connects, with the uid/gid the kernel reports for the
//!   peer, so a client that cannot read the key cannot claim another uid;
//! * [`source`]: where a process gets its credentials: commands ask the signer's socket,
//!   daemons that hold the key sign directly, `AuthType=auth/none` sends none.
//!
//! The controller also proves itself to agents: its reply to a registration carries an HMAC
//! over the nonce of the agent's credential ([`controller_proof`]), which only a holder of
//! the key can compute.

pub mod key;
pub mod server;
pub mod signer;
pub mod source;
pub mod token;
pub mod verifier;

pub use key::ClusterKey;
pub use source::CredentialSource;
pub use token::{Claims, CredentialError, NONCE_LEN};
pub use verifier::Verifier;

use crate::config::ClusterConfig;
use std::path::{Path, PathBuf};

/// Where the cluster key is when AuthInfo names none (Slurm's auth/slurm default).
pub const DEFAULT_KEY_PATH: &str = "/etc/slurm/slurm.key";
/// Where the signer listens when AuthInfo names no socket.
pub const DEFAULT_SOCKET_PATH: &str = "/run/slinky/auth.socket";
/// MUNGE's default credential lifetime.
pub const DEFAULT_TTL_S: u32 = 300;
/// The longest lifetime a verifier accepts (MUNGE's default maximum).
pub const MAX_TTL_S: u32 = 3600;
/// How far in the future a credential's issue time may be (clock differences between
/// hosts).
pub const MAX_CLOCK_SKEW_S: u64 = 60;

/// The AuthType values slinky understands.
pub const AUTH_SLURM: &str = "auth/slurm";
pub const AUTH_MUNGE: &str = "auth/munge";
pub const AUTH_NONE: &str = "auth/none";

/// Why authentication could not be set up, or a credential not be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "AuthType={0} is not supported (slinky implements auth/slurm, auth/munge as its alias, and auth/none)"
    )]
    UnsupportedType(String),
    #[error("AuthInfo: invalid ttl {0:?} (seconds, 1 to {MAX_TTL_S})")]
    BadTtl(String),
    #[error("cluster key {path}: {source}", path = .path.display())]
    KeyIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cluster key {path} is accessible by group or others (mode {mode:04o}); it must be readable only by its owner (chmod 0400)",
        path = .path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error(
        "cluster key {path} is {len} bytes; a key must hold {min} to {max} bytes",
        path = .path.display(),
        min = key::MIN_KEY_LEN,
        max = key::MAX_KEY_LEN
    )]
    KeyLength { path: PathBuf, len: usize },
    #[error("the system random source failed: {0}")]
    Random(String),
    #[error(
        "Credential encode failed: cannot reach the auth daemon at {path}: {source} (is `slinky authd` running?)",
        path = .path.display()
    )]
    SignerUnreachable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Credential encode failed: the auth daemon at {path} answered: {message}", path = .path.display())]
    SignerRefused { path: PathBuf, message: String },
    #[error("auth socket {path}: {source}", path = .path.display())]
    Socket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("auth socket {path} is already served by a running signer", path = .path.display())]
    SocketInUse { path: PathBuf },
    #[error(transparent)]
    Credential(#[from] CredentialError),
}

/// How a cluster authenticates, from `AuthType` and `AuthInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// `AuthType=auth/none`: requests carry what the client says of itself, unchecked. Only
    /// when configured explicitly.
    None,
    /// Signed credentials (`auth/slurm`, or `auth/munge` as its alias).
    Signed(AuthSettings),
}

/// Where the key and the signer's socket are, and how long credentials live.
/// `AuthInfo=key=PATH,socket=PATH,ttl=SECONDS`; options slinky does not know are ignored,
/// as Slurm ignores AuthInfo options of other plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub key: PathBuf,
    pub socket: PathBuf,
    pub ttl_s: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            key: PathBuf::from(DEFAULT_KEY_PATH),
            socket: PathBuf::from(DEFAULT_SOCKET_PATH),
            ttl_s: DEFAULT_TTL_S,
        }
    }
}

impl AuthMode {
    /// The mode a cluster's configuration asks for.
    pub fn from_config(cluster: &ClusterConfig) -> Result<Self, AuthError> {
        Self::parse(&cluster.auth_type, cluster.auth_info.as_deref())
    }

    pub fn parse(auth_type: &str, auth_info: Option<&str>) -> Result<Self, AuthError> {
        let kind = auth_type.trim().to_ascii_lowercase();
        match kind.as_str() {
            AUTH_NONE => Ok(Self::None),
            AUTH_SLURM | AUTH_MUNGE | "" => {
                Ok(Self::Signed(AuthSettings::parse(auth_info.unwrap_or(""))?))
            }
            _ => Err(AuthError::UnsupportedType(auth_type.to_owned())),
        }
    }

    pub fn settings(&self) -> Option<&AuthSettings> {
        match self {
            Self::None => None,
            Self::Signed(s) => Some(s),
        }
    }
}

impl AuthSettings {
    /// Parses `key=PATH,socket=PATH,ttl=SECONDS` (any order, any subset).
    pub fn parse(info: &str) -> Result<Self, AuthError> {
        let mut settings = Self::default();
        for option in info.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "key" => settings.key = PathBuf::from(value.trim()),
                "socket" => settings.socket = PathBuf::from(value.trim()),
                "ttl" => {
                    settings.ttl_s = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|t| (1..=MAX_TTL_S).contains(t))
                        .ok_or_else(|| AuthError::BadTtl(value.to_owned()))?;
                }
                _ => {}
            }
        }
        Ok(settings)
    }

    /// The `AuthInfo` value that describes these settings.
    pub fn render(&self) -> String {
        let mut out = format!(
            "key={},socket={}",
            self.key.display(),
            self.socket.display()
        );
        if self.ttl_s != DEFAULT_TTL_S {
            out.push_str(&format!(",ttl={}", self.ttl_s));
        }
        out
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This host's name (for credentials: who signed them).
pub fn host_name() -> String {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| u.nodename().to_str().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// What the controller sends back to a registering agent: HMAC-SHA256 over the nonce of the
/// agent's credential and its node name, so the agent knows it talks to a holder of the key.
pub fn controller_proof(key: &ClusterKey, nonce: &[u8; NONCE_LEN], node: &str) -> String {
    use base64::Engine as _;
    let mac = key.mac(&[PROOF_DOMAIN, nonce, node.as_bytes()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
}

/// Checks a controller's proof (constant time).
pub fn check_controller_proof(
    key: &ClusterKey,
    nonce: &[u8; NONCE_LEN],
    node: &str,
    proof: &str,
) -> bool {
    use base64::Engine as _;
    if proof.len() > 128 {
        return false;
    }
    let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(proof) else {
        return false;
    };
    key.verify_mac(&[PROOF_DOMAIN, nonce, node.as_bytes()], &tag)
}

const PROOF_DOMAIN: &[u8] = b"slinky-controller-proof-v1\0";

/// The socket path must fit in `sun_path` (108 bytes on Linux).
pub fn check_socket_path(path: &Path) -> Result<(), AuthError> {
    if path.as_os_str().len() >= 108 {
        return Err(AuthError::Socket {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path is too long for a Unix socket (107 bytes at most)",
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_config() {
        assert_eq!(AuthMode::parse("auth/none", None).unwrap(), AuthMode::None);
        let m = AuthMode::parse("auth/munge", None).unwrap();
        assert_eq!(m, AuthMode::Signed(AuthSettings::default()));
        let m = AuthMode::parse(
            "auth/slurm",
            Some("socket=/tmp/a.sock, key=/tmp/k ,ttl=60,cred_expire=5"),
        )
        .unwrap();
        let s = m.settings().unwrap();
        assert_eq!(s.key, Path::new("/tmp/k"));
        assert_eq!(s.socket, Path::new("/tmp/a.sock"));
        assert_eq!(s.ttl_s, 60);
        assert_eq!(AuthSettings::parse(&s.render()).unwrap(), *s);
        assert!(matches!(
            AuthMode::parse("auth/jwt", None),
            Err(AuthError::UnsupportedType(_))
        ));
        assert!(matches!(
            AuthSettings::parse("ttl=0"),
            Err(AuthError::BadTtl(_))
        ));
        assert!(matches!(
            AuthSettings::parse("ttl=99999"),
            Err(AuthError::BadTtl(_))
        ));
    }

    #[test]
    fn controller_proofs() {
        let key = ClusterKey::from_bytes(vec![7; 32]).unwrap();
        let other = ClusterKey::from_bytes(vec![8; 32]).unwrap();
        let nonce = [1; NONCE_LEN];
        let proof = controller_proof(&key, &nonce, "n1");
        assert!(check_controller_proof(&key, &nonce, "n1", &proof));
        assert!(!check_controller_proof(&key, &nonce, "n2", &proof));
        assert!(!check_controller_proof(&key, &[2; NONCE_LEN], "n1", &proof));
        assert!(!check_controller_proof(&other, &nonce, "n1", &proof));
        assert!(!check_controller_proof(&key, &nonce, "n1", "not base64!"));
        assert!(!check_controller_proof(&key, &nonce, "n1", ""));
    }
}
