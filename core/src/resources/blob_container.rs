//! `Microsoft.Storage/storageAccounts/blobServices/containers`, created through the management plane.

use serde::{Deserialize, Serialize};

pub const KIND: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";
pub const API_VERSION: &str = "2023-05-01";
pub const SHORT_NAME: &str = "blob container";

/// `<account id>/blobServices/default/containers/<name>`.
pub fn id(account_id: &str, name: &str) -> String {
    format!("{account_id}/blobServices/default/containers/{name}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobContainer {
    /// Absent in some answers (the official create example's 201 has none).
    #[serde(default)]
    pub properties: BlobContainerProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobContainerProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_access: Option<String>,
}

/// A private container.
pub fn desired() -> BlobContainer {
    BlobContainer { properties: BlobContainerProperties { public_access: Some("None".to_owned()) } }
}
