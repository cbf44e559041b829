//! One module per Azure resource kind: its api-version (from the official swaggers in
//! `specs/`), its resource id and its request body.
//!
//! Bodies are our own serde types. The compute bodies (galleries, image definitions, scale sets)
//! would come from `azure_mgmt_compute`'s generated models, but that crate depends on
//! azure_core 0.21, a second HTTP stack beside azure_core 1.x; owning these few types keeps one.
//! Every body is validated against its swagger by the `swagger_bodies` test (oav).

pub mod agent_pool;
pub mod blob_container;
pub mod gallery;
pub mod gallery_image;
pub mod identity;
pub mod image_template;
pub mod nat_gateway;
pub mod public_ip;
pub mod resource_group;
pub mod role_assignment;
pub mod scale_set;
pub mod storage_account;

use std::collections::BTreeMap;

/// Placeholder for the subscription when planning offline without `--subscription`.
pub const SUBSCRIPTION_PLACEHOLDER: &str = "{subscriptionId}";

/// Tags as ARM bodies carry them.
pub type Tags = BTreeMap<String, String>;

/// `/subscriptions/{subscription}/resourceGroups/{group}`.
pub fn resource_group_id(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// `/subscriptions/{s}/resourceGroups/{g}/providers/{provider_type}/{name}`; `provider_type` is
/// e.g. `Microsoft.Compute/galleries`.
pub fn resource_id(subscription: &str, group: &str, provider_type: &str, name: &str) -> String {
    format!("{}/providers/{provider_type}/{name}", resource_group_id(subscription, group))
}

/// Body fields Azure never returns (secrets), which a comparison with the live resource skips.
pub fn write_only(kind: &str) -> &'static [&'static str] {
    match kind {
        scale_set::KIND => &["properties.virtualMachineProfile.osProfile.adminPassword"],
        _ => &[],
    }
}

/// Marker for a value only known once an earlier step ran, e.g. `<principalId of identity x>`.
pub fn known_after_apply(what: &str) -> String {
    format!("<{what}: known after apply>")
}

/// Swagger of each ARM kind, relative to the specs folder; its folder names the api-version.
pub const SWAGGERS: &[(&str, &str)] = &[
    (resource_group::KIND, "azure-rest-api-specs/specification/resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json"),
    (storage_account::KIND, "azure-rest-api-specs/specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json"),
    (blob_container::KIND, "azure-rest-api-specs/specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/blob.json"),
    (identity::KIND, "azure-rest-api-specs/specification/msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json"),
    (role_assignment::KIND, "azure-rest-api-specs/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json"),
    (gallery::KIND, "azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json"),
    (gallery_image::KIND, "azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json"),
    (image_template::KIND, "azure-rest-api-specs/specification/imagebuilder/resource-manager/Microsoft.VirtualMachineImages/stable/2024-02-01/imagebuilder.json"),
    (public_ip::ADDRESS_KIND, "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/publicIpAddress.json"),
    (public_ip::PREFIX_KIND, "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/publicIpPrefix.json"),
    (nat_gateway::KIND, "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/natGateway.json"),
    (scale_set::KIND, "azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachineScaleSet.json"),
    (agent_pool::KIND, "vsts-rest-api-specs/specification/distributedTask/7.1/elastic.json"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const API_VERSIONS: &[(&str, &str)] = &[
        (resource_group::KIND, resource_group::API_VERSION),
        (storage_account::KIND, storage_account::API_VERSION),
        (blob_container::KIND, blob_container::API_VERSION),
        (identity::KIND, identity::API_VERSION),
        (role_assignment::KIND, role_assignment::API_VERSION),
        (gallery::KIND, gallery::API_VERSION),
        (gallery_image::KIND, gallery_image::API_VERSION),
        (image_template::KIND, image_template::API_VERSION),
        (public_ip::ADDRESS_KIND, public_ip::API_VERSION),
        (public_ip::PREFIX_KIND, public_ip::API_VERSION),
        (nat_gateway::KIND, nat_gateway::API_VERSION),
        (scale_set::KIND, scale_set::API_VERSION),
        (agent_pool::KIND, agent_pool::API_VERSION),
    ];

    #[test]
    fn api_versions_are_those_of_the_official_swaggers() {
        let specs = crate::testing::specs_dir();
        for (kind, api_version) in API_VERSIONS {
            let (_, swagger) =
                SWAGGERS.iter().find(|(k, _)| k == kind).unwrap_or_else(|| panic!("{kind} has no swagger"));
            let swagger_json = crate::testing::read_json(&specs.join(swagger));
            let declared = swagger_json["info"]["version"].as_str().unwrap_or_default();
            assert!(declared.starts_with(api_version), "{kind}: we send {api_version}, {swagger} declares {declared}");
            assert!(swagger.contains(&format!("/{api_version}/")), "{kind}: {swagger} is not the {api_version} folder");
        }
    }
}
