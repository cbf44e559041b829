//! The operation an ARM request performs, and ARM's answer when the caller may not perform it.
//!
//! A request on a resource of type `T` performs `T/read` (GET, HEAD, list), `T/write` (PUT, PATCH),
//! `T/delete` (DELETE) or `T/{action}/action` (POST), over the resource's id (a list: over its parent scope),
//! as the resource provider operations reference names them (resource groups are
//! `Microsoft.Resources/subscriptions/resourceGroups`). A caller without the right is answered 403
//! `AuthorizationFailed`: "The client '{oid}' with object id '{oid}' does not have authorization to perform
//! action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please
//! refresh your credentials." ("Troubleshoot Azure RBAC", learn.microsoft.com/azure/role-based-access-control/
//! troubleshooting). A custom role write also needs the action on every assignable scope, else 403
//! `LinkedAuthorizationFailed` with the wording that page gives.
//!
//! Requests without a caller (the emulator's own work, in-process unit tests of the dispatcher) are not
//! authorized. Caveat: the client name in the message is the object id (the emulator has no directory of
//! display names).

use axum::http::{Method, StatusCode};

use super::permission::Operation;
use crate::arm::crud::Call;
use crate::arm::error::ArmError;
use crate::arm::kind::Route;

/// The RBAC type of a resource type: ARM's operation names call resource groups
/// `Microsoft.Resources/subscriptions/resourceGroups`.
pub fn rbac_type(resource_type: &str) -> String {
    if resource_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
        "Microsoft.Resources/subscriptions/resourceGroups".to_string()
    } else {
        resource_type.to_string()
    }
}

/// The action a method performs on a resource of `resource_type` (`None` for methods ARM does not map).
pub fn action_of(method: &Method, resource_type: &str) -> Option<String> {
    let verb = match *method {
        Method::GET | Method::HEAD => "read",
        Method::PUT | Method::PATCH => "write",
        Method::DELETE => "delete",
        _ => return None,
    };
    Some(format!("{}/{verb}", rbac_type(resource_type)))
}

/// The action of a POST action `name` on a resource of `resource_type`.
pub fn post_action(resource_type: &str, name: &str) -> String {
    format!("{}/{name}/action", rbac_type(resource_type))
}

/// The scope a collection is read over: its path without the collection segment (and without a trailing
/// `/providers/{namespace}`).
pub fn list_scope(collection: &str) -> String {
    let parent = collection.rsplit_once('/').map(|(p, _)| p).unwrap_or_default();
    match parent.rsplit_once('/') {
        Some((above, _)) if above.to_ascii_lowercase().ends_with("/providers") => {
            above[..above.len() - "/providers".len()].to_string()
        }
        _ => parent.to_string(),
    }
}

/// ARM's 403 for a caller without `action` over `scope`.
pub fn denied(object_id: &str, action: &str, scope: &str) -> ArmError {
    ArmError::provider(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        format!(
            "The client '{object_id}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
    )
}

/// ARM's 403 for a caller who may perform `action` over `scope` but not over the linked scopes (a custom
/// role's assignable scopes), or whose linked scopes are invalid.
pub fn linked_denied(object_id: &str, action: &str, scope: &str, linked: &[String]) -> ArmError {
    ArmError::provider(
        StatusCode::FORBIDDEN,
        "LinkedAuthorizationFailed",
        format!(
            "The client '{object_id}' with object id '{object_id}' has permission to perform action '{action}' on scope '{scope}'; however, it does not have permission to perform action '{action}' on the linked scope(s) '{}' or the linked scope(s) are invalid.",
            linked.join(",")
        ),
    )
}

/// `Ok` when the call's caller may perform `action` over `scope` (or there is no caller).
pub fn require(call: &Call<'_>, action: &str, scope: &str) -> Result<(), ArmError> {
    let Some(caller) = &call.caller else { return Ok(()) };
    let allowed = call.app.state.read(|store| super::allows(store, &caller.oid, scope, Operation::Action(action)));
    if allowed {
        Ok(())
    } else {
        Err(denied(&caller.oid, action, scope))
    }
}

/// Authorizes a request routed to a kind: the action of its method over its resource (or collection scope).
pub fn authorize_route(call: &Call<'_>, method: &Method, route: &Route) -> Result<(), ArmError> {
    let (resource_type, scope) = match route {
        Route::Item(target) => (target.kind.info().resource_type, target.id.clone()),
        Route::List(list) => (list.kind.info().resource_type, list_scope(&list.path)),
    };
    match action_of(method, resource_type) {
        Some(action) => require(call, &action, &scope),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_scopes_of_requests() {
        assert_eq!(
            action_of(&Method::PUT, "Microsoft.Storage/storageAccounts").unwrap(),
            "Microsoft.Storage/storageAccounts/write"
        );
        assert_eq!(
            action_of(&Method::PATCH, "Microsoft.Compute/galleries").unwrap(),
            "Microsoft.Compute/galleries/write"
        );
        assert_eq!(
            action_of(&Method::HEAD, "Microsoft.Resources/resourceGroups").unwrap(),
            "Microsoft.Resources/subscriptions/resourceGroups/read"
        );
        assert_eq!(
            action_of(&Method::DELETE, "Microsoft.Authorization/roleAssignments").unwrap(),
            "Microsoft.Authorization/roleAssignments/delete"
        );
        assert_eq!(action_of(&Method::OPTIONS, "x/y"), None);
        assert_eq!(
            post_action("Microsoft.VirtualMachineImages/imageTemplates", "run"),
            "Microsoft.VirtualMachineImages/imageTemplates/run/action"
        );
        assert_eq!(list_scope("/subscriptions/s/resourcegroups"), "/subscriptions/s");
        assert_eq!(
            list_scope("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts"),
            "/subscriptions/s/resourceGroups/rg"
        );
        assert_eq!(
            list_scope("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images"),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
        );
        assert_eq!(
            list_scope("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments"),
            "/subscriptions/s"
        );
    }

    #[test]
    fn messages_are_arms() {
        let e = denied("oid", "Microsoft.Authorization/roleAssignments/write", "/subscriptions/s");
        assert_eq!((e.status(), e.code()), (StatusCode::FORBIDDEN, "AuthorizationFailed"));
        assert_eq!(e.to_string(), "The client 'oid' with object id 'oid' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/s' or the scope is invalid. If access was recently granted, please refresh your credentials.");
        let e = linked_denied(
            "oid",
            "a/write",
            "/subscriptions/s",
            &["/subscriptions/x".into(), "/subscriptions/y".into()],
        );
        assert_eq!(e.code(), "LinkedAuthorizationFailed");
        assert!(e.to_string().contains("linked scope(s) '/subscriptions/x,/subscriptions/y'"), "{e}");
    }
}
