//! The blob service behind emulated storage accounts: a container created through Resource
//! Manager is also created in the blob endpoint the account reports (Azurite), as Azure does, so
//! clients can upload into it at once.
//!
//! The emulator calls the blob service with a storage token it issues itself (Azurite's
//! `--oauth basic` checks issuer, audience and lifetime, not the signature) and trusts the CA in
//! `--blob-ca-file`, by default its own (Azurite started with the emulator's `server.pem`).
//!
//! Emulated services that use blobs themselves (Image Builder reading customizer scripts and writing its
//! `customization.log`) go through [`read_blob`] / [`write_blob`] / [`ensure_container`]: the blob
//! service when there is one, else [`MemoryBlobs`] (`--no-blob-service`, in-process tests), which the
//! admin routes `/_emulator/blobs/...` read and fill.
//!
//! Caveat: deleting a container through Resource Manager leaves the blob container in place.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::app::App;

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
    /// The blob service answered an error status.
    #[error("{method} {url}: {status} {message}")]
    Status { method: &'static str, url: String, status: u16, message: String },
}

/// The `x-ms-version` sent to the blob service.
const BLOB_API_VERSION: &str = "2021-10-04";

/// An HTTPS client for the blob service.
#[derive(Debug, Clone)]
pub struct BlobDataPlane {
    client: reqwest::Client,
}

/// Tries of a container creation whose request did not get through.
const SEND_ATTEMPTS: u32 = 3;

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
        // Creating a container is idempotent: a request that did not get through (a pooled
        // connection the blob service closed meanwhile) is sent again, as a storage client does.
        let mut attempt = 1;
        let response = loop {
            let sent = self
                .client
                .put(&url)
                .bearer_auth(token)
                .header("x-ms-version", BLOB_API_VERSION)
                .header("content-length", "0")
                .send()
                .await;
            match sent {
                Err(e) if attempt < SEND_ATTEMPTS && (e.is_connect() || e.is_request()) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => {
                    break other.map_err(|e| DataPlaneError::Request { url: url.clone(), message: e.to_string() })?
                }
            }
        };
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::CONFLICT {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(DataPlaneError::Request { url, message: format!("{status}: {}", body.lines().take(3).collect::<String>()) })
    }
}

impl BlobDataPlane {
    /// The content of the blob at `url`; `None` when the blob or its container does not exist (404).
    pub async fn get_blob(&self, url: &str, token: &str) -> Result<Option<Vec<u8>>, DataPlaneError> {
        let response = self
            .client
            .get(url)
            .bearer_auth(token)
            .header("x-ms-version", BLOB_API_VERSION)
            .send()
            .await
            .map_err(|e| DataPlaneError::Request { url: url.to_string(), message: e.to_string() })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(status_error("GET", url, response).await);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| DataPlaneError::Request { url: url.to_string(), message: e.to_string() })?;
        Ok(Some(bytes.to_vec()))
    }

    /// Uploads `content` as the block blob at `url` (replacing it).
    pub async fn put_blob(&self, url: &str, content: Vec<u8>, token: &str) -> Result<(), DataPlaneError> {
        let response = self
            .client
            .put(url)
            .bearer_auth(token)
            .header("x-ms-version", BLOB_API_VERSION)
            .header("x-ms-blob-type", "BlockBlob")
            .header("content-type", "text/plain; charset=utf-8")
            .body(content)
            .send()
            .await
            .map_err(|e| DataPlaneError::Request { url: url.to_string(), message: e.to_string() })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(status_error("PUT", url, response).await)
        }
    }
}

async fn status_error(method: &'static str, url: &str, response: reqwest::Response) -> DataPlaneError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let code = body.split("<Code>").nth(1).and_then(|rest| rest.split("</Code>").next()).unwrap_or_default();
    DataPlaneError::Status { method, url: url.to_string(), status, message: code.to_string() }
}

/// Blobs kept in memory, by URL (without query), when there is no blob service.
#[derive(Debug, Default)]
pub struct MemoryBlobs {
    blobs: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryBlobs {
    fn key(url: &str) -> String {
        url.split(['?', '#']).next().unwrap_or_default().to_string()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.blobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The blob at `url`.
    pub fn get(&self, url: &str) -> Option<Vec<u8>> {
        self.lock().get(&Self::key(url)).cloned()
    }

    /// Stores (replaces) the blob at `url`.
    pub fn put(&self, url: &str, content: Vec<u8>) {
        self.lock().insert(Self::key(url), content);
    }

    /// Removes the blob at `url`; whether it was there.
    pub fn remove(&self, url: &str) -> bool {
        self.lock().remove(&Self::key(url)).is_some()
    }
}

/// A storage token (`https://storage.azure.com`) for `client_id`, issued by the emulator.
fn storage_token(app: &App, client_id: &str) -> String {
    app.tokens.issue(client_id, "https://storage.azure.com", OffsetDateTime::now_utc().unix_timestamp()).0
}

/// Reads the blob at `url` as `client_id` would: through the blob service, or from memory without one.
pub async fn read_blob(app: &App, url: &str, client_id: &str) -> Result<Option<Vec<u8>>, DataPlaneError> {
    match &app.blob {
        Some(blob) => blob.get_blob(url, &storage_token(app, client_id)).await,
        None => Ok(app.memory_blobs.get(url)),
    }
}

/// Writes the block blob at `url` as `client_id` would: through the blob service, or into memory.
pub async fn write_blob(app: &App, url: &str, content: Vec<u8>, client_id: &str) -> Result<(), DataPlaneError> {
    match &app.blob {
        Some(blob) => blob.put_blob(url, content, &storage_token(app, client_id)).await,
        None => {
            app.memory_blobs.put(url, content);
            Ok(())
        }
    }
}

/// Creates `container` under `blob_endpoint` in the blob service (nothing to do in memory).
pub async fn ensure_container(app: &App, blob_endpoint: &str, container: &str) -> Result<(), DataPlaneError> {
    match &app.blob {
        Some(blob) => blob.create_container(blob_endpoint, container, &storage_token(app, &app.config.client_id)).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_blobs_by_url() {
        let m = MemoryBlobs::default();
        m.put("https://h/acc/c/b.sh?sv=1", b"echo hi".to_vec());
        assert_eq!(m.get("https://h/acc/c/b.sh"), Some(b"echo hi".to_vec()));
        assert!(m.remove("https://h/acc/c/b.sh"));
        assert_eq!(m.get("https://h/acc/c/b.sh"), None);
    }
}
