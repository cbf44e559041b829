//! Progress as a stream of typed events.
//!
//! Steps never print: they emit [`Event`]s to an [`EventSink`]. The CLI renders them for a
//! terminal; the Azure DevOps task renders them as logging commands. Events carry no secrets.

use std::sync::Mutex;
use std::time::Duration;

/// What a step does to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Create,
    Update,
    /// Deleted and created again: the kind cannot change the fields that differ.
    Replace,
    NoChange,
    Upload,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::NoChange => "no change",
            Self::Upload => "upload",
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A resource was compared with Azure; `changes` lists changed fields for an update.
    Planned { kind: String, name: String, action: Action, changes: Vec<String> },
    /// Work on a resource started.
    Started { kind: String, name: String, action: Action },
    /// Work on a resource ended; `id` is its resource id.
    Finished { kind: String, name: String, action: Action, id: String, elapsed: Duration },
    /// A script was compared with its blob: sent, or left alone because its MD5 matched.
    Uploaded { blob: String, bytes: u64, sent: bool },
    /// Work on a resource failed.
    Failed { kind: String, name: String, error: String },
    /// A resource was not attempted because something it needs failed.
    Skipped { kind: String, name: String, because: String },
    /// An image build's run reached another state (`Running`, `Succeeded`, …) or sub-state
    /// (`Customizing`, `Distributing`, …).
    RunState { template: String, state: String, sub_state: String },
    /// One line of the build's customization log, as it grows.
    LogLine(String),
    /// Something that goes on without what it says is missing (a log that cannot be read).
    Warning(String),
    /// A value the next step takes (`imageTemplateName`, `imageVersionId`, `poolId`): printed as
    /// `name=value` on a terminal, a pipeline output variable in a task.
    Output { name: String, value: String },
    /// A gallery image version got its build's tags (commit, pipeline run) and end of life.
    VersionTagged { version_id: String, tags: Vec<(String, String)>, end_of_life: Option<String> },
    /// An agent pool as Azure DevOps has it: its agents as `(name, state, image version)`.
    PoolState { name: String, id: i64, state: String, agents: Vec<(String, String, String)> },
    /// Free text for the log.
    Note(String),
}

/// Receives events; must be cheap and must not block.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Discards events.
pub struct Discard;

impl EventSink for Discard {
    fn emit(&self, _: Event) {}
}

/// Keeps events in memory, for tests and for summaries.
#[derive(Default)]
pub struct Collect(pub Mutex<Vec<Event>>);

impl EventSink for Collect {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}

impl Collect {
    pub fn take(&self) -> Vec<Event> {
        self.0.lock().map(|mut events| std::mem::take(&mut *events)).unwrap_or_default()
    }
}

impl<F: Fn(Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}
