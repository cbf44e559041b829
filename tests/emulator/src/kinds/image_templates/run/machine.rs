//! The state machine of a build: [`Run`], its phases over wall-clock time ([`advance`]), cancel, failure and
//! the end of a build.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::distribution::distributions;
use super::lines::{building, customization, fetches, finished, optimizing, validating};
use super::{Distribution, Fetch, Line, Outcome, Staging, Work, LOG_CONTAINER};
use crate::arm::lro::format_ms;
use crate::kinds::image_templates::settings::{Failure, Phase};
use crate::state::Store;

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
    pub(super) fn name(&self) -> &str {
        self.template_id.rsplit('/').next().unwrap_or_default()
    }

    pub(super) fn windows(&self) -> bool {
        let steps = self.template.pointer("/properties/customize").and_then(Value::as_array);
        steps
            .into_iter()
            .flatten()
            .any(|s| matches!(s["type"].as_str(), Some("PowerShell" | "WindowsRestart" | "WindowsUpdate")))
    }

    pub(super) fn log_location(&self, run: &Run, staging_account: &str) -> String {
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
        Phase::Building => {
            // Packer writes customization.log, and it runs from the build on: a queued run has no
            // log yet (learn.microsoft.com/azure/virtual-desktop/troubleshoot-custom-image-templates).
            run.append(&format!(
                "[PACKER] {} Starting image build '{}' of image template '{}'",
                format_ms(run.start_ms),
                run.id,
                ctx.name()
            ));
            run.plan = Some(building(ctx, run));
        }
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

#[cfg(test)]
mod tests {
    use super::super::tests::{template, TEMPLATE_ID};
    use super::*;

    fn phases() -> Vec<(Phase, u64)> {
        Phase::of_build(false).into_iter().map(|p| (p, 100)).collect()
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
}
