//! `Microsoft.Compute/galleries/images` (image definitions), GalleryRP api-version 2024-03-03.
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate, LRO) | 201 `Creating` / 200 `Updating` + `Azure-AsyncOperation`; 400 on a missing required property or a bad enum (`osType`, `osState`, `hyperVGeneration`, `architecture`); 409 `PropertyChangeNotAllowed` when an update changes `osType`, `osState`, `hyperVGeneration` or `identifier` |
//! | GET | 200 / 404 (404 `ParentResourceNotFound` without the gallery) |
//! | PATCH (Update, LRO) | 200 `Updating` + `Azure-AsyncOperation` |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing; 409 `CannotDeleteResource` while versions exist |
//! | LIST by gallery | 200 `{"value"}` |
//!
//! `hyperVGeneration` defaults to `V1` as in Azure.

use serde_json::{json, Value};

use super::{default, galleries::check_compute_name, object};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::{Resource, Store};

/// The gallery image definition kind.
pub struct GalleryImages;

static INFO: KindInfo = KindInfo {
    name: "galleryImages",
    resource_type: "Microsoft.Compute/galleries/images",
    api_versions: &["2024-03-03"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images/{galleryImageName}",
    lists: &[ListRoute {
        pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images",
        filter: ListFilter::Children,
    }],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::AsyncOperation,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: true,
    actions: &[],
};

const RULES: &[Rule] = &[
    Rule::Required("location"),
    Rule::Type("location", JsonType::String),
    Rule::Type("tags", JsonType::Object),
    Rule::Required("properties"),
    Rule::Required("properties.osType"),
    Rule::Enum("properties.osType", &["Windows", "Linux"]),
    Rule::Required("properties.osState"),
    Rule::Enum("properties.osState", &["Generalized", "Specialized"]),
    Rule::Required("properties.identifier"),
    Rule::Required("properties.identifier.publisher"),
    Rule::Type("properties.identifier.publisher", JsonType::String),
    Rule::Required("properties.identifier.offer"),
    Rule::Type("properties.identifier.offer", JsonType::String),
    Rule::Required("properties.identifier.sku"),
    Rule::Type("properties.identifier.sku", JsonType::String),
    Rule::Enum("properties.hyperVGeneration", &["V1", "V2"]),
    Rule::Enum("properties.architecture", &["x64", "Arm64"]),
    Rule::Type("properties.features", JsonType::Array),
    Rule::Type("properties.features[].name", JsonType::String),
    Rule::Type("properties.features[].value", JsonType::String),
    Rule::Type("properties.endOfLifeDate", JsonType::String),
    Rule::Type("properties.allowUpdateImage", JsonType::Boolean),
];

/// Properties an update may not change.
const IMMUTABLE: &[&str] = &["osType", "osState", "hyperVGeneration", "identifier"];

fn effective(body: &Value, name: &str) -> Value {
    let v = body["properties"][name].clone();
    match (name, v) {
        ("hyperVGeneration", Value::Null) => json!("v1"),
        ("identifier", Value::Object(map)) => Value::Object(
            map.into_iter().map(|(k, v)| (k, json!(v.as_str().unwrap_or_default().to_lowercase()))).collect(),
        ),
        (_, Value::String(s)) => json!(s.to_lowercase()),
        (_, other) => other,
    }
}

impl ResourceKind for GalleryImages {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_compute_name(name, &['.', '_', '-'], "gallery image")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn check(
        &self,
        _target: &Target,
        body: &Value,
        existing: Option<&Resource>,
        _store: &Store,
    ) -> Result<(), ArmError> {
        let Some(existing) = existing else { return Ok(()) };
        for name in IMMUTABLE {
            if effective(body, name) != effective(&existing.body, name) {
                return Err(ArmError::conflict(
                    "PropertyChangeNotAllowed",
                    format!("Changing property 'galleryImage.properties.{name}' is not allowed."),
                ));
            }
        }
        Ok(())
    }

    fn build(&self, _target: &Target, _env: &Env<'_>, mut body: Value, _existing: Option<&Resource>) -> Value {
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "location" | "tags" | "properties"));
        }
        default(object(&mut body, "properties"), "hyperVGeneration", json!("V1"));
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Value {
        json!({"location": "West US", "properties": {"osType": "Linux", "osState": "Generalized",
            "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}})
    }

    #[test]
    fn rules() {
        let mut ok = image();
        GalleryImages.validate(&mut ok).unwrap();
        let mut bad = image();
        bad["properties"]["osType"] = json!("Linuxx");
        let e = GalleryImages.validate(&mut bad).unwrap_err();
        assert_eq!((e.code(), e.status().as_u16()), ("InvalidRequestContent", 400));
        let mut missing = image();
        missing["properties"]["identifier"].as_object_mut().unwrap().remove("sku");
        assert_eq!(
            GalleryImages.validate(&mut missing),
            Err(ArmError::MissingRequiredProperty("properties.identifier.sku".into()))
        );
    }

    #[test]
    fn immutable_properties() {
        let existing = Resource { kind: "galleryImages".into(), id: "x".into(), body: image() };
        let target_store = Store::default();
        let t = crate::kinds::registry()
            .item(&crate::arm::path::segments(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i",
            ))
            .unwrap();
        let mut same = image();
        same["properties"]["hyperVGeneration"] = json!("V1");
        assert!(GalleryImages.check(&t, &same, Some(&existing), &target_store).is_ok());
        let mut changed = image();
        changed["properties"]["osType"] = json!("Windows");
        assert_eq!(
            GalleryImages.check(&t, &changed, Some(&existing), &target_store).unwrap_err().code(),
            "PropertyChangeNotAllowed"
        );
    }
}
