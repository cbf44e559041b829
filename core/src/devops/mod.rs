//! Azure DevOps: the organization's projects and service connections, and the scale-set agent
//! pools ("elastic pools", distributedtask 7.1) over agentpool's scale sets, through Microsoft's
//! `azure_devops_rust_api` on the project's one azure_core.
//!
//! - [`auth`]: which credential reaches the organization (a PAT, the pipeline's
//!   `System.AccessToken`, or an Entra token).
//! - [`client`]: the calls, with Azure DevOps' error messages on one line.
//! - [`store`]: the pool as a [`crate::apply::ResourceStore`], so it is planned and applied like
//!   every other resource.

pub mod auth;
pub mod client;
pub mod store;

pub use auth::{DevOpsAuth, Organization};
pub use client::DevOps;

/// Why a call to Azure DevOps failed.
#[derive(Debug, thiserror::Error)]
pub enum DevOpsError {
    /// Azure DevOps answered with an error: its status and message.
    #[error("{what}: {status} {message}")]
    Refused { what: String, status: u16, message: String },
    /// The call did not get an answer (connection, TLS, credential).
    #[error("{what}: {message}")]
    Failed { what: String, message: String },
    /// Something the parameters name does not exist.
    #[error("{0}")]
    Missing(String),
    /// The organization URL cannot be used.
    #[error("{0}")]
    Url(String),
    /// No credential for Azure DevOps can be made from the settings.
    #[error("{0}")]
    Auth(String),
}

impl DevOpsError {
    /// A failure the input caused (a name that does not exist, a refused setting): exit code 2.
    pub fn is_usage(&self) -> bool {
        match self {
            DevOpsError::Refused { status, .. } => (400..500).contains(status) && *status != 429,
            DevOpsError::Failed { .. } => false,
            DevOpsError::Missing(_) | DevOpsError::Url(_) | DevOpsError::Auth(_) => true,
        }
    }

    /// The error of `what` from azure_core's: Azure DevOps' own message when it sent one.
    pub(crate) fn from_core(what: impl Into<String>, error: azure_core::Error) -> Self {
        let what = what.into();
        match error.kind() {
            azure_core::error::ErrorKind::HttpResponse { status, raw_response, .. } => {
                let message = raw_response
                    .as_deref()
                    .and_then(|response| serde_json::from_slice::<serde_json::Value>(response.body()).ok())
                    .and_then(|body| body.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| status.canonical_reason().into_owned());
                DevOpsError::Refused { what, status: u16::from(*status), message: one_line(&message) }
            }
            _ => DevOpsError::Failed { what, message: one_line(&error.to_string()) },
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
