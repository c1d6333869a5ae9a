//! TLS material: the self-signed certificate of `SDMD_TLS=auto` (generated once into
//! `<data dir>/tls/`), certificate files of `SDMD_TLS=files`, and their SHA-256 fingerprints.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::config::{ServeConfig, TlsMode};

/// Where `auto` keeps its certificate and key, relative to the data dir.
pub const AUTO_DIR: &str = "tls";
/// File name of the self-signed certificate (clients may pin or trust it).
pub const CERT_FILE: &str = "cert.pem";
/// File name of its private key (mode 0600).
pub const KEY_FILE: &str = "key.pem";

/// Installs rustls's ring provider as the process default (idempotent).
pub fn install_crypto_provider() {
    // Err only means a provider is installed already, which is what we want.
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        tracing::debug!("a rustls crypto provider was already installed");
    }
}

/// The certificate and key files to serve, or None with `SDMD_TLS=off`.
pub fn material(cfg: &ServeConfig) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
    match cfg.tls {
        TlsMode::Off => Ok(None),
        TlsMode::Files => {
            let (Some(cert), Some(key)) = (&cfg.tls_cert, &cfg.tls_key) else {
                bail!("SDMD_TLS=files needs SDMD_TLS_CERT and SDMD_TLS_KEY");
            };
            Ok(Some((cert.clone(), key.clone())))
        }
        TlsMode::Auto => {
            let names = subject_names(cfg);
            ensure_self_signed(&cfg.data_dir.join(AUTO_DIR), &names).map(Some)
        }
    }
}

fn subject_names(cfg: &ServeConfig) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            names.push(h.to_owned());
        }
    }
    let ip = cfg.listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    names.dedup();
    names
}

/// Creates `dir/cert.pem` + `dir/key.pem` once (a P-256 self-signed certificate for `names`) and
/// returns their paths; an existing pair is kept so the fingerprint clients pinned stays valid.
pub fn ensure_self_signed(dir: &Path, names: &[String]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .context("generating the TLS key")?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).context("certificate names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sdmd self-signed");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "SDMD");
    let cert = params
        .self_signed(&key)
        .context("signing the certificate")?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    tracing::info!(cert = %cert_path.display(), "created a self-signed TLS certificate");
    Ok((cert_path, key_path))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// The SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex.
pub fn fingerprint(cert_pem: &Path) -> anyhow::Result<String> {
    let der = CertificateDer::pem_file_iter(cert_pem)
        .with_context(|| format!("reading {}", cert_pem.display()))?
        .next()
        .with_context(|| format!("{} holds no certificate", cert_pem.display()))?
        .with_context(|| format!("parsing {}", cert_pem.display()))?;
    let digest = Sha256::digest(der.as_ref());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}
