//! Token flow and ARM authentication.

use agentpool_emulator::entra::TokenIssuer;
use agentpool_emulator::Config;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{temp_dir, Harness, RG_API};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

#[tokio::test]
async fn token_flow() {
    let mut config = Config::for_tests();
    let traffic = temp_dir("traffic");
    config.traffic_dir = Some(traffic.clone());
    let h = Harness::start(config).await;
    let ready = h.ready().clone();

    let url = format!("{}/{}/v2.0/.well-known/openid-configuration", ready.authority_host, ready.tenant_id);
    let r = crate::support::read(h.http.get(url).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let base = format!("{}/{}", ready.authority_host, ready.tenant_id);
    assert_eq!(r.body["token_endpoint"], format!("{base}/oauth2/v2.0/token"));
    assert_eq!(r.body["authorization_endpoint"], format!("{base}/oauth2/v2.0/authorize"));
    assert_eq!(r.body["issuer"], format!("{base}/v2.0"));

    let r = h.token_request(&ready.client_secret, "https://management.azure.com/.default").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3599);
    assert_eq!(r.body["ext_expires_in"], 3599);
    let c = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(c["iss"], format!("https://sts.windows.net/{}/", ready.tenant_id));
    assert_eq!(c["aud"], "https://management.azure.com");
    assert_eq!(c["tid"], ready.tenant_id.as_str());
    assert_eq!(c["appid"], ready.client_id.as_str());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3600);
    let storage = claims(&h.token_for("https://storage.azure.com/.default").await);
    assert_eq!(storage["aud"], "https://storage.azure.com");

    let r = h.token_request("wrong", "https://management.azure.com/.default").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "invalid_client");
    assert_eq!(r.body["error_codes"], json!([7000215]));
    assert!(r.body["error_description"].as_str().unwrap().starts_with("AADSTS7000215:"));

    let r = h.token_request(&ready.client_secret, "https://management.azure.com/user_impersonation").await;
    assert_eq!((r.status, r.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let other = format!("{}/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token", ready.authority_host);
    let r =
        crate::support::read(h.http.post(other).form(&[("grant_type", "client_credentials")]).send().await.unwrap())
            .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error_codes"], json!([90002]));

    // Token exchanges are not ARM traffic: nothing recorded, no secret on disk.
    assert_eq!(std::fs::read_dir(&traffic).unwrap().count(), 0);
    h.stop().await;
    crate::support::cleanup(&[&traffic]);
}

#[tokio::test]
async fn arm_rejects_missing_forged_and_foreign_tokens() {
    let h = Harness::default().await;
    let url = h.url(&h.sub(&format!("/resourcegroups?api-version={RG_API}")));
    let ready = h.ready().clone();
    let expected_challenge =
        format!("Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\"", ready.authority_host, ready.tenant_id);

    let r = h.call_with(Method::GET, &url, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "AuthenticationFailed");
    assert!(r.header("www-authenticate").unwrap().starts_with(&expected_challenge));

    let forger = TokenIssuer::new(&ready.tenant_id, 3600);
    let (forged, _) = forger.issue(
        &ready.client_id,
        "https://management.azure.com",
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    let r = h.call_with(Method::GET, &url, None, Some(&forged)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
    assert!(r.header("www-authenticate").unwrap().starts_with(&expected_challenge));

    let storage = h.token_for("https://storage.azure.com/.default").await;
    let r = h.call_with(Method::GET, &url, None, Some(&storage)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "InvalidAuthenticationTokenAudience");

    let r = h.call_with(Method::GET, &url, None, Some(&h.token)).await;
    assert_eq!(r.status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test]
async fn expired_token_is_refused() {
    let mut config = Config::for_tests();
    config.token_lifetime_secs = 0;
    let h = Harness::start(config).await;
    let r = h.get(&h.sub(&format!("/resourcegroups?api-version={RG_API}"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "ExpiredAuthenticationToken");
    h.stop().await;
}
