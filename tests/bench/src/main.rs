//! `agentpool-bench`: benchmarks of agentpool against a local Azure (the emulator in process,
//! Azurite), printed as tables; `tests/bench.sh` builds and runs it. Nothing here asserts a time.
//!
//! 1. deploy-infra: wall time of `agentpool up --scope infra` on a fresh emulator whose writes take
//!    Azure's relative latencies (`--unit-ms` per unit), against the critical path of the plan's
//!    dependency DAG with the same latencies; plus, as a what-if, the same deploy in process with
//!    LRO polls every 50 ms at most, and the same deploy at a second unit (`--compare-unit-ms`).
//! 2. converged re-run: `up --scope infra` again on the same emulator: wall time, writes and GETs
//!    from the emulator's traffic files.
//! 3. upload: a big file to Azurite by agentpool's uploader (`BlobScripts`, in process) and by
//!    Node's `@azure/storage-blob` `uploadFile` with the same block size and concurrency; plus the
//!    MD5-skip of the unchanged file.
//! 4. image wait: the adaptive schedule against looking every 15 s over the same builds, against
//!    the emulator's Image Builder (time scaled) and over simulated time ([`wait`]).
//! 5. the whole chain converged: infra, image check, scale set and pool run again on the same
//!    emulator, against their first run: wall time, reads, writes (which must be 0) ([`chain`]).
//! 6. task start: `node launcher.js` of a staged task folder to the binary's first request, with
//!    the binary unpacked and at the first start that decompresses its `.br`, against the binary
//!    started directly; and the .vsix's size with its binaries, if it was built ([`launcher`]).

mod chain;
mod deploy;
mod launcher;
mod local;
mod upload;
mod wait;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use agentpool_core::arm::PollConfig;
use clap::Parser;
use serde_json::Value;

use crate::deploy::{Blobs, DeployRun, UNITS};
use crate::local::Azurite;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Benchmarks of agentpool against the local emulator and Azurite.
#[derive(Debug, Parser)]
#[command(name = "agentpool-bench")]
struct Args {
    /// Workspace root (parameter files, tests/node, .cache/bench).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    root: PathBuf,
    /// The agentpool binary (default: beside this one).
    #[arg(long)]
    agentpool: Option<PathBuf>,
    /// Node.js, for @azure/storage-blob.
    #[arg(long, default_value = "node")]
    node: String,
    /// Parameter file deployed, relative to the root.
    #[arg(long, default_value = "yaml-templates/parameters/sbx.parameters.linux.json")]
    parameters: PathBuf,
    /// Milliseconds per latency unit (a resource group's create).
    #[arg(long, default_value_t = 100)]
    unit_ms: u64,
    /// A second unit to deploy with, showing how LRO polling rounds durations (0: none).
    #[arg(long, default_value_t = 75)]
    compare_unit_ms: u64,
    /// Fresh deploys per unit (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Size of the uploaded file in MiB.
    #[arg(long, default_value_t = 256)]
    upload_mib: u64,
    /// Upload rounds (ours, then Node's; the median is reported).
    #[arg(long, default_value_t = 3)]
    upload_rounds: usize,
    /// Skip benchmarks 1 and 2.
    #[arg(long)]
    skip_deploy: bool,
    /// Skip benchmark 3.
    #[arg(long)]
    skip_upload: bool,
    /// Template families built (twice each) in benchmark 4a.
    #[arg(long, default_value_t = 50)]
    wait_families: usize,
    /// How many times faster than real time the builds of benchmark 4a run.
    #[arg(long, default_value_t = 60.0)]
    wait_scale: f64,
    /// Relative spread of each phase's duration from one build to the next in benchmark 4a.
    #[arg(long, default_value_t = 0.05)]
    wait_jitter: f64,
    /// Template families per row of benchmark 4b (simulated time).
    #[arg(long, default_value_t = 2000)]
    wait_simulated: usize,
    /// Skip benchmark 4.
    #[arg(long)]
    skip_wait: bool,
    /// Skip benchmark 5.
    #[arg(long)]
    skip_chain: bool,
    /// Starts of each kind in benchmark 6 (the median is reported).
    #[arg(long, default_value_t = 20)]
    task_start_runs: usize,
    /// Skip benchmark 6.
    #[arg(long)]
    skip_task_start: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agentpool-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)))
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn run(args: Args) -> Result<(), BoxError> {
    let started = Instant::now();
    let root = args.root.canonicalize().map_err(|e| format!("--root {}: {e}", args.root.display()))?;
    let agentpool = match &args.agentpool {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("agentpool"),
    };
    if !agentpool.exists() {
        return Err(format!("{} is missing: build it (tests/bench.sh does)", agentpool.display()).into());
    }
    let parameters = root.join(&args.parameters);
    let work = root.join(".cache/bench");
    std::fs::create_dir_all(&work)?;
    for entry in std::fs::read_dir(&work)?.flatten() {
        if entry.path().is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let azurite = Azurite::start(&runtime, &root.join("tests/node/node_modules"), &work)?;
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);

    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("agentpool benchmarks — {profile} build, {cpus} CPUs, Azurite on port {}", azurite.port));

    if !args.skip_deploy {
        deploy_section(&args, &runtime, &azurite, &agentpool, &root, &parameters, &work, &mut line)?;
    }
    if !args.skip_upload {
        upload_section(&args, &runtime, &azurite, &root, &work, &mut line)?;
    }
    if !args.skip_wait {
        let settings = wait::emulated::Settings {
            families: args.wait_families,
            scale: args.wait_scale,
            jitter: args.wait_jitter,
            seed: 2024,
        };
        let rounds = wait::emulated::run(&runtime, &azurite, &parameters, &work.join("wait"), settings)?;
        wait::emulated_section(settings, &rounds, &mut line);
        wait::simulated_section(args.wait_simulated, &mut line);
    }
    if !args.skip_chain {
        let output = std::process::Command::new(&agentpool)
            .args(["plan", "--offline", "--output", "json", "--parameters"])
            .arg(&parameters)
            .current_dir(&root)
            .output()?;
        let plan: Value = serde_json::from_slice(&output.stdout)?;
        let steps = chain::run(&runtime, &azurite, &agentpool, &root, &parameters, &plan, &work.join("chain"))?;
        chain::section(&steps, &mut line);
    }
    if !args.skip_task_start {
        let results = launcher::run(&root, &agentpool, &args.node, args.task_start_runs.max(1), &work)?;
        launcher::section(&results, &root, &mut line);
    }
    line(String::new());
    line(format!(
        "whole benchmark: {:.0} s (logs and traffic under {})",
        started.elapsed().as_secs_f64(),
        work.display()
    ));
    print!("{out}");
    Ok(())
}

/// Benchmark 1 at one scale.
struct UnitResults {
    unit_ms: u64,
    /// Seconds.
    critical: f64,
    runs: Vec<DeployRun>,
    /// Seconds of the in-process deploys with fast polls.
    what_if: Vec<f64>,
    what_if_resources: Vec<std::collections::BTreeMap<String, f64>>,
}

#[allow(clippy::too_many_arguments)]
fn deploy_section(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    agentpool: &std::path::Path,
    root: &std::path::Path,
    parameters: &std::path::Path,
    work: &std::path::Path,
    line: &mut impl FnMut(String),
) -> Result<(), BoxError> {
    let plan_args = ["plan", "--offline", "--output", "json", "--parameters"];
    let output = std::process::Command::new(agentpool)
        .args(plan_args)
        .arg(parameters)
        // The emulators' subscription: role assignment names hash it, so the ids match the runs'.
        .args(["--subscription", agentpool_emulator::config::DEFAULT_SUBSCRIPTION_ID])
        .current_dir(root)
        .output()?;
    if !output.status.success() {
        return Err(format!("agentpool plan --offline failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let plan: Value = serde_json::from_slice(&output.stdout)?;
    let blobs = Blobs::of(&plan);
    let file_name = parameters.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();

    let mut units: Vec<u64> = vec![args.unit_ms];
    if args.compare_unit_ms > 0 && args.compare_unit_ms != args.unit_ms {
        units.push(args.compare_unit_ms);
    }
    // What-if: the same deploy in process, polling at most every 50 ms.
    let fast_poll = PollConfig {
        default_interval: Duration::from_millis(50),
        min_interval: Duration::ZERO,
        max_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(60),
    };
    let mut by_unit: Vec<UnitResults> = Vec::new();
    for &unit_ms in &units {
        let nodes = deploy::infra_nodes(&plan, unit_ms)?;
        let (critical_ms, path) = deploy::critical_path(&nodes)?;
        if unit_ms == args.unit_ms {
            line(String::new());
            line(format!(
                "1. deploy-infra: `agentpool up --scope infra --parameters {file_name}` on a fresh emulator, \
                 {} runs, 1 unit = {unit_ms} ms",
                args.runs
            ));
            let kinds: Vec<String> =
                UNITS.iter().map(|(_, label, u)| format!("{label} {u} ({} ms)", u * unit_ms)).collect();
            line(format!("   emulator --latency-ms per kind, in units: {}", kinds.join(", ")));
            line(format!(
                "   critical path of the plan DAG: {} = {:.2} s",
                path.join(" → "),
                critical_ms as f64 / 1000.0
            ));
        }
        let mut runs = Vec::new();
        for run in 1..=args.runs {
            let dir = work.join(format!("deploy-{unit_ms}ms-{run}"));
            let result = deploy::run_binary(runtime, azurite, agentpool, root, parameters, &blobs, &dir, unit_ms)?;
            eprintln!(
                "  deploy {unit_ms} ms/unit, run {run}/{}: {:.2} s (critical path {:.2} s); converged re-run {:.2} s",
                args.runs,
                result.wall.as_secs_f64(),
                critical_ms as f64 / 1000.0,
                result.converged_wall.as_secs_f64()
            );
            runs.push(result);
        }
        let mut what_if = Vec::new();
        let mut what_if_resources = Vec::new();
        for run in 1..=args.runs.min(3) {
            let dir = work.join(format!("in-process-{unit_ms}ms-{run}"));
            let (elapsed, per_resource) =
                deploy::run_in_process(runtime, azurite, parameters, &dir, unit_ms, fast_poll.clone())?;
            eprintln!(
                "  in-process deploy {unit_ms} ms/unit, polls ≤ 50 ms, run {run}: {:.2} s",
                elapsed.as_secs_f64()
            );
            what_if.push(elapsed.as_secs_f64());
            what_if_resources.push(per_resource);
        }
        by_unit.push(UnitResults { unit_ms, critical: critical_ms as f64 / 1000.0, runs, what_if, what_if_resources });
    }

    line(String::new());
    line("| measure | median | min | max | ÷ critical path | target | |".to_owned());
    line("|---|---|---|---|---|---|---|".to_owned());
    let row = |name: &str, values: &[f64], critical: f64, target: Option<f64>| {
        let m = median(values);
        let (lo, hi) = min_max(values);
        let (target, met) = match target {
            Some(t) => (format!("≤ {t:.2}×"), verdict(m / critical <= t).to_owned()),
            None => ("".to_owned(), "".to_owned()),
        };
        format!("| {name} | {m:.2} s | {lo:.2} s | {hi:.2} s | {:.2}× | {target} | {met} |", m / critical)
    };
    for (i, u) in by_unit.iter().enumerate() {
        let wall: Vec<f64> = u.runs.iter().map(|r| r.wall.as_secs_f64()).collect();
        let apply: Vec<f64> = u.runs.iter().map(|r| r.apply.map_or(f64::NAN, |d| d.as_secs_f64())).collect();
        let unit_ms = u.unit_ms;
        let note = if i == 0 { "" } else { " (second scale: LRO durations off whole seconds)" };
        line(format!("| **{unit_ms} ms/unit**{note}: critical path | {:.2} s | | | 1.00× | | |", u.critical));
        line(row("wall time of `agentpool up --scope infra`", &wall, u.critical, Some(1.15)));
        line(row("  of which apply (DAG), as agentpool reports it", &apply, u.critical, None));
        line(row(
            "what-if: same deploy in process, LRO polls ≤ 50 ms (token + plan + apply)",
            &u.what_if,
            u.critical,
            None,
        ));
    }

    // Per resource: configured latency against what agentpool measured.
    line(String::new());
    line("   per resource, median (agentpool up prints 0.1 s steps): configured → agentpool up | in process, polls ≤ 50 ms".to_owned());
    for resource in plan["resources"].as_array().into_iter().flatten().filter(|r| r["stage"] == "infra") {
        let name = resource["name"].as_str().unwrap_or_default();
        let kind = resource["kind"].as_str().unwrap_or_default();
        let (label, units) = UNITS.iter().find(|(k, _, _)| *k == kind).map(|(_, l, u)| (*l, *u)).unwrap_or(("", 0));
        let mut text = format!("     {label:<17} {:<38}", name);
        for u in &by_unit {
            // agentpool prints a resource by its summary where it has one (role assignments and
            // definitions), else by its name; the line's last word keys `per_resource`.
            let printed = resource["summary"].as_str().unwrap_or(name).rsplit(' ').next().unwrap_or(name);
            let measured: Vec<f64> = u.runs.iter().filter_map(|r| r.per_resource.get(printed).copied()).collect();
            let in_process: Vec<f64> = u.what_if_resources.iter().filter_map(|r| r.get(name).copied()).collect();
            text.push_str(&format!(
                "   @{} ms: {:.2} s → {:.1} s | {:.2} s",
                u.unit_ms,
                (units * u.unit_ms) as f64 / 1000.0,
                median(&measured),
                median(&in_process)
            ));
        }
        line(text);
    }
    let runs = &by_unit[0].runs;
    let first = &runs[0].traffic;
    line(format!(
        "   ARM requests of a fresh deploy: {} writes, {} GETs, {} LRO polls (the emulator answers Retry-After: 1)",
        first.writes, first.gets, first.polls
    ));

    line(String::new());
    line(format!("2. converged re-run: `up --scope infra` again on the same emulator, {} runs", runs.len()));
    line(String::new());
    line("| measure | median | min | max | expected | |".to_owned());
    line("|---|---|---|---|---|---|".to_owned());
    let converged_wall: Vec<f64> = runs.iter().map(|r| r.converged_wall.as_secs_f64()).collect();
    let (lo, hi) = min_max(&converged_wall);
    line(format!("| wall time | {:.2} s | {lo:.2} s | {hi:.2} s | | |", median(&converged_wall)));
    let counts = |f: &dyn Fn(&DeployRun) -> usize| runs.iter().map(|r| f(r) as f64).collect::<Vec<f64>>();
    for (name, values, expected) in [
        ("writes (PUT/PATCH/POST/DELETE traffic files)", counts(&|r| r.converged.writes), Some(0.0)),
        ("GETs", counts(&|r| r.converged.gets), None),
        ("LRO polls", counts(&|r| r.converged.polls), Some(0.0)),
    ] {
        let (lo, hi) = min_max(&values);
        let (expected, met) = match expected {
            Some(e) => (format!("{e:.0}"), verdict(hi <= e).to_owned()),
            None => (String::new(), String::new()),
        };
        line(format!("| {name} | {:.0} | {lo:.0} | {hi:.0} | {expected} | {met} |", median(&values)));
    }
    line(format!("   agentpool: {}", runs[0].converged_summary));
    Ok(())
}

fn upload_section(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    root: &std::path::Path,
    work: &std::path::Path,
    line: &mut impl FnMut(String),
) -> Result<(), BoxError> {
    let file = work.join(format!("upload-{}MiB.bin", args.upload_mib));
    upload::big_file(&file, args.upload_mib << 20)?;
    let results = upload::run(runtime, azurite, root, &args.node, &file, &work.join("upload"), args.upload_rounds)?;
    let mb = results.bytes as f64 / 1e6;
    let ours: Vec<f64> = results.rounds.iter().map(|r| r.ours.as_secs_f64()).collect();
    let node: Vec<f64> = results.rounds.iter().map(|r| r.node_upload.as_secs_f64()).collect();
    let node_same: Vec<f64> = results.rounds.iter().map(|r| r.node_same_work.as_secs_f64()).collect();
    let ours_rate = mb / median(&ours);

    line(String::new());
    line(format!(
        "3. upload of a {} MiB file to Azurite ({} MiB blocks, {} in flight, Entra token), median of {} rounds; MB = 10^6 bytes",
        args.upload_mib,
        results.partition_size >> 20,
        results.parallel,
        results.rounds.len()
    ));
    line(String::new());
    line("| uploader | median | min | max | MB/s | ours ÷ this (throughput) | target | |".to_owned());
    line("|---|---|---|---|---|---|---|---|".to_owned());
    for (name, values, target) in [
        ("agentpool `BlobScripts::upload` (read + MD5 + HEAD + blocks + commit)", &ours, None),
        ("Node `BlockBlobClient.uploadFile` (blocks + commit)", &node, Some(1.0)),
        ("Node MD5 + `exists` + `uploadFile` (the same work as ours)", &node_same, Some(1.0)),
    ] {
        let m = median(values);
        let (lo, hi) = min_max(values);
        let ratio = ours_rate / (mb / m);
        let (target, met) = match target {
            Some(t) => (format!("≥ {t:.1}×"), verdict(ratio >= t).to_owned()),
            None => (String::new(), String::new()),
        };
        line(format!("| {name} | {m:.2} s | {lo:.2} s | {hi:.2} s | {:.0} | {ratio:.2}× | {target} | {met} |", mb / m));
    }
    let skip: Vec<f64> = results.md5_skip.iter().map(Duration::as_secs_f64).collect();
    let (lo, hi) = min_max(&skip);
    line(format!(
        "| bonus: agentpool MD5-skip of the unchanged file (read + MD5 + HEAD, nothing sent) | {:.2} s | {lo:.2} s | {hi:.2} s | {:.0} | | | |",
        median(&skip),
        mb / median(&skip)
    ));
    let transfer = median(&ours) - median(&skip);
    line(format!(
        "| derived: agentpool blocks + commit only (ours − MD5-skip) | {transfer:.2} s | | | {:.0} | vs Node uploadFile: {:.2}× | | |",
        mb / transfer,
        (mb / transfer) / (mb / median(&node))
    ));
    Ok(())
}
