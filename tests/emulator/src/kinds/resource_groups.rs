//! `Microsoft.Resources/resourceGroups`, api-version 2024-07-01 (`resources.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate) | 201 created / 200 updated, synchronous |
//! | GET | 200 / 404 `ResourceGroupNotFound` |
//! | HEAD (CheckExistence) | 204 / 404 |
//! | PATCH (Update) | 200 |
//! | DELETE (LRO, `Location`) | 202 + `Location`, poll 202 then 200; 404 when missing; deletes everything in the group |
//! | LIST by subscription | 200 `{"value"}` |
//!
//! Caveat: `forceDeletionTypes` is accepted and ignored.

use serde_json::Value;

use super::name_rule;
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::Resource;

/// The resource group kind.
pub struct ResourceGroups;

static INFO: KindInfo = KindInfo {
    name: "resourceGroups",
    resource_type: "Microsoft.Resources/resourceGroups",
    api_versions: &["2024-07-01"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
    lists: &[ListRoute { pattern: "/subscriptions/{subscriptionId}/resourcegroups", filter: ListFilter::Children }],
    put: PutStyle::Sync,
    patch: PatchStyle::Sync,
    delete: DeleteStyle::Location,
    head: true,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &[],
};

const RULES: &[Rule] = &[
    Rule::Required("location"),
    Rule::Type("location", JsonType::String),
    Rule::Type("tags", JsonType::Object),
    Rule::Type("managedBy", JsonType::String),
    Rule::Type("properties", JsonType::Object),
];

impl ResourceKind for ResourceGroups {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// 1-90 characters: letters, digits, `-`, `_`, `.`, `(`, `)`; not ending in `.` (swagger pattern
    /// `^[-\w\._\(\)]+$`).
    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        let ok = !name.is_empty()
            && name.chars().count() <= 90
            && name.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c))
            && !name.ends_with('.');
        name_rule(ok, "InvalidResourceGroup", || {
            format!("The provided resource group name '{name}' has these invalid characters or length. The name can be 1-90 characters: letters, digits, '-', '.', '(', ')' or '_', and cannot end with a period.")
        })
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn build(&self, _target: &Target, _env: &Env<'_>, mut body: Value, _existing: Option<&Resource>) -> Value {
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "location" | "tags" | "managedBy" | "properties"));
        }
        body
    }

    fn not_found(&self, target: &Target) -> ArmError {
        ArmError::ResourceGroupNotFound(target.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_bodies() {
        assert!(ResourceGroups.validate_name("rg-agentpool_(dev).1").is_ok());
        assert!(ResourceGroups.validate_name("rg.").is_err());
        assert!(ResourceGroups.validate_name("a b").is_err());
        assert!(ResourceGroups.validate_name(&"a".repeat(91)).is_err());
        assert_eq!(ResourceGroups.validate(&mut json!({})), Err(ArmError::LocationRequired));
        assert!(ResourceGroups.validate(&mut json!({"location": "westeurope", "tags": {"a": "b"}})).is_ok());
    }
}
