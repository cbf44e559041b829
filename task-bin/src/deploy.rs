//! `agentpool infra deploy`, `agentpool up` and the live `agentpool plan`: the desired state
//! compared with Azure, then converged.

use agentpool_core::apply::dag::{self, ScriptTarget};
use agentpool_core::apply::live::{self, LivePlan};
use agentpool_core::arm::{self, ArmClient, ArmConfig};
use agentpool_core::blob::BlobScripts;
use agentpool_core::events::EventSink;
use agentpool_core::plan::{DesiredState, Stage};
use agentpool_core::resources::{blob_container, storage_account};

use crate::progress::{Labelled, Terminal};
use crate::Failure;

/// Operations in flight at once.
pub const DEFAULT_PARALLELISM: usize = 8;

/// Azure, reached with the credential and endpoint of the environment.
pub struct Azure {
    pub client: ArmClient,
    pub blobs: BlobScripts,
    /// For other data-plane clients (the build log).
    pub credential: std::sync::Arc<dyn azure_core::credentials::TokenCredential>,
    pub options: azure_core::http::ClientOptions,
}

impl Azure {
    /// From `AGENTPOOL_ARM_ENDPOINT` (or `arm_endpoint`), `AGENTPOOL_CA_FILE` and the Azure
    /// credential variables.
    pub fn from_env(arm_endpoint: Option<&str>) -> Result<Self, Failure> {
        let mut config = ArmConfig::from_env().map_err(|e| Failure::Usage(e.to_string()))?;
        if let Some(endpoint) = arm_endpoint {
            config = config.with_endpoint(endpoint).map_err(|e| Failure::Usage(e.to_string()))?;
        }
        let arm::Connection { client, credential, options } =
            arm::Connection::new(&config, |name| std::env::var(name).ok())
                .map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(Self { client, blobs: BlobScripts::new(credential.clone(), options.clone()), credential, options })
    }
}

/// The resources of `stages`, in the desired state's order.
pub fn resources_of(desired: &DesiredState, stages: &[Stage]) -> Vec<agentpool_core::plan::DesiredResource> {
    desired.resources.iter().filter(|r| stages.contains(&r.stage)).cloned().collect()
}

/// Compares the resources of `stages` with Azure, reporting each as an event under its readable
/// label.
pub async fn plan(
    azure: &Azure,
    desired: &DesiredState,
    stages: &[Stage],
    sink: &dyn EventSink,
) -> Result<LivePlan, Failure> {
    let resources = resources_of(desired, stages);
    let sink = Labelled::new(sink, &desired.resources);
    live::plan(&azure.client, &resources, DEFAULT_PARALLELISM, &sink).await.map_err(|e| {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Operation(e.to_string())
        }
    })
}

/// Plans and applies the infrastructure: resource group, storage and scripts, identity and its
/// roles, gallery and image definition. Prints the ids of what exists afterwards to stdout.
pub async fn deploy_infra(azure: &Azure, desired: &DesiredState, parallelism: usize) -> Result<(), Failure> {
    let sink = Terminal;
    let plan = plan(azure, desired, &[Stage::Infra], &sink).await?;
    let account = plan.actions.iter().find(|a| a.resource.kind == &storage_account::KIND);
    let container = plan.actions.iter().find(|a| a.resource.kind == &blob_container::KIND);
    let scripts = match (account, container) {
        (Some(account), Some(container)) => Some(ScriptTarget {
            account_id: account.resource.id.clone(),
            container_id: container.resource.id.clone(),
            container_name: container.resource.name.clone(),
            uploads: desired.uploads.clone(),
        }),
        _ => None,
    };
    let labelled = Labelled::new(&sink, &desired.resources);
    let report = dag::apply(&azure.client, &azure.blobs, &plan, scripts.as_ref(), parallelism, &labelled).await;
    for action in &plan.actions {
        if !report.failed.iter().any(|(id, _)| id == &action.resource.id)
            && !report.skipped.contains(&action.resource.id)
        {
            println!("{}", action.resource.id);
        }
    }
    let counts = azure.client.counts().snapshot();
    eprintln!(
        "infra: {} of {} resources changed, {} scripts sent, {} unchanged, {} writes to Azure, {:.1} s",
        report.written.len(),
        plan.actions.len(),
        report.scripts_sent,
        report.scripts_unchanged,
        counts.writes(),
        report.elapsed.as_secs_f64()
    );
    if report.succeeded() {
        Ok(())
    } else {
        let first = report.failed.first().map(|(id, e)| format!("{id}: {e}")).unwrap_or_default();
        Err(Failure::Operation(format!(
            "infra: {} failed, {} skipped — {first}; fix it and run again: finished resources are kept",
            report.failed.len(),
            report.skipped.len()
        )))
    }
}
