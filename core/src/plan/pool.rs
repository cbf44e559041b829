//! The pool stage: the Azure DevOps scale-set agent pool ("elastic pool") over the scale set.

use super::{DevOpsIds, Resources};
use crate::aib::OsType;
use crate::params::model::AgentPool;
use crate::resources::{agent_pool, known_after_apply};

/// Plans the pool of `spec` over the scale set `scale_set_id`; the project and service
/// connection are ids when `ids` gives them, placeholders otherwise.
pub(super) fn desired(out: &mut Resources, spec: &AgentPool, os: OsType, scale_set_id: &str, ids: Option<&DevOpsIds>) {
    let (endpoint, project) = match ids {
        Some(ids) => (ids.service_endpoint_id.clone(), ids.project_id.clone()),
        None => (
            known_after_apply(&format!("id of service connection {}", spec.service_connection)),
            known_after_apply(&format!("id of project {}", spec.project)),
        ),
    };
    let (settings, query) = agent_pool::desired(spec, os, scale_set_id, endpoint, project);
    let url = agent_pool::collection_url(&spec.organization_url);
    let pool = out.add(&agent_pool::KIND, &spec.name, &url, &[scale_set_id], &settings);
    pool.query = serde_json::to_value(&query).ok();
}
