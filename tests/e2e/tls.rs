//! gRPC over TLS with real processes: a CA and certificates made here (rcgen), a controller
//! and a dbd that serve TLS on 127.0.0.1, commands, an agent and the controller's accounting
//! queue that trust the CA; clients that do not trust it, or do not speak TLS, are refused
//! with a clear error and the refusal is logged with the peer's address.

use crate::accounting::{Dbd, dbd_dir};
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// A CA and the controller's and the dbd's certificates for localhost and 127.0.0.1, as PEM
/// files in `dir`; returns the slurm.conf lines that use them.
fn make_pki(dir: &Path) -> String {
    let ca = Ca::new("slinky test CA");
    std::fs::write(dir.join("ca_cert.pem"), ca.cert.pem()).unwrap();
    for daemon in ["ctld", "dbd"] {
        let (cert, key) = ca.issue(&["localhost", "127.0.0.1"]);
        std::fs::write(dir.join(format!("{daemon}_cert.pem")), cert).unwrap();
        std::fs::write(dir.join(format!("{daemon}_cert_key.pem")), key).unwrap();
    }
    format!(
        "TLSType=tls/rustls\nTLSParameters=ca_cert_file={d}/ca_cert.pem,\
         ctld_cert_file={d}/ctld_cert.pem,ctld_cert_key_file={d}/ctld_cert_key.pem,\
         dbd_cert_file={d}/dbd_cert.pem,dbd_cert_key_file={d}/dbd_cert_key.pem\n",
        d = dir.display()
    )
}

struct Ca {
    cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate for `names` and its key (PEM).
    fn issue(&self, names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// The cluster's slurm.conf with `from` replaced by `to`, written beside it as `name`.
fn variant(conf: &Path, name: &str, from: &str, to: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(conf).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    let path = conf.with_file_name(name);
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn commands_agents_and_accounting_talk_tls_and_untrusted_clients_are_refused() {
    let pki = tempfile::Builder::new()
        .prefix("slinky-e2e-pki")
        .tempdir()
        .unwrap();
    let tls = make_pki(pki.path());
    let dir = dbd_dir();
    let dbd = Dbd::start_with(dir.path(), &tls);
    // The agent registers, and the commands reach the controller, over TLS.
    let mut c = dbd.cluster_with(&tls);
    let job = c.sbatch(&["-J", "tls", "-o", "/dev/null", "--wrap", "true"]);
    c.wait_state(&job.to_string(), &["COMPLETED"], T);
    let out = c.ok(
        "squeue",
        &["-h", "-t", "all", "-j", &job.to_string(), "-o", "%j"],
    );
    assert_eq!(out.trim(), "tls");
    // The controller's queue delivers to the dbd over TLS, and sacct reads over TLS.
    let deadline = std::time::Instant::now() + T;
    loop {
        let out = c.ok(
            "sacct",
            &[
                "-X",
                "-n",
                "-P",
                "-o",
                "JobName,State",
                "-j",
                &job.to_string(),
            ],
        );
        if out == "tls|COMPLETED\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sacct: {out}\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        c.log_text("slurmctld").contains("TLS: serving with"),
        "{}",
        c.logs()
    );
    assert!(
        dbd.log_text().contains("TLS: serving with"),
        "{}",
        dbd.log_text()
    );

    // A client that trusts another CA is refused, and says why.
    let other = Ca::new("another CA");
    let other_ca = pki.path().join("other_ca.pem");
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let ca = pki.path().join("ca_cert.pem");
    let untrusting = variant(
        &c.conf,
        "untrusting.conf",
        &format!("ca_cert_file={}", ca.display()),
        &format!("ca_cert_file={}", other_ca.display()),
    );
    let out = c
        .cmd("squeue")
        .env("SLURM_CONF", &untrusting)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let port = c.controller_uri().rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        stderr(&out),
        format!(
            "squeue: error: Unable to contact slurm controller (connect failure): TLS handshake \
             with 127.0.0.1:{port} failed: invalid peer certificate: UnknownIssuer (the server's \
             certificate is not signed by the CA in TLSParameters ca_cert_file)\n"
        )
    );
    let out = c
        .cmd("sacct")
        .env("SLURM_CONF", &untrusting)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!(
            "sacct: error: Problem talking to the database: TLS handshake with 127.0.0.1:{} \
             failed: invalid peer certificate: UnknownIssuer",
            dbd.port
        )),
        "{}",
        stderr(&out)
    );
    // The controller logs the refused handshake with the peer's address.
    c.wait_log(
        "slurmctld",
        &[
            "TLS handshake from 127.0.0.1:",
            "UnknownCA",
            "the client does not trust this certificate",
        ],
        T,
    );

    // A client without TLS gets no answer; the controller says what it got.
    let plain = variant(
        &c.conf,
        "plain.conf",
        "TLSType=tls/rustls",
        "TLSType=tls/none",
    );
    let out = c.cmd("sinfo").env("SLURM_CONF", &plain).output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Unable to contact slurm controller"),
        "{}",
        stderr(&out)
    );
    c.wait_log(
        "slurmctld",
        &[
            "TLS handshake from 127.0.0.1:",
            "a client that does not speak TLS?",
        ],
        T,
    );

    // An agent that does not trust the controller's certificate does not register.
    c.kill_agent("n1");
    c.start_agent_with_conf("n1", &untrusting);
    c.wait_log(
        "slurmd-n1",
        &[
            "cannot connect to the controller: TLS handshake with 127.0.0.1:",
            "UnknownIssuer",
        ],
        T,
    );
}
