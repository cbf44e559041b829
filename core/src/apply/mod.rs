//! Converging Azure on a desired state: compare ([`live`]), then run the changes as a DAG
//! ([`dag`]) with bounded parallelism, each change the request its kind calls for ([`write`]).
//!
//! Both halves talk to Azure through the [`ResourceStore`] and [`ScriptStore`] traits, so the
//! same logic runs against Azure, the emulator, or an in-memory store in unit tests and
//! benchmarks.

mod applied;
pub mod arm_store;
pub mod dag;
pub mod live;
pub mod memory;
pub mod write;

use std::future::Future;

use serde_json::Value;

use crate::arm::ArmError;
use crate::plan::DesiredResource;
use crate::scripts::ScriptUpload;

/// Why a read or write of a resource failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Azure Resource Manager refused or failed the call (boxed: an ARM error is large).
    #[error(transparent)]
    Arm(Box<ArmError>),
    /// No request could be made for the change.
    #[error(transparent)]
    Write(#[from] write::WriteError),
    /// Anything else (a blob upload, a value not known yet, an injected failure), on one line.
    #[error("{message}")]
    Other {
        message: String,
        /// True when the input was at fault: exit code 2 rather than 1.
        usage: bool,
    },
}

impl From<ArmError> for StoreError {
    fn from(error: ArmError) -> Self {
        StoreError::Arm(Box::new(error))
    }
}

impl StoreError {
    /// A failure of the operation, not of the input.
    pub fn operation(message: impl Into<String>) -> Self {
        Self::Other { message: message.into(), usage: false }
    }

    /// A failure caused by the input (a 400-class answer, a resource that must exist): exit
    /// code 2 rather than 1.
    pub fn is_usage(&self) -> bool {
        match self {
            StoreError::Arm(error) => error.is_usage(),
            StoreError::Write(_) => false,
            StoreError::Other { usage, .. } => *usage,
        }
    }

    /// The ARM error behind it, when there is one.
    pub fn arm(&self) -> Option<&ArmError> {
        match self {
            StoreError::Arm(error) => Some(error),
            _ => None,
        }
    }
}

/// Reads and writes resources: Azure Resource Manager, Azure DevOps, or a stand-in.
pub trait ResourceStore: Sync {
    /// The resource as its service returns it, or `None` when it does not exist.
    fn get(&self, resource: &DesiredResource) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;
    /// Creates or replaces the resource with `body` and waits until it is done; returns it.
    fn put(&self, resource: &DesiredResource, body: &Value) -> impl Future<Output = Result<Value, StoreError>> + Send;
    /// Changes just the fields of `body` and waits until it is done; returns the resource.
    fn patch(&self, resource: &DesiredResource, body: &Value)
        -> impl Future<Output = Result<Value, StoreError>> + Send;
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
