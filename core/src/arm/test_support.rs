//! Test doubles for the ARM client: a scripted azure_core `HttpClient`, a static token credential
//! and a throw-away certificate authority.

use super::{ArmClient, ArmConfig, PollConfig, RetryConfig};
use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    error::ErrorKind,
    http::{headers::Headers, AsyncRawResponse, HttpClient, Method, Request, StatusCode, Transport, Url},
    time::{Duration, OffsetDateTime},
};
use serde_json::Value;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

/// One scripted answer.
#[derive(Debug)]
enum Answer {
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    Fail(ErrorKind),
}

/// A request as the transport saw it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: Method,
    pub url: Url,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// `"GET /subscriptions/...?api-version=..."` without the host.
    pub fn line(&self) -> String {
        let query = self.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("{} {}{}", self.method, self.url.path(), query)
    }
}

/// Answers requests from a queue, in order, and records them. A request with no answer left fails
/// with a non-retried error naming it.
#[derive(Debug, Default)]
pub(crate) struct Script {
    answers: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<Recorded>>,
}

impl Script {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Queues an answer; header names are lowercased as reqwest delivers them.
    pub fn push(&self, status: u16, headers: &[(&str, &str)], body: &str) -> &Self {
        self.answers.lock().unwrap().push_back(Answer::Respond {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        });
        self
    }

    /// Queues a JSON answer.
    pub fn push_json(&self, status: u16, headers: &[(&str, &str)], body: &Value) -> &Self {
        self.push(status, headers, &body.to_string())
    }

    /// Queues a connection failure.
    pub fn push_connection_error(&self) -> &Self {
        self.answers.lock().unwrap().push_back(Answer::Fail(ErrorKind::Connection));
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The request lines, `METHOD path?query`.
    pub fn lines(&self) -> Vec<String> {
        self.requests().iter().map(Recorded::line).collect()
    }

    pub fn remaining(&self) -> usize {
        self.answers.lock().unwrap().len()
    }

    pub fn transport(self: &Arc<Self>) -> Transport {
        Transport::new(self.clone())
    }
}

#[async_trait::async_trait]
impl HttpClient for Script {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body: azure_core::Bytes = request.body().into();
        self.requests.lock().unwrap().push(Recorded {
            method: request.method(),
            url: request.url().clone(),
            authorization: request.headers().get_optional_string(&"authorization".into()),
            body: body.to_vec(),
        });
        let answer = self.answers.lock().unwrap().pop_front();
        match answer {
            Some(Answer::Respond { status, headers, body }) => {
                let mut response_headers = Headers::new();
                for (name, value) in headers {
                    response_headers.insert(name, value);
                }
                Ok(AsyncRawResponse::from_bytes(StatusCode::from(status), response_headers, body))
            }
            Some(Answer::Fail(kind)) => Err(azure_core::Error::with_message(kind, "connection refused (scripted)")),
            None => Err(azure_core::Error::with_message(
                ErrorKind::Other,
                format!("unscripted request {} {}", request.method(), request.url()),
            )),
        }
    }
}

/// Always the same token.
#[derive(Debug)]
pub(crate) struct StaticToken;

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://management.azure.com/.default"]);
        Ok(AccessToken::new("test-token", OffsetDateTime::now_utc() + Duration::hours(1)))
    }
}

/// A client of the public-cloud endpoint over the script, retrying and polling without waiting.
pub(crate) fn client(script: &Arc<Script>) -> ArmClient {
    let config = ArmConfig::new().with_retry(RetryConfig::fast()).with_poll(PollConfig::fast());
    ArmClient::with_transport(&config, Arc::new(StaticToken), script.transport())
}

/// A throw-away root CA that signs server certificates.
pub(crate) struct TestCa {
    pub cert_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert_pem: cert.pem(), issuer: rcgen::Issuer::new(params, key) }
    }

    /// A leaf certificate for `names` (DNS names or IP addresses) and its key, both DER.
    pub fn server_cert(&self, names: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, names[0]);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.der().to_vec(), key.serialize_der())
    }
}
