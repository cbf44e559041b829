//! `Microsoft.Authorization/permissions`, api-version 2022-04-01 (`authorization-RoleDefinitionsCalls.json`):
//! `Permissions_ListForResourceGroup` (`GET /subscriptions/{s}/resourcegroups/{g}/providers/Microsoft.Authorization/permissions`)
//! and `Permissions_ListForResource` (`GET {resource id}/providers/Microsoft.Authorization/permissions`).
//!
//! Both answer `{"value": [{actions, notActions, dataActions, notDataActions}, …]}`: the permission blocks of
//! the caller's role assignments at the group (resource) or above, one per block of each assignment's role
//! ([`crate::authz::permissions_at`]). A group that does not exist is 404 `ResourceGroupNotFound`, a
//! resource of an emulated type that does not exist its kind's 404.
//!
//! Caveat: the request itself is not authorized (any authenticated caller may list what it may do).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::arm::crud::check_parents;
use crate::arm::endpoint::{Endpoint, Request};
use crate::arm::error::{json_response, ArmError};
use crate::arm::path::segments;
use crate::authz;

/// The permissions routes (the group's first; a resource's is any deeper scope in a group).
pub static ENDPOINT: Endpoint = Endpoint {
    name: "permissions",
    patterns: &[
        "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Authorization/permissions",
        "{scope}/providers/Microsoft.Authorization/permissions",
    ],
    resource_type: "Microsoft.Authorization/permissions",
    api_versions: &["2022-04-01"],
    handle,
};

/// The scope of the request: the group, or a resource within a group.
fn scope(request: &Request<'_>) -> Result<String, ArmError> {
    if request.captures.scope.is_none() {
        let (s, g) = (request.captures.get("subscriptionId"), request.captures.get("resourceGroupName"));
        return Ok(format!("/subscriptions/{s}/resourceGroups/{g}"));
    }
    let scope = request.scope();
    let segs: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    let in_group = segs.len() >= 8
        && segs[0].eq_ignore_ascii_case("subscriptions")
        && segs[2].eq_ignore_ascii_case("resourceGroups")
        && segs[4].eq_ignore_ascii_case("providers");
    if in_group {
        Ok(scope.to_string())
    } else {
        Err(ArmError::InvalidResourceType(request.raw_path.to_string()))
    }
}

fn handle(request: &Request<'_>) -> Result<Response, ArmError> {
    if request.method != Method::GET {
        return Err(request.method_not_allowed());
    }
    let scope = scope(request)?;
    let app = request.call.app;
    let principal = match &request.call.caller {
        Some(caller) => caller.oid.clone(),
        None => authz::caller::principal_id(&app.config.client_id),
    };
    let blocks = app.state.read(|store| {
        check_parents(store, &app.registry, &scope)?;
        let missing = app.registry.item(&segments(&scope)).filter(|target| store.get(&target.id).is_none());
        match missing {
            Some(target) => Err(target.not_found()),
            None => Ok(authz::permissions_at(store, &principal, &scope)),
        }
    })?;
    Ok(json_response(StatusCode::OK, &json!({ "value": authz::permissions_json(&blocks) })))
}
