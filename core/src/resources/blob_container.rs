//! `Microsoft.Storage/storageAccounts/blobServices/containers`, created through the management plane.

use super::kind::{self, Kind, Probe};
use serde::{Deserialize, Serialize};

pub static KIND: Kind = Kind {
    // The Storage swaggers define no answer to a GET of a missing account or container; a list
    // answers 200 either way.
    probe: Probe::List,
    ..kind::arm(
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "2023-05-01",
        "azure-rest-api-specs/specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/blob.json",
        "blob container",
    )
};

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
