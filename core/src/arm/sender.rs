//! One ARM request through the azure_core pipeline (token, retries, transport), counted by method.
//!
//! The pipeline is azure_core's: its exponential retry policy retries 408/429/500/502/503/504 and
//! connection/I-O errors, waits at least the `Retry-After` of a 429/503, and the bearer-token policy
//! adds `Authorization` (refusing non-https URLs). This module only builds the request, counts it
//! and turns pipeline errors into [`ArmError`]s; HTTP error statuses are returned as responses so
//! that the caller decides what a 404 means.

use super::error::ArmError;
use azure_core::{
    credentials::TokenCredential,
    error::ErrorKind,
    http::{
        policies::{auth::BearerTokenAuthorizationPolicy, Policy},
        ClientOptions, Context, Method, Pipeline, PipelineSendOptions, RawResponse, Request, Url,
    },
    Bytes,
};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// Requests sent, by method: a cheap handle to share with whoever reports "N writes".
///
/// One logical request counts once, however often the pipeline retried it; the GETs of polling
/// and paging count as GETs.
#[derive(Debug, Clone, Default)]
pub struct RequestCounts {
    get: Arc<AtomicUsize>,
    put: Arc<AtomicUsize>,
    patch: Arc<AtomicUsize>,
    post: Arc<AtomicUsize>,
    delete: Arc<AtomicUsize>,
}

/// A snapshot of [`RequestCounts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountSnapshot {
    /// GET requests.
    pub get: usize,
    /// PUT requests.
    pub put: usize,
    /// PATCH requests.
    pub patch: usize,
    /// POST requests.
    pub post: usize,
    /// DELETE requests.
    pub delete: usize,
}

impl CountSnapshot {
    /// PUT + PATCH + POST + DELETE.
    pub fn writes(&self) -> usize {
        self.put + self.patch + self.post + self.delete
    }
}

impl RequestCounts {
    /// The counts now.
    pub fn snapshot(&self) -> CountSnapshot {
        CountSnapshot {
            get: self.get.load(Ordering::Relaxed),
            put: self.put.load(Ordering::Relaxed),
            patch: self.patch.load(Ordering::Relaxed),
            post: self.post.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
        }
    }

    /// PUT + PATCH + POST + DELETE sent so far.
    pub fn writes(&self) -> usize {
        self.snapshot().writes()
    }

    /// GETs sent so far.
    pub fn reads(&self) -> usize {
        self.get.load(Ordering::Relaxed)
    }

    fn record(&self, method: Method) {
        let counter = match method {
            Method::Put => &self.put,
            Method::Patch => &self.patch,
            Method::Post => &self.post,
            Method::Delete => &self.delete,
            _ => &self.get,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends ARM requests; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    pipeline: Pipeline,
    counts: RequestCounts,
}

impl Sender {
    /// A pipeline that authorizes with `credential` for `scope`, over `options` (transport, retry).
    pub(crate) fn new(options: ClientOptions, credential: Arc<dyn TokenCredential>, scope: &str) -> Self {
        let auth: Arc<dyn Policy> = Arc::new(BearerTokenAuthorizationPolicy::new(credential, [scope.to_string()]));
        let pipeline =
            Pipeline::new(Some("agentpool"), Some(env!("CARGO_PKG_VERSION")), options, Vec::new(), vec![auth], None);
        Self { pipeline, counts: RequestCounts::default() }
    }

    pub(crate) fn counts(&self) -> &RequestCounts {
        &self.counts
    }

    /// Sends one request; any HTTP status comes back as a response, only a failure to get one
    /// (transport, credential) is an error.
    pub(crate) async fn send(&self, method: Method, url: &Url, body: Option<&Bytes>) -> Result<RawResponse, ArmError> {
        let mut request = Request::new(url.clone(), method);
        request.insert_header("accept", "application/json");
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(body.clone());
        }
        self.counts.record(method);
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        self.pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|e| pipeline_error(method, url, e))
    }
}

fn pipeline_error(method: Method, url: &Url, error: azure_core::Error) -> ArmError {
    let message = super::transport::error_chain(&error);
    if matches!(error.kind(), ErrorKind::Credential) {
        ArmError::Credential { method, url: url.clone(), message }
    } else {
        ArmError::Transport { method, url: url.clone(), message }
    }
}
