//! `Microsoft.Resources/resourceGroups`.

use serde::{Deserialize, Serialize};

use super::kind::{self, Kind};
use super::Tags;

/// Azure RBAC names resource group writes after the subscription they lie in.
pub const WRITE_ACTION: &str = "Microsoft.Resources/subscriptions/resourceGroups/write";

pub static KIND: Kind = Kind {
    write_action: Some(WRITE_ACTION),
    ..kind::arm(
        "Microsoft.Resources/resourceGroups",
        "2024-07-01",
        "azure-rest-api-specs/specification/resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json",
        "resource group",
    )
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub location: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}
