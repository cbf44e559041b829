//! The whole preflight on answers shaped as Azure gives them, routed by path (the reads run
//! concurrently, so their order is not fixed).

use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{headers::Headers, AsyncRawResponse, HttpClient, Method, Request, StatusCode, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use serde_json::{json, Value};
use time::macros::datetime;

use super::*;
use crate::arm::{ArmConfig, PollConfig, RetryConfig};
use crate::events::Collect;
use crate::plan::{desired_state, PlanContext};
use crate::version::VersionInputs;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const CALLER: &str = "3c5b2f8e-6a1d-4e3b-9a7c-2f0d1e4b5a69";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const BLOB_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/// Answers by the request path (lower-cased, without the query), records every request.
#[derive(Debug, Default)]
struct Azure {
    routes: Mutex<Vec<(String, u16, Value)>>,
    requests: Mutex<Vec<(Method, String)>>,
}

impl Azure {
    fn answer(&self, path: &str, status: u16, body: Value) -> &Self {
        self.routes.lock().unwrap().push((path.to_ascii_lowercase(), status, body));
        self
    }

    fn requests(&self) -> Vec<(Method, String)> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl HttpClient for Azure {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let url = request.url();
        self.requests.lock().unwrap().push((request.method(), format!("{}?{}", url.path(), url.query().unwrap_or(""))));
        let path = url.path().to_ascii_lowercase();
        let routes = self.routes.lock().unwrap();
        let (status, body) = routes
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, s, b)| (*s, b.clone()))
            .unwrap_or((404, json!({"error": {"code": "NotFound", "message": format!("no route for {path}")}})));
        Ok(AsyncRawResponse::from_bytes(StatusCode::from(status), Headers::new(), body.to_string().into_bytes()))
    }
}

/// A JWT whose payload names [`CALLER`], as Entra issues them.
#[derive(Debug)]
struct CallerToken;

#[async_trait::async_trait]
impl TokenCredential for CallerToken {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        let payload = azure_core::base64::encode_url_safe(format!(
            r#"{{"aud":"https://management.azure.com","oid":"{CALLER}"}}"#
        ));
        let token = format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
        Ok(AccessToken::new(token, OffsetDateTime::now_utc() + Duration::hours(1)))
    }
}

fn linux() -> crate::params::LoadedParameters {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../yaml-templates/parameters/sbx.parameters.linux.json");
    crate::params::load(&path).unwrap_or_else(|d| panic!("{d}"))
}

fn desired(loaded: &crate::params::LoadedParameters) -> DesiredState {
    let context = PlanContext {
        subscription: Some(SUB),
        version: VersionInputs { now: datetime!(2024-11-17 15:31:24 UTC), cli_version: None, repo_dir: None },
        ..PlanContext::offline_now()
    };
    desired_state(loaded, &context).unwrap()
}

fn provider(namespace: &str, state: &str) -> Value {
    let types = if namespace == providers::IMAGE_BUILDER {
        json!([{"resourceType": "imageTemplates", "locations": ["West Europe", "North Europe", "East US"], "apiVersions": ["2024-02-01"]}])
    } else {
        json!([])
    };
    json!({"id": format!("/subscriptions/{SUB}/providers/{namespace}"), "namespace": namespace, "registrationState": state, "resourceTypes": types})
}

fn role_definition(id: &str, name: &str, permissions: Value) -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{id}"),
        "type": "Microsoft.Authorization/roleDefinitions", "name": id,
        "properties": {"roleName": name, "type": "BuiltInRole", "assignableScopes": ["/"], "permissions": [permissions]}
    })
}

fn assignment(role: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{role}"),
        "type": "Microsoft.Authorization/roleAssignments", "name": role,
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": CALLER, "principalType": "ServicePrincipal", "scope": format!("/subscriptions/{SUB}")
        }
    })
}

/// A subscription where everything is registered, no resource group exists yet, the caller holds
/// `roles` at the subscription, and westeurope has `family_limit` DSv5 vCPUs.
fn subscription(roles: &[&str], unregistered: &[&str], family_limit: i64) -> Arc<Azure> {
    let azure = Arc::new(Azure::default());
    for (namespace, _) in providers::REQUIRED {
        let state = if unregistered.contains(namespace) { "NotRegistered" } else { "Registered" };
        azure.answer(&format!("/subscriptions/{SUB}/providers/{namespace}"), 200, provider(namespace, state));
    }
    let not_found = json!({"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'rg-agents-sbx' could not be found."}});
    azure.answer(
        &format!("/subscriptions/{SUB}/resourcegroups/rg-agents-sbx/providers/Microsoft.Authorization/permissions"),
        404,
        not_found,
    );
    azure.answer(
        &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments"),
        200,
        json!({"value": roles.iter().map(|r| assignment(r)).collect::<Vec<_>>()}),
    );
    azure.answer(
        &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"),
        200,
        role_definition(
            OWNER,
            "Owner",
            json!({"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}),
        ),
    );
    azure.answer(
        &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"),
        200,
        role_definition(CONTRIBUTOR, "Contributor", json!({"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"], "dataActions": [], "notDataActions": []})),
    );
    azure.answer(
        &format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR}"),
        200,
        role_definition(BLOB_CONTRIBUTOR, "Storage Blob Data Contributor", json!({
            "actions": ["Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/containers/write"],
            "notActions": [],
            "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"],
            "notDataActions": []})),
    );
    let compute = format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope");
    azure.answer(&format!("{compute}/vmSizes"), 200, json!({"value": [
        {"name": "Standard_D2s_v5", "numberOfCores": 2, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 0, "memoryInMB": 8192, "maxDataDiskCount": 4},
        {"name": "Standard_D4s_v5", "numberOfCores": 4, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 0, "memoryInMB": 16384, "maxDataDiskCount": 8}
    ]}));
    azure.answer(&format!("{compute}/usages"), 200, json!({"value": [
        {"unit": "Count", "currentValue": 0, "limit": 350, "name": {"value": "cores", "localizedValue": "Total Regional vCPUs"}},
        {"unit": "Count", "currentValue": 0, "limit": family_limit, "name": {"value": "standardDSv5Family", "localizedValue": "Standard DSv5 Family vCPUs"}}
    ]}));
    azure
}

async fn preflight(azure: &Arc<Azure>, stages: &[Stage]) -> Report {
    let loaded = linux();
    let desired = desired(&loaded);
    let config = ArmConfig::new().with_retry(RetryConfig::fast()).with_poll(PollConfig::fast());
    let arm = ArmClient::with_transport(&config, Arc::new(CallerToken), Transport::new(azure.clone()));
    let caller = Caller { credential: Arc::new(CallerToken), scope: config.token_scope.clone() };
    let target = Target { desired: &desired, parameters: &loaded.parameters, subscription: SUB, stages };
    let events = Collect::default();
    let report = run(&arm, &caller, &target, &events).await.unwrap();
    assert!(
        matches!(events.take().as_slice(), [Event::Note(note)] if note.starts_with("preflight: 7 resource providers"))
    );
    report
}

#[tokio::test]
async fn a_subscription_ready_for_the_deploy_passes_with_reads_only() {
    let azure = subscription(&[OWNER, BLOB_CONTRIBUTOR], &[], 100);
    let report = preflight(&azure, &[Stage::Infra, Stage::Image]).await;
    assert_eq!(report.findings, [], "{report}");
    assert!(report.passed());
    let requests = azure.requests();
    assert!(requests.iter().all(|(method, _)| *method == Method::Get), "{requests:#?}");
    let filter = format!("$filter=atScope()%20and%20assignedTo(%27{CALLER}%27)&api-version=2022-04-01");
    assert!(
        requests.iter().any(|(_, line)| line.ends_with(&filter)),
        "the caller's assignments are read: {requests:#?}"
    );
    assert_eq!(report.reads, requests.len() as u64);
    // The live plan's resource group (absent: nothing in it is read), 7 providers, 1 permissions
    // list, 1 assignment list, 2 roles, sizes and usages.
    assert_eq!(requests.len(), 14, "{requests:#?}");
}

#[tokio::test]
async fn every_blocking_problem_is_reported_at_once() {
    let azure = subscription(&[CONTRIBUTOR], &[providers::IMAGE_BUILDER], 20);
    let report = preflight(&azure, &[Stage::Infra, Stage::Image]).await;
    assert!(!report.passed());
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with(&format!("{}: ", report.file))), "{text}");
    assert!(report.file.ends_with("sbx.parameters.linux.json"));
    assert!(
        lines[0].contains(
            "resource provider Microsoft.VirtualMachineImages (needed by Azure VM Image Builder) is NotRegistered"
        ),
        "{text}"
    );
    let roles: Vec<&&str> = lines.iter().filter(|l| l.contains("Microsoft.Authorization/")).collect();
    assert_eq!(roles.len(), 1, "assigning and defining roles share one line: {text}");
    assert!(
        roles[0].contains("lacks actions Microsoft.Authorization/roleAssignments/write and Microsoft.Authorization/roleDefinitions/write on resource group rg-agents-sbx (not created yet")
            && roles[0].contains("User Access Administrator (18d7d88d-d35e-4fb5-a5c3-7773c20a72d9)")
            && !roles[0].contains("Role Based Access Control Administrator"),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("lacks data actions Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read and Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write")
            && l.contains("Storage Blob Data Contributor")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("the standardDSv5Family vCPUs quota in westeurope is 20, 0 in use")),
        "{text}"
    );
    let warnings: Vec<&str> = report.warnings().map(|w| w.what.as_str()).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("needed to stream the build's customization log"), "{text}");
}

#[tokio::test]
async fn an_existing_group_is_judged_by_its_permissions_list() {
    let azure = subscription(&[], &[], 100);
    azure.routes.lock().unwrap().retain(|(path, _, _)| !path.ends_with("/microsoft.authorization/permissions"));
    azure.answer(
        &format!("/subscriptions/{SUB}/resourcegroups/rg-agents-sbx/providers/Microsoft.Authorization/permissions"),
        200,
        json!({"value": [
            {"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []},
            {"actions": [], "notActions": [], "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"], "notDataActions": []}
        ]}),
    );
    let report = preflight(&azure, &[Stage::Infra]).await;
    assert_eq!(report.findings, [], "{report}");
    assert!(!azure.requests().iter().any(|(_, line)| line.contains("roleAssignments")), "no fallback needed");
}

#[tokio::test]
async fn an_unreadable_check_warns_and_the_others_still_decide() {
    let azure = subscription(&[OWNER, BLOB_CONTRIBUTOR], &[], 20);
    azure.routes.lock().unwrap().retain(|(p, _, _)| !p.ends_with("/vmsizes"));
    azure.answer(
        &format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/vmSizes"),
        403,
        json!({"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action 'Microsoft.Compute/locations/vmSizes/read'."}}),
    );
    let report = preflight(&azure, &[Stage::Infra]).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.warnings().count(), 1, "{report}");
    assert!(report.to_string().contains("warning: the VM sizes of westeurope could not be read"), "{report}");
}

#[tokio::test]
async fn an_unreadable_plan_checks_every_resource_and_says_so() {
    let azure = subscription(&[CONTRIBUTOR, BLOB_CONTRIBUTOR], &[], 100);
    azure.answer(
        &format!("/subscriptions/{SUB}/resourceGroups/rg-agents-sbx"),
        403,
        json!({"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read'."}}),
    );
    let report = preflight(&azure, &[Stage::Infra]).await;
    let warnings: Vec<&str> = report.warnings().map(|w| w.what.as_str()).collect();
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(
        warnings[0].starts_with("the live plan could not be read (") && warnings[0].contains("AuthorizationFailed"),
        "{report}"
    );
    assert!(warnings[0].ends_with("the rights are checked as if every resource were written"), "{report}");
    assert!(
        report.blocking().any(|f| f.what.contains("Microsoft.Authorization/roleAssignments/write")),
        "every resource counts: {report}"
    );
}
