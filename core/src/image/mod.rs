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
pub mod versions;
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
    let template = desired.resources.iter().find(|r| r.kind == &image_template::KIND).ok_or(BuildError::NoTemplate)?;
    let group = resource_group_of(&template.id);
    let mut previous_run = None;
    let reused = match client.get(&template.id, template.kind.api_version).await? {
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
                client.delete(&template.id, template.kind.api_version).await?;
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
                    client.patch(&template.id, template.kind.api_version, &serde_json::json!({ "tags": tags })).await?;
                }
                true
            }
        }
        None => {
            create(client, &for_this_build(template, None, &desired.provenance)).await?;
            false
        }
    };
    start_run(client, template, previous_run.as_deref()).await?;
    sink.emit(Event::Note(format!("image build of {} started", template.name)));
    Ok(StartedBuild {
        template_id: template.id.clone(),
        template_name: template.name.clone(),
        resource_group: group,
        reused,
        previous_run,
    })
}

/// POSTs the template's `run`. When the answer to that POST was lost and the retry met Image
/// Builder's 409 (a build is already running), the run this POST started is the running one:
/// a template that shows a running build newer than `previous_run` (the run it showed before)
/// counts as started.
///
/// Caveat: a build someone else started on the same template between our read and our POST is
/// taken for ours; it builds the same content.
async fn start_run(
    client: &ArmClient,
    template: &DesiredResource,
    previous_run: Option<&str>,
) -> Result<(), BuildError> {
    let refused = match client.post_no_wait(&format!("{}/run", template.id), template.kind.api_version).await {
        Ok(()) => return Ok(()),
        Err(error) if error.status() == Some(azure_core::http::StatusCode::Conflict) => error,
        Err(error) => return Err(error.into()),
    };
    let Some(live) = client.get(&template.id, template.kind.api_version).await? else { return Err(refused.into()) };
    let started = live.pointer("/properties/lastRunStatus/startTime").and_then(Value::as_str);
    if RunStatus::of(&live).is_running() && started.is_some() && started != previous_run {
        Ok(())
    } else {
        Err(refused.into())
    }
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
    match client.put(&template.id, template.kind.api_version, &template.body).await {
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
    crate::resources::subscription_and_group(id).and_then(|(_, group)| group).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::test_support::{client, Script};
    use crate::plan::Stage;
    use serde_json::json;

    const TEMPLATE: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/it-agents-1a2b3c4d";

    fn desired() -> DesiredResource {
        DesiredResource {
            kind: &image_template::KIND,
            name: "it-agents-1a2b3c4d".into(),
            id: TEMPLATE.into(),
            depends_on: Vec::new(),
            body: json!({}),
            query: None,
            stage: Stage::Image,
            bindings: Vec::new(),
            summary: None,
        }
    }

    fn live(state: &str, start: &str) -> Value {
        json!({"properties": {"lastRunStatus": {"runState": state, "runSubState": "Queued", "startTime": start}}})
    }

    const CONFLICT: &str =
        r#"{"error": {"code": "Conflict", "message": "The image template is already running a build."}}"#;

    #[tokio::test]
    async fn a_run_whose_answer_was_lost_counts_as_started_when_the_template_shows_a_newer_build() {
        // The POST reached Image Builder, its answer was lost (500), the retry met the running build.
        let script = Script::new();
        script.push(500, &[], "").push(409, &[], CONFLICT).push_json(
            200,
            &[],
            &live("Running", "2024-11-17T15:31:25Z"),
        );
        start_run(&client(&script), &desired(), Some("2024-11-16T09:00:00Z")).await.expect("the run started");
        assert_eq!(script.lines().iter().filter(|l| l.starts_with("POST")).count(), 2);
    }

    #[tokio::test]
    async fn a_conflict_with_a_build_that_was_running_before_is_an_error() {
        let script = Script::new();
        script.push(409, &[], CONFLICT).push_json(200, &[], &live("Running", "2024-11-16T09:00:00Z"));
        let error = start_run(&client(&script), &desired(), Some("2024-11-16T09:00:00Z")).await.unwrap_err();
        assert!(error.to_string().contains("409"), "{error}");
        let script = Script::new();
        script.push(409, &[], CONFLICT).push_json(200, &[], &live("Succeeded", "2024-11-17T15:31:25Z"));
        assert!(start_run(&client(&script), &desired(), None).await.is_err(), "no build runs: not ours");
    }
}
