//! ARM error responses: `{"error":{"code","message","target"?}}` with the status ARM uses for each code.
//!
//! Codes and messages follow what Azure Resource Manager and the resource providers answer (wording
//! shortened). Every error is a `default` response of the swaggers that have one; storage swaggers declare
//! no `default`, so oav flags any storage error response (a known gap of those swaggers, not of the emulator).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answered by the ARM front end or a resource provider.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArmError {
    /// 400: no `api-version` query parameter.
    #[error("The api-version query parameter (?api-version=) is required for all requests.")]
    MissingApiVersion,
    /// 400: an api-version the resource type does not support.
    #[error(
        "The api-version '{version}' is invalid for resource type '{resource_type}'. The supported api-versions are '{supported}'."
    )]
    InvalidApiVersion { version: String, resource_type: String, supported: String },
    /// 404: a subscription other than the emulated one.
    #[error("The subscription '{0}' could not be found.")]
    SubscriptionNotFound(String),
    /// 404: the resource group of the path does not exist.
    #[error("Resource group '{0}' could not be found.")]
    ResourceGroupNotFound(String),
    /// 404: a parent of a nested (or extension) resource does not exist.
    #[error("Can not perform requested operation on nested resource. Parent resource '{0}' not found.")]
    ParentResourceNotFound(String),
    /// 404: the resource does not exist.
    #[error("The Resource '{resource_type}/{name}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")]
    ResourceNotFound { resource_type: String, name: String, group: String },
    /// 404: no resource type of the emulator matches the path.
    #[error("The resource type could not be found for path '{0}'. The emulator does not implement it.")]
    InvalidResourceType(String),
    /// 405: a method the resource type does not support (in the emulator).
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// 404: an unknown long-running operation id.
    #[error("The operation '{0}' could not be found.")]
    OperationNotFound(String),
    /// 400: the body is not JSON or has a value of the wrong shape.
    #[error("The request content was invalid and could not be deserialized: {message}")]
    InvalidRequestContent { message: String, target: Option<String> },
    /// 400: a required property is missing.
    #[error("Required property '{0}' is missing from the request content.")]
    MissingRequiredProperty(String),
    /// 400: no `location` on a tracked resource.
    #[error("The location property is required for this definition.")]
    LocationRequired,
    /// Any other provider-specific error (409 conflicts, 400 name checks, ...).
    #[error("{message}")]
    Provider { status: StatusCode, code: &'static str, message: String },
}

impl ArmError {
    /// A provider error with a given status and code.
    pub fn provider(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ArmError::Provider { status, code, message: message.into() }
    }

    /// 400 with a provider code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::provider(StatusCode::BAD_REQUEST, code, message)
    }

    /// 409 with a provider code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::provider(StatusCode::CONFLICT, code, message)
    }

    /// HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        use ArmError::*;
        match self {
            MissingApiVersion
            | InvalidApiVersion { .. }
            | InvalidRequestContent { .. }
            | MissingRequiredProperty(_)
            | LocationRequired => StatusCode::BAD_REQUEST,
            SubscriptionNotFound(_)
            | ResourceGroupNotFound(_)
            | ParentResourceNotFound(_)
            | ResourceNotFound { .. }
            | InvalidResourceType(_)
            | OperationNotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Provider { status, .. } => *status,
        }
    }

    /// ARM error code.
    pub fn code(&self) -> &'static str {
        use ArmError::*;
        match self {
            MissingApiVersion => "MissingApiVersionParameter",
            InvalidApiVersion { .. } => "InvalidApiVersionParameter",
            SubscriptionNotFound(_) => "SubscriptionNotFound",
            ResourceGroupNotFound(_) => "ResourceGroupNotFound",
            ParentResourceNotFound(_) => "ParentResourceNotFound",
            ResourceNotFound { .. } => "ResourceNotFound",
            InvalidResourceType(_) => "InvalidResourceType",
            MethodNotAllowed(_) => "MethodNotAllowed",
            OperationNotFound(_) => "OperationNotFound",
            InvalidRequestContent { .. } => "InvalidRequestContent",
            MissingRequiredProperty(_) => "MissingRequiredProperty",
            LocationRequired => "LocationRequired",
            Provider { code, .. } => code,
        }
    }

    fn target(&self) -> Option<&str> {
        match self {
            ArmError::InvalidRequestContent { target, .. } => target.as_deref(),
            ArmError::MissingRequiredProperty(path) => Some(path),
            ArmError::LocationRequired => Some("location"),
            _ => None,
        }
    }

    /// The `{"error":{...}}` body.
    pub fn body(&self) -> Value {
        error_body(self.code(), &self.to_string(), self.target())
    }
}

/// `{"error":{"code","message","target"?}}`.
pub fn error_body(code: &str, message: &str, target: Option<&str>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(target) = target {
        error["target"] = json!(target);
    }
    json!({ "error": error })
}

/// A JSON response with ARM's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        json_response(self.status(), &self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_code_and_message() {
        let e = ArmError::ResourceGroupNotFound("rg1".into());
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(e.body()["error"]["code"], "ResourceGroupNotFound");
        assert_eq!(e.body()["error"]["message"], "Resource group 'rg1' could not be found.");
        let e = ArmError::MissingRequiredProperty("properties.osType".into());
        assert_eq!(e.body()["error"]["target"], "properties.osType");
        let e = ArmError::conflict("RoleAssignmentExists", "exists");
        assert_eq!((e.status(), e.code()), (StatusCode::CONFLICT, "RoleAssignmentExists"));
    }

    #[test]
    fn response_is_json() {
        let r = ArmError::MissingApiVersion.into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    }
}
