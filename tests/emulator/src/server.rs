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
            devops_url: format!("{}/{}", app.endpoint, app.config.devops.organization),
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

/// Makes the Azure DevOps organization, projects and endpoints of the flags that are missing.
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
