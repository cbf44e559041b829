//! `Microsoft.ManagedIdentity/userAssignedIdentities`, api-version 2023-01-31 (`ManagedIdentity.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate) | 201 created / 200 updated, synchronous |
//! | GET | 200 / 404 |
//! | PATCH (Update) | 200 |
//! | DELETE | 200 / 204 when missing |
//! | LIST by group, by subscription | 200 `{"value"}` |
//!
//! `properties.tenantId`, `principalId` and `clientId` are read-only GUIDs made at creation and kept on
//! updates. Caveat: the principal does not exist in the emulated directory (no Graph).

use serde_json::{json, Value};

use super::{chars_ok, existing_at, name_rule};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::Resource;

/// The user-assigned identity kind.
pub struct UserAssignedIdentities;

static INFO: KindInfo = KindInfo {
    name: "userAssignedIdentities",
    resource_type: "Microsoft.ManagedIdentity/userAssignedIdentities",
    api_versions: &["2023-01-31"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            filter: ListFilter::Children,
        },
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            filter: ListFilter::Subscription,
        },
    ],
    put: PutStyle::Sync,
    patch: PatchStyle::Sync,
    delete: DeleteStyle::Sync { body: false },
    head: false,
    provisioning_state: false,
    nested_delete_blocked: false,
    actions: &[],
};

const RULES: &[Rule] =
    &[Rule::Required("location"), Rule::Type("location", JsonType::String), Rule::Type("tags", JsonType::Object)];

impl ResourceKind for UserAssignedIdentities {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// 3-128 characters: letters, digits, `-` and `_`, starting with a letter or digit.
    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        let ok = (3..=128).contains(&name.len())
            && chars_ok(name, &['-', '_'])
            && name.starts_with(|c: char| c.is_ascii_alphanumeric());
        name_rule(ok, "InvalidResourceName", || {
            format!("Resource name '{name}' is invalid. The name can be 3-128 characters: letters, digits, '-' and '_', starting with a letter or digit.")
        })
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn build(&self, _target: &Target, env: &Env<'_>, mut body: Value, existing: Option<&Resource>) -> Value {
        let keep = |path: &str| {
            existing_at(existing, path).cloned().unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()))
        };
        let properties = json!({
            "tenantId": env.config.tenant_id,
            "principalId": keep("properties.principalId"),
            "clientId": keep("properties.clientId"),
        });
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "location" | "tags"));
            map.insert("properties".into(), properties);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bodies() {
        assert!(UserAssignedIdentities.validate_name("id-agentpool_01").is_ok());
        assert!(UserAssignedIdentities.validate_name("-id").is_err());
        assert!(UserAssignedIdentities.validate_name("ab").is_err());
        assert_eq!(UserAssignedIdentities.validate(&mut json!({"tags": {}})), Err(ArmError::LocationRequired));
    }
}
