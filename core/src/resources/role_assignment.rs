//! `Microsoft.Authorization/roleAssignments`: least-privilege grants of the Image Builder identity.

use serde::{Deserialize, Serialize};

pub const KIND: &str = "Microsoft.Authorization/roleAssignments";
pub const API_VERSION: &str = "2022-04-01";

/// Built-in role `Contributor`.
pub const CONTRIBUTOR: BuiltInRole = BuiltInRole { name: "Contributor", id: "b24988ac-6180-42a0-ab88-20f7382dd24c" };
/// Built-in role `Storage Blob Data Reader`.
pub const STORAGE_BLOB_DATA_READER: BuiltInRole =
    BuiltInRole { name: "Storage Blob Data Reader", id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1" };

/// A built-in Azure role: display name and role definition GUID (the same in every tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInRole {
    pub name: &'static str,
    pub id: &'static str,
}

impl BuiltInRole {
    /// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{id}`.
    pub fn definition_id(&self, subscription: &str) -> String {
        format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The assignment's name: a GUID derived from scope, role and principal, so a re-run addresses
/// the same assignment instead of creating a duplicate (ARM refuses a second assignment of the
/// same role to the same principal at the same scope with `RoleAssignmentExists`).
pub fn name(scope: &str, role: &BuiltInRole, principal: &str) -> String {
    let key = format!("{}|{}|{}", scope.to_lowercase(), role.id, principal.to_lowercase());
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

/// `<scope>/providers/Microsoft.Authorization/roleAssignments/<name>`.
pub fn id(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_guids_and_ignore_case_of_ids() {
        let a = name("/subscriptions/s/resourceGroups/RG", &CONTRIBUTOR, "/x/identity");
        let b = name("/subscriptions/s/resourcegroups/rg", &CONTRIBUTOR, "/X/IDENTITY");
        assert_eq!(a, b);
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 5);
        assert_ne!(a, name("/subscriptions/s/resourceGroups/RG", &STORAGE_BLOB_DATA_READER, "/x/identity"));
    }
}
