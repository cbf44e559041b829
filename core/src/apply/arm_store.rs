//! [`ResourceStore`] over the Azure Resource Manager client.

use serde_json::Value;

use super::{ResourceStore, StoreError};
use crate::arm::{ArmClient, ArmError};
use crate::plan::DesiredResource;

impl From<ArmError> for StoreError {
    fn from(error: ArmError) -> Self {
        Self { usage: error.is_usage(), message: error.to_string() }
    }
}

impl ResourceStore for ArmClient {
    async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
        Ok(ArmClient::get(self, &resource.id, resource.api_version).await?)
    }

    async fn put(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        Ok(ArmClient::put(self, &resource.id, resource.api_version, body).await?)
    }
}
