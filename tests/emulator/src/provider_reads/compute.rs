//! Compute's location reads, api-version 2024-07-01 (`computeRPCommon.json`): `VirtualMachineSizes_List`
//! (`GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{location}/vmSizes`) and `Usage_List`
//! (`GET …/locations/{location}/usages`).
//!
//! - vmSizes: `{"value": [{name, numberOfCores, osDiskSizeInMB, resourceDiskSizeInMB, memoryInMB,
//!   maxDataDiskCount}]}` from [`catalog::VM_SIZES`], less `--unavailable-vm-size`;
//! - usages: `{"value": [{unit: "Count", currentValue, limit, name: {value, localizedValue}}]}` for the
//!   totals and the families of those sizes ([`catalog::USAGES`]), limits from `--quota` (default 100 vCPUs a
//!   family, 200 regional), plus any other usage a `--quota` names.
//!
//! Both need `Microsoft.Compute` registered (409 `MissingSubscriptionRegistration`) and a location of
//! `--locations`: another is 400 `NoRegisteredProviderFound` with ARM's wording ("No registered resource
//! provider found for location '…' and API version '…' for type '…'", "Resolve errors for resource provider
//! registration"). The caller needs `Microsoft.Compute/locations/{vmSizes,usages}/read` on the subscription.
//!
//! Caveat: `currentValue` is 0: the emulator runs no virtual machines (Image Builder's build VM included).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::catalog::{self, OS_DISK_SIZE_MB};
use super::providers::require_registered;
use crate::arm::endpoint::{Endpoint, Request};
use crate::arm::error::{json_response, ArmError};
use crate::authz::request::require;
use crate::config::Config;

const API_VERSIONS: &[&str] = &["2024-07-01"];

/// `VirtualMachineSizes_List`.
pub static VM_SIZES: Endpoint = Endpoint {
    name: "vmSizes",
    patterns: &["/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/vmSizes"],
    resource_type: "Microsoft.Compute/locations/vmSizes",
    api_versions: API_VERSIONS,
    handle: vm_sizes,
};

/// `Usage_List`.
pub static USAGES: Endpoint = Endpoint {
    name: "usages",
    patterns: &["/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/usages"],
    resource_type: "Microsoft.Compute/locations/usages",
    api_versions: API_VERSIONS,
    handle: usages,
};

/// Method, authorization, registration and location checks; the location.
fn check(request: &Request<'_>, resource_type: &str) -> Result<String, ArmError> {
    if request.method != Method::GET {
        return Err(request.method_not_allowed());
    }
    let config = &request.call.app.config;
    require(request.call, &format!("{resource_type}/read"), &format!("/subscriptions/{}", config.subscription_id))?;
    require_registered(request.call, resource_type)?;
    let location = request.captures.get("location").to_string();
    if !config.offer.offers_location(&location) {
        let short = resource_type.trim_start_matches("Microsoft.Compute/");
        return Err(ArmError::bad_request(
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version '{}' for type '{short}'. The supported api-versions are '{}'. The supported locations are '{}'.",
                request.call.api_version,
                API_VERSIONS.join(", "),
                config.offer.locations.join(", ")
            ),
        ));
    }
    Ok(location)
}

fn vm_sizes(request: &Request<'_>) -> Result<Response, ArmError> {
    check(request, VM_SIZES.resource_type)?;
    let value: Vec<Value> = request
        .call
        .app
        .config
        .offer
        .vm_sizes()
        .map(|s| {
            json!({
                "name": s.name,
                "numberOfCores": s.cores,
                "osDiskSizeInMB": OS_DISK_SIZE_MB,
                "resourceDiskSizeInMB": s.resource_disk_mb,
                "memoryInMB": s.memory_mb,
                "maxDataDiskCount": s.max_data_disks,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "value": value })))
}

/// The usages of a region: the catalog's, then any other `--quota` names.
pub fn usage_list(config: &Config) -> Vec<Value> {
    let entry = |name: &str, localized: &str, limit: i64| json!({"unit": "Count", "currentValue": 0, "limit": limit, "name": {"value": name, "localizedValue": localized}});
    let offer = &config.offer;
    let mut out: Vec<Value> =
        catalog::USAGES.iter().map(|u| entry(u.name, u.localized, offer.limit_of(u.name, u.default_limit))).collect();
    for quota in &offer.quotas {
        let known = catalog::USAGES.iter().any(|u| u.name.eq_ignore_ascii_case(&quota.name));
        let listed =
            out.iter().any(|u| u["name"]["value"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&quota.name)));
        if !known && !listed {
            out.push(entry(&quota.name, &quota.name, offer.limit_of(&quota.name, 0)));
        }
    }
    out
}

fn usages(request: &Request<'_>) -> Result<Response, ArmError> {
    check(request, USAGES.resource_type)?;
    Ok(json_response(StatusCode::OK, &json!({ "value": usage_list(&request.call.app.config) })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider_reads::settings::Quota;

    #[test]
    fn usages_follow_quotas() {
        let mut config = Config::for_tests();
        let limit = |config: &Config, name: &str| {
            usage_list(config).into_iter().find(|u| u["name"]["value"] == name).map(|u| u["limit"].clone())
        };
        assert_eq!(limit(&config, "standardDSv5Family"), Some(json!(100)));
        assert_eq!(limit(&config, "cores"), Some(json!(200)));
        config.offer.quotas =
            vec![Quota::parse("standardDSv5Family=4").unwrap(), Quota::parse("standardNCFamily=0").unwrap()];
        assert_eq!(limit(&config, "standardDSv5Family"), Some(json!(4)));
        assert_eq!(limit(&config, "standardNCFamily"), Some(json!(0)));
        let dsv5 = usage_list(&config).into_iter().find(|u| u["name"]["value"] == "standardDSv5Family").unwrap();
        assert_eq!(
            dsv5,
            json!({"unit": "Count", "currentValue": 0, "limit": 4, "name": {"value": "standardDSv5Family", "localizedValue": "Standard DSv5 Family vCPUs"}})
        );
    }
}
