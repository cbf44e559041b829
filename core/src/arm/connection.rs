//! What reaching Azure takes, made once from one source of variables: the credential chosen from
//! them, one transport (and connection pool) for Resource Manager, Entra and blob storage, and
//! the ARM client over it.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::ClientOptions;

use super::{build_credential, choose_credential, client_options, ArmClient, ArmConfig};
use super::{ConfigError, CredentialError, TransportError};

/// Why a connection could not be made; each names the variable or file to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Credential(#[from] CredentialError),
}

/// The ARM client and what blob storage clients share with it.
pub struct Connection {
    pub client: ArmClient,
    pub credential: Arc<dyn TokenCredential>,
    pub options: ClientOptions,
}

impl Connection {
    /// A connection for `config`, with the credential that `var` (environment variables, or a
    /// map in tests) chooses.
    pub fn new(config: &ArmConfig, var: impl Fn(&str) -> Option<String>) -> Result<Connection, ConnectError> {
        let options = client_options(config)?;
        let credential = build_credential(&choose_credential(var)?, options.clone())?;
        let client = ArmClient::with_options(config, credential.clone(), options.clone());
        Ok(Connection { client, credential, options })
    }
}
