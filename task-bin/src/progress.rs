//! Terminal rendering of step events: one line per event, written to stderr so stdout stays
//! for results (resource ids, JSON).

use std::io::Write;

use agentpool_core::events::{Action, Event, EventSink};

/// Writes events as readable lines to stderr.
pub struct Terminal;

impl EventSink for Terminal {
    fn emit(&self, event: Event) {
        let line = render(&event);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
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
        Event::Note(text) => text.clone(),
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
    match kind {
        "Microsoft.Resources/resourceGroups" => "resource group",
        "Microsoft.Storage/storageAccounts" => "storage account",
        "Microsoft.Storage/storageAccounts/blobServices/containers" => "blob container",
        "Microsoft.ManagedIdentity/userAssignedIdentities" => "managed identity",
        "Microsoft.Authorization/roleAssignments" => "role assignment",
        "Microsoft.Compute/galleries" => "gallery",
        "Microsoft.Compute/galleries/images" => "image definition",
        "Microsoft.VirtualMachineImages/imageTemplates" => "image template",
        "Microsoft.Network/publicIPAddresses" => "public IP",
        "Microsoft.Network/publicIPPrefixes" => "public IP prefix",
        "Microsoft.Network/natGateways" => "NAT gateway",
        "Microsoft.Compute/virtualMachineScaleSets" => "scale set",
        "AzureDevOps/elasticPools" => "agent pool",
        other => other,
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
}
