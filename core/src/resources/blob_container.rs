//! `Microsoft.Storage/storageAccounts/blobServices/containers`, created through the management plane.

use serde::{Deserialize, Serialize};

pub const KIND: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";
pub const API_VERSION: &str = "2023-05-01";

/// `<account id>/blobServices/default/containers/<name>`.
pub fn id(account_id: &str, name: &str) -> String {
    format!("{account_id}/blobServices/default/containers/{name}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobContainer {
    pub properties: BlobContainerProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobContainerProperties {
    pub public_access: String,
}

/// A private container.
pub fn desired() -> BlobContainer {
    BlobContainer { properties: BlobContainerProperties { public_access: "None".to_owned() } }
}
