//! A scale set's body: the checks Azure makes of it, the links it needs rights on, and what is stored.
//!
//! Refusals and their codes:
//! - 409 `PropertyChangeNotAllowed` "Changing property 'orchestrationMode' is not allowed." to a PUT (the code and
//!   wording Compute answers for another immutable property, `platformFaultDomainCount`, in
//!   MicrosoftDocs/azure-docs#108952; Microsoft documents the orchestration mode as fixed at creation,
//!   "Orchestration modes for Virtual Machine Scale Sets");
//! - 404 `GalleryImageNotFound` for an image that is not usable ([`super::image`]);
//! - 400 `InvalidResourceReference` for a NIC subnet that does not exist or is in another region
//!   ([`crate::kinds::network::invalid_reference`]);
//! - 400 `InvalidParameter`, Compute's code for a bad parameter, with the emulator's wording (Azure's exact
//!   messages were not found): a Linux profile with `disablePasswordAuthentication: true` and no SSH public
//!   key; an ephemeral OS disk (`diffDiskSettings.option: Local`) whose `caching` is not `ReadOnly` (Microsoft
//!   documents ephemeral OS disks with read-only caching, "Ephemeral OS disks for Azure VMs").
//!
//! Stored defaults as the create example answers them: `singlePlacementGroup` and `overprovision` true and
//! `upgradePolicy.mode` `Manual` (Uniform sets), `osProfile.secrets` `[]`, NIC `dnsSettings.dnsServers` `[]`,
//! `enableAcceleratedNetworking` false, IP configurations `privateIPAddressVersion` `IPv4`; `adminPassword`
//! is never returned. `uniqueId` and `timeCreated` are kept from creation; `etag` counts the writes.
//! `orchestrationMode` is stored as sent at creation (absent means Uniform) and kept afterwards.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::arm::crud::{normalize_location, timestamp};
use crate::arm::error::ArmError;
use crate::arm::validate::{check, JsonType, Rule};
use crate::authz::linked::Link;
use crate::kinds::network::{self, get_kind, location_of};
use crate::kinds::{default, existing_at, object, object_in};
use crate::state::{Resource, Store};

const PROFILE: &str = "properties.virtualMachineProfile";

/// Body rules (enums and types of what clients set).
pub const RULES: &[Rule] = &[
    Rule::Required("location"),
    Rule::Type("location", JsonType::String),
    Rule::Type("tags", JsonType::Object),
    Rule::Type("sku", JsonType::Object),
    Rule::Type("sku.capacity", JsonType::Integer),
    Rule::Type("properties", JsonType::Object),
    Rule::Enum("properties.orchestrationMode", &["Uniform", "Flexible"]),
    Rule::Enum("properties.upgradePolicy.mode", &["Automatic", "Manual", "Rolling"]),
    Rule::Type("properties.overprovision", JsonType::Boolean),
    Rule::Type("properties.singlePlacementGroup", JsonType::Boolean),
    Rule::Type("properties.platformFaultDomainCount", JsonType::Integer),
    Rule::Type("properties.virtualMachineProfile", JsonType::Object),
    Rule::Enum("properties.virtualMachineProfile.storageProfile.osDisk.caching", &["None", "ReadOnly", "ReadWrite"]),
    Rule::Enum("properties.virtualMachineProfile.storageProfile.osDisk.diffDiskSettings.option", &["Local"]),
    Rule::Enum(
        "properties.virtualMachineProfile.storageProfile.osDisk.diffDiskSettings.placement",
        &["CacheDisk", "ResourceDisk", "NvmeDisk"],
    ),
    Rule::Type("properties.virtualMachineProfile.osProfile.linuxConfiguration.disablePasswordAuthentication", JsonType::Boolean),
    Rule::Type("properties.virtualMachineProfile.osProfile.linuxConfiguration.ssh.publicKeys", JsonType::Array),
    Rule::Type("properties.virtualMachineProfile.networkProfile.networkInterfaceConfigurations", JsonType::Array),
    Rule::Required("properties?.virtualMachineProfile?.networkProfile?.networkInterfaceConfigurations?[].name"),
    Rule::Required(
        "properties?.virtualMachineProfile?.networkProfile?.networkInterfaceConfigurations?[].properties?.ipConfigurations?[].name",
    ),
    Rule::Required("identity?.type"),
    Rule::Enum("identity.type", &["SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"]),
];

fn at<'a>(body: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(body, |v, k| &v[k])
}

/// The NIC IP configurations of a body's profile.
fn ip_configurations(body: &Value) -> impl Iterator<Item = &Value> {
    let nics = at(body, PROFILE)["networkProfile"]["networkInterfaceConfigurations"].as_array();
    nics.into_iter().flatten().flat_map(|nic| nic["properties"]["ipConfigurations"].as_array().into_iter().flatten())
}

/// The subnet ids a scale set body's NICs name.
pub fn subnet_ids(body: &Value) -> Vec<String> {
    ip_configurations(body).filter_map(|c| c["properties"]["subnet"]["id"].as_str()).map(str::to_string).collect()
}

/// The orchestration mode of a body (`Uniform` when not set).
pub fn orchestration_mode(body: &Value) -> &str {
    body["properties"]["orchestrationMode"].as_str().unwrap_or("Uniform")
}

/// Compute's 400 `InvalidParameter`, the message naming the property.
fn invalid(property: &str, message: String) -> ArmError {
    ArmError::bad_request("InvalidParameter", format!("{message} (property '{property}')"))
}

/// Checks of the body alone (no state).
pub fn validate(body: &mut Value) -> Result<(), ArmError> {
    check(body, RULES)?;
    let profile = at(body, PROFILE);
    let linux = &profile["osProfile"]["linuxConfiguration"];
    let keys = linux["ssh"]["publicKeys"].as_array().map_or(0, Vec::len);
    if linux["disablePasswordAuthentication"] == json!(true) && keys == 0 {
        return Err(invalid(
            "linuxConfiguration",
            "Authentication using either SSH or by user name and password must be enabled in Linux profile: 'disablePasswordAuthentication' is true and 'ssh.publicKeys' is empty.".into(),
        ));
    }
    let os_disk = &profile["storageProfile"]["osDisk"];
    if os_disk["diffDiskSettings"]["option"] == "Local" {
        if let Some(caching) = os_disk["caching"].as_str().filter(|c| *c != "ReadOnly") {
            return Err(invalid(
                "osDisk.caching",
                format!("An ephemeral OS disk ('diffDiskSettings.option' 'Local') supports only 'ReadOnly' caching, not '{caching}'."),
            ));
        }
    }
    Ok(())
}

/// A PUT may not change the orchestration mode (a PATCH cannot name it: `VirtualMachineScaleSetUpdate`
/// has no `orchestrationMode`, so [`build`] keeps the existing one).
pub fn check_put(body: &Value, existing: &Resource) -> Result<(), ArmError> {
    if orchestration_mode(body) != orchestration_mode(&existing.body) {
        return Err(ArmError::conflict(
            "PropertyChangeNotAllowed",
            "Changing property 'orchestrationMode' is not allowed.",
        ));
    }
    Ok(())
}

/// Checks against the state: the image, the NIC subnets.
pub fn check_state(id: &str, body: &Value, store: &Store) -> Result<(), ArmError> {
    let location = normalize_location(body["location"].as_str().unwrap_or_default());
    let reference = &at(body, PROFILE)["storageProfile"]["imageReference"];
    if reference.is_object() {
        super::image::resolve(store, reference, &location)?;
    }
    for subnet in subnet_ids(body) {
        let vnet = crate::arm::path::parent_id(&subnet);
        let found = get_kind(store, &subnet, network::SUBNETS).is_some()
            && store.get(vnet).is_some_and(|v| location_of(v) == location);
        if !found {
            return Err(network::invalid_reference(&subnet, id));
        }
    }
    Ok(())
}

/// The rights a body needs on what it links to: joining each NIC subnet.
pub fn links(body: &Value) -> Vec<Link> {
    subnet_ids(body).iter().map(|s| Link::new("Microsoft.Network/virtualNetworks/subnets/join/action", s)).collect()
}

fn network_defaults(profile: &mut Value) {
    let nics = profile["networkProfile"]["networkInterfaceConfigurations"].as_array_mut();
    for nic in nics.into_iter().flatten() {
        let props = object(nic, "properties");
        default(props, "dnsSettings", json!({ "dnsServers": [] }));
        default(props, "enableAcceleratedNetworking", json!(false));
        for config in props.get_mut("ipConfigurations").and_then(Value::as_array_mut).into_iter().flatten() {
            default(object(config, "properties"), "privateIPAddressVersion", json!("IPv4"));
        }
    }
}

/// The stored scale set for a valid body.
pub fn build(mut body: Value, existing: Option<&Resource>, now: OffsetDateTime) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.retain(|k, _| {
            matches!(
                k.as_str(),
                "location" | "tags" | "sku" | "plan" | "properties" | "identity" | "zones" | "extendedLocation"
            )
        });
    }
    let unique = existing_at(existing, "properties.uniqueId")
        .cloned()
        .unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
    let created = existing_at(existing, "properties.timeCreated").cloned().unwrap_or_else(|| json!(timestamp(now)));
    let writes = existing
        .and_then(|e| e.body["etag"].as_str())
        .and_then(|e| e.trim_matches('"').parse::<u64>().ok())
        .unwrap_or(0);
    let mode = existing.map(|e| e.body["properties"]["orchestrationMode"].clone()).filter(|m| !m.is_null());
    let uniform = orchestration_mode(existing.map_or(&body, |e| &e.body)) == "Uniform";
    let props = object(&mut body, "properties");
    match mode {
        Some(mode) => props.insert("orchestrationMode".into(), mode),
        None if existing.is_some() => props.remove("orchestrationMode"),
        None => None,
    };
    props.remove("provisioningState");
    props.insert("uniqueId".into(), unique);
    props.insert("timeCreated".into(), created);
    if uniform {
        default(props, "singlePlacementGroup", json!(true));
        default(props, "overprovision", json!(true));
        default(props, "upgradePolicy", json!({ "mode": "Manual" }));
    }
    if let Some(profile) = props.get_mut("virtualMachineProfile") {
        let os = object_in(profile.as_object_mut().expect("validated object"), "osProfile");
        os.remove("adminPassword");
        default(os, "secrets", json!([]));
        network_defaults(profile);
    }
    body["etag"] = json!(format!("\"{}\"", writes + 1));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(profile: Value) -> Value {
        json!({"location": "westeurope", "sku": {"name": "Standard_D2s_v5", "capacity": 1}, "properties": {"virtualMachineProfile": profile}})
    }

    #[test]
    fn ssh_and_ephemeral_rules() {
        let mut no_keys = body(json!({"osProfile": {"linuxConfiguration": {"disablePasswordAuthentication": true}}}));
        let e = validate(&mut no_keys).unwrap_err();
        assert_eq!((e.status().as_u16(), e.code()), (400, "InvalidParameter"));
        let mut keys = body(json!({"osProfile": {"linuxConfiguration": {"disablePasswordAuthentication": true,
            "ssh": {"publicKeys": [{"path": "/home/a/.ssh/authorized_keys", "keyData": "ssh-rsa AAA"}]}}}}));
        validate(&mut keys).unwrap();
        let mut ephemeral = body(
            json!({"storageProfile": {"osDisk": {"createOption": "FromImage", "caching": "ReadWrite", "diffDiskSettings": {"option": "Local"}}}}),
        );
        assert_eq!(validate(&mut ephemeral).unwrap_err().code(), "InvalidParameter");
        ephemeral["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"] = json!("ReadOnly");
        validate(&mut ephemeral).unwrap();
    }

    #[test]
    fn build_sets_defaults_and_hides_the_password() {
        let sent = body(json!({"osProfile": {"adminUsername": "a", "adminPassword": "p"},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": "/s"}}}]}}]}}));
        let built = build(sent, None, OffsetDateTime::UNIX_EPOCH);
        let profile = &built["properties"]["virtualMachineProfile"];
        assert!(profile["osProfile"].get("adminPassword").is_none());
        assert_eq!(built["properties"]["upgradePolicy"]["mode"], "Manual");
        assert_eq!(built["etag"], "\"1\"");
        assert_eq!(subnet_ids(&built), vec!["/s"]);
        let nic = &profile["networkProfile"]["networkInterfaceConfigurations"][0]["properties"];
        assert_eq!(nic["ipConfigurations"][0]["properties"]["privateIPAddressVersion"], "IPv4");
        let existing = Resource { kind: "k".into(), id: "i".into(), body: built.clone() };
        let again = build(body(json!({})), Some(&existing), OffsetDateTime::now_utc());
        assert_eq!(again["properties"]["uniqueId"], built["properties"]["uniqueId"]);
        assert_eq!(again["etag"], "\"2\"");
    }
}
