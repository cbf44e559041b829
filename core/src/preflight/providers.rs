//! Resource providers the steps need, registered in the subscription, and Image Builder offered
//! in the location.
//!
//! Microsoft lists the providers Image Builder needs in "Create a Linux image and distribute it
//! to an Azure Compute Gallery", section "Register the providers"
//! (<https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-gallery>):
//! Microsoft.VirtualMachineImages, Microsoft.KeyVault, Microsoft.Compute, Microsoft.Storage,
//! Microsoft.Network and Microsoft.ContainerInstance. agentpool adds Microsoft.ManagedIdentity
//! for the identity it creates. Microsoft.Resources and Microsoft.Authorization are registered
//! in every subscription.
//!
//! The answer is Providers_Get (`resources.json` 2024-07-01): `registrationState` and
//! `resourceTypes[].{resourceType, locations}`, where Azure writes locations as display names
//! ("West Europe"); they are compared after [`normalize_location`].

use serde::Deserialize;

use super::finding::{Check, Finding};

/// api-version of Providers_Get.
pub const API_VERSION: &str = "2024-07-01";

/// Image Builder's namespace.
pub const IMAGE_BUILDER: &str = "Microsoft.VirtualMachineImages";

/// Namespaces that must be registered, with what needs each.
pub const REQUIRED: &[(&str, &str)] = &[
    (IMAGE_BUILDER, "Azure VM Image Builder"),
    ("Microsoft.Compute", "the gallery, Image Builder's build VM and the scale set"),
    ("Microsoft.Storage", "the scripts' storage account and Image Builder's staging storage"),
    ("Microsoft.Network", "Image Builder's build VM network and the NAT gateway"),
    ("Microsoft.ManagedIdentity", "the Image Builder identity"),
    ("Microsoft.KeyVault", "Image Builder (a documented prerequisite)"),
    ("Microsoft.ContainerInstance", "Image Builder (a documented prerequisite)"),
];

/// Providers_Get's answer, the fields preflight reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub registration_state: String,
    #[serde(default)]
    pub resource_types: Vec<ResourceType>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub locations: Vec<String>,
}

/// `West Europe` → `westeurope`: how parameter files and ids name a region.
pub fn normalize_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// The registration finding of `namespace`, whose Providers_Get answered `provider` (`None`:
/// 404, the subscription does not know it).
pub fn registration(
    namespace: &str,
    needed_by: &str,
    provider: Option<&Provider>,
    subscription: &str,
) -> Option<Finding> {
    let register = format!("az provider register --namespace {namespace} --subscription {subscription}");
    let Some(provider) = provider else {
        return Some(Finding::blocking(
            Check::Providers,
            format!("resource provider {namespace} (needed by {needed_by}) is unknown to subscription {subscription}"),
            register,
        ));
    };
    match provider.registration_state.as_str() {
        state if state.eq_ignore_ascii_case("Registered") => None,
        state if state.eq_ignore_ascii_case("Registering") => Some(Finding::blocking(
            Check::Providers,
            format!("resource provider {namespace} (needed by {needed_by}) is still Registering in subscription {subscription}"),
            format!("wait until `az provider show --namespace {namespace} --query registrationState` says Registered, then run again"),
        )),
        state => Some(Finding::blocking(
            Check::Providers,
            format!(
                "resource provider {namespace} (needed by {needed_by}) is {} in subscription {subscription}",
                if state.is_empty() { "not registered" } else { state }
            ),
            register,
        )),
    }
}

/// Whether Image Builder's `imageTemplates` type is offered in `location`, from the provider's
/// resource types; a finding naming the locations that are when it is not.
pub fn image_builder_location(provider: &Provider, location: &str) -> Option<Finding> {
    let templates = provider.resource_types.iter().find(|t| t.resource_type.eq_ignore_ascii_case("imageTemplates"))?;
    let wanted = normalize_location(location);
    if templates.locations.iter().any(|l| normalize_location(l) == wanted) {
        return None;
    }
    let mut offered: Vec<String> = templates.locations.iter().map(|l| normalize_location(l)).collect();
    offered.sort();
    Some(Finding::blocking(
        Check::ImageBuilder,
        format!("Azure VM Image Builder is not available in {location} (parameters.location)"),
        format!(
            "build in a region that offers it ({}) and replicate to {location} through targetRegions",
            offered.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Providers_Get of Image Builder, shaped as Azure answers it (display-name locations).
    fn image_builder(state: &str) -> Provider {
        serde_json::from_value(json!({
            "id": "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.VirtualMachineImages",
            "namespace": "Microsoft.VirtualMachineImages",
            "registrationState": state,
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                {"resourceType": "imageTemplates", "locations": ["East US", "West Europe", "North Europe", "West US 2"], "apiVersions": ["2024-02-01"]},
                {"resourceType": "operations", "locations": [], "apiVersions": ["2024-02-01"]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn display_names_normalize_to_parameter_names() {
        assert_eq!(normalize_location("West Europe"), "westeurope");
        assert_eq!(normalize_location("West US 2"), "westus2");
        assert_eq!(normalize_location("westeurope"), "westeurope");
    }

    #[test]
    fn only_registered_providers_pass() {
        let sub = "00000000-0000-0000-0000-000000000000";
        assert_eq!(
            registration(IMAGE_BUILDER, "Azure VM Image Builder", Some(&image_builder("Registered")), sub),
            None
        );
        let finding =
            registration(IMAGE_BUILDER, "Azure VM Image Builder", Some(&image_builder("NotRegistered")), sub).unwrap();
        assert_eq!(
            finding.line("sbx.parameters.linux.json"),
            "sbx.parameters.linux.json: resource provider Microsoft.VirtualMachineImages (needed by Azure VM Image Builder) is NotRegistered in subscription 00000000-0000-0000-0000-000000000000 — az provider register --namespace Microsoft.VirtualMachineImages --subscription 00000000-0000-0000-0000-000000000000"
        );
        let registering = registration(IMAGE_BUILDER, "x", Some(&image_builder("Registering")), sub).unwrap();
        assert!(registering.fix.starts_with("wait until"), "{registering:?}");
        assert!(registration("Microsoft.KeyVault", "x", None, sub).unwrap().what.contains("unknown"));
    }

    #[test]
    fn image_builder_must_offer_the_location() {
        let provider = image_builder("Registered");
        assert_eq!(image_builder_location(&provider, "westeurope"), None);
        let finding = image_builder_location(&provider, "switzerlandnorth").unwrap();
        assert_eq!(finding.what, "Azure VM Image Builder is not available in switzerlandnorth (parameters.location)");
        assert!(finding.fix.contains("eastus, northeurope, westeurope, westus2"), "{}", finding.fix);
    }
}
