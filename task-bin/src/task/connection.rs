//! Service connections as the Azure Pipelines agent hands them to a task, turned into the
//! settings the rest of agentpool reads (the variables of [`agentpool_core::arm::credential`] and
//! [`agentpool_core::devops::auth`]).
//!
//! An Azure Resource Manager connection whose id is the input's value arrives as
//! `ENDPOINT_URL_<id>`, `ENDPOINT_AUTH_SCHEME_<id>`, `ENDPOINT_AUTH_PARAMETER_<id>_<KEY>` and
//! `ENDPOINT_DATA_<id>_<KEY>` (the agent upper-cases the names). Schemes:
//! - `ServicePrincipal` with `authenticationType` `spnKey`: `SERVICEPRINCIPALID`,
//!   `SERVICEPRINCIPALKEY`, `TENANTID` — a client secret;
//! - `WorkloadIdentityFederation`: `SERVICEPRINCIPALID`, `TENANTID` — the job's OIDC token
//!   (`SYSTEM_OIDCREQUESTURI`, asked with the job's access token) as Entra's client assertion;
//! - `ManagedServiceIdentity`: the agent machine's managed identity, in `TENANTID`.
//!
//! The job's access token is `ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN` (the
//! agent gives every task the `SystemVssConnection`), else `SYSTEM_ACCESSTOKEN`.
//!
//! Caveats: a service principal with a certificate (`spnCertificate`) and connections scoped to
//! a management group or a machine learning workspace are refused: agentpool deploys into one
//! subscription. The secret values are handed over, never written; the agent already masks the
//! connection's secrets in the log.

use std::collections::BTreeMap;

use super::inputs::{InputError, Inputs};

/// The name of the Azure Resource Manager connection input.
pub const AZURE_INPUT: &str = "connectedServiceNameARM";

/// Settings for the rest of agentpool: variable → value.
pub type Settings = BTreeMap<&'static str, String>;

/// Reads one endpoint's variables by id (any case of the id).
struct Endpoint<'a, F: Fn(&str) -> Option<String>> {
    id: &'a str,
    var: &'a F,
}

impl<F: Fn(&str) -> Option<String>> Endpoint<'_, F> {
    fn get(&self, prefix: &str, key: &str) -> Option<String> {
        let upper = self.id.replace(['.', ' '], "_").to_ascii_uppercase();
        let key = if key.is_empty() { String::new() } else { format!("_{key}") };
        [format!("{prefix}_{upper}{key}"), format!("{prefix}_{}{key}", self.id)]
            .iter()
            .find_map(|name| (self.var)(name))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn url(&self) -> Option<String> {
        self.get("ENDPOINT_URL", "")
    }

    fn scheme(&self) -> Option<String> {
        self.get("ENDPOINT_AUTH_SCHEME", "")
    }

    fn auth(&self, key: &str) -> Option<String> {
        self.get("ENDPOINT_AUTH_PARAMETER", key)
    }

    fn data(&self, key: &str) -> Option<String> {
        self.get("ENDPOINT_DATA", key)
    }
}

/// The job's access token.
pub fn job_access_token(var: &impl Fn(&str) -> Option<String>) -> Option<String> {
    ["ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN", "SYSTEM_ACCESSTOKEN"]
        .iter()
        .find_map(|name| var(name).filter(|v| !v.trim().is_empty()))
}

/// The settings that sign in with the Azure Resource Manager connection of the task's inputs.
pub fn azure(inputs: &Inputs, var: &impl Fn(&str) -> Option<String>) -> Result<Settings, InputError> {
    let id = inputs.text(AZURE_INPUT).unwrap_or_default();
    let endpoint = Endpoint { id, var };
    let missing = |what: &str| {
        inputs.error(
            AZURE_INPUT,
            format!("service connection {id} has no {what} in this job"),
            "choose an Azure Resource Manager service connection this pipeline may use",
        )
    };
    let scheme = endpoint.scheme().ok_or_else(|| missing("authorization scheme (ENDPOINT_AUTH_SCHEME)"))?;
    let mut settings = Settings::new();
    let scope = endpoint.data("SCOPELEVEL").unwrap_or_else(|| "Subscription".to_owned());
    if !scope.eq_ignore_ascii_case("Subscription") {
        return Err(inputs.error(
            AZURE_INPUT,
            format!("service connection {id} is scoped to a {scope}"),
            "use a connection scoped to the subscription (or a resource group in it) agentpool deploys into",
        ));
    }
    let subscription = endpoint.data("SUBSCRIPTIONID").ok_or_else(|| missing("subscription id"))?;
    settings.insert("AZURE_SUBSCRIPTION_ID", subscription);
    if let Some(url) = endpoint.url() {
        settings.insert("AGENTPOOL_ARM_ENDPOINT", url.trim_end_matches('/').to_owned());
    }
    if let Some(authority) = endpoint.data("ENVIRONMENTAUTHORITYURL") {
        settings.insert("AZURE_AUTHORITY_HOST", authority.trim_end_matches('/').to_owned());
    }
    let tenant = endpoint.auth("TENANTID").ok_or_else(|| missing("tenant id"))?;
    settings.insert("AZURE_TENANT_ID", tenant);
    let client_id = || endpoint.auth("SERVICEPRINCIPALID").ok_or_else(|| missing("client id"));
    match scheme.to_ascii_lowercase().as_str() {
        "serviceprincipal" => {
            let kind = endpoint.auth("AUTHENTICATIONTYPE").unwrap_or_else(|| "spnKey".to_owned());
            if !kind.eq_ignore_ascii_case("spnKey") {
                return Err(inputs.error(
                    AZURE_INPUT,
                    format!("service connection {id} signs in with a certificate ({kind})"),
                    "use a service principal with a secret, workload identity federation or a managed identity",
                ));
            }
            settings.insert("AGENTPOOL_CREDENTIAL", "client-secret".to_owned());
            settings.insert("AZURE_CLIENT_ID", client_id()?);
            settings
                .insert("AZURE_CLIENT_SECRET", endpoint.auth("SERVICEPRINCIPALKEY").ok_or_else(|| missing("secret"))?);
        }
        "workloadidentityfederation" => {
            settings.insert("AGENTPOOL_CREDENTIAL", "azure-pipelines".to_owned());
            settings.insert("AGENTPOOL_SERVICE_CONNECTION_ID", id.to_owned());
            settings.insert("AZURE_CLIENT_ID", client_id()?);
            let token = job_access_token(var).ok_or_else(|| missing("job access token (System.AccessToken)"))?;
            settings.insert("SYSTEM_ACCESSTOKEN", token);
            if var("SYSTEM_OIDCREQUESTURI").is_none_or(|v| v.trim().is_empty()) {
                return Err(missing("OIDC token endpoint (SYSTEM_OIDCREQUESTURI)"));
            }
        }
        "managedserviceidentity" => {
            settings.insert("AGENTPOOL_CREDENTIAL", "managed-identity".to_owned());
        }
        _ => {
            return Err(inputs.error(
                AZURE_INPUT,
                format!("service connection {id} uses the authorization scheme '{scheme}'"),
                "use a connection with ServicePrincipal, WorkloadIdentityFederation or ManagedServiceIdentity",
            ))
        }
    }
    Ok(settings)
}

/// How a step reaches Azure DevOps: `systemAccessToken`, `azureSubscription` (Entra, with the
/// Azure connection's principal) or `personalAccessToken` (an Azure DevOps service connection's
/// token), as `auth_input` says; the job's token for a task without that input.
pub fn devops(
    inputs: &Inputs,
    var: &impl Fn(&str) -> Option<String>,
    auth_input: &str,
    connection_input: &str,
) -> Result<Settings, InputError> {
    let mut settings = Settings::new();
    match inputs.shared_text(auth_input).unwrap_or("systemAccessToken") {
        "azureSubscription" => {
            settings.insert("AGENTPOOL_DEVOPS_AUTH", "entra".to_owned());
        }
        "personalAccessToken" => {
            let id = inputs.text(connection_input).unwrap_or_default();
            let endpoint = Endpoint { id, var };
            let token = endpoint.auth("APITOKEN").ok_or_else(|| {
                inputs.error(
                    connection_input,
                    format!("service connection {id} has no personal access token (apitoken) in this job"),
                    "choose an Azure DevOps connection with token authentication",
                )
            })?;
            settings.insert("AGENTPOOL_DEVOPS_AUTH", "pat".to_owned());
            settings.insert("AZURE_DEVOPS_EXT_PAT", token);
        }
        _ => {
            let token = job_access_token(var).ok_or_else(|| {
                inputs.error(
                    auth_input,
                    "the job's access token is not in this job",
                    "let the job's scripts reach the OAuth token, or choose another authentication",
                )
            })?;
            settings.insert("AGENTPOOL_DEVOPS_AUTH", "job-token".to_owned());
            settings.insert("SYSTEM_ACCESSTOKEN", token);
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::inputs::Definition;

    const TASK: &str = r#"{"name": "T", "friendlyName": "t", "inputs": [
        {"name": "connectedServiceNameARM", "type": "connectedService:AzureRM", "label": "Azure subscription", "required": true}]}"#;
    const ID: &str = "5b2f0c1e-6d9a-4b8e-9f3a-2c7d1e0b4a6f";
    const KEY: &str = "Xy8Q~s3cr3t-value";

    fn env(pairs: Vec<(String, &'static str)>) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    fn connection(scheme: &'static str) -> Vec<(String, &'static str)> {
        let id = ID.to_ascii_uppercase();
        vec![
            ("INPUT_CONNECTEDSERVICENAMEARM".into(), ID),
            (format!("ENDPOINT_URL_{id}"), "https://management.azure.com/"),
            (format!("ENDPOINT_AUTH_SCHEME_{id}"), scheme),
            (format!("ENDPOINT_AUTH_PARAMETER_{id}_SERVICEPRINCIPALID"), "11111111-1111-1111-1111-111111111111"),
            (format!("ENDPOINT_AUTH_PARAMETER_{id}_SERVICEPRINCIPALKEY"), KEY),
            (format!("ENDPOINT_AUTH_PARAMETER_{id}_TENANTID"), "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            (format!("ENDPOINT_DATA_{id}_SUBSCRIPTIONID"), "00000000-0000-0000-0000-000000000000"),
            (format!("ENDPOINT_DATA_{id}_ENVIRONMENTAUTHORITYURL"), "https://login.windows.net/"),
            ("ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN".into(), "job-token"),
            (
                "SYSTEM_OIDCREQUESTURI".into(),
                "https://dev.azure.com/contoso/p/_apis/distributedtask/hubs/build/plans/x/jobs/y/oidctoken",
            ),
        ]
    }

    fn settings(pairs: Vec<(String, &'static str)>) -> Result<Settings, InputError> {
        let var = env(pairs);
        let inputs = Definition::parse(TASK).read(&var).unwrap();
        azure(&inputs, &var)
    }

    #[test]
    fn a_service_principal_connection_is_a_client_secret_in_its_subscription_and_cloud() {
        let settings = settings(connection("ServicePrincipal")).unwrap();
        assert_eq!(settings["AGENTPOOL_CREDENTIAL"], "client-secret");
        assert_eq!(settings["AZURE_CLIENT_SECRET"], KEY);
        assert_eq!(settings["AZURE_SUBSCRIPTION_ID"], "00000000-0000-0000-0000-000000000000");
        assert_eq!(settings["AGENTPOOL_ARM_ENDPOINT"], "https://management.azure.com");
        assert_eq!(settings["AZURE_AUTHORITY_HOST"], "https://login.windows.net");
    }

    #[test]
    fn workload_identity_federation_takes_the_jobs_token_and_no_secret() {
        let settings = settings(connection("WorkloadIdentityFederation")).unwrap();
        assert_eq!(settings["AGENTPOOL_CREDENTIAL"], "azure-pipelines");
        assert_eq!(settings["AGENTPOOL_SERVICE_CONNECTION_ID"], ID);
        assert_eq!(settings["SYSTEM_ACCESSTOKEN"], "job-token");
        assert!(!settings.contains_key("AZURE_CLIENT_SECRET"));

        let mut without_oidc = connection("WorkloadIdentityFederation");
        without_oidc.retain(|(k, _)| k != "SYSTEM_OIDCREQUESTURI");
        let err = super::tests::settings(without_oidc).unwrap_err();
        assert!(err.to_string().contains("no OIDC token endpoint (SYSTEM_OIDCREQUESTURI)"), "{err}");
    }

    #[test]
    fn a_task_without_an_azure_devops_choice_reaches_it_with_the_jobs_token() {
        let var = env(connection("ServicePrincipal"));
        let inputs = Definition::parse(TASK).read(&var).unwrap();
        let settings = devops(&inputs, &var, "devOpsAuthentication", "devOpsConnection").unwrap();
        assert_eq!(settings["AGENTPOOL_DEVOPS_AUTH"], "job-token");
        assert_eq!(settings["SYSTEM_ACCESSTOKEN"], "job-token");
    }

    #[test]
    fn a_managed_identity_connection_signs_in_as_the_agents_machine() {
        let settings = settings(connection("ManagedServiceIdentity")).unwrap();
        assert_eq!(settings["AGENTPOOL_CREDENTIAL"], "managed-identity");
        assert_eq!(settings["AZURE_TENANT_ID"], "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert!(!settings.contains_key("AZURE_CLIENT_SECRET") && !settings.contains_key("AZURE_CLIENT_ID"));
    }

    #[test]
    fn a_certificate_or_a_management_group_connection_is_refused_with_what_works() {
        let id = ID.to_ascii_uppercase();
        let mut certificate = connection("ServicePrincipal");
        certificate.push((format!("ENDPOINT_AUTH_PARAMETER_{id}_AUTHENTICATIONTYPE"), "spnCertificate"));
        let err = settings(certificate).unwrap_err();
        assert!(err.to_string().contains("signs in with a certificate (spnCertificate)"), "{err}");
        let mut group = connection("WorkloadIdentityFederation");
        group.push((format!("ENDPOINT_DATA_{id}_SCOPELEVEL"), "ManagementGroup"));
        let err = settings(group).unwrap_err();
        assert!(
            err.to_string().contains("is scoped to a ManagementGroup — use a connection scoped to the subscription"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_scheme_names_the_input_and_the_schemes_that_work() {
        let err = settings(connection("UsernamePassword")).unwrap_err();
        assert_eq!(err.input, "connectedServiceNameARM");
        assert_eq!(
            err.to_string(),
            format!("input 'connectedServiceNameARM' (Azure subscription): service connection {ID} uses the authorization scheme 'UsernamePassword' — use a connection with ServicePrincipal, WorkloadIdentityFederation or ManagedServiceIdentity")
        );
        assert!(!err.to_string().contains(KEY));
    }

    #[test]
    fn a_connection_missing_from_the_job_is_named() {
        let var = env(vec![("INPUT_CONNECTEDSERVICENAMEARM".into(), "not-shared")]);
        let inputs = Definition::parse(TASK).read(&var).unwrap();
        let err = azure(&inputs, &var).unwrap_err();
        assert!(err.to_string().contains("service connection not-shared has no authorization scheme"), "{err}");
    }
}
