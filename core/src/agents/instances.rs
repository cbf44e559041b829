//! A Uniform scale set's instances (`virtualMachineScaleSets/{name}/virtualMachines`), as far as
//! agents are concerned: which image each runs and whether it has the scale set's latest model.

use serde_json::Value;

use crate::arm::{ArmClient, ArmError};
use crate::image::versions;
use crate::resources::scale_set;

/// One machine of the scale set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub instance_id: String,
    pub name: String,
    /// The image reference it was created (or last upgraded) from.
    pub image: String,
    /// False once the scale set's model changed after the instance was made.
    pub latest_model_applied: bool,
    /// `running`, `stopped`, `deallocated`… from the instance view, when Azure gave one.
    pub power_state: Option<String>,
}

impl Instance {
    /// From an item of the instances list.
    pub fn of(item: &Value) -> Option<Self> {
        let text = |pointer: &str| item.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
        let power_state = item
            .pointer("/properties/instanceView/statuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("code").and_then(Value::as_str))
            .find_map(|code| code.strip_prefix("PowerState/").map(str::to_owned));
        Some(Self {
            instance_id: text("/instanceId")?,
            name: text("/name").unwrap_or_default(),
            image: image_of(item),
            latest_model_applied: item
                .pointer("/properties/latestModelApplied")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            power_state,
        })
    }

    /// The gallery image version it runs (`0.26340.3600`), or its image reference when that names
    /// no version.
    pub fn version(&self) -> &str {
        versions::number_of(&self.image).unwrap_or(&self.image)
    }
}

/// The image an instance runs: its image reference, made exact with `exactVersion` when the
/// reference names an image definition (Azure resolved the definition's latest then).
fn image_of(item: &Value) -> String {
    let reference = item.pointer("/properties/storageProfile/imageReference");
    let id = reference.and_then(|r| r.get("id")).and_then(Value::as_str).unwrap_or_default();
    let exact = reference.and_then(|r| r.get("exactVersion")).and_then(Value::as_str);
    match exact {
        Some(version) if versions::number_of(id).is_none() && !id.is_empty() => format!("{id}/versions/{version}"),
        _ => id.to_owned(),
    }
}

/// The instances of scale set `scale_set_id`, with their power state.
pub async fn list(client: &ArmClient, scale_set_id: &str) -> Result<Vec<Instance>, ArmError> {
    let path = format!("{scale_set_id}/virtualMachines?$expand=instanceView");
    Ok(client.list(&path, scale_set::KIND.api_version).await?.iter().filter_map(Instance::of).collect())
}

/// The image the scale set's model boots (`virtualMachineProfile.storageProfile.imageReference.id`).
pub fn model_image(scale_set: &Value) -> Option<&str> {
    scale_set.pointer("/properties/virtualMachineProfile/storageProfile/imageReference/id").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_instance_shows_its_image_model_and_power_state() {
        // As VirtualMachineScaleSetVMs_List answers with $expand=instanceView (trimmed).
        let item = json!({
            "name": "vmss-agents-sbx-linux_3",
            "instanceId": "3",
            "properties": {
                "latestModelApplied": false,
                "storageProfile": {"imageReference": {"id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx/providers/Microsoft.Compute/galleries/gal_agents_sbx/images/ubuntu-2204-agent/versions/0.26339.11000"}},
                "instanceView": {"statuses": [
                    {"code": "ProvisioningState/succeeded", "level": "Info"},
                    {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}
                ]},
                "provisioningState": "Succeeded"
            }
        });
        let instance = Instance::of(&item).unwrap();
        assert_eq!(instance.instance_id, "3");
        assert_eq!(instance.version(), "0.26339.11000");
        assert!(!instance.latest_model_applied);
        assert_eq!(instance.power_state.as_deref(), Some("running"));
        assert_eq!(Instance::of(&json!({"name": "x"})), None, "no instance id: not an instance");
        // Booted from a definition: the version Azure resolved is the one it runs.
        let definition = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i";
        let from_definition = json!({"instanceId": "4", "properties": {"storageProfile": {"imageReference": {
            "id": definition, "exactVersion": "0.26340.3600"
        }}}});
        assert_eq!(Instance::of(&from_definition).unwrap().version(), "0.26340.3600");
    }
}
