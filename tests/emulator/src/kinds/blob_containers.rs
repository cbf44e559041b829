//! `Microsoft.Storage/storageAccounts/blobServices/containers`, api-version 2023-05-01 (`blob.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (Create) | 201 created / 200 existing, synchronous |
//! | GET | 200 / 404 (404 `ParentResourceNotFound` without the account) |
//! | PATCH (Update) | 200 |
//! | DELETE | 200 / 204 when missing |
//! | LIST | 200 `{"value"}` |
//!
//! Caveats: the container is only an ARM record: it is not created in Azurite (the blob endpoint); the
//! swagger has no `default` response, so oav flags error answers of this kind.

use serde_json::{json, Value};

use super::{default, existing_at, name_rule, object};
use crate::arm::crud::timestamp;
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::Resource;

/// The blob container kind.
pub struct BlobContainers;

static INFO: KindInfo = KindInfo {
    name: "blobContainers",
    resource_type: "Microsoft.Storage/storageAccounts/blobServices/containers",
    api_versions: &["2023-05-01"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
    lists: &[ListRoute {
        pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers",
        filter: ListFilter::Children,
    }],
    put: PutStyle::Sync,
    patch: PatchStyle::Sync,
    delete: DeleteStyle::Sync { body: false },
    head: false,
    provisioning_state: false,
    nested_delete_blocked: false,
    actions: &[],
};

const RULES: &[Rule] = &[
    Rule::Type("properties", JsonType::Object),
    Rule::Enum("properties.publicAccess", &["Container", "Blob", "None"]),
    Rule::Type("properties.metadata", JsonType::Object),
    Rule::Type("properties.defaultEncryptionScope", JsonType::String),
    Rule::Type("properties.denyEncryptionScopeOverride", JsonType::Boolean),
];

impl ResourceKind for BlobContainers {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// 3-63 characters: lower-case letters, digits and single hyphens, starting with a letter or digit.
    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        let ok = (3..=63).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-')
            && !name.contains("--");
        name_rule(ok, "ContainerNameInvalid", || {
            format!("The specified container name '{name}' is invalid. Container names are 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.")
        })
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn build(&self, _target: &Target, env: &Env<'_>, mut body: Value, existing: Option<&Resource>) -> Value {
        let etag = format!("\"0x{:X}\"", env.now.unix_timestamp_nanos() as u64);
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| k == "properties");
            map.insert("etag".into(), json!(etag));
        }
        let props = object(&mut body, "properties");
        default(props, "publicAccess", json!("None"));
        default(props, "defaultEncryptionScope", json!("$account-encryption-key"));
        default(props, "denyEncryptionScopeOverride", json!(false));
        props.insert("leaseStatus".into(), json!("Unlocked"));
        props.insert("leaseState".into(), json!("Available"));
        props.insert("lastModifiedTime".into(), json!(timestamp(env.now)));
        props.insert("hasImmutabilityPolicy".into(), json!(false));
        props.insert("hasLegalHold".into(), json!(false));
        props.insert("deleted".into(), json!(false));
        props.insert("remainingRetentionDays".into(), json!(0));
        if existing_at(existing, "properties.lastModifiedTime").is_none() {
            props.insert("immutableStorageWithVersioning".into(), json!({ "enabled": false }));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bodies() {
        assert!(BlobContainers.validate_name("scripts").is_ok());
        assert!(BlobContainers.validate_name("my-scripts-2").is_ok());
        for bad in ["ab", "Scripts", "-a1", "a--b", "a_b"] {
            assert!(BlobContainers.validate_name(bad).is_err(), "{bad}");
        }
        assert!(BlobContainers.validate(&mut json!({})).is_ok());
        assert!(BlobContainers.validate(&mut json!({"properties": {"publicAccess": "Everyone"}})).is_err());
    }
}
