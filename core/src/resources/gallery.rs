//! `Microsoft.Compute/galleries` (GalleryRP).

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::Tags;

pub static KIND: Kind = kind::arm(
    "Microsoft.Compute/galleries",
    "2024-03-03",
    "azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json",
    "gallery",
);

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
