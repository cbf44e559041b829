//! Structural validation of a parameter file against `parameters.schema.json`.
//!
//! The JSON schema that editors use is also the one the tool enforces, so the two cannot
//! drift. This walker implements the subset of draft-07 that schema uses (`type`, `properties`,
//! `required`, `additionalProperties`, `enum`, `const`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`, `uniqueItems`, `maxProperties`, `items`, `oneOf`, local `$ref`) and
//! words each finding as a one-line [`Diagnostic`] with a fix, which a generic validator cannot.
//!
//! Two extensions drive the rest of the validation:
//! - `default` values are written into the document, so the typed model sees every field;
//! - `x-rule` names a semantic rule (an Azure naming rule, say) that [`super::rules`] checks on the
//!   string found there; the walker collects those as [`RuleCheck`]s.
//!
//! Caveat: `oneOf` is resolved by dispatch, not by trying every branch: a string goes to the
//! string branch, an object with a `type` goes to the branch whose `type` is that `const`, an
//! object without one to the first branch whose required fields it has. The schema is written so
//! that this dispatch and a standard validator agree.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::diagnostic::{Diagnostic, JsonPath};
use crate::suggest;

/// The parameter file schema, as shipped in `yaml-templates/parameters/`.
pub const SCHEMA_TEXT: &str = include_str!("../../../yaml-templates/parameters/parameters.schema.json");

/// The parsed schema.
pub static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(SCHEMA_TEXT).expect("parameters.schema.json is valid JSON (checked by tests)")
});

/// A string value the schema marks with `x-rule`, to be checked by the rules module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheck {
    pub path: JsonPath,
    pub rule: String,
    pub value: String,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walk {
    pub diagnostics: Vec<Diagnostic>,
    pub rule_checks: Vec<RuleCheck>,
}

/// Validates `document` against the schema, filling in defaults.
pub fn validate(document: &mut Value, file: &str) -> Walk {
    let mut walker = Walker { root: &SCHEMA, file, walk: Walk::default() };
    walker.check(&SCHEMA, document, &JsonPath::root());
    walker.walk
}

/// Resolves a local `$ref` (`#/definitions/name`) against the root schema.
pub fn resolve<'s>(root: &'s Value, schema: &'s Value) -> &'s Value {
    let mut schema = schema;
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let Some(pointer) = reference.strip_prefix('#') else {
            break;
        };
        match root.pointer(pointer) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// A property of `schema` merged with what its `$ref` target says: the referring schema's own
/// keywords (such as `description`) win.
pub fn keyword<'s>(root: &'s Value, schema: &'s Value, name: &str) -> Option<&'s Value> {
    schema.get(name).or_else(|| resolve(root, schema).get(name))
}

struct Walker<'a> {
    root: &'a Value,
    file: &'a str,
    walk: Walk,
}

impl Walker<'_> {
    fn report(&mut self, path: &JsonPath, problem: impl Into<String>, fix: impl Into<String>) {
        self.walk.diagnostics.push(Diagnostic::at(self.file, path, problem, fix));
    }

    fn check(&mut self, schema: &Value, instance: &mut Value, path: &JsonPath) {
        let root = self.root;
        if let Some(rule) = keyword(root, schema, "x-rule").and_then(Value::as_str) {
            if let Value::String(text) = instance {
                self.walk.rule_checks.push(RuleCheck {
                    path: path.clone(),
                    rule: rule.to_owned(),
                    value: text.clone(),
                });
            }
        }
        let schema = resolve(root, schema);
        if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
            self.check_one_of(branches, instance, path);
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            self.check_enum(allowed, instance, path);
            return;
        }
        if let Some(expected) = schema.get("const") {
            if instance != expected {
                self.report(path, format!("{} is not allowed here", preview(instance)), format!("use {expected}"));
            }
            return;
        }
        if let Some(expected) = schema.get("type").and_then(Value::as_str) {
            if !has_type(instance, expected) {
                let fix = type_fix(expected, instance, path);
                self.report(
                    path,
                    format!("expected {}, found {}", describe_type(expected), describe_value(instance)),
                    fix,
                );
                return;
            }
        }
        match instance {
            Value::Object(map) => self.check_object(schema, map, path),
            Value::Array(items) => self.check_array(schema, items, path),
            Value::String(text) => self.check_string(schema, text, path),
            Value::Number(number) => self.check_number(schema, number.as_f64().unwrap_or_default(), path),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn check_one_of(&mut self, branches: &[Value], instance: &mut Value, path: &JsonPath) {
        let root = self.root;
        let resolved: Vec<&Value> = branches.iter().map(|b| resolve(root, b)).collect();
        let of_type: Vec<usize> = (0..resolved.len())
            .filter(|&i| resolved[i].get("type").and_then(Value::as_str).is_none_or(|t| has_type(instance, t)))
            .collect();
        let chosen = match instance {
            Value::Object(map) => {
                let discriminated: Vec<(usize, &str)> = of_type
                    .iter()
                    .filter_map(|&i| {
                        resolved[i].pointer("/properties/type/const").and_then(Value::as_str).map(|c| (i, c))
                    })
                    .collect();
                match map.get("type") {
                    Some(Value::String(given)) if !discriminated.is_empty() => {
                        match discriminated.iter().find(|(_, c)| c == given) {
                            Some(&(i, _)) => Some(i),
                            None => {
                                let names: Vec<&str> = discriminated.iter().map(|(_, c)| *c).collect();
                                let fix = match suggest::closest(given, names.iter().copied()) {
                                    Some(close) => format!("did you mean '{close}'?"),
                                    None => format!("use one of {}", names.join(", ")),
                                };
                                self.report(&path.key("type"), format!("unknown type '{given}'"), fix);
                                return;
                            }
                        }
                    }
                    _ => of_type.iter().copied().find(|&i| {
                        resolved[i].pointer("/properties/type/const").is_none()
                            && resolved[i]
                                .get("required")
                                .and_then(Value::as_array)
                                .is_some_and(|req| req.iter().filter_map(Value::as_str).all(|k| map.contains_key(k)))
                    }),
                }
            }
            _ => of_type.first().copied(),
        };
        match chosen {
            Some(index) => self.check(&branches[index], instance, path),
            None => {
                let shapes: Vec<String> = resolved.iter().map(|b| shape_of(b)).collect();
                self.report(
                    path,
                    format!("{} matches none of the accepted shapes", describe_value(instance)),
                    format!("use {}", shapes.join(", or ")),
                );
            }
        }
    }

    fn check_enum(&mut self, allowed: &[Value], instance: &Value, path: &JsonPath) {
        if allowed.contains(instance) {
            return;
        }
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        let fix = match instance.as_str().and_then(|given| suggest::closest(given, names.iter().copied())) {
            Some(close) => format!("use '{close}'"),
            None => format!("use one of {}", names.join(", ")),
        };
        self.report(path, format!("{} is not one of {}", preview(instance), names.join(", ")), fix);
    }

    fn check_object(&mut self, schema: &Value, map: &mut Map<String, Value>, path: &JsonPath) {
        let root = self.root;
        let empty = Map::new();
        let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let is_parameters = path.to_string() == "parameters";
        let what = if is_parameters { "parameter" } else { "field" };

        // Keys whose absence an unknown key already explains: a misspelling got "did you mean
        // '<key>'?", a Key Vault reference stands where "value" should be.
        let mut explained: Vec<&str> = Vec::new();
        for key in map.keys().cloned().collect::<Vec<_>>() {
            if properties.contains_key(&key) {
                continue;
            }
            match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    let fix = if key == "reference" {
                        "Key Vault references are not supported: parameter files hold no secrets, give \"value\""
                            .to_owned()
                    } else {
                        match suggest::closest(&key, properties.keys().map(String::as_str)) {
                            Some(close) => format!("did you mean '{close}'?"),
                            None => format!(
                                "remove it; allowed: {}",
                                properties.keys().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        }
                    };
                    self.report(&path.key(&key), format!("unknown {what} '{key}'"), fix);
                    if key == "reference" {
                        explained.push("value");
                    } else if let Some(close) = suggest::closest(&key, properties.keys().map(String::as_str)) {
                        explained.push(close);
                    }
                }
                Some(extra @ Value::Object(_)) => {
                    if let Some(value) = map.get_mut(&key) {
                        self.check(extra, value, &path.key(&key));
                    }
                }
                _ => {}
            }
        }
        if let Some(limit) = schema.get("maxProperties").and_then(Value::as_u64) {
            if map.len() as u64 > limit {
                self.report(
                    path,
                    format!("has {} entries, more than {limit}", map.len()),
                    format!("keep at most {limit}"),
                );
            }
        }
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
        {
            if !map.contains_key(required) && !explained.contains(&required) {
                let example = properties.get(required).map(|p| example_of(root, p)).unwrap_or_else(|| "…".to_owned());
                self.report(
                    &path.key(required),
                    format!("missing required {what}"),
                    format!("add \"{required}\": {example}"),
                );
            }
        }
        for (key, property) in properties {
            match map.get_mut(key) {
                Some(value) => self.check(property, value, &path.key(key)),
                None => {
                    if let Some(default) = default_of(root, property) {
                        map.insert(key.clone(), default);
                    }
                }
            }
        }
    }

    fn check_array(&mut self, schema: &Value, items: &mut [Value], path: &JsonPath) {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                self.report(
                    path,
                    format!("needs at least {min} entr{}", if min == 1 { "y" } else { "ies" }),
                    "add one, or leave the parameter out to get the default",
                );
            }
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > max {
                self.report(
                    path,
                    format!("has {} entries, more than {max}", items.len()),
                    format!("keep at most {max}"),
                );
            }
        }
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (index, item) in items.iter().enumerate() {
                if items[..index].contains(item) {
                    self.report(&path.index(index), format!("{} appears twice", preview(item)), "remove the duplicate");
                }
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter_mut().enumerate() {
                self.check(item_schema, item, &path.index(index));
            }
        }
    }

    fn check_string(&mut self, schema: &Value, text: &str, path: &JsonPath) {
        let length = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
            if length < min {
                let problem = if min == 1 {
                    "must not be empty".to_owned()
                } else {
                    format!("is {length} characters long, less than {min}")
                };
                self.report(path, problem, format!("give at least {min} character{}", if min == 1 { "" } else { "s" }));
            }
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if length > max {
                self.report(
                    path,
                    format!("is {length} characters long, more than {max}"),
                    format!("shorten it to at most {max} characters"),
                );
            }
        }
    }

    fn check_number(&mut self, schema: &Value, number: f64, path: &JsonPath) {
        let minimum = schema.get("minimum").and_then(Value::as_f64);
        let maximum = schema.get("maximum").and_then(Value::as_f64);
        let range = match (minimum, maximum) {
            (Some(min), Some(max)) => format!("use a value from {min} to {max}"),
            (Some(min), None) => format!("use {min} or more"),
            (None, Some(max)) => format!("use {max} or less"),
            (None, None) => return,
        };
        if minimum.is_some_and(|min| number < min) {
            self.report(path, format!("{number} is below the minimum {}", minimum.unwrap_or_default()), range);
        } else if maximum.is_some_and(|max| number > max) {
            self.report(path, format!("{number} is above the maximum {}", maximum.unwrap_or_default()), range);
        }
    }
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe_type(expected: &str) -> &'static str {
    match expected {
        "object" => "an object",
        "array" => "a list",
        "string" => "a string",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        _ => "a value",
    }
}

/// `a string ("120")`, `a number (4.5)`, `an object`, …
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", Value::String(s.clone())),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn preview(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn type_fix(expected: &str, found: &Value, path: &JsonPath) -> String {
    let unquoted = found.as_str().map(str::trim);
    match (expected, unquoted) {
        ("integer", Some(text)) if text.parse::<i64>().is_ok() => {
            format!("write {text} without quotes")
        }
        ("boolean", Some(text @ ("true" | "false"))) => format!("write {text} without quotes"),
        ("object", _) if path.last_key().is_some() && found_is_bare_parameter(path) => {
            let name = path.last_key().unwrap_or_default();
            format!("wrap it as \"{name}\": {{\"value\": {found}}}")
        }
        _ => format!("give {}", describe_type(expected)),
    }
}

/// True for `parameters.<name>`: the level where ARM wants `{"value": …}`.
fn found_is_bare_parameter(path: &JsonPath) -> bool {
    let rendered = path.to_string();
    rendered.starts_with("parameters.") && rendered.matches('.').count() == 1
}

fn default_of(root: &Value, property: &Value) -> Option<Value> {
    if let Some(default) = keyword(root, property, "default") {
        return Some(default.clone());
    }
    // A top-level parameter whose value has a default: insert {"value": default}.
    let value_schema = property.pointer("/properties/value")?;
    keyword(root, value_schema, "default").map(|default| serde_json::json!({ "value": default }))
}

fn example_of(root: &Value, property: &Value) -> String {
    let schema = resolve(root, property);
    if let Some(value_schema) = schema.pointer("/properties/value") {
        return format!("{{\"value\": {}}}", example_of(root, value_schema));
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.to_string();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => "\"…\"".to_owned(),
        Some("integer") => "0".to_owned(),
        Some("boolean") => "false".to_owned(),
        Some("array") => "[…]".to_owned(),
        _ => "{…}".to_owned(),
    }
}

fn shape_of(branch: &Value) -> String {
    if let Some(kind) = branch.pointer("/properties/type/const").and_then(Value::as_str) {
        return format!("{{\"type\": \"{kind}\", …}}");
    }
    match (branch.get("type").and_then(Value::as_str), branch.get("required").and_then(Value::as_array)) {
        (Some("object"), Some(required)) if !required.is_empty() => {
            format!("{{\"{}\": …}}", required[0].as_str().unwrap_or_default())
        }
        (Some(kind), _) => describe_type(kind).to_owned(),
        _ => "a value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(mut document: Value) -> Vec<String> {
        validate(&mut document, "f.json").diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_schema_parses_and_every_ref_resolves() {
        fn visit(root: &Value, node: &Value) {
            match node {
                Value::Object(map) => {
                    if let Some(Value::String(reference)) = map.get("$ref") {
                        let pointer = reference.strip_prefix('#').expect("local ref");
                        assert!(root.pointer(pointer).is_some(), "dangling {reference}");
                    }
                    map.values().for_each(|v| visit(root, v));
                }
                Value::Array(items) => items.iter().for_each(|v| visit(root, v)),
                _ => {}
            }
        }
        visit(&SCHEMA, &SCHEMA);
    }

    #[test]
    fn misspelled_parameters_get_a_suggestion() {
        let found = messages(json!({"parameters": {"imageSorce": {"value": {}}}}));
        assert!(
            found.contains(
                &"f.json: parameters.imageSorce: unknown parameter 'imageSorce' — did you mean 'imageSource'?"
                    .to_owned()
            ),
            "{found:#?}"
        );
    }

    #[test]
    fn numbers_in_quotes_are_explained() {
        let found = messages(json!({"parameters": {"buildTimeoutInMinutes": {"value": "120"}}}));
        assert!(found.contains(&"f.json: parameters.buildTimeoutInMinutes.value: expected a whole number, found the string \"120\" — write 120 without quotes".to_owned()), "{found:#?}");
    }

    #[test]
    fn bare_parameters_are_told_to_wrap_in_value() {
        let found = messages(json!({"parameters": {"location": "westeurope"}}));
        assert!(found.contains(&"f.json: parameters.location: expected an object, found the string \"westeurope\" — wrap it as \"location\": {\"value\": \"westeurope\"}".to_owned()), "{found:#?}");
    }

    #[test]
    fn defaults_are_filled_in() {
        let mut document = json!({"parameters": {"targetRegions": {"value": [{"name": "westeurope"}]}}});
        validate(&mut document, "f.json");
        assert_eq!(document.pointer("/parameters/buildTimeoutInMinutes/value"), Some(&json!(240)));
        assert_eq!(document.pointer("/parameters/targetRegions/value/0/replicaCount"), Some(&json!(1)));
        assert_eq!(
            document.pointer("/parameters/targetRegions/value/0/storageAccountType"),
            Some(&json!("Standard_LRS"))
        );
    }

    #[test]
    fn unknown_customizer_types_are_named() {
        let found =
            messages(json!({"parameters": {"customizationSteps": {"value": [{"type": "Shel", "inline": ["true"]}]}}}));
        assert!(
            found.contains(
                &"f.json: parameters.customizationSteps.value[0].type: unknown type 'Shel' — did you mean 'Shell'?"
                    .to_owned()
            ),
            "{found:#?}"
        );
    }
}
