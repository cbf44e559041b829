//! `Microsoft.Network` kinds, api-version 2024-05-01 (`virtualNetwork.json`, `natGateway.json`,
//! `publicIpAddress.json`, `publicIpPrefix.json` and their examples): virtual networks and their subnets,
//! public IP addresses and prefixes, NAT gateways.
//!
//! Common to them, as the swaggers say: PUT is a long-running operation answering 201 (created) / 200
//! (updated) with `provisioningState` `Updating` (Network's `ProvisioningState` has no `Creating`) and
//! `Azure-AsyncOperation`; DELETE answers 202 with `Azure-AsyncOperation` and `Location`, 204 when
//! missing; PATCH (`UpdateTags`, not on subnets) answers 200 and changes only `tags`; every resource has
//! a read-only `etag` (`W/"<guid>"`, new at each write) and, but subnets, `properties.resourceGuid`.
//!
//! Read-only references between them ([`refs::sync`]) are kept up to date whenever one of them is
//! provisioned or deleted: a network's `properties.subnets` are its subnet resources, a NAT gateway's
//! `properties.subnets` the subnets that name it, a public IP's or prefix's `properties.natGateway` the
//! NAT gateway that uses it.
//!
//! Errors whose code Microsoft's material shows: `InvalidResourceReference` (a reference to a resource
//! that does not exist or is in another region; wording as reported in MicrosoftDocs/azure-docs#81734),
//! `NetcfgSubnetRangeOutsideVnet` (wording as the Azure CLI prints it), `InUseSubnetCannotBeDeleted`
//! (listed in "Troubleshoot common Azure deployment errors"), `PublicIPAddressInUse`
//! (gardener/gardener-extension-provider-azure#757). The codes of the NAT gateway refusals and of the
//! other in-use deletions are the emulator's choice (see [`nat_gateways`], [`public_ips`]).

pub mod cidr;
pub mod nat_gateways;
pub mod public_ip_prefixes;
pub mod public_ips;
pub mod refs;
pub mod seed;
pub mod subnets;
pub mod virtual_networks;

use serde_json::{json, Value};

use super::{existing_at, object};
use crate::arm::error::ArmError;
use crate::state::{Resource, Store};

/// The api-versions of the network kinds.
pub const API_VERSIONS: &[&str] = &["2024-05-01"];

/// Registry names.
pub const VIRTUAL_NETWORKS: &str = "virtualNetworks";
pub const SUBNETS: &str = "subnets";
pub const PUBLIC_IPS: &str = "publicIPAddresses";
pub const PUBLIC_IP_PREFIXES: &str = "publicIPPrefixes";
pub const NAT_GATEWAYS: &str = "natGateways";

/// Network's name rule: 1–80 word characters, `.`, `-`, `_`, beginning with a word character and ending
/// with a word character or `_` (400 `InvalidResourceName`; the wording is the emulator's).
pub fn check_name(name: &str, what: &str) -> Result<(), ArmError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = (1..=80).contains(&name.len())
        && name.chars().all(|c| word(c) || c == '.' || c == '-')
        && name.starts_with(word)
        && name.ends_with(word);
    super::name_rule(ok, "InvalidResourceName", || {
        format!("Resource name {name} is invalid. The name of a {what} can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.")
    })
}

/// 400 `InvalidResourceReference`: `referenced` (named by `by`) does not exist or is in another region.
pub fn invalid_reference(referenced: &str, by: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidResourceReference",
        format!("Resource {referenced} referenced by resource {by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."),
    )
}

/// The members a public IP address or prefix PUT takes.
pub const PUBLIC_ADDRESS_MEMBERS: [&str; 6] = ["location", "tags", "properties", "sku", "zones", "extendedLocation"];

/// The body as written: only the `top` members (what the resource's PUT takes), its `properties` without
/// the `read_only` ones a client may have sent back (Azure ignores them: the resource's own are set later).
pub fn writable(mut body: Value, top: &[&str], read_only: &[&str]) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.retain(|k, _| top.contains(&k.as_str()));
    }
    if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
        for member in read_only {
            props.remove(*member);
        }
    }
    body
}

/// A new weak etag.
pub fn new_etag() -> Value {
    json!(format!("W/\"{}\"", uuid::Uuid::new_v4()))
}

/// The read-only members every network resource has: `etag` (new) and `properties.resourceGuid` (kept;
/// subnets have none).
pub fn stamp(body: &mut Value, existing: Option<&Resource>) {
    body["etag"] = new_etag();
    let guid = existing_at(existing, "properties.resourceGuid")
        .cloned()
        .unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
    object(body, "properties").insert("resourceGuid".into(), guid);
}

/// The `id`s of the sub-resources in the array at `value[key]` (`[{"id": …}]`).
pub fn ids_at(value: &Value, key: &str) -> Vec<String> {
    value[key].as_array().into_iter().flatten().filter_map(|v| v["id"].as_str()).map(str::to_string).collect()
}

/// The stored resource `id` when it is of kind `kind`.
pub fn get_kind<'a>(store: &'a Store, id: &str, kind: &str) -> Option<&'a Resource> {
    store.get(id).filter(|r| r.kind == kind)
}

/// The normalized location of a stored resource.
pub fn location_of(resource: &Resource) -> String {
    crate::arm::crud::normalize_location(resource.body["location"].as_str().unwrap_or_default())
}

/// The zones of a body (`[]` when none).
pub fn zones(body: &Value) -> Vec<String> {
    body["zones"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_helpers() {
        assert!(check_name("vnet-agentpool.1_", "virtual network").is_ok());
        for bad in ["", "-a", "a-", "a b", &"a".repeat(81)] {
            assert_eq!(check_name(bad, "x").unwrap_err().code(), "InvalidResourceName", "{bad}");
        }
        let body = json!({"p": [{"id": "/a"}, {"id": "/b"}, {}]});
        assert_eq!(ids_at(&body, "p"), vec!["/a", "/b"]);
        assert_eq!(zones(&json!({"zones": ["1"]})), vec!["1"]);
        let mut b = json!({});
        stamp(&mut b, None);
        assert!(b["etag"].as_str().unwrap().starts_with("W/\""));
        assert!(b["properties"]["resourceGuid"].is_string());
    }
}
