//! The live plan: each desired resource compared with what Azure has.
//!
//! Reads run in parallel, at most `parallelism` at a time. A resource whose parent does not
//! exist yet reads as absent (ARM answers 404), so a first run plans to create everything.

use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::{ResourceStore, StoreError};
use crate::events::{Action, Event, EventSink};
use crate::plan::diff::{self, FieldChange};
use crate::plan::DesiredResource;
use crate::resources;

/// What will happen to one resource.
#[derive(Debug, Clone)]
pub struct PlannedAction {
    pub resource: DesiredResource,
    pub action: Action,
    /// For updates: the fields that differ.
    pub changes: Vec<FieldChange>,
    /// The resource as Azure has it now.
    pub live: Option<Value>,
}

/// The live plan of a set of resources, in the desired state's order.
#[derive(Debug, Clone, Default)]
pub struct LivePlan {
    pub actions: Vec<PlannedAction>,
}

impl LivePlan {
    /// Number of resources that will be written.
    pub fn writes(&self) -> usize {
        self.actions.iter().filter(|a| a.action != Action::NoChange).count()
    }
}

/// Compares `resources` with Azure.
///
/// Resources are read in waves: a resource whose containing resource (an earlier resource whose
/// id is a prefix of its own, like a storage account of its container) does not exist is absent
/// without asking Azure. That saves calls on a first run and avoids 404 answers that some
/// resource providers' contracts do not define.
pub async fn plan(
    store: &impl ResourceStore,
    resources: &[DesiredResource],
    parallelism: usize,
    sink: &dyn EventSink,
) -> Result<LivePlan, StoreError> {
    let containers: Vec<Vec<usize>> = resources
        .iter()
        .map(|r| {
            (0..resources.len())
                .filter(|&i| resources[i].id.len() < r.id.len() && resources::is_within(&r.id, &resources[i].id))
                .collect()
        })
        .collect();
    let mut fetched: Vec<Option<Option<Value>>> = vec![None; resources.len()];
    while fetched.iter().any(Option::is_none) {
        let mut wave = Vec::new();
        for index in 0..resources.len() {
            if fetched[index].is_some() {
                continue;
            }
            let parents = &containers[index];
            if parents.iter().any(|&p| matches!(fetched[p], Some(None))) {
                fetched[index] = Some(None);
            } else if parents.iter().all(|&p| fetched[p].is_some()) {
                wave.push(index);
            }
        }
        let results: Vec<Result<Option<Value>, StoreError>> =
            stream::iter(wave.iter().map(|&i| store.get(&resources[i]))).buffered(parallelism.max(1)).collect().await;
        for (index, result) in wave.into_iter().zip(results) {
            fetched[index] = Some(result?);
        }
    }
    let fetched: Vec<Option<Value>> = fetched.into_iter().map(Option::unwrap_or_default).collect();
    let by_id: Vec<(&str, Value)> =
        resources.iter().zip(&fetched).filter_map(|(r, live)| live.clone().map(|v| (r.id.as_str(), v))).collect();
    let lookup = |id: &str| by_id.iter().find(|(known, _)| known.eq_ignore_ascii_case(id)).map(|(_, v)| v);

    let mut actions = Vec::with_capacity(resources.len());
    for (resource, live) in resources.iter().zip(fetched) {
        let (action, changes) = match &live {
            None => (Action::Create, Vec::new()),
            Some(current) => {
                // Bindings whose source exists are compared with their real value; one whose
                // source is still to be created will change (e.g. the principal of a recreated
                // identity), whatever Azure has now.
                let desired = resource.bound_body(lookup).unwrap_or_else(|_| resource.body.clone());
                let mut changes = diff::changes(&desired, current, resources::write_only(resource.kind));
                let to_create =
                    |id: &str| lookup(id).is_none() && resources.iter().any(|r| r.id.eq_ignore_ascii_case(id));
                for binding in resource.bindings.iter().filter(|b| to_create(&b.from)) {
                    changes.push(FieldChange {
                        path: binding.field.trim_start_matches('/').replace('/', "."),
                        live: current.pointer(&binding.field).cloned(),
                        desired: resource.body.pointer(&binding.field).cloned().unwrap_or(Value::Null),
                    });
                }
                if changes.is_empty() {
                    (Action::NoChange, changes)
                } else if resources::replaced_on_change(resource.kind) {
                    (Action::Replace, changes)
                } else {
                    (Action::Update, changes)
                }
            }
        };
        sink.emit(Event::Planned {
            kind: resource.kind.to_owned(),
            name: resource.name.clone(),
            action,
            changes: changes.iter().map(describe).collect(),
        });
        actions.push(PlannedAction { resource: resource.clone(), action, changes, live });
    }
    Ok(LivePlan { actions })
}

/// `properties.allowBlobPublicAccess: true → false`.
pub fn describe(change: &FieldChange) -> String {
    let live = change.live.as_ref().map_or_else(|| "(absent)".to_owned(), Value::to_string);
    format!("{}: {live} → {}", change.path, change.desired)
}
