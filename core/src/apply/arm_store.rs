//! [`ResourceStore`] over the Azure Resource Manager client.
//!
//! Storage accounts and blob containers are looked up by listing their collection rather than
//! by GET: the Storage swaggers define no answer for a GET of a missing account or container,
//! while a list answers 200 whether or not the item exists.

use serde_json::Value;

use super::{ResourceStore, StoreError};
use crate::arm::{ArmClient, ArmError};
use crate::plan::DesiredResource;
use crate::resources::{blob_container, storage_account};

impl From<ArmError> for StoreError {
    fn from(error: ArmError) -> Self {
        Self { usage: error.is_usage(), message: error.to_string() }
    }
}

impl ResourceStore for ArmClient {
    async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
        if matches!(resource.kind, storage_account::KIND | blob_container::KIND) {
            if let Some((collection, _)) = resource.id.rsplit_once('/') {
                let items = self.list(collection, resource.api_version).await?;
                return Ok(items.into_iter().find(|item| {
                    item.get("id").and_then(Value::as_str).is_some_and(|id| id.eq_ignore_ascii_case(&resource.id))
                }));
            }
        }
        Ok(ArmClient::get(self, &resource.id, resource.api_version).await?)
    }

    async fn put(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        Ok(ArmClient::put(self, &resource.id, resource.api_version, body).await?)
    }
}
