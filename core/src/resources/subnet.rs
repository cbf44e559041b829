//! `Microsoft.Network/virtualNetworks/subnets`: the scale set's subnet, which belongs to the
//! user's network. agentpool never creates one; it only attaches the NAT gateway to it.
//!
//! A subnet has no PATCH and its PUT replaces the whole subnet (a field left out is dropped:
//! its address prefix, network security group, route table, service endpoints, delegations), so
//! the attachment is a GET, the live subnet with `properties.natGateway` set, and a PUT of that
//! ([`Update::GetModifyPut`]).
//!
//! Caveat: two writers doing GET-modify-PUT at once can lose one's change; Azure offers no
//! `If-Match` on subnets in this api-version's swagger, so a re-run is what converges it.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind, Update};
use super::nat_gateway::SubResource;

pub static KIND: Kind = Kind {
    update: Update::GetModifyPut,
    // The swagger's readOnly properties of `Subnet` and `SubnetPropertiesFormat`.
    read_only: &[
        "etag",
        "properties.privateEndpoints",
        "properties.ipConfigurations",
        "properties.ipConfigurationProfiles",
        "properties.resourceNavigationLinks",
        "properties.serviceAssociationLinks",
        "properties.purpose",
        "properties.provisioningState",
    ],
    creates: false,
    ..kind::arm(
        "Microsoft.Network/virtualNetworks/subnets",
        "2024-05-01",
        "azure-rest-api-specs/specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json",
        "subnet",
    )
};

/// The fields of a subnet agentpool owns: its NAT gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetAttachment {
    pub properties: SubnetAttachmentProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetAttachmentProperties {
    pub nat_gateway: SubResource,
}

/// The subnet with the NAT gateway `nat_gateway_id` attached.
pub fn desired(nat_gateway_id: &str) -> SubnetAttachment {
    SubnetAttachment {
        properties: SubnetAttachmentProperties { nat_gateway: SubResource { id: nat_gateway_id.to_owned() } },
    }
}

/// `…/virtualNetworks/{network}` of a subnet id, when it is one.
pub fn network_of(subnet_id: &str) -> Option<&str> {
    let lower = subnet_id.to_ascii_lowercase();
    let at = lower.rfind("/subnets/")?;
    lower[..at].contains("/providers/microsoft.network/virtualnetworks/").then(|| &subnet_id[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_only_fields_are_the_swaggers() {
        let swagger = crate::testing::read_json(&crate::testing::specs_dir().join(KIND.swagger));
        let read_only = |definition: &str, prefix: &str| -> Vec<String> {
            swagger["definitions"][definition]["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, p)| p["readOnly"] == true)
                .map(|(name, _)| format!("{prefix}{name}"))
                .collect()
        };
        let mut expected = read_only("Subnet", "");
        expected.extend(read_only("SubnetPropertiesFormat", "properties."));
        expected.sort();
        let mut ours: Vec<String> = KIND.read_only.iter().map(|s| (*s).to_owned()).collect();
        ours.sort();
        assert_eq!(ours, expected);
    }

    #[test]
    fn the_network_of_a_subnet_is_its_id_without_the_subnet() {
        let subnet = "/subscriptions/s/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-sbx/subnets/snet-agents";
        assert_eq!(
            network_of(subnet),
            Some("/subscriptions/s/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-sbx")
        );
        assert_eq!(network_of("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/x/subnets/y"), None);
    }
}
