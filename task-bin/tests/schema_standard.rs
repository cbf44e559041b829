//! A standard JSON Schema validator (check-jsonschema, from PyPI) agrees with agentpool about
//! the parameter schema: it is a valid draft-07 schema, the examples pass it, and the bad files
//! whose faults are structural fail it. Editors use this schema, so it must mean what the tool
//! enforces.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn check_jsonschema(args: &[&str]) -> bool {
    let tool = workspace().join(".cache/venv/bin/check-jsonschema");
    assert!(
        tool.exists(),
        "{} is missing: run tests/run.sh, which installs tests/python/requirements.txt",
        tool.display()
    );
    Command::new(tool).args(args).current_dir(workspace()).output().expect("check-jsonschema runs").status.success()
}

const SCHEMA: &str = "yaml-templates/parameters/parameters.schema.json";

#[test]
fn the_schema_is_valid_draft_07() {
    assert!(check_jsonschema(&["--check-metaschema", SCHEMA]));
}

#[test]
fn the_examples_pass_a_standard_validator() {
    for file in [
        "yaml-templates/parameters/sbx.parameters.linux.json",
        "yaml-templates/parameters/sbx.parameters.windows.json",
        "tests/fixtures/minimal.parameters.linux.json",
    ] {
        assert!(check_jsonschema(&["--schemafile", SCHEMA, file]), "{file}");
    }
}

#[test]
fn structurally_bad_files_fail_a_standard_validator_too() {
    for fixture in [
        "01-misspelled-parameter",
        "02-number-in-quotes",
        "12-os-type-lowercase",
        "13-parameter-without-value",
        "14-unknown-customizer-type",
        "16-missing-required-parameter",
        "17-key-vault-reference",
        "21-several-problems-at-once",
        "23-image-builder-role-unknown",
    ] {
        let file = format!("tests/fixtures/bad-parameters/{fixture}.json");
        assert!(!check_jsonschema(&["--schemafile", SCHEMA, &file]), "{file} passes the schema");
    }
}

/// The schema sits beside the parameter files, so a folder or a glob reaches it: `validate`
/// skips it instead of reporting it as a bad parameter file.
#[test]
fn validate_skips_the_schema_in_a_folder_or_a_glob() {
    let agentpool = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_agentpool"))
            .args(args)
            .current_dir(workspace())
            .output()
            .expect("agentpool runs")
    };
    // A shell's expansion of yaml-templates/parameters/*.json, the unexpanded pattern, the folder.
    let mut expanded: Vec<String> = std::fs::read_dir(workspace().join("yaml-templates/parameters"))
        .expect("examples")
        .filter_map(|e| e.ok())
        .map(|e| format!("yaml-templates/parameters/{}", e.file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".json") && (name.ends_with(SCHEMA) || name.split('.').count() == 4))
        .collect();
    expanded.sort();
    assert!(expanded.iter().any(|name| name == SCHEMA), "{expanded:?}");
    let shell: Vec<&str> = std::iter::once("validate").chain(expanded.iter().map(String::as_str)).collect();
    for args in
        [shell, vec!["validate", "yaml-templates/parameters/*.json"], vec!["validate", "yaml-templates/parameters"]]
    {
        let output = agentpool(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{args:?}: {}{stdout}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("ok: yaml-templates/parameters/sbx.parameters.linux.json"), "{args:?}: {stdout}");
        assert!(!stdout.contains(&format!("ok: {SCHEMA}")), "{args:?}: {stdout}");
    }
    let named = agentpool(&["validate", SCHEMA]);
    assert_eq!(
        String::from_utf8_lossy(&named.stdout),
        format!("skipped: {SCHEMA} (a JSON schema, not a parameter file)\n")
    );
}
