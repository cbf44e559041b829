//! Which built-in role to name when the deploying principal lacks an action: the permissions of
//! the built-in roles agentpool's advice names, narrowest first.
//!
//! Permissions are copied from the JSON of each role in Microsoft's built-in roles reference
//! (<https://learn.microsoft.com/azure/role-based-access-control/built-in-roles>; Privileged:
//! Owner, Contributor, Role Based Access Control Administrator, User Access Administrator;
//! Storage: Storage Blob Data Contributor, Storage Blob Data Owner, Storage Account Contributor;
//! Identity: Managed Identity Operator). Names and ids come from
//! [`crate::resources::built_in_roles`].
//!
//! # Caveats
//! - Only the actions the advice needs are decided here; Contributor's NotActions list carries the
//!   entries that matter to agentpool (`Microsoft.Authorization/*/Write` and `…/*/Delete`) and a
//!   few more, not necessarily all of today's.

use super::permissions::{PermissionBlock, Plane};
use crate::resources::built_in_roles::{self, BuiltInRole};

/// A built-in role with the permissions its definition lists.
#[derive(Debug, Clone, Copy)]
pub struct RolePermissions {
    pub role: BuiltInRole,
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
    pub data_actions: &'static [&'static str],
}

impl RolePermissions {
    pub fn block(&self) -> PermissionBlock {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        PermissionBlock {
            actions: strings(self.actions),
            not_actions: strings(self.not_actions),
            data_actions: strings(self.data_actions),
            not_data_actions: Vec::new(),
        }
    }
}

/// The roles advice may name, narrowest first; the first that allows an action is named.
pub const ADVISED: &[RolePermissions] = &[
    RolePermissions {
        role: built_in_roles::STORAGE_BLOB_DATA_CONTRIBUTOR,
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ],
    },
    RolePermissions {
        role: built_in_roles::MANAGED_IDENTITY_OPERATOR,
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Support/*",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RolePermissions {
        role: built_in_roles::ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR,
        actions: &[
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RolePermissions {
        role: built_in_roles::USER_ACCESS_ADMINISTRATOR,
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: &[],
        data_actions: &[],
    },
    RolePermissions {
        role: built_in_roles::STORAGE_BLOB_DATA_OWNER,
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/*",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    },
    RolePermissions {
        role: built_in_roles::CONTRIBUTOR,
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        data_actions: &[],
    },
    RolePermissions { role: built_in_roles::OWNER, actions: &["*"], not_actions: &[], data_actions: &[] },
];

/// The narrowest advised role that allows every one of `actions`, if any does (no built-in role
/// of the table grants every data action: Owner's `*` is control plane only).
pub fn narrowest_granting(actions: &[&str], plane: Plane) -> Option<BuiltInRole> {
    ADVISED
        .iter()
        .find(|role| {
            let block = role.block();
            actions.iter().all(|action| block.allows(action, plane))
        })
        .map(|role| role.role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_missing_action_names_the_narrowest_role_that_grants_it() {
        let name = |action: &str, plane| narrowest_granting(&[action], plane).map(|role| role.name);
        assert_eq!(
            name("Microsoft.Authorization/roleAssignments/write", Plane::Control),
            Some("Role Based Access Control Administrator")
        );
        assert_eq!(
            name("Microsoft.Authorization/roleDefinitions/write", Plane::Control),
            Some("User Access Administrator")
        );
        assert_eq!(
            name("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", Plane::Control),
            Some("Managed Identity Operator")
        );
        assert_eq!(
            name("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", Plane::Data),
            Some("Storage Blob Data Contributor")
        );
        assert_eq!(name("Microsoft.Compute/galleries/write", Plane::Control), Some("Contributor"));
        assert_eq!(name("Microsoft.Compute/galleries/share/action", Plane::Control), Some("Owner"));
        assert_eq!(name("Microsoft.Storage/storageAccounts/fileServices/shares/files/read", Plane::Data), None);
        let both = ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleDefinitions/write"];
        assert_eq!(narrowest_granting(&both, Plane::Control).map(|r| r.name), Some("User Access Administrator"));
    }

    #[test]
    fn every_advised_role_is_in_the_built_in_table() {
        for advised in ADVISED {
            assert_eq!(built_in_roles::by_id(advised.role.id), Some(advised.role));
        }
    }
}
