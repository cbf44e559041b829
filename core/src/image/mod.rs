//! The image build: the Image Builder template created (or reused: its name carries a hash of
//! its content), the run started, and the run followed to its end through the template's
//! `lastRunStatus`.
//!
//! Caveats: the name hashes the content without the image version. With the `imageBuilder`
//! version strategy the template names no version, so unchanged content reuses it for every
//! build; with a version of ours (date-based, semver, git tag, explicit) a new version deletes and
//! recreates it under the same name, since templates are immutable. A template whose other
//! content changed gets a new name; the superseded one stays until cleaned. What differs per build
//! (commit, pipeline run, end of life) rides on the template's tags ([`provenance`]).

pub mod cleanup;
pub mod history;
pub mod log;
pub mod provenance;
pub mod schedule;
pub mod wait;

use serde_json::Value;

use crate::apply::{ScriptStore, StoreError};
use crate::arm::ArmClient;
use crate::events::{Event, EventSink};
use crate::plan::{DesiredResource, DesiredState};
use crate::resources::image_template;
use provenance::Provenance;

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
    /// `lastRunStatus.startTime` of the reused template's previous run (see
    /// [`wait::Follow::previous_run`]).
    pub previous_run: Option<String>,
}

/// The run state Image Builder reports (`lastRunStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunStatus {
    pub run_state: String,
    pub run_sub_state: String,
    pub message: String,
}

impl RunStatus {
    /// A run Image Builder has not reported yet.
    fn queued() -> Self {
        Self { run_state: "Running".into(), run_sub_state: "Queued".into(), message: String::new() }
    }

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
    let mut previous_run = None;
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
                create(client, &for_this_build(template, Some(&existing), &desired.provenance)).await?;
                false
            } else {
                sink.emit(Event::Note(format!(
                    "image template {} exists with the same content: reusing it",
                    template.name
                )));
                previous_run =
                    existing.pointer("/properties/lastRunStatus/startTime").and_then(Value::as_str).map(str::to_owned);
                let tags = tags_for_build(&existing, &desired.provenance);
                if Some(&tags) != existing.get("tags").and_then(Value::as_object) {
                    client.patch(&template.id, template.api_version, &serde_json::json!({ "tags": tags })).await?;
                }
                true
            }
        }
        None => {
            create(client, &for_this_build(template, None, &desired.provenance)).await?;
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
        previous_run,
    })
}

/// `template` tagged for this build, keeping the build history of the template it replaces (so
/// the next wait still knows how long builds of this content take).
fn for_this_build(template: &DesiredResource, replaced: Option<&Value>, provenance: &Provenance) -> DesiredResource {
    let mut template = template.clone();
    let mut tags = tags_for_build(&template.body, provenance);
    if let Some(recorded) = replaced.and_then(|r| r.pointer(&format!("/tags/{}", history::TAG))) {
        tags.insert(history::TAG.to_owned(), recorded.clone());
    }
    template.body["tags"] = Value::Object(tags);
    template
}

/// The tags of `template` (a body or a live template) with this build's provenance.
fn tags_for_build(template: &Value, provenance: &Provenance) -> serde_json::Map<String, Value> {
    let mut tags = template.get("tags").and_then(Value::as_object).cloned().unwrap_or_default();
    provenance.apply_to(&mut tags);
    tags
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
