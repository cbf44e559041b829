//! Comparing a desired request body with the resource Azure returns.
//!
//! Azure answers a GET with more than was sent (ids, read-only properties, defaults), in its own
//! casing for some values, and without write-only values. So the comparison asks one question:
//! does Azure already hold every value the desired body sets? Fields only Azure has are ignored;
//! a desired field Azure lacks or holds differently is a change.
//!
//! Caveats:
//! - Strings compare exactly, except resource ids (`/subscriptions/…`) and locations, which ARM
//!   treats case-insensitively (it returns `/resourcegroups/` and `West Europe` alike).
//! - Values still marked `<…: known after apply>` are unknown and never count as changes.
//! - Write-only fields (passwords) are never returned; callers list them in `ignore`.
//! - Arrays compare element by element in order; an array of another length is one change.

use serde_json::Value;

/// One field whose live value differs from the desired one.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// JSON pointer-like path, e.g. `properties.allowBlobPublicAccess`.
    pub path: String,
    /// `None` when Azure does not have the field.
    pub live: Option<Value>,
    pub desired: Value,
}

/// The fields of `desired` that `live` does not hold; empty when nothing would change.
///
/// `ignore` lists paths (as in [`FieldChange::path`]) never compared, e.g. write-only fields.
pub fn changes(desired: &Value, live: &Value, ignore: &[&str]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    compare(desired, Some(live), "", ignore, &mut out);
    out
}

fn compare(desired: &Value, live: Option<&Value>, path: &str, ignore: &[&str], out: &mut Vec<FieldChange>) {
    if ignore.contains(&path) || is_unknown(desired) {
        return;
    }
    match (desired, live) {
        (Value::Object(fields), Some(Value::Object(live_fields))) => {
            for (key, value) in fields {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                compare(
                    value,
                    live_fields.get(key).or_else(|| find_ignoring_case(live_fields, key)),
                    &child,
                    ignore,
                    out,
                );
            }
        }
        (Value::Array(items), Some(Value::Array(live_items))) if items.len() == live_items.len() => {
            for (index, (item, live_item)) in items.iter().zip(live_items).enumerate() {
                compare(item, Some(live_item), &format!("{path}[{index}]"), ignore, out);
            }
        }
        (Value::String(a), Some(Value::String(b))) if strings_match(path, a, b) => {}
        (Value::Number(a), Some(Value::Number(b))) if a.as_f64() == b.as_f64() => {}
        (a, Some(b)) if a == b => {}
        // An empty desired object or list equals an absent one: ARM omits empty tags, for one.
        (Value::Object(fields), None) if fields.is_empty() => {}
        (Value::Array(items), None) if items.is_empty() => {}
        _ => out.push(FieldChange { path: path.to_owned(), live: live.cloned(), desired: desired.clone() }),
    }
}

/// ARM returns some keys in another case than sent (`userAssignedIdentities` keys are resource ids).
fn find_ignoring_case<'a>(fields: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    if !key.starts_with("/subscriptions/") {
        return None;
    }
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn strings_match(path: &str, desired: &str, live: &str) -> bool {
    if desired == live {
        return true;
    }
    let is_location =
        path == "location" || path.ends_with(".location") || path.ends_with("].name") && path.contains("targetRegions");
    if is_location {
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
        return squash(desired) == squash(live);
    }
    desired.starts_with("/subscriptions/") && desired.eq_ignore_ascii_case(live)
}

/// `<…: known after apply>` placeholders of an offline plan.
pub fn is_unknown(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with('<') && s.ends_with(": known after apply>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_only_azure_has_are_ignored() {
        let desired = json!({"location": "westeurope", "tags": {"env": "sbx"}});
        let live = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
            "name": "id", "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "location": "westeurope", "tags": {"env": "sbx"},
            "properties": {"tenantId": "t", "principalId": "p", "clientId": "c"}
        });
        assert!(changes(&desired, &live, &[]).is_empty());
    }

    #[test]
    fn a_changed_setting_is_reported_with_both_values() {
        let desired = json!({"properties": {"allowBlobPublicAccess": false, "minimumTlsVersion": "TLS1_2"}});
        let live = json!({"properties": {"allowBlobPublicAccess": true, "minimumTlsVersion": "TLS1_2"}});
        assert_eq!(
            changes(&desired, &live, &[]),
            vec![FieldChange {
                path: "properties.allowBlobPublicAccess".into(),
                live: Some(json!(true)),
                desired: json!(false)
            }]
        );
    }

    #[test]
    fn ids_and_locations_compare_as_arm_does() {
        let desired = json!({"location": "westeurope", "properties": {"subnet": {"id": "/subscriptions/s/resourceGroups/RG/providers/x/y"}}});
        let live = json!({"location": "West Europe", "properties": {"subnet": {"id": "/subscriptions/s/resourcegroups/rg/providers/x/y"}}});
        assert!(changes(&desired, &live, &[]).is_empty());
        let other = json!({"location": "northeurope", "properties": {"subnet": {"id": "/subscriptions/s/resourcegroups/rg/providers/x/y"}}});
        assert_eq!(changes(&desired, &other, &[]).len(), 1);
    }

    #[test]
    fn unknown_and_write_only_values_never_count() {
        let desired = json!({"properties": {"principalId": "<principalId of identity id: known after apply>", "osProfile": {"adminPassword": "secret"}}});
        let live = json!({"properties": {"principalId": "1f0e…", "osProfile": {}}});
        assert!(changes(&desired, &live, &["properties.osProfile.adminPassword"]).is_empty());
    }

    #[test]
    fn missing_fields_and_other_lengths_are_changes() {
        let desired =
            json!({"properties": {"features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}]}});
        assert_eq!(changes(&desired, &json!({"properties": {}}), &[]).len(), 1);
        assert_eq!(changes(&desired, &json!({"properties": {"features": []}}), &[]).len(), 1);
        assert!(changes(&json!({"tags": {}}), &json!({}), &[]).is_empty());
    }
}
