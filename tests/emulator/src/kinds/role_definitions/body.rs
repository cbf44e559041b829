//! The body of a custom role PUT: `{"properties": {roleName, description?, type?, permissions[], assignableScopes[]}}`
//! (the swagger's `RoleDefinition`; read-only `id`, `name`, `type` are ignored when sent).

use serde_json::Value;

use super::RoleDefinitionError;
use crate::arm::error::ArmError;
use crate::arm::validate::{check, JsonType, Rule};
use crate::authz::permission::{check_operation, Permission};

const RULES: &[Rule] = &[
    Rule::Required("properties"),
    Rule::Required("properties.roleName"),
    Rule::Type("properties.roleName", JsonType::String),
    Rule::Type("properties.description", JsonType::String),
    Rule::Enum("properties.type", &["CustomRole"]),
    Rule::Required("properties.permissions"),
    Rule::Type("properties.permissions", JsonType::Array),
    Rule::Type("properties.permissions[]", JsonType::Object),
    Rule::Type("properties.permissions[].actions", JsonType::Array),
    Rule::Type("properties.permissions[].notActions", JsonType::Array),
    Rule::Type("properties.permissions[].dataActions", JsonType::Array),
    Rule::Type("properties.permissions[].notDataActions", JsonType::Array),
    Rule::Required("properties.assignableScopes"),
    Rule::Type("properties.assignableScopes", JsonType::Array),
];

/// A custom role as a PUT describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomRoleSpec {
    pub role_name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
    /// As sent, without a trailing `/`.
    pub assignable_scopes: Vec<String>,
}

fn invalid(message: String, target: &str) -> ArmError {
    ArmError::InvalidRequestContent { message, target: Some(target.to_string()) }
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, ArmError> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_string).ok_or_else(|| invalid(format!("'{at}[{i}]' must be a string, not {v}."), at))
        })
        .collect()
}

/// Checks a PUT body; the first problem is the error.
pub fn parse(mut body: Value) -> Result<CustomRoleSpec, ArmError> {
    check(&mut body, RULES)?;
    let props = &body["properties"];
    let role_name = props["roleName"].as_str().unwrap_or_default().trim().to_string();
    if role_name.is_empty() {
        return Err(invalid("'properties.roleName' must not be empty.".into(), "properties.roleName"));
    }
    let mut permissions = Vec::new();
    for (i, block) in props["permissions"].as_array().into_iter().flatten().enumerate() {
        let at = |key: &str| format!("properties.permissions[{i}].{key}");
        for key in ["actions", "notActions", "dataActions", "notDataActions"] {
            for operation in strings(&block[key], &at(key))? {
                check_operation(&operation).map_err(RoleDefinitionError::from)?;
            }
        }
        permissions.push(Permission::from_json(block));
    }
    let assignable_scopes: Vec<String> = strings(&props["assignableScopes"], "properties.assignableScopes")?
        .into_iter()
        .map(|s| if s.len() > 1 { s.trim_end_matches('/').to_string() } else { s })
        .collect();
    if assignable_scopes.is_empty() {
        return Err(invalid(
            "'properties.assignableScopes' must name at least one scope.".into(),
            "properties.assignableScopes",
        ));
    }
    Ok(CustomRoleSpec {
        role_name,
        description: props["description"].as_str().map(str::to_string),
        permissions,
        assignable_scopes,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(actions: Value, scopes: Value) -> Value {
        json!({"properties": {"roleName": "agentpool image builder rg-img", "description": "d", "type": "customrole",
            "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
            "assignableScopes": scopes}})
    }

    #[test]
    fn accepts_agentpools_role() {
        let spec = parse(body(
            json!(["Microsoft.Compute/galleries/read", "Microsoft.Compute/galleries/images/versions/write"]),
            json!(["/subscriptions/s/resourceGroups/rg-img/"]),
        ))
        .unwrap();
        assert_eq!(spec.role_name, "agentpool image builder rg-img");
        assert_eq!(spec.assignable_scopes, ["/subscriptions/s/resourceGroups/rg-img"]);
        assert_eq!(spec.permissions[0].actions.len(), 2);
    }

    #[test]
    fn refuses_what_arm_refuses() {
        let code = |b: Value| parse(b).unwrap_err().code();
        assert_eq!(
            code(body(json!(["Microsoft.Compute/galeries read"]), json!(["/subscriptions/s"]))),
            "InvalidActionOrNotAction"
        );
        assert_eq!(code(body(json!([5]), json!(["/subscriptions/s"]))), "InvalidRequestContent");
        assert_eq!(code(body(json!(["*/read"]), json!([]))), "InvalidRequestContent");
        assert_eq!(code(json!({"properties": {"roleName": "x", "permissions": []}})), "MissingRequiredProperty");
        let mut built_in = body(json!(["*/read"]), json!(["/subscriptions/s"]));
        built_in["properties"]["type"] = json!("BuiltInRole");
        assert_eq!(code(built_in), "InvalidRequestContent");
        let mut unnamed = body(json!(["*/read"]), json!(["/subscriptions/s"]));
        unnamed["properties"]["roleName"] = json!(" ");
        assert_eq!(code(unnamed), "InvalidRequestContent");
    }
}
