//! Does a set of role permissions allow an action? Azure RBAC's rules, evaluated offline.
//!
//! A principal's rights at a scope are blocks of `{actions, notActions, dataActions,
//! notDataActions}`: one per role assigned at the scope or above, as Resource Manager's
//! permissions list for a resource group returns them (`Permissions_ListForResourceGroup`,
//! `authorization-RoleDefinitionsCalls.json` 2022-04-01) and as role definitions carry them.
//!
//! Rules, from "Understand Azure role definitions"
//! (<https://learn.microsoft.com/azure/role-based-access-control/role-definitions>):
//! - an action is allowed when some block lists it in `actions` and the same block does not list
//!   it in `notActions`: NotActions subtract within their block, they are not a deny (another
//!   role's block may grant the action again);
//! - data actions (blob reads and writes) are granted by `dataActions` only, never by `actions`
//!   (`*` in `actions` grants no blob data);
//! - `*` matches any characters, `/` included (`*/read`, `Microsoft.Compute/*`); names compare
//!   without regard to case (Contributor's NotActions say `Microsoft.Authorization/*/Write`).
//!
//! # Caveats
//! - `/*/` also matches a single `/`, so that Managed Identity Operator's
//!   `Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action` grants
//!   `…/userAssignedIdentities/assign/action`, the action Microsoft documents that role for.
//! - Deny assignments and role-assignment conditions (ABAC) are not evaluated: a deny assignment
//!   can still refuse what this module allows.

/// One block of permissions (`{actions, notActions, dataActions, notDataActions}`): the type of a
/// role definition's `permissions[]` entries, which the permissions list returns too.
pub use crate::resources::role_definition::Permission as PermissionBlock;

/// Whether an action is a control-plane action (Resource Manager) or a data action (blobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Plane {
    Control,
    Data,
}

impl PermissionBlock {
    /// Whether this block alone allows `action`.
    pub fn allows(&self, action: &str, plane: Plane) -> bool {
        let (granted, subtracted) = match plane {
            Plane::Control => (&self.actions, &self.not_actions),
            Plane::Data => (&self.data_actions, &self.not_data_actions),
        };
        granted.iter().any(|pattern| matches(pattern, action))
            && !subtracted.iter().any(|pattern| matches(pattern, action))
    }
}

/// Whether any of `blocks` allows `action`.
pub fn allowed(blocks: &[PermissionBlock], action: &str, plane: Plane) -> bool {
    blocks.iter().any(|block| block.allows(action, plane))
}

/// Whether the action pattern `pattern` (with `*` wildcards) matches `action`, ignoring case.
pub fn matches(pattern: &str, action: &str) -> bool {
    glob(pattern.to_ascii_lowercase().as_bytes(), action.to_ascii_lowercase().as_bytes())
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((b'/', _)) if pattern.starts_with(b"/*/") && text.first() == Some(&b'/') && glob(&pattern[2..], text) => {
            true
        }
        Some((first, rest)) => text.first() == Some(first) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(actions: &[&str], not_actions: &[&str], data_actions: &[&str]) -> PermissionBlock {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        PermissionBlock {
            actions: strings(actions),
            not_actions: strings(not_actions),
            data_actions: strings(data_actions),
            not_data_actions: Vec::new(),
        }
    }

    /// Contributor as Microsoft's built-in roles reference lists it (Privileged category).
    fn contributor() -> PermissionBlock {
        let role = crate::preflight::roles::ADVISED.iter().find(|r| r.role.name == "Contributor");
        role.map(|r| r.block()).unwrap_or_default()
    }

    #[test]
    fn wildcards_span_segments_and_case_is_ignored() {
        assert!(matches("*", "Microsoft.Compute/galleries/write"));
        assert!(matches("*/read", "Microsoft.Compute/galleries/images/read"));
        assert!(!matches("*/read", "Microsoft.Compute/galleries/write"));
        assert!(matches("Microsoft.Compute/*", "Microsoft.Compute/virtualMachineScaleSets/write"));
        assert!(!matches("Microsoft.Compute/*", "Microsoft.Network/natGateways/write"));
        assert!(matches("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write"));
        assert!(matches("microsoft.storage/storageaccounts/write", "Microsoft.Storage/storageAccounts/write"));
        assert!(!matches("Microsoft.Storage/storageAccounts/write", "Microsoft.Storage/storageAccounts/writeX"));
    }

    #[test]
    fn a_middle_wildcard_segment_may_be_empty() {
        let operator = "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action";
        assert!(matches(operator, "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"));
        assert!(matches(operator, "Microsoft.ManagedIdentity/userAssignedIdentities/federated/assign/action"));
        assert!(!matches(operator, "Microsoft.ManagedIdentity/userAssignedIdentities/write"));
    }

    #[test]
    fn contributor_writes_resources_but_not_role_assignments_or_definitions() {
        let blocks = [contributor()];
        assert!(allowed(&blocks, "Microsoft.Compute/galleries/write", Plane::Control));
        assert!(allowed(&blocks, "Microsoft.VirtualMachineImages/imageTemplates/run/action", Plane::Control));
        assert!(!allowed(&blocks, "Microsoft.Authorization/roleAssignments/write", Plane::Control));
        assert!(!allowed(&blocks, "Microsoft.Authorization/roleDefinitions/write", Plane::Control));
        assert!(allowed(&blocks, "Microsoft.Authorization/roleAssignments/read", Plane::Control));
        assert!(
            !allowed(&blocks, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", Plane::Data),
            "actions grant no data actions"
        );
    }

    #[test]
    fn not_actions_subtract_only_within_their_block() {
        let rbac_administrator = block(
            &[
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete",
                "*/read",
            ],
            &[],
            &[],
        );
        let blocks = [contributor(), rbac_administrator];
        assert!(allowed(&blocks, "Microsoft.Authorization/roleAssignments/write", Plane::Control));
        assert!(!allowed(&blocks, "Microsoft.Authorization/roleDefinitions/write", Plane::Control));
    }

    #[test]
    fn data_actions_come_from_data_blocks() {
        let blob_contributor = block(
            &["Microsoft.Storage/storageAccounts/blobServices/containers/write"],
            &[],
            &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"],
        );
        let action = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write";
        assert!(allowed(std::slice::from_ref(&blob_contributor), action, Plane::Data));
        let mut denied = blob_contributor;
        denied.not_data_actions = vec!["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*".into()];
        assert!(!allowed(&[denied], action, Plane::Data));
    }

    #[test]
    fn the_permissions_list_example_parses() {
        let path = crate::testing::specs_dir().join(
            "azure-rest-api-specs/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples/GetPermissions.json",
        );
        let example = crate::testing::read_json(&path);
        let blocks: Vec<PermissionBlock> =
            serde_json::from_value(example["responses"]["200"]["body"]["value"].clone()).unwrap();
        assert_eq!(blocks, [PermissionBlock::default()]);
        assert!(!allowed(&blocks, "Microsoft.Compute/galleries/write", Plane::Control));
    }
}
