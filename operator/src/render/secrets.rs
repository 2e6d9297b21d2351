//! The two Secrets: the cluster key (generated once, never rotated) and the dbd's database
//! URL (MySQL and RDS backends).

use super::{Database, meta, names};
use crate::crd::SlurmCluster;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// How many random bytes a generated cluster key holds.
pub const AUTH_KEY_BYTES: usize = 32;

/// A new random cluster key.
pub fn random_key() -> Result<Vec<u8>, crate::Error> {
    let mut key = vec![0u8; AUTH_KEY_BYTES];
    getrandom::fill(&mut key).map_err(|e| crate::Error::Random(e.to_string()))?;
    Ok(key)
}

/// The cluster key Secret holding `key` (created only when absent; never updated). It is
/// owned by the cluster only when its name is the default one: a Secret the user named is
/// the user's.
pub fn auth_key_secret(c: &SlurmCluster, key: Vec<u8>) -> Secret {
    let mut metadata = meta(c, c.auth_key_secret_name(), "auth");
    if c.spec.auth_key_secret.is_some() {
        metadata.owner_references = None;
    }
    Secret {
        metadata,
        type_: Some("Opaque".into()),
        immutable: Some(true),
        data: Some(BTreeMap::from([(
            names::KEY_FILE.to_owned(),
            ByteString(key),
        )])),
        ..Default::default()
    }
}

/// `mysql://USER:PASSWORD@HOST:PORT/DATABASE`, user and password percent-encoded.
pub fn database_url(db: &Database, password: &str) -> String {
    format!(
        "mysql://{}:{}@{}:{}/{}",
        percent_encode(&db.user),
        percent_encode(password),
        db.host,
        db.port,
        percent_encode(&db.database)
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Secret with the dbd's database URL.
pub fn dbd_storage_secret(c: &SlurmCluster, url: &str) -> Secret {
    Secret {
        metadata: meta(c, names::dbd_storage_secret(c), "dbd"),
        type_: Some("Opaque".into()),
        string_data: None,
        data: Some(BTreeMap::from([(
            super::dbd::STORAGE_URL_KEY.to_owned(),
            ByteString(url.as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_encodes_the_password() {
        let db = Database {
            host: "db.example".into(),
            port: 3306,
            user: "slurm".into(),
            database: "slurm_acct_db".into(),
            url_hash: String::new(),
        };
        assert_eq!(
            database_url(&db, "p@ss:w/rd"),
            "mysql://slurm:p%40ss%3Aw%2Frd@db.example:3306/slurm_acct_db"
        );
    }

    #[test]
    fn random_keys_differ() {
        let a = random_key().unwrap();
        assert_eq!(a.len(), AUTH_KEY_BYTES);
        assert_ne!(a, random_key().unwrap());
    }
}
