//! `Microsoft.ManagedIdentity/userAssignedIdentities`: the identity Image Builder runs as.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::Tags;

pub static KIND: Kind = kind::arm(
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "2023-01-31",
    "azure-rest-api-specs/specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json",
    "managed identity",
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}
