//! A local Azure for end-to-end tests: one Azurite (real blob storage, pinned in tests/node) per
//! test binary, and one in-process emulator per test (ARM, Entra), each with its own state and
//! traffic directory, so tests run in parallel without seeing each other's resources.
//!
//! The `agentpool` binary under test talks to them exactly as it talks to Azure: client-secret
//! credential against the emulator's token endpoint, HTTPS with the emulator's CA given through
//! `AGENTPOOL_CA_FILE`, blob uploads with Entra tokens to Azurite.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use agentpool_emulator::{azurite, Config, Emulator, ReadyInfo};

/// Storage accounts that exist in Azurite: the examples', one per fault seed, and the one that
/// holds Image Builder's staging logs (the emulator's `--staging-account`).
pub fn azurite_accounts() -> Vec<String> {
    let mut accounts = vec!["stagentssbxscripts".to_owned(), "stagentstest".to_owned(), "aibstaging".to_owned()];
    accounts.extend((0..FAULT_ACCOUNTS).map(fault_account));
    accounts.extend((0..STAGING_ACCOUNTS).map(|n| format!("aibstaging{n:02}")));
    accounts
}

/// Storage accounts of the fault-injection seeds, one per seed.
const FAULT_ACCOUNTS: u64 = 128;

/// The storage account of fault-injection seed `seed` (below 128).
pub fn fault_account(seed: u64) -> String {
    format!("stfault{seed:03}")
}

/// The subscription of the example parameter files' subnets, which every session's emulator is.
pub const EXAMPLE_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

/// The virtual network the examples' scale sets join, as the network team made it: private
/// subnets (`defaultOutboundAccess: false`), with a network security group and a service endpoint
/// agentpool must keep.
pub const EXAMPLE_NETWORK: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-sbx/providers/Microsoft.Network/virtualNetworks/vnet-sbx";

/// The examples' subnets as the emulator seeds them (`--subnet`): private, in [`EXAMPLE_NETWORK`].
pub fn example_subnets() -> Vec<agentpool_emulator::kinds::network::seed::SubnetSeed> {
    [("snet-agents", "10.20.1.0/24"), ("snet-agents-windows", "10.20.2.0/24")]
        .into_iter()
        .filter_map(|(name, prefix)| {
            agentpool_emulator::kinds::network::seed::SubnetSeed::parse(&format!(
                "{EXAMPLE_NETWORK}/subnets/{name}={prefix}"
            ))
            .ok()
        })
        .collect()
}

/// Staging accounts for Image Builder logs, one per session: in Azure each staging group has its
/// own storage; sessions sharing one Azurite account would see each other's logs.
const STAGING_ACCOUNTS: usize = 64;
static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

/// Shared for the whole test binary.
pub struct LocalAzure {
    pub runtime: tokio::runtime::Runtime,
    pub azurite_port: u16,
    /// CA of the certificate Azurite serves.
    pub azurite_ca: PathBuf,
    dir: PathBuf,
}

static LOCAL: OnceLock<LocalAzure> = OnceLock::new();

/// Starts Azurite once; panics with instructions when it is not installed.
pub fn local_azure() -> &'static LocalAzure {
    LOCAL.get_or_init(|| {
        let azurite = workspace().join("tests/node/node_modules/.bin/azurite-blob");
        assert!(
            azurite.exists(),
            "{} is missing: run `npm ci --prefix tests/node` (tests/run.sh does)",
            azurite.display()
        );
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!("agentpool-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let certificates =
            runtime.block_on(azurite::Certificates::make(&dir.join("azurite-tls"))).expect("certificate emulator");
        let port = azurite::free_port().expect("free port");
        let server = azurite::command(&azurite, port, &certificates, &azurite_accounts())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Azurite starts");
        // A shell that stops Azurite when this test process ends, however it ends. Neither is
        // waited for: both end with this process.
        let watchdog = Command::new("bash")
            .args([
                "-c",
                &format!("while kill -0 {} 2>/dev/null; do sleep 1; done; kill {}", std::process::id(), server.id()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watchdog starts");
        #[allow(clippy::zombie_processes)]
        std::mem::forget((server, watchdog));
        azurite::wait_until_listening(port, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
        LocalAzure { runtime, azurite_port: port, azurite_ca: certificates.ca_file, dir }
    })
}

/// Folders of earlier test processes that have ended (kept after a run for inspection).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("agentpool-e2e-").and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// One emulator with its own state, for one test.
pub struct Session {
    pub ready: ReadyInfo,
    pub emulator: Option<Emulator>,
    pub dir: PathBuf,
    pub traffic_dir: PathBuf,
    /// The emulator's CA and Azurite's, which the client trusts.
    pub ca_bundle: PathBuf,
}

impl LocalAzure {
    /// Starts an emulator; `configure` may set faults and delays.
    pub fn session(&self, name: &str, configure: impl FnOnce(&mut Config)) -> Session {
        let dir = self.dir.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("session dir");
        let traffic_dir = dir.join("traffic");
        let mut config = Config::for_tests();
        config.state_dir = Some(dir.join("emulator"));
        config.traffic_dir = Some(traffic_dir.clone());
        config.lro_delay_ms = 200;
        config.blob_endpoint_template = format!("https://127.0.0.1:{}/{{account}}/", self.azurite_port);
        config.blob_ca_file = Some(self.azurite_ca.clone());
        config.blob_service = true;
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % STAGING_ACCOUNTS;
        config.staging_account = format!("aibstaging{n:02}");
        // The client is the deploying principal: Owner, and Storage Blob Data Contributor because
        // agentpool uploads the scripts with Entra ID (Owner carries no data actions).
        config.caller_role = ["Owner", "Storage Blob Data Contributor"]
            .into_iter()
            .filter_map(|role| agentpool_emulator::authz::caller::CallerRole::parse(role).ok())
            .collect();
        // The subscription the example parameter files name, and their scale sets' subnets, made by
        // the network team before anything runs.
        config.subscription_id = EXAMPLE_SUBSCRIPTION.to_owned();
        config.subnets = example_subnets();
        configure(&mut config);
        let emulator = self.runtime.block_on(Emulator::start(config)).expect("emulator starts");
        let ready = emulator.ready().clone();
        let ca_bundle = dir.join("ca-bundle.pem");
        let mut bundle = std::fs::read(&ready.ca_file).expect("emulator CA");
        bundle.extend(std::fs::read(&self.azurite_ca).expect("Azurite CA"));
        std::fs::write(&ca_bundle, bundle).expect("CA bundle");
        Session { ready, emulator: Some(emulator), dir, traffic_dir, ca_bundle }
    }
}

impl Session {
    /// The agentpool binary set up to talk to this emulator, from the workspace root.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentpool"));
        command.args(args).current_dir(workspace()).envs(self.vars());
        command
    }

    /// The environment that points agentpool at this emulator: Resource Manager, Entra, and its
    /// Azure DevOps organization with a PAT.
    pub fn vars(&self) -> std::collections::BTreeMap<String, String> {
        self.ready.client_vars(&self.ca_bundle)
    }

    /// Runs the agentpool binary against this emulator; its output is also kept in the session's
    /// `agentpool.log`.
    pub fn agentpool(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("agentpool runs");
        let mut log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("agentpool.log")).expect("log");
        let _ = writeln!(
            log,
            "$ agentpool {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        output
    }

    /// Traffic files in exchange order.
    pub fn traffic_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.traffic_dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Recorded requests that write (PUT, PATCH, POST, DELETE).
    pub fn writes_recorded(&self) -> usize {
        self.traffic_files()
            .iter()
            .filter(|path| {
                let exchange: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or_default();
                matches!(exchange["liveRequest"]["method"].as_str(), Some("PUT" | "PATCH" | "POST" | "DELETE"))
            })
            .count()
    }

    /// A token for `scope` from the emulator's Entra, and a client trusting the CA bundle.
    pub fn http(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(&self.ca_bundle).expect("bundle");
        let mut builder = reqwest::blocking::Client::builder();
        for certificate in reqwest::Certificate::from_pem_bundle(&pem).expect("PEM bundle") {
            builder = builder.add_root_certificate(certificate);
        }
        builder.build().expect("client")
    }

    pub fn token(&self, scope: &str) -> String {
        let url = format!("{}/{}/oauth2/v2.0/token", self.ready.authority_host, self.ready.tenant_id);
        let response: serde_json::Value = self
            .http()
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &self.ready.client_id),
                ("client_secret", &self.ready.client_secret),
                ("scope", scope),
            ])
            .send()
            .and_then(|r| r.json())
            .expect("token");
        response["access_token"].as_str().expect("access_token").to_owned()
    }

    /// The bytes of a blob, read from Azurite with an Entra token.
    pub fn read_blob(&self, url: &str) -> Vec<u8> {
        let response = self
            .http()
            .get(url)
            .bearer_auth(self.token("https://storage.azure.com/.default"))
            .header("x-ms-version", "2021-10-04")
            .send()
            .expect("blob GET");
        assert!(response.status().is_success(), "GET {url}: {}", response.status());
        response.bytes().expect("blob body").to_vec()
    }

    /// `ETag` and `Last-Modified` of a blob, as Azurite answers a HEAD (Get Blob Properties)
    /// with an Entra token.
    pub fn blob_properties(&self, url: &str) -> (String, String) {
        let response = self
            .http()
            .head(url)
            .bearer_auth(self.token("https://storage.azure.com/.default"))
            .header("x-ms-version", "2021-10-04")
            .send()
            .expect("blob HEAD");
        assert!(response.status().is_success(), "HEAD {url}: {}", response.status());
        let header = |name: &str| {
            let value = response.headers().get(name).unwrap_or_else(|| panic!("HEAD {url}: no {name}"));
            value.to_str().expect("ASCII header").to_owned()
        };
        (header("etag"), header("last-modified"))
    }

    /// The text of an admin route of the emulator (`/_emulator/<path>`), e.g. `logs/<template>`.
    pub fn admin_text(&self, path: &str) -> String {
        let url = format!("{}/_emulator/{path}", self.ready.arm_endpoint);
        let response = self.http().get(&url).send().expect("admin GET");
        assert!(response.status().is_success(), "GET {url}: {}", response.status());
        response.text().expect("text")
    }

    /// PATCH of an ARM resource on the emulator, waiting until its provisioning ends; the status
    /// the PATCH answered.
    pub fn arm_patch(&self, id: &str, api_version: &str, body: &serde_json::Value) -> u16 {
        let url = format!("{}{id}?api-version={api_version}", self.ready.arm_endpoint);
        let response = self
            .http()
            .patch(url)
            .bearer_auth(self.token("https://management.azure.com/.default"))
            .json(body)
            .send()
            .expect("ARM PATCH");
        let status = response.status().as_u16();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.arm_get(id, api_version).and_then(|r| r.pointer("/properties/provisioningState").cloned())
            != Some(serde_json::json!("Succeeded"))
        {
            assert!(std::time::Instant::now() < deadline, "{id} never ended its update");
            std::thread::sleep(Duration::from_millis(50));
        }
        status
    }

    /// PUT of an ARM resource on the emulator, waiting until its provisioning ends; the status
    /// the PUT answered.
    pub fn arm_put(&self, id: &str, api_version: &str, body: &serde_json::Value) -> u16 {
        let url = format!("{}{id}?api-version={api_version}", self.ready.arm_endpoint);
        let response = self
            .http()
            .put(url)
            .bearer_auth(self.token("https://management.azure.com/.default"))
            .json(body)
            .send()
            .expect("ARM PUT");
        let status = response.status().as_u16();
        assert!(status < 300, "PUT {id}: {status} {}", response.text().unwrap_or_default());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.arm_get(id, api_version).and_then(|r| r.pointer("/properties/provisioningState").cloned())
            != Some(serde_json::json!("Succeeded"))
        {
            assert!(std::time::Instant::now() < deadline, "{id} never ended its creation");
            std::thread::sleep(Duration::from_millis(50));
        }
        status
    }

    /// The examples' network ([`EXAMPLE_NETWORK`]): a resource group and a virtual network
    /// with the subnets `snet-agents` and `snet-agents-windows`, private, each with a network
    /// security group and a storage service endpoint.
    pub fn example_network(&self) {
        let group = EXAMPLE_NETWORK.split("/providers/").next().expect("a group");
        self.arm_put(group, "2024-07-01", &serde_json::json!({"location": "westeurope"}));
        let nsg = format!("{group}/providers/Microsoft.Network/networkSecurityGroups/nsg-agents");
        let subnet = |name: &str, prefix: &str| {
            serde_json::json!({"name": name, "properties": {
                "addressPrefix": prefix,
                "defaultOutboundAccess": false,
                "networkSecurityGroup": {"id": nsg},
                "serviceEndpoints": [{"service": "Microsoft.Storage", "locations": ["westeurope"]}]
            }})
        };
        let network = serde_json::json!({
            "location": "westeurope",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
                "subnets": [subnet("snet-agents", "10.20.1.0/24"), subnet("snet-agents-windows", "10.20.2.0/24")]
            }
        });
        self.arm_put(EXAMPLE_NETWORK, "2024-05-01", &network);
    }

    /// GET of `{organization}/{path}` from the emulated Azure DevOps, with the PAT.
    pub fn devops_get(&self, path: &str) -> serde_json::Value {
        let url = format!("{}/{path}", self.ready.devops_url);
        let response = self.http().get(&url).basic_auth("", Some(&self.ready.devops_pat)).send().expect("GET");
        assert!(response.status().is_success(), "GET {url}: {}", response.status());
        response.json().expect("JSON")
    }

    /// POST to an Azure DevOps test route of the emulator (`/_emulator/devops/<path>`).
    pub fn devops_admin(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let url = format!("{}/_emulator/devops/{path}", self.ready.arm_endpoint);
        let response = self.http().post(&url).json(body).send().expect("admin POST");
        assert!(response.status().is_success(), "POST {url}: {}", response.status());
        response.json().expect("JSON")
    }

    /// The recorded exchanges from the `from`-th on: method and URL path, in order.
    pub fn exchanges_since(&self, from: usize) -> Vec<(String, String, serde_json::Value)> {
        self.traffic_files()
            .iter()
            .skip(from)
            .filter_map(|path| {
                let exchange: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
                let request = &exchange["liveRequest"];
                let url = request["url"].as_str()?;
                let path = url.split("://").nth(1).and_then(|rest| rest.split_once('/')).map_or(url, |(_, p)| p);
                Some((request["method"].as_str()?.to_owned(), format!("/{path}"), request["body"].clone()))
            })
            .collect()
    }

    /// GET of an ARM resource from the emulator.
    pub fn arm_get(&self, id: &str, api_version: &str) -> Option<serde_json::Value> {
        let url = format!("{}{id}?api-version={api_version}", self.ready.arm_endpoint);
        let response = self
            .http()
            .get(url)
            .bearer_auth(self.token("https://management.azure.com/.default"))
            .send()
            .expect("ARM GET");
        response.status().is_success().then(|| response.json().expect("JSON"))
    }

    /// DELETE of an ARM resource on the emulator; the status it answered.
    pub fn arm_delete(&self, id: &str, api_version: &str) -> u16 {
        let url = format!("{}{id}?api-version={api_version}", self.ready.arm_endpoint);
        let response = self
            .http()
            .delete(url)
            .bearer_auth(self.token("https://management.azure.com/.default"))
            .send()
            .expect("ARM DELETE");
        response.status().as_u16()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            if let Some(local) = LOCAL.get() {
                local.runtime.block_on(emulator.shutdown());
            }
        }
    }
}

/// `--aib-phase-ms` values as the emulator parses them, e.g. `customizing=2500`.
pub fn phases(spec: &str) -> Vec<agentpool_emulator::kinds::image_templates::settings::PhaseMs> {
    use clap::Parser;
    agentpool_emulator::Config::try_parse_from(["emulator", "--aib-phase-ms", spec]).unwrap().aib_phase_ms
}

impl Session {
    /// The id of image template `name` of the examples' resource group.
    pub fn template_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-agents-sbx/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}",
            self.ready.subscription_id
        )
    }

    /// Waits (20 s at most) until the last run of template `id` is in `sub_state`.
    pub fn wait_for_sub_state(&self, id: &str, sub_state: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.arm_get(id, "2024-02-01").and_then(|t| t.pointer("/properties/lastRunStatus/runSubState").cloned())
            != Some(serde_json::json!(sub_state))
        {
            assert!(std::time::Instant::now() < deadline, "the build never reached {sub_state}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `runState` of template `id`'s last run.
    pub fn run_state(&self, id: &str) -> serde_json::Value {
        self.arm_get(id, "2024-02-01").expect("the template")["properties"]["lastRunStatus"]["runState"].clone()
    }
}
