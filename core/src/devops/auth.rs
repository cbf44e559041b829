//! Which organization, and which credential reaches it.
//!
//! The credential: the one `AGENTPOOL_DEVOPS_AUTH` names (`pat`, `job-token` or `entra`), else
//! the first that applies:
//! 1. `AZURE_DEVOPS_EXT_PAT` (the variable the Azure DevOps CLI reads): a personal access token,
//!    sent as Basic with an empty user. It needs the *Agent Pools (read & manage)*, *Service
//!    Connections (read)* and *Project and Team (read)* scopes.
//! 2. `SYSTEM_ACCESSTOKEN` (a pipeline maps `$(System.AccessToken)` into it): the job's token,
//!    sent as Bearer. The project's build service identity must be an administrator of the
//!    organization's agent pools to create one.
//! 3. Otherwise an Entra token for Azure DevOps (`499b84ac-1321-427f-aa17-267ca6975798/.default`)
//!    from the same credential as Resource Manager: the service principal or managed identity
//!    must be a user of the organization.
//!
//! Caveats: the tokens are secrets and never appear in `Debug` or errors. A job token expires
//! with its job; it is not refreshed.

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::Url;
use time::OffsetDateTime;

use super::DevOpsError;

/// Personal access token, as the Azure DevOps CLI reads it.
pub const ENV_PAT: &str = "AZURE_DEVOPS_EXT_PAT";
/// The pipeline's job token, as pipelines map it (`SYSTEM_ACCESSTOKEN: $(System.AccessToken)`).
pub const ENV_ACCESS_TOKEN: &str = "SYSTEM_ACCESSTOKEN";
/// Forces the credential: `pat`, `job-token` or `entra`.
pub const ENV_DEVOPS_AUTH: &str = "AGENTPOOL_DEVOPS_AUTH";
/// Entra scope of Azure DevOps.
pub const ENTRA_SCOPE: &str = azure_devops_rust_api::ADO_SCOPE;

/// How agentpool authenticates to Azure DevOps.
#[derive(Clone)]
pub enum DevOpsAuth {
    Pat(Secret),
    /// A bearer token given as it is (the pipeline's job token).
    AccessToken(Secret),
    /// An Entra token from this credential.
    Entra(Arc<dyn TokenCredential>),
}

impl fmt::Debug for DevOpsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl DevOpsAuth {
    /// From the environment (see the module's order); `entra` is Resource Manager's credential.
    pub fn choose(var: impl Fn(&str) -> Option<String>, entra: Arc<dyn TokenCredential>) -> Result<Self, DevOpsError> {
        let given = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let pat = || given(ENV_PAT).map(|pat| DevOpsAuth::Pat(Secret::new(pat)));
        let job_token = || given(ENV_ACCESS_TOKEN).map(|token| DevOpsAuth::AccessToken(Secret::new(token)));
        let missing = |name: &str, kind: &str| {
            DevOpsError::Auth(format!(
                "{ENV_DEVOPS_AUTH}={kind} but {name} is not set — set it, or choose another of pat, job-token, entra"
            ))
        };
        match given(ENV_DEVOPS_AUTH).map(|kind| kind.to_ascii_lowercase()).as_deref() {
            None => Ok(pat().or_else(job_token).unwrap_or(DevOpsAuth::Entra(entra))),
            Some("pat") => pat().ok_or_else(|| missing(ENV_PAT, "pat")),
            Some("job-token") => job_token().ok_or_else(|| missing(ENV_ACCESS_TOKEN, "job-token")),
            Some("entra") => Ok(DevOpsAuth::Entra(entra)),
            Some(other) => {
                Err(DevOpsError::Auth(format!("{ENV_DEVOPS_AUTH}={other} is not one of pat, job-token, entra")))
            }
        }
    }

    /// What it is, for logs: never the secret.
    pub fn describe(&self) -> &'static str {
        match self {
            DevOpsAuth::Pat(_) => "a personal access token (AZURE_DEVOPS_EXT_PAT)",
            DevOpsAuth::AccessToken(_) => "the job's access token (SYSTEM_ACCESSTOKEN)",
            DevOpsAuth::Entra(_) => "an Entra token of the Azure credential",
        }
    }

    /// As `azure_devops_rust_api` takes it.
    pub(crate) fn credential(&self) -> azure_devops_rust_api::Credential {
        match self {
            DevOpsAuth::Pat(pat) => azure_devops_rust_api::Credential::from_pat(pat.secret().to_owned()),
            DevOpsAuth::AccessToken(token) => {
                azure_devops_rust_api::Credential::TokenCredential(Arc::new(StaticToken(token.clone())))
            }
            DevOpsAuth::Entra(credential) => azure_devops_rust_api::Credential::TokenCredential(credential.clone()),
        }
    }
}

/// A bearer token that is what it is: it is not refreshed.
#[derive(Debug)]
struct StaticToken(Secret);

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(self.0.clone(), OffsetDateTime::now_utc() + time::Duration::hours(1)))
    }
}

/// An organization: `https://dev.azure.com/contoso` is the service at `https://dev.azure.com`
/// and the organization `contoso`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Where the service answers, without the organization.
    pub endpoint: Url,
    pub name: String,
}

impl Organization {
    /// From an organization URL: `https://dev.azure.com/{org}`, the older
    /// `https://{org}.visualstudio.com` (the same organization at dev.azure.com), or any host
    /// with one path segment (a local emulator).
    pub fn parse(url: &str) -> Result<Self, DevOpsError> {
        let bad = |why: &str| {
            DevOpsError::Url(format!(
                "organization URL '{url}' {why} — give it as https://dev.azure.com/<organization>"
            ))
        };
        let parsed = Url::parse(url.trim()).map_err(|_| bad("is not a URL"))?;
        if parsed.scheme() != "https" {
            return Err(bad("is not https"));
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> = parsed.path_segments().into_iter().flatten().filter(|s| !s.is_empty()).collect();
        if let Some(org) = host.strip_suffix(".visualstudio.com").filter(|_| segments.is_empty()) {
            let endpoint = Url::parse("https://dev.azure.com").map_err(|_| bad("is not a URL"))?;
            return Ok(Self { endpoint, name: org.to_owned() });
        }
        let [name] = segments[..] else { return Err(bad("does not name one organization")) };
        let mut endpoint = parsed.clone();
        endpoint.set_path("");
        endpoint.set_query(None);
        Ok(Self { endpoint, name: name.to_owned() })
    }

    /// `https://dev.azure.com/contoso`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.endpoint.as_str().trim_end_matches('/'), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_urls_of_every_form() {
        let org = Organization::parse("https://dev.azure.com/contoso/").unwrap();
        assert_eq!((org.endpoint.as_str(), org.name.as_str()), ("https://dev.azure.com/", "contoso"));
        assert_eq!(org.url(), "https://dev.azure.com/contoso");
        let old = Organization::parse("https://contoso.visualstudio.com").unwrap();
        assert_eq!(old, org);
        let local = Organization::parse("https://127.0.0.1:8443/contoso").unwrap();
        assert_eq!(local.endpoint.as_str(), "https://127.0.0.1:8443/");
        for bad in ["http://dev.azure.com/contoso", "https://dev.azure.com", "https://dev.azure.com/a/b", "contoso"] {
            let error = Organization::parse(bad).unwrap_err().to_string();
            assert!(error.ends_with("give it as https://dev.azure.com/<organization>"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_pat_wins_then_the_job_token_then_entra_and_none_shows_its_secret() {
        #[derive(Debug)]
        struct Never;
        #[async_trait::async_trait]
        impl TokenCredential for Never {
            async fn get_token(
                &self,
                _: &[&str],
                _: Option<TokenRequestOptions<'_>>,
            ) -> azure_core::Result<AccessToken> {
                unreachable!()
            }
        }
        let entra: Arc<dyn TokenCredential> = Arc::new(Never);
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let both =
            DevOpsAuth::choose(vars(&[(ENV_PAT, "pat-secret"), (ENV_ACCESS_TOKEN, "job-secret")]), entra.clone())
                .unwrap();
        assert!(matches!(both, DevOpsAuth::Pat(_)));
        assert!(!format!("{both:?}").contains("pat-secret"));
        let job = DevOpsAuth::choose(vars(&[(ENV_PAT, " "), (ENV_ACCESS_TOKEN, "job-secret")]), entra.clone()).unwrap();
        assert!(matches!(job, DevOpsAuth::AccessToken(_)));
        assert!(!format!("{job:?}").contains("job-secret"));
        assert!(matches!(DevOpsAuth::choose(vars(&[]), entra.clone()), Ok(DevOpsAuth::Entra(_))));

        // Forced: Entra although a job token is there (it signs in the Azure credential too).
        let forced = vars(&[(ENV_DEVOPS_AUTH, "Entra"), (ENV_ACCESS_TOKEN, "job-secret")]);
        assert!(matches!(DevOpsAuth::choose(forced, entra.clone()), Ok(DevOpsAuth::Entra(_))));
        let err =
            DevOpsAuth::choose(vars(&[(ENV_DEVOPS_AUTH, "pat"), (ENV_ACCESS_TOKEN, "job-secret")]), entra.clone())
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "AGENTPOOL_DEVOPS_AUTH=pat but AZURE_DEVOPS_EXT_PAT is not set — set it, or choose another of pat, job-token, entra"
        );
        assert!(err.is_usage());
        assert!(DevOpsAuth::choose(vars(&[(ENV_DEVOPS_AUTH, "oauth")]), entra).is_err());
    }
}
