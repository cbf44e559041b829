//! The shared application state every handler sees.

use axum::http::{HeaderMap, Uri};

use crate::admin::RequestCounter;
use crate::arm::kind::Registry;
use crate::config::Config;
use crate::devops::oidc::OidcIssuer;
use crate::entra::directory::Directory;
use crate::entra::TokenIssuer;
use crate::faults::FaultInjector;
use crate::state::SharedState;
use crate::traffic::TrafficRecorder;

/// Everything the routes share.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    /// `https://host:port` of the listener, used when a request names no host.
    pub endpoint: String,
    pub state: SharedState,
    pub tokens: TokenIssuer,
    /// Entra's applications and their credentials, and what the token endpoint issued.
    pub directory: Directory,
    /// Azure DevOps' OIDC tokens of the pipeline job.
    pub oidc: OidcIssuer,
    pub faults: FaultInjector,
    pub traffic: Option<TrafficRecorder>,
    pub requests: RequestCounter,
    pub registry: Registry,
    /// The blob service behind storage accounts; `None` in unit tests.
    pub blob: Option<crate::blob_data_plane::BlobDataPlane>,
    /// Blobs of emulated services when there is no blob service.
    pub memory_blobs: crate::blob_data_plane::MemoryBlobs,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds().iter().map(|k| k.info().name)).finish()
    }
}

#[cfg(test)]
impl App {
    /// Test configuration, no files, the given kinds.
    pub fn for_tests(registry: Registry) -> App {
        let config = Config::for_tests();
        App {
            endpoint: "https://127.0.0.1:1".into(),
            state: SharedState::open(None).expect("no state file"),
            tokens: TokenIssuer::new(&config.tenant_id, 3600),
            directory: Directory::with_client(&config.client_id, &config.client_secret),
            oidc: OidcIssuer::new(config.devops.oidc_token_lifetime_secs),
            faults: FaultInjector::new(config.faults.clone()).expect("default faults"),
            traffic: None,
            requests: RequestCounter::default(),
            registry,
            blob: None,
            memory_blobs: Default::default(),
            config,
        }
    }
}

/// `https://{host}` as the client addressed us (HTTP/2 `:authority`, else `Host`, else `fallback`), so
/// that `Location`, `Azure-AsyncOperation` and `nextLink` URLs stay on the client's host, as ARM does.
pub fn base_url(uri: &Uri, headers: &HeaderMap, fallback: &str) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string));
    match host {
        Some(h) if !h.is_empty() => format!("https://{h}"),
        _ => fallback.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_prefers_authority_then_host() {
        let mut headers = HeaderMap::new();
        let uri: Uri = "/x".parse().unwrap();
        assert_eq!(base_url(&uri, &headers, "https://127.0.0.1:1"), "https://127.0.0.1:1");
        headers.insert("host", "localhost:5".parse().unwrap());
        assert_eq!(base_url(&uri, &headers, "https://127.0.0.1:1"), "https://localhost:5");
        let uri: Uri = "https://127.0.0.1:7/x".parse().unwrap();
        assert_eq!(base_url(&uri, &headers, "https://127.0.0.1:1"), "https://127.0.0.1:7");
    }
}
