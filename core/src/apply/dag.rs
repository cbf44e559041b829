//! Running a live plan: every change as soon as what it depends on is done, at most
//! `parallelism` at a time.
//!
//! Resources that need no change are done from the start (their live state feeds the bindings
//! of others). When a resource fails, what depends on it is skipped and everything else still
//! runs, so one re-run converges the rest. Script uploads are nodes too: they wait for the
//! container, and read the blob endpoint from the storage account as Azure reports it.
//!
//! Caveat: the executor is one task polling many futures, which suits I/O-bound work (HTTP
//! calls); it never blocks a thread.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use serde_json::Value;

use super::live::{LivePlan, PlannedAction};
use super::write::{self, Request};
use super::{ResourceStore, ScriptStore, StoreError};
use crate::events::{Action, Event, EventSink};
use crate::resources::kind::Update;
use crate::scripts::ScriptUpload;

/// Where the scripts go: the container resource and its storage account.
#[derive(Debug, Clone)]
pub struct ScriptTarget {
    /// Resource id of the storage account (its live `properties.primaryEndpoints.blob` is used).
    pub account_id: String,
    /// Resource id of the blob container, which uploads wait for.
    pub container_id: String,
    pub container_name: String,
    pub uploads: Vec<ScriptUpload>,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Resource ids written, in completion order.
    pub written: Vec<String>,
    /// Resource ids (and blob names) that failed, with the error.
    pub failed: Vec<(String, StoreError)>,
    /// Resources not attempted because a dependency failed.
    pub skipped: Vec<String>,
    pub scripts_sent: usize,
    pub scripts_unchanged: usize,
    pub elapsed: Duration,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

enum Work<'p> {
    Resource(usize),
    Upload(&'p ScriptUpload),
}

struct Node<'p> {
    id: String,
    depends_on: Vec<String>,
    work: Work<'p>,
}

enum Completed {
    Resource(Value),
    Upload { sent: bool },
}

type Outcome = (usize, Result<Completed, StoreError>, Duration);

/// Applies `plan` (and uploads `scripts`) with at most `parallelism` operations in flight.
pub async fn apply<S: ResourceStore, B: ScriptStore>(
    store: &S,
    blobs: &B,
    plan: &LivePlan,
    scripts: Option<&ScriptTarget>,
    parallelism: usize,
    sink: &dyn EventSink,
) -> ApplyReport {
    let started = Instant::now();
    let mut nodes: Vec<Node<'_>> = plan
        .actions
        .iter()
        .enumerate()
        .map(|(index, a)| Node {
            id: a.resource.id.clone(),
            depends_on: a.resource.depends_on.clone(),
            work: Work::Resource(index),
        })
        .collect();
    if let Some(target) = scripts {
        for upload in &target.uploads {
            nodes.push(Node {
                id: format!("{}/{}", target.container_id, upload.blob_name),
                depends_on: vec![target.container_id.clone(), target.account_id.clone()],
                work: Work::Upload(upload),
            });
        }
    }

    let mut live: HashMap<String, Value> = HashMap::new();
    let mut done = vec![false; nodes.len()];
    let mut started_nodes = vec![false; nodes.len()];
    let mut report = ApplyReport::default();
    let known = |id: &str| nodes.iter().any(|n| n.id.eq_ignore_ascii_case(id));

    // Unchanged resources are done from the start.
    for (index, node) in nodes.iter().enumerate() {
        if let Work::Resource(action) = node.work {
            let planned = &plan.actions[action];
            if planned.action == Action::NoChange {
                done[index] = true;
                started_nodes[index] = true;
                if let Some(value) = &planned.live {
                    live.insert(node.id.to_lowercase(), value.clone());
                }
            }
        }
    }

    let mut running: FuturesUnordered<BoxFuture<'_, Outcome>> = FuturesUnordered::new();
    loop {
        // Skip what depends on a failure; start what is ready.
        for index in 0..nodes.len() {
            if started_nodes[index] {
                continue;
            }
            let node = &nodes[index];
            let failed_dependency = node.depends_on.iter().find(|dep| {
                report.failed.iter().any(|(id, _)| id.eq_ignore_ascii_case(dep))
                    || report.skipped.iter().any(|id| id.eq_ignore_ascii_case(dep))
            });
            if let Some(dependency) = failed_dependency {
                started_nodes[index] = true;
                done[index] = true;
                report.skipped.push(node.id.clone());
                let (kind, name) = label(plan, node);
                sink.emit(Event::Skipped { kind, name, because: dependency.clone() });
                continue;
            }
            let ready = node.depends_on.iter().all(|dep| {
                !known(dep) || nodes.iter().zip(&done).any(|(n, finished)| *finished && n.id.eq_ignore_ascii_case(dep))
            });
            if !ready || running.len() >= parallelism.max(1) {
                continue;
            }
            started_nodes[index] = true;
            running.push(start(store, blobs, plan, scripts, node, index, &live, sink));
        }
        let Some((index, result, elapsed)) = running.next().await else { break };
        done[index] = true;
        let node = &nodes[index];
        let (kind, name) = label(plan, node);
        match result {
            Ok(Completed::Resource(value)) => {
                if let Work::Resource(action) = node.work {
                    let action = plan.actions[action].action;
                    sink.emit(Event::Finished { kind, name, action, id: node.id.clone(), elapsed });
                }
                report.written.push(node.id.clone());
                live.insert(node.id.to_lowercase(), value);
            }
            Ok(Completed::Upload { sent }) => {
                if sent {
                    report.scripts_sent += 1;
                } else {
                    report.scripts_unchanged += 1;
                }
            }
            Err(error) => {
                sink.emit(Event::Failed { kind, name, error: error.to_string() });
                report.failed.push((node.id.clone(), error));
            }
        }
    }
    for (index, node) in nodes.iter().enumerate() {
        if !started_nodes[index] {
            report.skipped.push(node.id.clone());
        }
    }
    report.elapsed = started.elapsed();
    report
}

fn label(plan: &LivePlan, node: &Node<'_>) -> (String, String) {
    match node.work {
        Work::Resource(action) => {
            let resource = &plan.actions[action].resource;
            (resource.kind.resource_type.to_owned(), resource.name.clone())
        }
        Work::Upload(upload) => ("script".to_owned(), upload.blob_name.clone()),
    }
}

#[allow(clippy::too_many_arguments)]
fn start<'a, S: ResourceStore, B: ScriptStore>(
    store: &'a S,
    blobs: &'a B,
    plan: &'a LivePlan,
    scripts: Option<&'a ScriptTarget>,
    node: &Node<'a>,
    index: usize,
    live: &HashMap<String, Value>,
    sink: &'a dyn EventSink,
) -> BoxFuture<'a, Outcome> {
    let began = Instant::now();
    match node.work {
        Work::Resource(action_index) => {
            let planned = &plan.actions[action_index];
            let resource = &planned.resource;
            sink.emit(Event::Started {
                kind: resource.kind.resource_type.to_owned(),
                name: resource.name.clone(),
                action: planned.action,
            });
            let body = resource.bound_body(|id| live.get(&id.to_lowercase()));
            async move {
                let result = match body {
                    Ok(body) => write(store, planned, body).await.map(Completed::Resource),
                    Err(missing) => {
                        Err(StoreError::operation(format!("{} cannot be written: {missing} is not known", resource.id)))
                    }
                };
                (index, result, began.elapsed())
            }
            .boxed()
        }
        Work::Upload(upload) => {
            let target = scripts.expect("upload nodes exist only with a script target");
            let endpoint = live
                .get(&target.account_id.to_lowercase())
                .and_then(|account| account.pointer("/properties/primaryEndpoints/blob"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            async move {
                let result = match endpoint {
                    Some(endpoint) => {
                        let container_url = format!("{}/{}", endpoint.trim_end_matches('/'), target.container_name);
                        blobs.upload(&container_url, upload).await.map(|sent| {
                            sink.emit(Event::Uploaded { blob: upload.blob_name.clone(), bytes: upload.bytes, sent });
                            Completed::Upload { sent }
                        })
                    }
                    None => Err(StoreError::operation(format!(
                        "{}: the storage account reports no blob endpoint",
                        target.account_id
                    ))),
                };
                (index, result, began.elapsed())
            }
            .boxed()
        }
    }
}

/// Sends the request `planned` calls for, `body` being its desired body with bindings filled. A
/// read-modify-write reads the resource again first, so the fields it keeps are the newest.
async fn write<S: ResourceStore>(store: &S, planned: &PlannedAction, body: Value) -> Result<Value, StoreError> {
    let resource = &planned.resource;
    let fresh = match resource.kind.update {
        Update::GetModifyPut if planned.action == Action::Update => store.get(resource).await?,
        _ => None,
    };
    let live = fresh.as_ref().or(planned.live.as_ref());
    match write::request(resource.kind, planned.action, body, live, &planned.changes)? {
        Request::Put(body) => store.put(resource, &body).await,
        Request::Patch(body) => store.patch(resource, &body).await,
        Request::Recreate(body) => {
            store.delete(resource).await?;
            store.put(resource, &body).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::apply::live;
    use crate::apply::memory::MemoryStore;
    use crate::events::Discard;
    use crate::plan::test_support::{at, linux_example};
    use crate::plan::{desired_state, DesiredState, Stage};
    use crate::resources::Kind;
    use crate::resources::{self, role_assignment, storage_account};

    fn infra() -> (DesiredState, Vec<crate::plan::DesiredResource>, ScriptTarget) {
        let desired = desired_state(&linux_example(), &at(time::OffsetDateTime::now_utc())).unwrap();
        let resources = desired.of_stages(&[Stage::Infra]);
        let account = resources.iter().find(|r| r.kind == &storage_account::KIND).unwrap();
        let container = resources.iter().find(|r| r.kind == &resources::blob_container::KIND).unwrap();
        let target = ScriptTarget {
            account_id: account.id.clone(),
            container_id: container.id.clone(),
            container_name: container.name.clone(),
            uploads: desired.uploads.clone(),
        };
        (desired, resources, target)
    }

    fn latency(resource_type: &str) -> Duration {
        let is = |kind: &Kind| kind.resource_type == resource_type;
        Duration::from_secs(if is(&storage_account::KIND) {
            20
        } else if is(&resources::gallery::KIND) || is(&resources::gallery_image::KIND) {
            8
        } else {
            2
        })
    }

    fn store() -> MemoryStore {
        MemoryStore::new(latency, |duration| Box::pin(tokio::time::sleep(duration)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_run_creates_everything_and_a_second_writes_nothing() {
        let (_, resources, target) = infra();
        let store = store();
        let first = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        assert_eq!(first.writes(), resources.len());
        let report = apply(&store, &store, &first, Some(&target), 8, &Discard).await;
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(report.scripts_sent, target.uploads.len());

        let role = resources.iter().find(|r| r.kind == &role_assignment::KIND).unwrap();
        assert_eq!(
            store.resource(&role.id).unwrap()["properties"]["principalId"],
            "principal-of-id-agents-sbx-imagebuilder"
        );

        let writes_before = store.writes.load(std::sync::atomic::Ordering::Relaxed);
        let second = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        assert_eq!(
            second.writes(),
            0,
            "{:#?}",
            second.actions.iter().map(|a| (&a.resource.name, &a.changes)).collect::<Vec<_>>()
        );
        let report = apply(&store, &store, &second, Some(&target), 8, &Discard).await;
        assert_eq!(store.writes.load(std::sync::atomic::Ordering::Relaxed), writes_before);
        assert_eq!((report.scripts_sent, report.scripts_unchanged), (0, target.uploads.len()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deleted_identity_is_created_again_and_its_role_assignments_replaced() {
        let (_, resources, target) = infra();
        let store = store();
        let first = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        assert!(apply(&store, &store, &first, Some(&target), 8, &Discard).await.succeeded());
        let identity = resources.iter().find(|r| r.kind == &resources::identity::KIND).unwrap();
        store.delete(identity).await.unwrap();

        let plan = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        let action_of = |kind: &Kind| -> Vec<Action> {
            plan.actions.iter().filter(|a| a.resource.kind == kind).map(|a| a.action).collect()
        };
        assert_eq!(action_of(&resources::identity::KIND), [Action::Create]);
        // The new identity's principal is not the one the assignments name: they are replaced,
        // since Azure refuses to change an assignment's principal.
        assert_eq!(action_of(&role_assignment::KIND), [Action::Replace, Action::Replace]);
        let report = apply(&store, &store, &plan, Some(&target), 8, &Discard).await;
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(report.written.len(), 3, "the identity and its two role assignments");
        let again = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        assert_eq!(again.writes(), 0, "converged");
    }

    #[tokio::test(start_paused = true)]
    async fn independent_resources_run_in_parallel_along_the_critical_path() {
        let (_, resources, target) = infra();
        let store = store();
        let plan = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        let clock = tokio::time::Instant::now();
        apply(&store, &store, &plan, Some(&target), 8, &Discard).await;
        // (virtual time: the runtime's clock is paused and jumps to each sleep's end)
        // group 2 s → storage 20 s → container 2 s (uploads take no virtual time) or the
        // storage role 2 s: 24 s; the gallery branch takes 2 + 8 + 8 = 18 s.
        assert_eq!(clock.elapsed(), Duration::from_secs(24));
        let clock = tokio::time::Instant::now();
        apply(&store, &store, &plan, Some(&target), 1, &Discard).await;
        let total: Duration = resources.iter().map(|r| latency(r.kind.resource_type)).sum();
        assert_eq!(clock.elapsed(), total, "with one slot, nothing overlaps");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_skips_its_dependents_and_a_rerun_converges() {
        let (_, resources, target) = infra();
        let store = store();
        let account = resources.iter().find(|r| r.kind == &storage_account::KIND).unwrap();
        store.fail_next_write(&account.id);
        let plan = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        let report = apply(&store, &store, &plan, Some(&target), 8, &Discard).await;
        assert_eq!(report.failed.len(), 1);
        // The container, the storage role assignment and both uploads wait for the account.
        assert_eq!(report.skipped.len(), 2 + target.uploads.len(), "{:?}", report.skipped);
        assert!(store
            .resource(&resources.iter().find(|r| r.kind == &resources::gallery_image::KIND).unwrap().id)
            .is_some());

        let rerun = live::plan(&store, &resources, 8, &Discard).await.unwrap();
        assert_eq!(rerun.writes(), 3);
        let report = apply(&store, &store, &rerun, Some(&target), 8, &Discard).await;
        assert!(report.succeeded(), "{report:?}");
        assert_eq!(live::plan(&store, &resources, 8, &Discard).await.unwrap().writes(), 0);
    }
}
