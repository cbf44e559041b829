//! The scale set [`ResourceKind`]: routes, answers and POST actions of `virtualMachineScaleSet.json`.
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate, LRO) | 201 `Creating` / 200 `Updating` + `Azure-AsyncOperation`; the refusals of [`super::body`]; 403 `LinkedAuthorizationFailed` without `Microsoft.Network/virtualNetworks/subnets/join/action` on a NIC subnet |
//! | PATCH (Update, LRO) | 200 `Updating` + `Azure-AsyncOperation` (the swagger lists 200 only); `orchestrationMode` is not part of `VirtualMachineScaleSetUpdate` and is ignored |
//! | GET | 200 / 404 |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location` (the instances go with it); 204 when missing |
//! | LIST by group, by subscription | 200 `{"value"}` |
//! | POST `delete` (DeleteInstances), `manualupgrade` (UpdateInstances) | body `{"instanceIds"}` required; 202 + `Azure-AsyncOperation` + `Location` |
//! | POST `reimage`, `reimageall`, `start`, `restart`, `poweroff`, `deallocate` | `instanceIds` optional (all instances when absent or empty); 202 + `Azure-AsyncOperation` + `Location` |
//!
//! When a PUT or PATCH ends, the instances follow `sku.capacity` (new ones from the current model, or the
//! highest-numbered removed) and, with `upgradePolicy.mode` `Automatic` or `Rolling`, all take the current
//! model; with `Manual` (the default) they keep theirs until `manualupgrade`. `delete` marks the instances
//! `Deleting` and removes them when its operation ends (capacity drops by their number); `reimage` keeps
//! each instance's image; `manualupgrade` gives the current model at once (`latestModelApplied` true). An
//! unknown instance id is 400 `InvalidParameter` (wording the emulator's). Caveats: a rolling upgrade
//! happens at once; Flexible sets keep instances the same way (Azure lists their VMs as
//! `Microsoft.Compute/virtualMachines`); `forceDeletion` and reimage options are ignored.

use serde_json::Value;

use super::instances::{self, KIND};
use super::{body, vms};
use crate::arm::error::ArmError;
use crate::arm::kind::{
    ActionCall, ActionReply, DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind,
    Target,
};
use crate::authz::linked::Link;
use crate::state::{Operation, Resource, Store};

/// The scale set kind.
pub struct ScaleSets;

static INFO: KindInfo = KindInfo {
    name: KIND,
    resource_type: "Microsoft.Compute/virtualMachineScaleSets",
    api_versions: vms::API_VERSIONS,
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets",
            filter: ListFilter::Children,
        },
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/virtualMachineScaleSets",
            filter: ListFilter::Subscription,
        },
    ],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::AsyncOperation,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &["delete", "manualupgrade", "reimage", "reimageall", "start", "restart", "poweroff", "deallocate"],
};

/// The `instanceIds` of an action body: `None` when absent or empty (all instances).
fn instance_ids(body: &Value) -> Result<Option<Vec<String>>, ArmError> {
    match body.get("instanceIds") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let ids: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(str::to_string)).collect();
            let ids = ids.ok_or_else(|| ArmError::InvalidRequestContent {
                message: "'instanceIds' must be an array of strings.".into(),
                target: Some("instanceIds".into()),
            })?;
            Ok((!ids.is_empty()).then_some(ids))
        }
        Some(_) => Err(ArmError::InvalidRequestContent {
            message: "'instanceIds' must be an array of strings.".into(),
            target: Some("instanceIds".into()),
        }),
    }
}

fn power(state: &'static str) -> impl Fn(&mut instances::Stored) {
    move |i| i.power_state = state.to_string()
}

impl ResourceKind for ScaleSets {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        crate::kinds::galleries::check_compute_name(name, &['.', '_', '-'], "virtual machine scale set")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        body::validate(body)
    }

    fn linked_access(&self, body: &Value) -> Vec<Link> {
        body::links(body)
    }

    fn check(
        &self,
        target: &Target,
        body: &Value,
        _existing: Option<&Resource>,
        store: &Store,
    ) -> Result<(), ArmError> {
        body::check_state(&target.id, body, store)
    }

    fn check_put(&self, _target: &Target, body: &Value, existing: &Resource, _store: &Store) -> Result<(), ArmError> {
        body::check_put(body, existing)
    }

    fn build(&self, _target: &Target, env: &Env<'_>, body: Value, existing: Option<&Resource>) -> Value {
        body::build(body, existing, env.now)
    }

    /// Instances follow the capacity; automatic and rolling upgrade policies apply the model to all.
    fn on_provisioned(&self, env: &Env<'_>, store: &mut Store, resource: &Resource) {
        if let Err(e) = instances::reconcile(store, &resource.id, env.now) {
            tracing::warn!("scale set {}: instances not created: {e}", resource.id);
        }
        let mode = resource.body["properties"]["upgradePolicy"]["mode"].as_str().unwrap_or("Manual");
        if matches!(mode, "Automatic" | "Rolling") {
            let all = instances::targets(store, &resource.id, None).unwrap_or_default();
            if let Err(e) = instances::upgrade(store, &resource.id, &all) {
                tracing::warn!("scale set {}: instances not upgraded: {e}", resource.id);
            }
        }
    }

    fn action(&self, call: &ActionCall<'_>, resource: &Resource, store: &mut Store) -> Result<ActionReply, ArmError> {
        let id = &resource.id;
        let requested = instance_ids(call.body)?;
        if matches!(call.name, "delete" | "manualupgrade") && requested.is_none() {
            return Err(ArmError::MissingRequiredProperty("instanceIds".into()));
        }
        let ids = instances::targets(store, id, requested.as_deref())?;
        match call.name {
            "delete" => instances::mark(store, id, &ids, |i| i.provisioning_state = "Deleting".into()),
            "manualupgrade" => {
                instances::upgrade(store, id, &ids)?;
                instances::mark(store, id, &ids, |i| i.provisioning_state = "Updating".into());
            }
            "reimage" | "reimageall" => instances::mark(store, id, &ids, |i| i.provisioning_state = "Updating".into()),
            "start" | "restart" => instances::mark(store, id, &ids, power("PowerState/running")),
            "poweroff" => instances::mark(store, id, &ids, power("PowerState/stopped")),
            "deallocate" => instances::mark(store, id, &ids, power("PowerState/deallocated")),
            other => return Err(ArmError::MethodNotAllowed(format!("POST {other}"))),
        }
        Ok(ActionReply::Accepted { async_operation: true, delay_ms: None })
    }

    fn complete_action(
        &self,
        _env: &Env<'_>,
        store: &mut Store,
        operation: &Operation,
        succeeded: bool,
    ) -> Option<Value> {
        instances::complete(store, &operation.resource_id, succeeded);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instance_ids_of_action_bodies() {
        assert_eq!(instance_ids(&json!({})).unwrap(), None);
        assert_eq!(instance_ids(&json!({"instanceIds": []})).unwrap(), None);
        assert_eq!(instance_ids(&json!({"instanceIds": ["1", "3"]})).unwrap(), Some(vec!["1".into(), "3".into()]));
        assert_eq!(instance_ids(&json!({"instanceIds": [1]})).unwrap_err().code(), "InvalidRequestContent");
    }
}
