//! `agentpool image build`, `agentpool image wait` and the image part of `up`.

use std::time::Duration;

use agentpool_core::image::wait::{Follow, SystemClock};
use agentpool_core::image::{self, BuildError, StartedBuild};
use agentpool_core::plan::DesiredState;
use agentpool_core::resources::{image_template, storage_account};

use crate::cli::FollowArgs;
use crate::deploy::Azure;
use crate::progress::Terminal;
use crate::Failure;

impl From<BuildError> for Failure {
    fn from(error: BuildError) -> Self {
        match &error {
            BuildError::Store(store) if store.is_usage() => Failure::Usage(error.to_string()),
            BuildError::NoTemplate => Failure::Usage(error.to_string()),
            _ => Failure::Operation(error.to_string()),
        }
    }
}

/// The blob endpoint of the scripts' storage account, as Azure reports it.
pub async fn blob_endpoint(azure: &Azure, account_id: &str, account: &str) -> Result<String, Failure> {
    let live = agentpool_core::apply::arm_store::find(&azure.client, &storage_account::KIND, account_id)
        .await
        .map_err(|e| Failure::Operation(e.to_string()))?;
    live.as_ref()
        .and_then(|a| a.pointer("/properties/primaryEndpoints/blob"))
        .and_then(|e| e.as_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::Usage(format!(
                "storage account {account} does not exist — deploy the infrastructure first: `agentpool up --scope infra`"
            ))
        })
}

/// Starts the build of `desired` (rendered with the live blob endpoint); prints its outputs.
pub async fn build(azure: &Azure, desired: &DesiredState, container_url: &str) -> Result<StartedBuild, Failure> {
    let started = image::start(&azure.client, &azure.blobs, desired, container_url, &Terminal).await?;
    crate::progress::output("imageTemplateName", &started.template_name);
    crate::progress::output("imageTemplateResourceGroup", &started.resource_group);
    Ok(started)
}

/// How often a cancelled build is looked at until Image Builder reports it Canceled.
const CANCEL_POLL: Duration = Duration::from_secs(5);

/// Follows the build of `template_id` to its end, then records how long it took (for the next
/// wait) and tags the versions it made with their build and end of life. On SIGINT or SIGTERM (a cancelled pipeline)
/// the run is cancelled in Azure and followed until Image Builder reports it Canceled, so the
/// template is left deletable rather than building on unattended. Returns the image version the
/// build produced (also an output, `imageVersionId`).
pub async fn wait(
    azure: &Azure,
    template_id: &str,
    previous_run: Option<String>,
    follow: &FollowArgs,
) -> Result<Option<String>, Failure> {
    let every = match follow.poll_seconds {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => return Err(Failure::Usage("--poll-seconds must be a positive number of seconds".to_owned())),
        None => None,
    };
    let timeout = Duration::from_secs(follow.timeout_minutes * 60);
    let mut log = image::log::BuildLog::new(azure.credential.clone(), azure.options.clone());
    let following = image::wait::wait(
        &azure.client,
        template_id,
        Follow { every, timeout, clock: &SystemClock, log: Some(&mut log), previous_run },
        &Terminal,
    );
    tokio::select! {
        outcome = following => {
            let finished = outcome?;
            image::wait::remember(&azure.client, template_id, &finished, &Terminal).await;
            image::provenance::stamp(&azure.client, template_id, &finished.tags, &Terminal)
                .await
                .map_err(|e| Failure::Operation(format!("tagging the new image version: {e}")))?;
            let message = &finished.status.message;
            eprintln!(
                "image build succeeded{} ({} status reads)",
                if message.is_empty() { String::new() } else { format!(": {message}") },
                finished.status_reads
            );
            let produced = image::versions::produced_by(&azure.client, template_id)
                .await
                .map_err(|e| Failure::Operation(format!("reading the build's image version: {e}")))?;
            if let Some(version) = &produced {
                crate::progress::output("imageVersionId", version);
            }
            Ok(produced)
        }
        signal = stop_signal() => {
            eprintln!("{signal}: cancelling the image build");
            azure
                .client
                .post_no_wait(&format!("{template_id}/cancel"), image_template::KIND.api_version)
                .await
                .map_err(|e| Failure::Operation(format!("cancelling the image build failed: {e}")))?;
            let follow =
                Follow { every: every.or(Some(CANCEL_POLL)), timeout, clock: &SystemClock, log: None, previous_run: None };
            match image::wait::wait(&azure.client, template_id, follow, &Terminal).await {
                Err(BuildError::RunFailed { state, .. }) if state == "Canceled" => {
                    Err(Failure::Operation(format!("{signal}: the image build was cancelled")))
                }
                Err(other) => Err(other.into()),
                Ok(_) => Err(Failure::Operation(format!("{signal}: the image build ended before it could be cancelled"))),
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM with the signal's name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut interrupt), Ok(mut terminate)) => tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl+C",
            Err(_) => std::future::pending().await,
        }
    }
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}`.
pub fn template_id(subscription: &str, group: &str, name: &str) -> String {
    agentpool_core::resources::resource_id(subscription, group, &image_template::KIND, name)
}
