//! `properties` of a template: its members, and the checks of the smaller sections (optimize, validate,
//! errorHandling, vmProfile, stagingResourceGroup, autoRun); the larger ones have their own modules.

use serde_json::Value;

use super::customizers::{customizer, validator};
use super::distributors::distributor;
use super::fields::{
    array, boolean, integer, invalid, members, object, one_of, present, required, string, string_map, strings,
};
use super::ids::resource_group_id;
use super::source::source;
use crate::arm::error::ArmError;

pub(super) fn properties(value: &Value) -> Result<(), ArmError> {
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
