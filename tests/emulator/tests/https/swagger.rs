//! Response bodies checked against a swagger's definitions directly, for the operations oav 4.0.3 cannot
//! match in traffic (`Providers_List`, `Providers_Get`, `Providers_Register`, `Permissions_ListForResource`):
//! every member is defined (unless `additionalProperties` allows it), has the defined JSON type, and the
//! `required` members are present. Local `$ref`s are followed; closed enums are enforced.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::offer::RESOURCES_API;
use crate::roles::group;
use crate::support::{specs_dir, Harness, AUTHZ_API, GALLERY_API};

fn definition<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    spec["definitions"].get(reference.strip_prefix("#/definitions/")?)
}

/// The problems of `value` against `schema` (paths from `at`).
pub fn problems(spec: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(spec, schema, value, at, &mut out);
    out
}

fn check(spec: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        if let Some(target) = definition(spec, reference) {
            check(spec, target, value, at, out);
        }
        return;
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check(spec, part, value, at, out);
    }
    let ok = match schema["type"].as_str() {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !ok {
        out.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    let closed = schema["x-ms-enum"]["modelAsString"] == false;
    if let (Some(allowed), true) = (schema["enum"].as_array(), closed) {
        if !allowed.contains(value) {
            out.push(format!("{at}: {value} is not one of {}", Value::Array(allowed.clone())));
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(spec, &schema["items"], item, &format!("{at}[{i}]"), out);
        }
    }
    let Some(members) = value.as_object() else { return };
    for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !members.contains_key(required) {
            out.push(format!("{at}.{required}: required, missing"));
        }
    }
    let defined = schema["properties"].as_object();
    let described = defined.is_some() || !schema["allOf"].is_null();
    for (key, member) in members {
        let here = format!("{at}.{key}");
        match defined.and_then(|d| d.get(key)) {
            Some(property) => check(spec, property, member, &here, out),
            None if schema["additionalProperties"].is_object() => {
                check(spec, &schema["additionalProperties"], member, &here, out)
            }
            None if described && schema["additionalProperties"] != true && !in_all_of(spec, schema, key) => {
                out.push(format!("{here}: not defined"))
            }
            None => {}
        }
    }
}

fn in_all_of(spec: &Value, schema: &Value, key: &str) -> bool {
    schema["allOf"].as_array().into_iter().flatten().any(|part| {
        let part = part["$ref"].as_str().and_then(|r| definition(spec, r)).unwrap_or(part);
        part["properties"].get(key).is_some() || in_all_of(spec, part, key)
    })
}

fn spec(relative: &str) -> Value {
    let path = specs_dir().join("azure-rest-api-specs/specification").join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[tokio::test]
async fn offer_bodies_fit_the_swagger() {
    let resources = spec("resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json");
    let authorization =
        spec("authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json");
    let h = Harness::default().await;
    let rg = group(&h, "rg-swagger").await;
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/gal_swagger");
    let r = h.put(&format!("{gallery}?api-version={GALLERY_API}"), json!({"location": "westeurope"})).await;
    h.wait_async_operation(&r.header("azure-asyncoperation").unwrap()).await;
    let list = h.get(&h.sub(&format!("/providers?api-version={RESOURCES_API}"))).await;
    let one = h.get(&h.sub(&format!("/providers/Microsoft.Compute?api-version={RESOURCES_API}"))).await;
    let registered = h
        .call(Method::POST, &h.sub(&format!("/providers/Microsoft.Network/register?api-version={RESOURCES_API}")), None)
        .await;
    let permissions =
        h.get(&format!("{gallery}/providers/Microsoft.Authorization/permissions?api-version={AUTHZ_API}")).await;
    h.stop().await;
    let cases = [
        (&resources, "#/definitions/ProviderListResult", &list),
        (&resources, "#/definitions/Provider", &one),
        (&resources, "#/definitions/Provider", &registered),
        (&authorization, "#/definitions/PermissionGetResult", &permissions),
    ];
    for (spec, definition, reply) in cases {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let found = problems(spec, &json!({"$ref": definition}), &reply.body, "body");
        assert!(found.is_empty(), "{definition}: {found:?}");
    }

    // The check can fail: a misspelt member, a wrong type, a missing required member.
    let mut bad = one.body.clone();
    bad["registrationStat"] = json!("Registered");
    bad["resourceTypes"][0]["locations"] = json!("West Europe");
    let found = problems(&resources, &json!({"$ref": "#/definitions/Provider"}), &bad, "body");
    assert!(found.iter().any(|p| p.contains("registrationStat: not defined")), "{found:?}");
    assert!(found.iter().any(|p| p.contains("locations: \"West Europe\" is not of type")), "{found:?}");
    let usages = spec("compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/computeRPCommon.json");
    let found = problems(
        &usages,
        &json!({"$ref": "#/definitions/ListUsagesResult"}),
        &json!({"value": [{"unit": "Bytes"}]}),
        "body",
    );
    assert!(
        found.iter().any(|p| p.contains("limit: required"))
            && found.iter().any(|p| p.contains("\"Bytes\" is not one of")),
        "{found:?}"
    );
}
