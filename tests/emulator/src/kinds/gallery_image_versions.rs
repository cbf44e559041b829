//! `Microsoft.Compute/galleries/images/versions`, GalleryRP api-version 2024-03-03.
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate, LRO) | 201 `Creating` / 200 `Updating` + `Azure-AsyncOperation` |
//! | GET | 200 / 404 (404 `ParentResourceNotFound` without the image or gallery) |
//! | PATCH (Update, LRO) | 200 `Updating` + `Azure-AsyncOperation` |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing |
//! | LIST by image | 200 `{"value"}` |
//!
//! [`create_version`] creates a version from inside the emulator (Image Builder's distribution), with the
//! same checks. Read-only properties follow `GalleryImageVersion_Get.json`: `publishedDate`, a default
//! target region in the version's location, `osDiskImage.sizeInGB`.
//!
//! Caveats: no replication status (`$expand=ReplicationStatus` is ignored); the source is not checked
//! to exist; `sizeInGB` is always 30.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{default, existing_at, name_rule, object, object_in};
use crate::app::App;
use crate::arm::crud::{normalize_location, timestamp, upsert_internal};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::path::segments;
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::Resource;

/// The gallery image version kind.
pub struct GalleryImageVersions;

static INFO: KindInfo = KindInfo {
    name: "galleryImageVersions",
    resource_type: "Microsoft.Compute/galleries/images/versions",
    api_versions: &["2024-03-03"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images/{galleryImageName}/versions/{galleryImageVersionName}",
    lists: &[ListRoute {
        pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}/images/{galleryImageName}/versions",
        filter: ListFilter::Children,
    }],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::AsyncOperation,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &[],
};

const ACCOUNT_TYPES: &[&str] = &["Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS"];

const RULES: &[Rule] = &[
    Rule::Required("location"),
    Rule::Type("location", JsonType::String),
    Rule::Type("tags", JsonType::Object),
    Rule::Required("properties"),
    Rule::Required("properties.storageProfile"),
    Rule::Type("properties.storageProfile", JsonType::Object),
    Rule::Enum("properties.storageProfile.osDiskImage.hostCaching", &["None", "ReadOnly", "ReadWrite"]),
    Rule::Type("properties.publishingProfile.targetRegions", JsonType::Array),
    Rule::Required("properties?.publishingProfile?.targetRegions?[].name"),
    Rule::Enum("properties.publishingProfile.targetRegions[].storageAccountType", ACCOUNT_TYPES),
    Rule::Type("properties.publishingProfile.targetRegions[].regionalReplicaCount", JsonType::Integer),
    Rule::Enum("properties.publishingProfile.storageAccountType", ACCOUNT_TYPES),
    Rule::Enum("properties.publishingProfile.replicationMode", &["Full", "Shallow"]),
    Rule::Type("properties.publishingProfile.replicaCount", JsonType::Integer),
    Rule::Type("properties.publishingProfile.excludeFromLatest", JsonType::Boolean),
];

impl ResourceKind for GalleryImageVersions {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// `Major.Minor.Patch`, each a 32-bit integer.
    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        let parts: Vec<&str> = name.split('.').collect();
        let ok = parts.len() == 3
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<i32>().is_ok());
        name_rule(ok, "InvalidParameter", || {
            format!("The gallery image version name '{name}' is invalid. It must follow the format Major(int32).Minor(int32).Patch(int32).")
        })
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)?;
        let storage = &body["properties"]["storageProfile"];
        let has_source = ["id", "virtualMachineId", "communityGalleryImageId"]
            .iter()
            .any(|k| storage["source"][*k].as_str().is_some_and(|s| !s.is_empty()))
            || storage["osDiskImage"]["source"].is_object();
        if !has_source {
            return Err(ArmError::MissingRequiredProperty("properties.storageProfile.source".into()));
        }
        Ok(())
    }

    fn build(&self, _target: &Target, env: &Env<'_>, mut body: Value, existing: Option<&Resource>) -> Value {
        let location = normalize_location(body["location"].as_str().unwrap_or_default());
        let published = existing_at(existing, "properties.publishingProfile.publishedDate")
            .cloned()
            .unwrap_or_else(|| json!(timestamp(env.now)));
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "location" | "tags" | "properties"));
        }
        let props = object(&mut body, "properties");
        props.remove("replicationStatus");
        props.remove("validationsProfile");
        let publishing = object_in(props, "publishingProfile");
        default(publishing, "replicaCount", json!(1));
        default(publishing, "excludeFromLatest", json!(false));
        default(publishing, "storageAccountType", json!("Standard_LRS"));
        default(
            publishing,
            "targetRegions",
            json!([{ "name": location, "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS", "excludeFromLatest": false }]),
        );
        publishing.insert("publishedDate".into(), published);
        let disk = object_in(object_in(props, "storageProfile"), "osDiskImage");
        disk.insert("sizeInGB".into(), json!(30));
        default(disk, "hostCaching", json!("ReadWrite"));
        let safety = props.entry("safetyProfile").or_insert_with(|| json!({}));
        if let Some(safety) = safety.as_object_mut() {
            default(safety, "allowDeletionOfReplicatedLocations", json!(true));
            safety.insert("reportedForPolicyViolation".into(), json!(false));
            default(safety, "blockDeletionBeforeEndOfLife", json!(false));
        }
        body
    }
}

/// Creates (or replaces) version `version` of the image `image_id` as Azure's own services do (Image
/// Builder's distribution): `body` is a version body as a client would PUT it. The version is `Succeeded`
/// at once; the returned value is the stored resource.
pub fn create_version(app: &App, image_id: &str, version: &str, body: Value) -> Result<Value, ArmError> {
    let id = format!("{}/versions/{version}", image_id.trim_end_matches('/'));
    let target = app
        .registry
        .item(&segments(&id))
        .filter(|t| t.kind.info().name == INFO.name)
        .ok_or_else(|| ArmError::InvalidResourceType(id.clone()))?;
    upsert_internal(app, &target, body, OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rules() {
        assert!(GalleryImageVersions.validate_name("0.24322.55884").is_ok());
        for bad in ["1.0", "1.0.0.0", "a.b.c", "1.0.99999999999"] {
            assert!(GalleryImageVersions.validate_name(bad).is_err(), "{bad}");
        }
        let mut no_source = json!({"location": "westus", "properties": {"storageProfile": {}}});
        assert_eq!(
            GalleryImageVersions.validate(&mut no_source),
            Err(ArmError::MissingRequiredProperty("properties.storageProfile.source".into()))
        );
        let mut ok = json!({"location": "westus", "properties": {"storageProfile": {"source": {"id": "/x"}}}});
        GalleryImageVersions.validate(&mut ok).unwrap();
    }
}
