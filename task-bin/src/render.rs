//! Terminal rendering of a desired state: a tree of resources, each under the resource it
//! depends on first, with its body as indented YAML.

use std::fmt::Write;

use agentpool_core::plan::{DesiredResource, DesiredState};

use crate::progress::short_kind;

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
    let _ = writeln!(out, "\nResources ({}), each under what it needs first:", desired.resources.len());
    let resources = &desired.resources;
    let parent_of = |resource: &DesiredResource| {
        resource.depends_on.first().and_then(|dep| resources.iter().position(|r| &r.id == dep))
    };
    let roots: Vec<usize> = (0..resources.len()).filter(|&i| parent_of(&resources[i]).is_none()).collect();
    for (n, &root) in roots.iter().enumerate() {
        write_node(&mut out, resources, root, "", n + 1 == roots.len(), &parent_of);
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
        "{prefix}{branch}+ {} {}  ({}@{})",
        short_kind(resource.kind),
        resource.name,
        resource.kind,
        resource.api_version
    );
    let inner = format!("{prefix}{continuation}");
    let children: Vec<usize> = (0..resources.len()).filter(|&i| parent_of(&resources[i]) == Some(index)).collect();
    let rail = if children.is_empty() { "   " } else { "│  " };
    let _ = writeln!(out, "{inner}{rail}id: {}", resource.id);
    let after: Vec<&str> = resource
        .depends_on
        .iter()
        .skip(1)
        .filter_map(|dep| resources.iter().find(|r| &r.id == dep).map(|r| r.name.as_str()))
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
