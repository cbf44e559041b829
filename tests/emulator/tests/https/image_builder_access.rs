//! Image Builder's identity may do what its roles' permissions allow: a custom role with the gallery actions
//! Microsoft documents lets it distribute, the same role without `versions/write` fails the build when it
//! distributes, built-in Contributor on the group lets it, Reader on the storage account does not let it
//! read the scripts.

use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::image_builder::{
    assign, create, fast, fixture, template, template_path, upload, wait_build, AIB_API, SCRIPT,
};
use crate::roles::{assignment, custom_role, definition_path, BLOB_READER, CONTRIBUTOR};
use crate::support::{Harness, AUTHZ_API, GALLERY_API};

const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const IMAGE_ROLE: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
const GALLERY_ACTIONS: [&str; 4] = [
    "Microsoft.Compute/galleries/read",
    "Microsoft.Compute/galleries/images/read",
    "Microsoft.Compute/galleries/images/versions/read",
    "Microsoft.Compute/galleries/images/versions/write",
];

/// Runs a build of the template at `path` and waits for its end; the final `lastRunStatus`.
async fn run(h: &Harness, path: &str) -> Value {
    let r = h.call(Method::POST, &format!("{path}/run?api-version={AIB_API}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    wait_build(h, path).await.1
}

async fn versions(h: &Harness, image: &str) -> usize {
    h.get(&format!("{image}/versions?api-version={GALLERY_API}")).await.body["value"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn image_builder_needs_the_permissions_microsoft_documents() {
    let mut config = Config::for_tests();
    fast(&mut config);
    let h = Harness::start(config).await;
    let fx = fixture(&h, false).await;
    upload(&h, "aibscripts", "scripts/install.sh", SCRIPT).await;
    let role = |actions: &[&str]| custom_role("agentpool image builder rg-gallery", actions, &[&fx.gallery_rg]);
    let r = h.put(&definition_path(&fx.gallery_rg, IMAGE_ROLE), role(&GALLERY_ACTIONS)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let at = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHZ_API}",
        fx.gallery_rg,
        uuid::Uuid::new_v4()
    );
    assert_eq!(h.put(&at, assignment(&h, IMAGE_ROLE, &fx.principal)).await.status, StatusCode::CREATED);

    // Reader on the storage account reads no scripts.
    assign(&h, &fx.account_id, READER, &fx.principal).await;
    let path = template_path(&fx, "it-access");
    let status = create(&h, &path, template(&fx)).await;
    assert_eq!(status["status"], "Failed", "{status}");
    let error = &h.get(&format!("{path}?api-version={AIB_API}")).await.body["properties"]["provisioningError"];
    assert_eq!(error["provisioningErrorCode"], "Other");
    assert!(error["message"].as_str().unwrap().contains("blobs/read"), "{error}");

    // Storage Blob Data Reader does; the custom role distributes.
    assign(&h, &fx.account_id, BLOB_READER, &fx.principal).await;
    let r = h.put(&format!("{path}?api-version={AIB_API}"), template(&fx)).await;
    assert_eq!(h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await["status"], "Succeeded");
    let status = run(&h, &path).await;
    assert_eq!(status["runState"], "Succeeded", "{status}");
    assert_eq!(versions(&h, &fx.image_id).await, 1);

    // The role loses versions/write between creation and build: the build fails when it distributes.
    let r = h.put(&definition_path(&fx.gallery_rg, IMAGE_ROLE), role(&GALLERY_ACTIONS[..3])).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let status = run(&h, &path).await;
    assert_eq!(status["runState"], "Failed", "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains(
            "does not have authorization to perform action 'Microsoft.Compute/galleries/images/versions/write'"
        ) && message.contains(&fx.principal),
        "{message}"
    );
    assert_eq!(versions(&h, &fx.image_id).await, 1, "no version written");

    // Built-in Contributor on the gallery's group lets it write versions again.
    assign(&h, &fx.gallery_rg, CONTRIBUTOR, &fx.principal).await;
    assert_eq!(run(&h, &path).await["runState"], "Succeeded");
    assert_eq!(versions(&h, &fx.image_id).await, 2);
    h.stop().await;
}

#[tokio::test]
async fn a_blob_role_taken_away_fails_the_download() {
    let mut config = Config::for_tests();
    fast(&mut config);
    let h = Harness::start(config).await;
    let fx = fixture(&h, true).await;
    upload(&h, "aibscripts", "scripts/install.sh", SCRIPT).await;
    let path = template_path(&fx, "it-blob");
    assert_eq!(create(&h, &path, template(&fx)).await["status"], "Succeeded");
    let assignments = h
        .get(&format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHZ_API}&$filter=atScope()",
            fx.account_id
        ))
        .await;
    let blob_reader = assignments.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["properties"]["roleDefinitionId"].as_str().is_some_and(|r| r.ends_with(BLOB_READER)))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(h.delete(&format!("{blob_reader}?api-version={AUTHZ_API}")).await.status, StatusCode::OK);
    let status = run(&h, &path).await;
    assert_eq!(status["runState"], "Failed", "{status}");
    let log = h.http.get(h.url("/_emulator/logs/it-blob")).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("403 AuthorizationPermissionMismatch"), "{log}");
    assert_eq!(json!(versions(&h, &fx.image_id).await), json!(0));
    h.stop().await;
}
