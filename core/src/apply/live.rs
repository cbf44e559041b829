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
use crate::resources::kind::Update;

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
            None if !resource.kind.creates => {
                return Err(StoreError::Other {
                    message: format!(
                        "{} {} does not exist — agentpool changes it but does not create it: create it, or fix its id ({})",
                        resource.kind.short_name, resource.name, resource.id
                    ),
                    usage: true,
                });
            }
            None => (Action::Create, Vec::new()),
            Some(current) => {
                // Bindings whose source exists are compared with their real value; one whose
                // source is still to be created will change (e.g. the principal of a recreated
                // identity), whatever Azure has now.
                let desired = resource.bound_body(lookup).unwrap_or_else(|_| resource.body.clone());
                let mut changes = diff::changes(&desired, current, &resource.kind.unowned());
                let to_create =
                    |id: &str| lookup(id).is_none() && resources.iter().any(|r| r.id.eq_ignore_ascii_case(id));
                for binding in resource.bindings.iter().filter(|b| to_create(&b.from)) {
                    changes.push(FieldChange {
                        path: binding.field.trim_start_matches('/').replace('/', "."),
                        live: current.pointer(&binding.field).cloned(),
                        desired: resource.body.pointer(&binding.field).cloned().unwrap_or(Value::Null),
                    });
                }
                // A resource whose last provisioning failed is written again, whatever its fields
                // say (ARM's async contract: a PUT again is how a failed operation is retried).
                if let Some(state) = unsuccessful_provisioning(current) {
                    changes.push(FieldChange {
                        path: "properties.provisioningState".to_owned(),
                        live: Some(Value::String(state.to_owned())),
                        desired: Value::String("Succeeded".to_owned()),
                    });
                }
                if changes.is_empty() {
                    (Action::NoChange, changes)
                } else if resource.kind.update == Update::Replace {
                    (Action::Replace, changes)
                } else {
                    (Action::Update, changes)
                }
            }
        };
        sink.emit(Event::Planned {
            kind: resource.kind.resource_type.to_owned(),
            name: resource.name.clone(),
            action,
            changes: changes.iter().map(describe).collect(),
        });
        actions.push(PlannedAction { resource: resource.clone(), action, changes, live });
    }
    Ok(LivePlan { actions })
}

/// `Failed` or `Canceled`: the `properties.provisioningState` of a resource whose last operation
/// did not succeed.
fn unsuccessful_provisioning(live: &Value) -> Option<&str> {
    live.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
        .filter(|state| state.eq_ignore_ascii_case("Failed") || state.eq_ignore_ascii_case("Canceled"))
}

/// `properties.allowBlobPublicAccess: true → false`.
pub fn describe(change: &FieldChange) -> String {
    let live = change.live.as_ref().map_or_else(|| "(absent)".to_owned(), Value::to_string);
    format!("{}: {live} → {}", change.path, change.desired)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::Discard;
    use crate::plan::desired_state;
    use crate::plan::test_support::{at, linux_example};
    use crate::resources::gallery;

    /// Answers every read with the desired body in the given provisioning state.
    struct InState(&'static str);

    impl ResourceStore for InState {
        async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
            let mut live = resource.body.clone();
            live["id"] = json!(resource.id);
            live["properties"]["provisioningState"] = json!(self.0);
            Ok(Some(live))
        }
        async fn put(&self, _: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
            Ok(body.clone())
        }
        async fn patch(&self, _: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
            Ok(body.clone())
        }
        async fn delete(&self, _: &DesiredResource) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn gallery_only() -> Vec<DesiredResource> {
        let desired = desired_state(&linux_example(), &at(time::OffsetDateTime::now_utc())).unwrap();
        desired.resources.into_iter().filter(|r| r.kind == &gallery::KIND).collect()
    }

    #[tokio::test]
    async fn a_resource_whose_provisioning_failed_is_written_again() {
        let resources = gallery_only();
        for (state, action) in
            [("Failed", Action::Update), ("Canceled", Action::Update), ("Succeeded", Action::NoChange)]
        {
            let plan = plan(&InState(state), &resources, 1, &Discard).await.unwrap();
            assert_eq!(plan.actions[0].action, action, "{state}: {:?}", plan.actions[0].changes);
        }
    }
}
