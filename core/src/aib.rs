//! Azure VM Image Builder model types (api-version 2024-02-01), shared by the parameter file and
//! the image template body.
//!
//! Field names and discriminators follow `imagebuilder.json` of the 2024-02-01 swagger, so a
//! customizer written for Image Builder can be pasted into a parameter file unchanged.
//! The one deliberate difference: a `SharedImageVersion` source also accepts the spelling
//! `imageVersionID` that existing parameter files use; it is always written back as the
//! swagger's `imageVersionId`.

use serde::{Deserialize, Serialize};

/// Base image of a build (`ImageTemplateSource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ImageSource {
    /// A marketplace image.
    #[serde(rename_all = "camelCase")]
    PlatformImage {
        publisher: String,
        offer: String,
        sku: String,
        /// `latest` or `x.y.z`.
        version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_info: Option<PlanInfo>,
    },
    /// A version in an Azure Compute Gallery, e.g. the previous build of the same definition.
    SharedImageVersion {
        #[serde(rename = "imageVersionId", alias = "imageVersionID")]
        image_version_id: String,
    },
    /// A managed image.
    #[serde(rename_all = "camelCase")]
    ManagedImage { image_id: String },
}

/// Marketplace purchase plan (`PlatformImagePurchasePlan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanInfo {
    pub plan_name: String,
    pub plan_product: String,
    pub plan_publisher: String,
}

/// A customization step of Image Builder (`ImageTemplateCustomizer` and its five kinds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Customizer {
    /// Runs a shell script (Linux).
    #[serde(rename_all = "camelCase")]
    Shell {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script_uri: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256_checksum: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inline: Option<Vec<String>>,
    },
    /// Runs a PowerShell script (Windows).
    #[serde(rename_all = "camelCase")]
    PowerShell {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script_uri: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256_checksum: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inline: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_elevated: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_as_system: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_exit_codes: Option<Vec<i64>>,
    },
    /// Downloads a file onto the build VM.
    #[serde(rename_all = "camelCase")]
    File {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        source_uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256_checksum: Option<String>,
        destination: String,
    },
    /// Restarts a Windows build VM.
    #[serde(rename_all = "camelCase")]
    WindowsRestart {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_command: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_check_command: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_timeout: Option<String>,
    },
    /// Installs Windows updates.
    #[serde(rename_all = "camelCase")]
    WindowsUpdate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        search_criteria: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filters: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update_limit: Option<i64>,
    },
}

impl Customizer {
    /// The swagger's discriminator value.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Shell { .. } => "Shell",
            Self::PowerShell { .. } => "PowerShell",
            Self::File { .. } => "File",
            Self::WindowsRestart { .. } => "WindowsRestart",
            Self::WindowsUpdate { .. } => "WindowsUpdate",
        }
    }

    /// The operating system the customizer runs on, if it runs on one only.
    ///
    /// Image Builder runs `Shell` on Linux only, and `PowerShell`, `WindowsRestart` and
    /// `WindowsUpdate` on Windows only; `File` runs on both.
    pub fn only_os(&self) -> Option<OsType> {
        match self {
            Self::Shell { .. } => Some(OsType::Linux),
            Self::PowerShell { .. } | Self::WindowsRestart { .. } | Self::WindowsUpdate { .. } => Some(OsType::Windows),
            Self::File { .. } => None,
        }
    }
}

/// Operating system of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OsType {
    Windows,
    Linux,
}

impl OsType {
    /// `windows` / `linux`: file names and Azure DevOps' spelling.
    pub fn lowercase(self) -> &'static str {
        match self {
            Self::Windows => "windows",
            Self::Linux => "linux",
        }
    }
}

impl std::fmt::Display for OsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Windows => "Windows",
            Self::Linux => "Linux",
        })
    }
}

impl ImageSource {
    /// The operating system a marketplace source certainly has, judged by its publisher and offer.
    ///
    /// Caveat: only well-known publishers are recognised; gallery and managed image sources
    /// cannot be judged without asking Azure, so they give `None`.
    pub fn known_os(&self) -> Option<OsType> {
        let Self::PlatformImage { publisher, offer, .. } = self else {
            return None;
        };
        let publisher = publisher.to_ascii_lowercase();
        let offer = offer.to_ascii_lowercase();
        const WINDOWS: &[&str] =
            &["microsoftwindowsserver", "microsoftwindowsdesktop", "microsoftvisualstudio", "microsoftsqlserver"];
        const LINUX: &[&str] =
            &["canonical", "redhat", "openlogic", "suse", "debian", "almalinux", "resf", "kinvolk", "oracle"];
        if WINDOWS.contains(&publisher.as_str()) || offer.starts_with("windows") {
            Some(OsType::Windows)
        } else if LINUX.contains(&publisher.as_str()) || offer.contains("ubuntu") {
            Some(OsType::Linux)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_version_id_with_capital_d_is_accepted_and_written_as_the_swagger_spells_it() {
        let source: ImageSource = serde_json::from_value(json!({
            "type": "SharedImageVersion",
            "imageVersionID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/0.24457.34028"
        }))
        .unwrap();
        let written = serde_json::to_value(&source).unwrap();
        assert_eq!(written["imageVersionId"], "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/0.24457.34028");
        assert!(written.get("imageVersionID").is_none());
    }

    #[test]
    fn every_official_example_template_round_trips_its_source_and_customizers() {
        let examples = crate::testing::specs_dir().join(crate::testing::IMAGEBUILDER_EXAMPLES);
        let mut customizers_seen = 0;
        for name in ["CreateImageTemplateLinux.json", "CreateImageTemplateWindows.json", "ListImageTemplatesByRg.json"]
        {
            let example = crate::testing::read_json(&examples.join(name));
            let mut templates: Vec<&serde_json::Value> =
                example.pointer("/parameters/parameters").into_iter().collect();
            if let Some(list) = example.pointer("/responses/200/body/value").and_then(|v| v.as_array()) {
                templates.extend(list);
            }
            for template in templates {
                let source = &template["properties"]["source"];
                if source["type"] != "ManagedImage" || source.get("imageId").is_some() {
                    let parsed: ImageSource = serde_json::from_value(source.clone()).unwrap();
                    assert_eq!(&serde_json::to_value(&parsed).unwrap(), source, "{name}");
                }
                for step in template["properties"]["customize"].as_array().into_iter().flatten() {
                    let customizer: Customizer = serde_json::from_value(step.clone()).unwrap();
                    assert_eq!(&serde_json::to_value(&customizer).unwrap(), step, "{name}");
                    customizers_seen += 1;
                }
            }
        }
        assert!(customizers_seen >= 5, "the official examples hold customizers of every kind");
    }

    #[test]
    fn marketplace_publishers_tell_the_os() {
        let ubuntu = ImageSource::PlatformImage {
            publisher: "Canonical".into(),
            offer: "0001-com-ubuntu-server-jammy".into(),
            sku: "22_04-lts-gen2".into(),
            version: "latest".into(),
            plan_info: None,
        };
        assert_eq!(ubuntu.known_os(), Some(OsType::Linux));
    }
}
