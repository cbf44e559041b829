//! Azure DevOps' error answers: the status, and the body Azure DevOps' web tier writes for an exception
//! (`WrappedException`): `{"$id":"1","innerException":null,"message":…,"typeName":…,"typeKey":…,
//! "errorCode":0,"eventId":3000}`.
//!
//! Sources (Azure DevOps Server 2022 assemblies as decompiled in the public repository
//! mjwrona/decompiled, `source/<assembly>/…`, cited below as "decompiled"):
//! - body shape: `Microsoft.VisualStudio.Services.WebApi/…/WrappedException.cs`; `typeName` is
//!   `"{type full name}, {assembly name}"` and `typeKey` the type's name
//!   (`VssException.GetTypeNameAndKeyForExceptionType`), `eventId` 3000 (`VssException.DefaultExceptionEventId`);
//!   the same shape is quoted from dev.azure.com in microsoft/azure-devops-auth-samples#52 and
//!   microsoft/azure-pipelines-tasks#18732;
//! - statuses: `ElasticExceptionMapper` (service endpoint 400/404, scale set in use 409, elastic pool
//!   404), `DistributedTaskExceptionMapper` (pool/queue exists 409, not found 404, argument exceptions
//!   400), `TfsApiController` (api-version exceptions 400);
//! - messages: the assemblies' `.resx` files (`ElasticResources`, `TaskResources`, `WebApiResources`,
//!   `CommonResources`, Framework `Resources`) and the exception constructors.
//!
//! Caveats: argument exceptions carry .NET Framework's message suffixes (`\r\nParameter name: X`), as the
//! decompiled web tier runs on .NET Framework; the 404 for a route the emulator does not serve, the 405
//! and the refusal of a Flexible scale set are the emulator's (see each variant).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Assembly of Azure DevOps' distributed task web API types.
const DT_WEBAPI: &str = "Microsoft.TeamFoundation.DistributedTask.WebApi";
/// Assembly of the elastic pool service.
const ELASTIC: &str = "Microsoft.TeamFoundation.DistributedTask.Elastic";
/// Assembly of the versioning exceptions.
const VSS_WEBAPI: &str = "Microsoft.VisualStudio.Services.WebApi";

/// An error Azure DevOps answers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DevopsError {
    /// 400 `VssVersionNotSpecifiedException`: a write (POST, PUT, PATCH, DELETE) without api-version
    /// (`VersionedApiResourceConstraint.s_editVerbsRequiringVersion`; reads default to the latest version).
    #[error("No api-version was supplied for the \"{0}\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. \"?api-version=1.0\").")]
    VersionNotSpecified(String),
    /// 400 `VssInvalidApiResourceVersionException`: not `{major}.{minor}[-preview[.{n}]]`.
    #[error("Invalid api version string: \"{0}\". Api version string must be in the format: {{Major}}.{{Minor}}[-preview[.{{ResourceVersion}}]].")]
    InvalidApiVersion(String),
    /// 400 `VssVersionOutOfRangeException`: above the latest version the service knows.
    #[error("The requested REST API version of {requested} is out of range for this server. The latest REST API version this server supports is {latest}.")]
    VersionOutOfRange { requested: String, latest: String },
    /// 400 `VssVersionOutOfRangeException`: the route exists, not at this version (below its minimum).
    #[error("The following routes matched, but the requested REST API version {requested} was outside the valid version ranges: {routes}")]
    VersionOutOfRangeForRoutes { requested: String, routes: String },
    /// 400 `VssInvalidPreviewVersionException`: a version above the released one without `-preview`.
    #[error("The requested version \"{0}\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"{0}-preview\"")]
    PreviewRequired(String),
    /// 401 `UnauthorizedRequestException` (Framework `Resources.UnauthorizedUserError` with an empty user).
    #[error("TF400813: The user '' is not authorized to access this resource.")]
    Unauthorized,
    /// 404 `HostDoesNotExistException` (Framework `Resources.HostDoesNotExistException`): no such organization.
    #[error("TF400677: Host {0} does not exist.")]
    HostNotFound(String),
    /// 404 for a path the emulator does not serve (the emulator's choice; the text is `WebApiResources.RequestedResourceNotFound`).
    #[error("VSS045015: Requested resource '{0}' not found.")]
    NoRoute(String),
    /// 405 (ASP.NET Web API's own answer, `{"Message": …}`).
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// 400 `ArgumentNullException` (no body, no `poolName`).
    #[error("Value cannot be null.\r\nParameter name: {0}")]
    ArgumentNull(String),
    /// 400 `ArgumentOutOfRangeException` (`ArgumentUtility.CheckForOutOfRange`, `CommonResources.OutOfRange`).
    #[error(
        "The value {value} is outside of the allowed range.\r\nParameter name: {param}\r\nActual value was {value}."
    )]
    ArgumentOutOfRange { param: String, value: i64 },
    /// 400 `ArgumentException` with a message.
    #[error("{0}")]
    Argument(String),
    /// 409 `TaskAgentPoolExistsException` (`TaskResources.AgentPoolExists`).
    #[error("Agent pool {0} already exists.")]
    PoolExists(String),
    /// 409 `TaskAgentQueueExistsException` (`TaskResources.QueueExists`, the same words).
    #[error("Agent pool {0} already exists.")]
    QueueExists(String),
    /// 404 `TaskAgentPoolNotFoundException` (`TaskResources.AgentPoolNotFound`).
    #[error("No agent pool found with identifier {0}.")]
    PoolNotFound(i64),
    /// 404 `TaskAgentQueueNotFoundException` (`TaskResources.QueueNotFound`).
    #[error("No agent pool found with identifier {0}.")]
    QueueNotFound(i64),
    /// 404 `ElasticPoolDoesNotExistException` (`ElasticResources.ElasticPoolDoesNotExist`).
    #[error("Elastic pool not found with pool id {0}")]
    ElasticPoolNotFound(i64),
    /// 404 `ProjectDoesNotExistException` (`WebApiResources.ProjectDoesNotExist` of Core.WebApi). The status is
    /// an assumption: the distributed task mapper does not list it; the project routes answer 404.
    #[error("VS800075: The project with id '{0}' does not exist, or you do not have permission to access it.")]
    ProjectNotFound(String),
    /// 404 `ProjectDoesNotExistWithNameException` (`CSS_PROJECT_DOES_NOT_EXIST_NAME`; `ServerCoreApiController`: 404).
    #[error("TF200016: The following project does not exist: {0}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.")]
    ProjectNameNotFound(String),
    /// 404 `ServiceEndpointDoesNotExistException`: no endpoint with that id shared into that project.
    #[error("No Service Endpoint found with Id {id} and Scope {scope}")]
    ServiceEndpointNotFound { id: String, scope: String },
    /// 400 `InvalidServiceEndpointException`: the endpoint has no `tenantId` authorization parameter (not
    /// an AzureRM service principal endpoint; `ResourceServiceBase.GetMessageHandler`).
    #[error("Invalid Service Endpoint with Id {id} and Scope {scope}")]
    InvalidServiceEndpoint { id: String, scope: String },
    /// 409 `VirtualMachineScaleSetAlreadyTaggedForUseException`: the scale set carries another pool's
    /// `__AzureDevOpsElasticPool` tag with a timestamp under 240 minutes old (`ElasticPoolService.TagElasticPoolAsync`).
    #[error("The scale set can not be assigned to pool {new_pool} as it is already in use by pool {current_pool}.")]
    ScaleSetInUse { new_pool: String, current_pool: String },
    /// 500 `CloudException`: Azure Resource Manager refused Azure DevOps' read of the scale set (the message is
    /// ARM's); the elastic pool service does not map it (`ElasticExceptionMapper`), so it is a server error.
    #[error("{0}")]
    Cloud(String),
    /// 400 `ArgumentException`, the emulator's: Microsoft does not support Flexible orchestration for scale set
    /// agent pools ("we do not support VMSS with orchestration type Flexible to back an agent pool", quoted in
    /// microsoft/azure-pipelines-agent#4310), but Azure DevOps accepts such a pool and fails later
    /// (MicrosoftDocs/azure-devops-docs#13327 asks for an error at creation). The emulator refuses at once.
    #[error("The virtual machine scale set {0} uses Flexible orchestration. Scale set agent pools support Uniform orchestration only.")]
    FlexibleNotSupported(String),
    /// 404 `TaskOrchestrationPlanNotFoundException` (thrown by the decompiled plan controllers for an unknown
    /// plan; the wording is the emulator's): no such plan in the hub.
    #[error("No plan found for identifier {0}.")]
    PlanNotFound(String),
    /// 404 `TaskOrchestrationPlanNotFoundException` for a job the plan does not have (the emulator's wording).
    #[error("No job found with identifier {job} in plan {plan}.")]
    PlanJobNotFound { plan: String, job: String },
    /// 404 `ServiceEndpointNotFoundException` (`Microsoft.VisualStudio.Services.ServiceEndpoints.WebApi`, as
    /// decompiled): no service connection of that id shared into the project. The wording is Azure Pipelines'
    /// `PipelineStrings.ServiceEndpointNotFound`; the status is the emulator's choice.
    #[error("A service connection with name {0} could not be found. The service connection does not exist or has not been authorized for use. For authorization details, refer to https://aka.ms/yamlauthz.")]
    ServiceConnectionNotFound(String),
}

impl DevopsError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        use DevopsError::*;
        match self {
            VersionNotSpecified(_)
            | InvalidApiVersion(_)
            | VersionOutOfRange { .. }
            | VersionOutOfRangeForRoutes { .. }
            | PreviewRequired(_)
            | ArgumentNull(_)
            | ArgumentOutOfRange { .. }
            | Argument(_)
            | InvalidServiceEndpoint { .. }
            | FlexibleNotSupported(_) => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            HostNotFound(_)
            | NoRoute(_)
            | PoolNotFound(_)
            | QueueNotFound(_)
            | ElasticPoolNotFound(_)
            | ProjectNotFound(_)
            | ProjectNameNotFound(_)
            | ServiceEndpointNotFound { .. }
            | PlanNotFound(_)
            | PlanJobNotFound { .. }
            | ServiceConnectionNotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            PoolExists(_) | QueueExists(_) | ScaleSetInUse { .. } => StatusCode::CONFLICT,
            Cloud(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// `(namespace, type name, assembly)` of the .NET exception.
    fn exception_type(&self) -> (&'static str, &'static str, &'static str) {
        use DevopsError::*;
        let webapi = "Microsoft.VisualStudio.Services.WebApi";
        let framework = "Microsoft.TeamFoundation.Framework.Server";
        let core = "Microsoft.TeamFoundation.Core.WebApi";
        match self {
            VersionNotSpecified(_) => (webapi, "VssVersionNotSpecifiedException", VSS_WEBAPI),
            InvalidApiVersion(_) => (webapi, "VssInvalidApiResourceVersionException", VSS_WEBAPI),
            VersionOutOfRange { .. } | VersionOutOfRangeForRoutes { .. } => {
                (webapi, "VssVersionOutOfRangeException", VSS_WEBAPI)
            }
            PreviewRequired(_) => (webapi, "VssInvalidPreviewVersionException", VSS_WEBAPI),
            Unauthorized => (framework, "UnauthorizedRequestException", framework),
            HostNotFound(_) => (framework, "HostDoesNotExistException", framework),
            NoRoute(_) => (webapi, "VssResourceNotFoundException", VSS_WEBAPI),
            MethodNotAllowed(_) => ("System.Web.Http", "HttpResponseException", "System.Web.Http"),
            ArgumentNull(_) => ("System", "ArgumentNullException", "mscorlib"),
            ArgumentOutOfRange { .. } => ("System", "ArgumentOutOfRangeException", "mscorlib"),
            Argument(_) | FlexibleNotSupported(_) => ("System", "ArgumentException", "mscorlib"),
            PoolExists(_) => (DT_WEBAPI, "TaskAgentPoolExistsException", DT_WEBAPI),
            QueueExists(_) => (DT_WEBAPI, "TaskAgentQueueExistsException", DT_WEBAPI),
            PoolNotFound(_) => (DT_WEBAPI, "TaskAgentPoolNotFoundException", DT_WEBAPI),
            QueueNotFound(_) => (DT_WEBAPI, "TaskAgentQueueNotFoundException", DT_WEBAPI),
            ElasticPoolNotFound(_) => (DT_WEBAPI, "ElasticPoolDoesNotExistException", DT_WEBAPI),
            ProjectNotFound(_) => (core, "ProjectDoesNotExistException", core),
            ProjectNameNotFound(_) => (core, "ProjectDoesNotExistWithNameException", core),
            ServiceEndpointNotFound { .. } => (ELASTIC, "ServiceEndpointDoesNotExistException", ELASTIC),
            InvalidServiceEndpoint { .. } => (ELASTIC, "InvalidServiceEndpointException", ELASTIC),
            ScaleSetInUse { .. } => (ELASTIC, "VirtualMachineScaleSetAlreadyTaggedForUseException", ELASTIC),
            Cloud(_) => ("Microsoft.Rest.Azure", "CloudException", "Microsoft.Rest.ClientRuntime.Azure"),
            PlanNotFound(_) | PlanJobNotFound { .. } => {
                (DT_WEBAPI, "TaskOrchestrationPlanNotFoundException", DT_WEBAPI)
            }
            ServiceConnectionNotFound(_) => {
                let endpoints = "Microsoft.VisualStudio.Services.ServiceEndpoints.WebApi";
                (endpoints, "ServiceEndpointNotFoundException", endpoints)
            }
        }
    }

    /// `typeKey`: the exception's type name.
    pub fn type_key(&self) -> &'static str {
        self.exception_type().1
    }

    /// The body Azure DevOps writes.
    pub fn body(&self) -> Value {
        if let DevopsError::MethodNotAllowed(_) = self {
            return json!({ "Message": self.to_string() });
        }
        let (namespace, name, assembly) = self.exception_type();
        json!({
            "$id": "1",
            "innerException": null,
            "message": self.to_string(),
            "typeName": format!("{namespace}.{name}, {assembly}"),
            "typeKey": name,
            "errorCode": 0,
            "eventId": 3000,
        })
    }
}

/// A JSON response as Azure DevOps sends it (`application/json; charset=utf-8`, with the negotiated
/// api-version when known).
pub fn devops_json(status: StatusCode, body: &Value, api_version: Option<&str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let content_type = match api_version {
        Some(v) => format!("application/json; charset=utf-8; api-version={v}"),
        None => "application/json; charset=utf-8".to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(axum::http::header::CONTENT_TYPE, value);
    }
    response
}

impl IntoResponse for DevopsError {
    fn into_response(self) -> Response {
        devops_json(self.status(), &self.body(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_wrapped_exceptions() {
        let e = DevopsError::ScaleSetInUse { new_pool: "agents-b".into(), current_pool: "agents-a".into() };
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let body = e.body();
        assert_eq!(
            body["message"],
            "The scale set can not be assigned to pool agents-b as it is already in use by pool agents-a."
        );
        assert_eq!(
            body["typeName"],
            "Microsoft.TeamFoundation.DistributedTask.Elastic.VirtualMachineScaleSetAlreadyTaggedForUseException, Microsoft.TeamFoundation.DistributedTask.Elastic"
        );
        assert_eq!(body["typeKey"], "VirtualMachineScaleSetAlreadyTaggedForUseException");
        assert_eq!(
            (body["$id"].as_str(), body["errorCode"].as_i64(), body["eventId"].as_i64()),
            (Some("1"), Some(0), Some(3000))
        );
        assert!(body["innerException"].is_null());
    }

    #[test]
    fn messages_and_statuses() {
        let e = DevopsError::VersionNotSpecified("POST".into());
        assert!(e.to_string().starts_with("No api-version was supplied for the \"POST\" request."));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            DevopsError::InvalidApiVersion("seven".into()).to_string(),
            "Invalid api version string: \"seven\". Api version string must be in the format: {Major}.{Minor}[-preview[.{ResourceVersion}]]."
        );
        assert_eq!(DevopsError::PoolExists("p".into()).body()["typeKey"], "TaskAgentPoolExistsException");
        assert_eq!(DevopsError::Cloud("x".into()).status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            DevopsError::ArgumentNull("poolName".into()).body()["typeName"],
            "System.ArgumentNullException, mscorlib"
        );
        assert_eq!(
            DevopsError::MethodNotAllowed("PUT".into()).body()["Message"],
            "The requested resource does not support http method 'PUT'."
        );
    }

    #[test]
    fn response_carries_the_version() {
        let r = devops_json(StatusCode::OK, &json!({}), Some("7.1-preview.1"));
        assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8; api-version=7.1-preview.1");
    }
}
