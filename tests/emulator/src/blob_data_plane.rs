//! The blob service behind emulated storage accounts: a container created through Resource
//! Manager is also created in the blob endpoint the account reports (Azurite), as Azure does, so
//! clients can upload into it at once.
//!
//! The emulator calls the blob service with a storage token it issues itself (Azurite's
//! `--oauth basic` checks issuer, audience and lifetime, not the signature) and trusts the CA in
//! `--blob-ca-file`, by default its own (Azurite started with the emulator's `server.pem`).
//!
//! Caveat: deleting a container through Resource Manager leaves the blob container in place.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// Why the blob service could not be reached or refused.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    #[error("cannot read the blob service CA {path}: {message}")]
    Ca { path: String, message: String },
    #[error("cannot build the blob service client: {0}")]
    Client(String),
    #[error("PUT {url}: {message}")]
    Request { url: String, message: String },
}

/// An HTTPS client for the blob service.
#[derive(Debug, Clone)]
pub struct BlobDataPlane {
    client: reqwest::Client,
}

impl BlobDataPlane {
    /// A client trusting the certificates in `ca_file` only.
    pub fn new(ca_file: &Path) -> Result<Self, DataPlaneError> {
        let ca_error = |message: String| DataPlaneError::Ca { path: ca_file.display().to_string(), message };
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_file_iter(ca_file).map_err(|e| ca_error(e.to_string()))? {
            roots.add(certificate.map_err(|e| ca_error(e.to_string()))?).map_err(|e| ca_error(e.to_string()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| DataPlaneError::Client(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .http1_only()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| DataPlaneError::Client(e.to_string()))?;
        Ok(Self { client })
    }

    /// Creates `container` under `blob_endpoint` (`https://host:port/account/`); an existing
    /// container is fine.
    pub async fn create_container(
        &self,
        blob_endpoint: &str,
        container: &str,
        token: &str,
    ) -> Result<(), DataPlaneError> {
        let url = format!("{}/{container}?restype=container", blob_endpoint.trim_end_matches('/'));
        let response = self
            .client
            .put(&url)
            .bearer_auth(token)
            .header("x-ms-version", "2021-10-04")
            .header("content-length", "0")
            .send()
            .await
            .map_err(|e| DataPlaneError::Request { url: url.clone(), message: e.to_string() })?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::CONFLICT {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(DataPlaneError::Request { url, message: format!("{status}: {}", body.lines().take(3).collect::<String>()) })
    }
}
