//! The README stays true: its parameter reference is the schema's, and its test command is the
//! one CI runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn the_parameter_reference_matches_the_schema() {
    let readme = read("README.md");
    let start = readme.find("<!-- parameters:start -->\n").expect("start marker") + "<!-- parameters:start -->\n".len();
    let end = readme.find("<!-- parameters:end -->").expect("end marker");
    let output = Command::new(env!("CARGO_BIN_EXE_agentpool")).args(["schema", "--reference"]).output().unwrap();
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).unwrap();
    assert!(
        readme[start..end] == generated,
        "README.md's parameter reference differs from the schema: regenerate it with \
         `cargo run -q -p agentpool -- schema --reference` between the markers"
    );
    for parameter in
        ["imageSource", "customizationSteps", "scaleSet.subnetId", "natGateway.publicIpCount", "agentPool.maxCapacity"]
    {
        assert!(generated.contains(&format!("`{parameter}`")), "reference lacks {parameter}");
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read("README.md");
    assert!(readme.contains("\ntests/run.sh\n"), "the README's quick start names tests/run.sh");
    assert!(read(".ci/run").contains("tests/run.sh"), ".ci/run calls the README's test command");
}

#[test]
fn the_schema_file_is_what_the_binary_enforces() {
    let output = Command::new(env!("CARGO_BIN_EXE_agentpool")).arg("schema").output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), read("yaml-templates/parameters/parameters.schema.json"));
}
