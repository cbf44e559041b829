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
    for parameter in [
        "imageSource",
        "customizationSteps",
        "imageBuilderRole",
        "buildSubnetId",
        "scaleSet.subnetId",
        "natGateway.publicIpCount",
        "agentPool.maxCapacity",
    ] {
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

#[test]
fn the_readme_names_the_rights_each_image_builder_role_needs() {
    let readme = read("README.md");
    for row in [
        "| `leastPrivilege` | `Microsoft.Authorization/roleDefinitions/write`",
        "| `contributor` | `Microsoft.Authorization/roleAssignments/write`",
    ] {
        assert!(readme.contains(row), "README.md's rights table lacks the row starting {row}");
    }
    for role in [
        "Owner",
        "User Access Administrator",
        "Role Based Access Control Administrator",
        "Storage Blob Data Contributor",
    ] {
        assert!(readme.contains(role), "README.md's rights table names no {role}");
    }
    assert!(
        !readme.contains("least privilege: Contributor"),
        "README.md calls Contributor on the whole image resource group least privilege"
    );
}

/// Users never see references to the documents the project was specified in ("seed" and a
/// three-digit number): help texts, the README, the schema, comments and messages say what the
/// thing is.
#[test]
fn no_user_facing_text_refers_to_specification_documents() {
    let needle = ["seed", " 0"].concat();
    let mut offending = Vec::new();
    let mut visit = vec![workspace().join("README.md")];
    for folder in ["core", "task-bin", "yaml-templates", "tests/fixtures", "tests/emulator", "extension-manifest"] {
        visit.push(workspace().join(folder));
    }
    while let Some(path) = visit.pop() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if ["target", "node_modules", ".cache"].contains(&name) {
            continue;
        }
        if path.is_dir() {
            visit.extend(std::fs::read_dir(&path).into_iter().flatten().filter_map(|e| e.ok().map(|e| e.path())));
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for (number, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let mentions = lower.match_indices(&needle).any(|(at, _)| {
                let digits = &lower[at + needle.len() - 1..];
                digits.len() >= 3 && digits.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            });
            if mentions {
                offending.push(format!("{}:{}: {}", path.display(), number + 1, line.trim()));
            }
        }
    }
    let help = Command::new(env!("CARGO_BIN_EXE_agentpool")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_lowercase();
    if help.contains(&needle) {
        offending.push(format!("agentpool --help: {help}"));
    }
    assert!(offending.is_empty(), "say what the thing is instead:\n{}", offending.join("\n"));
}
