//! Which Azure credential to use, chosen from environment variables, built on azure_identity over
//! our transport (so the emulator's CA applies to Entra and managed-identity endpoints too).
//!
//! Choice, first that applies:
//! 1. `AGENTPOOL_CREDENTIAL` = `client-secret`, `azure-pipelines`, `managed-identity` or
//!    `azure-cli` forces a kind.
//! 2. `AGENTPOOL_SERVICE_CONNECTION_ID` set: an Azure Resource Manager service connection with
//!    workload identity federation, inside an Azure Pipelines job: the job's OIDC token
//!    (`SYSTEM_OIDCREQUESTURI`, asked with `SYSTEM_ACCESSTOKEN`) is Entra's client assertion for
//!    the service principal `AZURE_CLIENT_ID` in `AZURE_TENANT_ID`; all four are then required.
//!    A new OIDC token is asked for whenever a new access token is needed, so a long build wait
//!    outlives both tokens' lifetimes. In a script step of Microsoft's Azure CLI or Azure
//!    PowerShell task, `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`, `AZURESUBSCRIPTION_CLIENT_ID` and
//!    `AZURESUBSCRIPTION_TENANT_ID` (which those tasks set) stand for the first three.
//! 3. `AZURE_CLIENT_SECRET` set: a service principal; `AZURE_CLIENT_ID` and `AZURE_TENANT_ID` are
//!    then required. The authority is `AZURE_AUTHORITY_HOST` (https only), default
//!    `https://login.microsoftonline.com`.
//! 4. `AZURE_CLIENT_ID` and `AZURE_TENANT_ID` set without a secret, and no managed-identity
//!    endpoint: refused, because it almost always means a secret that did not reach the process
//!    (Azure Pipelines maps secret variables into the environment only when told to).
//! 5. `IDENTITY_ENDPOINT`, `MSI_ENDPOINT` or `AZURE_CLIENT_ID` set: managed identity (user-assigned
//!    by client id when `AZURE_CLIENT_ID` is set, else system-assigned).
//! 6. Otherwise the Azure CLI's signed-in account (`az login`), in `AZURE_TENANT_ID` when set.
//!
//! The choice ([`choose_credential`]) is a pure function of the variables; building it
//! ([`build_credential`]) does no I/O.
//!
//! # Caveats
//! - Secrets never appear in `Debug`, `Display` or errors.
//! - azure_identity 1.0 posts to `{authority}/{tenant}/oauth2/v2.0/token` and ignores any path of
//!   the authority host; it does not read the OpenID configuration.
//! - A system-assigned managed identity on a VM (IMDS, no variables) is only chosen with
//!   `AGENTPOOL_CREDENTIAL=managed-identity`; without it, such a machine falls to the Azure CLI.
//! - Managed identity reads `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `MSI_ENDPOINT` itself, from the
//!   process environment, when it is built (azure_identity offers no other way).
//! - The Azure Pipelines credential reads `SYSTEM_OIDCREQUESTURI` itself, from the process
//!   environment, when it is built (azure_identity offers no other way); it is checked here first.
//! - The Azure CLI credential runs `az`; a missing `az` or login shows on the first request as
//!   [`crate::arm::ArmError::Credential`].

use super::{
    config::ArmConfig,
    transport::{self, TransportError},
};
use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{Secret, TokenCredential},
    http::ClientOptions,
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzurePipelinesCredential, AzurePipelinesCredentialOptions,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId,
};
use std::{fmt, sync::Arc};
use url::Url;

/// Forces the kind of credential: `client-secret`, `azure-pipelines`, `managed-identity` or `azure-cli`.
pub const ENV_CREDENTIAL: &str = "AGENTPOOL_CREDENTIAL";
/// The id of the Azure Resource Manager service connection whose workload identity federation
/// signs agentpool in, inside an Azure Pipelines job.
pub const ENV_SERVICE_CONNECTION_ID: &str = "AGENTPOOL_SERVICE_CONNECTION_ID";
/// The job's OIDC token endpoint, as the Azure Pipelines agent sets it.
pub const ENV_OIDC_REQUEST_URI: &str = "SYSTEM_OIDCREQUESTURI";
/// The job's access token, as pipelines map it (`SYSTEM_ACCESSTOKEN: $(System.AccessToken)`).
pub const ENV_SYSTEM_ACCESS_TOKEN: &str = "SYSTEM_ACCESSTOKEN";
/// Entra authority host, as azure_identity reads it.
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// The public cloud's Entra authority.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

const CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// What Microsoft's Azure CLI and Azure PowerShell tasks give their scripts for a connection with
/// workload identity federation.
const TASK_SERVICE_CONNECTION_ID: &str = "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID";
const TASK_CLIENT_ID: &str = "AZURESUBSCRIPTION_CLIENT_ID";
const TASK_TENANT_ID: &str = "AZURESUBSCRIPTION_TENANT_ID";
const CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const TENANT_ID: &str = "AZURE_TENANT_ID";
const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
const MSI_ENDPOINT: &str = "MSI_ENDPOINT";

/// No credential can be made from the environment.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A service principal is partly configured.
    #[error("{present} set but {} missing: set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID together for a service principal{hint}", missing.join(" and "))]
    Incomplete {
        /// The variables that are set (names only).
        present: String,
        /// The variables that are missing.
        missing: Vec<&'static str>,
        /// How else to proceed.
        hint: &'static str,
    },
    /// `AZURE_AUTHORITY_HOST` is not an https URL.
    #[error("AZURE_AUTHORITY_HOST = {value:?} is not an https URL ({reason}); give e.g. {DEFAULT_AUTHORITY_HOST}, or the emulator's https address")]
    InvalidAuthority {
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Workload identity federation is partly configured.
    #[error("{present} set but {} missing: workload identity federation needs AGENTPOOL_SERVICE_CONNECTION_ID, AZURE_CLIENT_ID, AZURE_TENANT_ID, SYSTEM_ACCESSTOKEN and SYSTEM_OIDCREQUESTURI (in Azure Pipelines the agent sets the last one; map $(System.AccessToken) into SYSTEM_ACCESSTOKEN)", missing.join(" and "))]
    IncompleteFederation {
        /// The variables that are set (names only).
        present: String,
        /// The variables that are missing.
        missing: Vec<&'static str>,
    },
    /// `AGENTPOOL_CREDENTIAL` names no known kind.
    #[error("AGENTPOOL_CREDENTIAL = {0:?} is not one of client-secret, azure-pipelines, managed-identity, azure-cli")]
    UnknownKind(String),
    /// The shared HTTP client cannot be built.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// azure_identity refused the settings (e.g. a malformed tenant id).
    #[error("cannot set up the {kind} credential: {message}")]
    Build {
        /// Which credential.
        kind: &'static str,
        /// azure_identity's message.
        message: String,
    },
}

/// The credential chosen from the environment.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialChoice {
    /// A service principal with a client secret.
    ClientSecret {
        /// `AZURE_TENANT_ID`.
        tenant_id: String,
        /// `AZURE_CLIENT_ID`.
        client_id: String,
        /// `AZURE_CLIENT_SECRET` (redacted in `Debug`).
        secret: Secret,
        /// `AZURE_AUTHORITY_HOST` or the public cloud's.
        authority_host: Url,
    },
    /// A service connection's workload identity federation in an Azure Pipelines job.
    AzurePipelines {
        /// `AZURE_TENANT_ID`.
        tenant_id: String,
        /// `AZURE_CLIENT_ID`: the service connection's service principal.
        client_id: String,
        /// `AGENTPOOL_SERVICE_CONNECTION_ID`.
        service_connection_id: String,
        /// `SYSTEM_ACCESSTOKEN` (redacted in `Debug`).
        system_access_token: Secret,
        /// `AZURE_AUTHORITY_HOST` or the public cloud's.
        authority_host: Url,
    },
    /// A managed identity; user-assigned when a client id is given.
    ManagedIdentity {
        /// `AZURE_CLIENT_ID`.
        client_id: Option<String>,
    },
    /// The Azure CLI's signed-in account.
    AzureCli {
        /// `AZURE_TENANT_ID`.
        tenant_id: Option<String>,
    },
}

impl fmt::Debug for CredentialChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientSecret { tenant_id, client_id, authority_host, .. } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("secret", &"<redacted>")
                .field("authority_host", &authority_host.as_str())
                .finish(),
            Self::AzurePipelines { tenant_id, client_id, service_connection_id, authority_host, .. } => f
                .debug_struct("AzurePipelines")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("service_connection_id", service_connection_id)
                .field("system_access_token", &"<redacted>")
                .field("authority_host", &authority_host.as_str())
                .finish(),
            Self::ManagedIdentity { client_id } => {
                f.debug_struct("ManagedIdentity").field("client_id", client_id).finish()
            }
            Self::AzureCli { tenant_id } => f.debug_struct("AzureCli").field("tenant_id", tenant_id).finish(),
        }
    }
}

impl fmt::Display for CredentialChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientSecret { tenant_id, client_id, authority_host, .. } => write!(
                f,
                "service principal {client_id} (client secret) in tenant {tenant_id} via {}",
                authority_host.as_str().trim_end_matches('/')
            ),
            Self::AzurePipelines { tenant_id, client_id, service_connection_id, authority_host, .. } => write!(
                f,
                "service principal {client_id} (workload identity federation of service connection {service_connection_id}) in tenant {tenant_id} via {}",
                authority_host.as_str().trim_end_matches('/')
            ),
            Self::ManagedIdentity { client_id: Some(id) } => write!(f, "user-assigned managed identity {id}"),
            Self::ManagedIdentity { client_id: None } => f.write_str("system-assigned managed identity"),
            Self::AzureCli { tenant_id: Some(tenant) } => write!(f, "Azure CLI account (az login) in tenant {tenant}"),
            Self::AzureCli { tenant_id: None } => f.write_str("Azure CLI account (az login)"),
        }
    }
}

/// Chooses a credential from variables (see the module documentation). Empty values count as unset.
pub fn choose_credential(var: impl Fn(&str) -> Option<String>) -> Result<CredentialChoice, CredentialError> {
    let given = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    // In a script step of Microsoft's Azure CLI or Azure PowerShell task, the connection's
    // federation comes as AZURESUBSCRIPTION_*: read those when agentpool's own are not set.
    let in_azure_task = given(ENV_SERVICE_CONNECTION_ID).is_none() && given(TASK_SERVICE_CONNECTION_ID).is_some();
    let var = |name: &str| {
        let alias = match name {
            ENV_SERVICE_CONNECTION_ID => Some(TASK_SERVICE_CONNECTION_ID),
            CLIENT_ID => Some(TASK_CLIENT_ID),
            TENANT_ID => Some(TASK_TENANT_ID),
            _ => None,
        };
        alias.filter(|_| in_azure_task).and_then(&given).or_else(|| given(name))
    };
    let forced = match var(ENV_CREDENTIAL) {
        None => None,
        Some(kind) => match kind.to_ascii_lowercase().as_str() {
            "client-secret" => Some(Kind::ClientSecret),
            "azure-pipelines" => Some(Kind::AzurePipelines),
            "managed-identity" => Some(Kind::ManagedIdentity),
            "azure-cli" => Some(Kind::AzureCli),
            _ => return Err(CredentialError::UnknownKind(kind)),
        },
    };
    let has = |name: &str| var(name).is_some();
    let kind = forced.unwrap_or_else(|| {
        if has(ENV_SERVICE_CONNECTION_ID) {
            Kind::AzurePipelines
        } else if has(CLIENT_SECRET) {
            Kind::ClientSecret
        } else if has(CLIENT_ID) && has(TENANT_ID) && !has(IDENTITY_ENDPOINT) && !has(MSI_ENDPOINT) {
            Kind::SecretMissing
        } else if has(IDENTITY_ENDPOINT) || has(MSI_ENDPOINT) || has(CLIENT_ID) {
            Kind::ManagedIdentity
        } else {
            Kind::AzureCli
        }
    });
    match kind {
        Kind::ClientSecret => {
            let names = [CLIENT_ID, CLIENT_SECRET, TENANT_ID];
            let missing: Vec<&'static str> = names.into_iter().filter(|n| !has(n)).collect();
            if !missing.is_empty() {
                let present: Vec<&str> = names.into_iter().filter(|n| has(n)).collect();
                return Err(CredentialError::Incomplete {
                    present: describe_present(&present),
                    missing,
                    hint: "",
                });
            }
            let authority_host = authority_host(var(ENV_AUTHORITY_HOST))?;
            Ok(CredentialChoice::ClientSecret {
                tenant_id: var(TENANT_ID).unwrap_or_default(),
                client_id: var(CLIENT_ID).unwrap_or_default(),
                secret: Secret::new(var(CLIENT_SECRET).unwrap_or_default()),
                authority_host,
            })
        }
        Kind::AzurePipelines => {
            let names = [ENV_SERVICE_CONNECTION_ID, CLIENT_ID, TENANT_ID, ENV_SYSTEM_ACCESS_TOKEN, ENV_OIDC_REQUEST_URI];
            let missing: Vec<&'static str> = names.into_iter().filter(|n| !has(n)).collect();
            if !missing.is_empty() {
                let present: Vec<&str> = names.into_iter().filter(|n| has(n)).collect();
                return Err(CredentialError::IncompleteFederation { present: describe_present(&present), missing });
            }
            Ok(CredentialChoice::AzurePipelines {
                tenant_id: var(TENANT_ID).unwrap_or_default(),
                client_id: var(CLIENT_ID).unwrap_or_default(),
                service_connection_id: var(ENV_SERVICE_CONNECTION_ID).unwrap_or_default(),
                system_access_token: Secret::new(var(ENV_SYSTEM_ACCESS_TOKEN).unwrap_or_default()),
                authority_host: authority_host(var(ENV_AUTHORITY_HOST))?,
            })
        }
        Kind::SecretMissing => Err(CredentialError::Incomplete {
            present: describe_present(&[CLIENT_ID, TENANT_ID]),
            missing: vec![CLIENT_SECRET],
            hint: " (in Azure Pipelines, map the secret variable into env), or set AGENTPOOL_CREDENTIAL=managed-identity for a user-assigned managed identity",
        }),
        Kind::ManagedIdentity => Ok(CredentialChoice::ManagedIdentity { client_id: var(CLIENT_ID) }),
        Kind::AzureCli => Ok(CredentialChoice::AzureCli { tenant_id: var(TENANT_ID) }),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    ClientSecret,
    AzurePipelines,
    SecretMissing,
    ManagedIdentity,
    AzureCli,
}

fn describe_present(present: &[&str]) -> String {
    match present {
        [] => "nothing is".to_string(),
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(" and ")),
    }
}

fn authority_host(value: Option<String>) -> Result<Url, CredentialError> {
    let Some(value) = value else {
        return Ok(Url::parse(DEFAULT_AUTHORITY_HOST).expect("the default authority is a URL"));
    };
    let url = Url::parse(&value)
        .map_err(|e| CredentialError::InvalidAuthority { value: value.clone(), reason: e.to_string() })?;
    if url.scheme() != "https" {
        return Err(CredentialError::InvalidAuthority { value, reason: "Entra authorities are https".to_string() });
    }
    Ok(url)
}

/// Builds the chosen credential over `options` (our transport: [`transport::client_options`]).
pub fn build_credential(
    choice: &CredentialChoice,
    options: ClientOptions,
) -> Result<Arc<dyn TokenCredential>, CredentialError> {
    match choice {
        CredentialChoice::ClientSecret { tenant_id, client_id, secret, authority_host } => {
            let credential = ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                secret.clone(),
                Some(ClientSecretCredentialOptions { client_options: in_cloud(options, authority_host) }),
            )
            .map_err(|e| build_error("client secret", &e))?;
            Ok(credential)
        }
        CredentialChoice::AzurePipelines {
            tenant_id,
            client_id,
            service_connection_id,
            system_access_token,
            authority_host,
        } => {
            let options = AzurePipelinesCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: in_cloud(options, authority_host),
                },
            };
            let credential = AzurePipelinesCredential::new(
                tenant_id.clone(),
                client_id.clone(),
                service_connection_id,
                system_access_token.clone(),
                Some(options),
            )
            .map_err(|e| build_error("Azure Pipelines workload identity", &e))?;
            Ok(credential)
        }
        CredentialChoice::ManagedIdentity { client_id } => {
            let mi = ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                client_options: options,
            };
            let credential =
                ManagedIdentityCredential::new(Some(mi)).map_err(|e| build_error("managed identity", &e))?;
            Ok(credential)
        }
        CredentialChoice::AzureCli { tenant_id } => {
            let cli = AzureCliCredentialOptions { tenant_id: tenant_id.clone(), ..Default::default() };
            let credential = AzureCliCredential::new(Some(cli)).map_err(|e| build_error("Azure CLI", &e))?;
            Ok(credential)
        }
    }
}

/// `options` whose Entra authority is `authority_host`.
fn in_cloud(mut options: ClientOptions, authority_host: &Url) -> ClientOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = authority_host.as_str().trim_end_matches('/').to_string();
    options.cloud = Some(Arc::new(CloudConfiguration::Custom(cloud)));
    options
}

fn build_error(kind: &'static str, error: &azure_core::Error) -> CredentialError {
    CredentialError::Build { kind, message: transport::error_chain(error) }
}

/// The credential the process environment asks for, over the transport of `config` (a new
/// connection pool; see [`credential_from_env_with`] to share one).
pub fn credential_from_env(config: &ArmConfig) -> Result<Arc<dyn TokenCredential>, CredentialError> {
    credential_from_env_with(transport::client_options(config)?)
}

/// The credential the process environment asks for, over given options (e.g. the
/// [`transport::client_options`] the ARM and blob clients share).
pub fn credential_from_env_with(options: ClientOptions) -> Result<Arc<dyn TokenCredential>, CredentialError> {
    let choice = choose_credential(|name| std::env::var(name).ok())?;
    build_credential(&choice, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::test_support::Script;
    use std::collections::HashMap;

    const SECRET: &str = "Xy8Q~s3cr3t-value-never-printed";

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn service_principal() -> Vec<(&'static str, &'static str)> {
        vec![
            ("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111"),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ]
    }

    #[test]
    fn the_three_variables_choose_a_client_secret() {
        let choice = choose_credential(vars(&service_principal())).unwrap();
        let CredentialChoice::ClientSecret { tenant_id, client_id, secret, authority_host } = &choice else {
            panic!("{choice:?}")
        };
        assert_eq!(tenant_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(client_id, "11111111-1111-1111-1111-111111111111");
        assert_eq!(secret.secret(), SECRET);
        assert_eq!(authority_host.as_str(), "https://login.microsoftonline.com/");
        assert!(!format!("{choice:?}{choice}").contains(SECRET));
        assert_eq!(
            choice.to_string(),
            "service principal 11111111-1111-1111-1111-111111111111 (client secret) in tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 via https://login.microsoftonline.com"
        );
    }

    #[test]
    fn authority_host_is_read_and_must_be_https() {
        let mut env = service_principal();
        env.push(("AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443"));
        let choice = choose_credential(vars(&env)).unwrap();
        assert!(
            matches!(&choice, CredentialChoice::ClientSecret { authority_host, .. } if authority_host.as_str() == "https://127.0.0.1:8443/")
        );

        env.pop();
        env.push(("AZURE_AUTHORITY_HOST", "http://127.0.0.1:8080"));
        let err = choose_credential(vars(&env)).unwrap_err();
        assert!(matches!(err, CredentialError::InvalidAuthority { .. }), "{err:?}");
        assert!(err.to_string().contains("AZURE_AUTHORITY_HOST"), "{err}");
    }

    #[test]
    fn a_partial_service_principal_names_what_is_missing() {
        let err = choose_credential(vars(&[("AZURE_CLIENT_SECRET", SECRET), ("AZURE_CLIENT_ID", "abc")])).unwrap_err();
        let text = err.to_string();
        assert_eq!(
            text,
            "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are set but AZURE_TENANT_ID missing: set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID together for a service principal"
        );
        assert!(!format!("{err:?}").contains(SECRET));

        let err =
            choose_credential(vars(&[("AZURE_CLIENT_ID", "abc"), ("AZURE_TENANT_ID", "contoso.onmicrosoft.com")]))
                .unwrap_err();
        assert!(err.to_string().contains("AZURE_CLIENT_SECRET missing"), "{err}");
        assert!(err.to_string().contains("AGENTPOOL_CREDENTIAL=managed-identity"), "{err}");
    }

    #[test]
    fn a_service_connection_id_chooses_workload_identity_federation_of_the_job() {
        let job_token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.job-token";
        let mut env = vec![
            ("AGENTPOOL_SERVICE_CONNECTION_ID", "5b2f0c1e-6d9a-4b8e-9f3a-2c7d1e0b4a6f"),
            ("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111"),
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("SYSTEM_ACCESSTOKEN", job_token),
            (
                "SYSTEM_OIDCREQUESTURI",
                "https://dev.azure.com/contoso/6f3c/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken",
            ),
        ];
        let choice = choose_credential(vars(&env)).unwrap();
        assert!(
            matches!(&choice, CredentialChoice::AzurePipelines { service_connection_id, .. } if service_connection_id == "5b2f0c1e-6d9a-4b8e-9f3a-2c7d1e0b4a6f"),
            "{choice:?}"
        );
        assert_eq!(
            choice.to_string(),
            "service principal 11111111-1111-1111-1111-111111111111 (workload identity federation of service connection 5b2f0c1e-6d9a-4b8e-9f3a-2c7d1e0b4a6f) in tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 via https://login.microsoftonline.com"
        );
        assert!(!format!("{choice:?}{choice}").contains(job_token));

        // What Microsoft's Azure CLI task gives its script is read the same way.
        let script: Vec<(&str, &str)> = env
            .iter()
            .map(|(name, value)| match *name {
                "AGENTPOOL_SERVICE_CONNECTION_ID" => ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", *value),
                "AZURE_CLIENT_ID" => ("AZURESUBSCRIPTION_CLIENT_ID", *value),
                "AZURE_TENANT_ID" => ("AZURESUBSCRIPTION_TENANT_ID", *value),
                other => (other, *value),
            })
            .collect();
        assert_eq!(choose_credential(vars(&script)).unwrap(), choice);

        // A client secret beside it does not win: the service connection was asked for.
        env.push(("AZURE_CLIENT_SECRET", SECRET));
        assert!(matches!(choose_credential(vars(&env)).unwrap(), CredentialChoice::AzurePipelines { .. }));

        env.retain(|(name, _)| *name != "SYSTEM_OIDCREQUESTURI" && *name != "SYSTEM_ACCESSTOKEN");
        let err = choose_credential(vars(&env)).unwrap_err();
        assert!(
            err.to_string().starts_with("AGENTPOOL_SERVICE_CONNECTION_ID and AZURE_CLIENT_ID and AZURE_TENANT_ID are set but SYSTEM_ACCESSTOKEN and SYSTEM_OIDCREQUESTURI missing"),
            "{err}"
        );
    }

    #[test]
    fn managed_identity_and_cli_fallbacks() {
        assert_eq!(
            choose_credential(vars(&[
                ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
                ("IDENTITY_HEADER", "h")
            ]))
            .unwrap(),
            CredentialChoice::ManagedIdentity { client_id: None }
        );
        assert_eq!(
            choose_credential(vars(&[("AZURE_CLIENT_ID", "22222222-2222-2222-2222-222222222222")])).unwrap(),
            CredentialChoice::ManagedIdentity { client_id: Some("22222222-2222-2222-2222-222222222222".into()) }
        );
        assert_eq!(choose_credential(vars(&[])).unwrap(), CredentialChoice::AzureCli { tenant_id: None });
        assert_eq!(
            choose_credential(vars(&[("AZURE_TENANT_ID", "contoso.onmicrosoft.com")])).unwrap(),
            CredentialChoice::AzureCli { tenant_id: Some("contoso.onmicrosoft.com".into()) }
        );
    }

    #[test]
    fn agentpool_credential_forces_the_kind() {
        let mut env = service_principal();
        env.push(("AGENTPOOL_CREDENTIAL", "azure-cli"));
        assert!(matches!(choose_credential(vars(&env)).unwrap(), CredentialChoice::AzureCli { .. }));
        assert_eq!(
            choose_credential(vars(&[("AGENTPOOL_CREDENTIAL", "Managed-Identity")])).unwrap(),
            CredentialChoice::ManagedIdentity { client_id: None }
        );
        let err = choose_credential(vars(&[("AGENTPOOL_CREDENTIAL", "client-secret")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("nothing is set but AZURE_CLIENT_ID and AZURE_CLIENT_SECRET and AZURE_TENANT_ID missing"),
            "{err}"
        );
        assert!(matches!(
            choose_credential(vars(&[("AGENTPOOL_CREDENTIAL", "pat")])),
            Err(CredentialError::UnknownKind(_))
        ));
    }

    #[tokio::test]
    async fn client_secret_asks_the_configured_authority_over_our_transport() {
        let mut env = service_principal();
        env.push(("AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443"));
        let choice = choose_credential(vars(&env)).unwrap();
        let script = Script::new();
        script.push(
            200,
            &[("Content-Type", "application/json; charset=utf-8")],
            r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln"}"#,
        );
        let options = transport::client_options_with(&ArmConfig::new(), script.transport());
        let credential = build_credential(&choice, options).unwrap();
        let token = credential.get_token(&["https://management.azure.com/.default"], None).await.unwrap();
        assert_eq!(token.token.secret(), "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln");
        let request = &script.requests()[0];
        assert_eq!(
            request.url.as_str(),
            "https://127.0.0.1:8443/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
        );
        let form = String::from_utf8(request.body.clone()).unwrap();
        assert!(form.contains("grant_type=client_credentials"), "{form}");
        assert!(form.contains("scope=https%3A%2F%2Fmanagement.azure.com%2F.default"), "{form}");
    }

    #[tokio::test]
    async fn a_refused_secret_is_a_credential_error_of_the_request() {
        let choice = choose_credential(vars(&service_principal())).unwrap();
        let script = Script::new();
        script.push(
            401,
            &[("Content-Type", "application/json; charset=utf-8")],
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.","error_codes":[7000215]}"#,
        );
        let config = ArmConfig::new().with_retry(crate::arm::RetryConfig::fast());
        let credential =
            build_credential(&choice, transport::client_options_with(&config, script.transport())).unwrap();
        let arm = crate::arm::ArmClient::with_transport(&config, credential, script.transport());
        let err = arm
            .get("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg", "2024-07-01")
            .await
            .unwrap_err();
        assert!(matches!(err, crate::arm::ArmError::Credential { .. }), "{err:?}");
        assert!(err.is_usage());
        let text = err.to_string();
        assert!(text.contains("AADSTS7000215: Invalid client secret provided."), "{text}");
        assert!(text.contains("set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID"), "{text}");
        assert!(!text.contains(SECRET) && !format!("{err:?}").contains(SECRET));
        assert_eq!(script.lines(), ["POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"]);
    }

    #[test]
    fn cli_and_managed_identity_build_without_io() {
        let options = || transport::client_options_with(&ArmConfig::new(), Script::new().transport());
        build_credential(&CredentialChoice::AzureCli { tenant_id: None }, options()).unwrap();
        let err = build_credential(&CredentialChoice::AzureCli { tenant_id: Some("not a tenant".into()) }, options())
            .err()
            .unwrap();
        assert!(err.to_string().contains("cannot set up the Azure CLI credential"), "{err}");
        // Reads IDENTITY_ENDPOINT/MSI_ENDPOINT of the process; none here means IMDS, built without I/O.
        if std::env::var_os("IDENTITY_ENDPOINT").is_none() && std::env::var_os("MSI_ENDPOINT").is_none() {
            build_credential(
                &CredentialChoice::ManagedIdentity { client_id: Some("22222222-2222-2222-2222-222222222222".into()) },
                options(),
            )
            .unwrap();
        }
    }
}
