//! `Microsoft.Network/publicIPPrefixes`, api-version 2024-05-01 (`publicIpPrefix.json`, examples
//! `PublicIpPrefixCreateDefaults.json`, `PublicIpPrefixGet.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (LRO) | 201 / 200 `Updating` + `Azure-AsyncOperation`; 400 on a bad enum or a `prefixLength` outside 16..=31 (IPv4) / 112..=127 (IPv6) |
//! | GET | 200 with `ipPrefix` / 404 |
//! | PATCH (UpdateTags) | 200, only `tags` change |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing; 400 `InUsePublicIpPrefixCannotBeDeleted` while a NAT gateway uses it |
//! | LIST by group, by subscription | 200 `{"value"}` |
//!
//! `ipPrefix` is a made-up block of 20.0.0.0/8 of `prefixLength` bits, stable for the resource id;
//! `ipTags` default to `[]` as in the example. The accepted lengths, the code of the in-use deletion and
//! the `InvalidParameter` code of a bad length are the emulator's choice (Microsoft documents /28–/31 as
//! the default range a subscription can create; larger prefixes need a request).

use serde_json::{json, Value};

use super::{check_name, cidr, refs, stamp, API_VERSIONS, PUBLIC_IP_PREFIXES};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::kinds::{default, object};
use crate::state::{Resource, Store};

/// The public IP prefix kind.
pub struct PublicIpPrefixes;

static INFO: KindInfo = KindInfo {
    name: PUBLIC_IP_PREFIXES,
    resource_type: "Microsoft.Network/publicIPPrefixes",
    api_versions: API_VERSIONS,
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/publicIPPrefixes/{publicIpPrefixName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/publicIPPrefixes",
            filter: ListFilter::Children,
        },
        ListRoute { pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Network/publicIPPrefixes", filter: ListFilter::Subscription },
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
    Rule::Enum("sku.tier", &["Regional", "Global"]),
    Rule::Required("properties"),
    Rule::Required("properties.prefixLength"),
    Rule::Type("properties.prefixLength", JsonType::Integer),
    Rule::Enum("properties.publicIPAddressVersion", &["IPv4", "IPv6"]),
];

impl ResourceKind for PublicIpPrefixes {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_name(name, "public IP prefix")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)?;
        let length = body["properties"]["prefixLength"].as_u64().unwrap_or(0);
        let ipv6 = body["properties"]["publicIPAddressVersion"] == "IPv6";
        let range = if ipv6 { 112..=127 } else { 16..=31 };
        if !range.contains(&length) {
            return Err(ArmError::bad_request(
                "InvalidParameter",
                format!(
                    "Prefix length {length} is not valid for a public IP prefix: it must be between {} and {}.",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(())
    }

    fn creating_state(&self) -> &'static str {
        "Updating"
    }

    fn check_delete(&self, target: &Target, _existing: &Resource, store: &Store) -> Result<(), ArmError> {
        match refs::nat_gateway_using(store, "publicIpPrefixes", &target.id, None) {
            Some(nat) => Err(ArmError::bad_request(
                "InUsePublicIpPrefixCannotBeDeleted",
                format!("Public IP prefix {} cannot be deleted since it is in use by {nat}.", target.id),
            )),
            None => Ok(()),
        }
    }

    fn build(&self, target: &Target, _env: &Env<'_>, body: Value, existing: Option<&Resource>) -> Value {
        let read_only =
            ["provisioningState", "ipPrefix", "publicIPAddresses", "natGateway", "loadBalancerFrontendIpConfiguration"];
        let mut body = super::writable(body, &super::PUBLIC_ADDRESS_MEMBERS, &read_only);
        default(body.as_object_mut().expect("validated object"), "sku", json!({ "name": "Standard" }));
        let props = object(&mut body, "properties");
        default(props, "publicIPAddressVersion", json!("IPv4"));
        default(props, "ipTags", json!([]));
        let length = props["prefixLength"].as_u64().unwrap_or(28) as u8;
        if props["publicIPAddressVersion"] == "IPv4" {
            props.insert("ipPrefix".into(), json!(cidr::public_address(&target.id, length)));
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

    #[test]
    fn lengths() {
        let mut ok = json!({"location": "x", "properties": {"prefixLength": 28}});
        PublicIpPrefixes.validate(&mut ok).unwrap();
        let mut wide = json!({"location": "x", "properties": {"prefixLength": 8}});
        assert_eq!(PublicIpPrefixes.validate(&mut wide).unwrap_err().code(), "InvalidParameter");
        let mut missing = json!({"location": "x", "properties": {}});
        assert_eq!(PublicIpPrefixes.validate(&mut missing).unwrap_err().code(), "MissingRequiredProperty");
    }
}
