//! Terminal rendering of a desired state: a tree of resources, each under the resource it
//! depends on first, with its body as indented YAML. Resources whose name says little (a role
//! assignment's GUID) show their summary: role, principal and scope.

use std::fmt::Write;

use agentpool_core::plan::{DesiredResource, DesiredState, Stage};

/// The desired state as a readable tree.
pub fn plan_tree(desired: &DesiredState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Desired state of {} (offline)", desired.parameters_file);
    let _ = writeln!(
        out,
        "  os {} · image version {} · image template {}",
        desired.os.lowercase(),
        desired.image_version.as_ref().map_or_else(|| "numbered by Image Builder".to_owned(), ToString::to_string),
        desired.image_template_name
    );
    if !desired.uploads.is_empty() {
        let _ = writeln!(out, "\nScripts to upload ({}):", desired.uploads.len());
        for upload in &desired.uploads {
            let _ = writeln!(
                out,
                "  {} → {} ({} bytes, sha256 {})",
                upload.local_path.display(),
                upload.blob_name,
                upload.bytes,
                upload.sha256
            );
        }
    }
    let _ = writeln!(out, "\nResources ({}), by stage, each under what it needs first:", desired.resources.len());
    for stage in Stage::ALL {
        let resources: Vec<DesiredResource> = desired.of_stages(&[stage]);
        if resources.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({}) — deployed by {}", stage.title(), resources.len(), stage.deployed_by());
        let parent_of = |resource: &DesiredResource| {
            resource.depends_on.first().and_then(|dep| resources.iter().position(|r| &r.id == dep))
        };
        let roots: Vec<usize> = (0..resources.len()).filter(|&i| parent_of(&resources[i]).is_none()).collect();
        for (n, &root) in roots.iter().enumerate() {
            write_node(&mut out, &resources, root, "", n + 1 == roots.len(), &parent_of);
        }
    }
    out
}

fn write_node(
    out: &mut String,
    resources: &[DesiredResource],
    index: usize,
    prefix: &str,
    last: bool,
    parent_of: &dyn Fn(&DesiredResource) -> Option<usize>,
) {
    let resource = &resources[index];
    let (branch, continuation) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
    let _ = writeln!(
        out,
        "{prefix}{branch}{} {} {}  ({}@{})",
        if resource.kind.creates { "+" } else { "~" },
        resource.kind.short_name,
        resource.label(),
        resource.kind.resource_type,
        resource.kind.api_version
    );
    let inner = format!("{prefix}{continuation}");
    let children: Vec<usize> = (0..resources.len()).filter(|&i| parent_of(&resources[i]) == Some(index)).collect();
    let rail = if children.is_empty() { "   " } else { "│  " };
    let _ = writeln!(out, "{inner}{rail}id: {}", resource.id);
    let after: Vec<&str> = resource
        .depends_on
        .iter()
        .skip(1)
        .filter_map(|dep| resources.iter().find(|r| &r.id == dep).map(DesiredResource::label))
        .collect();
    if !after.is_empty() {
        let _ = writeln!(out, "{inner}{rail}after: {}", after.join(", "));
    }
    if let Some(query) = &resource.query {
        write_yaml(out, &format!("{inner}{rail}"), "query", query);
    }
    write_yaml(out, &format!("{inner}{rail}"), "body", &resource.body);
    for (n, &child) in children.iter().enumerate() {
        write_node(out, resources, child, &inner, n + 1 == children.len(), parent_of);
    }
}

fn write_yaml(out: &mut String, prefix: &str, label: &str, value: &serde_json::Value) {
    let yaml = serde_norway::to_string(value).unwrap_or_default();
    let _ = writeln!(out, "{prefix}{label}:");
    for line in yaml.lines() {
        let _ = writeln!(out, "{prefix}  {line}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use agentpool_core::plan::{desired_state, PlanContext};

    use super::*;

    #[test]
    fn role_assignments_and_the_custom_role_are_shown_by_what_they_grant() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../yaml-templates/parameters/sbx.parameters.linux.json");
        let loaded = agentpool_core::params::load(&path).unwrap_or_else(|d| panic!("{d}"));
        let tree = plan_tree(&desired_state(&loaded, &PlanContext::offline_now()).unwrap());
        let role = tree.lines().find(|l| l.contains("+ role definition ")).unwrap_or_else(|| panic!("{tree}"));
        assert!(role.contains("+ role definition agentpool Image Builder (rg-agents-sbx, "), "{role}");
        let on_group = tree
            .lines()
            .find(|l| l.contains("+ role assignment ") && l.contains("on resourceGroups/rg-agents-sbx"))
            .unwrap_or_else(|| panic!("{tree}"));
        assert!(on_group.contains("agentpool Image Builder (rg-agents-sbx, "), "{on_group}");
        assert!(
            on_group.contains("→ identity id-agents-sbx-imagebuilder on resourceGroups/rg-agents-sbx"),
            "{on_group}"
        );
        assert!(tree.contains(
            "+ role assignment Storage Blob Data Reader → identity id-agents-sbx-imagebuilder on storageAccounts/stagentssbxscripts"
        ), "{tree}");
        // The custom role's assignment sits under the role, the role under the resource group.
        let role_at = tree.find("+ role definition").unwrap();
        let assignment_at = tree.find(on_group).unwrap();
        assert!(role_at < assignment_at);
    }
}
