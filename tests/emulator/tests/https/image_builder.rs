//! Image Builder (`Microsoft.VirtualMachineImages/imageTemplates` 2024-02-01) over HTTPS: creation checks,
//! immutability, staging resources, builds with their log, failures, cancellation and deletion.

use std::time::{Duration, Instant};

use agentpool_emulator::kinds::image_templates::settings::{Failure, PhaseMs};
use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Harness, Reply, AUTHZ_API, GALLERY_API, MSI_API, RG_API, STORAGE_API};

pub const AIB_API: &str = "2024-02-01";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

/// Resources a template needs.
pub struct Fixture {
    pub rg: String,
    pub identity_id: String,
    pub principal: String,
    pub gallery_rg: String,
    pub image_id: String,
    pub account_id: String,
    /// `primaryEndpoints.blob` of the scripts account.
    pub endpoint: String,
}

fn ok(r: &Reply) {
    assert!(r.status.is_success(), "{:?} {:?}", r.status, r.body);
}

/// Quick phases: 150 ms each, customizing 700 ms (so its log visibly grows), canceling 100 ms.
pub fn quick(config: &mut Config) {
    config.lro_delay_ms = 50;
    config.aib_phase_ms =
        ["total=1300", "customizing=700", "canceling=100"].iter().map(|s| PhaseMs::parse(s).unwrap()).collect();
}

/// Fast phases for tests that only look at the outcome: 50 ms each, customizing 100 ms.
pub fn fast(config: &mut Config) {
    quick(config);
    config.aib_phase_ms =
        ["total=300", "customizing=100", "canceling=50"].iter().map(|s| PhaseMs::parse(s).unwrap()).collect();
}

pub async fn assign(h: &Harness, scope: &str, role: &str, principal: &str) {
    let role = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        h.ready().subscription_id
    );
    let path = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHZ_API}",
        uuid::Uuid::new_v4()
    );
    let r = h.put(&path, json!({"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

/// Groups, identity, scripts account and gallery image; with `roles`, the identity may use them.
pub async fn fixture(h: &Harness, roles: bool) -> Fixture {
    let rg = h.sub("/resourceGroups/rg-aib");
    let gallery_rg = h.sub("/resourceGroups/rg-gallery");
    for group in [&rg, &gallery_rg] {
        ok(&h.put(&format!("{group}?api-version={RG_API}"), json!({"location": "westeurope"})).await);
    }
    let identity_id = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aib");
    let r = h.put(&format!("{identity_id}?api-version={MSI_API}"), json!({"location": "westeurope"})).await;
    ok(&r);
    let principal = r.body["properties"]["principalId"].as_str().unwrap().to_string();

    let account_id = format!("{rg}/providers/Microsoft.Storage/storageAccounts/aibscripts");
    let r = h
        .put(
            &format!("{account_id}?api-version={STORAGE_API}"),
            json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"}),
        )
        .await;
    let account = h.wait_location(&r.header("location").unwrap()).await;
    let endpoint = account.body["properties"]["primaryEndpoints"]["blob"].as_str().unwrap().to_string();
    ok(&h
        .put(&format!("{account_id}/blobServices/default/containers/scripts?api-version={STORAGE_API}"), json!({}))
        .await);

    let gallery = format!("{gallery_rg}/providers/Microsoft.Compute/galleries/gal");
    let r = h.put(&format!("{gallery}?api-version={GALLERY_API}"), json!({"location": "westeurope"})).await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    let image_id = format!("{gallery}/images/ubuntu");
    let r = h
        .put(
            &format!("{image_id}?api-version={GALLERY_API}"),
            json!({"location": "westeurope", "properties": {"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2",
                "identifier": {"publisher": "agentpool", "offer": "ubuntu", "sku": "24_04"}}}),
        )
        .await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    if roles {
        assign(h, &gallery_rg, CONTRIBUTOR, &principal).await;
        assign(h, &account_id, BLOB_READER, &principal).await;
    }
    Fixture { rg, identity_id, principal, gallery_rg, image_id, account_id, endpoint }
}

/// Uploads a script through the admin blob route (the blob service, or memory without one).
pub async fn upload(h: &Harness, account: &str, path: &str, text: &str) {
    let url = h.url(&format!("/_emulator/blobs/{account}/{path}"));
    let r = h.http.put(url).body(text.to_string()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

pub const SCRIPT: &str =
    "#!/bin/bash\nset -e\necho \"Installing tools\"\napt-get install -y jq\necho 'Tools installed'\n";

/// A Linux template: a script from the scripts account, an inline step, one gallery distribution.
pub fn template(fx: &Fixture) -> Value {
    json!({
        "location": "westeurope",
        "tags": {"purpose": "test"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {fx.identity_id.clone(): {}}},
        "properties": {
            "buildTimeoutInMinutes": 60,
            "vmProfile": {"vmSize": "Standard_D2s_v3", "osDiskSizeGB": 64},
            "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
            "customize": [
                {"type": "Shell", "name": "install-tools", "scriptUri": format!("{}scripts/install.sh", fx.endpoint)},
                {"type": "Shell", "name": "cleanup", "inline": ["echo Cleaning up", "rm -rf /tmp/*", "echo \"Done\""]}
            ],
            "distribute": [{
                "type": "SharedImage", "runOutputName": "gallery", "galleryImageId": fx.image_id,
                "artifactTags": {"source": "agentpool"}, "excludeFromLatest": false,
                "targetRegions": [{"name": "westeurope", "replicaCount": 2, "storageAccountType": "Standard_ZRS"}, {"name": "northeurope"}],
                "versioning": {"scheme": "Latest", "major": 1}
            }]
        }
    })
}

pub fn template_path(fx: &Fixture, name: &str) -> String {
    format!("{}/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}", fx.rg)
}

/// PUTs a template and waits for its creation; the final operation status.
pub async fn create(h: &Harness, path: &str, body: Value) -> Value {
    let r = h.put(&format!("{path}?api-version={AIB_API}"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    h.wait_async_operation(&r.header("azure-asyncoperation").expect("Azure-AsyncOperation")).await
}

async fn post(h: &Harness, path: &str, action: &str) -> Reply {
    h.call(Method::POST, &format!("{path}/{action}?api-version={AIB_API}"), None).await
}

async fn log_of(h: &Harness, name: &str) -> String {
    let r = h.http.get(h.url(&format!("/_emulator/logs/{name}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn run_state(h: &Harness, path: &str) -> Value {
    let r = h.get(&format!("{path}?api-version={AIB_API}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["properties"]["lastRunStatus"].clone()
}

/// Polls the template until its build ends; the sub-states seen while running and the final status.
pub async fn wait_build(h: &Harness, path: &str) -> (Vec<String>, Value) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let status = run_state(h, path).await;
        let state = status["runState"].as_str().unwrap_or_default();
        if !matches!(state, "Running" | "Canceling") {
            return (seen, status);
        }
        let sub = status["runSubState"].as_str().unwrap_or_default().to_string();
        if seen.last() != Some(&sub) {
            seen.push(sub);
        }
        assert!(Instant::now() < deadline, "build never ended: {status}");
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

#[tokio::test]
async fn template_lifecycle_build_and_log() {
    let mut config = Config::for_tests();
    quick(&mut config);
    let h = Harness::start(config).await;
    let fx = fixture(&h, true).await;
    let account = fx.account_id.rsplit('/').next().unwrap().to_string();
    upload(&h, &account, "scripts/install.sh", SCRIPT).await;
    let path = template_path(&fx, "it-linux");
    let url = format!("{path}?api-version={AIB_API}");
    let body = template(&fx);

    let status = create(&h, &path, body.clone()).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    let got = h.get(&url).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(got.body["type"], "Microsoft.VirtualMachineImages/imageTemplates");
    let identity = &got.body["identity"]["userAssignedIdentities"][&fx.identity_id];
    assert_eq!(identity["principalId"], fx.principal.as_str());
    assert!(identity["clientId"].is_string());
    assert!(got.body["properties"].get("lastRunStatus").is_none(), "never built");

    // The staging resource group, tagged as Image Builder tags it, with its storage and log container.
    let staging = got.body["properties"]["exactStagingResourceGroup"].as_str().unwrap().to_string();
    let staging_name = staging.rsplit('/').next().unwrap();
    assert!(staging_name.starts_with("IT_rg-aib_it-linux_"), "{staging_name}");
    let group = h.get(&format!("{staging}?api-version={RG_API}")).await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(
        group.body["tags"],
        json!({"createdBy": "AzureVMImageBuilder", "imageTemplateName": "it-linux", "imageTemplateResourceGroupName": "rg-aib"})
    );
    let accounts =
        h.get(&format!("{staging}/providers/Microsoft.Storage/storageAccounts?api-version={STORAGE_API}")).await;
    let staging_account = &accounts.body["value"][0];
    assert_eq!(staging_account["name"].as_str().unwrap().len(), 24);
    assert_eq!(staging_account["properties"]["primaryEndpoints"]["blob"], "https://127.0.0.1:10000/aibstaging/");
    let containers = h
        .get(&format!(
            "{}/blobServices/default/containers?api-version={STORAGE_API}",
            staging_account["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(containers.body["value"][0]["name"], "packerlogs");

    // Immutable: the same template again is fine, a changed one (even its tags) is not; PATCH changes tags.
    let again = h.put(&url, body.clone()).await;
    assert_eq!(
        (again.status, again.body["properties"]["provisioningState"].as_str()),
        (StatusCode::OK, Some("Updating"))
    );
    h.wait_async_operation(&again.header("azure-asyncoperation").unwrap()).await;
    let mut changed = body.clone();
    changed["properties"]["vmProfile"]["vmSize"] = json!("Standard_D4s_v3");
    let r = h.put(&url, changed).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "InvalidUpdate"), "{:?}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("delete and recreate"));
    let mut retagged = body.clone();
    retagged["tags"] = json!({"purpose": "other"});
    assert_eq!(h.put(&url, retagged).await.code(), "InvalidUpdate");
    let r = h.call(Method::PATCH, &url, Some(json!({"tags": {"purpose": "patched"}}))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tags"], json!({"purpose": "patched"}));
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    let r =
        h.call(Method::PATCH, &url, Some(json!({"properties": {"vmProfile": {"vmSize": "Standard_D8s_v3"}}}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "InvalidUpdate"));

    // A build: 202, sub-states in order, the log grows while it runs.
    let r = post(&h, &path, "run").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert!(r.header("location").is_some());
    let operation = r.header("azure-asyncoperation").expect("Azure-AsyncOperation");
    let again = post(&h, &path, "run").await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "Conflict"));
    let mut sizes: Vec<usize> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let finished = loop {
        let status = run_state(&h, &path).await;
        if status["runState"] != "Running" {
            break status;
        }
        assert!(status["startTime"].is_string() && status.get("endTime").is_none(), "{status}");
        let sub = status["runSubState"].as_str().unwrap().to_string();
        if seen.last() != Some(&sub) {
            seen.push(sub.clone());
        }
        if sub == "Customizing" {
            let lines = log_of(&h, "it-linux").await.lines().count();
            if sizes.last() != Some(&lines) {
                sizes.push(lines);
            }
        }
        assert!(Instant::now() < deadline, "build never ended");
        tokio::time::sleep(Duration::from_millis(15)).await;
    };
    // Every phase lasts 150 ms or more; a poll that a loaded machine answers late may miss one.
    let order = ["Queued", "Building", "Customizing", "Optimizing", "Distributing"];
    let at: Vec<usize> = seen.iter().map(|s| order.iter().position(|o| o == s).expect("a known sub-state")).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]) && seen.len() >= 4, "sub-states in order: {seen:?}");
    assert!(seen.contains(&"Customizing".to_string()));
    assert!(sizes.len() >= 3, "the log grows while customizing: {sizes:?}");
    assert_eq!(finished["runState"], "Succeeded", "{finished}");
    assert_eq!(finished["runSubState"], "Distributing");
    assert_eq!(finished["message"], "");
    assert!(finished["endTime"].is_string());
    assert_eq!(h.wait_async_operation(&operation).await["status"], "Succeeded");

    let log = log_of(&h, "it-linux").await;
    for expected in [
        "==> azure-arm: Provisioning with shell script: https://127.0.0.1:10000/aibscripts/scripts/install.sh",
        "    azure-arm: Installing tools",
        "    azure-arm: Tools installed",
        "    azure-arm: Cleaning up",
        "    azure-arm: Done",
        "Builds finished. The artifacts of successful builds are:",
    ] {
        assert!(log.contains(expected), "{expected:?} not in\n{log}");
    }
    assert!(!log.contains("apt-get"), "only what the script prints");
    // The same log is the staging account's blob (in memory here; in Azurite with a blob service).
    let run_id = log.lines().next().unwrap().split('\'').nth(1).unwrap().to_string();
    let blob = h
        .http
        .get(h.url(&format!("/_emulator/blobs/aibstaging/packerlogs/{run_id}/customization.log")))
        .send()
        .await
        .unwrap();
    assert_eq!(blob.text().await.unwrap(), log);

    // The version (Latest, major 1), its regions and tags, and the run output naming it.
    let version = h.get(&format!("{}/versions/1.0.0?api-version={GALLERY_API}", fx.image_id)).await;
    assert_eq!(version.status, StatusCode::OK, "{:?}", version.body);
    assert_eq!(version.body["tags"], json!({"source": "agentpool"}));
    let publishing = &version.body["properties"]["publishingProfile"];
    assert_eq!(
        publishing["targetRegions"][0],
        json!({"name": "westeurope", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS", "excludeFromLatest": false})
    );
    assert_eq!(publishing["targetRegions"][1]["name"], "northeurope");
    let outputs = h.get(&format!("{path}/runOutputs?api-version={AIB_API}")).await;
    assert_eq!(outputs.body["value"].as_array().unwrap().len(), 1);
    let output = h.get(&format!("{path}/runOutputs/gallery?api-version={AIB_API}")).await;
    assert_eq!(output.body["properties"]["artifactId"], version.body["id"]);
    assert_eq!(output.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(output.body["type"], "Microsoft.VirtualMachineImages/imageTemplates/runOutputs");
    assert_eq!(h.get(&format!("{path}/runOutputs/nope?api-version={AIB_API}")).await.status, StatusCode::NOT_FOUND);

    // A second build makes the next version.
    let r = post(&h, &path, "run").await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    assert_eq!(
        h.get(&format!("{}/versions/1.0.1?api-version={GALLERY_API}", fx.image_id)).await.status,
        StatusCode::OK
    );

    // Lists.
    for list in [
        format!("{}/providers/Microsoft.VirtualMachineImages/imageTemplates", fx.rg),
        h.sub("/providers/Microsoft.VirtualMachineImages/imageTemplates"),
    ] {
        let r = h.get(&format!("{list}?api-version={AIB_API}")).await;
        assert_eq!(r.body["value"][0]["name"], "it-linux", "{list}");
    }

    // Cancel a build; no deletion while it runs; then the template and its staging group go.
    let r = post(&h, &path, "run").await;
    let build = r.header("azure-asyncoperation").unwrap();
    let r = h.delete(&url).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "Conflict"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("while a build is running"));
    let r = post(&h, &path, "cancel").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let cancel = r.header("azure-asyncoperation").unwrap();
    assert_eq!(run_state(&h, &path).await["runState"], "Canceling");
    assert_eq!(h.delete(&url).await.code(), "Conflict");
    assert_eq!(h.wait_async_operation(&cancel).await["status"], "Succeeded");
    let ended = h.wait_async_operation(&build).await;
    assert_eq!(ended["status"], "Canceled");
    assert_eq!(ended["error"]["code"], "OperationCanceled");
    let (_, status) = wait_build(&h, &path).await;
    assert_eq!(status["runState"], "Canceled");
    let r = post(&h, &path, "cancel").await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "Conflict"), "nothing to cancel");

    let r = h.delete(&url).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.header("azure-asyncoperation").is_some());
    ok(&h.wait_location(&r.header("location").unwrap()).await);
    assert_eq!(h.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&format!("{staging}?api-version={RG_API}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&url).await.status, StatusCode::NO_CONTENT);
    h.stop().await;
}

#[tokio::test]
async fn provisioning_fails_without_the_roles_image_builder_needs() {
    let mut config = Config::for_tests();
    quick(&mut config);
    let h = Harness::start(config).await;
    let fx = fixture(&h, false).await;
    let path = template_path(&fx, "it-denied");
    let url = format!("{path}?api-version={AIB_API}");
    let body = template(&fx);

    let status = create(&h, &path, body.clone()).await;
    assert_eq!(status["status"], "Failed");
    assert!(status["error"]["message"].as_str().unwrap().contains("does not have authorization"), "{status}");
    let got = h.get(&url).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Failed");
    assert_eq!(got.body["properties"]["provisioningError"]["provisioningErrorCode"], "BadSharedImageDistribute");
    assert!(got.body["properties"]["provisioningError"]["message"].as_str().unwrap().contains(&fx.principal));
    let r = post(&h, &path, "run").await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "Conflict"), "a failed template does not build");

    // The gallery role alone: now the script's storage account is the problem.
    assign(&h, &fx.gallery_rg, CONTRIBUTOR, &fx.principal).await;
    let r = h.put(&url, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await["status"], "Failed");
    let error = &h.get(&url).await.body["properties"]["provisioningError"];
    assert_eq!(error["provisioningErrorCode"], "Other");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("Storage Blob Data Reader") && message.contains("aibscripts"), "{message}");

    // A role at the subscription (a role at a broader scope covers the account): provisioned.
    assign(&h, &h.sub(""), BLOB_READER, &fx.principal).await;
    let r = h.put(&url, body).await;
    assert_eq!(h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await["status"], "Succeeded");
    let got = h.get(&url).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    assert!(got.body["properties"].get("provisioningError").is_none());
    h.stop().await;
}

#[tokio::test]
async fn bodies_are_checked_as_the_swagger_says() {
    let h = Harness::default().await;
    let fx = fixture(&h, true).await;
    let url = format!("{}?api-version={AIB_API}", template_path(&fx, "it-bad"));
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Change, StatusCode, &str, &str)> = vec![
        (
            Box::new(|b| b.as_object_mut().unwrap().remove("identity").map(drop).unwrap()),
            StatusCode::BAD_REQUEST,
            "MissingRequiredProperty",
            "identity",
        ),
        (
            Box::new(
                |b| b["identity"]["userAssignedIdentities"] = json!({"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost": {}}),
            ),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "identity.userAssignedIdentities",
        ),
        (
            Box::new(|b| b["properties"]["source"]["type"] = json!("Iso")),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "properties.source.type",
        ),
        (
            Box::new(|b| b["properties"]["distribute"][0]["runOutputName"] = json!("a/b")),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "properties.distribute[0].runOutputName",
        ),
        (
            Box::new(|b| b["properties"]["buildTimeoutInMinutes"] = json!(961)),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "properties.buildTimeoutInMinutes",
        ),
        (
            Box::new(|b| b["properties"]["customize"][0]["type"] = json!("shell")),
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "properties.customize[0].type",
        ),
    ];
    for (change, status, code, target) in cases {
        let mut body = template(&fx);
        change(&mut body);
        let r = h.put(&url, body).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["target"].as_str().unwrap_or_default()),
            (status, code, target),
            "{:?}",
            r.body
        );
    }
    let bad_name =
        format!("{}/providers/Microsoft.VirtualMachineImages/imageTemplates/bad%20name?api-version={AIB_API}", fx.rg);
    assert_eq!(h.put(&bad_name, template(&fx)).await.code(), "InvalidResourceName");
    h.stop().await;
}

/// Builds `body` as template `name` and waits for the end; the final `lastRunStatus`, the operation and the log.
async fn build(h: &Harness, fx: &Fixture, name: &str, body: Value) -> (Value, Value, String) {
    let path = template_path(fx, name);
    assert_eq!(create(h, &path, body).await["status"], "Succeeded");
    let r = post(h, &path, "run").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let operation = h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    let (_, status) = wait_build(h, &path).await;
    (status, operation, log_of(h, name).await)
}

#[tokio::test]
async fn build_failures_like_image_builder() {
    let mut config = Config::for_tests();
    fast(&mut config);
    let h = Harness::start(config).await;
    let fx = fixture(&h, true).await;

    // No script at the scriptUri: the customization fails with the packerizer message.
    let (status, operation, log) = build(&h, &fx, "it-missing", template(&fx)).await;
    assert_eq!((status["runState"].as_str(), status["runSubState"].as_str()), (Some("Failed"), Some("Customizing")));
    let message = status["message"].as_str().unwrap();
    assert!(message.starts_with("Failed while waiting for packerizer: Microservice has failed"), "{message}");
    assert!(
        message.contains("Image Build log location: https://aibstaging.blob.core.windows.net/packerlogs/"),
        "{message}"
    );
    assert!(message.ends_with("/customization.log"));
    assert_eq!(
        (operation["status"].as_str(), operation["error"]["code"].as_str()),
        (Some("Failed"), Some("ImageTemplateBuildFailed"))
    );
    assert_eq!(operation["error"]["message"], status["message"]);
    assert!(log.contains("404 BlobNotFound") && log.contains("Build 'azure-arm' errored"), "{log}");
    assert!(!log.contains("Cleaning up"), "the build stops at the failing step");
    assert_eq!(
        h.get(&format!("{}/runOutputs?api-version={AIB_API}", template_path(&fx, "it-missing"))).await.body["value"],
        json!([])
    );

    let account = fx.account_id.rsplit('/').next().unwrap().to_string();
    upload(&h, &account, "scripts/install.sh", SCRIPT).await;

    // A customizer failing on purpose (tag emulator.fail).
    let mut body = template(&fx);
    body["tags"] = json!({"emulator.fail": "customizer:cleanup"});
    let (status, _, log) = build(&h, &fx, "it-step", body).await;
    assert_eq!(status["runState"], "Failed");
    assert!(log.contains("Installing tools") && log.contains("Cleaning up"), "{log}");
    assert!(log.contains("Script exited with non-zero exit status: 1"), "{log}");

    // A timeout.
    let mut body = template(&fx);
    body["tags"] = json!({"emulator.fail": "timeout"});
    let (status, _, _) = build(&h, &fx, "it-timeout", body).await;
    assert_eq!(status["runState"], "Failed");
    assert!(status["message"].as_str().unwrap().contains("context deadline exceeded"));

    // One of two distributions failing: PartiallySucceeded, a failed run output.
    let mut body = template(&fx);
    body["tags"] = json!({"emulator.fail": "distribute:second"});
    body["properties"]["distribute"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "ManagedImage", "runOutputName": "second",
        "imageId": format!("{}/providers/Microsoft.Compute/images/img", fx.rg), "location": "westeurope"}));
    let (status, operation, _) = build(&h, &fx, "it-partial", body).await;
    assert_eq!(status["runState"], "PartiallySucceeded");
    assert!(status["message"].as_str().unwrap().contains("'second'"));
    assert_eq!(operation["error"]["code"], "ImageTemplateBuildPartiallySucceeded");
    let outputs = template_path(&fx, "it-partial");
    let second = h.get(&format!("{outputs}/runOutputs/second?api-version={AIB_API}")).await;
    assert_eq!(second.body["properties"]["provisioningState"], "Failed");
    let gallery = h.get(&format!("{outputs}/runOutputs/gallery?api-version={AIB_API}")).await;
    assert_eq!(gallery.body["properties"]["provisioningState"], "Succeeded");

    // A role removed after creation: the download is refused (403) at build time.
    let assignments = h
        .get(&format!("{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHZ_API}", fx.account_id))
        .await;
    let path = template_path(&fx, "it-revoked");
    assert_eq!(create(&h, &path, template(&fx)).await["status"], "Succeeded");
    for a in assignments.body["value"].as_array().unwrap() {
        if a["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(BLOB_READER) {
            ok(&h.delete(&format!("{}?api-version={AUTHZ_API}", a["id"].as_str().unwrap())).await);
        }
    }
    let r = post(&h, &path, "run").await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    assert!(log_of(&h, "it-revoked").await.contains("403 AuthorizationPermissionMismatch"));
    h.stop().await;
}

#[tokio::test]
async fn emulator_wide_failures_and_explicit_versions() {
    let mut config = Config::for_tests();
    fast(&mut config);
    config.aib_fail = vec![Failure::parse("distribute").unwrap()];
    let h = Harness::start(config).await;
    let fx = fixture(&h, true).await;
    let account = fx.account_id.rsplit('/').next().unwrap().to_string();
    upload(&h, &account, "scripts/install.sh", SCRIPT).await;
    let (status, _, _) = build(&h, &fx, "it-flag", template(&fx)).await;
    assert_eq!(status["runState"], "Failed", "--aib-fail distribute");
    assert!(status["message"].as_str().unwrap().starts_with("Failed to distribute the image to 'gallery'"));

    // The tag wins over the flag; an explicit version id names the version.
    let mut body = template(&fx);
    body["tags"] = json!({"emulator.fail": "customizer:nothing-by-that-name"});
    let distributor = &mut body["properties"]["distribute"][0];
    distributor["galleryImageId"] = json!(format!("{}/versions/0.24322.55884", fx.image_id));
    distributor.as_object_mut().unwrap().remove("versioning");
    let (status, _, _) = build(&h, &fx, "it-version", body).await;
    assert_eq!(status["runState"], "Succeeded", "{status}");
    let version = h.get(&format!("{}/versions/0.24322.55884?api-version={GALLERY_API}", fx.image_id)).await;
    assert_eq!(version.status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test]
async fn a_build_goes_on_after_a_restart() {
    let dir = crate::support::temp_dir("aib-restart");
    let mut config = Config::for_tests();
    fast(&mut config);
    config.state_file = Some(dir.join("state.json"));
    let h = Harness::start(config.clone()).await;
    let fx = fixture(&h, true).await;
    let mut body = template(&fx);
    body["properties"]["customize"].as_array_mut().unwrap().remove(0);
    let path = template_path(&fx, "it-restart");
    assert_eq!(create(&h, &path, body).await["status"], "Succeeded");
    let r = post(&h, &path, "run").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    h.stop().await;

    let h = Harness::start(config).await;
    let (_, status) = wait_build(&h, &path).await;
    assert_eq!(status["runState"], "Succeeded", "{status}");
    assert!(log_of(&h, "it-restart").await.contains("azure-arm: Cleaning up"));
    assert_eq!(
        h.get(&format!("{}/versions/1.0.0?api-version={GALLERY_API}", fx.image_id)).await.status,
        StatusCode::OK
    );
    h.stop().await;
    crate::support::cleanup(&[&dir]);
}
