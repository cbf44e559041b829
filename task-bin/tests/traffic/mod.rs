//! Every exchange a session recorded, validated with oav against the official swagger of its
//! resource provider.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::local_azure::Session;
use crate::support;

/// Every recorded exchange validates against its official swagger with oav.
pub fn validate(session: &Session) {
    let mut by_spec: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    for file in session.traffic_files() {
        let exchange = support::read_json(&file);
        let url = exchange["liveRequest"]["url"].as_str().unwrap_or_default().to_lowercase();
        // Polls of long-running operations go to status URLs that no resource provider's swagger
        // describes (ARM's async contract does); oav cannot match them to an operation.
        if url.contains("/operationresults/") || url.contains("/operationstatuses/") {
            continue;
        }
        let spec =
            SPECS.iter().find(|(marker, _)| url.contains(marker)).map(|(_, spec)| *spec).unwrap_or(RESOURCES_SPEC);
        by_spec.entry(spec).or_default().push(file);
    }
    let mut failures = Vec::new();
    for (spec, files) in &by_spec {
        let dir = session.dir.join("oav").join(spec.replace('/', "_"));
        let traffic = dir.join("traffic");
        std::fs::create_dir_all(&traffic).unwrap();
        for file in files {
            std::fs::copy(file, traffic.join(file.file_name().unwrap())).unwrap();
        }
        let run = support::run_oav_validate_traffic(&traffic, &support::azure_spec(spec), &dir.join("work"));
        let errors = run.report_errors();
        let undefined = run.undefined_operations();
        if run.exit_code != Some(0) || !errors.is_empty() || !undefined.is_empty() {
            failures.push(format!(
                "{spec} ({} exchanges): exit {:?}, errors {errors:#?}, unmatched {undefined:#?}, output in {}",
                files.len(),
                run.exit_code,
                run.output_path.display()
            ));
        }
    }
    assert!(by_spec.len() >= 6, "traffic covers only {:?}", by_spec.keys().collect::<Vec<_>>());
    assert!(failures.is_empty(), "oav found problems:\n{}", failures.join("\n"));
}

const RESOURCES_SPEC: &str = "resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json";
/// First match wins: a role assignment on a storage account is an authorization exchange.
const SPECS: &[(&str, &str)] = &[
    ("/microsoft.authorization/", "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json"),
    ("/blobservices/", "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/blob.json"),
    ("/microsoft.storage/", "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json"),
    ("/microsoft.managedidentity/", "msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json"),
    ("/microsoft.virtualmachineimages/", "imagebuilder/resource-manager/Microsoft.VirtualMachineImages/stable/2024-02-01/imagebuilder.json"),
    ("/microsoft.compute/", "compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2024-03-03/gallery.json"),
];
