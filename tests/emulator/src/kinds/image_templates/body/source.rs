//! `properties.source`: platform images, managed images and gallery image versions.

use serde_json::Value;

use super::fields::{invalid, members, object, one_of, present, string};
use super::ids::GalleryImageRef;
use crate::arm::error::ArmError;

pub(super) fn source(value: &Value) -> Result<(), ArmError> {
    let at = "properties.source";
    let map = object(value, at, "ImageTemplateSource")?;
    let kind = one_of(map, at, "type", &["PlatformImage", "ManagedImage", "SharedImageVersion"], true)?;
    match kind {
        Some("PlatformImage") => {
            let ty = "ImageTemplatePlatformImageSource";
            members(map, at, ty, &["type", "publisher", "offer", "sku", "version", "exactVersion", "planInfo"])?;
            for key in ["publisher", "offer", "sku", "version"] {
                string(map, at, key, true)?;
            }
            if let Some(plan) = present(map, "planInfo") {
                let pat = "properties.source.planInfo";
                let p = object(plan, pat, "PlatformImagePurchasePlan")?;
                members(p, pat, "PlatformImagePurchasePlan", &["planName", "planProduct", "planPublisher"])?;
                for key in ["planName", "planProduct", "planPublisher"] {
                    string(p, pat, key, true)?;
                }
            }
        }
        Some("ManagedImage") => {
            members(map, at, "ImageTemplateManagedImageSource", &["type", "imageId"])?;
            string(map, at, "imageId", true)?;
        }
        _ => {
            members(map, at, "ImageTemplateSharedImageVersionSource", &["type", "imageVersionId", "exactVersion"])?;
            let id = string(map, at, "imageVersionId", true)?.unwrap_or_default();
            if GalleryImageRef::parse(id).and_then(|r| r.version).is_none() {
                return Err(invalid(
                    "properties.source.imageVersionId",
                    format!("'{id}' is not a gallery image version id (…/galleries/{{gallery}}/images/{{image}}/versions/{{version}})."),
                ));
            }
        }
    }
    Ok(())
}
