//! The image template kind through the ARM dispatcher (no server, no background tick: the tests run
//! [`super::background::pump`] themselves).

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::background::pump;
use super::run::Private;
use super::settings::PhaseMs;
use crate::app::App;
use crate::arm::crud::Call;
use crate::arm::dispatch;

const AIB: &str = "api-version=2024-02-01";

fn app() -> Arc<App> {
    let mut app = App::for_tests(crate::kinds::registry());
    app.config.lro_delay_ms = 0;
    app.config.aib_phase_ms =
        ["total=0", "customizing=200", "canceling=0"].iter().map(|s| PhaseMs::parse(s).unwrap()).collect();
    Arc::new(app)
}

fn call(app: &App, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let call = Call {
        app,
        base: app.endpoint.clone(),
        api_version: String::new(),
        caller: None,
        fail_lro: false,
        now: OffsetDateTime::now_utc(),
    };
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    let response =
        dispatch(call, &method, path, query, &bytes).unwrap_or_else(axum::response::IntoResponse::into_response);
    let status = response.status();
    let bytes = futures_bytes(response);
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
}

fn futures_bytes(response: axum::response::Response) -> Vec<u8> {
    let rt = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| rt.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)))
        .unwrap()
        .to_vec()
}

struct Ids {
    sub: String,
    rg: String,
    template: String,
}

/// A group, an identity with a role on the group, and a template distributing to a managed image.
fn setup(app: &App, staging: Option<&str>) -> Ids {
    let sub = format!("/subscriptions/{}", app.config.subscription_id);
    let rg = format!("{sub}/resourceGroups/rg");
    assert_eq!(
        call(app, Method::PUT, &format!("{rg}?api-version=2024-07-01"), json!({"location": "westus"})).0,
        StatusCode::CREATED
    );
    let identity = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aib");
    let (_, created) =
        call(app, Method::PUT, &format!("{identity}?api-version=2023-01-31"), json!({"location": "westus"}));
    let template = format!("{rg}/providers/Microsoft.VirtualMachineImages/imageTemplates/t");
    let mut body = json!({
        "location": "westus",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity.clone(): {}}},
        "properties": {
            "source": {"type": "ManagedImage", "imageId": format!("{rg}/providers/Microsoft.Compute/images/base")},
            "customize": [{"type": "Shell", "name": "hello", "inline": ["echo hello"]}],
            "distribute": [{"type": "ManagedImage", "runOutputName": "out", "imageId": format!("{rg}/providers/Microsoft.Compute/images/built"), "location": "westus"}]
        }
    });
    if let Some(group) = staging {
        body["properties"]["stagingResourceGroup"] = json!(format!("{sub}/resourceGroups/{group}"));
    }
    let (status, reply) = call(app, Method::PUT, &format!("{template}?{AIB}"), body);
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert!(created["properties"]["principalId"].is_string());
    Ids { sub, rg, template }
}

fn get(app: &App, path: &str) -> Value {
    call(app, Method::GET, path, Value::Null).1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_through_the_dispatcher() {
    let app = app();
    let ids = setup(&app, None);
    let template = get(&app, &format!("{}?{AIB}", ids.template));
    assert_eq!(template["properties"]["provisioningState"], "Succeeded", "{template}");
    let staging = template["properties"]["exactStagingResourceGroup"].as_str().unwrap().to_string();
    assert_eq!(get(&app, &format!("{staging}?api-version=2024-07-01"))["tags"]["createdBy"], "AzureVMImageBuilder");

    // A PATCH (or an identical PUT) while a build runs leaves the build running.
    let (status, _) = call(&app, Method::POST, &format!("{}/run?{AIB}", ids.template), Value::Null);
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = call(&app, Method::PATCH, &format!("{}?{AIB}", ids.template), json!({"tags": {"a": "b"}}));
    assert_eq!(status, StatusCode::OK);
    let private = app.state.read(|s| Private::load(s, &ids.template));
    assert!(private.run.as_ref().unwrap().active(), "PATCH does not settle the build");
    let (status, body) = call(&app, Method::DELETE, &format!("{}?{AIB}", ids.template), Value::Null);
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("Conflict")));

    // After Customizing (the other phases take no time), the build ends at the next rounds (the
    // container, then the log upload).
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    for _ in 0..3 {
        pump(&app).await;
    }
    let status = &get(&app, &format!("{}?{AIB}", ids.template))["properties"]["lastRunStatus"];
    assert_eq!(status["runState"], "Succeeded", "{status}");
    let private = app.state.read(|s| Private::load(s, &ids.template));
    let run = private.run.unwrap();
    assert_eq!(run.uploaded, run.log.len(), "the log was uploaded");
    let url = private.staging.unwrap().log_url(&run.id);
    assert!(url.starts_with("https://127.0.0.1:10000/aibstaging/packerlogs/"), "{url}");
    assert_eq!(app.memory_blobs.get(&url), Some(run.log.clone().into_bytes()));
    let output = get(&app, &format!("{}/runOutputs/out?{AIB}", ids.template));
    assert_eq!(output["properties"]["artifactId"], format!("{}/providers/Microsoft.Compute/images/built", ids.rg));
    let log = app.state.read(|s| super::last_log(s, "T", Some("RG")));
    assert_eq!(log.as_deref(), Some(run.log.as_str()), "names match case-insensitively");
    assert_eq!(app.state.read(|s| super::last_log(s, "t", Some("other"))), None);

    // Run outputs are read-only.
    let (status, _) = call(&app, Method::DELETE, &format!("{}/runOutputs/out?{AIB}", ids.template), Value::Null);
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = call(&app, Method::PUT, &format!("{}/runOutputs/out?{AIB}", ids.template), json!({}));
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // A bad phases tag is refused when the build is asked for; a good one sets the phase durations.
    for (phases, refused) in
        [("queued=5,cooking=1", true), ("queued=0,building=0,customizing=0,optimizing=0,distributing=60000", false)]
    {
        let (status, _) =
            call(&app, Method::PATCH, &format!("{}?{AIB}", ids.template), json!({"tags": {"emulator.phases": phases}}));
        assert_eq!(status, StatusCode::OK);
        let (status, body) = call(&app, Method::POST, &format!("{}/run?{AIB}", ids.template), Value::Null);
        assert_eq!(status == StatusCode::BAD_REQUEST, refused, "{phases}: {status} {body}");
    }
    pump(&app).await;
    let template = get(&app, &format!("{}?{AIB}", ids.template));
    assert_eq!(template["properties"]["lastRunStatus"]["runSubState"], "Distributing", "a minute of distributing");
    let (status, _) = call(&app, Method::POST, &format!("{}/cancel?{AIB}", ids.template), Value::Null);
    assert_eq!(status, StatusCode::ACCEPTED);
    pump(&app).await;

    // So is a bad failure tag.
    let (status, body) =
        call(&app, Method::PATCH, &format!("{}?{AIB}", ids.template), json!({"tags": {"emulator.fail": "explode"}}));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&app, Method::POST, &format!("{}/run?{AIB}", ids.template), Value::Null);
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidTemplateTag")));
    let (status, _) = call(&app, Method::DELETE, &format!("{}?{AIB}", ids.template), Value::Null);
    assert_eq!(status, StatusCode::ACCEPTED);
    get(&app, &format!("{}?{AIB}", ids.template));
    assert!(app.state.read(|s| s.get(&staging).is_none()), "the staging group goes with the template");
    assert!(
        get(&app, &format!("{}/resourcegroups?api-version=2024-07-01", ids.sub))["value"].as_array().unwrap().len()
            == 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_given_staging_group_that_exists_stays() {
    let app = app();
    let sub = format!("/subscriptions/{}", app.config.subscription_id);
    let given = format!("{sub}/resourceGroups/rg-staging");
    assert_eq!(
        call(&app, Method::PUT, &format!("{given}?api-version=2024-07-01"), json!({"location": "westus"})).0,
        StatusCode::CREATED
    );
    let ids = setup(&app, Some("rg-staging"));
    let template = get(&app, &format!("{}?{AIB}", ids.template));
    assert_eq!(template["properties"]["exactStagingResourceGroup"], given.as_str());
    let accounts = get(&app, &format!("{given}/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01"));
    assert_eq!(accounts["value"].as_array().unwrap().len(), 1, "the staging account is made in the given group");
    let (status, _) = call(&app, Method::DELETE, &format!("{}?{AIB}", ids.template), Value::Null);
    assert_eq!(status, StatusCode::ACCEPTED);
    get(&app, &format!("{}?{AIB}", ids.template));
    assert!(app.state.read(|s| s.get(&given).is_some()), "a group that existed stays");
    let accounts = get(&app, &format!("{given}/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01"));
    assert_eq!(accounts["value"], json!([]), "what Image Builder made in it goes");
}

#[test]
fn staging_group_names_fit() {
    let name = super::staging_group_name(&"g".repeat(90), &"t".repeat(64), "05c5a614-a7d6-4502-b150-c2fb455033ff");
    assert_eq!(name.len(), 90);
    assert!(name.starts_with("IT_ggg") && name.ends_with("_05c5a614-a7d6-4502-b150-c2fb455033ff"), "{name}");
    assert_eq!(super::staging_group_name("rg", "t", "x"), "IT_rg_t_x");
}
