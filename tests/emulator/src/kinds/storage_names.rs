//! `StorageAccounts_CheckNameAvailability` (storage.json, api-version 2023-05-01): POST
//! `/subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability` with `{"name", "type":
//! "Microsoft.Storage/storageAccounts"}`, answered 200 `{"nameAvailable": true}` or `{"nameAvailable": false,
//! "reason": "AccountNameInvalid" | "AlreadyExists", "message"}`: invalid as a storage account PUT would find
//! the name (the same message), taken when an account of that name exists anywhere in the emulator
//! (standing in for global uniqueness, as a PUT's 409 `StorageAccountAlreadyTaken` does).
//!
//! The caller needs `Microsoft.Storage/checknameavailability/read` on the subscription; a body without
//! `name` or with another `type` is 400 `InvalidRequestContent`.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::storage_accounts::StorageAccounts;
use crate::arm::crud::parse_body;
use crate::arm::endpoint::{Endpoint, Request};
use crate::arm::error::{json_response, ArmError};
use crate::arm::kind::ResourceKind;
use crate::authz::request::require;

/// The name check route.
pub static ENDPOINT: Endpoint = Endpoint {
    name: "storageCheckNameAvailability",
    patterns: &["/subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability"],
    resource_type: "Microsoft.Storage/checkNameAvailability",
    api_versions: &["2023-05-01"],
    handle,
};

fn handle(request: &Request<'_>) -> Result<Response, ArmError> {
    if request.method != Method::POST {
        return Err(request.method_not_allowed());
    }
    let subscription = format!("/subscriptions/{}", request.captures.get("subscriptionId"));
    require(request.call, "Microsoft.Storage/checknameavailability/read", &subscription)?;
    let body = parse_body(request.body)?;
    let name = body["name"].as_str().ok_or_else(|| ArmError::MissingRequiredProperty("name".into()))?;
    if body["type"] != "Microsoft.Storage/storageAccounts" {
        return Err(ArmError::InvalidRequestContent {
            message: "'type' must be 'Microsoft.Storage/storageAccounts'.".into(),
            target: Some("type".into()),
        });
    }
    let answer = answer(request, name);
    Ok(json_response(StatusCode::OK, &answer))
}

fn answer(request: &Request<'_>, name: &str) -> Value {
    if let Err(invalid) = StorageAccounts.validate_name(name) {
        return json!({"nameAvailable": false, "reason": "AccountNameInvalid", "message": invalid.to_string()});
    }
    let taken = request.call.app.state.read(|store| {
        store.resources().any(|r| r.kind == StorageAccounts.info().name && r.id.rsplit('/').next() == Some(name))
    });
    if taken {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The storage account named {name} is already taken.")})
    } else {
        json!({"nameAvailable": true})
    }
}
