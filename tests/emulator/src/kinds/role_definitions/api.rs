//! The handlers of the role definition routes (see the module table in [`super`]).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::body::{parse, CustomRoleSpec};
use super::{all, custom_id, in_use, lookup, RoleDefinition, RoleDefinitionError, RoleType, KIND, RESOURCE_TYPE};
use crate::arm::crud::{check_parents, page, parse_body, timestamp};
use crate::arm::endpoint::Request;
use crate::arm::error::{json_response, ArmError};
use crate::arm::kind::subscription_and_group;
use crate::authz::request::{linked_denied, require};
use crate::authz::{self, permission::Operation};
use crate::kinds::is_guid;
use crate::state::{Resource, Store};

/// Answers a role definition request.
pub(super) fn handle(request: &Request<'_>) -> Result<Response, ArmError> {
    let item = request.pattern.ends_with("{roleDefinitionId}");
    match (item, request.method) {
        (true, &Method::GET) => get(request),
        (true, &Method::PUT) => put(request),
        (true, &Method::DELETE) => delete(request),
        (false, &Method::GET) => list(request),
        _ => Err(request.method_not_allowed()),
    }
}

/// The subscription a scope lies in (`None` at the root).
fn subscription_of(scope: &str) -> Option<String> {
    Some(subscription_and_group(scope).0).filter(|s| !s.is_empty())
}

/// Reads are authorized within a subscription; at the root any authenticated caller reads role definitions.
fn authorize_read(request: &Request<'_>) -> Result<(), ArmError> {
    match subscription_of(request.scope()) {
        Some(_) => require(request.call, &format!("{RESOURCE_TYPE}/read"), request.scope()),
        None => Ok(()),
    }
}

/// 404 when the scope is a resource group (or a known resource) that does not exist.
fn check_scope(request: &Request<'_>, store: &Store) -> Result<(), ArmError> {
    let registry = &request.call.app.registry;
    check_parents(store, registry, &format!("{}/providers/{RESOURCE_TYPE}/x", request.scope()))
}

fn guid(request: &Request<'_>) -> Result<String, ArmError> {
    let guid = request.captures.get("roleDefinitionId");
    if is_guid(guid) {
        Ok(guid.to_ascii_lowercase())
    } else {
        Err(RoleDefinitionError::InvalidId(guid.to_string()).into())
    }
}

fn get(request: &Request<'_>) -> Result<Response, ArmError> {
    authorize_read(request)?;
    let wanted = request.captures.get("roleDefinitionId");
    request.call.app.state.read(|store| {
        check_scope(request, store)?;
        let role = lookup(store, wanted).ok_or_else(|| RoleDefinitionError::NotFound(wanted.to_string()))?;
        Ok(json_response(StatusCode::OK, &role.body(subscription_of(request.scope()).as_deref())))
    })
}

/// `roleName eq '…'` and `type eq '…'` of a `$filter`, and whether it asks for `atScopeAndBelow()`.
#[derive(Debug, Default, PartialEq)]
struct Filter {
    role_name: Option<String>,
    role_type: Option<String>,
    below: bool,
}

fn filter(raw: &str) -> Filter {
    let quoted = |key: &str| {
        let lower = raw.to_ascii_lowercase();
        let i = lower.find(&format!("{key} eq '"))? + key.len() + 5;
        raw.get(i..)?.split('\'').next().map(str::to_string)
    };
    Filter { role_name: quoted("rolename"), role_type: quoted("type"), below: raw.contains("atScopeAndBelow()") }
}

fn listed(role: &RoleDefinition, scope: &str, filter: &Filter) -> bool {
    let at = scope.is_empty()
        || role.assignable_at(scope)
        || (filter.below && role.assignable_scopes.iter().any(|s| crate::arm::path::is_within(s, scope)));
    at && filter.role_name.as_ref().is_none_or(|n| n.eq_ignore_ascii_case(&role.role_name))
        && filter.role_type.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(role.role_type.as_str()))
}

fn list(request: &Request<'_>) -> Result<Response, ArmError> {
    authorize_read(request)?;
    let filter = filter(request.query.get("$filter").map(String::as_str).unwrap_or_default());
    let subscription = subscription_of(request.scope());
    let items: Vec<Value> = request.call.app.state.read(|store| {
        check_scope(request, store)?;
        Ok::<_, ArmError>(
            all(store)
                .iter()
                .filter(|r| listed(r, request.scope(), &filter))
                .map(|r| r.body(subscription.as_deref()))
                .collect(),
        )
    })?;
    Ok(page(request.call, items, request.query, request.raw_path, request.raw_query))
}

/// Whether `scope` may be an assignable scope of a custom role here: the subscription or one of its groups.
fn valid_assignable_scope(scope: &str, subscription: &str) -> bool {
    let segs: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [s, sub] => s.eq_ignore_ascii_case("subscriptions") && sub.eq_ignore_ascii_case(subscription),
        [s, sub, rg, name] => {
            s.eq_ignore_ascii_case("subscriptions")
                && sub.eq_ignore_ascii_case(subscription)
                && rg.eq_ignore_ascii_case("resourceGroups")
                && !name.is_empty()
        }
        _ => false,
    }
}

/// The caller needs roleDefinitions/write (or delete) on every assignable scope, which must be valid.
fn authorize_linked(request: &Request<'_>, action: &str, scopes: &[String]) -> Result<(), ArmError> {
    let Some(caller) = &request.call.caller else { return Ok(()) };
    let subscription = &request.call.app.config.subscription_id;
    let failing: Vec<String> = request.call.app.state.read(|store| {
        scopes
            .iter()
            .filter(|s| {
                !valid_assignable_scope(s, subscription)
                    || !authz::allows(store, &caller.oid, s, Operation::Action(action))
            })
            .cloned()
            .collect()
    });
    if failing.is_empty() {
        Ok(())
    } else {
        Err(linked_denied(&caller.oid, action, request.scope(), &failing))
    }
}

fn put(request: &Request<'_>) -> Result<Response, ArmError> {
    let action = format!("{RESOURCE_TYPE}/write");
    require(request.call, &action, request.scope())?;
    let guid = guid(request)?;
    let spec = parse(parse_body(request.body)?)?;
    authorize_linked(request, &action, &spec.assignable_scopes)?;
    if !spec.assignable_scopes.iter().any(|s| s.eq_ignore_ascii_case(request.scope())) {
        return Err(RoleDefinitionError::ScopeNotAssignable { guid, scope: request.scope().to_string() }.into());
    }
    let call = request.call;
    let subscription = subscription_of(request.scope()).unwrap_or_else(|| call.app.config.subscription_id.clone());
    call.app.state.write(|store| {
        check_scope(request, store)?;
        let existing = lookup(store, &guid);
        if existing.as_ref().is_some_and(|r| r.role_type == RoleType::BuiltIn) {
            return Err(RoleDefinitionError::BuiltIn(guid.clone()).into());
        }
        let taken = all(store).iter().any(|r| r.guid != guid && r.role_name.eq_ignore_ascii_case(&spec.role_name));
        if taken {
            return Err(RoleDefinitionError::SameNameExists.into());
        }
        let caller = call.caller.as_ref().map(|c| c.oid.clone());
        let id = existing.as_ref().and_then(|r| r.stored.as_ref()).and_then(|b| b["id"].as_str()).map(str::to_string);
        let id = id.unwrap_or_else(|| custom_id(&subscription, &guid));
        let body = stored_body(&id, &guid, &spec, existing.and_then(|r| r.stored), caller, call.now);
        store.insert(Resource { kind: KIND.to_string(), id, body: body.clone() });
        Ok(json_response(StatusCode::CREATED, &body))
    })
}

/// The stored custom role: the spec plus read-only properties (kept from `existing` on an update).
fn stored_body(
    id: &str,
    guid: &str,
    spec: &CustomRoleSpec,
    existing: Option<Value>,
    caller: Option<String>,
    now: time::OffsetDateTime,
) -> Value {
    let now = json!(timestamp(now));
    let kept = |key: &str, default: Value| {
        existing.as_ref().map(|b| b["properties"][key].clone()).filter(|v| !v.is_null()).unwrap_or(default)
    };
    let mut properties = json!({
        "roleName": spec.role_name,
        "type": RoleType::Custom.as_str(),
        "assignableScopes": spec.assignable_scopes,
        "permissions": spec.permissions.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
        "createdOn": kept("createdOn", now.clone()),
        "updatedOn": now,
        "createdBy": kept("createdBy", json!(caller)),
        "updatedBy": caller,
    });
    if let Some(description) = &spec.description {
        properties["description"] = json!(description);
    }
    json!({ "id": id, "name": guid, "type": RESOURCE_TYPE, "properties": properties })
}

fn delete(request: &Request<'_>) -> Result<Response, ArmError> {
    require(request.call, &format!("{RESOURCE_TYPE}/delete"), request.scope())?;
    let guid = guid(request)?;
    request.call.app.state.write(|store| {
        check_scope(request, store)?;
        let Some(role) = lookup(store, &guid) else { return Ok(StatusCode::NO_CONTENT.into_response()) };
        let Some(body) = role.stored else { return Err(RoleDefinitionError::BuiltIn(guid.clone()).into()) };
        if in_use(store, &guid) {
            return Err(RoleDefinitionError::HasAssignments.into());
        }
        if let Some(id) = body["id"].as_str() {
            store.remove_tree(id);
        }
        Ok(json_response(StatusCode::OK, &body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_scopes() {
        assert_eq!(
            filter("roleName eq 'Storage Blob Data Reader'"),
            Filter { role_name: Some("Storage Blob Data Reader".into()), role_type: None, below: false }
        );
        assert_eq!(filter("type eq 'CustomRole'").role_type.as_deref(), Some("CustomRole"));
        assert!(filter("atScopeAndBelow()").below);
        assert!(valid_assignable_scope("/subscriptions/S/resourceGroups/rg", "s"));
        assert!(valid_assignable_scope("/subscriptions/s", "s"));
        assert!(!valid_assignable_scope("/", "s"));
        assert!(!valid_assignable_scope("/subscriptions/other", "s"));
        assert!(!valid_assignable_scope(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
            "s"
        ));
    }
}
