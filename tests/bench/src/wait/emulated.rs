//! The wait against the emulator's Image Builder: real templates, real runs, real HTTP, with the
//! builds' phase durations drawn from [`model`] and time scaled down.
//!
//! Each template family builds twice. The first build is followed without history (the table by
//! sub-state) and records its phases on the template, as `agentpool image wait` does; the second
//! is followed with that history. Every build is followed twice at once, by the adaptive
//! schedule and by looks every 15 s, so both see the same build. Time runs `scale` times faster
//! than real for the builds (the emulator's phase durations) and for the waits ([`ScaledClock`]);
//! lateness is measured against the run's `endTime` as the emulator reports it, and scaled back.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentpool_core::arm::{ArmClient, PollConfig};
use agentpool_core::events::Discard;
use agentpool_core::image::wait::{self, Finished, Follow, ScaledClock};
use agentpool_core::resources::image_template;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::model::{self, Build, Rng};
use crate::deploy::InProcess;
use crate::local::{Azurite, Session};
use crate::BoxError;

/// What the benchmark varies.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub families: usize,
    /// How many times faster than real time the builds and waits run.
    pub scale: f64,
    pub jitter: f64,
    pub seed: u64,
}

/// One build followed one way.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Resource Manager reads of the template.
    pub reads: u32,
    /// Scaled seconds from the run's end to the wait's return.
    pub late: f64,
}

/// The builds of one round, followed both ways.
#[derive(Debug, Default)]
pub struct Round {
    pub adaptive: Vec<Outcome>,
    pub fixed: Vec<Outcome>,
    /// Scaled seconds of the builds, as the emulator ran them.
    pub durations: Vec<f64>,
}

/// Runs both rounds over `families` template families.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    parameters: &Path,
    dir: &Path,
    settings: Settings,
) -> Result<[Round; 2], BoxError> {
    let session = Session::start_with(runtime, azurite, dir, |config| {
        // Hundreds of reads a second: no traffic files.
        config.traffic_dir = None;
        // Build time resolves to a tick; scaled up, the default 20 ms would be 1.2 s at ×60.
        config.tick_ms = ((300.0 / settings.scale) as u64).clamp(1, agentpool_emulator::server::DEFAULT_TICK_MS);
    })?;
    let fast = PollConfig {
        default_interval: Duration::from_millis(50),
        min_interval: Duration::ZERO,
        max_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(120),
    };
    let local = InProcess::connect(&session, parameters, fast)?;
    let outcome = runtime.block_on(async {
        local.deploy_infra(&Discard).await?;
        let template = local
            .desired
            .resources
            .iter()
            .find(|r| r.kind == &image_template::KIND)
            .ok_or("the parameters describe no image template")?;
        let client = Arc::new(local.client.clone());
        let mut rng = Rng::new(settings.seed);
        let mut tasks = Vec::new();
        for family in 0..settings.families {
            let typical = model::family(&mut rng);
            let builds =
                [model::build(&typical, settings.jitter, &mut rng), model::build(&typical, settings.jitter, &mut rng)];
            let id = format!("{}-bench{family:03}", template.id);
            let body = bench_body(&template.body);
            let client = client.clone();
            tasks.push(tokio::spawn(async move { follow_family(&client, &id, body, builds, settings.scale).await }));
        }
        let mut rounds = [Round::default(), Round::default()];
        for task in tasks {
            let followed = task.await.map_err(|e| e.to_string())??;
            for (round, (adaptive, fixed, duration)) in rounds.iter_mut().zip(followed) {
                round.adaptive.push(adaptive);
                round.fixed.push(fixed);
                round.durations.push(duration);
            }
        }
        Ok::<_, BoxError>(rounds)
    });
    session.stop(runtime);
    outcome
}

/// The example's template, made cheap to run many times: an inline step instead of the uploaded
/// scripts, and versions numbered by Image Builder so that a template builds again.
fn bench_body(body: &Value) -> Value {
    let mut body = body.clone();
    body["properties"]["customize"] = json!([{"type": "Shell", "name": "bench", "inline": ["echo building"]}]);
    for distributor in body["properties"]["distribute"].as_array_mut().into_iter().flatten() {
        if let Some(image) = distributor["galleryImageId"].as_str() {
            let definition = image.split("/versions/").next().unwrap_or(image).to_owned();
            distributor["galleryImageId"] = json!(definition);
        }
        distributor["versioning"] = json!({"scheme": "Latest", "major": 0});
    }
    body
}

/// `<phase>=<ms>,…` of a build, scaled.
fn phases_tag(build: &Build, scale: f64) -> String {
    build
        .iter()
        .map(|(phase, seconds)| format!("{}={}", phase.as_str(), (seconds * 1000.0 / scale).round() as u64))
        .collect::<Vec<_>>()
        .join(",")
}

type Followed = (Outcome, Outcome, f64);

async fn follow_family(
    client: &ArmClient,
    id: &str,
    mut body: Value,
    builds: [Build; 2],
    scale: f64,
) -> Result<[Followed; 2], BoxError> {
    let api = image_template::KIND.api_version;
    body["tags"]["emulator.phases"] = json!(phases_tag(&builds[0], scale));
    client.put(id, api, &body).await?;
    let mut followed = Vec::new();
    for (round, build) in builds.iter().enumerate() {
        if round > 0 {
            let live = client.get(id, api).await?.ok_or("the template went away")?;
            let mut tags = live["tags"].clone();
            tags["emulator.phases"] = json!(phases_tag(build, scale));
            client.patch(id, api, &json!({ "tags": tags })).await?;
        }
        let clock = ScaledClock::new(scale);
        client.post_no_wait(&format!("{id}/run"), api).await?;
        let follow = |every: Option<Duration>| {
            let clock = &clock;
            async move {
                let follow =
                    Follow { every, timeout: Duration::from_secs(6 * 3600), clock, log: None, previous_run: None };
                let finished = wait::wait(client, id, follow, &Discard).await?;
                Ok::<(Finished, OffsetDateTime), BoxError>((finished, OffsetDateTime::now_utc()))
            }
        };
        let (adaptive, fixed) = tokio::join!(follow(None), follow(Some(Duration::from_secs(15))));
        let ((adaptive, adaptive_at), (fixed, fixed_at)) = (adaptive?, fixed?);
        wait::remember(client, id, &adaptive, &Discard).await;
        let live = client.get(id, api).await?.ok_or("the template went away")?;
        let time = |name: &str| {
            live.pointer(&format!("/properties/lastRunStatus/{name}"))
                .and_then(Value::as_str)
                .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
                .ok_or_else(|| format!("the run reports no {name}"))
        };
        let (start, end) = (time("startTime")?, time("endTime")?);
        let late = |at: OffsetDateTime| (at - end).as_seconds_f64() * scale;
        followed.push((
            Outcome { reads: adaptive.status_reads, late: late(adaptive_at) },
            Outcome { reads: fixed.status_reads, late: late(fixed_at) },
            (end - start).as_seconds_f64() * scale,
        ));
    }
    let second = followed.pop().ok_or("no second build")?;
    let first = followed.pop().ok_or("no first build")?;
    Ok([first, second])
}
