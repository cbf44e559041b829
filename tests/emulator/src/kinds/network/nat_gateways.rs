//! `Microsoft.Network/natGateways`, api-version 2024-05-01 (`natGateway.json`, examples
//! `NatGatewayCreateOrUpdate.json`, `NatGatewayGet.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (LRO) | 201 / 200 `Updating` + `Azure-AsyncOperation`; 400 for the refusals below; 403 `LinkedAuthorizationFailed` without `Microsoft.Network/publicIPAddresses/join/action` / `publicIPPrefixes/join/action` on an address or prefix |
//! | GET | 200 with read-only `properties.subnets` (the subnets that name it) / 404 |
//! | PATCH (UpdateTags) | 200, only `tags` change |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing; 400 `InUseNatGatewayCannotBeDeleted` while a subnet names it |
//! | LIST by group, by subscription | 200 `{"value"}` |
//!
//! What Microsoft documents for the Standard SKU ("Azure NAT Gateway SKUs", learn.microsoft.com/azure/
//! nat-gateway/nat-sku; "Design virtual networks with NAT gateway", `nat-gateway-resource`): Standard public
//! IPv4 addresses only, at most 16 addresses, a prefix counting by its size (all its addresses are used),
//! prefixes of /28 to /31, one region, a zonal resource. Refusals, each a 400:
//!
//! - an address or prefix that does not exist or is in another region: `InvalidResourceReference`;
//! - an address or prefix another NAT gateway uses: `PublicIPAddressInUse` (the code and wording Azure
//!   answers for an address, as gardener/gardener-extension-provider-azure#757 quotes it; reused for a prefix);
//! - the emulator's own codes (Azure's were not found; the first is named after Azure's
//!   `PublicIpWithBasicSkuNotAllowedOnVPNGateways`): [`Refusal`].
//!
//! Caveats: a NAT gateway without a zone accepts addresses in any zone; several zones are not refused;
//! `idleTimeoutInMinutes` is not range-checked; the StandardV2 SKU (not in this api-version) is not emulated.

use serde_json::{json, Value};

use super::{
    check_name, cidr, get_kind, ids_at, invalid_reference, location_of, refs, stamp, zones, API_VERSIONS, NAT_GATEWAYS,
    PUBLIC_IPS, PUBLIC_IP_PREFIXES,
};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::authz::linked::Link;
use crate::kinds::{default, existing_at, object};
use crate::state::{Resource, Store};

/// Most public IP addresses a NAT gateway uses, prefixes counted by their size.
pub const MAX_ADDRESSES: u64 = 16;

/// What a NAT gateway refuses of its public IP addresses and prefixes (codes chosen by the emulator).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("Public IP address {ip} has the Basic SKU and cannot be used by NAT gateway {nat}: a NAT gateway uses Standard SKU public IP addresses only.")]
    BasicSku { ip: String, nat: String },
    #[error("Public IP address {ip} is allocated dynamically and cannot be used by NAT gateway {nat}: a NAT gateway uses statically allocated public IP addresses only.")]
    Dynamic { ip: String, nat: String },
    #[error(
        "{what} {id} is IPv6 and cannot be used by NAT gateway {nat}: a Standard NAT gateway uses IPv4 addresses only."
    )]
    Ipv6 { what: &'static str, id: String, nat: String },
    #[error("Public IP prefix {prefix} has prefix length /{length}; NAT gateway {nat} accepts public IP prefixes of /28 to /31 only.")]
    PrefixLength { prefix: String, length: u64, nat: String },
    #[error("NAT gateway {nat} would use {count} public IP addresses (prefixes count by their size); at most 16 are allowed.")]
    TooMany { nat: String, count: u64 },
    #[error(
        "{what} {id} is in zone(s) {zones:?} but NAT gateway {nat} is in zone {zone}: they must be in the same zone."
    )]
    Zone { what: &'static str, id: String, zones: Vec<String>, nat: String, zone: String },
}

impl Refusal {
    /// The error code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::BasicSku { .. } => "PublicIpWithBasicSkuNotAllowedOnNatGateway",
            Refusal::Dynamic { .. } => "PublicIpWithDynamicAllocationNotAllowedOnNatGateway",
            Refusal::Ipv6 { .. } => "PublicIpv6NotAllowedOnStandardNatGateway",
            Refusal::PrefixLength { .. } => "PublicIpPrefixLengthNotAllowedOnNatGateway",
            Refusal::TooMany { .. } => "NatGatewayPublicIpAddressesExceedLimit",
            Refusal::Zone { .. } => "NatGatewayZoneMismatchWithPublicIp",
        }
    }
}

impl From<Refusal> for ArmError {
    fn from(refusal: Refusal) -> Self {
        ArmError::bad_request(refusal.code(), refusal.to_string())
    }
}

/// The NAT gateway kind.
pub struct NatGateways;

static INFO: KindInfo = KindInfo {
    name: NAT_GATEWAYS,
    resource_type: "Microsoft.Network/natGateways",
    api_versions: API_VERSIONS,
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/natGateways/{natGatewayName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/natGateways",
            filter: ListFilter::Children,
        },
        ListRoute { pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Network/natGateways", filter: ListFilter::Subscription },
    ],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::TagsOnly,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &[],
};

const RULES: &[Rule] = &[
    Rule::Required("location"),
    Rule::Type("location", JsonType::String),
    Rule::Type("tags", JsonType::Object),
    Rule::Type("zones", JsonType::Array),
    Rule::Type("sku", JsonType::Object),
    Rule::Enum("sku.name", &["Standard"]),
    Rule::Type("properties", JsonType::Object),
    Rule::Type("properties.idleTimeoutInMinutes", JsonType::Integer),
    Rule::Type("properties.publicIpAddresses", JsonType::Array),
    Rule::Type("properties.publicIpPrefixes", JsonType::Array),
];

/// One address or prefix named by a NAT gateway body.
struct Named<'a> {
    key: &'static str,
    what: &'static str,
    id: String,
    resource: &'a Resource,
}

/// Finds every named address and prefix (in the NAT gateway's region, not used by another one).
fn named<'a>(store: &'a Store, nat: &str, location: &str, props: &Value) -> Result<Vec<Named<'a>>, ArmError> {
    let mut out = Vec::new();
    for (key, kind, what) in [
        ("publicIpAddresses", PUBLIC_IPS, "Public IP address"),
        ("publicIpPrefixes", PUBLIC_IP_PREFIXES, "Public IP prefix"),
    ] {
        for id in ids_at(props, key) {
            let resource = get_kind(store, &id, kind)
                .filter(|r| location_of(r) == location)
                .ok_or_else(|| invalid_reference(&id, nat))?;
            if let Some(other) = refs::nat_gateway_using(store, key, &id, Some(nat)) {
                return Err(ArmError::bad_request(
                    "PublicIPAddressInUse",
                    format!("Resource {nat} is referencing public IP address {id} that is already allocated to resource {other}."),
                ));
            }
            out.push(Named { key, what, id, resource });
        }
    }
    Ok(out)
}

/// The refusal of one address or prefix, if any.
fn refusal(named: &Named<'_>, nat: &str, nat_zones: &[String]) -> Option<Refusal> {
    let body = &named.resource.body;
    let (id, nat) = (named.id.clone(), nat.to_string());
    let version = body["properties"]["publicIPAddressVersion"].as_str().unwrap_or("IPv4");
    if named.key == "publicIpAddresses" {
        let (sku, allocation, _) = super::public_ips::traits(body);
        if sku != "Standard" {
            return Some(Refusal::BasicSku { ip: id, nat });
        }
        if allocation != "Static" {
            return Some(Refusal::Dynamic { ip: id, nat });
        }
    }
    if version != "IPv4" {
        return Some(Refusal::Ipv6 { what: named.what, id, nat });
    }
    let length = body["properties"]["prefixLength"].as_u64().unwrap_or(32);
    if named.key == "publicIpPrefixes" && !(28..=31).contains(&length) {
        return Some(Refusal::PrefixLength { prefix: id, length, nat });
    }
    let own = zones(body);
    match nat_zones.first() {
        Some(zone) if !own.is_empty() && !own.contains(zone) => {
            Some(Refusal::Zone { what: named.what, id, zones: own, nat, zone: zone.clone() })
        }
        _ => None,
    }
}

/// How many addresses one named address or prefix counts for.
fn size(named: &Named<'_>) -> u64 {
    match named.key {
        "publicIpPrefixes" => {
            cidr::size_of_prefix(named.resource.body["properties"]["prefixLength"].as_u64().unwrap_or(32))
        }
        _ => 1,
    }
}

impl ResourceKind for NatGateways {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_name(name, "NAT gateway")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn creating_state(&self) -> &'static str {
        "Updating"
    }

    fn linked_access(&self, body: &Value) -> Vec<Link> {
        let props = &body["properties"];
        let ips = ids_at(props, "publicIpAddresses")
            .into_iter()
            .map(|id| Link::new("Microsoft.Network/publicIPAddresses/join/action", &id));
        let prefixes = ids_at(props, "publicIpPrefixes")
            .into_iter()
            .map(|id| Link::new("Microsoft.Network/publicIPPrefixes/join/action", &id));
        ips.chain(prefixes).collect()
    }

    fn check(
        &self,
        target: &Target,
        body: &Value,
        _existing: Option<&Resource>,
        store: &Store,
    ) -> Result<(), ArmError> {
        let location = crate::arm::crud::normalize_location(body["location"].as_str().unwrap_or_default());
        let all = named(store, &target.id, &location, &body["properties"])?;
        let nat_zones = zones(body);
        if let Some(refused) = all.iter().find_map(|n| refusal(n, &target.id, &nat_zones)) {
            return Err(refused.into());
        }
        let count: u64 = all.iter().map(size).sum();
        if count > MAX_ADDRESSES {
            return Err(Refusal::TooMany { nat: target.id.clone(), count }.into());
        }
        Ok(())
    }

    fn check_delete(&self, target: &Target, _existing: &Resource, store: &Store) -> Result<(), ArmError> {
        let users = refs::nat_gateway_users(store, &target.id);
        if users.is_empty() {
            return Ok(());
        }
        Err(ArmError::bad_request(
            "InUseNatGatewayCannotBeDeleted",
            format!("Nat Gateway {} is in use by subnet(s) {} and cannot be deleted. Remove its association with the subnets first.", target.name, users.join(", ")),
        ))
    }

    fn build(&self, _target: &Target, _env: &Env<'_>, body: Value, existing: Option<&Resource>) -> Value {
        let top = ["location", "tags", "properties", "sku", "zones"];
        let mut body = super::writable(body, &top, &["provisioningState", "subnets", "resourceGuid"]);
        default(body.as_object_mut().expect("validated object"), "sku", json!({ "name": "Standard" }));
        let subnets = existing_at(existing, "properties.subnets").cloned();
        let props = object(&mut body, "properties");
        default(props, "idleTimeoutInMinutes", json!(4));
        if let Some(subnets) = subnets {
            props.insert("subnets".into(), subnets);
        }
        stamp(&mut body, existing);
        body
    }

    fn on_provisioned(&self, _env: &Env<'_>, store: &mut Store, _resource: &Resource) {
        refs::sync(store);
    }

    fn on_deleted(&self, _env: &Env<'_>, store: &mut Store, _resource: &Resource) {
        refs::sync(store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &str, id: &str, body: Value) -> Resource {
        Resource { kind: kind.into(), id: id.into(), body }
    }

    #[test]
    fn refusals_of_addresses_and_prefixes() {
        let nat = "/n";
        let ip = |body: Value| resource(PUBLIC_IPS, "/ip", body);
        let check = |r: &Resource, key: &'static str, zones: &[String]| {
            refusal(&Named { key, what: "x", id: r.id.clone(), resource: r }, nat, zones).map(|r| r.code())
        };
        let standard = json!({"sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}});
        assert_eq!(check(&ip(standard.clone()), "publicIpAddresses", &[]), None);
        assert_eq!(check(&ip(json!({})), "publicIpAddresses", &[]), Some("PublicIpWithBasicSkuNotAllowedOnNatGateway"));
        let dynamic = json!({"sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Dynamic"}});
        assert_eq!(
            check(&ip(dynamic), "publicIpAddresses", &[]),
            Some("PublicIpWithDynamicAllocationNotAllowedOnNatGateway")
        );
        let mut v6 = standard.clone();
        v6["properties"]["publicIPAddressVersion"] = json!("IPv6");
        assert_eq!(check(&ip(v6), "publicIpAddresses", &[]), Some("PublicIpv6NotAllowedOnStandardNatGateway"));
        let mut zonal = standard;
        zonal["zones"] = json!(["2"]);
        assert_eq!(
            check(&ip(zonal.clone()), "publicIpAddresses", &["1".into()]),
            Some("NatGatewayZoneMismatchWithPublicIp")
        );
        assert_eq!(check(&ip(zonal), "publicIpAddresses", &["2".into()]), None);
        let prefix = |len: u64| resource(PUBLIC_IP_PREFIXES, "/p", json!({"properties": {"prefixLength": len}}));
        assert_eq!(check(&prefix(27), "publicIpPrefixes", &[]), Some("PublicIpPrefixLengthNotAllowedOnNatGateway"));
        assert_eq!(check(&prefix(28), "publicIpPrefixes", &[]), None);
        let p = prefix(28);
        assert_eq!(size(&Named { key: "publicIpPrefixes", what: "x", id: "/p".into(), resource: &p }), 16);
    }
}
