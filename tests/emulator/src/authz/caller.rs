//! The emulator's client as a principal: its object id (the token's `oid`, [`object_id_of`] of
//! `--client-id`) holds, from the start, real role assignments on the subscription for the roles of
//! `--caller-role` (default Owner), so they show in role-assignment lists and are evaluated like any other.
//!
//! The assignments have deterministic names (a UUID v5 of principal and role), so a restart with
//! `--state-file` finds them again; one made at an earlier start for a role no longer asked for is removed.

use serde_json::json;
use time::OffsetDateTime;

use crate::app::App;
use crate::arm::crud::upsert_internal;
use crate::arm::error::ArmError;
use crate::arm::path::segments;
use crate::entra::object_id_of;
use crate::kinds::role_definitions::{builtin, custom_id};

/// A built-in role the caller holds on the subscription (`--caller-role <name or GUID>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerRole {
    pub id: &'static str,
    pub name: &'static str,
}

impl CallerRole {
    /// A built-in role by name (any case) or GUID.
    pub fn parse(s: &str) -> Result<Self, String> {
        builtin::by_name_or_id(s).map(|r| CallerRole { id: r.id, name: r.name }).ok_or_else(|| {
            let names: Vec<&str> = builtin::BUILT_IN_ROLES.iter().map(|r| r.name).collect();
            format!("{s:?} is not a built-in role the emulator knows; use one of: {}", names.join(", "))
        })
    }

    /// Owner, the default.
    pub fn owner() -> Self {
        CallerRole::parse("Owner").unwrap_or(CallerRole { id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", name: "Owner" })
    }
}

/// The caller's principal (object) id.
pub fn principal_id(client_id: &str) -> String {
    object_id_of(client_id)
}

/// The name of the caller's assignment of `role_id`.
pub fn assignment_name(principal: &str, role_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("agentpool-emulator/caller/{principal}/{role_id}").as_bytes(),
    )
    .to_string()
}

/// Makes the caller's assignments of `--caller-role` on the subscription (and removes the ones an earlier
/// start made for other roles).
pub fn seed(app: &App) -> Result<(), ArmError> {
    let subscription = &app.config.subscription_id;
    let principal = principal_id(&app.config.client_id);
    let scope = format!("/subscriptions/{subscription}");
    let id_of = |role: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}", assignment_name(&principal, role))
    };
    let wanted: Vec<&str> = app.config.caller_roles().iter().map(|r| r.id).collect();
    for role in builtin::BUILT_IN_ROLES.iter().filter(|r| !wanted.contains(&r.id)) {
        app.state.write(|store| store.remove_tree(&id_of(role.id)));
    }
    for role in wanted {
        let id = id_of(role);
        let target = app.registry.item(&segments(&id)).ok_or_else(|| ArmError::InvalidResourceType(id.clone()))?;
        let body = json!({"properties": {
            "roleDefinitionId": custom_id(subscription, role),
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "description": "The emulator's client (--caller-role)",
        }});
        match upsert_internal(app, &target, body, OffsetDateTime::now_utc()) {
            Ok(_) => {}
            // The state file already holds an equal assignment under another name.
            Err(e) if e.code() == "RoleAssignmentExists" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_name_or_id() {
        assert_eq!(CallerRole::parse("contributor").unwrap().id, "b24988ac-6180-42a0-ab88-20f7382dd24c");
        assert_eq!(
            CallerRole::parse("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9").unwrap().name,
            "User Access Administrator"
        );
        assert!(CallerRole::parse("Janitor").unwrap_err().contains("Owner"));
        assert_eq!(CallerRole::owner().name, "Owner");
        let a = assignment_name("p", "r");
        assert_eq!(a, assignment_name("p", "r"));
        assert_ne!(a, assignment_name("p", "s"));
        assert!(crate::kinds::is_guid(&a));
    }
}
