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
pub async fn plan(
    store: &impl ResourceStore,
    resources: &[DesiredResource],
    parallelism: usize,
    sink: &dyn EventSink,
) -> Result<LivePlan, StoreError> {
    let lives: Vec<Result<Option<Value>, StoreError>> =
        stream::iter(resources.iter().map(|r| store.get(r))).buffered(parallelism.max(1)).collect().await;
    let mut by_id: Vec<(&str, Value)> = Vec::new();
    let mut fetched = Vec::with_capacity(resources.len());
    for (resource, live) in resources.iter().zip(lives) {
        let live = live?;
        if let Some(value) = &live {
            by_id.push((&resource.id, value.clone()));
        }
        fetched.push(live);
    }
    let lookup = |id: &str| by_id.iter().find(|(known, _)| known.eq_ignore_ascii_case(id)).map(|(_, v)| v);

    let mut actions = Vec::with_capacity(resources.len());
    for (resource, live) in resources.iter().zip(fetched) {
        let (action, changes) = match &live {
            None => (Action::Create, Vec::new()),
            Some(current) => {
                // Bindings whose source exists are compared with their real value.
                let desired = resource.bound_body(lookup).unwrap_or_else(|_| resource.body.clone());
                let changes = diff::changes(&desired, current, resources::write_only(resource.kind));
                if changes.is_empty() {
                    (Action::NoChange, changes)
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
