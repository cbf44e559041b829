//! `Microsoft.Network/natGateways`: fixed outbound IPs for the agents' subnet.
//!
//! Caveat: associating the gateway with the subnet is a change to the subnet (a resource of the
//! user's virtual network): see [`super::subnet`].

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::public_ip::NetworkSku;
use super::Tags;

pub static KIND: Kind = kind::arm(
    "Microsoft.Network/natGateways",
    "2024-05-01",
    "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/natGateway.json",
    "NAT gateway",
);

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

/// The gateway of `spec` in `location` with these addresses, Standard SKU (the only one NAT
/// gateways take).
pub fn desired(
    spec: &crate::params::model::NatGateway,
    location: &str,
    tags: &Tags,
    public_ip_addresses: Vec<SubResource>,
    public_ip_prefixes: Vec<SubResource>,
) -> NatGateway {
    NatGateway {
        location: location.to_owned(),
        tags: tags.clone(),
        sku: NetworkSku { name: "Standard".to_owned(), tier: None },
        zones: spec.zones.clone().unwrap_or_default(),
        properties: NatGatewayProperties {
            idle_timeout_in_minutes: spec.idle_timeout_in_minutes,
            public_ip_addresses,
            public_ip_prefixes,
        },
    }
}
