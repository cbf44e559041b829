//! Helpers for tests that read Microsoft's official specs.
//!
//! The specs stay outside the repository; tests find them through `AGENTPOOL_SPECS_DIR`,
//! defaulting to `../shared/specs` beside the workspace, and fail when they are missing.

use std::path::PathBuf;

/// Folder of the Image Builder 2024-02-01 examples, relative to the specs folder.
pub const IMAGEBUILDER_EXAMPLES: &str =
    "azure-rest-api-specs/specification/imagebuilder/resource-manager/Microsoft.VirtualMachineImages/stable/2024-02-01/examples";

/// The specs folder; panics with instructions when it does not exist.
pub fn specs_dir() -> PathBuf {
    let dir = std::env::var_os("AGENTPOOL_SPECS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs"));
    assert!(
        dir.is_dir(),
        "official specs not found at {}: set AGENTPOOL_SPECS_DIR to the shared specs folder",
        dir.display()
    );
    dir
}

/// Reads a JSON file, ignoring a UTF-8 byte order mark.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
