//! The emulated Azure state: resources and long-running operations, in memory, optionally persisted.
//!
//! Resources are keyed by their lower-cased id (ARM ids are case-insensitive) and keep the casing of
//! their creation. Next to them, providers keep private data per resource that ARM does not show (Image
//! Builder's build state and log); it goes with its resource. With `--state-file`, the state is loaded at start and written (to a temporary file,
//! then renamed) after every change, so a demo can stop and resume.
//!
//! Caveats: one mutex guards everything (fine for a test emulator); the file is rewritten whole on each
//! change; timestamps of in-progress operations are wall-clock, so operations due while the emulator was
//! stopped complete at the first request after a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arm::path::{is_within, key};
use crate::devops::model::DevopsState;

/// Errors reading or writing the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("cannot access state file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is not a state snapshot.
    #[error("state file {path} is not valid: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
}

/// A stored resource: its kind (registry name), canonical id and full body as GET returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: String,
    pub id: String,
    pub body: Value,
}

/// What a long-running operation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpAction {
    Create,
    Update,
    Delete,
    /// A POST action of the kind (e.g. `run`).
    Action(String),
}

/// Status of a long-running operation, as the operation-status resource reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

impl OpStatus {
    /// Succeeded, Failed and Canceled are terminal.
    pub fn is_terminal(self) -> bool {
        !matches!(self, OpStatus::InProgress)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::InProgress => "InProgress",
            OpStatus::Succeeded => "Succeeded",
            OpStatus::Failed => "Failed",
            OpStatus::Canceled => "Canceled",
        }
    }
}

/// A long-running operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Operation id (a GUID), last segment of its status URL.
    pub id: String,
    /// Subscription of the status URL.
    pub subscription: String,
    /// Provider namespace of the status URL (e.g. `Microsoft.Compute`).
    pub namespace: String,
    /// Location segment of the status URL.
    pub location: String,
    /// Canonical id of the target resource.
    pub resource_id: String,
    /// Registry name of the resource kind.
    pub kind: String,
    pub action: OpAction,
    pub status: OpStatus,
    /// Whether the operation will end Failed (fault injection).
    pub fail: bool,
    /// Unix milliseconds.
    pub start_ms: i64,
    /// When the operation completes, Unix milliseconds.
    pub due_ms: i64,
    pub end_ms: Option<i64>,
    /// Body of a resource that stays invisible until its creation completes (202 + Location creations).
    pub pending: Option<Value>,
    /// `{"code","message"}` of a failed operation.
    pub error: Option<Value>,
    /// Body the `Location` poll answers once a successful action completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// The whole state.
#[derive(Debug, Default)]
pub struct Store {
    resources: BTreeMap<String, Resource>,
    operations: BTreeMap<String, Operation>,
    /// What a resource provider keeps about a resource without showing it through ARM (Image Builder's
    /// build state and log, ...), by lower-cased resource id; removed with the resource.
    private: BTreeMap<String, Value>,
    /// The emulated Azure DevOps (organizations, pools, nodes, ...; [`crate::devops`]).
    devops: DevopsState,
    dirty: bool,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    resources: Vec<Resource>,
    operations: Vec<Operation>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    private: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "DevopsState::is_empty")]
    devops: DevopsState,
}

impl Store {
    /// The resource with this id (any case).
    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&key(id))
    }

    /// Mutable access; marks the store changed.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Resource> {
        self.dirty = true;
        self.resources.get_mut(&key(id))
    }

    /// Inserts or replaces a resource.
    pub fn insert(&mut self, resource: Resource) {
        self.dirty = true;
        self.resources.insert(key(&resource.id), resource);
    }

    /// Removes `id` and everything within it (children and extension resources); returns them.
    pub fn remove_tree(&mut self, id: &str) -> Vec<Resource> {
        let doomed: Vec<String> =
            self.resources.iter().filter(|(_, r)| is_within(&r.id, id)).map(|(k, _)| k.clone()).collect();
        if !doomed.is_empty() {
            self.dirty = true;
        }
        self.private.retain(|k, _| !is_within(k, id));
        doomed.iter().filter_map(|k| self.resources.remove(k)).collect()
    }

    /// The provider's private data about resource `id`.
    pub fn private(&self, id: &str) -> Option<&Value> {
        self.private.get(&key(id))
    }

    /// Sets (or, with `None`, removes) the provider's private data about resource `id`; marks the store
    /// changed only when it changes.
    pub fn set_private(&mut self, id: &str, value: Option<Value>) {
        let k = key(id);
        if self.private.get(&k) == value.as_ref() {
            return;
        }
        self.dirty = true;
        match value {
            Some(v) => self.private.insert(k, v),
            None => self.private.remove(&k),
        };
    }

    /// Ids (lower-cased) that have private data.
    pub fn private_ids(&self) -> impl Iterator<Item = &String> {
        self.private.keys()
    }

    /// All resources, ordered by lower-cased id.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// Resources strictly within `id`.
    pub fn descendants<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.values().filter(move |r| r.id.len() > id.len() && is_within(&r.id, id))
    }

    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.get(&key(id))
    }

    /// Mutable access to an operation; marks the store changed.
    pub fn operation_mut(&mut self, id: &str) -> Option<&mut Operation> {
        self.dirty = true;
        self.operations.get_mut(&key(id))
    }

    /// All operations.
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values()
    }

    /// Adds an operation.
    pub fn insert_operation(&mut self, op: Operation) {
        self.dirty = true;
        self.operations.insert(key(&op.id), op);
    }

    /// The emulated Azure DevOps.
    pub fn devops(&self) -> &DevopsState {
        &self.devops
    }

    /// Mutable access to the emulated Azure DevOps. Caveat: unlike the resources' accessors it does not
    /// mark the store changed (Azure DevOps' reads go through it too): callers that change something call
    /// [`Store::mark_changed`].
    pub fn devops_mut(&mut self) -> &mut DevopsState {
        &mut self.devops
    }

    /// Marks the store changed, so [`SharedState::write`] saves it.
    pub fn mark_changed(&mut self) {
        self.dirty = true;
    }

    /// The JSON dump of `GET /_emulator/state` (same shape as the state file).
    pub fn snapshot(&self) -> Value {
        serde_json::to_value(Snapshot {
            resources: self.resources.values().cloned().collect(),
            operations: self.operations.values().cloned().collect(),
            private: self.private.clone(),
            devops: self.devops.clone(),
        })
        .unwrap_or(Value::Null)
    }

    /// Loads a snapshot file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Store, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(source) => return Err(StateError::Io { path: path.to_path_buf(), source }),
        };
        let snap: Snapshot =
            serde_json::from_str(&text).map_err(|source| StateError::Parse { path: path.to_path_buf(), source })?;
        Ok(Store {
            resources: snap.resources.into_iter().map(|r| (key(&r.id), r)).collect(),
            operations: snap.operations.into_iter().map(|o| (key(&o.id), o)).collect(),
            private: snap.private,
            devops: snap.devops,
            dirty: false,
        })
    }

    /// Writes the snapshot atomically (temporary file + rename).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io { path: path.to_path_buf(), source };
        let text = serde_json::to_string_pretty(&self.snapshot()).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// The store behind its lock, saved to the state file after each change.
#[derive(Debug)]
pub struct SharedState {
    store: Mutex<Store>,
    file: Option<PathBuf>,
}

impl SharedState {
    /// Loads `file` if given (missing = empty).
    pub fn open(file: Option<PathBuf>) -> Result<Self, StateError> {
        let store = match &file {
            Some(path) => Store::load(path)?,
            None => Store::default(),
        };
        Ok(SharedState { store: Mutex::new(store), file })
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with read access.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.lock())
    }

    /// Runs `f` with write access, then saves if anything changed.
    pub fn write<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = self.lock();
        let result = f(&mut store);
        if store.dirty {
            store.dirty = false;
            if let Some(path) = &self.file {
                if let Err(e) = store.save(path) {
                    tracing::warn!("{e}");
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(id: &str) -> Resource {
        Resource { kind: "k".into(), id: id.into(), body: json!({"id": id}) }
    }

    #[test]
    fn case_insensitive_and_tree_removal() {
        let mut s = Store::default();
        s.insert(res("/subscriptions/s/resourceGroups/RG"));
        s.insert(res("/subscriptions/s/resourceGroups/RG/providers/P/t/a"));
        s.insert(res("/subscriptions/s/resourceGroups/RG2"));
        assert!(s.get("/SUBSCRIPTIONS/s/resourcegroups/rg").is_some());
        assert_eq!(s.descendants("/subscriptions/s/resourceGroups/rg").count(), 1);
        s.set_private("/subscriptions/s/resourceGroups/RG/providers/P/t/a", Some(json!({"x": 1})));
        s.set_private("/subscriptions/s/resourceGroups/RG2", Some(json!({"y": 1})));
        assert_eq!(s.private("/subscriptions/s/resourcegroups/rg/providers/p/t/A"), Some(&json!({"x": 1})));
        let removed = s.remove_tree("/subscriptions/s/resourcegroups/rg");
        assert_eq!(removed.len(), 2);
        assert_eq!(s.private_ids().count(), 1, "private data goes with its resource");
        assert_eq!(s.resources().count(), 1);
    }

    #[test]
    fn persists_and_reloads() {
        let dir = std::env::temp_dir().join(format!("agentpool-emulator-state-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("state.json");
        let shared = SharedState::open(Some(file.clone())).unwrap();
        shared.write(|s| s.insert(res("/subscriptions/s/resourceGroups/a")));
        shared.write(|s| {
            s.devops_mut()
                .organizations
                .push(crate::devops::model::Organization { name: "contoso".into(), ..Default::default() });
            s.mark_changed();
        });
        let again = SharedState::open(Some(file.clone())).unwrap();
        assert!(again.read(|s| s.get("/subscriptions/s/resourceGroups/A").is_some()));
        assert!(again.read(|s| s.devops().org("contoso").is_some()), "Azure DevOps persists too");
        std::fs::write(&file, "not json").unwrap();
        assert!(matches!(SharedState::open(Some(file)), Err(StateError::Parse { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
