//! The front door of the emulated Azure DevOps: which path is whose, the organization, authentication,
//! resource discovery (`OPTIONS`), the route and its api-version, then the handler.
//!
//! Paths are `/{organization}/_apis/…` and `/{organization}/{project}/_apis/…`, matched case-insensitively;
//! empty segments are ignored (azure_devops_rust_api 0.39 formats `"{endpoint}/{organization}/_apis/…"`
//! with a `Url` whose text ends in `/`, so it sends `//contoso/_apis/…`).
//!
//! Order of checks: organization (404 `HostDoesNotExistException`), credentials ([`super::auth`]),
//! `OPTIONS` (resource locations, no version needed), route (404 / 405), api-version ([`super::version`]),
//! then the handler, all under the state lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use time::OffsetDateTime;

use super::auth::{self, Caller};
use super::error::{devops_json, DevopsError};
use super::locations::{self, Location};
use super::model::Organization;
use super::{catalog, elastic, nodes, oidc, pools, version};
use crate::app::{base_url, App};
use crate::state::Store;

/// Largest request body accepted.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Whether a path is Azure DevOps' (`_apis` as its second or third non-empty segment).
pub fn is_devops_path(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).take(3).collect();
    let apis = |i: usize| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case("_apis"));
    (apis(1) || apis(2)) && !segs[0].eq_ignore_ascii_case("_emulator")
}

/// A routed request.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Projects,
    Project(String),
    Endpoints,
    Endpoint(String),
    Pools,
    Pool(i64),
    Queues,
    Queue(i64),
    ElasticPools,
    ElasticPool(i64),
    Nodes(i64),
    Node(i64, i64),
    Logs(i64),
    /// `{hub, plan, job}` of `…/distributedtask/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken`.
    OidcToken {
        hub: String,
        plan: String,
        job: String,
    },
}

impl Route {
    /// The route of `rest` (the segments after `_apis`), with its location; `project` level or not.
    pub fn parse(project_level: bool, rest: &[String]) -> Option<(Route, &'static Location)> {
        let r: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
        let r: Vec<&str> = r.iter().map(String::as_str).collect();
        let id = |i: usize| rest.get(i).and_then(|s| s.parse::<i64>().ok());
        let (route, area, resource) = match (project_level, r.as_slice()) {
            (false, ["projects"]) => (Route::Projects, "core", "projects"),
            (false, ["projects", _]) => (Route::Project(rest[1].clone()), "core", "projects"),
            (true, ["serviceendpoint", "endpoints"]) => (Route::Endpoints, "serviceendpoint", "endpoints"),
            (true, ["serviceendpoint", "endpoints", _]) => {
                (Route::Endpoint(rest[2].clone()), "serviceendpoint", "endpoints")
            }
            (false, ["distributedtask", "pools"]) => (Route::Pools, "distributedtask", "pools"),
            (false, ["distributedtask", "pools", _]) => (Route::Pool(id(2)?), "distributedtask", "pools"),
            (true, ["distributedtask", "queues"]) => (Route::Queues, "distributedtask", "queues"),
            (true, ["distributedtask", "queues", _]) => (Route::Queue(id(2)?), "distributedtask", "queues"),
            (false, ["distributedtask", "elasticpools"]) => (Route::ElasticPools, "distributedtask", "elasticpools"),
            (false, ["distributedtask", "elasticpools", _]) => {
                (Route::ElasticPool(id(2)?), "distributedtask", "elasticpools")
            }
            (false, ["distributedtask", "elasticpools", _, "nodes"]) => {
                (Route::Nodes(id(2)?), "distributedtask", "nodes")
            }
            (false, ["distributedtask", "elasticpools", _, "nodes", _]) => {
                (Route::Node(id(2)?, id(4)?), "distributedtask", "nodes")
            }
            (false, ["distributedtask", "elasticpools", _, "logs"]) => {
                (Route::Logs(id(2)?), "distributedtask", "elasticpoollogs")
            }
            (true, ["distributedtask", "hubs", _, "plans", _, "jobs", _, "oidctoken"]) => (
                Route::OidcToken { hub: rest[2].clone(), plan: rest[4].clone(), job: rest[6].clone() },
                "distributedtask",
                "oidctoken",
            ),
            _ => return None,
        };
        Some((route, locations::find(area, resource)?))
    }

    /// Whether the route answers this method.
    fn allows(&self, method: &Method) -> bool {
        match self {
            Route::Pool(_) => matches!(*method, Method::GET | Method::DELETE),
            Route::ElasticPools => matches!(*method, Method::GET | Method::POST),
            Route::ElasticPool(_) => matches!(*method, Method::GET | Method::PATCH),
            Route::Node(..) => *method == Method::PATCH,
            Route::OidcToken { .. } => *method == Method::POST,
            _ => *method == Method::GET,
        }
    }
}

/// What a handler gets.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub method: &'a Method,
    /// `https://host:port/{organization}` as the client addressed it.
    pub org_url: String,
    /// The organization's name as the path spells it.
    pub org_name: String,
    /// The project segment of project-level routes (name or id).
    pub project: Option<String>,
    pub caller: Caller,
    /// Query parameters, lower-cased names.
    pub query: BTreeMap<String, String>,
    pub body: &'a [u8],
    pub now: OffsetDateTime,
}

impl Ctx<'_> {
    /// A query parameter (name in lower case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// What a handler answers.
pub enum Reply {
    /// 200 with a JSON body.
    Json(Value),
    /// 204, no body.
    NoContent,
}

/// The organization of a handler, which [`handle`] checked exists.
pub fn organization<'s>(store: &'s mut Store, ctx: &Ctx<'_>) -> Result<&'s mut Organization, DevopsError> {
    store.devops_mut().org_mut(&ctx.org_name).ok_or_else(|| DevopsError::HostNotFound(ctx.org_name.clone()))
}

/// The Azure DevOps handler (every path [`is_devops_path`] claims).
pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return DevopsError::ArgumentNull("body".into()).into_response(),
    };
    let base = base_url(&parts.uri, &parts.headers, &app.endpoint);
    let segs: Vec<String> = parts.uri.path().split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let Some(apis) = segs.iter().position(|s| s.eq_ignore_ascii_case("_apis")).filter(|i| *i == 1 || *i == 2) else {
        return DevopsError::NoRoute(parts.uri.path().to_string()).into_response();
    };
    let org_name = segs[0].clone();
    if app.state.read(|s| s.devops().org(&org_name).is_none()) {
        return DevopsError::HostNotFound(org_name).into_response();
    }
    let now = OffsetDateTime::now_utc();
    let url = format!("{base}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let caller = match auth::authenticate(&app, &parts.headers, now.unix_timestamp()) {
        Ok(caller) => caller,
        Err(failure) => return auth::refusal(&app, &failure, &parts.method, &parts.headers, &base, &url),
    };
    let rest = &segs[apis + 1..];
    if parts.method == Method::OPTIONS {
        return devops_json(StatusCode::OK, &locations::options(rest.first().map(String::as_str)), None);
    }
    let Some((route, location)) = Route::parse(apis == 2, rest) else {
        return DevopsError::NoRoute(parts.uri.path().to_string()).into_response();
    };
    if !route.allows(&parts.method) {
        return DevopsError::MethodNotAllowed(parts.method.to_string()).into_response();
    }
    let query = crate::arm::parse_query(parts.uri.query());
    let requested = version::requested(query.get("api-version").map(String::as_str), &parts.headers);
    let route_name = format!("{}/{}", location.area, location.resource);
    let negotiated = match version::negotiate(&parts.method, requested.as_deref(), location.min_version, &route_name) {
        Ok(v) => v.render(),
        Err(e) => return e.into_response(),
    };
    let ctx = Ctx {
        app: &app,
        method: &parts.method,
        org_url: format!("{base}/{org_name}"),
        org_name,
        project: (apis == 2).then(|| segs[1].clone()),
        caller,
        query,
        body: &body,
        now,
    };
    let result = app.state.write(|store| {
        let before = store.devops().clone();
        let result = serve(&ctx, &route, store);
        if *store.devops() != before {
            store.mark_changed();
        }
        result
    });
    tracing::debug!("{} {} → {:?}", parts.method, parts.uri, result.as_ref().map(|_| "ok").map_err(|e| e.type_key()));
    match result {
        Ok(Reply::Json(value)) => devops_json(StatusCode::OK, &value, Some(&negotiated)),
        Ok(Reply::NoContent) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Decodes `%XX` escapes of a path segment (a project named `My Project` arrives as `My%20Project`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(ctx: &Ctx<'_>, route: &Route, store: &mut Store) -> Result<Reply, DevopsError> {
    match (route, ctx.method) {
        (Route::Projects, _) => catalog::list_projects(ctx, store),
        (Route::Project(id), _) => catalog::get_project(ctx, store, id),
        (Route::Endpoints, _) => catalog::list_endpoints(ctx, store),
        (Route::Endpoint(id), _) => catalog::get_endpoint(ctx, store, id),
        (Route::Pools, _) => pools::list_pools(ctx, store),
        (Route::Pool(id), &Method::DELETE) => pools::delete_pool(ctx, store, *id),
        (Route::Pool(id), _) => pools::get_pool(ctx, store, *id),
        (Route::Queues, _) => pools::list_queues(ctx, store),
        (Route::Queue(id), _) => pools::get_queue(ctx, store, *id),
        (Route::ElasticPools, &Method::POST) => elastic::create(ctx, store),
        (Route::ElasticPools, _) => elastic::list(ctx, store),
        (Route::ElasticPool(id), &Method::PATCH) => elastic::update(ctx, store, *id),
        (Route::ElasticPool(id), _) => elastic::get(ctx, store, *id),
        (Route::Nodes(pool), _) => nodes::list_nodes(ctx, store, *pool),
        (Route::Node(pool, node), _) => nodes::update_node(ctx, store, *pool, *node),
        (Route::Logs(pool), _) => nodes::list_logs(ctx, store, *pool),
        (Route::OidcToken { hub, plan, job }, _) => oidc::create(ctx, store, hub, plan, job),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
    }

    #[test]
    fn devops_paths() {
        assert!(is_devops_path("/contoso/_apis/distributedtask/elasticpools"));
        assert!(is_devops_path("//contoso/_apis/distributedtask/elasticpools"));
        assert!(is_devops_path("/contoso/platform/_apis/serviceendpoint/endpoints"));
        assert!(is_devops_path("/contoso/_apis"));
        assert!(!is_devops_path("/subscriptions/s/resourceGroups/rg"));
        assert!(!is_devops_path("/tenant/oauth2/v2.0/token"));
        assert!(!is_devops_path("/_emulator/_apis/x"));
    }

    #[test]
    fn routes() {
        let (route, location) = Route::parse(false, &segs("distributedtask/ElasticPools/12/nodes/3")).unwrap();
        assert_eq!((route, location.resource), (Route::Node(12, 3), "nodes"));
        let (route, location) = Route::parse(false, &segs("distributedtask/elasticpools/12/logs")).unwrap();
        assert_eq!((route, location.resource), (Route::Logs(12), "elasticpoollogs"));
        assert_eq!(Route::parse(true, &segs("distributedtask/queues")).unwrap().0, Route::Queues);
        assert!(Route::parse(false, &segs("distributedtask/queues")).is_none(), "queues are per project");
        assert!(Route::parse(false, &segs("distributedtask/pools/abc")).is_none());
        assert!(Route::Pool(1).allows(&Method::DELETE) && !Route::Pools.allows(&Method::POST));
        assert_eq!(percent_decode("My%20Project"), "My Project");
        let (route, location) =
            Route::parse(true, &segs("distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken")).unwrap();
        assert_eq!(route, Route::OidcToken { hub: "build".into(), plan: "p1".into(), job: "j1".into() });
        assert_eq!(location.id, "69a319f4-28c1-4bfd-93e6-ea0ff5c6f1a2");
        assert!(route.allows(&Method::POST) && !route.allows(&Method::GET));
        assert!(Route::parse(false, &segs("distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken")).is_none());
    }
}
