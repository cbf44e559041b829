//! The step's Markdown summary, for the run's Extensions tab (`task.uploadsummary`): what was
//! planned and changed, the image build's end, the image version with its tags, and the step's
//! outputs (template, image version, scale set, pool).
//!
//! Built from the step's typed events only; a step that failed before any event gets just its
//! title and the failure. Caveat: values are put in Markdown table cells with `|` escaped; they
//! are ids and names, never secrets (events carry none).

use std::fmt::Write as _;

use agentpool_core::events::{Action, Event};

use super::inputs::Definition;
use crate::progress::short_kind;
use crate::{vso, Failure};

/// The summary of a step that ended with `outcome` after `events`.
pub fn markdown(definition: &Definition, outcome: &Result<(), Failure>, events: &[Event]) -> String {
    let mut md = String::new();
    let verdict = if outcome.is_ok() { "succeeded" } else { "failed" };
    let _ = writeln!(md, "### {} — {verdict}\n", definition.friendly_name);
    if let Err(failure) = outcome {
        for line in failure.to_string().lines() {
            let _ = writeln!(md, "> {line}  ");
        }
        md.push('\n');
    }

    let planned: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Planned { kind, name, action, changes } => Some((kind, name, action, changes)),
            _ => None,
        })
        .collect();
    if !planned.is_empty() {
        let unchanged = planned.iter().filter(|(_, _, action, _)| **action == Action::NoChange).count();
        let _ = writeln!(md, "**Plan**: {} to change, {unchanged} unchanged\n", planned.len() - unchanged);
        let changing: Vec<_> = planned.iter().filter(|(_, _, action, _)| **action != Action::NoChange).collect();
        if !changing.is_empty() {
            md.push_str("| change | resource | fields |\n|---|---|---|\n");
            for (kind, name, action, changes) in changing {
                let fields = changes.iter().map(|c| cell(c)).collect::<Vec<_>>().join("<br>");
                let _ = writeln!(md, "| {} | {} {} | {fields} |", action.verb(), short_kind(kind), cell(name));
            }
            md.push('\n');
        }
    }

    let failed: Vec<_> = events.iter().filter(|e| matches!(e, Event::Failed { .. })).collect();
    for event in failed {
        if let Event::Failed { kind, name, error } = event {
            let _ = writeln!(md, "- ✗ {} {}: {}", short_kind(kind), cell(name), cell(error));
        }
    }

    if let Some(Event::RunState { template, state, sub_state }) =
        events.iter().rev().find(|e| matches!(e, Event::RunState { .. }))
    {
        let sub = if sub_state.is_empty() { String::new() } else { format!(" ({sub_state})") };
        let _ = writeln!(md, "**Image build** of `{template}`: {state}{sub}\n");
    }
    for event in events {
        if let Event::VersionTagged { version_id, tags, end_of_life } = event {
            let _ = writeln!(md, "**Image version** `{}`\n", cell(version_id));
            md.push_str("| tag | value |\n|---|---|\n");
            for (key, value) in tags {
                let _ = writeln!(md, "| {} | {} |", cell(key), cell(value));
            }
            if let Some(date) = end_of_life {
                let _ = writeln!(md, "| end of life | {date} |");
            }
            md.push('\n');
        }
    }

    for event in events {
        if let Event::PoolState { name, id, state, agents } = event {
            let _ = writeln!(md, "**Agent pool** {} (id {id}): {state}, {} agents\n", cell(name), agents.len());
            if !agents.is_empty() {
                md.push_str("| agent | state | image version |\n|---|---|---|\n");
                for (agent, state, version) in agents {
                    let _ = writeln!(md, "| {} | {} | {} |", cell(agent), cell(state), cell(version));
                }
                md.push('\n');
            }
        }
    }

    let outputs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Output { name, value } => Some((name, value)),
            _ => None,
        })
        .collect();
    if !outputs.is_empty() {
        md.push_str("| output variable | value |\n|---|---|\n");
        for (name, value) in outputs {
            let _ = writeln!(md, "| {name} | `{}` |", cell(value));
        }
    }
    md
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Writes the summary beside the agent's temporary files and asks the agent to attach it.
pub fn upload(definition: &Definition, outcome: &Result<(), Failure>) {
    crate::progress::close_log_group();
    let markdown = markdown(definition, outcome, &crate::progress::recorded());
    let folder = std::env::var_os("AGENT_TEMPDIRECTORY")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = folder.join(format!("agentpool-{}-{}.md", definition.name, std::process::id()));
    match std::fs::write(&path, markdown) {
        Ok(()) => println!("{}", vso::command("task.uploadsummary", &[], &path.display().to_string())),
        Err(e) => println!(
            "{}",
            vso::command(
                "task.logissue",
                &[("type", "warning")],
                &format!("cannot write the summary {}: {e}", path.display())
            )
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_shows_changes_the_build_the_tagged_version_and_outputs() {
        let definition = Definition::parse(crate::task::Step::BuildImage.task_json());
        let version = "/subscriptions/s/resourceGroups/rg-agents-sbx/providers/Microsoft.Compute/galleries/gal_agents/images/agents-linux/versions/2026.1206.1";
        let events = vec![
            Event::Planned {
                kind: "Microsoft.Storage/storageAccounts".into(),
                name: "stagentssbx".into(),
                action: Action::Update,
                changes: vec!["properties.allowBlobPublicAccess: true → false".into()],
            },
            Event::Planned {
                kind: "Microsoft.Compute/galleries".into(),
                name: "gal_agents".into(),
                action: Action::NoChange,
                changes: vec![],
            },
            Event::RunState {
                template: "it-agents-sbx-linux-1b4a".into(),
                state: "Succeeded".into(),
                sub_state: String::new(),
            },
            Event::VersionTagged {
                version_id: version.into(),
                tags: vec![("commit".into(), "3f2a9c1".into())],
                end_of_life: Some("2027-03-06".into()),
            },
            Event::Output { name: "imageVersionId".into(), value: version.into() },
        ];
        let md = markdown(&definition, &Ok(()), &events);
        assert!(md.starts_with("### agentpool: build image — succeeded\n"), "{md}");
        assert!(md.contains("**Plan**: 1 to change, 1 unchanged"), "{md}");
        assert!(
            md.contains("| update | storage account stagentssbx | properties.allowBlobPublicAccess: true → false |"),
            "{md}"
        );
        assert!(md.contains("**Image build** of `it-agents-sbx-linux-1b4a`: Succeeded"), "{md}");
        assert!(md.contains("| commit | 3f2a9c1 |") && md.contains("| end of life | 2027-03-06 |"), "{md}");
        assert!(md.contains(&format!("| imageVersionId | `{version}` |")), "{md}");
    }

    #[test]
    fn a_failed_step_says_why_first() {
        let definition = Definition::parse(crate::task::Step::Preflight.task_json());
        let failure = Err(Failure::Operation("preflight: 1 finding blocks\nmissing rights".into()));
        let md = markdown(&definition, &failure, &[]);
        assert_eq!(
            md,
            "### agentpool: preflight checks — failed\n\n> preflight: 1 finding blocks  \n> missing rights  \n\n"
        );
    }
}
