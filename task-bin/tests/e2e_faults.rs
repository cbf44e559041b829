//! `agentpool up --scope infra` under injected faults (throttling, server errors, dropped
//! connections, slow answers, writes applied whose answer is lost, long-running operations that
//! fail): every seed either converges, or fails with clear one-line errors (exit 1) and converges
//! on re-run — never with duplicate resources, and never with a conflict left by a write whose
//! answer was lost.
//!
//! Seeds run in batches: each worker has one emulator and takes seeds one after the other, each
//! seed in a resource group (and storage account, gallery) of its own, the fault sequence
//! restarted at the seed. All the traffic passes oav at the end.

mod local_azure;
mod support;
mod traffic;

use std::collections::BTreeMap;

use agentpool_emulator::faults::{FaultUpdate, Injected};
use local_azure::{local_azure, workspace, Session};

const SEEDS: u64 = 100;
const ATTEMPTS: usize = 4;
/// The runs mostly wait (back-off, Retry-After, slow answers): more of them than cores.
const WORKERS: u64 = 16;

/// The faults of a seed.
fn faults_on(seed: u64) -> FaultUpdate {
    FaultUpdate {
        seed: Some(seed),
        rate429: Some(0.05),
        rate5xx: Some(0.05),
        rate_drop: Some(0.03),
        rate_slow: Some(0.03),
        rate_lost: Some(0.06),
        rate_lro_fail: Some(0.1),
        slow_ms: Some(300),
    }
}

fn faults_off() -> FaultUpdate {
    FaultUpdate {
        rate429: Some(0.0),
        rate5xx: Some(0.0),
        rate_drop: Some(0.0),
        rate_slow: Some(0.0),
        rate_lost: Some(0.0),
        rate_lro_fail: Some(0.0),
        ..Default::default()
    }
}

#[test]
fn every_seed_converges_without_duplicates() {
    let started = std::time::Instant::now();
    let expected = expected_resources();
    // Each worker takes the next seed left, so one long seed (back-off after several faults in
    // a row) does not hold up the seeds behind it.
    let next = std::sync::atomic::AtomicU64::new(0);
    let batches = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let (expected, next) = (&expected, &next);
                scope.spawn(move || {
                    let session = local_azure().session(&format!("faults-{worker:02}"), |config| {
                        config.lro_delay_ms = 100;
                    });
                    let seeds = std::iter::from_fn(|| {
                        Some(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)).filter(|seed| *seed < SEEDS)
                    });
                    let outcomes: Vec<_> = seeds.map(|seed| run_seed(&session, seed, expected)).collect();
                    let app = session.emulator.as_ref().expect("running").app().clone();
                    (outcomes, app.faults.injected(), traffic::Exchanges::of(&session))
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).collect::<Vec<_>>()
    });
    let mut injected = Injected::default();
    let mut exchanges = traffic::Exchanges::default();
    let mut outcomes = Vec::new();
    for (batch, faults, recorded) in batches {
        outcomes.extend(batch);
        injected.throttled += faults.throttled;
        injected.server_errors += faults.server_errors;
        injected.dropped += faults.dropped;
        injected.slow += faults.slow;
        injected.lost += faults.lost;
        exchanges.extend(recorded);
    }
    let reruns: usize = outcomes.iter().map(|(attempts, _)| attempts - 1).sum();
    let failures: Vec<String> = outcomes.into_iter().filter_map(|(_, failure)| failure).collect();
    let ran = started.elapsed();
    println!("{SEEDS} seeds in {:.1} s, {reruns} re-runs, faults injected: {injected:?}", ran.as_secs_f64());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The faults must have bitten: some seeds needed a second run, and writes lost their answer.
    assert!(reruns > 0, "no seed needed a re-run: the faults were not injected");
    assert!(injected.lost >= SEEDS / 2, "only {} writes lost their answer over {SEEDS} seeds", injected.lost);
    let oav = support::TempDir::new("faults-oav");
    exchanges.validate(oav.path());
}

/// The infra resources of a seed by type (lower case), from the offline plan: one of each kind
/// the plan names, so a duplicate or a missing one shows.
fn expected_resources() -> BTreeMap<String, usize> {
    let dir = support::TempDir::new("faults-plan");
    let file = parameters_for(dir.path(), 0);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_agentpool"))
        .args(["plan", "--offline", "--parameters", file.to_str().unwrap(), "--output", "json"])
        .current_dir(workspace())
        .output()
        .expect("agentpool runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut kinds = BTreeMap::new();
    for resource in plan["resources"].as_array().unwrap().iter().filter(|r| r["stage"] == "infra") {
        *kinds.entry(resource["kind"].as_str().unwrap().to_lowercase()).or_default() += 1;
    }
    kinds
}

/// Runs one seed on the worker's emulator to convergence; returns the runs it took and what went
/// wrong, if anything.
fn run_seed(session: &Session, seed: u64, expected: &BTreeMap<String, usize>) -> (usize, Option<String>) {
    let app = session.emulator.as_ref().expect("running").app().clone();
    let file = parameters_for(&session.dir, seed);
    let file = file.to_str().unwrap();
    app.faults.update(&faults_on(seed)).expect("faults on");
    let mut attempts = 0;
    loop {
        attempts += 1;
        let output = session.agentpool(&["up", "--scope", "infra", "--parameters", file]);
        if output.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(1) || stderr.contains("panicked") {
            return (
                attempts,
                Some(format!("seed {seed}: run {attempts} ended with {:?}:\n{stderr}", output.status.code())),
            );
        }
        let summary = stderr.lines().last().unwrap_or_default();
        if !summary.starts_with("infra: ") || !summary.contains(" failed") {
            return (attempts, Some(format!("seed {seed}: unclear failure summary: {summary}")));
        }
        // A write applied whose answer was lost must not come back as a conflict.
        if let Some(conflict) = stderr.lines().find(|l| l.contains(": 409 Conflict: ")) {
            return (attempts, Some(format!("seed {seed}: run {attempts} met a conflict: {conflict}")));
        }
        if attempts == ATTEMPTS {
            return (attempts, Some(format!("seed {seed}: not converged after {ATTEMPTS} runs:\n{stderr}")));
        }
    }

    // Faults off: the environment must plan to no changes and hold each resource once.
    app.faults.update(&faults_off()).expect("faults off");
    let plan = session.agentpool(&["plan", "--scope", "infra", "--parameters", file]);
    let stderr = String::from_utf8_lossy(&plan.stderr);
    if !plan.status.success() || !stderr.contains("plan: no changes") {
        return (attempts, Some(format!("seed {seed}: not converged after success:\n{stderr}")));
    }
    let group = format!("/subscriptions/{}/resourcegroups/{}", session.ready.subscription_id, group_of(seed));
    let snapshot = app.state.read(|store| store.snapshot());
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for resource in snapshot["resources"].as_array().into_iter().flatten().filter(|r| of_group(r, &group)) {
        *by_type.entry(resource["body"]["type"].as_str().unwrap_or("?").to_lowercase()).or_default() += 1;
        let state = resource.pointer("/body/properties/provisioningState").and_then(|s| s.as_str());
        if state.is_some_and(|s| s != "Succeeded") {
            return (attempts, Some(format!("seed {seed}: {} is {state:?} after success", resource["id"])));
        }
    }
    if &by_type != expected {
        return (attempts, Some(format!("seed {seed}: resources differ from one of each: {by_type:#?}")));
    }
    (attempts, None)
}

/// Whether an emulator resource is the seed's: inside its group (`group` in lower case), or a
/// custom role assignable there (a custom role's id is at the subscription, whatever its scope).
fn of_group(resource: &serde_json::Value, group: &str) -> bool {
    let id = resource["id"].as_str().unwrap_or_default().to_lowercase();
    let scopes = resource.pointer("/body/properties/assignableScopes").and_then(|s| s.as_array());
    id == group
        || id.starts_with(&format!("{group}/"))
        || scopes.into_iter().flatten().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(group)))
}

fn group_of(seed: u64) -> String {
    format!("rg-faults-{seed:03}")
}

/// The linux example in this seed's own resource group, storage account and gallery, scripts
/// resolved from the workspace.
fn parameters_for(dir: &std::path::Path, seed: u64) -> std::path::PathBuf {
    let example = workspace().join("yaml-templates/parameters/sbx.parameters.linux.json");
    let mut document: serde_json::Value = serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    let parameters = &mut document["parameters"];
    parameters["resourceGroupName"] = serde_json::json!({ "value": group_of(seed) });
    parameters["storageAccountName"] = serde_json::json!({ "value": local_azure::fault_account(seed) });
    parameters["galleryName"] = serde_json::json!({ "value": format!("gal_faults_{seed:03}") });
    parameters["scriptsDirectory"] = serde_json::json!({ "value": workspace().join("yaml-templates/scripts") });
    let file = dir.join(format!("faults-{seed:03}.parameters.linux.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    file
}
