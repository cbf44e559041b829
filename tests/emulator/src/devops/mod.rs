//! An emulated Azure DevOps organization on the emulator's own HTTPS listener, at
//! `https://host:port/{organization}`: projects, service endpoints, agent pools and queues, the
//! `distributedtask/elasticpools` 7.1 API, with Azure DevOps acting on the scale sets of its elastic pools,
//! and the OIDC tokens of a pipeline job for workload identity federation service connections.
//!
//! | module | concern |
//! |---|---|
//! | [`dispatch`] | which paths are Azure DevOps', organization, routes, the order of checks |
//! | [`auth`] | PAT, Entra token and job token; the 401 / 203 answers |
//! | [`version`] | api-version from the query or the `Accept` header, and its refusals |
//! | [`locations`] | `OPTIONS {org}/_apis[/{area}]` resource locations |
//! | [`catalog`] | projects and service endpoints |
//! | [`pools`] | agent pools and queues |
//! | [`elastic`] | elastic pools: create, get, list, update |
//! | [`nodes`] | elastic nodes and pool logs |
//! | [`oidc`] | a job's OIDC tokens for workload identity federation service connections |
//! | [`actor`], [`lifecycle`] | Azure DevOps acting on scale sets on the server's tick |
//! | [`vmss`] | what Azure DevOps reads and writes on a scale set body |
//! | [`model`], [`render`] | the kept state and its wire shapes |
//! | [`seed`], [`settings`] | what exists at start, and the flags |
//! | [`admin`] | `/_emulator/devops/...` test routes |
//! | [`swagger`] | the `{count, value}` patch of the swaggers for oav |
//! | [`error`] | Azure DevOps' error bodies |
//!
//! Sources of every fact are in the modules' docs. Exchanges are recorded as oav traffic like ARM's, with
//! `https://dev.azure.com` as host ([`crate::traffic`]); they are neither faulted nor counted in
//! `/_emulator/requests`.

pub mod actor;
pub mod admin;
pub mod auth;
pub mod catalog;
pub mod dispatch;
pub mod elastic;
pub mod error;
pub mod lifecycle;
pub mod locations;
pub mod model;
pub mod nodes;
pub mod oidc;
pub mod pools;
pub mod render;
pub mod seed;
pub mod settings;
pub mod swagger;
pub mod version;
pub mod vmss;

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::Router;

pub use dispatch::is_devops_path;
pub use swagger::{write_oav_swagger, write_patched_swagger};

use crate::app::App;

/// The Azure DevOps part of the server (every path [`is_devops_path`] claims), traffic recorded.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .fallback(dispatch::handle)
        .layer(from_fn_with_state(app.clone(), crate::traffic::record_devops))
        .with_state(app)
}
