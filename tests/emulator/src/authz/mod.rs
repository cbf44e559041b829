//! Access decided by permissions: "may principal P perform operation O at scope S".
//!
//! As Azure RBAC decides it ("How Azure RBAC determines if a user has access to a resource",
//! learn.microsoft.com/azure/role-based-access-control/overview): the principal's role assignments at `S` and
//! at every scope above it (resource → resource group → subscription → `/`) are gathered, their role
//! definitions resolved by GUID (built-in or custom, [`crate::kinds::role_definitions::lookup`]), and the
//! operation is allowed when one permission block of one of those roles grants it
//! ([`permission::Permission::allows`]).
//!
//! Submodules: [`permission`] (blocks and wildcard matching), [`request`] (the operation an ARM request
//! performs, and ARM's 403 answers), [`linked`] (the rights a write needs on the resources its body links
//! to), [`caller`] (the emulator's client as a principal: its roles at start).
//!
//! Caveats: no deny assignments, no group membership (a principal is only its object id), no ABAC
//! conditions, no role-assignment caching delay (a change applies to the next request).

pub mod caller;
pub mod linked;
pub mod permission;
pub mod request;

use serde_json::Value;

use self::permission::{Operation, Permission};
use crate::arm::path::is_within;
use crate::kinds::role_definitions::{self, RoleDefinition};
use crate::state::{Resource, Store};

/// Registry name of the role assignment kind (the store's `kind` of assignments).
const ASSIGNMENTS: &str = "roleAssignments";

/// Whether an assignment at `assignment_scope` applies at `scope` (`scope` is it or lies below it; `""` and
/// `/` are the root).
pub fn covers(assignment_scope: &str, scope: &str) -> bool {
    let root = assignment_scope.is_empty() || assignment_scope == "/";
    root || is_within(scope, assignment_scope)
}

fn prop<'a>(assignment: &'a Resource, key: &str) -> &'a str {
    assignment.body["properties"][key].as_str().unwrap_or_default()
}

/// The role assignments of `principal` that apply at `scope` (at it or above it).
pub fn assignments_at<'s>(store: &'s Store, principal: &'s str, scope: &'s str) -> impl Iterator<Item = &'s Resource> {
    store.resources().filter(move |r| {
        r.kind == ASSIGNMENTS
            && prop(r, "principalId").eq_ignore_ascii_case(principal)
            && covers(prop(r, "scope"), scope)
    })
}

/// The role definitions of `principal`'s assignments that apply at `scope`, in store order (one per
/// assignment; an assignment naming a role that no longer exists grants nothing).
pub fn roles_at(store: &Store, principal: &str, scope: &str) -> Vec<RoleDefinition> {
    assignments_at(store, principal, scope)
        .filter_map(|a| role_definitions::guid_of(prop(a, "roleDefinitionId")))
        .filter_map(|guid| role_definitions::lookup(store, &guid))
        .collect()
}

/// The permission blocks `principal` holds at `scope` (what `Permissions_List…` answers).
pub fn permissions_at(store: &Store, principal: &str, scope: &str) -> Vec<Permission> {
    roles_at(store, principal, scope).into_iter().flat_map(|r| r.permissions).collect()
}

/// Whether `principal` may perform `operation` at `scope`.
pub fn allows(store: &Store, principal: &str, scope: &str, operation: Operation<'_>) -> bool {
    permission::any_allows(&permissions_at(store, principal, scope), operation)
}

/// The first of `operations` `principal` may not perform at `scope`, if any.
pub fn first_denied<'o>(
    store: &Store,
    principal: &str,
    scope: &str,
    operations: &[Operation<'o>],
) -> Option<Operation<'o>> {
    let blocks = permissions_at(store, principal, scope);
    operations.iter().copied().find(|op| !permission::any_allows(&blocks, *op))
}

/// The permission blocks as the permissions API lists them.
pub fn permissions_json(blocks: &[Permission]) -> Value {
    Value::Array(blocks.iter().map(Permission::to_json).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::state::Resource;

    pub const SUB: &str = "/subscriptions/s";
    pub const RG: &str = "/subscriptions/s/resourceGroups/rg";

    /// Stores an assignment of `role` (a GUID) to `principal` at `scope`.
    pub fn assign(store: &mut Store, scope: &str, principal: &str, role: &str) {
        store.insert(Resource {
            kind: ASSIGNMENTS.into(),
            id: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}", uuid::Uuid::new_v4()),
            body: json!({"properties": {"scope": scope, "principalId": principal,
                "roleDefinitionId": format!("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{role}")}}),
        });
    }

    /// Stores a custom role `guid` with one block of `actions`, assignable at `scope`.
    pub fn custom_role(store: &mut Store, guid: &str, name: &str, actions: &[&str], scope: &str) {
        store.insert(Resource {
            kind: role_definitions::KIND.into(),
            id: role_definitions::custom_id("s", guid),
            body: json!({"name": guid, "properties": {"roleName": name, "type": "CustomRole",
                "assignableScopes": [scope], "permissions": [{"actions": actions}]}}),
        });
    }

    const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    const ACCOUNT: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct";
    const VERSION_WRITE: Operation<'static> = Operation::Action("Microsoft.Compute/galleries/images/versions/write");

    #[test]
    fn assignments_apply_at_their_scope_and_below() {
        let mut store = Store::default();
        assign(&mut store, RG, "p", CONTRIBUTOR);
        let image = format!("{RG}/providers/Microsoft.Compute/galleries/g/images/i");
        assert!(allows(&store, "P", &image, VERSION_WRITE), "principal ids ignore case");
        assert!(allows(&store, "p", RG, VERSION_WRITE));
        assert!(!allows(&store, "p", SUB, VERSION_WRITE), "not above the group");
        assert!(!allows(&store, "p", "/subscriptions/s/resourceGroups/rg2", VERSION_WRITE));
        assert!(!allows(&store, "q", RG, VERSION_WRITE), "another principal");
        assert!(covers("", RG) && covers("/", RG));
    }

    #[test]
    fn owner_contributor_reader() {
        let assignment_write = Operation::Action("Microsoft.Authorization/roleAssignments/write");
        let mut store = Store::default();
        assign(&mut store, SUB, "contributor", CONTRIBUTOR);
        assign(&mut store, SUB, "owner", OWNER);
        assign(&mut store, RG, "reader", READER);
        assert!(!allows(&store, "contributor", RG, assignment_write));
        assert!(allows(&store, "owner", RG, assignment_write));
        assert!(allows(&store, "reader", RG, Operation::Action("Microsoft.Storage/storageAccounts/read")));
        assert!(!allows(&store, "reader", RG, Operation::Action("Microsoft.Storage/storageAccounts/write")));
        assert_eq!(permissions_at(&store, "owner", RG), vec![Permission::of(&["*"], &[], &[], &[])]);
        assert_eq!(
            first_denied(&store, "reader", RG, &[Operation::Action("Microsoft.Compute/galleries/read"), VERSION_WRITE]),
            Some(VERSION_WRITE)
        );
    }

    #[test]
    fn blob_data_reader_reads_blobs_but_writes_nothing() {
        let mut store = Store::default();
        let container = format!("{ACCOUNT}/blobServices/default/containers/scripts");
        assign(&mut store, ACCOUNT, "id", BLOB_READER);
        let blob_read = Operation::DataAction("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read");
        assert!(allows(&store, "id", &container, blob_read));
        assert!(!allows(&store, "id", &container, Operation::Action("Microsoft.Storage/storageAccounts/write")));
        assign(&mut store, ACCOUNT, "reader", READER);
        assert!(!allows(&store, "reader", &container, blob_read), "Reader reads no data");
    }

    #[test]
    fn custom_roles_grant_exactly_their_actions() {
        let mut store = Store::default();
        let reads = ["Microsoft.Compute/galleries/read", "Microsoft.Compute/galleries/images/read"];
        custom_role(&mut store, "11111111-2222-3333-4444-555555555555", "image reader", &reads, RG);
        assign(&mut store, RG, "id", "11111111-2222-3333-4444-555555555555");
        let image = format!("{RG}/providers/Microsoft.Compute/galleries/g/images/i");
        assert!(allows(&store, "id", &image, Operation::Action("Microsoft.Compute/galleries/images/read")));
        assert!(!allows(&store, "id", &image, VERSION_WRITE), "no versions/write in the role");
        assign(&mut store, RG, "ghost", "99999999-2222-3333-4444-555555555555");
        assert!(permissions_at(&store, "ghost", RG).is_empty(), "a role that does not exist grants nothing");
    }
}
