//! `Microsoft.Authorization/roleAssignments`: the Image Builder identity's grants, one role at one
//! scope each.

use serde::{Deserialize, Serialize};

pub static KIND: Kind = Kind {
    update: Update::Replace,
    replication_lag_codes: &["RoleDefinitionDoesNotExist"],
    ..kind::arm(
        "Microsoft.Authorization/roleAssignments",
        "2022-04-01",
        "azure-rest-api-specs/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json",
        "role assignment",
    )
};

pub use super::built_in_roles::{BuiltInRole, CONTRIBUTOR, STORAGE_BLOB_DATA_READER};
use super::kind::{self, Kind, Update};

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

/// The assignment's name: a GUID derived from scope, role (the role definition's GUID) and
/// principal, so a re-run addresses the same assignment instead of creating a duplicate (ARM
/// refuses a second assignment of the same role to the same principal at the same scope with
/// `RoleAssignmentExists`).
pub fn name(scope: &str, role_guid: &str, principal: &str) -> String {
    let key = format!("{}|{}|{}", scope.to_lowercase(), role_guid.to_lowercase(), principal.to_lowercase());
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
        let a = name("/subscriptions/s/resourceGroups/RG", CONTRIBUTOR.id, "/x/identity");
        let b = name("/subscriptions/s/resourcegroups/rg", CONTRIBUTOR.id, "/X/IDENTITY");
        assert_eq!(a, b);
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 5);
        assert_ne!(a, name("/subscriptions/s/resourceGroups/RG", STORAGE_BLOB_DATA_READER.id, "/x/identity"));
        // The key is unchanged from earlier releases, so existing assignments keep their names.
        assert_eq!(
            name("/subscriptions/s/resourceGroups/rg", CONTRIBUTOR.id, "/x/identity"),
            uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_URL,
                b"/subscriptions/s/resourcegroups/rg|b24988ac-6180-42a0-ab88-20f7382dd24c|/x/identity"
            )
            .to_string()
        );
    }
}
