//! Following a build to its end: the template's `lastRunStatus` read on a [`Schedule`], the
//! customization log read in between, each new sub-state and log line reported as it appears.
//!
//! Looks are spaced from the start of one to the start of the next, so a slow read does not
//! stretch the schedule.
//!
//! Caveats: the log is read every [`LOG_EVERY`] however sparse the status reads are (reading it
//! is a blob range read on the staging storage, not a Resource Manager request). The run's
//! elapsed time comes from `lastRunStatus.startTime` and the [`Clock`], so a clock far off UTC
//! skews the schedule, never the outcome.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use time::OffsetDateTime;

use super::history::{self, History, Phase, RunPhases};
use super::log::BuildLog;
use super::schedule::{Look, Schedule};
use super::{BuildError, RunStatus};
use crate::apply::StoreError;
use crate::arm::ArmClient;
use crate::events::{Event, EventSink};
use crate::resources::image_template;

/// How often the customization log is read while a build runs.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The time source of a wait: the system's, or a scaled one in benchmarks.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
    /// A moment Azure reported (`startTime`, `endTime`) on this clock: itself on the system's.
    fn of_reported(&self, reported: OffsetDateTime) -> OffsetDateTime {
        reported
    }
}

/// Wall-clock time and tokio's timer.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Time `scale` times faster than the system's from the moment it is made, for benchmarks and
/// tests that follow builds whose durations are scaled down alike. Moments Azure reports map onto
/// it around the same origin.
pub struct ScaledClock {
    origin: std::time::Instant,
    origin_utc: OffsetDateTime,
    scale: f64,
}

impl ScaledClock {
    pub fn new(scale: f64) -> Self {
        Self { origin: std::time::Instant::now(), origin_utc: OffsetDateTime::now_utc(), scale }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> OffsetDateTime {
        self.origin_utc + self.origin.elapsed().mul_f64(self.scale)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration.div_f64(self.scale)))
    }

    fn of_reported(&self, reported: OffsetDateTime) -> OffsetDateTime {
        self.origin_utc + (reported - self.origin_utc) * self.scale
    }
}

/// How to follow a build.
pub struct Follow<'a> {
    /// `None`: adaptive over the template's recorded builds.
    pub every: Option<Duration>,
    pub timeout: Duration,
    pub clock: &'a dyn Clock,
    /// Stream the customization log (off while cancelling).
    pub log: Option<&'a mut BuildLog>,
    /// `lastRunStatus.startTime` of the run before the one followed, when this process started
    /// it: until Image Builder reports the new run, the template still shows that one, which is
    /// then taken as queued rather than as this build's outcome.
    pub previous_run: Option<String>,
}

/// A build that succeeded, and what following it took.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: RunStatus,
    /// Reads of the template (Resource Manager GETs).
    pub status_reads: u32,
    /// The phases the run went through, when it was followed from its start.
    pub phases: Option<RunPhases>,
    /// The template's tags as last read.
    pub tags: Value,
}

/// Follows the run of `template_id` until it ends; reports each new sub-state and, with a log,
/// each new line of the customization log as it appears.
pub async fn wait(
    client: &ArmClient,
    template_id: &str,
    follow: Follow<'_>,
    sink: &dyn EventSink,
) -> Result<Finished, BuildError> {
    let Follow { every, timeout, clock, mut log, previous_run } = follow;
    let name = template_id.rsplit('/').next().unwrap_or(template_id).to_owned();
    let began = clock.now();
    let mut schedule: Option<Schedule> = every.map(Schedule::fixed);
    let mut last = RunStatus::default();
    let mut status_reads = 0;
    loop {
        let look_began = clock.now();
        let (template, retry_after) =
            client.get_with_retry_after(template_id, image_template::KIND.api_version).await?.ok_or_else(|| {
                BuildError::Store(StoreError::Other {
                    message: format!("image template {template_id} does not exist"),
                    usage: true,
                })
            })?;
        status_reads += 1;
        let stale = previous_run.is_some() && run_start(&template) == previous_run.as_deref();
        let status = if stale { RunStatus::queued() } else { RunStatus::of(&template) };
        let schedule = schedule.get_or_insert_with(|| Schedule::adaptive(History::from_tags(&template["tags"])));
        // The log of the run followed, once it is the one shown: never the previous run's.
        let log_run = if stale { None } else { started_at(&template) };
        if let (Some(log), Some(run)) = (log.as_deref_mut(), log_run) {
            follow_log(log, client, &template, run, sink).await;
        }
        if (status.run_state.as_str(), status.run_sub_state.as_str())
            != (last.run_state.as_str(), last.run_sub_state.as_str())
        {
            sink.emit(Event::RunState {
                template: name.clone(),
                state: status.run_state.clone(),
                sub_state: status.run_sub_state.clone(),
            });
        }
        let started = match started_at(&template) {
            Some(t) if !stale => clock.of_reported(t),
            _ => began,
        };
        let elapsed = (clock.now() - started).as_seconds_f64().max(0.0);
        match status.run_state.as_str() {
            "Succeeded" => {
                let end = ended_at(&template).map_or(elapsed, |t| (clock.of_reported(t) - started).as_seconds_f64());
                let phases = schedule.phases(end);
                return Ok(Finished { status, status_reads, phases, tags: template["tags"].clone() });
            }
            "PartiallySucceeded" | "Failed" | "Canceled" => {
                if let (Some(log), Some(run)) = (log.as_deref_mut(), log_run) {
                    finish_log(log, client, &template, run, &status.message, sink).await;
                }
                let log_tail = log.map(|l| l.tail()).unwrap_or_default();
                return Err(BuildError::RunFailed { name, state: status.run_state, message: status.message, log_tail });
            }
            _ => {}
        }
        let waited = (clock.now() - began).unsigned_abs();
        if waited > timeout {
            return Err(BuildError::TimedOut { name, state: status.run_state, minutes: timeout.as_secs() / 60 });
        }
        let phase = Phase::of_sub_state(&status.run_sub_state);
        let delay =
            schedule.after(&Look { elapsed, phase, retry_after }).min(timeout - waited + Duration::from_secs(1));
        // Spacing counts from look to look: the read's own time (and the log's) is part of it.
        let spent = (clock.now() - look_began).unsigned_abs();
        let log = log.as_deref_mut().zip(log_run);
        pause(clock, delay.saturating_sub(spent), log, client, &template, sink).await;
        last = status;
    }
}

/// Sleeps `delay`, reading the log of the run that started at the moment given every
/// [`LOG_EVERY`] meanwhile.
async fn pause(
    clock: &dyn Clock,
    delay: Duration,
    mut log: Option<(&mut BuildLog, OffsetDateTime)>,
    client: &ArmClient,
    template: &Value,
    sink: &dyn EventSink,
) {
    let mut left = delay;
    while left > Duration::ZERO {
        let step = match log {
            Some((ref l, _)) if l.unavailable.is_none() => left.min(LOG_EVERY),
            _ => left,
        };
        clock.sleep(step).await;
        left -= step;
        if let (Some((log, run)), true) = (log.as_mut(), left > Duration::ZERO) {
            follow_log(log, client, template, *run, sink).await;
        }
    }
}

/// Emits the new lines of the log of the run started at `run`; a log that cannot be read is
/// said once.
async fn follow_log(
    log: &mut BuildLog,
    client: &ArmClient,
    template: &Value,
    run: OffsetDateTime,
    sink: &dyn EventSink,
) {
    if log.unavailable.is_some() {
        return;
    }
    match log.new_lines(client, template, run).await {
        Ok(lines) => lines.into_iter().for_each(|line| sink.emit(Event::LogLine(line))),
        Err(why) => {
            sink.emit(Event::Warning(format!("{why} — following the build without its log")));
            log.unavailable = Some(why);
        }
    }
}

/// Emits the last lines of the log of a run that ended, found by the log its message names.
async fn finish_log(
    log: &mut BuildLog,
    client: &ArmClient,
    template: &Value,
    run: OffsetDateTime,
    message: &str,
    sink: &dyn EventSink,
) {
    if log.unavailable.is_some() {
        return;
    }
    match log.finish(client, template, run, message).await {
        Ok(lines) => lines.into_iter().for_each(|line| sink.emit(Event::LogLine(line))),
        Err(why) => {
            sink.emit(Event::Warning(format!("{why} — the build's log is not shown")));
            log.unavailable = Some(why);
        }
    }
}

/// Records the finished build's phases on the template (tag [`history::TAG`]) for the next wait.
/// Best effort: a failure is reported and the build still counts as succeeded.
pub async fn remember(client: &ArmClient, template_id: &str, finished: &Finished, sink: &dyn EventSink) {
    let Some(phases) = &finished.phases else { return };
    let history = History::from_tags(&finished.tags).with(phases.clone());
    let mut tags = finished.tags.as_object().cloned().unwrap_or_default();
    tags.insert(history::TAG.to_owned(), Value::String(history.to_tag()));
    let body = serde_json::json!({ "tags": tags });
    if let Err(error) = client.patch(template_id, image_template::KIND.api_version, &body).await {
        sink.emit(Event::Warning(format!("could not record the build's duration on the template: {error}")));
    }
}

fn run_start(template: &Value) -> Option<&str> {
    template.pointer("/properties/lastRunStatus/startTime")?.as_str()
}

fn started_at(template: &Value) -> Option<OffsetDateTime> {
    timestamp(template, "/properties/lastRunStatus/startTime")
}

fn ended_at(template: &Value) -> Option<OffsetDateTime> {
    timestamp(template, "/properties/lastRunStatus/endTime")
}

fn timestamp(template: &Value, pointer: &str) -> Option<OffsetDateTime> {
    let text = template.pointer(pointer)?.as_str()?;
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::test_support::{client, Script};
    use serde_json::json;

    /// No time passes: every sleep ends at once.
    struct Frozen;

    impl Clock for Frozen {
        fn now(&self) -> OffsetDateTime {
            time::macros::datetime!(2024-11-17 15:31:24 UTC)
        }

        fn sleep(&self, _: Duration) -> BoxFuture<'static, ()> {
            Box::pin(std::future::ready(()))
        }
    }

    const TEMPLATE: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/it-agents-1a2b3c4d";

    fn template(state: &str, sub_state: &str, start: &str) -> Value {
        json!({
            "name": "it-agents-1a2b3c4d",
            "tags": {"createdBy": "agentpool"},
            "properties": {"lastRunStatus": {"runState": state, "runSubState": sub_state, "startTime": start, "endTime": "2024-11-17T14:00:00Z", "message": ""}}
        })
    }

    #[tokio::test]
    async fn the_previous_run_still_shown_after_the_start_is_taken_as_queued_not_as_the_outcome() {
        let script = Script::new();
        script
            .push_json(200, &[], &template("Succeeded", "Distributing", "2024-11-17T13:00:00Z"))
            .push_json(200, &[], &template("Running", "Building", "2024-11-17T15:31:20Z"))
            .push_json(200, &[], &template("Failed", "Customizing", "2024-11-17T15:31:20Z"));
        let arm = client(&script);
        let follow = Follow {
            every: Some(Duration::from_secs(15)),
            timeout: Duration::from_secs(3600),
            clock: &Frozen,
            log: None,
            previous_run: Some("2024-11-17T13:00:00Z".into()),
        };
        let outcome = wait(&arm, TEMPLATE, follow, &crate::events::Discard).await;
        assert!(matches!(outcome, Err(BuildError::RunFailed { ref state, .. }) if state == "Failed"), "{outcome:?}");
        assert_eq!(script.remaining(), 0, "three reads: the stale run, the new one running, its end");
    }

    #[tokio::test]
    async fn a_retry_after_on_the_read_is_honoured() {
        let script = Script::new();
        script
            .push_json(200, &[("Retry-After", "120")], &template("Running", "Customizing", "2024-11-17T15:31:20Z"))
            .push_json(200, &[], &template("Succeeded", "Distributing", "2024-11-17T15:31:20Z"));
        let slept = std::sync::Mutex::new(Vec::new());
        struct Recording<'a>(&'a std::sync::Mutex<Vec<Duration>>);
        impl Clock for Recording<'_> {
            fn now(&self) -> OffsetDateTime {
                Frozen.now()
            }
            fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
                self.0.lock().unwrap().push(d);
                Box::pin(std::future::ready(()))
            }
        }
        let clock = Recording(&slept);
        let follow = Follow {
            every: Some(Duration::from_secs(15)),
            timeout: Duration::from_secs(3600),
            clock: &clock,
            log: None,
            previous_run: None,
        };
        let finished = wait(&client(&script), TEMPLATE, follow, &crate::events::Discard).await.unwrap();
        assert_eq!(finished.status_reads, 2);
        assert_eq!(slept.lock().unwrap().iter().sum::<Duration>(), Duration::from_secs(120));
    }
}
