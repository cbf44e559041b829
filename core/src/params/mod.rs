//! Parameter files: one per environment and OS, in the ARM deployment-parameters format.
//!
//! [`load`] reads a file, validates it completely before anything touches the network, and
//! returns the typed [`Parameters`] or every problem found, each as a one-line [`Diagnostic`].
//! The order of checks is: syntax (line and column), then the schema (names, types, ranges,
//! defaults), then Azure naming rules and cross-field rules. A syntax error stops there; all
//! other findings are reported together.

pub mod diagnostic;
pub mod discover;
pub mod model;
pub mod reference;
pub mod rules;
pub mod schema;
pub mod source;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use diagnostic::{Diagnostic, Diagnostics, JsonPath};
pub use model::Parameters;

use crate::aib::OsType;

/// A parameter file, loaded and valid.
#[derive(Debug, Clone)]
pub struct LoadedParameters {
    /// The path as the user gave it.
    pub display_name: String,
    pub path: PathBuf,
    pub parameters: Parameters,
    /// Folder of the short-form scripts for this file's OS.
    pub scripts_dir: PathBuf,
}

/// Reads and validates a parameter file.
pub fn load(path: &Path) -> Result<LoadedParameters, Diagnostics> {
    let mut document = source::read(path).map_err(|d| Diagnostics(vec![d]))?;
    let file = document.display_name.clone();
    let walk = schema::validate(&mut document.value, &file);
    let mut found = walk.diagnostics;
    rules::check_names(&file, &walk.rule_checks, &mut found);
    rules::check_document(&file, &document.value, &mut found);
    if !found.is_empty() {
        return Err(Diagnostics(found));
    }
    let raw = document.value.get_mut("parameters").map(serde_json::Value::take).unwrap_or_default();
    let raw: model::RawParameters = serde_json::from_value(raw).map_err(|error| {
        // The schema accepted the file, so this is a schema/model mismatch: a bug, but still
        // reported as a finding rather than a panic.
        Diagnostics(vec![Diagnostic::at(
            &file,
            &JsonPath::root().key("parameters"),
            format!("cannot be read: {error}"),
            "report this as a bug in agentpool",
        )])
    })?;
    let parameters = Parameters::from(raw);
    let scripts_dir = rules::scripts_dir(path, &parameters.scripts_directory, parameters.image_definition.os_type);
    rules::check_semantics(&file, &parameters, &scripts_dir, &mut found);
    Diagnostics(found).into_result(LoadedParameters {
        display_name: file,
        path: path.to_owned(),
        parameters,
        scripts_dir,
    })
}

/// The environments a folder of parameter files covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    Sbx,
    Dev,
    Int,
    Prd,
}

impl Environment {
    pub const ALL: [Environment; 4] = [Self::Sbx, Self::Dev, Self::Int, Self::Prd];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sbx => "sbx",
            Self::Dev => "dev",
            Self::Int => "int",
            Self::Prd => "prd",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown environment or OS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}' — use one of {allowed}")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub allowed: &'static str,
}

impl FromStr for Environment {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|e| e.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownName {
            what: "environment",
            given: s.to_owned(),
            allowed: "sbx, dev, int, prd",
        })
    }
}

impl FromStr for OsType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "windows" => Ok(Self::Windows),
            "linux" => Ok(Self::Linux),
            _ => Err(UnknownName { what: "OS", given: s.to_owned(), allowed: "windows, linux" }),
        }
    }
}

/// The naming convention of parameter files: `<dir>/<env>.parameters.<os>.json`, or the
/// `.yaml`/`.yml` twin when only that exists.
pub fn resolve_path(dir: &Path, environment: Environment, os: OsType) -> PathBuf {
    let stem = format!("{environment}.parameters.{}", os.lowercase());
    let json = dir.join(format!("{stem}.json"));
    if json.exists() {
        return json;
    }
    ["yaml", "yml"].iter().map(|ext| dir.join(format!("{stem}.{ext}"))).find(|p| p.exists()).unwrap_or(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn examples_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../yaml-templates/parameters")
    }

    #[test]
    fn both_examples_load() {
        for os in [OsType::Linux, OsType::Windows] {
            let path = resolve_path(&examples_dir(), Environment::Sbx, os);
            let loaded = load(&path).unwrap_or_else(|d| panic!("{d}"));
            assert_eq!(loaded.parameters.image_definition.os_type, os);
            assert!(loaded.parameters.scale_set.is_some() && loaded.parameters.agent_pool.is_some());
        }
    }

    #[test]
    fn a_yaml_file_of_the_same_shape_loads_to_the_same_parameters() {
        let json_path = examples_dir().join("sbx.parameters.linux.json");
        let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        let yaml_path = examples_dir().join(format!("sbx.parameters.linux.{}.test.yaml", std::process::id()));
        std::fs::write(&yaml_path, serde_norway::to_string(&value).unwrap()).unwrap();
        let from_yaml = load(&yaml_path);
        std::fs::remove_file(&yaml_path).unwrap();
        assert_eq!(from_yaml.unwrap().parameters, load(&json_path).unwrap().parameters);
    }

    #[test]
    fn every_rule_the_schema_names_exists() {
        fn visit(node: &serde_json::Value, found: &mut Vec<String>) {
            match node {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(rule)) = map.get("x-rule") {
                        found.push(rule.clone());
                    }
                    map.values().for_each(|v| visit(v, found));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| visit(v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        visit(&schema::SCHEMA, &mut found);
        assert!(found.len() > 20);
        for rule in found {
            assert!(crate::naming::RULES.contains(&rule.as_str()), "unknown x-rule {rule}");
        }
    }

    #[test]
    fn environment_and_os_resolve_to_conventional_file_names() {
        let path = resolve_path(Path::new("params"), Environment::Dev, OsType::Windows);
        assert_eq!(path, Path::new("params/dev.parameters.windows.json"));
        assert_eq!("PRD".parse::<Environment>(), Ok(Environment::Prd));
        assert!("qa".parse::<Environment>().is_err());
    }

    #[test]
    fn a_shared_image_version_source_spelled_image_version_id_capital_d_loads() {
        let path = examples_dir().join("sbx.parameters.linux.json");
        let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        value["parameters"]["imageSource"]["value"] = serde_json::json!({
            "type": "SharedImageVersion",
            "imageVersionID": "/subscriptions/c64d2kd9-4679-45f5-b17a-e27b0214acp4d/resourceGroups/scale-set-rg/providers/Microsoft.Compute/galleries/mygallery/images/mydefinition/versions/0.24457.34028"
        });
        let copy = examples_dir().join(format!("sbx.parameters.linux.{}.siv.json", std::process::id()));
        std::fs::write(&copy, value.to_string()).unwrap();
        let loaded = load(&copy);
        std::fs::remove_file(&copy).unwrap();
        let loaded = loaded.unwrap_or_else(|d| panic!("{d}"));
        assert!(matches!(loaded.parameters.image_source, crate::aib::ImageSource::SharedImageVersion { .. }));
    }

    /// The linux example with `change` applied, loaded from a copy beside it.
    fn load_changed(label: &str, change: impl FnOnce(&mut serde_json::Value)) -> Result<LoadedParameters, Diagnostics> {
        let path = examples_dir().join("sbx.parameters.linux.json");
        let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        change(&mut value["parameters"]);
        let copy = examples_dir().join(format!("sbx.parameters.linux.{}.{label}.json", std::process::id()));
        std::fs::write(&copy, value.to_string()).unwrap();
        let loaded = load(&copy);
        std::fs::remove_file(&copy).unwrap();
        loaded
    }

    fn problems(result: Result<LoadedParameters, Diagnostics>) -> String {
        match result {
            Ok(_) => String::new(),
            Err(diagnostics) => diagnostics.to_string(),
        }
    }

    #[test]
    fn the_image_builder_role_defaults_to_least_privilege_and_takes_contributor() {
        use model::ImageBuilderRole;
        let default = load_changed("role-default", |_| {}).unwrap();
        assert_eq!(default.parameters.image_builder_role, ImageBuilderRole::LeastPrivilege);
        let contributor =
            load_changed("role-contributor", |p| p["imageBuilderRole"] = serde_json::json!({"value": "contributor"}));
        assert_eq!(contributor.unwrap().parameters.image_builder_role, ImageBuilderRole::Contributor);
        let wrong = problems(load_changed("role-wrong", |p| {
            p["imageBuilderRole"] = serde_json::json!({"value": "Contributor"})
        }));
        assert!(wrong.contains("parameters.imageBuilderRole.value: 'Contributor' is not one of leastPrivilege, contributor — use 'contributor'"), "{wrong}");
    }

    #[test]
    fn a_build_subnet_is_a_subnet_id_that_the_chosen_role_reaches() {
        let subnet = |group: &str| serde_json::json!({"value": format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/build")});
        let elsewhere = load_changed("subnet-elsewhere", |p| p["buildSubnetId"] = subnet("rg-network")).unwrap();
        assert_eq!(
            elsewhere.parameters.build_virtual_network_id(),
            Some("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet")
        );
        let not_a_subnet = problems(load_changed(
            "subnet-vnet",
            |p| p["buildSubnetId"] = serde_json::json!({"value": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"}),
        ));
        assert!(not_a_subnet.contains("parameters.buildSubnetId.value: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet' is not a subnet resource id"), "{not_a_subnet}");

        let contributor_elsewhere = problems(load_changed("subnet-contributor", |p| {
            p["buildSubnetId"] = subnet("rg-network");
            p["imageBuilderRole"] = serde_json::json!({"value": "contributor"});
        }));
        assert!(contributor_elsewhere.contains("parameters.buildSubnetId.value: imageBuilderRole 'contributor' grants Contributor on resource group 'rg-agents-sbx' only, but the build subnet's virtual network is in 'rg-network' — use imageBuilderRole 'leastPrivilege'"), "{contributor_elsewhere}");
        let contributor_inside = load_changed("subnet-contributor-inside", |p| {
            p["buildSubnetId"] = subnet("RG-agents-sbx");
            p["imageBuilderRole"] = serde_json::json!({"value": "contributor"});
        });
        assert!(contributor_inside.is_ok(), "{}", problems(contributor_inside));
    }
}
