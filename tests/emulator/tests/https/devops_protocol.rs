//! The emulated Azure DevOps' protocol as Microsoft's clients use it: the three credentials and the
//! answers to bad ones, api-versions in the query or only in `Accept` and their refusals, `OPTIONS`
//! resource discovery, the organization, and the double slash azure_devops_rust_api sends.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::devops_support::{basic, error};
use crate::support::Harness;

const PROJECTS: &str = "/_apis/projects?api-version=7.1";

#[tokio::test]
async fn three_credentials_and_the_refusals() {
    let h = Harness::default().await;
    let url = format!("{}{PROJECTS}", h.org_url());
    let ready = h.ready().clone();
    let pat = basic(&ready.devops_pat);
    let named_user = format!("Basic {}", base64_user("someone", &ready.devops_pat));
    let entra = format!("Bearer {}", h.token_for("499b84ac-1321-427f-aa17-267ca6975798/.default").await);
    let job = format!("Bearer {}", ready.devops_access_token);
    for (what, authorization) in
        [("PAT", &pat), ("PAT with a user name", &named_user), ("Entra token", &entra), ("job token", &job)]
    {
        let r = h.ado_with(Method::GET, &url, None, Some(authorization), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{what}: {:?}", r.body);
        assert_eq!(r.body["count"], 1, "{what}");
    }

    let r = h.ado_with(Method::GET, &url, None, Some(&basic("wrong-pat")), &[]).await;
    assert_eq!(
        (r.status, error(&r)),
        (
            StatusCode::UNAUTHORIZED,
            ("TF400813: The user '' is not authorized to access this resource.", "UnauthorizedRequestException")
        )
    );
    let challenges: Vec<String> =
        r.headers.get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(challenges.iter().any(|c| c.starts_with("Basic realm=")), "{challenges:?}");

    let arm = format!("Bearer {}", h.token);
    for (what, authorization) in
        [("no credentials", None), ("an ARM token", Some(arm.as_str())), ("garbage", Some("Bearer x.y.z"))]
    {
        let r = h.ado_with(Method::GET, &url, None, authorization, &[]).await;
        assert_eq!(r.status, StatusCode::NON_AUTHORITATIVE_INFORMATION, "{what}: a browser would sign in");
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{what}");
        let r = h.ado_with(Method::GET, &url, None, authorization, &[("X-TFS-FedAuthRedirect", "Suppress")]).await;
        assert_eq!(
            (r.status, error(&r).1),
            (StatusCode::UNAUTHORIZED, "UnauthorizedRequestException"),
            "{what}, suppressed"
        );
        assert!(r.header("x-tfs-fedauthredirect").is_some_and(|u| u.contains("/_signin")), "{what}");
    }
    let patch = format!("{}/_apis/distributedtask/elasticpools/10?api-version=7.1", h.org_url());
    let r = h.ado_with(Method::PATCH, &patch, None, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "PATCH is never redirected");
    h.stop().await;
}

fn base64_user(user: &str, pat: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pat}"))
}

#[tokio::test]
async fn api_versions_in_the_query_or_the_accept_header() {
    let h = Harness::default().await;
    let pat = basic(&h.ready().devops_pat);
    let base = format!("{}/_apis/distributedtask/elasticpools", h.org_url());
    for version in ["7.1", "7.1-preview", "7.1-preview.1", "7.2-preview.1", "6.1"] {
        let r = h.ado_with(Method::GET, &format!("{base}?api-version={version}"), None, Some(&pat), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {:?}", r.body);
        assert_eq!(
            r.header("content-type").unwrap(),
            format!("application/json; charset=utf-8; api-version={version}")
        );
        assert_eq!(r.body, serde_json::json!({"count": 0, "value": []}));
    }
    let accept = [("Accept", "application/json;api-version=7.1-preview.1")];
    let r = h.ado_with(Method::GET, &base, None, Some(&pat), &accept).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().ends_with("api-version=7.1-preview.1"), "the Accept header's version");
    let r =
        h.ado_with(Method::POST, &format!("{base}?poolName=p"), Some(serde_json::json!({})), Some(&pat), &accept).await;
    assert_ne!(error(&r).1, "VssVersionNotSpecifiedException", "a write may carry its version in Accept only");
    let r = h.ado_with(Method::GET, &base, None, Some(&pat), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "a read without version gets the released one");
    assert!(r.header("content-type").unwrap().ends_with("api-version=7.1"));

    let refusals = [
        (Method::POST, format!("{base}?poolName=p"), "No api-version was supplied for the \"POST\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. \"?api-version=1.0\").", "VssVersionNotSpecifiedException"),
        (Method::GET, format!("{base}?api-version=8.0"), "The requested REST API version of 8.0 is out of range for this server. The latest REST API version this server supports is 7.2.", "VssVersionOutOfRangeException"),
        (Method::GET, format!("{base}?api-version=7.2"), "The requested version \"7.2\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"7.2-preview\"", "VssInvalidPreviewVersionException"),
        (Method::GET, format!("{base}?api-version=latest"), "Invalid api version string: \"latest\". Api version string must be in the format: {Major}.{Minor}[-preview[.{ResourceVersion}]].", "VssInvalidApiResourceVersionException"),
        (Method::GET, format!("{base}?api-version=5.1"), "The following routes matched, but the requested REST API version 5.1 was outside the valid version ranges: distributedtask/elasticpools", "VssVersionOutOfRangeException"),
    ];
    for (method, url, message, key) in refusals {
        let r = h.ado_with(method, &url, Some(serde_json::json!({})), Some(&pat), &[]).await;
        assert_eq!((r.status, error(&r)), (StatusCode::BAD_REQUEST, (message, key)), "{url}");
    }
    h.stop().await;
}

#[tokio::test]
async fn options_discovers_resource_locations() {
    let h = Harness::default().await;
    let pat = basic(&h.ready().devops_pat);
    let r = h.ado_with(Method::OPTIONS, &format!("{}/_apis", h.org_url()), None, Some(&pat), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let all = r.body["value"].as_array().unwrap();
    assert_eq!(r.body["count"].as_u64(), Some(all.len() as u64));
    let elastic = all.iter().find(|l| l["id"] == "dd3c938f-835b-4971-b99a-db75a47aad43").expect("elasticpools");
    assert_eq!(
        (elastic["area"].as_str(), elastic["resourceName"].as_str()),
        (Some("distributedtask"), Some("elasticpools"))
    );
    assert_eq!(elastic["routeTemplate"], "_apis/{area}/{resource}/{poolId}");
    assert_eq!((elastic["releasedVersion"].as_str(), elastic["maxVersion"].as_str()), (Some("7.1"), Some("7.2")));
    for area in ["core", "serviceendpoint", "distributedtask"] {
        assert!(all.iter().any(|l| l["area"] == area), "{area}");
    }
    let r = h.ado_with(Method::OPTIONS, &format!("{}/_apis/DistributedTask", h.org_url()), None, Some(&pat), &[]).await;
    let area = r.body["value"].as_array().unwrap();
    assert!(area.iter().all(|l| l["area"] == "distributedtask") && area.len() == 6, "{:?}", r.body);
    let logs = area.iter().find(|l| l["resourceName"] == "elasticpoollogs").unwrap();
    assert_eq!(logs["routeTemplate"], "_apis/{area}/elasticpools/{poolId}/logs");
    let oidc = area.iter().find(|l| l["resourceName"] == "oidctoken").unwrap();
    assert_eq!(oidc["id"], "69a319f4-28c1-4bfd-93e6-ea0ff5c6f1a2");
    assert_eq!(oidc["minVersion"], "7.1");
    h.stop().await;
}

#[tokio::test]
async fn organizations_and_paths() {
    let h = Harness::default().await;
    let pat = basic(&h.ready().devops_pat);
    assert_eq!(h.ready().devops_url, format!("{}/contoso", h.ready().arm_endpoint));
    let endpoint = h.ready().arm_endpoint.clone();
    let r = h.ado_with(Method::GET, &format!("{endpoint}/fabrikam{PROJECTS}"), None, Some(&pat), &[]).await;
    assert_eq!(
        (r.status, error(&r)),
        (StatusCode::NOT_FOUND, ("TF400677: Host fabrikam does not exist.", "HostDoesNotExistException"))
    );
    let r = h.ado_with(Method::GET, &format!("{endpoint}//CONTOSO{PROJECTS}"), None, Some(&pat), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "a double slash and any case, as azure_devops_rust_api sends: {:?}", r.body);
    let r = h
        .ado_with(
            Method::GET,
            &format!("{endpoint}/contoso/_apis/wit/workitems?api-version=7.1"),
            None,
            Some(&pat),
            &[],
        )
        .await;
    assert_eq!((r.status, error(&r).1), (StatusCode::NOT_FOUND, "VssResourceNotFoundException"));
    let made = h.devops_admin(Method::POST, "/organizations", Some(serde_json::json!({"name": "fabrikam"}))).await;
    assert_eq!(made.status, StatusCode::OK);
    let r = h
        .ado_with(
            Method::GET,
            &format!("{endpoint}/fabrikam/_apis/distributedtask/pools?api-version=7.1"),
            None,
            Some(&pat),
            &[],
        )
        .await;
    let names: Vec<&str> = r.body["value"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Default", "Azure Pipelines"]);
    let arm = h.get(&h.sub("/resourcegroups?api-version=2024-07-01")).await;
    assert_eq!(arm.status, StatusCode::OK, "ARM is untouched: {:?}", arm.body);
    let value: Value = h.devops_admin(Method::GET, "/state", None).await.body;
    assert_eq!(value["organizations"].as_array().unwrap().len(), 2);
    h.stop().await;
}
