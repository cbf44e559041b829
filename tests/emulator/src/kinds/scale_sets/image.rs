//! The image a scale set's model names (`virtualMachineProfile.storageProfile.imageReference`), resolved
//! against the emulator's galleries.
//!
//! An `id` must name an existing gallery image version replicated to the scale set's region (one of its
//! `publishingProfile.targetRegions`), or an image definition with such a version: then its latest one (the
//! highest version not `excludeFromLatest`), which the instance shows as `imageReference.exactVersion`.
//! Anything else is Compute's 404 `GalleryImageNotFound` with its wording ("The gallery image … is not
//! available in … region. Please contact image owner to replicate to this region, or change your requested
//! region.", as quoted in aztfmod/terraform-azurerm-caf#852 and pulumi/pulumi-aws#5129). A platform image
//! (`publisher`/`offer`/`sku`/`version`) is taken as given: the emulator has no marketplace.
//!
//! Caveat: managed images (`Microsoft.Compute/images`) are not emulated, so their ids are refused too.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::arm::crud::normalize_location;
use crate::arm::error::ArmError;
use crate::arm::path::parent_id;
use crate::state::{Resource, Store};

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

/// Whether a stored gallery image version is replicated to `location`.
fn replicated_to(version: &Resource, location: &str) -> bool {
    let regions = version.body.pointer("/properties/publishingProfile/targetRegions").and_then(Value::as_array);
    match regions {
        Some(regions) => regions.iter().any(|r| normalize_location(r["name"].as_str().unwrap_or_default()) == location),
        None => normalize_location(version.body["location"].as_str().unwrap_or_default()) == location,
    }
}

/// The name of the latest version of image definition `image_id` replicated to `location`: its highest
/// version not excluded from latest.
pub fn latest_version(store: &Store, image_id: &str, location: &str) -> Option<String> {
    store
        .resources()
        .filter(|r| r.kind == "galleryImageVersions" && parent_id(&r.id).eq_ignore_ascii_case(image_id))
        .filter(|r| r.body.pointer("/properties/publishingProfile/excludeFromLatest") != Some(&json!(true)))
        .filter(|r| replicated_to(r, location))
        .map(|r| r.id.rsplit('/').next().unwrap_or_default().to_string())
        .max_by_key(|name| version_key(name))
}

/// The image `reference` names for a scale set in `location`, or Compute's error.
pub fn resolve(store: &Store, reference: &Value, location: &str) -> Result<ResolvedImage, ArmError> {
    let location = normalize_location(location);
    let Some(id) = reference.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        let urn = ["publisher", "offer", "sku", "version"]
            .iter()
            .map(|k| reference.get(*k).and_then(Value::as_str).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":");
        return Ok(ResolvedImage { reference: reference.clone(), id: urn });
    };
    match store.get(id) {
        Some(r) if r.kind == "galleryImageVersions" && replicated_to(r, &location) => {
            Ok(ResolvedImage { reference: json!({ "id": id }), id: id.to_string() })
        }
        Some(r) if r.kind == "galleryImages" => match latest_version(store, &r.id, &location) {
            Some(version) => {
                Ok(ResolvedImage { reference: json!({ "id": id, "exactVersion": version }), id: id.to_string() })
            }
            None => Err(image_not_found(id, &location)),
        },
        _ => Err(image_not_found(id, &location)),
    }
}

/// Compute's 404 for an image reference that names nothing usable in `location`.
pub fn image_not_found(id: &str, location: &str) -> ArmError {
    ArmError::provider(
        StatusCode::NOT_FOUND,
        "GalleryImageNotFound",
        format!("The gallery image {id} is not available in {location} region. Please contact image owner to replicate to this region, or change your requested region."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, regions: &[&str], exclude: bool) -> Resource {
        let regions: Vec<Value> = regions.iter().map(|r| json!({"name": r})).collect();
        Resource {
            kind: "galleryImageVersions".into(),
            id: id.into(),
            body: json!({"location": "westeurope", "properties": {"publishingProfile": {"targetRegions": regions, "excludeFromLatest": exclude}}}),
        }
    }

    #[test]
    fn definitions_resolve_to_their_latest_replicated_version() {
        let image = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/gal/images/img";
        let mut store = Store::default();
        store.insert(Resource { kind: "galleryImages".into(), id: image.into(), body: json!({}) });
        store.insert(version(&format!("{image}/versions/1.0.9"), &["West Europe"], false));
        store.insert(version(&format!("{image}/versions/1.0.10"), &["westeurope"], false));
        store.insert(version(&format!("{image}/versions/2.0.0"), &["westeurope"], true));
        store.insert(version(&format!("{image}/versions/3.0.0"), &["northeurope"], false));
        let resolved = resolve(&store, &json!({"id": image}), "westeurope").unwrap();
        assert_eq!(resolved.reference, json!({"id": image, "exactVersion": "1.0.10"}));
        assert_eq!(latest_version(&store, image, "northeurope").as_deref(), Some("3.0.0"));
        let v = format!("{image}/versions/3.0.0");
        assert_eq!(resolve(&store, &json!({"id": v}), "westeurope").unwrap_err().code(), "GalleryImageNotFound");
        assert_eq!(resolve(&store, &json!({"id": v}), "northeurope").unwrap().id, v);
        let e = resolve(&store, &json!({"id": "/nope"}), "westeurope").unwrap_err();
        assert_eq!((e.status(), e.code()), (StatusCode::NOT_FOUND, "GalleryImageNotFound"));
        let platform = json!({"publisher": "p", "offer": "o", "sku": "s", "version": "latest"});
        assert_eq!(resolve(&store, &platform, "westeurope").unwrap().id, "p:o:s:latest");
    }
}
