//! The image a scale set's model names (`virtualMachineProfile.storageProfile.imageReference`), resolved
//! against the emulator's galleries.
//!
//! An `id` must name an existing gallery image version, or an image definition (then its latest version:
//! the highest version not `excludeFromLatest`, as the instance's `exactVersion`). A platform image
//! (`publisher`/`offer`/`sku`/`version`) is taken as given (the emulator has no marketplace).

use serde_json::{json, Value};

use crate::arm::error::ArmError;
use crate::arm::path::parent_id;
use crate::state::Store;

/// An image an instance gets.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedImage {
    /// The instance's `storageProfile.imageReference`.
    pub reference: Value,
    /// The `id` of the reference (the model's), or a platform image's `publisher:offer:sku:version`.
    pub id: String,
}

/// A gallery image version's numbers, for ordering.
fn version_key(name: &str) -> Vec<u64> {
    name.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The latest version of the image definition `image_id`: its highest version not excluded from latest.
pub fn latest_version(store: &Store, image_id: &str) -> Option<(String, String)> {
    store
        .resources()
        .filter(|r| r.kind == "galleryImageVersions" && parent_id(&r.id).eq_ignore_ascii_case(image_id))
        .filter(|r| r.body.pointer("/properties/publishingProfile/excludeFromLatest") != Some(&json!(true)))
        .map(|r| (r.id.clone(), r.id.rsplit('/').next().unwrap_or_default().to_string()))
        .max_by_key(|(_, name)| version_key(name))
}

/// The image `reference` names, or the error Compute answers for it.
pub fn resolve(store: &Store, reference: &Value) -> Result<ResolvedImage, ArmError> {
    let Some(id) = reference.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        let urn = ["publisher", "offer", "sku", "version"]
            .iter()
            .map(|k| reference.get(*k).and_then(Value::as_str).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":");
        return Ok(ResolvedImage { reference: reference.clone(), id: urn });
    };
    match store.get(id) {
        Some(r) if r.kind == "galleryImageVersions" => {
            Ok(ResolvedImage { reference: json!({ "id": id }), id: id.to_string() })
        }
        Some(r) if r.kind == "galleryImages" => match latest_version(store, &r.id) {
            Some((_, version)) => {
                Ok(ResolvedImage { reference: json!({ "id": id, "exactVersion": version }), id: id.to_string() })
            }
            None => Err(image_not_found(id)),
        },
        _ => Err(image_not_found(id)),
    }
}

/// The error of an image reference that names nothing usable.
pub fn image_not_found(id: &str) -> ArmError {
    ArmError::bad_request("GalleryImageNotFound", format!("The gallery image {id} is not available."))
}
