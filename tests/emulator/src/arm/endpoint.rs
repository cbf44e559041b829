//! ARM routes that are not resources of a [`ResourceKind`](super::kind::ResourceKind): role definitions
//! (built-in roles exist at every scope, custom roles live at their subscription whatever the request's
//! scope) and the reads of a subscription's offer (providers, permissions, VM sizes, usages).
//!
//! An [`Endpoint`] is its swagger paths, its api-versions and one handler that answers every method; the
//! dispatcher tries endpoints before the kinds, checks the api-version, and leaves the rest (methods,
//! authorization, 404s) to the handler. Endpoints may answer at the root (`/providers/…`).

use std::collections::BTreeMap;

use axum::http::Method;
use axum::response::Response;

use super::crud::Call;
use super::error::ArmError;
use super::path::{Captures, Pattern};

/// A non-resource route.
#[derive(Debug)]
pub struct Endpoint {
    /// A stable name (logs, tests).
    pub name: &'static str,
    /// Swagger paths (`{scope}` first for scoped ones).
    pub patterns: &'static [&'static str],
    /// The resource type named by api-version errors.
    pub resource_type: &'static str,
    /// Supported api-versions.
    pub api_versions: &'static [&'static str],
    /// Answers a matched request.
    pub handle: fn(&Request<'_>) -> Result<Response, ArmError>,
}

/// A request routed to an endpoint.
pub struct Request<'a> {
    pub call: &'a Call<'a>,
    pub method: &'a Method,
    /// The pattern that matched (one of [`Endpoint::patterns`]).
    pub pattern: &'static str,
    pub captures: Captures,
    /// Query parameters, lower-cased names.
    pub query: &'a BTreeMap<String, String>,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The `{scope}` of a scoped pattern (`""` at the root).
    pub fn scope(&self) -> &str {
        self.captures.scope.as_deref().unwrap_or_default()
    }

    /// `405` for a method the endpoint does not answer.
    pub fn method_not_allowed(&self) -> ArmError {
        ArmError::MethodNotAllowed(self.method.to_string())
    }
}

/// The endpoints with their compiled patterns; unscoped patterns are tried first.
pub struct Endpoints {
    patterns: Vec<(Pattern, &'static Endpoint)>,
}

impl Endpoints {
    /// Compiles the patterns of `endpoints`.
    pub fn new(endpoints: &[&'static Endpoint]) -> Self {
        let mut patterns: Vec<_> =
            endpoints.iter().flat_map(|e| e.patterns.iter().map(move |p| (Pattern::new(p), *e))).collect();
        patterns.sort_by_key(|(p, _)| p.raw().starts_with("{scope}"));
        Endpoints { patterns }
    }

    /// The endpoint, pattern and captures a path matches.
    pub fn find(&self, segments: &[String]) -> Option<(&'static Endpoint, &'static str, Captures)> {
        self.patterns
            .iter()
            .find_map(|(pattern, endpoint)| Some((*endpoint, pattern.raw(), pattern.matches(segments)?)))
    }
}

/// Every endpoint the emulator serves.
pub fn all() -> Vec<&'static Endpoint> {
    let mut list = vec![&crate::kinds::role_definitions::ENDPOINTS];
    list.extend(crate::provider_reads::ENDPOINTS);
    list.extend(crate::kinds::endpoints());
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::path::segments;

    #[test]
    fn routes_to_endpoints() {
        let endpoints = Endpoints::new(&all());
        let name = |path: &str| endpoints.find(&segments(path)).map(|(e, _, _)| e.name);
        let guid = "b24988ac-6180-42a0-ab88-20f7382dd24c";
        assert_eq!(
            name(&format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}")),
            Some("roleDefinitions")
        );
        assert_eq!(
            name("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions"),
            Some("roleDefinitions")
        );
        let (_, _, captures) =
            endpoints.find(&segments(&format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"))).unwrap();
        assert_eq!((captures.scope.as_deref(), captures.get("roleDefinitionId")), (Some(""), guid));
        assert_eq!(name("/subscriptions/s/providers"), Some("providers"));
        assert_eq!(name("/subscriptions/s/providers/Microsoft.Compute"), Some("providers"));
        assert_eq!(name("/subscriptions/s/providers/Microsoft.Compute/register"), Some("providers"));
        assert_eq!(
            name("/subscriptions/s/resourcegroups/rg/providers/Microsoft.Authorization/permissions"),
            Some("permissions")
        );
        assert_eq!(name("/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/vmSizes"), Some("vmSizes"));
        assert_eq!(name("/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/usages"), Some("usages"));
        assert_eq!(name("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments"), None);
        assert_eq!(name("/subscriptions/s/providers/Microsoft.Storage/storageAccounts"), None);
    }
}
