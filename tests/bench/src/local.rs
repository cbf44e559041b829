//! A local Azure for the benchmarks, as in task-bin's e2e harness (`task-bin/tests/local_azure`):
//! one Azurite (real blob storage, pinned in tests/node) serving a certificate made by the
//! emulator, and in-process emulators (ARM, Entra) whose storage accounts point at that Azurite.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use agentpool_emulator::azurite;
use agentpool_emulator::config::KindLatency;
use agentpool_emulator::{Config, Emulator, ReadyInfo};
use serde_json::Value;

use crate::BoxError;

/// Storage accounts that exist in Azurite: the example's and the upload benchmark's.
pub const ACCOUNTS: [&str; 2] = ["stagentssbxscripts", "stagentsbench"];
/// Audience of blob storage tokens.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Azurite, stopped when dropped.
pub struct Azurite {
    child: Child,
    pub port: u16,
    /// CA of the certificate Azurite serves.
    pub ca: PathBuf,
}

impl Azurite {
    /// Starts `azurite-blob` (from `node_modules`) over HTTPS with Entra (`--oauth basic`), in memory.
    pub fn start(runtime: &tokio::runtime::Runtime, node_modules: &Path, dir: &Path) -> Result<Self, BoxError> {
        let azurite = node_modules.join(".bin/azurite-blob");
        if !azurite.exists() {
            return Err(format!(
                "{} is missing: run `npm ci --prefix tests/node` (tests/bench.sh does)",
                azurite.display()
            )
            .into());
        }
        let certificates = runtime.block_on(azurite::Certificates::make(&dir.join("azurite-tls")))?;
        let port = azurite::free_port()?;
        let accounts: Vec<String> = ACCOUNTS.iter().map(|a| (*a).to_owned()).collect();
        let log = File::create(dir.join("azurite.log"))?;
        let child = azurite::command(&azurite, port, &certificates, &accounts)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", azurite.display()))?;
        let azurite = Azurite { child, port, ca: certificates.ca_file };
        azurite::wait_until_listening(port, Duration::from_secs(30))
            .map_err(|e| format!("{e}: see {}", dir.display()))?;
        Ok(azurite)
    }

    /// `https://127.0.0.1:{port}/{account}/`, as storage accounts report it.
    pub fn endpoint_template(&self) -> String {
        format!("https://127.0.0.1:{}/{{account}}/", self.port)
    }

    pub fn url(&self, account: &str, path: &str) -> String {
        format!("https://127.0.0.1:{}/{account}/{path}", self.port)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One emulator with its own state and traffic directory.
pub struct Session {
    pub ready: ReadyInfo,
    emulator: Option<Emulator>,
    pub traffic_dir: PathBuf,
    /// The emulator's CA and Azurite's, which clients trust.
    pub ca_bundle: PathBuf,
    pub http: reqwest::Client,
}

impl Session {
    /// Starts an emulator whose writes take `latencies`, in a fresh `dir`.
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        azurite: &Azurite,
        dir: &Path,
        latencies: Vec<KindLatency>,
    ) -> Result<Self, BoxError> {
        Self::start_with(runtime, azurite, dir, |config| config.latency_ms = latencies)
    }

    /// Starts an emulator in a fresh `dir`, its configuration finished by `configure`.
    pub fn start_with(
        runtime: &tokio::runtime::Runtime,
        azurite: &Azurite,
        dir: &Path,
        configure: impl FnOnce(&mut Config),
    ) -> Result<Self, BoxError> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        let traffic_dir = dir.join("traffic");
        let mut config = Config::for_tests();
        config.state_dir = Some(dir.join("emulator"));
        config.traffic_dir = Some(traffic_dir.clone());
        config.blob_endpoint_template = azurite.endpoint_template();
        config.blob_ca_file = Some(azurite.ca.clone());
        config.blob_service = true;
        // The client is the deploying principal: Owner, and Storage Blob Data Contributor because
        // agentpool uploads the scripts with Entra ID (Owner carries no data actions).
        config.caller_role = ["Owner", "Storage Blob Data Contributor"]
            .into_iter()
            .filter_map(|role| agentpool_emulator::authz::caller::CallerRole::parse(role).ok())
            .collect();
        configure(&mut config);
        let emulator = runtime.block_on(Emulator::start(config))?;
        let ready = emulator.ready().clone();
        let ca_bundle = dir.join("ca-bundle.pem");
        let mut bundle = std::fs::read(&ready.ca_file)?;
        bundle.extend(std::fs::read(&azurite.ca)?);
        std::fs::write(&ca_bundle, &bundle)?;
        let mut builder = reqwest::Client::builder();
        for certificate in reqwest::Certificate::from_pem_bundle(&bundle)? {
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder.build()?;
        Ok(Session { ready, emulator: Some(emulator), traffic_dir, ca_bundle, http })
    }

    /// What the agentpool binary (and agentpool-core's `from_vars` functions) read.
    pub fn vars(&self) -> BTreeMap<String, String> {
        self.ready.client_vars(&self.ca_bundle)
    }

    /// Runs the agentpool binary against this emulator from `cwd`; returns its wall time.
    pub fn agentpool(&self, binary: &Path, cwd: &Path, args: &[&str]) -> Result<(Duration, Output), BoxError> {
        let mut command = Command::new(binary);
        command.args(args).current_dir(cwd).envs(self.vars());
        let began = Instant::now();
        let output = command.output().map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let elapsed = began.elapsed();
        if !output.status.success() {
            return Err(format!(
                "agentpool {} failed ({}):\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok((elapsed, output))
    }

    /// An access token for `scope` from the emulator's Entra.
    pub async fn token(&self, scope: &str) -> Result<String, BoxError> {
        let r = &self.ready;
        let url = format!("{}/{}/oauth2/v2.0/token", r.authority_host, r.tenant_id);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", r.client_id.as_str()),
            ("client_secret", r.client_secret.as_str()),
            ("scope", scope),
        ];
        let response: Value = self.http.post(url).form(&form).send().await?.error_for_status()?.json().await?;
        Ok(response["access_token"].as_str().ok_or("the token endpoint answered no access_token")?.to_owned())
    }

    /// A blob service call with a storage token; returns the status and headers.
    pub async fn blob(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
    ) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap), BoxError> {
        let response = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("x-ms-version", "2021-10-04")
            .header("content-length", "0")
            .send()
            .await?;
        Ok((response.status(), response.headers().clone()))
    }

    /// Names of the traffic files recorded so far, in exchange order.
    pub fn traffic_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.traffic_dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    pub fn stop(mut self, runtime: &tokio::runtime::Runtime) {
        if let Some(emulator) = self.emulator.take() {
            runtime.block_on(emulator.shutdown());
        }
    }
}

/// Recorded ARM exchanges, by kind of request.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// GETs of resources and lists (operation polls excluded).
    pub gets: usize,
    /// GETs of `operationStatuses` / `operationResults` (long-running operation polls).
    pub polls: usize,
    /// PUT, PATCH, POST and DELETE.
    pub writes: usize,
    pub other: usize,
}

impl Traffic {
    /// Classifies the traffic files `files` (oav format: `liveRequest.method`, `liveRequest.url`).
    pub fn of(files: &[PathBuf]) -> Traffic {
        let mut traffic = Traffic::default();
        for path in files {
            let exchange: Value = serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or_default();
            let url = exchange["liveRequest"]["url"].as_str().unwrap_or_default().to_ascii_lowercase();
            match exchange["liveRequest"]["method"].as_str() {
                Some("PUT" | "PATCH" | "POST" | "DELETE") => traffic.writes += 1,
                Some("GET") if url.contains("/operationstatuses/") || url.contains("/operationresults/") => {
                    traffic.polls += 1
                }
                Some("GET") => traffic.gets += 1,
                _ => traffic.other += 1,
            }
        }
        traffic
    }
}
