//! What exists in the emulated Azure DevOps before anyone asks: the organization of `--devops-organization`
//! with the two pools every organization has (`Default`, id 1, and the Microsoft-hosted `Azure Pipelines`,
//! id 2), the projects of `--devops-project` (each with a queue of both pools), the AzureRM service
//! endpoints of `--devops-service-endpoint` (scheme `ServicePrincipal`) and of `--devops-wif-service-endpoint`
//! (scheme `WorkloadIdentityFederation`), all with the principal `--client-id`.
//!
//! Seeding adds what is missing and changes nothing that exists, so a state file loaded at start keeps its
//! pools. The admin routes ([`super::admin`]) add organizations, projects and endpoints through the same
//! functions.

use time::OffsetDateTime;

use super::model::{DevopsState, Endpoint, IdKind, Identity, Organization, Pool, Project, Queue};
use super::oidc::WIF_SCHEME;
use super::render::timestamp;
use super::settings::DevopsSettings;

/// Pool ids below this are the organization's own pools; elastic pools start here.
pub const FIRST_POOL_ID: i64 = 10;

/// What endpoints are made from: the emulated subscription, tenant and principal.
#[derive(Debug, Clone)]
pub struct Azure {
    pub tenant_id: String,
    pub subscription_id: String,
    pub client_id: String,
}

/// A GUID derived from names (stable across restarts).
pub fn stable_id(parts: &[&str]) -> String {
    let name = format!("agentpool-emulator/devops/{}", parts.join("/")).to_lowercase();
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

/// The user a PAT belongs to, who made the seeded pools.
pub fn emulator_user() -> Identity {
    let id = stable_id(&["user", "emulator"]);
    Identity {
        descriptor: format!("aad.{}", id.replace('-', "")),
        id,
        display_name: "Emulator User".into(),
        unique_name: "emulator.user@contoso.example".into(),
    }
}

/// Makes everything the settings name that is missing.
pub fn seed(state: &mut DevopsState, settings: &DevopsSettings, azure: &Azure, now: OffsetDateTime) {
    let org = ensure_org(state, &settings.organization, now);
    for project in &settings.projects {
        ensure_project(org, project, now);
    }
    for endpoint in &settings.service_endpoints {
        ensure_azurerm_endpoint(org, &endpoint.project, &endpoint.name, azure, now);
    }
    for endpoint in &settings.wif_service_endpoints {
        let spec = AzureRmEndpoint { scheme: AzureRmScheme::WorkloadIdentityFederation, ..AzureRmEndpoint::default() };
        ensure_azurerm_endpoint_with(org, &endpoint.project, &endpoint.name, azure, &spec, now);
    }
}

/// How an AzureRM service endpoint authenticates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AzureRmScheme {
    /// `ServicePrincipal`: the principal's secret.
    #[default]
    ServicePrincipal,
    /// `WorkloadIdentityFederation`: an OIDC token of the job, exchanged at Entra ID.
    WorkloadIdentityFederation,
}

impl AzureRmScheme {
    /// The scheme's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AzureRmScheme::ServicePrincipal => "ServicePrincipal",
            AzureRmScheme::WorkloadIdentityFederation => WIF_SCHEME,
        }
    }

    /// `ServicePrincipal` or `WorkloadIdentityFederation` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        [AzureRmScheme::ServicePrincipal, AzureRmScheme::WorkloadIdentityFederation]
            .into_iter()
            .find(|scheme| scheme.as_str().eq_ignore_ascii_case(s))
    }
}

/// What an AzureRM endpoint is made with besides its project and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AzureRmEndpoint {
    pub scheme: AzureRmScheme,
    /// The principal (application client id); default the emulator's client.
    pub service_principal_id: Option<String>,
    /// `workloadIdentityFederationSubject` of the connection (the `sub` of its tokens when set).
    pub subject: Option<String>,
}

/// The organization, made (with its two pools) if missing.
pub fn ensure_org<'a>(state: &'a mut DevopsState, name: &str, now: OffsetDateTime) -> &'a mut Organization {
    if let Some(index) = state.organizations.iter().position(|o| o.name.eq_ignore_ascii_case(name)) {
        return &mut state.organizations[index];
    }
    let mut org = Organization { name: name.to_string(), id: stable_id(&[name]), ..Default::default() };
    for (id, pool_name, hosted) in [(1, "Default", false), (2, "Azure Pipelines", true)] {
        org.pools.push(Pool {
            id,
            name: pool_name.into(),
            scope: stable_id(&[name, "pool", pool_name]),
            created_on: timestamp(now),
            created_by: emulator_user(),
            is_hosted: hosted,
            auto_provision: true,
            auto_authorize: false,
        });
    }
    org.counters.pool = FIRST_POOL_ID - 1;
    state.organizations.push(org);
    let last = state.organizations.len() - 1;
    &mut state.organizations[last]
}

/// The project's id, the project made (with queues of the auto-provisioned pools) if missing.
pub fn ensure_project(org: &mut Organization, name: &str, now: OffsetDateTime) -> String {
    if let Some(project) = org.project(name) {
        return project.id.clone();
    }
    let id = stable_id(&[&org.name, "project", name]);
    org.projects.push(Project {
        id: id.clone(),
        name: name.to_string(),
        description: String::new(),
        last_update_time: timestamp(now),
    });
    let provisioned: Vec<(i64, String)> =
        org.pools.iter().filter(|p| p.auto_provision).map(|p| (p.id, p.name.clone())).collect();
    for (pool_id, pool_name) in provisioned {
        let queue_id = org.next_id(IdKind::Queue);
        org.queues.push(Queue { id: queue_id, name: pool_name, project_id: id.clone(), pool_id });
    }
    id
}

/// The endpoint's id, an AzureRM service principal endpoint made (and its project) if missing.
pub fn ensure_azurerm_endpoint(
    org: &mut Organization,
    project: &str,
    name: &str,
    azure: &Azure,
    now: OffsetDateTime,
) -> String {
    ensure_azurerm_endpoint_with(org, project, name, azure, &AzureRmEndpoint::default(), now)
}

/// The endpoint's id, an AzureRM endpoint of that scheme made (and its project) if missing.
pub fn ensure_azurerm_endpoint_with(
    org: &mut Organization,
    project: &str,
    name: &str,
    azure: &Azure,
    spec: &AzureRmEndpoint,
    now: OffsetDateTime,
) -> String {
    let project_id = ensure_project(org, project, now);
    let endpoint = Endpoint {
        id: stable_id(&[&org.name, "endpoint", project, name]),
        name: name.to_string(),
        endpoint_type: "AzureRM".into(),
        project_ids: vec![project_id],
        scheme: spec.scheme.as_str().into(),
        tenant_id: Some(azure.tenant_id.clone()),
        service_principal_id: Some(spec.service_principal_id.clone().unwrap_or_else(|| azure.client_id.clone())),
        subscription_id: Some(azure.subscription_id.clone()),
        subscription_name: Some("Emulated subscription".into()),
        url: "https://management.azure.com/".into(),
        workload_identity_federation_subject: spec.subject.clone(),
    };
    add_endpoint(org, endpoint)
}

/// Adds an endpoint unless one of that name is in its project already; returns the id of the one kept.
pub fn add_endpoint(org: &mut Organization, endpoint: Endpoint) -> String {
    let existing = org.endpoints.iter().find(|e| {
        e.name.eq_ignore_ascii_case(&endpoint.name) && e.project_ids.iter().any(|p| endpoint.project_ids.contains(p))
    });
    if let Some(e) = existing {
        return e.id.clone();
    }
    let id = endpoint.id.clone();
    org.endpoints.push(endpoint);
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        devops: DevopsSettings,
    }

    fn azure() -> Azure {
        Azure { tenant_id: "t".into(), subscription_id: "s".into(), client_id: "c".into() }
    }

    #[test]
    fn seeds_once() {
        let settings = Cli::parse_from(["x", "--devops-project", "platform", "--devops-project", "apps"]).devops;
        let mut state = DevopsState::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        seed(&mut state, &settings, &azure(), now);
        let before = state.clone();
        seed(&mut state, &settings, &azure(), now);
        assert_eq!(state, before, "seeding twice changes nothing");
        let org = state.org("contoso").unwrap();
        assert_eq!(
            org.pools.iter().map(|p| (p.id, p.name.as_str())).collect::<Vec<_>>(),
            [(1, "Default"), (2, "Azure Pipelines")]
        );
        assert_eq!(org.projects.len(), 2);
        assert_eq!(org.queues.len(), 4, "each project queues both pools");
        let endpoint = &org.endpoints[0];
        assert_eq!((endpoint.name.as_str(), endpoint.endpoint_type.as_str()), ("sc-agents-sbx", "AzureRM"));
        assert_eq!(endpoint.scheme, "ServicePrincipal");
        let wif = &org.endpoints[1];
        assert_eq!((wif.name.as_str(), wif.scheme.as_str()), ("sc-agents-wif", "WorkloadIdentityFederation"));
        assert_eq!(wif.service_principal_id.as_deref(), Some("c"));
        assert_eq!(endpoint.project_ids, [org.project("platform").unwrap().id.clone()]);
        assert_eq!(org.counters.pool, FIRST_POOL_ID - 1);
    }

    #[test]
    fn ids_are_stable() {
        assert_eq!(stable_id(&["contoso", "project", "platform"]), stable_id(&["Contoso", "project", "PLATFORM"]));
        assert_ne!(stable_id(&["a"]), stable_id(&["b"]));
    }
}
