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
    ] {
        let file = format!("tests/fixtures/bad-parameters/{fixture}.json");
        assert!(!check_jsonschema(&["--schemafile", SCHEMA, &file]), "{file} passes the schema");
    }
}
