//! An in-memory [`ResourceStore`] and [`ScriptStore`] with per-kind latencies and injected
//! failures: the stand-in for Azure in unit tests and in the deploy benchmark's critical-path
//! baseline.
//!
//! Caveat: it stores bodies as sent; it adds no read-only properties except a blob endpoint on
//! storage accounts, so diffs against it are exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::{ResourceStore, ScriptStore, StoreError};
use crate::plan::DesiredResource;
use crate::scripts::ScriptUpload;

/// Sleeps for the given time; the store does not pick a runtime.
pub type Sleep = fn(Duration) -> futures::future::BoxFuture<'static, ()>;

pub struct MemoryStore {
    resources: Mutex<HashMap<String, Value>>,
    blobs: Mutex<HashMap<String, String>>,
    latency: Box<dyn Fn(&str) -> Duration + Send + Sync>,
    sleep: Sleep,
    /// Resource ids whose next write fails once.
    fail_once: Mutex<Vec<String>>,
    pub writes: AtomicUsize,
    pub reads: AtomicUsize,
}

impl MemoryStore {
    /// `latency(kind)` is how long a write of that kind takes.
    pub fn new(latency: impl Fn(&str) -> Duration + Send + Sync + 'static, sleep: Sleep) -> Self {
        Self {
            resources: Mutex::default(),
            blobs: Mutex::default(),
            latency: Box::new(latency),
            sleep,
            fail_once: Mutex::default(),
            writes: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
        }
    }

    /// The next write of `id` fails.
    pub fn fail_next_write(&self, id: &str) {
        self.fail_once.lock().unwrap_or_else(|e| e.into_inner()).push(id.to_lowercase());
    }

    pub fn resource(&self, id: &str) -> Option<Value> {
        self.resources.lock().unwrap_or_else(|e| e.into_inner()).get(&id.to_lowercase()).cloned()
    }

    pub fn blob(&self, url: &str) -> Option<String> {
        self.blobs.lock().unwrap_or_else(|e| e.into_inner()).get(url).cloned()
    }
}

impl ResourceStore for MemoryStore {
    async fn get(&self, resource: &DesiredResource) -> Result<Option<Value>, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.resource(&resource.id))
    }

    async fn put(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        (self.sleep)((self.latency)(resource.kind.resource_type)).await;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let key = resource.id.to_lowercase();
        {
            let mut failing = self.fail_once.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(position) = failing.iter().position(|id| *id == key) {
                failing.remove(position);
                return Err(StoreError::operation(format!("PUT {}: 500 InternalServerError: injected", resource.id)));
            }
        }
        let mut stored = body.clone();
        if let Value::Object(fields) = &mut stored {
            fields.insert("id".to_owned(), Value::String(resource.id.clone()));
            if resource.kind == &crate::resources::storage_account::KIND {
                let endpoint = format!("https://{}.blob.core.windows.net/", resource.name);
                let properties = fields.entry("properties").or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(properties) = properties {
                    properties.insert("primaryEndpoints".to_owned(), serde_json::json!({ "blob": endpoint }));
                }
            }
            if resource.kind == &crate::resources::identity::KIND {
                fields.insert(
                    "properties".to_owned(),
                    serde_json::json!({ "principalId": format!("principal-of-{}", resource.name) }),
                );
            }
        }
        self.resources.lock().unwrap_or_else(|e| e.into_inner()).insert(key, stored.clone());
        Ok(stored)
    }

    /// Merges `body` into the stored resource (objects field by field, anything else replaced),
    /// as ARM's PATCH does.
    async fn patch(&self, resource: &DesiredResource, body: &Value) -> Result<Value, StoreError> {
        let Some(mut stored) = self.resource(&resource.id) else {
            return Err(StoreError::operation(format!("PATCH {}: 404 NotFound", resource.id)));
        };
        merge(&mut stored, body);
        self.put(resource, &stored).await
    }

    async fn delete(&self, resource: &DesiredResource) -> Result<(), StoreError> {
        (self.sleep)((self.latency)(resource.kind.resource_type)).await;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.resources.lock().unwrap_or_else(|e| e.into_inner()).remove(&resource.id.to_lowercase());
        Ok(())
    }
}

/// `patch` merged into `target`: objects field by field, anything else replaced.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(fields), Value::Object(changes)) => {
            for (key, value) in changes {
                merge(fields.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

impl ScriptStore for MemoryStore {
    async fn upload(&self, container_url: &str, upload: &ScriptUpload) -> Result<bool, StoreError> {
        let url = format!("{container_url}/{}", upload.blob_name);
        let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
        if blobs.get(&url) == Some(&upload.sha256) {
            return Ok(false);
        }
        blobs.insert(url, upload.sha256.clone());
        Ok(true)
    }
}
