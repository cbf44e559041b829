//! Azure DevOps elastic pool (scale-set agent pool), distributedtask 7.1.
//!
//! Created with `POST {org}/_apis/distributedtask/elasticpools?poolName&authorizeAllPipelines&
//! autoProvisionProjectPools&projectId`, updated with `PATCH …/elasticpools/{poolId}`; there is no
//! delete (deleting the agent pool removes it). [`crate::devops`] reaches it.
//!
//! Caveat: `authorizeAllPipelines` and `autoProvisionProjectPools` are settings of the create
//! call only: a pool that exists keeps what it was created with (change them in Azure DevOps'
//! pool settings).

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind, Probe, Service, Update};
use crate::aib::OsType;
use crate::params::model::AgentPool;

pub static KIND: Kind = Kind {
    probe: Probe::List,
    update: Update::Patch,
    service: Service::AzureDevOps,
    ..kind::arm(
        "AzureDevOps/elasticPools",
        "7.1",
        "vsts-rest-api-specs/specification/distributedTask/7.1/elastic.json",
        "agent pool",
    )
};

/// `ElasticPoolSettings` as sent on create and update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElasticPoolSettings {
    #[serde(rename = "agentInteractiveUI")]
    pub agent_interactive_ui: bool,
    pub azure_id: String,
    pub desired_idle: u32,
    pub max_capacity: u32,
    pub max_saved_node_count: u32,
    /// `uniform`: Azure DevOps manages Uniform scale sets only.
    pub orchestration_type: String,
    pub os_type: String,
    pub recycle_after_each_use: bool,
    pub service_endpoint_id: String,
    pub service_endpoint_scope: String,
    pub time_to_live_minutes: u32,
}

/// Query parameters of the create call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateQuery {
    pub pool_name: String,
    pub authorize_all_pipelines: bool,
    pub auto_provision_project_pools: bool,
    pub project_id: String,
}

/// `{organizationUrl}/_apis/distributedtask/elasticpools`, without a trailing slash issue.
pub fn collection_url(organization_url: &str) -> String {
    format!("{}/_apis/distributedtask/elasticpools", organization_url.trim_end_matches('/'))
}

/// Settings and create query; `endpoint_id` and `project_id` may be placeholders offline.
pub fn desired(
    pool: &AgentPool,
    os: OsType,
    scale_set_id: &str,
    endpoint_id: String,
    project_id: String,
) -> (ElasticPoolSettings, CreateQuery) {
    let settings = ElasticPoolSettings {
        agent_interactive_ui: pool.agent_interactive_ui,
        azure_id: scale_set_id.to_owned(),
        desired_idle: pool.desired_idle,
        max_capacity: pool.max_capacity,
        max_saved_node_count: pool.max_saved_node_count,
        orchestration_type: "uniform".to_owned(),
        os_type: os.lowercase().to_owned(),
        recycle_after_each_use: pool.recycle_after_each_use,
        service_endpoint_id: endpoint_id,
        service_endpoint_scope: project_id.clone(),
        time_to_live_minutes: pool.time_to_live_minutes,
    };
    let query = CreateQuery {
        pool_name: pool.name.clone(),
        authorize_all_pipelines: pool.authorize_all_pipelines,
        auto_provision_project_pools: pool.auto_provision_project_pools,
        project_id,
    };
    (settings, query)
}
