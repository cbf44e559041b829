//! [`ResourceStore`] over the Azure Resource Manager client.
//!
//! Role definitions replicate: a role assignment PUT moments after its custom role was created
//! can be refused with `RoleDefinitionDoesNotExist` although the role exists (a transient error,
//! <https://github.com/Azure/terraform-azurerm-caf-enterprise-scale/wiki/Troubleshooting>). A
//! write whose resource depends on a planned role definition is tried again then, every
//! [`REPLICATION_WAIT`], at most [`REPLICATION_TRIES`] times in all, before the error counts.

use serde_json::Value;

use std::time::Duration;

use super::{ResourceStore, StoreError};
use crate::arm::{ArmClient, ArmError};
use crate::plan::DesiredResource;
use crate::resources;
use crate::resources::kind::{Kind, Probe};

/// A resource of `kind` as ARM has it, or `None`: by GET, or for kinds probed by
/// [`Probe::List`] by listing its collection.
pub async fn find(client: &ArmClient, kind: &Kind, id: &str) -> Result<Option<Value>, ArmError> {
    let api_version = kind.api_version;
    if kind.probe == Probe::List {
        if let Some((collection, _)) = id.rsplit_once('/') {
            let items = client.list(collection, api_version).await?;
            return Ok(items.into_iter().find(|item| {
                item.get("id").and_then(Value::as_str).is_some_and(|found| found.eq_ignore_ascii_case(id))
            }));
        }
    }
    client.get(id, api_version).await
}

/// Time between two tries of a write refused while a role it names replicates.
pub const REPLICATION_WAIT: Duration = Duration::from_secs(10);
/// Tries of such a write in all (about a minute).
pub const REPLICATION_TRIES: u32 = 7;

/// PUTs `body`, waiting out the replication of a role definition the resource depends on.
async fn put_waiting_for_replication(
    client: &ArmClient,
    resource: &DesiredResource,
    body: &Value,
) -> Result<Value, ArmError> {
    let codes = resource.kind.replication_lag_codes;
    let waits = resource.depends_on.iter().any(|id| resources::is_role_definition_id(id));
    let mut tries = 1;
    loop {
        match client.put(&resource.id, resource.kind.api_version, body).await {
            Err(error) if waits && tries < REPLICATION_TRIES && error.code().is_some_and(|c| codes.contains(&c)) => {
                tries += 1;
                tokio::time::sleep(REPLICATION_WAIT).await;
            }
            other => return other,
        }
    }
}

impl ResourceStore for ArmClient {
    async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
        Ok(find(self, resource.kind, &resource.id).await?)
    }

    async fn put(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        match put_waiting_for_replication(self, resource, body).await {
            Err(error) => super::applied::already_applied(self, resource, body, error).await,
            Ok(stored) => Ok(stored),
        }
    }

    async fn patch(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        Ok(ArmClient::patch(self, &resource.id, resource.kind.api_version, body).await?)
    }

    async fn delete(&self, resource: &DesiredResource) -> Result<(), StoreError> {
        Ok(ArmClient::delete(self, &resource.id, resource.kind.api_version).await?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::arm::test_support::{client, Script};
    use crate::plan::Stage;
    use crate::resources::role_assignment;

    const GROUP: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx";

    fn assignment(depends_on: Vec<String>) -> DesiredResource {
        DesiredResource {
            kind: &role_assignment::KIND,
            name: "b7502c88-95e8-5e11-9e99-e87a4007e368".to_owned(),
            id: format!(
                "{GROUP}/providers/Microsoft.Authorization/roleAssignments/b7502c88-95e8-5e11-9e99-e87a4007e368"
            ),
            depends_on,
            body: json!({}),
            query: None,
            stage: Stage::Infra,
            bindings: Vec::new(),
            summary: None,
        }
    }

    fn not_yet_replicated(script: &Script) {
        script.push_json(
            400,
            &[],
            &json!({"error": {"code": "RoleDefinitionDoesNotExist", "message": "The specified role definition with ID 'c5e095204af15bb9aaad41777d747757' does not exist."}}),
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_assignment_of_a_role_just_created_waits_for_the_role_to_replicate() {
        let role =
            format!("{GROUP}/providers/Microsoft.Authorization/roleDefinitions/c5e09520-4af1-5bb9-aaad-41777d747757");
        let resource = assignment(vec![role, format!("{GROUP}/providers/x/identity")]);
        let script = Script::new();
        not_yet_replicated(&script);
        not_yet_replicated(&script);
        script.push_json(201, &[], &json!({"id": resource.id}));
        let arm = client(&script);
        let started = tokio::time::Instant::now();
        let stored = ResourceStore::put(&arm, &resource, &json!({"properties": {}})).await.unwrap();
        assert_eq!(stored["id"], resource.id);
        assert_eq!(script.requests().len(), 3);
        assert_eq!(started.elapsed(), 2 * REPLICATION_WAIT, "(virtual time)");
    }

    #[tokio::test(start_paused = true)]
    async fn a_role_that_never_appears_fails_after_the_last_try_and_a_built_in_one_at_once() {
        let role =
            format!("{GROUP}/providers/Microsoft.Authorization/roleDefinitions/c5e09520-4af1-5bb9-aaad-41777d747757");
        let script = Script::new();
        for _ in 0..REPLICATION_TRIES {
            not_yet_replicated(&script);
        }
        let arm = client(&script);
        let error = ResourceStore::put(&arm, &assignment(vec![role]), &json!({})).await.unwrap_err();
        assert!(error.to_string().contains("RoleDefinitionDoesNotExist"), "{error}");
        assert!(error.is_usage());
        assert_eq!(script.requests().len(), REPLICATION_TRIES as usize);

        // An assignment of a built-in role (nothing planned to replicate) fails on the first answer.
        let script = Script::new();
        not_yet_replicated(&script);
        let arm = client(&script);
        let error = ResourceStore::put(&arm, &assignment(vec![GROUP.to_owned()]), &json!({})).await.unwrap_err();
        assert!(error.to_string().contains("RoleDefinitionDoesNotExist"), "{error}");
        assert_eq!(script.requests().len(), 1);
    }
}
