//! Elastic nodes and pool logs (`elastic.json` 7.1):
//!
//! | route | answers |
//! |---|---|
//! | GET `{org}/_apis/distributedtask/elasticpools/{poolId}/nodes[?$state=idle]` | `{count, value}` of `ElasticNode` (a `$state` no node has gives an empty list) / 404 `ElasticPoolDoesNotExistException` |
//! | PATCH `…/elasticpools/{poolId}/nodes/{elasticNodeId}` with `ElasticNodeSettings {state}` | the node in that state / 400 `ArgumentException` "Elastic node state can only be updated to PendingDelete" for any state but `pendingDelete`, `failedToStartPendingDelete`, `failedToRestartPendingDelete`, `failedVMPendingDelete` (decompiled `ElasticNodesController.UpdateElasticNode`) / 200 `null` for an unknown node (the service finds none and the controller returns it) |
//! | GET `…/elasticpools/{poolId}/logs[?$top=n]` | `{count, value}` of `ElasticPoolLog`, newest first, at most `$top` |
//!
//! What a pending delete does next is the actor's ([`super::actor`]): an idle node's instance is deleted, an
//! assigned node becomes `assignedPendingDelete` and goes once its job ends. Caveat: `pendingReimage` is
//! refused like every other state, as the decompiled controller does, although the swagger lists it.

use serde_json::Value;

use super::dispatch::{organization, Ctx, Reply};
use super::error::DevopsError;
use super::render;
use crate::state::Store;

/// The states a client may set (`ElasticNodesController.UpdateElasticNode`).
pub const SETTABLE_STATES: &[&str] =
    &["pendingDelete", "failedToStartPendingDelete", "failedToRestartPendingDelete", "failedVMPendingDelete"];

/// GET nodes.
pub fn list_nodes(ctx: &Ctx<'_>, store: &mut Store, pool_id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    org.elastic(pool_id).ok_or(DevopsError::ElasticPoolNotFound(pool_id))?;
    let state = ctx.param("$state");
    let items: Vec<Value> = org
        .nodes
        .iter()
        .filter(|n| n.pool_id == pool_id && state.is_none_or(|s| n.state.eq_ignore_ascii_case(s)))
        .map(render::node)
        .collect();
    Ok(Reply::Json(render::list(items)))
}

/// PATCH one node.
pub fn update_node(ctx: &Ctx<'_>, store: &mut Store, pool_id: i64, node_id: i64) -> Result<Reply, DevopsError> {
    let settings: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
    let Some(settings) = settings.as_object() else {
        return Err(DevopsError::ArgumentNull("elasticNodeSettings".into()));
    };
    let requested = settings.iter().find(|(k, _)| k.eq_ignore_ascii_case("state")).and_then(|(_, v)| v.as_str());
    let state = requested
        .and_then(|s| SETTABLE_STATES.iter().find(|allowed| allowed.eq_ignore_ascii_case(s)))
        .ok_or_else(|| {
            DevopsError::Argument(
                "Elastic node state can only be updated to PendingDelete\r\nParameter name: State".into(),
            )
        })?;
    let org = organization(store, ctx)?;
    org.elastic(pool_id).ok_or(DevopsError::ElasticPoolNotFound(pool_id))?;
    let now_ms = crate::arm::lro::now_ms(ctx.now);
    let Some(node) = org.nodes.iter_mut().find(|n| n.pool_id == pool_id && n.id == node_id) else {
        return Ok(Reply::Json(Value::Null));
    };
    if node.state != *state {
        node.state = state.to_string();
        node.state_changed_ms = now_ms;
    }
    Ok(Reply::Json(render::node(node)))
}

/// GET logs.
pub fn list_logs(ctx: &Ctx<'_>, store: &mut Store, pool_id: i64) -> Result<Reply, DevopsError> {
    let org = organization(store, ctx)?;
    org.elastic(pool_id).ok_or(DevopsError::ElasticPoolNotFound(pool_id))?;
    let top = ctx.param("$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(usize::MAX);
    let items: Vec<Value> = org.logs.iter().rev().filter(|l| l.pool_id == pool_id).take(top).map(render::log).collect();
    Ok(Reply::Json(render::list(items)))
}
