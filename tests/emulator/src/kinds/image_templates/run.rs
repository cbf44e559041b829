//! A build (`run`) of an image template: a state machine over wall-clock time, advanced under the state
//! lock at every ARM request and background tick ([`advance`]), with what must happen outside the lock
//! (script downloads, the log upload, gallery image versions) left as [`Work`] for the kind's background
//! rounds.
//!
//! Phases (`runSubState`) follow each other after their `--aib-phase-ms` durations: Queued → Building →
//! Customizing → Optimizing → (Validating) → Distributing. Customizing waits for the scripts to be fetched,
//! then writes its log lines progressively over the phase; a failing step stops the build there.
//! Distributing waits for the versions to be created. The packer log grows in [`Run::log`] and is uploaded
//! to `packerlogs/<run id>/customization.log` of the staging storage account.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::access;
use super::body::GalleryImageRef;
use super::settings::{Failure, Phase};
use crate::arm::lro::format_ms;
use crate::arm::path::parent_id;
use crate::state::Store;

/// What the emulator keeps about a template without showing it through ARM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Private {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<Staging>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

impl Private {
    /// The private data of `template_id` (default when none).
    pub fn load(store: &Store, template_id: &str) -> Private {
        store.private(template_id).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    }

    /// Stores it (the store is marked changed only if it changed).
    pub fn save(&self, store: &mut Store, template_id: &str) {
        store.set_private(template_id, serde_json::to_value(self).ok());
    }
}

/// The staging resource group and its storage account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Staging {
    pub resource_group_id: String,
    /// Whether Image Builder made the group (then it goes with the template).
    pub created: bool,
    pub account_id: String,
    /// `primaryEndpoints.blob` of the staging account (the `--staging-account` of the blob service).
    pub blob_endpoint: String,
    /// Whether the `packerlogs` container exists in the blob service.
    pub container_ready: bool,
}

/// The container of the build logs.
pub const LOG_CONTAINER: &str = "packerlogs";

impl Staging {
    /// URL of a build's `customization.log`.
    pub fn log_url(&self, run_id: &str) -> String {
        format!("{}/{LOG_CONTAINER}/{run_id}/customization.log", self.blob_endpoint.trim_end_matches('/'))
    }
}

/// Work done outside the state lock: planned, taken by a background round (`Requested`; a round does its
/// work before the next starts, so work still `Requested` at the start of a round was lost, e.g. to a
/// restart, and is taken again), then its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Work<T> {
    Idle,
    Pending(Vec<T>),
    Requested(Vec<T>),
    Done(Vec<T>),
}

impl<T: Clone> Work<T> {
    /// Takes the work to do, if any: it becomes `Requested`.
    pub fn take(&mut self) -> Option<Vec<T>> {
        match self {
            Work::Pending(items) | Work::Requested(items) => {
                let items = items.clone();
                *self = Work::Requested(items.clone());
                Some(items)
            }
            _ => None,
        }
    }

    /// Records the results of requested work (ignored otherwise).
    pub fn complete(&mut self, results: Vec<T>) {
        if matches!(self, Work::Requested(_)) {
            *self = Work::Done(results);
        }
    }
}

/// A script or file a step downloads from an emulated storage account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fetch {
    /// The URL as the template has it.
    pub url: String,
    /// Where the emulator reads it (the account's blob endpoint).
    pub blob_url: String,
    /// Client id the storage token is issued to (the template's identity).
    pub client_id: String,
    /// Whether the identity may read it (no request is made otherwise: 403).
    pub allowed: bool,
    /// Result: the content, or why it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One distribution target of a build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    pub run_output_name: String,
    /// For a gallery version to create: the image definition, version and body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A log line still to write; `fails` ends the build with that packer error once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails: Option<String>,
}

fn line(text: impl Into<String>) -> Line {
    Line { text: text.into(), fails: None }
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `Succeeded`, `PartiallySucceeded`, `Failed` or `Canceled`.
    pub state: String,
    pub message: String,
    pub end_ms: i64,
}

/// A build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The build's GUID (`packerlogs/<id>/customization.log`).
    pub id: String,
    /// The `run` operation, adopted at its first progress report.
    #[serde(default)]
    pub op_id: Option<String>,
    pub start_ms: i64,
    pub phases: Vec<(Phase, u64)>,
    pub phase: usize,
    pub phase_start_ms: i64,
    pub canceling_ms: u64,
    #[serde(default)]
    pub cancel_ms: Option<i64>,
    #[serde(default)]
    pub failure: Option<Failure>,
    /// Lines of the current phase still to write (`None` while Customizing waits for its scripts).
    #[serde(default)]
    pub plan: Option<Vec<Line>>,
    /// How many lines of `plan` are written.
    #[serde(default)]
    pub written: usize,
    pub fetch: Work<Fetch>,
    pub distribute: Work<Distribution>,
    pub log: String,
    /// Bytes of `log` uploaded to the staging account.
    #[serde(default)]
    pub uploaded: usize,
    #[serde(default)]
    pub outcome: Option<Outcome>,
}

impl Run {
    /// A new build starting at `now_ms`.
    pub fn new(now_ms: i64, phases: Vec<(Phase, u64)>, canceling_ms: u64, failure: Option<Failure>) -> Run {
        Run {
            id: uuid::Uuid::new_v4().to_string(),
            op_id: None,
            start_ms: now_ms,
            phases,
            phase: 0,
            phase_start_ms: now_ms,
            canceling_ms,
            cancel_ms: None,
            failure,
            plan: Some(Vec::new()),
            written: 0,
            fetch: Work::Idle,
            distribute: Work::Idle,
            log: String::new(),
            uploaded: 0,
            outcome: None,
        }
    }

    /// Whether the build still runs (`Running` or `Canceling`).
    pub fn active(&self) -> bool {
        self.outcome.is_none()
    }

    /// The current (or last) phase.
    pub fn current_phase(&self) -> Phase {
        self.phases.get(self.phase).map_or(Phase::Queued, |p| p.0)
    }

    /// `runState`.
    pub fn run_state(&self) -> &str {
        match (&self.outcome, self.cancel_ms) {
            (Some(o), _) => &o.state,
            (None, Some(_)) => "Canceling",
            (None, None) => "Running",
        }
    }

    /// `properties.lastRunStatus`.
    pub fn last_run_status(&self) -> Value {
        let mut status = json!({
            "startTime": format_ms(self.start_ms),
            "runState": self.run_state(),
            "runSubState": self.current_phase().as_str(),
            "message": self.outcome.as_ref().map_or("", |o| o.message.as_str()),
        });
        if let Some(o) = &self.outcome {
            status["endTime"] = json!(format_ms(o.end_ms));
        }
        status
    }

    /// Milliseconds the build still needs at `now_ms` (an estimate while waiting for work).
    pub fn remaining_ms(&self, now_ms: i64) -> i64 {
        if let Some(cancel) = self.cancel_ms {
            return (cancel + self.canceling_ms as i64 - now_ms).max(0);
        }
        let here = self.phases.get(self.phase).map_or(0, |p| p.1 as i64);
        let later: i64 = self.phases.iter().skip(self.phase + 1).map(|p| p.1 as i64).sum();
        (self.phase_start_ms + here - now_ms).max(0) + later
    }

    fn append(&mut self, text: &str) {
        self.log.push_str(text);
        self.log.push('\n');
    }

    /// Writes the lines of `plan` due at fraction `done` of the phase; the packer error of a failing line.
    fn write_due(&mut self, done: f64) -> Option<String> {
        let plan = self.plan.clone().unwrap_or_default();
        let due = ((plan.len() as f64) * done.clamp(0.0, 1.0)).ceil() as usize;
        while self.written < due.min(plan.len()) {
            let l = &plan[self.written];
            self.written += 1;
            self.append(&l.text);
            if let Some(error) = &l.fails {
                return Some(error.clone());
            }
        }
        None
    }

    fn end(&mut self, state: &str, message: String, now_ms: i64) {
        self.plan = Some(Vec::new());
        self.written = 0;
        self.outcome = Some(Outcome { state: state.into(), message, end_ms: now_ms });
    }
}

/// What a build step needs to know about its template.
pub struct Context<'a> {
    pub template_id: &'a str,
    pub template: &'a Value,
    pub staging: Option<&'a Staging>,
}

impl Context<'_> {
    fn name(&self) -> &str {
        self.template_id.rsplit('/').next().unwrap_or_default()
    }

    fn windows(&self) -> bool {
        let steps = self.template.pointer("/properties/customize").and_then(Value::as_array);
        steps
            .into_iter()
            .flatten()
            .any(|s| matches!(s["type"].as_str(), Some("PowerShell" | "WindowsRestart" | "WindowsUpdate")))
    }

    fn log_location(&self, run: &Run, staging_account: &str) -> String {
        format!("https://{staging_account}.blob.core.windows.net/{LOG_CONTAINER}/{}/customization.log", run.id)
    }
}

/// The packerizer failure message of a failed customization, as Image Builder words it.
pub fn packer_failure(log_location: &str) -> String {
    format!(
        "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error when executing packerizer: Packer build command has failed: exit status 1. During the image build, a failure has occurred, please review the build log to identify which build/customization step failed. For more troubleshooting steps go to https://aka.ms/azvmimagebuilder-troubleshoot. Image Build log location: {log_location}"
    )
}

/// The message of a build that ran out of time.
pub const TIMEOUT_MESSAGE: &str =
    "Failed while waiting for packerizer: Timeout waiting for microservice to complete: 'context deadline exceeded'";

/// Advances `run` to `now_ms`. `staging_account` names the blob service account in messages.
pub fn advance(run: &mut Run, ctx: &Context<'_>, store: &Store, staging_account: &str, now_ms: i64) {
    while run.active() {
        if let Some(cancel) = run.cancel_ms {
            if now_ms >= cancel + run.canceling_ms as i64 {
                run.append("[PACKER] ==> azure-arm: Build was cancelled.");
                run.append("[PACKER] Cleanup was canceled, the build VM and its resources are deleted.");
                run.end("Canceled", String::new(), now_ms);
            }
            return;
        }
        let Some(&(phase, duration)) = run.phases.get(run.phase) else { return };
        if phase == Phase::Customizing && run.plan.is_none() {
            let Work::Done(fetched) = &run.fetch else { return };
            let fetched = fetched.clone();
            if !fetched.is_empty() {
                // The customization's clock starts once its scripts are there.
                run.phase_start_ms = run.phase_start_ms.max(now_ms);
            }
            run.plan = Some(customization(ctx, &fetched, run.failure.as_ref()));
            run.written = 0;
        }
        let elapsed = now_ms - run.phase_start_ms;
        let done = if duration == 0 { 1.0 } else { elapsed as f64 / duration as f64 };
        let phase_over = elapsed >= duration as i64;
        match phase {
            Phase::Customizing => {
                if let Some(error) = run.write_due(done) {
                    fail_build(run, &error, packer_failure(&ctx.log_location(run, staging_account)), now_ms);
                    return;
                }
                if phase_over && run.failure == Some(Failure::Timeout) {
                    run.append("[PACKER] ==> azure-arm: Interrupt received. Cancelling build after the build timeout (buildTimeoutInMinutes).");
                    fail_build(run, "Build was halted: context deadline exceeded", TIMEOUT_MESSAGE.into(), now_ms);
                    return;
                }
            }
            Phase::Distributing => {
                run.write_due(done);
                let Work::Done(results) = &run.distribute else { return };
                if !phase_over {
                    return;
                }
                let results = results.clone();
                finish_distribution(run, &results, now_ms);
                return;
            }
            _ => {
                run.write_due(done);
            }
        }
        if !phase_over {
            return;
        }
        run.write_due(1.0);
        // The next phase starts when this one was due to end (a late report catches up).
        run.phase_start_ms += duration as i64;
        run.phase += 1;
        enter(run, ctx, store);
    }
}

/// Starts the phase `run.phase`: its log lines and the work it needs.
fn enter(run: &mut Run, ctx: &Context<'_>, store: &Store) {
    run.written = 0;
    run.plan = Some(Vec::new());
    let Some(&(phase, _)) = run.phases.get(run.phase) else { return };
    match phase {
        Phase::Queued => {}
        Phase::Building => run.plan = Some(building(ctx, run)),
        Phase::Customizing => {
            run.plan = None;
            let fetches = fetches(ctx, store);
            run.fetch = if fetches.is_empty() { Work::Done(fetches) } else { Work::Pending(fetches) };
        }
        Phase::Optimizing => run.plan = Some(optimizing()),
        Phase::Validating => run.plan = Some(validating(ctx)),
        Phase::Distributing => {
            run.plan = Some(finished());
            let planned = distributions(ctx, store, run);
            let work = planned.iter().any(|d| d.body.is_some() && d.error.is_none());
            run.distribute = if work { Work::Pending(planned) } else { Work::Done(planned) };
        }
        Phase::Canceling => {}
    }
}

/// Starts a new build: its first phase.
pub fn start(run: &mut Run, ctx: &Context<'_>, store: &Store) {
    run.append(&format!(
        "[PACKER] {} Starting image build '{}' of image template '{}'",
        format_ms(run.start_ms),
        run.id,
        ctx.name()
    ));
    enter(run, ctx, store);
}

fn fail_build(run: &mut Run, packer_error: &str, message: String, now_ms: i64) {
    let secs = (now_ms - run.start_ms) as f64 / 1000.0;
    for text in [
        "[PACKER] ==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present..."
            .to_string(),
        "[PACKER] ==> azure-arm: Deleting individual resources ...".to_string(),
        format!("[PACKER] Build 'azure-arm' errored after {secs:.3} seconds: {packer_error}"),
        "[PACKER] ==> Some builds didn't complete successfully and had errors:".to_string(),
        format!("[PACKER] --> azure-arm: {packer_error}"),
        "[PACKER] ==> Builds finished but no artifacts were created.".to_string(),
    ] {
        run.append(&text);
    }
    run.end("Failed", message, now_ms);
}

fn finish_distribution(run: &mut Run, results: &[Distribution], now_ms: i64) {
    let failed: Vec<&Distribution> = results.iter().filter(|d| d.error.is_some()).collect();
    if failed.is_empty() {
        run.end("Succeeded", String::new(), now_ms);
        return;
    }
    let details: Vec<String> =
        failed.iter().map(|d| format!("'{}': {}", d.run_output_name, d.error.as_deref().unwrap_or_default())).collect();
    let state = if failed.len() == results.len() { "Failed" } else { "PartiallySucceeded" };
    run.end(state, format!("Failed to distribute the image to {}", details.join("; ")), now_ms);
}

fn building(ctx: &Context<'_>, run: &Run) -> Vec<Line> {
    let staging = ctx.staging.map(|s| s.resource_group_id.rsplit('/').next().unwrap_or_default()).unwrap_or_default();
    let (transport, wait) = if ctx.windows() {
        ("WinRM", "Waiting for WinRM to become available...")
    } else {
        ("SSH", "Waiting for SSH to become available...")
    };
    let source = &ctx.template["properties"]["source"];
    let image = match source["type"].as_str() {
        Some("PlatformImage") => format!(
            "{}:{}:{}:{}",
            source["publisher"].as_str().unwrap_or_default(),
            source["offer"].as_str().unwrap_or_default(),
            source["sku"].as_str().unwrap_or_default(),
            source["version"].as_str().unwrap_or_default()
        ),
        Some("ManagedImage") => source["imageId"].as_str().unwrap_or_default().to_string(),
        _ => source["imageVersionId"].as_str().unwrap_or_default().to_string(),
    };
    let vm = format!("pkrvm{}", &run.id.replace('-', "")[..11]);
    vec![
        line("[PACKER] azure-arm: output will be in this color."),
        line("[PACKER] ==> azure-arm: Running builder ..."),
        line("[PACKER] ==> azure-arm: Getting tokens using Managed Identity for Azure ..."),
        line(format!("[PACKER] ==> azure-arm: Using existing resource group ...\n[PACKER] ==> azure-arm:  -> ResourceGroupName : '{staging}'")),
        line(format!("[PACKER] ==> azure-arm: Validating deployment template ...\n[PACKER] ==> azure-arm:  -> Image : '{image}'")),
        line(format!("[PACKER] ==> azure-arm: Deploying deployment template ...\n[PACKER] ==> azure-arm:  -> ComputeName : '{vm}'")),
        line(format!("[PACKER] ==> azure-arm: {wait}")),
        line(format!("[PACKER] ==> azure-arm: Connected to {transport}!")),
    ]
}

/// The text a script prints: its `echo` / `Write-Host` / `Write-Output` lines.
pub fn printed_lines(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = ["echo ", "Write-Host ", "Write-Output "].iter().find_map(|p| l.strip_prefix(p))?;
            let rest = rest.trim();
            let unquoted = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                .unwrap_or(rest);
            Some(unquoted.to_string())
        })
        .collect()
}

/// The downloads of the customization, with the identity's permission at this moment.
fn fetches(ctx: &Context<'_>, store: &Store) -> Vec<Fetch> {
    let identity = access::identity(store, ctx.template);
    let mut out: Vec<Fetch> = Vec::new();
    for (_, url) in access::script_urls(ctx.template) {
        let Some(blob) = access::emulated_blob(store, &url) else { continue };
        if out.iter().any(|f| f.url == url) {
            continue;
        }
        let allowed = identity.as_ref().is_some_and(|i| {
            access::has_role(store, &i.principal_id, &blob.container_id(), Some(access::BLOB_DATA_ROLES))
        });
        out.push(Fetch {
            url: url.clone(),
            blob_url: blob.url.clone(),
            client_id: identity.as_ref().map(|i| i.client_id.clone()).unwrap_or_default(),
            allowed,
            content: None,
            error: None,
        });
    }
    out
}

fn download(url: &str, fetched: &[Fetch]) -> Result<Option<String>, String> {
    match fetched.iter().find(|f| f.url == url) {
        None => Ok(None),
        Some(Fetch { content: Some(text), .. }) => Ok(Some(text.clone())),
        Some(f) => Err(f.error.clone().unwrap_or_else(|| "unknown error".into())),
    }
}

/// The customization's log lines, given the downloaded scripts and a planned failure.
fn customization(ctx: &Context<'_>, fetched: &[Fetch], failure: Option<&Failure>) -> Vec<Line> {
    let mut lines = Vec::new();
    let steps = ctx.template.pointer("/properties/customize").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        let kind = step["type"].as_str().unwrap_or_default();
        let name = step["name"].as_str().unwrap_or_default();
        let uri = step["scriptUri"].as_str().or(step["sourceUri"].as_str()).filter(|u| !u.is_empty());
        let mut printed: Vec<String> = Vec::new();
        let header = match kind {
            "Shell" => format!(
                "Provisioning with shell script: {}",
                uri.map_or(format!("/tmp/packer-shell{i:09}"), str::to_string)
            ),
            "PowerShell" => format!(
                "Provisioning with powershell script: {}",
                uri.map_or(format!("C:/Windows/Temp/script-{i:09}.ps1"), str::to_string)
            ),
            "File" => {
                format!("Uploading {} => {}", uri.unwrap_or_default(), step["destination"].as_str().unwrap_or_default())
            }
            "WindowsRestart" => "Restarting Machine".to_string(),
            _ => "Running Windows update...".to_string(),
        };
        lines.push(line(format!("[PACKER] ==> azure-arm: {header}")));
        if let Some(url) = uri {
            match download(url, fetched) {
                Ok(Some(text)) if kind != "File" => printed.extend(printed_lines(&text)),
                Ok(Some(text)) => lines.push(line(format!("[PACKER]     azure-arm: Transferred: {} bytes", text.len()))),
                Ok(None) => lines.push(line(format!(
                    "[PACKER]     azure-arm: (emulator: {url} is not a blob of an emulated storage account; not downloaded)"
                ))),
                Err(error) => {
                    let packer_error = format!("Error downloading '{url}': {error}");
                    lines.push(Line { text: format!("[PACKER] ==> azure-arm: {packer_error}"), fails: Some(packer_error) });
                    return lines;
                }
            }
        }
        for command in step["inline"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            printed.extend(printed_lines(command));
        }
        match kind {
            "WindowsRestart" => printed.extend(["Waiting for machine to restart...".to_string(), "restarted.".into()]),
            "WindowsUpdate" => {
                printed.extend(["Searching for Windows updates...".to_string(), "Found 0 updates.".into()])
            }
            _ => {}
        }
        lines.extend(printed.into_iter().map(|p| line(format!("[PACKER]     azure-arm: {p}"))));
        let fails = matches!(failure, Some(Failure::Customizer(n)) if !name.is_empty() && n.eq_ignore_ascii_case(name));
        if fails {
            let packer_error = "Script exited with non-zero exit status: 1. Allowed exit codes are: [0]".to_string();
            lines.push(Line { text: format!("[PACKER] ==> azure-arm: {packer_error}"), fails: Some(packer_error) });
            return lines;
        }
    }
    lines
}

fn optimizing() -> Vec<Line> {
    [
        "Querying the machine's properties ...",
        "Querying the machine's additional disks properties ...",
        "Powering off machine ...",
        "Generalizing machine ...",
        "Capturing image ...",
        "Deleting individual resources ...",
    ]
    .iter()
    .map(|t| line(format!("[PACKER] ==> azure-arm: {t}")))
    .collect()
}

fn validating(ctx: &Context<'_>) -> Vec<Line> {
    let steps = ctx.template.pointer("/properties/validate/inVMValidations").and_then(Value::as_array);
    let mut lines = vec![line("[PACKER] ==> azure-arm: Running in-VM validations ...")];
    for step in steps.into_iter().flatten() {
        lines.push(line(format!(
            "[PACKER] ==> azure-arm: Validating with {}",
            step["name"].as_str().unwrap_or("a validator")
        )));
        for command in step["inline"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            lines.extend(printed_lines(command).into_iter().map(|p| line(format!("[PACKER]     azure-arm: {p}"))));
        }
    }
    lines
}

fn finished() -> Vec<Line> {
    vec![
        line("[PACKER] Build 'azure-arm' finished."),
        line("[PACKER] ==> Builds finished. The artifacts of successful builds are:"),
        line("[PACKER] --> azure-arm: Azure.ResourceManagement.VMImage:"),
    ]
}

/// `Major.Minor.Patch` of a version name.
fn semver(name: &str) -> Option<(i64, i64, i64)> {
    let parts: Vec<i64> = name.split('.').map(|p| p.parse::<i32>().ok().map(i64::from)).collect::<Option<_>>()?;
    match parts.as_slice() {
        [a, b, c] => Some((*a, *b, *c)),
        _ => None,
    }
}

fn versions_of(store: &Store, image_id: &str) -> Vec<(i64, i64, i64)> {
    store
        .resources()
        .filter(|r| r.kind == "galleryImageVersions" && parent_id(&r.id).eq_ignore_ascii_case(image_id))
        .filter_map(|r| semver(r.id.rsplit('/').next().unwrap_or_default()))
        .collect()
}

/// The version a `SharedImage` distributor without an explicit version creates.
fn choose_version(store: &Store, ctx: &Context<'_>, image_id: &str, versioning: &Value) -> Result<String, String> {
    let format = |v: (i64, i64, i64)| format!("{}.{}.{}", v.0, v.1, v.2);
    match versioning["scheme"].as_str().unwrap_or("Latest") {
        "Source" => {
            let source = &ctx.template["properties"]["source"];
            let named = match source["type"].as_str() {
                Some("PlatformImage") => source["version"].as_str().unwrap_or_default().to_string(),
                Some("SharedImageVersion") => {
                    let id = source["imageVersionId"].as_str().unwrap_or_default();
                    match GalleryImageRef::parse(id) {
                        Some(r) if r.version.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("latest")) => {
                            versions_of(store, &r.image_id).into_iter().max().map(format).unwrap_or_default()
                        }
                        Some(r) => r.version.unwrap_or_default(),
                        None => String::new(),
                    }
                }
                _ => String::new(),
            };
            semver(&named).map(format).ok_or_else(|| {
                format!("versioning scheme 'Source' needs a source image version of the form Major.Minor.Patch; the source has '{named}'")
            })
        }
        _ => {
            let major = versioning["major"].as_i64().unwrap_or(-1);
            let latest = versions_of(store, image_id).into_iter().filter(|v| major < 0 || v.0 == major).max();
            Ok(match latest {
                Some((a, b, c)) => format(if c < i64::from(i32::MAX) { (a, b, c + 1) } else { (a, b + 1, 0) }),
                None => format((if major < 0 { 1 } else { major }, 0, 0)),
            })
        }
    }
}

/// What Distributing does for each distributor (gallery versions are made by the background work).
fn distributions(ctx: &Context<'_>, store: &Store, run: &Run) -> Vec<Distribution> {
    let identity = access::identity(store, ctx.template);
    let location = ctx.template["location"].as_str().unwrap_or_default().to_string();
    let list = ctx.template.pointer("/properties/distribute").and_then(Value::as_array).cloned().unwrap_or_default();
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            let name = d["runOutputName"].as_str().unwrap_or_default().to_string();
            let mut out = Distribution {
                run_output_name: name.clone(),
                image_id: None,
                version: None,
                body: None,
                artifact_id: None,
                artifact_uri: None,
                error: None,
            };
            let failing = match &run.failure {
                Some(Failure::Distribute(None)) => true,
                Some(Failure::Distribute(Some(n))) => n.eq_ignore_ascii_case(&name),
                _ => false,
            };
            if failing {
                out.error = Some(
                    "InternalServerError: An internal execution error occurred. Please retry later. (a failure asked of the emulator)"
                        .into(),
                );
                return out;
            }
            match d["type"].as_str() {
                Some("ManagedImage") => out.artifact_id = d["imageId"].as_str().map(str::to_string),
                Some("VHD") => {
                    let uri = d["uri"].as_str().filter(|u| !u.is_empty()).map(str::to_string);
                    out.artifact_uri = uri.or_else(|| {
                        ctx.staging.map(|s| {
                            format!("{}/vhds/{}-{}.vhd", s.blob_endpoint.trim_end_matches('/'), ctx.name(), run.id)
                        })
                    });
                }
                _ => match shared_image(ctx, store, identity.as_ref(), i, d, &location, run) {
                    Ok((image_id, version, body)) => {
                        out.image_id = Some(image_id);
                        out.version = Some(version);
                        out.body = Some(body);
                    }
                    Err(error) => out.error = Some(error),
                },
            }
            out
        })
        .collect()
}

fn shared_image(
    ctx: &Context<'_>,
    store: &Store,
    identity: Option<&access::Identity>,
    index: usize,
    d: &Value,
    location: &str,
    run: &Run,
) -> Result<(String, String, Value), String> {
    let id = d["galleryImageId"].as_str().unwrap_or_default();
    let reference = GalleryImageRef::parse(id).ok_or_else(|| format!("'{id}' is not a gallery image id"))?;
    let identity = identity.ok_or("the image template's identity no longer exists")?;
    if !access::has_role(store, &identity.principal_id, &reference.gallery_id, None) {
        return Err(access::gallery_denied(identity, &format!("distribute[{index}]"), &reference));
    }
    let definition = store
        .get(&reference.image_id)
        .ok_or_else(|| format!("the gallery image definition '{}' was not found", reference.image_id))?;
    let version = match &reference.version {
        Some(v) => v.clone(),
        None => choose_version(store, ctx, &reference.image_id, &d["versioning"])?,
    };
    let version_id = format!("{}/versions/{version}", reference.image_id);
    if store.get(&version_id).is_some() {
        return Err(format!("the gallery image version '{version_id}' already exists"));
    }
    let image_location = definition.body["location"].as_str().unwrap_or(location).to_string();
    let exclude = d["excludeFromLatest"].as_bool().unwrap_or(false);
    let account_type = d["storageAccountType"].as_str().unwrap_or("Standard_LRS");
    let regions: Vec<Value> = match (d["targetRegions"].as_array(), d["replicationRegions"].as_array()) {
        (Some(targets), _) => targets
            .iter()
            .map(|t| {
                json!({
                    "name": t["name"],
                    "regionalReplicaCount": t["replicaCount"].as_i64().unwrap_or(1),
                    "storageAccountType": t["storageAccountType"].as_str().unwrap_or("Standard_LRS"),
                    "excludeFromLatest": exclude,
                })
            })
            .collect(),
        (None, Some(names)) => names
            .iter()
            .map(|n| json!({"name": n, "regionalReplicaCount": 1, "storageAccountType": account_type, "excludeFromLatest": exclude}))
            .collect(),
        (None, None) => vec![json!({"name": image_location, "regionalReplicaCount": 1, "storageAccountType": account_type, "excludeFromLatest": exclude})],
    };
    let staging = ctx.staging.map(|s| s.resource_group_id.clone()).unwrap_or_default();
    let body = json!({
        "location": image_location,
        "tags": d.get("artifactTags").cloned().unwrap_or_else(|| json!({})),
        "properties": {
            "storageProfile": {"source": {"id": format!("{staging}/providers/Microsoft.Compute/images/IntermediateImage-{}", &run.id[..8])}},
            "publishingProfile": {
                "targetRegions": regions,
                "replicaCount": regions.first().and_then(|r| r["regionalReplicaCount"].as_i64()).unwrap_or(1),
                "storageAccountType": regions.first().and_then(|r| r["storageAccountType"].as_str()).unwrap_or(account_type),
                "excludeFromLatest": exclude,
            }
        }
    });
    Ok((reference.image_id, version, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Resource;

    const TEMPLATE_ID: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t";
    const IMAGE: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i";

    fn template() -> Value {
        json!({
            "location": "westeurope",
            "properties": {
                "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s", "version": "22.04.202401010"},
                "customize": [
                    {"type": "Shell", "name": "one", "inline": ["echo first", "echo 'second'", "true"]},
                    {"type": "PowerShell", "name": "two", "inline": ["Write-Host \"third\""]},
                    {"type": "Shell", "name": "three", "scriptUri": "https://example.com/s.sh"}
                ],
                "distribute": [{"type": "ManagedImage", "runOutputName": "mi", "imageId": "/x/images/y", "location": "westeurope"}]
            }
        })
    }

    fn phases() -> Vec<(Phase, u64)> {
        Phase::of_build(false).into_iter().map(|p| (p, 100)).collect()
    }

    #[test]
    fn printed_lines_of_scripts() {
        let script = "#!/bin/bash\n  echo \"a b\"\necho 'c'\necho d\nWrite-Output e\nls\n";
        assert_eq!(printed_lines(script), ["a b", "c", "d", "e"]);
    }

    #[test]
    fn work_is_taken_again_until_completed() {
        let mut w = Work::Pending(vec![1]);
        assert_eq!(w.take(), Some(vec![1]));
        assert_eq!(w.take(), Some(vec![1]), "lost work (a restart) is taken again");
        w.complete(vec![2]);
        assert_eq!((w.take(), &w), (None, &Work::Done(vec![2])));
        let mut idle: Work<i32> = Work::Idle;
        idle.complete(vec![3]);
        assert_eq!(idle, Work::Idle);
    }

    #[test]
    fn phases_lines_and_a_failing_step() {
        let store = Store::default();
        let body = template();
        let ctx = Context { template_id: TEMPLATE_ID, template: &body, staging: None };
        let mut run = Run::new(0, phases(), 50, Some(Failure::Customizer("TWO".into())));
        start(&mut run, &ctx, &store);
        advance(&mut run, &ctx, &store, "aibstaging", 150);
        assert_eq!(run.current_phase(), Phase::Building);
        assert!(run.log.contains("Running builder"), "half of Building is written: {}", run.log);
        assert!(!run.log.contains("Connected to SSH"));
        advance(&mut run, &ctx, &store, "aibstaging", 200);
        assert_eq!(run.current_phase(), Phase::Customizing);
        assert!(run.log.contains("Connected to WinRM!"), "PowerShell steps: a Windows build");
        assert_eq!(run.fetch, Work::Done(vec![]), "nothing to download from emulated accounts");
        advance(&mut run, &ctx, &store, "aibstaging", 230);
        assert!(run.log.contains("azure-arm: first") && !run.log.contains("third"), "{}", run.log);
        assert_eq!(run.last_run_status()["runState"], "Running");
        advance(&mut run, &ctx, &store, "aibstaging", 300);
        let outcome = run.outcome.clone().expect("ended");
        assert_eq!(outcome.state, "Failed");
        assert!(outcome.message.contains("https://aibstaging.blob.core.windows.net/packerlogs/"));
        assert!(run.log.contains("azure-arm: third") && run.log.contains("non-zero exit status"));
        assert!(!run.log.contains("example.com"), "steps after the failure do not run");
        let status = run.last_run_status();
        assert_eq!((status["runSubState"].as_str(), status["endTime"].as_str().is_some()), (Some("Customizing"), true));
    }

    #[test]
    fn a_whole_build_and_a_cancel() {
        let store = Store::default();
        let body = template();
        let ctx = Context { template_id: TEMPLATE_ID, template: &body, staging: None };
        let mut run = Run::new(0, phases(), 50, None);
        start(&mut run, &ctx, &store);
        assert_eq!(run.remaining_ms(0), 500);
        advance(&mut run, &ctx, &store, "aibstaging", 10_000);
        let outcome = run.outcome.clone().unwrap();
        assert_eq!(outcome.state, "Succeeded", "{}", run.log);
        assert!(run.log.contains("(emulator: https://example.com/s.sh is not a blob of an emulated storage account"));
        match &run.distribute {
            Work::Done(d) => assert_eq!(d[0].artifact_id.as_deref(), Some("/x/images/y")),
            other => panic!("{other:?}"),
        }

        let mut run = Run::new(0, phases(), 50, None);
        start(&mut run, &ctx, &store);
        run.cancel_ms = Some(120);
        advance(&mut run, &ctx, &store, "aibstaging", 150);
        assert_eq!(run.run_state(), "Canceling");
        advance(&mut run, &ctx, &store, "aibstaging", 170);
        assert_eq!(run.run_state(), "Canceled");
    }

    #[test]
    fn versions_latest_and_source() {
        let mut store = Store::default();
        let body = template();
        let ctx = Context { template_id: TEMPLATE_ID, template: &body, staging: None };
        let latest = |store: &Store, v: Value| choose_version(store, &ctx, IMAGE, &v);
        assert_eq!(latest(&store, json!(null)).unwrap(), "1.0.0");
        assert_eq!(latest(&store, json!({"scheme": "Latest", "major": 3})).unwrap(), "3.0.0");
        for v in ["1.2.3", "1.10.0", "2.0.7", "0.24322.55884"] {
            let id = format!("{IMAGE}/versions/{v}");
            store.insert(Resource { kind: "galleryImageVersions".into(), id, body: json!({}) });
        }
        assert_eq!(latest(&store, json!({"scheme": "Latest"})).unwrap(), "2.0.8");
        assert_eq!(latest(&store, json!({"scheme": "Latest", "major": 1})).unwrap(), "1.10.1");
        assert_eq!(latest(&store, json!({"scheme": "Source"})).unwrap(), "22.4.202401010");
        let mut shared = template();
        shared["properties"]["source"] =
            json!({"type": "SharedImageVersion", "imageVersionId": format!("{IMAGE}/versions/latest")});
        let ctx = Context { template_id: TEMPLATE_ID, template: &shared, staging: None };
        assert_eq!(choose_version(&store, &ctx, IMAGE, &json!({"scheme": "Source"})).unwrap(), "2.0.7");
        let mut managed = template();
        managed["properties"]["source"] = json!({"type": "ManagedImage", "imageId": "/x"});
        let ctx = Context { template_id: TEMPLATE_ID, template: &managed, staging: None };
        assert!(choose_version(&store, &ctx, IMAGE, &json!({"scheme": "Source"}))
            .unwrap_err()
            .contains("Major.Minor.Patch"));
    }
}
