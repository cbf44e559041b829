//! Helpers of the HTTPS tests: an in-process emulator on port 0 and a reqwest client that trusts its CA.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentpool_emulator::{Config, Emulator, ReadyInfo};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

pub const RG_API: &str = "2024-07-01";
pub const STORAGE_API: &str = "2023-05-01";
pub const MSI_API: &str = "2023-01-31";
pub const AUTHZ_API: &str = "2022-04-01";
pub const GALLERY_API: &str = "2024-03-03";

/// Removes test directories (left in place when a test fails before, for inspection).
pub fn cleanup(dirs: &[&std::path::Path]) {
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agentpool-emulator-test-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// An HTTPS client trusting `ca_file` only; `h2` offers HTTP/2 through ALPN, else HTTP/1.1 only.
pub fn client(ca_file: &std::path::Path, h2: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca_file).expect("ca.pem")).expect("CA accepted");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = if h2 { vec![b"h2".to_vec(), b"http/1.1".to_vec()] } else { vec![b"http/1.1".to_vec()] };
    let builder = reqwest::Client::builder().tls_backend_preconfigured(tls).timeout(Duration::from_secs(20));
    let builder = if h2 { builder } else { builder.http1_only() };
    builder.build().expect("client")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii header").to_string())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A running emulator plus an authenticated client.
pub struct Harness {
    pub emulator: Emulator,
    pub http: reqwest::Client,
    pub token: String,
}

impl Harness {
    /// Starts an emulator with `config` (state dir: a new temp dir) and gets an ARM token.
    pub async fn start(config: Config) -> Harness {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let http = client(&emulator.ready().ca_file, true);
        let mut h = Harness { emulator, http, token: String::new() };
        h.token = h.token_for("https://management.azure.com/.default").await;
        h
    }

    pub async fn default() -> Harness {
        Harness::start(Config::for_tests()).await
    }

    pub fn ready(&self) -> &ReadyInfo {
        self.emulator.ready()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ready().arm_endpoint)
    }

    /// `/subscriptions/{sub}` + `rest`.
    pub fn sub(&self, rest: &str) -> String {
        format!("/subscriptions/{}{rest}", self.ready().subscription_id)
    }

    pub async fn token_for(&self, scope: &str) -> String {
        let r = self.token_request(&self.ready().client_secret.clone(), scope).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["access_token"].as_str().expect("access_token").to_string()
    }

    pub async fn token_request(&self, secret: &str, scope: &str) -> Reply {
        let ready = self.ready();
        let url = format!("{}/{}/oauth2/v2.0/token", ready.authority_host, ready.tenant_id);
        let form = [
            ("client_id", ready.client_id.as_str()),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ];
        let response = self.http.post(url).form(&form).send().await.expect("token request");
        read(response).await
    }

    /// An ARM call with the harness token; `path` may hold a query (`api-version`).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_with(method, &self.url(path), body, Some(&self.token)).await
    }

    pub async fn call_with(&self, method: Method, url: &str, body: Option<Value>, token: Option<&str>) -> Reply {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// GETs an absolute URL (poll) with the token.
    pub async fn get_url(&self, url: &str) -> Reply {
        self.call_with(Method::GET, url, None, Some(&self.token)).await
    }

    /// Polls an `Azure-AsyncOperation` URL until a terminal status; returns the last body.
    pub async fn wait_async_operation(&self, url: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.get_url(url).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            let status = r.body["status"].as_str().expect("status").to_string();
            if status != "InProgress" {
                return r.body;
            }
            assert_eq!(r.header("retry-after").as_deref(), Some("1"));
            assert!(Instant::now() < deadline, "operation never ended");
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    /// Polls a `Location` URL until it stops answering 202; returns the final reply.
    pub async fn wait_location(&self, url: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.get_url(url).await;
            if r.status != StatusCode::ACCEPTED {
                return r;
            }
            assert_eq!(r.header("retry-after").as_deref(), Some("1"));
            assert!(r.header("location").is_some());
            assert!(Instant::now() < deadline, "operation never ended");
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_with(method, &self.url(&format!("/_emulator{path}")), body, None).await
    }

    pub async fn stop(self) {
        self.emulator.shutdown().await;
    }
}

/// Reads status, headers and the JSON body (`null` when empty).
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Reply { status, headers, body }
}

/// The specs folder: `AGENTPOOL_SPECS_DIR` (relative to the workspace root) or `../shared/specs` beside the
/// workspace.
pub fn specs_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir =
        std::env::var_os("AGENTPOOL_SPECS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared/specs"));
    if dir.is_absolute() {
        dir
    } else {
        workspace.join(dir)
    }
}

/// The oav binary installed by `tests/node`.
pub fn oav() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node/node_modules/.bin/oav")
}
