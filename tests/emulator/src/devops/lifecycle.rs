//! The life of elastic nodes (the agents on a pool's scale set instances), one step per tick
//! (decompiled `NodeObserver`, `ElasticPoolSizingJobBase`, see [`super::error`]):
//!
//! - [`sync`]: a node whose instance is gone goes (with its job); an instance the pool did not make (one
//!   that was there before the pool, or made by someone else) is deleted, logged as `deleteVMs` warning
//!   "Deleting {n} unhealthy machines." — Microsoft's documentation: the pool "will delete these two VMs and
//!   create new ones";
//! - [`advance`]: `new` → `creatingCompute` → `startingAgent` → `idle` (the agent registers: an agent id,
//!   `enabled, online`), each after `--devops-node-ms`; a pending delete on an assigned node becomes
//!   `assignedPendingDelete`; an `assigned` node whose job ended is `idle` again, or `pendingReimage` in a
//!   pool that recycles agents after each use;
//! - [`delete_due`]: instances of nodes in a pending delete state (not assigned), of `assignedPendingDelete`
//!   nodes whose job ended, of `pendingReimage` nodes, and of idle nodes beyond `desiredIdle` idle for
//!   `timeToLiveMinutes`, are deleted through the scale set API, logged as `deleteVMs`
//!   "Decreasing capacity from {n} to {m}." (`ElasticResources.DecreasingCapacity`).

use super::actor::{log_once, Actor};
use super::model::{ElasticPool, IdKind, Organization};
use super::nodes::SETTABLE_STATES;
use super::render::timestamp;
use crate::kinds::scale_sets;

/// Nodes follow their instances; instances the pool did not make are deleted.
pub fn sync(actor: &mut Actor<'_>, org: &mut Organization, elastic: &ElasticPool, set_id: &str) {
    let instances = scale_sets::instances(actor.store, set_id);
    let pool = elastic.pool_id;
    let gone: Vec<i64> = org
        .nodes
        .iter()
        .filter(|n| n.pool_id == pool && !instances.iter().any(|i| i.instance_id == n.compute_id))
        .map(|n| n.id)
        .collect();
    org.nodes.retain(|n| !gone.contains(&n.id));
    org.jobs.retain(|j| !gone.contains(&j.node_id));
    let foreign: Vec<String> = instances
        .iter()
        .filter(|i| !org.nodes.iter().any(|n| n.pool_id == pool && n.compute_id == i.instance_id))
        .map(|i| i.instance_id.clone())
        .collect();
    if foreign.is_empty() {
        return;
    }
    match scale_sets::delete_instances(actor.store, set_id, &foreign) {
        Ok(()) => {
            let message = format!("Deleting {} unhealthy machines.", foreign.len());
            org.log(pool, "warning", "deleteVMs", message, timestamp(actor.now));
            actor.record(pool, "deleteInstances", set_id, foreign.join(","));
        }
        Err(e) => {
            let message = format!("Failed to decrease capacity with error: {e}");
            log_once(org, pool, "error", "deleteVMs", message, actor.now);
        }
    }
}

/// Moves each node of the pool one step on.
pub fn advance(actor: &mut Actor<'_>, org: &mut Organization, elastic: &ElasticPool) {
    let now_ms = actor.now_ms();
    let phase = i64::try_from(actor.config.devops.node_ms).unwrap_or(i64::MAX);
    let indices: Vec<usize> = (0..org.nodes.len()).filter(|i| org.nodes[*i].pool_id == elastic.pool_id).collect();
    for i in indices {
        let node = &org.nodes[i];
        let due = now_ms - node.state_changed_ms >= phase;
        let assigned = node.agent.assigned;
        let next = match node.state.as_str() {
            "new" if due => "creatingCompute",
            "creatingCompute" if due => "startingAgent",
            "startingAgent" if due => "idle",
            "assigned" if !assigned && elastic.recycle_after_each_use => "pendingReimage",
            "assigned" if !assigned => "idle",
            state if assigned && SETTABLE_STATES.contains(&state) => "assignedPendingDelete",
            _ => continue,
        };
        if next == "idle" && org.nodes[i].agent_id.is_none() {
            let agent = org.next_id(IdKind::Agent);
            let node = &mut org.nodes[i];
            node.agent_id = Some(agent);
            node.agent.enabled = true;
            node.agent.online = true;
        }
        let node = &mut org.nodes[i];
        node.state = next.to_string();
        node.state_changed_ms = now_ms;
    }
}

/// Whether a node's instance is to be deleted now (not counting excess idle ones).
fn doomed_state(state: &str, assigned: bool) -> bool {
    !assigned && (SETTABLE_STATES.contains(&state) || state == "assignedPendingDelete" || state == "pendingReimage")
}

/// Deletes the instances of nodes that are to go, and of idle nodes beyond the standby count.
pub fn delete_due(actor: &mut Actor<'_>, org: &mut Organization, elastic: &ElasticPool, set_id: &str) {
    let pool = elastic.pool_id;
    let now_ms = actor.now_ms();
    let mut doomed: Vec<(i64, String)> = org
        .nodes
        .iter()
        .filter(|n| n.pool_id == pool && doomed_state(&n.state, n.agent.assigned))
        .map(|n| (n.id, n.compute_id.clone()))
        .collect();
    let mut idle: Vec<_> = org.nodes.iter().filter(|n| n.pool_id == pool && n.state == "idle").collect();
    idle.sort_by_key(|n| n.state_changed_ms);
    let excess = idle.len().saturating_sub(usize::try_from(elastic.desired_idle).unwrap_or(0));
    let ttl_ms = elastic.time_to_live_minutes.saturating_mul(60_000);
    doomed.extend(
        idle.into_iter()
            .take(excess)
            .filter(|n| now_ms - n.state_changed_ms >= ttl_ms)
            .map(|n| (n.id, n.compute_id.clone())),
    );
    if doomed.is_empty() {
        return;
    }
    let count = scale_sets::instances(actor.store, set_id).len();
    let ids: Vec<String> = doomed.iter().map(|(_, compute)| compute.clone()).collect();
    match scale_sets::delete_instances(actor.store, set_id, &ids) {
        Ok(()) => {
            let nodes: Vec<i64> = doomed.iter().map(|(id, _)| *id).collect();
            org.nodes.retain(|n| !nodes.contains(&n.id));
            let message = format!("Decreasing capacity from {count} to {}.", count.saturating_sub(ids.len()));
            org.log(pool, "info", "deleteVMs", message, timestamp(actor.now));
            actor.record(pool, "deleteInstances", set_id, ids.join(","));
        }
        Err(e) => {
            let message = format!("Failed to decrease capacity with error: {e}");
            log_once(org, pool, "error", "deleteVMs", message, actor.now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_goes() {
        assert!(doomed_state("pendingDelete", false));
        assert!(!doomed_state("pendingDelete", true), "a busy node waits for its job");
        assert!(doomed_state("assignedPendingDelete", false));
        assert!(!doomed_state("idle", false));
    }
}
