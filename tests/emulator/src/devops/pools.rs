//! Agent pools and queues (`taskAgent.json` 7.1):
//!
//! | route | answers |
//! |---|---|
//! | GET `{org}/_apis/distributedtask/pools[?poolName=&poolIds=1,2&poolType=]` | `{count, value}` of `TaskAgentPool`: by name (any case), by ids, by type (all are `automation`) |
//! | GET `{org}/_apis/distributedtask/pools/{poolId}` | the pool / 404 `TaskAgentPoolNotFoundException` |
//! | DELETE `{org}/_apis/distributedtask/pools/{poolId}` | 204; its queues go, and its elastic pool with its nodes and logs: the scale set is released (capacity 0, tags and agent extension removed), as `ElasticPoolDeleteListener` does / 404 |
//! | GET `{org}/{project}/_apis/distributedtask/queues[?queueName=&queueNames=&poolIds=]` | `{count, value}` of the project's `TaskAgentQueue` |
//! | GET `{org}/{project}/_apis/distributedtask/queues/{queueId}` | the queue / 404 `TaskAgentQueueNotFoundException` |
//!
//! The swagger declares only the `poolIds` form of both lists (it keeps one of the controller's overloads,
//! `GetAgentPoolsByIds`, `GetAgentQueuesForPools`); Microsoft's clients also call the `poolName` and
//! `queueName` overloads (decompiled `TaskAgentPoolsController.GetAgentPools`, `TaskAgentQueuesController`).
//! DELETE answers 204 as ASP.NET Web API does for a `void` action (`DeleteAgentPool`); the swagger lists
//! 200.

use serde_json::Value;

use super::actor::release;
use super::catalog::path_project;
use super::dispatch::{organization, Ctx, Reply};
use super::error::DevopsError;
use super::model::Organization;
use super::render;
use crate::state::Store;

/// Agents registered in a pool (its nodes with an agent).
pub fn pool_size(org: &Organization, pool_id: i64) -> usize {
    org.nodes.iter().filter(|n| n.pool_id == pool_id && n.agent_id.is_some()).count()
}

fn ids(text: Option<&str>) -> Option<Vec<i64>> {
    text.map(|t| t.split(',').filter_map(|id| id.trim().parse().ok()).collect())
}

/// GET pools.
pub fn list_pools(ctx: &Ctx<'_>, store: &mut Store) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let name = ctx.param("poolname");
    let wanted = ids(ctx.param("poolids"));
    let automation = ctx.param("pooltype").is_none_or(|t| t.eq_ignore_ascii_case("automation"));
    let items: Vec<Value> = org
        .pools
        .iter()
        .filter(|p| automation && name.is_none_or(|n| p.name.eq_ignore_ascii_case(n)))
        .filter(|p| wanted.as_ref().is_none_or(|ids| ids.contains(&p.id)))
        .map(|p| render::pool(p, org.elastic(p.id), pool_size(org, p.id)))
        .collect();
    Ok(Reply::Json(render::list(items)))
}

/// GET one pool.
pub fn get_pool(ctx: &Ctx<'_>, store: &mut Store, id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let pool = org.pool(id).ok_or(DevopsError::PoolNotFound(id))?;
    Ok(Reply::Json(render::pool(pool, org.elastic(id), pool_size(org, id))))
}

/// DELETE a pool (and its elastic pool).
pub fn delete_pool(ctx: &Ctx<'_>, store: &mut Store, id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    if org.pool(id).is_none() {
        return Err(DevopsError::PoolNotFound(id));
    }
    if let Some(elastic) = org.remove_pool(id) {
        release(store, &ctx.org_name, &elastic, ctx.now);
    }
    Ok(Reply::NoContent)
}

/// GET a project's queues.
pub fn list_queues(ctx: &Ctx<'_>, store: &mut Store) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let project = path_project(org, ctx)?;
    let names: Option<Vec<String>> = ctx
        .param("queuename")
        .or(ctx.param("queuenames"))
        .map(|v| v.split(',').map(|n| n.trim().to_lowercase()).collect());
    let pools = ids(ctx.param("poolids"));
    let items: Vec<Value> = org
        .queues
        .iter()
        .filter(|q| q.project_id == project.id)
        .filter(|q| names.as_ref().is_none_or(|n| n.contains(&q.name.to_lowercase())))
        .filter(|q| pools.as_ref().is_none_or(|ids| ids.contains(&q.pool_id)))
        .filter_map(|q| {
            let pool = org.pool(q.pool_id)?;
            Some(render::queue(q, pool, org.elastic(q.pool_id), pool_size(org, q.pool_id)))
        })
        .collect();
    Ok(Reply::Json(render::list(items)))
}

/// GET one queue of the project.
pub fn get_queue(ctx: &Ctx<'_>, store: &mut Store, id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    let project = path_project(org, ctx)?;
    let queue =
        org.queues.iter().find(|q| q.id == id && q.project_id == project.id).ok_or(DevopsError::QueueNotFound(id))?;
    let pool = org.pool(queue.pool_id).ok_or(DevopsError::QueueNotFound(id))?;
    Ok(Reply::Json(render::queue(queue, pool, org.elastic(pool.id), pool_size(org, pool.id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists() {
        assert_eq!(ids(Some("1, 2,x")), Some(vec![1, 2]));
        assert_eq!(ids(None), None);
    }
}
