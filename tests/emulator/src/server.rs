//! The HTTPS server: TLS accept loop, route table and lifecycle ([`Emulator::start`] / [`Emulator::shutdown`]).
//!
//! Routes:
//! - `/_emulator/...`: admin ([`crate::admin`]);
//! - `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`,
//!   `/{tenant}/discovery/v2.0/keys`: Entra ([`crate::entra`]);
//! - `/{organization}/_apis/…`, `/{organization}/{project}/_apis/…`: Azure DevOps ([`crate::devops`]);
//! - everything else: ARM ([`crate::arm`]).
//!
//! A response carrying the [`DropConnection`] marker is turned into a service error, on which hyper closes
//! an HTTP/1.1 connection without writing anything, or resets the HTTP/2 stream: the client sees the
//! connection dropped. Caveat: on shutdown, open connections are aborted, not drained.
//!
//! Without `--state-dir`, the PEM files go to a new temporary directory, removed at shutdown. Every
//! `--tick-ms` ([`DEFAULT_TICK_MS`]), a background task runs the kinds' work outside the state lock
//! ([`crate::arm::kind::ResourceKind::background`]: Image Builder builds) and Azure DevOps' actor on scale
//! sets ([`crate::devops::actor`]); it stops at shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::admin::{self, RequestCounter};
use crate::app::App;
use crate::blob_data_plane::BlobDataPlane;
use crate::config::Config;
use crate::devops::oidc::{self, OidcIssuer};
use crate::entra::directory::Directory;
use crate::entra::{self, TokenIssuer};
use crate::faults::{FaultError, FaultInjector};
use crate::state::{SharedState, StateError};
use crate::tls::{Certificates, TlsError};
use crate::traffic::{TrafficError, TrafficRecorder};
use crate::{arm, devops, kinds};

/// How often kinds' background work ([`crate::arm::kind::ResourceKind::background`]) runs by
/// default, in milliseconds (`--tick-ms`).
pub const DEFAULT_TICK_MS: u64 = 20;

/// Response extension: drop the connection instead of answering (fault injection).
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The service error that makes hyper drop the connection.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot create state directory {path}: {source}")]
    StateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Traffic(#[from] TrafficError),
    #[error(transparent)]
    BlobDataPlane(#[from] crate::blob_data_plane::DataPlaneError),
    #[error("invalid fault settings: {0}")]
    Faults(#[from] FaultError),
    /// The client's role assignments (`--caller-role`) could not be made.
    #[error("cannot give the client its roles (--caller-role): {0}")]
    CallerRoles(crate::arm::error::ArmError),
    /// A seeded subnet (`--subnet`) could not be made.
    #[error("cannot make the seeded subnets (--subnet): {0}")]
    Subnets(crate::arm::error::ArmError),
}

/// What the ready line tells clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadyInfo {
    pub arm_endpoint: String,
    pub authority_host: String,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub tenant_id: String,
    pub subscription_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The client's object id (the `oid` of its tokens), holder of the `--caller-role` assignments.
    pub principal_id: String,
    pub state_dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_dir: Option<PathBuf>,
    /// `https://host:port/{organization}`: the emulated Azure DevOps organization.
    pub devops_url: String,
    /// The personal access token Azure DevOps accepts (Basic, any user name).
    pub devops_pat: String,
    /// The job access token (`System.AccessToken`) Azure DevOps accepts as Bearer.
    pub devops_access_token: String,
    /// The organization's id (the `{id}` of its OIDC issuer `https://vstoken.dev.azure.com/{id}`).
    pub devops_organization_id: String,
    /// `SYSTEM_PLANID` and `SYSTEM_JOBID` of the emulated pipeline job (the job of the job token).
    pub devops_plan_id: String,
    pub devops_job_id: String,
    /// `SYSTEM_OIDCREQUESTURI` of the job in the project of [`ReadyInfo::wif_service_connection`].
    pub oidc_request_uri: String,
    /// The first `--devops-service-endpoint` (scheme `ServicePrincipal`).
    pub service_connection: ServiceConnectionInfo,
    /// The first `--devops-wif-service-endpoint` (scheme `WorkloadIdentityFederation`).
    pub wif_service_connection: ServiceConnectionInfo,
}

/// A seeded AzureRM service connection, as a pipeline task sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectionInfo {
    pub id: String,
    pub name: String,
    /// `ServicePrincipal` or `WorkloadIdentityFederation`.
    pub scheme: String,
    pub project: String,
    pub project_id: String,
    /// The principal (application client id).
    pub service_principal_id: String,
    /// `SYSTEM_OIDCREQUESTURI` of the job in this connection's project.
    pub oidc_request_uri: String,
    /// Issuer and subject of its OIDC tokens (empty unless `WorkloadIdentityFederation`).
    pub issuer: String,
    pub subject: String,
}

impl ServiceConnectionInfo {
    /// The connection `name` of `project` in an organization served at `devops_url`.
    fn of(org: &devops::model::Organization, project: &str, name: &str, devops_url: &str) -> Option<Self> {
        let project = org.project(project)?;
        let endpoint =
            org.endpoints.iter().find(|e| e.name.eq_ignore_ascii_case(name) && e.project_ids.contains(&project.id))?;
        let wif = endpoint.scheme.eq_ignore_ascii_case(oidc::WIF_SCHEME);
        Some(ServiceConnectionInfo {
            id: endpoint.id.clone(),
            name: endpoint.name.clone(),
            scheme: endpoint.scheme.clone(),
            project: project.name.clone(),
            project_id: project.id.clone(),
            service_principal_id: endpoint.service_principal_id.clone().unwrap_or_default(),
            oidc_request_uri: oidc::request_uri(&format!("{devops_url}/"), &org.name, &project.id),
            issuer: if wif { oidc::issuer(org) } else { String::new() },
            subject: if wif { oidc::subject(org, endpoint) } else { String::new() },
        })
    }
}

/// Which seeded service connection a task's `connectedServiceNameARM` input names ([`ReadyInfo::task_vars`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAuthScheme {
    /// [`ReadyInfo::service_connection`]: a client secret.
    ServicePrincipal,
    /// [`ReadyInfo::wif_service_connection`]: the job's OIDC token exchanged at Entra ID.
    WorkloadIdentityFederation,
}

impl ReadyInfo {
    /// The environment that points agentpool (the binary, or agentpool-core's `from_vars`
    /// functions) at this emulator — Resource Manager, Entra, and its Azure DevOps organization
    /// with the PAT — trusting the CAs in `ca_bundle` (the emulator's, and Azurite's when blobs
    /// go there).
    pub fn client_vars(&self, ca_bundle: &std::path::Path) -> std::collections::BTreeMap<String, String> {
        [
            ("AGENTPOOL_ARM_ENDPOINT", self.arm_endpoint.clone()),
            ("AZURE_AUTHORITY_HOST", self.authority_host.clone()),
            ("AGENTPOOL_CA_FILE", ca_bundle.display().to_string()),
            ("AZURE_TENANT_ID", self.tenant_id.clone()),
            ("AZURE_CLIENT_ID", self.client_id.clone()),
            ("AZURE_CLIENT_SECRET", self.client_secret.clone()),
            ("AZURE_SUBSCRIPTION_ID", self.subscription_id.clone()),
            ("AGENTPOOL_CREDENTIAL", "client-secret".to_owned()),
            ("AGENTPOOL_DEVOPS_URL", self.devops_url.clone()),
            ("AZURE_DEVOPS_EXT_PAT", self.devops_pat.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The environment the Azure Pipelines agent gives a task whose AzureRM service connection input is named
    /// `connectedServiceNameARM` (AzureCLIV2's, `specs/azure-pipelines-tasks/Tasks/AzureCLIV2/task.json`), for
    /// the seeded connection of `scheme`, trusting the CAs in `ca_bundle` (`AGENTPOOL_CA_FILE`):
    ///
    /// - the input `INPUT_CONNECTEDSERVICENAMEARM` = the connection id;
    /// - the connection as azure-pipelines-task-lib reads it (`ENDPOINT_URL_<id>`, `ENDPOINT_AUTH_<id>` (JSON
    ///   `{parameters, scheme}`), `ENDPOINT_AUTH_SCHEME_<id>`, `ENDPOINT_AUTH_PARAMETER_<id>_<KEY>`,
    ///   `ENDPOINT_DATA_<id>` (JSON), `ENDPOINT_DATA_<id>_<KEY>`: the id as is, the key upper-cased,
    ///   `task.ts`): the ARM endpoint with a trailing `/` as URL; parameters `TENANTID`, `SERVICEPRINCIPALID`,
    ///   `SERVICEPRINCIPALKEY` and `AUTHENTICATIONTYPE` `spnKey` (ServicePrincipal) or
    ///   `WORKLOADIDENTITYFEDERATIONISSUER` / `…SUBJECT` (WorkloadIdentityFederation); data `SUBSCRIPTIONID`,
    ///   `SUBSCRIPTIONNAME`, `ENVIRONMENT` `AzureCloud`, `SCOPELEVEL` `Subscription`,
    ///   `ACTIVEDIRECTORYSERVICEENDPOINTRESOURCEID` `https://management.core.windows.net/` (a resource the
    ///   emulated ARM accepts as audience), and the emulator's authority with a trailing `/` as
    ///   `ENVIRONMENTAUTHORITYURL` and `ACTIVEDIRECTORYAUTHORITY` (the keys azure-pipelines-tasks-azure-arm-rest's
    ///   `AzureRMEndpoint` reads, with and without MSAL);
    /// - the job: `SYSTEM_ACCESSTOKEN` and `ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN` (the job
    ///   token), `ENDPOINT_URL_SYSTEMVSSCONNECTION`, `SYSTEM_TEAMFOUNDATIONCOLLECTIONURI`,
    ///   `SYSTEM_COLLECTIONURI`, `SYSTEM_TEAMFOUNDATIONSERVERURI` (the organization URL with a trailing `/`),
    ///   `SYSTEM_TEAMPROJECT`, `SYSTEM_TEAMPROJECTID`, `SYSTEM_PLANID`, `SYSTEM_JOBID`, `SYSTEM_HOSTTYPE`
    ///   `build`, `SYSTEM_OIDCREQUESTURI`, `TF_BUILD` `True` (as a hosted job's environment shows them).
    pub fn task_vars(
        &self,
        scheme: TaskAuthScheme,
        ca_bundle: &std::path::Path,
    ) -> std::collections::BTreeMap<String, String> {
        let connection = match scheme {
            TaskAuthScheme::ServicePrincipal => &self.service_connection,
            TaskAuthScheme::WorkloadIdentityFederation => &self.wif_service_connection,
        };
        let id = connection.id.as_str();
        let collection_uri = format!("{}/", self.devops_url);
        let authority = format!("{}/", self.authority_host);
        let mut parameters = serde_json::Map::new();
        parameters.insert("tenantid".into(), self.tenant_id.clone().into());
        parameters.insert("serviceprincipalid".into(), connection.service_principal_id.clone().into());
        match scheme {
            TaskAuthScheme::ServicePrincipal => {
                parameters.insert("serviceprincipalkey".into(), self.client_secret.clone().into());
                parameters.insert("authenticationType".into(), "spnKey".into());
            }
            TaskAuthScheme::WorkloadIdentityFederation => {
                parameters.insert("workloadIdentityFederationIssuer".into(), connection.issuer.clone().into());
                parameters.insert("workloadIdentityFederationSubject".into(), connection.subject.clone().into());
            }
        }
        let data: serde_json::Map<String, serde_json::Value> = [
            ("subscriptionId", self.subscription_id.clone()),
            ("subscriptionName", "Emulated subscription".to_string()),
            ("environment", "AzureCloud".to_string()),
            ("scopeLevel", "Subscription".to_string()),
            ("activeDirectoryServiceEndpointResourceId", "https://management.core.windows.net/".to_string()),
            ("environmentAuthorityUrl", authority.clone()),
            ("activeDirectoryAuthority", authority),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
        let mut vars = std::collections::BTreeMap::new();
        vars.insert("INPUT_CONNECTEDSERVICENAMEARM".to_string(), id.to_string());
        vars.insert(format!("ENDPOINT_URL_{id}"), format!("{}/", self.arm_endpoint));
        vars.insert(format!("ENDPOINT_AUTH_SCHEME_{id}"), connection.scheme.clone());
        vars.insert(
            format!("ENDPOINT_AUTH_{id}"),
            serde_json::json!({ "parameters": parameters, "scheme": connection.scheme }).to_string(),
        );
        for (key, value) in &parameters {
            vars.insert(format!("ENDPOINT_AUTH_PARAMETER_{id}_{}", key.to_uppercase()), json_text(value));
        }
        vars.insert(format!("ENDPOINT_DATA_{id}"), serde_json::Value::Object(data.clone()).to_string());
        for (key, value) in &data {
            vars.insert(format!("ENDPOINT_DATA_{id}_{}", key.to_uppercase()), json_text(value));
        }
        for (key, value) in [
            ("ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN", self.devops_access_token.clone()),
            ("ENDPOINT_URL_SYSTEMVSSCONNECTION", collection_uri.clone()),
            ("SYSTEM_ACCESSTOKEN", self.devops_access_token.clone()),
            ("SYSTEM_OIDCREQUESTURI", connection.oidc_request_uri.clone()),
            ("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", collection_uri.clone()),
            ("SYSTEM_COLLECTIONURI", collection_uri.clone()),
            ("SYSTEM_TEAMFOUNDATIONSERVERURI", collection_uri),
            ("SYSTEM_TEAMPROJECT", connection.project.clone()),
            ("SYSTEM_TEAMPROJECTID", connection.project_id.clone()),
            ("SYSTEM_PLANID", self.devops_plan_id.clone()),
            ("SYSTEM_JOBID", self.devops_job_id.clone()),
            ("SYSTEM_HOSTTYPE", "build".to_string()),
            ("TF_BUILD", "True".to_string()),
            ("AGENTPOOL_CA_FILE", ca_bundle.display().to_string()),
        ] {
            vars.insert(key.to_string(), value);
        }
        vars
    }
}

fn json_text(value: &serde_json::Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    ready: ReadyInfo,
    /// Whether the state directory is a temporary one made at start (removed at shutdown).
    owns_state_dir: bool,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    ticker: JoinHandle<()>,
}

/// The route table: admin routes, Entra, then Azure DevOps for its paths ([`devops::is_devops_path`]) and
/// ARM for everything else.
pub fn router(app: Arc<App>) -> Router {
    let arm = arm::router(app.clone()).with_state(app.clone());
    let devops = devops::router(app.clone());
    let split = tower::service_fn(move |request: axum::extract::Request| {
        let target = if devops::is_devops_path(request.uri().path()) { devops.clone() } else { arm.clone() };
        target.oneshot(request)
    });
    Router::new()
        .nest("/_emulator", admin::router())
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(entra::openid_configuration))
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route("/{tenant}/discovery/v2.0/keys", get(entra::keys))
        .fallback_service(split)
        .with_state(app)
}

fn url_host(ip: IpAddr) -> String {
    match ip {
        ip if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

impl Emulator {
    /// Generates the certificates, loads the state, binds the port and starts serving.
    pub async fn start(config: Config) -> Result<Self, ServerError> {
        let owns_state_dir = config.state_dir.is_none();
        let state_dir = config
            .state_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("agentpool-emulator-{}", uuid::Uuid::new_v4())));
        std::fs::create_dir_all(&state_dir)
            .map_err(|source| ServerError::StateDir { path: state_dir.clone(), source })?;
        let certs = Certificates::generate(Some(config.host))?;
        let files = certs.write_to(&state_dir)?;
        let acceptor = TlsAcceptor::from(certs.server_config()?);

        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
        let endpoint = format!("https://{}:{}", url_host(local.ip()), local.port());

        let traffic = config.traffic_dir.clone().map(TrafficRecorder::new).transpose()?;
        let blob_ca = config.blob_ca_file.clone().unwrap_or_else(|| files.ca.clone());
        let blob = if config.blob_service { Some(BlobDataPlane::new(&blob_ca)?) } else { None };
        let app = Arc::new(App {
            endpoint: endpoint.clone(),
            state: SharedState::open(config.state_file.clone())?,
            tokens: TokenIssuer::new(&config.tenant_id, config.token_lifetime_secs),
            directory: Directory::with_client(&config.client_id, &config.client_secret),
            oidc: OidcIssuer::new(config.devops.oidc_token_lifetime_secs),
            faults: FaultInjector::new(config.faults.clone())?,
            traffic,
            requests: RequestCounter::default(),
            registry: kinds::registry(),
            blob,
            memory_blobs: Default::default(),
            config,
        });
        crate::authz::caller::seed(&app).map_err(ServerError::CallerRoles)?;
        crate::kinds::network::seed::seed(&app).map_err(ServerError::Subnets)?;
        seed_devops(&app);
        let devops_url = format!("{}/{}", app.endpoint, app.config.devops.organization);
        let (organization_id, service_connection, wif_service_connection) = app.state.read(|store| {
            let org = store.devops().org(&app.config.devops.organization);
            let connection = |seeds: &[devops::settings::EndpointSeed]| {
                org.zip(seeds.first())
                    .and_then(|(org, seed)| ServiceConnectionInfo::of(org, &seed.project, &seed.name, &devops_url))
                    .unwrap_or_default()
            };
            (
                org.map(|o| o.id.clone()).unwrap_or_default(),
                connection(&app.config.devops.service_endpoints),
                connection(&app.config.devops.wif_service_endpoints),
            )
        });
        let ready = ReadyInfo {
            arm_endpoint: endpoint.clone(),
            authority_host: endpoint,
            ca_file: files.ca,
            cert_file: files.cert,
            key_file: files.key,
            tenant_id: app.config.tenant_id.clone(),
            subscription_id: app.config.subscription_id.clone(),
            client_id: app.config.client_id.clone(),
            client_secret: app.config.client_secret.clone(),
            principal_id: crate::authz::caller::principal_id(&app.config.client_id),
            state_dir,
            traffic_dir: app.config.traffic_dir.clone(),
            devops_organization_id: organization_id,
            devops_plan_id: oidc::plan_id(&app.config.devops.organization),
            devops_job_id: oidc::job_id(&app.config.devops.organization),
            oidc_request_uri: wif_service_connection.oidc_request_uri.clone(),
            service_connection,
            wif_service_connection,
            devops_url,
            devops_pat: app.config.devops.pat.clone(),
            devops_access_token: app.config.devops.access_token.clone(),
        };
        let (shutdown, stop) = oneshot::channel();
        let task = tokio::spawn(serve(listener, acceptor, router(app.clone()), stop));
        let ticker = tokio::spawn(tick(app.clone()));
        Ok(Emulator { ready, owns_state_dir, app, shutdown: Some(shutdown), task, ticker })
    }

    /// Endpoints, files and credentials.
    pub fn ready(&self) -> &ReadyInfo {
        &self.ready
    }

    /// The shared state (for in-process tests and future in-process users).
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting, aborts open connections and waits for the server task; a temporary state
    /// directory made at start is removed.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.ticker.abort();
        let _ = (&mut self.ticker).await;
        if self.owns_state_dir {
            let _ = std::fs::remove_dir_all(&self.ready.state_dir);
        }
    }
}

/// Makes the Azure DevOps organization, projects and endpoints of the flags that are missing, and gives
/// every workload identity federation connection its federated credential in Entra's directory.
fn seed_devops(app: &App) {
    let azure = devops::seed::Azure {
        tenant_id: app.config.tenant_id.clone(),
        subscription_id: app.config.subscription_id.clone(),
        client_id: app.config.client_id.clone(),
    };
    let now = time::OffsetDateTime::now_utc();
    app.state.write(|store| {
        let before = store.devops().clone();
        devops::seed::seed(store.devops_mut(), &app.config.devops, &azure, now);
        if *store.devops() != before {
            store.mark_changed();
        }
        oidc::federate_all(store.devops(), &app.directory);
    });
}

/// Runs the kinds' background work every `--tick-ms`, one kind after the other, then Azure DevOps' actor
/// ([`devops::actor`]), until aborted.
async fn tick(app: Arc<App>) {
    let mut interval = tokio::time::interval(Duration::from_millis(app.config.tick_ms.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for kind in app.registry.kinds() {
            if let Some(work) = kind.background(&app) {
                work.await;
            }
        }
        devops::actor::tick(&app);
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, router: Router, mut stop: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                connections.spawn(connection(tcp, peer, acceptor.clone(), router.clone()));
                while connections.try_join_next().is_some() {}
            }
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn connection(tcp: tokio::net::TcpStream, peer: SocketAddr, acceptor: TlsAcceptor, router: Router) {
    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!("TLS handshake with {peer} failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake with {peer} timed out");
            return;
        }
    };
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = match router.oneshot(request.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                Err(Dropped)
            } else {
                Ok(response)
            }
        }
    });
    if let Err(e) = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await {
        tracing::debug!("connection with {peer} ended: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("0.0.0.0".parse().unwrap()), "127.0.0.1");
        assert_eq!(url_host("::1".parse().unwrap()), "[::1]");
        assert_eq!(url_host("127.0.0.1".parse().unwrap()), "127.0.0.1");
    }
}
