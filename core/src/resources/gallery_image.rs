//! `Microsoft.Compute/galleries/images`: the image definition receiving the versions.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::Tags;
use crate::aib::OsType;
use crate::params::model::{HyperVGeneration, ImageDefinition, SecurityType};

pub static KIND: Kind = kind::arm(
    "Microsoft.Compute/galleries/images",
    "2024-03-03",
    "azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json",
    "image definition",
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryImage {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub properties: GalleryImageProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageProperties {
    pub os_type: OsType,
    /// Always `Generalized`: Image Builder generalizes (sysprep / waagent deprovision).
    pub os_state: String,
    pub hyper_v_generation: HyperVGeneration,
    pub identifier: GalleryImageIdentifier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<GalleryImageFeature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryImageIdentifier {
    pub publisher: String,
    pub offer: String,
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryImageFeature {
    pub name: String,
    pub value: String,
}

/// The id of the image definition `p` describes, in `subscription`.
pub fn id_of(subscription: &str, p: &crate::params::Parameters) -> String {
    let gallery = super::resource_id(subscription, &p.resource_group_name, &super::gallery::KIND, &p.gallery_name);
    id(&gallery, &p.image_definition.name)
}

/// `<gallery id>/images/<name>`.
pub fn id(gallery_id: &str, name: &str) -> String {
    format!("{gallery_id}/images/{name}")
}

pub fn desired(definition: &ImageDefinition, location: &str, tags: &Tags) -> GalleryImage {
    let features = match definition.security_type {
        SecurityType::Standard => Vec::new(),
        other => vec![GalleryImageFeature { name: "SecurityType".to_owned(), value: format!("{other:?}") }],
    };
    GalleryImage {
        location: location.to_owned(),
        tags: tags.clone(),
        properties: GalleryImageProperties {
            os_type: definition.os_type,
            os_state: "Generalized".to_owned(),
            hyper_v_generation: definition.hyper_v_generation,
            identifier: GalleryImageIdentifier {
                publisher: definition.publisher.clone(),
                offer: definition.offer.clone(),
                sku: definition.sku.clone(),
            },
            description: definition.description.clone(),
            features,
        },
    }
}
