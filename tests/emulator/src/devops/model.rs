//! What the emulated Azure DevOps keeps: organizations with their projects, service endpoints, agent pools,
//! queues, elastic pools, nodes, pool logs and jobs, plus a journal of what the actor did to scale sets.
//!
//! It lives in the emulator's state ([`crate::state::Store::devops`]) and is saved in the state file with
//! the ARM resources, so a script run twice against one `--state-file` sees the pool it made. Field names
//! are the state file's; the wire shapes are made by [`super::render`].
//!
//! Ids: pools, queues, nodes, agents, logs and job requests count up per organization (pools from 10:
//! 1 and 2 are the `Default` and `Azure Pipelines` pools every organization has); projects and service
//! endpoints have GUIDs derived from their names, so a seed made twice has the same ids.

use serde::{Deserialize, Serialize};

/// The whole Azure DevOps side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevopsState {
    #[serde(default)]
    pub organizations: Vec<Organization>,
    /// What the actor did to scale sets, oldest first (at most [`JOURNAL_LIMIT`]).
    #[serde(default)]
    pub journal: Vec<ActorAction>,
}

/// How many actor actions the journal keeps.
pub const JOURNAL_LIMIT: usize = 2000;
/// How many log entries a pool keeps.
pub const LOG_LIMIT: usize = 1000;

impl DevopsState {
    /// Whether nothing is kept (the state file then leaves the section out).
    pub fn is_empty(&self) -> bool {
        self.organizations.is_empty() && self.journal.is_empty()
    }

    /// The organization with this name (any case).
    pub fn org(&self, name: &str) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// Mutable access to the organization with this name (any case).
    pub fn org_mut(&mut self, name: &str) -> Option<&mut Organization> {
        self.organizations.iter_mut().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// Appends to the journal, dropping the oldest entries beyond the limit.
    pub fn record(&mut self, action: ActorAction) {
        push_journal(&mut self.journal, action);
    }
}

/// Appends to a journal, dropping the oldest entries beyond [`JOURNAL_LIMIT`].
pub fn push_journal(journal: &mut Vec<ActorAction>, action: ActorAction) {
    journal.push(action);
    if journal.len() > JOURNAL_LIMIT {
        let extra = journal.len() - JOURNAL_LIMIT;
        journal.drain(..extra);
    }
}

/// An Azure DevOps organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub projects: Vec<Project>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub pools: Vec<Pool>,
    #[serde(default)]
    pub queues: Vec<Queue>,
    #[serde(default)]
    pub elastic_pools: Vec<ElasticPool>,
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub logs: Vec<PoolLog>,
    #[serde(default)]
    pub jobs: Vec<Job>,
    #[serde(default)]
    pub counters: Counters,
}

/// The last id handed out of each kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub pool: i64,
    pub queue: i64,
    pub node: i64,
    pub agent: i64,
    pub log: i64,
    pub request: i64,
}

/// The kinds of counted ids.
#[derive(Debug, Clone, Copy)]
pub enum IdKind {
    Pool,
    Queue,
    Node,
    Agent,
    Log,
    Request,
}

impl Organization {
    /// The next id of a kind.
    pub fn next_id(&mut self, kind: IdKind) -> i64 {
        let c = &mut self.counters;
        let slot = match kind {
            IdKind::Pool => &mut c.pool,
            IdKind::Queue => &mut c.queue,
            IdKind::Node => &mut c.node,
            IdKind::Agent => &mut c.agent,
            IdKind::Log => &mut c.log,
            IdKind::Request => &mut c.request,
        };
        *slot += 1;
        *slot
    }

    /// A project by id or name (any case).
    pub fn project(&self, id_or_name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id.eq_ignore_ascii_case(id_or_name) || p.name.eq_ignore_ascii_case(id_or_name))
    }

    /// A pool by id.
    pub fn pool(&self, id: i64) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }

    /// A pool by name (any case).
    pub fn pool_named(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The elastic pool of an agent pool.
    pub fn elastic(&self, pool_id: i64) -> Option<&ElasticPool> {
        self.elastic_pools.iter().find(|e| e.pool_id == pool_id)
    }

    /// Mutable access to the elastic pool of an agent pool.
    pub fn elastic_mut(&mut self, pool_id: i64) -> Option<&mut ElasticPool> {
        self.elastic_pools.iter_mut().find(|e| e.pool_id == pool_id)
    }

    /// Appends a pool log entry (dropping the pool's oldest beyond [`LOG_LIMIT`]).
    pub fn log(&mut self, pool_id: i64, level: &str, operation: &str, message: String, timestamp: String) {
        let id = self.next_id(IdKind::Log);
        self.logs.push(PoolLog { id, pool_id, level: level.into(), operation: operation.into(), message, timestamp });
        let count = self.logs.iter().filter(|l| l.pool_id == pool_id).count();
        if count > LOG_LIMIT {
            if let Some(oldest) = self.logs.iter().position(|l| l.pool_id == pool_id) {
                self.logs.remove(oldest);
            }
        }
    }

    /// Removes an agent pool and everything that hangs on it (queues, elastic pool, nodes, logs, jobs).
    pub fn remove_pool(&mut self, pool_id: i64) -> Option<ElasticPool> {
        self.pools.retain(|p| p.id != pool_id);
        self.queues.retain(|q| q.pool_id != pool_id);
        self.nodes.retain(|n| n.pool_id != pool_id);
        self.logs.retain(|l| l.pool_id != pool_id);
        self.jobs.retain(|j| j.pool_id != pool_id);
        let index = self.elastic_pools.iter().position(|e| e.pool_id == pool_id)?;
        Some(self.elastic_pools.remove(index))
    }
}

/// A team project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub last_update_time: String,
}

/// A service endpoint (service connection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub name: String,
    /// `AzureRM`, `Generic`, ...
    #[serde(rename = "type")]
    pub endpoint_type: String,
    /// Projects it is shared into (ids).
    pub project_ids: Vec<String>,
    /// `ServicePrincipal`, `WorkloadIdentityFederation`, `UsernamePassword`, ...
    pub scheme: String,
    /// `tenantid` (AzureRM only).
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub service_principal_id: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    pub subscription_name: Option<String>,
    pub url: String,
    /// `workloadIdentityFederationSubject` set on the connection (WorkloadIdentityFederation only): the `sub`
    /// of its OIDC tokens instead of `sc://{organization}/{project}/{name}` ([`super::oidc::subject`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity_federation_subject: Option<String>,
}

/// Who made something (an `IdentityRef`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: String,
    pub display_name: String,
    pub unique_name: String,
    pub descriptor: String,
}

/// An agent pool (`TaskAgentPool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    pub id: i64,
    pub name: String,
    /// The pool's security scope (a GUID).
    pub scope: String,
    pub created_on: String,
    pub created_by: Identity,
    #[serde(default)]
    pub is_hosted: bool,
    #[serde(default)]
    pub auto_provision: bool,
    /// `System.AutoAuthorize` (authorize all pipelines).
    #[serde(default)]
    pub auto_authorize: bool,
}

/// A project's queue of a pool (`TaskAgentQueue`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub id: i64,
    pub name: String,
    pub project_id: String,
    pub pool_id: i64,
}

/// An elastic pool (`ElasticPool`), as the service keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElasticPool {
    pub pool_id: i64,
    pub service_endpoint_id: String,
    pub service_endpoint_scope: String,
    pub azure_id: String,
    pub max_capacity: i64,
    pub desired_idle: i64,
    pub recycle_after_each_use: bool,
    pub max_saved_node_count: i64,
    /// `linux` or `windows`.
    pub os_type: String,
    /// `uniform` (Flexible is refused).
    pub orchestration_type: String,
    /// `new`, `online`, `offline`, `unhealthy`.
    pub state: String,
    #[serde(default)]
    pub offline_since: Option<String>,
    pub desired_size: i64,
    pub sizing_attempts: i64,
    pub agent_interactive_ui: bool,
    pub time_to_live_minutes: i64,
}

/// An elastic node: one scale set instance and its agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: i64,
    pub pool_id: i64,
    /// Computer name of the instance.
    pub name: String,
    /// The scale set instance id.
    pub compute_id: String,
    /// `ElasticNodeState` wire name (`new`, `creatingCompute`, `startingAgent`, `idle`, `assigned`,
    /// `pendingDelete`, `assignedPendingDelete`, `deletingCompute`, ...).
    pub state: String,
    /// When the state last changed (Unix ms).
    pub state_changed_ms: i64,
    #[serde(default)]
    pub agent_id: Option<i64>,
    #[serde(default)]
    pub agent: AgentFlags,
    /// Last job request assigned to the agent.
    #[serde(default)]
    pub request_id: Option<i64>,
}

/// The agent's `ElasticAgentState` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentFlags {
    pub enabled: bool,
    pub online: bool,
    pub assigned: bool,
}

/// A pool log entry (`ElasticPoolLog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolLog {
    pub id: i64,
    pub pool_id: i64,
    /// `info`, `warning`, `error`.
    pub level: String,
    /// `configurationJob`, `sizingJob`, `increaseCapacity`, `reimage`, `deleteVMs`.
    pub operation: String,
    pub message: String,
    pub timestamp: String,
}

/// A pipeline job an admin route put on a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub request_id: i64,
    pub pool_id: i64,
    pub node_id: i64,
    pub assigned_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
}

/// One thing the actor did (`GET /_emulator/devops/actions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorAction {
    pub at: String,
    pub organization: String,
    pub pool_id: i64,
    /// `tag`, `extension`, `overprovision`, `upgradePolicy`, `singlePlacementGroup`, `setCapacity`,
    /// `deleteInstances`, `untag`, `removeExtension`.
    pub action: String,
    pub scale_set: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Organization {
        Organization { name: "contoso".into(), id: "o".into(), ..Default::default() }
    }

    #[test]
    fn ids_count_up_per_kind() {
        let mut o = org();
        assert_eq!((o.next_id(IdKind::Pool), o.next_id(IdKind::Pool), o.next_id(IdKind::Node)), (1, 2, 1));
    }

    #[test]
    fn logs_are_bounded_per_pool() {
        let mut o = org();
        for i in 0..(LOG_LIMIT + 5) {
            o.log(10, "info", "sizingJob", format!("m{i}"), "t".into());
        }
        o.log(11, "info", "sizingJob", "other".into(), "t".into());
        assert_eq!(o.logs.iter().filter(|l| l.pool_id == 10).count(), LOG_LIMIT);
        assert_eq!(o.logs.iter().find(|l| l.pool_id == 10).unwrap().message, "m5");
    }

    #[test]
    fn removing_a_pool_takes_what_hangs_on_it() {
        let mut o = org();
        o.queues.push(Queue { id: 1, name: "q".into(), project_id: "p".into(), pool_id: 10 });
        o.log(10, "info", "sizingJob", "m".into(), "t".into());
        assert_eq!(o.remove_pool(10), None, "no elastic pool");
        assert!(o.queues.is_empty() && o.logs.is_empty());
        let mut s = DevopsState::default();
        assert!(s.is_empty());
        s.organizations.push(o);
        assert!(s.org("CONTOSO").is_some());
    }
}
