//! End-to-end tests over HTTPS: an in-process emulator on port 0 and reqwest (rustls, ring) trusting the
//! emulator's CA.

mod arm;
mod azurite;
mod binary;
mod devops;
mod devops_actor;
mod devops_client;
mod devops_oav;
mod devops_protocol;
mod devops_support;
mod entra;
mod faults;
mod image_builder;
mod image_builder_access;
mod kinds;
mod latency;
mod network;
mod oav;
mod oav_network;
mod offer;
mod pipelines;
mod roles;
mod scale_sets;
mod storage_keys;
mod support;
mod swagger;
