//! Converging Azure on a desired state: compare ([`live`]), then run the changes as a DAG
//! ([`dag`]) with bounded parallelism.
//!
//! Both halves talk to Azure through the [`ResourceStore`] and [`ScriptStore`] traits, so the
//! same logic runs against Azure, the emulator, or an in-memory store in unit tests and
//! benchmarks.

mod applied;
pub mod arm_store;
pub mod dag;
pub mod live;
pub mod memory;

use std::future::Future;

use serde_json::Value;

use crate::plan::DesiredResource;
use crate::scripts::ScriptUpload;

/// Why a read or write of a resource failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// One line, with Azure's error code and message when there is one.
    pub message: String,
    /// True when the input was at fault (a 400-class answer): exit code 2 rather than 1.
    pub usage: bool,
}

impl StoreError {
    pub fn operation(message: impl Into<String>) -> Self {
        Self { message: message.into(), usage: false }
    }
}

/// Reads and writes resources: Azure Resource Manager, or a stand-in.
pub trait ResourceStore: Sync {
    /// The resource as Azure returns it, or `None` when it does not exist.
    fn get(&self, resource: &DesiredResource) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;
    /// Creates or updates the resource and waits until Azure reports it done; returns it.
    fn put(&self, resource: &DesiredResource, body: &Value) -> impl Future<Output = Result<Value, StoreError>> + Send;
    /// Deletes the resource and waits until it is gone; one already gone is `Ok`.
    fn delete(&self, resource: &DesiredResource) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Uploads scripts to blob storage.
pub trait ScriptStore: Sync {
    /// Sends `upload` to `<container_url>/<blob name>` unless the blob already holds the same
    /// bytes; returns whether it was sent.
    fn upload(
        &self,
        container_url: &str,
        upload: &ScriptUpload,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
