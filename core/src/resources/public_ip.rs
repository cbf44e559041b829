//! `Microsoft.Network/publicIPAddresses`: the NAT gateway's outbound addresses.
//!
//! NAT gateways take Standard SKU, static, IPv4 addresses only.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::Tags;

pub static KIND: Kind = kind::arm(
    "Microsoft.Network/publicIPAddresses",
    "2024-05-01",
    "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/publicIpAddress.json",
    "public IP",
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIpAddress {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub sku: NetworkSku,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub properties: PublicIpAddressProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpAddressProperties {
    #[serde(rename = "publicIPAllocationMethod")]
    pub public_ip_allocation_method: String,
    #[serde(rename = "publicIPAddressVersion")]
    pub public_ip_address_version: String,
}

/// `{"name": "Standard", "tier": "Regional"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSku {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

impl NetworkSku {
    pub fn standard_regional() -> Self {
        Self { name: "Standard".to_owned(), tier: Some("Regional".to_owned()) }
    }
}

pub fn desired(location: &str, tags: &Tags, zones: &[String]) -> PublicIpAddress {
    PublicIpAddress {
        location: location.to_owned(),
        tags: tags.clone(),
        sku: NetworkSku::standard_regional(),
        zones: zones.to_vec(),
        properties: PublicIpAddressProperties {
            public_ip_allocation_method: "Static".to_owned(),
            public_ip_address_version: "IPv4".to_owned(),
        },
    }
}
