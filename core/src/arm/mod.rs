//! Azure Resource Manager client: configuration, the one HTTP transport, credentials, and a JSON
//! client whose writes follow ARM's long-running-operation contract.
//!
//! Built on azure_core 1.x: its pipeline (bearer token, retries with exponential back-off and
//! `Retry-After`), its `Poller` for long-running operations and its `Pager` for `nextLink` lists.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use agentpool_core::arm::{client_options, credential_from_env_with, ArmClient, ArmConfig};
//! // AGENTPOOL_ARM_ENDPOINT=https://127.0.0.1:8443 AGENTPOOL_CA_FILE=/path/ca.pem
//! // AZURE_CLIENT_ID=… AZURE_CLIENT_SECRET=… AZURE_TENANT_ID=… AZURE_AUTHORITY_HOST=https://127.0.0.1:8443
//! let config = ArmConfig::from_env()?;
//! let options = client_options(&config)?; // one transport for ARM, Entra and blobs
//! let arm = ArmClient::with_options(&config, credential_from_env_with(options.clone())?, options);
//! let rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-agents";
//! if arm.get(rg, "2024-07-01").await?.is_none() {
//!     arm.put(rg, "2024-07-01", &serde_json::json!({"location": "westeurope"})).await?;
//! }
//! println!("{} writes", arm.counts().writes());
//! # Ok(()) }
//! ```

mod busy;
mod client;
mod config;
mod connection;
mod credential;
mod error;
mod lro;
mod sender;
mod transport;

#[cfg(test)]
pub(crate) mod test_support;

pub use client::ArmClient;
pub use config::{
    ArmConfig, ConfigError, PollConfig, RetryConfig, DEFAULT_ENDPOINT, DEFAULT_SCOPE, ENV_ARM_ENDPOINT, ENV_ARM_SCOPE,
    ENV_CA_FILE,
};
pub use connection::{ConnectError, Connection};
pub use credential::{
    build_credential, choose_credential, credential_from_env, credential_from_env_with, CredentialChoice,
    CredentialError, DEFAULT_AUTHORITY_HOST, ENV_AUTHORITY_HOST, ENV_CREDENTIAL,
};
pub use error::{ArmError, ErrorBody};
pub use sender::{CountSnapshot, RequestCounts};
pub use transport::{
    client_options, client_options_with, http_client, load_ca_file, reqwest_client, retry_options, TransportError,
};
