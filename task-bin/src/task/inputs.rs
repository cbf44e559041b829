//! A task's inputs as the Azure Pipelines agent hands them over: `INPUT_<NAME>` variables, read
//! and checked against the task's own `task.json` (embedded in the binary, so the checks are the
//! ones the pipeline editor showed).
//!
//! The agent sets `INPUT_<name>` for every input (name upper-cased, spaces as `_`), with the
//! input's default when the pipeline gives none; it checks neither `required` nor pickList
//! values. Here:
//! - a required input that is visible (its `visibleRule` holds) must not be empty;
//! - a pickList value must be one of its options (unless `EditableOptions` is `True`);
//! - a boolean is `true` or `false` (any case), an int a whole number;
//! - a missing variable falls back to `defaultValue` (a run outside the agent, e.g. a test).
//!
//! Caveats: `visibleRule` is read as the editor reads it for `name = value`, `name != value`,
//! joined by `&&` or `||` (not both in one rule); other operators count as visible. Filled-in
//! macros (`$(var)`) are the agent's business: they arrive expanded.

use std::collections::BTreeMap;

use serde_json::Value;

/// An input that cannot be used, named as the pipeline author wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input '{input}' ({label}): {problem} — {fix}")]
pub struct InputError {
    /// The input's name in task.json (what YAML sets).
    pub input: String,
    /// The input's label in the editor.
    pub label: String,
    pub problem: String,
    pub fix: String,
}

/// One input's declaration.
#[derive(Debug, Clone)]
struct Declared {
    name: String,
    label: String,
    kind: String,
    required: bool,
    default: Option<String>,
    options: Vec<String>,
    editable_options: bool,
    visible_rule: Option<String>,
}

/// A task's declaration (its `task.json`).
#[derive(Debug, Clone)]
pub struct Definition {
    /// The task's `name`.
    pub name: String,
    /// The task's `friendlyName`.
    pub friendly_name: String,
    inputs: Vec<Declared>,
}

impl Definition {
    /// Reads a task.json. Panics on a malformed one: the files are embedded and tested.
    pub fn parse(task_json: &str) -> Self {
        let json: Value = serde_json::from_str(task_json).expect("an embedded task.json is JSON");
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let inputs = json["inputs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|input| Declared {
                name: text(input, "name"),
                label: text(input, "label"),
                kind: text(input, "type"),
                required: input.get("required").and_then(Value::as_bool).unwrap_or(false),
                default: input.get("defaultValue").map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                options: input
                    .get("options")
                    .and_then(Value::as_object)
                    .map(|options| options.keys().cloned().collect())
                    .unwrap_or_default(),
                editable_options: input
                    .pointer("/properties/EditableOptions")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                visible_rule: input.get("visibleRule").and_then(Value::as_str).map(str::to_owned),
            })
            .collect();
        Self { name: text(&json, "name"), friendly_name: text(&json, "friendlyName"), inputs }
    }

    /// The inputs' values from `var` (the process environment), checked. Every problem is
    /// reported, not just the first.
    pub fn read(&self, var: impl Fn(&str) -> Option<String>) -> Result<Inputs, Vec<InputError>> {
        let raw: BTreeMap<String, String> = self
            .inputs
            .iter()
            .filter_map(|input| {
                let given = var(&env_name(&input.name)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
                given.or_else(|| input.default.clone().filter(|d| !d.is_empty())).map(|v| (input.name.clone(), v))
            })
            .collect();
        let problems: Vec<InputError> = self.inputs.iter().filter_map(|input| self.check(input, &raw)).collect();
        if problems.is_empty() {
            Ok(Inputs { values: raw, definition: self.clone() })
        } else {
            Err(problems)
        }
    }

    fn check(&self, input: &Declared, raw: &BTreeMap<String, String>) -> Option<InputError> {
        let error = |problem: String, fix: String| {
            Some(InputError { input: input.name.clone(), label: input.label.clone(), problem, fix })
        };
        let visible = input.visible_rule.as_deref().is_none_or(|rule| rule_holds(rule, raw));
        let Some(value) = raw.get(&input.name) else {
            return if input.required && visible {
                error("is required but empty".into(), format!("set {} in the task's inputs", input.name))
            } else {
                None
            };
        };
        match input.kind.as_str() {
            "pickList" | "radio" if !input.editable_options && !input.options.contains(value) => {
                error(format!("'{value}' is not one of {}", input.options.join(", ")), "use one of those".into())
            }
            "boolean" if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") => {
                error(format!("'{value}' is not a boolean"), "use true or false".into())
            }
            "int" if value.parse::<i64>().is_err() => {
                error(format!("'{value}' is not a whole number"), "give a number such as 7".into())
            }
            _ => None,
        }
    }
}

/// `INPUT_<NAME>`, as the agent names the variable of an input.
pub fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.replace([' ', '.'], "_").to_ascii_uppercase())
}

/// Whether a `visibleRule` holds for the values given.
fn rule_holds(rule: &str, values: &BTreeMap<String, String>) -> bool {
    let clause = |clause: &str| {
        let value_of = |name: &str| values.get(name.trim()).map(String::as_str).unwrap_or_default();
        if let Some((name, expected)) = clause.split_once("!=") {
            !value_of(name).eq_ignore_ascii_case(expected.trim())
        } else if let Some((name, expected)) = clause.split_once('=') {
            value_of(name).eq_ignore_ascii_case(expected.trim())
        } else {
            true
        }
    };
    if rule.contains("||") {
        rule.split("||").any(clause)
    } else {
        rule.split("&&").all(clause)
    }
}

/// Checked input values.
#[derive(Debug, Clone)]
pub struct Inputs {
    values: BTreeMap<String, String>,
    definition: Definition,
}

impl Inputs {
    fn declared(&self, name: &str) -> &Declared {
        self.definition
            .inputs
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("task {} declares no input {name}", self.definition.name))
    }

    /// A string input; `None` when empty. Panics on a name the task does not declare.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.declared(name);
        self.values.get(name).map(String::as_str)
    }

    /// A string input if this task declares it (inputs some steps share), else `None`.
    pub fn shared_text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A string input whose visible rule holds, or `None`.
    pub fn visible_text(&self, name: &str) -> Option<&str> {
        let declared = self.declared(name);
        let visible = declared.visible_rule.as_deref().is_none_or(|rule| rule_holds(rule, &self.values));
        self.text(name).filter(|_| visible)
    }

    /// A boolean input (checked), `false` when empty.
    pub fn flag(&self, name: &str) -> bool {
        self.text(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// An int input (checked), or `None` when empty.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(|v| v.parse().ok())
    }

    /// An error about input `name`, for a check done after reading.
    pub fn error(&self, name: &str, problem: impl Into<String>, fix: impl Into<String>) -> InputError {
        let declared = self.declared(name);
        InputError { input: name.to_owned(), label: declared.label.clone(), problem: problem.into(), fix: fix.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"{
      "name": "AgentPoolPreflight", "friendlyName": "agentpool: preflight checks",
      "inputs": [
        {"name": "connectedServiceNameARM", "aliases": ["azureSubscription"], "type": "connectedService:AzureRM", "label": "Azure subscription", "required": true},
        {"name": "parameterSource", "type": "pickList", "label": "Parameters from", "defaultValue": "folder", "required": true,
         "options": {"folder": "Parameters folder, environment and OS", "file": "One parameter file"}},
        {"name": "parametersFile", "type": "filePath", "label": "Parameter file", "required": true, "visibleRule": "parameterSource = file"},
        {"name": "environment", "type": "pickList", "label": "Environment", "required": true, "visibleRule": "parameterSource = folder",
         "options": {"sbx": "sbx", "dev": "dev", "int": "int", "prd": "prd"}},
        {"name": "rollIdleAgents", "type": "boolean", "label": "Roll idle agents", "defaultValue": false},
        {"name": "keep", "type": "int", "label": "Versions kept", "defaultValue": "5"}
      ]
    }"#;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn values_come_from_input_variables_with_the_declared_defaults() {
        let definition = Definition::parse(TASK);
        let inputs = definition
            .read(env(&[("INPUT_CONNECTEDSERVICENAMEARM", "5b2f0c1e"), ("INPUT_ENVIRONMENT", "sbx")]))
            .unwrap();
        assert_eq!(inputs.text("connectedServiceNameARM"), Some("5b2f0c1e"));
        assert_eq!(inputs.text("parameterSource"), Some("folder"));
        assert_eq!(inputs.visible_text("parametersFile"), None);
        assert!(!inputs.flag("rollIdleAgents"));
        assert_eq!(inputs.number("keep"), Some(5));
    }

    #[test]
    fn every_bad_input_is_named_with_its_fix() {
        let definition = Definition::parse(TASK);
        let problems = definition
            .read(env(&[
                ("INPUT_PARAMETERSOURCE", "folder"),
                ("INPUT_ENVIRONMENT", "qa"),
                ("INPUT_ROLLIDLEAGENTS", "yes"),
                ("INPUT_KEEP", "five"),
            ]))
            .unwrap_err();
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "input 'connectedServiceNameARM' (Azure subscription): is required but empty — set connectedServiceNameARM in the task's inputs",
                "input 'environment' (Environment): 'qa' is not one of sbx, dev, int, prd — use one of those",
                "input 'rollIdleAgents' (Roll idle agents): 'yes' is not a boolean — use true or false",
                "input 'keep' (Versions kept): 'five' is not a whole number — give a number such as 7",
            ]
        );
    }

    #[test]
    fn a_required_input_counts_only_while_visible() {
        let definition = Definition::parse(TASK);
        let base = [("INPUT_CONNECTEDSERVICENAMEARM", "id"), ("INPUT_PARAMETERSOURCE", "file")];
        let problems = definition.read(env(&base)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].input, "parametersFile");
        let inputs = definition.read(env(&[base[0], base[1], ("INPUT_PARAMETERSFILE", "p.json")])).unwrap();
        assert_eq!(inputs.visible_text("parametersFile"), Some("p.json"));
    }

    #[test]
    fn visible_rules_read_equality_inequality_and_joins() {
        let values: BTreeMap<String, String> =
            [("a".to_owned(), "x".to_owned()), ("b".to_owned(), "true".to_owned())].into();
        assert!(rule_holds("a = x", &values));
        assert!(!rule_holds("a != x", &values));
        assert!(rule_holds("a = x && b = true", &values));
        assert!(!rule_holds("a = y && b = true", &values));
        assert!(rule_holds("a = y || b = true", &values));
        assert!(rule_holds("c != z", &values));
    }
}
