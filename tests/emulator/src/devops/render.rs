//! The wire shapes of Azure DevOps objects (`TeamProjectReference`, `ServiceEndpoint`, `TaskAgentPool`,
//! `TaskAgentQueue`, `ElasticPool`, `ElasticNode`, `ElasticPoolLog`, `IdentityRef`), as the 7.1 swaggers
//! define them and the specs' `httpExamples` show them, and the `{count, value}` collection wrapper every
//! list is answered in.
//!
//! Flags enums go on the wire as Azure DevOps writes them, members joined by `", "` (`TaskAgentPoolOptions`
//! `"elasticPool, singleUseAgents"`, `ElasticAgentState` `"enabled, online"`): both are `[Flags]` in the
//! decompiled `Microsoft.TeamFoundation.DistributedTask.WebApi`, and microsoft/azure-devops-rust-api#66 shows
//! the service writing another flags enum that way. The swaggers declare single values, so such values
//! fail their enum (and azure_devops_rust_api's typed models) — as they would against the real service.
//!
//! Caveat: links (`_links`, `url`) point at the organization URL the client used; identity `url`s and
//! avatars are left out.

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::model::{AgentFlags, ElasticPool, Endpoint, Identity, Node, Organization, Pool, PoolLog, Project, Queue};

/// ISO 8601 in UTC with milliseconds, as Azure DevOps writes dates.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// [`timestamp`] of Unix milliseconds.
pub fn timestamp_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    timestamp(t)
}

/// The `{count, value}` wrapper of a collection.
pub fn list(items: Vec<Value>) -> Value {
    json!({ "count": items.len(), "value": items })
}

/// An `IdentityRef`.
pub fn identity(who: &Identity) -> Value {
    json!({
        "displayName": who.display_name,
        "id": who.id,
        "uniqueName": who.unique_name,
        "descriptor": who.descriptor,
    })
}

/// A `TeamProjectReference` (the list and get answers of the `projects` routes).
pub fn project(org_url: &str, p: &Project) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "url": format!("{org_url}/_apis/projects/{}", p.id),
        "state": "wellFormed",
        "revision": 1,
        "visibility": "private",
        "lastUpdateTime": p.last_update_time,
    })
}

/// A `ServiceEndpoint` (no secrets: Azure DevOps never returns `serviceprincipalkey`).
pub fn endpoint(projects: &[Project], e: &Endpoint, creator: &Identity) -> Value {
    let mut data = Map::new();
    let mut parameters = Map::new();
    if e.endpoint_type.eq_ignore_ascii_case("azurerm") {
        for (key, value) in [("subscriptionId", &e.subscription_id), ("subscriptionName", &e.subscription_name)] {
            if let Some(v) = value {
                data.insert(key.into(), json!(v));
            }
        }
        data.insert("environment".into(), json!("AzureCloud"));
        data.insert("scopeLevel".into(), json!("Subscription"));
        data.insert("creationMode".into(), json!("Manual"));
    }
    if let Some(tenant) = &e.tenant_id {
        parameters.insert("tenantid".into(), json!(tenant));
    }
    if let Some(principal) = &e.service_principal_id {
        parameters.insert("serviceprincipalid".into(), json!(principal));
        if e.scheme.eq_ignore_ascii_case("ServicePrincipal") {
            parameters.insert("authenticationType".into(), json!("spnKey"));
        }
    }
    let references: Vec<Value> = e
        .project_ids
        .iter()
        .filter_map(|id| projects.iter().find(|p| &p.id == id))
        .map(|p| json!({ "projectReference": { "id": p.id, "name": p.name }, "name": e.name }))
        .collect();
    json!({
        "data": data,
        "id": e.id,
        "name": e.name,
        "type": e.endpoint_type,
        "url": e.url,
        "createdBy": identity(creator),
        "description": "",
        "authorization": { "parameters": parameters, "scheme": e.scheme },
        "isShared": false,
        "isReady": true,
        "owner": "Library",
        "serviceEndpointProjectReferences": references,
    })
}

/// [`endpoint`] of an organization's endpoint: a `WorkloadIdentityFederation` one also shows the
/// `workloadIdentityFederationIssuer` and `workloadIdentityFederationSubject` parameters its tokens carry (the
/// parameter names Azure DevOps answers, as the azuredevops Terraform provider and Azure Developer CLI read
/// them).
pub fn endpoint_in(org: &Organization, e: &Endpoint, creator: &Identity) -> Value {
    let mut value = endpoint(&org.projects, e, creator);
    if e.scheme.eq_ignore_ascii_case(super::oidc::WIF_SCHEME) {
        let parameters = &mut value["authorization"]["parameters"];
        parameters["workloadIdentityFederationIssuer"] = json!(super::oidc::issuer(org));
        parameters["workloadIdentityFederationSubject"] = json!(super::oidc::subject(org, e));
    }
    value
}

/// `TaskAgentPoolOptions` as written on the wire.
pub fn pool_options(elastic: Option<&ElasticPool>) -> String {
    let Some(e) = elastic else { return "none".into() };
    let mut flags = vec!["elasticPool"];
    if e.recycle_after_each_use {
        flags.push("singleUseAgents");
    }
    if e.max_saved_node_count > 0 {
        flags.push("preserveAgentOnJobFailure");
    }
    flags.join(", ")
}

/// A `TaskAgentPoolReference` (inside queues).
pub fn pool_reference(p: &Pool, elastic: Option<&ElasticPool>, size: usize) -> Value {
    json!({
        "id": p.id,
        "scope": p.scope,
        "name": p.name,
        "isHosted": p.is_hosted,
        "poolType": "automation",
        "size": size,
        "isLegacy": false,
        "options": pool_options(elastic),
    })
}

/// A `TaskAgentPool`; `size` is the number of agents registered in it.
pub fn pool(p: &Pool, elastic: Option<&ElasticPool>, size: usize) -> Value {
    let mut value = pool_reference(p, elastic, size);
    let extra = json!({
        "createdOn": p.created_on,
        "autoProvision": p.auto_provision,
        "autoUpdate": true,
        "autoSize": true,
        "createdBy": identity(&p.created_by),
        "owner": identity(&p.created_by),
        "properties": {},
    });
    if let (Some(map), Value::Object(more)) = (value.as_object_mut(), extra) {
        map.extend(more);
    }
    value
}

/// A `TaskAgentQueue`.
pub fn queue(q: &Queue, pool: &Pool, elastic: Option<&ElasticPool>, size: usize) -> Value {
    json!({
        "id": q.id,
        "projectId": q.project_id,
        "name": q.name,
        "pool": pool_reference(pool, elastic, size),
    })
}

/// An `ElasticPool`.
pub fn elastic_pool(e: &ElasticPool) -> Value {
    let mut value = json!({
        "poolId": e.pool_id,
        "serviceEndpointId": e.service_endpoint_id,
        "serviceEndpointScope": e.service_endpoint_scope,
        "azureId": e.azure_id,
        "maxCapacity": e.max_capacity,
        "desiredIdle": e.desired_idle,
        "recycleAfterEachUse": e.recycle_after_each_use,
        "maxSavedNodeCount": e.max_saved_node_count,
        "osType": e.os_type,
        "state": e.state,
        "desiredSize": e.desired_size,
        "sizingAttempts": e.sizing_attempts,
        "agentInteractiveUI": e.agent_interactive_ui,
        "timeToLiveMinutes": e.time_to_live_minutes,
        "orchestrationType": e.orchestration_type,
    });
    if let Some(since) = &e.offline_since {
        value["offlineSince"] = json!(since);
    }
    value
}

/// `ElasticAgentState` as written on the wire.
pub fn agent_state(flags: AgentFlags) -> String {
    let names: Vec<&str> = [(flags.enabled, "enabled"), (flags.online, "online"), (flags.assigned, "assigned")]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The `ElasticComputeState` of a node's state.
pub fn compute_state(state: &str) -> &'static str {
    match state {
        "new" | "creatingCompute" => "creating",
        "deletingCompute" => "deleting",
        "reimagingCompute" => "reimaging",
        _ => "healthy",
    }
}

/// An `ElasticNode`.
pub fn node(n: &Node) -> Value {
    let mut value = json!({
        "id": n.id,
        "name": n.name,
        "poolId": n.pool_id,
        "computeId": n.compute_id,
        "computeState": compute_state(&n.state),
        "agentState": agent_state(n.agent),
        "state": n.state,
        "desiredState": "none",
        "stateChangedOn": timestamp_ms(n.state_changed_ms),
    });
    if let Some(agent) = n.agent_id {
        value["agentId"] = json!(agent);
    }
    if let Some(request) = n.request_id {
        value["requestId"] = json!(request);
    }
    value
}

/// An `ElasticPoolLog`.
pub fn log(l: &PoolLog) -> Value {
    json!({
        "id": l.id,
        "poolId": l.pool_id,
        "level": l.level,
        "operation": l.operation,
        "message": l.message,
        "timestamp": l.timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_lists() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(timestamp(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(timestamp_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(list(vec![json!(1), json!(2)]), json!({"count": 2, "value": [1, 2]}));
    }

    #[test]
    fn flags_are_joined() {
        assert_eq!(agent_state(AgentFlags::default()), "none");
        assert_eq!(agent_state(AgentFlags { enabled: true, online: true, assigned: false }), "enabled, online");
        let mut e = ElasticPool {
            pool_id: 10,
            service_endpoint_id: "e".into(),
            service_endpoint_scope: "p".into(),
            azure_id: "/subscriptions/s".into(),
            max_capacity: 4,
            desired_idle: 1,
            recycle_after_each_use: false,
            max_saved_node_count: 0,
            os_type: "linux".into(),
            orchestration_type: "uniform".into(),
            state: "new".into(),
            offline_since: None,
            desired_size: 0,
            sizing_attempts: 0,
            agent_interactive_ui: false,
            time_to_live_minutes: 15,
        };
        assert_eq!(pool_options(None), "none");
        assert_eq!(pool_options(Some(&e)), "elasticPool");
        e.recycle_after_each_use = true;
        assert_eq!(pool_options(Some(&e)), "elasticPool, singleUseAgents");
        assert!(elastic_pool(&e).get("offlineSince").is_none());
    }
}
