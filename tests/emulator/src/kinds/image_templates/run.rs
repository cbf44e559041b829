//! A build (`run`) of an image template: a state machine over wall-clock time, advanced under the state
//! lock at every ARM request and background tick ([`advance`]), with what must happen outside the lock
//! (script downloads, the log upload, gallery image versions) left as [`Work`] for the kind's background
//! rounds.
//!
//! Phases (`runSubState`) follow each other after their `--aib-phase-ms` durations: Queued → Building →
//! Customizing → Optimizing → (Validating) → Distributing. Customizing waits for the scripts to be fetched,
//! then writes its log lines progressively over the phase; a failing step stops the build there.
//! Distributing waits for the versions to be created. The packer log grows in [`Run::log`] and is uploaded
//! to `packerlogs/<run id>/customization.log` of the staging storage account.

mod distribution;
mod lines;
mod machine;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::lines::printed_lines;
pub use self::machine::{advance, packer_failure, start, Context, Run, TIMEOUT_MESSAGE};
use crate::state::Store;

/// What the emulator keeps about a template without showing it through ARM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Private {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<Staging>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

impl Private {
    /// The private data of `template_id` (default when none).
    pub fn load(store: &Store, template_id: &str) -> Private {
        store.private(template_id).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    }

    /// Stores it (the store is marked changed only if it changed).
    pub fn save(&self, store: &mut Store, template_id: &str) {
        store.set_private(template_id, serde_json::to_value(self).ok());
    }
}

/// The staging resource group and its storage account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Staging {
    pub resource_group_id: String,
    /// Whether Image Builder made the group (then it goes with the template).
    pub created: bool,
    pub account_id: String,
    /// `primaryEndpoints.blob` of the staging account (the `--staging-account` of the blob service).
    pub blob_endpoint: String,
    /// Whether the `packerlogs` container exists in the blob service.
    pub container_ready: bool,
}

/// The container of the build logs.
pub const LOG_CONTAINER: &str = "packerlogs";

impl Staging {
    /// URL of a build's `customization.log`.
    pub fn log_url(&self, run_id: &str) -> String {
        format!("{}/{LOG_CONTAINER}/{run_id}/customization.log", self.blob_endpoint.trim_end_matches('/'))
    }
}

/// Work done outside the state lock: planned, taken by a background round (`Requested`; a round does its
/// work before the next starts, so work still `Requested` at the start of a round was lost, e.g. to a
/// restart, and is taken again), then its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Work<T> {
    Idle,
    Pending(Vec<T>),
    Requested(Vec<T>),
    Done(Vec<T>),
}

impl<T: Clone> Work<T> {
    /// Takes the work to do, if any: it becomes `Requested`.
    pub fn take(&mut self) -> Option<Vec<T>> {
        match self {
            Work::Pending(items) | Work::Requested(items) => {
                let items = items.clone();
                *self = Work::Requested(items.clone());
                Some(items)
            }
            _ => None,
        }
    }

    /// Records the results of requested work (ignored otherwise).
    pub fn complete(&mut self, results: Vec<T>) {
        if matches!(self, Work::Requested(_)) {
            *self = Work::Done(results);
        }
    }
}

/// A script or file a step downloads from an emulated storage account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fetch {
    /// The URL as the template has it.
    pub url: String,
    /// Where the emulator reads it (the account's blob endpoint).
    pub blob_url: String,
    /// Client id the storage token is issued to (the template's identity).
    pub client_id: String,
    /// Whether the identity may read it (no request is made otherwise: 403).
    pub allowed: bool,
    /// Result: the content, or why it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One distribution target of a build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    pub run_output_name: String,
    /// For a gallery version to create: the image definition, version and body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A log line still to write; `fails` ends the build with that packer error once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails: Option<String>,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `Succeeded`, `PartiallySucceeded`, `Failed` or `Canceled`.
    pub state: String,
    pub message: String,
    pub end_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) const TEMPLATE_ID: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/t";

    /// A template, shared by the tests of the submodules.
    pub(super) fn template() -> Value {
        json!({
            "location": "westeurope",
            "properties": {
                "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s", "version": "22.04.202401010"},
                "customize": [
                    {"type": "Shell", "name": "one", "inline": ["echo first", "echo 'second'", "true"]},
                    {"type": "PowerShell", "name": "two", "inline": ["Write-Host \"third\""]},
                    {"type": "Shell", "name": "three", "scriptUri": "https://example.com/s.sh"}
                ],
                "distribute": [{"type": "ManagedImage", "runOutputName": "mi", "imageId": "/x/images/y", "location": "westeurope"}]
            }
        })
    }

    #[test]
    fn work_is_taken_again_until_completed() {
        let mut w = Work::Pending(vec![1]);
        assert_eq!(w.take(), Some(vec![1]));
        assert_eq!(w.take(), Some(vec![1]), "lost work (a restart) is taken again");
        w.complete(vec![2]);
        assert_eq!((w.take(), &w), (None, &Work::Done(vec![2])));
        let mut idle: Work<i32> = Work::Idle;
        idle.complete(vec![3]);
        assert_eq!(idle, Work::Idle);
    }
}
