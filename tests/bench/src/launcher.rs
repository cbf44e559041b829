//! Benchmark 6: task start — from the moment the agent starts a task (`node launcher.js` in the
//! task's folder) to the binary's first request, against starting the binary directly; and the
//! size of the .vsix with its binaries.
//!
//! Task folders are staged in `.cache/bench/launcher/` as the .vsix lays them out: task.json of
//! `AgentPoolPreflight`, `extension-manifest/launcher/launcher.js` and the `agentpool` binary
//! under test as `bin/linux-x64/agentpool`; a second folder carries only
//! `bin/linux-x64/agentpool.br`, compressed with Node's zlib as `extension-manifest/build.sh` packs
//! it (brotli quality 11, window 2^24), copied afresh for each run so that every run is a first
//! start that decompresses. The compressed binary is kept as `.cache/bench/agentpool.br` beside the
//! sha256 of its source and made again only when the binary changes (about half a minute).
//!
//! The first request: every run gets a plain TCP listener on 127.0.0.1 (a thread) that records the
//! instant of its first accepted connection. The task's Azure connection (a service principal
//! with fake ids and secret) points its Resource Manager URL and its authority there, so that
//! connection is the token request or the first ARM call; its TLS handshake never happens, only the
//! accept instant counts, and the process group (the launcher and the binary) is killed then. The
//! task reads the parameter file `yaml-templates/parameters/sbx.parameters.linux.json` (inputs
//! `environment` sbx, `os` linux, from the workspace root as working directory) before it calls.

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{median, min_max, verdict, BoxError};

/// The task started.
const TASK: &str = "AgentPoolPreflight";
/// The binary's place in a task folder.
const BINARY: &str = "bin/linux-x64/agentpool";
/// Target: launcher start → the binary's first request, in milliseconds.
pub const TARGET_MS: f64 = 150.0;
/// Target: the .vsix's size, the limit `extension-manifest/build.sh` checks (25 MiB).
pub const VSIX_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// The fake Azure Resource Manager service connection's id.
const CONNECTION: &str = "3f6c2a9e-8b1d-4e57-a0c4-95d2e7b16f38";
/// How long a start may take before the run counts as broken.
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const MIB: f64 = 1024.0 * 1024.0;

/// Compresses argv[1] into argv[2] as extension-manifest/build.sh does.
const COMPRESS_JS: &str = r#"
const fs = require('fs');
const zlib = require('zlib');
const [source, target] = process.argv.slice(1);
const data = fs.readFileSync(source);
fs.writeFileSync(target, zlib.brotliCompressSync(data, {
  params: {
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC,
    [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
    [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
  },
}));
"#;

/// Prints the decompressed length of each brotli file of argv[1..].
const RAW_LENGTHS_JS: &str = r#"
const fs = require('fs');
const zlib = require('zlib');
for (const file of process.argv.slice(1)) console.log(zlib.brotliDecompressSync(fs.readFileSync(file)).length);
"#;

/// Lists the binaries of the .vsix argv[1] (entries `.../bin/<platform>/agentpool*`), one row per
/// distinct file with the number of task folders carrying it, and extracts each distinct `.br`
/// into the folder argv[2].
const VSIX_PY: &str = r#"
import json, os, sys, zipfile
vsix, out = sys.argv[1], sys.argv[2]
groups = {}
with zipfile.ZipFile(vsix) as z:
    for info in z.infolist():
        parts = info.filename.split('/')
        if info.is_dir() or len(parts) < 3 or parts[-3] != 'bin' or not parts[-1].startswith('agentpool'):
            continue
        key = (parts[-2] + '/' + parts[-1], info.CRC, info.file_size)
        if key not in groups:
            row = {'name': 'bin/' + key[0], 'bytes': info.file_size, 'copies': 0, 'extracted': None}
            if parts[-1].endswith('.br'):
                row['extracted'] = os.path.join(out, '%d-%s' % (len(groups), parts[-1]))
                with z.open(info) as source, open(row['extracted'], 'wb') as target:
                    target.write(source.read())
            groups[key] = row
        groups[key]['copies'] += 1
print(json.dumps(list(groups.values())))
"#;

/// Milliseconds of each run, per way of starting.
pub struct Results {
    pub runs: usize,
    pub node_version: String,
    /// The 1-minute load average when the runs began (/proc/loadavg).
    pub load: Option<String>,
    /// The binary under test and its size.
    pub binary: PathBuf,
    pub binary_bytes: u64,
    /// Its brotli size, as staged.
    pub brotli_bytes: u64,
    /// (a) `agentpool task AgentPoolPreflight`.
    pub direct: Vec<f64>,
    /// (b) `node launcher.js`, the binary unpacked.
    pub launcher: Vec<f64>,
    /// (c) `node launcher.js` in a fresh folder with only the `.br`.
    pub unpacking: Vec<f64>,
    /// `node -e ""`, spawn → exit.
    pub node: Vec<f64>,
    pub vsix: Option<Vsix>,
}

/// The newest .vsix in target/vsix.
pub struct Vsix {
    pub path: PathBuf,
    pub bytes: u64,
    /// Its binaries, or why they could not be read.
    pub binaries: Result<Vec<VsixBinary>, String>,
}

/// One distinct binary file of the .vsix.
pub struct VsixBinary {
    /// `bin/<platform>/<file>`.
    pub name: String,
    /// How many task folders carry it.
    pub copies: usize,
    /// Its size in the .vsix (the brotli size for a `.br`).
    pub bytes: u64,
    /// The decompressed size of a `.br`.
    pub raw: Option<u64>,
}

/// Stages the task folders in `work/launcher` and measures `runs` starts of each kind.
pub fn run(root: &Path, agentpool: &Path, node: &str, runs: usize, work: &Path) -> Result<Results, BoxError> {
    let dir = work.join("launcher");
    let _ = std::fs::remove_dir_all(&dir);
    let logs = dir.join("logs");
    let temp = dir.join("agent-temp");
    for d in [&logs, &temp] {
        std::fs::create_dir_all(d)?;
    }
    let node_version = String::from_utf8(
        Command::new(node).arg("--version").output().map_err(|e| format!("cannot run {node}: {e}"))?.stdout,
    )?
    .trim()
    .to_owned();

    let unpacked = dir.join("task");
    stage(root, &unpacked)?;
    std::fs::copy(agentpool, unpacked.join(BINARY))?;
    let brotli = compressed(agentpool, node, work)?;
    let packed = dir.join("packed");
    stage(root, &packed)?;
    std::fs::copy(&brotli, packed.join(format!("{BINARY}.br")))?;

    let start = Start { root, node, temp: &temp };
    let direct = || {
        let mut command = Command::new(agentpool);
        command.args(["task", TASK]);
        command
    };
    let launcher = |folder: &Path| {
        let mut command = Command::new(node);
        command.arg(folder.join("launcher.js"));
        command
    };
    // Warm-up, not counted: the page cache, node's own first start.
    start.first_request(direct(), &logs.join("warm-up-direct.log"))?;
    start.first_request(launcher(&unpacked), &logs.join("warm-up-launcher.log"))?;
    start.until_exit(Command::new(node).args(["-e", ""]))?;

    let mut results = Results {
        runs,
        node_version,
        load: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned)),
        binary: agentpool.to_owned(),
        binary_bytes: std::fs::metadata(agentpool)?.len(),
        brotli_bytes: std::fs::metadata(&brotli)?.len(),
        direct: Vec::new(),
        launcher: Vec::new(),
        unpacking: Vec::new(),
        node: Vec::new(),
        vsix: vsix(root, node, &dir.join("vsix")),
    };
    // Interleaved, so that whatever else the machine does weighs on every kind alike.
    for run in 1..=runs {
        results.direct.push(start.first_request(direct(), &logs.join(format!("direct-{run}.log")))?);
        results.launcher.push(start.first_request(launcher(&unpacked), &logs.join(format!("launcher-{run}.log")))?);
        let fresh = dir.join(format!("first-start-{run}"));
        stage(root, &fresh)?;
        std::fs::copy(packed.join(format!("{BINARY}.br")), fresh.join(format!("{BINARY}.br")))?;
        results.unpacking.push(start.first_request(launcher(&fresh), &logs.join(format!("first-start-{run}.log")))?);
        if !fresh.join(BINARY).exists() {
            return Err(format!("the launcher left no {} in {}", BINARY, fresh.display()).into());
        }
        std::fs::remove_dir_all(&fresh)?;
        results.node.push(start.until_exit(Command::new(node).args(["-e", ""]))?);
    }
    eprintln!(
        "  task start, {runs} runs: direct {:.1} ms, launcher {:.1} ms, first start {:.1} ms (medians)",
        median(&results.direct),
        median(&results.launcher),
        median(&results.unpacking)
    );
    Ok(results)
}

/// A task folder without its binary: task.json and launcher.js.
fn stage(root: &Path, folder: &Path) -> Result<(), BoxError> {
    std::fs::create_dir_all(folder.join(BINARY).parent().unwrap_or(folder))?;
    std::fs::copy(root.join("extension-manifest/tasks").join(TASK).join("task.json"), folder.join("task.json"))?;
    std::fs::copy(root.join("extension-manifest/launcher/launcher.js"), folder.join("launcher.js"))?;
    Ok(())
}

/// `work/agentpool.br`, compressed again only when `binary`'s sha256 differs from the one recorded.
fn compressed(binary: &Path, node: &str, work: &Path) -> Result<PathBuf, BoxError> {
    let output = work.join("agentpool.br");
    let recorded = work.join("agentpool.br.sha256");
    let sum = Command::new("sha256sum").arg(binary).output().map_err(|e| format!("cannot run sha256sum: {e}"))?;
    let sum = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or_default().to_owned();
    if output.exists() && !sum.is_empty() && std::fs::read_to_string(&recorded).ok().as_deref() == Some(&sum) {
        return Ok(output);
    }
    eprintln!("  task start: compressing {} with brotli (quality 11, window 24), once per binary", binary.display());
    let temporary = work.join("agentpool.br.tmp");
    let status = Command::new(node).args(["-e", COMPRESS_JS]).arg(binary).arg(&temporary).status()?;
    if !status.success() {
        return Err(format!("brotli compression of {} failed ({status})", binary.display()).into());
    }
    std::fs::rename(&temporary, &output)?;
    std::fs::write(&recorded, sum)?;
    Ok(output)
}

/// How every run starts: from the workspace root, with the environment of a pipeline job.
struct Start<'a> {
    root: &'a Path,
    node: &'a str,
    temp: &'a Path,
}

impl Start<'_> {
    /// What the agent hands the task, its Azure connection at `port`.
    fn vars(&self, port: u16) -> Vec<(String, String)> {
        let url = format!("https://127.0.0.1:{port}/");
        let id = CONNECTION;
        let mut vars: Vec<(String, String)> = [
            ("INPUT_CONNECTEDSERVICENAMEARM", id),
            ("INPUT_ENVIRONMENT", "sbx"),
            ("INPUT_OS", "linux"),
            ("TF_BUILD", "True"),
            ("SYSTEM_HOSTTYPE", "build"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (key, value) in [
            (format!("ENDPOINT_URL_{id}"), url.clone()),
            (format!("ENDPOINT_AUTH_SCHEME_{id}"), "ServicePrincipal".to_owned()),
            (format!("ENDPOINT_AUTH_PARAMETER_{id}_AUTHENTICATIONTYPE"), "spnKey".to_owned()),
            (
                format!("ENDPOINT_AUTH_PARAMETER_{id}_SERVICEPRINCIPALID"),
                "11111111-2222-3333-4444-555555555555".to_owned(),
            ),
            (format!("ENDPOINT_AUTH_PARAMETER_{id}_SERVICEPRINCIPALKEY"), "not-a-secret".to_owned()),
            (format!("ENDPOINT_AUTH_PARAMETER_{id}_TENANTID"), "66666666-7777-8888-9999-000000000000".to_owned()),
            (format!("ENDPOINT_DATA_{id}_SUBSCRIPTIONID"), "00000000-0000-0000-0000-000000000000".to_owned()),
            (format!("ENDPOINT_DATA_{id}_SCOPELEVEL"), "Subscription".to_owned()),
            (format!("ENDPOINT_DATA_{id}_ENVIRONMENTAUTHORITYURL"), url),
            ("AGENT_TEMPDIRECTORY".to_owned(), self.temp.display().to_string()),
        ] {
            vars.push((key, value));
        }
        vars
    }

    /// `command` in its own process group, with only PATH and HOME of this process's environment.
    fn prepare(&self, command: &mut Command, port: u16) {
        command.env_clear();
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.envs(self.vars(port)).current_dir(self.root).stdin(Stdio::null()).process_group(0);
    }

    /// Milliseconds from spawning `command` to the first connection it makes to its Azure
    /// connection; its output goes to `log`. The process group is killed then.
    fn first_request(&self, mut command: Command, log: &Path) -> Result<f64, BoxError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let (accepted, first) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let at = Instant::now();
                drop(stream);
                let _ = accepted.send(at);
            }
        });
        self.prepare(&mut command, port);
        let output = File::create(log)?;
        command.stdout(output.try_clone()?).stderr(output);
        let began = Instant::now();
        let mut child = command.spawn().map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let outcome = loop {
            match first.recv_timeout(Duration::from_millis(20)) {
                Ok(at) => break Ok(at.duration_since(began).as_secs_f64() * 1000.0),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        break Err(format!("it ended ({status}) before its first request"));
                    }
                    if began.elapsed() > FIRST_REQUEST_TIMEOUT {
                        break Err(format!("no request within {} s", FIRST_REQUEST_TIMEOUT.as_secs()));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break Err("the listener failed".to_owned()),
            }
        };
        // The group before the child is reaped: its id cannot have been reused yet.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).stderr(Stdio::null()).status();
        let _ = child.wait();
        if outcome.is_err() {
            let _ = TcpStream::connect(("127.0.0.1", port));
        }
        let _ = thread.join();
        outcome.map_err(|problem| {
            let mut text = String::new();
            let _ = File::open(log).and_then(|mut f| f.read_to_string(&mut text));
            format!(
                "task start: {:?} {:?}: {problem}; its output ({}):\n{text}",
                command.get_program(),
                command.get_args().collect::<Vec<_>>(),
                log.display()
            )
            .into()
        })
    }

    /// Milliseconds from spawning `command` to its exit.
    fn until_exit(&self, command: &mut Command) -> Result<f64, BoxError> {
        self.prepare(command, 0);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let began = Instant::now();
        let status = command.status()?;
        let elapsed = began.elapsed().as_secs_f64() * 1000.0;
        if !status.success() {
            return Err(format!("{} -e \"\" failed ({status})", self.node).into());
        }
        Ok(elapsed)
    }
}

/// The newest `target/vsix/*.vsix` with its binaries, if one was built.
fn vsix(root: &Path, node: &str, dir: &Path) -> Option<Vsix> {
    let newest = std::fs::read_dir(root.join("target/vsix"))
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "vsix"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()?;
    let path = newest.1;
    let bytes = std::fs::metadata(&path).ok()?.len();
    let binaries = vsix_binaries(&path, node, dir).map_err(|e| e.to_string());
    Some(Vsix { path, bytes, binaries })
}

/// The distinct binaries in `vsix` (python3's zipfile), with the raw size of each `.br` (Node's zlib).
fn vsix_binaries(vsix: &Path, node: &str, dir: &Path) -> Result<Vec<VsixBinary>, BoxError> {
    std::fs::create_dir_all(dir)?;
    let output = Command::new("python3")
        .args(["-c", VSIX_PY])
        .arg(vsix)
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run python3 (it reads the .vsix): {e}"))?;
    if !output.status.success() {
        return Err(
            format!("python3 could not read {}: {}", vsix.display(), String::from_utf8_lossy(&output.stderr)).into()
        );
    }
    let rows: Vec<Value> = serde_json::from_slice(&output.stdout)?;
    let extracted: Vec<&str> = rows.iter().filter_map(|r| r["extracted"].as_str()).collect();
    let mut raw_sizes = Vec::new();
    if !extracted.is_empty() {
        let output = Command::new(node).args(["-e", RAW_LENGTHS_JS]).args(&extracted).output()?;
        if !output.status.success() {
            return Err(format!(
                "node could not decompress the .vsix's binaries: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        raw_sizes =
            String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.trim().parse::<u64>().ok()).collect();
    }
    let mut raw_sizes = raw_sizes.into_iter();
    Ok(rows
        .iter()
        .map(|row| VsixBinary {
            name: row["name"].as_str().unwrap_or_default().to_owned(),
            copies: row["copies"].as_u64().unwrap_or_default() as usize,
            bytes: row["bytes"].as_u64().unwrap_or_default(),
            raw: row["extracted"].as_str().and_then(|_| raw_sizes.next()),
        })
        .collect())
}

/// The table of benchmark 6.
pub fn section(results: &Results, root: &Path, line: &mut impl FnMut(String)) {
    let relative = |path: &Path| path.strip_prefix(root).unwrap_or(path).display().to_string();
    line(String::new());
    line(format!(
        "6. task start: spawn → the binary's first request (its Azure connection's first TCP connection, accepted on 127.0.0.1) \
         of `{TASK}` in task mode, {} runs each, node {}{}",
        results.runs,
        results.node_version,
        results.load.as_deref().map(|l| format!(", load average {l} as they began")).unwrap_or_default()
    ));
    line(String::new());
    line("| start | median | min | max | ÷ binary direct | target | |".to_owned());
    line("|---|---|---|---|---|---|---|".to_owned());
    let baseline = median(&results.direct);
    let row = |name: &str, values: &[f64], target: bool| {
        let m = median(values);
        let (lo, hi) = min_max(values);
        let (target, met) = if target {
            (format!("≤ {TARGET_MS:.0} ms"), verdict(m <= TARGET_MS).to_owned())
        } else {
            (String::new(), String::new())
        };
        format!("| {name} | {m:.1} ms | {lo:.1} ms | {hi:.1} ms | {:.2}× | {target} | {met} |", m / baseline)
    };
    line(row(&format!("(a) baseline: `agentpool task {TASK}`, the binary directly"), &results.direct, false));
    line(row("(b) `node launcher.js`, the binary already unpacked", &results.launcher, true));
    line(row(
        &format!("(c) `node launcher.js`, first start: decompresses `{BINARY}.br` (fresh folder each run)"),
        &results.unpacking,
        true,
    ));
    line(row("reference: `node -e \"\"`, spawn → exit", &results.node, false));
    line(format!(
        "   medians: the launcher adds {:.1} ms (b − a); decompressing and writing the binary adds {:.1} ms (c − b)",
        median(&results.launcher) - baseline,
        median(&results.unpacking) - median(&results.launcher)
    ));
    line(format!(
        "   binary under test: {}, {:.1} MiB; brotli (quality 11, window 2^24, Node's zlib as extension-manifest/build.sh) {:.1} MiB ({:.2}×)",
        relative(&results.binary),
        results.binary_bytes as f64 / MIB,
        results.brotli_bytes as f64 / MIB,
        results.binary_bytes as f64 / results.brotli_bytes as f64
    ));
    match &results.vsix {
        None => line("   .vsix: not built (no target/vsix/*.vsix); `extension-manifest/build.sh` builds it".to_owned()),
        Some(vsix) => {
            line(format!(
                "   .vsix: {}, {:.2} MiB ({} bytes): ≤ 25 MiB, the limit extension-manifest/build.sh checks: {}",
                relative(&vsix.path),
                vsix.bytes as f64 / MIB,
                vsix.bytes,
                verdict(vsix.bytes <= VSIX_MAX_BYTES)
            ));
            match &vsix.binaries {
                Err(error) => line(format!("   its binaries could not be read: {error}")),
                Ok(binaries) => {
                    line(String::new());
                    line(
                        "| binary in the .vsix | task folders | raw | brotli | raw ÷ brotli | all copies |".to_owned(),
                    );
                    line("|---|---|---|---|---|---|".to_owned());
                    for b in binaries {
                        let (raw, brotli, ratio) = match b.raw {
                            Some(raw) => (
                                format!("{:.2} MiB", raw as f64 / MIB),
                                format!("{:.2} MiB", b.bytes as f64 / MIB),
                                format!("{:.2}×", raw as f64 / b.bytes as f64),
                            ),
                            None => (
                                format!("{:.2} MiB", b.bytes as f64 / MIB),
                                "not brotli-packed".to_owned(),
                                String::new(),
                            ),
                        };
                        line(format!(
                            "| {} | {} | {raw} | {brotli} | {ratio} | {:.2} MiB |",
                            b.name,
                            b.copies,
                            (b.bytes * b.copies as u64) as f64 / MIB
                        ));
                    }
                }
            }
        }
    }
}
