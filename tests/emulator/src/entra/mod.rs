//! An Entra ID (Azure AD) v2.0 endpoint for the client-credentials flow, with client secrets and client
//! assertions (workload identity federation).
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration`: the discovery document, every endpoint on the
//!   emulator's own https host;
//! - `POST /{tenant}/oauth2/v2.0/token`: `grant_type=client_credentials` with `client_id`, one
//!   `{resource}/.default` scope and either `client_secret` or `client_assertion_type=urn:ietf:params:oauth:
//!   client-assertion-type:jwt-bearer` with `client_assertion=<JWT>` (what azure_identity's
//!   `ClientAssertionCredential`, under `AzurePipelinesCredential`, posts); errors are Entra's JSON (`error`,
//!   `error_description` starting with the AADSTS code and ending with trace id, correlation id and timestamp,
//!   `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`);
//! - `GET /{tenant}/discovery/v2.0/keys`: an empty key set (see caveats).
//!
//! Clients are the applications of the [`directory`] (`--client-id` with `--client-secret`, and the service
//! principals of workload identity federation service connections with their federated credentials).
//! A client assertion is checked in this order:
//! 1. a JWT whose payload has `iss`, `sub`, `aud`, `exp`: else 400 `invalid_request` AADSTS50027 (code and
//!    wording the emulator's);
//! 2. a federated credential of the application with that issuer and subject (exact, case-sensitive) and the
//!    audience: else 400 `invalid_request` AADSTS70021 "No matching federated identity record found for
//!    presented assertion. Assertion Issuer: '…'. Assertion Subject: '…'. Assertion Audience: '…'." (status,
//!    error and wording as Entra answered them, Azure/azure-workload-identity#616 and its troubleshooting
//!    guide; Azure DevOps' "Troubleshoot workload identity" page lists the same code for a subject
//!    `sc://<org>/<project>/<service-connection>` that does not match);
//! 3. signed by the issuer: the emulator's Azure DevOps ([`crate::devops::oidc`]) is the only issuer whose
//!    keys it knows: else 401 `invalid_client` AADSTS700027 "Client assertion contains an invalid signature."
//!    (code and text from AzureAD/passport-azure-ad#453; the status is the emulator's);
//! 4. within its time range (`nbf` with 5 minutes of skew, `exp` without): else 401 `invalid_client`
//!    AADSTS700024 "Client assertion is not within its valid time range. Current time: …, assertion valid
//!    from …, expiry time of assertion …. Review the documentation at
//!    `https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`" (status and body as
//!    quoted in risingwavelabs/risingwave#17123, the documentation link of 2024-10 onwards as quoted in
//!    AzureAD/microsoft-authentication-library-for-dotnet#4951 and …-for-java#984).
//!
//! An unknown `client_id` is 400 `unauthorized_client` AADSTS700016; neither a secret nor an assertion 401
//! `invalid_client` AADSTS7000216 (the text quoted in MicrosoftDocs/azure-docs#30777; the status is the
//! emulator's); a secret for an application without one, or a wrong one, 401 AADSTS7000215.
//!
//! Tokens are JWT-shaped (v1.0 claims: `iss` `https://sts.windows.net/{tenant}/`, `aud` = the scope's
//! resource, `tid`, `oid`, `appid`, `appidacr` `1` for a secret and `2` for an assertion, `nbf`/`iat`/`exp`),
//! live `--token-lifetime-secs` (alias `--access-token-lifetime-seconds`) and are signed HS256 with a random
//! key made at start; [`TokenIssuer::verify`] rejects anything the emulator did not sign. The directory counts
//! per client id the tokens issued (by grant) and the requests refused (`GET /_emulator/entra/tokens`).
//!
//! Caveats: HS256 instead of RS256, so the key set is empty and tokens verify only here; tokens do not
//! survive a restart (new key); no certificate credentials; Entra's newer codes for a mismatch on the issuer
//! or the subject alone (AADSTS700211, AADSTS700213) are not used, AADSTS70021 stands for every mismatch; the
//! token endpoint is never faulted and never recorded.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::app::{base_url, App};
use crate::arm::error::json_response;

pub mod admin;
pub mod directory;

use directory::Grant;

/// `client_assertion_type` of a JWT client assertion (RFC 7523, as azure_identity sends it).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The Entra resource (application id) of Azure DevOps: tokens for it are asked with the scope
/// `499b84ac-1321-427f-aa17-267ca6975798/.default` and carry it as `aud`. Source: microsoft/azure-devops-rust-api
/// `azure_devops_rust_api/src/lib.rs`, `ADO_SCOPE` ("The token scope for Azure DevOps"), which its clients use by
/// default; microsoft/AzDevOpsDemoGenerator `docs/Auth-Device-code-flow.md` asks Entra for the same scope. The
/// token endpoint issues it like any other resource ([`resource_of_scope`]); Azure DevOps' side checks the
/// audience ([`crate::devops::auth`]).
pub const AZURE_DEVOPS_RESOURCE: &str = "499b84ac-1321-427f-aa17-267ca6975798";

/// Why a bearer token is not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("the token is not a JWT")]
    Malformed,
    /// Not signed by this emulator.
    #[error("the token signature is invalid")]
    BadSignature,
    /// Past its `exp`.
    #[error("the token expired at {exp}")]
    Expired { exp: i64 },
    /// Before its `nbf`.
    #[error("the token is not valid before {nbf}")]
    NotYetValid { nbf: i64 },
}

/// Errors of the token endpoint, each rendered as Entra renders it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EntraError {
    #[error("AADSTS90002: Tenant '{0}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")]
    TenantNotFound(String),
    #[error("AADSTS900144: The request body must contain the following parameter: '{0}'.")]
    MissingParameter(&'static str),
    #[error("AADSTS70003: The app requested an unsupported grant type '{0}'.")]
    UnsupportedGrantType(String),
    #[error("AADSTS700016: Application with identifier '{0}' was not found in the directory.")]
    UnknownClient(String),
    #[error("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{0}'.")]
    InvalidSecret(String),
    #[error("AADSTS1002012: The provided value for scope {0} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")]
    InvalidScope(String),
    #[error("AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")]
    NoCredential,
    #[error("AADSTS50027: JWT token is invalid or malformed.")]
    MalformedAssertion,
    #[error("AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation")]
    NoMatchingFederatedIdentity { issuer: String, subject: String, audience: String },
    #[error("AADSTS700027: Client assertion contains an invalid signature.")]
    InvalidAssertionSignature,
    #[error("AADSTS700024: Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, expiry time of assertion {exp}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")]
    AssertionTimeRange { now: String, nbf: String, exp: String },
}

impl EntraError {
    fn parts(&self) -> (StatusCode, &'static str, u32) {
        use EntraError::*;
        match self {
            TenantNotFound(_) => (StatusCode::BAD_REQUEST, "invalid_request", 90002),
            MissingParameter(_) => (StatusCode::BAD_REQUEST, "invalid_request", 900144),
            UnsupportedGrantType(_) => (StatusCode::BAD_REQUEST, "unsupported_grant_type", 70003),
            UnknownClient(_) => (StatusCode::BAD_REQUEST, "unauthorized_client", 700016),
            InvalidSecret(_) => (StatusCode::UNAUTHORIZED, "invalid_client", 7000215),
            InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope", 1002012),
            NoCredential => (StatusCode::UNAUTHORIZED, "invalid_client", 7000216),
            MalformedAssertion => (StatusCode::BAD_REQUEST, "invalid_request", 50027),
            NoMatchingFederatedIdentity { .. } => (StatusCode::BAD_REQUEST, "invalid_request", 70021),
            InvalidAssertionSignature => (StatusCode::UNAUTHORIZED, "invalid_client", 700027),
            AssertionTimeRange { .. } => (StatusCode::UNAUTHORIZED, "invalid_client", 700024),
        }
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        let (status, error, code) = self.parts();
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let now = OffsetDateTime::now_utc();
        let timestamp = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let body = json!({
            "error": error,
            "error_description": format!("{self} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        });
        json_response(status, &body)
    }
}

/// Claims of an issued access token (Entra v1.0 access token shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub appid: String,
    pub appidacr: String,
    pub idtyp: String,
    pub oid: String,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
}

/// Issues and verifies the emulator's tokens.
pub struct TokenIssuer {
    key: hmac::Key,
    tenant: String,
    lifetime_secs: i64,
    /// Requests to the token endpoint (never recorded as traffic: it is not ARM).
    requests: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

/// The object id the emulator gives an application (stable for a client id).
pub fn object_id_of(client_id: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("agentpool-emulator/app/{client_id}").as_bytes()).to_string()
}

impl TokenIssuer {
    /// A new issuer with a random HMAC key.
    pub fn new(tenant: &str, lifetime_secs: u64) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
            // SystemRandom only fails without an OS random source; fall back to fresh UUIDs (also OS random).
            hmac::Key::new(hmac::HMAC_SHA256, uuid::Uuid::new_v4().as_bytes())
        });
        TokenIssuer {
            key,
            tenant: tenant.to_string(),
            lifetime_secs: lifetime_secs.min(i64::MAX as u64) as i64,
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Requests the token endpoint answered so far (issued or refused).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Issues a token for `client_id` and `resource`, valid from `now` for the configured lifetime, as for a
    /// client secret.
    pub fn issue(&self, client_id: &str, resource: &str, now: i64) -> (String, Claims) {
        self.issue_for(client_id, resource, now, Grant::ClientSecret)
    }

    /// [`TokenIssuer::issue`] for a grant (`appidacr` `1` for a secret, `2` for an assertion).
    pub fn issue_for(&self, client_id: &str, resource: &str, now: i64, grant: Grant) -> (String, Claims) {
        let oid = object_id_of(client_id);
        let claims = Claims {
            aud: resource.to_string(),
            iss: format!("https://sts.windows.net/{}/", self.tenant),
            iat: now,
            nbf: now,
            exp: now.saturating_add(self.lifetime_secs),
            appid: client_id.to_string(),
            appidacr: match grant {
                Grant::ClientSecret => "1".into(),
                Grant::ClientAssertion => "2".into(),
            },
            idtyp: "app".into(),
            sub: oid.clone(),
            oid,
            tid: self.tenant.clone(),
            uti: uuid::Uuid::new_v4().simple().to_string(),
            ver: "1.0".into(),
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256","kid":"agentpool-emulator"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, signing_input.as_bytes()).as_ref());
        (format!("{signing_input}.{signature}"), claims)
    }

    /// Verifies signature and time validity (5 minutes of clock skew on `nbf`); returns the claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        hmac::verify(&self.key, format!("{header}.{payload}").as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if now >= claims.exp {
            return Err(TokenError::Expired { exp: claims.exp });
        }
        if now + 300 < claims.nbf {
            return Err(TokenError::NotYetValid { nbf: claims.nbf });
        }
        Ok(claims)
    }
}

fn check_tenant(app: &App, tenant: &str) -> Result<(), EntraError> {
    if tenant.eq_ignore_ascii_case(&app.config.tenant_id) {
        Ok(())
    } else {
        Err(EntraError::TenantNotFound(tenant.to_string()))
    }
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(app): State<Arc<App>>,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check_tenant(&app, &tenant) {
        return e.into_response();
    }
    let base = base_url(&uri, &headers, &app.endpoint);
    let t = &app.config.tenant_id;
    let body = json!({
        "token_endpoint": format!("{base}/{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{t}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    });
    json_response(StatusCode::OK, &body)
}

/// `GET /{tenant}/discovery/v2.0/keys`: empty, tokens are HMAC-signed.
pub async fn keys(State(app): State<Arc<App>>, Path(tenant): Path<String>) -> Response {
    if let Err(e) = check_tenant(&app, &tenant) {
        return e.into_response();
    }
    json_response(StatusCode::OK, &json!({ "keys": [] }))
}

/// The resource of a client-credentials scope (`https://management.azure.com/.default` →
/// `https://management.azure.com`).
pub fn resource_of_scope(scope: &str) -> Result<String, EntraError> {
    let scopes: Vec<&str> =
        scope.split_whitespace().filter(|s| !matches!(*s, "openid" | "profile" | "offline_access" | "email")).collect();
    match scopes.as_slice() {
        [one] => match one.strip_suffix("/.default") {
            Some(resource) if !resource.is_empty() => Ok(resource.to_string()),
            _ => Err(EntraError::InvalidScope(scope.to_string())),
        },
        _ => Err(EntraError::InvalidScope(scope.to_string())),
    }
}

/// `POST /{tenant}/oauth2/v2.0/token` (form encoded).
pub async fn token(State(app): State<Arc<App>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    app.tokens.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    match issue_token(&app, &tenant, &form, OffsetDateTime::now_utc()) {
        Ok((token, grant)) => {
            app.directory.count_issued(&client_id, grant);
            json_response(
                StatusCode::OK,
                &json!({
                    "token_type": "Bearer",
                    "expires_in": app.config.token_lifetime_secs.saturating_sub(1),
                    "ext_expires_in": app.config.token_lifetime_secs.saturating_sub(1),
                    "access_token": token,
                }),
            )
        }
        Err(e) => {
            app.directory.count_refused(&client_id);
            e.into_response()
        }
    }
}

fn issue_token(
    app: &App,
    tenant: &str,
    form: &HashMap<String, String>,
    now: OffsetDateTime,
) -> Result<(String, Grant), EntraError> {
    check_tenant(app, tenant)?;
    let field = |name: &'static str| form.get(name).filter(|v| !v.is_empty()).ok_or(EntraError::MissingParameter(name));
    let grant_type = field("grant_type")?;
    if grant_type != "client_credentials" {
        return Err(EntraError::UnsupportedGrantType(grant_type.clone()));
    }
    let client_id = field("client_id")?;
    let application = app.directory.app(client_id).ok_or_else(|| EntraError::UnknownClient(client_id.clone()))?;
    let assertion = form.get("client_assertion").filter(|v| !v.is_empty());
    let assertion_type = form.get("client_assertion_type").filter(|v| !v.is_empty());
    let grant = match (assertion, assertion_type, form.get("client_secret")) {
        (Some(assertion), Some(kind), _) if kind == JWT_BEARER => {
            check_assertion(app, &application, assertion, now)?;
            Grant::ClientAssertion
        }
        (Some(_), Some(_), _) => return Err(EntraError::MalformedAssertion),
        (Some(_), None, _) => return Err(EntraError::MissingParameter("client_assertion_type")),
        (None, _, Some(secret)) => {
            if application.client_secret.as_deref() != Some(secret.as_str()) {
                return Err(EntraError::InvalidSecret(client_id.clone()));
            }
            Grant::ClientSecret
        }
        (None, _, None) => return Err(EntraError::NoCredential),
    };
    let resource = resource_of_scope(field("scope")?)?;
    Ok((app.tokens.issue_for(client_id, &resource, now.unix_timestamp(), grant).0, grant))
}

/// The claims of a client assertion Entra looks at.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(a) => vec![a],
        Aud::Many(a) => a,
    })
}

/// The payload of a compact JWT, unverified.
pub fn assertion_claims(token: &str) -> Result<AssertionClaims, EntraError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(EntraError::MalformedAssertion);
    };
    let payload = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| EntraError::MalformedAssertion)?;
    serde_json::from_slice(&payload).map_err(|_| EntraError::MalformedAssertion)
}

/// Checks a client assertion against an application's federated credentials (see the module doc).
pub fn check_assertion(
    app: &App,
    application: &directory::Application,
    assertion: &str,
    now: OffsetDateTime,
) -> Result<AssertionClaims, EntraError> {
    let claims = assertion_claims(assertion)?;
    if !application.federated_credentials.iter().any(|c| c.matches(&claims.iss, &claims.sub, &claims.aud)) {
        return Err(EntraError::NoMatchingFederatedIdentity {
            issuer: claims.iss.clone(),
            subject: claims.sub.clone(),
            audience: claims.aud.join(","),
        });
    }
    if !app.oidc.verify_signature(assertion) {
        return Err(EntraError::InvalidAssertionSignature);
    }
    let seconds = now.unix_timestamp();
    let nbf = claims.nbf.unwrap_or(i64::MIN);
    if seconds >= claims.exp || seconds.saturating_add(300) < nbf {
        return Err(EntraError::AssertionTimeRange {
            now: entra_time(now),
            nbf: claims.nbf.map(unix_entra_time).unwrap_or_else(|| unix_entra_time(0)),
            exp: unix_entra_time(claims.exp),
        });
    }
    Ok(claims)
}

/// `2024-06-04T11:40:28.3451933Z`: a time as Entra's messages write it (100 ns ticks).
pub fn entra_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

fn unix_entra_time(seconds: i64) -> String {
    entra_time(OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_verify() {
        let issuer = TokenIssuer::new("t1", 3600);
        let (token, claims) = issuer.issue("app", "https://management.azure.com", 1_000);
        assert_eq!(token.split('.').count(), 3);
        let back = issuer.verify(&token, 1_001).unwrap();
        assert_eq!(back, claims);
        assert_eq!(back.iss, "https://sts.windows.net/t1/");
        assert_eq!(back.exp, 4_600);
        assert_eq!(back.oid, object_id_of("app"));
        assert_eq!(issuer.verify(&token, 4_600), Err(TokenError::Expired { exp: 4_600 }));
    }

    #[test]
    fn foreign_and_tampered_tokens_rejected() {
        let a = TokenIssuer::new("t", 3600);
        let b = TokenIssuer::new("t", 3600);
        let (token, _) = a.issue("app", "https://management.azure.com", 0);
        assert_eq!(b.verify(&token, 1), Err(TokenError::BadSignature));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"aud":"x"}"#);
        parts[1] = &forged;
        assert_eq!(a.verify(&parts.join("."), 1), Err(TokenError::BadSignature));
        assert_eq!(a.verify("abc", 1), Err(TokenError::Malformed));
        assert!(a.verify("a.b.c", 1).is_err());
    }

    #[test]
    fn scopes() {
        assert_eq!(resource_of_scope("https://management.azure.com/.default").unwrap(), "https://management.azure.com");
        assert_eq!(resource_of_scope("https://storage.azure.com/.default").unwrap(), "https://storage.azure.com");
        assert!(resource_of_scope("https://management.azure.com/user_impersonation").is_err());
        assert!(resource_of_scope("a/.default b/.default").is_err());
    }

    #[test]
    fn azure_devops_tokens() {
        let resource = resource_of_scope(&format!("{AZURE_DEVOPS_RESOURCE}/.default")).unwrap();
        assert_eq!(resource, AZURE_DEVOPS_RESOURCE);
        let issuer = TokenIssuer::new("t", 3600);
        let (token, _) = issuer.issue("app", &resource, 0);
        assert_eq!(issuer.verify(&token, 1).unwrap().aud, "499b84ac-1321-427f-aa17-267ca6975798");
    }

    #[test]
    fn assertion_claims_and_times() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"i","sub":"s","aud":"a","exp":5}"#);
        let c = assertion_claims(&format!("h.{payload}.sig")).unwrap();
        assert_eq!((c.aud, c.nbf), (vec!["a".to_string()], None));
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"i","sub":"s","aud":["a","b"],"exp":5,"nbf":1}"#);
        assert_eq!(assertion_claims(&format!("h.{payload}.sig")).unwrap().aud, ["a", "b"]);
        for bad in ["abc", "a.b", "a.!!.c", "a.e30.c"] {
            assert_eq!(assertion_claims(bad), Err(EntraError::MalformedAssertion), "{bad}");
        }
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_717_501_228_345_193_300).unwrap();
        assert_eq!(entra_time(t), "2024-06-04T11:40:28.3451933Z");
        assert_eq!(unix_entra_time(0), "1970-01-01T00:00:00.0000000Z");
        let e = EntraError::AssertionTimeRange { now: "n".into(), nbf: "f".into(), exp: "x".into() };
        assert_eq!(e.into_response().status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn entra_error_shape() {
        let r = EntraError::InvalidSecret("app".into()).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}
