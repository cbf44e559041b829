//! `Microsoft.Resources/resourceGroups`.

use serde::{Deserialize, Serialize};

use super::Tags;

pub const KIND: &str = "Microsoft.Resources/resourceGroups";
pub const API_VERSION: &str = "2024-07-01";
pub const SHORT_NAME: &str = "resource group";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}
