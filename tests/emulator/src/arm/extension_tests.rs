//! The extension points of [`ResourceKind`] (POST actions, long-running actions, lifecycle hooks), through
//! a test kind `Microsoft.Test/widgets` next to the real resource groups.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::crud::Call;
use super::dispatch;
use super::error::ArmError;
use super::kind::{
    ActionCall, ActionReply, DeleteStyle, Env, KindInfo, ListFilter, ListRoute, PatchStyle, PutStyle, Registry,
    ResourceKind, Target,
};
use crate::app::App;
use crate::kinds::resource_groups::ResourceGroups;
use crate::state::{Operation, Resource, Store};

struct Widgets;

static INFO: KindInfo = KindInfo {
    name: "widgets",
    resource_type: "Microsoft.Test/widgets",
    api_versions: &["2020-01-01"],
    item: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Test/widgets/{widgetName}",
    lists: &[ListRoute {
        pattern: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Test/widgets",
        filter: ListFilter::Children,
    }],
    put: PutStyle::Sync,
    patch: PatchStyle::Unsupported,
    delete: DeleteStyle::Sync { body: false },
    head: false,
    provisioning_state: true,
    nested_delete_blocked: false,
    actions: &["run", "ping"],
};

fn staging_id(resource: &Resource) -> String {
    let sub = resource.id.split('/').nth(2).unwrap_or_default();
    format!("/subscriptions/{sub}/resourceGroups/IT_{}", resource.body["name"].as_str().unwrap_or_default())
}

impl ResourceKind for Widgets {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate(&self, _body: &mut Value) -> Result<(), ArmError> {
        Ok(())
    }

    fn build(&self, _target: &Target, _env: &Env<'_>, body: Value, _existing: Option<&Resource>) -> Value {
        body
    }

    fn action(&self, call: &ActionCall<'_>, _resource: &Resource, store: &mut Store) -> Result<ActionReply, ArmError> {
        match call.name {
            "ping" => Ok(ActionReply::Done { status: StatusCode::OK, body: Some(json!({ "pong": call.body["x"] })) }),
            _ => {
                if let Some(r) = store.get_mut(&call.target.id) {
                    r.body["properties"]["lastRun"] = json!("Running");
                }
                Ok(ActionReply::Accepted { async_operation: true, delay_ms: Some(0) })
            }
        }
    }

    fn complete_action(&self, _env: &Env<'_>, store: &mut Store, op: &Operation, succeeded: bool) -> Option<Value> {
        let state = if succeeded { "Succeeded" } else { "Failed" };
        if let Some(r) = store.get_mut(&op.resource_id) {
            r.body["properties"]["lastRun"] = json!(state);
        }
        Some(json!({ "run": state }))
    }

    fn on_progress(&self, _env: &Env<'_>, store: &mut Store, op: &Operation) {
        if let Some(r) = store.get_mut(&op.resource_id) {
            r.body["properties"]["progressCalls"] =
                json!(r.body["properties"]["progressCalls"].as_u64().unwrap_or(0) + 1);
        }
    }

    fn on_provisioned(&self, _env: &Env<'_>, store: &mut Store, resource: &Resource) {
        let id = staging_id(resource);
        store.insert(Resource { kind: "resourceGroups".into(), body: json!({ "id": id, "location": "westus" }), id });
    }

    fn on_deleted(&self, _env: &Env<'_>, store: &mut Store, resource: &Resource) {
        store.remove_tree(&staging_id(resource));
    }
}

fn app() -> Arc<App> {
    Arc::new(App::for_tests(Registry::new(vec![&ResourceGroups, &Widgets])))
}

fn call(app: &App, method: Method, path: &str, body: Value) -> (StatusCode, Response) {
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
    (response.status(), response)
}

async fn json_of(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn actions_and_hooks() {
    let app = app();
    let sub = format!("/subscriptions/{}", app.config.subscription_id);
    let rg = format!("{sub}/resourceGroups/rg");
    let widget = format!("{rg}/providers/Microsoft.Test/widgets/w1");
    assert_eq!(
        call(&app, Method::PUT, &format!("{rg}?api-version=2024-07-01"), json!({"location": "westus"})).0,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&app, Method::PUT, &format!("{widget}?api-version=2020-01-01"), json!({"location": "westus"})).0,
        StatusCode::CREATED
    );
    let staging = format!("{sub}/resourceGroups/IT_w1");
    assert!(app.state.read(|s| s.get(&staging).is_some()), "on_provisioned made the staging group");

    let (status, response) =
        call(&app, Method::POST, &format!("{widget}/PING?api-version=2020-01-01"), json!({"x": 1}));
    assert_eq!((status, json_of(response).await), (StatusCode::OK, json!({"pong": 1})));
    assert_eq!(
        call(&app, Method::GET, &format!("{widget}/ping?api-version=2020-01-01"), Value::Null).0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        call(&app, Method::POST, &format!("{widget}/explode?api-version=2020-01-01"), Value::Null).0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            &format!("{rg}/providers/Microsoft.Test/widgets/nope/run?api-version=2020-01-01"),
            Value::Null
        )
        .0,
        StatusCode::NOT_FOUND
    );

    let (status, response) = call(&app, Method::POST, &format!("{widget}/run?api-version=2020-01-01"), Value::Null);
    assert_eq!(status, StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(response.headers().contains_key("azure-asyncoperation"));
    let (status, response) = call(&app, Method::GET, location.trim_start_matches(&app.endpoint), Value::Null);
    assert_eq!((status, json_of(response).await), (StatusCode::OK, json!({"run": "Succeeded"})));
    let (_, response) = call(&app, Method::GET, &format!("{widget}?api-version=2020-01-01"), Value::Null);
    let body = json_of(response).await;
    assert_eq!(body["properties"]["lastRun"], "Succeeded");
    assert!(body["properties"]["progressCalls"].as_u64().unwrap() >= 1);

    assert_eq!(call(&app, Method::DELETE, &format!("{widget}?api-version=2020-01-01"), Value::Null).0, StatusCode::OK);
    assert!(app.state.read(|s| s.get(&staging).is_none()), "on_deleted removed the staging group");
}
