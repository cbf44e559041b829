//! `Microsoft.VirtualMachineImages/imageTemplates` (Azure VM Image Builder, 2024-02-01).
//!
//! Templates are immutable in Azure: a changed template must be deleted and recreated. The
//! template's name therefore carries a hash of its content ([`content_hash`]), so the same
//! content maps to the same template and changed content to a new one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::kind::{self, Kind};
use super::Tags;
use crate::aib::{Customizer, ImageSource};

pub static KIND: Kind = kind::arm(
    "Microsoft.VirtualMachineImages/imageTemplates",
    "2024-02-01",
    "azure-rest-api-specs/specification/imagebuilder/resource-manager/Microsoft.VirtualMachineImages/stable/2024-02-01/imagebuilder.json",
    "image template",
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageTemplate {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub identity: TemplateIdentity,
    pub properties: ImageTemplateProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateIdentity {
    #[serde(rename = "type")]
    pub kind: String,
    /// Identity resource id → `{}` (principal and client ids are read-only).
    pub user_assigned_identities: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTemplateProperties {
    pub build_timeout_in_minutes: u32,
    pub vm_profile: VmProfile,
    pub source: ImageSource,
    pub customize: Vec<Customizer>,
    pub distribute: Vec<SharedImageDistributor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmProfile {
    pub vm_size: String,
    #[serde(rename = "osDiskSizeGB")]
    pub os_disk_size_gb: u32,
    /// The existing subnet the build VM joins; without it Image Builder makes a temporary network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_config: Option<VnetConfig>,
}

/// `VirtualNetworkConfig` of the 2024-02-01 swagger; only `subnetId` is used (no isolated
/// builds' container subnet, the default proxy VM size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetConfig {
    pub subnet_id: String,
}

/// The `SharedImage` distributor: into a gallery image definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedImageDistributor {
    /// Always `SharedImage`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The image definition id, or a version id (`…/versions/x.y.z`) to name the version.
    pub gallery_image_id: String,
    /// How Image Builder numbers the version when `gallery_image_id` names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<DistributeVersioning>,
    pub run_output_name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifact_tags: BTreeMap<String, String>,
    pub target_regions: Vec<DistributeTargetRegion>,
    pub exclude_from_latest: bool,
}

/// `DistributeVersioner`: Image Builder picks the version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme")]
pub enum DistributeVersioning {
    /// One more than the newest version of the definition (of major `major`, when given).
    Latest {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        major: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistributeTargetRegion {
    pub name: String,
    pub replica_count: u32,
    pub storage_account_type: String,
}

/// First 8 hex digits of the SHA-256 of the template's JSON, which names the template.
///
/// The gallery image version is left out of the hash (`…/versions/x.y.z` is cut from
/// `galleryImageId`), so a new build of unchanged content reuses the template's name.
pub fn content_hash(template: &ImageTemplate) -> String {
    let mut unversioned = template.clone();
    for distributor in &mut unversioned.properties.distribute {
        if let Some(at) = distributor.gallery_image_id.to_ascii_lowercase().find("/versions/") {
            distributor.gallery_image_id.truncate(at);
        }
    }
    let json = serde_json::to_vec(&unversioned).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// `<base>-<hash>`: the template's name in Azure.
pub fn name(base: &str, template: &ImageTemplate) -> String {
    format!("{base}-{}", content_hash(template))
}
