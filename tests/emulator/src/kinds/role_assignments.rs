//! `Microsoft.Authorization/roleAssignments`, api-version 2022-04-01 (`authorization-RoleAssignmentsCalls.json`),
//! at any scope: `{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}`.
//!
//! | operation | answers |
//! |---|---|
//! | PUT (Create) | 201 created / 200 when the same assignment exists under that name; 400 `InvalidRoleAssignmentId` (name not a GUID); 400 `RoleDefinitionDoesNotExist` (no built-in or custom role with that GUID); 400 `RoleAssignmentScopeNotAssignableToRoleDefinition` (the scope is outside the role's assignable scopes); 409 `RoleAssignmentExists` (same principal, role and scope under another name); 409 `RoleAssignmentUpdateNotPermitted` (other principal or role under that name) |
//! | GET | 200 / 404 `RoleAssignmentNotFound` |
//! | DELETE | 200 with the deleted assignment / 204 when missing |
//! | LIST for scope (and for subscription, group, resource) | 200 `{"value"}`: assignments at, above and below the scope; `$filter=atScope()` at or above; `principalId eq '{id}'` / `assignedTo('{id}')` for one principal |
//!
//! The scope must exist when it is a resource group or a resource the emulator knows (404 otherwise). The
//! role definition is resolved by GUID whatever the scope of its id ([`role_definitions::lookup`]); a missing
//! one is answered as ARM answers it, "The specified role definition with ID '{guid}' does not exist." (the
//! GUID without hyphens, as ARM prints it). `RoleAssignmentScopeNotAssignableToRoleDefinition` is ARM's code
//! for an assignment outside the role's assignable scopes (reported by users of custom roles); its message
//! here is the emulator's.
//! Caveats: principals are not checked against a directory (real ARM may answer 400 `PrincipalNotFound`
//! for a principal that is not replicated yet); no group membership expansion for `assignedTo`.

use serde_json::{json, Value};

use super::role_definitions::{self, guid_of as role_guid};
use super::{existing_at, is_guid, object};
use crate::arm::crud::timestamp;
use crate::arm::error::ArmError;
use crate::arm::kind::{
    DeleteStyle, Env, KindInfo, ListFilter, ListRequest, ListRoute, PatchStyle, PutStyle, ResourceKind, Target,
};
use crate::arm::path::is_within;
use crate::arm::validate::{check, JsonType, Rule};
use crate::entra::object_id_of;
use crate::state::{Resource, Store};

/// The role assignment kind.
pub struct RoleAssignments;

static INFO: KindInfo = KindInfo {
    name: "roleAssignments",
    resource_type: "Microsoft.Authorization/roleAssignments",
    api_versions: &["2022-04-01"],
    item: "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
    lists: &[ListRoute {
        pattern: "{scope}/providers/Microsoft.Authorization/roleAssignments",
        filter: ListFilter::Custom,
    }],
    put: PutStyle::Sync,
    patch: PatchStyle::Unsupported,
    delete: DeleteStyle::Sync { body: true },
    head: false,
    provisioning_state: false,
    nested_delete_blocked: false,
    actions: &[],
};

const RULES: &[Rule] = &[
    Rule::Required("properties"),
    Rule::Required("properties.roleDefinitionId"),
    Rule::Type("properties.roleDefinitionId", JsonType::String),
    Rule::Required("properties.principalId"),
    Rule::Type("properties.principalId", JsonType::String),
    Rule::Enum("properties.principalType", &["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"]),
    Rule::Type("properties.description", JsonType::String),
    Rule::Type("properties.condition", JsonType::String),
    Rule::Type("properties.conditionVersion", JsonType::String),
];

fn prop<'a>(body: &'a Value, name: &str) -> &'a str {
    body["properties"][name].as_str().unwrap_or_default()
}

impl ResourceKind for RoleAssignments {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        if is_guid(name) {
            Ok(())
        } else {
            Err(ArmError::bad_request(
                "InvalidRoleAssignmentId",
                format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
            ))
        }
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)?;
        let role = prop(body, "roleDefinitionId");
        if role_guid(role).is_none() {
            return Err(ArmError::bad_request(
                "InvalidRoleDefinitionId",
                format!("The role definition ID '{role}' is not valid."),
            ));
        }
        let principal = prop(body, "principalId");
        if !is_guid(principal) {
            return Err(ArmError::bad_request(
                "InvalidPrincipalId",
                format!("The principal ID '{principal}' is not valid. It must be a GUID."),
            ));
        }
        Ok(())
    }

    fn check(&self, target: &Target, body: &Value, existing: Option<&Resource>, store: &Store) -> Result<(), ArmError> {
        let scope = target.captures.scope.as_deref().unwrap_or_default();
        let role = role_guid(prop(body, "roleDefinitionId"));
        let principal = prop(body, "principalId");
        let guid = role.clone().unwrap_or_default();
        let Some(definition) = role_definitions::lookup(store, &guid) else {
            return Err(ArmError::bad_request(
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{}' does not exist.", guid.replace('-', "")),
            ));
        };
        if !definition.assignable_at(scope) {
            return Err(ArmError::bad_request(
                "RoleAssignmentScopeNotAssignableToRoleDefinition",
                format!(
                    "The role definition '{guid}' ('{}') is not available for assignment at scope '{scope}': its assignable scopes are '{}'.",
                    definition.role_name,
                    definition.assignable_scopes.join("', '")
                ),
            ));
        }
        if let Some(existing) = existing {
            let same = role_guid(prop(&existing.body, "roleDefinitionId")) == role
                && prop(&existing.body, "principalId").eq_ignore_ascii_case(principal);
            if !same {
                return Err(ArmError::conflict(
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                ));
            }
            return Ok(());
        }
        let duplicate = store.resources().any(|r| {
            r.kind == INFO.name
                && prop(&r.body, "scope").eq_ignore_ascii_case(scope)
                && prop(&r.body, "principalId").eq_ignore_ascii_case(principal)
                && role_guid(prop(&r.body, "roleDefinitionId")) == role
        });
        if duplicate {
            return Err(ArmError::conflict("RoleAssignmentExists", "The role assignment already exists."));
        }
        Ok(())
    }

    fn build(&self, target: &Target, env: &Env<'_>, mut body: Value, existing: Option<&Resource>) -> Value {
        let caller = env.caller.map(|c| c.oid.clone()).unwrap_or_else(|| object_id_of(&env.config.client_id));
        let now = json!(timestamp(env.now));
        let created_on = existing_at(existing, "properties.createdOn").cloned().unwrap_or_else(|| now.clone());
        let created_by = existing_at(existing, "properties.createdBy").cloned().unwrap_or_else(|| json!(caller));
        let updated_on = existing_at(existing, "properties.updatedOn").cloned().unwrap_or(now);
        let updated_by = existing_at(existing, "properties.updatedBy").cloned().unwrap_or_else(|| json!(caller));
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| k == "properties");
        }
        let props = object(&mut body, "properties");
        props.retain(|k, _| {
            matches!(
                k.as_str(),
                "roleDefinitionId"
                    | "principalId"
                    | "principalType"
                    | "description"
                    | "condition"
                    | "conditionVersion"
                    | "delegatedManagedIdentityResourceId"
            )
        });
        super::default(props, "principalType", json!("ServicePrincipal"));
        props.insert("scope".into(), json!(target.captures.scope.clone().unwrap_or_default()));
        props.insert("createdOn".into(), created_on);
        props.insert("updatedOn".into(), updated_on);
        props.insert("createdBy".into(), created_by);
        props.insert("updatedBy".into(), updated_by);
        body
    }

    fn not_found(&self, target: &Target) -> ArmError {
        ArmError::provider(
            axum::http::StatusCode::NOT_FOUND,
            "RoleAssignmentNotFound",
            format!("The role assignment '{}' is not found.", target.name),
        )
    }

    fn list_matches(&self, request: &ListRequest, item: &Resource) -> bool {
        let scope = request.captures.scope.as_deref().unwrap_or_default();
        let item_scope = prop(&item.body, "scope");
        let above = is_within(scope, item_scope);
        let below = is_within(item_scope, scope);
        let filter = request.query.get("$filter").map(String::as_str).unwrap_or("");
        let mut ok = if filter.contains("atScope()") { above } else { above || below };
        if let Some(principal) = filter_principal(filter) {
            ok &= prop(&item.body, "principalId").eq_ignore_ascii_case(&principal);
        }
        ok
    }
}

/// The principal of `principalId eq '{id}'` or `assignedTo('{id}')`.
fn filter_principal(filter: &str) -> Option<String> {
    let quoted = |rest: &str| rest.split('\'').nth(1).map(str::to_string);
    if let Some(i) = filter.find("principalId eq ") {
        return quoted(&filter[i..]);
    }
    filter.find("assignedTo(").and_then(|i| quoted(&filter[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(filter_principal("atScope() and principalId eq 'abc'"), Some("abc".into()));
        assert_eq!(filter_principal("assignedTo('x')"), Some("x".into()));
        assert_eq!(filter_principal("atScope()"), None);
    }

    #[test]
    fn validation() {
        assert_eq!(RoleAssignments.validate_name("not-a-guid").unwrap_err().code(), "InvalidRoleAssignmentId");
        let mut body = json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c", "principalId": "ce2ce14e-85d7-4629-bdbc-454d0519d987", "principalType": "serviceprincipal"}});
        RoleAssignments.validate(&mut body).unwrap();
        assert_eq!(body["properties"]["principalType"], "ServicePrincipal");
        let mut body = json!({"properties": {"roleDefinitionId": "Contributor", "principalId": "x"}});
        assert_eq!(RoleAssignments.validate(&mut body).unwrap_err().code(), "InvalidRoleDefinitionId");
    }
}
