//! gRPC over TLS (rustls) for traffic that leaves a host, configured the way Slurm 25.05
//! configures its TLS: `TLSType` and `TLSParameters` in slurm.conf (and slurmdbd.conf).
//!
//! ```text
//! TLSType=tls/rustls           # or tls/s2n, Slurm's plugin name, as an alias; default tls/none
//! TLSParameters=ca_cert_file=/etc/slurm/tls/ca_cert.pem,ctld_cert_file=...,ctld_cert_key_file=...,dbd_cert_file=...,dbd_cert_key_file=...
//! ```
//!
//! * The controller serves with `ctld_cert_file`/`ctld_cert_key_file`, the dbd with
//!   `dbd_cert_file`/`dbd_cert_key_file` (PEM: the certificate chain, then a PKCS#8, PKCS#1
//!   or SEC1 key). Each needs only its own pair; in Kubernetes they come from a Secret mount.
//! * Every client (commands, agents, the controller's queue to the dbd, sacct) trusts
//!   `ca_cert_file` alone and checks that the server's certificate names the host it dialed
//!   (`SlurmctldHost`'s address, `AccountingStorageHost`): a DNS name or an IP address SAN.
//! * Defaults are Slurm's file names in `/etc/slurm`: `ca_cert.pem`, `ctld_cert.pem`,
//!   `ctld_cert_key.pem`, `dbd_cert.pem`, `dbd_cert_key.pem`. Options slinky does not know
//!   are ignored, as Slurm ignores those of other plugins.
//! * `tls/none` (the default, and what `slinky up` runs on loopback) is plain HTTP/2.
//!
//! TLS only protects the channel: who the caller is still comes from its signed credential
//! (see `crate::auth`), so agents need no client certificate.
//!
//! rustls needs one process-wide crypto provider; [`install_crypto_provider`] installs ring's
//! (every binary calls it first thing; the builders here call it too).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use tokio_rustls::TlsAcceptor;

/// The TLSType values slinky understands.
pub const TLS_NONE: &str = "tls/none";
pub const TLS_RUSTLS: &str = "tls/rustls";
/// Slurm's TLS plugin: accepted as an alias (the same settings, served by rustls).
pub const TLS_S2N: &str = "tls/s2n";

/// Where Slurm looks for its TLS files when TLSParameters names none.
pub const DEFAULT_TLS_DIR: &str = "/etc/slurm";

/// How long a server waits for a client's TLS handshake.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The daemons that serve TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Slurmctld,
    Slurmdbd,
}

impl Daemon {
    pub fn name(self) -> &'static str {
        match self {
            Self::Slurmctld => "slurmctld",
            Self::Slurmdbd => "slurmdbd",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "TLSType={0} is not supported (slinky implements tls/rustls, tls/s2n as its alias, and tls/none)"
    )]
    UnsupportedType(String),
    #[error("TLS: cannot read the {what} {path}: {source}", path = .path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: the {what} {path} holds no PEM certificate", path = .path.display())]
    NoCertificate { what: &'static str, path: PathBuf },
    #[error("TLS: the key file {path} holds no PEM private key ({message})", path = .path.display())]
    NoKey { path: PathBuf, message: String },
    #[error(
        "TLS: the certificate {cert} and key {key} do not make a server identity: {message}",
        cert = .cert.display(),
        key = .key.display()
    )]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("TLS: {0}")]
    Config(String),
}

/// Whether (and how) a cluster's gRPC traffic is encrypted, from `TLSType`/`TLSParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// `tls/none`: plain HTTP/2.
    #[default]
    Off,
    On(TlsSettings),
}

/// The certificate files (`TLSParameters`, with Slurm's option names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The CA every client trusts.
    pub ca_cert_file: PathBuf,
    pub ctld_cert_file: PathBuf,
    pub ctld_cert_key_file: PathBuf,
    pub dbd_cert_file: PathBuf,
    pub dbd_cert_key_file: PathBuf,
}

impl Default for TlsSettings {
    fn default() -> Self {
        let at = |name: &str| Path::new(DEFAULT_TLS_DIR).join(name);
        Self {
            ca_cert_file: at("ca_cert.pem"),
            ctld_cert_file: at("ctld_cert.pem"),
            ctld_cert_key_file: at("ctld_cert_key.pem"),
            dbd_cert_file: at("dbd_cert.pem"),
            dbd_cert_key_file: at("dbd_cert_key.pem"),
        }
    }
}

impl TlsMode {
    /// The mode a cluster's slurm.conf asks for.
    pub fn from_config(cluster: &crate::config::ClusterConfig) -> Result<Self, TlsError> {
        Self::parse(&cluster.tls_type, cluster.tls_parameters.as_deref())
    }

    pub fn parse(tls_type: &str, parameters: Option<&str>) -> Result<Self, TlsError> {
        match tls_type.trim().to_ascii_lowercase().as_str() {
            TLS_NONE | "" => Ok(Self::Off),
            TLS_RUSTLS | TLS_S2N => Ok(Self::On(TlsSettings::parse(parameters.unwrap_or("")))),
            _ => Err(TlsError::UnsupportedType(tls_type.to_owned())),
        }
    }

    pub fn settings(&self) -> Option<&TlsSettings> {
        match self {
            Self::Off => None,
            Self::On(s) => Some(s),
        }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Off => "http",
            Self::On(_) => "https",
        }
    }

    /// The acceptor `daemon` serves with (loads and checks its certificate and key), or
    /// `None` when TLS is off.
    pub fn acceptor(&self, daemon: Daemon) -> Result<Option<TlsAcceptor>, TlsError> {
        self.settings().map(|s| s.acceptor(daemon)).transpose()
    }
}

impl TlsSettings {
    /// Parses `ca_cert_file=PATH,ctld_cert_file=PATH,...` (any order, any subset).
    pub fn parse(parameters: &str) -> Self {
        let mut settings = Self::default();
        for option in parameters
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            let value = PathBuf::from(value.trim());
            match name.trim().to_ascii_lowercase().as_str() {
                "ca_cert_file" => settings.ca_cert_file = value,
                "ctld_cert_file" => settings.ctld_cert_file = value,
                "ctld_cert_key_file" => settings.ctld_cert_key_file = value,
                "dbd_cert_file" => settings.dbd_cert_file = value,
                "dbd_cert_key_file" => settings.dbd_cert_key_file = value,
                _ => {}
            }
        }
        settings
    }

    /// The `TLSParameters` value that describes these settings.
    pub fn render(&self) -> String {
        format!(
            "ca_cert_file={},ctld_cert_file={},ctld_cert_key_file={},dbd_cert_file={},dbd_cert_key_file={}",
            self.ca_cert_file.display(),
            self.ctld_cert_file.display(),
            self.ctld_cert_key_file.display(),
            self.dbd_cert_file.display(),
            self.dbd_cert_key_file.display()
        )
    }

    /// The certificate and key files of `daemon`.
    pub fn identity_files(&self, daemon: Daemon) -> (&Path, &Path) {
        match daemon {
            Daemon::Slurmctld => (&self.ctld_cert_file, &self.ctld_cert_key_file),
            Daemon::Slurmdbd => (&self.dbd_cert_file, &self.dbd_cert_key_file),
        }
    }

    /// The server side of `daemon`: its certificate chain and key, HTTP/2 by ALPN, no
    /// client certificates (callers prove who they are with their credentials).
    pub fn acceptor(&self, daemon: Daemon) -> Result<TlsAcceptor, TlsError> {
        let (cert_path, key_path) = self.identity_files(daemon);
        let certs = read_certificates(cert_path, "certificate")?;
        let key_pem = read(key_path, "key file")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
            path: key_path.to_owned(),
            message: e.to_string(),
        })?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Identity {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
                message: e.to_string(),
            })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// The client side towards `host` (the name or address dialed, which the server's
    /// certificate must name): trusts `ca_cert_file` only.
    pub fn client(&self, host: &str) -> Result<tonic::transport::ClientTlsConfig, TlsError> {
        install_crypto_provider();
        // Checked here, so that a bad CA file is named instead of failing every handshake.
        read_certificates(&self.ca_cert_file, "CA certificate")?;
        let pem = read(&self.ca_cert_file, "CA certificate")?;
        Ok(tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(pem))
            .domain_name(host.trim_start_matches('[').trim_end_matches(']')))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn read_certificates(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, what)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The process's crypto provider (ring's unless another was installed first).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    install_crypto_provider();
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Installs ring as rustls's process-wide crypto provider, unless one is installed already.
/// rustls panics when it must pick a provider itself and finds more than one enabled (ring
/// and aws-lc-rs may both be compiled in through dependencies), so every binary calls this
/// before anything else.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is in place.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// If `error` (or anything in its source chain) is a TLS failure, what went wrong, with a
/// hint for the usual misconfigurations.
pub fn handshake_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = tls {
            let hint = match tls {
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                    " (the server's certificate is not signed by the CA in TLSParameters ca_cert_file)"
                }
                rustls::Error::InvalidMessage(_) => " (does the server speak TLS? see TLSType)",
                _ => "",
            };
            return Some(format!("{tls}{hint}"));
        }
        current = e.source();
    }
    None
}

/// What a server adds to a failed handshake's log line, for the usual causes.
pub fn server_side_hint(error: &std::io::Error) -> &'static str {
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidMessage(_)) => {
            " (a client that does not speak TLS? its slurm.conf needs TLSType)"
        }
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::UnknownCA | rustls::AlertDescription::BadCertificate,
        )) => " (the client does not trust this certificate: is its ca_cert_file this CA?)",
        _ => "",
    }
}

/// The address a client dials, as `https://HOST:PORT` or `http://HOST:PORT` (an IPv6
/// address in brackets).
pub fn uri(mode: &TlsMode, host: &str, port: u16) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("{}://{host}:{port}", mode.scheme())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_config() {
        assert_eq!(TlsMode::parse("tls/none", None).unwrap(), TlsMode::Off);
        assert_eq!(
            TlsMode::parse("", Some("ca_cert_file=/x")).unwrap(),
            TlsMode::Off
        );
        let m = TlsMode::parse("tls/s2n", None).unwrap();
        assert_eq!(m, TlsMode::On(TlsSettings::default()));
        assert_eq!(
            m.settings().unwrap().ca_cert_file,
            Path::new("/etc/slurm/ca_cert.pem")
        );
        let m = TlsMode::parse(
            "TLS/RUSTLS",
            Some("ca_cert_file=/t/ca.pem, dbd_cert_file=/t/d.pem,dbd_cert_key_file=/t/dk.pem,load_certs_from_certmgr"),
        )
        .unwrap();
        let s = m.settings().unwrap();
        assert_eq!(s.ca_cert_file, Path::new("/t/ca.pem"));
        assert_eq!(
            s.identity_files(Daemon::Slurmdbd),
            (Path::new("/t/d.pem"), Path::new("/t/dk.pem"))
        );
        assert_eq!(
            s.identity_files(Daemon::Slurmctld).0,
            Path::new("/etc/slurm/ctld_cert.pem")
        );
        assert_eq!(TlsSettings::parse(&s.render()), *s);
        assert!(matches!(
            TlsMode::parse("tls/openssl", None),
            Err(TlsError::UnsupportedType(_))
        ));
        assert_eq!(uri(&m, "::1", 7), "https://[::1]:7");
        assert_eq!(uri(&TlsMode::Off, "h", 7), "http://h:7");
    }

    fn write_identity(dir: &Path) -> TlsSettings {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let s = TlsSettings::parse(&format!(
            "ca_cert_file={d}/ca.pem,ctld_cert_file={d}/c.pem,ctld_cert_key_file={d}/ck.pem",
            d = dir.display()
        ));
        std::fs::write(&s.ca_cert_file, ca_cert.pem()).unwrap();
        std::fs::write(&s.ctld_cert_file, cert.pem()).unwrap();
        std::fs::write(&s.ctld_cert_key_file, key.serialize_pem()).unwrap();
        s
    }

    #[test]
    fn identities_and_trust_are_loaded_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_identity(dir.path());
        assert!(s.acceptor(Daemon::Slurmctld).is_ok());
        assert!(s.client("localhost").is_ok());
        // The dbd's files are not there.
        let Err(e) = s.acceptor(Daemon::Slurmdbd) else {
            panic!("the dbd has no certificate")
        };
        assert!(
            e.to_string()
                .starts_with("TLS: cannot read the certificate /etc/slurm/dbd_cert.pem:"),
            "{e}"
        );
        // A key where the certificate should be, and a certificate as the key.
        let swapped = TlsSettings {
            ctld_cert_file: s.ctld_cert_key_file.clone(),
            ..s.clone()
        };
        let Err(e) = swapped.acceptor(Daemon::Slurmctld) else {
            panic!("a swapped identity was accepted")
        };
        assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
        let swapped = TlsSettings {
            ctld_cert_key_file: s.ctld_cert_file.clone(),
            ..s.clone()
        };
        let Err(e) = swapped.acceptor(Daemon::Slurmctld) else {
            panic!("a swapped identity was accepted")
        };
        assert!(matches!(e, TlsError::NoKey { .. }), "{e}");
        let e = TlsSettings {
            ca_cert_file: s.ctld_cert_key_file.clone(),
            ..s
        }
        .client("localhost")
        .unwrap_err();
        assert!(e.to_string().contains("CA certificate"), "{e}");
    }
}
