//! Benchmark 5: a converged re-run of the whole chain — infrastructure, the image check, scale set
//! and NAT gateway, Azure DevOps pool — against the first run of the same commands on the same
//! emulator (the baseline): wall time, reads and writes of each step beside its resources.
//! A converged environment must take no write, to Azure or to Azure DevOps.
//!
//! The steps are what a pipeline runs when nothing changed: `up --scope infra`, the live
//! `plan --scope image` (the image template check) and `up --scope pool` (scale set, NAT gateway,
//! pool, on the newest image version). The image itself is built once between the two runs and
//! not measured.

use std::path::Path;
use std::time::Duration;

use agentpool_emulator::kinds::network::seed::SubnetSeed;

use crate::local::Traffic;
use crate::local::{Azurite, Session};
use crate::BoxError;

/// The subscription and subnet of the examples.
const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
const SUBNET: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-sbx/providers/Microsoft.Network/virtualNetworks/vnet-sbx/subnets/snet-agents=10.20.1.0/24";

/// One step of the chain, first and converged.
pub struct Step {
    pub name: &'static str,
    pub resources: usize,
    pub first: (Duration, Traffic),
    pub converged: (Duration, Traffic),
}

/// The steps, with the resources each plans (from the offline plan's stages).
const STEPS: [(&str, &[&str], &[&str]); 3] = [
    ("up --scope infra", &["up", "--scope", "infra"], &["infra"]),
    ("plan --scope image (template check)", &["plan", "--scope", "image"], &["image"]),
    ("up --scope pool", &["up", "--scope", "pool"], &["scaleSet", "pool"]),
];

/// Runs the chain on a fresh emulator twice (the second time converged) with `parameters`.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    agentpool: &Path,
    root: &Path,
    parameters: &Path,
    plan: &serde_json::Value,
    dir: &Path,
) -> Result<Vec<Step>, BoxError> {
    let session = Session::start_with(runtime, azurite, dir, |config| {
        config.subscription_id = SUBSCRIPTION.to_owned();
        config.subnets = SubnetSeed::parse(SUBNET).map(|seed| vec![seed]).unwrap_or_default();
        config.devops.node_ms = 50;
    })?;
    let file = parameters.display().to_string();
    let timed = |args: &[&str]| -> Result<(Duration, Traffic), BoxError> {
        let before = session.traffic_files().len();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--parameters", file.as_str()]);
        let (wall, output) = session.agentpool(agentpool, root, &all)?;
        std::fs::write(dir.join(format!("{}.log", args.join("-"))), &output.stderr)?;
        Ok((wall, Traffic::of(&session.traffic_files()[before..])))
    };
    let mut firsts = Vec::new();
    for (name, args, _) in STEPS {
        if name.starts_with("up --scope pool") {
            // The image the pool boots, built once, not measured.
            timed(&["up", "--scope", "image", "--poll-seconds", "0.2", "--skip-preflight"])?;
        }
        firsts.push(timed(args)?);
    }
    timed(&["pool", "status", "--wait-minutes", "1"])?;
    let mut steps = Vec::new();
    for ((name, args, stages), first) in STEPS.into_iter().zip(firsts) {
        let resources = plan["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| stages.iter().any(|s| r["stage"] == *s))
            .count();
        steps.push(Step { name, resources, first, converged: timed(args)? });
    }
    session.stop(runtime);
    Ok(steps)
}

/// The table of benchmark 5.
pub fn section(steps: &[Step], line: &mut impl FnMut(String)) {
    line(String::new());
    line("5. converged re-run of the whole chain (infra, image check, scale set and NAT, Azure DevOps pool) against its first run on the same emulator".to_owned());
    line(String::new());
    line(
        "| step | resources | first run | converged | ratio | reads first → converged | writes first → converged |"
            .to_owned(),
    );
    line("|---|---|---|---|---|---|---|".to_owned());
    let (mut first_total, mut converged_total, mut writes) = (0.0, 0.0, 0);
    for step in steps {
        let (first, converged) = (step.first.0.as_secs_f64(), step.converged.0.as_secs_f64());
        first_total += first;
        converged_total += converged;
        writes += step.converged.1.writes;
        line(format!(
            "| {} | {} | {first:.2} s | {converged:.2} s | {:.2} | {} → {} | {} → {} |",
            step.name,
            step.resources,
            converged / first,
            step.first.1.gets,
            step.converged.1.gets,
            step.first.1.writes,
            step.converged.1.writes
        ));
    }
    let resources: usize = steps.iter().map(|s| s.resources).sum();
    line(format!(
        "| whole chain | {resources} | {first_total:.2} s | {converged_total:.2} s | {:.2} | | |",
        converged_total / first_total
    ));
    line(format!(
        "   writes of the converged re-run, Azure and Azure DevOps: {writes} (must be 0: {})",
        crate::verdict(writes == 0)
    ));
}
