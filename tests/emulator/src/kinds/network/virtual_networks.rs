//! `Microsoft.Network/virtualNetworks`, api-version 2024-05-01 (`virtualNetwork.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (VirtualNetworks_CreateOrUpdate, LRO) | 201 / 200 `Updating` + `Azure-AsyncOperation`; the inline `subnets` are checked as a subnet PUT checks them (400 `NetcfgSubnetRangeOutsideVnet`, `InvalidResourceReference`) and become the network's subnets when the operation ends: subnets left out are deleted (400 `InUseSubnetCannotBeDeleted` when a scale set uses one) |
//! | GET | 200 with `properties.subnets` (the subnet resources) / 404 |
//! | PATCH (UpdateTags) | 200, only `tags` change |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location` (removes the subnets); 204 when missing; 400 `InUseSubnetCannotBeDeleted` while a scale set uses a subnet |
//! | LIST by group, by subscription | 200 `{"value"}` |
//!
//! Caveats: peerings, DDoS plans, DHCP options and encryption are stored as sent, not checked; IPv6 ranges
//! are not range-checked.

use serde_json::{json, Map, Value};

use super::subnets::{self, Network};
use super::{check_name, refs, stamp, API_VERSIONS, SUBNETS, VIRTUAL_NETWORKS};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::lro::set_provisioning_state;
use crate::arm::path::parent_id;
use crate::arm::validate::{check, JsonType, Rule};
use crate::authz::linked::Link;
use crate::kinds::{default, object};
use crate::state::{Resource, Store};

/// The virtual network kind.
pub struct VirtualNetworks;

static INFO: KindInfo = KindInfo {
    name: VIRTUAL_NETWORKS,
    resource_type: "Microsoft.Network/virtualNetworks",
    api_versions: API_VERSIONS,
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks",
            filter: ListFilter::Children,
        },
        ListRoute { pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Network/virtualNetworks", filter: ListFilter::Subscription },
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
    Rule::Type("properties", JsonType::Object),
    Rule::Type("properties.addressSpace", JsonType::Object),
    Rule::Type("properties.addressSpace.addressPrefixes", JsonType::Array),
    Rule::Type("properties.subnets", JsonType::Array),
    Rule::Required("properties?.subnets?[].name"),
    Rule::Type("properties.subnets[].name", JsonType::String),
];

fn inline_subnets(body: &Value) -> Vec<Value> {
    body["properties"]["subnets"].as_array().cloned().unwrap_or_default()
}

fn subnet_id(vnet_id: &str, name: &str) -> String {
    format!("{vnet_id}/subnets/{name}")
}

/// A subnet resource body in ARM's member order.
fn subnet_body(id: &str, name: &str, normalized: Value) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(name));
    out.insert("type".into(), json!("Microsoft.Network/virtualNetworks/subnets"));
    if let Value::Object(map) = normalized {
        out.extend(map);
    }
    Value::Object(out)
}

impl ResourceKind for VirtualNetworks {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_name(name, "virtual network")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)?;
        if let Some(list) = body["properties"]["subnets"].as_array_mut() {
            for (i, subnet) in list.iter_mut().enumerate() {
                check_name(subnet["name"].as_str().unwrap_or_default(), "subnet")?;
                subnets::validate_properties(
                    &mut subnet["properties"],
                    &format!("properties.subnets[{i}].properties"),
                )?;
            }
        }
        Ok(())
    }

    fn creating_state(&self) -> &'static str {
        "Updating"
    }

    fn linked_access(&self, body: &Value) -> Vec<Link> {
        inline_subnets(body).iter().flat_map(|s| subnets::links(&s["properties"])).collect()
    }

    fn check(
        &self,
        target: &Target,
        body: &Value,
        _existing: Option<&Resource>,
        store: &Store,
    ) -> Result<(), ArmError> {
        let resource = Resource { kind: INFO.name.into(), id: target.id.clone(), body: body.clone() };
        let network = Network::of(&resource);
        let wanted = inline_subnets(body);
        for subnet in &wanted {
            let name = subnet["name"].as_str().unwrap_or_default();
            subnets::check_in_network(store, &network, &subnet_id(&target.id, name), name, &subnet["properties"])?;
        }
        let kept = |id: &str| {
            wanted
                .iter()
                .any(|s| subnet_id(&target.id, s["name"].as_str().unwrap_or_default()).eq_ignore_ascii_case(id))
        };
        let dropped: Vec<String> = store
            .resources()
            .filter(|r| r.kind == SUBNETS && parent_id(&r.id).eq_ignore_ascii_case(&target.id) && !kept(&r.id))
            .map(|r| r.id.clone())
            .collect();
        dropped.iter().try_for_each(|id| subnets::check_not_in_use(store, id))
    }

    fn check_delete(&self, target: &Target, _existing: &Resource, store: &Store) -> Result<(), ArmError> {
        let ids: Vec<String> =
            store.descendants(&target.id).filter(|r| r.kind == SUBNETS).map(|r| r.id.clone()).collect();
        ids.iter().try_for_each(|id| subnets::check_not_in_use(store, id))
    }

    fn build(&self, target: &Target, _env: &Env<'_>, body: Value, existing: Option<&Resource>) -> Value {
        let mut body = super::writable(body, &["location", "tags", "properties", "extendedLocation"], &[]);
        let built: Vec<Value> = inline_subnets(&body)
            .into_iter()
            .map(|subnet| {
                let name = subnet["name"].as_str().unwrap_or_default().to_string();
                let id = subnet_id(&target.id, &name);
                let mut normalized = subnets::normalize(subnet);
                set_provisioning_state(&mut normalized, "Updating");
                subnet_body(&id, &name, normalized)
            })
            .collect();
        let props = object(&mut body, "properties");
        props.insert("subnets".into(), Value::Array(built));
        default(props, "virtualNetworkPeerings", json!([]));
        default(props, "enableDdosProtection", json!(false));
        for read_only in ["provisioningState", "flowLogs"] {
            props.remove(read_only);
        }
        stamp(&mut body, existing);
        body
    }

    /// The inline subnets become the network's subnet resources (those left out are deleted).
    fn on_provisioned(&self, _env: &Env<'_>, store: &mut Store, resource: &Resource) {
        let wanted = inline_subnets(&resource.body);
        let keep = |id: &str| wanted.iter().any(|s| s["id"].as_str().is_some_and(|w| w.eq_ignore_ascii_case(id)));
        let dropped: Vec<String> = store
            .resources()
            .filter(|r| r.kind == SUBNETS && parent_id(&r.id).eq_ignore_ascii_case(&resource.id) && !keep(&r.id))
            .map(|r| r.id.clone())
            .collect();
        for id in dropped {
            store.remove_tree(&id);
        }
        for subnet in wanted {
            let (Some(id), Some(name)) = (subnet["id"].as_str(), subnet["name"].as_str()) else { continue };
            let mut normalized = subnets::normalize(json!({ "properties": subnet["properties"].clone() }));
            set_provisioning_state(&mut normalized, "Succeeded");
            store.insert(Resource {
                kind: SUBNETS.into(),
                id: id.to_string(),
                body: subnet_body(id, name, normalized),
            });
        }
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
    fn inline_subnets_are_validated_with_their_path() {
        let mut body = json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.1.0/24"}}, {"name": "b", "properties": {}}]}});
        let e = VirtualNetworks.validate(&mut body).unwrap_err();
        assert_eq!(e, ArmError::MissingRequiredProperty("properties.subnets[1].properties.addressPrefix".into()));
        let mut nameless =
            json!({"location": "x", "properties": {"subnets": [{"properties": {"addressPrefix": "10.0.0.0/24"}}]}});
        assert_eq!(VirtualNetworks.validate(&mut nameless).unwrap_err().code(), "MissingRequiredProperty");
    }
}
