//! [`ResourceStore`] over the Azure Resource Manager client.

use serde_json::Value;

use super::{ResourceStore, StoreError};
use crate::arm::{ArmClient, ArmError};
use crate::plan::DesiredResource;
use crate::resources;

impl From<ArmError> for StoreError {
    fn from(error: ArmError) -> Self {
        Self { usage: error.is_usage(), message: error.to_string() }
    }
}

/// A resource as ARM has it, or `None`: by GET, or for [`resources::probed_by_list`] kinds by
/// listing its collection.
pub async fn find(client: &ArmClient, kind: &str, id: &str, api_version: &str) -> Result<Option<Value>, ArmError> {
    if resources::probed_by_list(kind) {
        if let Some((collection, _)) = id.rsplit_once('/') {
            let items = client.list(collection, api_version).await?;
            return Ok(items.into_iter().find(|item| {
                item.get("id").and_then(Value::as_str).is_some_and(|found| found.eq_ignore_ascii_case(id))
            }));
        }
    }
    client.get(id, api_version).await
}

impl ResourceStore for ArmClient {
    async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
        Ok(find(self, resource.kind, &resource.id, resource.api_version).await?)
    }

    async fn put(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        Ok(ArmClient::put(self, &resource.id, resource.api_version, body).await?)
    }

    async fn delete(&self, resource: &DesiredResource) -> Result<(), StoreError> {
        Ok(ArmClient::delete(self, &resource.id, resource.api_version).await?)
    }
}
