//! The reads a pre-flight check makes (providers, permissions, VM sizes, usages) and what start-time flags
//! change in them; provider registration of writes.

use agentpool_emulator::provider_reads::settings::{parse_unregistered, parse_vm_size, Quota};
use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::roles::group;
use crate::support::{Harness, AUTHZ_API, GALLERY_API, STORAGE_API};

pub const RESOURCES_API: &str = "2024-07-01";
pub const COMPUTE_API: &str = "2024-07-01";

fn provider<'a>(list: &'a Value, namespace: &str) -> &'a Value {
    list["value"].as_array().unwrap().iter().find(|p| p["namespace"] == namespace).unwrap_or(&Value::Null)
}

fn resource_type<'a>(provider: &'a Value, name: &str) -> &'a Value {
    provider["resourceTypes"].as_array().unwrap().iter().find(|t| t["resourceType"] == name).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn providers_are_registered_unless_told() {
    let h = Harness::default().await;
    let list = h.get(&h.sub(&format!("/providers?api-version={RESOURCES_API}"))).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    for ns in [
        "Microsoft.VirtualMachineImages",
        "Microsoft.Compute",
        "Microsoft.Storage",
        "Microsoft.Network",
        "Microsoft.ManagedIdentity",
        "Microsoft.KeyVault",
        "Microsoft.ContainerInstance",
        "Microsoft.Authorization",
        "Microsoft.Resources",
    ] {
        assert_eq!(provider(&list.body, ns)["registrationState"], "Registered", "{ns}");
    }
    let aib = provider(&list.body, "Microsoft.VirtualMachineImages");
    let templates = resource_type(aib, "imageTemplates");
    assert_eq!(templates["apiVersions"], json!(["2024-02-01"]));
    let locations: Vec<&str> = templates["locations"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        locations.contains(&"West Europe") && locations.contains(&"East US") && !locations.contains(&"Sweden Central"),
        "{locations:?}"
    );
    let compute = provider(&list.body, "Microsoft.Compute");
    assert!(resource_type(compute, "locations/usages")["locations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "Sweden Central"));
    assert_eq!(resource_type(compute, "galleries/images/versions")["apiVersions"], json!([GALLERY_API]));
    let one = h.get(&h.sub(&format!("/providers/microsoft.storage?api-version={RESOURCES_API}"))).await;
    assert_eq!((one.status, one.body["namespace"].as_str()), (StatusCode::OK, Some("Microsoft.Storage")));
    assert_eq!(one.body["id"], h.sub("/providers/Microsoft.Storage"));
    let r = h.get(&h.sub(&format!("/providers/Microsoft.Nope?api-version={RESOURCES_API}"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "InvalidResourceNamespace"));
    let r = h.get(&h.sub("/providers?api-version=2020-01-01")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidApiVersionParameter"));
    h.stop().await;

    let mut config = Config::for_tests();
    config.offer.unregistered_providers = vec![parse_unregistered("Microsoft.Storage").unwrap()];
    config.offer.image_builder_locations = vec!["northeurope".into()];
    let h = Harness::start(config).await;
    let rg = group(&h, "rg").await;
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/offeracct?api-version={STORAGE_API}");
    let body = json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"});
    let r = h.put(&account, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "MissingSubscriptionRegistration"));
    assert_eq!(r.body["error"]["message"], "The subscription is not registered to use namespace 'Microsoft.Storage'. See https://aka.ms/rps-not-found for how to register subscriptions.");
    let one = h.get(&h.sub(&format!("/providers/Microsoft.Storage?api-version={RESOURCES_API}"))).await;
    assert_eq!(one.body["registrationState"], "NotRegistered");
    let list = h.get(&h.sub(&format!("/providers?api-version={RESOURCES_API}"))).await;
    let aib = provider(&list.body, "Microsoft.VirtualMachineImages");
    assert_eq!(resource_type(aib, "imageTemplates")["locations"], json!(["North Europe"]));
    let registered = h
        .call(Method::POST, &h.sub(&format!("/providers/Microsoft.Storage/register?api-version={RESOURCES_API}")), None)
        .await;
    assert_eq!(
        (registered.status, registered.body["registrationState"].as_str()),
        (StatusCode::OK, Some("Registered"))
    );
    assert_eq!(h.put(&account, body).await.status, StatusCode::ACCEPTED);
    h.stop().await;
}

#[tokio::test]
async fn permissions_are_the_callers_blocks() {
    let h = Harness::default().await;
    let rg = group(&h, "rg").await;
    let path = |scope: &str| format!("{scope}/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}");
    let group_path =
        h.sub(&format!("/resourcegroups/rg/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}"));
    let r = h.get(&group_path).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"value": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]})
    );
    let r = h.get(&path(&h.sub("/resourceGroups/nope"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal");
    let r = h.get(&path(&gallery)).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"), "{:?}", r.body);
    let created = h.put(&format!("{gallery}?api-version={GALLERY_API}"), json!({"location": "westeurope"})).await;
    h.wait_async_operation(&created.header("azure-asyncoperation").unwrap()).await;
    assert_eq!(h.get(&path(&gallery)).await.body["value"][0]["actions"], json!(["*"]));
    h.stop().await;

    let mut config = Config::for_tests();
    config.caller_role = vec![agentpool_emulator::authz::caller::CallerRole::parse("Contributor").unwrap()];
    let h = Harness::start(config).await;
    group(&h, "rg").await;
    let r = h
        .get(
            &h.sub(&format!(
                "/resourcegroups/rg/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}"
            )),
        )
        .await;
    let not_actions = r.body["value"][0]["notActions"].as_array().unwrap();
    assert!(not_actions.contains(&json!("Microsoft.Authorization/*/Write")), "{:?}", r.body);
    h.stop().await;
}

#[tokio::test]
async fn vm_sizes_and_usages_follow_the_flags() {
    let mut config = Config::for_tests();
    config.offer.quotas = vec![Quota::parse("standardDSv5Family=4").unwrap()];
    config.offer.unavailable_vm_sizes = vec![parse_vm_size("Standard_D8s_v5").unwrap()];
    config.offer.locations = vec!["westeurope".into(), "northeurope".into()];
    let h = Harness::start(config).await;
    let at = |location: &str, leaf: &str| {
        h.sub(&format!("/providers/Microsoft.Compute/locations/{location}/{leaf}?api-version={COMPUTE_API}"))
    };
    let sizes = h.get(&at("westeurope", "vmSizes")).await;
    assert_eq!(sizes.status, StatusCode::OK, "{:?}", sizes.body);
    let d2ds = sizes.body["value"].as_array().unwrap().iter().find(|s| s["name"] == "Standard_D2ds_v5").unwrap();
    assert_eq!(
        d2ds,
        &json!({"name": "Standard_D2ds_v5", "numberOfCores": 2, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 76800, "memoryInMB": 8192, "maxDataDiskCount": 4})
    );
    assert!(sizes.body["value"].as_array().unwrap().iter().all(|s| s["name"] != "Standard_D8s_v5"), "taken away");
    let usages = h.get(&at("northeurope", "usages")).await;
    let usage = |name: &str| {
        usages.body["value"].as_array().unwrap().iter().find(|u| u["name"]["value"] == name).cloned().unwrap()
    };
    assert_eq!(usage("standardDSv5Family")["limit"], 4);
    assert_eq!(usage("standardDSv5Family")["name"]["localizedValue"], "Standard DSv5 Family vCPUs");
    assert_eq!((usage("cores")["limit"].as_i64(), usage("cores")["currentValue"].as_i64()), (Some(200), Some(0)));
    let r = h.get(&at("eastus", "usages")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound"));
    assert!(r.body["error"]["message"].as_str().unwrap().starts_with("No registered resource provider found for location 'eastus' and API version '2024-07-01' for type 'locations/usages'."));
    h.stop().await;

    let mut config = Config::for_tests();
    config.offer.unregistered_providers = vec![parse_unregistered("Microsoft.Compute").unwrap()];
    let h = Harness::start(config).await;
    let r = h
        .get(&h.sub(&format!("/providers/Microsoft.Compute/locations/westeurope/vmSizes?api-version={COMPUTE_API}")))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "MissingSubscriptionRegistration"));
    h.stop().await;
}
