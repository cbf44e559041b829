//! The agents' subnet: it must exist, and it must let the agents out. An agent that cannot reach
//! Azure DevOps (and its package feeds) never registers, and the pool waits for it forever.
//!
//! Subnets made by newer network api-versions are private by default
//! (`defaultOutboundAccess: false`): without a NAT gateway, or a route to a firewall, their
//! machines have no way out. A NAT gateway in the parameters gives one (agentpool attaches it).
//!
//! Caveats: a route table is taken as a way out (a default route to a firewall) without reading
//! its routes; a network security group that denies outbound traffic is not checked; a subnet
//! older than the `defaultOutboundAccess` property (absent) has Azure's default outbound access,
//! which Microsoft retires for new networks.

use serde_json::Value;

use super::finding::{Check, Finding};
use crate::resources::subnet;

/// Findings about the subnet `subnet_id` as read (`Ok(None)`: it does not exist); `nat_gateway`
/// is the id of the NAT gateway the parameters attach, if any.
pub fn check(subnet_id: &str, read: &Result<Option<Value>, String>, nat_gateway: Option<&str>) -> Vec<Finding> {
    let name = subnet_id.rsplit('/').next().unwrap_or(subnet_id);
    let network = subnet::network_of(subnet_id).and_then(|n| n.rsplit('/').next()).unwrap_or("its network");
    let live = match read {
        Err(why) => {
            return vec![Finding::warning(
                Check::Network,
                format!("subnet {name} could not be read ({why}); its outbound access was not checked"),
                "give the deploying principal Reader on the virtual network",
            )]
        }
        Ok(None) => {
            return vec![Finding::blocking(
                Check::Network,
                format!("scaleSet.subnetId: subnet {name} does not exist in virtual network {network}"),
                "create the subnet, or fix scaleSet.subnetId (agentpool uses a subnet, it never creates one)",
            )]
        }
        Ok(Some(live)) => live,
    };
    let properties = &live["properties"];
    let attached = properties.pointer("/natGateway/id").and_then(Value::as_str);
    let mut findings = Vec::new();
    if let (Some(attached), Some(planned)) = (attached, nat_gateway) {
        if !attached.eq_ignore_ascii_case(planned) {
            findings.push(Finding::warning(
                Check::Network,
                format!(
                    "subnet {name} uses NAT gateway {}; the deploy attaches {} instead",
                    attached.rsplit('/').next().unwrap_or(attached),
                    planned.rsplit('/').next().unwrap_or(planned)
                ),
                "remove natGateway from the parameters to keep the subnet's own, or accept the change",
            ));
        }
    }
    let private = properties.get("defaultOutboundAccess").and_then(Value::as_bool) == Some(false);
    let way_out = nat_gateway.is_some() || attached.is_some() || properties.get("routeTable").is_some();
    if private && !way_out {
        findings.push(Finding::blocking(
            Check::Network,
            format!(
                "subnet {name} has no outbound access (defaultOutboundAccess false, no NAT gateway, no route table): agents will never register"
            ),
            "add the natGateway parameter (agentpool attaches it to the subnet), or give the subnet a NAT gateway or a route to a firewall",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::preflight::Severity;

    const SUBNET: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-sbx/providers/Microsoft.Network/virtualNetworks/vnet-sbx/subnets/snet-agents";
    const NAT: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-agents-sbx-pool/providers/Microsoft.Network/natGateways/ng-agents-sbx";

    /// A subnet as Subnets_Get answers it at 2024-05-01.
    fn subnet(properties: Value) -> Result<Option<Value>, String> {
        Ok(Some(json!({
            "id": SUBNET, "name": "snet-agents", "etag": "W/\"00000000-0000-0000-0000-000000000000\"",
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "properties": properties
        })))
    }

    fn severities(findings: &[Finding]) -> Vec<Severity> {
        findings.iter().map(|f| f.severity).collect()
    }

    #[test]
    fn a_private_subnet_without_a_way_out_blocks_unless_a_nat_gateway_is_planned() {
        let private = subnet(
            json!({"addressPrefix": "10.20.1.0/24", "defaultOutboundAccess": false, "provisioningState": "Succeeded"}),
        );
        let findings = check(SUBNET, &private, None);
        assert_eq!(severities(&findings), [Severity::Blocking]);
        assert!(findings[0].what.ends_with("agents will never register"), "{findings:?}");
        assert!(findings[0].fix.starts_with("add the natGateway parameter"));
        assert!(check(SUBNET, &private, Some(NAT)).is_empty());
        let routed = subnet(
            json!({"defaultOutboundAccess": false, "routeTable": {"id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/routeTables/to-firewall"}}),
        );
        assert!(check(SUBNET, &routed, None).is_empty());
        let nat_already = subnet(json!({"defaultOutboundAccess": false, "natGateway": {"id": NAT}}));
        assert!(check(SUBNET, &nat_already, Some(NAT)).is_empty());
        assert!(
            check(SUBNET, &subnet(json!({"addressPrefix": "10.20.1.0/24"})), None).is_empty(),
            "Azure's default outbound access"
        );
    }

    #[test]
    fn a_missing_subnet_blocks_and_another_nat_gateway_warns() {
        let missing = check(SUBNET, &Ok(None), Some(NAT));
        assert_eq!(severities(&missing), [Severity::Blocking]);
        assert_eq!(missing[0].what, "scaleSet.subnetId: subnet snet-agents does not exist in virtual network vnet-sbx");
        let other = subnet(json!({"natGateway": {"id": NAT.replace("ng-agents-sbx", "ng-hub")}}));
        let findings = check(SUBNET, &other, Some(NAT));
        assert_eq!(severities(&findings), [Severity::Warning]);
        assert!(findings[0].what.contains("uses NAT gateway ng-hub"));
        assert_eq!(severities(&check(SUBNET, &Err("403 AuthorizationFailed".into()), None)), [Severity::Warning]);
    }
}
