//! One module per Azure resource kind: its api-version (from the official swaggers in
//! `specs/`), its resource id and its request body.
//!
//! Bodies are our own serde types. The compute bodies (galleries, image definitions, scale sets)
//! would come from `azure_mgmt_compute`'s generated models, but that crate depends on
//! azure_core 0.21, a second HTTP stack beside azure_core 1.x; owning these few types keeps one.
//! Every body is validated against its swagger by the `swagger_bodies` test (oav).

pub mod agent_pool;
pub mod blob_container;
pub mod built_in_roles;
pub mod gallery;
pub mod gallery_image;
pub mod identity;
pub mod image_template;
pub mod kind;
pub mod nat_gateway;
pub mod public_ip;
pub mod public_ip_prefix;
pub mod resource_group;
pub mod role_assignment;
pub mod role_definition;
pub mod scale_set;
pub mod storage_account;
pub mod subnet;

pub use kind::Kind;

use std::collections::BTreeMap;

/// Placeholder for the subscription when planning offline without `--subscription`.
pub const SUBSCRIPTION_PLACEHOLDER: &str = "{subscriptionId}";

/// Tags as ARM bodies carry them.
pub type Tags = BTreeMap<String, String>;

/// `/subscriptions/{subscription}/resourceGroups/{group}`.
pub fn resource_group_id(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// The subscription an ARM id lies in and, when it lies in one, its resource group's name (the
/// segments after `subscriptions` and `resourceGroups`, in any case); `None` outside a
/// subscription.
pub fn subscription_and_group(id: &str) -> Option<(String, Option<String>)> {
    let segments: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let after =
        |name: &str| segments.windows(2).find(|pair| pair[0].eq_ignore_ascii_case(name)).map(|pair| pair[1].to_owned());
    Some((after("subscriptions")?, after("resourceGroups")))
}

/// `/subscriptions/{s}/resourceGroups/{g}/providers/{resource type}/{name}` of a top-level
/// resource of `kind`.
pub fn resource_id(subscription: &str, group: &str, kind: &Kind, name: &str) -> String {
    format!("{}/providers/{}/{name}", resource_group_id(subscription, group), kind.resource_type)
}

/// True when `id` is `scope` or lies inside it (`scope` + `/…`), ignoring case as ARM does.
pub fn is_within(id: &str, scope: &str) -> bool {
    let scope = scope.trim_end_matches('/');
    id.len() >= scope.len()
        && id.is_char_boundary(scope.len())
        && id[..scope.len()].eq_ignore_ascii_case(scope)
        && (id.len() == scope.len() || id.as_bytes()[scope.len()] == b'/')
}

/// The subscription id of a resource id (`/subscriptions/{this}/…`).
pub fn subscription_of(id: &str) -> Option<&str> {
    let mut parts = id.trim_start_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some(first), Some(subscription))
            if first.eq_ignore_ascii_case("subscriptions") && !subscription.is_empty() =>
        {
            Some(subscription)
        }
        _ => None,
    }
}

/// The last `type/name` pair of a resource id, as a person would say where something is:
/// `resourceGroups/rg-agents`, `storageAccounts/stagents`.
pub fn short_scope(id: &str) -> &str {
    let trimmed = id.trim_end_matches('/');
    let mut cuts = trimmed.rmatch_indices('/').map(|(at, _)| at);
    match (cuts.next(), cuts.next()) {
        (Some(_), Some(at)) => &trimmed[at + 1..],
        _ => trimmed.trim_start_matches('/'),
    }
}

/// What a person calls a resource of type `resource_type`: `image definition`, `role
/// assignment`, …; the type itself when it is not one of agentpool's.
pub fn short_name(resource_type: &str) -> &str {
    kind_of(resource_type).map_or(resource_type, |kind| kind.short_name)
}

/// The kind of a resource type agentpool plans.
pub fn kind_of(resource_type: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|kind| kind.resource_type.eq_ignore_ascii_case(resource_type))
}

/// Every kind agentpool plans.
pub static KINDS: &[&Kind] = &[
    &resource_group::KIND,
    &storage_account::KIND,
    &blob_container::KIND,
    &identity::KIND,
    &role_definition::KIND,
    &role_assignment::KIND,
    &gallery::KIND,
    &gallery_image::KIND,
    &image_template::KIND,
    &public_ip::KIND,
    &public_ip_prefix::KIND,
    &nat_gateway::KIND,
    &subnet::KIND,
    &scale_set::KIND,
    &agent_pool::KIND,
];

/// True when `id` is a role definition's (`…/providers/Microsoft.Authorization/roleDefinitions/<guid>`).
pub fn is_role_definition_id(id: &str) -> bool {
    id.to_ascii_lowercase()
        .rsplit_once("/providers/microsoft.authorization/roledefinitions/")
        .is_some_and(|(_, guid)| !guid.is_empty() && !guid.contains('/'))
}

/// Marker for a value only known once an earlier step ran, e.g. `<principalId of identity x>`.
pub fn known_after_apply(what: &str) -> String {
    format!("<{what}: known after apply>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_are_those_of_the_official_swaggers() {
        let specs = crate::testing::specs_dir();
        for kind in KINDS {
            let (api_version, swagger) = (kind.api_version, kind.swagger);
            let swagger_json = crate::testing::read_json(&specs.join(swagger));
            let declared = swagger_json["info"]["version"].as_str().unwrap_or_default();
            assert!(
                declared.starts_with(api_version),
                "{kind:?}: we send {api_version}, {swagger} declares {declared}"
            );
            assert!(
                swagger.contains(&format!("/{api_version}/")),
                "{kind:?}: {swagger} is not the {api_version} folder"
            );
        }
    }

    #[test]
    fn every_kind_has_a_short_name_and_one_entry() {
        for kind in KINDS {
            assert_eq!(short_name(kind.resource_type), kind.short_name);
            assert_eq!(KINDS.iter().filter(|k| k.resource_type == kind.resource_type).count(), 1);
        }
        assert_eq!(short_name("Microsoft.Web/sites"), "Microsoft.Web/sites");
        assert_eq!(kind_of("microsoft.compute/GALLERIES"), Some(&gallery::KIND));
    }

    #[test]
    fn scopes_contain_what_lies_below_them_ignoring_case() {
        let group = "/subscriptions/s/resourceGroups/rg-agents";
        assert!(is_within("/subscriptions/s/resourcegroups/RG-agents/providers/x/y", group));
        assert!(is_within(group, group));
        assert!(!is_within("/subscriptions/s/resourceGroups/rg-agents-2/providers/x/y", group));
        assert!(!is_within("/subscriptions/s/resourceGroups", group));
        assert_eq!(short_scope(group), "resourceGroups/rg-agents");
        assert_eq!(subscription_of(group), Some("s"));
        assert_eq!(subscription_of("/providers/Microsoft.Management/managementGroups/mg"), None);
        assert_eq!(
            short_scope(&format!("{group}/providers/Microsoft.Storage/storageAccounts/st")),
            "storageAccounts/st"
        );
    }
}

/// Every official example body of the infrastructure kinds deserialises into our types, and
/// what our types keep equals the example's values: no field we use is lost or altered.
#[cfg(test)]
mod official_examples {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use serde_json::Value;

    use super::*;
    use crate::testing::{read_json, specs_dir};

    fn examples(folder: &str, names: &[&str]) -> Vec<(String, Value)> {
        let dir = specs_dir().join("azure-rest-api-specs/specification").join(folder);
        let mut bodies = Vec::new();
        for name in names {
            let example = read_json(&dir.join(name));
            for (key, parameter) in example["parameters"].as_object().into_iter().flatten() {
                if parameter.is_object() && parameter.get("location").or_else(|| parameter.get("properties")).is_some()
                {
                    bodies.push((format!("{name} request {key}"), parameter.clone()));
                }
            }
            for (status, response) in example["responses"].as_object().into_iter().flatten() {
                if let Some(body) = response.get("body").filter(|b| b.get("value").is_none()) {
                    bodies.push((format!("{name} response {status}"), body.clone()));
                }
            }
        }
        assert!(!bodies.is_empty(), "no example bodies in {folder}");
        bodies
    }

    /// `kept` is contained in `original`: every value our type serialises is the example's.
    fn assert_kept<T: DeserializeOwned + Serialize>(label: &str, original: &Value) {
        let parsed: T = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));
        let kept = serde_json::to_value(&parsed).unwrap();
        let changes = crate::plan::diff::changes(&kept, original, &[]);
        assert!(changes.is_empty(), "{label}: our type altered {changes:#?}");
    }

    #[test]
    fn resource_groups() {
        for (label, body) in examples(
            "resources/resource-manager/Microsoft.Resources/stable/2024-07-01/examples",
            &["CreateResourceGroup.json"],
        ) {
            assert_kept::<resource_group::ResourceGroup>(&label, &body);
        }
    }

    #[test]
    fn storage_accounts_and_containers() {
        let dir = "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/examples";
        for (label, body) in examples(dir, &["StorageAccountCreate.json", "StorageAccountGetProperties.json"]) {
            assert_kept::<storage_account::StorageAccount>(&label, &body);
        }
        for (label, body) in examples(dir, &["BlobContainersPut.json", "BlobContainersGet.json"]) {
            assert_kept::<blob_container::BlobContainer>(&label, &body);
        }
    }

    #[test]
    fn identities() {
        let dir = "msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/examples";
        for (label, body) in examples(dir, &["IdentityCreate.json", "IdentityGet.json"]) {
            assert_kept::<identity::Identity>(&label, &body);
        }
    }

    #[test]
    fn role_assignments() {
        let dir = "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples";
        let names = [
            "RoleAssignments_CreateForResourceGroup.json",
            "RoleAssignments_CreateForResource.json",
            "RoleAssignments_CreateForSubscription.json",
            "RoleAssignments_Get.json",
        ];
        for (label, body) in examples(dir, &names) {
            assert_kept::<role_assignment::RoleAssignment>(&label, &body);
        }
    }

    #[test]
    fn role_definitions() {
        let dir = "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/examples";
        let names = [
            "PutRoleDefinition.json",
            "GetRoleDefinitionById.json",
            "GetRoleDefinitionByName.json",
            "GetRoleDefinitionAtScope.json",
        ];
        let bodies = examples(dir, &names);
        assert!(bodies.iter().any(|(label, _)| label.starts_with("PutRoleDefinition.json response 201")));
        for (label, body) in bodies {
            assert_kept::<role_definition::RoleDefinition>(&label, &body);
        }
    }

    #[test]
    fn galleries_and_image_definitions() {
        let dir = "compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/examples/galleryExamples";
        for (label, body) in examples(dir, &["Gallery_Create.json", "Gallery_Get.json"]) {
            assert_kept::<gallery::Gallery>(&label, &body);
        }
        for (label, body) in examples(dir, &["GalleryImage_Create.json", "GalleryImage_Get.json"]) {
            assert_kept::<gallery_image::GalleryImage>(&label, &body);
        }
    }
}
