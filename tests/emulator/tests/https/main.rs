//! End-to-end tests over HTTPS: an in-process emulator on port 0 and reqwest (rustls, ring) trusting the
//! emulator's CA.

mod arm;
mod azurite;
mod binary;
mod entra;
mod faults;
mod image_builder;
mod kinds;
mod latency;
mod oav;
mod support;
