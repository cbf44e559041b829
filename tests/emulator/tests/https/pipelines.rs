//! A pipeline task's Azure credentials: the job's OIDC token for a workload identity federation service
//! connection (`SYSTEM_OIDCREQUESTURI`), its exchange at Entra ID for an access token, and the task
//! environment of [`agentpool_emulator::ReadyInfo::task_vars`]. Requests are sent exactly as azure_identity
//! 1.0's `AzurePipelinesCredential` and `ClientAssertionCredential` send them.

use std::collections::BTreeMap;
use std::time::Duration;

use agentpool_emulator::{Config, TaskAuthScheme};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::devops_support::basic;
use crate::support::{read, Harness, Reply, RG_API};

const ARM_SCOPE: &str = "https://management.azure.com/.default";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

fn task_vars(h: &Harness, scheme: TaskAuthScheme) -> BTreeMap<String, String> {
    h.ready().task_vars(scheme, &h.ready().ca_file)
}

/// What `AzurePipelinesCredential` POSTs: `{SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=<id>`,
/// `X-TFS-FedAuthRedirect: Suppress`, an empty body.
async fn oidc_request(h: &Harness, uri: &str, connection: &str, authorization: Option<&str>) -> Reply {
    let url = format!("{uri}?api-version=7.1&serviceConnectionId={connection}");
    let mut request = h.http.post(url).header("x-tfs-fedauthredirect", "Suppress").header("content-length", "0");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    read(request.send().await.expect("oidc request")).await
}

/// The job's OIDC token for the task's connection, from the task environment.
async fn oidc_token(h: &Harness, vars: &BTreeMap<String, String>) -> String {
    let bearer = format!("Bearer {}", vars["SYSTEM_ACCESSTOKEN"]);
    let r =
        oidc_request(h, &vars["SYSTEM_OIDCREQUESTURI"], &vars["INPUT_CONNECTEDSERVICENAMEARM"], Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["oidcToken"].as_str().expect("oidcToken").to_string()
}

/// What `ClientAssertionCredential` POSTs to `{authority}{tenant}/oauth2/v2.0/token`.
async fn exchange(h: &Harness, vars: &BTreeMap<String, String>, client_id: &str, assertion: &str) -> Reply {
    let id = &vars["INPUT_CONNECTEDSERVICENAMEARM"];
    let authority = &vars[&format!("ENDPOINT_DATA_{id}_ENVIRONMENTAUTHORITYURL")];
    let tenant = &vars[&format!("ENDPOINT_AUTH_PARAMETER_{id}_TENANTID")];
    let form = [
        ("client_assertion", assertion),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_id", client_id),
        ("grant_type", "client_credentials"),
        ("scope", ARM_SCOPE),
    ];
    let url = format!("{authority}{tenant}/oauth2/v2.0/token");
    read(h.http.post(url).form(&form).send().await.expect("token request")).await
}

fn principal(vars: &BTreeMap<String, String>) -> String {
    vars[&format!("ENDPOINT_AUTH_PARAMETER_{}_SERVICEPRINCIPALID", vars["INPUT_CONNECTEDSERVICENAMEARM"])].clone()
}

fn entra_error(r: &Reply) -> (StatusCode, &str, i64, &str) {
    (
        r.status,
        r.body["error"].as_str().unwrap_or(""),
        r.body["error_codes"][0].as_i64().unwrap_or(0),
        r.body["error_description"].as_str().unwrap_or(""),
    )
}

async fn list_groups(h: &Harness, vars: &BTreeMap<String, String>, token: &str) -> Reply {
    let id = &vars["INPUT_CONNECTEDSERVICENAMEARM"];
    let url = format!(
        "{}subscriptions/{}/resourcegroups?api-version={RG_API}",
        vars[&format!("ENDPOINT_URL_{id}")],
        vars[&format!("ENDPOINT_DATA_{id}_SUBSCRIPTIONID")]
    );
    h.call_with(Method::GET, &url, None, Some(token)).await
}

#[tokio::test]
async fn task_environment_of_both_schemes() {
    let h = Harness::default().await;
    let ready = h.ready().clone();
    let sp = task_vars(&h, TaskAuthScheme::ServicePrincipal);
    let wif = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let (sp_id, wif_id) = (ready.service_connection.id.clone(), ready.wif_service_connection.id.clone());
    assert_ne!(sp_id, wif_id);
    assert_eq!(sp["INPUT_CONNECTEDSERVICENAMEARM"], sp_id);
    assert_eq!(sp[&format!("ENDPOINT_AUTH_SCHEME_{sp_id}")], "ServicePrincipal");
    assert_eq!(sp[&format!("ENDPOINT_AUTH_PARAMETER_{sp_id}_SERVICEPRINCIPALKEY")], ready.client_secret);
    assert_eq!(wif[&format!("ENDPOINT_AUTH_SCHEME_{wif_id}")], "WorkloadIdentityFederation");
    assert!(!wif.contains_key(&format!("ENDPOINT_AUTH_PARAMETER_{wif_id}_SERVICEPRINCIPALKEY")), "no secret");
    let collection = format!("{}/", ready.devops_url);
    for vars in [&sp, &wif] {
        let id = &vars["INPUT_CONNECTEDSERVICENAMEARM"];
        assert_eq!(vars[&format!("ENDPOINT_URL_{id}")], format!("{}/", ready.arm_endpoint));
        assert_eq!(vars[&format!("ENDPOINT_AUTH_PARAMETER_{id}_TENANTID")], ready.tenant_id);
        assert_eq!(vars[&format!("ENDPOINT_AUTH_PARAMETER_{id}_SERVICEPRINCIPALID")], ready.client_id);
        assert_eq!(vars[&format!("ENDPOINT_DATA_{id}_SUBSCRIPTIONID")], ready.subscription_id);
        assert_eq!(vars[&format!("ENDPOINT_DATA_{id}_ENVIRONMENTAUTHORITYURL")], format!("{}/", ready.authority_host));
        let auth: Value = serde_json::from_str(&vars[&format!("ENDPOINT_AUTH_{id}")]).unwrap();
        assert_eq!(auth["parameters"]["tenantid"], json!(ready.tenant_id));
        assert_eq!(vars["SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"], collection);
        assert_eq!(vars["ENDPOINT_URL_SYSTEMVSSCONNECTION"], collection);
        assert_eq!(vars["SYSTEM_ACCESSTOKEN"], ready.devops_access_token);
        assert_eq!(vars["ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"], ready.devops_access_token);
        assert_eq!((vars["SYSTEM_TEAMPROJECT"].as_str(), vars["TF_BUILD"].as_str()), ("platform", "True"));
        assert_eq!(vars["SYSTEM_TEAMPROJECTID"], h.project_id("platform").await);
        assert_eq!(vars["AGENTPOOL_CA_FILE"], ready.ca_file.display().to_string());
        assert_eq!(
            vars["SYSTEM_OIDCREQUESTURI"],
            format!(
                "{collection}{}/_apis/distributedtask/hubs/build/plans/{}/jobs/{}/oidctoken",
                vars["SYSTEM_TEAMPROJECTID"], ready.devops_plan_id, ready.devops_job_id
            )
        );
    }
    assert_eq!(wif["SYSTEM_OIDCREQUESTURI"], ready.oidc_request_uri);

    // The ServicePrincipal connection works with its secret, as a task would use it.
    let url = format!(
        "{}{}/oauth2/v2.0/token",
        sp[&format!("ENDPOINT_DATA_{sp_id}_ENVIRONMENTAUTHORITYURL")],
        ready.tenant_id
    );
    let form = [
        ("client_id", principal(&sp)),
        ("client_secret", sp[&format!("ENDPOINT_AUTH_PARAMETER_{sp_id}_SERVICEPRINCIPALKEY")].clone()),
        ("grant_type", "client_credentials".into()),
        ("scope", ARM_SCOPE.into()),
    ];
    let r = read(h.http.post(url).form(&form).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(claims(r.body["access_token"].as_str().unwrap())["appidacr"], "1");

    // Azure DevOps shows the WIF connection with the issuer and subject of its tokens.
    let r = h.ado(Method::GET, "/platform/_apis/serviceendpoint/endpoints?endpointNames=sc-agents-wif", None).await;
    let parameters = &r.body["value"][0]["authorization"]["parameters"];
    assert_eq!(r.body["value"][0]["authorization"]["scheme"], "WorkloadIdentityFederation");
    assert_eq!(parameters["workloadIdentityFederationIssuer"], json!(ready.wif_service_connection.issuer));
    assert_eq!(parameters["workloadIdentityFederationSubject"], "sc://contoso/platform/sc-agents-wif");
    assert_eq!(
        ready.wif_service_connection.issuer,
        format!("https://vstoken.dev.azure.com/{}", ready.devops_organization_id)
    );
    // ... and Entra's application of the principal has the matching federated credential.
    let r = h.admin(Method::GET, "/entra/applications", None).await;
    let app = r.body["value"].as_array().unwrap().iter().find(|a| a["clientId"] == json!(ready.client_id)).unwrap();
    assert_eq!(app["hasSecret"], true);
    assert_eq!(
        app["federatedCredentials"][0],
        json!({"name": format!("AzureDevOps-contoso-{wif_id}"), "issuer": ready.wif_service_connection.issuer,
               "subject": "sc://contoso/platform/sc-agents-wif", "audiences": ["api://AzureADTokenExchange"]})
    );
    h.stop().await;
}

#[tokio::test]
async fn oidc_token_claims_and_exchange() {
    let h = Harness::default().await;
    let ready = h.ready().clone();
    let vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let bearer = format!("Bearer {}", vars["SYSTEM_ACCESSTOKEN"]);
    let r = oidc_request(&h, &vars["SYSTEM_OIDCREQUESTURI"], &ready.wif_service_connection.id, Some(&bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.header("content-type").as_deref(), Some("application/json; charset=utf-8; api-version=7.1"));
    assert_eq!(r.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["oidcToken"]);
    let token = r.body["oidcToken"].as_str().unwrap().to_string();
    let c = claims(&token);
    assert_eq!(c["iss"], format!("https://vstoken.dev.azure.com/{}", ready.devops_organization_id));
    assert_eq!(c["sub"], "sc://contoso/platform/sc-agents-wif");
    assert_eq!(c["aud"], "api://AzureADTokenExchange");
    assert_eq!(c["org_id"], json!(ready.devops_organization_id));
    assert_eq!(c["prj_id"], json!(ready.wif_service_connection.project_id));
    assert!(uuid::Uuid::try_parse(c["jti"].as_str().unwrap()).is_ok());
    let (iat, exp, nbf) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap(), c["nbf"].as_i64().unwrap());
    assert_eq!((exp - iat, iat - nbf), (600, 600));
    assert!((iat - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 5);
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["typ"], "JWT");

    // Each request mints a new token.
    let again = oidc_token(&h, &vars).await;
    assert_ne!(claims(&again)["jti"], c["jti"]);

    // The token buys an ARM access token for the connection's principal, which ARM accepts.
    let r = exchange(&h, &vars, &principal(&vars), &token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["token_type"].as_str(), r.body["expires_in"].as_u64()), (Some("Bearer"), Some(3599)));
    let access = r.body["access_token"].as_str().unwrap().to_string();
    let a = claims(&access);
    assert_eq!((a["appid"].as_str(), a["appidacr"].as_str()), (Some(ready.client_id.as_str()), Some("2")));
    assert_eq!(a["aud"], "https://management.azure.com");
    assert_eq!(a["oid"], json!(ready.principal_id), "the principal holding the --caller-role assignments");
    assert_eq!(list_groups(&h, &vars, &access).await.status, StatusCode::OK);

    // A pipeline token without a service connection has the pipeline's subject.
    let url = format!("{}?api-version=7.1-preview.1", vars["SYSTEM_OIDCREQUESTURI"]);
    let r = h.ado_with(Method::POST, &url, Some(json!({})), Some(&bearer), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(claims(r.body["oidcToken"].as_str().unwrap())["sub"], "p://contoso/platform/agentpool");

    let counts = h.devops_admin(Method::GET, "/oidctokens", None).await.body;
    assert_eq!(counts["count"], 3);
    assert_eq!(counts["byServiceConnection"][&ready.wif_service_connection.id], 2);
    assert_eq!(counts["byServiceConnection"][""], 1);
    assert_eq!(counts["value"][0]["subject"], "sc://contoso/platform/sc-agents-wif");
    let tokens = h.admin(Method::GET, "/entra/tokens", None).await.body;
    assert_eq!(tokens["clients"][&ready.client_id]["clientAssertion"], 1);
    h.stop().await;
}

#[tokio::test]
async fn oidc_endpoint_refusals() {
    let h = Harness::default().await;
    let ready = h.ready().clone();
    let vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let (uri, wif) = (vars["SYSTEM_OIDCREQUESTURI"].clone(), ready.wif_service_connection.id.clone());
    let job = format!("Bearer {}", ready.devops_access_token);
    let error = |r: &Reply| (r.status, r.body["typeKey"].as_str().unwrap_or("").to_string());

    // Only the job token: a wrong one, none, the PAT or an Entra token for Azure DevOps are refused.
    let r = oidc_request(&h, &uri, &wif, Some("Bearer not-the-job-token")).await;
    assert_eq!(error(&r), (StatusCode::UNAUTHORIZED, "UnauthorizedRequestException".into()));
    assert!(r.header("x-tfs-fedauthredirect").is_some());
    let r = oidc_request(&h, &uri, &wif, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let url = format!("{uri}?api-version=7.1&serviceConnectionId={wif}");
    let r = h.ado_with(Method::POST, &url, None, Some("Bearer not-the-job-token"), &[]).await;
    assert_eq!(r.status, StatusCode::NON_AUTHORITATIVE_INFORMATION, "a sign-in page without Suppress");
    let r = oidc_request(&h, &uri, &wif, Some(&basic(&ready.devops_pat))).await;
    assert_eq!(error(&r), (StatusCode::UNAUTHORIZED, "UnauthorizedRequestException".into()));
    let entra = format!("Bearer {}", h.token_for("499b84ac-1321-427f-aa17-267ca6975798/.default").await);
    assert_eq!(oidc_request(&h, &uri, &wif, Some(&entra)).await.status, StatusCode::UNAUTHORIZED);
    // The job token as Basic password works, as PowerShell tasks send it.
    assert_eq!(oidc_request(&h, &uri, &wif, Some(&basic(&ready.devops_access_token))).await.status, StatusCode::OK);

    // Unknown, not shared or non-WIF connections.
    let r = oidc_request(&h, &uri, "6f1d3c1e-0000-4000-8000-000000000001", Some(&job)).await;
    assert_eq!(error(&r), (StatusCode::NOT_FOUND, "ServiceEndpointNotFoundException".into()));
    assert!(r.body["message"].as_str().unwrap().contains("could not be found"));
    let r = oidc_request(&h, &uri, &ready.service_connection.id, Some(&job)).await;
    assert_eq!(error(&r), (StatusCode::BAD_REQUEST, "ArgumentException".into()));
    h.devops_admin(Method::POST, "/projects", Some(json!({"name": "apps"}))).await;
    let apps = h.project_id("apps").await;
    let other = uri.replace(&ready.wif_service_connection.project_id, &apps);
    let r = oidc_request(&h, &other, &wif, Some(&job)).await;
    assert_eq!(error(&r), (StatusCode::NOT_FOUND, "ServiceEndpointNotFoundException".into()), "not shared into apps");

    // Another plan, job or hub; no api-version; not a POST.
    for wrong in [
        uri.replace(&ready.devops_plan_id, "0d0d0d0d-0000-4000-8000-000000000001"),
        uri.replace(&ready.devops_job_id, "0d0d0d0d-0000-4000-8000-000000000002"),
        uri.replace("/hubs/build/", "/hubs/rm/"),
    ] {
        let r = oidc_request(&h, &wrong, &wif, Some(&job)).await;
        assert_eq!(error(&r), (StatusCode::NOT_FOUND, "TaskOrchestrationPlanNotFoundException".into()), "{wrong}");
    }
    let r = h.ado_with(Method::POST, &format!("{uri}?serviceConnectionId={wif}"), None, Some(&job), &[]).await;
    assert_eq!(error(&r), (StatusCode::BAD_REQUEST, "VssVersionNotSpecifiedException".into()));
    let r = h
        .ado_with(Method::GET, &format!("{uri}?api-version=7.1&serviceConnectionId={wif}"), None, Some(&job), &[])
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = h.ado_with(Method::POST, &url, Some(json!(["claims"])), Some(&job), &[]).await;
    assert_eq!(error(&r), (StatusCode::BAD_REQUEST, "ArgumentException".into()));

    // Only the one good request above was counted.
    assert_eq!(h.devops_admin(Method::GET, "/oidctokens", None).await.body["count"], 1);
    h.stop().await;
}

#[tokio::test]
async fn federated_credential_mismatches_answer_aadsts70021() {
    let h = Harness::default().await;
    let ready = h.ready().clone();

    // A connection whose application's federated credential names another subject.
    let r = h
        .devops_admin(
            Method::POST,
            "/serviceendpoints",
            Some(json!({"project": "platform", "name": "sc-moved", "scheme": "WorkloadIdentityFederation",
                        "federatedSubject": "sc://contoso/platform/sc-before-rename"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let moved = r.body["id"].as_str().unwrap().to_string();
    let mut vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    vars.insert("INPUT_CONNECTEDSERVICENAMEARM".into(), moved.clone());
    let token = oidc_token(&h, &vars).await;
    assert_eq!(claims(&token)["sub"], "sc://contoso/platform/sc-moved");
    let wif_vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let r = exchange(&h, &wif_vars, &ready.client_id, &token).await;
    let issuer = &ready.wif_service_connection.issuer;
    let expected = format!(
        "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: 'sc://contoso/platform/sc-moved'. Assertion Audience: 'api://AzureADTokenExchange'."
    );
    let (status, error, code, description) = entra_error(&r);
    assert_eq!((status, error, code), (StatusCode::BAD_REQUEST, "invalid_request", 70021), "{:?}", r.body);
    assert!(description.starts_with(&expected), "{description}");
    assert!(description.contains("Trace ID: ") && description.contains("Correlation ID: "), "{description}");

    // A connection with its own principal, whose only credential (added through Entra's admin route) has
    // the wrong subject; once the right one is added the exchange works, removed it fails again.
    let r = h
        .devops_admin(
            Method::POST,
            "/serviceendpoints",
            Some(json!({"project": "platform", "name": "sc-own-app", "scheme": "WorkloadIdentityFederation",
                        "servicePrincipalId": "wif-app", "federatedCredential": false})),
        )
        .await;
    let own = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["authorization"]["parameters"]["serviceprincipalid"], "wif-app");
    let credential = |name: &str, subject: &str| json!({"name": name, "issuer": issuer, "subject": subject});
    let path = "/entra/applications/wif-app/federatedCredentials";
    let r = h.admin(Method::POST, path, Some(credential("wrong", "sc://contoso/platform/sc-other"))).await;
    assert_eq!(r.body["federatedCredentials"][0]["audiences"], json!(["api://AzureADTokenExchange"]));
    vars.insert("INPUT_CONNECTEDSERVICENAMEARM".into(), own.clone());
    let token = oidc_token(&h, &vars).await;
    assert_eq!(entra_error(&exchange(&h, &wif_vars, "wif-app", &token).await).2, 70021);
    h.admin(Method::POST, path, Some(credential("right", "sc://contoso/platform/sc-own-app"))).await;
    assert_eq!(exchange(&h, &wif_vars, "wif-app", &token).await.status, StatusCode::OK);
    assert_eq!(h.admin(Method::DELETE, &format!("{path}/right"), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.admin(Method::DELETE, &format!("{path}/right"), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(entra_error(&exchange(&h, &wif_vars, "wif-app", &token).await).2, 70021);

    // A connection whose workloadIdentityFederationSubject overrides the subject of its tokens.
    let r = h
        .devops_admin(
            Method::POST,
            "/serviceendpoints",
            Some(json!({"project": "platform", "name": "sc-custom", "scheme": "WorkloadIdentityFederation",
                        "workloadIdentityFederationSubject": "custom-subject"})),
        )
        .await;
    assert_eq!(r.body["authorization"]["parameters"]["workloadIdentityFederationSubject"], "custom-subject");
    vars.insert("INPUT_CONNECTEDSERVICENAMEARM".into(), r.body["id"].as_str().unwrap().to_string());
    let token = oidc_token(&h, &vars).await;
    assert_eq!(claims(&token)["sub"], "custom-subject");
    assert_eq!(exchange(&h, &wif_vars, &ready.client_id, &token).await.status, StatusCode::OK);

    let counts = h.admin(Method::GET, "/entra/tokens", None).await.body;
    assert_eq!(
        counts["clients"]["wif-app"],
        json!({"issued": 1, "clientSecret": 0, "clientAssertion": 1, "refused": 2})
    );
    assert_eq!(h.admin(Method::DELETE, "/entra/tokens", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.admin(Method::GET, "/entra/tokens", None).await.body, json!({"clients": {}}));
    let r = h
        .devops_admin(
            Method::POST,
            "/serviceendpoints",
            Some(json!({"project": "platform", "name": "x", "scheme": "Magic"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    h.stop().await;
}

#[tokio::test]
async fn other_assertion_refusals() {
    let h = Harness::default().await;
    let ready = h.ready().clone();
    let vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let token = oidc_token(&h, &vars).await;

    let r = exchange(&h, &vars, "nobody", &token).await;
    let (status, error, code, description) = entra_error(&r);
    assert_eq!((status, error, code), (StatusCode::BAD_REQUEST, "unauthorized_client", 700016));
    assert!(description.starts_with("AADSTS700016: Application with identifier 'nobody' was not found"));

    // Same claims, another signature: not issued by the emulator's Azure DevOps.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode([7u8; 32]);
    parts[2] = &forged;
    let r = exchange(&h, &vars, &ready.client_id, &parts.join(".")).await;
    let (status, error, code, _) = entra_error(&r);
    assert_eq!((status, error, code), (StatusCode::UNAUTHORIZED, "invalid_client", 700027), "{:?}", r.body);

    let r = exchange(&h, &vars, &ready.client_id, "not-a-jwt").await;
    assert_eq!((entra_error(&r).0, entra_error(&r).2), (StatusCode::BAD_REQUEST, 50027));

    // Neither secret nor assertion.
    let url = format!("{}/{}/oauth2/v2.0/token", ready.authority_host, ready.tenant_id);
    let form = [("client_id", ready.client_id.as_str()), ("grant_type", "client_credentials"), ("scope", ARM_SCOPE)];
    let r = read(h.http.post(&url).form(&form).send().await.unwrap()).await;
    assert_eq!((entra_error(&r).0, entra_error(&r).2), (StatusCode::UNAUTHORIZED, 7000216));
    h.stop().await;
}

#[tokio::test]
async fn expired_assertion_answers_aadsts700024() {
    let mut config = Config::for_tests();
    config.devops.oidc_token_lifetime_secs = 1;
    let h = Harness::start(config).await;
    let vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let token = oidc_token(&h, &vars).await;
    let exp = claims(&token)["exp"].as_i64().unwrap();
    while time::OffsetDateTime::now_utc().unix_timestamp() < exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = exchange(&h, &vars, &principal(&vars), &token).await;
    let (status, error, code, description) = entra_error(&r);
    assert_eq!((status, error, code), (StatusCode::UNAUTHORIZED, "invalid_client", 700024), "{:?}", r.body);
    let expiry = time::OffsetDateTime::from_unix_timestamp(exp).unwrap();
    let expiry = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.0000000Z",
        expiry.year(),
        u8::from(expiry.month()),
        expiry.day(),
        expiry.hour(),
        expiry.minute(),
        expiry.second()
    );
    assert!(
        description.starts_with("AADSTS700024: Client assertion is not within its valid time range. Current time: "),
        "{description}"
    );
    assert!(description.contains(&format!("expiry time of assertion {expiry}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")), "{description}");
    assert_eq!(r.body["error_uri"], "https://login.microsoftonline.com/error?code=700024");
    // A fresh token works.
    let fresh = oidc_token(&h, &vars).await;
    assert_eq!(exchange(&h, &vars, &principal(&vars), &fresh).await.status, StatusCode::OK);
    h.stop().await;
}

/// Short lifetimes: each access token expires within seconds, and a client getting a new one through a new
/// OIDC token each time keeps ARM access; the counters show one OIDC token and one assertion per refresh.
#[tokio::test]
async fn short_lifetimes_through_several_refreshes() {
    let mut config = Config::for_tests();
    config.devops.oidc_token_lifetime_secs = 2;
    config.token_lifetime_secs = 2;
    let h = Harness::start(config).await;
    let ready = h.ready().clone();
    let vars = task_vars(&h, TaskAuthScheme::WorkloadIdentityFederation);
    let connection = ready.wif_service_connection.id.clone();
    for round in 1..=3u64 {
        let oidc = oidc_token(&h, &vars).await;
        let r = exchange(&h, &vars, &principal(&vars), &oidc).await;
        assert_eq!(r.status, StatusCode::OK, "round {round}: {:?}", r.body);
        assert_eq!(r.body["expires_in"], 1);
        let access = r.body["access_token"].as_str().unwrap().to_string();
        assert_eq!(list_groups(&h, &vars, &access).await.status, StatusCode::OK, "round {round}");
        let exp = claims(&access)["exp"].as_i64().unwrap().max(claims(&oidc)["exp"].as_i64().unwrap());
        while time::OffsetDateTime::now_utc().unix_timestamp() < exp {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let r = list_groups(&h, &vars, &access).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "ExpiredAuthenticationToken"), "round {round}");
        let r = exchange(&h, &vars, &principal(&vars), &oidc).await;
        assert_eq!(entra_error(&r).2, 700024, "round {round}: the old OIDC token is spent");
        let counts = h.devops_admin(Method::GET, "/oidctokens", None).await.body;
        assert_eq!(counts["byServiceConnection"][&connection], round);
        let tokens = h.admin(Method::GET, "/entra/tokens", None).await.body;
        let client = &tokens["clients"][&ready.client_id];
        assert_eq!((client["clientAssertion"].as_u64(), client["refused"].as_u64()), (Some(round), Some(round)));
    }
    assert_eq!(h.devops_admin(Method::DELETE, "/oidctokens", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.devops_admin(Method::GET, "/oidctokens", None).await.body["count"], 0);
    h.stop().await;
}
