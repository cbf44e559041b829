//! Converging a stage of the desired state: the live plan (what differs from what Azure or
//! Azure DevOps has), then the changes as a DAG. Used by `infra deploy`, `scaleset deploy`,
//! `pool register`, `up` and the live `plan`.

use agentpool_core::apply::dag::{self, ApplyReport, ScriptTarget};
use agentpool_core::apply::live::{self, LivePlan};
use agentpool_core::apply::ResourceStore;
use agentpool_core::arm::{self, ArmClient, ArmConfig};
use agentpool_core::blob::BlobScripts;
use agentpool_core::devops::{DevOps, DevOpsAuth, Organization};
use agentpool_core::events::EventSink;
use agentpool_core::plan::{DesiredResource, DesiredState, Stage};
use agentpool_core::resources::{blob_container, storage_account};

use crate::progress::{Labelled, Terminal};
use crate::Failure;

/// Operations in flight at once.
pub const DEFAULT_PARALLELISM: usize = 8;

/// Azure, reached with the credential and endpoint of the environment.
pub struct Azure {
    pub client: ArmClient,
    pub blobs: BlobScripts,
    /// For other data-plane clients (the build log) and Azure DevOps' Entra tokens.
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

    /// Azure DevOps at `organization_url` (or `override_url`), with the credential the
    /// environment gives (see [`DevOpsAuth::choose`]), over the same transport.
    pub fn devops(&self, organization_url: &str, override_url: Option<&str>) -> Result<DevOps, Failure> {
        let organization = Organization::parse(override_url.unwrap_or(organization_url))
            .map_err(|e| Failure::Usage(format!("agentPool.organizationUrl: {e}")))?;
        let auth = DevOpsAuth::choose(|name| std::env::var(name).ok(), self.credential.clone())
            .map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(DevOps::new(organization, &auth, &self.options))
    }
}

/// A failure of a store, as an exit code.
pub fn failure(error: agentpool_core::apply::StoreError) -> Failure {
    if error.is_usage() {
        Failure::Usage(error.to_string())
    } else {
        Failure::Operation(error.to_string())
    }
}

/// Compares the resources of `stages` with `store`, reporting each as an event under its
/// readable label.
pub async fn plan(
    store: &impl ResourceStore,
    desired: &DesiredState,
    stages: &[Stage],
    sink: &dyn EventSink,
) -> Result<LivePlan, Failure> {
    let resources: Vec<DesiredResource> = desired.of_stages(stages);
    let sink = Labelled::new(sink, &desired.resources);
    live::plan(store, &resources, DEFAULT_PARALLELISM, &sink).await.map_err(failure)
}

/// What converging one stage did.
pub struct Converged {
    pub plan: LivePlan,
    pub report: ApplyReport,
}

impl Converged {
    /// The resources that exist afterwards (neither failed nor skipped).
    pub fn present(&self) -> impl Iterator<Item = &DesiredResource> {
        self.plan
            .actions
            .iter()
            .map(|a| &a.resource)
            .filter(|r| !self.report.failed.iter().any(|(id, _)| id == &r.id) && !self.report.skipped.contains(&r.id))
    }

    /// `Ok` when every change was made; otherwise the first failure, and what to do.
    pub fn result(&self, title: &str) -> Result<(), Failure> {
        if self.report.succeeded() {
            return Ok(());
        }
        let first = self.report.failed.first().map(|(id, e)| format!("{id}: {e}")).unwrap_or_default();
        let usage = self.report.failed.iter().all(|(_, e)| e.is_usage());
        let message = format!(
            "{title}: {} failed, {} skipped — {first}; fix it and run again: finished resources are kept",
            self.report.failed.len(),
            self.report.skipped.len()
        );
        Err(if usage && !self.report.failed.is_empty() { Failure::Usage(message) } else { Failure::Operation(message) })
    }
}

/// Plans `stage` against `store` and applies the changes (uploading `scripts` too).
pub async fn converge(
    store: &impl ResourceStore,
    blobs: &BlobScripts,
    desired: &DesiredState,
    stage: Stage,
    scripts: Option<&ScriptTarget>,
    parallelism: usize,
) -> Result<Converged, Failure> {
    eprintln!("== {} — {}", stage.title(), stage.deployed_by());
    let sink = Terminal;
    let plan = plan(store, desired, &[stage], &sink).await?;
    let labelled = Labelled::new(&sink, &desired.resources);
    let report = dag::apply(store, blobs, &plan, scripts, parallelism, &labelled).await;
    Ok(Converged { plan, report })
}

/// Plans and applies the infrastructure: resource group, storage and scripts, identity and its
/// roles, gallery and image definition. Prints the ids of what exists afterwards to stdout.
pub async fn deploy_infra(azure: &Azure, desired: &DesiredState, parallelism: usize) -> Result<(), Failure> {
    let account = desired.find(&storage_account::KIND);
    let container = desired.find(&blob_container::KIND);
    let scripts = match (account, container) {
        (Some(account), Some(container)) => Some(ScriptTarget {
            account_id: account.id.clone(),
            container_id: container.id.clone(),
            container_name: container.name.clone(),
            uploads: desired.uploads.clone(),
        }),
        _ => None,
    };
    let writes_before = azure.client.counts().snapshot().writes();
    let converged = converge(&azure.client, &azure.blobs, desired, Stage::Infra, scripts.as_ref(), parallelism).await?;
    for resource in converged.present() {
        println!("{}", resource.id);
    }
    let report = &converged.report;
    eprintln!(
        "infra: {} of {} resources changed, {} scripts sent, {} unchanged, {} writes to Azure, {:.1} s",
        report.written.len(),
        converged.plan.actions.len(),
        report.scripts_sent,
        report.scripts_unchanged,
        azure.client.counts().snapshot().writes() - writes_before,
        report.elapsed.as_secs_f64()
    );
    converged.result("infra")
}
