//! Who calls the emulated Azure DevOps, and what a caller without valid credentials gets.
//!
//! Accepted (each one is what a Microsoft client sends):
//! - `Basic base64(user:PAT)` with the PAT of `--devops-pat` and any user name (the swaggers'
//!   `securityDefinitions.accessToken`: "Use any value for the user name"; azure_devops_rust_api sends an
//!   empty one, `Credential::Pat` in its `auth.rs`);
//! - `Bearer <Entra access token>` issued by the emulator's token endpoint for Azure DevOps' resource
//!   ([`crate::entra::AZURE_DEVOPS_RESOURCE`]), checked like ARM's tokens (signature, `nbf`/`exp`) plus the
//!   audience;
//! - `Bearer <job access token>`: the `System.AccessToken` of a pipeline job (`--devops-access-token`), or the
//!   same token as the password of `Basic` (microsoft/azure-pipelines-tasks `PowerShellV2/AccessTokenHelper.ps1`
//!   asks for OIDC tokens with `Basic base64(":" + System.AccessToken)`).
//!
//! Refused, as Azure DevOps does (decompiled `TeamFoundationAuthenticationService.RedirectToIdentityProvider`,
//! see [`super::error`]; microsoft/azure-devops-auth-samples#52):
//! - a wrong PAT: 401 with `WWW-Authenticate: Basic realm=…` (as quoted from dev.azure.com in
//!   microsoft/AzDevOpsDemoGenerator#56) and the `UnauthorizedRequestException` body (TF400813);
//! - no credentials or a Bearer token that is not valid: a browser would be sent to sign in, so GET, POST,
//!   PUT and DELETE answer **203** with an HTML sign-in page, unless the request says
//!   `X-TFS-FedAuthRedirect: Suppress` (as Microsoft's .NET client does) or is a PATCH, OPTIONS or HEAD
//!   (`s_redirectionSuppressedHttpMethods`): then 401 with `WWW-Authenticate: Bearer …, Basic …, TFS-Federated`,
//!   `X-TFS-FedAuthRedirect: <sign-in URL>` and the TF400813 body.
//!
//! Caveats: no scopes or permissions (any accepted caller may do anything); the sign-in page is a stand-in.

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::DevopsError;
use super::model::Identity;
use super::seed::{emulator_user, stable_id};
use crate::app::App;
use crate::entra::AZURE_DEVOPS_RESOURCE;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// The user of the PAT.
    Pat,
    /// A service principal with an Entra token (`oid`, `appid`).
    Entra { oid: String, appid: String },
    /// A pipeline job's access token.
    JobToken,
}

impl Caller {
    /// The identity things the caller makes are attributed to.
    pub fn identity(&self, org: &str) -> Identity {
        match self {
            Caller::Pat => emulator_user(),
            Caller::Entra { oid, appid } => Identity {
                id: oid.clone(),
                display_name: appid.clone(),
                unique_name: format!("{appid}@emulator"),
                descriptor: format!("aadsp.{}", oid.replace('-', "")),
            },
            Caller::JobToken => {
                let id = stable_id(&[org, "build-service"]);
                Identity {
                    descriptor: format!("svc.{}", id.replace('-', "")),
                    id,
                    display_name: format!("Project Collection Build Service ({org})"),
                    unique_name: format!("Build\\{org}"),
                }
            }
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header (or one of another scheme).
    #[error("no credentials")]
    Missing,
    /// Basic credentials whose password is not the PAT.
    #[error("the personal access token is not valid")]
    WrongPat,
    /// A Bearer token that is neither a valid Entra token for Azure DevOps nor the job token.
    #[error("the bearer token is not valid: {0}")]
    BadBearer(String),
}

/// Checks the `Authorization` header.
pub fn authenticate(app: &App, headers: &HeaderMap, now: i64) -> Result<Caller, AuthFailure> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(AuthFailure::Missing)?;
    let (scheme, credential) = value.trim().split_once(' ').ok_or(AuthFailure::Missing)?;
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credential).map_err(|_| AuthFailure::WrongPat)?;
        let text = String::from_utf8(decoded).map_err(|_| AuthFailure::WrongPat)?;
        let pat = text.split_once(':').map_or(text.as_str(), |(_, pat)| pat);
        return if pat == app.config.devops.pat {
            Ok(Caller::Pat)
        } else if pat == app.config.devops.access_token {
            Ok(Caller::JobToken)
        } else {
            Err(AuthFailure::WrongPat)
        };
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Missing);
    }
    if credential == app.config.devops.access_token {
        return Ok(Caller::JobToken);
    }
    let claims = app.tokens.verify(credential, now).map_err(|e| AuthFailure::BadBearer(e.to_string()))?;
    if !claims.aud.eq_ignore_ascii_case(AZURE_DEVOPS_RESOURCE) {
        return Err(AuthFailure::BadBearer(format!("the audience {} is not Azure DevOps", claims.aud)));
    }
    Ok(Caller::Entra { oid: claims.oid, appid: claims.appid })
}

/// Whether the client asked not to be redirected to a sign-in page.
fn redirect_suppressed(method: &Method, headers: &HeaderMap) -> bool {
    let suppress = headers
        .get_all("x-tfs-fedauthredirect")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|part| part.trim().eq_ignore_ascii_case("suppress")));
    suppress || matches!(*method, Method::PATCH | Method::OPTIONS | Method::HEAD)
}

/// What a caller that failed [`authenticate`] gets; `base` is `https://host:port`, `url` the request's.
pub fn refusal(
    app: &App,
    failure: &AuthFailure,
    method: &Method,
    headers: &HeaderMap,
    base: &str,
    url: &str,
) -> Response {
    let sign_in = format!(
        "{base}/_signin?realm={}&reply_to={}",
        base.trim_start_matches("https://"),
        form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    );
    if *failure != AuthFailure::WrongPat && !redirect_suppressed(method, headers) {
        return sign_in_page(&sign_in);
    }
    let mut response = DevopsError::Unauthorized.into_response();
    let tenant = &app.config.tenant_id;
    let headers = response.headers_mut();
    for challenge in [
        format!("Bearer authorization_uri={base}/{tenant}"),
        format!("Basic realm=\"{base}/\""),
        "TFS-Federated".to_string(),
    ] {
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            headers.append(header::WWW_AUTHENTICATE, v);
        }
    }
    if *failure != AuthFailure::WrongPat {
        if let Ok(v) = HeaderValue::from_str(&sign_in) {
            headers.insert("x-tfs-fedauthredirect", v);
        }
    }
    response
}

/// 203 with an HTML page that sends a browser to sign in.
fn sign_in_page(sign_in: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>\
         <body><p>Sign in to continue to Azure DevOps.</p><a href=\"{sign_in}\">Sign in</a></body></html>"
    );
    let mut response = (StatusCode::NON_AUTHORITATIVE_INFORMATION, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App::for_tests(crate::kinds::registry())
    }

    fn headers(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, authorization.parse().unwrap());
        h
    }

    #[test]
    fn the_three_forms() {
        let app = app();
        let now = 1_000;
        let pat = STANDARD.encode(format!(":{}", app.config.devops.pat));
        assert_eq!(authenticate(&app, &headers(&format!("Basic {pat}")), now), Ok(Caller::Pat));
        let named = STANDARD.encode(format!("someone:{}", app.config.devops.pat));
        assert_eq!(authenticate(&app, &headers(&format!("Basic {named}")), now), Ok(Caller::Pat));
        let job = format!("Bearer {}", app.config.devops.access_token);
        assert_eq!(authenticate(&app, &headers(&job), now), Ok(Caller::JobToken));
        let job = STANDARD.encode(format!(":{}", app.config.devops.access_token));
        assert_eq!(authenticate(&app, &headers(&format!("Basic {job}")), now), Ok(Caller::JobToken));
        let (token, _) = app.tokens.issue("agentpool-test", AZURE_DEVOPS_RESOURCE, now);
        assert!(matches!(authenticate(&app, &headers(&format!("Bearer {token}")), now), Ok(Caller::Entra { .. })));
    }

    #[test]
    fn refusals() {
        let app = app();
        let now = 1_000;
        let wrong = STANDARD.encode(":nope");
        assert_eq!(authenticate(&app, &headers(&format!("Basic {wrong}")), now), Err(AuthFailure::WrongPat));
        assert_eq!(authenticate(&app, &HeaderMap::new(), now), Err(AuthFailure::Missing));
        let (arm, _) = app.tokens.issue("agentpool-test", "https://management.azure.com", now);
        assert!(matches!(authenticate(&app, &headers(&format!("Bearer {arm}")), now), Err(AuthFailure::BadBearer(_))));
        let (expired, _) = app.tokens.issue("agentpool-test", AZURE_DEVOPS_RESOURCE, now - 10_000);
        assert!(matches!(
            authenticate(&app, &headers(&format!("Bearer {expired}")), now),
            Err(AuthFailure::BadBearer(_))
        ));

        let base = "https://127.0.0.1:1";
        let r = refusal(&app, &AuthFailure::Missing, &Method::GET, &HeaderMap::new(), base, "u");
        assert_eq!(r.status(), StatusCode::NON_AUTHORITATIVE_INFORMATION);
        let r = refusal(&app, &AuthFailure::Missing, &Method::PATCH, &HeaderMap::new(), base, "u");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key("x-tfs-fedauthredirect"));
        let mut suppress = HeaderMap::new();
        suppress.insert("x-tfs-fedauthredirect", "Suppress".parse().unwrap());
        assert_eq!(
            refusal(&app, &AuthFailure::Missing, &Method::GET, &suppress, base, "u").status(),
            StatusCode::UNAUTHORIZED
        );
        let r = refusal(&app, &AuthFailure::WrongPat, &Method::GET, &HeaderMap::new(), base, "u");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let challenges: Vec<_> = r.headers().get_all(header::WWW_AUTHENTICATE).iter().collect();
        assert!(challenges.iter().any(|c| c.to_str().unwrap() == "Basic realm=\"https://127.0.0.1:1/\""));
    }
}
