//! The instances of a scale set, kept as the provider's private data of the scale set.
//!
//! Each instance records the model it was made from: the `imageReference` it got (with the exact version
//! of an image definition) and a fingerprint of the scale set's `virtualMachineProfile` at that moment.
//! `latestModelApplied` is computed at every read by comparing that fingerprint with the current profile,
//! so any change of the model (a PUT, a PATCH, an edit of the body by another emulated actor) makes the
//! existing instances outdated until they are upgraded (`manualupgrade`).
//!
//! Long actions mark instances first (`Deleting`, `Updating`) and [`complete`] finishes them when the
//! action's operation ends.
//!
//! Caveats: instances are `Succeeded` and `PowerState/running` as soon as they exist (no boot, no
//! overprovisioning, no failed instances); ids increase and are never reused; an instance keeps only the
//! image and the fingerprint of its model, so it shows the current model's other settings.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::image::{self, ResolvedImage};
use super::Instance;
use crate::arm::crud::timestamp;
use crate::arm::error::ArmError;
use crate::state::Store;

/// Registry name of the scale set kind.
pub const KIND: &str = "virtualMachineScaleSets";

/// What the emulator keeps about a scale set's instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instances {
    /// The next instance id to give.
    #[serde(default)]
    pub next_instance_id: u64,
    /// The instances, by increasing instance id.
    #[serde(default)]
    pub instances: Vec<Stored>,
}

/// One stored instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub instance_id: u64,
    /// The image as the instance's `storageProfile.imageReference` shows it.
    pub image_reference: Value,
    /// [`Instance::image_reference_id`].
    pub image_id: String,
    /// [`fingerprint`] of the profile the instance runs.
    pub model: String,
    pub power_state: String,
    pub provisioning_state: String,
    pub vm_id: String,
    pub time_created: String,
}

/// The scale set `id` when it exists (any case), else the ARM 404 of the scale set.
fn scale_set_body(store: &Store, id: &str) -> Result<Value, ArmError> {
    match store.get(id) {
        Some(r) if r.kind == KIND => Ok(r.body.clone()),
        _ => Err(not_found(id)),
    }
}

/// ARM's 404 for a missing scale set.
pub fn not_found(id: &str) -> ArmError {
    let (_, group) = crate::arm::kind::subscription_and_group(id);
    ArmError::ResourceNotFound {
        resource_type: "Microsoft.Compute/virtualMachineScaleSets".into(),
        name: id.rsplit('/').next().unwrap_or_default().to_string(),
        group: group.unwrap_or_default(),
    }
}

/// The stored instances of scale set `id` (empty when none).
pub fn load(store: &Store, id: &str) -> Instances {
    store.private(id).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

/// Stores the instances of scale set `id`.
pub fn save(store: &mut Store, id: &str, instances: &Instances) {
    store.set_private(id, serde_json::to_value(instances).ok());
}

/// A stable fingerprint of a JSON value: its canonical text (object keys sorted), hashed with FNV-1a.
pub fn fingerprint(value: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&json!(k).to_string());
                    out.push(':');
                    canonical(&map[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                items.iter().for_each(|i| {
                    canonical(i, out);
                    out.push(',');
                });
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(value, &mut text);
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// The fingerprint of the model of a scale set body.
pub fn model_of(body: &Value) -> String {
    fingerprint(&body["properties"]["virtualMachineProfile"])
}

/// The public view of the instances of scale set `id`.
pub fn list(store: &Store, id: &str) -> Vec<Instance> {
    let Ok(body) = scale_set_body(store, id) else { return Vec::new() };
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let model = model_of(&body);
    load(store, id)
        .instances
        .iter()
        .map(|i| Instance {
            instance_id: i.instance_id.to_string(),
            name: format!("{name}_{}", i.instance_id),
            image_reference_id: i.image_id.clone(),
            latest_model_applied: i.model == model,
            power_state: i.power_state.clone(),
            provisioning_state: i.provisioning_state.clone(),
        })
        .collect()
}

fn new_instance(instance_id: u64, image: &ResolvedImage, model: &str, now: OffsetDateTime) -> Stored {
    Stored {
        instance_id,
        image_reference: image.reference.clone(),
        image_id: image.id.clone(),
        model: model.to_string(),
        power_state: "PowerState/running".into(),
        provisioning_state: "Succeeded".into(),
        vm_id: uuid::Uuid::new_v4().to_string(),
        time_created: timestamp(now),
    }
}

/// Makes the instances of scale set `id` match its `sku.capacity`: new ones from the current model (the
/// latest version of an image definition at this moment), or the highest-numbered ones removed.
pub fn reconcile(store: &mut Store, id: &str, now: OffsetDateTime) -> Result<(), ArmError> {
    let body = scale_set_body(store, id)?;
    let capacity = body["sku"]["capacity"].as_u64().unwrap_or(0) as usize;
    let mut state = load(store, id);
    if state.instances.len() < capacity {
        let image = model_image(store, &body)?;
        let model = model_of(&body);
        while state.instances.len() < capacity {
            let instance = new_instance(state.next_instance_id, &image, &model, now);
            state.next_instance_id += 1;
            state.instances.push(instance);
        }
    }
    state.instances.sort_by_key(|i| i.instance_id);
    state.instances.truncate(capacity);
    save(store, id, &state);
    Ok(())
}

/// [`super::set_capacity`]: nothing changes when new instances cannot get the model's image.
pub fn set_capacity(store: &mut Store, id: &str, capacity: u64) -> Result<(), ArmError> {
    let body = scale_set_body(store, id)?;
    if capacity as usize > load(store, id).instances.len() {
        model_image(store, &body)?;
    }
    if let Some(resource) = store.get_mut(id) {
        resource.body["sku"]["capacity"] = json!(capacity);
    }
    reconcile(store, id, OffsetDateTime::now_utc())
}

/// 400 `InvalidParameter` unless every id names an instance of the set; the instance ids as numbers.
fn existing_ids(state: &Instances, instance_ids: &[String]) -> Result<Vec<u64>, ArmError> {
    instance_ids
        .iter()
        .map(|raw| {
            raw.parse::<u64>().ok().filter(|n| state.instances.iter().any(|i| i.instance_id == *n)).ok_or_else(|| {
                ArmError::bad_request(
                    "InvalidParameter",
                    format!("The provided instanceId {raw} is not an active Virtual Machine Scale Set VM instanceId."),
                )
            })
        })
        .collect()
}

/// [`super::delete_instances`].
pub fn delete(store: &mut Store, id: &str, instance_ids: &[String]) -> Result<(), ArmError> {
    scale_set_body(store, id)?;
    let mut state = load(store, id);
    let doomed = existing_ids(&state, instance_ids)?;
    state.instances.retain(|i| !doomed.contains(&i.instance_id));
    let capacity = state.instances.len();
    save(store, id, &state);
    if let Some(resource) = store.get_mut(id) {
        resource.body["sku"]["capacity"] = json!(capacity);
    }
    Ok(())
}

/// The instance ids an action names: all instances when `instance_ids` is `None`.
pub fn targets(store: &Store, id: &str, instance_ids: Option<&[String]>) -> Result<Vec<u64>, ArmError> {
    let state = load(store, id);
    match instance_ids {
        Some(ids) => existing_ids(&state, ids),
        None => Ok(state.instances.iter().map(|i| i.instance_id).collect()),
    }
}

/// Applies `change` to the instances `ids` of scale set `id`.
pub fn mark(store: &mut Store, id: &str, ids: &[u64], change: impl Fn(&mut Stored)) {
    let mut state = load(store, id);
    state.instances.iter_mut().filter(|i| ids.contains(&i.instance_id)).for_each(change);
    save(store, id, &state);
}

/// Ends the long actions on the instances of scale set `id`: `Deleting` instances go (the capacity drops
/// by their number), `Updating` ones become `Succeeded` — or, when the operation failed, both `Failed`.
pub fn complete(store: &mut Store, id: &str, succeeded: bool) {
    if store.get(id).is_none() {
        return;
    }
    let mut state = load(store, id);
    let before = state.instances.len();
    if succeeded {
        state.instances.retain(|i| i.provisioning_state != "Deleting");
    }
    let removed = (before - state.instances.len()) as u64;
    for instance in state.instances.iter_mut() {
        if matches!(instance.provisioning_state.as_str(), "Deleting" | "Updating") {
            instance.provisioning_state = if succeeded { "Succeeded" } else { "Failed" }.into();
        }
    }
    save(store, id, &state);
    if removed > 0 {
        if let Some(resource) = store.get_mut(id) {
            let capacity = resource.body["sku"]["capacity"].as_u64().unwrap_or(0);
            resource.body["sku"]["capacity"] = json!(capacity.saturating_sub(removed));
        }
    }
}

/// The image new or upgraded instances get from the scale set's current model.
pub fn model_image(store: &Store, body: &Value) -> Result<ResolvedImage, ArmError> {
    let reference = &body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"];
    image::resolve(store, reference, body["location"].as_str().unwrap_or_default())
}

/// Upgrades instances to the scale set's current model (`manualupgrade`).
pub fn upgrade(store: &mut Store, id: &str, ids: &[u64]) -> Result<(), ArmError> {
    let body = scale_set_body(store, id)?;
    let image = model_image(store, &body)?;
    let model = model_of(&body);
    mark(store, id, ids, |instance| {
        instance.image_reference = image.reference.clone();
        instance.image_id = image.id.clone();
        instance.model = model.clone();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Resource;

    const SET: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/pool";

    fn store_with_set(image: &str) -> Store {
        let mut store = Store::default();
        let body = json!({"name": "pool", "location": "westeurope", "sku": {"capacity": 0},
            "properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"id": image}}}}});
        store.insert(Resource { kind: KIND.into(), id: SET.into(), body });
        store
    }

    #[test]
    fn capacity_is_kept_when_the_image_is_gone() {
        let mut store =
            store_with_set("/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/x/images/y");
        assert_eq!(set_capacity(&mut store, SET, 2).unwrap_err().code(), "GalleryImageNotFound");
        assert_eq!(store.get(SET).unwrap().body["sku"]["capacity"], 0);
        assert!(list(&store, SET).is_empty());
        set_capacity(&mut store, SET, 0).unwrap();
        assert_eq!(set_capacity(&mut store, &format!("{SET}2"), 1).unwrap_err().code(), "ResourceNotFound");
    }

    #[test]
    fn platform_images_need_no_gallery_and_fingerprints_ignore_key_order() {
        let mut store = Store::default();
        let body = json!({"name": "pool", "location": "westeurope", "sku": {"capacity": 0},
            "properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"publisher": "p", "offer": "o", "sku": "s", "version": "1"}}}}});
        store.insert(Resource { kind: KIND.into(), id: SET.into(), body });
        set_capacity(&mut store, SET, 2).unwrap();
        let instances = list(&store, SET);
        assert_eq!(instances.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["pool_0", "pool_1"]);
        assert_eq!(instances[0].image_reference_id, "p:o:s:1");
        delete(&mut store, SET, &["0".into()]).unwrap();
        assert_eq!(list(&store, SET).len(), 1);
        assert_eq!(store.get(SET).unwrap().body["sku"]["capacity"], 1);
        assert_eq!(
            fingerprint(&json!({"a": 1, "b": [1, {"c": 2, "d": 3}]})),
            fingerprint(&json!({"b": [1, {"d": 3, "c": 2}], "a": 1}))
        );
        assert_ne!(fingerprint(&json!({"a": 1})), fingerprint(&json!({"a": 2})));
    }
}
