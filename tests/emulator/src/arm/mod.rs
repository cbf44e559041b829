//! The Azure Resource Manager front end: routing, api-version checks, the middleware stack of ARM routes
//! and dispatch to the generic handlers.
//!
//! Middleware, outermost first: traffic recording → request counting and ARM request-id headers →
//! authentication → fault injection → [`handle`]. ARM routes are the paths under `/subscriptions/` (the only
//! subscription that exists is `--subscription-id`) and the root-scope [`endpoint`]s (`/providers/…`).
//!
//! Order of checks in [`dispatch`]: api-version present, subscription, operation polls, then the route
//! ([`endpoint`]s first, then the kinds), its api-version, the caller's right to the operation
//! ([`crate::authz::request`]: 403 `AuthorizationFailed`), for writes the provider's registration
//! ([`crate::provider_reads::providers`]: 409 `MissingSubscriptionRegistration`), then the handler.

pub mod crud;
pub mod endpoint;
pub mod error;
pub mod kind;
pub mod lro;
pub mod path;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use time::OffsetDateTime;

use self::crud::Call;
use self::error::ArmError;
use self::kind::{KindInfo, Route};
use self::path::Pattern;
use crate::app::{base_url, App};
use crate::entra::Claims;
use crate::faults::Decision;

static STATUS: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(lro::STATUS_PATTERN));
static RESULT: LazyLock<Pattern> = LazyLock::new(|| Pattern::new(lro::RESULT_PATTERN));
static ENDPOINTS: LazyLock<endpoint::Endpoints> = LazyLock::new(|| endpoint::Endpoints::new(&endpoint::all()));

/// Largest request body accepted.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The ARM part of the server: every path not claimed by Entra or the admin routes.
pub fn router(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .fallback(handle)
        .layer(from_fn_with_state(app.clone(), crate::faults::inject))
        .layer(from_fn_with_state(app.clone(), crate::auth::require_arm_token))
        .layer(from_fn_with_state(app.clone(), count_and_tag))
        .layer(from_fn_with_state(app, crate::traffic::record))
}

/// Counts the request and adds `x-ms-request-id` / `x-ms-correlation-request-id`.
async fn count_and_tag(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    app.requests.count(request.method().as_str());
    let correlation = request.headers().get("x-ms-correlation-request-id").cloned();
    let mut response = next.run(request).await;
    crud::add_request_ids(response.headers_mut(), correlation.as_ref());
    response
}

/// Query parameters with lower-cased names and decoded values.
pub fn parse_query(raw: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).map(|(k, v)| (k.to_lowercase(), v.into_owned())).collect()
}

/// The ARM handler.
pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            return ArmError::InvalidRequestContent {
                message: format!("the body could not be read: {e}"),
                target: None,
            }
            .into_response()
        }
    };
    let call = Call {
        app: &app,
        base: base_url(&parts.uri, &parts.headers, &app.endpoint),
        api_version: String::new(),
        caller: parts.extensions.get::<Claims>().cloned(),
        fail_lro: parts.extensions.get::<Decision>().is_some_and(|d| d.fail_lro),
        now: OffsetDateTime::now_utc(),
    };
    let now = call.now;
    let result = dispatch(call, &parts.method, parts.uri.path(), parts.uri.query().unwrap_or(""), &bytes);
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    add_retry_after_ms(&app, &mut response, parts.uri.path(), now);
    if parts.method == Method::PUT && response.status().is_success() {
        if let Err(error) = mirror_container(&app, parts.uri.path(), now).await {
            tracing::warn!("{error}");
            response = ArmError::Provider {
                status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                code: "InternalServerError",
                message: format!("the blob service did not create the container: {error}"),
            }
            .into_response();
        }
    }
    if let Some(&crud::SyncLatency(ms)) = response.extensions().get::<crud::SyncLatency>() {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    tracing::debug!("{} {} → {}", parts.method, parts.uri, response.status());
    response
}

/// Next to `Retry-After` (whole seconds, as ARM sends), `retry-after-ms` with the time the
/// operation still needs: clients that honour it (azure_core's policies do) poll once, right when
/// the operation ends, which keeps scaled-down benchmarks honest.
fn add_retry_after_ms(app: &App, response: &mut Response, raw_path: &str, now: OffsetDateTime) {
    if !response.headers().contains_key(axum::http::header::RETRY_AFTER) {
        return;
    }
    let last_segment =
        |url: &str| url.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
    let lower = raw_path.to_ascii_lowercase();
    let op_id = if lower.contains("/operationstatuses/") || lower.contains("/operationresults/") {
        last_segment(raw_path)
    } else {
        let headers = response.headers();
        let link = headers.get("azure-asyncoperation").or_else(|| headers.get(axum::http::header::LOCATION));
        match link.and_then(|v| v.to_str().ok()) {
            Some(url) => last_segment(url),
            None => return,
        }
    };
    let now_ms = lro::now_ms(now);
    let remaining = app.state.read(|store| {
        store.operation(&op_id).filter(|op| !op.status.is_terminal()).map(|op| (op.due_ms - now_ms).max(0))
    });
    if let Some(ms) = remaining {
        if let Ok(value) = axum::http::HeaderValue::from_str(&ms.to_string()) {
            response.headers_mut().insert("retry-after-ms", value);
        }
    }
}

/// A container PUT through ARM also creates the container in the account's blob service.
async fn mirror_container(app: &App, raw_path: &str, now: OffsetDateTime) -> Result<(), String> {
    let segs = path::segments(raw_path);
    // subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Storage/storageAccounts/{a}/blobServices/default/containers/{c}
    let is_container =
        segs.len() == 12 && segs[8].eq_ignore_ascii_case("blobServices") && segs[10].eq_ignore_ascii_case("containers");
    let (Some(blob), true) = (&app.blob, is_container) else { return Ok(()) };
    let account_id = format!("/{}", segs[..8].join("/"));
    let endpoint = app.state.read(|store| {
        store.get(&account_id).and_then(|account| {
            account.body.pointer("/properties/primaryEndpoints/blob").and_then(|v| v.as_str()).map(str::to_owned)
        })
    });
    let Some(endpoint) = endpoint else { return Ok(()) };
    let (token, _) = app.tokens.issue(&app.config.client_id, "https://storage.azure.com", now.unix_timestamp());
    blob.create_container(&endpoint, &segs[11], &token).await.map_err(|e| e.to_string())
}

pub(crate) fn dispatch(
    mut call: Call<'_>,
    method: &Method,
    raw_path: &str,
    raw_query: &str,
    body: &[u8],
) -> Result<Response, ArmError> {
    let app = call.app;
    let segs = path::segments(raw_path);
    let query = parse_query(Some(raw_query));
    let under_subscription = segs.len() >= 2 && segs[0].eq_ignore_ascii_case("subscriptions");
    let endpoint = ENDPOINTS.find(&segs);
    if !under_subscription && endpoint.is_none() {
        return Err(ArmError::InvalidResourceType(raw_path.to_string()));
    }
    call.api_version =
        query.get("api-version").filter(|v| !v.is_empty()).cloned().ok_or(ArmError::MissingApiVersion)?;
    if under_subscription && !segs[1].eq_ignore_ascii_case(&app.config.subscription_id) {
        return Err(ArmError::SubscriptionNotFound(segs[1].clone()));
    }
    let env = kind::Env::internal(&app.config, call.now);
    app.state.write(|store| lro::advance(store, &app.registry, &env));

    for (pattern, is_status) in [(&*STATUS, true), (&*RESULT, false)] {
        if let Some(captures) = pattern.matches(&segs) {
            if method != Method::GET {
                return Err(ArmError::MethodNotAllowed(method.to_string()));
            }
            let id = captures.get("operationId");
            return app.state.read(|store| {
                if is_status {
                    lro::status_response(store, id)
                } else {
                    lro::result_response(store, id, &call.base, &call.api_version)
                }
            });
        }
    }

    if let Some((endpoint, pattern, captures)) = endpoint {
        check_versions(endpoint.resource_type, endpoint.api_versions, &call.api_version)?;
        let request =
            endpoint::Request { call: &call, method, pattern, captures, query: &query, raw_path, raw_query, body };
        return (endpoint.handle)(&request);
    }

    let Some(route) = app.registry.route(&segs, &query) else {
        return match app.registry.action(&segs) {
            Some((target, name)) if method == Method::POST => {
                let info = target.kind.info();
                check_api_version(info, &call.api_version)?;
                crate::authz::request::require(
                    &call,
                    &crate::authz::request::post_action(info.resource_type, name),
                    &target.id,
                )?;
                crate::provider_reads::providers::require_registered(&call, info.resource_type)?;
                crud::action(&call, &target, name, body)
            }
            Some(_) => Err(ArmError::MethodNotAllowed(method.to_string())),
            None => Err(ArmError::InvalidResourceType(raw_path.to_string())),
        };
    };
    let kind = match &route {
        Route::Item(t) => t.kind,
        Route::List(l) => l.kind,
    };
    check_api_version(kind.info(), &call.api_version)?;
    crate::authz::request::authorize_route(&call, method, &route)?;
    if matches!(*method, Method::PUT | Method::PATCH | Method::DELETE) {
        crate::provider_reads::providers::require_registered(&call, kind.info().resource_type)?;
    }
    match route {
        Route::Item(target) => match *method {
            Method::GET => crud::get(&call, &target),
            Method::HEAD => crud::head(&call, &target),
            Method::PUT => crud::put(&call, &target, body),
            Method::PATCH => crud::patch(&call, &target, body),
            Method::DELETE => crud::delete(&call, &target),
            _ => Err(ArmError::MethodNotAllowed(method.to_string())),
        },
        Route::List(list) if method == Method::GET => crud::list(&call, &list, raw_path, raw_query),
        Route::List(_) => Err(ArmError::MethodNotAllowed(method.to_string())),
    }
}

fn check_api_version(info: &KindInfo, version: &str) -> Result<(), ArmError> {
    check_versions(info.resource_type, info.api_versions, version)
}

fn check_versions(resource_type: &str, supported: &[&str], version: &str) -> Result<(), ArmError> {
    if supported.iter().any(|v| v.eq_ignore_ascii_case(version)) {
        Ok(())
    } else {
        Err(ArmError::InvalidApiVersion {
            version: version.to_string(),
            resource_type: resource_type.to_string(),
            supported: supported.join("', '"),
        })
    }
}

#[cfg(test)]
mod extension_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_are_lower_cased() {
        let q = parse_query(Some("Api-Version=2024-07-01&%24filter=atScope()"));
        assert_eq!(q["api-version"], "2024-07-01");
        assert_eq!(q["$filter"], "atScope()");
    }
}
