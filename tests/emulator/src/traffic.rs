//! Recording of ARM and Azure DevOps exchanges as oav traffic files.
//!
//! Each exchange on an ARM or Azure DevOps route becomes one file `NNNNNN-METHOD-type.json` (sequence number at arrival, so
//! sorting the names keeps the order) in the format `oav validate-traffic` reads:
//!
//! ```json
//! {"liveRequest": {"url": "https://management.azure.com/...?api-version=...", "method": "PUT",
//!                  "headers": {...}, "body": {...} | null},
//!  "liveResponse": {"statusCode": "201", "headers": {...}, "body": {...} | null}}
//! ```
//!
//! oav 4.0.3 needs `statusCode` as a string (it calls `toLowerCase` on it). URLs (request, and the emulator's
//! own links in response headers and bodies) are rewritten to `https://management.azure.com` for ARM and
//! `https://dev.azure.com` for Azure DevOps (the swaggers' hosts) so oav matches swagger paths; nothing
//! else is rewritten (an Azure DevOps api-version stays as sent, in the query or in `Accept`). The `Authorization` header is left out: no secret reaches the disk. Injected faults are recorded
//! (they are `default` error responses); dropped connections have no response and are not. Operation-status
//! polls are recorded too; oav reports them as undefined operations and ignores them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::app::{base_url, App};
use crate::server::DropConnection;

/// The host ARM traffic URLs are rewritten to.
pub const ARM_HOST: &str = "https://management.azure.com";
/// The host Azure DevOps traffic URLs are rewritten to (`host` of the vsts-rest-api-specs swaggers).
pub const DEVOPS_HOST: &str = "https://dev.azure.com";

/// Largest body buffered for recording.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Errors while recording.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// The traffic directory could not be created or written.
    #[error("cannot write traffic file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Writes traffic files into a directory.
#[derive(Debug)]
pub struct TrafficRecorder {
    dir: PathBuf,
    seq: AtomicU64,
}

impl TrafficRecorder {
    /// Creates the directory if needed; numbering continues after files already there.
    pub fn new(dir: PathBuf) -> Result<Self, TrafficError> {
        std::fs::create_dir_all(&dir).map_err(|source| TrafficError::Write { path: dir.clone(), source })?;
        let existing = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().and_then(|n| n.split('-').next()?.parse::<u64>().ok()))
                    .max()
                    .map_or(0, |n| n + 1)
            })
            .unwrap_or(0);
        Ok(TrafficRecorder { dir, seq: AtomicU64::new(existing) })
    }

    /// The directory written to.
    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }

    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    fn write(&self, seq: u64, method: &str, label: &str, exchange: &Value) -> Result<(), TrafficError> {
        let file = self.dir.join(format!("{seq:06}-{method}-{label}.json"));
        let text = serde_json::to_string_pretty(exchange).unwrap_or_default();
        std::fs::write(&file, text).map_err(|source| TrafficError::Write { path: file, source })
    }
}

/// A short label for an Azure DevOps exchange's file name: the last segment that is not an id
/// (`elasticpools`, `nodes`, `projects`).
pub fn devops_label(path: &str) -> String {
    let is_id = |s: &&str| s.bytes().all(|b| b.is_ascii_digit()) || uuid::Uuid::try_parse(s).is_ok();
    let label = path.split('/').filter(|s| !s.is_empty()).rev().find(|s| !is_id(s)).unwrap_or("root");
    let clean: String = label.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if clean.is_empty() {
        "resource".into()
    } else {
        clean
    }
}

/// A short label for a file name: the resource type segment of the path (`galleries`, `images`, ...).
pub fn type_label(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let label = match segs.len() {
        0 => "root",
        n if n % 2 == 1 => segs[n - 1],
        n => segs[n - 2],
    };
    let clean: String = label.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if clean.is_empty() {
        "resource".into()
    } else {
        clean
    }
}

fn headers_json(headers: &HeaderMap, local_base: &str, host: &str) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        if name == axum::http::header::AUTHORIZATION {
            continue;
        }
        let v = String::from_utf8_lossy(value.as_bytes()).replace(local_base, host);
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&v);
            }
            _ => {
                map.insert(name.as_str().to_string(), Value::String(v));
            }
        }
    }
    Value::Object(map)
}

fn body_json(bytes: &[u8], local_base: &str, host: &str) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => rewrite_links(v, local_base, host),
        Err(_) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Rewrites emulator URLs in string values (e.g. `nextLink`) to `host`.
fn rewrite_links(v: Value, local_base: &str, host: &str) -> Value {
    match v {
        Value::String(s) if s.starts_with(local_base) => Value::String(s.replacen(local_base, host, 1)),
        Value::Array(items) => Value::Array(items.into_iter().map(|i| rewrite_links(i, local_base, host)).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, rewrite_links(v, local_base, host))).collect())
        }
        other => other,
    }
}

/// Middleware of ARM routes: records the exchange when a traffic directory is configured.
pub async fn record(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    record_as(&app, ARM_HOST, request, next).await
}

/// Middleware of Azure DevOps routes: records the exchange with `https://dev.azure.com` as host.
pub async fn record_devops(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    // A job's OIDC tokens are credentials, like Entra's tokens: never written to disk.
    if request.uri().path().to_ascii_lowercase().ends_with("/oidctoken") {
        return next.run(request).await;
    }
    record_as(&app, DEVOPS_HOST, request, next).await
}

async fn record_as(app: &App, host: &str, request: Request, next: Next) -> Response {
    let Some(recorder) = app.traffic.as_ref() else {
        return next.run(request).await;
    };
    let seq = recorder.next();
    let local_base = base_url(request.uri(), request.headers(), &app.endpoint);
    let (parts, body) = request.into_parts();
    let request_bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("cannot read request body: {e}");
            let error = crate::arm::error::ArmError::InvalidRequestContent {
                message: "the request body could not be read.".into(),
                target: None,
            };
            return axum::response::IntoResponse::into_response(error);
        }
    };
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let live_request = json!({
        "url": format!("{host}{path_and_query}"),
        "method": parts.method.as_str(),
        "headers": headers_json(&parts.headers, &local_base, host),
        "body": body_json(&request_bytes, &local_base, host),
    });
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let response = next.run(Request::from_parts(parts, Body::from(request_bytes))).await;
    if response.extensions().get::<DropConnection>().is_some() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let response_bytes = axum::body::to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let exchange = json!({
        "liveRequest": live_request,
        "liveResponse": {
            "statusCode": parts.status.as_u16().to_string(),
            "headers": headers_json(&parts.headers, &local_base, host),
            "body": body_json(&response_bytes, &local_base, host),
        },
    });
    let label = if host == DEVOPS_HOST { devops_label(&path) } else { type_label(&path) };
    if let Err(e) = recorder.write(seq, &method, &label, &exchange) {
        tracing::warn!("{e}");
    }
    Response::from_parts(parts, Body::from(response_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(type_label("/subscriptions/s/resourcegroups/rg"), "resourcegroups");
        assert_eq!(type_label("/subscriptions/s/resourcegroups"), "resourcegroups");
        assert_eq!(
            type_label("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"),
            "images"
        );
        assert_eq!(type_label("/subscriptions/s/providers/Microsoft.Compute/galleries"), "galleries");
        assert_eq!(type_label("/"), "root");
        assert_eq!(devops_label("/contoso/_apis/distributedtask/elasticpools/10/nodes/3"), "nodes");
        assert_eq!(devops_label("/contoso/_apis/projects/7342863a-8970-5cb7-8379-439745142cb3"), "projects");
    }

    #[test]
    fn headers_drop_authorization_and_rewrite_links() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer secret".parse().unwrap());
        h.insert("location", "https://127.0.0.1:9/x".parse().unwrap());
        let j = headers_json(&h, "https://127.0.0.1:9", ARM_HOST);
        assert!(j.get("authorization").is_none());
        assert_eq!(j["location"], "https://management.azure.com/x");
        assert_eq!(body_json(b"", "x", ARM_HOST), Value::Null);
        assert_eq!(
            body_json(br#"{"nextLink":"https://h/a"}"#, "https://h", ARM_HOST)["nextLink"],
            "https://management.azure.com/a"
        );
        assert_eq!(
            body_json(br#"{"url":"https://h/contoso/_apis/projects/p"}"#, "https://h", DEVOPS_HOST)["url"],
            "https://dev.azure.com/contoso/_apis/projects/p"
        );
    }

    #[test]
    fn numbering_continues() {
        let dir = std::env::temp_dir().join(format!("agentpool-emulator-traffic-{}", uuid::Uuid::new_v4()));
        let r = TrafficRecorder::new(dir.clone()).unwrap();
        r.write(r.next(), "GET", &type_label("/a/b"), &json!({})).unwrap();
        let r2 = TrafficRecorder::new(dir.clone()).unwrap();
        assert_eq!(r2.next(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
