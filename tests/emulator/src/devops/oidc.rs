//! The OIDC tokens Azure Pipelines gives a job for a workload identity federation service connection
//! (`Oidctoken_Create` of `distributedTask/7.1/task.json`):
//!
//! | route | answers |
//! |---|---|
//! | POST `{org}/{projectId}/_apis/distributedtask/hubs/{hubName}/plans/{planId}/jobs/{jobId}/oidctoken?serviceConnectionId=&api-version=` | 200 `{"oidcToken": "<JWT>"}` (`TaskHubOidcToken`) |
//!
//! This is the URL the agent hands a job as `SYSTEM_OIDCREQUESTURI` (`{collectionUri}{projectId}/_apis/
//! distributedtask/hubs/build/plans/{planId}/jobs/{jobId}/oidctoken`, as a hosted job's environment shows
//! it), to which azure_identity's `AzurePipelinesCredential` appends `?api-version=7.1&serviceConnectionId=<id>`
//! and POSTs an empty body with `Authorization: Bearer <System.AccessToken>` and `X-TFS-FedAuthRedirect:
//! Suppress`. The resource location is `69a319f4-28c1-4bfd-93e6-ea0ff5c6f1a2`
//! (microsoft/azure-devops-node-api `TaskApi.createOidcToken`, `7.1-preview.1`); `7.1` is accepted too, as
//! Microsoft's credentials send it.
//!
//! The token (claims of the decompiled `Microsoft.Azure.DevOps.ServiceEndpoints.Sdk.Server.OidcFederationClaims`
//! of Azure DevOps Server 2022, and a token of the service quoted in sigstore/fulcio#1803):
//! - `iss` `https://vstoken.dev.azure.com/{organization id}` (`GetIssuer`: the default issuer plus the host's
//!   instance id; Microsoft's "Convert service connections" page names `https://vstoken.dev.azure.com` the
//!   Azure DevOps issuer prefix);
//! - `sub` the connection's `workloadIdentityFederationSubject` authorization parameter when set, else
//!   `sc://{organization}/{project}/{service connection}` from its first project reference
//!   (`AssembleSubjectFromEndpointReferences`); without `serviceConnectionId`, `p://{organization}/{project}/
//!   {pipeline}` (the shape fulcio#1803 shows; the emulator's pipeline is [`PIPELINE`]);
//! - `aud` `api://AzureADTokenExchange`; `jti` a new GUID; `org_id`, `prj_id` (fulcio#1803);
//! - `iat` now, `exp` `iat` + `--oidc-token-lifetime-seconds` (default 600: "The `idToken` is valid for 10
//!   minutes", microsoft/azure-pipelines-tasks `docs/service-connections/azure-oidc/troubleshooting.md`, and
//!   fulcio#1803's `exp - iat`), `nbf` 600 seconds before `iat` (fulcio#1803).
//!
//! Refusals:
//! - any caller but the job token (`System.AccessToken`, Bearer or Basic): 401 with the `TF400813` body (a PAT
//!   gets a 401, MicrosoftDocs/vsts-rest-api-specs#709); a bad or missing job token: 401 with
//!   `X-TFS-FedAuthRedirect: Suppress`, else the 203 sign-in page (azure-sdk-for-net#46135 shows the 401),
//!   see [`super::auth`];
//! - a hub other than `build`, a plan or job other than the job's ([`plan_id`], [`job_id`]): 404
//!   `TaskOrchestrationPlanNotFoundException` (the exception of the decompiled plan controllers; the wording is
//!   the emulator's);
//! - a `serviceConnectionId` not shared into the project: 404 `ServiceEndpointNotFoundException` with the
//!   wording of Azure Pipelines' "service connection could not be found" (the status is the emulator's choice);
//! - a connection whose scheme is not `WorkloadIdentityFederation`: 400 `ArgumentException` (the emulator's
//!   choice: Azure DevOps' answer was not found);
//! - a body that is neither empty nor a JSON object: 400 `ArgumentException` (the emulator's).
//!
//! Every token issued is counted per service connection (`GET /_emulator/devops/oidctokens`).
//!
//! Caveats: tokens are signed HS256 with a key made at start (Azure DevOps signs RS256 and publishes its keys
//! at the issuer); only the emulator's Entra can check them ([`OidcIssuer::verify_signature`]); the body's
//! claims are ignored; one job (one plan, one job id, one job token) per organization; exchanges with this
//! route are not recorded as traffic (the token is a credential).

use std::collections::BTreeMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::Caller;
use super::catalog::path_project;
use super::dispatch::{organization, Ctx, Reply};
use super::error::DevopsError;
use super::model::{Endpoint, Organization, Project};
use super::seed::stable_id;
use crate::entra::directory::{Directory, FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
use crate::state::Store;

/// The Azure DevOps issuer's prefix; the issuer is `{prefix}/{organization id}`.
pub const ISSUER_PREFIX: &str = "https://vstoken.dev.azure.com";
/// The only hub the emulated job runs in.
pub const HUB: &str = "build";
/// The pipeline of the emulated job (subject `p://{organization}/{project}/{PIPELINE}` without a service
/// connection).
pub const PIPELINE: &str = "agentpool";
/// The scheme of workload identity federation service connections.
pub const WIF_SCHEME: &str = "WorkloadIdentityFederation";
/// Default lifetime of an OIDC token, in seconds (see the module doc).
pub const DEFAULT_LIFETIME_SECS: u64 = 600;
/// How long before `iat` a token's `nbf` is (fulcio#1803).
pub const NBF_BEFORE_IAT_SECS: i64 = 600;
/// How many issued tokens `GET /_emulator/devops/oidctokens` lists (the counts are not bounded).
pub const LOG_LIMIT: usize = 1000;

/// The issuer of an organization's tokens.
pub fn issuer(org: &Organization) -> String {
    format!("{ISSUER_PREFIX}/{}", org.id)
}

/// The subject of a service connection's tokens: its `workloadIdentityFederationSubject` when set, else
/// `sc://{organization}/{home project}/{connection}`.
pub fn subject(org: &Organization, endpoint: &Endpoint) -> String {
    if let Some(subject) = endpoint.workload_identity_federation_subject.as_deref().filter(|s| !s.is_empty()) {
        return subject.to_string();
    }
    let home = endpoint.project_ids.first().and_then(|id| org.projects.iter().find(|p| &p.id == id));
    let project = home.map_or("", |p| p.name.as_str());
    format!("sc://{}/{project}/{}", org.name, endpoint.name)
}

/// The federated credential Azure DevOps makes on a workload identity federation connection's application
/// (decompiled `CreateAddFederatedCredentialsRequest`: the connection's issuer and subject, audience
/// `api://AzureADTokenExchange`), and that application's client id; `None` for other connections. The name is
/// the emulator's (`AzureDevOps-{organization}-{connection id}`); `subject` replaces the connection's.
pub fn federated_credential(
    org: &Organization,
    endpoint: &Endpoint,
    subject_override: Option<&str>,
) -> Option<(String, FederatedCredential)> {
    if !endpoint.scheme.eq_ignore_ascii_case(WIF_SCHEME) {
        return None;
    }
    let client_id = endpoint.service_principal_id.clone()?;
    let credential = FederatedCredential {
        name: format!("AzureDevOps-{}-{}", org.name, endpoint.id),
        issuer: issuer(org),
        subject: subject_override.map_or_else(|| subject(org, endpoint), str::to_string),
        audiences: vec![TOKEN_EXCHANGE_AUDIENCE.to_string()],
    };
    Some((client_id, credential))
}

/// Gives every workload identity federation connection of the state its federated credential in Entra's
/// directory (at start).
pub fn federate_all(state: &super::model::DevopsState, directory: &Directory) {
    for org in &state.organizations {
        for endpoint in &org.endpoints {
            if let Some((client_id, credential)) = federated_credential(org, endpoint, None) {
                directory.put_credential(&client_id, credential);
            }
        }
    }
}

/// The plan id of the organization's job (`SYSTEM_PLANID`).
pub fn plan_id(organization: &str) -> String {
    stable_id(&[organization, "plan"])
}

/// The job id of the organization's job (`SYSTEM_JOBID`).
pub fn job_id(organization: &str) -> String {
    stable_id(&[organization, "job"])
}

/// `SYSTEM_OIDCREQUESTURI`: `{collection_uri}{project_id}/_apis/distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken`,
/// `collection_uri` ending in `/`.
pub fn request_uri(collection_uri: &str, organization: &str, project_id: &str) -> String {
    format!(
        "{collection_uri}{project_id}/_apis/distributedtask/hubs/{HUB}/plans/{}/jobs/{}/oidctoken",
        plan_id(organization),
        job_id(organization)
    )
}

/// The claims of an OIDC token, in the order Azure DevOps writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcClaims {
    pub jti: String,
    pub sub: String,
    pub aud: String,
    pub org_id: String,
    pub prj_id: String,
    pub iss: String,
    pub nbf: i64,
    pub exp: i64,
    pub iat: i64,
}

/// One issued token, as `GET /_emulator/devops/oidctokens` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    pub jti: String,
    /// Empty for a pipeline token (no `serviceConnectionId`).
    pub service_connection_id: String,
    pub subject: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Default)]
struct IssuedLog {
    total: u64,
    by_connection: BTreeMap<String, u64>,
    recent: Vec<Issued>,
}

/// Signs, checks and counts OIDC tokens.
pub struct OidcIssuer {
    key: hmac::Key,
    lifetime_secs: i64,
    log: Mutex<IssuedLog>,
}

impl std::fmt::Debug for OidcIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcIssuer").field("lifetime_secs", &self.lifetime_secs).finish_non_exhaustive()
    }
}

impl OidcIssuer {
    /// A new issuer with a random key; tokens live `lifetime_secs`.
    pub fn new(lifetime_secs: u64) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, uuid::Uuid::new_v4().as_bytes()));
        OidcIssuer { key, lifetime_secs: lifetime_secs.min(i64::MAX as u64) as i64, log: Mutex::default() }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, IssuedLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues a token for `sub` in a project of an organization, valid from `now`; counts it for
    /// `service_connection_id` (empty for a pipeline token).
    pub fn issue(
        &self,
        org: &Organization,
        project: &Project,
        sub: String,
        service_connection_id: &str,
        now: i64,
    ) -> (String, OidcClaims) {
        let claims = OidcClaims {
            jti: uuid::Uuid::new_v4().to_string(),
            sub,
            aud: TOKEN_EXCHANGE_AUDIENCE.to_string(),
            org_id: org.id.clone(),
            prj_id: project.id.clone(),
            iss: issuer(org),
            nbf: now.saturating_sub(NBF_BEFORE_IAT_SECS),
            exp: now.saturating_add(self.lifetime_secs),
            iat: now,
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256","kid":"agentpool-emulator-oidc"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, signing_input.as_bytes()).as_ref());
        let mut log = self.log();
        log.total += 1;
        *log.by_connection.entry(service_connection_id.to_string()).or_default() += 1;
        log.recent.push(Issued {
            jti: claims.jti.clone(),
            service_connection_id: service_connection_id.to_string(),
            subject: claims.sub.clone(),
            iat: claims.iat,
            exp: claims.exp,
        });
        if log.recent.len() > LOG_LIMIT {
            let extra = log.recent.len() - LOG_LIMIT;
            log.recent.drain(..extra);
        }
        (format!("{signing_input}.{signature}"), claims)
    }

    /// Whether a compact JWT carries this issuer's signature.
    pub fn verify_signature(&self, token: &str) -> bool {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        hmac::verify(&self.key, format!("{header}.{payload}").as_bytes(), &signature).is_ok()
    }

    /// `{count, byServiceConnection, value}`: tokens issued since start or the last reset, by connection id
    /// (`""` for pipeline tokens), the last [`LOG_LIMIT`] oldest first.
    pub fn snapshot(&self) -> Value {
        let log = self.log();
        json!({ "count": log.total, "byServiceConnection": log.by_connection, "value": log.recent })
    }

    /// How many tokens were issued for a service connection since start or the last reset.
    pub fn issued_for(&self, service_connection_id: &str) -> u64 {
        self.log().by_connection.get(service_connection_id).copied().unwrap_or(0)
    }

    /// Forgets what was issued.
    pub fn reset(&self) {
        *self.log() = IssuedLog::default();
    }
}

/// POST `…/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken`.
pub fn create(ctx: &Ctx<'_>, store: &mut Store, hub: &str, plan: &str, job: &str) -> Result<Reply, DevopsError> {
    if ctx.caller != Caller::JobToken {
        return Err(DevopsError::Unauthorized);
    }
    let org = organization(store, ctx)?;
    let project = path_project(org, ctx)?.clone();
    let (known_plan, known_job) = (plan_id(&org.name), job_id(&org.name));
    if !hub.eq_ignore_ascii_case(HUB) || !plan.eq_ignore_ascii_case(&known_plan) {
        return Err(DevopsError::PlanNotFound(plan.to_string()));
    }
    if !job.eq_ignore_ascii_case(&known_job) {
        return Err(DevopsError::PlanJobNotFound { plan: plan.to_string(), job: job.to_string() });
    }
    let body = String::from_utf8_lossy(ctx.body);
    if !body.trim().is_empty() && !matches!(serde_json::from_str::<Value>(&body), Ok(Value::Object(_))) {
        return Err(DevopsError::Argument("The claims of an OIDC token request must be a JSON object.".into()));
    }
    let now = ctx.now.unix_timestamp();
    let (token, _) = match ctx.param("serviceconnectionid") {
        None => {
            let sub = format!("p://{}/{}/{PIPELINE}", org.name, project.name);
            ctx.app.oidc.issue(org, &project, sub, "", now)
        }
        Some(id) => {
            let endpoint = org
                .endpoints
                .iter()
                .find(|e| e.id.eq_ignore_ascii_case(id) && e.project_ids.contains(&project.id))
                .ok_or_else(|| DevopsError::ServiceConnectionNotFound(id.to_string()))?;
            if !endpoint.scheme.eq_ignore_ascii_case(WIF_SCHEME) {
                return Err(DevopsError::Argument(format!(
                    "Service connection {} uses the {} scheme; OIDC tokens are issued for {WIF_SCHEME} service connections only.",
                    endpoint.id, endpoint.scheme
                )));
            }
            let sub = subject(org, endpoint);
            let id = endpoint.id.clone();
            ctx.app.oidc.issue(org, &project, sub, &id, now)
        }
    };
    Ok(Reply::Json(json!({ "oidcToken": token })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Organization {
        let mut org = Organization { name: "contoso".into(), id: "org-guid".into(), ..Default::default() };
        org.projects.push(Project {
            id: "p1".into(),
            name: "platform".into(),
            description: String::new(),
            last_update_time: String::new(),
        });
        org
    }

    fn endpoint(subject: Option<&str>) -> Endpoint {
        Endpoint {
            id: "e1".into(),
            name: "sc-agents-wif".into(),
            endpoint_type: "AzureRM".into(),
            project_ids: vec!["p1".into()],
            scheme: WIF_SCHEME.into(),
            tenant_id: Some("t".into()),
            service_principal_id: Some("c".into()),
            subscription_id: None,
            subscription_name: None,
            url: "https://management.azure.com/".into(),
            workload_identity_federation_subject: subject.map(str::to_string),
        }
    }

    #[test]
    fn issuer_and_subject() {
        let org = org();
        assert_eq!(issuer(&org), "https://vstoken.dev.azure.com/org-guid");
        assert_eq!(subject(&org, &endpoint(None)), "sc://contoso/platform/sc-agents-wif");
        assert_eq!(subject(&org, &endpoint(Some("sc://x/y/z"))), "sc://x/y/z", "the parameter wins");
        assert_eq!(subject(&org, &endpoint(Some(""))), "sc://contoso/platform/sc-agents-wif");
        let uri = request_uri("https://h/contoso/", "contoso", "p1");
        assert_eq!(
            uri,
            format!(
                "https://h/contoso/p1/_apis/distributedtask/hubs/build/plans/{}/jobs/{}/oidctoken",
                plan_id("contoso"),
                job_id("contoso")
            )
        );
        assert_ne!(plan_id("contoso"), job_id("contoso"));
    }

    #[test]
    fn federated_credentials_of_connections() {
        let org = org();
        let (client, credential) = federated_credential(&org, &endpoint(None), None).unwrap();
        assert_eq!(client, "c");
        assert_eq!(
            (credential.issuer.as_str(), credential.subject.as_str()),
            ("https://vstoken.dev.azure.com/org-guid", "sc://contoso/platform/sc-agents-wif")
        );
        assert_eq!(credential.audiences, ["api://AzureADTokenExchange"]);
        let (_, wrong) = federated_credential(&org, &endpoint(None), Some("sc://contoso/platform/other")).unwrap();
        assert_eq!(wrong.subject, "sc://contoso/platform/other");
        let mut secret = endpoint(None);
        secret.scheme = "ServicePrincipal".into();
        assert!(federated_credential(&org, &secret, None).is_none());
    }

    #[test]
    fn issue_sign_count() {
        let org = org();
        let issuer = OidcIssuer::new(30);
        let (token, claims) = issuer.issue(&org, &org.projects[0], "sc://contoso/platform/x".into(), "e1", 1_000);
        assert_eq!((claims.iat, claims.exp, claims.nbf), (1_000, 1_030, 400));
        assert_eq!(claims.aud, "api://AzureADTokenExchange");
        assert!(issuer.verify_signature(&token));
        assert!(!OidcIssuer::new(30).verify_signature(&token), "another key");
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"forged"}"#);
        assert!(!issuer.verify_signature(&parts.join(".")));
        issuer.issue(&org, &org.projects[0], "p://contoso/platform/agentpool".into(), "", 1_001);
        assert_eq!((issuer.issued_for("e1"), issuer.issued_for("")), (1, 1));
        assert_eq!(issuer.snapshot()["count"], 2);
        issuer.reset();
        assert_eq!(issuer.snapshot()["count"], 0);
    }
}
