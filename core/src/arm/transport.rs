//! The one HTTP client of agentpool: reqwest on rustls, wrapped as azure_core's transport, used by
//! the ARM client, the credentials and (later) the blob and Azure DevOps clients.
//!
//! It behaves like azure_core's own reqwest client (20 s connect timeout, 60 s read timeout, no
//! redirects, gzip/deflate) and adds one thing: the root certificates of [`ArmConfig::ca_file`],
//! trusted in addition to the platform's roots (for the emulator's self-generated CA).
//!
//! # Caveats
//! - Build the options once with [`client_options`] and clone them for every client: each call
//!   builds a new connection pool.
//! - TLS uses rustls with the process-wide default crypto provider when one is installed
//!   (`rustls::crypto::CryptoProvider::install_default`), else aws-lc-rs (reqwest's default, the same
//!   one azure_core's own transport uses).
//! - Proxies come from `HTTPS_PROXY`/`NO_PROXY` as reqwest reads them.
//! - A server certificate that is not trusted fails the request at once, with the fix, instead of
//!   being retried as a transport error.
//! - Platform roots are read from the system (`/etc/ssl/certs` on Linux); a system without any and
//!   without a CA file cannot build the client ([`TransportError::Build`]).
//! - Without a CA file, certificates are verified by the platform (rustls-platform-verifier). With
//!   one, rustls verifies them itself against the platform's roots and the file's: Windows'
//!   verifier takes extra roots only through a chain engine option that Wine does not honour, and
//!   the platform's revocation checks and policies do not apply to the emulator's certificates.

use super::config::{ArmConfig, ENV_CA_FILE};
use azure_core::http::{
    AsyncRawResponse, ClientOptions, ExponentialRetryOptions, HttpClient, Request, RetryOptions, Transport,
};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The CA file cannot be read.
    #[error("cannot read the CA file {path} ({ENV_CA_FILE}): {source}")]
    ReadCaFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The CA file holds no usable PEM certificate.
    #[error("the CA file {path} ({ENV_CA_FILE}) holds no PEM certificate ({reason}); give the emulator's ca.pem")]
    InvalidCaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// reqwest refused the configuration (e.g. no root certificates on this system).
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// Reads every certificate of a PEM bundle.
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let pem = std::fs::read(path).map_err(|source| TransportError::ReadCaFile { path: path.to_path_buf(), source })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| TransportError::InvalidCaFile { path: path.to_path_buf(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TransportError::InvalidCaFile {
            path: path.to_path_buf(),
            reason: "no BEGIN CERTIFICATE block".to_string(),
        });
    }
    Ok(certs)
}

/// The reqwest client, with the extra roots of `config.ca_file` when set.
pub fn reqwest_client(config: &ArmConfig) -> Result<reqwest::Client, TransportError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .deflate(true);
    if let Some(path) = &config.ca_file {
        builder = builder.tls_certs_only(platform_roots().into_iter().chain(load_ca_file(path)?));
    }
    builder.build().map_err(|e| TransportError::Build(error_chain(&e)))
}

/// The platform's root certificates, as rustls-native-certs reads them (the system store on
/// Windows and macOS, `/etc/ssl/certs` and `SSL_CERT_FILE` on Linux). Certificates it cannot read
/// are left out: the CA file's are trusted either way.
fn platform_roots() -> Vec<reqwest::Certificate> {
    rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok())
        .collect()
}

/// The reqwest client as azure_core's [`HttpClient`].
pub fn http_client(config: &ArmConfig) -> Result<Arc<dyn HttpClient>, TransportError> {
    Ok(Arc::new(UntrustedFailsFast(reqwest_client(config)?)))
}

/// reqwest as azure_core's transport, except that a server certificate that is not trusted is not
/// a transport error: azure_core's retry policy would send the request again for minutes, and the
/// answer would be the same.
#[derive(Debug)]
struct UntrustedFailsFast(reqwest::Client);

#[async_trait::async_trait]
impl HttpClient for UntrustedFailsFast {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        self.0.execute_request(request).await.map_err(|error| {
            if untrusted_certificate(&error) {
                azure_core::Error::with_error(
                    azure_core::error::ErrorKind::Other,
                    error,
                    "the server's certificate is not trusted",
                )
            } else {
                error
            }
        })
    }
}

/// Whether rustls refused the server's certificate somewhere in `error`'s causes.
fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        if let Some(inner) = cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if untrusted_certificate(inner) {
                return true;
            }
        }
        next = cause.source();
    }
    false
}

/// azure_core's exponential retry options from our [`RetryConfig`](super::RetryConfig).
pub fn retry_options(config: &ArmConfig) -> RetryOptions {
    let retry = &config.retry;
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: to_time(retry.initial_delay),
        max_retries: retry.max_retries,
        max_total_elapsed: to_time(retry.max_elapsed),
        max_delay: to_time(retry.max_delay),
    })
}

/// Client options for any azure_core-based client (ARM, identity, blob, Azure DevOps): our transport
/// and our retry policy. Build once and clone.
pub fn client_options(config: &ArmConfig) -> Result<ClientOptions, TransportError> {
    Ok(client_options_with(config, Transport::new(http_client(config)?)))
}

/// Client options over a given transport (tests pass a scripted one).
pub fn client_options_with(config: &ArmConfig, transport: Transport) -> ClientOptions {
    ClientOptions { transport: Some(transport), retry: retry_options(config), ..Default::default() }
}

pub(crate) fn to_time(d: Duration) -> azure_core::time::Duration {
    azure_core::time::Duration::try_from(d).unwrap_or(azure_core::time::Duration::MAX)
}

/// An error and its causes on one line, without the wrappers that only repeat what happened
/// (azure_core's retry notes, reqwest's "error sending request for url (…)").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    const NOISE: [&str; 4] = [
        "retry policy expired and the request will no longer be retried",
        "non-transport error occurred which will not be retried",
        "failed to execute `reqwest` request",
        "error sending request for url",
    ];
    let mut all = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !all.iter().any(|seen: &String| seen.contains(&text)) {
            all.push(text);
        }
        next = cause.source();
    }
    let kept: Vec<&String> = all.iter().filter(|text| !NOISE.iter().any(|noise| text.starts_with(noise))).collect();
    let mut text =
        if kept.is_empty() { all.join(": ") } else { kept.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(": ") };
    if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        text.push_str(&format!(" (for the emulator, set {ENV_CA_FILE} to its CA certificate)"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::{
        test_support::{StaticToken, TestCa},
        ArmConfig,
    };

    #[test]
    fn loads_every_certificate_of_a_pem_bundle() {
        let dir = tempdir("bundle");
        let one = TestCa::new("agentpool test root 1");
        let two = TestCa::new("agentpool test root 2");
        let path = dir.join("ca.pem");
        std::fs::write(&path, format!("{}{}", one.cert_pem, two.cert_pem)).unwrap();
        assert_eq!(load_ca_file(&path).unwrap().len(), 2);
        let config = ArmConfig::new().with_ca_file(&path);
        reqwest_client(&config).unwrap();
        client_options(&config).unwrap();
    }

    #[test]
    fn missing_or_empty_ca_file_names_the_variable() {
        let dir = tempdir("missing");
        let err = load_ca_file(&dir.join("nope.pem")).unwrap_err();
        assert!(matches!(err, TransportError::ReadCaFile { .. }));
        assert!(err.to_string().contains("AGENTPOOL_CA_FILE"), "{err}");

        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = load_ca_file(&path).unwrap_err();
        assert!(matches!(err, TransportError::InvalidCaFile { .. }), "{err}");
    }

    /// A one-page HTTPS server on 127.0.0.1 whose certificate is signed by `ca`; answers every
    /// request with the resource group of CreateResourceGroup.json.
    async fn https_server(ca: &TestCa) -> (u16, Arc<std::sync::atomic::AtomicUsize>, tokio::task::JoinHandle<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio_rustls::rustls::{
            self,
            pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
        };
        let (cert, key) = ca.server_cert(&["127.0.0.1", "localhost"]);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(cert)], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = r#"{"id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-resource-group","name":"my-resource-group","location":"eastus","properties":{"provisioningState":"Succeeded"}}"#;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (port, connections, task)
    }

    #[tokio::test]
    async fn the_extra_ca_is_trusted_only_when_given() {
        let ca = TestCa::new("agentpool emulator test CA");
        let (port, connections, server) = https_server(&ca).await;
        let dir = tempdir("tls");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, &ca.cert_pem).unwrap();
        let rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/my-resource-group";
        let config = ArmConfig::new()
            .with_endpoint(&format!("https://127.0.0.1:{port}"))
            .unwrap()
            .with_retry(crate::arm::RetryConfig { max_retries: 3, ..crate::arm::RetryConfig::fast() });

        let trusted =
            crate::arm::ArmClient::new(&config.clone().with_ca_file(&ca_file), Arc::new(StaticToken)).unwrap();
        let group = trusted.get(rg, "2024-07-01").await.unwrap().unwrap();
        assert_eq!(group["name"], "my-resource-group");

        let untrusted = crate::arm::ArmClient::new(&config, Arc::new(StaticToken)).unwrap();
        let before = connections.load(std::sync::atomic::Ordering::SeqCst);
        let err = untrusted.get(rg, "2024-07-01").await.unwrap_err();
        // Refused once, not retried: the certificate would be refused again.
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst) - before, 1);
        assert!(matches!(err, crate::arm::ArmError::Transport { .. }), "{err:?}");
        assert!(
            err.to_string().ends_with(
                "no answer from Azure: the server's certificate is not trusted: client error (Connect): invalid peer certificate: UnknownIssuer (for the emulator, set AGENTPOOL_CA_FILE to its CA certificate)"
            ),
            "{err}"
        );
        server.abort();
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("agentpool-arm-transport-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
