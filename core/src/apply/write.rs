//! The request that brings one resource to its desired state, chosen by its kind
//! ([`Kind::update`]) from the plan's action, the desired body and the live resource.
//!
//! - A resource to create gets the whole desired body, with the secrets its kind generates
//!   filled in ([`Kind::on_create`]).
//! - An update sends no more than agentpool owns: the whole desired body for kinds only
//!   agentpool writes ([`Update::Put`]); just the changed fields for kinds others write too
//!   ([`Update::Patch`]); the live resource with the changed fields set for kinds whose PUT
//!   replaces everything and that have no PATCH ([`Update::GetModifyPut`]).
//! - Tags are merged, never replaced: a tag another writer set (Azure DevOps on a scale set, a
//!   policy on a resource group) is sent back as it is.
//!
//! Caveats: a changed element of an array sends the whole array (ARM replaces arrays); a tag
//! agentpool set once and the parameters no longer name is kept, since nothing tells it from
//! another writer's; field paths are split at dots, so a changed field whose own name contains a
//! dot (other than a tag) cannot be sent alone and fails clearly.

use serde_json::{Map, Value};

use crate::events::Action;
use crate::plan::diff::FieldChange;
use crate::resources::kind::{Kind, Update};

/// One request to the resource's service.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Create, or replace with this body (ARM PUT; Azure DevOps: create).
    Put(Value),
    /// Change just these fields.
    Patch(Value),
    /// Delete, then create with this body.
    Recreate(Value),
}

/// Why no request could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Generate(String),
    #[error("the changed field {0} cannot be sent on its own: its name contains a dot")]
    Unaddressable(String),
    #[error("there is no live resource to update")]
    NoLive,
}

/// The request for `action` on a resource of `kind` whose desired body (bindings filled) is
/// `desired`, whose live state is `live` and whose changed fields are `changes`.
pub fn request(
    kind: &Kind,
    action: Action,
    mut desired: Value,
    live: Option<&Value>,
    changes: &[FieldChange],
) -> Result<Request, WriteError> {
    match (action, kind.update) {
        (Action::Create, _) => {
            if let Some(generate) = kind.on_create {
                generate(&mut desired).map_err(WriteError::Generate)?;
            }
            Ok(Request::Put(desired))
        }
        (Action::Replace, _) | (_, Update::Replace) => Ok(Request::Recreate(desired)),
        (_, Update::Put) => {
            merge_tags(&mut desired, live);
            Ok(Request::Put(desired))
        }
        (_, Update::Patch) => Ok(Request::Patch(changed_fields(&desired, live, changes)?)),
        (_, Update::GetModifyPut) => {
            let mut body = live.ok_or(WriteError::NoLive)?.clone();
            for path in kind.read_only {
                remove(&mut body, path);
            }
            for (path, value) in changed_values(&desired, changes)? {
                set(&mut body, &path, value);
            }
            merge_tags(&mut body, live);
            Ok(Request::Put(body))
        }
    }
}

/// A body with just the changed fields of `desired`; tags, when one changed, merged with `live`'s.
fn changed_fields(desired: &Value, live: Option<&Value>, changes: &[FieldChange]) -> Result<Value, WriteError> {
    let mut body = Value::Object(Map::new());
    for (path, value) in changed_values(desired, changes)? {
        set(&mut body, &path, value);
    }
    if body.get("tags").is_some() {
        body["tags"] = desired["tags"].clone();
        merge_tags(&mut body, live);
    }
    Ok(body)
}

/// The desired value of each changed field: at the field's path, cut at its first array (whole
/// arrays are sent) and at `tags` (the whole tag set is sent).
fn changed_values(desired: &Value, changes: &[FieldChange]) -> Result<Vec<(Vec<String>, Value)>, WriteError> {
    let mut out: Vec<(Vec<String>, Value)> = Vec::new();
    for change in changes {
        let path = addressable(&change.path);
        let Some(value) = at(desired, &path) else {
            return Err(WriteError::Unaddressable(change.path.clone()));
        };
        if !out.iter().any(|(known, _)| path.starts_with(known)) {
            out.retain(|(known, _)| !known.starts_with(&path));
            out.push((path, value.clone()));
        }
    }
    Ok(out)
}

/// `properties.a[2].b` → `["properties", "a"]`; `tags.env` → `["tags"]`.
fn addressable(path: &str) -> Vec<String> {
    let before_array = path.split('[').next().unwrap_or(path);
    let segments: Vec<String> = before_array.split('.').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    match segments.first().map(String::as_str) {
        Some("tags") => vec!["tags".to_owned()],
        _ => segments,
    }
}

fn at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// Sets `path` of `body` to `value`, making the objects on the way.
fn set(body: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *body = value;
        return;
    };
    if !body.is_object() {
        *body = Value::Object(Map::new());
    }
    if let Value::Object(map) = body {
        set(map.entry(first.clone()).or_insert(Value::Null), rest, value);
    }
}

/// Removes the field at a dotted `path`, if there.
fn remove(body: &mut Value, path: &str) {
    let (parents, last) = path.rsplit_once('.').map_or(("", path), |(p, l)| (p, l));
    let parent = parents.split('.').filter(|s| !s.is_empty()).try_fold(body, |v, key| v.get_mut(key));
    if let Some(Value::Object(fields)) = parent {
        fields.remove(last);
    }
}

/// `body.tags` as the live tags with the body's own set over them (no-op without live tags).
fn merge_tags(body: &mut Value, live: Option<&Value>) {
    let Some(Value::Object(live_tags)) = live.and_then(|l| l.get("tags")) else { return };
    let Value::Object(fields) = body else { return };
    let mut merged = live_tags.clone();
    if let Some(Value::Object(ours)) = fields.get("tags") {
        merged.extend(ours.clone());
    }
    fields.insert("tags".to_owned(), Value::Object(merged));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::diff;
    use crate::resources::{resource_group, role_assignment, scale_set, subnet};

    /// A scale set as Azure returns it once Azure DevOps manages it: its tags, its agent
    /// extension, its capacity.
    fn managed_scale_set() -> Value {
        json!({
            "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx-pool/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-agents-sbx-linux",
            "location": "westeurope",
            "tags": {"environment": "sbx", "__AzureDevOpsElasticPool": "agents-sbx-linux", "__AzureDevOpsElasticPoolTimeStamp": "12/6/2026 3:21:07 AM"},
            "sku": {"name": "Standard_D4s_v5", "tier": "Standard", "capacity": 3},
            "properties": {
                "orchestrationMode": "Uniform", "overprovision": false, "upgradePolicy": {"mode": "Manual"},
                "virtualMachineProfile": {
                    "storageProfile": {"imageReference": {"id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx/providers/Microsoft.Compute/galleries/gal_agents_sbx/images/ubuntu-2204-agent/versions/0.26339.11000"}},
                    "extensionProfile": {"extensions": [{"name": "Microsoft.Azure.DevOps.Pipelines.Agent", "properties": {"publisher": "Microsoft.VisualStudio.Services", "type": "TeamServicesAgentLinux"}}]}
                },
                "provisioningState": "Succeeded"
            }
        })
    }

    fn desired_scale_set(version: &str) -> Value {
        json!({
            "location": "westeurope",
            "tags": {"environment": "sbx"},
            "sku": {"name": "Standard_D4s_v5", "tier": "Standard", "capacity": 0},
            "properties": {
                "orchestrationMode": "Uniform", "overprovision": false, "upgradePolicy": {"mode": "Manual"},
                "virtualMachineProfile": {"storageProfile": {"imageReference": {"id": format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx/providers/Microsoft.Compute/galleries/gal_agents_sbx/images/ubuntu-2204-agent/versions/{version}")}}}
            }
        })
    }

    fn changes_of(kind: &Kind, desired: &Value, live: &Value) -> Vec<FieldChange> {
        diff::changes(desired, live, &kind.unowned())
    }

    #[test]
    fn a_new_image_on_a_managed_scale_set_is_one_patch_of_the_image_reference_alone() {
        let live = managed_scale_set();
        let desired = desired_scale_set("0.26340.3600");
        let changes = changes_of(&scale_set::KIND, &desired, &live);
        assert_eq!(changes.len(), 1, "capacity and Azure DevOps' tags are not agentpool's: {changes:?}");
        let request = request(&scale_set::KIND, Action::Update, desired.clone(), Some(&live), &changes).unwrap();
        assert_eq!(
            request,
            Request::Patch(json!({"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {
                "id": desired.pointer("/properties/virtualMachineProfile/storageProfile/imageReference/id").unwrap()
            }}}}}))
        );
        // The same image again: nothing to send.
        assert!(changes_of(&scale_set::KIND, &desired_scale_set("0.26339.11000"), &live).is_empty());
    }

    #[test]
    fn a_changed_tag_sends_every_tag_and_keeps_azure_devops_ones() {
        let live = managed_scale_set();
        let mut desired = desired_scale_set("0.26339.11000");
        desired["tags"]["costCenter"] = json!("4711");
        let changes = changes_of(&scale_set::KIND, &desired, &live);
        let Request::Patch(body) = request(&scale_set::KIND, Action::Update, desired, Some(&live), &changes).unwrap()
        else {
            panic!("a patch")
        };
        assert_eq!(
            body,
            json!({"tags": {"environment": "sbx", "__AzureDevOpsElasticPool": "agents-sbx-linux",
                "__AzureDevOpsElasticPoolTimeStamp": "12/6/2026 3:21:07 AM", "costCenter": "4711"}})
        );
    }

    #[test]
    fn a_subnet_is_put_back_whole_with_the_nat_gateway_set() {
        let live = json!({
            "id": "/subscriptions/s/resourceGroups/rg-network-sbx/providers/Microsoft.Network/virtualNetworks/vnet-sbx/subnets/snet-agents",
            "name": "snet-agents", "etag": "W/\"1\"",
            "properties": {
                "addressPrefix": "10.20.1.0/24",
                "networkSecurityGroup": {"id": "/subscriptions/s/resourceGroups/rg-network-sbx/providers/Microsoft.Network/networkSecurityGroups/nsg-agents"},
                "serviceEndpoints": [{"service": "Microsoft.Storage", "locations": ["westeurope"]}],
                "defaultOutboundAccess": false,
                "provisioningState": "Succeeded"
            }
        });
        let nat =
            "/subscriptions/s/resourceGroups/rg-agents-sbx-pool/providers/Microsoft.Network/natGateways/ng-agents-sbx";
        let desired = serde_json::to_value(subnet::desired(nat)).unwrap();
        let changes = changes_of(&subnet::KIND, &desired, &live);
        let Request::Put(body) = request(&subnet::KIND, Action::Update, desired, Some(&live), &changes).unwrap() else {
            panic!("a put")
        };
        assert_eq!(body["properties"]["natGateway"]["id"], nat);
        assert!(
            body.get("etag").is_none() && body["properties"].get("provisioningState").is_none(),
            "read-only fields left out"
        );
        for kept in ["addressPrefix", "networkSecurityGroup", "serviceEndpoints", "defaultOutboundAccess"] {
            assert_eq!(body["properties"][kept], live["properties"][kept], "{kept} is kept");
        }
        assert!(matches!(request(&subnet::KIND, Action::Update, json!({}), None, &[]), Err(WriteError::NoLive)));
    }

    #[test]
    fn kinds_only_agentpool_writes_are_put_whole_with_others_tags_kept() {
        let live = json!({"location": "westeurope", "tags": {"environment": "dev", "owner": "policy"}});
        let desired = json!({"location": "westeurope", "tags": {"environment": "sbx"}});
        let changes = changes_of(&resource_group::KIND, &desired, &live);
        assert_eq!(
            request(&resource_group::KIND, Action::Update, desired, Some(&live), &changes).unwrap(),
            Request::Put(json!({"location": "westeurope", "tags": {"environment": "sbx", "owner": "policy"}}))
        );
    }

    #[test]
    fn a_changed_array_element_sends_the_whole_array_and_replaced_kinds_are_recreated() {
        let desired = json!({"properties": {"list": [{"a": 1}, {"a": 3}], "other": true}});
        let live = json!({"properties": {"list": [{"a": 1}, {"a": 2}], "other": true}});
        let changes = diff::changes(&desired, &live, &[]);
        assert_eq!(
            request(&scale_set::KIND, Action::Update, desired.clone(), Some(&live), &changes).unwrap(),
            Request::Patch(json!({"properties": {"list": [{"a": 1}, {"a": 3}]}}))
        );
        assert_eq!(
            request(&role_assignment::KIND, Action::Replace, desired.clone(), Some(&live), &changes).unwrap(),
            Request::Recreate(desired)
        );
    }
}
