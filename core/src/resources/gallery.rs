//! `Microsoft.Compute/galleries` (GalleryRP).

use serde::{Deserialize, Serialize};

use super::Tags;

pub const KIND: &str = "Microsoft.Compute/galleries";
pub const API_VERSION: &str = "2024-03-03";
pub const SHORT_NAME: &str = "gallery";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gallery {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub properties: GalleryProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
