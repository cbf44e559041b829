//! Test routes of the emulated Entra ID under `/_emulator/entra/` (no authentication, never faulted, never
//! recorded):
//!
//! | route | does |
//! |---|---|
//! | GET `/applications` | `{count, value:[{clientId, hasSecret, federatedCredentials:[{name, issuer, subject, audiences}]}]}` |
//! | POST `/applications` `{"clientId", "clientSecret"?}` | makes the application if missing (and sets its secret when given); 200 the application |
//! | POST `/applications/{clientId}/federatedCredentials` `{"name", "issuer", "subject", "audiences"?}` | adds the credential (replacing one of that name; audiences default `["api://AzureADTokenExchange"]`), making the application if missing; 200 the application |
//! | DELETE `/applications/{clientId}/federatedCredentials/{name}` | 204; 404 when there is none |
//! | GET `/tokens` | `{"clients": {"<clientId>": {issued, clientSecret, clientAssertion, refused}}}`: what the token endpoint did per client id since start or the last reset |
//! | DELETE `/tokens` | 204, the counts back to none |

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::directory::{Application, FederatedCredential};
use crate::app::App;

/// The `/_emulator/entra` router.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/applications", get(list).post(add_application))
        .route("/applications/{client_id}/federatedCredentials", post(add_credential))
        .route("/applications/{client_id}/federatedCredentials/{name}", delete(remove_credential))
        .route("/tokens", get(tokens).delete(reset_tokens))
}

/// An application as the admin routes show it (no secret).
pub fn render(app: &Application) -> Value {
    json!({
        "clientId": app.client_id,
        "hasSecret": app.client_secret.is_some(),
        "federatedCredentials": app.federated_credentials,
    })
}

async fn list(State(app): State<Arc<App>>) -> Json<Value> {
    let items: Vec<Value> = app.directory.apps_snapshot().iter().map(render).collect();
    Json(json!({ "count": items.len(), "value": items }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewApplication {
    client_id: String,
    client_secret: Option<String>,
}

async fn add_application(State(app): State<Arc<App>>, Json(body): Json<NewApplication>) -> Json<Value> {
    Json(render(&app.directory.ensure_app(&body.client_id, body.client_secret.as_deref())))
}

async fn add_credential(
    State(app): State<Arc<App>>,
    Path(client_id): Path<String>,
    Json(credential): Json<FederatedCredential>,
) -> Json<Value> {
    Json(render(&app.directory.put_credential(&client_id, credential)))
}

async fn remove_credential(State(app): State<Arc<App>>, Path((client_id, name)): Path<(String, String)>) -> Response {
    if app.directory.remove_credential(&client_id, &name) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let error = format!("application '{client_id}' has no federated credential '{name}'");
        (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response()
    }
}

async fn tokens(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "clients": app.directory.counts_snapshot() }))
}

async fn reset_tokens(State(app): State<Arc<App>>) -> StatusCode {
    app.directory.reset_counts();
    StatusCode::NO_CONTENT
}
