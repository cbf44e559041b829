//! Projects (`core.json` 7.1) and service endpoints (`serviceEndpoint.json` 7.1):
//!
//! | route | answers |
//! |---|---|
//! | GET `{org}/_apis/projects[?$top&$skip]` | `{count, value}` of `TeamProjectReference` |
//! | GET `{org}/_apis/projects/{projectId or name}` | the project / 404 `ProjectDoesNotExistException` (an id) or `ProjectDoesNotExistWithNameException` (a name) |
//! | GET `{org}/{project}/_apis/serviceendpoint/endpoints[?endpointNames=a,b&type=azurerm]` | `{count, value}` of the project's endpoints with those names (any case) and type; all of them without `endpointNames` (`GetServiceEndpoints`, decompiled `ServiceEndpoints4Controller`) |
//! | GET `{org}/{project}/_apis/serviceendpoint/endpoints/{endpointId}` | the endpoint / 200 with `null` when the project has no such endpoint (the controller returns what the service found, nothing) |
//!
//! An unknown `{project}` segment answers 404 `ProjectDoesNotExistWithNameException`.

use serde_json::Value;

use super::dispatch::{organization, Ctx, Reply};
use super::error::DevopsError;
use super::model::{Organization, Project};
use super::render;
use super::seed::emulator_user;
use crate::state::Store;

fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

/// The project a project-level route names.
pub fn path_project<'o>(org: &'o Organization, ctx: &Ctx<'_>) -> Result<&'o Project, DevopsError> {
    let name = ctx.project.as_deref().unwrap_or_default();
    org.project(name).ok_or_else(|| DevopsError::ProjectNameNotFound(name.to_string()))
}

/// GET projects.
pub fn list_projects(ctx: &Ctx<'_>, store: &mut Store) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let skip = ctx.param("$skip").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let top = ctx.param("$top").and_then(|v| v.parse::<usize>().ok()).unwrap_or(usize::MAX);
    let mut projects: Vec<&Project> = org.projects.iter().collect();
    projects.sort_by_key(|p| p.name.to_lowercase());
    let items = projects.into_iter().skip(skip).take(top).map(|p| render::project(&ctx.org_url, p)).collect();
    Ok(Reply::Json(render::list(items)))
}

/// GET one project.
pub fn get_project(ctx: &Ctx<'_>, store: &mut Store, id: &str) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    match org.project(id) {
        Some(p) => Ok(Reply::Json(render::project(&ctx.org_url, p))),
        None if is_guid(id) => Err(DevopsError::ProjectNotFound(id.to_string())),
        None => Err(DevopsError::ProjectNameNotFound(id.to_string())),
    }
}

/// GET a project's endpoints.
pub fn list_endpoints(ctx: &Ctx<'_>, store: &mut Store) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let project = path_project(org, ctx)?;
    let names: Option<Vec<String>> =
        ctx.param("endpointnames").map(|v| v.split(',').map(|n| n.trim().to_lowercase()).collect());
    let kind = ctx.param("type");
    let items: Vec<Value> = org
        .endpoints
        .iter()
        .filter(|e| e.project_ids.contains(&project.id))
        .filter(|e| names.as_ref().is_none_or(|names| names.contains(&e.name.to_lowercase())))
        .filter(|e| kind.is_none_or(|k| e.endpoint_type.eq_ignore_ascii_case(k)))
        .map(|e| render::endpoint_in(org, e, &emulator_user()))
        .collect();
    Ok(Reply::Json(render::list(items)))
}

/// GET one endpoint of the project.
pub fn get_endpoint(ctx: &Ctx<'_>, store: &mut Store, id: &str) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let project = path_project(org, ctx)?;
    let found = org.endpoints.iter().find(|e| e.id.eq_ignore_ascii_case(id) && e.project_ids.contains(&project.id));
    Ok(Reply::Json(found.map_or(Value::Null, |e| render::endpoint_in(org, e, &emulator_user()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("603fe2ac-9723-48b9-88ad-09305aa6c6e1"));
        assert!(!is_guid("platform"));
    }
}
