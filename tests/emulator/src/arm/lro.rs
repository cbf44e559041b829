//! Long-running operations, per the ARM async contract (`azure-resource-manager-rpc/v1.0/async-api-reference.md`).
//!
//! An operation is created by a PUT / PATCH / DELETE whose swagger is `x-ms-long-running-operation`, and
//! completes `--lro-delay-ms` later (the kind's `--latency-ms` when given). Completion is lazy: every ARM
//! request first settles the operations that are due (a kind with background work, such as Image Builder
//! during a build, also advances them from its [`super::kind::ResourceKind::background`] tick), so the state file stays
//! consistent. Two URLs on the client's host watch an operation:
//!
//! - `Azure-AsyncOperation`: `/subscriptions/{s}/providers/{ns}/locations/{loc}/operationStatuses/{id}`
//!   always answers 200 `{"id","name","status","startTime","endTime"?,"error"?}` with status `InProgress`,
//!   `Succeeded`, `Failed` or `Canceled`;
//! - `Location`: `/subscriptions/{s}/providers/{ns}/locations/{loc}/operationResults/{id}` answers 202 (no
//!   body, `Location`, `Retry-After: 1`) while running, then what the synchronous call would have answered:
//!   200 with the resource for a PUT, 200 without body for a DELETE, or the error (409 `OperationFailed`).
//!
//! On success the resource's `properties.provisioningState` becomes `Succeeded` (a delete removes it and
//! everything within it); on an injected failure it becomes `Failed` and a later PUT converges normally. A
//! new PUT / PATCH / DELETE on a resource first completes the PUT / PATCH / DELETE in flight. POST actions
//! of a kind run as operations too; the kind decides what their completion does, and may end them itself
//! ([`end`]) or keep them running past their due time ([`super::kind::ResourceKind::on_progress`]).
//!
//! Caveats: `Retry-After` is 1 s (ARM asks for at least 10 s); the status URLs are the emulator's own
//! scheme (Compute really uses `.../capsOperations/{id}`, Storage `.../asyncoperations/{id}`); only a kind's
//! own actions (Image Builder's `cancel`) cancel operations.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::{json_response, ArmError};
use super::kind::{Env, Registry, Target};
use crate::state::{OpAction, OpStatus, Operation, Resource, Store};

/// `Retry-After` sent with every LRO answer, in seconds.
pub const RETRY_AFTER: &str = "1";
/// Path of operation-status resources (`Azure-AsyncOperation`).
pub const STATUS_PATTERN: &str =
    "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}/operationStatuses/{operationId}";
/// Path of operation results (`Location`).
pub const RESULT_PATTERN: &str =
    "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}/operationResults/{operationId}";

/// The error object of an operation that failed by injection.
pub fn injected_failure() -> Value {
    json!({
        "code": "OperationFailed",
        "message": "The operation failed (injected by the emulator's --fault-rate-lro-fail). Retry the operation."
    })
}

/// Sets `properties.provisioningState`.
pub fn set_provisioning_state(body: &mut Value, state: &str) {
    if !body.get("properties").is_some_and(Value::is_object) {
        body["properties"] = json!({});
    }
    body["properties"]["provisioningState"] = json!(state);
}

/// RFC 3339 time of Unix milliseconds.
pub fn format_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Wall clock in Unix milliseconds.
pub fn now_ms(now: OffsetDateTime) -> i64 {
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Everything needed to start an operation.
pub struct Start<'a> {
    pub target: &'a Target,
    pub action: OpAction,
    pub fail: bool,
    pub pending: Option<Value>,
    pub location: &'a str,
    pub now_ms: i64,
    pub delay_ms: u64,
}

/// Records a new in-progress operation.
pub fn start(store: &mut Store, s: Start<'_>) -> Operation {
    let namespace = s.target.kind.info().resource_type.split('/').next().unwrap_or("Microsoft.Resources");
    let location: String = s.location.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    let op = Operation {
        id: uuid::Uuid::new_v4().to_string(),
        subscription: s.target.subscription.clone(),
        namespace: namespace.to_string(),
        location: if location.is_empty() { "global".into() } else { location },
        resource_id: s.target.id.clone(),
        kind: s.target.kind.info().name.to_string(),
        action: s.action,
        status: OpStatus::InProgress,
        fail: s.fail,
        start_ms: s.now_ms,
        due_ms: s.now_ms.saturating_add(s.delay_ms.min(i64::MAX as u64) as i64),
        end_ms: None,
        pending: s.pending,
        error: None,
        result: None,
    };
    store.insert_operation(op.clone());
    op
}

fn op_path(op: &Operation, leaf: &str) -> String {
    format!("/subscriptions/{}/providers/{}/locations/{}/{leaf}/{}", op.subscription, op.namespace, op.location, op.id)
}

/// Absolute `Azure-AsyncOperation` URL.
pub fn status_url(base: &str, op: &Operation, api_version: &str) -> String {
    format!("{base}{}?api-version={api_version}", op_path(op, "operationStatuses"))
}

/// Absolute `Location` URL.
pub fn result_url(base: &str, op: &Operation, api_version: &str) -> String {
    format!("{base}{}?api-version={api_version}", op_path(op, "operationResults"))
}

/// Reports progress of running operations to their kinds, then completes those due at `env.now`.
pub fn advance(store: &mut Store, registry: &Registry, env: &Env<'_>) {
    let now_ms = env.now_ms();
    let running: Vec<Operation> = store.operations().filter(|op| op.status == OpStatus::InProgress).cloned().collect();
    for op in &running {
        if let Some(kind) = registry.kind(&op.kind) {
            kind.on_progress(env, store, op);
        }
    }
    // Progress may have ended or postponed operations: read them again.
    let due: Vec<String> = running
        .iter()
        .filter(|op| store.operation(&op.id).is_some_and(|o| o.status == OpStatus::InProgress && o.due_ms <= now_ms))
        .map(|op| op.id.clone())
        .collect();
    for id in due {
        finalize(store, registry, env, &id);
    }
}

/// Completes at once the operations in flight on `resource_id` (before a new operation on it). POST actions
/// (a build, ...) are left running: their kind decides when they end.
pub fn settle(store: &mut Store, registry: &Registry, resource_id: &str, env: &Env<'_>) {
    let running: Vec<String> = store
        .operations()
        .filter(|op| {
            op.status == OpStatus::InProgress
                && op.resource_id.eq_ignore_ascii_case(resource_id)
                && !matches!(op.action, OpAction::Action(_))
        })
        .map(|op| op.id.clone())
        .collect();
    for id in running {
        finalize(store, registry, env, &id);
    }
}

/// Ends an operation as its kind decided (`status` terminal): no further hook runs.
pub fn end(store: &mut Store, op_id: &str, status: OpStatus, error: Option<Value>, result: Option<Value>, now_ms: i64) {
    if let Some(op) = store.operation_mut(op_id) {
        if op.status.is_terminal() {
            return;
        }
        op.status = status;
        op.end_ms = Some(now_ms);
        op.error = error;
        op.result = result;
        op.pending = None;
    }
}

/// Removes `id` and everything within it, then tells each removed resource's kind.
pub fn delete_tree(store: &mut Store, registry: &Registry, env: &Env<'_>, id: &str) {
    for removed in store.remove_tree(id) {
        if let Some(kind) = registry.kind(&removed.kind) {
            kind.on_deleted(env, store, &removed);
        }
    }
}

/// Tells the kind of `id` that it was provisioned.
pub fn provisioned(store: &mut Store, registry: &Registry, env: &Env<'_>, id: &str) {
    if let Some(resource) = store.get(id).cloned() {
        if let Some(kind) = registry.kind(&resource.kind) {
            kind.on_provisioned(env, store, &resource);
        }
    }
}

fn finalize(store: &mut Store, registry: &Registry, env: &Env<'_>, op_id: &str) {
    let now_ms = env.now_ms();
    let Some(op) = store.operation(op_id).cloned() else { return };
    if op.status.is_terminal() {
        return;
    }
    let kind = registry.kind(&op.kind);
    let tracks_state = kind.is_some_and(|k| k.info().provisioning_state);
    let mut result = None;
    match (&op.action, op.fail) {
        (OpAction::Create | OpAction::Update, false) => {
            if let Some(mut body) = op.pending.clone() {
                if tracks_state {
                    set_provisioning_state(&mut body, "Succeeded");
                }
                store.insert(Resource { kind: op.kind.clone(), id: op.resource_id.clone(), body });
            } else if tracks_state {
                if let Some(r) = store.get_mut(&op.resource_id) {
                    set_provisioning_state(&mut r.body, "Succeeded");
                }
            }
            provisioned(store, registry, env, &op.resource_id);
        }
        (OpAction::Delete, false) => delete_tree(store, registry, env, &op.resource_id),
        (OpAction::Action(_), succeeded) => {
            result = kind.and_then(|k| k.complete_action(env, store, &op, !succeeded));
        }
        (_, true) => {
            if tracks_state && op.pending.is_none() {
                if let Some(r) = store.get_mut(&op.resource_id) {
                    set_provisioning_state(&mut r.body, "Failed");
                }
            }
        }
    }
    if let Some(stored) = store.operation_mut(op_id) {
        if stored.status.is_terminal() {
            return;
        }
        stored.status = if op.fail { OpStatus::Failed } else { OpStatus::Succeeded };
        stored.end_ms = Some(now_ms);
        // A kind may have set the error of a failure it decided (e.g. a provisioning check).
        stored.error = op.fail.then(|| op.error.clone().unwrap_or_else(injected_failure));
        stored.pending = None;
        stored.result = result;
    }
}

/// The operation-status resource (`Azure-AsyncOperation` poll): always 200 while the operation exists.
pub fn status_response(store: &Store, op_id: &str) -> Result<Response, ArmError> {
    let op = store.operation(op_id).ok_or_else(|| ArmError::OperationNotFound(op_id.to_string()))?;
    let mut body = json!({
        "id": op_path(op, "operationStatuses"),
        "name": op.id,
        "status": op.status.as_str(),
        "startTime": format_ms(op.start_ms),
    });
    if let Some(end) = op.end_ms {
        body["endTime"] = json!(format_ms(end));
    }
    if let Some(error) = &op.error {
        body["error"] = error.clone();
    }
    let mut response = json_response(StatusCode::OK, &body);
    if !op.status.is_terminal() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    }
    Ok(response)
}

/// The operation result (`Location` poll): 202 while running, then the synchronous answer.
pub fn result_response(store: &Store, op_id: &str, base: &str, api_version: &str) -> Result<Response, ArmError> {
    let op = store.operation(op_id).ok_or_else(|| ArmError::OperationNotFound(op_id.to_string()))?;
    match op.status {
        OpStatus::InProgress => {
            let mut response = StatusCode::ACCEPTED.into_response();
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&result_url(base, op, api_version)) {
                headers.insert(header::LOCATION, v);
            }
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
            Ok(response)
        }
        OpStatus::Succeeded => match (&op.action, store.get(&op.resource_id)) {
            (OpAction::Action(_), _) => Ok(op
                .result
                .as_ref()
                .map_or_else(|| StatusCode::OK.into_response(), |b| json_response(StatusCode::OK, b))),
            (OpAction::Delete, _) | (_, None) => Ok(StatusCode::OK.into_response()),
            (_, Some(resource)) => Ok(json_response(StatusCode::OK, &resource.body)),
        },
        OpStatus::Failed | OpStatus::Canceled => {
            let error = op.error.clone().unwrap_or_else(injected_failure);
            Ok(json_response(StatusCode::CONFLICT, &json!({ "error": error })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisioning_state_and_times() {
        let mut v = json!({"properties": {"a": 1}});
        set_provisioning_state(&mut v, "Creating");
        assert_eq!(v["properties"]["provisioningState"], "Creating");
        assert_eq!(v["properties"]["a"], 1);
        let mut v = json!({});
        set_provisioning_state(&mut v, "Succeeded");
        assert_eq!(v["properties"]["provisioningState"], "Succeeded");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ms(1_500), "1970-01-01T00:00:01.5Z");
    }
}
