//! Test routes of the emulated Azure DevOps under `/_emulator/devops/` (no authentication, never faulted,
//! never recorded). `organization` defaults to `--devops-organization` in every body and query.
//!
//! | route | does |
//! |---|---|
//! | GET `/state` | the whole Azure DevOps state (the state file's `devops` section) |
//! | GET `/actions[?organization=&poolId=]` | what the actor did to scale sets, oldest first: `{count, value:[{at, organization, poolId, action, scaleSet, detail}]}` |
//! | POST `/organizations` `{"name"}` | makes an organization (with its `Default` and `Azure Pipelines` pools) |
//! | POST `/projects` `{"organization"?, "name"}` | makes a project (with queues of the auto-provisioned pools); 200 `{id, name}` |
//! | POST `/serviceendpoints` `{"organization"?, "project", "name", "type"?, "scheme"?, "servicePrincipalId"?, "workloadIdentityFederationSubject"?, "federatedCredential"?, "federatedSubject"?}` | makes an endpoint shared into the project: `AzureRM` (default; the emulator's tenant and subscription) or any other type (`UsernamePassword`, no tenant); 200 the `ServiceEndpoint`. AzureRM: `scheme` `ServicePrincipal` (default) or `WorkloadIdentityFederation`, `servicePrincipalId` the principal (default `--client-id`). A `WorkloadIdentityFederation` one gets a federated credential on its principal's Entra application (made if missing) unless `federatedCredential` is `false`; its subject is the connection's (`workloadIdentityFederationSubject` when given, else `sc://{organization}/{project}/{name}`) unless `federatedSubject` says otherwise — a subject that does not match makes Entra answer AADSTS70021. 400 for an unknown scheme |
//! | GET `/oidctokens` | `{count, byServiceConnection: {"<id>": n}, value: [{jti, serviceConnectionId, subject, iat, exp}]}`: the OIDC tokens the job got since start or the last reset ([`super::oidc`]) |
//! | DELETE `/oidctokens` | 204, the counts back to none |
//! | POST `/jobs` `{"organization"?, "poolId", "nodeId"?}` | runs a job on an idle node of the pool (the given one, else the longest idle): the agent is `assigned`, the node `assigned`; 200 `{requestId, nodeId, nodeName}`; 409 when no such idle node |
//! | POST `/jobs/{requestId}/finish` `{"organization"?}` | ends the job: the agent is free; the actor makes the node idle again (or deletes it when it was marked for deletion or the pool recycles agents); 404 unknown job |

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::model::{Endpoint, IdKind, Job, Organization};
use super::oidc;
use super::render::{self, timestamp};
use super::seed::{self, emulator_user, stable_id, Azure, AzureRmEndpoint, AzureRmScheme};
use crate::app::App;

/// Errors of the admin routes.
#[derive(Debug, thiserror::Error)]
pub enum DevopsAdminError {
    #[error("organization '{0}' does not exist")]
    NoOrganization(String),
    #[error("project '{0}' does not exist")]
    NoProject(String),
    #[error("pool {0} is not an elastic pool")]
    NoElasticPool(i64),
    #[error("pool {0} has no idle node{1}")]
    NoIdleNode(i64, String),
    #[error("job {0} does not exist")]
    NoJob(i64),
    #[error("unknown AzureRM scheme '{0}': use ServicePrincipal or WorkloadIdentityFederation")]
    UnknownScheme(String),
}

impl IntoResponse for DevopsAdminError {
    fn into_response(self) -> Response {
        let status = match self {
            DevopsAdminError::NoIdleNode(..) => StatusCode::CONFLICT,
            DevopsAdminError::UnknownScheme(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::NOT_FOUND,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// The `/_emulator/devops` router.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/state", get(state))
        .route("/actions", get(actions))
        .route("/organizations", post(add_organization))
        .route("/projects", post(add_project))
        .route("/serviceendpoints", post(add_endpoint))
        .route("/oidctokens", get(oidc_tokens).delete(reset_oidc_tokens))
        .route("/jobs", post(start_job))
        .route("/jobs/{request_id}/finish", post(finish_job))
}

fn org_name(app: &App, given: Option<String>) -> String {
    given.unwrap_or_else(|| app.config.devops.organization.clone())
}

/// Runs `f` on an organization under the state lock, marking the state changed.
fn with_org<R>(
    app: &App,
    name: &str,
    f: impl FnOnce(&mut Organization) -> Result<R, DevopsAdminError>,
) -> Result<R, DevopsAdminError> {
    app.state.write(|store| {
        let org = store.devops_mut().org_mut(name).ok_or_else(|| DevopsAdminError::NoOrganization(name.into()))?;
        let result = f(org);
        store.mark_changed();
        result
    })
}

async fn state(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.state.read(|s| serde_json::to_value(s.devops()).unwrap_or(Value::Null)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionQuery {
    organization: Option<String>,
    pool_id: Option<i64>,
}

async fn actions(State(app): State<Arc<App>>, Query(q): Query<ActionQuery>) -> Json<Value> {
    let items: Vec<Value> = app.state.read(|s| {
        s.devops()
            .journal
            .iter()
            .filter(|a| q.organization.as_ref().is_none_or(|o| a.organization.eq_ignore_ascii_case(o)))
            .filter(|a| q.pool_id.is_none_or(|p| a.pool_id == p))
            .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
            .collect()
    });
    Json(render::list(items))
}

#[derive(Debug, Deserialize)]
struct NewOrganization {
    name: String,
}

async fn add_organization(State(app): State<Arc<App>>, Json(body): Json<NewOrganization>) -> Json<Value> {
    let now = OffsetDateTime::now_utc();
    let id = app.state.write(|store| {
        let id = seed::ensure_org(store.devops_mut(), &body.name, now).id.clone();
        store.mark_changed();
        id
    });
    Json(json!({ "id": id, "name": body.name }))
}

#[derive(Debug, Deserialize)]
struct NewProject {
    organization: Option<String>,
    name: String,
}

async fn add_project(
    State(app): State<Arc<App>>,
    Json(body): Json<NewProject>,
) -> Result<Json<Value>, DevopsAdminError> {
    let now = OffsetDateTime::now_utc();
    let org = org_name(&app, body.organization);
    let id = with_org(&app, &org, |o| Ok(seed::ensure_project(o, &body.name, now)))?;
    Ok(Json(json!({ "id": id, "name": body.name })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewEndpoint {
    organization: Option<String>,
    project: String,
    name: String,
    #[serde(rename = "type")]
    endpoint_type: Option<String>,
    scheme: Option<String>,
    service_principal_id: Option<String>,
    workload_identity_federation_subject: Option<String>,
    federated_credential: Option<bool>,
    federated_subject: Option<String>,
}

async fn add_endpoint(
    State(app): State<Arc<App>>,
    Json(body): Json<NewEndpoint>,
) -> Result<Json<Value>, DevopsAdminError> {
    let now = OffsetDateTime::now_utc();
    let org = org_name(&app, body.organization.clone());
    let azure = Azure {
        tenant_id: app.config.tenant_id.clone(),
        subscription_id: app.config.subscription_id.clone(),
        client_id: app.config.client_id.clone(),
    };
    let kind = body.endpoint_type.clone().unwrap_or_else(|| "AzureRM".into());
    let scheme = match body.scheme.as_deref() {
        None => AzureRmScheme::ServicePrincipal,
        Some(s) => AzureRmScheme::parse(s).ok_or_else(|| DevopsAdminError::UnknownScheme(s.to_string()))?,
    };
    let (value, credential) = with_org(&app, &org, |o| {
        let project =
            o.project(&body.project).ok_or_else(|| DevopsAdminError::NoProject(body.project.clone()))?.clone();
        let id = if kind.eq_ignore_ascii_case("azurerm") {
            let spec = AzureRmEndpoint {
                scheme,
                service_principal_id: body.service_principal_id.clone(),
                subject: body.workload_identity_federation_subject.clone(),
            };
            seed::ensure_azurerm_endpoint_with(o, &project.name, &body.name, &azure, &spec, now)
        } else {
            let endpoint = Endpoint {
                id: stable_id(&[&o.name, "endpoint", &project.name, &body.name]),
                name: body.name.clone(),
                endpoint_type: kind.clone(),
                project_ids: vec![project.id.clone()],
                scheme: "UsernamePassword".into(),
                tenant_id: None,
                service_principal_id: None,
                subscription_id: None,
                subscription_name: None,
                url: "https://example.invalid/".into(),
                workload_identity_federation_subject: None,
            };
            seed::add_endpoint(o, endpoint)
        };
        let endpoint = o.endpoints.iter().find(|e| e.id == id).cloned();
        let credential = endpoint
            .as_ref()
            .filter(|_| body.federated_credential != Some(false))
            .and_then(|e| oidc::federated_credential(o, e, body.federated_subject.as_deref()));
        let value = endpoint.map_or(Value::Null, |e| render::endpoint_in(o, &e, &emulator_user()));
        Ok((value, credential))
    })?;
    if let Some((client_id, credential)) = credential {
        app.directory.put_credential(&client_id, credential);
    }
    Ok(Json(value))
}

async fn oidc_tokens(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.oidc.snapshot())
}

async fn reset_oidc_tokens(State(app): State<Arc<App>>) -> StatusCode {
    app.oidc.reset();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewJob {
    organization: Option<String>,
    pool_id: i64,
    node_id: Option<i64>,
}

async fn start_job(State(app): State<Arc<App>>, Json(body): Json<NewJob>) -> Result<Json<Value>, DevopsAdminError> {
    let now = OffsetDateTime::now_utc();
    let org = org_name(&app, body.organization);
    let value = with_org(&app, &org, |o| {
        o.elastic(body.pool_id).ok_or(DevopsAdminError::NoElasticPool(body.pool_id))?;
        let candidate = o
            .nodes
            .iter()
            .filter(|n| n.pool_id == body.pool_id && n.state == "idle" && !n.agent.assigned)
            .filter(|n| body.node_id.is_none_or(|id| n.id == id))
            .min_by_key(|n| n.state_changed_ms)
            .map(|n| n.id);
        let node_id = candidate.ok_or_else(|| {
            DevopsAdminError::NoIdleNode(body.pool_id, body.node_id.map(|id| format!(" {id}")).unwrap_or_default())
        })?;
        let request_id = o.next_id(IdKind::Request);
        let node = o.nodes.iter_mut().find(|n| n.id == node_id).ok_or(DevopsAdminError::NoElasticPool(body.pool_id))?;
        node.agent.assigned = true;
        node.state = "assigned".into();
        node.state_changed_ms = crate::arm::lro::now_ms(now);
        node.request_id = Some(request_id);
        let name = node.name.clone();
        o.jobs.push(Job { request_id, pool_id: body.pool_id, node_id, assigned_at: timestamp(now), finished_at: None });
        Ok(json!({ "requestId": request_id, "nodeId": node_id, "nodeName": name }))
    })?;
    Ok(Json(value))
}

#[derive(Debug, Default, Deserialize)]
struct FinishJob {
    organization: Option<String>,
}

async fn finish_job(
    State(app): State<Arc<App>>,
    Path(request_id): Path<i64>,
    body: Option<Json<FinishJob>>,
) -> Result<Json<Value>, DevopsAdminError> {
    let now = OffsetDateTime::now_utc();
    let org = org_name(&app, body.and_then(|b| b.0.organization));
    let value = with_org(&app, &org, |o| {
        let job = o.jobs.iter_mut().find(|j| j.request_id == request_id).ok_or(DevopsAdminError::NoJob(request_id))?;
        job.finished_at.get_or_insert_with(|| timestamp(now));
        let (node_id, finished) = (job.node_id, job.finished_at.clone());
        if let Some(node) = o.nodes.iter_mut().find(|n| n.id == node_id) {
            node.agent.assigned = false;
        }
        Ok(json!({ "requestId": request_id, "nodeId": node_id, "finishedAt": finished }))
    })?;
    Ok(Json(value))
}
