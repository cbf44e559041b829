//! Read-only references between network resources, derived from the state: who uses whom.
//!
//! [`sync`] rewrites them after every change of a network kind (its `on_provisioned` and `on_deleted`
//! hooks); the `*_users` functions answer the in-use checks of deletions.

use serde_json::{json, Value};

use super::{ids_at, NAT_GATEWAYS, PUBLIC_IPS, PUBLIC_IP_PREFIXES, SUBNETS, VIRTUAL_NETWORKS};
use crate::arm::path::parent_id;
use crate::state::Store;

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn ids_of_kind(store: &Store, kind: &str) -> Vec<String> {
    store.resources().filter(|r| r.kind == kind).map(|r| r.id.clone()).collect()
}

/// Sets `properties[key]` of resource `id` to `value` (removes it when `None`), only when it changes.
fn set_property(store: &mut Store, id: &str, key: &str, value: Option<Value>) {
    let current = store.get(id).and_then(|r| r.body["properties"].get(key).cloned());
    if current == value {
        return;
    }
    if let Some(resource) = store.get_mut(id) {
        let props = super::object(&mut resource.body, "properties");
        match value {
            Some(v) => props.insert(key.to_string(), v),
            None => props.remove(key),
        };
    }
}

/// The scale sets whose network profile names subnet `subnet_id`.
pub fn subnet_users(store: &Store, subnet_id: &str) -> Vec<String> {
    store
        .resources()
        .filter(|r| r.kind == crate::kinds::scale_sets::KIND)
        .filter(|r| crate::kinds::scale_sets::subnet_ids(&r.body).iter().any(|s| same(s, subnet_id)))
        .map(|r| r.id.clone())
        .collect()
}

/// The subnets that name NAT gateway `nat_id`.
pub fn nat_gateway_users(store: &Store, nat_id: &str) -> Vec<String> {
    store
        .resources()
        .filter(|r| r.kind == SUBNETS)
        .filter(|r| r.body["properties"]["natGateway"]["id"].as_str().is_some_and(|n| same(n, nat_id)))
        .map(|r| r.id.clone())
        .collect()
}

/// The NAT gateway (other than `except`) whose `properties[key]` (`publicIpAddresses` or
/// `publicIpPrefixes`) names `id`.
pub fn nat_gateway_using(store: &Store, key: &str, id: &str, except: Option<&str>) -> Option<String> {
    store
        .resources()
        .filter(|r| r.kind == NAT_GATEWAYS && !except.is_some_and(|e| same(e, &r.id)))
        .find(|r| ids_at(&r.body["properties"], key).iter().any(|i| same(i, id)))
        .map(|r| r.id.clone())
}

/// Rewrites every read-only reference from the state.
pub fn sync(store: &mut Store) {
    for vnet in ids_of_kind(store, VIRTUAL_NETWORKS) {
        let subnets: Vec<Value> = store
            .resources()
            .filter(|r| r.kind == SUBNETS && same(parent_id(&r.id), &vnet))
            .map(|r| r.body.clone())
            .collect();
        set_property(store, &vnet, "subnets", Some(Value::Array(subnets)));
    }
    for nat in ids_of_kind(store, NAT_GATEWAYS) {
        let users: Vec<Value> = nat_gateway_users(store, &nat).into_iter().map(|id| json!({ "id": id })).collect();
        set_property(store, &nat, "subnets", (!users.is_empty()).then_some(Value::Array(users)));
    }
    for (kind, key) in [(PUBLIC_IPS, "publicIpAddresses"), (PUBLIC_IP_PREFIXES, "publicIpPrefixes")] {
        for id in ids_of_kind(store, kind) {
            let nat = nat_gateway_using(store, key, &id, None).map(|n| json!({ "id": n }));
            set_property(store, &id, "natGateway", nat);
        }
    }
}
