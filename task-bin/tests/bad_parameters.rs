//! Every bad parameter file in `tests/fixtures/bad-parameters/` fails before any call to Azure
//! with exactly the one-line messages of its `.expected` file and exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn agentpool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentpool"))
        .args(args)
        .current_dir(workspace())
        // Point every Azure endpoint at a closed port: a call would fail loudly instead of leaving.
        .env("AGENTPOOL_ARM_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .output()
        .expect("agentpool runs")
}

fn fixtures() -> Vec<(String, String)> {
    let dir = workspace().join("tests/fixtures/bad-parameters");
    let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext != "expected"))
        .map(|path| {
            let expected = std::fs::read_to_string(path.with_extension("expected"))
                .unwrap_or_else(|_| panic!("{} has no .expected file", path.display()));
            let relative = path.strip_prefix(workspace()).expect("inside workspace").to_string_lossy().into_owned();
            (relative, expected)
        })
        .collect();
    found.sort();
    found
}

/// The messages of an `.expected` file without the file name each line starts with: two
/// fixtures that expect the same thing differ only in that name.
fn without_file_name<'a>(file: &str, expected: &'a str) -> Vec<&'a str> {
    let prefix = format!("{file}: ");
    expected.lines().map(|line| line.strip_prefix(prefix.as_str()).unwrap_or(line)).collect()
}

/// Fixtures that expect the same messages, as `a and b` pairs (every pair, not only neighbours).
fn same_messages(all: &[(String, String)]) -> Vec<String> {
    let mut pairs = Vec::new();
    for (i, (a, expected_a)) in all.iter().enumerate() {
        for (b, expected_b) in &all[i + 1..] {
            if without_file_name(a, expected_a) == without_file_name(b, expected_b) {
                pairs.push(format!("{a} and {b}"));
            }
        }
    }
    pairs
}

#[test]
fn there_are_at_least_twelve_distinct_bad_files() {
    let all = fixtures();
    assert!(all.len() >= 12, "only {} bad parameter files", all.len());
    let same = same_messages(&all);
    assert!(same.is_empty(), "fixtures that expect the same messages:\n{}", same.join("\n"));
}

#[test]
fn fixtures_apart_in_the_listing_that_expect_the_same_messages_are_found() {
    let fixture = |file: &str, message: &str| (file.to_owned(), format!("{file}: {message}\n"));
    let all = [
        fixture("a.json", "parameters.x: bad — fix x"),
        fixture("b.json", "parameters.y: bad — fix y"),
        fixture("c.json", "parameters.x: bad — fix x"),
    ];
    assert_eq!(same_messages(&all), ["a.json and c.json"]);
}

#[test]
fn plan_rejects_each_bad_file_with_its_exact_messages_and_exit_code_2() {
    for (file, expected) in fixtures() {
        let output = agentpool(&["plan", "--offline", "--parameters", &file]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr, expected, "messages for {file}");
        assert_eq!(output.status.code(), Some(2), "exit code for {file}");
        assert!(output.stdout.is_empty(), "{file}: nothing is planned from a bad file");
        for line in stderr.lines() {
            assert!(line.starts_with(&format!("{file}: ")), "{file}: every line names the file: {line}");
            assert!(line.contains(" — "), "{file}: every line says how to fix it: {line}");
        }
    }
}

#[test]
fn validate_reports_the_same_messages() {
    for (file, expected) in fixtures() {
        let output = agentpool(&["validate", &file]);
        assert_eq!(String::from_utf8_lossy(&output.stderr), expected, "messages for {file}");
        assert_eq!(output.status.code(), Some(2), "exit code for {file}");
    }
}

#[test]
fn the_file_the_bad_ones_derive_from_is_valid() {
    let output = agentpool(&["plan", "--offline", "--parameters", "tests/fixtures/minimal.parameters.linux.json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_missing_environment_file_names_the_path_it_looked_for() {
    let output = agentpool(&["plan", "--offline", "--environment", "prd", "--os", "linux"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("yaml-templates/parameters/prd.parameters.linux.json: cannot read the file: "),
        "{stderr}"
    );
}

#[test]
fn unknown_environment_and_os_are_usage_errors() {
    let output = agentpool(&["plan", "--offline", "--environment", "qa", "--os", "linux"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "--environment: unknown environment 'qa' — use one of sbx, dev, int, prd\n"
    );
}

#[test]
fn in_a_pipeline_each_problem_is_an_error_issue_of_the_run() {
    let file = "tests/fixtures/bad-parameters/21-several-problems-at-once.json";
    let output = Command::new(env!("CARGO_BIN_EXE_agentpool"))
        .args(["validate", file])
        .current_dir(workspace())
        .env("TF_BUILD", "True")
        .env("AGENTPOOL_ARM_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .expect("agentpool runs");
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = std::fs::read_to_string(workspace().join(file).with_extension("expected")).unwrap();
    // Each problem an error issue with its file and line, as the agent shows it beside the code.
    let source = format!("##vso[task.logissue type=error;sourcepath={file};linenumber=");
    let issues: Vec<(&str, &str)> = stdout.lines().filter_map(|l| l.strip_prefix(&source)?.split_once(";]")).collect();
    let messages: Vec<&str> = issues.iter().map(|(_, message)| *message).collect();
    assert_eq!(messages, expected.lines().collect::<Vec<_>>(), "{stdout}");
    let lines: Vec<&str> = issues.iter().map(|(line, _)| *line).collect();
    let text = std::fs::read_to_string(workspace().join(file)).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    // The missing imageSource.value.sku is shown at its parent, imageSource's value.
    let expected = [line_of("\"V3\""), line_of("\"imageSource\"") + 1, line_of("2000"), line_of("\"ab\"")];
    assert_eq!(lines, expected.map(|l| l.to_string()), "{stdout}");
    assert!(output.stderr.is_empty(), "said once, as issues: {}", String::from_utf8_lossy(&output.stderr));
}
