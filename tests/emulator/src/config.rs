//! Command line and in-process configuration of the emulator.
//!
//! [`Config`] is both the clap parser of the `agentpool-emulator` binary and the value tests build in
//! process (`Config::for_tests()`), so every knob a test can turn is also a flag.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::arm::kind::KindInfo;
use crate::authz::caller::CallerRole;
use crate::faults::FaultSettings;
use crate::kinds::image_templates::settings::{Failure, PhaseMs};
use crate::provider_reads::settings::OfferSettings;

/// Tenant id the emulator answers for unless `--tenant-id` says otherwise.
pub const DEFAULT_TENANT_ID: &str = "8c3dad1d-b6bc-4f8b-939b-8263372eced6";
/// The one subscription that exists unless `--subscription-id` says otherwise.
pub const DEFAULT_SUBSCRIPTION_ID: &str = "2b4f6a8c-1d3e-4f5a-8b7c-9d0e1f2a3b4c";
/// Client (application) id accepted by the token endpoint by default.
pub const DEFAULT_CLIENT_ID: &str = "agentpool-test";
/// Client secret accepted by the token endpoint by default.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// A local Azure Resource Manager + Entra token endpoint over HTTPS, for testing agentpool offline.
///
/// When ready it prints one line of JSON on stdout (endpoints, CA file, ids and credentials) and serves
/// until SIGTERM or SIGINT.
#[derive(Debug, Clone, Parser)]
#[command(name = "agentpool-emulator", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// TCP port; 0 picks a free one (see the ready line).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Directory for ca.pem, server.pem and server-key.pem (default: a new temporary directory, removed at exit).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,

    /// Persist the resource state in this JSON file: loaded at start, saved after every change.
    #[arg(long)]
    pub state_file: Option<PathBuf>,

    /// Write every ARM exchange as an oav traffic file into this directory.
    #[arg(long, env = "AGENTPOOL_TRAFFIC_DIR")]
    pub traffic_dir: Option<PathBuf>,

    /// Tenant (directory) id of the emulated Entra ID.
    #[arg(long, default_value = DEFAULT_TENANT_ID)]
    pub tenant_id: String,

    /// The subscription that exists; requests for any other answer 404 SubscriptionNotFound.
    #[arg(long, default_value = DEFAULT_SUBSCRIPTION_ID)]
    pub subscription_id: String,

    /// Client id the token endpoint accepts.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// Client secret the token endpoint accepts.
    #[arg(long, default_value = DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,

    /// Lifetime of issued access tokens, in seconds (both grants: client secret and client assertion).
    #[arg(long, visible_alias = "access-token-lifetime-seconds", default_value_t = 3600)]
    pub token_lifetime_secs: u64,

    /// How long a long-running operation stays InProgress, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub lro_delay_ms: u64,

    /// How often background work (Image Builder builds) advances, in milliseconds: the emulator's
    /// resolution of build time. Lower it when builds run scaled down.
    #[arg(long, default_value_t = crate::server::DEFAULT_TICK_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub tick_ms: u64,

    /// How long writes of one resource type take, as `<kind>=<ms>` (repeatable; the last wins). A long-running
    /// operation of that type stays InProgress that long (instead of `--lro-delay-ms`); a synchronous write
    /// answers that much later. `<kind>` is a resource type (`Microsoft.Storage/storageAccounts`) or a kind name
    /// (`storageAccounts`), in any case.
    #[arg(long = "latency-ms", value_name = "KIND=MS", value_parser = parse_latency)]
    pub latency_ms: Vec<KindLatency>,

    /// Items per page of a list; more items are returned through `nextLink`.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,

    /// Blob endpoint of storage accounts; `{account}` is replaced by the account name (Azurite path style).
    #[arg(long, default_value = "https://127.0.0.1:10000/{account}/")]
    pub blob_endpoint_template: String,

    /// Do not create containers in the blob service (for tests without Azurite).
    #[arg(long = "no-blob-service", action = clap::ArgAction::SetFalse)]
    pub blob_service: bool,

    /// CA the blob endpoint's certificate is checked against (default: the emulator's own CA, for an
    /// Azurite started with the emulator's `server.pem`).
    #[arg(long)]
    pub blob_ca_file: Option<PathBuf>,

    /// Account of the blob service that holds Image Builder's staging blobs (`packerlogs/<run>/customization.log`):
    /// Azurite's accounts are fixed at its start, so every staging storage account's `primaryEndpoints.blob`
    /// points at this one.
    #[arg(long, default_value = "aibstaging")]
    pub staging_account: String,

    /// Duration of an Image Builder build phase, `<phase>=<ms>` (repeatable; the last wins): queued, building,
    /// customizing, optimizing, validating, distributing, canceling, or total (shared by the phases not given).
    /// Default 300 each.
    #[arg(long = "aib-phase-ms", value_name = "PHASE=MS", value_parser = parse_phase)]
    pub aib_phase_ms: Vec<PhaseMs>,

    /// Make every Image Builder build fail, as the template tag `emulator.fail` does for one template:
    /// `customizer:<name>`, `distribute`, `distribute:<runOutputName>` or `timeout` (repeatable; the first
    /// applies).
    #[arg(long = "aib-fail", value_name = "MODE", value_parser = parse_failure)]
    pub aib_fail: Vec<Failure>,

    /// A built-in role (name or GUID) the client holds on the subscription from the start, as a real role
    /// assignment to the token's `oid` (repeatable; default Owner): `--caller-role Contributor` for Contributor
    /// only. Every ARM request is authorized against the client's assignments (403 AuthorizationFailed).
    #[arg(long = "caller-role", value_name = "ROLE", value_parser = CallerRole::parse, default_value = "Owner")]
    pub caller_role: Vec<CallerRole>,

    /// A subnet that exists from the start, `<subnet id>=<address prefix>` (repeatable): its resource
    /// group, virtual network (the prefix widened to a /16) and the subnet, private
    /// (`defaultOutboundAccess: false`); only what is missing is made.
    #[arg(long = "subnet", value_name = "ID=PREFIX", value_parser = crate::kinds::network::seed::SubnetSeed::parse)]
    pub subnets: Vec<crate::kinds::network::seed::SubnetSeed>,

    /// What the subscription offers: registered providers, regions, quotas, VM sizes.
    #[command(flatten)]
    pub offer: OfferSettings,

    /// Fault injection settings.
    #[command(flatten)]
    pub faults: FaultSettings,

    /// The emulated Azure DevOps: organization, projects, endpoints, credentials, node timing.
    #[command(flatten)]
    pub devops: crate::devops::settings::DevopsSettings,
}

fn parse_phase(s: &str) -> Result<PhaseMs, String> {
    PhaseMs::parse(s)
}

fn parse_failure(s: &str) -> Result<Failure, String> {
    Failure::parse(s)
}

/// The latency of writes of one resource kind (`--latency-ms <kind>=<ms>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindLatency {
    /// Registry name of the kind (`storageAccounts`), whichever spelling was given.
    pub kind: String,
    pub ms: u64,
}

impl KindLatency {
    /// `<kind>=<ms>` with a kind of [`crate::kinds::all`], named by resource type or kind name in any case.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (kind, ms) = s.split_once('=').ok_or_else(|| format!("{s:?} is not <kind>=<ms>"))?;
        let ms: u64 = ms.trim().parse().map_err(|e| format!("{s:?}: the milliseconds are not a number ({e})"))?;
        let kind = kind.trim();
        let known = crate::kinds::all();
        let info = known
            .iter()
            .map(|k| k.info())
            .find(|i| i.name.eq_ignore_ascii_case(kind) || i.resource_type.eq_ignore_ascii_case(kind))
            .ok_or_else(|| {
                let names: Vec<&str> = known.iter().map(|k| k.info().name).collect();
                format!("unknown kind {kind:?}; use a resource type or one of {}", names.join(", "))
            })?;
        Ok(KindLatency { kind: info.name.to_string(), ms })
    }
}

fn parse_latency(s: &str) -> Result<KindLatency, String> {
    KindLatency::parse(s)
}

impl Config {
    /// The `--latency-ms` of a kind, if given (the last one given wins).
    pub fn latency_of(&self, info: &KindInfo) -> Option<u64> {
        self.latency_ms.iter().rev().find(|l| l.kind == info.name).map(|l| l.ms)
    }

    /// How long a long-running operation on a resource of this kind stays InProgress.
    pub fn lro_delay_for(&self, info: &KindInfo) -> u64 {
        self.latency_of(info).unwrap_or(self.lro_delay_ms)
    }

    /// The roles of `--caller-role`.
    pub fn caller_roles(&self) -> &[CallerRole] {
        &self.caller_role
    }

    /// A configuration for in-process tests: defaults, short LROs, no files but the state dir.
    pub fn for_tests() -> Self {
        let mut config = Config::parse_from(["agentpool-emulator"]);
        config.lro_delay_ms = 100;
        // The environment must not leak into tests (CI may export AGENTPOOL_TRAFFIC_DIR for e2e runs).
        config.traffic_dir = None;
        // No Azurite in unit tests: containers stay ARM records.
        config.blob_service = false;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let c = Config::parse_from(["agentpool-emulator"]);
        assert_eq!(c.port, 0);
        assert_eq!(c.lro_delay_ms, 1500);
        assert_eq!(c.page_size, 100);
        assert_eq!(c.client_id, DEFAULT_CLIENT_ID);
        assert_eq!(c.faults.fault_seed, 0);
        assert_eq!(c.token_lifetime_secs, 3600);
        let c = Config::parse_from(["agentpool-emulator", "--access-token-lifetime-seconds", "5"]);
        assert_eq!(c.token_lifetime_secs, 5);
    }

    #[test]
    fn latency_per_kind() {
        let c = Config::parse_from([
            "agentpool-emulator",
            "--lro-delay-ms",
            "50",
            "--latency-ms",
            "Microsoft.Storage/storageAccounts=2000",
            "--latency-ms",
            "galleries=800",
            "--latency-ms",
            "GALLERIES=900",
        ]);
        let kind = |name| crate::kinds::registry().kind(name).expect("kind").info();
        assert_eq!(c.latency_of(kind("storageAccounts")), Some(2000));
        assert_eq!(c.lro_delay_for(kind("galleries")), 900, "the last one wins");
        assert_eq!(c.latency_of(kind("resourceGroups")), None);
        assert_eq!(c.lro_delay_for(kind("galleryImages")), 50);
        for bad in ["storageAccounts", "storageAccounts=fast", "Microsoft.Storage/accounts=5", "=5"] {
            let err = Config::try_parse_from(["agentpool-emulator", "--latency-ms", bad]).unwrap_err().to_string();
            assert!(err.contains("--latency-ms"), "{bad}: {err}");
        }
        assert!(KindLatency::parse("nope=1").unwrap_err().contains("storageAccounts"));
    }

    #[test]
    fn image_builder_flags() {
        let c = Config::parse_from(["agentpool-emulator"]);
        assert_eq!((c.staging_account.as_str(), c.aib_phase_ms.len(), c.aib_fail.len()), ("aibstaging", 0, 0));
        let c = Config::parse_from([
            "agentpool-emulator",
            "--staging-account",
            "devstoreaccount1",
            "--aib-phase-ms",
            "customizing=900",
            "--aib-phase-ms",
            "total=2000",
            "--aib-fail",
            "customizer:install",
        ]);
        assert_eq!(c.staging_account, "devstoreaccount1");
        assert_eq!(c.aib_phase_ms.len(), 2);
        assert_eq!(c.aib_fail, vec![Failure::Customizer("install".into())]);
        for (flag, bad) in [("--aib-phase-ms", "cooking=1"), ("--aib-fail", "explode")] {
            let err = Config::try_parse_from(["agentpool-emulator", flag, bad]).unwrap_err().to_string();
            assert!(err.contains(flag), "{err}");
        }
    }

    #[test]
    fn caller_roles() {
        let c = Config::parse_from(["agentpool-emulator"]);
        assert_eq!(c.caller_roles().iter().map(|r| r.name).collect::<Vec<_>>(), ["Owner"]);
        let c = Config::parse_from([
            "agentpool-emulator",
            "--caller-role",
            "Contributor",
            "--caller-role",
            "Storage Blob Data Reader",
        ]);
        assert_eq!(
            c.caller_roles().iter().map(|r| r.name).collect::<Vec<_>>(),
            ["Contributor", "Storage Blob Data Reader"]
        );
        let err = Config::try_parse_from(["agentpool-emulator", "--caller-role", "Janitor"]).unwrap_err().to_string();
        assert!(err.contains("--caller-role") && err.contains("Owner"), "{err}");
    }

    #[test]
    fn page_size_zero_is_refused() {
        assert!(Config::try_parse_from(["agentpool-emulator", "--page-size", "0"]).is_err());
    }
}
