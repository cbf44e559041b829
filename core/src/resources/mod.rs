//! One module per Azure resource kind: its api-version (from the official swaggers in
//! `specs/`), its resource id and its request body.
//!
//! Bodies are our own serde types. The compute bodies (galleries, image definitions, scale sets)
//! would come from `azure_mgmt_compute`'s generated models, but that crate depends on
//! azure_core 0.21, a second HTTP stack beside azure_core 1.x; owning these few types keeps one.
//! Every body is validated against its swagger by the `swagger_bodies` test (oav).

pub mod agent_pool;
pub mod blob_container;
pub mod gallery;
pub mod gallery_image;
pub mod identity;
pub mod image_template;
pub mod nat_gateway;
pub mod public_ip;
pub mod resource_group;
pub mod role_assignment;
pub mod scale_set;
pub mod storage_account;

use std::collections::BTreeMap;

/// Placeholder for the subscription when planning offline without `--subscription`.
pub const SUBSCRIPTION_PLACEHOLDER: &str = "{subscriptionId}";

/// Tags as ARM bodies carry them.
pub type Tags = BTreeMap<String, String>;

/// `/subscriptions/{subscription}/resourceGroups/{group}`.
pub fn resource_group_id(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// `/subscriptions/{s}/resourceGroups/{g}/providers/{provider_type}/{name}`; `provider_type` is
/// e.g. `Microsoft.Compute/galleries`.
pub fn resource_id(subscription: &str, group: &str, provider_type: &str, name: &str) -> String {
    format!("{}/providers/{provider_type}/{name}", resource_group_id(subscription, group))
}

/// Marker for a value only known once an earlier step ran, e.g. `<principalId of identity x>`.
pub fn known_after_apply(what: &str) -> String {
    format!("<{what}: known after apply>")
}
