//! Short-form script steps: which local files are uploaded where, and the Image Builder
//! customizers that run them.
//!
//! A script `install-tools.sh` of a Linux image becomes the blob `linux/install-tools.sh` in the
//! scripts container and a `Shell` customizer with that blob's URI and the file's SHA-256, so
//! Image Builder refuses a blob that differs from what was planned. Windows scripts become
//! `PowerShell` customizers.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::aib::{Customizer, OsType};
use crate::params::model::{CustomizationStep, ScriptStep};

/// A local script to upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptUpload {
    pub local_path: PathBuf,
    /// Blob name inside the container: `<os>/<script>`.
    pub blob_name: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read script {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// Expands the steps: short forms become customizers pointing at `container_url`
/// (`https://<account>.blob.core.windows.net/<container>`), customizers pass through unchanged.
pub fn expand(
    steps: &[CustomizationStep],
    os: OsType,
    scripts_dir: &Path,
    container_url: &str,
) -> Result<(Vec<Customizer>, Vec<ScriptUpload>), ScriptError> {
    let mut customizers = Vec::with_capacity(steps.len());
    let mut uploads: Vec<ScriptUpload> = Vec::new();
    for step in steps {
        let Some(script) = step.as_script() else {
            if let CustomizationStep::Customizer(customizer) = step {
                customizers.push(customizer.clone());
            }
            continue;
        };
        let upload = upload_of(&script, os, scripts_dir)?;
        let uri = format!("{}/{}", container_url.trim_end_matches('/'), upload.blob_name);
        customizers.push(customizer_for(&script, os, uri, upload.sha256.clone()));
        if !uploads.iter().any(|u| u.blob_name == upload.blob_name) {
            uploads.push(upload);
        }
    }
    Ok((customizers, uploads))
}

fn upload_of(script: &ScriptStep, os: OsType, scripts_dir: &Path) -> Result<ScriptUpload, ScriptError> {
    let local_path = scripts_dir.join(&script.script);
    let content =
        std::fs::read(&local_path).map_err(|source| ScriptError::Read { path: local_path.clone(), source })?;
    let sha256 = Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect();
    let blob_name = format!("{}/{}", os.lowercase(), script.script.replace('\\', "/"));
    Ok(ScriptUpload { local_path, blob_name, sha256, bytes: content.len() as u64 })
}

fn customizer_for(script: &ScriptStep, os: OsType, uri: String, sha256: String) -> Customizer {
    let name = Some(script.name.clone().unwrap_or_else(|| script.script.clone()));
    match os {
        OsType::Linux => Customizer::Shell { name, script_uri: Some(uri), sha256_checksum: Some(sha256), inline: None },
        OsType::Windows => Customizer::PowerShell {
            name,
            script_uri: Some(uri),
            sha256_checksum: Some(sha256),
            inline: None,
            run_elevated: script.run_elevated,
            run_as_system: script.run_as_system,
            valid_exit_codes: script.valid_exit_codes.clone(),
        },
    }
}
