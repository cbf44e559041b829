//! Generic GET / HEAD / PUT / PATCH / DELETE / LIST over any [`ResourceKind`](super::kind::ResourceKind),
//! answering exactly the status codes its [`KindInfo`] declares from the swagger.
//!
//! Order of checks, as ARM does them: route and api-version (in `arm::handle`), then the resource group
//! (404 `ResourceGroupNotFound`), then parents (404 `ParentResourceNotFound`), then the name and the body
//! (400), then state checks (409), then the write.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::{json_response, ArmError};
use super::kind::{
    ActionCall, ActionReply, DeleteStyle, Env, KindInfo, ListRequest, PatchStyle, PutStyle, Registry, Target,
};
use super::lro::{self, Start};
use super::path;
use crate::app::App;
use crate::entra::Claims;
use crate::state::{OpAction, Resource, Store};

/// Response extension: answer this many milliseconds late (`--latency-ms` of a synchronous write); the write
/// itself is already done. [`super::handle`] waits, outside the state lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLatency(pub u64);

/// Marks a synchronous write's answer with the kind's `--latency-ms`, if any.
fn late(call: &Call<'_>, info: &KindInfo, mut response: Response) -> Response {
    if let Some(ms) = call.app.config.latency_of(info) {
        response.extensions_mut().insert(SyncLatency(ms));
    }
    response
}

/// One ARM call, as the generic handlers see it.
pub struct Call<'a> {
    pub app: &'a App,
    /// `https://host` the client used.
    pub base: String,
    pub api_version: String,
    pub caller: Option<Claims>,
    /// Whether an LRO started by this call ends Failed (fault injection).
    pub fail_lro: bool,
    pub now: OffsetDateTime,
}

impl Call<'_> {
    fn env(&self) -> Env<'_> {
        Env { config: &self.app.config, now: self.now, caller: self.caller.as_ref() }
    }

    fn now_ms(&self) -> i64 {
        lro::now_ms(self.now)
    }
}

/// 404 for the first missing ancestor: the resource group, then parents (extension scopes included).
pub fn check_parents(store: &Store, registry: &Registry, id: &str) -> Result<(), ArmError> {
    let segs = path::segments(id);
    let mut len = 4;
    while len < segs.len() {
        if let Some(parent) = registry.item(&segs[..len]) {
            if store.get(&parent.id).is_none() {
                return Err(if len == 4 && parent.resource_group.is_some() {
                    ArmError::ResourceGroupNotFound(parent.name)
                } else {
                    ArmError::ParentResourceNotFound(parent.name)
                });
            }
        }
        len += 2;
    }
    Ok(())
}

/// The target with the id (and name) casing of the existing resource: ARM keeps the casing of creation.
fn keep_casing(target: &Target, existing: Option<&Resource>) -> Target {
    let mut target = target.clone();
    if let Some(existing) = existing {
        target.id = existing.id.clone();
        target.name = existing.id.rsplit('/').next().unwrap_or_default().to_string();
    }
    target
}

/// Normalized ARM location: lower case without spaces (`West US` → `westus`), as ARM returns it.
pub fn normalize_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
}

/// The stored shape: `id`, `name`, `type` first, then the rest; location normalized.
pub fn finish(target: &Target, info: &KindInfo, built: Value) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(target.id));
    out.insert("name".into(), json!(target.name));
    out.insert("type".into(), json!(info.resource_type));
    if let Value::Object(map) = built {
        for (k, v) in map {
            if matches!(k.as_str(), "id" | "name" | "type") {
                continue;
            }
            let v = match (k.as_str(), v) {
                ("location", Value::String(l)) => Value::String(normalize_location(&l)),
                (_, v) => v,
            };
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// The JSON of a request body (`{}` when empty).
pub fn parse_body(bytes: &[u8]) -> Result<Value, ArmError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| ArmError::InvalidRequestContent { message: e.to_string(), target: None })
}

fn location_of(store: &Store, target: &Target, body: &Value) -> String {
    body.get("location")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let rg = target.resource_group.as_ref()?;
            let rg_id = format!("/subscriptions/{}/resourceGroups/{rg}", target.subscription);
            store.get(&rg_id)?.body.get("location")?.as_str().map(str::to_string)
        })
        .unwrap_or_else(|| "global".into())
}

fn with_headers(mut response: Response, headers: &[(header::HeaderName, String)]) -> Response {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name.clone(), v);
        }
    }
    response
}

fn async_operation_header() -> header::HeaderName {
    header::HeaderName::from_static("azure-asyncoperation")
}

/// GET of one resource.
pub fn get(call: &Call<'_>, target: &Target) -> Result<Response, ArmError> {
    call.app.state.read(|store| {
        check_parents(store, &call.app.registry, &target.id)?;
        let resource = store.get(&target.id).ok_or_else(|| target.not_found())?;
        Ok(json_response(StatusCode::OK, &resource.body))
    })
}

/// HEAD (check existence): 204 or 404 without body.
pub fn head(call: &Call<'_>, target: &Target) -> Result<Response, ArmError> {
    if !target.kind.info().head {
        return Err(ArmError::MethodNotAllowed("HEAD".into()));
    }
    let exists = call.app.state.read(|store| store.get(&target.id).is_some());
    Ok(if exists { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }.into_response())
}

/// PUT (create or replace).
pub fn put(call: &Call<'_>, target: &Target, bytes: &[u8]) -> Result<Response, ArmError> {
    let kind = target.kind;
    let info = kind.info();
    if info.put == PutStyle::Unsupported {
        return Err(ArmError::MethodNotAllowed("PUT".into()));
    }
    let registry = &call.app.registry;
    call.app.state.write(|store| {
        check_parents(store, registry, &target.id)?;
        kind.validate_name(&target.name)?;
        let mut body = parse_body(bytes)?;
        kind.validate(&mut body)?;
        crate::authz::linked::require(call, store, target, &kind.linked_access(&body))?;
        lro::settle(store, registry, &target.id, &call.env());
        let existing = store.get(&target.id).cloned();
        let target = &keep_casing(target, existing.as_ref());
        kind.check(target, &body, existing.as_ref(), store)?;
        if let Some(existing) = &existing {
            kind.check_put(target, &body, existing, store)?;
        }
        let mut built = finish(target, info, kind.build(target, &call.env(), body, existing.as_ref()));
        kind.resolve(target, &mut built, store);
        write_resource(call, store, target, built, existing.is_some(), info.put)
    })
}

/// Creates or replaces a resource without HTTP, for emulated services acting inside Azure (e.g. Image
/// Builder distributing an image version): the same name, body, parent and state checks as a PUT, but the
/// resource is stored `Succeeded` at once and no operation is recorded.
pub fn upsert_internal(app: &App, target: &Target, mut body: Value, now: OffsetDateTime) -> Result<Value, ArmError> {
    let kind = target.kind;
    let info = kind.info();
    let env = Env::internal(&app.config, now);
    app.state.write(|store| {
        lro::advance(store, &app.registry, &env);
        check_parents(store, &app.registry, &target.id)?;
        kind.validate_name(&target.name)?;
        kind.validate(&mut body)?;
        lro::settle(store, &app.registry, &target.id, &env);
        let existing = store.get(&target.id).cloned();
        let target = &keep_casing(target, existing.as_ref());
        kind.check(target, &body, existing.as_ref(), store)?;
        let mut built = finish(target, info, kind.build(target, &env, body, existing.as_ref()));
        kind.resolve(target, &mut built, store);
        if info.provisioning_state {
            lro::set_provisioning_state(&mut built, "Succeeded");
        }
        store.insert(Resource { kind: info.name.to_string(), id: target.id.clone(), body: built.clone() });
        lro::provisioned(store, &app.registry, &env, &target.id);
        Ok(built)
    })
}

/// PATCH: the body applied to the resource ([`apply_patch`]), then validated like a PUT.
pub fn patch(call: &Call<'_>, target: &Target, bytes: &[u8]) -> Result<Response, ArmError> {
    let kind = target.kind;
    let info = kind.info();
    let style = match info.patch {
        PatchStyle::Unsupported => return Err(ArmError::MethodNotAllowed("PATCH".into())),
        PatchStyle::Sync | PatchStyle::TagsOnly => PutStyle::Sync,
        PatchStyle::AsyncOperation => PutStyle::AsyncOperation,
    };
    let registry = &call.app.registry;
    call.app.state.write(|store| {
        check_parents(store, registry, &target.id)?;
        let patch = parse_body(bytes)?;
        if !patch.is_object() {
            return Err(ArmError::InvalidRequestContent {
                message: "the patch must be a JSON object.".into(),
                target: None,
            });
        }
        lro::settle(store, registry, &target.id, &call.env());
        let existing = store.get(&target.id).cloned().ok_or_else(|| target.not_found())?;
        let target = &keep_casing(target, Some(&existing));
        let mut body = existing.body.clone();
        if info.patch == PatchStyle::TagsOnly {
            if let (Some(tags), Some(map)) = (patch.get("tags"), body.as_object_mut()) {
                map.insert("tags".into(), tags.clone());
            }
        } else {
            crate::authz::linked::require(call, store, target, &kind.linked_access(&patch))?;
            apply_patch(&mut body, &patch);
        }
        kind.validate(&mut body)?;
        kind.check(target, &body, Some(&existing), store)?;
        let mut built = finish(target, info, kind.build(target, &call.env(), body, Some(&existing)));
        kind.resolve(target, &mut built, store);
        write_resource(call, store, target, built, true, style)
    })
}

/// A PATCH as Resource Manager applies it: a JSON merge of the body, except that `tags`, when
/// given, replace all the tags (resource-api-reference.md: a PATCH sending tag3 to a resource with
/// tag1 and tag2 leaves tag3 alone).
pub fn apply_patch(resource: &mut Value, patch: &Value) {
    merge_patch(resource, patch);
    if let (Some(tags), Some(map)) = (patch.get("tags"), resource.as_object_mut()) {
        map.insert("tags".to_owned(), tags.clone());
    }
}

/// RFC 7396 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(map) = target {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn write_resource(
    call: &Call<'_>,
    store: &mut Store,
    target: &Target,
    mut body: Value,
    exists: bool,
    style: PutStyle,
) -> Result<Response, ArmError> {
    let info = target.kind.info();
    let sync_status = if exists { StatusCode::OK } else { StatusCode::CREATED };
    let resource = |body: Value| Resource { kind: info.name.to_string(), id: target.id.clone(), body };
    let location = location_of(store, target, &body);
    let start = |store: &mut Store, action, pending| {
        lro::start(
            store,
            Start {
                target,
                action,
                fail: call.fail_lro,
                pending,
                location: &location,
                now_ms: call.now_ms(),
                delay_ms: call.app.config.lro_delay_for(info),
            },
        )
    };
    match style {
        PutStyle::Unsupported => Err(ArmError::MethodNotAllowed("PUT".into())),
        PutStyle::Sync => {
            if info.provisioning_state {
                lro::set_provisioning_state(&mut body, "Succeeded");
            }
            store.insert(resource(body.clone()));
            lro::provisioned(store, &call.app.registry, &call.env(), &target.id);
            Ok(late(call, info, json_response(sync_status, &body)))
        }
        PutStyle::LocationOnCreate if exists => {
            lro::set_provisioning_state(&mut body, "Succeeded");
            store.insert(resource(body.clone()));
            lro::provisioned(store, &call.app.registry, &call.env(), &target.id);
            Ok(late(call, info, json_response(StatusCode::OK, &body)))
        }
        PutStyle::LocationOnCreate => {
            lro::set_provisioning_state(&mut body, "Creating");
            let op = start(store, OpAction::Create, Some(body.clone()));
            let url = lro::result_url(&call.base, &op, &call.api_version);
            Ok(with_headers(
                StatusCode::ACCEPTED.into_response(),
                &[(header::LOCATION, url), (header::RETRY_AFTER, lro::RETRY_AFTER.into())],
            ))
        }
        PutStyle::AsyncOperation => {
            lro::set_provisioning_state(&mut body, if exists { "Updating" } else { target.kind.creating_state() });
            store.insert(resource(body.clone()));
            let action = if exists { OpAction::Update } else { OpAction::Create };
            let op = start(store, action, None);
            let url = lro::status_url(&call.base, &op, &call.api_version);
            Ok(with_headers(
                json_response(sync_status, &body),
                &[(async_operation_header(), url), (header::RETRY_AFTER, lro::RETRY_AFTER.into())],
            ))
        }
    }
}

/// DELETE.
pub fn delete(call: &Call<'_>, target: &Target) -> Result<Response, ArmError> {
    let info = target.kind.info();
    if info.delete == DeleteStyle::Unsupported {
        return Err(ArmError::MethodNotAllowed("DELETE".into()));
    }
    let registry = &call.app.registry;
    call.app.state.write(|store| {
        check_parents(store, registry, &target.id)?;
        lro::settle(store, registry, &target.id, &call.env());
        let Some(existing) = store.get(&target.id).cloned() else {
            return match info.delete {
                DeleteStyle::Location => Err(target.not_found()),
                _ => Ok(StatusCode::NO_CONTENT.into_response()),
            };
        };
        target.kind.check_delete(target, &existing, store)?;
        if info.nested_delete_blocked {
            let nested = store
                .descendants(&target.id)
                .any(|r| registry.kind(&r.kind).is_some_and(|k| !k.info().item.starts_with("{scope}")));
            if nested {
                return Err(ArmError::conflict(
                    "CannotDeleteResource",
                    format!("Can not delete resource '{}' before nested resources are deleted.", target.name),
                ));
            }
        }
        let start = |store: &mut Store| {
            if info.provisioning_state {
                if let Some(r) = store.get_mut(&target.id) {
                    lro::set_provisioning_state(&mut r.body, "Deleting");
                }
            }
            let location = location_of(store, target, &existing.body);
            lro::start(
                store,
                Start {
                    target,
                    action: OpAction::Delete,
                    fail: call.fail_lro,
                    pending: None,
                    location: &location,
                    now_ms: call.now_ms(),
                    delay_ms: call.app.config.lro_delay_for(info),
                },
            )
        };
        match info.delete {
            DeleteStyle::Unsupported => Err(ArmError::MethodNotAllowed("DELETE".into())),
            DeleteStyle::Sync { body } => {
                lro::delete_tree(store, registry, &call.env(), &target.id);
                let response =
                    if body { json_response(StatusCode::OK, &existing.body) } else { StatusCode::OK.into_response() };
                Ok(late(call, info, response))
            }
            DeleteStyle::AsyncOperation => {
                let op = start(store);
                Ok(with_headers(
                    StatusCode::ACCEPTED.into_response(),
                    &[
                        (async_operation_header(), lro::status_url(&call.base, &op, &call.api_version)),
                        (header::LOCATION, lro::result_url(&call.base, &op, &call.api_version)),
                        (header::RETRY_AFTER, lro::RETRY_AFTER.into()),
                    ],
                ))
            }
            DeleteStyle::Location => {
                let op = start(store);
                Ok(with_headers(
                    StatusCode::ACCEPTED.into_response(),
                    &[
                        (header::LOCATION, lro::result_url(&call.base, &op, &call.api_version)),
                        (header::RETRY_AFTER, lro::RETRY_AFTER.into()),
                    ],
                ))
            }
        }
    })
}

/// POST `{item}/{action}`: the kind answers, synchronously or as a long-running operation.
pub fn action(call: &Call<'_>, target: &Target, name: &str, bytes: &[u8]) -> Result<Response, ArmError> {
    let body = parse_body(bytes)?;
    let registry = &call.app.registry;
    call.app.state.write(|store| {
        check_parents(store, registry, &target.id)?;
        let resource = store.get(&target.id).cloned().ok_or_else(|| target.not_found())?;
        let target = &keep_casing(target, Some(&resource));
        let env = call.env();
        let reply = target.kind.action(&ActionCall { target, env: &env, name, body: &body }, &resource, store)?;
        match reply {
            ActionReply::Done { status, body: Some(body) } => Ok(json_response(status, &body)),
            ActionReply::Done { status, body: None } => Ok(status.into_response()),
            ActionReply::Accepted { async_operation, delay_ms } => {
                let location = location_of(store, target, &resource.body);
                let op = lro::start(
                    store,
                    Start {
                        target,
                        action: OpAction::Action(name.to_string()),
                        fail: call.fail_lro,
                        pending: None,
                        location: &location,
                        now_ms: call.now_ms(),
                        delay_ms: delay_ms.unwrap_or(call.app.config.lro_delay_for(target.kind.info())),
                    },
                );
                let mut headers = vec![
                    (header::LOCATION, lro::result_url(&call.base, &op, &call.api_version)),
                    (header::RETRY_AFTER, lro::RETRY_AFTER.to_string()),
                ];
                if async_operation {
                    headers.push((async_operation_header(), lro::status_url(&call.base, &op, &call.api_version)));
                }
                Ok(with_headers(StatusCode::ACCEPTED.into_response(), &headers))
            }
        }
    })
}

/// LIST: `{"value":[...]}`, `nextLink` only when more pages follow (`$skiptoken` = offset).
pub fn list(call: &Call<'_>, request: &ListRequest, raw_path: &str, raw_query: &str) -> Result<Response, ArmError> {
    let items = call.app.state.read(|store| {
        check_parents(store, &call.app.registry, &request.path)?;
        Ok::<_, ArmError>(store.resources().filter(|r| request.matches(r)).map(|r| r.body.clone()).collect())
    })?;
    Ok(page(call, items, &request.query, raw_path, raw_query))
}

/// One page of `items` (`--page-size`, from the `$skiptoken` offset of `query`) as `{"value"}`, with a
/// `nextLink` on the client's host only when more pages follow.
pub fn page(
    call: &Call<'_>,
    items: Vec<Value>,
    query: &std::collections::BTreeMap<String, String>,
    raw_path: &str,
    raw_query: &str,
) -> Response {
    let page_size = call.app.config.page_size as usize;
    let skip: usize = query.get("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
    let more = items.len() > skip + page_size;
    let page: Vec<Value> = items.into_iter().skip(skip).take(page_size).collect();
    let mut body = json!({ "value": page });
    if more {
        let mut query: Vec<&str> = raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let name = p.split('=').next().unwrap_or("");
                !path::percent_decode(name).eq_ignore_ascii_case("$skiptoken")
            })
            .collect();
        let token = format!("$skiptoken={}", skip + page_size);
        query.push(&token);
        body["nextLink"] = json!(format!("{}{raw_path}?{}", call.base, query.join("&")));
    }
    json_response(StatusCode::OK, &body)
}

/// RFC 3339 now, for read-only timestamps.
pub fn timestamp(now: OffsetDateTime) -> String {
    now.format(&Rfc3339).unwrap_or_default()
}

/// Adds ARM's request-id headers.
pub fn add_request_ids(headers: &mut HeaderMap, correlation: Option<&HeaderValue>) {
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-ms-request-id", v.clone());
        headers.insert("x-ms-routing-request-id", v.clone());
        headers.insert("x-ms-correlation-request-id", correlation.cloned().unwrap_or(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_rfc7396() {
        let mut t = json!({"a": 1, "tags": {"x": "1", "y": "2"}, "p": {"q": 1}});
        merge_patch(&mut t, &json!({"tags": {"x": null, "z": "3"}, "p": 5}));
        assert_eq!(t, json!({"a": 1, "tags": {"y": "2", "z": "3"}, "p": 5}));
        apply_patch(&mut t, &json!({"tags": {"tag3": "c"}, "p": 6}));
        assert_eq!(t, json!({"a": 1, "tags": {"tag3": "c"}, "p": 6}), "a patch's tags replace them all");
    }

    #[test]
    fn locations_and_bodies() {
        assert_eq!(normalize_location("West US 2"), "westus2");
        assert_eq!(parse_body(b"  ").unwrap(), json!({}));
        assert_eq!(parse_body(b"{bad").unwrap_err().code(), "InvalidRequestContent");
    }
}
