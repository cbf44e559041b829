//! ARM front-end behavior: case-insensitive routes, api-versions, 404 codes, paging, admin routes, state file.

use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{temp_dir, Harness, GALLERY_API, MSI_API, RG_API, STORAGE_API};

#[tokio::test]
async fn resource_group_paths_are_case_insensitive() {
    let h = Harness::default().await;
    let r = h
        .put(&h.sub(&format!("/resourcegroups/RG-One?api-version={RG_API}")), json!({"location": "West Europe"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = h.sub("/resourceGroups/RG-One");
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["name"], "RG-One");
    assert_eq!(r.body["location"], "westeurope");
    assert_eq!(r.body["properties"]["provisioningState"], "Succeeded");
    assert!(r.header("x-ms-request-id").is_some());

    let upper = format!("/SUBSCRIPTIONS/{}/RESOURCEGROUPS/rg-one?API-VERSION={RG_API}", h.ready().subscription_id);
    let r = h.get(&upper).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], id.as_str());

    let r = h
        .put(
            &h.sub(&format!("/resourceGroups/rg-ONE?api-version={RG_API}")),
            json!({"location": "westeurope", "tags": {"a": "b"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"], "RG-One");
    assert_eq!(r.body["tags"]["a"], "b");

    let r = h.call(Method::HEAD, &h.sub(&format!("/resourcegroups/rg-one?api-version={RG_API}")), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h.call(Method::HEAD, &h.sub(&format!("/resourcegroups/nope?api-version={RG_API}")), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = h.get(&h.sub(&format!("/resourcegroups?api-version={RG_API}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    assert!(r.body.get("nextLink").is_none());

    let r = h.get(&h.sub("/resourcegroups/rg-one")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "MissingApiVersionParameter"));
    let r = h.get(&h.sub("/resourcegroups/rg-one?api-version=2015-01-01")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidApiVersionParameter"));
    let r = h
        .get(&format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version={RG_API}"))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "SubscriptionNotFound"));
    let r = h.put(&h.sub(&format!("/resourcegroups/bad name?api-version={RG_API}")), json!({"location": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.put(&h.sub(&format!("/resourcegroups/rg2?api-version={RG_API}")), json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "LocationRequired"));

    // Deleting a group deletes what is in it (202 + Location, polled to 200).
    let identity = h.sub(&format!(
        "/resourceGroups/rg-one/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1?api-version={MSI_API}"
    ));
    assert_eq!(h.put(&identity, json!({"location": "westeurope"})).await.status, StatusCode::CREATED);
    let r = h.delete(&h.sub(&format!("/resourcegroups/rg-one?api-version={RG_API}"))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert!(r.header("azure-asyncoperation").is_none());
    let location = r.header("location").unwrap();
    assert!(location.starts_with(&h.ready().arm_endpoint), "{location}");
    assert_eq!(
        h.get(&h.sub(&format!("/resourcegroups/rg-one?api-version={RG_API}"))).await.body["properties"]
            ["provisioningState"],
        "Deleting"
    );
    let done = h.wait_location(&location).await;
    assert_eq!(done.status, StatusCode::OK);
    let r = h.get(&h.sub(&format!("/resourcegroups/rg-one?api-version={RG_API}"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    let r = h.get(&identity).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    let r = h.delete(&h.sub(&format!("/resourcegroups/rg-one?api-version={RG_API}"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    h.stop().await;
}

#[tokio::test]
async fn not_found_codes() {
    let h = Harness::default().await;
    let rg = h.sub("/resourceGroups/rg");
    let r = h.get(&format!("{rg}?api-version={RG_API}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/acct1");
    let r = h.get(&format!("{account}?api-version={STORAGE_API}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));

    h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    let r = h
        .get(&format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/missing?api-version={MSI_API}"))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    let r = h
        .delete(&format!(
            "{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/missing?api-version={MSI_API}"
        ))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r =
        h.put(&format!("{account}/blobServices/default/containers/scripts?api-version={STORAGE_API}"), json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ParentResourceNotFound"));
    let r = h.get(&format!("{rg}/providers/Microsoft.Compute/galleries/g/images?api-version={GALLERY_API}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ParentResourceNotFound"));
    let r = h.get(&format!("{rg}/providers/Microsoft.Web/sites/x?api-version=2022-01-01")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "InvalidResourceType"));
    h.stop().await;
}

#[tokio::test]
async fn lists_page_with_next_link() {
    let mut config = Config::for_tests();
    config.page_size = 2;
    let h = Harness::start(config).await;
    let rg = h.sub("/resourceGroups/rg");
    h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    for i in 0..5 {
        let path =
            format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i}?api-version={MSI_API}");
        assert_eq!(h.put(&path, json!({"location": "westeurope"})).await.status, StatusCode::CREATED);
    }
    let mut url =
        h.url(&format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={MSI_API}"));
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let r = h.get_url(&url).await;
        assert_eq!(r.status, StatusCode::OK);
        pages += 1;
        names.extend(r.body["value"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()));
        match r.body.get("nextLink").and_then(Value::as_str) {
            Some(next) => {
                assert!(next.starts_with(&h.ready().arm_endpoint));
                assert!(next.contains("api-version="));
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["id-0", "id-1", "id-2", "id-3", "id-4"]);
    let r = h
        .get(&h.sub(&format!(
            "/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={MSI_API}&$skiptoken=4"
        )))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    assert!(r.body.get("nextLink").is_none());
    h.stop().await;
}

#[tokio::test]
async fn admin_routes_count_requests_without_auth() {
    let h = Harness::default().await;
    assert_eq!(h.admin(Method::GET, "/health", None).await.body, json!({"status": "ok"}));
    let rg = h.sub(&format!("/resourceGroups/rg?api-version={RG_API}"));
    h.put(&rg, json!({"location": "westeurope"})).await;
    h.get(&rg).await;
    let counts = h.admin(Method::GET, "/requests", None).await.body;
    assert_eq!((counts["total"].as_u64(), counts["writes"].as_u64()), (Some(2), Some(1)));
    assert_eq!(h.admin(Method::DELETE, "/requests", None).await.status, StatusCode::NO_CONTENT);
    h.get(&rg).await;
    let counts = h.admin(Method::GET, "/requests", None).await.body;
    assert_eq!(counts["writes"], 0);
    assert_eq!(counts["byMethod"]["GET"], 1);
    let state = h.admin(Method::GET, "/state", None).await.body;
    let ids: Vec<&str> = state["resources"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(ids.contains(&h.sub("/resourceGroups/rg").as_str()), "{ids:?}");
    h.stop().await;
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = temp_dir("persist");
    let mut config = Config::for_tests();
    config.state_file = Some(dir.join("state.json"));
    let h = Harness::start(config.clone()).await;
    h.put(&h.sub(&format!("/resourceGroups/rg?api-version={RG_API}")), json!({"location": "westeurope"})).await;
    let identity = h.sub(&format!(
        "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-1?api-version={MSI_API}"
    ));
    let created = h.put(&identity, json!({"location": "westeurope"})).await.body;
    h.stop().await;

    let again = Harness::start(config).await;
    let r = again.get(&identity).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["properties"]["principalId"], created["properties"]["principalId"]);
    again.stop().await;
    crate::support::cleanup(&[&dir]);
}
