//! Terminal rendering of step events: one line per event, written to stderr so stdout stays
//! for results (resource ids, JSON).

use std::io::Write;

use agentpool_core::events::{Action, Event, EventSink};
use agentpool_core::plan::DesiredResource;

/// Writes events as readable lines to stderr.
pub struct Terminal;

/// How progress is written: for a person, or with Azure Pipelines logging commands too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Terminal,
    AzurePipelines,
}

static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();
/// The events of the run, kept for its summary (task mode only).
static RECORDED: std::sync::OnceLock<std::sync::Mutex<Vec<Event>>> = std::sync::OnceLock::new();
/// Whether a `##[group]` of the build's log is open.
static LOG_GROUP_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps the run's events (but the build's log lines) for its summary.
pub fn record_summary() {
    let _ = RECORDED.set(std::sync::Mutex::new(Vec::new()));
}

/// The events kept since [`record_summary`].
pub fn recorded() -> Vec<Event> {
    RECORDED.get().and_then(|events| events.lock().ok().map(|events| events.clone())).unwrap_or_default()
}

/// Closes the build log's group, if one is open (a run that ends in the middle of the log).
pub fn close_log_group() {
    if LOG_GROUP_OPEN.swap(false, std::sync::atomic::Ordering::SeqCst) {
        let _ = writeln!(std::io::stdout().lock(), "##[endgroup]");
    }
}

/// Chooses the format for the whole run: the one given, else Azure Pipelines' inside a pipeline
/// (the agent sets `TF_BUILD=True`), else the terminal's.
pub fn set_format(given: Option<LogFormat>) {
    let in_pipeline = std::env::var("TF_BUILD").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let chosen = given.unwrap_or(if in_pipeline { LogFormat::AzurePipelines } else { LogFormat::Terminal });
    let _ = FORMAT.set(chosen);
}

/// The run's format.
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or(LogFormat::Terminal)
}

impl EventSink for Terminal {
    /// Outputs go to stdout (what a script reads), everything else to stderr; logging commands,
    /// in a pipeline, to stdout, where the agent reads them.
    fn emit(&self, event: Event) {
        let line = render(&event);
        if let Some(events) = RECORDED.get().filter(|_| !matches!(event, Event::LogLine(_))) {
            if let Ok(mut events) = events.lock() {
                events.push(event.clone());
            }
        }
        let keep = match format() {
            LogFormat::Terminal => true,
            LogFormat::AzurePipelines => {
                // The build's log, folded in the agent's log view: a group for each stretch of it.
                let is_log = matches!(event, Event::LogLine(_));
                if is_log != LOG_GROUP_OPEN.load(std::sync::atomic::Ordering::SeqCst) {
                    if is_log {
                        LOG_GROUP_OPEN.store(true, std::sync::atomic::Ordering::SeqCst);
                        let _ = writeln!(std::io::stdout().lock(), "##[group]Image Builder customization log");
                    } else {
                        close_log_group();
                    }
                }
                let (commands, keep) = crate::vso::commands(&event, &line);
                let mut out = std::io::stdout().lock();
                for command in commands {
                    let _ = writeln!(out, "{command}");
                }
                keep
            }
        };
        if !keep {
            return;
        }
        // In a pipeline everything goes to stdout, in order with the logging commands.
        if matches!(event, Event::Output { .. }) || format() == LogFormat::AzurePipelines {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

/// Emits `name=value` as an output of the step.
pub fn output(name: &str, value: impl std::fmt::Display) {
    Terminal.emit(Event::Output { name: name.to_owned(), value: value.to_string() });
}

/// Writes a line for the log (stderr on a terminal, stdout in a pipeline).
pub fn note(text: impl Into<String>) {
    Terminal.emit(Event::Note(text.into()));
}

/// The line for one event.
pub fn render(event: &Event) -> String {
    match event {
        Event::Planned { kind, name, action, changes } => {
            let mark = match action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Replace => "-/+",
                Action::NoChange | Action::Upload => "=",
            };
            let mut line = format!("{mark} {:<9} {} {name}", action.verb(), short_kind(kind));
            for change in changes {
                line.push_str(&format!("\n      {change}"));
            }
            line
        }
        Event::Started { kind, name, action } => format!("… {} {} {name}", progressive(*action), short_kind(kind)),
        Event::Finished { kind, name, action, elapsed, .. } => {
            format!("✓ {} {} {name} ({:.1} s)", past(*action), short_kind(kind), elapsed.as_secs_f64())
        }
        Event::Uploaded { blob, bytes, sent: true } => format!("↑ uploaded {blob} ({bytes} bytes)"),
        Event::Uploaded { blob, sent: false, .. } => format!("= unchanged {blob} (same MD5)"),
        Event::Failed { kind, name, error } => format!("✗ {} {name}: {error}", short_kind(kind)),
        Event::Skipped { kind, name, because } => format!("- skipped {} {name}: it needs {because}", short_kind(kind)),
        Event::RunState { template, state, sub_state } => {
            let sub = if sub_state.is_empty() { String::new() } else { format!(" ({sub_state})") };
            format!("image build of {template}: {state}{sub}")
        }
        Event::LogLine(line) => format!("  | {line}"),
        Event::VersionTagged { version_id, end_of_life, .. } => {
            let name = version_id.rsplit('/').next().unwrap_or(version_id);
            match end_of_life {
                Some(date) => format!("image version {name}: tagged with its build; end of life {date}"),
                None => format!("image version {name}: tagged with its build"),
            }
        }
        Event::PoolState { name, id, state, agents } => {
            let mut line = format!("pool {name} (id {id}): {state}, {} agents", agents.len());
            for (agent, state, version) in agents {
                line.push_str(&format!("\n  agent {agent} [{state}]: image {version}"));
            }
            line
        }
        Event::Warning(text) | Event::Note(text) => text.clone(),
        Event::Output { name, value } => format!("{name}={value}"),
    }
}

fn progressive(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::NoChange => "checking",
        Action::Upload => "uploading",
    }
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::NoChange => "checked",
        Action::Upload => "uploaded",
    }
}

/// `Microsoft.Compute/galleries/images` → `image definition`, and so on.
pub fn short_kind(kind: &str) -> &str {
    agentpool_core::resources::short_name(kind)
}

/// Forwards events with each resource's readable label (its summary, such as a role
/// assignment's role, principal and scope) in place of its name, and a dependency's id as its
/// kind and label.
pub struct Labelled<'a> {
    inner: &'a dyn EventSink,
    resources: &'a [DesiredResource],
}

impl<'a> Labelled<'a> {
    pub fn new(inner: &'a dyn EventSink, resources: &'a [DesiredResource]) -> Self {
        Self { inner, resources }
    }

    fn label(&self, kind: &str, name: String) -> String {
        self.resources
            .iter()
            .find(|r| r.kind.resource_type == kind && r.name == name)
            .and_then(|r| r.summary.clone())
            .unwrap_or(name)
    }

    fn describe_id(&self, id: String) -> String {
        match self.resources.iter().find(|r| r.id.eq_ignore_ascii_case(&id)) {
            Some(resource) => resource.describe(),
            None => id,
        }
    }
}

impl EventSink for Labelled<'_> {
    fn emit(&self, event: Event) {
        let event = match event {
            Event::Planned { kind, name, action, changes } => {
                Event::Planned { name: self.label(&kind, name), kind, action, changes }
            }
            Event::Started { kind, name, action } => Event::Started { name: self.label(&kind, name), kind, action },
            Event::Finished { kind, name, action, id, elapsed } => {
                Event::Finished { name: self.label(&kind, name), kind, action, id, elapsed }
            }
            Event::Failed { kind, name, error } => Event::Failed { name: self.label(&kind, name), kind, error },
            Event::Skipped { kind, name, because } => {
                Event::Skipped { name: self.label(&kind, name), because: self.describe_id(because), kind }
            }
            other => other,
        };
        self.inner.emit(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_list_their_changed_fields() {
        let line = render(&Event::Planned {
            kind: "Microsoft.Storage/storageAccounts".into(),
            name: "stagents".into(),
            action: Action::Update,
            changes: vec!["properties.allowBlobPublicAccess: true → false".into()],
        });
        assert_eq!(line, "~ update    storage account stagents\n      properties.allowBlobPublicAccess: true → false");
    }

    #[test]
    fn build_states_log_lines_warnings_and_outputs_read_as_before() {
        let state = |sub: &str| Event::RunState {
            template: "it-agents-sbx-linux-1b4a4e81".into(),
            state: "Running".into(),
            sub_state: sub.into(),
        };
        assert_eq!(render(&state("Customizing")), "image build of it-agents-sbx-linux-1b4a4e81: Running (Customizing)");
        assert_eq!(render(&state("")), "image build of it-agents-sbx-linux-1b4a4e81: Running");
        assert_eq!(
            render(&Event::LogLine("[PACKER] ==> azure-arm: Provisioning with shell script".into())),
            "  | [PACKER] ==> azure-arm: Provisioning with shell script"
        );
        assert_eq!(render(&Event::Output { name: "poolId".into(), value: "10".into() }), "poolId=10");
        assert_eq!(
            render(&Event::Warning("cannot read the build log: 403 — following the build without its log".into())),
            "cannot read the build log: 403 — following the build without its log"
        );
    }

    fn resource(kind: &'static str, name: &str, id: &str, summary: Option<&str>) -> DesiredResource {
        DesiredResource {
            kind: agentpool_core::resources::kind_of(kind).expect("a kind agentpool plans"),
            name: name.to_owned(),
            id: id.to_owned(),
            depends_on: Vec::new(),
            body: serde_json::Value::Null,
            query: None,
            stage: agentpool_core::plan::Stage::Infra,
            bindings: Vec::new(),
            summary: summary.map(str::to_owned),
        }
    }

    #[test]
    fn role_assignments_show_their_role_principal_and_scope_instead_of_a_guid() {
        use agentpool_core::events::Collect;
        let group = "/subscriptions/s/resourceGroups/rg-agents-sbx";
        let role_id = format!("{group}/providers/Microsoft.Authorization/roleDefinitions/5c1e…");
        let resources = [
            resource(
                "Microsoft.Authorization/roleDefinitions",
                "5c1e…",
                &role_id,
                Some("agentpool Image Builder (rg-agents-sbx, 5c1e0a2b)"),
            ),
            resource(
                "Microsoft.Authorization/roleAssignments",
                "0f3a…",
                &format!("{group}/providers/Microsoft.Authorization/roleAssignments/0f3a…"),
                Some("agentpool Image Builder (rg-agents-sbx, 5c1e0a2b) → identity id-agents on resourceGroups/rg-agents-sbx"),
            ),
        ];
        let collected = Collect::default();
        let sink = Labelled::new(&collected, &resources);
        sink.emit(Event::Planned {
            kind: "Microsoft.Authorization/roleAssignments".into(),
            name: "0f3a…".into(),
            action: Action::Create,
            changes: Vec::new(),
        });
        sink.emit(Event::Skipped {
            kind: "Microsoft.Authorization/roleAssignments".into(),
            name: "0f3a…".into(),
            because: role_id.clone(),
        });
        sink.emit(Event::Planned {
            kind: "Microsoft.Compute/galleries".into(),
            name: "gal_agents".into(),
            action: Action::NoChange,
            changes: Vec::new(),
        });
        let lines: Vec<String> = collected.take().iter().map(render).collect();
        assert_eq!(
            lines,
            [
                "+ create    role assignment agentpool Image Builder (rg-agents-sbx, 5c1e0a2b) → identity id-agents on resourceGroups/rg-agents-sbx",
                "- skipped role assignment agentpool Image Builder (rg-agents-sbx, 5c1e0a2b) → identity id-agents on resourceGroups/rg-agents-sbx: it needs role definition agentpool Image Builder (rg-agents-sbx, 5c1e0a2b)",
                "= no change gallery gal_agents",
            ]
        );
    }
}
