//! `agentpool scaleset deploy|status`: the scale set that runs the agents, booting a pinned
//! gallery image version, with its NAT gateway.

use agentpool_core::agents::instances;
use agentpool_core::image::versions;
use agentpool_core::params::LoadedParameters;
use agentpool_core::plan::{DesiredState, Stage};
use agentpool_core::resources::{gallery_image, scale_set};

use crate::deploy::{self, Azure};
use crate::Failure;

/// The image definition's id.
pub fn definition_id(loaded: &LoadedParameters, subscription: &str) -> String {
    gallery_image::id_of(subscription, &loaded.parameters)
}

/// The scale set's id, when the parameters describe one.
pub fn scale_set_id(loaded: &LoadedParameters, subscription: &str) -> Option<String> {
    scale_set::id_of(subscription, &loaded.parameters)
}

/// The image version the scale set should boot: `given` (a version id, or a version number of
/// the definition), else the definition's newest published version.
pub async fn image_to_boot(
    azure: &Azure,
    loaded: &LoadedParameters,
    subscription: &str,
    given: Option<&str>,
) -> Result<String, Failure> {
    let definition = definition_id(loaded, subscription);
    if let Some(given) = given {
        return Ok(if given.starts_with('/') { given.to_owned() } else { format!("{definition}/versions/{given}") });
    }
    versions::newest(&azure.client, &definition)
        .await
        .map_err(|e| Failure::Operation(e.to_string()))?
        .ok_or_else(|| {
            Failure::Usage(format!(
                "image definition {} has no published image version yet — build one first (agentpool image build, or up --scope all)",
                loaded.parameters.image_definition.name
            ))
        })
}

/// Plans and applies the scale-set stage; prints the ids of what exists afterwards.
pub async fn deploy(azure: &Azure, desired: &DesiredState, parallelism: usize) -> Result<(), Failure> {
    if desired.find(&scale_set::KIND).is_none() {
        return Err(Failure::Usage(format!(
            "{} describes no scale set — add the scaleSet parameter",
            desired.parameters_file
        )));
    }
    let writes_before = azure.client.counts().snapshot().writes();
    let converged = deploy::converge(&azure.client, &azure.blobs, desired, Stage::ScaleSet, None, parallelism).await?;
    for resource in converged.present() {
        println!("{}", resource.id);
    }
    if let Some(set) = desired.find(&scale_set::KIND) {
        crate::progress::output("scaleSetId", &set.id);
        if let Some(image) = instances::model_image(&set.body) {
            crate::progress::output("scaleSetImage", image);
        }
    }
    eprintln!(
        "scale set: {} of {} resources changed, {} writes to Azure, {:.1} s",
        converged.report.written.len(),
        converged.plan.actions.len(),
        azure.client.counts().snapshot().writes() - writes_before,
        converged.report.elapsed.as_secs_f64()
    );
    converged.result("scale set")
}

/// Prints each instance's image version, marking those behind the model; waits up to
/// `wait_minutes` for every instance to have the latest model.
pub async fn status(azure: &Azure, scale_set_id: &str, wait_minutes: Option<f64>) -> Result<(), Failure> {
    let deadline = wait_minutes.map(|m| std::time::Instant::now() + std::time::Duration::from_secs_f64(m * 60.0));
    loop {
        let live = azure
            .client
            .get(scale_set_id, scale_set::KIND.api_version)
            .await
            .map_err(|e| Failure::Operation(e.to_string()))?
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "scale set {scale_set_id} does not exist — agentpool scaleset deploy creates it"
                ))
            })?;
        let model = instances::model_image(&live).unwrap_or("?").to_owned();
        let list = instances::list(&azure.client, scale_set_id).await.map_err(|e| Failure::Operation(e.to_string()))?;
        let behind = list.iter().filter(|i| !i.latest_model_applied || !i.image.eq_ignore_ascii_case(&model)).count();
        let done = behind == 0;
        if done || deadline.is_none_or(|d| std::time::Instant::now() >= d) {
            println!(
                "scale set {}: model image {}, {} instances, {behind} behind the model",
                scale_set_id.rsplit('/').next().unwrap_or(scale_set_id),
                versions::number_of(&model).unwrap_or(&model),
                list.len()
            );
            for instance in &list {
                let mark = if instance.latest_model_applied && instance.image.eq_ignore_ascii_case(&model) {
                    ""
                } else {
                    "  (behind the model)"
                };
                let power = instance.power_state.as_deref().unwrap_or("?");
                println!("  instance {} [{power}]: image {}{mark}", instance.name, instance.version());
            }
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}
