//! The emulated resource types, one module each, and the helpers they share.
//!
//! Adding a kind: a new module with a unit struct implementing [`ResourceKind`] (its [`KindInfo`] read from
//! the swagger and examples in `specs/`), then one line in [`all`].
//!
//! [`KindInfo`]: crate::arm::kind::KindInfo

pub mod blob_containers;
pub mod galleries;
pub mod gallery_image_versions;
pub mod gallery_images;
pub mod identities;
pub mod image_templates;
pub mod network;
pub mod resource_groups;
pub mod role_assignments;
pub mod role_definitions;
pub mod scale_sets;
pub mod storage_accounts;
pub mod storage_names;

use serde_json::{Map, Value};

use crate::arm::error::ArmError;
use crate::arm::kind::{Registry, ResourceKind};
use crate::state::Resource;

/// Every kind the emulator serves.
pub fn all() -> Vec<&'static dyn ResourceKind> {
    vec![
        &resource_groups::ResourceGroups,
        &storage_accounts::StorageAccounts,
        &blob_containers::BlobContainers,
        &identities::UserAssignedIdentities,
        &role_assignments::RoleAssignments,
        &galleries::Galleries,
        &gallery_images::GalleryImages,
        &gallery_image_versions::GalleryImageVersions,
        &image_templates::ImageTemplates,
        &image_templates::RunOutputs,
        &network::virtual_networks::VirtualNetworks,
        &network::subnets::Subnets,
        &network::public_ips::PublicIpAddresses,
        &network::public_ip_prefixes::PublicIpPrefixes,
        &network::nat_gateways::NatGateways,
        &scale_sets::kind::ScaleSets,
    ]
}

/// The routes of kinds that are not resources (a scale set's instances, storage name checks).
pub fn endpoints() -> Vec<&'static crate::arm::endpoint::Endpoint> {
    vec![&scale_sets::vms::ENDPOINT, &storage_names::ENDPOINT]
}

/// The registry of [`all`] kinds.
pub fn registry() -> Registry {
    Registry::new(all())
}

/// `value[key]` as an object, replaced by `{}` when missing or not an object (`value` too).
pub fn object<'a>(value: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => object_in(map, key),
        _ => unreachable!("just made an object"),
    }
}

/// `map[key]` as an object, replaced by `{}` when missing or not an object.
pub fn object_in<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(inner) => inner,
        _ => unreachable!("just made an object"),
    }
}

/// Inserts `value` under `key` unless a non-null value is there.
pub fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// The value at a dotted path of an existing resource's body.
pub fn existing_at<'a>(existing: Option<&'a Resource>, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(&existing?.body, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// Whether every character is ASCII alphanumeric or one of `extra`.
/// `Ok` when a name passes its kind's rule, else ARM's 400 with `code` and the message.
pub fn name_rule(ok: bool, code: &'static str, message: impl FnOnce() -> String) -> Result<(), ArmError> {
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(code, message()))
    }
}

pub fn chars_ok(name: &str, extra: &[char]) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// Whether `s` is a GUID (8-4-4-4-12 hex digits).
pub fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers() {
        let mut v = json!({"properties": 5});
        object(&mut v, "properties").insert("a".into(), json!(1));
        assert_eq!(v, json!({"properties": {"a": 1}}));
        let map = object(&mut v, "properties");
        default(map, "a", json!(2));
        default(map, "b", json!(3));
        assert_eq!(v, json!({"properties": {"a": 1, "b": 3}}));
        let r = Resource { kind: "k".into(), id: "i".into(), body: v };
        assert_eq!(existing_at(Some(&r), "properties.b"), Some(&json!(3)));
        assert_eq!(existing_at(None, "properties.b"), None);
        assert!(is_guid("05c5a614-a7d6-4502-b150-c2fb455033ff"));
        assert!(!is_guid("05c5a614a7d64502b150c2fb455033ff"));
        assert!(chars_ok("a-b_c", &['-', '_']) && !chars_ok("a b", &['-']));
    }

    #[test]
    fn registry_routes_every_kind_case_insensitively() {
        let r = registry();
        let seg = |p: &str| crate::arm::path::segments(p);
        let q = Default::default();
        for (path, kind) in [
            ("/subscriptions/s/resourcegroups/rg", "resourceGroups"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a", "storageAccounts"),
            (
                "/subscriptions/s/resourceGroups/rg/providers/microsoft.storage/storageaccounts/a/blobServices/default/containers/c",
                "blobContainers",
            ),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i", "userAssignedIdentities"),
            ("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/g", "roleAssignments"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g", "galleries"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i", "galleryImages"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0", "galleryImageVersions"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t", "imageTemplates"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t/runOutputs/o", "imageTemplateRunOutputs"),
        ] {
            match r.route(&seg(path), &q) {
                Some(crate::arm::kind::Route::Item(t)) => assert_eq!(t.kind.info().name, kind, "{path}"),
                _ => panic!("{path} not routed to an item"),
            }
        }
        for (path, kind) in [
            ("/subscriptions/s/resourcegroups", "resourceGroups"),
            ("/subscriptions/s/providers/Microsoft.Storage/storageAccounts", "storageAccounts"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments", "roleAssignments"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images", "galleryImages"),
            ("/subscriptions/s/providers/Microsoft.VirtualMachineImages/imageTemplates", "imageTemplates"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates", "imageTemplates"),
            ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t/runOutputs", "imageTemplateRunOutputs"),
        ] {
            match r.route(&seg(path), &q) {
                Some(crate::arm::kind::Route::List(l)) => assert_eq!(l.kind.info().name, kind, "{path}"),
                _ => panic!("{path} not routed to a list"),
            }
        }
    }
}
