//! One-line findings about a parameter file.
//!
//! Every problem found in a parameter file becomes a [`Diagnostic`] that renders as
//! `<file>: <json path>: <what is wrong> — <how to fix>`, so a user can act on each line alone.

use std::fmt;

/// A location inside a parameter file, rendered as `parameters.imageSource.value.sku` or
/// `parameters.customizationSteps.value[2].type`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// Path of the `value` of a top-level parameter: `parameters.<name>.value`.
    pub fn parameter(name: &str) -> Self {
        Self::root().key("parameters").key(name).key("value")
    }

    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self(segments)
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The object keys along the path, in order (array indices left out).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|segment| match segment {
            Segment::Key(key) => Some(key.as_str()),
            Segment::Index(_) => None,
        })
    }

    /// The last object key of the path, if the path ends in one.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Where in the file a problem is: a JSON path, or a line and column for syntax errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (it cannot be read, say).
    File,
    Path(JsonPath),
    LineColumn {
        line: usize,
        column: usize,
    },
}

/// One problem in a parameter file, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    pub location: Location,
    /// What is wrong, e.g. `'Agents' is not a valid storage account name: uppercase letters are not allowed`.
    pub problem: String,
    /// How to fix it, e.g. `use 3–24 lowercase letters and digits`.
    pub fix: String,
}

impl Diagnostic {
    /// The 1-based line of the problem in `source` (the file's text): the given line of a syntax
    /// error, else the line where the path's keys are found one after the other. Caveat: the key
    /// search reads the text, not the JSON tree; a key that appears earlier as a value or in a
    /// sibling can make the line an earlier one.
    pub fn line_in(&self, source: &str) -> Option<usize> {
        match &self.location {
            Location::File => None,
            Location::LineColumn { line, .. } => Some(*line),
            Location::Path(path) => {
                // A missing field is at its parent: the deepest key found.
                let mut at = None;
                for key in path.keys() {
                    let from = at.unwrap_or(0);
                    let (quoted, plain) = (format!("\"{key}\""), format!("{key}:"));
                    let found = [source[from..].find(&quoted), source[from..].find(&plain)].into_iter().flatten().min();
                    match found {
                        Some(offset) => at = Some(from + offset + 1),
                        None => break,
                    }
                }
                at.map(|at| source[..at].matches('\n').count() + 1)
            }
        }
    }

    pub fn at(file: &str, path: &JsonPath, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { file: file.to_owned(), location: Location::Path(path.clone()), problem: problem.into(), fix: fix.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File => write!(f, "{}: {} — {}", self.file, self.problem, self.fix),
            Location::Path(path) => write!(f, "{}: {}: {} — {}", self.file, path, self.problem, self.fix),
            Location::LineColumn { line, column } => {
                write!(f, "{}: line {line}, column {column}: {} — {}", self.file, self.problem, self.fix)
            }
        }
    }
}

/// All problems of one parameter file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was found, else all findings.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_json_paths() {
        let path = JsonPath::parameter("customizationSteps").index(2).key("type");
        assert_eq!(path.to_string(), "parameters.customizationSteps.value[2].type");
    }

    #[test]
    fn a_diagnostic_is_one_line_with_the_fix() {
        let diagnostic = Diagnostic::at(
            "sbx.parameters.linux.json",
            &JsonPath::parameter("galleryName"),
            "'my-gallery' is not a valid gallery name: '-' is not allowed",
            "use letters, digits, underscores and periods",
        );
        assert_eq!(
            diagnostic.to_string(),
            "sbx.parameters.linux.json: parameters.galleryName.value: 'my-gallery' is not a valid gallery name: '-' is not allowed — use letters, digits, underscores and periods"
        );
    }

    #[test]
    fn the_line_of_a_problem_is_where_its_keys_are() {
        let source = "{\n  \"parameters\": {\n    \"location\": { \"value\": \"westeurope\" },\n    \"storageAccountName\": {\n      \"value\": \"Agents\"\n    }\n  }\n}\n";
        let at = |path: JsonPath| Diagnostic::at("f.json", &path, "p", "f").line_in(source);
        assert_eq!(at(JsonPath::parameter("storageAccountName")), Some(5));
        assert_eq!(at(JsonPath::parameter("location")), Some(3));
        // A missing field is shown at its parent.
        assert_eq!(at(JsonPath::parameter("storageAccountName").key("sku")), Some(5));
        assert_eq!(at(JsonPath::root().key("resources")), None);
        let syntax = Diagnostic {
            file: "f.json".into(),
            location: Location::LineColumn { line: 7, column: 3 },
            problem: "p".into(),
            fix: "f".into(),
        };
        assert_eq!(syntax.line_in(source), Some(7));
    }
}
