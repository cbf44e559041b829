//! Benchmarks 1 and 2: `agentpool up --scope infra` against a fresh emulator whose writes take
//! Azure's relative latencies, compared with the critical path of the plan's dependency DAG; then
//! the converged re-run on the same emulator.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agentpool_core::apply::dag::{self, ScriptTarget};
use agentpool_core::apply::live;
use agentpool_core::arm::{ArmClient, ArmConfig, Connection, PollConfig};
use agentpool_core::blob::BlobScripts;
use agentpool_core::events::{Event, EventSink};
use agentpool_core::plan::{desired_state, DesiredState, PlanContext, Stage};
use agentpool_core::resources::{blob_container, storage_account};
use agentpool_emulator::config::KindLatency;
use serde_json::Value;

use crate::local::{Azurite, Session, Traffic, STORAGE_SCOPE};
use crate::BoxError;

/// Relative duration of a create in Azure, per resource type (resource group = 1), and its label.
pub const UNITS: [(&str, &str, u64); 8] = [
    ("Microsoft.Resources/resourceGroups", "resource group", 1),
    ("Microsoft.Storage/storageAccounts", "storage account", 20),
    ("Microsoft.Storage/storageAccounts/blobServices/containers", "blob container", 1),
    ("Microsoft.ManagedIdentity/userAssignedIdentities", "managed identity", 2),
    // Answered at once by the emulator (no `--latency-ms` for it): it costs nothing on the path.
    ("Microsoft.Authorization/roleDefinitions", "role definition", 0),
    ("Microsoft.Authorization/roleAssignments", "role assignment", 3),
    ("Microsoft.Compute/galleries", "gallery", 8),
    ("Microsoft.Compute/galleries/images", "image definition", 8),
];

/// `--latency-ms` of the emulator for `unit_ms` per unit.
pub fn latencies(unit_ms: u64) -> Result<Vec<KindLatency>, BoxError> {
    UNITS
        .iter()
        .filter(|(_, _, units)| *units > 0)
        .map(|(kind, _, units)| Ok(KindLatency::parse(&format!("{kind}={}", units * unit_ms))?))
        .collect()
}

fn units_of(kind: &str) -> Option<(&'static str, u64)> {
    UNITS.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(kind)).map(|(_, label, units)| (*label, *units))
}

/// One node of the dependency DAG.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub cost_ms: u64,
    pub depends_on: Vec<String>,
}

/// The infra stage of `agentpool plan --offline --output json`, as a DAG with `unit_ms` per unit:
/// its resources, plus one node per script upload that waits for the container and the account
/// (as `agentpool_core::apply::dag` runs them) and costs nothing.
pub fn infra_nodes(plan: &Value, unit_ms: u64) -> Result<Vec<Node>, BoxError> {
    let mut nodes = Vec::new();
    for resource in plan["resources"].as_array().ok_or("the plan has no resources")? {
        if resource["stage"] != "infra" {
            continue;
        }
        let kind = resource["kind"].as_str().unwrap_or_default();
        let (label, units) = units_of(kind).ok_or_else(|| format!("no latency for {kind}: add it to UNITS"))?;
        nodes.push(Node {
            id: resource["id"].as_str().unwrap_or_default().to_owned(),
            label: format!("{label} {}", resource["name"].as_str().unwrap_or_default()),
            cost_ms: units * unit_ms,
            depends_on: resource["dependsOn"]
                .as_array()
                .map(|d| d.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        });
    }
    let id_of = |kind: &str| {
        plan["resources"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["kind"] == kind))
            .and_then(|r| r["id"].as_str())
            .map(str::to_owned)
    };
    if let (Some(account), Some(container)) =
        (id_of(storage_account::KIND.resource_type), id_of(blob_container::KIND.resource_type))
    {
        for upload in plan["uploads"].as_array().into_iter().flatten() {
            let blob = upload["blobName"].as_str().unwrap_or_default();
            nodes.push(Node {
                id: format!("{container}/{blob}"),
                label: format!("upload {blob}"),
                cost_ms: 0,
                depends_on: vec![container.clone(), account.clone()],
            });
        }
    }
    Ok(nodes)
}

/// The longest chain of `nodes` (dependencies on unknown ids are ignored): its length and labels.
pub fn critical_path(nodes: &[Node]) -> Result<(u64, Vec<String>), BoxError> {
    let index: HashMap<String, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id.to_lowercase(), i)).collect();
    // finish[i]: earliest end of node i; via[i]: the dependency that ends last.
    let mut finish: Vec<Option<u64>> = vec![None; nodes.len()];
    let mut via: Vec<Option<usize>> = vec![None; nodes.len()];
    fn visit(
        i: usize,
        nodes: &[Node],
        index: &HashMap<String, usize>,
        finish: &mut [Option<u64>],
        via: &mut [Option<usize>],
        depth: usize,
    ) -> Result<u64, BoxError> {
        if let Some(done) = finish[i] {
            return Ok(done);
        }
        if depth > nodes.len() {
            return Err(format!("the dependencies of {} form a cycle", nodes[i].id).into());
        }
        let mut start = 0;
        for dep in &nodes[i].depends_on {
            if let Some(&d) = index.get(&dep.to_lowercase()) {
                let end = visit(d, nodes, index, finish, via, depth + 1)?;
                if end > start || via[i].is_none() {
                    start = start.max(end);
                    via[i] = Some(d);
                }
            }
        }
        let end = start + nodes[i].cost_ms;
        finish[i] = Some(end);
        Ok(end)
    }
    let mut best: Option<(u64, usize)> = None;
    for i in 0..nodes.len() {
        let end = visit(i, nodes, &index, &mut finish, &mut via, 0)?;
        if best.is_none_or(|(b, _)| end > b) {
            best = Some((end, i));
        }
    }
    let Some((length, mut last)) = best else { return Ok((0, Vec::new())) };
    let mut path = vec![nodes[last].label.clone()];
    while let Some(previous) = via[last] {
        path.push(nodes[previous].label.clone());
        last = previous;
    }
    path.reverse();
    Ok((length, path))
}

/// Names of what the apply must leave in Azurite (to delete before a run, so every run uploads).
pub struct Blobs {
    pub account: String,
    pub container: String,
    pub names: Vec<String>,
}

impl Blobs {
    pub fn of(plan: &Value) -> Blobs {
        let name = |kind: &str| {
            plan["resources"]
                .as_array()
                .and_then(|all| all.iter().find(|r| r["kind"] == kind))
                .and_then(|r| r["name"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Blobs {
            account: name(storage_account::KIND.resource_type),
            container: name(blob_container::KIND.resource_type),
            names: plan["uploads"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["blobName"].as_str().map(str::to_owned))
                .collect(),
        }
    }
}

/// One fresh deploy and the converged re-run after it.
#[derive(Debug, Clone)]
pub struct DeployRun {
    /// Wall time of the `agentpool up --scope infra` process.
    pub wall: Duration,
    /// The apply (DAG) time agentpool reports (`infra: … N s`), without start, token and live plan.
    pub apply: Option<Duration>,
    /// `✓ created … (N s)` per resource name, as agentpool prints it (0.1 s resolution).
    pub per_resource: BTreeMap<String, f64>,
    pub traffic: Traffic,
    pub converged_wall: Duration,
    pub converged: Traffic,
    /// agentpool's own summary line of the converged run.
    pub converged_summary: String,
}

/// `infra: 8 of 8 resources changed, …, 2.6 s` → 2.6 s.
fn apply_seconds(stderr: &str) -> Option<Duration> {
    let line = stderr.lines().find(|l| l.starts_with("infra: "))?;
    let seconds: f64 = line.trim_end().strip_suffix(" s")?.rsplit(' ').next()?.parse().ok()?;
    Some(Duration::from_secs_f64(seconds))
}

/// `✓ created storage account stagentssbxscripts (2.0 s)` → ("stagentssbxscripts", 2.0).
fn finished_lines(stderr: &str) -> BTreeMap<String, f64> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("✓ ")?;
            let (text, seconds) = rest.rsplit_once(" (")?;
            let seconds: f64 = seconds.strip_suffix(" s)")?.parse().ok()?;
            Some((text.rsplit(' ').next()?.to_owned(), seconds))
        })
        .collect()
}

/// Runs `agentpool up --scope infra` against a fresh emulator with `unit_ms` per unit, then again.
#[allow(clippy::too_many_arguments)]
pub fn run_binary(
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    agentpool: &Path,
    root: &Path,
    parameters: &Path,
    blobs: &Blobs,
    dir: &Path,
    unit_ms: u64,
) -> Result<DeployRun, BoxError> {
    let session = Session::start(runtime, azurite, dir, latencies(unit_ms)?)?;
    // Blobs of an earlier run would be left alone (same MD5): remove them so every run uploads.
    runtime.block_on(async {
        let token = session.token(STORAGE_SCOPE).await?;
        for name in &blobs.names {
            let url = azurite.url(&blobs.account, &format!("{}/{name}", blobs.container));
            session.blob(reqwest::Method::DELETE, &url, &token).await?;
        }
        Ok::<_, BoxError>(())
    })?;
    let parameters = parameters.display().to_string();
    let args = ["up", "--scope", "infra", "--parameters", parameters.as_str()];
    let (wall, output) = session.agentpool(agentpool, root, &args)?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    std::fs::write(dir.join("up.log"), &stderr)?;
    let files = session.traffic_files();
    let traffic = Traffic::of(&files);

    let (converged_wall, output) = session.agentpool(agentpool, root, &args)?;
    let converged_stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    std::fs::write(dir.join("up-again.log"), &converged_stderr)?;
    let converged = Traffic::of(&session.traffic_files()[files.len()..]);
    let converged_summary =
        converged_stderr.lines().find(|l| l.starts_with("infra: ")).unwrap_or_default().trim().to_owned();
    session.stop(runtime);
    Ok(DeployRun {
        wall,
        apply: apply_seconds(&stderr),
        per_resource: finished_lines(&stderr),
        traffic,
        converged_wall,
        converged,
        converged_summary,
    })
}

/// Collects `Finished` events.
#[derive(Default)]
struct Finished(Mutex<Vec<(String, Duration)>>);

impl EventSink for Finished {
    fn emit(&self, event: Event) {
        if let Event::Finished { name, elapsed, .. } = event {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push((name, elapsed));
        }
    }
}

/// agentpool-core's clients over one emulator session, and the desired state of a parameter file.
pub struct InProcess {
    pub client: ArmClient,
    pub blobs: BlobScripts,
    pub desired: DesiredState,
}

impl InProcess {
    /// Clients with `poll` as their LRO polling, and the desired state rendered for `session`.
    pub fn connect(session: &Session, parameters: &Path, poll: PollConfig) -> Result<Self, BoxError> {
        let vars = session.vars();
        let var = |name: &str| vars.get(name).cloned();
        let config = ArmConfig::from_vars(var)?.with_poll(poll);
        let Connection { client, credential, options } = Connection::new(&config, var)?;
        let blobs = BlobScripts::new(credential, options);
        let loaded = agentpool_core::params::load(parameters).map_err(|d| d.to_string())?;
        let mut context = PlanContext::offline_now();
        context.subscription = Some(&session.ready.subscription_id);
        let desired = desired_state(&loaded, &context)?;
        Ok(Self { client, blobs, desired })
    }

    /// Plans and applies the infrastructure as `up --scope infra` does.
    pub async fn deploy_infra(&self, sink: &dyn EventSink) -> Result<(), BoxError> {
        let resources: Vec<_> = self.desired.resources.iter().filter(|r| r.stage == Stage::Infra).cloned().collect();
        let find = |kind: &str| {
            resources.iter().find(|r| r.kind.resource_type == kind).ok_or(format!("the plan has no {kind}"))
        };
        let (account, container) =
            (find(storage_account::KIND.resource_type)?, find(blob_container::KIND.resource_type)?);
        let target = ScriptTarget {
            account_id: account.id.clone(),
            container_id: container.id.clone(),
            container_name: container.name.clone(),
            uploads: self.desired.uploads.clone(),
        };
        let plan = live::plan(&self.client, &resources, 8, sink).await.map_err(|e| e.to_string())?;
        let report = dag::apply(&self.client, &self.blobs, &plan, Some(&target), 8, sink).await;
        if !report.succeeded() {
            return Err(format!("in-process apply failed: {:?}", report.failed).into());
        }
        Ok(())
    }
}

/// The same deploy as `agentpool up --scope infra`, in process over agentpool-core (token, live
/// plan, DAG apply) with `poll` instead of the default [`PollConfig`]: what the DAG achieves when
/// polling granularity is not in the way. Returns the total time and each resource's.
pub fn run_in_process(
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    parameters: &Path,
    dir: &Path,
    unit_ms: u64,
    poll: PollConfig,
) -> Result<(Duration, BTreeMap<String, f64>), BoxError> {
    let session = Session::start(runtime, azurite, dir, latencies(unit_ms)?)?;
    let local = InProcess::connect(&session, parameters, poll)?;
    let sink = Finished::default();
    let began = Instant::now();
    runtime.block_on(local.deploy_infra(&sink))?;
    let elapsed = began.elapsed();
    session.stop(runtime);
    let per_resource =
        sink.0.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|(n, d)| (n, d.as_secs_f64())).collect();
    Ok((elapsed, per_resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, cost_ms: u64, deps: &[&str]) -> Node {
        Node {
            id: id.to_owned(),
            label: id.to_owned(),
            cost_ms,
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    #[test]
    fn the_longest_chain_wins_and_ids_ignore_case() {
        let nodes = [
            node("/rg", 1, &[]),
            node("/rg/sa", 20, &["/RG"]),
            node("/rg/sa/c", 1, &["/rg/sa"]),
            node("/rg/id", 2, &["/rg"]),
            node("/rg/sa/role", 3, &["/rg/sa", "/rg/id"]),
            node("/rg/g", 8, &["/rg", "/elsewhere"]),
            node("/rg/g/i", 8, &["/rg/g"]),
        ];
        let (length, path) = critical_path(&nodes).unwrap();
        assert_eq!(length, 24);
        assert_eq!(path, ["/rg", "/rg/sa", "/rg/sa/role"]);
    }

    #[test]
    fn cycles_are_reported() {
        let nodes = [node("a", 1, &["b"]), node("b", 1, &["a"])];
        assert!(critical_path(&nodes).unwrap_err().to_string().contains("cycle"));
    }

    #[test]
    fn agentpool_lines_parse() {
        let stderr = "✓ created storage account stagentssbxscripts (2.0 s)\n↑ uploaded linux/a.sh (3 bytes)\n\
                      infra: 8 of 8 resources changed, 2 scripts sent, 0 unchanged, 8 writes to Azure, 2.6 s\n";
        assert_eq!(apply_seconds(stderr), Some(Duration::from_secs_f64(2.6)));
        assert_eq!(finished_lines(stderr), BTreeMap::from([("stagentssbxscripts".to_owned(), 2.0)]));
    }

    #[test]
    fn every_infra_kind_has_a_latency() {
        for kind in [storage_account::KIND.resource_type, blob_container::KIND.resource_type] {
            assert!(units_of(kind).is_some(), "{kind}");
        }
        assert_eq!(latencies(100).unwrap().len(), UNITS.iter().filter(|(_, _, units)| *units > 0).count());
    }
}
