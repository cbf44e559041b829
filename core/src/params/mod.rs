//! Parameter files: one per environment and OS, in the ARM deployment-parameters format.
//!
//! [`load`] reads a file, validates it completely before anything touches the network, and
//! returns the typed [`Parameters`] or every problem found, each as a one-line [`Diagnostic`].
//! The order of checks is: syntax (line and column), then the schema (names, types, ranges,
//! defaults), then Azure naming rules and cross-field rules. A syntax error stops there; all
//! other findings are reported together.

pub mod diagnostic;
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

/// The environments of seed 000.
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

/// Seed 000's rule: `<dir>/<env>.parameters.<os>.json`, or the `.yaml`/`.yml` twin when only
/// that exists.
pub fn resolve_path(dir: &Path, environment: Environment, os: OsType) -> PathBuf {
    let stem = format!("{environment}.parameters.{}", os.lowercase());
    let json = dir.join(format!("{stem}.json"));
    if json.exists() {
        return json;
    }
    ["yaml", "yml"].iter().map(|ext| dir.join(format!("{stem}.{ext}"))).find(|p| p.exists()).unwrap_or(json)
}
