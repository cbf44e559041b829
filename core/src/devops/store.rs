//! The scale-set agent pool as a [`ResourceStore`]: found by its agent pool's name, created by
//! POST (its name, project and pipeline authorization in the query), changed by a PATCH of the
//! settings that differ. Azure DevOps has no delete of an elastic pool: deleting its agent pool
//! removes it, which agentpool never does.

use serde_json::Value;

use super::client::DevOps;
use super::DevOpsError;
use crate::apply::{ResourceStore, StoreError};
use crate::plan::DesiredResource;
use crate::resources::agent_pool::CreateQuery;

impl From<DevOpsError> for StoreError {
    fn from(error: DevOpsError) -> Self {
        StoreError::Other { usage: error.is_usage(), message: error.to_string() }
    }
}

impl ResourceStore for DevOps {
    async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
        Ok(self.find_pool(&resource.name).await?.map(|pool| pool.elastic))
    }

    async fn put(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        let query: CreateQuery = resource
            .query
            .clone()
            .and_then(|q| serde_json::from_value(q).ok())
            .ok_or_else(|| StoreError::operation(format!("agent pool {} has no create query", resource.name)))?;
        Ok(self.create_pool(&resource.name, body, &query).await?.elastic)
    }

    async fn patch(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        let pool = self.find_pool(&resource.name).await?.ok_or_else(|| {
            StoreError::operation(format!("agent pool {} disappeared before its update", resource.name))
        })?;
        Ok(self.update_pool(pool.id, &pool.name, body).await?.elastic)
    }

    async fn delete(&self, resource: &DesiredResource) -> Result<(), StoreError> {
        Err(StoreError::operation(format!(
            "agent pool {}: agentpool never deletes an agent pool (delete it in Azure DevOps' organization settings)",
            resource.name
        )))
    }
}
