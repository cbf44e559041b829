//! Recorded traffic validated by Microsoft's oav against the official swaggers.
//!
//! Fails (does not skip) when oav or the specs are missing: run `npm ci` in `tests/node` and keep
//! `../shared/specs` (or set `AGENTPOOL_SPECS_DIR`).

use std::path::Path;
use std::process::Command;

use agentpool_emulator::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{oav, specs_dir, temp_dir, Harness, AUTHZ_API, GALLERY_API, MSI_API, RG_API, STORAGE_API};

/// A valid deployment flow touching every kind (no intentionally bad requests).
async fn flow(h: &Harness) {
    let rg = h.sub("/resourceGroups/rg-oav");
    let ok = |r: &crate::support::Reply| assert!(r.status.is_success(), "{:?} {:?}", r.status, r.body);
    ok(&h.put(&format!("{rg}?api-version={RG_API}"), json!({"location": "westeurope", "tags": {"env": "test"}})).await);
    ok(&h.get(&format!("{rg}?api-version={RG_API}")).await);
    ok(&h.get(&h.sub(&format!("/resourcegroups?api-version={RG_API}"))).await);

    let identity =
        format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-agentpool?api-version={MSI_API}");
    let created = h.put(&identity, json!({"location": "westeurope", "tags": {"a": "b"}})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    ok(&h.put(&identity, json!({"location": "westeurope", "tags": {"a": "b"}})).await);
    ok(&h.get(&identity).await);
    ok(&h.get(&format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={MSI_API}")).await);

    let principal = created.body["properties"]["principalId"].as_str().unwrap().to_string();
    let assignment = format!("{rg}/providers/Microsoft.Authorization/roleAssignments/7b2f3c1e-8d4a-4f6b-9c0d-1e2f3a4b5c6d?api-version={AUTHZ_API}");
    let role = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        h.ready().subscription_id
    );
    let body = json!({"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}});
    ok(&h.put(&assignment, body.clone()).await);
    ok(&h.put(&assignment, body).await);
    ok(&h.get(&assignment).await);
    ok(&h.get(&format!("{rg}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHZ_API}")).await);

    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpooloav?api-version={STORAGE_API}");
    let r =
        h.put(&account, json!({"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westeurope"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    ok(&h.wait_location(&r.header("location").unwrap()).await);
    ok(&h.get(&account).await);
    let container = format!("{rg}/providers/Microsoft.Storage/storageAccounts/agentpooloav/blobServices/default/containers/scripts?api-version={STORAGE_API}");
    ok(&h.put(&container, json!({})).await);
    ok(&h.get(&container).await);

    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal_oav?api-version={GALLERY_API}");
    let r = h.put(&gallery, json!({"location": "westeurope", "properties": {"description": "d"}})).await;
    ok(&r);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    ok(&h.get(&gallery).await);
    let image = format!("{rg}/providers/Microsoft.Compute/galleries/gal_oav/images/ubuntu?api-version={GALLERY_API}");
    let r = h
        .put(
            &image,
            json!({"location": "westeurope", "properties": {"osType": "Linux", "osState": "Generalized",
        "hyperVGeneration": "V2", "identifier": {"publisher": "agentpool", "offer": "ubuntu", "sku": "24_04"}}}),
        )
        .await;
    ok(&r);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    ok(&h.get(&image).await);
    ok(&h.get(&format!("{rg}/providers/Microsoft.Compute/galleries/gal_oav/images?api-version={GALLERY_API}")).await);
    let r = h.delete(&image).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    ok(&h.wait_location(&r.header("location").unwrap()).await);
    assert_eq!(h.get(&image).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&image).await.status, StatusCode::NO_CONTENT);

    ok(&h.delete(&assignment).await);
    assert_eq!(h.delete(&assignment).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&identity).await.status, StatusCode::OK);
    assert_eq!(h.delete(&identity).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.delete(&account).await.status, StatusCode::OK);
    let r = h.delete(&format!("{rg}?api-version={RG_API}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    ok(&h.wait_location(&r.header("location").unwrap()).await);
}

/// Runs oav over `traffic` against `spec`; returns its JSON report.
pub fn run_oav(traffic: &Path, spec: &Path, report: &Path) -> Value {
    let output = Command::new(oav())
        .arg("validate-traffic")
        .arg(traffic)
        .arg(spec)
        .args(["--report", ""])
        .arg("--jsonReport")
        .arg(report)
        .output()
        .unwrap_or_else(|e| panic!("cannot run oav at {}: {e} (run `npm ci` in tests/node)", oav().display()));
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!("oav wrote no report ({e}); exit {:?}\n{}", output.status, String::from_utf8_lossy(&output.stdout))
    });
    serde_json::from_str(&text).expect("oav JSON report")
}

/// Runs oav over `traffic` for each `(swagger relative to specs, least operations covered)` and
/// fails with every problem at once: too few operations covered, errors, failed operations.
pub fn assert_oav_cases<S: AsRef<str>>(traffic: &Path, specs: &Path, cases: &[(S, u64)], reports: &Path) {
    let mut failures = Vec::new();
    for (i, (spec, min_covered)) in cases.iter().enumerate() {
        let spec = spec.as_ref();
        let report = run_oav(traffic, &specs.join(spec), &reports.join(format!("{i}.json")));
        let covered = report["coveredOperations"].as_u64().unwrap_or(0);
        let errors = report["errors"].as_array().cloned().unwrap_or_default();
        if covered < *min_covered || !errors.is_empty() || report["failedOperations"].as_u64() != Some(0) {
            failures.push(format!("{spec}: covered {covered} (want ≥ {min_covered}), errors {}", Value::Array(errors)));
        }
    }
    assert!(failures.is_empty(), "oav found problems:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn recorded_traffic_passes_oav() {
    let specs = specs_dir().join("azure-rest-api-specs/specification");
    assert!(specs.is_dir(), "specs missing at {} (set AGENTPOOL_SPECS_DIR)", specs.display());
    assert!(oav().exists(), "oav missing at {} (run `npm ci` in tests/node)", oav().display());

    let traffic = temp_dir("oav-traffic");
    let mut config = Config::for_tests();
    config.traffic_dir = Some(traffic.clone());
    config.lro_delay_ms = 50;
    let h = Harness::start(config).await;
    let endpoint = h.ready().arm_endpoint.clone();
    flow(&h).await;
    h.stop().await;

    let mut files: Vec<_> = std::fs::read_dir(&traffic).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() > 30, "{} traffic files", files.len());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let exchange: Value = serde_json::from_str(&text).unwrap();
        assert!(exchange["liveRequest"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://management.azure.com/subscriptions/"));
        assert!(exchange["liveResponse"]["statusCode"].is_string());
        assert!(exchange["liveRequest"]["headers"].get("authorization").is_none());
        assert!(!text.contains("Bearer ") && !text.contains(&endpoint), "{}", file.display());
    }
    let first = files[0].file_name().unwrap().to_str().unwrap();
    assert!(first.starts_with("000000-PUT-resourceGroups"), "{first}");

    let cases = [
        ("compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json", 6),
        ("msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json", 4),
        ("authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json", 3),
        ("resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json", 4),
        ("storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json", 3),
        ("storage/resource-manager/Microsoft.Storage/stable/2023-05-01/blob.json", 2),
    ];
    let reports = temp_dir("oav-reports");
    assert_oav_cases(&traffic, &specs, &cases, &reports);

    // Negative control: the same validation flags a status code the swagger does not list.
    let control = temp_dir("oav-control");
    let created =
        files.iter().find(|f| f.to_string_lossy().contains("-PUT-storageAccounts")).expect("storage PUT recorded");
    let mut exchange: Value = serde_json::from_str(&std::fs::read_to_string(created).unwrap()).unwrap();
    exchange["liveResponse"]["statusCode"] = json!("201");
    std::fs::write(control.join("000000-PUT-storageAccounts.json"), exchange.to_string()).unwrap();
    let storage = specs.join(cases[4].0);
    let report = run_oav(&control, &storage, &reports.join("control.json"));
    assert_eq!(report["errors"][0]["errorCode"], "INVALID_RESPONSE_CODE", "{report}");
    crate::support::cleanup(&[&traffic, &reports, &control]);
}

/// Every Image Builder operation the emulator serves, including error answers to valid requests (`default`
/// responses; oav also checks requests, so none is malformed).
async fn image_builder_flow(h: &Harness) {
    use crate::image_builder::{create, fixture, template, template_path, upload, AIB_API, SCRIPT};
    let ok = |r: &crate::support::Reply| assert!(r.status.is_success(), "{:?} {:?}", r.status, r.body);
    let fx = fixture(h, true).await;
    upload(h, "aibscripts", "scripts/install.sh", SCRIPT).await;
    let path = template_path(&fx, "it-oav");
    let url = format!("{path}?api-version={AIB_API}");
    let body = template(&fx);
    assert_eq!(create(h, &path, body.clone()).await["status"], "Succeeded");
    let r = h.put(&url, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    let mut changed = body.clone();
    changed["properties"]["buildTimeoutInMinutes"] = json!(90);
    assert_eq!(h.put(&url, changed).await.status, StatusCode::CONFLICT);
    ok(&h.get(&url).await);
    ok(&h
        .get(&format!("{}/providers/Microsoft.VirtualMachineImages/imageTemplates?api-version={AIB_API}", fx.rg))
        .await);
    ok(&h
        .get(&h.sub(&format!("/providers/Microsoft.VirtualMachineImages/imageTemplates?api-version={AIB_API}")))
        .await);
    let r = h.call(reqwest::Method::PATCH, &url, Some(json!({"tags": {"env": "oav"}}))).await;
    ok(&r);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;

    let post = |action: &str| format!("{path}/{action}?api-version={AIB_API}");
    let r = h.call(reqwest::Method::POST, &post("run"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(h.call(reqwest::Method::POST, &post("run"), None).await.status, StatusCode::CONFLICT);
    assert_eq!(h.delete(&url).await.status, StatusCode::CONFLICT);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    ok(&h.get(&url).await);
    ok(&h.get(&format!("{path}/runOutputs?api-version={AIB_API}")).await);
    ok(&h.get(&format!("{path}/runOutputs/gallery?api-version={AIB_API}")).await);
    assert_eq!(h.get(&format!("{path}/runOutputs/nope?api-version={AIB_API}")).await.status, StatusCode::NOT_FOUND);

    let r = h.call(reqwest::Method::POST, &post("run"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let cancel = h.call(reqwest::Method::POST, &post("cancel"), None).await;
    assert_eq!(cancel.status, StatusCode::ACCEPTED);
    ok(&h.get(&url).await);
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    ok(&h.get(&url).await);
    assert_eq!(h.call(reqwest::Method::POST, &post("cancel"), None).await.status, StatusCode::CONFLICT);

    let r = h.delete(&url).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    ok(&h.wait_location(&r.header("location").unwrap()).await);
    assert_eq!(h.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&url).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn image_builder_traffic_passes_oav() {
    let specs = specs_dir().join("azure-rest-api-specs/specification");
    assert!(specs.is_dir(), "specs missing at {} (set AGENTPOOL_SPECS_DIR)", specs.display());
    assert!(oav().exists(), "oav missing at {} (run `npm ci` in tests/node)", oav().display());

    let traffic = temp_dir("oav-aib-traffic");
    let mut config = Config::for_tests();
    crate::image_builder::quick(&mut config);
    config.traffic_dir = Some(traffic.clone());
    let h = Harness::start(config).await;
    image_builder_flow(&h).await;
    h.stop().await;

    let reports = temp_dir("oav-aib-reports");
    let cases =
        [("imagebuilder/resource-manager/Microsoft.VirtualMachineImages/stable/2024-02-01/imagebuilder.json", 10)];
    assert_oav_cases(&traffic, &specs, &cases, &reports);
    crate::support::cleanup(&[&traffic, &reports]);
}

/// Role definitions, role assignments (and their 400 / 403 answers), permissions, providers, VM sizes and
/// usages: the routes of access control and of a pre-flight check.
async fn access_and_offer_flow(h: &Harness) {
    use crate::offer::{COMPUTE_API, RESOURCES_API};
    use crate::roles::{assignment, custom_role, definition_path, definitions, group};
    let ok = |r: &crate::support::Reply| assert!(r.status.is_success(), "{:?} {:?}", r.status, r.body);
    let status = |r: &crate::support::Reply, s: StatusCode| assert_eq!(r.status, s, "{:?}", r.body);
    let rg = group(h, "rg-oav-access").await;
    let guid = "4f5e6d7c-8b9a-4c0d-9e1f-2a3b4c5d6e7f";
    let role = custom_role("agentpool oav role", &["Microsoft.Compute/galleries/read"], &[&rg]);
    status(&h.put(&definition_path(&rg, guid), role.clone()).await, StatusCode::CREATED);
    status(&h.put(&definition_path(&rg, guid), role).await, StatusCode::CREATED);
    ok(&h.get(&definition_path(&rg, guid)).await);
    ok(&h.get(&definition_path(&h.sub(""), "b24988ac-6180-42a0-ab88-20f7382dd24c")).await);
    ok(&h.get(&definitions(&rg, "&$filter=roleName%20eq%20'agentpool%20oav%20role'")).await);
    ok(&h.get(&definitions(&h.sub(""), "")).await);
    status(&h.get(&definition_path(&rg, "0a0b0c0d-0000-4000-8000-000000000000")).await, StatusCode::NOT_FOUND);

    let principal = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
    let at =
        |name: &str| format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHZ_API}");
    let assigned = at("8c7d6e5f-4a3b-4c2d-8e1f-0a9b8c7d6e5f");
    status(&h.put(&assigned, assignment(h, guid, principal)).await, StatusCode::CREATED);
    let missing = assignment(h, "b24988ac-6180-4239-a0b6-7bc3cbd6f6e8", principal);
    status(&h.put(&at("9c7d6e5f-4a3b-4c2d-8e1f-0a9b8c7d6e5f"), missing).await, StatusCode::BAD_REQUEST);
    status(&h.delete(&definition_path(&rg, guid)).await, StatusCode::CONFLICT);
    ok(&h.delete(&assigned).await);
    status(&h.delete(&definition_path(&rg, guid)).await, StatusCode::OK);
    status(&h.delete(&definition_path(&rg, guid)).await, StatusCode::NO_CONTENT);

    let permissions =
        |scope: &str| format!("{scope}/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}");
    ok(&h
        .get(&h.sub(&format!(
            "/resourcegroups/rg-oav-access/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}"
        )))
        .await);
    status(
        &h.get(&h.sub(&format!(
            "/resourcegroups/rg-nope/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}"
        )))
        .await,
        StatusCode::NOT_FOUND,
    );
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal_access");
    let r = h.put(&format!("{gallery}?api-version={GALLERY_API}"), json!({"location": "westeurope"})).await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    ok(&h.get(&permissions(&gallery)).await);

    ok(&h.get(&h.sub(&format!("/providers?api-version={RESOURCES_API}"))).await);
    ok(&h.get(&h.sub(&format!("/providers/Microsoft.VirtualMachineImages?api-version={RESOURCES_API}"))).await);
    ok(&h
        .call(
            reqwest::Method::POST,
            &h.sub(&format!("/providers/Microsoft.VirtualMachineImages/register?api-version={RESOURCES_API}")),
            None,
        )
        .await);
    let compute = |location: &str, leaf: &str| {
        h.sub(&format!("/providers/Microsoft.Compute/locations/{location}/{leaf}?api-version={COMPUTE_API}"))
    };
    ok(&h.get(&compute("westeurope", "vmSizes")).await);
    ok(&h.get(&compute("westeurope", "usages")).await);
    status(&h.get(&compute("atlantis", "usages")).await, StatusCode::BAD_REQUEST);
}

/// What a caller with Contributor only is refused (403 AuthorizationFailed).
async fn contributor_flow(h: &Harness) {
    use crate::roles::{assignment, custom_role, definition_path, group};
    let rg = group(h, "rg-oav-contributor").await;
    let path = format!("{rg}/providers/Microsoft.Authorization/roleAssignments/5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a?api-version={AUTHZ_API}");
    let r = h
        .put(&path, assignment(h, "b24988ac-6180-42a0-ab88-20f7382dd24c", "ce2ce14e-85d7-4629-bdbc-454d0519d987"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let role = custom_role("refused", &["*/read"], &[&rg]);
    let r = h.put(&definition_path(&rg, "6d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"), role).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
}

#[tokio::test]
async fn access_control_and_offer_traffic_passes_oav() {
    let specs = specs_dir().join("azure-rest-api-specs/specification");
    assert!(specs.is_dir(), "specs missing at {} (set AGENTPOOL_SPECS_DIR)", specs.display());
    assert!(oav().exists(), "oav missing at {} (run `npm ci` in tests/node)", oav().display());
    let traffic = temp_dir("oav-access-traffic");
    let mut config = Config::for_tests();
    config.traffic_dir = Some(traffic.clone());
    config.lro_delay_ms = 50;
    let h = Harness::start(config.clone()).await;
    access_and_offer_flow(&h).await;
    h.stop().await;
    config.caller_role = vec![agentpool_emulator::authz::caller::CallerRole::parse("Contributor").unwrap()];
    let h = Harness::start(config).await;
    contributor_flow(&h).await;
    h.stop().await;

    let authorization = "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01";
    let cases = [
        // RoleDefinitions_CreateOrUpdate / Get / List / Delete, Permissions_ListForResourceGroup. oav 4.0.3 cannot
        // match Permissions_ListForResource (its namespace is a path parameter) nor the Providers_* paths (no
        // namespace: it throws on Providers_List); `swagger::offer_bodies_fit_the_swagger` checks those bodies.
        (format!("{authorization}/authorization-RoleDefinitionsCalls.json"), 5),
        (format!("{authorization}/authorization-RoleAssignmentsCalls.json"), 2),
        ("compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/computeRPCommon.json".to_string(), 2),
    ];
    let reports = temp_dir("oav-access-reports");
    assert_oav_cases(&traffic, &specs, &cases, &reports);
    let statuses: Vec<String> = std::fs::read_dir(&traffic)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|t| serde_json::from_str::<Value>(&t).unwrap()["liveResponse"]["statusCode"].as_str().unwrap().to_string())
        .collect();
    assert!(statuses.iter().any(|s| s == "403") && statuses.iter().any(|s| s == "400"), "{statuses:?}");
    crate::support::cleanup(&[&traffic, &reports]);
}
