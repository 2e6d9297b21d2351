//! The cluster key: random bytes shared by every daemon of a cluster (MUNGE's munge.key,
//! Slurm's slurm.key). It is read only by the daemons that sign or verify credentials; the
//! file must not be accessible to group or others.

use super::AuthError;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The shortest key accepted (256 bits, as `mungekey` requires).
pub const MIN_KEY_LEN: usize = 32;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 4096;
/// How many random bytes a generated key holds.
pub const GENERATED_KEY_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// A loaded cluster key. Its bytes never leave this type (no `Debug` of the contents).
#[derive(Clone)]
pub struct ClusterKey {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterKey")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl ClusterKey {
    /// A key from raw bytes (tests, and keys handed over by other means).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, AuthError> {
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&bytes.len()) {
            return Err(AuthError::KeyLength {
                path: "(memory)".into(),
                len: bytes.len(),
            });
        }
        Ok(Self { bytes })
    }

    /// A fresh random key (not written anywhere).
    pub fn random() -> Result<Self, AuthError> {
        let mut bytes = vec![0u8; GENERATED_KEY_LEN];
        fill_random(&mut bytes)?;
        Ok(Self { bytes })
    }

    /// Loads a key file, refusing one that group or others may access.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let io = |source| AuthError::KeyIo {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(AuthError::KeyPermissions {
                path: path.to_owned(),
                mode,
            });
        }
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&bytes.len()) {
            return Err(AuthError::KeyLength {
                path: path.to_owned(),
                len: bytes.len(),
            });
        }
        Ok(Self { bytes })
    }

    /// Writes a new random key to `path` (mode 0400, which must not exist yet) and returns it.
    pub fn generate(path: &Path) -> Result<Self, AuthError> {
        let key = Self::random()?;
        key.write_new(path)?;
        Ok(key)
    }

    /// Writes this key to a new file `path` with mode 0400.
    pub fn write_new(&self, path: &Path) -> Result<(), AuthError> {
        let io = |source| AuthError::KeyIo {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(path)
            .map_err(io)?;
        file.write_all(&self.bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }

    /// Loads the key at `path`, generating it first when there is none (`slinky up`).
    pub fn load_or_generate(path: &Path) -> Result<(Self, bool), AuthError> {
        match Self::generate(path) {
            Ok(key) => Ok((key, true)),
            Err(AuthError::KeyIo { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                Ok((Self::load(path)?, false))
            }
            Err(e) => Err(e),
        }
    }

    fn hmac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// HMAC-SHA256 of the concatenated parts.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.hmac(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC of the parts (constant-time comparison).
    pub fn verify_mac(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.hmac(parts).verify_slice(tag).is_ok()
    }
}

/// Fills `buf` from the operating system's random source.
pub fn fill_random(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|e| AuthError::Random(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generate_load_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slurm.key");
        let (key, created) = ClusterKey::load_or_generate(&path).unwrap();
        assert!(created);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o400);
        assert_eq!(meta.len(), GENERATED_KEY_LEN as u64);
        let (again, created) = ClusterKey::load_or_generate(&path).unwrap();
        assert!(!created);
        assert_eq!(key.mac(&[b"x"]), again.mac(&[b"x"]));
        assert!(matches!(
            ClusterKey::generate(&path),
            Err(AuthError::KeyIo { .. })
        ));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o440)).unwrap();
        let err = ClusterKey::load(&path).unwrap_err();
        assert!(matches!(err, AuthError::KeyPermissions { mode: 0o440, .. }));
        assert!(err.to_string().contains("chmod 0400"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
        assert!(ClusterKey::load(&path).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(ClusterKey::load(&path).is_ok());

        let short = dir.path().join("short.key");
        std::fs::write(&short, b"too short").unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(matches!(
            ClusterKey::load(&short),
            Err(AuthError::KeyLength { len: 9, .. })
        ));
        assert!(matches!(
            ClusterKey::load(&dir.path().join("missing.key")),
            Err(AuthError::KeyIo { .. })
        ));
    }

    #[test]
    fn random_keys_differ_and_debug_hides_them() {
        let a = ClusterKey::random().unwrap();
        let b = ClusterKey::random().unwrap();
        assert_ne!(a.mac(&[b"m"]), b.mac(&[b"m"]));
        assert!(a.verify_mac(&[b"m"], &a.mac(&[b"m"])));
        assert!(!a.verify_mac(&[b"m"], &b.mac(&[b"m"])));
        assert!(!a.verify_mac(&[b"m"], &[]));
        let shown = format!("{a:?}");
        assert!(shown.contains("len: 64"), "{shown}");
    }
}
