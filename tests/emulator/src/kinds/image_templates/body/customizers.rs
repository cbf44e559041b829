//! `properties.customize[]` (customizers) and `properties.validate.inVMValidations[]` (validators).

use serde_json::Value;

use super::fields::{array, boolean, integer, invalid, members, object, one_of, string, strings, type_error, Object};
use crate::arm::error::ArmError;

/// Exactly one of `scriptUri` and `inline` (Shell and PowerShell customizers and validators).
fn script_or_inline(map: &Object, at: &str) -> Result<(), ArmError> {
    let uri = string(map, at, "scriptUri", false)?.is_some_and(|s| !s.is_empty());
    let inline = strings(map, at, "inline")?.is_some_and(|l| !l.is_empty());
    if uri == inline {
        return Err(invalid(at, format!("Exactly one of 'scriptUri' or 'inline' must be specified in '{at}'.")));
    }
    Ok(())
}

fn powershell_fields(map: &Object, at: &str) -> Result<(), ArmError> {
    script_or_inline(map, at)?;
    string(map, at, "sha256Checksum", false)?;
    let elevated = boolean(map, at, "runElevated")?.unwrap_or(false);
    if boolean(map, at, "runAsSystem")?.unwrap_or(false) && !elevated {
        return Err(invalid(
            format!("{at}.runAsSystem"),
            format!("'{at}.runAsSystem' can only be true when 'runElevated' is true."),
        ));
    }
    if let Some(codes) = array(map, at, "validExitCodes")? {
        for (i, code) in codes.iter().enumerate() {
            if !code.is_i64() {
                return Err(type_error(&format!("{at}.validExitCodes[{i}]"), code, "Int32"));
            }
        }
    }
    Ok(())
}

pub(super) fn customizer(value: &Value, at: &str) -> Result<(), ArmError> {
    let map = object(value, at, "ImageTemplateCustomizer")?;
    let kind = one_of(map, at, "type", &["Shell", "PowerShell", "File", "WindowsRestart", "WindowsUpdate"], true)?;
    string(map, at, "name", false)?;
    match kind {
        Some("Shell") => {
            members(
                map,
                at,
                "ImageTemplateShellCustomizer",
                &["type", "name", "scriptUri", "sha256Checksum", "inline"],
            )?;
            script_or_inline(map, at)?;
            string(map, at, "sha256Checksum", false)?;
        }
        Some("PowerShell") => {
            members(
                map,
                at,
                "ImageTemplatePowerShellCustomizer",
                &[
                    "type",
                    "name",
                    "scriptUri",
                    "sha256Checksum",
                    "inline",
                    "runElevated",
                    "runAsSystem",
                    "validExitCodes",
                ],
            )?;
            powershell_fields(map, at)?;
        }
        Some("File") => {
            members(
                map,
                at,
                "ImageTemplateFileCustomizer",
                &["type", "name", "sourceUri", "sha256Checksum", "destination"],
            )?;
            string(map, at, "sourceUri", true)?;
            string(map, at, "destination", true)?;
            string(map, at, "sha256Checksum", false)?;
        }
        Some("WindowsRestart") => {
            members(
                map,
                at,
                "ImageTemplateRestartCustomizer",
                &["type", "name", "restartCommand", "restartCheckCommand", "restartTimeout"],
            )?;
            string(map, at, "restartCommand", false)?;
            string(map, at, "restartCheckCommand", false)?;
            if let Some(timeout) = string(map, at, "restartTimeout", false)? {
                let ok = timeout.len() > 1
                    && timeout[..timeout.len() - 1].chars().all(|c| c.is_ascii_digit())
                    && timeout.ends_with(['s', 'm', 'h']);
                if !ok {
                    return Err(invalid(
                        format!("{at}.restartTimeout"),
                        format!("'{timeout}' is not a duration such as '5m' or '2h' ('{at}.restartTimeout')."),
                    ));
                }
            }
        }
        _ => {
            members(
                map,
                at,
                "ImageTemplateWindowsUpdateCustomizer",
                &["type", "name", "searchCriteria", "filters", "updateLimit"],
            )?;
            string(map, at, "searchCriteria", false)?;
            strings(map, at, "filters")?;
            integer(map, at, "updateLimit", 0, i64::from(i32::MAX))?;
        }
    }
    Ok(())
}

pub(super) fn validator(value: &Value, at: &str) -> Result<(), ArmError> {
    let map = object(value, at, "ImageTemplateInVMValidator")?;
    let kind = one_of(map, at, "type", &["Shell", "PowerShell", "File"], true)?;
    string(map, at, "name", false)?;
    match kind {
        Some("Shell") => {
            members(
                map,
                at,
                "ImageTemplateShellValidator",
                &["type", "name", "scriptUri", "sha256Checksum", "inline"],
            )?;
            script_or_inline(map, at)?;
        }
        Some("PowerShell") => {
            members(
                map,
                at,
                "ImageTemplatePowerShellValidator",
                &[
                    "type",
                    "name",
                    "scriptUri",
                    "sha256Checksum",
                    "inline",
                    "runElevated",
                    "runAsSystem",
                    "validExitCodes",
                ],
            )?;
            powershell_fields(map, at)?;
        }
        _ => {
            members(
                map,
                at,
                "ImageTemplateFileValidator",
                &["type", "name", "sourceUri", "sha256Checksum", "destination"],
            )?;
            string(map, at, "sourceUri", true)?;
            string(map, at, "destination", true)?;
        }
    }
    Ok(())
}
