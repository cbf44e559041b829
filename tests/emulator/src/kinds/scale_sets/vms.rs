//! The instances of a scale set over ARM, `VirtualMachineScaleSetVMs_*` of `virtualMachineScaleSet.json`
//! (api-version 2024-07-01): an [`Endpoint`], since instances are the scale set's private data, not stored
//! resources.
//!
//! | route | answers |
//! |---|---|
//! | GET `…/virtualMachineScaleSets/{name}/virtualMachines` (List) | 200 `{"value"}` by instance id, paged; `$expand=instanceView` adds `properties.instanceView` |
//! | GET `…/virtualMachines/{instanceId}` (Get) | 200 / 404 `ResourceNotFound`; `$expand=instanceView` as above |
//! | GET `…/virtualMachines/{instanceId}/instanceView` (GetInstanceView) | 200 the instance view |
//! | DELETE `…/virtualMachines/{instanceId}` (Delete, LRO) | 202 + `Azure-AsyncOperation` + `Location` (the capacity drops by one when it ends); 204 when missing |
//!
//! An instance shows `instanceId`, `name` `{scale set}_{instanceId}`, the scale set's `sku` (without
//! `capacity`) and location, `properties.latestModelApplied`, `vmId`, `provisioningState`, `timeCreated`,
//! `storageProfile.imageReference` (its own image: `exactVersion` for an image definition), the current
//! model's OS disk and `osProfile` (computer name: the prefix and the instance id in base 36 on 6 digits, as
//! Uniform sets name them), a NIC reference; the instance view has `statuses` `ProvisioningState/…` and
//! `PowerState/…`. A missing scale set is its 404 (`ResourceNotFound`), a missing group
//! `ResourceGroupNotFound`. The caller needs `Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read`
//! (`/delete`) on the instance (a list: on the scale set). `$filter` and `$select` are ignored.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::instances::{self, Stored, KIND};
use crate::arm::crud::{check_parents, page};
use crate::arm::endpoint::{Endpoint, Request};
use crate::arm::error::{json_response, ArmError};
use crate::arm::lro::{self, Start};
use crate::arm::path::segments;
use crate::authz::request::require;
use crate::provider_reads::providers::require_registered;
use crate::state::{OpAction, Store};

/// The api-versions of scale sets and their instances.
pub const API_VERSIONS: &[&str] = &["2024-07-01"];

const SET: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}";
const RESOURCE_TYPE: &str = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines";

/// The instance routes.
pub static ENDPOINT: Endpoint = Endpoint {
    name: "virtualMachineScaleSetVMs",
    patterns: &[
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}/virtualMachines",
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}/virtualMachines/{instanceId}",
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}/virtualMachines/{instanceId}/instanceView",
    ],
    resource_type: RESOURCE_TYPE,
    api_versions: API_VERSIONS,
    handle,
};

/// Uniform computer names: the prefix and the instance id in base 36 on 6 digits.
fn computer_name(prefix: &str, instance_id: u64) -> String {
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = instance_id;
    let mut out = Vec::new();
    while out.len() < 6 || n > 0 {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    format!("{prefix}{}", String::from_utf8_lossy(&out))
}

/// The instance view of an instance.
fn instance_view(set: &Value, instance: &Stored) -> Value {
    let prefix =
        set["properties"]["virtualMachineProfile"]["osProfile"]["computerNamePrefix"].as_str().unwrap_or_default();
    let provisioning = instance.provisioning_state.to_lowercase();
    let power = instance.power_state.trim_start_matches("PowerState/");
    json!({
        "platformUpdateDomain": 0,
        "platformFaultDomain": 0,
        "computerName": computer_name(prefix, instance.instance_id),
        "statuses": [
            {"code": format!("ProvisioningState/{provisioning}"), "level": "Info",
             "displayStatus": format!("Provisioning {provisioning}"), "time": instance.time_created},
            {"code": instance.power_state, "level": "Info", "displayStatus": format!("VM {power}")}
        ]
    })
}

/// An instance as ARM shows it.
pub fn render(set: &Value, instance: &Stored, expand: bool) -> Value {
    let set_id = set["id"].as_str().unwrap_or_default();
    let set_name = set["name"].as_str().unwrap_or_default();
    let name = format!("{set_name}_{}", instance.instance_id);
    let profile = &set["properties"]["virtualMachineProfile"];
    let mut sku = set["sku"].clone();
    if let Some(map) = sku.as_object_mut() {
        map.remove("capacity");
    }
    let mut os_disk = profile["storageProfile"]["osDisk"].clone();
    os_disk["name"] = json!(format!("{name}_OsDisk_1_{}", instance.vm_id.replace('-', "")));
    let mut os_profile = profile["osProfile"].clone();
    if let Some(map) = os_profile.as_object_mut() {
        let prefix = map.remove("computerNamePrefix").and_then(|p| p.as_str().map(str::to_string)).unwrap_or_default();
        map.insert("computerName".into(), json!(computer_name(&prefix, instance.instance_id)));
    }
    let nics: Vec<Value> = profile["networkProfile"]["networkInterfaceConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|nic| json!({ "id": format!("{set_id}/virtualMachines/{}/networkInterfaces/{}", instance.instance_id, nic["name"].as_str().unwrap_or_default()) }))
        .collect();
    let mut properties = json!({
        "latestModelApplied": instance.model == instances::model_of(set),
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "vmId": instance.vm_id,
        "hardwareProfile": { "vmSize": set["sku"]["name"] },
        "storageProfile": { "imageReference": instance.image_reference, "osDisk": os_disk, "dataDisks": [] },
        "osProfile": os_profile,
        "networkProfile": { "networkInterfaces": nics },
        "provisioningState": instance.provisioning_state,
        "timeCreated": instance.time_created,
    });
    if expand {
        properties["instanceView"] = instance_view(set, instance);
    }
    let mut out = json!({
        "id": format!("{set_id}/virtualMachines/{}", instance.instance_id),
        "name": name,
        "type": RESOURCE_TYPE,
        "location": set["location"],
        "instanceId": instance.instance_id.to_string(),
        "sku": sku,
        "properties": properties,
    });
    if let Some(tags) = set.get("tags") {
        out["tags"] = tags.clone();
    }
    out
}

/// The scale set's id, stored body and instances, or the 404s.
fn scale_set(
    store: &Store,
    request: &Request<'_>,
    set_id: &str,
) -> Result<(String, Value, instances::Instances), ArmError> {
    check_parents(store, &request.call.app.registry, set_id)?;
    let set = store.get(set_id).filter(|r| r.kind == KIND).ok_or_else(|| instances::not_found(set_id))?;
    Ok((set.id.clone(), set.body.clone(), instances::load(store, &set.id)))
}

fn instance_not_found(set_id: &str, instance_id: &str) -> ArmError {
    let set_name = set_id.rsplit('/').next().unwrap_or_default();
    let (_, group) = crate::arm::kind::subscription_and_group(set_id);
    ArmError::ResourceNotFound {
        resource_type: format!("Microsoft.Compute/virtualMachineScaleSets/{set_name}/virtualMachines"),
        name: instance_id.to_string(),
        group: group.unwrap_or_default(),
    }
}

fn handle(request: &Request<'_>) -> Result<Response, ArmError> {
    let set_id = crate::arm::path::Pattern::new(SET).render(&request.captures);
    let instance_id = request.captures.get("instanceId").to_string();
    let expand = request.query.get("$expand").is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
    let view_only = request.pattern.ends_with("/instanceView");
    let scope = if instance_id.is_empty() { set_id.clone() } else { format!("{set_id}/virtualMachines/{instance_id}") };
    match (request.method, instance_id.is_empty()) {
        (&Method::GET, _) => require(request.call, &format!("{RESOURCE_TYPE}/read"), &scope)?,
        (&Method::DELETE, false) if !view_only => return delete(request, &set_id, &instance_id, &scope),
        _ => return Err(request.method_not_allowed()),
    }
    let call = request.call;
    let (_, set, state) = call.app.state.read(|store| scale_set(store, request, &set_id))?;
    if instance_id.is_empty() {
        let items = state.instances.iter().map(|i| render(&set, i, expand)).collect();
        return Ok(page(call, items, request.query, request.raw_path, request.raw_query));
    }
    let instance = state
        .instances
        .iter()
        .find(|i| i.instance_id.to_string() == instance_id)
        .ok_or_else(|| instance_not_found(&set_id, &instance_id))?;
    let body = if view_only { instance_view(&set, instance) } else { render(&set, instance, expand) };
    Ok(json_response(StatusCode::OK, &body))
}

/// `VirtualMachineScaleSetVMs_Delete`: the instance is `Deleting` until the operation ends.
fn delete(request: &Request<'_>, set_id: &str, instance_id: &str, scope: &str) -> Result<Response, ArmError> {
    let call = request.call;
    require(call, &format!("{RESOURCE_TYPE}/delete"), scope)?;
    require_registered(call, RESOURCE_TYPE)?;
    let target = call.app.registry.item(&segments(set_id)).ok_or_else(|| instances::not_found(set_id))?;
    call.app.state.write(|store| {
        let (id, set, state) = scale_set(store, request, set_id)?;
        let Some(number) = state.instances.iter().map(|i| i.instance_id).find(|n| n.to_string() == instance_id) else {
            return Ok(StatusCode::NO_CONTENT.into_response());
        };
        instances::mark(store, &id, &[number], |i| i.provisioning_state = "Deleting".into());
        let location = crate::arm::crud::normalize_location(set["location"].as_str().unwrap_or_default());
        let op = lro::start(
            store,
            Start {
                target: &target,
                action: OpAction::Action("delete".into()),
                fail: call.fail_lro,
                pending: None,
                location: &location,
                now_ms: lro::now_ms(call.now),
                delay_ms: call.app.config.lro_delay_for(target.kind.info()),
            },
        );
        let mut response = StatusCode::ACCEPTED.into_response();
        let headers = response.headers_mut();
        for (name, url) in [
            ("azure-asyncoperation", lro::status_url(&call.base, &op, &call.api_version)),
            ("location", lro::result_url(&call.base, &op, &call.api_version)),
        ] {
            if let Ok(v) = HeaderValue::from_str(&url) {
                headers.insert(name, v);
            }
        }
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(lro::RETRY_AFTER));
        Ok(response)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computer_names_are_base_36() {
        assert_eq!(computer_name("agent", 0), "agent000000");
        assert_eq!(computer_name("agent", 35), "agent00000Z");
        assert_eq!(computer_name("agent", 36), "agent000010");
    }
}
