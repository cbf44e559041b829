//! A create refused because the resource is already there — as asked.
//!
//! When Azure applies a write but its answer is lost (a 5xx or a dropped connection after the
//! change), the write is sent again and can be refused with a 409 that says it is done already:
//! a role assignment PUT again is answered `RoleAssignmentExists` by Resource Manager even under
//! the same name, scope, role and principal (<https://github.com/Azure/azure-sdk-for-go/issues/19060>).
//! Such a conflict counts as success when the resource, read back, holds every field the write
//! asked for. Anything else stays the error Azure gave, on one line: an assignment of the same
//! role to the same principal under another name (not ours to take over) is still
//! `RoleAssignmentExists`.

use serde_json::Value;

use super::arm_store::find;
use super::StoreError;
use crate::arm::{ArmClient, ArmError};
use crate::plan::{diff, DesiredResource};

/// `conflict`, the answer to a PUT of `body`, unless `resource` already holds `body`: then the
/// resource as Azure has it.
pub(crate) async fn already_applied(
    client: &ArmClient,
    resource: &DesiredResource,
    body: &Value,
    conflict: ArmError,
) -> Result<Value, StoreError> {
    if conflict.status() != Some(azure_core::http::StatusCode::Conflict) {
        return Err(conflict.into());
    }
    match find(client, resource.kind, &resource.id).await? {
        Some(live) if diff::changes(body, &live, &resource.kind.unowned()).is_empty() => Ok(live),
        _ => Err(conflict.into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::apply::ResourceStore;
    use crate::arm::test_support::{client, Script};
    use crate::plan::{DesiredResource, Stage};
    use crate::resources::role_assignment;

    const GROUP: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx";
    const READER: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    const PRINCIPAL: &str = "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b";

    fn assignment() -> DesiredResource {
        let name = "b7502c88-95e8-5e11-9e99-e87a4007e368";
        DesiredResource {
            kind: &role_assignment::KIND,
            name: name.to_owned(),
            id: format!("{GROUP}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            depends_on: Vec::new(),
            body: json!({}),
            query: None,
            stage: Stage::Infra,
            bindings: Vec::new(),
            summary: None,
        }
    }

    fn body(principal: &str) -> serde_json::Value {
        json!({"properties": {"roleDefinitionId": READER, "principalId": principal, "principalType": "ServicePrincipal"}})
    }

    /// RoleAssignments_Get as Resource Manager answers it (authorization 2022-04-01 example).
    fn live(principal: &str) -> serde_json::Value {
        let resource = assignment();
        json!({
            "id": resource.id, "name": resource.name, "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": READER, "principalId": principal, "principalType": "ServicePrincipal",
                "scope": GROUP, "createdOn": "2024-11-17T15:31:24.6613745Z", "updatedOn": "2024-11-17T15:31:24.6613745Z",
                "createdBy": "a2b3c4d5-e6f7-4a8b-9c0d-1e2f3a4b5c6d", "updatedBy": "a2b3c4d5-e6f7-4a8b-9c0d-1e2f3a4b5c6d"
            }
        })
    }

    fn exists(script: &Script) {
        script.push_json(
            409,
            &[],
            &json!({"error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}}),
        );
    }

    #[tokio::test(start_paused = true)]
    async fn our_assignment_made_by_a_put_whose_answer_was_lost_is_done() {
        let script = Script::new();
        exists(&script);
        script.push_json(200, &[], &live(PRINCIPAL));
        let stored = ResourceStore::put(&client(&script), &assignment(), &body(PRINCIPAL)).await.unwrap();
        assert_eq!(stored, live(PRINCIPAL));
        let methods: Vec<String> = script.lines().iter().map(|l| l.split(' ').next().unwrap().to_owned()).collect();
        assert_eq!(methods, ["PUT", "GET"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_role_for_the_principal_under_another_name_stays_azures_error() {
        let script = Script::new();
        exists(&script);
        script.push_json(404, &[], &json!({"error": {"code": "RoleAssignmentNotFound", "message": "The role assignment 'b7502c88-95e8-5e11-9e99-e87a4007e368' is not found."}}));
        let error = ResourceStore::put(&client(&script), &assignment(), &body(PRINCIPAL)).await.unwrap_err();
        assert!(
            error.to_string().ends_with("409 Conflict: RoleAssignmentExists: The role assignment already exists."),
            "{error}"
        );
        assert!(!error.to_string().contains('\n'));

        // Ours by name, but for another principal: not what was asked.
        let script = Script::new();
        exists(&script);
        script.push_json(200, &[], &live("0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"));
        let error = ResourceStore::put(&client(&script), &assignment(), &body(PRINCIPAL)).await.unwrap_err();
        assert!(error.to_string().contains("RoleAssignmentExists"), "{error}");
    }
}
