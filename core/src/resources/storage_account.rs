//! `Microsoft.Storage/storageAccounts`: the account holding the customization scripts.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind, Probe};
use super::Tags;

pub static KIND: Kind = Kind {
    // The Storage swaggers define no answer to a GET of a missing account or container; a list
    // answers 200 either way.
    probe: Probe::List,
    ..kind::arm(
        "Microsoft.Storage/storageAccounts",
        "2023-05-01",
        "azure-rest-api-specs/specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json",
        "storage account",
    )
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageAccount {
    pub sku: Sku,
    pub kind: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub properties: StorageAccountProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccountProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_tier: Option<String>,
    /// Always false in what agentpool sends: Image Builder reads the scripts through its managed
    /// identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_blob_public_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_tls_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_https_traffic_only: Option<bool>,
}

/// A StorageV2 account, Standard_LRS, Hot, TLS 1.2, HTTPS only, no public blob access.
pub fn desired(location: &str, tags: &Tags) -> StorageAccount {
    StorageAccount {
        sku: Sku { name: "Standard_LRS".to_owned() },
        kind: "StorageV2".to_owned(),
        location: location.to_owned(),
        tags: tags.clone(),
        properties: StorageAccountProperties {
            access_tier: Some("Hot".to_owned()),
            allow_blob_public_access: Some(false),
            minimum_tls_version: Some("TLS1_2".to_owned()),
            supports_https_traffic_only: Some(true),
        },
    }
}

/// Blob endpoint of an account in the public cloud, `https://<account>.blob.core.windows.net/`.
///
/// Caveat: sovereign clouds and emulators use other endpoints; a live plan reads
/// `primaryEndpoints.blob` from the account instead.
pub fn public_blob_endpoint(account: &str) -> String {
    format!("https://{account}.blob.core.windows.net/")
}
