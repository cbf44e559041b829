//! One permission block of a role definition (`actions`, `notActions`, `dataActions`, `notDataActions`) and
//! how Azure RBAC matches operations against it.
//!
//! Rules, as "Understand Azure role definitions" (learn.microsoft.com/azure/role-based-access-control/
//! role-definitions) states them: an operation string is `{Company}.{ProviderName}/{resourceType}/{action}`;
//! `*` is a wildcard for any characters (`*`, `Microsoft.Compute/*`, `*/read`, `Microsoft.Authorization/*/Write`);
//! matching ignores case; `notActions` (`notDataActions`) are subtracted from the `actions` (`dataActions`)
//! of the same block only, and a principal's effective permissions are the union over all its blocks.
//! Control-plane actions and data actions are separate: `*` in `actions` grants no data action.
//!
//! Caveat: role assignment conditions (ABAC) are not evaluated.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// An operation to authorize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation<'a> {
    /// A control-plane action (`Microsoft.Compute/galleries/images/versions/write`).
    Action(&'a str),
    /// A data action (`Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`).
    DataAction(&'a str),
}

impl Operation<'_> {
    /// The operation string.
    pub fn name(&self) -> &str {
        match self {
            Operation::Action(a) | Operation::DataAction(a) => a,
        }
    }
}

/// One permission block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

impl Permission {
    /// A block from static lists (the built-in roles' table).
    pub fn of(actions: &[&str], not_actions: &[&str], data_actions: &[&str], not_data_actions: &[&str]) -> Self {
        let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Permission {
            actions: owned(actions),
            not_actions: owned(not_actions),
            data_actions: owned(data_actions),
            not_data_actions: owned(not_data_actions),
        }
    }

    /// The block of a role definition's JSON `permissions[]` entry (missing lists are empty).
    pub fn from_json(value: &Value) -> Self {
        let list = |key: &str| -> Vec<String> {
            value[key].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
        };
        Permission {
            actions: list("actions"),
            not_actions: list("notActions"),
            data_actions: list("dataActions"),
            not_data_actions: list("notDataActions"),
        }
    }

    /// The block as the role definitions and permissions APIs show it.
    pub fn to_json(&self) -> Value {
        json!({
            "actions": self.actions,
            "notActions": self.not_actions,
            "dataActions": self.data_actions,
            "notDataActions": self.not_data_actions,
        })
    }

    /// Whether this block grants `operation`: one of its (data) actions matches and none of its not(data)
    /// actions does.
    pub fn allows(&self, operation: Operation<'_>) -> bool {
        let (grants, denies) = match operation {
            Operation::Action(_) => (&self.actions, &self.not_actions),
            Operation::DataAction(_) => (&self.data_actions, &self.not_data_actions),
        };
        let name = operation.name();
        grants.iter().any(|p| matches(p, name)) && !denies.iter().any(|p| matches(p, name))
    }
}

/// Whether any block grants `operation` (the union over blocks).
pub fn any_allows(blocks: &[Permission], operation: Operation<'_>) -> bool {
    blocks.iter().any(|b| b.allows(operation))
}

/// Whether the operation string `name` matches `pattern`, where `*` stands for any characters (slashes
/// included), ignoring ASCII case. A `*` between two slashes also stands for no segment at all: Managed
/// Identity Operator's `Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action` is what lets it
/// perform `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action` (the role's whole purpose).
pub fn matches(pattern: &str, name: &str) -> bool {
    glob(pattern.to_ascii_lowercase().as_bytes(), name.to_ascii_lowercase().as_bytes(), false)
}

/// `after_slash`: the pattern byte before `pattern` was a `/`.
fn glob(pattern: &[u8], name: &[u8], after_slash: bool) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => {
            let empty_segment = after_slash && rest.first() == Some(&b'/') && glob(&rest[1..], name, true);
            empty_segment || (0..=name.len()).any(|i| glob(rest, &name[i..], false))
        }
        Some((c, rest)) => name.first() == Some(c) && glob(rest, &name[1..], *c == b'/'),
    }
}

/// Why an operation string cannot be part of a role definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' does not match any of the actions supported by the providers.")]
pub struct InvalidOperation(pub String);

/// Checks the shape of an operation string of a custom role: `*`, or `{Namespace}/...` whose segments are
/// non-empty and made of letters, digits, `.`, `-`, `_` and `*`, the namespace having a dot
/// (`Microsoft.Compute`) or being `*`. The message is ARM's `InvalidActionOrNotAction` wording.
///
/// Caveat: Azure also checks each operation against the providers' operation catalog; the emulator only
/// checks the shape, so a misspelt resource type passes here.
pub fn check_operation(name: &str) -> Result<(), InvalidOperation> {
    let segments: Vec<&str> = name.split('/').collect();
    let segment_ok = |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_*".contains(c));
    let namespace_ok = segments.first().is_some_and(|ns| *ns == "*" || (ns.contains('.') && !ns.starts_with('.')));
    let ok = name == "*" || (segments.len() >= 2 && namespace_ok && segments.iter().all(segment_ok));
    if ok {
        Ok(())
    } else {
        Err(InvalidOperation(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_as_rbac_reads_them() {
        assert!(matches("*", "Microsoft.Compute/galleries/write"));
        assert!(matches("Microsoft.Compute/*", "microsoft.compute/galleries/images/versions/write"));
        assert!(matches("*/read", "Microsoft.Storage/storageAccounts/read"));
        assert!(!matches("*/read", "Microsoft.Storage/storageAccounts/write"));
        assert!(matches("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write"));
        assert!(!matches("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read"));
        assert!(matches(
            "Microsoft.Compute/galleries/images/versions/write",
            "MICROSOFT.COMPUTE/GALLERIES/IMAGES/VERSIONS/WRITE"
        ));
        assert!(!matches("Microsoft.Compute/galleries/read", "Microsoft.Compute/galleries/readx"));
        assert!(matches("Microsoft.Compute/*/read", "Microsoft.Compute/read"), "an empty segment");
        assert!(!matches("Microsoft.Compute/*/read", "Microsoft.Computex/read"));
        assert!(matches("a*b*c", "a-x-b-y-c") && !matches("a*b*c", "a-x-c"));
    }

    #[test]
    fn not_actions_subtract_within_their_block_only() {
        let contributor = Permission::of(&["*"], &["Microsoft.Authorization/*/Write"], &[], &[]);
        let write = Operation::Action("Microsoft.Authorization/roleAssignments/write");
        assert!(!contributor.allows(write));
        assert!(contributor.allows(Operation::Action("Microsoft.Compute/galleries/write")));
        let assigner = Permission::of(&["Microsoft.Authorization/roleAssignments/write"], &[], &[], &[]);
        assert!(any_allows(&[contributor.clone(), assigner], write), "another block grants it");
        assert!(
            !contributor
                .allows(Operation::DataAction("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")),
            "'*' in actions grants no data action"
        );
        let reader = Permission::of(&[], &[], &["Microsoft.Storage/*"], &["Microsoft.Storage/*/delete"]);
        assert!(reader
            .allows(Operation::DataAction("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")));
        assert!(!reader
            .allows(Operation::DataAction("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete")));
    }

    #[test]
    fn json_round_trip_and_operation_shapes() {
        let block = Permission::from_json(&json!({"actions": ["*/read"], "notDataActions": ["x/y"]}));
        assert_eq!(
            block.to_json(),
            json!({"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": ["x/y"]})
        );
        for good in [
            "*",
            "*/read",
            "Microsoft.Compute/galleries/images/versions/write",
            "Microsoft.Network/virtualNetworks/subnets/join/action",
            "Microsoft.Support/*",
        ] {
            assert_eq!(check_operation(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "read",
            "Microsoft.Compute",
            "Microsoft.Compute//read",
            "Compute/galleries/read",
            "Microsoft.Compute/gal leries/read",
        ] {
            assert!(check_operation(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_operation("x").unwrap_err().to_string(),
            "'x' does not match any of the actions supported by the providers."
        );
    }
}
