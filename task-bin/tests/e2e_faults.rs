//! `agentpool up --scope infra` under injected faults (throttling, server errors, dropped
//! connections, slow answers, long-running operations that fail): every seed either converges,
//! or fails with clear one-line errors (exit 1) and converges on re-run — never with duplicate
//! resources.

mod local_azure;

use std::collections::BTreeMap;

use agentpool_emulator::faults::FaultUpdate;
use local_azure::{local_azure, workspace};

const SEEDS: u64 = 24;
const ATTEMPTS: usize = 4;
const WORKERS: u64 = 8;

#[test]
fn every_seed_converges_without_duplicates() {
    let outcomes = std::thread::scope(|scope| {
        // The runs mostly wait (back-off, Retry-After, slow answers): more of them than cores.
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                scope.spawn(move || (worker..SEEDS).step_by(WORKERS as usize).map(run_seed).collect::<Vec<_>>())
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect::<Vec<_>>()
    });
    let reruns: usize = outcomes.iter().map(|(attempts, _)| attempts - 1).sum();
    let failures: Vec<String> = outcomes.into_iter().filter_map(|(_, failure)| failure).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The faults must have bitten: some seeds needed a second run.
    assert!(reruns > 0, "no seed needed a re-run: the faults were not injected");
}

/// Runs one seed to convergence; returns the runs it took and what went wrong, if anything.
fn run_seed(seed: u64) -> (usize, Option<String>) {
    let local = local_azure();
    let session = local.session(&format!("faults-{seed:02}"), |config| {
        config.lro_delay_ms = 100;
        config.faults.fault_seed = seed;
        config.faults.rate_429 = 0.08;
        config.faults.rate_5xx = 0.08;
        config.faults.rate_drop = 0.04;
        config.faults.rate_slow = 0.04;
        config.faults.slow_ms = 300;
        config.faults.rate_lro_fail = 0.15;
    });
    let account = format!("stfault{seed:02}");
    let file = parameters_for(&session.dir, &account);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let output = session.agentpool(&["up", "--scope", "infra", "--parameters", file.to_str().unwrap()]);
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
        if attempts == ATTEMPTS {
            return (attempts, Some(format!("seed {seed}: not converged after {ATTEMPTS} runs:\n{stderr}")));
        }
    }

    // Faults off: the environment must plan to no changes and hold each resource once.
    let app = session.emulator.as_ref().expect("running").app().clone();
    let off = FaultUpdate {
        rate429: Some(0.0),
        rate5xx: Some(0.0),
        rate_drop: Some(0.0),
        rate_slow: Some(0.0),
        rate_lro_fail: Some(0.0),
        ..Default::default()
    };
    app.faults.update(&off).expect("faults off");
    let plan = session.agentpool(&["plan", "--parameters", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&plan.stderr);
    if !plan.status.success() || !stderr.contains("plan: no changes") {
        return (attempts, Some(format!("seed {seed}: not converged after success:\n{stderr}")));
    }
    let snapshot = app.state.read(|store| store.snapshot());
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for resource in snapshot["resources"].as_array().into_iter().flatten() {
        *by_type.entry(resource["body"]["type"].as_str().unwrap_or("?").to_lowercase()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("microsoft.resources/resourcegroups", 1),
        ("microsoft.storage/storageaccounts", 1),
        ("microsoft.storage/storageaccounts/blobservices/containers", 1),
        ("microsoft.managedidentity/userassignedidentities", 1),
        ("microsoft.authorization/roleassignments", 2),
        ("microsoft.compute/galleries", 1),
        ("microsoft.compute/galleries/images", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if by_type != expected {
        return (attempts, Some(format!("seed {seed}: resources differ from one of each: {by_type:#?}")));
    }
    (attempts, None)
}

/// The linux example with this seed's storage account, scripts resolved from the workspace.
fn parameters_for(dir: &std::path::Path, account: &str) -> std::path::PathBuf {
    let example = workspace().join("yaml-templates/parameters/sbx.parameters.linux.json");
    let mut document: serde_json::Value = serde_json::from_slice(&std::fs::read(example).unwrap()).unwrap();
    document["parameters"]["storageAccountName"] = serde_json::json!({ "value": account });
    document["parameters"]["scriptsDirectory"] =
        serde_json::json!({ "value": workspace().join("yaml-templates/scripts") });
    let file = dir.join("faults.parameters.linux.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    file
}
