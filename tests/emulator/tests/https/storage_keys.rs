//! Storage operations besides CRUD that clients call: `listKeys` (the key the blob service uses) and
//! `checkNameAvailability`; and the provider catalog showing the network and scale set types.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Harness, STORAGE_API};

async fn check(h: &Harness, name: &str) -> crate::support::Reply {
    let body = json!({"name": name, "type": "Microsoft.Storage/storageAccounts"});
    let url = h.sub(&format!("/providers/Microsoft.Storage/checkNameAvailability?api-version={STORAGE_API}"));
    h.call(Method::POST, &url, Some(body)).await
}

/// The requests of [`list_keys_and_name_checks`] (also recorded for oav).
pub async fn storage_flow(h: &Harness) {
    let rg = crate::roles::group(h, "rg-keys").await;
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpoolkeys");
    let r = h
        .put(
            &format!("{account}?api-version={STORAGE_API}"),
            json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"}),
        )
        .await;
    let created = h.wait_location(&r.header("location").unwrap()).await;
    let r = h.call(Method::POST, &format!("{account}/listKeys?api-version={STORAGE_API}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!((keys[0]["keyName"].as_str(), keys[1]["keyName"].as_str()), (Some("key1"), Some("key2")));
    assert_eq!(keys[0]["value"], agentpool_emulator::azurite::ACCOUNT_KEY, "the blob service's key");
    assert!(keys.iter().all(|k| k["permissions"] == "Full"), "the swagger's closed enum: Read or Full");
    assert_eq!(keys[0]["creationTime"], created.body["properties"]["keyCreationTime"]["key1"]);
    assert_ne!(keys[0]["value"], keys[1]["value"]);

    let r = check(h, "agentpoolfree").await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &json!({"nameAvailable": true})));
    let r = check(h, "agentpoolkeys").await;
    assert_eq!((&r.body["nameAvailable"], &r.body["reason"]), (&json!(false), &json!("AlreadyExists")));
    let r = check(h, "Not-Valid").await;
    assert_eq!((&r.body["nameAvailable"], &r.body["reason"]), (&json!(false), &json!("AccountNameInvalid")));
}

#[tokio::test]
async fn list_keys_and_name_checks() {
    let h = Harness::default().await;
    storage_flow(&h).await;
    let r = h
        .call(
            Method::POST,
            &h.sub(&format!("/providers/Microsoft.Storage/checkNameAvailability?api-version={STORAGE_API}")),
            Some(json!({"name": "x", "type": "Microsoft.Compute/disks"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidRequestContent"));
    h.stop().await;
}

async fn types(h: &Harness, namespace: &str) -> Vec<serde_json::Value> {
    let r = h.get(&h.sub(&format!("/providers/{namespace}?api-version=2024-07-01"))).await;
    assert_eq!(r.status, StatusCode::OK);
    r.body["resourceTypes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn providers_list_the_network_and_scale_set_types() {
    let h = Harness::default().await;
    let network = types(&h, "Microsoft.Network").await;
    for name in ["virtualNetworks", "virtualNetworks/subnets", "natGateways", "publicIPAddresses", "publicIPPrefixes"] {
        let t = network.iter().find(|t| t["resourceType"] == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(t["apiVersions"], json!(["2024-05-01"]), "{name}");
    }
    let compute = types(&h, "Microsoft.Compute").await;
    for name in ["virtualMachineScaleSets", "virtualMachineScaleSets/virtualMachines"] {
        let t = compute.iter().find(|t| t["resourceType"] == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(t["apiVersions"], json!(["2024-07-01"]), "{name}");
    }
    let storage = types(&h, "Microsoft.Storage").await;
    assert!(storage.iter().any(|t| t["resourceType"] == "checkNameAvailability"));
    h.stop().await;
}
