//! The request body of an image template, checked as Image Builder 2024-02-01 checks it: the swagger's
//! required properties, discriminators (`source`, `customize[]`, `distribute[]`, `validate.inVMValidations[]`,
//! `versioning`) and their fields, value types and ranges, and — since that api-version enforces case
//! sensitivity — exact-case property names and enum values, unknown members refused.
//!
//! Every violation is a 400 naming the property: `MissingRequiredProperty` (target = the path) or
//! `InvalidRequestContent` with a .NET-deserializer style message (`Could not find member 'x' on object of
//! type 'ImageTemplateProperties'. Path 'properties.x'.`). Read-only properties sent back (a GET body
//! PUT again, or merged by a PATCH) are accepted and ignored.

use serde_json::{Map, Value};

use crate::arm::error::ArmError;
use crate::arm::path::segments;

type Object = Map<String, Value>;

/// `properties` members that are read-only (ignored in requests, set by the emulator).
pub const READ_ONLY: &[&str] =
    &["provisioningState", "provisioningError", "lastRunStatus", "exactStagingResourceGroup"];

const STORAGE_ACCOUNT_TYPES: &[&str] = &["Standard_LRS", "Standard_ZRS", "Premium_LRS"];

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ArmError {
    ArmError::InvalidRequestContent { message: message.into(), target: Some(path.into()) }
}

fn type_error(path: &str, value: &Value, ty: &str) -> ArmError {
    invalid(path, format!("Error converting value {value} to type '{ty}'. Path '{path}'."))
}

/// `value` as an object of .NET type `ty`.
fn object<'a>(value: &'a Value, path: &str, ty: &str) -> Result<&'a Object, ArmError> {
    value.as_object().ok_or_else(|| type_error(path, value, ty))
}

/// Refuses members not in `allowed` (exact case).
fn members(map: &Object, path: &str, ty: &str, allowed: &[&str]) -> Result<(), ArmError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => {
            let at = join(path, key);
            Err(invalid(&at, format!("Could not find member '{key}' on object of type '{ty}'. Path '{at}'.")))
        }
        None => Ok(()),
    }
}

fn present<'a>(map: &'a Object, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn required<'a>(map: &'a Object, path: &str, key: &str) -> Result<&'a Value, ArmError> {
    present(map, key).ok_or_else(|| ArmError::MissingRequiredProperty(join(path, key)))
}

fn string<'a>(map: &'a Object, path: &str, key: &str, needed: bool) -> Result<Option<&'a str>, ArmError> {
    let Some(value) = present(map, key) else {
        return if needed { Err(ArmError::MissingRequiredProperty(join(path, key))) } else { Ok(None) };
    };
    let s = value.as_str().ok_or_else(|| type_error(&join(path, key), value, "String"))?;
    if needed && s.trim().is_empty() {
        return Err(invalid(join(path, key), format!("'{}' must not be empty.", join(path, key))));
    }
    Ok(Some(s))
}

fn boolean(map: &Object, path: &str, key: &str) -> Result<Option<bool>, ArmError> {
    present(map, key).map(|v| v.as_bool().ok_or_else(|| type_error(&join(path, key), v, "Boolean"))).transpose()
}

fn integer(map: &Object, path: &str, key: &str, min: i64, max: i64) -> Result<Option<i64>, ArmError> {
    let Some(value) = present(map, key) else { return Ok(None) };
    let at = join(path, key);
    let n = value.as_i64().ok_or_else(|| type_error(&at, value, "Int32"))?;
    if !(min..=max).contains(&n) {
        return Err(invalid(
            &at,
            format!("The value {n} of '{at}' is out of range: it must be between {min} and {max}."),
        ));
    }
    Ok(Some(n))
}

fn strings<'a>(map: &'a Object, path: &str, key: &str) -> Result<Option<Vec<&'a str>>, ArmError> {
    let Some(value) = present(map, key) else { return Ok(None) };
    let at = join(path, key);
    let items = value.as_array().ok_or_else(|| type_error(&at, value, "String[]"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_str().ok_or_else(|| type_error(&format!("{at}[{i}]"), v, "String")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An exact-case enum value (api-version 2024-02-01 is case sensitive).
fn one_of<'a>(
    map: &'a Object,
    path: &str,
    key: &str,
    allowed: &[&str],
    needed: bool,
) -> Result<Option<&'a str>, ArmError> {
    let Some(s) = string(map, path, key, needed)? else { return Ok(None) };
    if allowed.contains(&s) {
        Ok(Some(s))
    } else {
        let at = join(path, key);
        Err(invalid(
            &at,
            format!(
                "The value '{s}' of '{at}' is not valid (values are case sensitive). The allowed values are '{}'.",
                allowed.join("', '")
            ),
        ))
    }
}

/// An object of strings (tags).
fn string_map(map: &Object, path: &str, key: &str) -> Result<(), ArmError> {
    let Some(value) = present(map, key) else { return Ok(()) };
    let at = join(path, key);
    let tags = object(value, &at, "Dictionary`2")?;
    for (k, v) in tags {
        if !v.is_string() {
            return Err(type_error(&join(&at, k), v, "String"));
        }
    }
    Ok(())
}

fn array<'a>(map: &'a Object, path: &str, key: &str) -> Result<Option<&'a Vec<Value>>, ArmError> {
    present(map, key).map(|v| v.as_array().ok_or_else(|| type_error(&join(path, key), v, "List`1"))).transpose()
}

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

/// The name of a user-assigned identity id, if `id` is one.
pub fn identity_name(id: &str) -> Option<String> {
    let s = segments(id);
    let ok = s.len() == 8
        && s[0].eq_ignore_ascii_case("subscriptions")
        && s[2].eq_ignore_ascii_case("resourceGroups")
        && s[4].eq_ignore_ascii_case("providers")
        && s[5].eq_ignore_ascii_case("Microsoft.ManagedIdentity")
        && s[6].eq_ignore_ascii_case("userAssignedIdentities");
    ok.then(|| s[7].clone())
}

fn properties(value: &Value) -> Result<(), ArmError> {
    let ty = "ImageTemplateProperties";
    let map = object(value, "properties", ty)?;
    members(
        map,
        "properties",
        ty,
        &[
            "source",
            "customize",
            "optimize",
            "validate",
            "distribute",
            "errorHandling",
            "provisioningState",
            "provisioningError",
            "lastRunStatus",
            "buildTimeoutInMinutes",
            "vmProfile",
            "stagingResourceGroup",
            "exactStagingResourceGroup",
            "autoRun",
            "managedResourceTags",
        ],
    )?;
    source(required(map, "properties", "source")?)?;
    if let Some(items) = array(map, "properties", "customize")? {
        for (i, item) in items.iter().enumerate() {
            customizer(item, &format!("properties.customize[{i}]"))?;
        }
    }
    if let Some(optimize) = present(map, "optimize") {
        let o = object(optimize, "properties.optimize", "ImageTemplatePropertiesOptimize")?;
        members(o, "properties.optimize", "ImageTemplatePropertiesOptimize", &["vmBoot"])?;
        if let Some(boot) = present(o, "vmBoot") {
            let at = "properties.optimize.vmBoot";
            let b = object(boot, at, "ImageTemplatePropertiesOptimizeVmBoot")?;
            members(b, at, "ImageTemplatePropertiesOptimizeVmBoot", &["state"])?;
            one_of(b, at, "state", &["Enabled", "Disabled"], false)?;
        }
    }
    if let Some(validate) = present(map, "validate") {
        let at = "properties.validate";
        let v = object(validate, at, "ImageTemplatePropertiesValidate")?;
        members(
            v,
            at,
            "ImageTemplatePropertiesValidate",
            &["continueDistributeOnFailure", "sourceValidationOnly", "inVMValidations"],
        )?;
        boolean(v, at, "continueDistributeOnFailure")?;
        boolean(v, at, "sourceValidationOnly")?;
        if let Some(items) = array(v, at, "inVMValidations")? {
            for (i, item) in items.iter().enumerate() {
                validator(item, &format!("{at}.inVMValidations[{i}]"))?;
            }
        }
    }
    let distributors = array(map, "properties", "distribute")?
        .ok_or_else(|| ArmError::MissingRequiredProperty("properties.distribute".into()))?;
    if distributors.is_empty() {
        return Err(invalid(
            "properties.distribute",
            "At least one distribution target is required in 'properties.distribute'.",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for (i, item) in distributors.iter().enumerate() {
        let at = format!("properties.distribute[{i}]");
        let name = distributor(item, &at)?;
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            return Err(invalid(
                format!("{at}.runOutputName"),
                format!("The runOutputName '{name}' of '{at}' is used by another distribution target; run output names must be unique."),
            ));
        }
        names.push(name);
    }
    if let Some(handling) = present(map, "errorHandling") {
        let at = "properties.errorHandling";
        let h = object(handling, at, "ImageTemplatePropertiesErrorHandling")?;
        members(h, at, "ImageTemplatePropertiesErrorHandling", &["onCustomizerError", "onValidationError"])?;
        one_of(h, at, "onCustomizerError", &["cleanup", "abort"], false)?;
        one_of(h, at, "onValidationError", &["cleanup", "abort"], false)?;
    }
    integer(map, "properties", "buildTimeoutInMinutes", 0, 960)?;
    if let Some(profile) = present(map, "vmProfile") {
        vm_profile(profile)?;
    }
    if let Some(group) = string(map, "properties", "stagingResourceGroup", false)? {
        if !group.is_empty() && resource_group_id(group).is_none() {
            return Err(invalid(
                "properties.stagingResourceGroup",
                format!(
                    "'{group}' is not a resource group id (/subscriptions/{{subscriptionId}}/resourceGroups/{{name}})."
                ),
            ));
        }
    }
    if let Some(auto) = present(map, "autoRun") {
        let at = "properties.autoRun";
        let a = object(auto, at, "ImageTemplateAutoRun")?;
        members(a, at, "ImageTemplateAutoRun", &["state"])?;
        one_of(a, at, "state", &["Enabled", "Disabled"], false)?;
    }
    string_map(map, "properties", "managedResourceTags")
}

fn source(value: &Value) -> Result<(), ArmError> {
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

/// Exactly one of `scriptUri` and `inline` (Shell and PowerShell customizers and validators).
fn script_or_inline(map: &Object, at: &str) -> Result<(), ArmError> {
    let uri = string(map, at, "scriptUri", false)?.is_some_and(|s| !s.is_empty());
    let inline = strings(map, at, "inline")?.is_some_and(|l| !l.is_empty());
    if uri == inline {
        return Err(invalid(at, format!("Exactly one of 'scriptUri' or 'inline' must be specified in '{at}'.")));
    }
    Ok(())
}

fn powershell_fields(map: &Object, at: &str) -> Result<(), ArmError> {
    script_or_inline(map, at)?;
    string(map, at, "sha256Checksum", false)?;
    let elevated = boolean(map, at, "runElevated")?.unwrap_or(false);
    if boolean(map, at, "runAsSystem")?.unwrap_or(false) && !elevated {
        return Err(invalid(
            format!("{at}.runAsSystem"),
            format!("'{at}.runAsSystem' can only be true when 'runElevated' is true."),
        ));
    }
    if let Some(codes) = array(map, at, "validExitCodes")? {
        for (i, code) in codes.iter().enumerate() {
            if !code.is_i64() {
                return Err(type_error(&format!("{at}.validExitCodes[{i}]"), code, "Int32"));
            }
        }
    }
    Ok(())
}

fn customizer(value: &Value, at: &str) -> Result<(), ArmError> {
    let map = object(value, at, "ImageTemplateCustomizer")?;
    let kind = one_of(map, at, "type", &["Shell", "PowerShell", "File", "WindowsRestart", "WindowsUpdate"], true)?;
    string(map, at, "name", false)?;
    match kind {
        Some("Shell") => {
            members(
                map,
                at,
                "ImageTemplateShellCustomizer",
                &["type", "name", "scriptUri", "sha256Checksum", "inline"],
            )?;
            script_or_inline(map, at)?;
            string(map, at, "sha256Checksum", false)?;
        }
        Some("PowerShell") => {
            members(
                map,
                at,
                "ImageTemplatePowerShellCustomizer",
                &[
                    "type",
                    "name",
                    "scriptUri",
                    "sha256Checksum",
                    "inline",
                    "runElevated",
                    "runAsSystem",
                    "validExitCodes",
                ],
            )?;
            powershell_fields(map, at)?;
        }
        Some("File") => {
            members(
                map,
                at,
                "ImageTemplateFileCustomizer",
                &["type", "name", "sourceUri", "sha256Checksum", "destination"],
            )?;
            string(map, at, "sourceUri", true)?;
            string(map, at, "destination", true)?;
            string(map, at, "sha256Checksum", false)?;
        }
        Some("WindowsRestart") => {
            members(
                map,
                at,
                "ImageTemplateRestartCustomizer",
                &["type", "name", "restartCommand", "restartCheckCommand", "restartTimeout"],
            )?;
            string(map, at, "restartCommand", false)?;
            string(map, at, "restartCheckCommand", false)?;
            if let Some(timeout) = string(map, at, "restartTimeout", false)? {
                let ok = timeout.len() > 1
                    && timeout[..timeout.len() - 1].chars().all(|c| c.is_ascii_digit())
                    && timeout.ends_with(['s', 'm', 'h']);
                if !ok {
                    return Err(invalid(
                        format!("{at}.restartTimeout"),
                        format!("'{timeout}' is not a duration such as '5m' or '2h' ('{at}.restartTimeout')."),
                    ));
                }
            }
        }
        _ => {
            members(
                map,
                at,
                "ImageTemplateWindowsUpdateCustomizer",
                &["type", "name", "searchCriteria", "filters", "updateLimit"],
            )?;
            string(map, at, "searchCriteria", false)?;
            strings(map, at, "filters")?;
            integer(map, at, "updateLimit", 0, i64::from(i32::MAX))?;
        }
    }
    Ok(())
}

fn validator(value: &Value, at: &str) -> Result<(), ArmError> {
    let map = object(value, at, "ImageTemplateInVMValidator")?;
    let kind = one_of(map, at, "type", &["Shell", "PowerShell", "File"], true)?;
    string(map, at, "name", false)?;
    match kind {
        Some("Shell") => {
            members(
                map,
                at,
                "ImageTemplateShellValidator",
                &["type", "name", "scriptUri", "sha256Checksum", "inline"],
            )?;
            script_or_inline(map, at)?;
        }
        Some("PowerShell") => {
            members(
                map,
                at,
                "ImageTemplatePowerShellValidator",
                &[
                    "type",
                    "name",
                    "scriptUri",
                    "sha256Checksum",
                    "inline",
                    "runElevated",
                    "runAsSystem",
                    "validExitCodes",
                ],
            )?;
            powershell_fields(map, at)?;
        }
        _ => {
            members(
                map,
                at,
                "ImageTemplateFileValidator",
                &["type", "name", "sourceUri", "sha256Checksum", "destination"],
            )?;
            string(map, at, "sourceUri", true)?;
            string(map, at, "destination", true)?;
        }
    }
    Ok(())
}

/// Checks one distributor; its `runOutputName`.
fn distributor(value: &Value, at: &str) -> Result<String, ArmError> {
    let map = object(value, at, "ImageTemplateDistributor")?;
    let kind = one_of(map, at, "type", &["ManagedImage", "SharedImage", "VHD"], true)?;
    let name = string(map, at, "runOutputName", true)?.unwrap_or_default().to_string();
    let name_ok = (1..=64).contains(&name.len()) && super::super::chars_ok(&name, &['-', '_', '.']);
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

fn vm_profile(value: &Value) -> Result<(), ArmError> {
    let at = "properties.vmProfile";
    let map = object(value, at, "ImageTemplateVmProfile")?;
    members(map, at, "ImageTemplateVmProfile", &["vmSize", "osDiskSizeGB", "userAssignedIdentities", "vnetConfig"])?;
    string(map, at, "vmSize", false)?;
    integer(map, at, "osDiskSizeGB", 0, i64::from(i32::MAX))?;
    strings(map, at, "userAssignedIdentities")?;
    if let Some(vnet) = present(map, "vnetConfig") {
        let vat = "properties.vmProfile.vnetConfig";
        let v = object(vnet, vat, "VirtualNetworkConfig")?;
        members(v, vat, "VirtualNetworkConfig", &["subnetId", "containerInstanceSubnetId", "proxyVmSize"])?;
        let subnet = string(v, vat, "subnetId", false)?.is_some_and(|s| !s.is_empty());
        let aci = string(v, vat, "containerInstanceSubnetId", false)?.is_some_and(|s| !s.is_empty());
        let proxy = string(v, vat, "proxyVmSize", false)?.is_some_and(|s| !s.is_empty());
        if aci && !subnet {
            return Err(invalid(
                format!("{vat}.containerInstanceSubnetId"),
                "'containerInstanceSubnetId' may be specified only if 'subnetId' is also specified.",
            ));
        }
        if aci && proxy {
            return Err(invalid(
                format!("{vat}.proxyVmSize"),
                "'proxyVmSize' must not be specified with 'containerInstanceSubnetId' (no proxy VM is deployed).",
            ));
        }
    }
    Ok(())
}

/// The name of a resource group id, if `id` is one.
pub fn resource_group_id(id: &str) -> Option<String> {
    let s = segments(id);
    (s.len() == 4 && s[0].eq_ignore_ascii_case("subscriptions") && s[2].eq_ignore_ascii_case("resourceGroups"))
        .then(|| s[3].clone())
}

/// A `galleryImageId` (or `imageVersionId`), split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalleryImageRef {
    /// `/subscriptions/{s}/resourceGroups/{g}`.
    pub group_id: String,
    /// `{group}/providers/Microsoft.Compute/galleries/{gallery}`.
    pub gallery_id: String,
    /// `{gallery}/images/{image}`.
    pub image_id: String,
    /// The version, when the id names one.
    pub version: Option<String>,
}

impl GalleryImageRef {
    /// Parses `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Compute/galleries/{gallery}/images/{image}[/versions/{v}]`.
    pub fn parse(id: &str) -> Option<Self> {
        let s = segments(id);
        let lits = [
            (0, "subscriptions"),
            (2, "resourceGroups"),
            (4, "providers"),
            (5, "Microsoft.Compute"),
            (6, "galleries"),
            (8, "images"),
        ];
        let ok = (s.len() == 10 || (s.len() == 12 && s[10].eq_ignore_ascii_case("versions")))
            && lits.iter().all(|(i, lit)| s[*i].eq_ignore_ascii_case(lit));
        if !ok {
            return None;
        }
        let group_id = format!("/subscriptions/{}/resourceGroups/{}", s[1], s[3]);
        let gallery_id = format!("{group_id}/providers/Microsoft.Compute/galleries/{}", s[7]);
        let image_id = format!("{gallery_id}/images/{}", s[9]);
        Some(GalleryImageRef { group_id, gallery_id, image_id, version: s.get(11).cloned() })
    }
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
