//! Sizing a NAT gateway for a pool of agents: how many public addresses carry `N` agents that
//! each keep about `F` outbound flows open.
//!
//! One public address gives 64,512 SNAT ports; a NAT gateway takes at most 16 addresses, single
//! ones or prefixes (a /28 counts 16, a /31 two), Standard SKU and IPv4 only (Microsoft's NAT
//! gateway documentation). Build agents open many connections at once (package feeds,
//! registries, the agent's own service); about 2,000 flows an agent is the rule of thumb used
//! here, which puts 32 agents on an address and 512 on a full gateway.
//!
//! Caveats: agents are counted whole per address (an agent's flows are not split across
//! addresses), so the result errs on the safe side by less than one agent an address: Azure
//! shares ports across all of a gateway's addresses. Flows to the same destination reuse ports
//! sooner; a workload that opens far more (parallel downloads) needs a higher `F`.

use std::fmt;

/// SNAT ports one public IP address gives a NAT gateway.
pub const SNAT_PORTS_PER_ADDRESS: u32 = 64_512;
/// Public addresses a NAT gateway takes at most (single ones plus prefixes, by size).
pub const MAX_ADDRESSES: u32 = 16;
/// Outbound flows an agent keeps open, as a rule of thumb.
pub const FLOWS_PER_AGENT: u32 = 2_000;
/// The prefix lengths a NAT gateway takes: /28 (16 addresses) to /31 (2).
pub const PREFIX_LENGTHS: std::ops::RangeInclusive<u32> = 28..=31;

/// Why agents cannot be sized onto a NAT gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatError {
    #[error("the flows per agent must be between 1 and {SNAT_PORTS_PER_ADDRESS} (one address's ports), not {0}")]
    Flows(u32),
    #[error(
        "{agents} agents at {flows} flows each need {needed} public addresses, but a NAT gateway takes at most {MAX_ADDRESSES} ({most} agents at {flows} flows)"
    )]
    TooMany { agents: u32, flows: u32, needed: u32, most: u32 },
}

impl NatError {
    /// What to do about it.
    pub fn fix(&self) -> String {
        match self {
            NatError::Flows(_) => "give the flows one agent keeps open, 2000 when unsure".to_owned(),
            NatError::TooMany { most, .. } => format!(
                "lower the agents' maximum to {most} (or the flows per agent), or split the agents over pools with their own subnet and NAT gateway"
            ),
        }
    }
}

/// What a NAT gateway needs for a number of agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub agents: u32,
    pub flows_per_agent: u32,
    /// Agents one address carries.
    pub agents_per_address: u32,
    /// Public addresses needed (at least one).
    pub addresses: u32,
}

impl Sizing {
    /// The addresses `agents` need at `flows_per_agent` flows each.
    pub fn for_agents(agents: u32, flows_per_agent: u32) -> Result<Self, NatError> {
        if flows_per_agent == 0 || flows_per_agent > SNAT_PORTS_PER_ADDRESS {
            return Err(NatError::Flows(flows_per_agent));
        }
        let agents_per_address = SNAT_PORTS_PER_ADDRESS / flows_per_agent;
        let addresses = agents.div_ceil(agents_per_address).max(1);
        if addresses > MAX_ADDRESSES {
            return Err(NatError::TooMany {
                agents,
                flows: flows_per_agent,
                needed: addresses,
                most: MAX_ADDRESSES * agents_per_address,
            });
        }
        Ok(Self { agents, flows_per_agent, agents_per_address, addresses })
    }

    /// The agents `addresses` addresses carry.
    pub fn capacity(self, addresses: u32) -> u32 {
        addresses.min(MAX_ADDRESSES) * self.agents_per_address
    }

    /// The longest prefix with at least [`Self::addresses`] addresses (/31 for two, /28 for up
    /// to 16); `None` for one address, which needs no prefix.
    pub fn prefix_length(self) -> Option<u32> {
        (self.addresses > 1).then(|| 32 - self.addresses.next_power_of_two().trailing_zeros())
    }
}

/// The addresses of a prefix of `length` bits (`/28` → 16).
pub fn prefix_addresses(length: u32) -> u32 {
    1u32.checked_shl(32 - length.min(32)).unwrap_or(u32::MAX)
}

impl fmt::Display for Sizing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Sizing { agents, flows_per_agent, agents_per_address, addresses } = *self;
        writeln!(
            f,
            "{agents} agents × {flows_per_agent} flows: one address ({SNAT_PORTS_PER_ADDRESS} SNAT ports) carries {agents_per_address} agents"
        )?;
        let plural = if addresses == 1 { "" } else { "es" };
        write!(f, "needed: {addresses} public IP address{plural} — natGateway.publicIpCount {addresses}")?;
        if let Some(length) = self.prefix_length() {
            write!(f, ", or publicIpPrefixLength {length} ({} addresses)", prefix_addresses(length))?;
        }
        write!(f, "; they carry up to {} agents", self.capacity(addresses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_counts_at_two_thousand_flows_each() {
        let sized = |agents| Sizing::for_agents(agents, FLOWS_PER_AGENT);
        assert_eq!(sized(10).unwrap().addresses, 1);
        assert_eq!(sized(10).unwrap().prefix_length(), None);
        assert_eq!(sized(32).unwrap().addresses, 1);
        assert_eq!(sized(33).unwrap().addresses, 2);
        let full = sized(512).unwrap();
        assert_eq!((full.agents_per_address, full.addresses, full.prefix_length()), (32, 16, Some(28)));
        assert_eq!(full.capacity(16), 512);
        for agents in [513, 8_000, 20_000] {
            let Err(NatError::TooMany { needed, most, .. }) = sized(agents) else { panic!("{agents} fit") };
            assert_eq!((needed, most), (agents.div_ceil(32), 512));
        }
        assert_eq!(sized(0).unwrap().addresses, 1, "a gateway has at least one address");
    }

    #[test]
    fn prefixes_are_the_smallest_that_hold_the_addresses() {
        let prefix = |addresses: u32| Sizing::for_agents(addresses * 32, FLOWS_PER_AGENT).unwrap().prefix_length();
        assert_eq!(
            [prefix(2), prefix(3), prefix(4), prefix(5), prefix(9), prefix(16)],
            [Some(31), Some(30), Some(30), Some(29), Some(28), Some(28)]
        );
        assert_eq!(PREFIX_LENGTHS.map(prefix_addresses).collect::<Vec<_>>(), [16, 8, 4, 2]);
    }

    #[test]
    fn fewer_flows_carry_more_agents_and_nonsense_flows_are_refused() {
        let light = Sizing::for_agents(8_000, 100).unwrap();
        assert_eq!((light.agents_per_address, light.addresses), (645, 13));
        assert_eq!(Sizing::for_agents(10, 0), Err(NatError::Flows(0)));
        assert_eq!(Sizing::for_agents(10, 70_000), Err(NatError::Flows(70_000)));
    }

    #[test]
    fn the_report_names_the_parameters_to_set() {
        let text = Sizing::for_agents(100, FLOWS_PER_AGENT).unwrap().to_string();
        assert_eq!(
            text,
            "100 agents × 2000 flows: one address (64512 SNAT ports) carries 32 agents\n\
             needed: 4 public IP addresses — natGateway.publicIpCount 4, or publicIpPrefixLength 30 (4 addresses); they carry up to 128 agents"
        );
        let error = Sizing::for_agents(513, FLOWS_PER_AGENT).unwrap_err().to_string();
        assert!(error.starts_with("513 agents at 2000 flows each need 17 public addresses, but a NAT gateway takes at most 16 (512 agents"), "{error}");
    }
}
