//! `agentpool image build`, `agentpool image wait` and the image part of `up`.

use std::time::Duration;

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
            BuildError::Store(store) if store.usage => Failure::Usage(error.to_string()),
            BuildError::NoTemplate => Failure::Usage(error.to_string()),
            _ => Failure::Operation(error.to_string()),
        }
    }
}

/// The blob endpoint of the scripts' storage account, as Azure reports it.
pub async fn blob_endpoint(azure: &Azure, account_id: &str, account: &str) -> Result<String, Failure> {
    let live = agentpool_core::apply::arm_store::find(
        &azure.client,
        storage_account::KIND,
        account_id,
        storage_account::API_VERSION,
    )
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
    println!("imageTemplateName={}", started.template_name);
    println!("imageTemplateResourceGroup={}", started.resource_group);
    Ok(started)
}

/// Follows the build of `template_id` to its end. On SIGINT or SIGTERM (a cancelled pipeline)
/// the run is cancelled in Azure and followed until Image Builder reports it Canceled, so the
/// template is left deletable rather than building on unattended.
pub async fn wait(azure: &Azure, template_id: &str, follow: &FollowArgs) -> Result<(), Failure> {
    if !(follow.poll_seconds.is_finite() && follow.poll_seconds > 0.0) {
        return Err(Failure::Usage("--poll-seconds must be a positive number of seconds".to_owned()));
    }
    let every = Duration::from_secs_f64(follow.poll_seconds);
    let timeout = Duration::from_secs(follow.timeout_minutes * 60);
    let sleep = |d| -> futures::future::BoxFuture<'static, ()> { Box::pin(tokio::time::sleep(d)) };
    let mut log = image::log::BuildLog::new(azure.credential.clone(), azure.options.clone());
    let following = image::wait(&azure.client, template_id, every, timeout, sleep, Some(&mut log), &Terminal);
    tokio::select! {
        outcome = following => {
            let status = outcome?;
            eprintln!("image build succeeded{}", if status.message.is_empty() { String::new() } else { format!(": {}", status.message) });
            Ok(())
        }
        signal = stop_signal() => {
            eprintln!("{signal}: cancelling the image build");
            azure
                .client
                .post_no_wait(&format!("{template_id}/cancel"), image_template::API_VERSION)
                .await
                .map_err(|e| Failure::Operation(format!("cancelling the image build failed: {e}")))?;
            match image::wait(&azure.client, template_id, every, timeout, sleep, None, &Terminal).await {
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

/// Sets the end-of-life date of the version the build made, `days` from now (Image Builder's
/// distribution cannot set it).
pub async fn set_end_of_life(azure: &Azure, desired: &DesiredState, days: u32) -> Result<(), Failure> {
    let Some(version_id) = desired
        .resources
        .iter()
        .find(|r| r.kind == image_template::KIND)
        .and_then(|t| t.body.pointer("/properties/distribute/0/galleryImageId"))
        .and_then(|id| id.as_str())
        .filter(|id| id.to_ascii_lowercase().contains("/versions/"))
    else {
        return Ok(());
    };
    let date = time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days));
    let date =
        date.format(&time::format_description::well_known::Rfc3339).map_err(|e| Failure::Operation(e.to_string()))?;
    // The swagger's update model requires the storage profile: send back its writable part, the
    // source, as Azure has it.
    let live = azure
        .client
        .get(version_id, agentpool_core::resources::gallery::API_VERSION)
        .await
        .map_err(|e| Failure::Operation(format!("reading the image version: {e}")))?
        .ok_or_else(|| Failure::Operation(format!("image version {version_id} does not exist after the build")))?;
    let storage_profile = match live.pointer("/properties/storageProfile/source") {
        Some(source) => serde_json::json!({ "source": source }),
        None => serde_json::json!({}),
    };
    let body = serde_json::json!({
        "properties": { "publishingProfile": { "endOfLifeDate": date }, "storageProfile": storage_profile }
    });
    azure
        .client
        .patch(version_id, agentpool_core::resources::gallery::API_VERSION, &body)
        .await
        .map_err(|e| Failure::Operation(format!("setting the end-of-life date: {e}")))?;
    eprintln!("image version {} reaches its end of life on {date}", version_id.rsplit('/').next().unwrap_or_default());
    Ok(())
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}`.
pub fn template_id(subscription: &str, group: &str, name: &str) -> String {
    agentpool_core::resources::resource_id(subscription, group, image_template::KIND, name)
}
