//! The Azure DevOps extension as `extension-manifest/build.sh` packages it (the `.vsix` named by
//! `AGENTPOOL_VSIX`, else the one in `target/vsix/`; `tests/run.sh` builds it first): at most
//! 25 MB; its manifests name every task of `extension-manifest/tasks`; each task folder carries its
//! task.json, the launcher and both binaries, as the agent downloads a task's folder alone; the
//! Linux binary is static and runs, the Windows binary runs under wine64 (Debian's `wine64`,
//! installed by `tests/run.sh`), and it also deploys: `preflight`, `plan` and `infra deploy` of
//! the sbx Windows example against the local emulator, as the tasks run it on a Windows agent.
//!
//! Without a `.vsix` the tests fail (never skip) and say how to build one.

mod local_azure;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use local_azure::{local_azure, workspace, Session};
use serde_json::Value;

/// The largest `.vsix` we ship: every task folder carries both binaries.
const MAX_VSIX_BYTES: u64 = 25_000_000;
const LINUX_BINARY: &str = "bin/linux-x64/agentpool";
const WINDOWS_BINARY: &str = "bin/windows-x64/agentpool.exe";
const WINDOWS_EXAMPLE: &str = "yaml-templates/parameters/sbx.parameters.windows.json";
/// How long one command under wine64 may take.
const WINE_TIMEOUT: Duration = Duration::from_secs(300);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!("exit {:?}\n--- stdout\n{}--- stderr\n{}", output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// The `.vsix` under test: `$AGENTPOOL_VSIX` (relative to the workspace root), else the only
/// `*.vsix` in `target/vsix/`. Panics, with how to build one, when there is none.
fn vsix() -> PathBuf {
    let root = workspace();
    if let Some(path) = std::env::var_os("AGENTPOOL_VSIX").filter(|v| !v.is_empty()) {
        let path = root.join(path);
        assert!(path.is_file(), "AGENTPOOL_VSIX={} does not exist: run extension-manifest/build.sh", path.display());
        return path;
    }
    let dir = root.join("target/vsix");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "vsix"))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        found.len() == 1,
        "expected one .vsix in {} (found {found:?}): build it with extension-manifest/build.sh \
         (tests/run.sh does; `tests/run.sh --quick` does not), or name one with AGENTPOOL_VSIX",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

/// The `.vsix` unpacked (by Python's zipfile) and its Linux and Windows binaries decompressed once
/// for the whole test binary, in `target/vsix-test/<pid>` (those of ended processes are removed).
struct Unpacked {
    vsix: PathBuf,
    dir: PathBuf,
    linux: PathBuf,
    windows: PathBuf,
}

fn unpacked() -> &'static Unpacked {
    static UNPACKED: OnceLock<Unpacked> = OnceLock::new();
    UNPACKED.get_or_init(|| {
        let vsix = vsix();
        // Under target/: the Windows binary must be reachable through Wine's Z: drive, and the
        // folder is replaced at every run.
        let parent = workspace().join("target/vsix-test");
        for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            if !Path::new("/proc").join(entry.file_name()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = parent.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let contents = dir.join("contents");
        std::fs::create_dir_all(&contents).unwrap();
        let unzip = Command::new("python3")
            .args(["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])"])
            .arg(&vsix)
            .arg(&contents)
            .output()
            .expect("python3 runs");
        assert!(unzip.status.success(), "cannot unzip {}: {}", vsix.display(), describe(&unzip));
        let task = first_task_folder(&contents);
        let linux = dir.join("linux-x64/agentpool");
        let windows = dir.join("windows-x64/agentpool.exe");
        for (relative, target) in [(LINUX_BINARY, &linux), (WINDOWS_BINARY, &windows)] {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            extract_binary(&task.join(relative), target);
        }
        Unpacked { vsix, dir, linux, windows }
    })
}

/// A task folder of the unpacked `.vsix` (all carry the same binaries: checked by the first test).
fn first_task_folder(contents: &Path) -> PathBuf {
    let mut tasks: Vec<PathBuf> =
        std::fs::read_dir(contents.join("tasks")).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    tasks.sort();
    tasks.into_iter().next().expect("the .vsix has task folders")
}

/// Copies `binary`, or decompresses `binary.br` as the launcher does (Node's zlib brotli), to
/// `target`, executable.
fn extract_binary(binary: &Path, target: &Path) {
    let compressed = PathBuf::from(format!("{}.br", binary.display()));
    if binary.is_file() {
        std::fs::copy(binary, target).unwrap();
    } else {
        assert!(compressed.is_file(), "neither {} nor its .br is in the .vsix", binary.display());
        let node = Command::new("node")
            .args([
                "-e",
                "const fs = require('fs'), zlib = require('zlib');\
                 fs.writeFileSync(process.argv[2], zlib.brotliDecompressSync(fs.readFileSync(process.argv[1])));",
            ])
            .arg(&compressed)
            .arg(target)
            .output()
            .expect("node runs");
        assert!(node.status.success(), "cannot decompress {}: {}", compressed.display(), describe(&node));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// wine64 (`wine64` on PATH, else Debian's /usr/lib/wine/wine64).
fn wine64() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("wine64")).find(|p| p.is_file()))
        .unwrap_or_default();
    let found = on_path.or_else(|| Some(PathBuf::from("/usr/lib/wine/wine64")).filter(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!("wine64 is missing: install Debian's wine64 (`apt-get install wine64`; tests/run.sh does)")
    })
}

/// A command that runs `exe` under wine64, quiet, in a 64-bit prefix under `.cache/wine`, made
/// (`wineboot --init`) once per test binary: the time it takes is printed.
fn wine(exe: &Path) -> Command {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let prefix = workspace().join(".cache/wine");
        std::fs::create_dir_all(&prefix).unwrap();
        let started = Instant::now();
        let mut boot = Command::new(wine64());
        boot.args(["wineboot", "--init"]).env("WINEPREFIX", &prefix).env("WINEARCH", "win64").env("WINEDEBUG", "-all");
        let boot = run_wine(boot);
        assert!(boot.status.success(), "wineboot --init failed: {}", describe(&boot));
        eprintln!("wine64: prefix {} ready in {:.1} s", prefix.display(), started.elapsed().as_secs_f64());
        prefix
    });
    let mut command = Command::new(wine64());
    command.arg(exe).env("WINEPREFIX", prefix).env("WINEARCH", "win64").env("WINEDEBUG", "-all");
    command
}

/// Runs a wine64 command, its output captured in files rather than pipes (the wineserver it may
/// start inherits them and outlives the command, so reading pipes to their end would wait for it),
/// killed after [`WINE_TIMEOUT`].
fn run_wine(mut command: Command) -> Output {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = unpacked().dir.join("wine-output");
    std::fs::create_dir_all(&dir).unwrap();
    let (out, err) = (dir.join(format!("{n}.stdout")), dir.join(format!("{n}.stderr")));
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("wine64 runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > WINE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not end within {} s; its stderr so far:\n{}",
                WINE_TIMEOUT.as_secs(),
                text(&std::fs::read(&err).unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: std::fs::read(&out).unwrap(), stderr: std::fs::read(&err).unwrap() }
}

/// `path` as the Windows binary sees it under Wine, on drive Z: (the Unix root).
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn version_line() -> String {
    format!("agentpool {}", env!("CARGO_PKG_VERSION"))
}

/// The value of `attribute` in the first `<element …>` of an XML text (enough for the vsixmanifest's
/// Identity).
fn xml_attribute(xml: &str, element: &str, attribute: &str) -> Option<String> {
    let start = xml.find(&format!("<{element} "))?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {attribute}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_owned())
}

/// Whether an ELF file asks for a program interpreter (a PT_INTERP program header): a static
/// binary does not.
fn elf_interpreter(binary: &Path) -> bool {
    let bytes = std::fs::read(binary).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", binary.display());
    assert_eq!(bytes[4], 2, "{} is not 64-bit ELF", binary.display());
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let (offset, size, count) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..count).any(|n| u32::from_le_bytes(bytes[offset + n * size..][..4].try_into().unwrap()) == 3)
}

#[test]
fn the_vsix_carries_every_task_with_the_launcher_and_both_binaries_which_run() {
    let unpacked = unpacked();
    let size = std::fs::metadata(&unpacked.vsix).unwrap().len();
    assert!(size <= MAX_VSIX_BYTES, "{} is {size} bytes, over {MAX_VSIX_BYTES}", unpacked.vsix.display());

    let contents = unpacked.dir.join("contents");
    let source = workspace().join("extension-manifest");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(source.join("vss-extension.json")).unwrap())
        .expect("vss-extension.json");

    // The package's identity is the manifest's.
    let vsixmanifest =
        std::fs::read_to_string(contents.join("extension.vsixmanifest")).expect("extension.vsixmanifest");
    for (attribute, key) in [("Id", "id"), ("Version", "version"), ("Publisher", "publisher")] {
        assert_eq!(
            xml_attribute(&vsixmanifest, "Identity", attribute).as_deref(),
            manifest[key].as_str(),
            "Identity {attribute} in extension.vsixmanifest:\n{vsixmanifest}"
        );
    }

    // The contributed tasks are exactly the task folders of extension-manifest/tasks.
    let vsomanifest: Value = serde_json::from_str(
        &std::fs::read_to_string(contents.join("extension.vsomanifest")).expect("extension.vsomanifest"),
    )
    .expect("extension.vsomanifest is JSON");
    let contributed: BTreeSet<String> = vsomanifest["contributions"]
        .as_array()
        .expect("contributions")
        .iter()
        .filter(|c| c["type"] == "ms.vss-distributed-task.task")
        .map(|c| c["properties"]["name"].as_str().expect("a task contribution names its folder").to_owned())
        .collect();
    let sources: BTreeSet<String> = std::fs::read_dir(source.join("tasks"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("task.json").is_file())
        .map(|e| format!("tasks/{}", e.file_name().to_string_lossy()))
        .collect();
    assert_eq!(contributed, sources, "tasks contributed by the .vsix vs folders of extension-manifest/tasks");
    assert_eq!(contributed.len(), 7, "{contributed:?}");

    let launcher = std::fs::read(source.join("launcher/launcher.js")).unwrap();
    let mut binaries: Option<(Vec<u8>, Vec<u8>)> = None;
    for task in &contributed {
        let folder = contents.join(task);
        let task_json = std::fs::read(folder.join("task.json")).unwrap_or_else(|e| panic!("{task}/task.json: {e}"));
        let parsed: Value = serde_json::from_slice(&task_json).unwrap();
        assert_eq!(
            parsed,
            serde_json::from_slice::<Value>(&std::fs::read(source.join(task).join("task.json")).unwrap()).unwrap(),
            "{task}/task.json differs from its source"
        );
        assert_eq!(
            std::fs::read(folder.join("launcher.js")).unwrap_or_else(|e| panic!("{task}/launcher.js: {e}")),
            launcher,
            "{task}/launcher.js is not extension-manifest/launcher/launcher.js"
        );
        for handler in ["Node24", "Node20_1"] {
            assert_eq!(parsed["execution"][handler]["target"], "launcher.js", "{task}: {handler}");
        }
        let read = |relative: &str| {
            let plain = folder.join(relative);
            let compressed = PathBuf::from(format!("{}.br", plain.display()));
            std::fs::read(&compressed)
                .or_else(|_| std::fs::read(&plain))
                .unwrap_or_else(|_| panic!("{task} has neither {relative} nor {relative}.br"))
        };
        let these = (read(LINUX_BINARY), read(WINDOWS_BINARY));
        match &binaries {
            None => binaries = Some(these),
            Some(first) => assert!(first == &these, "{task} carries other binaries than the first task"),
        }
    }

    // The Linux binary: static (no program interpreter: it runs on any x86-64 Linux agent).
    assert!(!elf_interpreter(&unpacked.linux), "{} asks for a program interpreter", unpacked.linux.display());
    let linux = Command::new(&unpacked.linux).arg("--version").output().expect("the Linux binary runs");
    assert!(linux.status.success(), "{}", describe(&linux));
    assert_eq!(text(&linux.stdout).trim(), version_line());

    // The Windows binary, under wine64.
    assert_eq!(&std::fs::read(&unpacked.windows).unwrap()[..2], b"MZ", "not a Windows executable");
    let started = Instant::now();
    let mut windows = wine(&unpacked.windows);
    windows.arg("--version");
    let windows = run_wine(windows);
    assert!(windows.status.success(), "{}", describe(&windows));
    assert_eq!(text(&windows.stdout).trim(), version_line());
    eprintln!("agentpool.exe --version under wine64: {:.2} s", started.elapsed().as_secs_f64());
}

/// The Windows binary under wine64, set up for `session`: the emulator's variables with its CA
/// bundle as a Windows path (drive Z: is the Unix root), from the workspace root.
fn windows_agentpool(session: &Session, args: &[&str]) -> Output {
    let mut vars = session.vars();
    vars.insert("AGENTPOOL_CA_FILE".to_owned(), windows_path(&session.ca_bundle));
    let started = Instant::now();
    let mut command = wine(&unpacked().windows);
    command.args(args).current_dir(workspace()).envs(vars);
    let output = run_wine(command);
    eprintln!("agentpool.exe {} under wine64: {:.1} s", args.join(" "), started.elapsed().as_secs_f64());
    output
}

/// The infra resources of the Windows example as the (Linux) offline plan names them.
fn infra_resources(session: &Session) -> Vec<(String, String)> {
    let output = session.agentpool(&[
        "plan",
        "--offline",
        "--parameters",
        WINDOWS_EXAMPLE,
        "--output",
        "json",
        "--subscription",
        &session.ready.subscription_id,
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["stage"] == "infra")
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["apiVersion"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn the_windows_binary_under_wine_checks_plans_and_deploys_the_windows_example_against_the_emulator() {
    let session = local_azure().session("vsix-windows", |_| {});

    let preflight = windows_agentpool(&session, &["preflight", "--scope", "infra", "--parameters", WINDOWS_EXAMPLE]);
    assert_eq!(preflight.status.code(), Some(0), "preflight: {}", describe(&preflight));
    assert!(text(&preflight.stderr).lines().any(|l| l.starts_with("preflight: passed")), "{}", describe(&preflight));

    let plan = windows_agentpool(&session, &["plan", "--scope", "infra", "--parameters", WINDOWS_EXAMPLE]);
    assert!(plan.status.success(), "plan: {}", describe(&plan));
    let planned = text(&plan.stdout) + &text(&plan.stderr);
    assert!(planned.contains("+ create"), "plan creates nothing:\n{planned}");
    assert_eq!(session.writes_recorded(), 0, "preflight or plan wrote to Azure");

    let deploy = windows_agentpool(&session, &["infra", "deploy", "--parameters", WINDOWS_EXAMPLE]);
    assert!(deploy.status.success(), "infra deploy: {}", describe(&deploy));
    let printed = text(&deploy.stdout);
    let resources = infra_resources(&session);
    assert!(!resources.is_empty());
    for (id, api_version) in &resources {
        assert!(printed.lines().any(|line| line == id), "{id} not printed:\n{}", describe(&deploy));
        assert!(session.arm_get(id, api_version).is_some(), "{id} does not exist after infra deploy");
    }
    // The script, read by the Windows binary through its Windows path, lands byte for byte.
    let script = "Install-Tools.ps1";
    let url =
        format!("https://127.0.0.1:{}/stagentssbxscripts/aibscripts/windows/{script}", local_azure().azurite_port);
    assert_eq!(
        session.read_blob(&url),
        std::fs::read(workspace().join("yaml-templates/scripts/windows").join(script)).unwrap(),
        "{script} differs in Azurite"
    );

    let again = windows_agentpool(&session, &["plan", "--scope", "infra", "--parameters", WINDOWS_EXAMPLE]);
    assert!(again.status.success(), "second plan: {}", describe(&again));
    assert!(text(&again.stderr).contains("plan: no changes"), "{}", describe(&again));
}
