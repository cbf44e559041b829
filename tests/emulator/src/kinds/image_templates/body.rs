//! The request body of an image template, checked as Image Builder 2024-02-01 checks it: the swagger's
//! required properties, discriminators (`source`, `customize[]`, `distribute[]`, `validate.inVMValidations[]`,
//! `versioning`) and their fields, value types and ranges, and — since that api-version enforces case
//! sensitivity — exact-case property names and enum values, unknown members refused.
//!
//! Every violation is a 400 naming the property: `MissingRequiredProperty` (target = the path) or
//! `InvalidRequestContent` with a .NET-deserializer style message (`Could not find member 'x' on object of
//! type 'ImageTemplateProperties'. Path 'properties.x'.`). Read-only properties sent back (a GET body
//! PUT again, or merged by a PATCH) are accepted and ignored.

mod customizers;
mod distributors;
mod fields;
mod ids;
mod properties;
mod source;

use serde_json::Value;

use self::fields::{invalid, members, object, one_of, required, string, string_map};
pub use self::ids::{identity_name, resource_group_id, GalleryImageRef};
use self::properties::properties;
use crate::arm::error::ArmError;

/// `properties` members that are read-only (ignored in requests, set by the emulator).
pub const READ_ONLY: &[&str] =
    &["provisioningState", "provisioningError", "lastRunStatus", "exactStagingResourceGroup"];

/// Checks a template body (PUT, or a GET body merged with a PATCH).
pub fn check(body: &Value) -> Result<(), ArmError> {
    let top = body.as_object().ok_or_else(|| ArmError::InvalidRequestContent {
        message: "the request content must be a JSON object.".into(),
        target: None,
    })?;
    members(
        top,
        "",
        "ImageTemplate",
        &["id", "name", "type", "location", "tags", "identity", "properties", "systemData"],
    )?;
    if string(top, "", "location", false)?.is_none_or(|l| l.trim().is_empty()) {
        return Err(ArmError::LocationRequired);
    }
    string_map(top, "", "tags")?;
    identity(required(top, "", "identity")?)?;
    properties(required(top, "", "properties")?)
}

fn identity(value: &Value) -> Result<(), ArmError> {
    let map = object(value, "identity", "ImageTemplateIdentity")?;
    members(map, "identity", "ImageTemplateIdentity", &["type", "userAssignedIdentities"])?;
    let kind = one_of(map, "identity", "type", &["UserAssigned", "None"], true)?;
    if kind != Some("UserAssigned") {
        return Err(invalid(
            "identity.type",
            "Image Builder needs a user-assigned identity: 'identity.type' must be 'UserAssigned' with one identity in 'identity.userAssignedIdentities'.",
        ));
    }
    let path = "identity.userAssignedIdentities";
    let ids = object(required(map, "identity", "userAssignedIdentities")?, path, "Dictionary`2")?;
    if ids.len() != 1 {
        return Err(invalid(
            path,
            format!("Exactly one user-assigned identity is supported in '{path}'; {} given.", ids.len()),
        ));
    }
    for (id, details) in ids {
        if identity_name(id).is_none() {
            return Err(invalid(
                format!("{path}['{id}']"),
                format!("'{id}' is not a user-assigned identity id (/subscriptions/{{subscriptionId}}/resourceGroups/{{group}}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{{name}})."),
            ));
        }
        let at = format!("{path}['{id}']");
        let details = object(details, &at, "UserAssignedIdentity")?;
        members(details, &at, "UserAssignedIdentity", &["principalId", "clientId"])?;
    }
    Ok(())
}

/// Adds the defaults Image Builder shows (PowerShell steps' `runElevated` / `runAsSystem`).
pub fn normalize(body: &mut Value) {
    let lists = [("customize", None), ("validate", Some("inVMValidations"))];
    for (key, inner) in lists {
        let list = match inner {
            None => body.pointer_mut(&format!("/properties/{key}")),
            Some(inner) => body.pointer_mut(&format!("/properties/{key}/{inner}")),
        };
        for item in list.and_then(Value::as_array_mut).into_iter().flatten() {
            if item["type"] == "PowerShell" {
                if let Some(map) = item.as_object_mut() {
                    map.entry("runElevated").or_insert(Value::Bool(false));
                    map.entry("runAsSystem").or_insert(Value::Bool(false));
                }
            }
        }
    }
}

/// What may not change on an existing template: everything but tags and read-only properties, with
/// the location and identity ids compared as ARM compares them (case-insensitively).
pub fn immutable_part(body: &Value) -> Value {
    let mut spec = body.clone();
    if let Some(map) = spec.as_object_mut() {
        map.retain(|k, _| matches!(k.as_str(), "location" | "identity" | "properties"));
        if let Some(Value::String(location)) = map.get_mut("location") {
            *location = crate::arm::crud::normalize_location(location);
        }
        if let Some(identity) = map.get_mut("identity") {
            let ids: Vec<Value> = identity["userAssignedIdentities"]
                .as_object()
                .map(|m| m.keys().map(|k| Value::String(k.to_ascii_lowercase())).collect())
                .unwrap_or_default();
            *identity = serde_json::json!({ "type": identity["type"], "ids": ids });
        }
        if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
            props.retain(|k, _| !READ_ONLY.contains(&k.as_str()));
            if let Some(source) = props.get_mut("source").and_then(Value::as_object_mut) {
                source.remove("exactVersion");
            }
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({
            "location": "westeurope",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id": {}}},
            "properties": {
                "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
                "customize": [
                    {"type": "Shell", "name": "tools", "inline": ["echo hi"]},
                    {"type": "PowerShell", "name": "ps", "scriptUri": "https://x/y.ps1", "validExitCodes": [0, 3010]},
                    {"type": "File", "sourceUri": "https://x/f", "destination": "/tmp/f"},
                    {"type": "WindowsRestart", "restartTimeout": "10m"},
                    {"type": "WindowsUpdate", "filters": ["$_.BrowseOnly"], "updateLimit": 5}
                ],
                "distribute": [{"type": "SharedImage", "runOutputName": "gallery", "galleryImageId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i",
                    "targetRegions": [{"name": "westeurope", "replicaCount": 1, "storageAccountType": "Standard_LRS"}], "versioning": {"scheme": "Latest", "major": 1}}],
                "buildTimeoutInMinutes": 60,
                "vmProfile": {"vmSize": "Standard_D2s_v3", "osDiskSizeGB": 64}
            }
        })
    }

    fn error_with(change: impl FnOnce(&mut Value)) -> ArmError {
        let mut body = template();
        change(&mut body);
        check(&body).expect_err("invalid")
    }

    fn target(e: &ArmError) -> String {
        e.body()["error"]["target"].as_str().unwrap_or_default().to_string()
    }

    #[test]
    fn accepts_the_swagger_shapes() {
        check(&template()).unwrap();
        let windows = super::super::tests_support::example("CreateImageTemplateWindows.json");
        let mut body = windows["parameters"]["parameters"].clone();
        body["identity"]["userAssignedIdentities"] = json!({"/subscriptions/s/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/identity_1": {}});
        check(&body).unwrap();
        // A GET body (read-only properties, principal ids) is accepted back.
        body["properties"]["provisioningState"] = json!("Succeeded");
        body["properties"]["lastRunStatus"] = json!({"runState": "Succeeded"});
        body["identity"]["userAssignedIdentities"] = json!({"/subscriptions/s/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/identity_1": {"principalId": "p", "clientId": "c"}});
        body["id"] =
            json!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t");
        check(&body).unwrap();
    }

    #[test]
    fn refuses_what_image_builder_refuses() {
        let missing = |e: ArmError| (e.code(), target(&e));
        assert_eq!(
            missing(error_with(|b| b["identity"] = Value::Null)),
            ("MissingRequiredProperty", "identity".into())
        );
        assert_eq!(
            missing(error_with(|b| b["properties"].as_object_mut().unwrap().remove("source").map(drop).unwrap())),
            ("MissingRequiredProperty", "properties.source".into())
        );
        assert_eq!(
            missing(error_with(|b| b["properties"]["distribute"][0]
                .as_object_mut()
                .unwrap()
                .remove("galleryImageId")
                .map(drop)
                .unwrap())),
            ("MissingRequiredProperty", "properties.distribute[0].galleryImageId".into())
        );
        assert_eq!(error_with(|b| b["location"] = Value::Null), ArmError::LocationRequired);
        type Change = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|b| b["identity"]["type"] = json!("None")), "identity.type"),
            (Box::new(|b| b["identity"]["type"] = json!("userassigned")), "identity.type"),
            (Box::new(|b| b["identity"]["userAssignedIdentities"] = json!({})), "identity.userAssignedIdentities"),
            (
                Box::new(|b| b["identity"]["userAssignedIdentities"] = json!({"/subscriptions/s/x": {}})),
                "identity.userAssignedIdentities['/subscriptions/s/x']",
            ),
            (Box::new(|b| b["properties"]["source"]["type"] = json!("Marketplace")), "properties.source.type"),
            (Box::new(|b| b["properties"]["source"]["Publisher"] = json!("x")), "properties.source.Publisher"),
            (
                Box::new(|b| {
                    b["properties"]["source"] = json!({"type": "SharedImageVersion", "imageVersionId": "/nope"})
                }),
                "properties.source.imageVersionId",
            ),
            (Box::new(|b| b["properties"]["customize"][0]["type"] = json!("Bash")), "properties.customize[0].type"),
            (
                Box::new(|b| b["properties"]["customize"][0]["scriptUri"] = json!("https://x/s.sh")),
                "properties.customize[0]",
            ),
            (
                Box::new(|b| b["properties"]["customize"][1]["runAsSystem"] = json!(true)),
                "properties.customize[1].runAsSystem",
            ),
            (
                Box::new(|b| b["properties"]["customize"][1]["validExitCodes"] = json!(["0"])),
                "properties.customize[1].validExitCodes[0]",
            ),
            (
                Box::new(|b| b["properties"]["customize"][2]["destination"] = json!(5)),
                "properties.customize[2].destination",
            ),
            (
                Box::new(|b| b["properties"]["customize"][3]["restartTimeout"] = json!("soon")),
                "properties.customize[3].restartTimeout",
            ),
            (
                Box::new(|b| b["properties"]["customize"][4]["updateLimit"] = json!(-1)),
                "properties.customize[4].updateLimit",
            ),
            (
                Box::new(|b| b["properties"]["distribute"][0]["runOutputName"] = json!("bad name")),
                "properties.distribute[0].runOutputName",
            ),
            (
                Box::new(|b| b["properties"]["distribute"][0]["type"] = json!("Gallery")),
                "properties.distribute[0].type",
            ),
            (
                Box::new(|b| b["properties"]["distribute"][0]["galleryImageId"] = json!("/subscriptions/s/images/i")),
                "properties.distribute[0].galleryImageId",
            ),
            (
                Box::new(|b| b["properties"]["distribute"][0]["replicationRegions"] = json!(["westus"])),
                "properties.distribute[0].targetRegions",
            ),
            (
                Box::new(|b| b["properties"]["distribute"][0]["targetRegions"][0]["replicaCount"] = json!(0)),
                "properties.distribute[0].targetRegions[0].replicaCount",
            ),
            (
                Box::new(|b| {
                    b["properties"]["distribute"][0]["targetRegions"][0]["storageAccountType"] = json!("standard_lrs")
                }),
                "properties.distribute[0].targetRegions[0].storageAccountType",
            ),
            (
                Box::new(|b| b["properties"]["distribute"][0]["versioning"] = json!({"scheme": "Newest"})),
                "properties.distribute[0].versioning.scheme",
            ),
            (
                Box::new(|b| {
                    let d = b["properties"]["distribute"][0].clone();
                    b["properties"]["distribute"].as_array_mut().unwrap().push(d);
                }),
                "properties.distribute[1].runOutputName",
            ),
            (Box::new(|b| b["properties"]["distribute"] = json!([])), "properties.distribute"),
            (Box::new(|b| b["properties"]["buildTimeoutInMinutes"] = json!(961)), "properties.buildTimeoutInMinutes"),
            (Box::new(|b| b["properties"]["buildTimeoutInMinutes"] = json!("60")), "properties.buildTimeoutInMinutes"),
            (
                Box::new(|b| b["properties"]["vmProfile"]["osDiskSizeGb"] = json!(64)),
                "properties.vmProfile.osDiskSizeGb",
            ),
            (
                Box::new(|b| b["properties"]["stagingResourceGroup"] = json!("rg-staging")),
                "properties.stagingResourceGroup",
            ),
            (
                Box::new(|b| b["properties"]["errorHandling"] = json!({"onCustomizerError": "Abort"})),
                "properties.errorHandling.onCustomizerError",
            ),
            (Box::new(|b| b["Properties"] = json!({})), "Properties"),
        ];
        for (change, want) in cases {
            let e = error_with(change);
            assert_eq!(
                (e.status().as_u16(), e.code(), target(&e).as_str()),
                (400, "InvalidRequestContent", want),
                "{e}"
            );
        }
        let e = error_with(|b| b["properties"]["source"]["Publisher"] = json!("x"));
        assert!(
            e.to_string()
                .contains("Could not find member 'Publisher' on object of type 'ImageTemplatePlatformImageSource'"),
            "{e}"
        );
    }

    #[test]
    fn ids_and_immutable_parts() {
        let r = GalleryImageRef::parse(
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/galleries/g/images/i/versions/1.2.3",
        )
        .unwrap();
        assert_eq!(r.gallery_id, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g");
        assert_eq!(r.version.as_deref(), Some("1.2.3"));
        assert!(GalleryImageRef::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g")
            .is_none());
        assert_eq!(resource_group_id("/subscriptions/s/resourcegroups/x").as_deref(), Some("x"));
        let mut a = template();
        normalize(&mut a);
        assert_eq!(a["properties"]["customize"][1]["runElevated"], false);
        let mut b = a.clone();
        b["tags"] = json!({"x": "y"});
        b["location"] = json!("West Europe");
        b["properties"]["provisioningState"] = json!("Succeeded");
        assert_eq!(immutable_part(&a), immutable_part(&b));
        b["properties"]["vmProfile"]["vmSize"] = json!("Standard_D4s_v3");
        assert_ne!(immutable_part(&a), immutable_part(&b));
    }
}
