//! The official specs the tests read are pinned in `tests/specs/manifest.tsv` (repository, commit,
//! path, git blob id), and `tests/specs/fetch.sh` fetches them from their public repositories when
//! the specs folder is absent.
//!
//! * the manifest names exactly the files of the specs folder in use (`$AGENTPOOL_SPECS_DIR`, its
//!   `README.md` aside, which is not an upstream file), each with its git blob id, computed by
//!   `git hash-object` (an implementation apart from the script's);
//! * the fetch against a local mirror (`AGENTPOOL_SPECS_MIRROR=file://…`, laid out like
//!   raw.githubusercontent.com): every file arrives byte-identical, a second run downloads nothing,
//!   a tampered file fails with one line naming it and both blob ids, a missing file fails with one
//!   line naming it, and a malformed manifest line is refused before any download.

// Only the folder helpers of `support` are used here, not its re-exported oav harness.
#[allow(unused_imports)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// One line of the manifest.
#[derive(Debug, Clone)]
struct Entry {
    repository: String,
    commit: String,
    path: String,
    blob: String,
}

impl Entry {
    /// Where the file lives in a specs folder: `<repository name>/<path>`.
    fn local_path(&self) -> String {
        let name = self.repository.split_once('/').map_or(self.repository.as_str(), |(_, name)| name);
        format!("{name}/{}", self.path)
    }

    /// Where the file lives in a mirror laid out like raw.githubusercontent.com.
    fn mirror_path(&self) -> String {
        format!("{}/{}/{}", self.repository, self.commit, self.path)
    }
}

fn manifest_file() -> PathBuf {
    support::workspace_root().join("tests/specs/manifest.tsv")
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(manifest_file()).expect("tests/specs/manifest.tsv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("repository\tcommit\tpath\tblob"), "manifest header");
    lines
        .enumerate()
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [repository, commit, path, blob] = fields[..] else {
                panic!("manifest line {}: expected 4 tab-separated fields: {line:?}", index + 2)
            };
            Entry { repository: repository.into(), commit: commit.into(), path: path.into(), blob: blob.into() }
        })
        .collect()
}

/// Every file under `dir`, as a `/`-separated path relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                found.insert(
                    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"),
                );
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(dir, dir, &mut found);
    found
}

/// The git blob ids of `files`, in order (`git hash-object --no-filters`: the bytes as they are).
fn git_blob_ids(files: &[PathBuf]) -> Vec<String> {
    let mut child = Command::new("git")
        .args(["hash-object", "--no-filters", "--stdin-paths"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git runs");
    let mut stdin = child.stdin.take().expect("stdin");
    for file in files {
        writeln!(stdin, "{}", file.display()).expect("write to git");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("git hash-object");
    assert!(output.status.success(), "git hash-object: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").lines().map(str::to_owned).collect()
}

#[test]
fn manifest_pins_exactly_the_specs_in_use() {
    let specs = support::specs_dir();
    let entries = manifest();
    let listed: BTreeSet<String> = entries.iter().map(Entry::local_path).collect();
    assert_eq!(listed.len(), entries.len(), "a path is listed twice in the manifest");

    let mut present = files_under(&specs);
    present.remove("README.md");
    let unlisted: Vec<_> = present.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&present).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "{} and tests/specs/manifest.tsv differ (a stale fetched folder can be deleted: it is fetched again)\n\
         in the folder, not in the manifest: {unlisted:#?}\nin the manifest, not in the folder: {missing:#?}",
        specs.display()
    );

    let ids = git_blob_ids(&entries.iter().map(|e| specs.join(e.local_path())).collect::<Vec<_>>());
    let wrong: Vec<String> = entries
        .iter()
        .zip(&ids)
        .filter(|(entry, id)| entry.blob != **id)
        .map(|(entry, id)| format!("{}: git blob id {id}, manifest {}", entry.local_path(), entry.blob))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let mut commits: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for entry in &entries {
        commits.entry(&entry.repository).or_default().insert(&entry.commit);
    }
    let mixed: Vec<_> = commits.iter().filter(|(_, c)| c.len() != 1).collect();
    assert!(mixed.is_empty(), "one commit per repository: {mixed:?}");
}

/// `bash <script> <dest>` with `AGENTPOOL_SPECS_MIRROR=file://<mirror>`.
fn fetch(script: &Path, mirror: &Path, dest: &Path) -> Output {
    Command::new("bash")
        .arg(script)
        .arg(dest)
        .env("AGENTPOOL_SPECS_MIRROR", format!("file://{}", mirror.display()))
        .output()
        .expect("bash runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A mirror laid out like raw.githubusercontent.com, built from the specs in use.
fn mirror_of(specs: &Path, entries: &[Entry], mirror: &Path) {
    for entry in entries {
        let target = mirror.join(entry.mirror_path());
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mirror folder");
        std::fs::copy(specs.join(entry.local_path()), &target).expect("mirror copy");
    }
}

/// Asserts a failed fetch: non-zero exit, nothing on stdout, exactly one line on stderr.
fn one_line_failure(output: &Output) -> String {
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "the fetch succeeded: {}", text(&output.stdout));
    assert_eq!(text(&output.stdout), "", "no summary on failure");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr.trim_end().to_owned()
}

#[test]
fn fetch_from_a_local_mirror_verifies_every_file() {
    let specs = support::specs_dir();
    let entries = manifest();
    let script = support::workspace_root().join("tests/specs/fetch.sh");
    let tmp = support::TempDir::new("specs-fetch");
    let (mirror, dest) = (tmp.path().join("mirror"), tmp.path().join("specs"));
    mirror_of(&specs, &entries, &mirror);

    let first = fetch(&script, &mirror, &dest);
    let stdout = text(&first.stdout);
    assert!(first.status.success(), "{}{}", stdout, text(&first.stderr));
    let summary = format!(
        "fetched {} official spec files from their public repositories at pinned commits into {}",
        entries.len(),
        dest.display()
    );
    assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
    assert!(stdout.starts_with(&summary), "{stdout}");
    assert!(stdout.contains(&format!("{} downloaded", entries.len())), "{stdout}");
    let fetched = files_under(&dest);
    assert_eq!(fetched, entries.iter().map(Entry::local_path).collect::<BTreeSet<_>>(), "no stray files");
    for entry in &entries {
        let (got, want) = (dest.join(entry.local_path()), specs.join(entry.local_path()));
        assert!(
            std::fs::read(&got).ok() == std::fs::read(&want).ok(),
            "{} differs from {}",
            got.display(),
            want.display()
        );
    }

    let again = fetch(&script, &mirror, &dest);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains(&format!(
            "0 downloaded from file://{}, {} already present",
            mirror.display(),
            entries.len()
        )),
        "{}",
        text(&again.stdout)
    );

    // A mirrored file that is not the pinned blob, with a local copy that is stale too.
    let victim = &entries[entries.len() / 2];
    let mirrored = mirror.join(victim.mirror_path());
    let mut tampered = std::fs::read(&mirrored).expect("mirrored file");
    tampered.extend_from_slice(b"\n");
    std::fs::write(&mirrored, &tampered).expect("tamper");
    std::fs::write(dest.join(victim.local_path()), b"stale").expect("stale local copy");
    let tampered_id = git_blob_ids(std::slice::from_ref(&mirrored)).remove(0);
    let error = one_line_failure(&fetch(&script, &mirror, &dest));
    let named = format!("{}@{}:{}", victim.repository, victim.commit, victim.path);
    for part in [named.as_str(), &format!("has git blob id {tampered_id}, expected {}", victim.blob)] {
        assert!(error.contains(part), "{part:?} not in {error:?}");
    }
    assert_eq!(
        std::fs::read(dest.join(victim.local_path())).expect("local copy"),
        b"stale",
        "a bad download is not kept"
    );
    assert!(!files_under(&dest).iter().any(|f| f.contains(".part.")), "no partial files left");

    std::fs::remove_file(&mirrored).expect("remove mirrored file");
    let error = one_line_failure(&fetch(&script, &mirror, &dest));
    assert!(error.contains(&format!("could not download {named} from file://{}", mirrored.display())), "{error}");
}

#[test]
fn fetch_refuses_a_malformed_manifest_line() {
    let tmp = support::TempDir::new("specs-manifest");
    let folder = tmp.path().join("tests/specs");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::copy(support::workspace_root().join("tests/specs/fetch.sh"), folder.join("fetch.sh"))
        .expect("copy script");
    let commit = "69e229f04cb6b91a82c97fc6f61d56055107c447";
    let blob = "d9d58aac50756a1b41ddc0d2e4b4b1f1b4c7f4d6";
    let manifest = format!(
        "repository\tcommit\tpath\tblob\nAzure/azure-resource-manager-rpc\t{commit}\tv1.0/../../escape.md\t{blob}\n"
    );
    std::fs::write(folder.join("manifest.tsv"), manifest).expect("manifest");
    let mirror = tmp.path().join("mirror");
    let error = one_line_failure(&fetch(&folder.join("fetch.sh"), &mirror, &tmp.path().join("specs")));
    assert!(error.starts_with("tests/specs/manifest.tsv:2: not 'owner/repository"), "{error}");
    assert!(!tmp.path().join("specs/azure-resource-manager-rpc").exists(), "nothing fetched");
}
