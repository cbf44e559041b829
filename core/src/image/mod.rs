//! The image build: the Image Builder template created (or reused: its name carries a hash of
//! its content), the run started, and the run followed to its end through the template's
//! `lastRunStatus`.
//!
//! Caveats: following polls at a fixed interval and does not stream the customization log yet.
//! The name hashes the content without the image version, so a template of unchanged content
//! is reused as it is only when the version is the same too; a new version (every date-based
//! build) deletes and recreates it under the same name, since templates are immutable. A
//! template whose other content changed gets a new name; the superseded one stays until cleaned.

pub mod cleanup;
pub mod log;

use std::time::Duration;

use serde_json::Value;

use crate::apply::{ScriptStore, StoreError};
use crate::arm::ArmClient;
use crate::events::{Event, EventSink};
use crate::plan::{DesiredResource, DesiredState};
use crate::resources::image_template;

/// Why a build could not be started or ended badly.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the parameters describe no image template")]
    NoTemplate,
    #[error("image template {name}: provisioning failed: {message}")]
    Provisioning { name: String, message: String },
    #[error("image template {name} is already building (run state {state}) — follow it with `agentpool image wait --resource-group {group} --template {name}`")]
    AlreadyRunning { name: String, group: String, state: String },
    #[error("image build of {name} ended {state}: {message}{}", render_tail(.log_tail))]
    RunFailed { name: String, state: String, message: String, log_tail: Vec<String> },
    #[error("image build of {name} still {state} after {minutes} minutes — it goes on in Azure; follow it with `agentpool image wait`")]
    TimedOut { name: String, state: String, minutes: u64 },
}

impl From<crate::arm::ArmError> for BuildError {
    fn from(error: crate::arm::ArmError) -> Self {
        Self::Store(error.into())
    }
}

/// A started build: what `image wait` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedBuild {
    pub template_id: String,
    pub template_name: String,
    pub resource_group: String,
    /// True when an existing template of the same content was run again.
    pub reused: bool,
}

/// The run state Image Builder reports (`lastRunStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunStatus {
    pub run_state: String,
    pub run_sub_state: String,
    pub message: String,
}

impl RunStatus {
    fn of(template: &Value) -> Self {
        let field = |name: &str| {
            template
                .pointer(&format!("/properties/lastRunStatus/{name}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Self { run_state: field("runState"), run_sub_state: field("runSubState"), message: field("message") }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.run_state.as_str(), "Running" | "Canceling")
    }
}

/// Uploads the scripts, creates or reuses the template and starts its run.
pub async fn start(
    client: &ArmClient,
    blobs: &impl ScriptStore,
    desired: &DesiredState,
    container_url: &str,
    sink: &dyn EventSink,
) -> Result<StartedBuild, BuildError> {
    for upload in &desired.uploads {
        let sent = blobs.upload(container_url, upload).await?;
        sink.emit(Event::Uploaded { blob: upload.blob_name.clone(), bytes: upload.bytes, sent });
    }
    let template = desired.resources.iter().find(|r| r.kind == image_template::KIND).ok_or(BuildError::NoTemplate)?;
    let group = resource_group_of(&template.id);
    let reused = match client.get(&template.id, template.api_version).await? {
        Some(existing) => {
            let status = RunStatus::of(&existing);
            if status.is_running() {
                return Err(BuildError::AlreadyRunning { name: template.name.clone(), group, state: status.run_state });
            }
            let changes = crate::plan::diff::changes(&template.body, &existing, &[]);
            let failed = existing.pointer("/properties/provisioningState").and_then(Value::as_str) == Some("Failed");
            if failed || !changes.is_empty() {
                // Templates are immutable: a different version (or anything else) means a new one.
                let why = if failed {
                    "failed to provision before".to_owned()
                } else {
                    changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>().join(", ") + " changed"
                };
                sink.emit(Event::Note(format!("image template {}: {why}: recreating it", template.name)));
                client.delete(&template.id, template.api_version).await?;
                create(client, template).await?;
                false
            } else {
                sink.emit(Event::Note(format!(
                    "image template {} exists with the same content: reusing it",
                    template.name
                )));
                true
            }
        }
        None => {
            create(client, template).await?;
            false
        }
    };
    client.post_no_wait(&format!("{}/run", template.id), template.api_version).await?;
    sink.emit(Event::Note(format!("image build of {} started", template.name)));
    Ok(StartedBuild {
        template_id: template.id.clone(),
        template_name: template.name.clone(),
        resource_group: group,
        reused,
    })
}

async fn create(client: &ArmClient, template: &DesiredResource) -> Result<(), BuildError> {
    match client.put(&template.id, template.api_version, &template.body).await {
        Ok(_) => Ok(()),
        Err(crate::arm::ArmError::OperationFailed { body, .. }) => Err(BuildError::Provisioning {
            name: template.name.clone(),
            message: format!("{}: {}", body.code, body.message),
        }),
        Err(other) => Err(other.into()),
    }
}

/// Follows the run of `template_id` until it ends; reports each new sub-state and, with `log`,
/// each new line of the customization log as it appears.
pub async fn wait(
    client: &ArmClient,
    template_id: &str,
    every: Duration,
    timeout: Duration,
    sleep: impl Fn(Duration) -> futures::future::BoxFuture<'static, ()>,
    mut log: Option<&mut log::BuildLog>,
    sink: &dyn EventSink,
) -> Result<RunStatus, BuildError> {
    let name = template_id.rsplit('/').next().unwrap_or(template_id).to_owned();
    let started = std::time::Instant::now();
    let mut last = RunStatus::default();
    loop {
        let template = client.get(template_id, image_template::API_VERSION).await?.ok_or_else(|| {
            BuildError::Store(StoreError {
                message: format!("image template {template_id} does not exist"),
                usage: true,
            })
        })?;
        let status = RunStatus::of(&template);
        if let Some(log) = log.as_deref_mut() {
            follow_log(log, client, &template, sink).await;
        }
        if (status.run_state.as_str(), status.run_sub_state.as_str())
            != (last.run_state.as_str(), last.run_sub_state.as_str())
        {
            let sub =
                if status.run_sub_state.is_empty() { String::new() } else { format!(" ({})", status.run_sub_state) };
            sink.emit(Event::Note(format!("image build of {name}: {}{sub}", status.run_state)));
        }
        match status.run_state.as_str() {
            "Succeeded" => return Ok(status),
            "PartiallySucceeded" | "Failed" | "Canceled" => {
                let log_tail = log.map(|l| l.tail()).unwrap_or_default();
                return Err(BuildError::RunFailed { name, state: status.run_state, message: status.message, log_tail });
            }
            _ => {}
        }
        if started.elapsed() > timeout {
            return Err(BuildError::TimedOut { name, state: status.run_state, minutes: timeout.as_secs() / 60 });
        }
        last = status;
        sleep(every).await;
    }
}

/// Emits the log's new lines; a log that cannot be read is said once.
async fn follow_log(log: &mut log::BuildLog, client: &ArmClient, template: &Value, sink: &dyn EventSink) {
    if log.unavailable.is_some() {
        return;
    }
    match log.new_lines(client, template).await {
        Ok(lines) => lines.into_iter().for_each(|line| sink.emit(Event::Note(format!("  | {line}")))),
        Err(why) => {
            sink.emit(Event::Note(format!("{why} — following the build without its log")));
            log.unavailable = Some(why);
        }
    }
}

fn render_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!("\nlast {} lines of customization.log:\n{}", lines.len(), lines.join("\n"))
}

/// `rg` of `/subscriptions/s/resourceGroups/rg/...`.
fn resource_group_of(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| parts.get(i + 1))
        .map(|s| (*s).to_owned())
        .unwrap_or_default()
}
