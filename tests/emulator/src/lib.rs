//! A local Azure for testing agentpool without a subscription: Azure Resource Manager (resource groups,
//! storage accounts and blob containers, managed identities, role assignments, compute galleries, Azure VM
//! Image Builder templates and their builds), an Entra ID token endpoint (client secrets and workload identity
//! federation), an Azure DevOps organization (with a pipeline job's OIDC tokens), fault injection and oav
//! traffic recording, all over HTTPS with a CA made at start.
//!
//! Start it in process with [`Emulator::start`] (tests) or as the `agentpool-emulator` binary, which prints
//! a [`ReadyInfo`] line of JSON on stdout; [`ReadyInfo::client_vars`] and [`ReadyInfo::task_vars`] give the
//! environment of agentpool's CLI and of its pipeline task. Module map:
//!
//! | module | concern |
//! |---|---|
//! | [`tls`] | CA + server certificate, PEM files, rustls config |
//! | [`entra`] | openid-configuration, client-credentials token endpoint (secret, client assertion), token signing, applications and federated credentials ([`entra::directory`]) |
//! | [`auth`] | bearer-token middleware of ARM routes |
//! | [`authz`] | access decided by role assignments and role definitions (callers, Image Builder's identity) |
//! | [`traffic`] | oav traffic files |
//! | [`faults`] | seeded 429 / 5xx / drop / slow / LRO-failure injection |
//! | [`arm`] | routing, api-versions, generic CRUD, long-running operations, validation |
//! | [`kinds`] | one module per resource type ([`kinds::image_templates`]: Image Builder; [`kinds::role_definitions`]: built-in and custom roles) |
//! | [`provider_reads`] | the subscription's offer: providers and registration, permissions, VM sizes, usages |
//! | [`blob_data_plane`] | containers created through ARM also created in Azurite; blobs of emulated services (Azurite, or memory) |
//! | [`admin`] | `/_emulator/...` test routes |
//! | [`state`] | in-memory state and its file |
//! | [`server`] | accept loop, route table, lifecycle, background tick of the kinds |
//! | [`azurite`] | starting Azurite beside it (e2e harness, benchmarks) |
//! | [`devops`] | Azure DevOps at `https://host:port/{organization}`: projects, endpoints, pools, elastic pools, its actor on scale sets, a job's OIDC tokens ([`devops::oidc`]) |

pub mod admin;
pub mod app;
pub mod arm;
pub mod auth;
pub mod authz;
pub mod azurite;
pub mod blob_data_plane;
pub mod config;
pub mod devops;
pub mod entra;
pub mod faults;
pub mod kinds;
pub mod provider_reads;
pub mod server;
pub mod state;
pub mod tls;
pub mod traffic;

pub use config::Config;
pub use server::{Emulator, ReadyInfo, ServerError, ServiceConnectionInfo, TaskAuthScheme};
