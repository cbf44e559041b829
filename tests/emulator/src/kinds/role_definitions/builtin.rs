//! Azure's built-in roles the emulator knows, with their ids and permissions as Microsoft's "Azure built-in
//! roles" reference lists them (learn.microsoft.com/azure/role-based-access-control/built-in-roles/ …
//! `privileged` (Owner, Contributor, Role Based Access Control Administrator, User Access Administrator),
//! `general` (Reader), `storage` (Storage Blob Data Owner / Contributor / Reader), `identity` (Managed Identity
//! Operator), `compute` (Virtual Machine Contributor), `networking` (Network Contributor)). Every built-in
//! role has `assignableScopes: ["/"]`.
//!
//! Caveat: built-in roles with conditions or several permission blocks are not in the table.

use crate::authz::permission::Permission;

/// A built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInRole {
    /// The role definition's name (a GUID, the same in every subscription and cloud).
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
    pub data_actions: &'static [&'static str],
    pub not_data_actions: &'static [&'static str],
}

impl BuiltInRole {
    /// The role's one permission block.
    pub fn permission(&self) -> Permission {
        Permission::of(self.actions, self.not_actions, self.data_actions, self.not_data_actions)
    }
}

const NONE: &[&str] = &[];

/// The built-in roles, in the order of the reference pages.
pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
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
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name: "User Access Administrator",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        name: "Role Based Access Control Administrator",
        description: "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
        actions: &[
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        name: "Storage Blob Data Owner",
        description: "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/*",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: NONE,
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        name: "Storage Blob Data Contributor",
        description: "Allows for read, write and delete access to Azure Storage blob containers and data",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: NONE,
        data_actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ],
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        name: "Storage Blob Data Reader",
        description: "Allows for read access to Azure Storage blob containers and data",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: NONE,
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "f1a07417-d97a-45cb-824c-7a7467783830",
        name: "Managed Identity Operator",
        description: "Read and Assign User Assigned Identity",
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Support/*",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        name: "Virtual Machine Contributor",
        description: "Lets you manage virtual machines, but not access to them, and not the virtual network or storage account they're connected to.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Compute/availabilitySets/*",
            "Microsoft.Compute/locations/*",
            "Microsoft.Compute/virtualMachines/*",
            "Microsoft.Compute/virtualMachineScaleSets/*",
            "Microsoft.Compute/cloudServices/*",
            "Microsoft.Compute/disks/write",
            "Microsoft.Compute/disks/read",
            "Microsoft.Compute/disks/delete",
            "Microsoft.Compute/hostgroups/write",
            "Microsoft.Compute/hostgroups/hosts/write",
            "Microsoft.DevTestLab/schedules/*",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
            "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
            "Microsoft.Network/loadBalancers/inboundNatPools/join/action",
            "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
            "Microsoft.Network/loadBalancers/probes/join/action",
            "Microsoft.Network/loadBalancers/read",
            "Microsoft.Network/locations/*",
            "Microsoft.Network/networkInterfaces/*",
            "Microsoft.Network/networkSecurityGroups/join/action",
            "Microsoft.Network/networkSecurityGroups/read",
            "Microsoft.Network/publicIPAddresses/join/action",
            "Microsoft.Network/publicIPAddresses/read",
            "Microsoft.Network/virtualNetworks/read",
            "Microsoft.Network/virtualNetworks/subnets/join/action",
            "Microsoft.RecoveryServices/locations/*",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write",
            "Microsoft.RecoveryServices/Vaults/backupPolicies/read",
            "Microsoft.RecoveryServices/Vaults/backupPolicies/write",
            "Microsoft.RecoveryServices/Vaults/read",
            "Microsoft.RecoveryServices/Vaults/usages/read",
            "Microsoft.RecoveryServices/Vaults/write",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.SerialConsole/serialPorts/connect/action",
            "Microsoft.SqlVirtualMachine/*",
            "Microsoft.Storage/storageAccounts/listKeys/action",
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Support/*",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
    BuiltInRole {
        id: "4d97b98b-1d4f-4787-a291-c67834d212e7",
        name: "Network Contributor",
        description: "Lets you manage networks, but not access to them.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/*",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        not_actions: NONE,
        data_actions: NONE,
        not_data_actions: NONE,
    },
];

/// The built-in role with this id (any case).
pub fn by_id(id: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// The built-in role with this name (any case) or id.
pub fn by_name_or_id(name: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES.iter().find(|r| r.name.eq_ignore_ascii_case(name.trim())).or_else(|| by_id(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::permission::Operation;

    #[test]
    fn ids_are_microsofts_and_unique() {
        assert_eq!(by_name_or_id("contributor").map(|r| r.id), Some("b24988ac-6180-42a0-ab88-20f7382dd24c"));
        assert_eq!(
            by_name_or_id("Storage Blob Data Reader").map(|r| r.id),
            Some("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
        );
        assert_eq!(by_name_or_id("8E3AF657-A8FF-443C-A75C-2FE8C4BCB635").map(|r| r.name), Some("Owner"));
        assert!(by_name_or_id("b24988ac-6180-4239-a0b6-7bc3cbd6f6e8").is_none(), "not a role");
        let mut ids: Vec<&str> = BUILT_IN_ROLES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), BUILT_IN_ROLES.len());
        for role in BUILT_IN_ROLES {
            assert!(crate::kinds::is_guid(role.id), "{}", role.name);
            for op in role.actions.iter().chain(role.not_actions).chain(role.data_actions) {
                crate::authz::permission::check_operation(op).unwrap_or_else(|e| panic!("{}: {e}", role.name));
            }
        }
    }

    #[test]
    fn realistic_grants() {
        let can = |role: &str, op| by_name_or_id(role).unwrap().permission().allows(op);
        let assign = Operation::Action("Microsoft.Authorization/roleAssignments/write");
        assert!(can("Owner", assign));
        assert!(!can("Contributor", assign));
        assert!(can("User Access Administrator", assign));
        assert!(can("Role Based Access Control Administrator", assign));
        assert!(!can(
            "Role Based Access Control Administrator",
            Operation::Action("Microsoft.Authorization/roleDefinitions/write")
        ));
        assert!(can("Reader", Operation::Action("Microsoft.Compute/galleries/read")));
        assert!(!can("Reader", Operation::Action("Microsoft.Compute/galleries/write")));
        let blob_read = Operation::DataAction("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read");
        assert!(can("Storage Blob Data Reader", blob_read));
        assert!(!can("Storage Blob Data Reader", Operation::Action("Microsoft.Storage/storageAccounts/write")));
        assert!(can("Storage Blob Data Owner", blob_read) && can("Storage Blob Data Contributor", blob_read));
        assert!(!can("Owner", blob_read), "Owner has no data actions");
        assert!(can("Network Contributor", Operation::Action("Microsoft.Network/virtualNetworks/subnets/join/action")));
        assert!(can(
            "Virtual Machine Contributor",
            Operation::Action("Microsoft.Compute/virtualMachineScaleSets/write")
        ));
        assert!(can(
            "Managed Identity Operator",
            Operation::Action("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action")
        ));
        assert!(!can(
            "Managed Identity Operator",
            Operation::Action("Microsoft.ManagedIdentity/userAssignedIdentities/write")
        ));
    }
}
