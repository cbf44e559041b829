//! `Microsoft.Network/virtualNetworks/subnets`, api-version 2024-05-01 (`virtualNetwork.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (Subnets_CreateOrUpdate, LRO) | 201 / 200 `Updating` + `Azure-AsyncOperation`; 400 `NetcfgSubnetRangeOutsideVnet` (a prefix outside the network's address space), `InvalidResourceReference` (a `natGateway` that does not exist or is in another region than the network), `MissingRequiredProperty` (no prefix); 403 `LinkedAuthorizationFailed` without `Microsoft.Network/natGateways/join/action` on the NAT gateway |
//! | GET | 200 / 404 (`ParentResourceNotFound` without the network) |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing; 400 `InUseSubnetCannotBeDeleted` while a scale set uses it |
//! | LIST by network | 200 `{"value"}` |
//!
//! A PUT replaces the whole subnet, as Azure does: members the client leaves out are gone (a PUT without
//! `natGateway` removes the association). The subnet also shows in its network's `properties.subnets`.
//! `defaultOutboundAccess` is stored as sent and absent when not sent: under api-version 2024-05-01 an
//! absent value means default outbound access stays on (subnets are private by default only from
//! api-version 2025-07-01, per Microsoft's announcement "Private subnets by default in Azure virtual
//! networks"). Caveats: no `ipConfigurations` of the scale sets using it; no overlap check between
//! sibling subnets; `defaultOutboundAccess` may be changed by a later PUT (Azure fixes it at creation).

use serde_json::Value;

use super::{
    check_name, cidr, get_kind, invalid_reference, location_of, new_etag, refs, API_VERSIONS, NAT_GATEWAYS, SUBNETS,
};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::path::parent_id;
use crate::arm::validate::{check, JsonType, Rule};
use crate::authz::linked::Link;
use crate::state::{Resource, Store};

/// The subnet kind.
pub struct Subnets;

static INFO: KindInfo = KindInfo {
    name: SUBNETS,
    resource_type: "Microsoft.Network/virtualNetworks/subnets",
    api_versions: API_VERSIONS,
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
    lists: &[ListRoute {
        pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets",
        filter: ListFilter::Children,
    }],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::Unsupported,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &[],
};

/// Rules of a subnet's `properties` (also applied to the inline subnets of a network).
pub const PROPERTY_RULES: &[Rule] = &[
    Rule::Type("addressPrefix", JsonType::String),
    Rule::Type("addressPrefixes", JsonType::Array),
    Rule::Type("natGateway", JsonType::Object),
    Rule::Type("natGateway.id", JsonType::String),
    Rule::Type("defaultOutboundAccess", JsonType::Boolean),
    Rule::Enum(
        "privateEndpointNetworkPolicies",
        &["Enabled", "Disabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled"],
    ),
    Rule::Enum("privateLinkServiceNetworkPolicies", &["Enabled", "Disabled"]),
    Rule::Enum("sharingScope", &["Tenant", "DelegatedServices"]),
];

/// The address prefixes of subnet properties (`addressPrefix` and `addressPrefixes`).
pub fn prefixes(props: &Value) -> Vec<String> {
    let one = props["addressPrefix"].as_str().map(str::to_string);
    let many = props["addressPrefixes"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string);
    one.into_iter().chain(many).collect()
}

/// Checks subnet properties (`props`, under `at`) before any state is read.
pub fn validate_properties(props: &mut Value, at: &str) -> Result<(), ArmError> {
    if !props.is_object() {
        return Err(ArmError::MissingRequiredProperty(format!("{at}.addressPrefix")));
    }
    check(props, PROPERTY_RULES).map_err(|e| match e {
        ArmError::InvalidRequestContent { message, target } => {
            ArmError::InvalidRequestContent { message, target: target.map(|t| format!("{at}.{t}")) }
        }
        other => other,
    })?;
    if prefixes(props).is_empty() {
        return Err(ArmError::MissingRequiredProperty(format!("{at}.addressPrefix")));
    }
    Ok(())
}

/// The network a subnet is checked against.
pub struct Network<'a> {
    pub name: &'a str,
    pub location: String,
    pub address_space: Vec<String>,
}

impl<'a> Network<'a> {
    /// The network of a stored virtual network resource.
    pub fn of(resource: &'a Resource) -> Self {
        let space = &resource.body["properties"]["addressSpace"]["addressPrefixes"];
        Network {
            name: resource.id.rsplit('/').next().unwrap_or_default(),
            location: location_of(resource),
            address_space: space
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        }
    }
}

/// Checks subnet `name` (id `id`, properties `props`) inside `network`, against the state.
pub fn check_in_network(
    store: &Store,
    network: &Network<'_>,
    id: &str,
    name: &str,
    props: &Value,
) -> Result<(), ArmError> {
    if !cidr::all_inside(&prefixes(props), &network.address_space) {
        return Err(ArmError::bad_request(
            "NetcfgSubnetRangeOutsideVnet",
            format!("Subnet '{name}' is not valid because its IP address range is outside the IP address range of virtual network '{}'.", network.name),
        ));
    }
    if let Some(nat) = props["natGateway"]["id"].as_str() {
        let found = get_kind(store, nat, NAT_GATEWAYS).is_some_and(|n| location_of(n) == network.location);
        if !found {
            return Err(invalid_reference(nat, id));
        }
    }
    Ok(())
}

/// The join actions a subnet's properties need.
pub fn links(props: &Value) -> Vec<Link> {
    props["natGateway"]["id"]
        .as_str()
        .map(|n| Link::new("Microsoft.Network/natGateways/join/action", n))
        .into_iter()
        .collect()
}

/// The stored body of a subnet: only what the client sent (a PUT replaces the subnet), plus the
/// read-only members.
pub fn normalize(body: Value) -> Value {
    let read_only = ["provisioningState", "ipConfigurations", "privateEndpoints", "purpose", "resourceNavigationLinks"];
    let mut body = super::writable(body, &["properties"], &read_only);
    body["etag"] = new_etag();
    body
}

/// 400 `InUseSubnetCannotBeDeleted` while scale sets use subnet `id` (wording of the message as Terraform's
/// provider quotes it).
pub fn check_not_in_use(store: &Store, id: &str) -> Result<(), ArmError> {
    let users = refs::subnet_users(store, id);
    match users.first() {
        Some(user) => Err(ArmError::bad_request(
            "InUseSubnetCannotBeDeleted",
            format!(
                "Subnet {} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
                id.rsplit('/').next().unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

impl ResourceKind for Subnets {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_name(name, "subnet")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        if !body.is_object() {
            return check(body, &[]);
        }
        validate_properties(&mut body["properties"], "properties")
    }

    fn creating_state(&self) -> &'static str {
        "Updating"
    }

    fn linked_access(&self, body: &Value) -> Vec<Link> {
        links(&body["properties"])
    }

    fn check(
        &self,
        target: &Target,
        body: &Value,
        _existing: Option<&Resource>,
        store: &Store,
    ) -> Result<(), ArmError> {
        let vnet = store.get(parent_id(&target.id)).ok_or_else(|| ArmError::ParentResourceNotFound(String::new()))?;
        check_in_network(store, &Network::of(vnet), &target.id, &target.name, &body["properties"])
    }

    fn check_delete(&self, target: &Target, _existing: &Resource, store: &Store) -> Result<(), ArmError> {
        check_not_in_use(store, &target.id)
    }

    fn build(&self, _target: &Target, _env: &Env<'_>, body: Value, _existing: Option<&Resource>) -> Value {
        normalize(body)
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
    use serde_json::json;

    #[test]
    fn bodies() {
        let mut ok = json!({"properties": {"addressPrefix": "10.0.1.0/24", "natGateway": {"id": "/n"}}});
        Subnets.validate(&mut ok).unwrap();
        let mut none = json!({"properties": {}});
        assert_eq!(Subnets.validate(&mut none).unwrap_err().code(), "MissingRequiredProperty");
        let built = normalize(
            json!({"name": "x", "etag": "e", "properties": {"addressPrefix": "10.0.1.0/24", "provisioningState": "Failed"}}),
        );
        assert_eq!(built["properties"]["addressPrefix"], "10.0.1.0/24");
        assert!(built["properties"].get("provisioningState").is_none() && built.get("name").is_none());
        assert_eq!(links(&ok["properties"]), vec![Link::new("Microsoft.Network/natGateways/join/action", "/n")]);
        assert_eq!(prefixes(&json!({"addressPrefix": "a", "addressPrefixes": ["b"]})), vec!["a", "b"]);
    }
}
