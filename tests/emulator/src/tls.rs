//! A throw-away certificate authority and server certificate, generated at every start.
//!
//! The CA (ECDSA P-256) signs one server certificate for `localhost`, `127.0.0.1` and `::1`. Three PEM
//! files are written into the state directory: `ca.pem` (what clients must be told to trust),
//! `server.pem` and `server-key.pem` (PKCS#8), which Azurite can also serve with `--cert`/`--key`.
//!
//! Caveats: the CA and its key are new at every start, so a client must re-read `ca.pem` after a restart;
//! the CA key stays in memory only. The TLS stack is rustls with the `ring` provider (no aws-lc), offering
//! HTTP/2 and HTTP/1.1 through ALPN.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

/// Errors while making or writing the certificates.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen failed to generate a key or certificate.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the generated material.
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// A PEM file could not be written.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// File names written into the state directory.
pub const CA_FILE: &str = "ca.pem";
/// Server certificate (leaf only).
pub const CERT_FILE: &str = "server.pem";
/// Server private key, PKCS#8 PEM.
pub const KEY_FILE: &str = "server-key.pem";

/// The generated CA and server certificate.
pub struct Certificates {
    /// CA certificate, PEM.
    pub ca_pem: String,
    /// Server certificate, PEM.
    pub cert_pem: String,
    /// Server key, PKCS#8 PEM.
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates").field("ca_pem", &self.ca_pem).finish_non_exhaustive()
    }
}

/// Paths of the written PEM files.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certificates {
    /// Generates a CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and `extra_ip`.
    pub fn generate(extra_ip: Option<IpAddr>) -> Result<Self, TlsError> {
        let now = time::OffsetDateTime::now_utc();

        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name = DistinguishedName::new();
        ca_params.distinguished_name.push(DnType::CommonName, "agentpool emulator CA");
        ca_params.distinguished_name.push(DnType::OrganizationName, "agentpool");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = now - time::Duration::hours(1);
        ca_params.not_after = now + time::Duration::days(365);
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;

        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let mut ips = vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
        if let Some(ip) = extra_ip.filter(|ip| !ip.is_unspecified() && !ips.contains(ip)) {
            ips.push(ip);
        }
        params.subject_alt_names.extend(ips.into_iter().map(SanType::IpAddress));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(90);
        let key = KeyPair::generate()?;
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let cert = params.signed_by(&key, &issuer)?;

        Ok(Certificates {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// Writes `ca.pem`, `server.pem` and `server-key.pem` into `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<CertificateFiles, TlsError> {
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Write { path: dir.to_path_buf(), source })?;
        let files = CertificateFiles { ca: dir.join(CA_FILE), cert: dir.join(CERT_FILE), key: dir.join(KEY_FILE) };
        for (path, content) in [(&files.ca, &self.ca_pem), (&files.cert, &self.cert_pem), (&files.key, &self.key_pem)] {
            std::fs::write(path, content).map_err(|source| TlsError::Write { path: path.clone(), source })?;
        }
        Ok(files)
    }

    /// A rustls server configuration (ring provider, ALPN h2 + http/1.1).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_and_writes_pem_files() {
        let certs = Certificates::generate(None).unwrap();
        assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let dir = std::env::temp_dir().join(format!("agentpool-emulator-tls-{}", uuid::Uuid::new_v4()));
        let files = certs.write_to(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(&files.ca).unwrap(), certs.ca_pem);
        assert!(files.cert.exists() && files.key.exists());
        certs.server_config().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn each_start_has_its_own_ca() {
        let a = Certificates::generate(None).unwrap();
        let b = Certificates::generate(None).unwrap();
        assert_ne!(a.ca_pem, b.ca_pem);
    }
}
