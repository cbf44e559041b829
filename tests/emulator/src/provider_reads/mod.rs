//! Reads of what the subscription offers, answered from the emulator's own state and configuration (so that
//! tests can make a pre-flight check fail at start): resource providers and their registration
//! ([`providers`]), the caller's permissions ([`permissions`]), VM sizes and compute usages ([`compute`]).
//! Their data is in [`catalog`], their start-time knobs in [`settings`]. They are [`Endpoint`]s: not
//! resources, dispatched before the kinds, recorded for oav like every other exchange.

pub mod catalog;
pub mod compute;
pub mod permissions;
pub mod providers;
pub mod settings;

use crate::arm::endpoint::Endpoint;

/// The endpoints of the offer's reads.
pub static ENDPOINTS: &[&Endpoint] =
    &[&providers::ENDPOINT, &permissions::ENDPOINT, &compute::VM_SIZES, &compute::USAGES];
