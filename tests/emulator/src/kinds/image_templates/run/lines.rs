//! The packer log lines of each phase, and the downloads the customization reads its scripts from.

use serde_json::Value;

use super::{Context, Fetch, Line, Run};
use crate::kinds::image_templates::access;
use crate::kinds::image_templates::settings::Failure;
use crate::state::Store;

fn line(text: impl Into<String>) -> Line {
    Line { text: text.into(), fails: None }
}

pub(super) fn building(ctx: &Context<'_>, run: &Run) -> Vec<Line> {
    let staging = ctx.staging.map(|s| s.resource_group_id.rsplit('/').next().unwrap_or_default()).unwrap_or_default();
    let (transport, wait) = if ctx.windows() {
        ("WinRM", "Waiting for WinRM to become available...")
    } else {
        ("SSH", "Waiting for SSH to become available...")
    };
    let source = &ctx.template["properties"]["source"];
    let image = match source["type"].as_str() {
        Some("PlatformImage") => format!(
            "{}:{}:{}:{}",
            source["publisher"].as_str().unwrap_or_default(),
            source["offer"].as_str().unwrap_or_default(),
            source["sku"].as_str().unwrap_or_default(),
            source["version"].as_str().unwrap_or_default()
        ),
        Some("ManagedImage") => source["imageId"].as_str().unwrap_or_default().to_string(),
        _ => source["imageVersionId"].as_str().unwrap_or_default().to_string(),
    };
    let vm = format!("pkrvm{}", &run.id.replace('-', "")[..11]);
    vec![
        line("[PACKER] azure-arm: output will be in this color."),
        line("[PACKER] ==> azure-arm: Running builder ..."),
        line("[PACKER] ==> azure-arm: Getting tokens using Managed Identity for Azure ..."),
        line(format!("[PACKER] ==> azure-arm: Using existing resource group ...\n[PACKER] ==> azure-arm:  -> ResourceGroupName : '{staging}'")),
        line(format!("[PACKER] ==> azure-arm: Validating deployment template ...\n[PACKER] ==> azure-arm:  -> Image : '{image}'")),
        line(format!("[PACKER] ==> azure-arm: Deploying deployment template ...\n[PACKER] ==> azure-arm:  -> ComputeName : '{vm}'")),
        line(format!("[PACKER] ==> azure-arm: {wait}")),
        line(format!("[PACKER] ==> azure-arm: Connected to {transport}!")),
    ]
}

/// The text a script prints: its `echo` / `Write-Host` / `Write-Output` lines.
pub fn printed_lines(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = ["echo ", "Write-Host ", "Write-Output "].iter().find_map(|p| l.strip_prefix(p))?;
            let rest = rest.trim();
            let unquoted = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
                .unwrap_or(rest);
            Some(unquoted.to_string())
        })
        .collect()
}

/// The downloads of the customization, with the identity's permission at this moment.
pub(super) fn fetches(ctx: &Context<'_>, store: &Store) -> Vec<Fetch> {
    let identity = access::identity(store, ctx.template);
    let mut out: Vec<Fetch> = Vec::new();
    for (_, url) in access::script_urls(ctx.template) {
        let Some(blob) = access::emulated_blob(store, &url) else { continue };
        if out.iter().any(|f| f.url == url) {
            continue;
        }
        let allowed = identity.as_ref().is_some_and(|i| access::may_read_blob(store, i, &blob));
        out.push(Fetch {
            url: url.clone(),
            blob_url: blob.url.clone(),
            client_id: identity.as_ref().map(|i| i.client_id.clone()).unwrap_or_default(),
            allowed,
            content: None,
            error: None,
        });
    }
    out
}

fn download(url: &str, fetched: &[Fetch]) -> Result<Option<String>, String> {
    match fetched.iter().find(|f| f.url == url) {
        None => Ok(None),
        Some(Fetch { content: Some(text), .. }) => Ok(Some(text.clone())),
        Some(f) => Err(f.error.clone().unwrap_or_else(|| "unknown error".into())),
    }
}

/// The customization's log lines, given the downloaded scripts and a planned failure.
pub(super) fn customization(ctx: &Context<'_>, fetched: &[Fetch], failure: Option<&Failure>) -> Vec<Line> {
    let mut lines = Vec::new();
    let steps = ctx.template.pointer("/properties/customize").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        let kind = step["type"].as_str().unwrap_or_default();
        let name = step["name"].as_str().unwrap_or_default();
        let uri = step["scriptUri"].as_str().or(step["sourceUri"].as_str()).filter(|u| !u.is_empty());
        let mut printed: Vec<String> = Vec::new();
        let header = match kind {
            "Shell" => format!(
                "Provisioning with shell script: {}",
                uri.map_or(format!("/tmp/packer-shell{i:09}"), str::to_string)
            ),
            "PowerShell" => format!(
                "Provisioning with powershell script: {}",
                uri.map_or(format!("C:/Windows/Temp/script-{i:09}.ps1"), str::to_string)
            ),
            "File" => {
                format!("Uploading {} => {}", uri.unwrap_or_default(), step["destination"].as_str().unwrap_or_default())
            }
            "WindowsRestart" => "Restarting Machine".to_string(),
            _ => "Running Windows update...".to_string(),
        };
        lines.push(line(format!("[PACKER] ==> azure-arm: {header}")));
        if let Some(url) = uri {
            match download(url, fetched) {
                Ok(Some(text)) if kind != "File" => printed.extend(printed_lines(&text)),
                Ok(Some(text)) => lines.push(line(format!("[PACKER]     azure-arm: Transferred: {} bytes", text.len()))),
                Ok(None) => lines.push(line(format!(
                    "[PACKER]     azure-arm: (emulator: {url} is not a blob of an emulated storage account; not downloaded)"
                ))),
                Err(error) => {
                    let packer_error = format!("Error downloading '{url}': {error}");
                    lines.push(Line { text: format!("[PACKER] ==> azure-arm: {packer_error}"), fails: Some(packer_error) });
                    return lines;
                }
            }
        }
        for command in step["inline"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            printed.extend(printed_lines(command));
        }
        match kind {
            "WindowsRestart" => printed.extend(["Waiting for machine to restart...".to_string(), "restarted.".into()]),
            "WindowsUpdate" => {
                printed.extend(["Searching for Windows updates...".to_string(), "Found 0 updates.".into()])
            }
            _ => {}
        }
        lines.extend(printed.into_iter().map(|p| line(format!("[PACKER]     azure-arm: {p}"))));
        let fails = matches!(failure, Some(Failure::Customizer(n)) if !name.is_empty() && n.eq_ignore_ascii_case(name));
        if fails {
            let packer_error = "Script exited with non-zero exit status: 1. Allowed exit codes are: [0]".to_string();
            lines.push(Line { text: format!("[PACKER] ==> azure-arm: {packer_error}"), fails: Some(packer_error) });
            return lines;
        }
    }
    lines
}

pub(super) fn optimizing() -> Vec<Line> {
    [
        "Querying the machine's properties ...",
        "Querying the machine's additional disks properties ...",
        "Powering off machine ...",
        "Generalizing machine ...",
        "Capturing image ...",
        "Deleting individual resources ...",
    ]
    .iter()
    .map(|t| line(format!("[PACKER] ==> azure-arm: {t}")))
    .collect()
}

pub(super) fn validating(ctx: &Context<'_>) -> Vec<Line> {
    let steps = ctx.template.pointer("/properties/validate/inVMValidations").and_then(Value::as_array);
    let mut lines = vec![line("[PACKER] ==> azure-arm: Running in-VM validations ...")];
    for step in steps.into_iter().flatten() {
        lines.push(line(format!(
            "[PACKER] ==> azure-arm: Validating with {}",
            step["name"].as_str().unwrap_or("a validator")
        )));
        for command in step["inline"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            lines.extend(printed_lines(command).into_iter().map(|p| line(format!("[PACKER]     azure-arm: {p}"))));
        }
    }
    lines
}

pub(super) fn finished() -> Vec<Line> {
    vec![
        line("[PACKER] Build 'azure-arm' finished."),
        line("[PACKER] ==> Builds finished. The artifacts of successful builds are:"),
        line("[PACKER] --> azure-arm: Azure.ResourceManagement.VMImage:"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_lines_of_scripts() {
        let script = "#!/bin/bash\n  echo \"a b\"\necho 'c'\necho d\nWrite-Output e\nls\n";
        assert_eq!(printed_lines(script), ["a b", "c", "d", "e"]);
    }
}
