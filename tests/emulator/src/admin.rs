//! Test and admin routes under `/_emulator/` (no authentication, never faulted, never recorded).
//!
//! - `GET /_emulator/health` → `{"status":"ok"}`
//! - `GET /_emulator/state` → every resource and operation (the state-file shape)
//! - `GET /_emulator/faults` → fault settings; `POST /_emulator/faults` with a partial
//!   `{"seed","rate429","rate5xx","rateDrop","rateSlow","rateLroFail","slowMs"}` updates them (a seed
//!   restarts the sequence), 400 on invalid rates
//! - `GET /_emulator/requests` → ARM requests since start (or the last reset): `{"total","writes","byMethod"}`,
//!   writes being PUT, PATCH, DELETE and POST; `DELETE /_emulator/requests` resets the counts.
//!
//! Caveat: anyone who can reach the port can change faults; the emulator listens on loopback by default.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::App;
use crate::faults::{FaultError, FaultUpdate};

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
