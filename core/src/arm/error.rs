//! What went wrong talking to Resource Manager, on one line, with ARM's own code and message.
//!
//! ARM error bodies are `{"error": {"code", "message", "target", "details": [...]}}` (the common
//! `ErrorResponse` type); some services answer `{"code", "message"}` at the top level or with
//! capitalised keys, and gateways may answer HTML or nothing. All of these are tolerated: what cannot
//! be read as JSON becomes the message (trimmed), and a missing code becomes the HTTP reason.
//!
//! # Usage errors and operation failures
//! [`ArmError::is_usage`] separates problems the user can fix in their input (a 4xx answer: a bad
//! parameter, a missing resource group, a name taken, no permission, no credential) from failures of
//! the operation itself (5xx after retries, transport errors, a long-running operation that ended
//! `Failed`). The CLI maps the first to exit code 2 and the second to 1. A 409 that says another
//! operation is in progress, and 408/429, are not usage errors.

use azure_core::http::{headers::Headers, Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use std::{fmt, time::Duration};
use url::Url;

/// A failure of the ARM client.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// ARM answered a request with an error status.
    #[error("{method} {}: {}: {body}", display_url(url), display_status(*status))]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The request method.
        method: Method,
        /// The request URL.
        url: Url,
        /// ARM's error.
        body: Box<ErrorBody>,
    },
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("{method} {}: operation {state}: {body}", display_url(resource))]
    OperationFailed {
        /// The method that started the operation.
        method: Method,
        /// The resource the operation acted on.
        resource: Url,
        /// `Failed` or `Canceled` (or the terminal provisioning state).
        state: String,
        /// The operation's error (`error` of the status body).
        body: Box<ErrorBody>,
    },
    /// A long-running operation did not end in time.
    #[error("{method} {}: still running after {}s; it goes on in Azure, check it in the portal or run again", display_url(resource), after.as_secs())]
    TimedOut {
        /// The method that started the operation.
        method: Method,
        /// The resource the operation acted on.
        resource: Url,
        /// How long it was waited for.
        after: Duration,
    },
    /// No answer (connection refused, TLS failure, timeout) even after retries.
    #[error("{method} {}: no answer from Azure: {message}", display_url(url))]
    Transport {
        /// The request method.
        method: Method,
        /// The request URL.
        url: Url,
        /// What the transport said, causes included.
        message: String,
    },
    /// No token could be had for ARM.
    #[error("{method} {}: could not get an Azure token: {message} (set AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID, use a managed identity, or run `az login`)", display_url(url))]
    Credential {
        /// The request method.
        method: Method,
        /// The request URL.
        url: Url,
        /// What the credential said.
        message: String,
    },
    /// ARM answered something that does not follow its contract.
    #[error("{method} {}: unexpected answer: {message}", display_url(url))]
    InvalidResponse {
        /// The request method.
        method: Method,
        /// The request URL.
        url: Url,
        /// What is wrong with it.
        message: String,
    },
    /// A resource id or path that cannot be sent.
    #[error("{id:?} is not a resource id or path: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// Why it was rejected.
        reason: String,
    },
}

impl ArmError {
    /// True for problems in the user's input or setup (exit code 2), false for failures of the
    /// operation (exit code 1). See the module documentation.
    pub fn is_usage(&self) -> bool {
        match self {
            ArmError::Status { status, body, .. } => is_usage_status(u16::from(*status), &body.code),
            ArmError::Credential { .. } | ArmError::InvalidId { .. } => true,
            ArmError::OperationFailed { .. }
            | ArmError::TimedOut { .. }
            | ArmError::Transport { .. }
            | ArmError::InvalidResponse { .. } => false,
        }
    }

    /// The HTTP status of a [`ArmError::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ArmError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// ARM's error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Status { body, .. } | ArmError::OperationFailed { body, .. } => Some(&body.code),
            _ => None,
        }
    }

    /// An error answer to `method url`.
    pub(crate) fn from_response(method: Method, url: &Url, status: StatusCode, headers: &Headers, body: &[u8]) -> Self {
        ArmError::Status { status, method, url: url.clone(), body: Box::new(ErrorBody::parse(status, headers, body)) }
    }
}

fn is_usage_status(status: u16, code: &str) -> bool {
    const TRANSIENT_CONFLICTS: [&str; 4] =
        ["AnotherOperationInProgress", "OperationNotAllowed", "RetryableError", "Conflict"];
    match status {
        408 | 429 => false,
        409 => !TRANSIENT_CONFLICTS.iter().any(|c| code.eq_ignore_ascii_case(c)),
        400..=499 => true,
        _ => false,
    }
}

/// ARM's error object (common-types `ErrorDetail`), reduced to what a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorBody {
    /// The error code, e.g. `ResourceGroupNotFound`.
    pub code: String,
    /// The message.
    pub message: String,
    /// The target, when given.
    pub target: Option<String>,
    /// Nested details (`details[]`), flattened one level: `(code, message)`.
    pub details: Vec<(String, String)>,
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, one_line(&self.message))?;
        if let Some(target) = &self.target {
            write!(f, " (target: {target})")?;
        }
        let details: Vec<String> = self
            .details
            .iter()
            .filter(|(code, message)| *code != self.code || *message != self.message)
            .map(|(code, message)| format!("{code}: {}", one_line(message)))
            .collect();
        if !details.is_empty() {
            write!(f, " [{}]", details.join("; "))?;
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
struct RawDetail {
    #[serde(alias = "Code")]
    code: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
    #[serde(alias = "Target")]
    target: Option<String>,
    #[serde(default, alias = "Details")]
    details: Vec<RawDetail>,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(alias = "Error")]
    error: Option<RawDetail>,
    #[serde(flatten)]
    top: RawDetail,
}

impl ErrorBody {
    /// Reads an ARM error body; see the module documentation for what is tolerated.
    pub fn parse(status: StatusCode, headers: &Headers, body: &[u8]) -> Self {
        let header_code = headers
            .get_optional_str(&azure_core::http::headers::ERROR_CODE)
            .map(str::to_string)
            .filter(|c| !c.is_empty());
        let fallback_code = || header_code.clone().unwrap_or_else(|| reason_code(status));
        if let Ok(envelope) = serde_json::from_slice::<RawEnvelope>(body) {
            let detail = match envelope.error {
                Some(error) => error,
                None => envelope.top,
            };
            if detail.code.is_some() || detail.message.is_some() {
                return Self::from_detail(detail, fallback_code);
            }
        }
        let text = String::from_utf8_lossy(body);
        let text = one_line(text.trim());
        let message = if text.is_empty() {
            status.canonical_reason().to_string()
        } else if text.chars().count() > 300 {
            format!("{}…", text.chars().take(300).collect::<String>())
        } else {
            text
        };
        ErrorBody { code: fallback_code(), message, target: None, details: Vec::new() }
    }

    /// Reads the `error` object of a JSON value (an operation status or a resource), if any.
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let error = value.get("error").or_else(|| value.get("properties").and_then(|p| p.get("error")))?;
        let detail: RawDetail = serde_json::from_value(error.clone()).ok()?;
        if detail.code.is_none() && detail.message.is_none() {
            return None;
        }
        Some(Self::from_detail(detail, || "OperationFailed".to_string()))
    }

    fn from_detail(detail: RawDetail, fallback_code: impl Fn() -> String) -> Self {
        let mut details = Vec::new();
        flatten(&detail.details, &mut details);
        ErrorBody {
            code: detail.code.filter(|c| !c.is_empty()).unwrap_or_else(fallback_code),
            message: detail.message.unwrap_or_default(),
            target: detail.target.filter(|t| !t.is_empty()),
            details,
        }
    }
}

fn flatten(details: &[RawDetail], out: &mut Vec<(String, String)>) {
    for detail in details {
        if detail.code.is_some() || detail.message.is_some() {
            out.push((detail.code.clone().unwrap_or_default(), detail.message.clone().unwrap_or_default()));
        }
        flatten(&detail.details, out);
    }
}

fn reason_code(status: StatusCode) -> String {
    status.canonical_reason().split_whitespace().collect()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `409 Conflict`
pub(crate) fn display_status(status: StatusCode) -> String {
    format!("{} {}", u16::from(status), status.canonical_reason())
}

/// The URL without its query (api-version, skip tokens) and, for the public cloud, without the host.
pub(crate) fn display_url(url: &Url) -> String {
    if url.host_str() == Some("management.azure.com") {
        url.path().to_string()
    } else {
        let mut shown = url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        shown.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GALLERY: &str = "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGalleryName?api-version=2024-03-03";

    fn status_error(status: u16, body: &str) -> ArmError {
        ArmError::from_response(
            Method::Put,
            &Url::parse(GALLERY).unwrap(),
            status.into(),
            &Headers::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn display_is_one_line_with_code_and_message() {
        let err = status_error(
            409,
            r#"{"error":{"code":"GalleryNameConflict","message":"Gallery name myGalleryName is already in use.\nChoose another name.","target":"galleryName"}}"#,
        );
        assert_eq!(
            err.to_string(),
            "PUT /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGalleryName: 409 Conflict: GalleryNameConflict: Gallery name myGalleryName is already in use. Choose another name. (target: galleryName)"
        );
        assert!(err.is_usage());
        assert_eq!(err.code(), Some("GalleryNameConflict"));
    }

    #[test]
    fn details_are_appended() {
        let err = status_error(
            400,
            r#"{"error":{"code":"InvalidParameter","message":"One or more errors occurred.","details":[{"code":"InvalidOsType","message":"osType must be Linux or Windows.","target":"osType"}]}}"#,
        );
        assert!(err.to_string().ends_with(
            "400 Bad Request: InvalidParameter: One or more errors occurred. [InvalidOsType: osType must be Linux or Windows.]"
        ));
        assert!(err.is_usage());
    }

    #[test]
    fn top_level_and_capitalised_bodies_are_tolerated() {
        let err = status_error(
            404,
            r#"{"code":"ResourceGroupNotFound","message":"Resource group 'rg' could not be found."}"#,
        );
        assert_eq!(err.code(), Some("ResourceGroupNotFound"));
        let err = status_error(400, r#"{"Code":"BadRequest","Message":"The request is invalid."}"#);
        assert!(err.to_string().ends_with("400 Bad Request: BadRequest: The request is invalid."), "{err}");
    }

    #[test]
    fn non_json_bodies_become_the_message() {
        let err = status_error(502, "<html><body>Bad Gateway</body></html>");
        assert!(
            err.to_string().ends_with("502 Bad Gateway: BadGateway: <html><body>Bad Gateway</body></html>"),
            "{err}"
        );
        assert!(!err.is_usage());
        let mut headers = Headers::new();
        headers.insert("x-ms-error-code", "AuthorizationFailed");
        let err = ArmError::from_response(Method::Get, &Url::parse(GALLERY).unwrap(), 403.into(), &headers, b"");
        assert_eq!(err.code(), Some("AuthorizationFailed"));
        assert!(err.to_string().ends_with("403 Forbidden: AuthorizationFailed: Forbidden"), "{err}");
    }

    #[test]
    fn usage_or_operation() {
        assert!(!status_error(409, r#"{"error":{"code":"AnotherOperationInProgress","message":"x"}}"#).is_usage());
        assert!(!status_error(429, r#"{"error":{"code":"TooManyRequests","message":"x"}}"#).is_usage());
        assert!(!status_error(500, r#"{"error":{"code":"InternalServerError","message":"x"}}"#).is_usage());
        assert!(status_error(403, r#"{"error":{"code":"AuthorizationFailed","message":"x"}}"#).is_usage());
    }

    #[test]
    fn operation_status_error_is_read() {
        let status: Value = serde_json::from_str(
            r#"{"name":"4a3b","status":"Failed","startTime":"2024-05-01T10:00:00Z","error":{"code":"ImageTemplateValidationFailed","message":"The source image was not found."}}"#,
        )
        .unwrap();
        let body = ErrorBody::from_value(&status).unwrap();
        assert_eq!(body.code, "ImageTemplateValidationFailed");
        assert_eq!(body.message, "The source image was not found.");
        assert_eq!(ErrorBody::from_value(&serde_json::json!({"status": "Failed"})), None);
    }

    #[test]
    fn emulator_urls_keep_their_host() {
        let url =
            Url::parse("https://127.0.0.1:8443/subscriptions/s/resourceGroups/rg?api-version=2024-07-01").unwrap();
        assert_eq!(display_url(&url), "https://127.0.0.1:8443/subscriptions/s/resourceGroups/rg");
    }
}
