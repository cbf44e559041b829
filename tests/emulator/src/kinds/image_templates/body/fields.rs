//! The shared field checks of [`super`]: member names, required and typed values, exact-case enums, and
//! the 400 errors they make.

use serde_json::{Map, Value};

use crate::arm::error::ArmError;

pub(super) type Object = Map<String, Value>;

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn invalid(path: impl Into<String>, message: impl Into<String>) -> ArmError {
    ArmError::InvalidRequestContent { message: message.into(), target: Some(path.into()) }
}

pub(super) fn type_error(path: &str, value: &Value, ty: &str) -> ArmError {
    invalid(path, format!("Error converting value {value} to type '{ty}'. Path '{path}'."))
}

/// `value` as an object of .NET type `ty`.
pub(super) fn object<'a>(value: &'a Value, path: &str, ty: &str) -> Result<&'a Object, ArmError> {
    value.as_object().ok_or_else(|| type_error(path, value, ty))
}

/// Refuses members not in `allowed` (exact case).
pub(super) fn members(map: &Object, path: &str, ty: &str, allowed: &[&str]) -> Result<(), ArmError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => {
            let at = join(path, key);
            Err(invalid(&at, format!("Could not find member '{key}' on object of type '{ty}'. Path '{at}'.")))
        }
        None => Ok(()),
    }
}

pub(super) fn present<'a>(map: &'a Object, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

pub(super) fn required<'a>(map: &'a Object, path: &str, key: &str) -> Result<&'a Value, ArmError> {
    present(map, key).ok_or_else(|| ArmError::MissingRequiredProperty(join(path, key)))
}

pub(super) fn string<'a>(map: &'a Object, path: &str, key: &str, needed: bool) -> Result<Option<&'a str>, ArmError> {
    let Some(value) = present(map, key) else {
        return if needed { Err(ArmError::MissingRequiredProperty(join(path, key))) } else { Ok(None) };
    };
    let s = value.as_str().ok_or_else(|| type_error(&join(path, key), value, "String"))?;
    if needed && s.trim().is_empty() {
        return Err(invalid(join(path, key), format!("'{}' must not be empty.", join(path, key))));
    }
    Ok(Some(s))
}

pub(super) fn boolean(map: &Object, path: &str, key: &str) -> Result<Option<bool>, ArmError> {
    present(map, key).map(|v| v.as_bool().ok_or_else(|| type_error(&join(path, key), v, "Boolean"))).transpose()
}

pub(super) fn integer(map: &Object, path: &str, key: &str, min: i64, max: i64) -> Result<Option<i64>, ArmError> {
    let Some(value) = present(map, key) else { return Ok(None) };
    let at = join(path, key);
    let n = value.as_i64().ok_or_else(|| type_error(&at, value, "Int32"))?;
    if !(min..=max).contains(&n) {
        return Err(invalid(
            &at,
            format!("The value {n} of '{at}' is out of range: it must be between {min} and {max}."),
        ));
    }
    Ok(Some(n))
}

pub(super) fn strings<'a>(map: &'a Object, path: &str, key: &str) -> Result<Option<Vec<&'a str>>, ArmError> {
    let Some(value) = present(map, key) else { return Ok(None) };
    let at = join(path, key);
    let items = value.as_array().ok_or_else(|| type_error(&at, value, "String[]"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_str().ok_or_else(|| type_error(&format!("{at}[{i}]"), v, "String")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An exact-case enum value (api-version 2024-02-01 is case sensitive).
pub(super) fn one_of<'a>(
    map: &'a Object,
    path: &str,
    key: &str,
    allowed: &[&str],
    needed: bool,
) -> Result<Option<&'a str>, ArmError> {
    let Some(s) = string(map, path, key, needed)? else { return Ok(None) };
    if allowed.contains(&s) {
        Ok(Some(s))
    } else {
        let at = join(path, key);
        Err(invalid(
            &at,
            format!(
                "The value '{s}' of '{at}' is not valid (values are case sensitive). The allowed values are '{}'.",
                allowed.join("', '")
            ),
        ))
    }
}

/// An object of strings (tags).
pub(super) fn string_map(map: &Object, path: &str, key: &str) -> Result<(), ArmError> {
    let Some(value) = present(map, key) else { return Ok(()) };
    let at = join(path, key);
    let tags = object(value, &at, "Dictionary`2")?;
    for (k, v) in tags {
        if !v.is_string() {
            return Err(type_error(&join(&at, k), v, "String"));
        }
    }
    Ok(())
}

pub(super) fn array<'a>(map: &'a Object, path: &str, key: &str) -> Result<Option<&'a Vec<Value>>, ArmError> {
    present(map, key).map(|v| v.as_array().ok_or_else(|| type_error(&join(path, key), v, "List`1"))).transpose()
}
