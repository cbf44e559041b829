//! A patched copy of an Azure DevOps swagger that oav can validate real traffic against.
//!
//! The vsts-rest-api-specs swaggers declare list responses as bare arrays, but Azure DevOps answers every
//! list as `{"count": N, "value": [...]}`. [`write_patched_swagger`] applies exactly the transformation of
//! microsoft/azure-devops-rust-api's `vsts-api-patcher` (`Patcher::patch_response_schema` in
//! `vsts-api-patcher/src/patcher.rs`): every response `schema` under `paths` / `x-ms-paths` that is an
//! array of a `$ref` becomes `{"$ref": "#/definitions/<Name>List"}`, and a definition
//! `<Name>List = {description: "", type: object, properties: {count: integer int32, value: array of the
//! $ref}}` is added. Arrays of inline types are left as they are (the patcher leaves them too). Nothing
//! else changes; the copy is written without the original's UTF-8 BOM.
//!
//! The copy keeps the last two folders of the original path (`distributedTask/7.1/elastic.json`), so the
//! api-version folder oav reads the version from is still in its path.
//!
//! [`write_oav_swagger`] adds one more step, for oav only: `taskAgent.json` and `serviceEndpoint.json` declare
//! overloads as `x-ms-paths` keys ending in a bare `?` (`/{organization}/_apis/distributedtask/pools?`,
//! `…/queues?`, `…/serviceendpoint/endpoints?`); oav 4.0.3 compiles their empty query part into a schema with
//! `"required": []`, which its JSON schema validator rejects ("data.required should NOT have fewer than 1
//! items"), and then ignores the whole file. Those overloads are the plain ones (`GET …/pools?poolName=`),
//! while `paths` holds, under the same path, the overload keyed by a required query parameter (`…/pools`
//! with `poolIds`). [`promote_bare_query_paths`] swaps them into a form oav loads and matches: the plain
//! overload into `paths`, the keyed one into `x-ms-paths` under `{path}?{key}={{key}}`, as the other keyed
//! overloads of these files are written already. Every operation keeps its definition. Caveat: oav then
//! validates a request that carries an overload's key (`?poolIds=`) against the plain operation of the
//! path (the same answer schema), not the keyed one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// Errors making the patched copy.
#[derive(Debug, thiserror::Error)]
pub enum SwaggerPatchError {
    #[error("cannot read swagger {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("swagger {path} is not JSON: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{0} is not a swagger (no paths object)")]
    NotASwagger(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Applies the list-wrapping patch to a parsed swagger; returns how many responses it changed.
pub fn patch_list_responses(swagger: &mut Value) -> usize {
    let mut added: BTreeMap<String, Value> = BTreeMap::new();
    let mut changed = 0;
    for section in ["paths", "x-ms-paths"] {
        let Some(paths) = swagger.get_mut(section).and_then(Value::as_object_mut) else { continue };
        for operations in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in operations.values_mut().filter_map(Value::as_object_mut) {
                let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
                for response in responses.values_mut().filter_map(Value::as_object_mut) {
                    let Some(schema) = response.get_mut("schema") else { continue };
                    if let Some((name, definition)) = wrapped(schema) {
                        *schema = json!({ "$ref": format!("#/definitions/{name}") });
                        added.insert(name, definition);
                        changed += 1;
                    }
                }
            }
        }
    }
    if !added.is_empty() {
        if !swagger.get("definitions").is_some_and(Value::is_object) {
            swagger["definitions"] = Value::Object(Map::new());
        }
        if let Some(definitions) = swagger["definitions"].as_object_mut() {
            definitions.extend(added);
        }
    }
    changed
}

/// `(<Name>List, its definition)` for an array-of-`$ref` schema.
fn wrapped(schema: &Value) -> Option<(String, Value)> {
    if schema.get("type").and_then(Value::as_str) != Some("array") {
        return None;
    }
    let reference = schema.pointer("/items/$ref").and_then(Value::as_str)?;
    let name = reference.rsplit('/').next()?;
    let definition = json!({
        "description": "",
        "type": "object",
        "properties": {
            "count": { "type": "integer", "format": "int32" },
            "value": { "type": "array", "items": { "$ref": reference } }
        }
    });
    Some((format!("{name}List"), definition))
}

/// Moves each `x-ms-paths` overload whose key ends in a bare `?` into `paths`, and the keyed overload it
/// displaces from there into `x-ms-paths` under `{path}?{key}={{key}}` (see the module doc); returns the bare
/// keys. An operation of `paths` with no required query parameter is dropped instead of displaced.
pub fn promote_bare_query_paths(swagger: &mut Value) -> Vec<String> {
    let Some(overloads) = swagger.get("x-ms-paths").and_then(Value::as_object).cloned() else { return Vec::new() };
    let bare: Vec<String> = overloads.keys().filter(|k| k.ends_with('?')).cloned().collect();
    for key in &bare {
        let path = key.trim_end_matches('?');
        let Some(plain) = overloads.get(key).and_then(Value::as_object) else { continue };
        for (method, operation) in plain {
            let displaced = swagger["paths"][path].get(method).cloned();
            if let Some(keyed) = displaced {
                if let Some(required) = required_query_parameter(swagger, &keyed) {
                    let keyed_path = format!("{path}?{required}={{{required}}}");
                    swagger["x-ms-paths"][&keyed_path][method] = keyed;
                }
            }
            swagger["paths"][path][method] = operation.clone();
        }
        if let Some(paths) = swagger.get_mut("x-ms-paths").and_then(Value::as_object_mut) {
            paths.remove(key);
        }
    }
    bare
}

/// The first required query parameter of `operation` other than the api-version, resolving
/// `#/parameters/…` references.
fn required_query_parameter(swagger: &Value, operation: &Value) -> Option<String> {
    operation["parameters"].as_array()?.iter().find_map(|parameter| {
        let resolved = match parameter["$ref"].as_str().and_then(|r| r.strip_prefix("#/parameters/")) {
            Some(name) => &swagger["parameters"][name],
            None => parameter,
        };
        let name = resolved["name"].as_str()?;
        (resolved["in"] == "query" && resolved["required"] == true && name != "api-version").then(|| name.to_owned())
    })
}

/// Writes the patched copy of `spec` into `out_dir/<area>/<version>/<file>` and returns its path.
pub fn write_patched_swagger(spec: &Path, out_dir: &Path) -> Result<PathBuf, SwaggerPatchError> {
    write(spec, out_dir, false)
}

/// [`write_patched_swagger`], then [`promote_bare_query_paths`]: a copy oav 4.0.3 loads and matches.
pub fn write_oav_swagger(spec: &Path, out_dir: &Path) -> Result<PathBuf, SwaggerPatchError> {
    write(spec, out_dir, true)
}

fn write(spec: &Path, out_dir: &Path, for_oav: bool) -> Result<PathBuf, SwaggerPatchError> {
    let bytes = std::fs::read(spec).map_err(|source| SwaggerPatchError::Read { path: spec.to_path_buf(), source })?;
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut swagger: Value =
        serde_json::from_slice(text).map_err(|source| SwaggerPatchError::Parse { path: spec.to_path_buf(), source })?;
    if !swagger.get("paths").is_some_and(Value::is_object) {
        return Err(SwaggerPatchError::NotASwagger(spec.to_path_buf()));
    }
    patch_list_responses(&mut swagger);
    if for_oav {
        promote_bare_query_paths(&mut swagger);
    }
    let tail: Vec<_> = spec.components().rev().take(3).collect();
    let target = tail.into_iter().rev().fold(out_dir.to_path_buf(), |path, c| path.join(c));
    let write = |path: &Path, source| SwaggerPatchError::Write { path: path.to_path_buf(), source };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| write(parent, e))?;
    }
    let text = serde_json::to_string_pretty(&swagger).unwrap_or_default();
    std::fs::write(&target, text).map_err(|e| write(&target, e))?;
    Ok(target)
}

/// The host Azure DevOps exchanges are recorded under.
pub const RECORDED_HOST: &str = "https://dev.azure.com";

/// A recorded Azure DevOps exchange as oav 4.0.3 can match it to its operation: the `//` that
/// `azure_devops_rust_api` puts after the host collapsed, and the api-version in the query as
/// `{major}.{minor}` (from the query, `7.1-preview` → `7.1`, or, when absent, from `Accept`).
/// oav matches by path and the exact `api-version` query value and skips what matches nothing:
/// the exchange as sent would not be validated at all.
pub fn normalize_for_oav(exchange: &mut Value) {
    let request = &mut exchange["liveRequest"];
    let url = request["url"].as_str().unwrap_or_default().to_string();
    let (origin, rest) = url.split_at(RECORDED_HOST.len().min(url.len()));
    let rest = format!("/{}", rest.trim_start_matches('/'));
    let (path, query) = rest.split_once('?').unwrap_or((&rest, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let from_accept = request["headers"]["accept"]
        .as_str()
        .and_then(|a| a.split(';').find_map(|p| p.trim().strip_prefix("api-version=").map(str::to_string)));
    let released = |v: &str| v.split('-').next().unwrap_or(v).to_string();
    match pairs.iter_mut().find(|(k, _)| k == "api-version") {
        Some((_, v)) => *v = released(v),
        None => pairs.push(("api-version".into(), released(&from_accept.unwrap_or_default()))),
    }
    let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    request["url"] = Value::String(format!("{origin}{path}?{query}"));
}

/// Properties Azure DevOps writes as joined flags (`"enabled, online"`, `"elasticPool, singleUseAgents"`):
/// a node's `ElasticAgentState`, a pool's `TaskAgentPoolOptions`.
pub const FLAGS_PROPERTIES: &[&str] = &["agentState", "options"];

/// The swaggers' enums of [`FLAGS_PROPERTIES`] list single values, which joined flags do not match: each
/// joined value of those properties in the answer, at any depth, is replaced by its first flag, for oav.
/// Returns how many.
pub fn split_joined_flags(exchange: &mut Value) -> usize {
    fn walk(value: &mut Value, replaced: &mut usize) {
        match value {
            Value::Object(fields) => {
                for (key, child) in fields.iter_mut() {
                    let first = child.as_str().filter(|s| s.contains(", ")).and_then(|s| s.split(", ").next());
                    match first.filter(|_| FLAGS_PROPERTIES.contains(&key.as_str())) {
                        Some(first) => {
                            *child = Value::String(first.to_owned());
                            *replaced += 1;
                        }
                        None => walk(child, replaced),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, replaced)),
            _ => {}
        }
    }
    let mut replaced = 0;
    walk(&mut exchange["liveResponse"]["body"], &mut replaced);
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swagger() -> Value {
        json!({
            "swagger": "2.0",
            "paths": {
                "/{organization}/_apis/distributedtask/elasticpools": {
                    "get": {"responses": {"200": {"schema": {"type": "array", "items": {"$ref": "#/definitions/ElasticPool"}}}}},
                    "post": {"responses": {"200": {"schema": {"$ref": "#/definitions/ElasticPoolCreationResult"}}}}
                },
                "/{organization}/_apis/x": {
                    "get": {"responses": {"200": {"schema": {"type": "array", "items": {"type": "string"}}}}}
                }
            },
            "definitions": {"ElasticPool": {"type": "object"}}
        })
    }

    #[test]
    fn wraps_arrays_of_refs_only() {
        let mut s = swagger();
        assert_eq!(patch_list_responses(&mut s), 1);
        let list =
            &s["paths"]["/{organization}/_apis/distributedtask/elasticpools"]["get"]["responses"]["200"]["schema"];
        assert_eq!(list, &json!({"$ref": "#/definitions/ElasticPoolList"}));
        assert_eq!(
            s["definitions"]["ElasticPoolList"]["properties"]["value"]["items"]["$ref"],
            "#/definitions/ElasticPool"
        );
        assert_eq!(
            s["definitions"]["ElasticPoolList"]["properties"]["count"],
            json!({"type": "integer", "format": "int32"})
        );
        assert_eq!(s["paths"]["/{organization}/_apis/x"]["get"]["responses"]["200"]["schema"]["type"], "array");
    }

    #[test]
    fn bare_query_overloads_take_their_path_and_the_keyed_ones_move_to_x_ms_paths() {
        let pools = "/{organization}/_apis/distributedtask/pools";
        let mut s = json!({
            "parameters": {"api-Version": {"in": "query", "name": "api-version", "required": true, "type": "string"}},
            "paths": {pools: {"get": {"operationId": "Pools_Get Agent Pools By Ids", "parameters": [
                {"$ref": "#/parameters/api-Version"},
                {"in": "query", "name": "poolIds", "required": true, "type": "string"}
            ]}}},
            "x-ms-paths": {
                format!("{pools}?"): {"get": {"operationId": "Pools_Get Agent Pools", "parameters": [
                    {"in": "query", "name": "poolName", "required": false, "type": "string"}
                ]}},
                "/{organization}/x?queueIds={queueIds}": {}
            }
        });
        assert_eq!(promote_bare_query_paths(&mut s), [format!("{pools}?")]);
        assert_eq!(s["paths"][pools]["get"]["operationId"], "Pools_Get Agent Pools");
        assert_eq!(
            s["x-ms-paths"][format!("{pools}?poolIds={{poolIds}}")]["get"]["operationId"],
            "Pools_Get Agent Pools By Ids"
        );
        assert!(s["x-ms-paths"].get(format!("{pools}?")).is_none());
        assert_eq!(s["x-ms-paths"].as_object().unwrap().len(), 2);
        assert!(promote_bare_query_paths(&mut json!({"paths": {}})).is_empty());
    }

    #[test]
    fn writes_beside_its_version_folder() {
        let dir = std::env::temp_dir().join(format!("agentpool-swagger-patch-{}", uuid::Uuid::new_v4()));
        let spec = dir.join("in/specification/distributedTask/7.1/elastic.json");
        std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(serde_json::to_vec(&swagger()).unwrap());
        std::fs::write(&spec, bytes).unwrap();
        let out = write_patched_swagger(&spec, &dir.join("out")).unwrap();
        assert_eq!(out, dir.join("out/distributedTask/7.1/elastic.json"));
        let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert!(written["definitions"]["ElasticPoolList"].is_object());
        assert!(matches!(write_patched_swagger(&dir.join("nope.json"), &dir), Err(SwaggerPatchError::Read { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
