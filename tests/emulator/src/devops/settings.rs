//! Command line settings of the emulated Azure DevOps (flattened into [`crate::config::Config`]).

use clap::Args;

/// Organization made at start unless `--devops-organization` says otherwise.
pub const DEFAULT_ORGANIZATION: &str = "contoso";
/// Personal access token accepted (Basic, any user name) unless `--devops-pat` says otherwise.
pub const DEFAULT_PAT: &str = "emulator-devops-pat";
/// Job access token (`System.AccessToken`) accepted as Bearer unless `--devops-access-token` says otherwise.
pub const DEFAULT_ACCESS_TOKEN: &str = "emulator-system-access-token";
/// How long each node phase (`new`, `creatingCompute`, `startingAgent`) lasts by default, in ms.
pub const DEFAULT_NODE_MS: u64 = 200;

/// A service endpoint to make at start: `<project>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSeed {
    pub project: String,
    pub name: String,
}

impl EndpointSeed {
    /// `<project>/<name>`, both non-empty.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.split_once('/') {
            Some((project, name)) if !project.trim().is_empty() && !name.trim().is_empty() => {
                Ok(EndpointSeed { project: project.trim().to_string(), name: name.trim().to_string() })
            }
            _ => Err(format!("{s:?} is not <project>/<name>")),
        }
    }
}

/// Azure DevOps settings.
#[derive(Debug, Clone, Args)]
pub struct DevopsSettings {
    /// The Azure DevOps organization served at `https://host:port/{organization}` (made at start; more
    /// through `POST /_emulator/devops/organizations`).
    #[arg(long = "devops-organization", default_value = DEFAULT_ORGANIZATION)]
    pub organization: String,

    /// A project of the organization (repeatable; default `platform`).
    #[arg(long = "devops-project", value_name = "NAME", default_value = "platform")]
    pub projects: Vec<String>,

    /// An AzureRM service endpoint (service principal, scoped to the emulator's subscription and tenant,
    /// the principal being `--client-id`) shared into a project, as `<project>/<name>` (repeatable; default
    /// `platform/sc-agents-sbx`; the project is made if missing).
    #[arg(long = "devops-service-endpoint", value_name = "PROJECT/NAME", value_parser = EndpointSeed::parse,
          default_value = "platform/sc-agents-sbx")]
    pub service_endpoints: Vec<EndpointSeed>,

    /// An AzureRM service endpoint with the `WorkloadIdentityFederation` scheme (principal `--client-id`, whose
    /// Entra application gets a federated credential for the connection's issuer and subject), as
    /// `<project>/<name>` (repeatable; default `platform/sc-agents-wif`; the project is made if missing).
    #[arg(long = "devops-wif-service-endpoint", value_name = "PROJECT/NAME", value_parser = EndpointSeed::parse,
          default_value = "platform/sc-agents-wif")]
    pub wif_service_endpoints: Vec<EndpointSeed>,

    /// Lifetime of the OIDC tokens a job gets for a workload identity federation service connection
    /// (`…/oidctoken`), in seconds.
    #[arg(long = "oidc-token-lifetime-seconds", default_value_t = crate::devops::oidc::DEFAULT_LIFETIME_SECS)]
    pub oidc_token_lifetime_secs: u64,

    /// The personal access token Azure DevOps accepts (Basic authentication, any user name).
    #[arg(long = "devops-pat", default_value = DEFAULT_PAT)]
    pub pat: String,

    /// The job access token (`System.AccessToken`) Azure DevOps accepts as a Bearer token.
    #[arg(long = "devops-access-token", default_value = DEFAULT_ACCESS_TOKEN)]
    pub access_token: String,

    /// How long each phase of a new node lasts (`new`, `creatingCompute`, `startingAgent`, then `idle`), in ms.
    #[arg(long = "devops-node-ms", default_value_t = DEFAULT_NODE_MS)]
    pub node_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        devops: DevopsSettings,
    }

    #[test]
    fn defaults_and_repeats() {
        let c = Cli::parse_from(["x"]).devops;
        assert_eq!((c.organization.as_str(), c.projects.as_slice()), ("contoso", ["platform".to_string()].as_slice()));
        assert_eq!(
            c.service_endpoints,
            vec![EndpointSeed { project: "platform".into(), name: "sc-agents-sbx".into() }]
        );
        assert_eq!(c.wif_service_endpoints[0].name, "sc-agents-wif");
        assert_eq!(c.oidc_token_lifetime_secs, 600);
        let c = Cli::parse_from([
            "x",
            "--devops-project",
            "a",
            "--devops-project",
            "b",
            "--devops-service-endpoint",
            "b/sc-b",
            "--devops-node-ms",
            "5",
            "--devops-wif-service-endpoint",
            "b/sc-wif",
            "--oidc-token-lifetime-seconds",
            "3",
        ])
        .devops;
        assert_eq!((c.wif_service_endpoints[0].project.as_str(), c.oidc_token_lifetime_secs), ("b", 3));
        assert_eq!(c.projects, ["a", "b"]);
        assert_eq!(c.service_endpoints[0].name, "sc-b");
        assert_eq!(c.node_ms, 5);
        assert!(Cli::try_parse_from(["x", "--devops-service-endpoint", "nope"]).is_err());
    }
}
