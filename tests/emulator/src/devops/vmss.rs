//! What Azure DevOps reads and writes on a scale set: the scale set is a stored ARM resource
//! ([`crate::state::Resource`]) whose body is the ARM JSON, edited here directly, as Azure DevOps' own ARM
//! writes would leave it.
//!
//! Facts (decompiled `Microsoft.TeamFoundation.DistributedTask.Elastic`, see [`super::error`]):
//! - `ElasticConstants`: tags `__AzureDevOpsElasticPool` (pool name) and `__AzureDevOpsElasticPoolTimeStamp`;
//!   extension `Microsoft.Azure.DevOps.Pipelines.Agent`, publisher `Microsoft.VisualStudio.Services`, Linux
//!   type `TeamServicesAgentLinux` 1.23 (script `ElasticPools/Linux/15/enableagent.sh`, folder `/agent`),
//!   Windows `TeamServicesAgent` 1.31 (`ElasticPools/Windows/17/enableagent.ps1`, `C:\agent`),
//!   `autoUpgradeMinorVersion` false, provisioned after a custom script extension if the set has one
//!   (`AzureVirtualMachineScaleSetResourceService.InstallAgentExtensionAsync`);
//! - the timestamp is `DateTime.UtcNow.ToString()` (`M/d/yyyy h:mm:ss AM`), and a tag younger than 240
//!   minutes locks the set for other pools (`ElasticPoolService.IsVmssTimestampTagValid`);
//! - the configuration job forces `overprovision: false`, `upgradePolicy.mode: Manual`, automatic OS
//!   upgrades off and, above 100 machines, `singlePlacementGroup: false` (`ElasticPoolConfigurationJob.DesiredConfig`),
//!   logging `ElasticResources` messages;
//! - the OS comes from `storageProfile.osDisk.osType`, else the OS profile's Windows/Linux configuration
//!   (`ScaleSetExtensions.OSType`); orchestration is Uniform unless `orchestrationMode` says Flexible.
//!
//! Caveats: protected settings (the agent pool token) are not stored (ARM never returns them); Azure
//! autoscale settings are not emulated, so none are removed.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::error::DevopsError;
use crate::arm::error::ArmError;
use crate::kinds::object;
use crate::state::{Resource, Store};

/// Tag naming the pool that uses the scale set.
pub const POOL_TAG: &str = "__AzureDevOpsElasticPool";
/// Tag with the time the pool last claimed the scale set.
pub const TIMESTAMP_TAG: &str = "__AzureDevOpsElasticPoolTimeStamp";
/// Name of the agent extension.
pub const EXTENSION_NAME: &str = "Microsoft.Azure.DevOps.Pipelines.Agent";
/// Publisher of the agent extension.
pub const EXTENSION_PUBLISHER: &str = "Microsoft.VisualStudio.Services";
/// ARM type of scale sets.
pub const SCALE_SET_TYPE: &str = "Microsoft.Compute/virtualMachineScaleSets";
/// How long a pool's tag locks the scale set, in minutes.
pub const TAG_LOCK_MINUTES: i64 = 240;

/// The scale set an `azureId` names, as Azure DevOps' ARM read finds it (ARM's 404 messages otherwise).
pub fn read<'a>(store: &'a Store, azure_id: &str, subscription: &str) -> Result<&'a Resource, DevopsError> {
    let segs: Vec<&str> = azure_id.split('/').filter(|s| !s.is_empty()).collect();
    let shaped = segs.len() == 8
        && segs[0].eq_ignore_ascii_case("subscriptions")
        && segs[2].eq_ignore_ascii_case("resourceGroups")
        && segs[4].eq_ignore_ascii_case("providers");
    if !shaped {
        return Err(DevopsError::Cloud(ArmError::InvalidResourceType(azure_id.to_string()).to_string()));
    }
    if !segs[1].eq_ignore_ascii_case(subscription) {
        return Err(DevopsError::Cloud(ArmError::SubscriptionNotFound(segs[1].to_string()).to_string()));
    }
    if store.get(&format!("/subscriptions/{}/resourceGroups/{}", segs[1], segs[3])).is_none() {
        return Err(DevopsError::Cloud(ArmError::ResourceGroupNotFound(segs[3].to_string()).to_string()));
    }
    let not_found = || {
        DevopsError::Cloud(
            ArmError::ResourceNotFound {
                resource_type: format!("{}/{}", segs[5], segs[6]),
                name: segs[7].to_string(),
                group: segs[3].to_string(),
            }
            .to_string(),
        )
    };
    let resource = store.get(azure_id).ok_or_else(not_found)?;
    let is_scale_set = resource.kind == crate::kinds::scale_sets::KIND
        || resource.body.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(SCALE_SET_TYPE));
    if is_scale_set {
        Ok(resource)
    } else {
        Err(not_found())
    }
}

/// `linux` or `windows`, as Azure DevOps reads it from the model (`None` when the model names neither).
pub fn os_type(body: &Value) -> Option<&'static str> {
    let profile = body.pointer("/properties/virtualMachineProfile")?;
    let disk = profile.pointer("/storageProfile/osDisk/osType").and_then(Value::as_str).unwrap_or_default();
    if disk.eq_ignore_ascii_case("windows") {
        return Some("windows");
    }
    if disk.eq_ignore_ascii_case("linux") {
        return Some("linux");
    }
    let os = profile.get("osProfile")?;
    if os.get("windowsConfiguration").is_some_and(|v| !v.is_null()) {
        Some("windows")
    } else if os.get("linuxConfiguration").is_some_and(|v| !v.is_null()) {
        Some("linux")
    } else {
        None
    }
}

/// Whether the scale set uses Flexible orchestration.
pub fn is_flexible(body: &Value) -> bool {
    body.pointer("/properties/orchestrationMode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("flexible"))
}

/// `DateTime.UtcNow.ToString()` in en-US: `12/6/2026 3:21:07 AM`.
pub fn tag_timestamp(now: OffsetDateTime) -> String {
    let t = now.to_offset(time::UtcOffset::UTC);
    let (hour, half) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!("{}/{}/{} {hour}:{:02}:{:02} {half}", u8::from(t.month()), t.day(), t.year(), t.minute(), t.second())
}

/// Reads a [`tag_timestamp`] back (`None` for any other text: such a tag locks nothing).
pub fn parse_tag_timestamp(text: &str) -> Option<OffsetDateTime> {
    let (date, rest) = text.trim().split_once(' ')?;
    let (clock, half) = rest.trim().split_once(' ')?;
    let mut d = date.split('/').map(|p| p.parse::<i32>().ok());
    let (month, day, year) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.split(':').map(|p| p.parse::<u8>().ok());
    let (mut hour, minute, second) = (c.next()??, c.next()??, c.next()??);
    match (half.to_ascii_uppercase().as_str(), hour) {
        ("AM", 12) => hour = 0,
        ("PM", h) if h < 12 => hour += 12,
        ("AM" | "PM", _) => {}
        _ => return None,
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    Some(date.with_hms(hour, minute, second).ok()?.assume_utc())
}

/// The pool whose tag still locks the scale set at `now`, if any.
pub fn locked_by(body: &Value, now: OffsetDateTime) -> Option<String> {
    let tags = body.get("tags")?;
    let pool = tags.get(POOL_TAG)?.as_str()?;
    let at = tags.get(TIMESTAMP_TAG).and_then(Value::as_str).and_then(parse_tag_timestamp)?;
    ((now - at).whole_minutes() < TAG_LOCK_MINUTES).then(|| pool.to_string())
}

/// Writes both tags (pool name, timestamp).
pub fn tag(body: &mut Value, pool_name: &str, now: OffsetDateTime) {
    let tags = object(body, "tags");
    tags.insert(POOL_TAG.into(), json!(pool_name));
    tags.insert(TIMESTAMP_TAG.into(), json!(tag_timestamp(now)));
}

/// Removes both tags.
pub fn untag(body: &mut Value) {
    if let Some(tags) = body.get_mut("tags").and_then(Value::as_object_mut) {
        tags.remove(POOL_TAG);
        tags.remove(TIMESTAMP_TAG);
    }
}

fn extensions(body: &mut Value) -> &mut Vec<Value> {
    let properties = object(body, "properties");
    let profile = crate::kinds::object_in(properties, "virtualMachineProfile");
    let extension_profile = crate::kinds::object_in(profile, "extensionProfile");
    let list = extension_profile.entry("extensions").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    match list {
        Value::Array(items) => items,
        _ => unreachable!("just made an array"),
    }
}

/// The agent extension Azure DevOps installs for a pool of this OS.
pub fn agent_extension(os_type: &str, after: &[String]) -> Value {
    let (kind, version, folder, script) = if os_type.eq_ignore_ascii_case("windows") {
        ("TeamServicesAgent", "1.31", "C:\\agent", "Windows/17/enableagent.ps1")
    } else {
        ("TeamServicesAgentLinux", "1.23", "/agent", "Linux/15/enableagent.sh")
    };
    let mut properties = json!({
        "publisher": EXTENSION_PUBLISHER,
        "type": kind,
        "typeHandlerVersion": version,
        "autoUpgradeMinorVersion": false,
        "settings": {
            "isPipelinesAgent": true,
            "agentFolder": folder,
            "enableScriptDownloadUrl": format!("https://vstsagenttools.blob.core.windows.net/tools/ElasticPools/{script}"),
        },
    });
    if !after.is_empty() {
        properties["provisionAfterExtensions"] = json!(after);
    }
    json!({ "name": EXTENSION_NAME, "properties": properties })
}

/// Installs (or replaces) the agent extension; `true` when the model changed.
pub fn install_extension(body: &mut Value, os_type: &str) -> bool {
    let list = extensions(body);
    let custom_scripts: Vec<String> = list
        .iter()
        .filter(|e| {
            let kind = e.pointer("/properties/type").and_then(Value::as_str).unwrap_or_default();
            kind.eq_ignore_ascii_case("CustomScript") || kind.eq_ignore_ascii_case("CustomScriptExtension")
        })
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let wanted = agent_extension(os_type, &custom_scripts);
    match list.iter_mut().find(|e| e.get("name").and_then(Value::as_str) == Some(EXTENSION_NAME)) {
        Some(existing) if *existing == wanted => false,
        Some(existing) => {
            *existing = wanted;
            true
        }
        None => {
            list.push(wanted);
            true
        }
    }
}

/// Removes the agent extension; `true` when it was there.
pub fn remove_extension(body: &mut Value) -> bool {
    let list = extensions(body);
    let before = list.len();
    list.retain(|e| e.get("name").and_then(Value::as_str) != Some(EXTENSION_NAME));
    before != list.len()
}

/// A setting the configuration job changed: `(journal action, log message)`.
pub type Change = (&'static str, String);

/// Forces the settings Azure DevOps requires; returns what changed with `ElasticResources`' messages.
pub fn enforce_settings(body: &mut Value, max_capacity: i64) -> Vec<Change> {
    let updating = "Updating virtual machine scaleset.";
    let mut changes = Vec::new();
    let properties = object(body, "properties");
    if properties.get("overprovision") != Some(&json!(false)) {
        properties.insert("overprovision".into(), json!(false));
        changes.push(("overprovision", format!("{updating} Disabling overprovisioning.")));
    }
    let policy = crate::kinds::object_in(properties, "upgradePolicy");
    if let Some(auto) = policy.get_mut("automaticOSUpgradePolicy").and_then(Value::as_object_mut) {
        if auto.get("enableAutomaticOSUpgrade") != Some(&json!(false)) {
            auto.insert("enableAutomaticOSUpgrade".into(), json!(false));
            changes.push(("upgradePolicy", format!("{updating} Disabling automatic operating system upgrade policy.")));
        }
    }
    if policy.get("mode").and_then(Value::as_str) != Some("Manual") {
        policy.insert("mode".into(), json!("Manual"));
        changes.push((
            "upgradePolicy",
            format!("{updating} Disabling virtual machine scale set automatic upgrade policy."),
        ));
    }
    if max_capacity > 100 && properties.get("singlePlacementGroup") != Some(&json!(false)) {
        properties.insert("singlePlacementGroup".into(), json!(false));
        changes.push(("singlePlacementGroup", format!("{updating} Disabling single placement group.")));
    }
    changes
}

/// `sku.capacity` of the model.
pub fn capacity(body: &Value) -> u64 {
    body.pointer("/sku/capacity").and_then(Value::as_u64).unwrap_or(0)
}

/// A copy of the tags (for tests and the journal).
pub fn tags(body: &Value) -> Map<String, Value> {
    body.get("tags").and_then(Value::as_object).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale_set() -> Value {
        json!({
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "sku": {"name": "Standard_D2s_v5", "capacity": 0},
            "tags": {"environment": "sbx"},
            "properties": {
                "overprovision": true,
                "upgradePolicy": {"mode": "Automatic", "automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": true}},
                "virtualMachineProfile": {
                    "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "FromImage"}},
                    "extensionProfile": {"extensions": [
                        {"name": "warmup", "properties": {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript"}}
                    ]}
                }
            }
        })
    }

    #[test]
    fn timestamps_round_trip() {
        let t = time::macros::datetime!(2026-12-06 03:21:07 UTC);
        assert_eq!(tag_timestamp(t), "12/6/2026 3:21:07 AM");
        assert_eq!(parse_tag_timestamp("12/6/2026 3:21:07 AM"), Some(t));
        assert_eq!(tag_timestamp(time::macros::datetime!(2026-01-01 12:00:00 UTC)), "1/1/2026 12:00:00 PM");
        assert_eq!(parse_tag_timestamp("1/1/2026 12:00:00 AM"), Some(time::macros::datetime!(2026-01-01 00:00:00 UTC)));
        assert_eq!(parse_tag_timestamp("yesterday"), None);
    }

    #[test]
    fn tags_lock_for_four_hours() {
        let mut body = scale_set();
        let t = time::macros::datetime!(2026-12-06 03:21:07 UTC);
        assert_eq!(locked_by(&body, t), None);
        tag(&mut body, "agents-sbx-linux", t);
        assert_eq!(locked_by(&body, t + time::Duration::minutes(239)).as_deref(), Some("agents-sbx-linux"));
        assert_eq!(locked_by(&body, t + time::Duration::minutes(240)), None);
        untag(&mut body);
        assert_eq!(tags(&body).len(), 1, "other tags stay");
    }

    #[test]
    fn extension_after_custom_script() {
        let mut body = scale_set();
        assert_eq!(os_type(&body), Some("linux"));
        assert!(install_extension(&mut body, "linux"));
        assert!(!install_extension(&mut body, "linux"), "installed once");
        let agent = &body["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][1];
        assert_eq!(agent["name"], EXTENSION_NAME);
        assert_eq!(agent["properties"]["type"], "TeamServicesAgentLinux");
        assert_eq!(agent["properties"]["provisionAfterExtensions"], json!(["warmup"]));
        assert!(remove_extension(&mut body) && !remove_extension(&mut body));
        assert_eq!(agent_extension("windows", &[])["properties"]["type"], "TeamServicesAgent");
    }

    #[test]
    fn settings_forced() {
        let mut body = scale_set();
        let changes = enforce_settings(&mut body, 150);
        assert_eq!(
            changes.iter().map(|c| c.0).collect::<Vec<_>>(),
            ["overprovision", "upgradePolicy", "upgradePolicy", "singlePlacementGroup"]
        );
        assert_eq!(changes[0].1, "Updating virtual machine scaleset. Disabling overprovisioning.");
        assert_eq!(body["properties"]["upgradePolicy"]["mode"], "Manual");
        assert!(enforce_settings(&mut body, 150).is_empty(), "converged");
        assert!(!is_flexible(&body));
        body["properties"]["orchestrationMode"] = json!("Flexible");
        assert!(is_flexible(&body));
    }

    #[test]
    fn reads_report_arm_messages() {
        let mut store = Store::default();
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss";
        let e = read(&store, id, "s").unwrap_err();
        assert_eq!(e.to_string(), "Resource group 'rg' could not be found.");
        store.insert(Resource {
            kind: "resourceGroups".into(),
            id: "/subscriptions/s/resourceGroups/rg".into(),
            body: json!({}),
        });
        let e = read(&store, id, "s").unwrap_err();
        assert!(e.to_string().starts_with("The Resource 'Microsoft.Compute/virtualMachineScaleSets/vmss' under resource group 'rg' was not found."), "{e}");
        assert!(matches!(read(&store, id, "other"), Err(DevopsError::Cloud(m)) if m.contains("subscription 's'")));
        store.insert(Resource { kind: "virtualMachineScaleSets".into(), id: id.into(), body: scale_set() });
        assert!(read(&store, &id.to_uppercase().replace("SUBSCRIPTIONS/S/", "subscriptions/s/"), "s").is_ok());
    }
}
