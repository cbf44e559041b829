//! `Microsoft.Network/publicIPPrefixes`: a contiguous range of outbound addresses for the NAT
//! gateway (a /28 gives 16, a /31 two).
//!
//! NAT gateways take Standard SKU, IPv4 prefixes of /28 to /31 only.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::public_ip::NetworkSku;
use super::Tags;

pub static KIND: Kind = kind::arm(
    "Microsoft.Network/publicIPPrefixes",
    "2024-05-01",
    "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/publicIpPrefix.json",
    "public IP prefix",
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIpPrefix {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
    pub sku: NetworkSku,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub properties: PublicIpPrefixProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpPrefixProperties {
    pub prefix_length: u32,
    #[serde(rename = "publicIPAddressVersion")]
    pub public_ip_address_version: String,
}

pub fn desired(location: &str, tags: &Tags, zones: &[String], prefix_length: u32) -> PublicIpPrefix {
    PublicIpPrefix {
        location: location.to_owned(),
        tags: tags.clone(),
        sku: NetworkSku::standard_regional(),
        zones: zones.to_vec(),
        properties: PublicIpPrefixProperties { prefix_length, public_ip_address_version: "IPv4".to_owned() },
    }
}
