//! `Microsoft.Network/publicIPAddresses`, api-version 2024-05-01 (`publicIpAddress.json`, examples
//! `PublicIpAddressCreateDefaults.json`, `PublicIpAddressGet.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (LRO) | 201 / 200 `Updating` + `Azure-AsyncOperation`; 400 on a bad enum |
//! | GET | 200 / 404 |
//! | PATCH (UpdateTags) | 200, only `tags` change |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing; 400 `PublicIPAddressCannotBeDeleted` while a NAT gateway uses it |
//! | LIST by group, by subscription | 200 `{"value"}` |
//!
//! Defaults as the `CreateDefaults` example shows them: `sku` `Basic`, `publicIPAddressVersion` `IPv4`,
//! `idleTimeoutInMinutes` 4, `publicIPAllocationMethod` `Dynamic` for Basic — and `Static` for Standard,
//! which accepts nothing else (the emulator's default; it does not refuse Standard + Dynamic). A static
//! address gets a made-up `ipAddress` in 20.0.0.0/8, stable for the resource id. `properties.natGateway` is
//! read-only here: the NAT gateway that lists the address. The code and wording of
//! `PublicIPAddressCannotBeDeleted` are the emulator's (a reported Azure code, not verified in Microsoft's
//! material). Caveats: no DNS labels, IP tags or DDoS settings are checked; prefixes do not allocate the
//! address (`publicIPPrefix` is stored as sent).

use serde_json::{json, Value};

use super::{check_name, cidr, refs, stamp, API_VERSIONS, PUBLIC_IPS};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::kinds::{default, object};
use crate::state::{Resource, Store};

/// The public IP address kind.
pub struct PublicIpAddresses;

static INFO: KindInfo = KindInfo {
    name: PUBLIC_IPS,
    resource_type: "Microsoft.Network/publicIPAddresses",
    api_versions: API_VERSIONS,
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/publicIPAddresses/{publicIpAddressName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/publicIPAddresses",
            filter: ListFilter::Children,
        },
        ListRoute { pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Network/publicIPAddresses", filter: ListFilter::Subscription },
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
    Rule::Enum("sku.name", &["Basic", "Standard"]),
    Rule::Enum("sku.tier", &["Regional", "Global"]),
    Rule::Type("properties", JsonType::Object),
    Rule::Enum("properties.publicIPAllocationMethod", &["Static", "Dynamic"]),
    Rule::Enum("properties.publicIPAddressVersion", &["IPv4", "IPv6"]),
    Rule::Type("properties.idleTimeoutInMinutes", JsonType::Integer),
];

/// Whether the stored address is usable by a NAT gateway: (`sku.name`, allocation method, version).
pub fn traits(body: &Value) -> (&str, &str, &str) {
    let props = &body["properties"];
    (
        body["sku"]["name"].as_str().unwrap_or("Basic"),
        props["publicIPAllocationMethod"].as_str().unwrap_or("Dynamic"),
        props["publicIPAddressVersion"].as_str().unwrap_or("IPv4"),
    )
}

impl ResourceKind for PublicIpAddresses {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_name(name, "public IP address")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn creating_state(&self) -> &'static str {
        "Updating"
    }

    fn check_delete(&self, target: &Target, _existing: &Resource, store: &Store) -> Result<(), ArmError> {
        match refs::nat_gateway_using(store, "publicIpAddresses", &target.id, None) {
            Some(nat) => Err(ArmError::bad_request(
                "PublicIPAddressCannotBeDeleted",
                format!("Public IP address {} can not be deleted since it is still allocated to resource {nat}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.", target.id),
            )),
            None => Ok(()),
        }
    }

    fn build(&self, target: &Target, _env: &Env<'_>, body: Value, existing: Option<&Resource>) -> Value {
        let read_only = ["provisioningState", "ipConfiguration", "natGateway", "ipAddress"];
        let mut body = super::writable(body, &super::PUBLIC_ADDRESS_MEMBERS, &read_only);
        default(body.as_object_mut().expect("validated object"), "sku", json!({ "name": "Basic" }));
        let standard = body["sku"]["name"] == "Standard";
        let props = object(&mut body, "properties");
        default(props, "publicIPAddressVersion", json!("IPv4"));
        default(props, "publicIPAllocationMethod", json!(if standard { "Static" } else { "Dynamic" }));
        default(props, "idleTimeoutInMinutes", json!(4));
        if props["publicIPAllocationMethod"] == "Static" && props["publicIPAddressVersion"] == "IPv4" {
            props.insert("ipAddress".into(), json!(cidr::public_address(&target.id, 32)));
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
    fn traits_default_as_azure() {
        assert_eq!(traits(&json!({})), ("Basic", "Dynamic", "IPv4"));
        let mut bad = json!({"location": "x", "sku": {"name": "Premium"}});
        assert_eq!(PublicIpAddresses.validate(&mut bad).unwrap_err().code(), "InvalidRequestContent");
    }
}
