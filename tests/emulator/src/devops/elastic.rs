//! `distributedtask/elasticpools` 7.1 (`elastic.json`): create, get, list and update elastic pools, as
//! Azure DevOps' `ElasticPoolService` does it (decompiled, see [`super::error`]).
//!
//! | route | answers |
//! |---|---|
//! | POST `{org}/_apis/distributedtask/elasticpools?poolName&authorizeAllPipelines&autoProvisionProjectPools&projectId` | 200 `ElasticPoolCreationResult {agentPool, agentQueue?, elasticPool}` |
//! | GET `…/elasticpools` | `{count, value}` of `ElasticPool` |
//! | GET `…/elasticpools/{poolId}` | the pool / 404 `ElasticPoolDoesNotExistException` |
//! | PATCH `…/elasticpools/{poolId}` with `ElasticPoolSettings` | the pool, only the fields sent changed, `state` `online` (the controller sets it) |
//!
//! Creation checks, in the service's order (a failure leaves nothing behind: the service deletes the pool
//! and queue it made): the queue (with `projectId`: 404 `ProjectDoesNotExistException`, 409
//! `TaskAgentQueueExistsException`) or pool (409 `TaskAgentPoolExistsException`) of that name;
//! `ElasticPool.Validate()` (400 argument exceptions: empty `serviceEndpointId`/`serviceEndpointScope`/`azureId`,
//! `maxCapacity` 0..1000, `desiredIdle` and `maxSavedNodeCount` 0..maxCapacity, `timeToLiveMinutes` 0..10000);
//! the service endpoint in the scope project (404 `ServiceEndpointDoesNotExistException`, 400
//! `InvalidServiceEndpointException` when it has no tenant: not AzureRM); the scale set through ARM (500
//! `CloudException` with ARM's message: missing subscription, group or set, or not a scale set); Flexible
//! orchestration (400, the emulator's); another pool's tag younger than 240 minutes (409
//! `VirtualMachineScaleSetAlreadyTaggedForUseException`). Then the set is tagged at once; the agent
//! extension and settings follow from the actor ([`super::actor`]). `osType` and `orchestrationType` are
//! read from the scale set (the body's are kept when the model names no OS).
//!
//! Update checks: 400 `ElasticPoolInvalidValue` ("… has an invalid value. Valid range is from 0 to the maximum
//! number of virtual machines in the scale set") for `maxCapacity` < 0, `desiredIdle` or `maxSavedNodeCount`
//! outside 0..maxCapacity; a new `azureId` or `serviceEndpointId` is checked as at creation, then the new set is
//! claimed and the old one released (capacity 0, tags and extension removed).
//!
//! Caveats: `authorizeAllPipelines` is stored, not enforced; there is no pool-level security.

use serde_json::{json, Value};

use super::actor::{claim, release};
use super::dispatch::{organization, Ctx, Reply};
use super::error::DevopsError;
use super::model::{ElasticPool, IdKind, Organization, Pool, Queue};
use super::render::{self, timestamp};
use super::vmss;
use crate::state::Store;

fn parse_body(ctx: &Ctx<'_>, name: &str) -> Result<serde_json::Map<String, Value>, DevopsError> {
    match serde_json::from_slice::<Value>(ctx.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(DevopsError::ArgumentNull(name.into())),
    }
}

/// A field of a body, by its camelCase name (Azure DevOps' deserializer ignores case).
fn field<'a>(body: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn int(body: &serde_json::Map<String, Value>, name: &str, root: &str) -> Result<Option<i64>, DevopsError> {
    match field(body, name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| DevopsError::ArgumentNull(root.into())),
    }
}

fn flag(body: &serde_json::Map<String, Value>, name: &str, root: &str) -> Result<Option<bool>, DevopsError> {
    match field(body, name) {
        None => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| DevopsError::ArgumentNull(root.into())),
    }
}

fn text(body: &serde_json::Map<String, Value>, name: &str, root: &str) -> Result<Option<String>, DevopsError> {
    match field(body, name) {
        None => Ok(None),
        Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| DevopsError::ArgumentNull(root.into())),
    }
}

fn os(body: &serde_json::Map<String, Value>, root: &str) -> Result<Option<String>, DevopsError> {
    match text(body, "osType", root)? {
        None => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("linux") || s.eq_ignore_ascii_case("windows") => Ok(Some(s.to_lowercase())),
        Some(_) => Err(DevopsError::ArgumentNull(root.into())),
    }
}

fn out_of_range(param: &str, value: i64, min: i64, max: i64) -> Result<(), DevopsError> {
    if value < min || value > max {
        Err(DevopsError::ArgumentOutOfRange { param: param.into(), value })
    } else {
        Ok(())
    }
}

fn non_empty_guid(param: &str, value: &str) -> Result<(), DevopsError> {
    match uuid::Uuid::try_parse(value) {
        Ok(g) if !g.is_nil() => Ok(()),
        _ => Err(DevopsError::Argument(format!(
            "The guid specified for parameter {param} must not be Guid.Empty.\r\nParameter name: {param}"
        ))),
    }
}

/// The pool a creation body describes, validated as `ElasticPool.Validate()` does.
fn requested_pool(ctx: &Ctx<'_>) -> Result<ElasticPool, DevopsError> {
    let body = parse_body(ctx, "elasticPool")?;
    let root = "elasticPool";
    let e = ElasticPool {
        pool_id: 0,
        service_endpoint_id: text(&body, "serviceEndpointId", root)?.unwrap_or_default(),
        service_endpoint_scope: text(&body, "serviceEndpointScope", root)?.unwrap_or_default(),
        azure_id: text(&body, "azureId", root)?.ok_or_else(|| DevopsError::ArgumentNull("AzureId".into()))?,
        max_capacity: int(&body, "maxCapacity", root)?.unwrap_or(0),
        desired_idle: int(&body, "desiredIdle", root)?.unwrap_or(0),
        recycle_after_each_use: flag(&body, "recycleAfterEachUse", root)?.unwrap_or(false),
        max_saved_node_count: int(&body, "maxSavedNodeCount", root)?.unwrap_or(0),
        os_type: os(&body, root)?.unwrap_or_else(|| "windows".into()),
        orchestration_type: "uniform".into(),
        state: "new".into(),
        offline_since: None,
        desired_size: int(&body, "desiredSize", root)?.unwrap_or(0),
        sizing_attempts: int(&body, "sizingAttempts", root)?.unwrap_or(0),
        agent_interactive_ui: flag(&body, "agentInteractiveUI", root)?.unwrap_or(false),
        time_to_live_minutes: int(&body, "timeToLiveMinutes", root)?.unwrap_or(0),
    };
    non_empty_guid("ServiceEndpointId", &e.service_endpoint_id)?;
    non_empty_guid("ServiceEndpointScope", &e.service_endpoint_scope)?;
    if e.azure_id.trim().is_empty() {
        return Err(DevopsError::Argument(
            "The string must have at least one non-white-space character.\r\nParameter name: AzureId".into(),
        ));
    }
    out_of_range("MaxCapacity", e.max_capacity, 0, 1000)?;
    out_of_range("DesiredIdle", e.desired_idle, 0, e.max_capacity)?;
    out_of_range("MaxSavedNodeCount", e.max_saved_node_count, 0, e.max_capacity)?;
    out_of_range("DesiredSize", e.desired_size, 0, i64::from(i32::MAX))?;
    out_of_range("SizingAttempts", e.sizing_attempts, 0, i64::from(i32::MAX))?;
    out_of_range("TimeToLiveMinutes", e.time_to_live_minutes, 0, 10000)?;
    Ok(e)
}

/// The endpoint check of `ResourceServiceBase.GetMessageHandler`: shared into the scope, with a tenant.
fn check_endpoint(org: &Organization, id: &str, scope: &str) -> Result<(), DevopsError> {
    let endpoint = org
        .endpoints
        .iter()
        .find(|e| e.id.eq_ignore_ascii_case(id) && e.project_ids.iter().any(|p| p.eq_ignore_ascii_case(scope)))
        .ok_or_else(|| DevopsError::ServiceEndpointNotFound { id: id.into(), scope: scope.into() })?;
    if endpoint.tenant_id.as_deref().is_none_or(str::is_empty) {
        return Err(DevopsError::InvalidServiceEndpoint { id: id.into(), scope: scope.into() });
    }
    Ok(())
}

/// Checks the scale set a pool would use; returns its OS (when the model names one).
fn check_scale_set(
    ctx: &Ctx<'_>,
    store: &Store,
    azure_id: &str,
    pool_name: &str,
) -> Result<Option<&'static str>, DevopsError> {
    let resource = vmss::read(store, azure_id, &ctx.app.config.subscription_id)?;
    if vmss::is_flexible(&resource.body) {
        return Err(DevopsError::FlexibleNotSupported(azure_id.to_string()));
    }
    if let Some(current) = vmss::locked_by(&resource.body, ctx.now) {
        return Err(DevopsError::ScaleSetInUse { new_pool: pool_name.to_string(), current_pool: current });
    }
    Ok(vmss::os_type(&resource.body))
}

fn query_flag(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.param(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The pool and queue checks of `CreateElasticPoolAsync` (before anything is made).
fn check_names(org: &Organization, name: &str, project: Option<&str>) -> Result<(), DevopsError> {
    if let Some(project) = project {
        let project = org.project(project).ok_or_else(|| DevopsError::ProjectNotFound(project.to_string()))?;
        if org.queues.iter().any(|q| q.project_id == project.id && q.name.eq_ignore_ascii_case(name)) {
            return Err(DevopsError::QueueExists(name.to_string()));
        }
    }
    if org.pool_named(name).is_some() {
        return Err(DevopsError::PoolExists(name.to_string()));
    }
    Ok(())
}

/// POST elasticpools.
pub fn create(ctx: &Ctx<'_>, store: &mut Store) -> Result<Reply, DevopsError> {
    let name = ctx.param("poolname").ok_or_else(|| DevopsError::ArgumentNull("poolName".into()))?.to_string();
    let project = ctx.param("projectid").filter(|p| uuid::Uuid::try_parse(p).is_ok_and(|g| !g.is_nil()));
    check_names(organization(store, ctx)?, &name, project)?;
    let mut elastic = requested_pool(ctx)?;
    check_endpoint(organization(store, ctx)?, &elastic.service_endpoint_id, &elastic.service_endpoint_scope)?;
    if let Some(os) = check_scale_set(ctx, store, &elastic.azure_id, &name)? {
        elastic.os_type = os.to_string();
    }
    let creator = ctx.caller.identity(&ctx.org_name);
    let (now, org_name) = (timestamp(ctx.now), ctx.org_name.clone());
    let auto_provision = query_flag(ctx, "autoprovisionprojectpools");
    let org = organization(store, ctx)?;
    let pool_id = org.next_id(IdKind::Pool);
    let pool = Pool {
        id: pool_id,
        name: name.clone(),
        scope: uuid::Uuid::new_v4().to_string(),
        created_on: now.clone(),
        created_by: creator,
        is_hosted: false,
        auto_provision,
        auto_authorize: query_flag(ctx, "authorizeallpipelines"),
    };
    org.pools.push(pool.clone());
    let project_id = project.and_then(|p| org.project(p)).map(|p| p.id.clone());
    let queue_projects: Vec<String> = match (auto_provision, &project_id) {
        (true, _) => org.projects.iter().map(|p| p.id.clone()).collect(),
        (false, Some(p)) => vec![p.clone()],
        (false, None) => Vec::new(),
    };
    let mut agent_queue = None;
    for queue_project in queue_projects {
        let id = org.next_id(IdKind::Queue);
        let queue = Queue { id, name: name.clone(), project_id: queue_project, pool_id };
        if project_id.as_ref() == Some(&queue.project_id) {
            agent_queue = Some(queue.clone());
        }
        org.queues.push(queue);
    }
    elastic.pool_id = pool_id;
    elastic.offline_since = Some(now);
    org.elastic_pools.push(elastic.clone());
    claim(store, &org_name, &elastic, &name, ctx.now);
    let mut result = json!({
        "agentPool": render::pool(&pool, Some(&elastic), 0),
        "elasticPool": render::elastic_pool(&elastic),
    });
    if let Some(q) = agent_queue {
        result["agentQueue"] = render::queue(&q, &pool, Some(&elastic), 0);
    }
    Ok(Reply::Json(result))
}

/// GET elasticpools.
pub fn list(ctx: &Ctx<'_>, store: &mut Store) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    Ok(Reply::Json(render::list(org.elastic_pools.iter().map(render::elastic_pool).collect())))
}

/// GET one elastic pool.
pub fn get(ctx: &Ctx<'_>, store: &mut Store, pool_id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let e = org.elastic(pool_id).ok_or(DevopsError::ElasticPoolNotFound(pool_id))?;
    Ok(Reply::Json(render::elastic_pool(e)))
}

/// Applies the fields of an `ElasticPoolSettings` body to a copy of the pool.
fn merged(before: &ElasticPool, ctx: &Ctx<'_>) -> Result<ElasticPool, DevopsError> {
    let body = parse_body(ctx, "elasticPoolSettings")?;
    let root = "elasticPoolSettings";
    let mut after = before.clone();
    if let Some(v) = text(&body, "serviceEndpointId", root)? {
        after.service_endpoint_id = v;
    }
    if let Some(v) = text(&body, "serviceEndpointScope", root)? {
        after.service_endpoint_scope = v;
    }
    if let Some(v) = text(&body, "azureId", root)? {
        after.azure_id = v;
    }
    after.max_capacity = int(&body, "maxCapacity", root)?.unwrap_or(before.max_capacity);
    if after.max_capacity < 0 {
        return Err(DevopsError::Argument(invalid_value("MaxCapacity")));
    }
    for (name, slot) in
        [("desiredIdle", &mut after.desired_idle), ("maxSavedNodeCount", &mut after.max_saved_node_count)]
    {
        if let Some(v) = int(&body, name, root)? {
            if v < 0 || v > after.max_capacity {
                let mut param = name.to_string();
                param[..1].make_ascii_uppercase();
                return Err(DevopsError::Argument(invalid_value(&param)));
            }
            *slot = v;
        }
    }
    after.recycle_after_each_use = flag(&body, "recycleAfterEachUse", root)?.unwrap_or(before.recycle_after_each_use);
    after.agent_interactive_ui = flag(&body, "agentInteractiveUI", root)?.unwrap_or(before.agent_interactive_ui);
    after.time_to_live_minutes = int(&body, "timeToLiveMinutes", root)?.unwrap_or(before.time_to_live_minutes);
    after.os_type = os(&body, root)?.unwrap_or_else(|| before.os_type.clone());
    after.state = "online".into();
    after.offline_since = None;
    Ok(after)
}

/// `ElasticResources.ElasticPoolInvalidValue`.
fn invalid_value(param: &str) -> String {
    format!("{param} has an invalid value. Valid range is from 0 to the maximum number of virtual machines in the scale set")
}

/// PATCH one elastic pool.
pub fn update(ctx: &Ctx<'_>, store: &mut Store, pool_id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let before = org.elastic(pool_id).cloned().ok_or(DevopsError::ElasticPoolNotFound(pool_id))?;
    let pool_name = org.pool(pool_id).map(|p| p.name.clone()).unwrap_or_default();
    let mut after = merged(&before, ctx)?;
    let moved = !after.azure_id.eq_ignore_ascii_case(&before.azure_id)
        || !after.service_endpoint_id.eq_ignore_ascii_case(&before.service_endpoint_id);
    if moved {
        check_endpoint(org, &after.service_endpoint_id, &after.service_endpoint_scope)?;
        if let Some(os) = check_scale_set(ctx, store, &after.azure_id, &pool_name)? {
            after.os_type = os.to_string();
        }
    } else if let Ok(resource) = vmss::read(store, &after.azure_id, &ctx.app.config.subscription_id) {
        if let Some(os) = vmss::os_type(&resource.body) {
            after.os_type = os.to_string();
        }
    }
    let org_name = ctx.org_name.clone();
    let org = organization(store, ctx)?;
    if let Some(slot) = org.elastic_mut(pool_id) {
        *slot = after.clone();
    }
    if moved {
        org.nodes.retain(|n| n.pool_id != pool_id);
        release(store, &org_name, &before, ctx.now);
        claim(store, &org_name, &after, &pool_name, ctx.now);
    }
    Ok(Reply::Json(render::elastic_pool(&after)))
}
