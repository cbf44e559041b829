//! `properties.distribute[]`: managed image, gallery (`SharedImage`, with target regions and versioning) and
//! VHD distributors.

use serde_json::Value;

use super::fields::{
    array, boolean, integer, invalid, members, object, one_of, present, string, string_map, strings, Object,
};
use super::ids::GalleryImageRef;
use crate::arm::error::ArmError;

const STORAGE_ACCOUNT_TYPES: &[&str] = &["Standard_LRS", "Standard_ZRS", "Premium_LRS"];

/// Checks one distributor; its `runOutputName`.
pub(super) fn distributor(value: &Value, at: &str) -> Result<String, ArmError> {
    let map = object(value, at, "ImageTemplateDistributor")?;
    let kind = one_of(map, at, "type", &["ManagedImage", "SharedImage", "VHD"], true)?;
    let name = string(map, at, "runOutputName", true)?.unwrap_or_default().to_string();
    let name_ok = (1..=64).contains(&name.len()) && crate::kinds::chars_ok(&name, &['-', '_', '.']);
    if !name_ok {
        return Err(invalid(
            format!("{at}.runOutputName"),
            format!("The runOutputName '{name}' of '{at}' does not match the pattern '^[A-Za-z0-9-_.]{{1,64}}$'."),
        ));
    }
    string_map(map, at, "artifactTags")?;
    match kind {
        Some("ManagedImage") => {
            members(
                map,
                at,
                "ImageTemplateManagedImageDistributor",
                &["type", "runOutputName", "artifactTags", "imageId", "location"],
            )?;
            string(map, at, "imageId", true)?;
            string(map, at, "location", true)?;
        }
        Some("SharedImage") => {
            members(
                map,
                at,
                "ImageTemplateSharedImageDistributor",
                &[
                    "type",
                    "runOutputName",
                    "artifactTags",
                    "galleryImageId",
                    "replicationRegions",
                    "excludeFromLatest",
                    "storageAccountType",
                    "targetRegions",
                    "versioning",
                ],
            )?;
            shared_image(map, at)?;
        }
        _ => {
            members(map, at, "ImageTemplateVhdDistributor", &["type", "runOutputName", "artifactTags", "uri"])?;
            string(map, at, "uri", false)?;
        }
    }
    Ok(name)
}

fn shared_image(map: &Object, at: &str) -> Result<(), ArmError> {
    let id = string(map, at, "galleryImageId", true)?.unwrap_or_default();
    let Some(reference) = GalleryImageRef::parse(id) else {
        return Err(invalid(
            format!("{at}.galleryImageId"),
            format!("'{id}' is not a gallery image id (/subscriptions/{{s}}/resourceGroups/{{g}}/providers/Microsoft.Compute/galleries/{{gallery}}/images/{{image}}, optionally followed by /versions/{{x.y.z}})."),
        ));
    };
    let regions = strings(map, at, "replicationRegions")?;
    boolean(map, at, "excludeFromLatest")?;
    let account_type = one_of(map, at, "storageAccountType", STORAGE_ACCOUNT_TYPES, false)?;
    if let Some(targets) = array(map, at, "targetRegions")? {
        if regions.is_some() {
            return Err(invalid(
                format!("{at}.targetRegions"),
                format!("'{at}' may specify 'targetRegions' or the deprecated 'replicationRegions', not both."),
            ));
        }
        if account_type.is_some() {
            return Err(invalid(
                format!("{at}.storageAccountType"),
                format!("'{at}.storageAccountType' can be specified only with 'replicationRegions'; use 'targetRegions[].storageAccountType'."),
            ));
        }
        for (i, target) in targets.iter().enumerate() {
            let tat = format!("{at}.targetRegions[{i}]");
            let t = object(target, &tat, "TargetRegion")?;
            members(t, &tat, "TargetRegion", &["name", "replicaCount", "storageAccountType"])?;
            string(t, &tat, "name", true)?;
            integer(t, &tat, "replicaCount", 1, 100)?;
            one_of(t, &tat, "storageAccountType", STORAGE_ACCOUNT_TYPES, false)?;
        }
    }
    if let Some(versioning) = present(map, "versioning") {
        let vat = format!("{at}.versioning");
        let v = object(versioning, &vat, "DistributeVersioner")?;
        match one_of(v, &vat, "scheme", &["Latest", "Source"], true)? {
            Some("Latest") => {
                members(v, &vat, "DistributeVersionerLatest", &["scheme", "major"])?;
                integer(v, &vat, "major", -1, i64::from(i32::MAX))?;
            }
            _ => members(v, &vat, "DistributeVersionerSource", &["scheme"])?,
        }
        if reference.version.is_some() {
            return Err(invalid(
                vat.clone(),
                format!("'{vat}' cannot be specified when 'galleryImageId' names a version."),
            ));
        }
    }
    Ok(())
}
