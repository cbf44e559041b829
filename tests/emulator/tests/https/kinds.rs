//! Resource kinds over HTTPS: storage (Location LRO), containers, galleries and images
//! (Azure-AsyncOperation LRO), image versions, role assignments.

use agentpool_emulator::kinds::gallery_image_versions::create_version;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, AUTHZ_API, GALLERY_API, RG_API, STORAGE_API};

async fn group(h: &Harness, name: &str) -> String {
    let rg = h.sub(&format!("/resourceGroups/{name}"));
    let r = h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    rg
}

#[tokio::test]
async fn storage_account_creation_is_polled_through_location() {
    let h = Harness::default().await;
    let rg = group(&h, "rg").await;
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpoolsa?api-version={STORAGE_API}");
    let body = json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope",
        "properties": {"allowBlobPublicAccess": false, "minimumTlsVersion": "TLS1_2"}});
    let r = h.put(&account, body.clone()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body, serde_json::Value::Null);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    let location = r.header("location").expect("Location");
    assert!(location.starts_with(&format!("{}/subscriptions/", h.ready().arm_endpoint)), "{location}");
    // Invisible until the creation completes.
    assert_eq!(h.get(&account).await.status, StatusCode::NOT_FOUND);

    let done = h.wait_location(&location).await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(done.body["properties"]["primaryEndpoints"]["blob"], "https://127.0.0.1:10000/agentpoolsa/");
    assert_eq!(done.body["sku"], json!({"name": "Standard_LRS", "tier": "Standard"}));
    assert!(done.body["properties"]["creationTime"].is_string());

    let r = h.get(&account).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, done.body);
    let r = h.put(&account, body).await;
    assert_eq!(r.status, StatusCode::OK, "an existing account updates synchronously");
    assert_eq!(r.body["properties"]["creationTime"], done.body["properties"]["creationTime"]);

    let other = h.sub(&format!(
        "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/Bad-Name?api-version={STORAGE_API}"
    ));
    let r =
        h.put(&other, json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "AccountNameInvalid"));

    let container = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpoolsa/blobServices/default/containers/scripts?api-version={STORAGE_API}");
    let r = h.put(&container, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["type"], "Microsoft.Storage/storageAccounts/blobServices/containers");
    assert_eq!(r.body["properties"]["publicAccess"], "None");
    assert_eq!(h.put(&container, json!({"properties": {"publicAccess": "None"}})).await.status, StatusCode::OK);
    let list = h.get(&format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpoolsa/blobServices/default/containers?api-version={STORAGE_API}")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(h.delete(&container).await.status, StatusCode::OK);
    assert_eq!(h.delete(&container).await.status, StatusCode::NO_CONTENT);

    assert_eq!(h.delete(&account).await.status, StatusCode::OK);
    assert_eq!(h.delete(&account).await.status, StatusCode::NO_CONTENT);
    h.stop().await;
}

#[tokio::test]
async fn gallery_image_is_polled_through_azure_async_operation() {
    let h = Harness::default().await;
    let rg = group(&h, "rg").await;
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal?api-version={GALLERY_API}");
    let image_path = format!("{rg}/providers/Microsoft.Compute/galleries/gal/images/img");
    let image = format!("{image_path}?api-version={GALLERY_API}");
    let image_body = json!({"location": "West Europe", "properties": {"osType": "Linux", "osState": "Generalized",
        "hyperVGeneration": "V2", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}});

    let r = h.put(&image, image_body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ParentResourceNotFound"));

    let r = h.put(&gallery, json!({"location": "westeurope", "properties": {"description": "images"}})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    let status = h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    assert_eq!(status["status"], "Succeeded");
    assert!(status["endTime"].is_string());

    let mut bad = image_body.clone();
    bad["properties"]["osType"] = json!("Linuxx");
    let r = h.put(&image, bad).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidRequestContent"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("properties.osType"));

    let r = h.put(&image, image_body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    let operation = r.header("azure-asyncoperation").expect("Azure-AsyncOperation");
    assert!(operation.starts_with(&h.ready().arm_endpoint));
    assert_eq!(h.get(&image).await.body["properties"]["provisioningState"], "Creating");
    assert_eq!(h.wait_async_operation(&operation).await["status"], "Succeeded");
    assert_eq!(h.get(&image).await.body["properties"]["provisioningState"], "Succeeded");

    let r = h.put(&image, image_body.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["properties"]["provisioningState"], "Updating");
    let mut changed = image_body.clone();
    changed["properties"]["osType"] = json!("Windows");
    let r = h.put(&image, changed).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "PropertyChangeNotAllowed"));

    // A version made by an emulated service (Image Builder), visible through ARM.
    let version_body = json!({"location": "westeurope", "properties": {"storageProfile": {"source": {"id": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/images/z"}}}});
    let created = create_version(h.emulator.app(), &image_path, "0.24322.55884", version_body).unwrap();
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    let versions = h.get(&format!("{image_path}/versions?api-version={GALLERY_API}")).await;
    assert_eq!(versions.body["value"][0]["name"], "0.24322.55884");
    assert_eq!(versions.body["value"][0]["properties"]["publishingProfile"]["targetRegions"][0]["name"], "westeurope");
    let r = h.delete(&image).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "CannotDeleteResource"));
    let r = h.delete(&format!("{image_path}/versions/0.24322.55884?api-version={GALLERY_API}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(h.wait_location(&r.header("location").unwrap()).await.status, StatusCode::OK);

    let r = h.delete(&gallery).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "CannotDeleteResource"));
    let r = h.delete(&image).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.header("azure-asyncoperation").is_some());
    assert_eq!(h.get(&image).await.body["properties"]["provisioningState"], "Deleting");
    assert_eq!(h.wait_location(&r.header("location").unwrap()).await.status, StatusCode::OK);
    let r = h.get(&image).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    assert_eq!(h.delete(&image).await.status, StatusCode::NO_CONTENT);
    h.stop().await;
}

#[tokio::test]
async fn role_assignments_conflicts_and_scopes() {
    let h = Harness::default().await;
    let rg = group(&h, "rg").await;
    let role = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        h.ready().subscription_id
    );
    let principal = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
    let body = json!({"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}});
    let at = |scope: &str, name: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHZ_API}")
    };
    let first = at(&rg, "05c5a614-a7d6-4502-b150-c2fb455033ff");

    let r = h.put(&first, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["properties"]["scope"], rg.as_str());
    assert_eq!(r.body["type"], "Microsoft.Authorization/roleAssignments");
    assert_eq!(h.put(&first, body.clone()).await.status, StatusCode::OK);
    let r = h.put(&at(&rg, "3f2d2e9a-2b50-4c8b-9b1e-0c5f8f1f6a11"), body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "RoleAssignmentExists"));
    let mut other = body.clone();
    other["properties"]["principalId"] = json!("11111111-2222-3333-4444-555555555555");
    let r = h.put(&first, other).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "RoleAssignmentUpdateNotPermitted"));
    let r = h.put(&at(&rg, "not-a-guid"), body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidRoleAssignmentId"));
    let missing = h.sub("/resourceGroups/nope");
    let r = h.put(&at(&missing, "6a1b7c3d-0000-4000-8000-000000000001"), body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    let sub_scope = h.sub("");
    assert_eq!(
        h.put(&at(&sub_scope, "6a1b7c3d-0000-4000-8000-000000000002"), body.clone()).await.status,
        StatusCode::CREATED
    );

    let list = |scope: &str, filter: &str| {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHZ_API}{filter}")
    };
    // The emulator's client holds Owner on the subscription (`--caller-role`): one more assignment above.
    let r = h.get(&list(&rg, "")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3, "at and above the group");
    let r = h.get(&list(&sub_scope, "")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3, "at and below the subscription");
    let r = h.get(&list(&sub_scope, "&$filter=atScope()")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2, "at or above only");
    let caller = format!("&$filter=principalId%20eq%20'{}'", h.ready().principal_id);
    let r = h.get(&list(&rg, &caller)).await;
    assert_eq!(
        r.body["value"][0]["properties"]["roleDefinitionId"],
        format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            h.ready().subscription_id
        )
    );
    let r = h.get(&list(&rg, "&$filter=principalId%20eq%20'00000000-0000-0000-0000-000000000000'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 0);

    let r = h.delete(&first).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"], "05c5a614-a7d6-4502-b150-c2fb455033ff");
    assert_eq!(h.delete(&first).await.status, StatusCode::NO_CONTENT);
    let r = h.get(&first).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "RoleAssignmentNotFound"));
    h.stop().await;
}
