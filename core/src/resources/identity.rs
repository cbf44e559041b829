//! `Microsoft.ManagedIdentity/userAssignedIdentities`: the identity Image Builder runs as.

use serde::{Deserialize, Serialize};

use super::Tags;

pub const KIND: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
pub const API_VERSION: &str = "2023-01-31";
pub const SHORT_NAME: &str = "managed identity";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}
