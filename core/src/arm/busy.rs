//! A write that meets an operation still running on its resource.
//!
//! When Azure applies a write but its answer is lost (a 5xx or a dropped connection after the
//! change), the retry can find the operation that write started still running. Some resource
//! providers take the new write, others refuse it with a 409 that is not the user's fault
//! (`AnotherOperationInProgress`, `OperationNotAllowed`, `RetryableError`, `Conflict`: see
//! [`ArmError::is_usage`]). Such a write waits until the resource shows a terminal
//! `provisioningState` (ARM's async contract: GETs of a resource report a non-terminal state while
//! its operation runs, `azure-resource-manager-rpc/v1.0/async-api-reference.md`), then is sent
//! again, [`ATTEMPTS`] times in all.
//!
//! Caveat: a resource kind without `provisioningState` is waited for one poll interval before
//! each new attempt.

use std::time::{Duration, Instant};

use azure_core::http::{Method, StatusCode};

use super::config::PollConfig;
use super::error::ArmError;
use super::lro::provisioning_state;
use super::ArmClient;

/// Attempts of one write that meets a running operation, the first included.
pub(crate) const ATTEMPTS: usize = 3;

/// Whether `error` says another operation on the resource still runs.
pub(crate) fn is_busy(error: &ArmError) -> bool {
    error.status() == Some(StatusCode::Conflict) && !error.is_usage()
}

/// Waits until `id` shows no operation running (a terminal or no `provisioningState`, or gone),
/// polling at `poll`'s interval; at least one interval when the resource never showed one.
pub(crate) async fn settle(client: &ArmClient, poll: &PollConfig, id: &str, api_version: &str) -> Result<(), ArmError> {
    let began = Instant::now();
    let mut waited = false;
    loop {
        let Some((resource, retry_after)) = client.get_with_retry_after(id, api_version).await? else { break };
        let running = provisioning_state(&resource)
            .is_some_and(|state| !["Succeeded", "Failed", "Canceled"].iter().any(|t| state.eq_ignore_ascii_case(t)));
        if !running && waited {
            break;
        }
        if began.elapsed() > poll.timeout {
            return Err(ArmError::TimedOut {
                method: Method::Get,
                resource: client.url(id, api_version)?,
                after: began.elapsed(),
            });
        }
        tokio::time::sleep(poll.interval(retry_after).max(Duration::from_millis(1))).await;
        waited = true;
        if !running {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::arm::test_support::{client, Script};
    use serde_json::{json, Value};

    const GATEWAY: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/natGateways/test-natgateway";

    fn gateway(state: &str) -> Value {
        json!({"id": GATEWAY, "name": "test-natgateway", "location": "westus", "sku": {"name": "Standard"},
               "properties": {"idleTimeoutInMinutes": 4, "provisioningState": state}})
    }

    fn in_progress() -> Value {
        json!({"error": {"code": "AnotherOperationInProgress", "message": "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Network/locations/westus/operations/8a1c2d3e?api-version=2024-05-01."}})
    }

    #[tokio::test(start_paused = true)]
    async fn a_put_that_meets_a_running_operation_waits_for_it_and_is_sent_again() {
        let script = Script::new();
        script
            .push_json(409, &[], &in_progress())
            .push_json(200, &[], &gateway("Updating"))
            .push_json(200, &[], &gateway("Succeeded"))
            .push_json(200, &[], &gateway("Succeeded"));
        let arm = client(&script);
        let put = arm.put(GATEWAY, "2024-05-01", &json!({"location": "westus", "sku": {"name": "Standard"}})).await;
        assert_eq!(put.unwrap(), gateway("Succeeded"));
        let lines: Vec<String> = script.lines().iter().map(|l| l.split(' ').next().unwrap().to_owned()).collect();
        assert_eq!(lines, ["PUT", "GET", "GET", "PUT"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_resource_that_stays_busy_fails_after_the_last_attempt_with_azures_error() {
        let script = Script::new();
        for _ in 0..super::ATTEMPTS - 1 {
            script.push_json(409, &[], &in_progress()).push_json(200, &[], &gateway("Succeeded"));
        }
        script.push_json(409, &[], &in_progress());
        let arm = client(&script);
        let error = arm.put(GATEWAY, "2024-05-01", &json!({"location": "westus"})).await.unwrap_err();
        assert_eq!(error.code(), Some("AnotherOperationInProgress"));
        assert!(!error.to_string().contains('\n'), "{error}");
        assert_eq!(script.remaining(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_that_is_the_users_is_not_retried() {
        let script = Script::new();
        script.push_json(409, &[], &json!({"error": {"code": "RoleAssignmentUpdateNotPermitted", "message": "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."}}));
        let arm = client(&script);
        let error = arm.put(GATEWAY, "2024-05-01", &json!({})).await.unwrap_err();
        assert!(error.is_usage(), "{error}");
        assert_eq!(script.lines().len(), 1);
    }
}
