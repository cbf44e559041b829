//! The start-time knobs of the subscription's offer: unregistered providers, regions, Image Builder's
//! regions, quotas and VM sizes taken away (so that tests can make a pre-flight check fail).

use super::catalog;

/// `--quota <name>=<limit>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// A usage name (`standardDSv5Family`, `cores`, …), as given.
    pub name: String,
    pub limit: i64,
}

impl Quota {
    /// `<name>=<limit>` with a non-negative limit.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (name, limit) = s.split_once('=').ok_or_else(|| format!("{s:?} is not <name>=<limit>"))?;
        let limit: i64 = limit.trim().parse().map_err(|e| format!("{s:?}: the limit is not a number ({e})"))?;
        let name = name.trim();
        if name.is_empty() || limit < 0 {
            return Err(format!("{s:?}: give a usage name (e.g. standardDSv5Family or cores) and a limit ≥ 0"));
        }
        Ok(Quota { name: name.to_string(), limit })
    }
}

/// A provider namespace that may be unregistered (not `Microsoft.Authorization` or `Microsoft.Resources`,
/// which are registration-free).
pub fn parse_unregistered(s: &str) -> Result<String, String> {
    match catalog::namespace(s.trim()) {
        Some(ns) if ns.policy == catalog::Policy::Free => Err(format!("{} is always registered", ns.name)),
        Some(ns) => Ok(ns.name.to_string()),
        None => {
            let names: Vec<&str> = catalog::NAMESPACES.iter().map(|n| n.name).collect();
            Err(format!("unknown namespace {s:?}; use one of {}", names.join(", ")))
        }
    }
}

/// A region name, normalized (`West Europe` → `westeurope`).
pub fn parse_location(s: &str) -> Result<String, String> {
    let name: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{s:?} is not a region name"));
    }
    Ok(name)
}

/// A VM size of the emulator's table (its canonical casing).
pub fn parse_vm_size(s: &str) -> Result<String, String> {
    catalog::vm_size(s.trim()).map(|v| v.name.to_string()).ok_or_else(|| {
        let names: Vec<&str> = catalog::VM_SIZES.iter().map(|v| v.name).collect();
        format!("unknown VM size {s:?}; the emulator offers {}", names.join(", "))
    })
}

fn default_locations() -> Vec<String> {
    catalog::REGIONS.iter().map(|r| r.name.to_string()).collect()
}

fn default_image_builder_locations() -> Vec<String> {
    catalog::IMAGE_BUILDER_REGIONS.iter().map(|r| r.to_string()).collect()
}

/// What the subscription offers.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct OfferSettings {
    /// A resource provider namespace that is not registered in the subscription (repeatable): writes to it
    /// answer 409 MissingSubscriptionRegistration until `POST …/providers/{namespace}/register`.
    #[arg(long = "unregistered-provider", value_name = "NAMESPACE", value_parser = parse_unregistered)]
    pub unregistered_providers: Vec<String>,

    /// The regions resource types are offered in (comma-separated or repeated; default: the public regions the
    /// emulator knows).
    #[arg(long = "locations", value_name = "REGION", value_delimiter = ',', value_parser = parse_location,
          default_values_t = default_locations())]
    pub locations: Vec<String>,

    /// The regions where Microsoft.VirtualMachineImages/imageTemplates is offered (comma-separated or repeated;
    /// default: the regions Microsoft documents for Azure VM Image Builder).
    #[arg(long = "image-builder-locations", value_name = "REGION", value_delimiter = ',',
          value_parser = parse_location, default_values_t = default_image_builder_locations())]
    pub image_builder_locations: Vec<String>,

    /// The limit of a compute usage in every region, `<name>=<limit>` (repeatable; the last wins), e.g.
    /// `standardDSv5Family=4` or `cores=10`. Default: 100 vCPUs per family, 200 regional vCPUs.
    #[arg(long = "quota", value_name = "NAME=LIMIT", value_parser = Quota::parse)]
    pub quotas: Vec<Quota>,

    /// A VM size not offered in any region (repeatable).
    #[arg(long = "unavailable-vm-size", value_name = "SIZE", value_parser = parse_vm_size)]
    pub unavailable_vm_sizes: Vec<String>,
}

impl OfferSettings {
    /// Whether `namespace` starts unregistered.
    pub fn starts_unregistered(&self, namespace: &str) -> bool {
        self.unregistered_providers.iter().any(|n| n.eq_ignore_ascii_case(namespace))
    }

    /// The limit of usage `name` (the last `--quota` given, else `default`).
    pub fn limit_of(&self, name: &str, default: i64) -> i64 {
        self.quotas.iter().rev().find(|q| q.name.eq_ignore_ascii_case(name)).map_or(default, |q| q.limit)
    }

    /// Whether `location` is one of `--locations`.
    pub fn offers_location(&self, location: &str) -> bool {
        self.locations.iter().any(|l| l.eq_ignore_ascii_case(location))
    }

    /// The sizes offered.
    pub fn vm_sizes(&self) -> impl Iterator<Item = &'static catalog::VmSize> + '_ {
        catalog::VM_SIZES.iter().filter(|s| !self.unavailable_vm_sizes.iter().any(|u| u.eq_ignore_ascii_case(s.name)))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        offer: OfferSettings,
    }

    #[test]
    fn defaults_and_flags() {
        let c = Cli::parse_from(["x"]).offer;
        assert!(c.locations.contains(&"westeurope".to_string()) && c.locations.len() == catalog::REGIONS.len());
        assert_eq!(c.image_builder_locations.len(), catalog::IMAGE_BUILDER_REGIONS.len());
        assert_eq!(c.limit_of("standardDSv5Family", 100), 100);
        assert_eq!(c.vm_sizes().count(), catalog::VM_SIZES.len());
        let c = Cli::parse_from([
            "x",
            "--unregistered-provider",
            "microsoft.virtualmachineimages",
            "--locations",
            "westeurope,North Europe",
            "--image-builder-locations",
            "westeurope",
            "--quota",
            "standardDSv5Family=4",
            "--quota",
            "standarddsv5family=6",
            "--unavailable-vm-size",
            "standard_d2s_v5",
        ])
        .offer;
        assert!(c.starts_unregistered("Microsoft.VirtualMachineImages"));
        assert_eq!(c.locations, ["westeurope", "northeurope"]);
        assert!(c.offers_location("NorthEurope") && !c.offers_location("eastus"));
        assert_eq!(c.limit_of("standardDSv5Family", 100), 6, "the last one wins");
        assert!(c.vm_sizes().all(|s| s.name != "Standard_D2s_v5"));
        for (flag, bad) in [
            ("--unregistered-provider", "Microsoft.Authorization"),
            ("--unregistered-provider", "Microsoft.Nope"),
            ("--quota", "cores"),
            ("--quota", "cores=-1"),
            ("--unavailable-vm-size", "Standard_Z99"),
            ("--locations", "west/europe"),
        ] {
            let err = Cli::try_parse_from(["x", flag, bad]).unwrap_err().to_string();
            assert!(err.contains(flag), "{flag} {bad}: {err}");
        }
    }
}
