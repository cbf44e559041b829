//! Where Azure Resource Manager is, which token audience it wants, which extra root to trust,
//! and how patiently to retry and poll.
//!
//! Sources, in order of precedence: builder methods (the CLI's `--arm-endpoint` calls
//! [`ArmConfig::with_endpoint`]), then the environment ([`ArmConfig::from_env`]), then defaults.
//!
//! | setting | variable | default |
//! |---|---|---|
//! | endpoint | `AGENTPOOL_ARM_ENDPOINT` | `https://management.azure.com` |
//! | token scope | `AGENTPOOL_ARM_SCOPE` | `https://management.azure.com/.default` |
//! | extra trusted root (PEM) | `AGENTPOOL_CA_FILE` | none |
//!
//! # The token scope does not follow the endpoint
//! Changing the endpoint leaves the scope at `https://management.azure.com/.default`. ARM's audience
//! is a property of the cloud, not of the address the client connects to: the emulator, a proxy or a
//! private-link address all serve the public cloud's audience, and Entra issues tokens for that
//! audience only. A sovereign cloud changes both, so set both there, e.g.
//! `AGENTPOOL_ARM_ENDPOINT=https://management.usgovcloudapi.net` and
//! `AGENTPOOL_ARM_SCOPE=https://management.usgovcloudapi.net/.default`.
//!
//! # Caveats
//! - The endpoint must be `https`: azure_core's bearer-token policy refuses to send a token over
//!   plain HTTP, so an `http://` endpoint is rejected here with a clear message instead of failing
//!   on the first request.
//! - `AGENTPOOL_CA_FILE` adds a root to the platform's roots; it never replaces them. It exists for
//!   the local emulator and nothing trusts its CA unless the path is given explicitly.

use std::{path::PathBuf, time::Duration};
use url::Url;

/// Environment variable that overrides the ARM endpoint.
pub const ENV_ARM_ENDPOINT: &str = "AGENTPOOL_ARM_ENDPOINT";
/// Environment variable that overrides the token scope requested for ARM.
pub const ENV_ARM_SCOPE: &str = "AGENTPOOL_ARM_SCOPE";
/// Environment variable naming a PEM file with extra trusted root certificates (emulator only).
pub const ENV_CA_FILE: &str = "AGENTPOOL_CA_FILE";

/// The public cloud's Resource Manager.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";
/// The public cloud's Resource Manager audience.
pub const DEFAULT_SCOPE: &str = "https://management.azure.com/.default";

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The endpoint is not an absolute URL.
    #[error(
        "{source_name} = {value:?} is not a URL ({reason}); give an absolute https URL such as {DEFAULT_ENDPOINT}"
    )]
    InvalidEndpoint {
        /// Where the value came from (a variable or flag name).
        source_name: String,
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The endpoint is not https; bearer tokens are only ever sent over TLS.
    #[error("{source_name} = {value:?} is not https; Azure tokens are only sent over TLS (for the emulator, use its https address and {ENV_CA_FILE})")]
    InsecureEndpoint {
        /// Where the value came from (a variable or flag name).
        source_name: String,
        /// The value as given.
        value: String,
    },
    /// The scope is empty.
    #[error("{ENV_ARM_SCOPE} is empty; unset it or give an audience such as {DEFAULT_SCOPE}")]
    EmptyScope,
}

/// How the HTTP pipeline retries a request that failed transiently (408, 429, 500, 502, 503, 504,
/// connection and I/O errors). Maps onto azure_core's exponential retry policy.
///
/// Caveat: azure_core never waits less than a server's `Retry-After` (on 429 and 503), and it
/// treats a `max_delay` below one second as one second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; it doubles on each retry (plus up to 255 ms of jitter).
    pub initial_delay: Duration,
    /// Longest delay between two attempts (not applied to a longer `Retry-After`).
    pub max_delay: Duration,
    /// Give up retrying once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(180),
        }
    }
}

impl RetryConfig {
    /// Retries without waiting (about a millisecond plus jitter): for tests.
    pub fn fast() -> Self {
        Self {
            max_retries: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(10),
        }
    }
}

/// How long-running operations are polled.
///
/// The wait between two polls is the server's `Retry-After` when it sends one, else
/// `default_interval`, then clamped to `min_interval ..= max_interval`.
///
/// Caveat: a `max_interval` below the server's `Retry-After` polls sooner than ARM asked; that is
/// only meant for tests. azure_core's `Poller` enforces a one-second minimum only on its own default
/// frequency, which this client does not use, so `min_interval` is the floor that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollConfig {
    /// Wait when the server sends no `Retry-After`. ARM's contract suggests 60 s; Azure SDKs use 30 s.
    pub default_interval: Duration,
    /// Never poll sooner than this.
    pub min_interval: Duration,
    /// Never wait longer than this between two polls (ARM's `Retry-After` is at most 10 minutes).
    pub max_interval: Duration,
    /// Give up waiting for one operation after this long ([`crate::arm::ArmError::TimedOut`]).
    pub timeout: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(15),
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(600),
            timeout: Duration::from_secs(3 * 60 * 60),
        }
    }
}

impl PollConfig {
    /// Polls without waiting (at most 2 ms): for tests.
    pub fn fast() -> Self {
        Self {
            default_interval: Duration::ZERO,
            min_interval: Duration::ZERO,
            max_interval: Duration::from_millis(2),
            timeout: Duration::from_secs(30),
        }
    }

    /// The wait before the next poll given the server's `Retry-After` (whole seconds), if any.
    pub fn interval(&self, retry_after: Option<Duration>) -> Duration {
        let wanted = retry_after.unwrap_or(self.default_interval);
        wanted.max(self.min_interval).min(self.max_interval.max(self.min_interval))
    }

    /// The wait before the next poll when the server says it in milliseconds (`retry-after-ms`):
    /// honoured down to [`PollConfig::FLOOR`], below `min_interval`, because it says precisely
    /// when the operation ends. A coarse `Retry-After: 0` still waits `min_interval`.
    pub fn precise_interval(&self, retry_after_ms: Duration) -> Duration {
        retry_after_ms.max(Self::FLOOR.min(self.min_interval)).min(self.max_interval.max(self.min_interval))
    }

    /// The shortest wait between polls, whatever the server says.
    pub const FLOOR: Duration = Duration::from_millis(50);
}

/// Everything the ARM client needs besides a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmConfig {
    /// Base URL of Resource Manager; resource ids are appended to its path.
    pub endpoint: Url,
    /// Scope requested from Entra for ARM tokens.
    pub token_scope: String,
    /// Extra trusted root certificates (PEM), for the emulator only.
    pub ca_file: Option<PathBuf>,
    /// Retries of transient failures.
    pub retry: RetryConfig,
    /// Polling of long-running operations.
    pub poll: PollConfig,
}

impl Default for ArmConfig {
    fn default() -> Self {
        Self {
            endpoint: Url::parse(DEFAULT_ENDPOINT).expect("the default endpoint is a valid URL"),
            token_scope: DEFAULT_SCOPE.to_string(),
            ca_file: None,
            retry: RetryConfig::default(),
            poll: PollConfig::default(),
        }
    }
}

impl ArmConfig {
    /// The defaults: public cloud, no extra root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `AGENTPOOL_ARM_ENDPOINT`, `AGENTPOOL_ARM_SCOPE` and `AGENTPOOL_CA_FILE` from the process
    /// environment. Empty variables count as unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`ArmConfig::from_env`] over any source of variables (a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::default();
        if let Some(endpoint) = var(ENV_ARM_ENDPOINT) {
            config.endpoint = parse_endpoint(ENV_ARM_ENDPOINT, &endpoint)?;
        }
        if let Some(scope) = var(ENV_ARM_SCOPE) {
            config.token_scope = scope.trim().to_string();
        }
        if let Some(ca_file) = var(ENV_CA_FILE) {
            config.ca_file = Some(PathBuf::from(ca_file));
        }
        Ok(config)
    }

    /// Overrides the endpoint (the CLI's `--arm-endpoint`). The token scope is unchanged; see the
    /// module documentation.
    pub fn with_endpoint(mut self, endpoint: &str) -> Result<Self, ConfigError> {
        self.endpoint = parse_endpoint("--arm-endpoint", endpoint)?;
        Ok(self)
    }

    /// Overrides the token scope.
    pub fn with_token_scope(mut self, scope: impl Into<String>) -> Result<Self, ConfigError> {
        let scope = scope.into();
        if scope.trim().is_empty() {
            return Err(ConfigError::EmptyScope);
        }
        self.token_scope = scope.trim().to_string();
        Ok(self)
    }

    /// Trusts the root certificates of this PEM file in addition to the platform's.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the polling of long-running operations.
    pub fn with_poll(mut self, poll: PollConfig) -> Self {
        self.poll = poll;
        self
    }
}

fn parse_endpoint(source_name: &str, value: &str) -> Result<Url, ConfigError> {
    let trimmed = value.trim();
    let url = Url::parse(trimmed).map_err(|e| ConfigError::InvalidEndpoint {
        source_name: source_name.to_string(),
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    if url.scheme() != "https" {
        return Err(ConfigError::InsecureEndpoint { source_name: source_name.to_string(), value: value.to_string() });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::InvalidEndpoint {
            source_name: source_name.to_string(),
            value: value.to_string(),
            reason: "it has no host".to_string(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::InvalidEndpoint {
            source_name: source_name.to_string(),
            value: value.to_string(),
            reason: "it has a query or fragment".to_string(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_the_public_cloud() {
        let config = ArmConfig::from_vars(vars(&[])).unwrap();
        assert_eq!(config.endpoint.as_str(), "https://management.azure.com/");
        assert_eq!(config.token_scope, "https://management.azure.com/.default");
        assert_eq!(config.ca_file, None);
    }

    #[test]
    fn emulator_endpoint_keeps_the_arm_audience() {
        let config = ArmConfig::from_vars(vars(&[
            (ENV_ARM_ENDPOINT, "https://127.0.0.1:8443"),
            (ENV_CA_FILE, "/tmp/emulator/ca.pem"),
        ]))
        .unwrap();
        assert_eq!(config.endpoint.as_str(), "https://127.0.0.1:8443/");
        assert_eq!(config.token_scope, DEFAULT_SCOPE);
        assert_eq!(config.ca_file, Some(PathBuf::from("/tmp/emulator/ca.pem")));
    }

    #[test]
    fn scope_override_and_empty_values() {
        let config = ArmConfig::from_vars(vars(&[
            (ENV_ARM_ENDPOINT, ""),
            (ENV_ARM_SCOPE, "https://management.usgovcloudapi.net/.default"),
        ]))
        .unwrap();
        assert_eq!(config.endpoint.as_str(), "https://management.azure.com/");
        assert_eq!(config.token_scope, "https://management.usgovcloudapi.net/.default");
        assert_eq!(ArmConfig::new().with_token_scope("  "), Err(ConfigError::EmptyScope));
    }

    #[test]
    fn http_endpoint_is_refused_with_the_fix() {
        let err = ArmConfig::from_vars(vars(&[(ENV_ARM_ENDPOINT, "http://127.0.0.1:8080")])).unwrap_err();
        assert!(matches!(err, ConfigError::InsecureEndpoint { .. }));
        let text = err.to_string();
        assert!(text.contains("AGENTPOOL_ARM_ENDPOINT") && text.contains("AGENTPOOL_CA_FILE"), "{text}");

        let err = ArmConfig::new().with_endpoint("management.azure.com").unwrap_err();
        assert!(err.to_string().starts_with("--arm-endpoint = \"management.azure.com\" is not a URL"), "{err}");
    }

    #[test]
    fn poll_interval_honours_retry_after_within_bounds() {
        let poll = PollConfig::default();
        assert_eq!(poll.interval(Some(Duration::from_secs(10))), Duration::from_secs(10));
        assert_eq!(poll.interval(None), Duration::from_secs(15));
        assert_eq!(poll.interval(Some(Duration::ZERO)), Duration::from_secs(1));
        assert_eq!(poll.interval(Some(Duration::from_secs(3600))), Duration::from_secs(600));
        assert_eq!(PollConfig::fast().interval(Some(Duration::from_secs(60))), Duration::from_millis(2));
        assert_eq!(poll.precise_interval(Duration::from_millis(250)), Duration::from_millis(250));
        assert_eq!(poll.precise_interval(Duration::ZERO), PollConfig::FLOOR);
    }
}
