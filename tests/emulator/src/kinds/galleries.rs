//! `Microsoft.Compute/galleries`, GalleryRP api-version 2024-03-03 (`gallery.json`).
//!
//! | operation | answers |
//! |---|---|
//! | PUT (CreateOrUpdate, LRO) | 201 `Creating` / 200 `Updating` + `Azure-AsyncOperation`; the swagger also lists 202, never used |
//! | GET | 200 / 404 |
//! | PATCH (Update, LRO) | 200 `Updating` + `Azure-AsyncOperation` |
//! | DELETE (LRO) | 202 + `Azure-AsyncOperation` + `Location`; 204 when missing; 409 `CannotDeleteResource` while images exist |
//! | LIST by group, by subscription | 200 `{"value"}` |
//!
//! `properties.identifier.uniqueName` is `{subscriptionId}-{NAME}` as in the examples. Caveat: sharing
//! profiles are stored as sent; `$select`/`$expand` are ignored.

use serde_json::{json, Value};

use super::{chars_ok, object};
use crate::arm::error::ArmError;
use crate::arm::kind::{DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, ResourceKind, Target};
use crate::arm::validate::{check, JsonType, Rule};
use crate::state::Resource;

/// The compute gallery kind.
pub struct Galleries;

static INFO: KindInfo = KindInfo {
    name: "galleries",
    resource_type: "Microsoft.Compute/galleries",
    api_versions: &["2024-03-03"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/{galleryName}",
    lists: &[
        ListRoute {
            pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries",
            filter: ListFilter::Children,
        },
        ListRoute { pattern: "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/galleries", filter: ListFilter::Subscription },
    ],
    put: PutStyle::AsyncOperation,
    patch: PatchStyle::AsyncOperation,
    delete: DeleteStyle::AsyncOperation,
    head: false,
    provisioning_state: true,
    nested_delete_blocked: true,
    actions: &[],
};

const RULES: &[Rule] = &[
    Rule::Required("location"),
    Rule::Type("location", JsonType::String),
    Rule::Type("tags", JsonType::Object),
    Rule::Type("properties", JsonType::Object),
    Rule::Type("properties.description", JsonType::String),
    Rule::Enum("properties.sharingProfile.permissions", &["Private", "Groups", "Community"]),
    Rule::Required("identity?.type"),
    Rule::Enum("identity.type", &["SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"]),
];

/// Compute's rule for gallery (and image) names: letters, digits and single `.`/`_` (image names also
/// `-`) between them, at most 80 characters.
pub fn check_compute_name(name: &str, separators: &[char], what: &str) -> Result<(), ArmError> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && chars_ok(name, separators)
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidParameter",
            format!("The {what} name '{name}' is invalid. It can contain only letters, digits and {separators:?}, must begin and end with a letter or digit, and be at most 80 characters long."),
        ))
    }
}

impl ResourceKind for Galleries {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate_name(&self, name: &str) -> Result<(), ArmError> {
        check_compute_name(name, &['.', '_'], "gallery")
    }

    fn validate(&self, body: &mut Value) -> Result<(), ArmError> {
        check(body, RULES)
    }

    fn build(&self, target: &Target, _env: &Env<'_>, mut body: Value, _existing: Option<&Resource>) -> Value {
        let unique = format!("{}-{}", target.subscription, target.name.to_uppercase());
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "location" | "tags" | "properties" | "identity"));
        }
        let props = object(&mut body, "properties");
        props.remove("sharingStatus");
        props.insert("identifier".into(), json!({ "uniqueName": unique }));
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(Galleries.validate_name("agentpool_gallery.dev").is_ok());
        for bad in ["", "_a", "a.", "a-b", &"a".repeat(81)] {
            assert!(Galleries.validate_name(bad).is_err(), "{bad}");
        }
    }
}
