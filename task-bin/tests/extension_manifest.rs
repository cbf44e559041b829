//! The Azure DevOps extension under `extension-manifest/`: its manifest and every task.json pass
//! the official schemas (check-jsonschema, from PyPI), the tasks declare the inputs the binary's
//! task mode reads (as `INPUT_<NAME>`), their outputs and settable variables agree, and the
//! launcher's own tests (`node --test`) pass.

#[allow(unused_imports)] // the oav helpers are for the swagger tests
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const EXTENSION: &str = "extension-manifest";
/// The first agent with the Node24 handler (microsoft/azure-pipelines-tasks docs/migrateNode24.md);
/// the tasks also declare Node20_1 (agent 3.232.1 and later) for agents where Node 24 cannot run.
const MINIMUM_AGENT_VERSION: &str = "4.265.1";

/// One task of the extension: its folder and name, the binary's step, its display name, the
/// inputs it declares beyond the common ones, and its output variables.
struct Task {
    name: &'static str,
    step: &'static str,
    friendly_name: &'static str,
    /// Whether it reads a parameter file (parameterSource, parametersFile, parametersFolder,
    /// environment, os).
    parameters: bool,
    inputs: &'static [Input],
    outputs: &'static [&'static str],
}

/// What the contract fixes about an input; `None` leaves it free.
struct Input {
    name: &'static str,
    kind: &'static str,
    required: Option<bool>,
    default: Option<&'static str>,
    visible_rule: Option<&'static str>,
    options: &'static [&'static str],
}

const fn input(name: &'static str, kind: &'static str) -> Input {
    Input { name, kind, required: None, default: None, visible_rule: None, options: &[] }
}

const fn optional(name: &'static str, kind: &'static str, default: &'static str) -> Input {
    Input { name, kind, required: Some(false), default: Some(default), visible_rule: None, options: &[] }
}

const AZURE_SUBSCRIPTION: Input =
    Input { required: Some(true), ..input("connectedServiceNameARM", "connectedService:AzureRM") };

const PARAMETER_FILE: [Input; 5] = [
    Input { default: Some("folder"), options: &["folder", "file"], ..input("parameterSource", "pickList") },
    Input { required: Some(true), visible_rule: Some("parameterSource = file"), ..input("parametersFile", "filePath") },
    Input {
        required: Some(true),
        default: Some("yaml-templates/parameters"),
        visible_rule: Some("parameterSource = folder"),
        ..input("parametersFolder", "filePath")
    },
    Input {
        required: Some(true),
        visible_rule: Some("parameterSource = folder"),
        options: &["sbx", "dev", "int", "prd"],
        ..input("environment", "pickList")
    },
    Input {
        required: Some(true),
        visible_rule: Some("parameterSource = folder"),
        options: &["linux", "windows"],
        ..input("os", "pickList")
    },
];

const IMAGE_VERSION: Input = Input { required: Some(false), ..input("imageVersion", "string") };
const ROLL_IDLE_AGENTS: Input = optional("rollIdleAgents", "boolean", "false");

const TASKS: &[Task] = &[
    Task {
        name: "AgentPoolPreflight",
        step: "preflight",
        friendly_name: "agentpool: preflight checks",
        parameters: true,
        inputs: &[Input {
            default: Some("all"),
            options: &["all", "infra", "image", "pool"],
            ..input("scope", "pickList")
        }],
        outputs: &[],
    },
    Task {
        name: "AgentPoolDeployInfra",
        step: "deploy-infra",
        friendly_name: "agentpool: deploy image infrastructure",
        parameters: true,
        inputs: &[IMAGE_VERSION, optional("parallelism", "int", "8")],
        outputs: &["resourceGroup"],
    },
    Task {
        name: "AgentPoolBuildImage",
        step: "build-image",
        friendly_name: "agentpool: build image",
        parameters: true,
        inputs: &[IMAGE_VERSION, optional("waitForBuild", "boolean", "true")],
        outputs: &["imageTemplateName", "imageTemplateResourceGroup", "imageVersionId"],
    },
    Task {
        name: "AgentPoolWaitImage",
        step: "wait-image",
        friendly_name: "agentpool: wait for image build",
        parameters: false,
        inputs: &[
            Input { required: Some(true), ..input("imageTemplateResourceGroup", "string") },
            Input { required: Some(true), ..input("imageTemplateName", "string") },
        ],
        outputs: &["imageVersionId"],
    },
    Task {
        name: "AgentPoolDeployScaleSet",
        step: "deploy-scaleset",
        friendly_name: "agentpool: deploy scale set",
        parameters: true,
        inputs: &[Input { required: Some(false), ..input("image", "string") }, ROLL_IDLE_AGENTS],
        outputs: &["scaleSetId", "scaleSetImage"],
    },
    Task {
        name: "AgentPoolRegisterPool",
        step: "register-pool",
        friendly_name: "agentpool: register agent pool",
        parameters: true,
        inputs: &[
            Input {
                default: Some("systemAccessToken"),
                options: &["systemAccessToken", "azureSubscription", "personalAccessToken"],
                ..input("devOpsAuthentication", "pickList")
            },
            // The "Azure Repos/Team Foundation Server" connection type is `externaltfs`
            // (vsts-rest-api-specs serviceEndpoint ListEndpointTypes.json); its Token scheme holds a PAT.
            Input {
                required: Some(true),
                visible_rule: Some("devOpsAuthentication = personalAccessToken"),
                ..input("devOpsConnection", "connectedService:ExternalTfs")
            },
            Input { required: Some(false), ..input("organizationUrl", "string") },
            ROLL_IDLE_AGENTS,
        ],
        outputs: &["poolId"],
    },
    Task {
        name: "AgentPoolCleanupImages",
        step: "cleanup-images",
        friendly_name: "agentpool: clean up images",
        parameters: true,
        inputs: &[
            optional("olderThanDays", "int", "30"),
            optional("keep", "int", "3"),
            optional("delete", "boolean", "false"),
        ],
        outputs: &[],
    },
];

fn workspace() -> PathBuf {
    support::workspace_root()
}

fn manifest() -> Value {
    support::read_json(&workspace().join(EXTENSION).join("vss-extension.json"))
}

fn task_dir(name: &str) -> PathBuf {
    workspace().join(EXTENSION).join("tasks").join(name)
}

fn task_json(name: &str) -> Value {
    support::read_json(&task_dir(name).join("task.json"))
}

/// The folders under `extension-manifest/tasks/`.
fn task_folders() -> BTreeSet<String> {
    std::fs::read_dir(workspace().join(EXTENSION).join("tasks"))
        .expect("extension-manifest/tasks")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn check_jsonschema(schema: &Path, files: &[PathBuf]) -> (bool, String) {
    let tool = workspace().join(".cache/venv/bin/check-jsonschema");
    assert!(
        tool.exists(),
        "{} is missing: run tests/run.sh, which installs tests/python/requirements.txt",
        tool.display()
    );
    // Both official schemas write patterns such as `^connectedService\:.+$`, an identity escape that
    // ECMAScript accepts only outside unicode mode.
    let output = Command::new(tool)
        .args(["--regex-variant", "nonunicode", "--schemafile"])
        .arg(schema)
        .args(files)
        .current_dir(workspace())
        .output()
        .expect("check-jsonschema runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn inputs(task: &Value) -> &Vec<Value> {
    task["inputs"].as_array().expect("inputs")
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// Width and height of a PNG file, from its IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{} is no PNG",
        path.display()
    );
    let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (word(16), word(20))
}

#[test]
fn the_manifest_passes_the_vss_extension_schema() {
    let schema = support::specs_dir().join("schemastore/src/schemas/json/vss-extension.json");
    let (ok, output) = check_jsonschema(&schema, &[workspace().join(EXTENSION).join("vss-extension.json")]);
    assert!(ok, "{output}");
}

/// `validation` ({expression, message}) on an input is read by Azure DevOps (the task editor and
/// queue-time checks, azure-pipelines-tasks docs/taskinputvalidation.md) but missing from
/// tasks.schema.json, whose inputs allow no other property: it is checked here and left out of
/// the copy the schema sees.
#[test]
fn every_task_json_passes_the_official_task_schema() {
    let schema = support::specs_dir().join("azure-pipelines-task-lib/tasks.schema.json");
    let tmp = support::TempDir::new("extension-manifest");
    let mut files = Vec::new();
    for folder in task_folders() {
        let mut task = task_json(&folder);
        for input in task["inputs"].as_array_mut().expect("inputs") {
            let name = input["name"].as_str().unwrap_or("?").to_owned();
            if let Some(validation) = input.as_object_mut().and_then(|i| i.remove("validation")) {
                let keys: BTreeSet<&str> =
                    validation.as_object().expect("validation").keys().map(String::as_str).collect();
                assert_eq!(keys, BTreeSet::from(["expression", "message"]), "{folder} {name}");
                assert!(
                    validation["expression"].as_str().is_some_and(|e| e.contains("(value")),
                    "{folder} {name}: {validation}"
                );
                assert!(validation["message"].as_str().is_some_and(|m| !m.is_empty()), "{folder} {name}");
            }
        }
        let file = tmp.path().join(format!("{folder}.task.json"));
        support::write_json(&file, &task);
        files.push(file);
    }
    assert_eq!(files.len(), TASKS.len());
    let (ok, output) = check_jsonschema(&schema, &files);
    assert!(ok, "{output}");
}

#[test]
fn every_contribution_has_its_task_folder_and_every_folder_a_contribution() {
    let manifest = manifest();
    let root = workspace().join(EXTENSION);
    let contributions = manifest["contributions"].as_array().expect("contributions");
    let mut contributed = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for contribution in contributions {
        assert!(ids.insert(contribution["id"].as_str().expect("id")), "duplicate id: {contribution}");
        assert_eq!(contribution["type"], "ms.vss-distributed-task.task", "{contribution}");
        assert_eq!(contribution["targets"], serde_json::json!(["ms.vss-distributed-task.tasks"]), "{contribution}");
        // The task folder's path in the package, where the service looks for its task.json.
        let path = contribution["properties"]["name"].as_str().expect("properties.name");
        let folder = path.strip_prefix("tasks/").unwrap_or_else(|| panic!("{path} is not under tasks/"));
        assert!(root.join(path).join("task.json").is_file(), "{path}/task.json is missing");
        assert_eq!(task_json(folder)["name"], folder, "the folder is named after the task");
        assert!(contributed.insert(folder.to_owned()), "{folder} contributed twice");
    }
    assert_eq!(contributed, task_folders());
    let expected: BTreeSet<String> = TASKS.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(contributed, expected);

    let packaged: BTreeSet<&str> =
        manifest["files"].as_array().expect("files").iter().map(|f| f["path"].as_str().expect("path")).collect();
    for folder in &contributed {
        assert!(packaged.contains(format!("tasks/{folder}").as_str()), "tasks/{folder} is not packaged: {packaged:?}");
        assert_eq!(png_size(&root.join("tasks").join(folder).join("icon.png")), (32, 32), "{folder}/icon.png");
    }
    for path in &packaged {
        assert!(root.join(path).exists(), "{path} is packaged but missing");
    }
    let icon = manifest["icons"]["default"].as_str().expect("icons.default");
    assert!(packaged.iter().any(|p| icon.starts_with(&format!("{p}/"))), "{icon} is not packaged");
    assert_eq!(png_size(&root.join(icon)), (128, 128));
    let details = manifest["content"]["details"]["path"].as_str().expect("content.details.path");
    assert!(root.join(details).is_file(), "{details}");
}

#[test]
fn the_extension_is_the_product() {
    let manifest = manifest();
    assert_eq!(manifest["manifestVersion"], 1);
    assert_eq!(manifest["id"], "agentpool");
    assert_eq!(manifest["publisher"], "agentpool");
    assert_eq!(manifest["version"], "1.0.0");
    assert_eq!(manifest["categories"], serde_json::json!(["Azure Pipelines"]));
    assert_eq!(manifest["targets"], serde_json::json!([{ "id": "Microsoft.VisualStudio.Services" }]));
}

#[test]
fn names_ids_versions_and_handlers_agree() {
    let version = manifest()["version"].as_str().expect("version").to_owned();
    let mut names = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for expected in TASKS {
        let task = task_json(expected.name);
        let name = task["name"].as_str().expect("name");
        assert_eq!(name, expected.name);
        assert!(names.insert(name.to_lowercase()), "duplicate task name {name}");
        let id = task["id"].as_str().expect("id");
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert!(
            groups == [8, 4, 4, 4, 12] && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
            "{name}: id {id} is not a GUID"
        );
        assert!(ids.insert(id.to_lowercase()), "{name}: id {id} is used twice");
        assert_eq!(task["friendlyName"], expected.friendly_name, "{name}");
        assert!(expected.friendly_name.len() <= 40, "{name}: friendlyName longer than 40 characters");
        assert_eq!(task["category"], "Deploy", "{name}");
        assert_eq!(task["author"], "agentpool", "{name}");
        let v = &task["version"];
        assert_eq!(
            format!("{}.{}.{}", v["Major"], v["Minor"], v["Patch"]),
            version,
            "{name}: version differs from the extension's"
        );
        assert_eq!(task["minimumAgentVersion"], MINIMUM_AGENT_VERSION, "{name}");
        assert!(str_of(&task, "instanceNameFormat").is_some_and(|f| !f.is_empty()), "{name}");
        assert!(str_of(&task, "description").is_some_and(|f| !f.is_empty()), "{name}");
        assert!(
            str_of(&task, "helpMarkDown").is_some_and(|h| h.contains(expected.step)),
            "{name}: helpMarkDown names the step"
        );
        let handler = serde_json::json!({ "target": "launcher.js", "argumentFormat": "" });
        assert_eq!(task["execution"], serde_json::json!({ "Node24": handler, "Node20_1": handler }), "{name}");
    }
}

#[test]
fn every_task_declares_the_input_contract() {
    for expected in TASKS {
        let task = task_json(expected.name);
        let declared: BTreeMap<&str, &Value> =
            inputs(&task).iter().map(|i| (i["name"].as_str().expect("input name"), i)).collect();
        assert_eq!(declared.len(), inputs(&task).len(), "{}: input names repeat", expected.name);
        let mut contract: Vec<&Input> = vec![&AZURE_SUBSCRIPTION];
        if expected.parameters {
            contract.extend(PARAMETER_FILE.iter());
        }
        contract.extend(expected.inputs.iter());
        let names: BTreeSet<&str> = contract.iter().map(|i| i.name).collect();
        assert_eq!(declared.keys().copied().collect::<BTreeSet<_>>(), names, "{}: inputs", expected.name);
        for want in contract {
            let at = format!("{} {}", expected.name, want.name);
            let got = declared[want.name];
            assert_eq!(got["type"], want.kind, "{at}: type");
            if let Some(required) = want.required {
                assert_eq!(got.get("required").and_then(Value::as_bool).unwrap_or(false), required, "{at}: required");
            }
            if let Some(default) = want.default {
                assert_eq!(got["defaultValue"], default, "{at}: defaultValue");
            }
            assert_eq!(str_of(got, "visibleRule"), want.visible_rule, "{at}: visibleRule");
            if !want.options.is_empty() {
                let options: Vec<&str> =
                    got["options"].as_object().expect("options").keys().map(String::as_str).collect();
                assert_eq!(options, want.options, "{at}: options");
            }
        }
        let azure = declared["connectedServiceNameARM"];
        assert_eq!(azure["aliases"], serde_json::json!(["azureSubscription"]), "{}", expected.name);
        assert_eq!(azure["label"], "Azure subscription", "{}", expected.name);
    }
}

#[test]
fn every_input_has_help_and_a_group_and_its_visible_rule_names_inputs() {
    for expected in TASKS {
        let task = task_json(expected.name);
        let names: BTreeSet<&str> = inputs(&task).iter().filter_map(|i| str_of(i, "name")).collect();
        let groups: BTreeSet<&str> =
            task["groups"].as_array().expect("groups").iter().filter_map(|g| str_of(g, "name")).collect();
        let mut used = BTreeSet::new();
        for input in inputs(&task) {
            let at = format!("{} {}", expected.name, input["name"]);
            assert!(str_of(input, "helpMarkDown").is_some_and(|h| !h.trim().is_empty()), "{at}: no helpMarkDown");
            assert!(str_of(input, "label").is_some_and(|l| !l.trim().is_empty()), "{at}: no label");
            if let Some(group) = str_of(input, "groupName") {
                assert!(groups.contains(group), "{at}: group {group} is not declared");
                used.insert(group);
            }
            if let Some(rule) = str_of(input, "visibleRule") {
                for clause in rule.split("&&").flat_map(|c| c.split("||")) {
                    let referenced = clause.split_whitespace().next().unwrap_or_default();
                    assert!(names.contains(referenced), "{at}: visibleRule `{rule}` names no input `{referenced}`");
                    assert_ne!(Some(referenced), str_of(input, "name"), "{at}: visibleRule refers to itself");
                }
            }
        }
        assert_eq!(used, groups, "{}: declared groups no input uses", expected.name);
    }
}

#[test]
fn settable_variables_are_exactly_the_outputs() {
    for expected in TASKS {
        let task = task_json(expected.name);
        let outputs: Vec<&Value> =
            task.get("outputVariables").and_then(Value::as_array).map_or(vec![], |o| o.iter().collect());
        let names: Vec<&str> = outputs.iter().map(|o| o["name"].as_str().expect("output name")).collect();
        assert_eq!(names, expected.outputs, "{}: outputVariables", expected.name);
        for output in &outputs {
            assert!(str_of(output, "description").is_some_and(|d| !d.is_empty()), "{}: {output}", expected.name);
        }
        let allowed: Vec<&str> = task["restrictions"]["settableVariables"]["allowed"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: restrictions.settableVariables.allowed", expected.name))
            .iter()
            .map(|v| v.as_str().expect("allowed name"))
            .collect();
        assert_eq!(allowed, names, "{}: settableVariables", expected.name);
    }
}

/// launcher.js and its tests (fake binaries in temporary task folders): environment, exit code,
/// cancellation signals, brotli-compressed binaries, missing binary, unsupported platform.
#[test]
fn the_launcher_tests_pass_under_node() {
    let output = Command::new("node")
        .args(["--test", "extension-manifest/launcher/launcher.test.js"])
        .current_dir(workspace())
        .output()
        .expect("node runs (Node.js is required for the tests)");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    assert!(text.contains("# fail 0"), "{text}");
}
