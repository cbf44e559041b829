//! `Microsoft.Authorization/roleDefinitions`, api-version 2022-04-01 (`authorization-RoleDefinitionsCalls.json`):
//! the built-in roles ([`builtin`]) and custom roles, at any scope.
//!
//! | operation | answers |
//! |---|---|
//! | PUT `{scope}/…/roleDefinitions/{guid}` (CreateOrUpdate) | 201 with the role, created or updated in place (the swagger lists only 201); 400 `InvalidRoleDefinitionId`, `InvalidActionOrNotAction`, `InvalidRequestContent`, `InvalidCreateRoleDefinitionRequest`; 403 `AuthorizationFailed`, `LinkedAuthorizationFailed`; 409 `RoleDefinitionWithSameNameExists` |
//! | GET `{scope}/…/roleDefinitions/{guid}` | 200, at any scope (`""`, a subscription, a group, a resource) / 404 `RoleDefinitionDoesNotExist` |
//! | DELETE | 200 with the deleted role / 204 when missing; 409 `RoleDefinitionHasAssignments` |
//! | LIST `{scope}/…/roleDefinitions` | 200 `{"value"}`: built-in roles and the custom roles assignable at the scope (or below it with `$filter=atScopeAndBelow()`); `$filter=roleName eq '…'`, `type eq 'BuiltInRole'` / `'CustomRole'` |
//!
//! A custom role's id is `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}` whatever
//! the PUT scope (the swagger examples); a built-in role's id is at the subscription of the request, or at
//! the root for root-scope requests. Role definition ids are resolved by GUID everywhere ([`guid_of`],
//! [`lookup`]). Checks of a PUT, as ARM makes them ("Create or update Azure custom roles using the REST API"
//! and "Troubleshoot Azure RBAC", learn.microsoft.com/azure/role-based-access-control): the caller needs
//! `Microsoft.Authorization/roleDefinitions/write` at the scope and at every assignable scope (else
//! `LinkedAuthorizationFailed`, which also answers assignable scopes that are not a subscription or a
//! resource group of this subscription: custom roles cannot be assignable at `/`), every (data) action is an
//! operation string (`InvalidActionOrNotAction`, "'…' does not match any of the actions supported by the
//! providers."), the role name is unique in the tenant. Deleting a role that assignments use answers
//! `RoleDefinitionHasAssignments` ("There are existing role assignments referencing role").
//!
//! Caveats: operations are checked for shape only, not against the providers' catalog; the rule that the
//! PUT scope be one of the assignable scopes follows the REST guide ("replace {scope} with the first
//! assignableScopes") and its code and message (`InvalidCreateRoleDefinitionRequest`) are the emulator's,
//! as are the answers to a PUT or DELETE of a built-in role's GUID; management groups are not emulated.

mod api;
mod body;
pub mod builtin;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::arm::endpoint::Endpoint;
use crate::arm::error::ArmError;
use crate::authz::permission::{InvalidOperation, Permission};
use crate::kinds::is_guid;
use crate::state::{Resource, Store};

/// The ARM resource type.
pub const RESOURCE_TYPE: &str = "Microsoft.Authorization/roleDefinitions";
/// Registry name of stored custom roles (the store's `kind`).
pub const KIND: &str = "roleDefinitions";
/// Supported api-versions.
pub const API_VERSIONS: &[&str] = &["2022-04-01"];

/// The routes of role definitions.
pub static ENDPOINTS: Endpoint = Endpoint {
    name: "roleDefinitions",
    patterns: &[
        "{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
        "{scope}/providers/Microsoft.Authorization/roleDefinitions",
    ],
    resource_type: RESOURCE_TYPE,
    api_versions: API_VERSIONS,
    handle: api::handle,
};

/// Why a role definition request fails, each answered as ARM answers it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoleDefinitionError {
    #[error("The role definition ID '{0}' is not valid.")]
    InvalidId(String),
    #[error("The specified role definition with ID '{0}' does not exist.")]
    NotFound(String),
    #[error("A custom role with the same name already exists in this directory.")]
    SameNameExists,
    #[error("There are existing role assignments referencing role.")]
    HasAssignments,
    #[error("The role definition '{0}' is a built-in role, which cannot be changed or deleted.")]
    BuiltIn(String),
    #[error("The request to create role definition '{guid}' is not valid. The scope '{scope}' of the request must be one of the role's assignable scopes.")]
    ScopeNotAssignable { guid: String, scope: String },
    #[error(transparent)]
    InvalidOperation(#[from] InvalidOperation),
}

impl From<RoleDefinitionError> for ArmError {
    fn from(e: RoleDefinitionError) -> Self {
        use RoleDefinitionError::*;
        let (status, code) = match &e {
            InvalidId(_) | BuiltIn(_) => (StatusCode::BAD_REQUEST, "InvalidRoleDefinitionId"),
            NotFound(_) => (StatusCode::NOT_FOUND, "RoleDefinitionDoesNotExist"),
            SameNameExists => (StatusCode::CONFLICT, "RoleDefinitionWithSameNameExists"),
            HasAssignments => (StatusCode::CONFLICT, "RoleDefinitionHasAssignments"),
            ScopeNotAssignable { .. } => (StatusCode::BAD_REQUEST, "InvalidCreateRoleDefinitionRequest"),
            InvalidOperation(_) => (StatusCode::BAD_REQUEST, "InvalidActionOrNotAction"),
        };
        ArmError::provider(status, code, e.to_string())
    }
}

/// Built-in or custom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleType {
    BuiltIn,
    Custom,
}

impl RoleType {
    /// The wire name (`properties.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::BuiltIn => "BuiltInRole",
            RoleType::Custom => "CustomRole",
        }
    }
}

/// A role definition, built-in or custom.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDefinition {
    /// The name: a GUID, lower case.
    pub guid: String,
    pub role_name: String,
    pub role_type: RoleType,
    pub permissions: Vec<Permission>,
    pub assignable_scopes: Vec<String>,
    /// The stored resource of a custom role.
    pub stored: Option<Value>,
}

impl RoleDefinition {
    fn built_in(role: &builtin::BuiltInRole) -> Self {
        RoleDefinition {
            guid: role.id.to_string(),
            role_name: role.name.to_string(),
            role_type: RoleType::BuiltIn,
            permissions: vec![role.permission()],
            assignable_scopes: vec!["/".to_string()],
            stored: None,
        }
    }

    fn custom(resource: &Resource) -> Self {
        let props = &resource.body["properties"];
        let strings =
            |v: &Value| v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        RoleDefinition {
            guid: resource.id.rsplit('/').next().unwrap_or_default().to_ascii_lowercase(),
            role_name: props["roleName"].as_str().unwrap_or_default().to_string(),
            role_type: RoleType::Custom,
            permissions: props["permissions"].as_array().into_iter().flatten().map(Permission::from_json).collect(),
            assignable_scopes: strings(&props["assignableScopes"]),
            stored: Some(resource.body.clone()),
        }
    }

    /// Whether the role may be assigned at `scope` (one of its assignable scopes covers it).
    pub fn assignable_at(&self, scope: &str) -> bool {
        self.assignable_scopes.iter().any(|s| crate::authz::covers(s, scope))
    }

    /// The role as GET answers it, for a request under `subscription` (`None` at the root).
    pub fn body(&self, subscription: Option<&str>) -> Value {
        if let Some(stored) = &self.stored {
            return stored.clone();
        }
        let prefix = subscription.map(|s| format!("/subscriptions/{s}")).unwrap_or_default();
        let description = builtin::by_id(&self.guid).map(|r| r.description).unwrap_or_default();
        json!({
            "id": format!("{prefix}/providers/{RESOURCE_TYPE}/{}", self.guid),
            "name": self.guid,
            "type": RESOURCE_TYPE,
            "properties": {
                "roleName": self.role_name,
                "type": self.role_type.as_str(),
                "description": description,
                "assignableScopes": self.assignable_scopes,
                "permissions": self.permissions.iter().map(Permission::to_json).collect::<Vec<_>>(),
            }
        })
    }
}

/// `/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}`: where a custom role
/// is stored, and the id to assign any role with.
pub fn custom_id(subscription: &str, guid: &str) -> String {
    format!("/subscriptions/{subscription}/providers/{RESOURCE_TYPE}/{guid}")
}

/// The GUID of a role definition id at any scope (`…/providers/Microsoft.Authorization/roleDefinitions/{guid}`),
/// lower case.
pub fn guid_of(role_definition_id: &str) -> Option<String> {
    let (prefix, guid) = role_definition_id.rsplit_once('/')?;
    (prefix.to_ascii_lowercase().ends_with("/providers/microsoft.authorization/roledefinitions") && is_guid(guid))
        .then(|| guid.to_ascii_lowercase())
}

fn stored(store: &Store) -> impl Iterator<Item = &Resource> {
    store.resources().filter(|r| r.kind == KIND)
}

/// The role definition with this GUID: a built-in role or a stored custom role.
pub fn lookup(store: &Store, guid: &str) -> Option<RoleDefinition> {
    if let Some(role) = builtin::by_id(guid) {
        return Some(RoleDefinition::built_in(role));
    }
    stored(store)
        .find(|r| r.id.rsplit('/').next().is_some_and(|g| g.eq_ignore_ascii_case(guid)))
        .map(RoleDefinition::custom)
}

/// Every role definition: the built-in roles, then the custom roles.
pub fn all(store: &Store) -> Vec<RoleDefinition> {
    builtin::BUILT_IN_ROLES
        .iter()
        .map(RoleDefinition::built_in)
        .chain(stored(store).map(RoleDefinition::custom))
        .collect()
}

/// Whether assignments use the role `guid`.
pub fn in_use(store: &Store, guid: &str) -> bool {
    store.resources().any(|r| {
        r.kind == "roleAssignments"
            && r.body["properties"]["roleDefinitionId"]
                .as_str()
                .and_then(guid_of)
                .is_some_and(|g| g.eq_ignore_ascii_case(guid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_resolve_by_guid_at_any_scope() {
        let guid = "b24988ac-6180-42a0-ab88-20f7382dd24c";
        for id in [
            format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            format!("/subscriptions/s/providers/microsoft.authorization/roledefinitions/{}", guid.to_uppercase()),
            format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        ] {
            assert_eq!(guid_of(&id).as_deref(), Some(guid), "{id}");
        }
        assert_eq!(guid_of("Contributor"), None);
        assert_eq!(guid_of("/providers/Microsoft.Authorization/roleDefinitions/not-a-guid"), None);
        let store = Store::default();
        let contributor = lookup(&store, &guid.to_uppercase()).unwrap();
        assert_eq!((contributor.role_name.as_str(), contributor.role_type), ("Contributor", RoleType::BuiltIn));
        assert!(contributor.assignable_at("/subscriptions/s/resourceGroups/rg"));
        let body = contributor.body(Some("s"));
        assert_eq!(body["id"], format!("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{guid}"));
        assert_eq!(body["properties"]["assignableScopes"], json!(["/"]));
        assert_eq!(contributor.body(None)["id"], format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"));
        assert!(lookup(&store, "b24988ac-6180-4239-a0b6-7bc3cbd6f6e8").is_none());
    }

    #[test]
    fn custom_roles_are_assignable_where_their_scopes_say() {
        let mut store = Store::default();
        let guid = "0b3f8ab0-0a3e-4f0e-9d4c-1e9a6c1f2d3b";
        crate::authz::tests::custom_role(
            &mut store,
            guid,
            "img",
            &["Microsoft.Compute/galleries/read"],
            "/subscriptions/s/resourceGroups/rg",
        );
        let role = lookup(&store, guid).unwrap();
        assert_eq!(role.role_type, RoleType::Custom);
        assert!(role.assignable_at("/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/galleries/g"));
        assert!(!role.assignable_at("/subscriptions/s"));
        assert!(!in_use(&store, guid));
        crate::authz::tests::assign(&mut store, "/subscriptions/s/resourceGroups/rg", "p", guid);
        assert!(in_use(&store, guid));
        assert_eq!(all(&store).len(), builtin::BUILT_IN_ROLES.len() + 1);
    }

    #[test]
    fn errors_answer_as_arm() {
        let e = ArmError::from(RoleDefinitionError::NotFound("x".into()));
        assert_eq!((e.status(), e.code()), (StatusCode::NOT_FOUND, "RoleDefinitionDoesNotExist"));
        let e = ArmError::from(RoleDefinitionError::SameNameExists);
        assert_eq!((e.status(), e.code()), (StatusCode::CONFLICT, "RoleDefinitionWithSameNameExists"));
        let e = ArmError::from(RoleDefinitionError::HasAssignments);
        assert_eq!(
            (e.status(), e.to_string().as_str()),
            (StatusCode::CONFLICT, "There are existing role assignments referencing role.")
        );
    }
}
