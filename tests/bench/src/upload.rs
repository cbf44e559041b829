//! Benchmark 3: one big file uploaded to Azurite by agentpool's uploader
//! (`agentpool_core::blob::BlobScripts`, in process) and by Node's `@azure/storage-blob`
//! (`BlockBlobClient.uploadFile`, `tests/bench/upload.cjs`) with the same block size and
//! concurrency and an Entra token of the same emulator.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agentpool_core::apply::ScriptStore;
use agentpool_core::arm::{build_credential, choose_credential, client_options, ArmConfig};
use agentpool_core::blob::BlobScripts;
use agentpool_core::scripts::ScriptUpload;
use reqwest::Method;
use serde_json::Value;

use crate::local::{Azurite, Session, STORAGE_SCOPE};
use crate::BoxError;

const ACCOUNT: &str = crate::local::ACCOUNTS[1];
const CONTAINER: &str = "bench";

/// One round: ours, then Node's.
#[derive(Debug, Clone)]
pub struct Round {
    /// `BlobScripts::upload`: read, MD5, HEAD, blocks, commit.
    pub ours: Duration,
    /// Node: `uploadFile` alone.
    pub node_upload: Duration,
    /// Node: MD5 of the file + `getProperties` + `uploadFile` with that MD5 (the same work as ours).
    pub node_same_work: Duration,
}

/// Results of the upload benchmark.
#[derive(Debug, Clone)]
pub struct UploadResults {
    pub bytes: u64,
    pub partition_size: u64,
    pub parallel: usize,
    pub rounds: Vec<Round>,
    /// `BlobScripts::upload` of the unchanged file (read, MD5, HEAD; nothing sent), once per round.
    pub md5_skip: Vec<Duration>,
}

/// A file of `bytes` pseudo-random bytes at `path`, made once.
pub fn big_file(path: &Path, bytes: u64) -> Result<(), BoxError> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("partial");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&partial)?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for chunk in buffer.chunks_exact_mut(8) {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            chunk.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = left.min(buffer.len() as u64) as usize;
        out.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&partial, path)?;
    Ok(())
}

/// Runs `rounds` rounds of ours then Node's, deleting each blob after it was checked.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    azurite: &Azurite,
    root: &Path,
    node: &str,
    file: &Path,
    dir: &Path,
    rounds: usize,
) -> Result<UploadResults, BoxError> {
    let bytes = std::fs::metadata(file)?.len();
    let session = Session::start(runtime, azurite, dir, Vec::new())?;
    let vars = session.vars();
    let var = |name: &str| vars.get(name).cloned();
    let config = ArmConfig::from_vars(var)?;
    let options = client_options(&config)?;
    let credential = build_credential(&choose_credential(var)?, options.clone())?;
    let blobs = BlobScripts::new(credential, options);
    let container_url = azurite.url(ACCOUNT, CONTAINER);
    let upload = |blob_name: &str, local_path: &Path, bytes: u64| ScriptUpload {
        local_path: local_path.to_owned(),
        blob_name: blob_name.to_owned(),
        sha256: String::new(),
        bytes,
    };

    let token = runtime.block_on(async {
        let token = session.token(STORAGE_SCOPE).await?;
        let (status, _) = session.blob(Method::PUT, &format!("{container_url}?restype=container"), &token).await?;
        if !(status.is_success() || status == reqwest::StatusCode::CONFLICT) {
            return Err(format!("cannot create container {container_url}: {status}").into());
        }
        // Warm-up: the credential's token and a connection, outside the measurements.
        let warm = dir.join("warm-up.bin");
        std::fs::write(&warm, b"warm-up")?;
        blobs.upload(&container_url, &upload("warm-up.bin", &warm, 7)).await?;
        Ok::<_, BoxError>(token)
    })?;

    let check = |name: &str| -> Result<(), BoxError> {
        runtime.block_on(async {
            let url = format!("{container_url}/{name}");
            let (status, headers) = session.blob(Method::HEAD, &url, &token).await?;
            let length = headers.get("content-length").and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !status.is_success() || length != bytes.to_string() {
                return Err(format!("{url}: {status}, {length} bytes instead of {bytes}").into());
            }
            session.blob(Method::DELETE, &url, &token).await?;
            Ok(())
        })
    };

    let mut results = UploadResults {
        bytes,
        partition_size: blobs.partition_size.get(),
        parallel: blobs.parallel.get(),
        rounds: Vec::new(),
        md5_skip: Vec::new(),
    };
    for round in 1..=rounds {
        let name = format!("ours-{round}.bin");
        let began = Instant::now();
        let sent =
            runtime.block_on(blobs.upload(&container_url, &upload(&name, file, bytes))).map_err(|e| e.to_string())?;
        let ours = began.elapsed();
        if !sent {
            return Err(format!("{name} was not sent").into());
        }
        let began = Instant::now();
        let sent =
            runtime.block_on(blobs.upload(&container_url, &upload(&name, file, bytes))).map_err(|e| e.to_string())?;
        results.md5_skip.push(began.elapsed());
        if sent {
            return Err(format!("{name} was sent again although unchanged").into());
        }
        check(&name)?;

        let name = format!("node-{round}.bin");
        let timings = node_upload(node, root, azurite, &format!("{container_url}/{name}"), &token, file, &results)?;
        check(&name)?;
        let seconds = |key: &str| Duration::from_secs_f64(timings[key].as_f64().unwrap_or_default());
        results.rounds.push(Round {
            ours,
            node_upload: seconds("upload"),
            node_same_work: seconds("md5") + seconds("head") + seconds("upload"),
        });
        eprintln!(
            "  upload round {round}/{rounds}: ours {:.2} s, Node uploadFile {:.2} s (+ MD5 and HEAD {:.2} s)",
            ours.as_secs_f64(),
            seconds("upload").as_secs_f64(),
            (seconds("md5") + seconds("head")).as_secs_f64()
        );
    }
    session.stop(runtime);
    Ok(results)
}

fn node_upload(
    node: &str,
    root: &Path,
    azurite: &Azurite,
    url: &str,
    token: &str,
    file: &Path,
    settings: &UploadResults,
) -> Result<Value, BoxError> {
    let script: PathBuf = root.join("tests/bench/upload.cjs");
    let output = Command::new(node)
        .arg(&script)
        .env("BENCH_NODE_DIR", root.join("tests/node"))
        .env("BENCH_BLOB_URL", url)
        .env("BENCH_TOKEN", token)
        .env("BENCH_FILE", file)
        .env("BENCH_BLOCK_SIZE", settings.partition_size.to_string())
        .env("BENCH_CONCURRENCY", settings.parallel.to_string())
        .env("NODE_EXTRA_CA_CERTS", &azurite.ca)
        .output()
        .map_err(|e| format!("cannot run {node}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}
