//! `Microsoft.Compute/virtualMachineScaleSets`, ComputeRP api-version 2024-07-01
//! (`virtualMachineScaleSet.json`), and the instances of Uniform scale sets.
//!
//! The scale set is a normal stored [`Resource`](crate::state::Resource) whose body is the ARM JSON; its
//! instances are the provider's private data of the scale set ([`crate::state::Store::private`]), so they
//! go with it. Other parts of the emulator (the Azure DevOps actor) scale a set and read its instances
//! through [`instances`], [`set_capacity`] and [`delete_instances`], outside HTTP; they may edit the
//! scale set's body (tags, `properties.virtualMachineProfile.extensionProfile`, ...) directly: an
//! instance's `latestModelApplied` compares the model it was made from with the body's current
//! `virtualMachineProfile`, so such edits make existing instances outdated as on Azure.

mod body;
mod image;
pub mod instances;
pub mod kind;
pub mod vms;

use serde_json::Value;

use crate::arm::error::ArmError;
use crate::state::Store;

/// Registry name of the scale set kind (the store's `kind` of scale sets).
pub const KIND: &str = instances::KIND;

/// The subnet ids a scale set body's NIC IP configurations name.
pub fn subnet_ids(body: &Value) -> Vec<String> {
    body::subnet_ids(body)
}

/// One instance of a Uniform scale set as the emulator keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// `0`, `1`, ...: never reused within a scale set.
    pub instance_id: String,
    /// `{scale set name}_{instance id}`.
    pub name: String,
    /// The `imageReference.id` of the model the instance was created, reimaged or upgraded from (a gallery
    /// image version, or an image definition whose latest version the instance got: ARM shows that version
    /// as `imageReference.exactVersion`); a platform image as `publisher:offer:sku:version`.
    pub image_reference_id: String,
    /// Whether the instance runs the scale set's current `virtualMachineProfile`.
    pub latest_model_applied: bool,
    /// `PowerState/running`, ...
    pub power_state: String,
    /// `Succeeded`, ...
    pub provisioning_state: String,
}

/// The instances of the scale set `scale_set_id` (any case), ordered by instance id; empty when the set
/// does not exist.
pub fn instances(store: &Store, scale_set_id: &str) -> Vec<Instance> {
    instances::list(store, scale_set_id)
}

/// Sets sku.capacity and adds instances from the current model, or removes the highest-numbered ones.
///
/// Errors (nothing changes then): the scale set's 404 when it does not exist; 404 `GalleryImageNotFound`
/// when instances must be added and the model's image no longer resolves (an image version deleted since).
pub fn set_capacity(store: &mut Store, scale_set_id: &str, capacity: u64) -> Result<(), ArmError> {
    instances::set_capacity(store, scale_set_id, capacity)
}

/// Deletes these instances (capacity drops by their number).
///
/// Errors: the scale set's 404; 400 `InvalidParameter` naming an instance id that does not exist (nothing
/// is deleted then).
pub fn delete_instances(store: &mut Store, scale_set_id: &str, instance_ids: &[String]) -> Result<(), ArmError> {
    instances::delete(store, scale_set_id, instance_ids)
}
