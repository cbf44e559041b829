//! The parameter reference of the README, generated from `parameters.schema.json`.
//!
//! The README embeds the output of [`markdown`] between `<!-- parameters:start -->` and
//! `<!-- parameters:end -->`; a test fails when the two differ, so the documentation cannot drift
//! from the schema the tool enforces.

use serde_json::Value;

use super::schema::{keyword, resolve, SCHEMA};

/// Markdown tables of every parameter and field, grouped as the schema's `x-group` says.
pub fn markdown() -> String {
    let root: &Value = &SCHEMA;
    let parameters = root.pointer("/properties/parameters").expect("schema has parameters");
    let required: Vec<&str> =
        parameters["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (name, parameter) in parameters["properties"].as_object().into_iter().flatten() {
        let group = parameter.get("x-group").and_then(Value::as_str).unwrap_or("Other").to_owned();
        let value = &parameter["properties"]["value"];
        let mut rows = vec![row(root, name, value, required.contains(&name.as_str()))];
        nested_rows(root, name, value, &mut rows);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, existing)) => existing.extend(rows),
            None => groups.push((group, rows)),
        }
    }
    let mut out = String::new();
    for (group, rows) in groups {
        out.push_str(&format!(
            "\n#### {group}\n\n| parameter | type | required | default | description |\n|---|---|---|---|---|\n"
        ));
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    out
}

fn nested_rows(root: &Value, prefix: &str, schema: &Value, rows: &mut Vec<String>) {
    let resolved = resolve(root, schema);
    if let Some(branches) = resolved.get("oneOf").and_then(Value::as_array) {
        for branch in branches {
            let branch = resolve(root, branch);
            let label = match branch.pointer("/properties/type/const").and_then(Value::as_str) {
                Some(kind) => format!("{prefix} ({kind})"),
                None => prefix.to_owned(),
            };
            object_rows(root, &label, branch, rows);
        }
        return;
    }
    if let Some(items) = resolved.get("items") {
        if resolve(root, items).get("oneOf").is_none() {
            nested_rows(root, &format!("{prefix}[]"), items, rows);
        }
        return;
    }
    object_rows(root, prefix, resolved, rows);
}

fn object_rows(root: &Value, prefix: &str, schema: &Value, rows: &mut Vec<String>) {
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    for (field, field_schema) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        if field == "type" && field_schema.get("const").is_some() {
            continue;
        }
        let name = format!("{prefix}.{field}");
        rows.push(row(root, &name, field_schema, required.contains(&field.as_str())));
        nested_rows(root, &name, field_schema, rows);
    }
}

fn row(root: &Value, name: &str, schema: &Value, required: bool) -> String {
    let description = keyword(root, schema, "description").and_then(Value::as_str).unwrap_or("");
    let default = keyword(root, schema, "default").map(|d| format!("`{d}`")).unwrap_or_default();
    format!(
        "| `{name}` | {} | {} | {default} | {} |",
        type_of(root, schema),
        if required { "yes" } else { "" },
        description.replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
    )
}

fn type_of(root: &Value, schema: &Value) -> String {
    let resolved = resolve(root, schema);
    if let Some(values) = resolved.get("enum").and_then(Value::as_array) {
        return values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" \\| ");
    }
    if resolved.get("oneOf").is_some() {
        return "one of the shapes below".to_owned();
    }
    match resolved.get("type").and_then(Value::as_str) {
        Some("array") => "list".to_owned(),
        Some(kind) => {
            let range = match (resolved.get("minimum"), resolved.get("maximum")) {
                (Some(min), Some(max)) => format!(" {min}–{max}"),
                _ => String::new(),
            };
            format!("{kind}{range}")
        }
        None => "any".to_owned(),
    }
}
