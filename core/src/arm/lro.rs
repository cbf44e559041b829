//! Long-running operations: the ARM async contract
//! (`specs/azure-resource-manager-rpc/v1.0/async-api-reference.md`) on azure_core's
//! [`Poller`]. Every PUT, PATCH, DELETE and POST of the ARM client ends here; nothing else polls.
//!
//! How the first answer is read (first rule that applies):
//! 1. a 200/201/202 with `Azure-AsyncOperation`: GET that URL until its `status` is `Succeeded`,
//!    `Failed` or `Canceled` (other values mean running);
//! 2. a 202 with `Location`: GET that URL while it answers 202; 200/201/204 ends it, any other
//!    status is the operation's failure (for a DELETE, 404 means gone);
//! 3. a 202 with neither: PUT/PATCH poll the resource's `provisioningState`, DELETE polls the
//!    resource until 404, POST is taken as done;
//! 4. a 200/201 to PUT/PATCH whose body's `properties.provisioningState` is not terminal: GET the
//!    resource until it is (no provisioningState means `Succeeded`);
//! 5. anything else is already the end.
//!
//! The final result: PUT/PATCH return the resource, read with a GET of the resource after an
//! `Azure-AsyncOperation`, or when the last answer carried no body; POST returns what the
//! `Location` URL answers (after an `Azure-AsyncOperation` too, when the first answer had a
//! `Location`), else the status' `properties`, else nothing; DELETE returns nothing.
//! `Failed`/`Canceled` become [`ArmError::OperationFailed`] with the `error` of the status body.
//!
//! Waits honour `Retry-After` (seconds, or `retry-after-ms`), clamped by [`PollConfig`]. azure_core's
//! `Poller` sleeps for whatever this module returns; its one-second minimum only guards its own
//! default frequency, which is not used, so tests poll in milliseconds.
//!
//! # Caveats
//! - Polling URLs must be on the host of the request: a `Location`, `Azure-AsyncOperation` pointing
//!   elsewhere is refused ([`ArmError::InvalidResponse`]) rather than sent the ARM token. ARM's
//!   contract requires the same host.
//! - A `Location` on a 200/201 is not polled (some services point it at the resource itself).
//! - Each poll is one pipeline request, so a poll that fails transiently is retried by azure_core's
//!   retry policy before it fails the operation.
//! - [`PollConfig::timeout`] bounds one operation; the operation itself goes on in Azure.

use super::{config::PollConfig, error::ArmError, error::ErrorBody, sender::Sender, transport::to_time};
use azure_core::{
    http::{
        headers::{HeaderName, Headers, RETRY_AFTER, RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS},
        poller::{Poller, PollerContinuation, PollerResult, PollerState, PollerStatus, StatusMonitor},
        JsonFormat, Method, RawResponse, Response, StatusCode, Url,
    },
    time::OffsetDateTime,
    Bytes,
};
use serde::Deserialize;
use serde_json::Value;
use std::{
    future::IntoFuture,
    sync::{Arc, Mutex},
    time::Duration,
};

const AZURE_ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");
const LOCATION: HeaderName = HeaderName::from_static("location");

/// A request that may start a long-running operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// PUT, PATCH, DELETE or POST.
    pub method: Method,
    /// The resource (or action) URL, api-version included.
    pub url: Url,
    /// The JSON body, if any.
    pub body: Option<Bytes>,
}

/// A successful end.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Completed {
    /// Status of the last answer (200, 201 or 204; 204 when there is no body).
    pub status: StatusCode,
    /// The final JSON body, if any.
    pub body: Option<Value>,
}

/// Sends `operation` and follows it to its end.
pub(crate) async fn run(sender: &Sender, poll: &PollConfig, operation: Operation) -> Result<Completed, ArmError> {
    let method = operation.method;
    let resource = operation.url.clone();
    let lro = Arc::new(Lro { sender: sender.clone(), poll: poll.clone(), operation, state: Mutex::default() });
    let poller: Poller<Progress> = Poller::new(
        move |state, _options| {
            let lro = lro.clone();
            Box::pin(async move { lro.step(state).await.map_err(into_core) })
        },
        None,
    );
    let response = match tokio::time::timeout(poll.timeout, poller.into_future()).await {
        Err(_) => return Err(ArmError::TimedOut { method, resource, after: poll.timeout }),
        Ok(result) => result.map_err(|e| from_core(method, &resource, e))?,
    };
    let (status, _headers, body) = response.deconstruct();
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice::<Value>(&body).map_err(|e| ArmError::InvalidResponse {
            method,
            url: resource.clone(),
            message: format!("the final answer is not JSON: {e}"),
        })?)
    };
    Ok(Completed { status, body })
}

/// What the `Poller` yields while running: an operation status (`status`) or a resource
/// (`properties.provisioningState`), whichever the polled URL answers.
#[derive(Debug, Deserialize)]
pub(crate) struct Progress {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    properties: Option<ProgressProperties>,
}

#[derive(Debug, Deserialize)]
struct ProgressProperties {
    #[serde(default, rename = "provisioningState")]
    provisioning_state: Option<String>,
}

impl StatusMonitor for Progress {
    type Output = Value;
    type Format = JsonFormat;

    fn status(&self) -> PollerStatus {
        self.status
            .as_deref()
            .or(self.properties.as_ref().and_then(|p| p.provisioning_state.as_deref()))
            .map(PollerStatus::from)
            .unwrap_or_default()
    }
}

/// How the operation is being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    AsyncOperation,
    Location,
    ProvisioningState,
    UntilGone,
}

/// What one answer says.
#[derive(Debug, PartialEq)]
enum Step {
    /// Still running: GET `next` after `wait`.
    Poll { mode: Mode, next: Url, wait: Duration },
    /// Finished successfully.
    Done(Final),
}

/// Where the final result is.
#[derive(Debug, PartialEq)]
enum Final {
    /// In this answer.
    Answer { status: StatusCode, headers: Headers, body: Bytes },
    /// At this URL (GET).
    Get(Url),
    /// In this JSON (an operation status' `properties`).
    Json(Value),
    /// There is none.
    Nothing,
}

#[derive(Debug, Default)]
struct State {
    mode: Option<Mode>,
    /// The `Location` of the first answer (where a POST's result is).
    first_location: Option<Url>,
}

#[derive(Debug)]
struct Lro {
    sender: Sender,
    poll: PollConfig,
    operation: Operation,
    state: Mutex<State>,
}

type CoreResult<T> = azure_core::Result<T>;

impl Lro {
    async fn step(self: Arc<Self>, state: PollerState) -> Result<PollerResult<Progress>, ArmError> {
        let op = &self.operation;
        let (step, status, headers, body) = match state {
            PollerState::Initial => {
                let response = self.sender.send(op.method, &op.url, op.body.as_ref()).await?;
                let (status, headers, body) = response.deconstruct();
                let body = Bytes::from(body);
                if !status.is_success() {
                    return Err(ArmError::from_response(op.method, &op.url, status, &headers, &body));
                }
                let step = self.first(status, &headers, &body)?;
                (step, status, headers, body)
            }
            PollerState::More(PollerContinuation::Links { next_link, .. }) => {
                let mode = self.lock().mode.unwrap_or(Mode::ProvisioningState);
                let response = self.sender.send(Method::Get, &next_link, None).await?;
                let (status, headers, body) = response.deconstruct();
                let body = Bytes::from(body);
                let step = self.next(mode, &next_link, status, &headers, &body)?;
                (step, status, headers, body)
            }
            PollerState::More(other) => {
                return Err(ArmError::InvalidResponse {
                    method: op.method,
                    url: op.url.clone(),
                    message: format!("unsupported continuation {other}"),
                })
            }
        };
        // The poller only ever sees success statuses (a DELETE's 404 means done).
        let shown = if status.is_success() { status } else { StatusCode::NoContent };
        let response: Response<Progress> = RawResponse::from_bytes(shown, headers, body).into();
        match step {
            Step::Poll { mode, next, wait } => {
                self.lock().mode = Some(mode);
                Ok(PollerResult::InProgress {
                    response,
                    retry_after: to_time(wait),
                    continuation: PollerContinuation::Links { next_link: next, final_link: None },
                })
            }
            Step::Done(end) => {
                let lro = self.clone();
                Ok(PollerResult::Succeeded { response, target: Box::new(move || Box::pin(lro.fetch_final(end))) })
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the first answer (a success status).
    fn first(&self, status: StatusCode, headers: &Headers, body: &Bytes) -> Result<Step, ArmError> {
        let op = &self.operation;
        let async_operation = self.header_url(headers, &AZURE_ASYNC_OPERATION)?;
        let location = self.header_url(headers, &LOCATION)?;
        self.lock().first_location = location.clone();
        let wait = self.wait(headers);
        if status != StatusCode::NoContent {
            if let Some(next) = async_operation {
                return Ok(Step::Poll { mode: Mode::AsyncOperation, next, wait });
            }
        }
        if status == StatusCode::Accepted {
            if let Some(next) = location {
                return Ok(Step::Poll { mode: Mode::Location, next, wait });
            }
            return Ok(match op.method {
                Method::Put | Method::Patch => Step::Poll { mode: Mode::ProvisioningState, next: op.url.clone(), wait },
                Method::Delete => Step::Poll { mode: Mode::UntilGone, next: op.url.clone(), wait },
                _ => Step::Done(Final::Nothing),
            });
        }
        match op.method {
            Method::Put | Method::Patch => self.provisioning(status, headers, body, wait),
            Method::Delete => Ok(Step::Done(Final::Nothing)),
            _ => Ok(Step::Done(answer_or_nothing(status, headers, body))),
        }
    }

    /// Reads a polling answer.
    fn next(
        &self,
        mode: Mode,
        url: &Url,
        status: StatusCode,
        headers: &Headers,
        body: &Bytes,
    ) -> Result<Step, ArmError> {
        let op = &self.operation;
        let wait = self.wait(headers);
        match mode {
            Mode::AsyncOperation => {
                if !status.is_success() {
                    // A failure to read the status, not of the operation.
                    return Err(ArmError::from_response(Method::Get, url, status, headers, body));
                }
                let value = self.json(url, body)?;
                let Some(state) = value.get("status").and_then(Value::as_str) else {
                    return Err(ArmError::InvalidResponse {
                        method: Method::Get,
                        url: url.clone(),
                        message: "the operation status has no \"status\"".to_string(),
                    });
                };
                match PollerStatus::from(state) {
                    PollerStatus::Succeeded => Ok(Step::Done(self.after_async_operation(&value))),
                    PollerStatus::Failed | PollerStatus::Canceled => Err(self.failed(state, &value)),
                    _ => {
                        let next = self.header_url(headers, &AZURE_ASYNC_OPERATION)?.unwrap_or_else(|| url.clone());
                        Ok(Step::Poll { mode, next, wait })
                    }
                }
            }
            Mode::Location => match u16::from(status) {
                202 => {
                    let next = self.header_url(headers, &LOCATION)?.unwrap_or_else(|| url.clone());
                    Ok(Step::Poll { mode, next, wait })
                }
                200 | 201 | 204 => Ok(Step::Done(match op.method {
                    Method::Put | Method::Patch if body.iter().all(u8::is_ascii_whitespace) => {
                        Final::Get(op.url.clone())
                    }
                    Method::Delete => Final::Nothing,
                    _ => answer_or_nothing(status, headers, body),
                })),
                404 if op.method == Method::Delete => Ok(Step::Done(Final::Nothing)),
                _ => Err(ArmError::OperationFailed {
                    method: op.method,
                    resource: op.url.clone(),
                    state: "Failed".to_string(),
                    body: Box::new(ErrorBody::parse(status, headers, body)),
                }),
            },
            Mode::ProvisioningState => {
                if !status.is_success() {
                    return Err(ArmError::from_response(Method::Get, url, status, headers, body));
                }
                self.provisioning(status, headers, body, wait)
            }
            Mode::UntilGone => {
                if status == StatusCode::NotFound {
                    return Ok(Step::Done(Final::Nothing));
                }
                if !status.is_success() {
                    return Err(ArmError::from_response(Method::Get, url, status, headers, body));
                }
                let value = self.json(url, body)?;
                match provisioning_state(&value).map(PollerStatus::from) {
                    Some(PollerStatus::Failed) | Some(PollerStatus::Canceled) => {
                        Err(self.failed(provisioning_state(&value).unwrap_or_default(), &value))
                    }
                    _ => Ok(Step::Poll { mode, next: url.clone(), wait }),
                }
            }
        }
    }

    /// A PUT/PATCH answer or a GET of the resource: done unless provisioningState is not terminal.
    fn provisioning(
        &self,
        status: StatusCode,
        headers: &Headers,
        body: &Bytes,
        wait: Duration,
    ) -> Result<Step, ArmError> {
        let op = &self.operation;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Step::Done(Final::Get(op.url.clone())));
        }
        let value = self.json(&op.url, body)?;
        match provisioning_state(&value) {
            None => Ok(Step::Done(answer(status, headers, body))),
            Some(state) => match PollerStatus::from(state) {
                PollerStatus::Succeeded => Ok(Step::Done(answer(status, headers, body))),
                PollerStatus::Failed | PollerStatus::Canceled => Err(self.failed(state, &value)),
                _ => Ok(Step::Poll { mode: Mode::ProvisioningState, next: op.url.clone(), wait }),
            },
        }
    }

    fn after_async_operation(&self, status: &Value) -> Final {
        let op = &self.operation;
        match op.method {
            Method::Put | Method::Patch => Final::Get(op.url.clone()),
            Method::Delete => Final::Nothing,
            _ => match (self.lock().first_location.clone(), status.get("properties")) {
                (Some(location), _) => Final::Get(location),
                (None, Some(properties)) if !properties.is_null() => Final::Json(properties.clone()),
                (None, _) => Final::Nothing,
            },
        }
    }

    fn failed(&self, state: &str, value: &Value) -> ArmError {
        let op = &self.operation;
        let body = ErrorBody::from_value(value).unwrap_or_else(|| ErrorBody {
            code: format!("Operation{state}"),
            message: format!("the operation ended {state} without saying why"),
            ..ErrorBody::default()
        });
        ArmError::OperationFailed {
            method: op.method,
            resource: op.url.clone(),
            state: state.to_string(),
            body: Box::new(body),
        }
    }

    async fn fetch_final(self: Arc<Self>, end: Final) -> CoreResult<Response<Value, JsonFormat>> {
        let (status, headers, body) = match end {
            Final::Answer { status, headers, body } => (status, headers, body),
            Final::Nothing => (StatusCode::NoContent, Headers::new(), Bytes::new()),
            Final::Json(value) => (StatusCode::Ok, Headers::new(), Bytes::from(value.to_string())),
            Final::Get(url) => {
                let response = self.sender.send(Method::Get, &url, None).await.map_err(into_core)?;
                let (status, headers, body) = response.deconstruct();
                let body = Bytes::from(body);
                if !status.is_success() {
                    return Err(into_core(ArmError::from_response(Method::Get, &url, status, &headers, &body)));
                }
                (status, headers, body)
            }
        };
        Ok(RawResponse::from_bytes(status, headers, body).into())
    }

    fn json(&self, url: &Url, body: &Bytes) -> Result<Value, ArmError> {
        serde_json::from_slice(body).map_err(|e| ArmError::InvalidResponse {
            method: Method::Get,
            url: url.clone(),
            message: format!("the body is not JSON: {e}"),
        })
    }

    fn wait(&self, headers: &Headers) -> Duration {
        match precise_retry_after(headers) {
            Some(precise) => self.poll.precise_interval(precise),
            None => self.poll.interval(retry_after(headers)),
        }
    }

    /// A polling URL from a header, see [`resolve_link`].
    fn header_url(&self, headers: &Headers, name: &HeaderName) -> Result<Option<Url>, ArmError> {
        let op = &self.operation;
        match headers.get_optional_str(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(value) => resolve_link(&op.url, op.method, name.as_str(), value).map(Some),
        }
    }
}

/// A link ARM gave in answer to `method base` (`Location`, `Azure-AsyncOperation`, `nextLink`):
/// absolute, or relative to `base`, and on the host of `base` (the ARM token goes nowhere else).
pub(crate) fn resolve_link(base: &Url, method: Method, what: &str, value: &str) -> Result<Url, ArmError> {
    let url = base.join(value).map_err(|e| ArmError::InvalidResponse {
        method,
        url: base.clone(),
        message: format!("{what} {value:?} is not a URL: {e}"),
    })?;
    if url.origin() != base.origin() {
        return Err(ArmError::InvalidResponse {
            method,
            url: base.clone(),
            message: format!(
                "{what} points to another host ({}); the ARM token is only sent to {}",
                url.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            ),
        });
    }
    Ok(url)
}

fn answer(status: StatusCode, headers: &Headers, body: &Bytes) -> Final {
    Final::Answer { status, headers: headers.clone(), body: body.clone() }
}

fn answer_or_nothing(status: StatusCode, headers: &Headers, body: &Bytes) -> Final {
    if body.iter().all(u8::is_ascii_whitespace) {
        Final::Nothing
    } else {
        answer(status, headers, body)
    }
}

/// `properties.provisioningState`, or a top-level `provisioningState`.
pub(crate) fn provisioning_state(value: &Value) -> Option<&str> {
    value
        .get("properties")
        .and_then(|p| p.get("provisioningState"))
        .or_else(|| value.get("provisioningState"))
        .and_then(Value::as_str)
}

/// The server's `Retry-After` (`retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After` in seconds
/// or as an HTTP date), as azure_core reads it.
pub(crate) fn retry_after(headers: &Headers) -> Option<Duration> {
    azure_core::http::policies::get_retry_after(
        headers,
        OffsetDateTime::now_utc,
        &[RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS, RETRY_AFTER],
    )
    .map(|d| Duration::try_from(d).unwrap_or(Duration::ZERO))
}

/// `retry-after-ms` or `x-ms-retry-after-ms`, when the server gives one.
fn precise_retry_after(headers: &Headers) -> Option<Duration> {
    azure_core::http::policies::get_retry_after(
        headers,
        OffsetDateTime::now_utc,
        &[RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS],
    )
    .map(|d| Duration::try_from(d).unwrap_or(Duration::ZERO))
}

/// Carries an [`ArmError`] through azure_core's `Poller`/`Pager`.
pub(crate) fn into_core(error: ArmError) -> azure_core::Error {
    azure_core::Error::new(azure_core::error::ErrorKind::Other, error)
}

/// Takes back the [`ArmError`] that [`into_core`] carried (anything else is unexpected).
pub(crate) fn from_core(method: Method, url: &Url, error: azure_core::Error) -> ArmError {
    match error.into_downcast::<ArmError>() {
        Ok(arm) => arm,
        Err(other) => {
            ArmError::InvalidResponse { method, url: url.clone(), message: super::transport::error_chain(&other) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lro(method: Method) -> Lro {
        use crate::arm::test_support::{Script, StaticToken};
        let script = Script::new();
        let options = crate::arm::transport::client_options_with(&crate::arm::ArmConfig::new(), script.transport());
        Lro {
            sender: Sender::new(options, Arc::new(StaticToken), crate::arm::DEFAULT_SCOPE),
            poll: PollConfig::default(),
            operation: Operation {
                method,
                url: Url::parse("https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.VirtualMachineImages/imageTemplates/myImageTemplate?api-version=2024-02-01").unwrap(),
                body: None,
            },
            state: Mutex::default(),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.insert(*name, value.to_string());
        }
        headers
    }

    const OPERATION: &str = "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.VirtualMachineImages/locations/westus/operations/0f5c3a2e?api-version=2024-02-01";

    #[test]
    fn first_answer_with_async_operation_polls_it_after_retry_after() {
        let lro = lro(Method::Post);
        let step = lro
            .first(
                StatusCode::Accepted,
                &headers(&[("azure-asyncoperation", OPERATION), ("retry-after", "10")]),
                &Bytes::new(),
            )
            .unwrap();
        assert_eq!(
            step,
            Step::Poll {
                mode: Mode::AsyncOperation,
                next: Url::parse(OPERATION).unwrap(),
                wait: Duration::from_secs(10)
            }
        );
    }

    #[test]
    fn delete_200_or_204_with_location_is_already_done() {
        // NatGatewayDelete.json: 200 and 204 both carry a Location.
        let lro = lro(Method::Delete);
        for status in [StatusCode::Ok, StatusCode::NoContent] {
            let step = lro.first(status, &headers(&[("location", OPERATION)]), &Bytes::new()).unwrap();
            assert_eq!(step, Step::Done(Final::Nothing));
        }
        let step = lro.first(StatusCode::Accepted, &headers(&[("location", OPERATION)]), &Bytes::new()).unwrap();
        assert!(matches!(step, Step::Poll { mode: Mode::Location, wait, .. } if wait == Duration::from_secs(15)));
    }

    #[test]
    fn polling_urls_on_another_host_are_refused() {
        let lro = lro(Method::Delete);
        let err = lro
            .first(
                StatusCode::Accepted,
                &headers(&[("location", "https://attacker.example/operations/1?api-version=2024-02-01")]),
                &Bytes::new(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("points to another host (https://attacker.example)"), "{err}");
    }

    #[test]
    fn relative_location_is_resolved_against_the_request() {
        let lro = lro(Method::Delete);
        let step = lro
            .first(
                StatusCode::Accepted,
                &headers(&[("location", "/subscriptions/00000000-0000-0000-0000-000000000000/operationResults/1")]),
                &Bytes::new(),
            )
            .unwrap();
        let Step::Poll { next, .. } = step else { panic!("{step:?}") };
        assert_eq!(
            next.as_str(),
            "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/operationResults/1"
        );
    }

    #[test]
    fn provisioning_states() {
        let lro = lro(Method::Put);
        let creating = Bytes::from(r#"{"name":"myImageTemplate","properties":{"provisioningState":"Creating"}}"#);
        assert!(matches!(
            lro.first(StatusCode::Created, &Headers::new(), &creating).unwrap(),
            Step::Poll { mode: Mode::ProvisioningState, .. }
        ));
        let no_state = Bytes::from(r#"{"name":"myImageTemplate","properties":{}}"#);
        assert!(matches!(
            lro.first(StatusCode::Ok, &Headers::new(), &no_state).unwrap(),
            Step::Done(Final::Answer { .. })
        ));
        let failed = Bytes::from(
            r#"{"name":"myImageTemplate","properties":{"provisioningState":"Failed","provisioningError":{"provisioningErrorCode":"BadSourceType"}}}"#,
        );
        let err = lro.first(StatusCode::Ok, &Headers::new(), &failed).unwrap_err();
        assert!(matches!(&err, ArmError::OperationFailed { state, .. } if state == "Failed"), "{err}");
        assert_eq!(err.code(), Some("OperationFailed"));
        assert!(
            lro.first(StatusCode::Ok, &Headers::new(), &Bytes::new()).unwrap()
                == Step::Done(Final::Get(lro.operation.url.clone()))
        );
    }

    #[test]
    fn status_monitor_reads_either_shape() {
        let p: Progress = serde_json::from_str(r#"{"status":"InProgress"}"#).unwrap();
        assert_eq!(p.status(), PollerStatus::InProgress);
        let p: Progress = serde_json::from_str(r#"{"properties":{"provisioningState":"Succeeded"}}"#).unwrap();
        assert_eq!(p.status(), PollerStatus::Succeeded);
    }
}
