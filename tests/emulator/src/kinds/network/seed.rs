//! Networks that exist before anything is deployed (`--subnet <subnet id>=<address prefix>`), as a
//! network team makes them: the resource group, the virtual network and the subnet, private
//! (`defaultOutboundAccess: false`, as newer api-versions make subnets). Seeding only adds what is
//! missing, so a state file's later changes (a NAT gateway on the subnet) survive a restart.
//!
//! Caveat: the network's address space is the subnet prefix widened to a /16 (one space for all
//! seeded subnets of a network, the first subnet's); its region is `westeurope` unless the group
//! exists elsewhere.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::app::App;
use crate::arm::crud::upsert_internal;
use crate::arm::error::ArmError;
use crate::arm::path::segments;

/// Region of seeded networks whose group does not exist yet.
pub const REGION: &str = "westeurope";

/// One `--subnet` seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSeed {
    pub id: String,
    pub prefix: String,
}

impl SubnetSeed {
    /// `<subnet id>=<a.b.c.d/n>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (id, prefix) = s.split_once('=').ok_or("expected <subnet id>=<address prefix>")?;
        let lower = id.to_ascii_lowercase();
        if !lower.starts_with("/subscriptions/")
            || !lower.contains("/providers/microsoft.network/virtualnetworks/")
            || !lower.contains("/subnets/")
        {
            return Err(format!("{id} is not a subnet id"));
        }
        super::cidr::Block::parse(prefix).ok_or_else(|| format!("{prefix} is not an IPv4 prefix (a.b.c.d/n)"))?;
        Ok(Self { id: id.to_owned(), prefix: prefix.to_owned() })
    }

    fn network(&self) -> &str {
        let at = self.id.to_ascii_lowercase().rfind("/subnets/").unwrap_or(self.id.len());
        &self.id[..at]
    }

    fn group(&self) -> &str {
        let at = self.id.to_ascii_lowercase().find("/providers/").unwrap_or(self.id.len());
        &self.id[..at]
    }

    /// The prefix widened to a /16.
    fn space(&self) -> String {
        let address = self.prefix.split('/').next().unwrap_or_default();
        let octets: Vec<&str> = address.split('.').collect();
        format!("{}.{}.0.0/16", octets.first().unwrap_or(&"10"), octets.get(1).unwrap_or(&"0"))
    }
}

/// Makes each seeded subnet, its network and its group, when missing.
pub fn seed(app: &App) -> Result<(), ArmError> {
    let now = OffsetDateTime::now_utc();
    for seed in &app.config.subnets {
        let exists = |id: &str| app.state.read(|store| store.get(id).is_some());
        let put = |id: &str, body: Value| -> Result<(), ArmError> {
            let target =
                app.registry.item(&segments(id)).ok_or_else(|| ArmError::InvalidResourceType(id.to_owned()))?;
            upsert_internal(app, &target, body, now).map(drop)
        };
        if !exists(seed.group()) {
            put(seed.group(), json!({"location": REGION}))?;
        }
        if !exists(seed.network()) {
            let location = app.state.read(|store| store.get(seed.group()).map(|g| g.body["location"].clone()));
            let body = json!({
                "location": location.unwrap_or_else(|| json!(REGION)),
                "properties": {"addressSpace": {"addressPrefixes": [seed.space()]}}
            });
            put(seed.network(), body)?;
        }
        if !exists(&seed.id) {
            put(&seed.id, json!({"properties": {"addressPrefix": seed.prefix, "defaultOutboundAccess": false}}))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_into_their_group_network_and_space() {
        let seed = SubnetSeed::parse("/subscriptions/s/resourceGroups/rg-network-sbx/providers/Microsoft.Network/virtualNetworks/vnet-sbx/subnets/snet-agents=10.20.1.0/24").unwrap();
        assert_eq!(seed.group(), "/subscriptions/s/resourceGroups/rg-network-sbx");
        assert!(seed.network().ends_with("/virtualNetworks/vnet-sbx"));
        assert_eq!(seed.space(), "10.20.0.0/16");
        assert!(SubnetSeed::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v=10.0.0.0/24"
        )
        .is_err());
        assert!(SubnetSeed::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a=nope"
        )
        .is_err());
    }
}
