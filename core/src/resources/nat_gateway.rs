//! `Microsoft.Network/natGateways`: fixed outbound IPs for the agents' subnet.
//!
//! Caveat: associating the gateway with the subnet is a change to the subnet (a resource of the
//! user's virtual network), planned by the scale set step against the live subnet.

use serde::{Deserialize, Serialize};

use super::public_ip::NetworkSku;
use super::Tags;

pub const KIND: &str = "Microsoft.Network/natGateways";
pub const API_VERSION: &str = "2024-05-01";
pub const SHORT_NAME: &str = "NAT gateway";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGateway {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub sku: NetworkSku,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub properties: NatGatewayProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NatGatewayProperties {
    pub idle_timeout_in_minutes: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_ip_addresses: Vec<SubResource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_ip_prefixes: Vec<SubResource>,
}

/// `{"id": "<resource id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubResource {
    pub id: String,
}
