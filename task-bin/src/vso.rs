//! Progress as Azure Pipelines logging commands (`##vso[area.action key=value;]message`), for runs
//! inside a pipeline: warnings and errors become the run's issues, outputs become output
//! variables of the step, an image build's sub-state moves the step's progress.
//!
//! Escaping is the agent's (`CommandStringConvertor`, and azure-pipelines-task-lib's
//! `taskcommand`): in a message `%` → `%AZP25`, CR → `%0D`, LF → `%0A`; in a property value also
//! `;` → `%3B` and `]` → `%5D`.
//!
//! Caveat: a log line that itself starts with `##vso[` or `##[` would be read as a command by the
//! agent; the build's log lines are indented (`  | `), so they never start a line with one.

use agentpool_core::events::Event;

/// `##vso[{name} k=v;…]message`, escaped.
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let properties: String =
        properties.iter().map(|(key, value)| format!("{key}={};", escape_property(value))).collect();
    let separator = if properties.is_empty() { "" } else { " " };
    format!("##vso[{name}{separator}{properties}]{}", escape_data(message))
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%AZP25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(';', "%3B").replace(']', "%5D")
}

/// How far through a build each sub-state of Image Builder's run is, in percent.
fn progress_of(state: &str, sub_state: &str) -> Option<u8> {
    match (state, sub_state) {
        ("Succeeded" | "PartiallySucceeded", _) => Some(100),
        (_, "Queued") => Some(5),
        (_, "Building") => Some(15),
        (_, "Customizing") => Some(30),
        (_, "Optimizing") => Some(75),
        (_, "Validating") => Some(85),
        (_, "Distributing") => Some(90),
        _ => None,
    }
}

/// The logging commands of one event whose line for a person is `line` (see
/// [`crate::progress::render`]), and whether that line is still written: a warning or a failure is
/// the issue's own text, so it is not written twice.
pub fn commands(event: &Event, line: &str) -> (Vec<String>, bool) {
    match event {
        Event::Output { name, value } => {
            (vec![command("task.setvariable", &[("variable", name), ("isOutput", "true")], value)], true)
        }
        Event::Warning(text) => (vec![command("task.logissue", &[("type", "warning")], text)], false),
        Event::Failed { .. } => (vec![command("task.logissue", &[("type", "error")], line)], false),
        Event::RunState { state, sub_state, .. } => match progress_of(state, sub_state) {
            Some(percent) => {
                let value = percent.to_string();
                (vec![command("task.setprogress", &[("value", &value)], &format!("image build: {sub_state}"))], true)
            }
            None => (Vec::new(), true),
        },
        _ => (Vec::new(), true),
    }
}

/// A parameter file's problems as error issues with the file and line, as the agent shows them
/// beside the code.
pub fn diagnostics(diagnostics: &agentpool_core::params::Diagnostics) -> Vec<String> {
    diagnostics
        .0
        .iter()
        .map(|diagnostic| {
            let line = std::fs::read_to_string(&diagnostic.file).ok().and_then(|source| diagnostic.line_in(&source));
            let line = line.map(|l| l.to_string());
            let mut properties = vec![("type", "error"), ("sourcepath", diagnostic.file.as_str())];
            if let Some(line) = &line {
                properties.push(("linenumber", line));
            }
            command("task.logissue", &properties, &diagnostic.to_string())
        })
        .collect()
}

/// The lines that end a failed run: each line of the failure as an error issue.
pub fn failure(message: &str) -> Vec<String> {
    message.lines().map(|line| command("task.logissue", &[("type", "error")], line)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped_as_the_agent_reads_them() {
        assert_eq!(
            command("task.setvariable", &[("variable", "a;b]c"), ("isOutput", "true")], "50%\r\nnext"),
            "##vso[task.setvariable variable=a%3Bb%5Dc;isOutput=true;]50%AZP25%0D%0Anext"
        );
        assert_eq!(command("task.complete", &[], "done"), "##vso[task.complete]done");
    }

    #[test]
    fn outputs_warnings_failures_and_build_states_become_commands() {
        let output = Event::Output { name: "poolId".into(), value: "10".into() };
        assert_eq!(
            commands(&output, "poolId=10"),
            (vec!["##vso[task.setvariable variable=poolId;isOutput=true;]10".to_owned()], true)
        );
        let warning = Event::Warning("cannot read the build log: 403".into());
        assert_eq!(
            commands(&warning, "cannot read the build log: 403"),
            (vec!["##vso[task.logissue type=warning;]cannot read the build log: 403".to_owned()], false)
        );
        let state = Event::RunState { template: "it".into(), state: "Running".into(), sub_state: "Customizing".into() };
        assert_eq!(
            commands(&state, "image build of it: Running (Customizing)"),
            (vec!["##vso[task.setprogress value=30;]image build: Customizing".to_owned()], true)
        );
        let note = Event::Note("preflight: passed".into());
        assert_eq!(commands(&note, "preflight: passed"), (Vec::new(), true));
        assert_eq!(
            failure("a: first\nb: second"),
            ["##vso[task.logissue type=error;]a: first", "##vso[task.logissue type=error;]b: second"]
        );
    }
}
