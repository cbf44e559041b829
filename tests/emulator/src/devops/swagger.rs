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
//! items"), and then ignores the whole file. Those keys are removed ([`drop_bare_query_paths`]); the
//! operations of `paths` stay, so traffic of the `poolName` / `queueName` overloads is validated against the
//! `poolIds` operations (and fails their required `poolIds`), not skipped.

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

/// Removes the `x-ms-paths` keys that end in a bare `?` (see the module doc); returns them.
pub fn drop_bare_query_paths(swagger: &mut Value) -> Vec<String> {
    let Some(paths) = swagger.get_mut("x-ms-paths").and_then(Value::as_object_mut) else { return Vec::new() };
    let bare: Vec<String> = paths.keys().filter(|k| k.ends_with('?')).cloned().collect();
    for key in &bare {
        paths.remove(key);
    }
    bare
}

/// Writes the patched copy of `spec` into `out_dir/<area>/<version>/<file>` and returns its path.
pub fn write_patched_swagger(spec: &Path, out_dir: &Path) -> Result<PathBuf, SwaggerPatchError> {
    write(spec, out_dir, false)
}

/// [`write_patched_swagger`], then [`drop_bare_query_paths`]: a copy oav 4.0.3 loads.
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
        drop_bare_query_paths(&mut swagger);
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
    fn bare_query_paths_dropped_for_oav() {
        let mut s = json!({"paths": {}, "x-ms-paths": {
            "/{organization}/_apis/distributedtask/pools?": {}, "/{organization}/x?queueIds={queueIds}": {}}});
        assert_eq!(drop_bare_query_paths(&mut s), ["/{organization}/_apis/distributedtask/pools?"]);
        assert_eq!(s["x-ms-paths"].as_object().unwrap().len(), 1);
        assert!(drop_bare_query_paths(&mut json!({"paths": {}})).is_empty());
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
