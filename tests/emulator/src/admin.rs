//! Test and admin routes under `/_emulator/` (no authentication, never faulted, never recorded).
//!
//! - `GET /_emulator/health` → `{"status":"ok"}`
//! - `GET /_emulator/state` → every resource and operation, and providers' private data (the state-file shape)
//! - `GET /_emulator/faults` → fault settings; `POST /_emulator/faults` with a partial
//!   `{"seed","rate429","rate5xx","rateDrop","rateSlow","rateLost","rateLroFail","slowMs"}` updates them (a seed
//!   restarts the sequence), 400 on invalid rates
//! - `GET /_emulator/requests` → ARM requests since start (or the last reset): `{"total","writes","byMethod"}`,
//!   writes being PUT, PATCH, DELETE and POST; `DELETE /_emulator/requests` resets the counts.
//! - `GET /_emulator/logs/{template}[?resourceGroup=]` → `text/plain` `customization.log` of the image
//!   template's last build, as far as it is written (404 without a build)
//! - `GET|PUT /_emulator/blobs/{account}/{container}/{blob}` → a blob of the blob service (or, with
//!   `--no-blob-service`, of the emulator's memory) at `--blob-endpoint-template`: scripts for Image Builder
//!   builds in tests without Azurite, and what builds wrote
//! - `/_emulator/devops/...` → the emulated Azure DevOps' test routes ([`crate::devops::admin`])
//! - `/_emulator/entra/...` → the emulated Entra ID's applications, federated credentials and token counts
//!   ([`crate::entra::admin`])
//!
//! Caveat: anyone who can reach the port can change faults; the emulator listens on loopback by default.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::App;
use crate::blob_data_plane::{read_blob, write_blob};
use crate::faults::{FaultError, FaultUpdate};
use crate::kinds::image_templates;

/// Errors of admin requests.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Invalid fault settings.
    #[error(transparent)]
    Faults(#[from] FaultError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Counts ARM requests by method.
#[derive(Debug, Default)]
pub struct RequestCounter {
    by_method: Mutex<BTreeMap<String, u64>>,
}

impl RequestCounter {
    /// Counts one request.
    pub fn count(&self, method: &str) {
        let mut map = self.by_method.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(method.to_string()).or_default() += 1;
    }

    /// `{"total","writes","byMethod"}`.
    pub fn snapshot(&self) -> serde_json::Value {
        let map = self.by_method.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let total: u64 = map.values().sum();
        let writes: u64 =
            map.iter().filter(|(m, _)| matches!(m.as_str(), "PUT" | "PATCH" | "DELETE" | "POST")).map(|(_, n)| n).sum();
        json!({ "total": total, "writes": writes, "byMethod": map })
    }

    /// Back to zero.
    pub fn reset(&self) {
        self.by_method.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The `/_emulator` router.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/state", get(state))
        .route("/faults", get(get_faults).post(set_faults))
        .route("/requests", get(requests).delete(reset_requests))
        .route("/logs/{template}", get(build_log))
        .route("/blobs/{account}/{*path}", get(get_blob).put(put_blob))
        .nest("/devops", crate::devops::admin::router())
        .nest("/entra", crate::entra::admin::router())
}

#[derive(Debug, serde::Deserialize)]
struct LogQuery {
    #[serde(default, rename = "resourceGroup")]
    resource_group: Option<String>,
}

async fn build_log(
    State(app): State<Arc<App>>,
    Path(template): Path<String>,
    Query(query): Query<LogQuery>,
) -> Response {
    let log = app.state.read(|s| image_templates::last_log(s, &template, query.resource_group.as_deref()));
    match log {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no build of image template '{template}'") })))
            .into_response(),
    }
}

fn blob_url(app: &App, account: &str, path: &str) -> String {
    let endpoint = app.config.blob_endpoint_template.replace("{account}", account);
    format!("{}/{path}", endpoint.trim_end_matches('/'))
}

async fn get_blob(State(app): State<Arc<App>>, Path((account, path)): Path<(String, String)>) -> Response {
    match read_blob(&app, &blob_url(&app, &account, &path), &app.config.client_id).await {
        Ok(Some(bytes)) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({ "error": "BlobNotFound" }))).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

async fn put_blob(State(app): State<Arc<App>>, Path((account, path)): Path<(String, String)>, body: Bytes) -> Response {
    match write_blob(&app, &blob_url(&app, &account, &path), body.to_vec(), &app.config.client_id).await {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

async fn state(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(app.state.read(|s| s.snapshot()))
}

async fn get_faults(State(app): State<Arc<App>>) -> Json<crate::faults::FaultSettings> {
    Json(app.faults.settings())
}

async fn set_faults(
    State(app): State<Arc<App>>,
    Json(update): Json<FaultUpdate>,
) -> Result<Json<crate::faults::FaultSettings>, AdminError> {
    Ok(Json(app.faults.update(&update)?))
}

async fn requests(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(app.requests.snapshot())
}

async fn reset_requests(State(app): State<Arc<App>>) -> StatusCode {
    app.requests.reset();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_writes() {
        let c = RequestCounter::default();
        for m in ["GET", "GET", "PUT", "DELETE", "HEAD"] {
            c.count(m);
        }
        let s = c.snapshot();
        assert_eq!(s["total"], 5);
        assert_eq!(s["writes"], 2);
        assert_eq!(s["byMethod"]["GET"], 2);
        c.reset();
        assert_eq!(c.snapshot()["total"], 0);
    }
}
