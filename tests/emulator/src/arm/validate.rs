//! Declarative checks of request bodies against what a swagger requires: required properties, enums and
//! JSON types.
//!
//! Paths are dotted property names. A segment ending in `?` is an optional parent (rules below it apply
//! only when it is present); a segment ending in `[]` is an array whose elements are all checked. Enum and
//! type rules only apply to values that are present. Enum values match ignoring ASCII case, as the .NET
//! resource providers deserialize them, and are rewritten to the swagger's casing.
//!
//! Caveat: this covers the constraints each kind declares, not the whole swagger schema (no patterns,
//! lengths or `additionalProperties` checks).

use serde_json::Value;

use super::error::ArmError;

/// JSON types a rule can demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Object,
    Array,
    String,
    Boolean,
    Integer,
}

impl JsonType {
    fn accepts(self, v: &Value) -> bool {
        match self {
            JsonType::Object => v.is_object(),
            JsonType::Array => v.is_array(),
            JsonType::String => v.is_string(),
            JsonType::Boolean => v.is_boolean(),
            JsonType::Integer => v.is_i64() || v.is_u64(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Object => "an object",
            JsonType::Array => "an array",
            JsonType::String => "a string",
            JsonType::Boolean => "a boolean",
            JsonType::Integer => "an integer",
        }
    }
}

/// One constraint on a request body.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// The property must be present and not null.
    Required(&'static str),
    /// When present, the value is one of these strings.
    Enum(&'static str, &'static [&'static str]),
    /// When present, the value has this JSON type.
    Type(&'static str, JsonType),
}

/// Checks `body` against `rules` in order; the first violation is the error. Enum values are normalized.
pub fn check(body: &mut Value, rules: &[Rule]) -> Result<(), ArmError> {
    if !body.is_object() {
        return Err(ArmError::InvalidRequestContent {
            message: "the request content must be a JSON object.".into(),
            target: None,
        });
    }
    for rule in rules {
        match *rule {
            Rule::Required(path) => {
                let segs: Vec<&str> = path.split('.').collect();
                visit(body, &segs, String::new(), true, &mut |at, value| match value {
                    Some(v) if !v.is_null() => Ok(()),
                    _ if at == "location" => Err(ArmError::LocationRequired),
                    _ => Err(ArmError::MissingRequiredProperty(at.to_string())),
                })?;
            }
            Rule::Enum(path, allowed) => {
                let segs: Vec<&str> = path.split('.').collect();
                visit(body, &segs, String::new(), false, &mut |at, value| {
                    let Some(v) = value else { return Ok(()) };
                    let found = v.as_str().and_then(|s| allowed.iter().find(|a| a.eq_ignore_ascii_case(s)));
                    match found {
                        Some(canonical) => {
                            *v = Value::String(canonical.to_string());
                            Ok(())
                        }
                        None if v.is_null() => Ok(()),
                        None => Err(ArmError::InvalidRequestContent {
                            message: format!(
                                "the value {v} of property '{at}' is not valid. The allowed values are '{}'.",
                                allowed.join("', '")
                            ),
                            target: Some(at.to_string()),
                        }),
                    }
                })?;
            }
            Rule::Type(path, ty) => {
                let segs: Vec<&str> = path.split('.').collect();
                visit(body, &segs, String::new(), false, &mut |at, value| match value {
                    Some(v) if !v.is_null() && !ty.accepts(v) => Err(ArmError::InvalidRequestContent {
                        message: format!("property '{at}' must be {}, not {v}.", ty.name()),
                        target: Some(at.to_string()),
                    }),
                    _ => Ok(()),
                })?;
            }
        }
    }
    Ok(())
}

type Visitor<'f> = dyn FnMut(&str, Option<&mut Value>) -> Result<(), ArmError> + 'f;

/// Walks `segs` from `value`, calling `f` on every reached leaf (or on the first missing required
/// segment when `required`).
fn visit(value: &mut Value, segs: &[&str], at: String, required: bool, f: &mut Visitor<'_>) -> Result<(), ArmError> {
    let Some((seg, rest)) = segs.split_first() else {
        return f(&at, Some(value));
    };
    let (name, optional, array) = parse_seg(seg);
    let here = if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
    let child = value.as_object_mut().and_then(|o| o.get_mut(name)).filter(|v| !v.is_null());
    let Some(child) = child else {
        return if required && !optional { f(&here, None) } else { Ok(()) };
    };
    if array {
        let Some(items) = child.as_array_mut() else {
            return Err(ArmError::InvalidRequestContent {
                message: format!("property '{here}' must be an array."),
                target: Some(here),
            });
        };
        for (i, item) in items.iter_mut().enumerate() {
            visit(item, rest, format!("{here}[{i}]"), required, f)?;
        }
        return Ok(());
    }
    if !rest.is_empty() && !child.is_object() {
        return Err(ArmError::InvalidRequestContent {
            message: format!("property '{here}' must be an object."),
            target: Some(here),
        });
    }
    visit(child, rest, here, required, f)
}

/// `(name, optional, array)` of a path segment such as `regions?[]`.
fn parse_seg(seg: &str) -> (&str, bool, bool) {
    let (mut name, mut optional, mut array) = (seg, false, false);
    loop {
        if let Some(s) = name.strip_suffix("[]") {
            (name, array) = (s, true);
        } else if let Some(s) = name.strip_suffix('?') {
            (name, optional) = (s, true);
        } else {
            return (name, optional, array);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: &[Rule] = &[
        Rule::Required("location"),
        Rule::Required("properties.osType"),
        Rule::Required("identity?.type"),
        Rule::Required("properties.regions?[].name"),
        Rule::Enum("properties.osType", &["Windows", "Linux"]),
        Rule::Type("tags", JsonType::Object),
    ];

    #[test]
    fn accepts_and_normalizes() {
        let mut b = json!({"location": "westus", "properties": {"osType": "linux", "regions": [{"name": "a"}]}});
        check(&mut b, RULES).unwrap();
        assert_eq!(b["properties"]["osType"], "Linux");
    }

    #[test]
    fn reports_first_violation_with_path() {
        let mut b = json!({"properties": {"osType": "Linux"}});
        assert_eq!(check(&mut b, RULES), Err(ArmError::LocationRequired));
        let mut b = json!({"location": "x"});
        assert_eq!(check(&mut b, RULES), Err(ArmError::MissingRequiredProperty("properties".into())));
        let mut b = json!({"location": "x", "properties": {}});
        assert_eq!(check(&mut b, RULES), Err(ArmError::MissingRequiredProperty("properties.osType".into())));
        let mut b = json!({"location": "x", "properties": {"osType": "Linux"}, "identity": {}});
        assert_eq!(check(&mut b, RULES), Err(ArmError::MissingRequiredProperty("identity.type".into())));
        let mut b = json!({"location": "x", "properties": {"osType": "Linux", "regions": [{"name": "a"}, {}]}});
        assert_eq!(check(&mut b, RULES), Err(ArmError::MissingRequiredProperty("properties.regions[1].name".into())));
    }

    #[test]
    fn bad_enum_and_type() {
        let mut b = json!({"location": "x", "properties": {"osType": "Linuxx"}});
        let e = check(&mut b, RULES).unwrap_err();
        assert_eq!(e.code(), "InvalidRequestContent");
        assert!(e.to_string().contains("properties.osType"), "{e}");
        assert!(e.to_string().contains("Linuxx"), "{e}");
        let mut b = json!({"location": "x", "properties": {"osType": "Linux"}, "tags": []});
        assert_eq!(check(&mut b, RULES).unwrap_err().code(), "InvalidRequestContent");
        let mut b = json!([1]);
        assert!(check(&mut b, RULES).is_err());
    }
}
