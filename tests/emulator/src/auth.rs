//! Bearer-token authentication of ARM routes, answering as ARM does.
//!
//! | case | code (401) |
//! |---|---|
//! | no `Authorization` header | `AuthenticationFailed` |
//! | not `Bearer <token>` | `AuthenticationFailed` |
//! | not signed by this emulator, malformed, not yet valid | `InvalidAuthenticationToken` |
//! | expired | `ExpiredAuthenticationToken` (ARM's code for it) |
//! | audience is not ARM | `InvalidAuthenticationTokenAudience` |
//!
//! Every 401 carries `WWW-Authenticate: Bearer authorization_uri="{authority}/{tenant}", error="invalid_token",
//! error_description="..."`. Caveat: the authority there is the emulator's own https host (real ARM names
//! login.windows.net), so a client that follows the challenge stays local. The verified [`Claims`] are put
//! in the request extensions.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;

use crate::app::{base_url, App};
use crate::arm::error::{error_body, json_response};
use crate::entra::{Claims, TokenError, TokenIssuer};

/// Audiences ARM accepts.
pub const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("Authentication failed. The 'Authorization' header is missing.")]
    MissingHeader,
    #[error("Authentication failed. The 'Authorization' header is provided in an invalid format.")]
    BadScheme,
    #[error("The access token is invalid.")]
    InvalidToken(TokenError),
    #[error("The access token expiry UTC time '{expiry}' is earlier than current UTC time '{now}'.")]
    Expired { expiry: String, now: String },
    #[error("The access token has been obtained for wrong audience or resource '{0}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.")]
    WrongAudience(String),
}

impl AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::MissingHeader | AuthError::BadScheme => "AuthenticationFailed",
            AuthError::InvalidToken(_) => "InvalidAuthenticationToken",
            AuthError::Expired { .. } => "ExpiredAuthenticationToken",
            AuthError::WrongAudience(_) => "InvalidAuthenticationTokenAudience",
        }
    }

    fn description(&self) -> &'static str {
        match self {
            AuthError::MissingHeader => "The authentication failed because of missing 'Authorization' header.",
            AuthError::BadScheme => "The authentication failed because of invalid 'Authorization' header.",
            AuthError::InvalidToken(_) => "The access token is invalid.",
            AuthError::Expired { .. } => "The access token has expired.",
            AuthError::WrongAudience(_) => "The access token has been obtained for wrong audience or resource.",
        }
    }

    /// The 401 response; `authority` is `https://host` of the token issuer.
    pub fn response(&self, authority: &str, tenant: &str) -> Response {
        let mut response = json_response(StatusCode::UNAUTHORIZED, &error_body(self.code(), &self.to_string(), None));
        let challenge = format!(
            "Bearer authorization_uri=\"{authority}/{tenant}\", error=\"invalid_token\", error_description=\"{}\"",
            self.description()
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

fn format_time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:02}/{:02}/{} {:02}:{:02}:{:02}",
                u8::from(t.month()),
                t.day(),
                t.year(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// Checks an `Authorization` header value against the issuer and ARM's audiences.
pub fn authenticate(issuer: &TokenIssuer, authorization: Option<&str>, now: i64) -> Result<Claims, AuthError> {
    let value = authorization.ok_or(AuthError::MissingHeader)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::BadScheme)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::BadScheme);
    }
    let claims = issuer.verify(token.trim(), now).map_err(|e| match e {
        TokenError::Expired { exp } => AuthError::Expired { expiry: format_time(exp), now: format_time(now) },
        other => AuthError::InvalidToken(other),
    })?;
    if !ARM_AUDIENCES.contains(&claims.aud.as_str()) {
        return Err(AuthError::WrongAudience(claims.aud));
    }
    Ok(claims)
}

/// Middleware: 401 unless the request carries a valid ARM token.
pub async fn require_arm_token(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match authenticate(&app.tokens, authorization, now) {
        Ok(claims) => {
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        Err(e) => {
            let authority = base_url(request.uri(), request.headers(), &app.endpoint);
            tracing::debug!("{} {}: 401 {}", request.method(), request.uri().path(), e.code());
            e.response(&authority, &app.config.tenant_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        let issuer = TokenIssuer::new("t", 3600);
        let (arm, _) = issuer.issue("app", "https://management.azure.com", 100);
        let (storage, _) = issuer.issue("app", "https://storage.azure.com", 100);
        assert!(authenticate(&issuer, Some(&format!("Bearer {arm}")), 101).is_ok());
        assert!(authenticate(&issuer, Some(&format!("bearer {arm}")), 101).is_ok());
        assert_eq!(authenticate(&issuer, None, 101), Err(AuthError::MissingHeader));
        assert_eq!(authenticate(&issuer, Some("Basic abc"), 101), Err(AuthError::BadScheme));
        assert!(matches!(authenticate(&issuer, Some("Bearer x.y.z"), 101), Err(AuthError::InvalidToken(_))));
        assert!(matches!(authenticate(&issuer, Some(&format!("Bearer {arm}")), 5000), Err(AuthError::Expired { .. })));
        assert_eq!(
            authenticate(&issuer, Some(&format!("Bearer {storage}")), 101),
            Err(AuthError::WrongAudience("https://storage.azure.com".into()))
        );
    }

    #[test]
    fn response_has_challenge() {
        let r = AuthError::MissingHeader.response("https://127.0.0.1:1", "t");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let challenge = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer authorization_uri=\"https://127.0.0.1:1/t\", error=\"invalid_token\""));
    }
}
