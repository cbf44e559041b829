//! Linked access checks: a write whose body links to another resource also needs an action on that resource
//! (joining a subnet, a NAT gateway, a public IP), as Azure Resource Manager checks it before the resource
//! provider runs.
//!
//! Microsoft documents these join actions as required to use an existing resource ("About roles and
//! permissions for VPN Gateway", learn.microsoft.com/azure/vpn-gateway/roles-permissions: "Subnet | Use
//! existing | …/virtualNetworks/subnets/join/action", "IP addresses | Use existing |
//! …/publicIPAddresses/join/action"). A caller without one is answered 403 `LinkedAuthorizationFailed`
//! with ARM's wording ("The client '…' with object id '…' has permission to perform action
//! 'Microsoft.Network/virtualNetworks/write' on scope '…'; however, it does not have permission to perform
//! action 'Microsoft.Network/ddosProtectionPlans/join/action' on the linked scope(s) '…' or the linked
//! scope(s) are invalid.", the message quoted by Microsoft's AKS troubleshooting article on the
//! `LinkedAuthorizationFailed` error).
//!
//! Caveat: links are checked whether or not they changed (Azure may skip unchanged ones); a PATCH checks
//! the links its own body names.

use axum::http::StatusCode;

use super::permission::Operation;
use super::request::action_of;
use crate::arm::crud::Call;
use crate::arm::error::ArmError;
use crate::arm::kind::Target;
use crate::state::Store;

/// An action the caller needs on a linked resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// e.g. `Microsoft.Network/virtualNetworks/subnets/join/action`.
    pub action: String,
    /// The linked resource's id.
    pub scope: String,
}

impl Link {
    /// `action` on `scope`.
    pub fn new(action: &str, scope: &str) -> Self {
        Link { action: action.to_string(), scope: scope.to_string() }
    }
}

/// ARM's 403 for a caller who may `write` `scope` but may not perform `linked_action` on `linked`.
pub fn denied(object_id: &str, write: &str, scope: &str, linked_action: &str, linked: &[&str]) -> ArmError {
    ArmError::provider(
        StatusCode::FORBIDDEN,
        "LinkedAuthorizationFailed",
        format!(
            "The client '{object_id}' with object id '{object_id}' has permission to perform action '{write}' on scope '{scope}'; however, it does not have permission to perform action '{linked_action}' on the linked scope(s) '{}' or the linked scope(s) are invalid.",
            linked.join(",")
        ),
    )
}

/// `Ok` when the call's caller may perform every link's action (or there is no caller); else the 403 of
/// the first action refused, naming every scope where it is refused.
pub fn require(call: &Call<'_>, store: &Store, target: &Target, links: &[Link]) -> Result<(), ArmError> {
    let Some(caller) = &call.caller else { return Ok(()) };
    let refused: Vec<&Link> =
        links.iter().filter(|l| !super::allows(store, &caller.oid, &l.scope, Operation::Action(&l.action))).collect();
    let Some(first) = refused.first() else { return Ok(()) };
    let scopes: Vec<&str> = refused.iter().filter(|l| l.action == first.action).map(|l| l.scope.as_str()).collect();
    let write = action_of(&axum::http::Method::PUT, target.kind.info().resource_type).unwrap_or_default();
    Err(denied(&caller.oid, &write, &target.id, &first.action, &scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_both_actions() {
        let e = denied(
            "oid",
            "Microsoft.Compute/virtualMachineScaleSets/write",
            "/s/vmss",
            "x/join/action",
            &["/s/a", "/s/b"],
        );
        assert_eq!((e.status(), e.code()), (StatusCode::FORBIDDEN, "LinkedAuthorizationFailed"));
        let text = e.to_string();
        assert!(text.contains("perform action 'Microsoft.Compute/virtualMachineScaleSets/write' on scope '/s/vmss'"));
        assert!(text.contains("perform action 'x/join/action' on the linked scope(s) '/s/a,/s/b'"), "{text}");
    }
}
