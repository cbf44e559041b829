//! The Azure DevOps calls agentpool makes, over `azure_devops_rust_api`'s typed requests (its
//! routes, api-versions and authentication) on agentpool's transport (the same retries, proxy
//! and trusted roots as Resource Manager).
//!
//! Answers are read as JSON, not as the crate's models: those require every field the
//! service documents (a service connection's `authorization`, `createdBy`, `owner`, …), and
//! agentpool needs a few of them. Lists come as `{count, value}`.

use azure_core::http::ClientOptions;
use azure_devops_rust_api::{core as projects, distributed_task, service_endpoint};
use serde_json::Value;

use super::auth::{DevOpsAuth, Organization};
use super::DevOpsError;
use crate::plan::DevOpsIds;

/// Sends a request of `azure_devops_rust_api` and reads its answer as JSON.
macro_rules! send {
    ($what:expr, $request:expr) => {
        json($what, $request.send().await.map(|response| response.into_raw_response()))
    };
}

/// An organization's Azure DevOps, reached with one credential.
#[derive(Clone)]
pub struct DevOps {
    organization: Organization,
    auth: &'static str,
    tasks: distributed_task::Client,
    projects: projects::Client,
    endpoints: service_endpoint::Client,
}

/// A scale-set agent pool as Azure DevOps shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub id: i64,
    pub name: String,
    /// The `ElasticPool` (its settings, `state`, `offlineSince`, …).
    pub elastic: Value,
}

impl DevOps {
    /// A client of `organization` authenticated by `auth`, over `options`' transport.
    pub fn new(organization: Organization, auth: &DevOpsAuth, options: &ClientOptions) -> Self {
        let endpoint = organization.endpoint.clone();
        let scopes = vec![super::auth::ENTRA_SCOPE.to_owned()];
        let credential = auth.credential();
        Self {
            tasks: distributed_task::Client::new(endpoint.clone(), credential.clone(), scopes.clone(), options.clone()),
            projects: projects::Client::new(endpoint.clone(), credential.clone(), scopes.clone(), options.clone()),
            endpoints: service_endpoint::Client::new(endpoint, credential, scopes, options.clone()),
            auth: auth.describe(),
            organization,
        }
    }

    pub fn organization(&self) -> &Organization {
        &self.organization
    }

    /// How it authenticates, for logs.
    pub fn auth(&self) -> &'static str {
        self.auth
    }

    fn org(&self) -> String {
        self.organization.name.clone()
    }

    /// The id of project `name`.
    pub async fn project_id(&self, name: &str) -> Result<String, DevOpsError> {
        let what = format!("project {name}");
        let project = match send!(&what, self.projects.projects_client().get(self.org(), name)) {
            Err(DevOpsError::Refused { status: 404, .. }) => None,
            other => Some(other?),
        };
        project.and_then(|p| p["id"].as_str().map(str::to_owned)).ok_or_else(|| {
            DevOpsError::Missing(format!(
                "project '{name}' does not exist in {} — fix agentPool.project",
                self.organization.url()
            ))
        })
    }

    /// The id of the Azure Resource Manager service connection `name` of project `project`.
    pub async fn service_endpoint_id(&self, project: &str, name: &str) -> Result<String, DevOpsError> {
        let what = format!("service connection {name}");
        let request = self.endpoints.endpoints_client().get_service_endpoints_by_names(self.org(), project, name);
        let found = items(send!(&what, request)?);
        let endpoint = found.iter().find(|e| e["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
        let Some(endpoint) = endpoint else {
            return Err(DevOpsError::Missing(format!(
                "service connection '{name}' does not exist in project '{project}' — create an Azure Resource Manager service connection, or fix agentPool.serviceConnection"
            )));
        };
        if !endpoint["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("azurerm")) {
            return Err(DevOpsError::Missing(format!(
                "service connection '{name}' is of type '{}', but a scale-set pool needs an Azure Resource Manager one — fix agentPool.serviceConnection",
                endpoint["type"].as_str().unwrap_or("?")
            )));
        }
        endpoint["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DevOpsError::Failed { what, message: "the answer names no id".to_owned() })
    }

    /// The ids the pool's project and service connection names resolve to.
    pub async fn resolve(&self, project: &str, service_connection: &str) -> Result<DevOpsIds, DevOpsError> {
        let (project_id, service_endpoint_id) =
            futures::try_join!(self.project_id(project), self.service_endpoint_id(project, service_connection))?;
        Ok(DevOpsIds { project_id, service_endpoint_id })
    }

    /// The scale-set pool named `name`, if there is one; an agent pool of that name that is not a
    /// scale-set pool is an error.
    pub async fn find_pool(&self, name: &str) -> Result<Option<Pool>, DevOpsError> {
        let what = format!("agent pool {name}");
        let request = self.tasks.pools_client().get_agent_pools(self.org()).pool_name(name);
        let pools = items(send!(&what, request)?);
        let Some(pool) = pools.iter().find(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))) else {
            return Ok(None);
        };
        let id = pool["id"].as_i64().ok_or_else(|| DevOpsError::Failed {
            what: what.clone(),
            message: "the answer names no pool id".to_owned(),
        })?;
        match send!(&what, self.tasks.elasticpools_client().get(self.org(), to_i32(id))) {
            Ok(elastic) => Ok(Some(Pool { id, name: name.to_owned(), elastic })),
            Err(DevOpsError::Refused { status: 404, .. }) => Err(DevOpsError::Missing(format!(
                "agent pool '{name}' exists but is not a scale-set pool — rename agentPool.name, or delete that pool"
            ))),
            Err(error) => Err(error),
        }
    }

    /// Creates the scale-set pool `name` with `settings` (an `ElasticPool`).
    pub async fn create_pool(
        &self,
        name: &str,
        settings: &Value,
        query: &crate::resources::agent_pool::CreateQuery,
    ) -> Result<Pool, DevOpsError> {
        let what = format!("creating agent pool {name}");
        let body: distributed_task::models::ElasticPool = serde_json::from_value(settings.clone())
            .map_err(|e| DevOpsError::Failed { what: what.clone(), message: e.to_string() })?;
        let request = self
            .tasks
            .elasticpools_client()
            .create(self.org(), body, name)
            .authorize_all_pipelines(query.authorize_all_pipelines)
            .auto_provision_project_pools(query.auto_provision_project_pools)
            .project_id(query.project_id.clone());
        let created = send!(&what, request)?;
        let id = created.pointer("/agentPool/id").and_then(Value::as_i64).unwrap_or_default();
        Ok(Pool { id, name: name.to_owned(), elastic: created["elasticPool"].clone() })
    }

    /// Changes the settings given in `settings` (an `ElasticPoolSettings`) of pool `id`.
    pub async fn update_pool(&self, id: i64, name: &str, settings: &Value) -> Result<Pool, DevOpsError> {
        let what = format!("updating agent pool {name}");
        let body: distributed_task::models::ElasticPoolSettings = serde_json::from_value(settings.clone())
            .map_err(|e| DevOpsError::Failed { what: what.clone(), message: e.to_string() })?;
        let request = self.tasks.elasticpools_client().update(self.org(), body, to_i32(id));
        let elastic = send!(&what, request)?;
        Ok(Pool { id, name: name.to_owned(), elastic })
    }

    /// The pool's nodes (one a scale set instance).
    pub async fn nodes(&self, pool: &Pool) -> Result<Vec<Value>, DevOpsError> {
        let request = self.tasks.nodes_client().list(self.org(), to_i32(pool.id));
        Ok(items(send!(&format!("nodes of agent pool {}", pool.name), request)?))
    }

    /// Asks Azure DevOps to take node `node` to `state`; the service accepts only `pendingDelete`
    /// ("Elastic node state can only be updated to PendingDelete").
    pub async fn set_node_state(&self, pool: &Pool, node: i64, state: &str) -> Result<Value, DevOpsError> {
        let what = format!("node {node} of agent pool {}", pool.name);
        let body: distributed_task::models::ElasticNodeSettings =
            serde_json::from_value(serde_json::json!({ "state": state }))
                .map_err(|e| DevOpsError::Failed { what: what.clone(), message: e.to_string() })?;
        let request = self.tasks.nodes_client().update(self.org(), body, to_i32(pool.id), to_i32(node));
        send!(&what, request)
    }

    /// The pool's newest log entries, at most `top`.
    pub async fn logs(&self, pool: &Pool, top: i32) -> Result<Vec<Value>, DevOpsError> {
        let request = self.tasks.elasticpoollogs_client().list(self.org(), to_i32(pool.id)).top(top);
        Ok(items(send!(&format!("logs of agent pool {}", pool.name), request)?))
    }
}

/// The answer's JSON body.
fn json(what: &str, sent: azure_core::Result<azure_core::http::RawResponse>) -> Result<Value, DevOpsError> {
    let raw = sent.map_err(|e| DevOpsError::from_core(what, e))?;
    serde_json::from_slice(raw.body())
        .map_err(|e| DevOpsError::Failed { what: what.to_owned(), message: format!("the answer is not JSON: {e}") })
}

/// The items of a `{count, value}` list.
fn items(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut fields) => match fields.remove("value") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// Pool and node ids are 32-bit in the API.
fn to_i32(id: i64) -> i32 {
    i32::try_from(id).unwrap_or(i32::MAX)
}
