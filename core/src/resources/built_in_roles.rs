//! The Azure built-in roles agentpool assigns or names in its advice, with their role definition
//! ids.
//!
//! Built-in role ids are the same in every tenant. Each one here is copied from the JSON of its
//! entry in Microsoft's built-in roles reference,
//! <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles> (General:
//! Reader; Privileged: Owner, Contributor, Role Based Access Control Administrator, User Access
//! Administrator; Storage; Identity: Managed Identity Operator; Compute; Networking). A role
//! assignment that names an id Azure does not know fails at deploy time, so the tests compare
//! this table with a second list typed from the same pages and every plan's role ids with it.

/// A built-in Azure role: display name and role definition GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInRole {
    pub name: &'static str,
    pub id: &'static str,
}

impl BuiltInRole {
    /// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{id}`: how a role
    /// assignment names it.
    pub fn definition_id(&self, subscription: &str) -> String {
        super::role_definition::subscription_definition_id(subscription, self.id)
    }
}

/// Full access to all resources, including assigning roles.
pub const OWNER: BuiltInRole = BuiltInRole { name: "Owner", id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" };
/// Full access to all resources, but no role assignments or role definitions
/// (`Microsoft.Authorization/*/Write` is a NotAction).
pub const CONTRIBUTOR: BuiltInRole = BuiltInRole { name: "Contributor", id: "b24988ac-6180-42a0-ab88-20f7382dd24c" };
/// Reads everything (`*/read`), changes nothing.
pub const READER: BuiltInRole = BuiltInRole { name: "Reader", id: "acdd72a7-3385-48ef-bd42-f606fba81ae7" };
/// `Microsoft.Authorization/*` and `*/read`: role assignments and role definitions.
pub const USER_ACCESS_ADMINISTRATOR: BuiltInRole =
    BuiltInRole { name: "User Access Administrator", id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9" };
/// `Microsoft.Authorization/roleAssignments/write` and `/delete`, `*/read`: role assignments
/// only, no role definitions.
pub const ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR: BuiltInRole =
    BuiltInRole { name: "Role Based Access Control Administrator", id: "f58310d9-a9f6-439a-9e8d-f62e7b41a168" };
/// Blob containers and data, including POSIX access control.
pub const STORAGE_BLOB_DATA_OWNER: BuiltInRole =
    BuiltInRole { name: "Storage Blob Data Owner", id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b" };
/// Reads, writes and deletes blob containers and blobs: what uploading the scripts needs.
pub const STORAGE_BLOB_DATA_CONTRIBUTOR: BuiltInRole =
    BuiltInRole { name: "Storage Blob Data Contributor", id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe" };
/// Reads blob containers and blobs: what Image Builder needs to fetch the scripts.
pub const STORAGE_BLOB_DATA_READER: BuiltInRole =
    BuiltInRole { name: "Storage Blob Data Reader", id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1" };
/// Reads and assigns user-assigned identities.
pub const MANAGED_IDENTITY_OPERATOR: BuiltInRole =
    BuiltInRole { name: "Managed Identity Operator", id: "f1a07417-d97a-45cb-824c-7a7467783830" };
/// Virtual machines and scale sets, not the network or storage they use.
pub const VIRTUAL_MACHINE_CONTRIBUTOR: BuiltInRole =
    BuiltInRole { name: "Virtual Machine Contributor", id: "9980e02c-c2be-4d73-94e8-173b1dc7cf3c" };
/// Networks (`Microsoft.Network/*`), not access to them.
pub const NETWORK_CONTRIBUTOR: BuiltInRole =
    BuiltInRole { name: "Network Contributor", id: "4d97b98b-1d4f-4787-a291-c67834d212e7" };

/// Every built-in role of this table.
pub const ALL: &[BuiltInRole] = &[
    OWNER,
    CONTRIBUTOR,
    READER,
    USER_ACCESS_ADMINISTRATOR,
    ROLE_BASED_ACCESS_CONTROL_ADMINISTRATOR,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    MANAGED_IDENTITY_OPERATOR,
    VIRTUAL_MACHINE_CONTRIBUTOR,
    NETWORK_CONTRIBUTOR,
];

/// The role whose GUID is `id`, ignoring case; `id` may also be a full role definition id
/// (`…/roleDefinitions/<guid>`).
pub fn by_id(id: &str) -> Option<BuiltInRole> {
    let guid = id.rsplit('/').next().unwrap_or(id);
    ALL.iter().copied().find(|role| role.id.eq_ignore_ascii_case(guid))
}

/// The role named `name` exactly (role names are case-sensitive display names).
pub fn by_name(name: &str) -> Option<BuiltInRole> {
    ALL.iter().copied().find(|role| role.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Typed a second time, independently of the constants above, from the JSON blocks of
    /// Microsoft's built-in roles reference:
    /// <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged>,
    /// <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general>,
    /// <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage>,
    /// <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/identity>,
    /// <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/compute>,
    /// <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/networking>.
    const PUBLISHED: &[(&str, &str)] = &[
        ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
        ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        ("Role Based Access Control Administrator", "f58310d9-a9f6-439a-9e8d-f62e7b41a168"),
        ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
        ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        ("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
        ("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
        ("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
        ("Managed Identity Operator", "f1a07417-d97a-45cb-824c-7a7467783830"),
        ("Virtual Machine Contributor", "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"),
        ("Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7"),
    ];

    #[test]
    fn every_role_has_the_id_microsoft_publishes() {
        for role in ALL {
            let published = PUBLISHED.iter().find(|(name, _)| *name == role.name);
            assert_eq!(published.map(|(_, id)| *id), Some(role.id), "{}", role.name);
        }
        assert_eq!(ALL.len(), PUBLISHED.len(), "every published role is in the table");
    }

    #[test]
    fn ids_and_names_are_unique_lowercase_guids() {
        for (index, role) in ALL.iter().enumerate() {
            let parsed = uuid::Uuid::parse_str(role.id).unwrap_or_else(|e| panic!("{}: {e}", role.name));
            assert_eq!(parsed.to_string(), role.id, "{} is written as Azure returns it", role.name);
            assert!(ALL[..index].iter().all(|other| other.id != role.id && other.name != role.name));
        }
    }

    #[test]
    fn roles_are_found_by_guid_or_definition_id_and_by_name() {
        let id = CONTRIBUTOR.definition_id("00000000-0000-0000-0000-000000000000");
        assert_eq!(
            id,
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        );
        assert_eq!(by_id(&id), Some(CONTRIBUTOR));
        assert_eq!(by_id("B24988AC-6180-42A0-AB88-20F7382DD24C"), Some(CONTRIBUTOR));
        assert_eq!(by_id("b24988ac-6180-4239-a0b6-7bc3cbd6f6e8"), None, "a look-alike is no role");
        assert_eq!(by_name("Storage Blob Data Reader"), Some(STORAGE_BLOB_DATA_READER));
        assert_eq!(by_name("storage blob data reader"), None);
    }
}
