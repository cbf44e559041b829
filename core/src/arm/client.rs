//! [`ArmClient`]: GET, PUT, PATCH, DELETE, POST and paged lists of ARM resources as JSON, over one
//! azure_core pipeline (bearer token for the configured scope, retries, our transport).
//!
//! Resource kinds own their api-versions and body types; this client only moves JSON. Writes follow
//! long-running operations to their end ([`super::lro`]); lists follow `nextLink` with azure_core's
//! pager.
//!
//! # Caveats
//! - `id` is a path below the endpoint, `/subscriptions/…` or `/providers/…`; it may carry a query
//!   (`?$filter=…`) but not `api-version`, which is always the argument.
//! - `get` answers `None` for any 404, including `ResourceGroupNotFound` and
//!   `ParentResourceNotFound`: for planning, a resource under a missing parent does not exist.
//! - `delete` answers `Ok` for 404 and 204: already gone.
//! - A POST answered 5xx is retried by the pipeline like any request; ARM actions are expected to be
//!   idempotent (running an image template twice is refused by Image Builder, not repeated).

use super::{
    busy,
    config::{ArmConfig, PollConfig},
    error::ArmError,
    lro::{self, Completed, Operation},
    sender::{RequestCounts, Sender},
    transport::{self, TransportError},
};
use azure_core::{
    credentials::TokenCredential,
    http::{
        pager::{Page, Pager, PagerContinuation, PagerResult, PagerState},
        ClientOptions, Method, RawResponse, Response, StatusCode, Transport, Url,
    },
    Bytes,
};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// A client of Azure Resource Manager. Cheap to clone; clones share the connection pool, the token
/// cache and the request counts.
#[derive(Debug, Clone)]
pub struct ArmClient {
    sender: Sender,
    endpoint: Url,
    poll: PollConfig,
}

impl ArmClient {
    /// A client for `config` that authenticates with `credential`, over our transport.
    pub fn new(config: &ArmConfig, credential: Arc<dyn TokenCredential>) -> Result<Self, TransportError> {
        Ok(Self::with_options(config, credential, transport::client_options(config)?))
    }

    /// A client over given azure_core options (to share one transport between clients). The retry
    /// policy of `options` is used as is.
    pub fn with_options(config: &ArmConfig, credential: Arc<dyn TokenCredential>, options: ClientOptions) -> Self {
        Self {
            sender: Sender::new(options, credential, &config.token_scope),
            endpoint: config.endpoint.clone(),
            poll: config.poll.clone(),
        }
    }

    /// A client over a given transport, with the retry policy of `config` (tests use a scripted one).
    pub fn with_transport(config: &ArmConfig, credential: Arc<dyn TokenCredential>, transport: Transport) -> Self {
        Self::with_options(config, credential, transport::client_options_with(config, transport))
    }

    /// The ARM endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Requests sent so far, by method (shared by clones).
    pub fn counts(&self) -> &RequestCounts {
        self.sender.counts()
    }

    /// The URL of `id` with `api-version`.
    pub fn url(&self, id: &str, api_version: &str) -> Result<Url, ArmError> {
        let invalid = |reason: &str| ArmError::InvalidId { id: id.to_string(), reason: reason.to_string() };
        if !id.starts_with('/') || id.starts_with("//") {
            return Err(invalid("it must start with /subscriptions/ or /providers/"));
        }
        if api_version.trim().is_empty() {
            return Err(invalid("no api-version given"));
        }
        let (path, query) = id.split_once('?').unwrap_or((id, ""));
        if path.split('/').any(|segment| segment == "." || segment == "..") {
            return Err(invalid("it contains . or .. segments"));
        }
        if query.split('&').any(|pair| pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("api-version"))) {
            return Err(invalid("the api-version is given separately"));
        }
        let mut url = self.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url.set_query((!query.is_empty()).then_some(query));
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    /// GETs a resource; `None` when ARM answers 404.
    pub async fn get(&self, id: &str, api_version: &str) -> Result<Option<Value>, ArmError> {
        Ok(self.get_with_retry_after(id, api_version).await?.map(|(body, _)| body))
    }

    /// GETs a resource along with the interval the answer asks a poller to wait (`Retry-After`,
    /// `retry-after-ms`), if it names one; `None` when ARM answers 404.
    pub async fn get_with_retry_after(
        &self,
        id: &str,
        api_version: &str,
    ) -> Result<Option<(Value, Option<std::time::Duration>)>, ArmError> {
        let url = self.url(id, api_version)?;
        let response = self.sender.send(Method::Get, &url, None).await?;
        let (status, headers, body) = response.deconstruct();
        if status == StatusCode::NotFound {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(ArmError::from_response(Method::Get, &url, status, &headers, &body));
        }
        let retry_after = lro::retry_after(&headers);
        parse_json(Method::Get, &url, &body).map(|b| Some((b, retry_after)))
    }

    /// PUTs a resource, waits for the operation to end and returns the resource as ARM has it then.
    pub async fn put(&self, id: &str, api_version: &str, body: &Value) -> Result<Value, ArmError> {
        self.write(Method::Put, id, api_version, body).await
    }

    /// PATCHes a resource, waits for the operation to end and returns the resource as ARM has it then.
    pub async fn patch(&self, id: &str, api_version: &str, body: &Value) -> Result<Value, ArmError> {
        self.write(Method::Patch, id, api_version, body).await
    }

    /// DELETEs a resource and waits until it is gone; a resource already gone (404, 204) is `Ok`.
    pub async fn delete(&self, id: &str, api_version: &str) -> Result<(), ArmError> {
        let url = self.url(id, api_version)?;
        let operation = Operation { method: Method::Delete, url: url.clone(), body: None };
        match lro::run(&self.sender, &self.poll, operation).await {
            Ok(_) => Ok(()),
            Err(ArmError::Status { status: StatusCode::NotFound, url: answered, .. }) if answered == url => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// POSTs an action (e.g. `…/imageTemplates/t/run`), waits for it to end and returns its result,
    /// if it has one.
    pub async fn post(&self, path: &str, api_version: &str, body: Option<&Value>) -> Result<Option<Value>, ArmError> {
        let url = self.url(path, api_version)?;
        let body = body.map(|b| Bytes::from(b.to_string()));
        let Completed { body, .. } =
            lro::run(&self.sender, &self.poll, Operation { method: Method::Post, url, body }).await?;
        Ok(body)
    }

    /// POSTs an action and returns once ARM has accepted it (200/202), without following the
    /// operation: for actions that run long and are watched another way (an image build's
    /// `run`, followed through the template's `lastRunStatus`).
    pub async fn post_no_wait(&self, path: &str, api_version: &str) -> Result<(), ArmError> {
        let url = self.url(path, api_version)?;
        let body = Bytes::from_static(b"{}");
        let response = self.sender.send(Method::Post, &url, Some(&body)).await?;
        let (status, headers, body) = response.deconstruct();
        if status.is_success() {
            Ok(())
        } else {
            Err(ArmError::from_response(Method::Post, &url, status, &headers, &body))
        }
    }

    /// GETs a collection and every following page (`nextLink`); returns the `value` items in order.
    pub async fn list(&self, path: &str, api_version: &str) -> Result<Vec<Value>, ArmError> {
        let first = self.url(path, api_version)?;
        let sender = self.sender.clone();
        let start = first.clone();
        let pager: Pager<ListPage> = Pager::new(
            move |state: PagerState, _options| {
                let sender = sender.clone();
                let start = start.clone();
                Box::pin(async move { next_page(&sender, &start, state).await.map_err(lro::into_core) })
            },
            None,
        );
        pager.try_collect().await.map_err(|e| lro::from_core(Method::Get, &first, e))
    }

    /// PUT or PATCH; one that meets an operation still running on the resource waits for it and
    /// is sent again ([`busy`]).
    async fn write(&self, method: Method, id: &str, api_version: &str, body: &Value) -> Result<Value, ArmError> {
        let mut attempt = 1;
        loop {
            match self.write_once(method, id, api_version, body).await {
                Err(error) if attempt < busy::ATTEMPTS && busy::is_busy(&error) => {
                    busy::settle(self, &self.poll, id, api_version).await?;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn write_once(&self, method: Method, id: &str, api_version: &str, body: &Value) -> Result<Value, ArmError> {
        let url = self.url(id, api_version)?;
        let operation = Operation { method, url: url.clone(), body: Some(Bytes::from(body.to_string())) };
        match lro::run(&self.sender, &self.poll, operation).await?.body {
            Some(resource) => Ok(resource),
            None => match self.get(id, api_version).await? {
                Some(resource) => Ok(resource),
                None => Err(ArmError::InvalidResponse {
                    method,
                    url,
                    message: "the operation succeeded but the resource is not there (404)".to_string(),
                }),
            },
        }
    }
}

/// One page of an ARM list: `{"value": [...], "nextLink": "..."}`.
#[derive(Debug, Deserialize)]
struct ListPage {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

#[async_trait::async_trait]
impl Page for ListPage {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;

    async fn into_items(self) -> azure_core::Result<Self::IntoIter> {
        Ok(self.value.into_iter())
    }
}

async fn next_page(
    sender: &Sender,
    first: &Url,
    state: PagerState,
) -> Result<PagerResult<Response<ListPage>>, ArmError> {
    let url = match state {
        PagerState::Initial => first.clone(),
        PagerState::More(PagerContinuation::Link(url)) => url,
        PagerState::More(other) => lro::resolve_link(first, Method::Get, "nextLink", other.as_ref())?,
    };
    let response = sender.send(Method::Get, &url, None).await?;
    let (status, headers, body) = response.deconstruct();
    if !status.is_success() {
        return Err(ArmError::from_response(Method::Get, &url, status, &headers, &body));
    }
    let page: ListPage = serde_json::from_slice(&body).map_err(|e| ArmError::InvalidResponse {
        method: Method::Get,
        url: url.clone(),
        message: format!("the list page is not {{\"value\": [...]}}: {e}"),
    })?;
    let next = match page.next_link.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(link) => Some(lro::resolve_link(first, Method::Get, "nextLink", link)?),
    };
    let response: Response<ListPage> = RawResponse::from_bytes(status, headers, body).into();
    Ok(match next {
        Some(next) if next == url => {
            return Err(ArmError::InvalidResponse {
                method: Method::Get,
                url,
                message: "nextLink points to the same page".to_string(),
            })
        }
        Some(next) => PagerResult::More { response, continuation: PagerContinuation::Link(next) },
        None => PagerResult::Done { response },
    })
}

fn parse_json(method: Method, url: &Url, body: &[u8]) -> Result<Value, ArmError> {
    serde_json::from_slice(body).map_err(|e| ArmError::InvalidResponse {
        method,
        url: url.clone(),
        message: format!("the body is not JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::test_support::{client, Script};
    use serde_json::json;

    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000000";
    const GALLERY: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGalleryName";
    const TEMPLATE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.VirtualMachineImages/imageTemplates/myImageTemplate";
    const STORAGE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/res9101/providers/Microsoft.Storage/storageAccounts/sto4445";
    const ARM: &str = "https://management.azure.com";

    /// Gallery_Create.json (GalleryRP 2024-03-03), with the given provisioningState.
    fn gallery(state: &str) -> Value {
        json!({
            "id": GALLERY,
            "properties": {
                "description": "This is the gallery description.",
                "identifier": {"uniqueName": "00000000-0000-0000-0000-000000000000-MYGALLERYNAME"},
                "provisioningState": state
            },
            "location": "West US",
            "name": "myGalleryName"
        })
    }

    fn gallery_body() -> Value {
        json!({"location": "West US", "properties": {"description": "This is the gallery description."}})
    }

    #[tokio::test]
    async fn get_404_is_none_and_200_is_the_resource() {
        let script = Script::new();
        script.push_json(
            404,
            &[("x-ms-failure-cause", "gateway")],
            &json!({"error": {"code": "ResourceNotFound", "message": "The Resource 'Microsoft.Compute/galleries/myGalleryName' under resource group 'myResourceGroup' was not found."}}),
        );
        script.push_json(200, &[], &gallery("Succeeded"));
        let arm = client(&script);
        assert_eq!(arm.get(GALLERY, "2024-03-03").await.unwrap(), None);
        assert_eq!(arm.get(GALLERY, "2024-03-03").await.unwrap(), Some(gallery("Succeeded")));
        let requests = script.requests();
        assert_eq!(requests[0].line(), format!("GET {GALLERY}?api-version=2024-03-03"));
        assert_eq!(requests[0].authorization.as_deref(), Some("Bearer test-token"));
        assert_eq!(arm.counts().snapshot().get, 2);
        assert_eq!(arm.counts().writes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn put_201_with_async_operation_polls_then_gets_the_resource() {
        let operation = format!(
            "{ARM}{SUB}/providers/Microsoft.Compute/locations/westus/operations/7d0b4cc8?api-version=2024-03-03"
        );
        let script = Script::new();
        script
            .push_json(201, &[("Azure-AsyncOperation", &operation), ("Retry-After", "10")], &gallery("Creating"))
            .push_json(200, &[("Retry-After", "5")], &json!({"name": "7d0b4cc8", "status": "InProgress", "startTime": "2024-05-01T10:00:00Z"}))
            .push_json(200, &[], &json!({"name": "7d0b4cc8", "status": "Succeeded", "startTime": "2024-05-01T10:00:00Z", "endTime": "2024-05-01T10:00:20Z"}))
            .push_json(200, &[], &gallery("Succeeded"));
        let config = ArmConfig::new().with_retry(crate::arm::RetryConfig::fast());
        let arm =
            ArmClient::with_transport(&config, Arc::new(crate::arm::test_support::StaticToken), script.transport());
        let started = tokio::time::Instant::now();
        let resource = arm.put(GALLERY, "2024-03-03", &gallery_body()).await.unwrap();
        assert_eq!(resource, gallery("Succeeded"));
        // Retry-After honoured: 10 s before the first poll, 5 s before the second.
        assert_eq!(started.elapsed().as_secs(), 15);
        let op_path =
            format!("{SUB}/providers/Microsoft.Compute/locations/westus/operations/7d0b4cc8?api-version=2024-03-03");
        assert_eq!(
            script.lines(),
            [
                format!("PUT {GALLERY}?api-version=2024-03-03"),
                format!("GET {op_path}"),
                format!("GET {op_path}"),
                format!("GET {GALLERY}?api-version=2024-03-03"),
            ]
        );
        assert_eq!(serde_json::from_slice::<Value>(&script.requests()[0].body).unwrap(), gallery_body());
        let counts = arm.counts().snapshot();
        assert_eq!((counts.put, counts.get, counts.writes()), (1, 3, 1));
    }

    #[tokio::test]
    async fn put_202_with_location_returns_the_final_body() {
        let location = format!("{ARM}{SUB}/providers/Microsoft.Storage/locations/eastus/asyncoperations/3c8a?monitor=true&api-version=2023-05-01");
        let account = json!({
            "id": STORAGE, "kind": "Storage", "location": "eastus", "name": "sto4445",
            "sku": {"name": "Standard_GRS", "tier": "Standard"},
            "type": "Microsoft.Storage/storageAccounts",
            "properties": {"isHnsEnabled": true, "minimumTlsVersion": "TLS1_2", "provisioningState": "Succeeded"}
        });
        let script = Script::new();
        script
            .push(202, &[("Location", &location), ("Retry-After", "17")], "")
            .push(202, &[("Location", &location), ("Retry-After", "17")], "")
            .push_json(200, &[], &account);
        let arm = client(&script);
        let body = json!({"sku": {"name": "Standard_GRS"}, "kind": "Storage", "location": "eastus"});
        assert_eq!(arm.put(STORAGE, "2023-05-01", &body).await.unwrap(), account);
        assert_eq!(script.lines().len(), 3);
        assert!(script.lines()[1].starts_with("GET /subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Storage/locations/eastus/asyncoperations/3c8a?monitor=true"));
    }

    #[tokio::test]
    async fn put_201_with_provisioning_state_polls_the_resource() {
        let template = |state: &str| {
            json!({
                "id": TEMPLATE, "name": "myImageTemplate", "location": "westus",
                "type": "Microsoft.VirtualMachineImages/imageTemplates",
                "properties": {
                    "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"},
                    "customize": [{"type": "Shell", "name": "Shell Customizer Example", "scriptUri": "https://example.com/path/to/script.sh"}],
                    "distribute": [],
                    "provisioningState": state
                }
            })
        };
        let script = Script::new();
        script.push_json(201, &[], &template("Creating")).push_json(200, &[], &template("Creating")).push_json(
            200,
            &[],
            &template("Succeeded"),
        );
        let arm = client(&script);
        assert_eq!(arm.put(TEMPLATE, "2024-02-01", &template("Creating")).await.unwrap(), template("Succeeded"));
        assert_eq!(
            script.lines(),
            [
                format!("PUT {TEMPLATE}?api-version=2024-02-01"),
                format!("GET {TEMPLATE}?api-version=2024-02-01"),
                format!("GET {TEMPLATE}?api-version=2024-02-01"),
            ]
        );
    }

    #[tokio::test]
    async fn failed_operation_surfaces_code_and_message() {
        let operation = format!("{ARM}{SUB}/providers/Microsoft.VirtualMachineImages/locations/westus/operations/5b7e?api-version=2024-02-01");
        let script = Script::new();
        script
            .push(202, &[("Azure-AsyncOperation", &operation)], "")
            .push_json(200, &[], &json!({"name": "5b7e", "status": "Running"}))
            .push_json(200, &[], &json!({
                "name": "5b7e", "status": "Failed",
                "error": {"code": "ImageTemplateBuildFailed", "message": "Customizer 'Shell Customizer Example' failed: exit status 1."}
            }));
        let arm = client(&script);
        let err = arm.post(&format!("{TEMPLATE}/run"), "2024-02-01", None).await.unwrap_err();
        assert!(matches!(&err, ArmError::OperationFailed { state, .. } if state == "Failed"), "{err:?}");
        assert_eq!(err.code(), Some("ImageTemplateBuildFailed"));
        assert_eq!(
            err.to_string(),
            format!("POST {TEMPLATE}/run: operation Failed: ImageTemplateBuildFailed: Customizer 'Shell Customizer Example' failed: exit status 1.")
        );
        assert!(!err.is_usage());
    }

    #[tokio::test]
    async fn canceled_operation_is_a_failure() {
        let script = Script::new();
        script
            .push(202, &[("Azure-AsyncOperation", &format!("{ARM}{SUB}/operations/1?api-version=2024-02-01"))], "")
            .push_json(200, &[], &json!({"status": "Canceled", "error": {"code": "OperationCanceled", "message": "The build was canceled."}}));
        let err = client(&script).post(&format!("{TEMPLATE}/run"), "2024-02-01", None).await.unwrap_err();
        assert!(matches!(&err, ArmError::OperationFailed { state, .. } if state == "Canceled"), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_429_is_retried_after_retry_after() {
        let script = Script::new();
        script
            .push_json(
                429,
                &[("Retry-After", "20")],
                &json!({"error": {"code": "TooManyRequests", "message": "The request is being throttled."}}),
            )
            .push_json(200, &[], &gallery("Succeeded"));
        let arm = client(&script);
        let started = tokio::time::Instant::now();
        assert_eq!(arm.get(GALLERY, "2024-03-03").await.unwrap(), Some(gallery("Succeeded")));
        assert!(started.elapsed() >= std::time::Duration::from_secs(20), "{:?}", started.elapsed());
        assert_eq!(script.lines().len(), 2);
        assert_eq!(arm.counts().snapshot().get, 1, "one logical request");
    }

    #[tokio::test]
    async fn unavailable_twice_then_ok() {
        let script = Script::new();
        script
            .push(503, &[], "")
            .push_json(503, &[], &json!({"error": {"code": "ServiceUnavailable", "message": "Try again."}}))
            .push_json(200, &[], &gallery("Succeeded"));
        assert!(client(&script).get(GALLERY, "2024-03-03").await.unwrap().is_some());
        assert_eq!(script.lines().len(), 3);
    }

    #[tokio::test]
    async fn connection_errors_are_retried_then_reported() {
        let script = Script::new();
        script.push_connection_error().push_json(200, &[], &gallery("Succeeded"));
        assert!(client(&script).get(GALLERY, "2024-03-03").await.unwrap().is_some());

        let script = Script::new();
        for _ in 0..5 {
            script.push_connection_error();
        }
        let err = client(&script).get(GALLERY, "2024-03-03").await.unwrap_err();
        assert!(matches!(err, ArmError::Transport { .. }), "{err:?}");
        assert!(err.to_string().contains("no answer from Azure"), "{err}");
        assert_eq!(script.remaining(), 0, "1 try + 4 retries");
    }

    #[tokio::test]
    async fn arm_error_body_surfaces_in_display() {
        let script = Script::new();
        script.push_json(
            409,
            &[],
            &json!({"error": {"code": "GalleryNameConflict", "message": "The gallery name myGalleryName is already in use in subscription 00000000-0000-0000-0000-000000000000."}}),
        );
        let err = client(&script).put(GALLERY, "2024-03-03", &gallery_body()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("PUT {GALLERY}: 409 Conflict: GalleryNameConflict: The gallery name myGalleryName is already in use in subscription 00000000-0000-0000-0000-000000000000.")
        );
        assert!(err.is_usage());
    }

    #[tokio::test]
    async fn list_follows_next_link() {
        let images = format!("{GALLERY}/images");
        let image = |name: &str| {
            json!({
                "id": format!("{GALLERY}/images/{name}"), "name": name, "location": "West US",
                "properties": {"osType": "Windows", "osState": "Generalized", "hyperVGeneration": "V1",
                    "identifier": {"publisher": "myPublisherName", "offer": "myOfferName", "sku": name},
                    "provisioningState": "Succeeded"}
            })
        };
        let next = format!("{ARM}{images}?api-version=2024-03-03&$skiptoken=c2tpcA%3D%3D");
        let script = Script::new();
        script
            .push_json(200, &[], &json!({"value": [image("win2022"), image("win2019")], "nextLink": next}))
            .push_json(200, &[], &json!({"value": [image("ubuntu2204")]}));
        let arm = client(&script);
        let names: Vec<String> = arm
            .list(&images, "2024-03-03")
            .await
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["win2022", "win2019", "ubuntu2204"]);
        assert_eq!(
            script.lines(),
            [
                format!("GET {images}?api-version=2024-03-03"),
                format!("GET {images}?api-version=2024-03-03&$skiptoken=c2tpcA%3D%3D")
            ]
        );
    }

    #[tokio::test]
    async fn list_error_is_an_arm_error() {
        let script = Script::new();
        script.push_json(404, &[], &json!({"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'myResourceGroup' could not be found."}}));
        let err = client(&script).list(&format!("{GALLERY}/images"), "2024-03-03").await.unwrap_err();
        assert_eq!(err.code(), Some("ResourceGroupNotFound"));
    }

    #[tokio::test]
    async fn delete_waits_on_location_and_tolerates_gone() {
        let location = format!("{ARM}{SUB}/providers/Microsoft.VirtualMachineImages/locations/westus/operations/9a1f?api-version=2024-02-01");
        let script = Script::new();
        script
            .push(202, &[("Location", &location), ("Retry-After", "10")], "")
            .push(202, &[("Location", &location)], "")
            .push(204, &[], "")
            .push(204, &[], "")
            .push_json(404, &[], &json!({"error": {"code": "ResourceNotFound", "message": "gone"}}));
        let arm = client(&script);
        arm.delete(TEMPLATE, "2024-02-01").await.unwrap();
        arm.delete(TEMPLATE, "2024-02-01").await.unwrap();
        arm.delete(TEMPLATE, "2024-02-01").await.unwrap();
        assert_eq!(arm.counts().snapshot().delete, 3);
        assert_eq!(arm.counts().snapshot().get, 2);
    }

    #[tokio::test]
    async fn post_result_comes_from_location_after_async_operation() {
        let operation =
            format!("{ARM}{SUB}/providers/Microsoft.Compute/locations/westus/operations/aa?api-version=2024-07-01");
        let result = format!(
            "{ARM}{SUB}/providers/Microsoft.Compute/locations/westus/operations/aa/result?api-version=2024-07-01"
        );
        let script = Script::new();
        script
            .push(202, &[("Azure-AsyncOperation", &operation), ("Location", &result)], "")
            .push_json(200, &[], &json!({"status": "Succeeded"}))
            .push_json(200, &[], &json!({"instanceIds": ["0", "1"]}));
        let out = client(&script)
            .post(
                &format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/restart"),
                "2024-07-01",
                Some(&json!({"instanceIds": ["0", "1"]})),
            )
            .await
            .unwrap();
        assert_eq!(out, Some(json!({"instanceIds": ["0", "1"]})));

        let script = Script::new();
        script.push(204, &[], "");
        let out = client(&script).post(&format!("{TEMPLATE}/cancel"), "2024-02-01", None).await.unwrap();
        assert_eq!(out, None);
    }

    #[tokio::test]
    async fn patch_answered_synchronously() {
        let script = Script::new();
        let tagged = json!({"id": TEMPLATE, "name": "myImageTemplate", "tags": {"new-tag": "new-value"}, "properties": {"provisioningState": "Succeeded"}});
        script.push_json(200, &[], &tagged);
        let arm = client(&script);
        assert_eq!(
            arm.patch(TEMPLATE, "2024-02-01", &json!({"tags": {"new-tag": "new-value"}})).await.unwrap(),
            tagged
        );
        assert_eq!(arm.counts().snapshot().patch, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_never_ends_times_out() {
        let operation = format!("{ARM}{SUB}/operations/slow?api-version=2024-02-01");
        let script = Script::new();
        script.push(202, &[("Azure-AsyncOperation", &operation), ("Retry-After", "60")], "");
        let poll = PollConfig { timeout: std::time::Duration::from_secs(30), ..PollConfig::default() };
        let config = ArmConfig::new().with_poll(poll);
        let arm =
            ArmClient::with_transport(&config, Arc::new(crate::arm::test_support::StaticToken), script.transport());
        let err = arm.post(&format!("{TEMPLATE}/run"), "2024-02-01", None).await.unwrap_err();
        assert!(matches!(err, ArmError::TimedOut { .. }), "{err:?}");
        assert!(err.to_string().contains("still running after 30s"), "{err}");
    }

    #[test]
    fn urls() {
        let script = Script::new();
        let arm = client(&script);
        assert_eq!(
            arm.url(&format!("{GALLERY}/images?$filter=name eq 'x'"), "2024-03-03").unwrap().as_str(),
            format!("{ARM}{GALLERY}/images?$filter=name%20eq%20%27x%27&api-version=2024-03-03")
        );
        assert!(matches!(arm.url("subscriptions/x", "2024-03-03"), Err(ArmError::InvalidId { .. })));
        assert!(matches!(arm.url("/subscriptions/../x", "2024-03-03"), Err(ArmError::InvalidId { .. })));
        assert!(matches!(arm.url("/subscriptions/x?api-version=1", "2024-03-03"), Err(ArmError::InvalidId { .. })));

        let config = ArmConfig::new().with_endpoint("https://127.0.0.1:8443/arm/").unwrap();
        let arm =
            ArmClient::with_transport(&config, Arc::new(crate::arm::test_support::StaticToken), script.transport());
        assert_eq!(
            arm.url("/subscriptions/s/resourcegroups/rg", "2024-07-01").unwrap().as_str(),
            "https://127.0.0.1:8443/arm/subscriptions/s/resourcegroups/rg?api-version=2024-07-01"
        );
    }
}
