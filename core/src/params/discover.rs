//! Which files `validate` looks at: parameter files named on the command line, the parameter
//! files of a folder, or those a glob matches, without the JSON schema that sits beside them.
//!
//! A shell expands `params/*.json` before agentpool sees it, so the schema arrives as a file
//! name like any other; a shell that does not (cmd.exe, a quoted argument) passes the pattern,
//! which is matched here. Either way a JSON schema (`"$schema"` naming json-schema.org, as
//! `parameters.schema.json` does) is skipped, not reported as a bad parameter file.
//!
//! Caveat: patterns match the file name only (`*` and `?`); the folder part is taken literally.

use std::path::{Path, PathBuf};

/// The files to validate, and the schemas left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub files: Vec<PathBuf>,
    pub schemas: Vec<PathBuf>,
}

/// Why the files could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}: cannot list parameter files: {message} — pass --parameters-dir or file names", .dir.display())]
    Unreadable { dir: PathBuf, message: String },
    #[error("{}: no *.parameters.<os>.json files — pass --parameters-dir or file names", .dir.display())]
    NoParameterFiles { dir: PathBuf },
    #[error("{pattern}: matches no file — check the pattern")]
    NoMatch { pattern: String },
}

/// The `*.parameters.*.json|yaml|yml` files of `dir`, sorted.
pub fn in_folder(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut files: Vec<PathBuf> =
        entries(dir)?.into_iter().filter(|path| file_name(path).is_some_and(is_parameter_file_name)).collect();
    files.sort();
    if files.is_empty() {
        return Err(DiscoverError::NoParameterFiles { dir: dir.to_owned() });
    }
    Ok(files)
}

/// Expands folders and glob patterns among `arguments` and sets JSON schemas apart; a plain file
/// name is kept as given (a missing one is reported when it is read).
pub fn expand(arguments: &[PathBuf]) -> Result<Found, DiscoverError> {
    let mut found = Found::default();
    for argument in arguments {
        let candidates = if argument.is_dir() {
            in_folder(argument)?
        } else if !argument.exists() && file_name(argument).is_some_and(|name| name.contains(['*', '?'])) {
            matching(argument)?
        } else {
            vec![argument.clone()]
        };
        for path in candidates {
            if is_json_schema(&path) {
                found.schemas.push(path);
            } else if !found.files.contains(&path) {
                found.files.push(path);
            }
        }
    }
    Ok(found)
}

/// True when `path` is a JSON Schema document rather than a parameter file: its `$schema`
/// names a json-schema.org meta-schema (a parameter file's names `parameters.schema.json`).
pub fn is_json_schema(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}'))
        .ok()
        .and_then(|document| document.get("$schema").and_then(|s| s.as_str()).map(str::to_owned))
        .is_some_and(|schema| schema.contains("://json-schema.org/"))
}

fn matching(pattern: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let name = file_name(pattern).unwrap_or_default();
    let folder = pattern.parent().filter(|parent| !parent.as_os_str().is_empty());
    let mut files: Vec<PathBuf> = entries(folder.unwrap_or(Path::new(".")))?
        .into_iter()
        .filter(|path| path.is_file())
        .filter_map(|path| file_name(&path).filter(|candidate| wildcard(name, candidate)).map(PathBuf::from))
        .map(|matched| folder.map_or_else(|| matched.clone(), |folder| folder.join(&matched)))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DiscoverError::NoMatch { pattern: pattern.display().to_string() });
    }
    Ok(files)
}

/// `*` matches any run of characters, `?` any one; everything else itself.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| DiscoverError::Unreadable { dir: dir.to_owned(), message: e.to_string() })?;
    Ok(listing.filter_map(|entry| entry.ok().map(|e| e.path())).collect())
}

fn is_parameter_file_name(name: &str) -> bool {
    name.contains(".parameters.") && [".json", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext))
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::tests::examples_dir as examples;

    #[test]
    fn a_folder_gives_its_parameter_files_without_the_schema() {
        let files = in_folder(&examples()).unwrap();
        let names: Vec<&str> = files.iter().filter_map(|f| file_name(f)).collect();
        assert!(names.contains(&"sbx.parameters.linux.json") && names.contains(&"sbx.parameters.windows.json"));
        assert!(!names.contains(&"parameters.schema.json"), "{names:?}");
        let found = expand(&[examples()]).unwrap();
        assert!(found.files.contains(&examples().join("sbx.parameters.linux.json")) && found.schemas.is_empty());
    }

    #[test]
    fn a_glob_or_its_shell_expansion_sets_the_schema_apart() {
        let pattern = examples().join("*.json");
        let found = expand(&[pattern]).unwrap();
        assert_eq!(found.schemas, [examples().join("parameters.schema.json")]);
        assert!(found.files.iter().all(|f| file_name(f).is_some_and(|n| n.contains(".parameters."))));
        assert!(found.files.len() >= 2, "{found:?}");

        // What a shell hands over for the same pattern.
        let mut expanded: Vec<PathBuf> =
            entries(&examples()).unwrap().into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
        expanded.sort();
        let from_shell = expand(&expanded).unwrap();
        assert_eq!(from_shell.schemas, [examples().join("parameters.schema.json")]);
        // (other tests write copies of the examples beside them, so compare the examples only)
        for example in ["sbx.parameters.linux.json", "sbx.parameters.windows.json"] {
            assert!(
                from_shell.files.contains(&examples().join(example)) && found.files.contains(&examples().join(example))
            );
        }
    }

    #[test]
    fn a_pattern_without_matches_is_a_usage_error_and_plain_names_stay_as_given() {
        let error = expand(&[examples().join("*.parameters.macos.json")]).unwrap_err();
        assert!(matches!(error, DiscoverError::NoMatch { .. }), "{error}");
        let missing = PathBuf::from("nowhere/prd.parameters.linux.json");
        assert_eq!(expand(std::slice::from_ref(&missing)).unwrap().files, [missing]);
    }

    #[test]
    fn wildcards_match_whole_names() {
        assert!(wildcard("*.json", "sbx.parameters.linux.json"));
        assert!(wildcard("sbx.*.json", "sbx.parameters.linux.json"));
        assert!(wildcard("???.parameters.*", "prd.parameters.windows.yaml"));
        assert!(!wildcard("*.json", "sbx.parameters.linux.yaml"));
        assert!(!wildcard("sbx*", "dev.parameters.linux.json"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn only_documents_declaring_a_json_schema_meta_schema_are_schemas() {
        assert!(is_json_schema(&examples().join("parameters.schema.json")));
        assert!(!is_json_schema(&examples().join("sbx.parameters.linux.json")), "it names the schema, it is none");
        assert!(!is_json_schema(Path::new("nowhere.json")));
    }
}
