//! `slurmdbd.conf`: where the dbd listens and which database it owns.
//!
//! The keys are Slurm's: `DbdAddr`/`DbdHost`, `DbdPort` (default 6819), `StorageType`
//! (`accounting_storage/mysql`, or `accounting_storage/sqlite` for the embedded database),
//! `StorageHost`, `StoragePort` (3306), `StorageUser`, `StoragePass`, `StorageLoc` (the MySQL
//! database name, default `slurm_acct_db`, or the SQLite file). `StorageLoc` may also be a
//! whole URL (`sqlite:///var/lib/slurm/acct.db`, `mysql://user:pass@host/db`).
//! Authentication: `AuthType` and `AuthInfo` (as in slurm.conf: the cluster key the dbd
//! verifies credentials with), `SlurmUser` (who, besides root and the dbd's own user, may
//! record jobs), `PrivateData=jobs` (users see only their own jobs) and `PrivateData=usage` (their own usage). TLS: `TLSType` and
//! `TLSParameters` (the dbd serves with `dbd_cert_file`/`dbd_cert_key_file`; see
//! `crate::tls`). Where slurmdbd.conf leaves any of AuthType, AuthInfo, SlurmUser, TLSType
//! or TLSParameters out, the slurm.conf beside it (or `SLURM_CONF`) gives it. Other Slurm
//! keys are accepted and ignored.

use crate::proto::DEFAULT_SLURMDBD_PORT;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

/// The settings the dbd runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbdConf {
    pub dbd_addr: Option<String>,
    pub dbd_port: u16,
    pub storage_type: String,
    pub storage_host: Option<String>,
    pub storage_port: Option<u16>,
    pub storage_user: Option<String>,
    pub storage_pass: Option<String>,
    pub storage_loc: Option<String>,
    /// `AuthType=` (`None`: as slurm.conf says, else Slurm's default).
    pub auth_type: Option<String>,
    /// `AuthInfo=`.
    pub auth_info: Option<String>,
    /// `SlurmUser=`.
    pub slurm_user: Option<String>,
    /// `PrivateData=` (lower-cased items; slinky uses `jobs` and `usage`).
    pub private_data: Vec<String>,
    /// `TLSType=`.
    pub tls_type: Option<String>,
    /// `TLSParameters=`.
    pub tls_parameters: Option<String>,
    /// Keys slinky does not use, for a warning.
    pub ignored: Vec<String>,
}

impl Default for DbdConf {
    fn default() -> Self {
        Self {
            dbd_addr: None,
            dbd_port: DEFAULT_SLURMDBD_PORT,
            storage_type: "accounting_storage/mysql".into(),
            storage_host: None,
            storage_port: None,
            storage_user: None,
            storage_pass: None,
            storage_loc: None,
            auth_type: None,
            auth_info: None,
            slurm_user: None,
            private_data: Vec::new(),
            tls_type: None,
            tls_parameters: None,
            ignored: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DbdConfError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Bad {
        path: String,
        line: usize,
        message: String,
    },
    #[error("unsupported StorageType={0} (accounting_storage/mysql or accounting_storage/sqlite)")]
    StorageType(String),
}

/// Keys Slurm's slurmdbd.conf has that slinky ignores.
const KNOWN_IGNORED: &[&str] = &[
    "archiveevents",
    "archivejobs",
    "archivesteps",
    "archiveusage",
    "authalttypes",
    "commitdelay",
    "debuglevel",
    "debugflags",
    "dbdbackuphost",
    "logfile",
    "messagetimeout",
    "pidfile",
    "purgeeventafter",
    "purgejobafter",
    "purgestepafter",
    "purgeusageafter",
    "storageparameters",
    "trackwckey",
];

impl DbdConf {
    /// Reads a slurmdbd.conf file.
    pub fn load(path: &Path) -> Result<Self, DbdConfError> {
        let text = std::fs::read_to_string(path).map_err(|e| DbdConfError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses slurmdbd.conf text (`Key=Value` lines, `#` comments).
    pub fn parse(text: &str, path: &str) -> Result<Self, DbdConfError> {
        let mut conf = Self::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |message: String| DbdConfError::Bad {
                path: path.to_owned(),
                line: index + 1,
                message,
            };
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| bad(format!("expected Key=Value, found \"{line}\"")))?;
            let key = key.trim();
            let value = value.trim().to_owned();
            let port = |v: &str| {
                v.parse::<u16>()
                    .map_err(|_| bad(format!("{key}={v}: not a port number")))
            };
            match key.to_ascii_lowercase().as_str() {
                "dbdaddr" => conf.dbd_addr = Some(value),
                "dbdhost" => {
                    if conf.dbd_addr.is_none() {
                        conf.dbd_addr = Some(value);
                    }
                }
                "dbdport" => conf.dbd_port = port(&value)?,
                "storagetype" => conf.storage_type = value,
                "storagehost" => conf.storage_host = Some(value),
                "storageport" => conf.storage_port = Some(port(&value)?),
                "storageuser" => conf.storage_user = Some(value),
                "storagepass" => conf.storage_pass = Some(value),
                "storageloc" => conf.storage_loc = Some(value),
                "authtype" => conf.auth_type = Some(value),
                "authinfo" => conf.auth_info = Some(value),
                "slurmuser" => conf.slurm_user = Some(value),
                "tlstype" => conf.tls_type = Some(value),
                "tlsparameters" => conf.tls_parameters = Some(value),
                "privatedata" => {
                    conf.private_data = value
                        .split(',')
                        .map(|v| v.trim().to_ascii_lowercase())
                        .filter(|v| !v.is_empty())
                        .collect();
                }
                k if KNOWN_IGNORED.contains(&k) => {}
                _ => conf.ignored.push(key.to_owned()),
            }
        }
        Ok(conf)
    }

    /// The database URL these settings name.
    pub fn storage_url(&self) -> Result<String, DbdConfError> {
        if let Some(loc) = &self.storage_loc
            && loc.contains("://")
        {
            return Ok(loc.clone());
        }
        match self.storage_type.to_ascii_lowercase().as_str() {
            "accounting_storage/mysql" | "accounting_storage/mariadb" => {
                let user = self.storage_user.as_deref().unwrap_or("slurm");
                let mut auth = percent_encode(user);
                if let Some(pass) = &self.storage_pass {
                    auth.push(':');
                    auth.push_str(&percent_encode(pass));
                }
                let host = self.storage_host.as_deref().unwrap_or("localhost");
                let port = self.storage_port.unwrap_or(3306);
                let db = self.storage_loc.as_deref().unwrap_or("slurm_acct_db");
                Ok(format!("mysql://{auth}@{host}:{port}/{db}"))
            }
            "accounting_storage/sqlite" => {
                let loc = self
                    .storage_loc
                    .as_deref()
                    .unwrap_or("/var/lib/slurm/slurm_acct_db.sqlite");
                Ok(format!("sqlite://{loc}"))
            }
            other => Err(DbdConfError::StorageType(other.to_owned())),
        }
    }

    /// Where to listen: `DbdAddr` when it is an address (`localhost` is loopback), else
    /// every interface, on `DbdPort`.
    pub fn listen(&self) -> SocketAddr {
        let ip = match self.dbd_addr.as_deref() {
            Some("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(a) => a.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        SocketAddr::new(ip, self.dbd_port)
    }
}

/// Percent-encodes what may not appear in a URL's user or password.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_settings_make_a_url() {
        let c = DbdConf::parse(
            "# slurmdbd.conf\nAuthType=auth/munge\nDbdHost=localhost\nDbdPort=7031\n\
             StorageType=accounting_storage/mysql\nStorageHost=db.example\nStorageUser=slurm\n\
             StoragePass=p@ss:w/rd\nStorageLoc=acct\nPurgeJobAfter=12months\nFoo=bar\n",
            "slurmdbd.conf",
        )
        .unwrap();
        assert_eq!(
            c.storage_url().unwrap(),
            "mysql://slurm:p%40ss%3Aw%2Frd@db.example:3306/acct"
        );
        assert_eq!(c.listen(), "127.0.0.1:7031".parse().unwrap());
        assert_eq!(c.ignored, ["Foo"]);
        assert_eq!(c.auth_type.as_deref(), Some("auth/munge"));
        assert_eq!(c.auth_info, None);
        assert_eq!(c.slurm_user, None);
        let c = DbdConf::parse(
            "AuthInfo=key=/k,socket=/s\nSlurmUser=slurm\nPrivateData=accounts, Jobs\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.auth_info.as_deref(), Some("key=/k,socket=/s"));
        assert_eq!(c.slurm_user.as_deref(), Some("slurm"));
        assert_eq!(c.private_data, ["accounts", "jobs"]);
        let c =
            DbdConf::parse("TLSType=tls/rustls\nTLSParameters=dbd_cert_file=/c\n", "f").unwrap();
        assert_eq!(c.tls_type.as_deref(), Some("tls/rustls"));
        assert_eq!(c.tls_parameters.as_deref(), Some("dbd_cert_file=/c"));
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn sqlite_and_url_locations() {
        let c = DbdConf::parse(
            "StorageType=accounting_storage/sqlite\nStorageLoc=/var/lib/x/acct.db\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.storage_url().unwrap(), "sqlite:///var/lib/x/acct.db");
        assert_eq!(c.listen(), "0.0.0.0:6819".parse().unwrap());
        let c = DbdConf::parse("StorageLoc=mysql://u:p@h/db\n", "f").unwrap();
        assert_eq!(c.storage_url().unwrap(), "mysql://u:p@h/db");
        let c = DbdConf::parse("StorageType=accounting_storage/pgsql\n", "f").unwrap();
        assert!(matches!(c.storage_url(), Err(DbdConfError::StorageType(_))));
    }

    #[test]
    fn settings_come_from_slurmdbd_conf_then_slurm_conf() {
        use crate::auth::AuthMode;
        use crate::dbd::DbdSettings;
        use crate::tls::TlsMode;
        // Nothing anywhere: Slurm's defaults.
        let s = DbdSettings::resolve(&DbdConf::default(), None).unwrap();
        assert!(matches!(&s.auth, AuthMode::Signed(a) if a.key.ends_with("slurm.key")));
        assert_eq!((s.slurm_user.as_str(), s.private_jobs), ("root", false));
        assert_eq!(s.tls, TlsMode::Off);
        // slurm.conf fills what slurmdbd.conf leaves out.
        let mut cluster = crate::config::ClusterConfig::new("c");
        cluster.auth_type = "auth/none".into();
        cluster.slurm_user = "slurm".into();
        cluster.tls_type = "tls/rustls".into();
        cluster.tls_parameters = Some("dbd_cert_file=/c/dbd.pem".into());
        let s = DbdSettings::resolve(&DbdConf::default(), Some(&cluster)).unwrap();
        assert_eq!(s.auth, AuthMode::None);
        assert_eq!(s.slurm_user, "slurm");
        let dbd_cert = &s.tls.settings().unwrap().dbd_cert_file;
        assert_eq!(dbd_cert, Path::new("/c/dbd.pem"));
        // slurmdbd.conf wins.
        let conf = DbdConf::parse(
            "AuthType=auth/slurm\nAuthInfo=key=/k\nSlurmUser=acct\nTLSType=tls/none\n\
             PrivateData=jobs\n",
            "f",
        )
        .unwrap();
        let s = DbdSettings::resolve(&conf, Some(&cluster)).unwrap();
        assert!(matches!(&s.auth, AuthMode::Signed(a) if a.key == Path::new("/k")));
        assert_eq!((s.slurm_user.as_str(), s.private_jobs), ("acct", true));
        assert!(!s.private_usage);
        assert_eq!(s.tls, TlsMode::Off);
        let usage = DbdConf::parse("AuthType=auth/none\nPrivateData=usage,jobs\n", "f").unwrap();
        let s = DbdSettings::resolve(&usage, None).unwrap();
        assert!(s.private_usage && s.private_jobs);
        let bad = DbdConf::parse("TLSType=tls/gnutls\n", "f").unwrap();
        assert!(DbdSettings::resolve(&bad, None).is_err());
    }

    #[test]
    fn errors_name_the_line() {
        let e = DbdConf::parse("DbdPort=6819\nnonsense\n", "x.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.conf:2: expected Key=Value, found \"nonsense\""
        );
        let e = DbdConf::parse("DbdPort=99999\n", "x.conf").unwrap_err();
        assert_eq!(e.to_string(), "x.conf:1: DbdPort=99999: not a port number");
    }
}
