//! Reading a parameter file from disk into a JSON value.
//!
//! JSON (`.json`) and YAML (`.yaml`, `.yml`) of the same shape are accepted. Syntax errors carry
//! the line and column the parser stopped at. A UTF-8 byte order mark is ignored, because
//! editors on Windows write one.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::diagnostic::{Diagnostic, Location};

/// The syntax of a parameter file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Yaml,
}

impl Syntax {
    /// By extension; anything that is not `.yaml`/`.yml` is read as JSON.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("yaml" | "yml") => Self::Yaml,
            _ => Self::Json,
        }
    }
}

/// A parameter file read and parsed, not yet validated.
#[derive(Debug, Clone)]
pub struct SourceDocument {
    /// The path as the user gave it, used in messages.
    pub display_name: String,
    pub path: PathBuf,
    pub value: Value,
}

/// Reads and parses `path`. Errors are diagnostics, ready to print.
pub fn read(path: &Path) -> Result<SourceDocument, Diagnostic> {
    let display_name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| Diagnostic {
        file: display_name.clone(),
        location: Location::File,
        problem: format!("cannot read the file: {error}"),
        fix: "check the path, or pass --parameters-dir, --environment and --os".to_owned(),
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|error| Diagnostic {
        file: display_name.clone(),
        location: Location::File,
        problem: format!("the file is not UTF-8 text ({error})"),
        fix: "save it as UTF-8".to_owned(),
    })?;
    let value = parse(text.trim_start_matches('\u{feff}'), Syntax::of(path), &display_name)?;
    Ok(SourceDocument { display_name, path: path.to_owned(), value })
}

/// Parses text of the given syntax.
pub fn parse(text: &str, syntax: Syntax, display_name: &str) -> Result<Value, Diagnostic> {
    let syntax_error = |line: usize, column: usize, problem: String| Diagnostic {
        file: display_name.to_owned(),
        location: Location::LineColumn { line, column },
        problem,
        fix: "fix the syntax at that position".to_owned(),
    };
    match syntax {
        Syntax::Json => serde_json::from_str(text).map_err(|error| {
            let message = error.to_string();
            // serde_json appends " at line L column C"; the location is rendered separately.
            let problem = message.split(" at line ").next().unwrap_or(&message).to_owned();
            syntax_error(error.line(), error.column(), format!("invalid JSON: {problem}"))
        }),
        Syntax::Yaml => serde_norway::from_str::<Value>(text).map_err(|error| {
            let (line, column) = error.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
            let message = error.to_string();
            let problem = message.split(" at line ").next().unwrap_or(&message).to_owned();
            syntax_error(line, column, format!("invalid YAML: {problem}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_syntax_errors_name_line_and_column() {
        let text =
            "{\n  \"parameters\": {\n    \"location\": {\"value\": \"westeurope\"}\n    \"galleryName\": {}\n  }\n}";
        let diagnostic = parse(text, Syntax::Json, "sbx.parameters.linux.json").unwrap_err();
        assert_eq!(
            diagnostic.to_string(),
            "sbx.parameters.linux.json: line 4, column 5: invalid JSON: expected `,` or `}` — fix the syntax at that position"
        );
    }

    #[test]
    fn yaml_syntax_errors_name_line_and_column() {
        let text = "parameters:\n  location:\n    value: westeurope\n   galleryName: x\n";
        let diagnostic = parse(text, Syntax::Yaml, "dev.parameters.linux.yaml").unwrap_err();
        let rendered = diagnostic.to_string();
        assert!(rendered.starts_with("dev.parameters.linux.yaml: line 4, column "), "{rendered}");
        assert!(rendered.contains("invalid YAML: "), "{rendered}");
    }

    #[test]
    fn yaml_and_json_of_the_same_shape_are_equal() {
        let json = parse(r#"{"parameters": {"location": {"value": "westeurope"}}}"#, Syntax::Json, "a").unwrap();
        let yaml = parse("parameters:\n  location:\n    value: westeurope\n", Syntax::Yaml, "a").unwrap();
        assert_eq!(json, yaml);
    }
}
