//! The applications the emulated Entra ID knows, their credentials, and what its token endpoint issued.
//!
//! An [`Application`] is a client id with an optional client secret and federated identity credentials
//! (`{name, issuer, subject, audiences}`, as Microsoft Graph's `federatedIdentityCredential` names them).
//! At start the directory holds `--client-id` with `--client-secret`; every Azure DevOps service connection
//! with the `WorkloadIdentityFederation` scheme adds a federated credential to its service principal's
//! application (made without a secret if missing), with the issuer and subject Azure DevOps puts in the
//! tokens of that connection ([`crate::devops::oidc`]) and the audience `api://AzureADTokenExchange`.
//! Tests add or remove credentials through `/_emulator/entra/...` ([`super::admin`]).
//!
//! Matching a presented assertion against the credentials is exact and case-sensitive on issuer and subject,
//! as Microsoft Entra does since its federated identity credentials use case-sensitive matching
//! (learn.microsoft.com, "Federated identity credentials now use case-sensitive matching", cited in
//! Azure/login#517); the assertion's `aud` must be one of the credential's audiences.
//!
//! [`TokenCounts`] counts, per client id, the token requests the endpoint answered: issued with a secret,
//! issued with a client assertion, refused.
//!
//! Caveat: the directory lives in memory: it is made again at each start (credentials added by a test are
//! lost with a restart, those of the service connections come back).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The audience Azure DevOps puts in its OIDC tokens and the federated credentials of its service
/// connections carry (decompiled `OidcFederationClaims.c_defaultAudience`, see [`crate::devops::oidc`]).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated identity credential of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
}

fn default_audiences() -> Vec<String> {
    vec![TOKEN_EXCHANGE_AUDIENCE.to_string()]
}

impl FederatedCredential {
    /// Whether an assertion with these claims matches (exact, case-sensitive issuer and subject; one of the
    /// audiences).
    pub fn matches(&self, issuer: &str, subject: &str, audiences: &[String]) -> bool {
        self.issuer == issuer && self.subject == subject && audiences.iter().any(|a| self.audiences.contains(a))
    }
}

/// An application (service principal) of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub client_id: String,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
}

/// What the token endpoint did for one client id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCounts {
    /// Access tokens issued (both grants).
    pub issued: u64,
    /// Issued for a client secret.
    pub client_secret: u64,
    /// Issued for a client assertion (a federated token).
    pub client_assertion: u64,
    /// Requests refused.
    pub refused: u64,
}

/// How a token request authenticated the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ClientSecret,
    ClientAssertion,
}

/// The applications and the counts, behind their own locks (not the state's).
#[derive(Debug, Default)]
pub struct Directory {
    apps: Mutex<BTreeMap<String, Application>>,
    counts: Mutex<BTreeMap<String, TokenCounts>>,
}

impl Directory {
    /// A directory holding one application with a secret.
    pub fn with_client(client_id: &str, secret: &str) -> Self {
        let directory = Directory::default();
        directory.ensure_app(client_id, Some(secret));
        directory
    }

    fn apps(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Application>> {
        self.apps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, TokenCounts>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The application of a client id, if any.
    pub fn app(&self, client_id: &str) -> Option<Application> {
        self.apps().get(client_id).cloned()
    }

    /// Every application, by client id.
    pub fn apps_snapshot(&self) -> Vec<Application> {
        self.apps().values().cloned().collect()
    }

    /// Makes the application if missing; sets its secret when one is given. Returns it.
    pub fn ensure_app(&self, client_id: &str, secret: Option<&str>) -> Application {
        let mut apps = self.apps();
        let app = apps.entry(client_id.to_string()).or_insert_with(|| Application {
            client_id: client_id.to_string(),
            client_secret: None,
            federated_credentials: Vec::new(),
        });
        if let Some(secret) = secret {
            app.client_secret = Some(secret.to_string());
        }
        app.clone()
    }

    /// Adds (or replaces, by name) a federated credential of an application, making the application if
    /// missing.
    pub fn put_credential(&self, client_id: &str, credential: FederatedCredential) -> Application {
        self.ensure_app(client_id, None);
        let mut apps = self.apps();
        let app = apps.get_mut(client_id).expect("made above");
        app.federated_credentials.retain(|c| c.name != credential.name);
        app.federated_credentials.push(credential);
        app.clone()
    }

    /// Removes a federated credential by name; whether there was one.
    pub fn remove_credential(&self, client_id: &str, name: &str) -> bool {
        let mut apps = self.apps();
        let Some(app) = apps.get_mut(client_id) else { return false };
        let before = app.federated_credentials.len();
        app.federated_credentials.retain(|c| c.name != name);
        app.federated_credentials.len() != before
    }

    /// Counts an issued token.
    pub fn count_issued(&self, client_id: &str, grant: Grant) {
        let mut counts = self.counts();
        let c = counts.entry(client_id.to_string()).or_default();
        c.issued += 1;
        match grant {
            Grant::ClientSecret => c.client_secret += 1,
            Grant::ClientAssertion => c.client_assertion += 1,
        }
    }

    /// Counts a refused request (`client_id` as sent, possibly empty).
    pub fn count_refused(&self, client_id: &str) {
        self.counts().entry(client_id.to_string()).or_default().refused += 1;
    }

    /// The counts of every client id seen since start or the last reset.
    pub fn counts_snapshot(&self) -> BTreeMap<String, TokenCounts> {
        self.counts().clone()
    }

    /// Back to no counts.
    pub fn reset_counts(&self) {
        self.counts().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(name: &str, subject: &str) -> FederatedCredential {
        FederatedCredential {
            name: name.into(),
            issuer: "https://vstoken.dev.azure.com/o".into(),
            subject: subject.into(),
            audiences: default_audiences(),
        }
    }

    #[test]
    fn credentials_match_exactly() {
        let c = credential("a", "sc://contoso/platform/sc");
        let aud = vec![TOKEN_EXCHANGE_AUDIENCE.to_string()];
        assert!(c.matches("https://vstoken.dev.azure.com/o", "sc://contoso/platform/sc", &aud));
        assert!(!c.matches("https://vstoken.dev.azure.com/o", "sc://Contoso/platform/sc", &aud), "case-sensitive");
        assert!(!c.matches("https://vstoken.dev.azure.com/O", "sc://contoso/platform/sc", &aud));
        assert!(!c.matches("https://vstoken.dev.azure.com/o", "sc://contoso/platform/sc", &["api://other".into()]));
    }

    #[test]
    fn apps_credentials_and_counts() {
        let d = Directory::with_client("app", "s");
        assert_eq!(d.app("app").unwrap().client_secret.as_deref(), Some("s"));
        d.put_credential("app", credential("a", "x"));
        d.put_credential("app", credential("a", "y"));
        d.put_credential("other", credential("b", "z"));
        assert_eq!(d.app("app").unwrap().federated_credentials, [credential("a", "y")], "replaced by name");
        assert_eq!(d.app("other").unwrap().client_secret, None, "made without a secret");
        assert!(d.remove_credential("app", "a") && !d.remove_credential("app", "a"));
        d.count_issued("app", Grant::ClientAssertion);
        d.count_issued("app", Grant::ClientSecret);
        d.count_refused("app");
        let c = d.counts_snapshot()["app"];
        assert_eq!((c.issued, c.client_secret, c.client_assertion, c.refused), (2, 1, 1, 1));
        d.reset_counts();
        assert!(d.counts_snapshot().is_empty());
    }
}
