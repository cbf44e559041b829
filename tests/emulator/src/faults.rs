//! Deterministic fault injection on ARM routes.
//!
//! Every ARM request (operation-status polls included) draws one [`Decision`] from a seeded generator,
//! in arrival order, so a given seed and request order always yields the same faults. The token endpoint
//! and the `/_emulator` admin routes never draw.
//!
//! Faults:
//! - **429**: `Retry-After: 1` and an ARM error body (`SubscriptionRequestsThrottled`);
//! - **5xx**: 500 `InternalServerError` or 503 `ServiceUnavailable` (with `Retry-After: 1`), ARM error body;
//! - **drop**: the connection (HTTP/1.1) or stream (HTTP/2) is closed without any response;
//! - **slow**: the answer is delayed by `slow_ms`, then served normally;
//! - **lost**: a write (PUT, PATCH, DELETE, POST) is applied, and then its answer is lost: 500 / 503
//!   or a dropped connection instead of what the handler answered, as when Azure applies a write but
//!   the answer never reaches the client. A retry then meets the write's effect: the resource exists,
//!   an operation on it still runs, an assignment exists. Reads draw it too, and are served normally;
//! - **lro-fail**: an operation that starts a long-running operation ends `Failed` (see `arm::lro`).
//!
//! Caveats: the 429 / 5xx / drop faults reject the request before the handler runs, so their write
//! is not applied; **lost** is the fault of a write applied. Only one of 429 / 5xx / drop / slow /
//! lost hits a request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::arm::error::{error_body, json_response};
use crate::server::DropConnection;

/// Errors of fault settings.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    /// A rate outside 0..=1.
    #[error("fault rate {name} = {value} is not between 0 and 1")]
    RateOutOfRange { name: &'static str, value: f64 },
    /// 429 + 5xx + drop + slow + lost rates exceed 1: at most one of them can hit a request.
    #[error("the rates of 429, 5xx, drop, slow and lost add up to {0}, more than 1")]
    RatesExceedOne(f64),
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
}

/// Fault rates and seed (CLI flags, and the JSON of `POST /_emulator/faults`).
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSettings {
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    #[serde(rename = "seed")]
    pub fault_seed: u64,
    /// Share of ARM requests answered 429 Too Many Requests.
    #[arg(long = "fault-rate-429", default_value_t = 0.0, value_parser = parse_rate)]
    #[serde(rename = "rate429")]
    pub rate_429: f64,
    /// Share of ARM requests answered 500 or 503.
    #[arg(long = "fault-rate-5xx", default_value_t = 0.0, value_parser = parse_rate)]
    #[serde(rename = "rate5xx")]
    pub rate_5xx: f64,
    /// Share of ARM requests whose connection is closed without an answer.
    #[arg(long = "fault-rate-drop", default_value_t = 0.0, value_parser = parse_rate)]
    #[serde(rename = "rateDrop")]
    pub rate_drop: f64,
    /// Share of ARM requests answered late (after `--fault-slow-ms`).
    #[arg(long = "fault-rate-slow", default_value_t = 0.0, value_parser = parse_rate)]
    #[serde(rename = "rateSlow")]
    pub rate_slow: f64,
    /// Share of writes applied whose answer is lost (500 / 503 or a dropped connection).
    #[arg(long = "fault-rate-lost", default_value_t = 0.0, value_parser = parse_rate)]
    #[serde(rename = "rateLost", default)]
    pub rate_lost: f64,
    /// Share of long-running operations that end Failed.
    #[arg(long = "fault-rate-lro-fail", default_value_t = 0.0, value_parser = parse_rate)]
    #[serde(rename = "rateLroFail")]
    pub rate_lro_fail: f64,
    /// Delay of a slow answer, in milliseconds.
    #[arg(long = "fault-slow-ms", default_value_t = 2000)]
    #[serde(rename = "slowMs")]
    pub slow_ms: u64,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            fault_seed: 0,
            rate_429: 0.0,
            rate_5xx: 0.0,
            rate_drop: 0.0,
            rate_slow: 0.0,
            rate_lost: 0.0,
            rate_lro_fail: 0.0,
            slow_ms: 2000,
        }
    }
}

impl FaultSettings {
    /// Checks ranges and that the per-request rates add up to at most 1.
    pub fn validate(&self) -> Result<(), FaultError> {
        for (name, value) in [
            ("429", self.rate_429),
            ("5xx", self.rate_5xx),
            ("drop", self.rate_drop),
            ("slow", self.rate_slow),
            ("lost", self.rate_lost),
            ("lro-fail", self.rate_lro_fail),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultError::RateOutOfRange { name, value });
            }
        }
        let sum = self.rate_429 + self.rate_5xx + self.rate_drop + self.rate_slow + self.rate_lost;
        if sum > 1.0 + 1e-9 {
            return Err(FaultError::RatesExceedOne(sum));
        }
        Ok(())
    }
}

/// A partial update of [`FaultSettings`] (body of `POST /_emulator/faults`). A given seed restarts the
/// sequence; without a seed the sequence goes on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultUpdate {
    pub seed: Option<u64>,
    pub rate429: Option<f64>,
    pub rate5xx: Option<f64>,
    pub rate_drop: Option<f64>,
    pub rate_slow: Option<f64>,
    pub rate_lost: Option<f64>,
    pub rate_lro_fail: Option<f64>,
    pub slow_ms: Option<u64>,
}

/// What happens to the transport of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`.
    Throttle,
    /// 500 or 503.
    ServerError(u16),
    /// Close without a response.
    Drop,
    /// Answer after this delay.
    Slow(Duration),
    /// Apply a write, then answer this status (500 or 503) instead, or drop the connection (`None`).
    Lost(Option<u16>),
}

/// The draw for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// A transport fault, if any.
    pub fault: Option<Fault>,
    /// Whether a long-running operation started by this request ends Failed.
    pub fail_lro: bool,
}

/// SplitMix64: tiny, fast, and good enough for fault draws.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug)]
struct Inner {
    settings: FaultSettings,
    rng: SplitMix64,
    injected: Injected,
}

/// How many faults were injected since the start, by kind (`lost` counts writes only: a read
/// that draws it is served).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    pub throttled: u64,
    pub server_errors: u64,
    pub dropped: u64,
    pub slow: u64,
    pub lost: u64,
}

/// The shared fault generator.
#[derive(Debug)]
pub struct FaultInjector {
    inner: Mutex<Inner>,
}

impl FaultInjector {
    /// A generator at the start of the sequence of `settings.fault_seed`.
    pub fn new(settings: FaultSettings) -> Result<Self, FaultError> {
        settings.validate()?;
        let rng = SplitMix64(settings.fault_seed);
        Ok(FaultInjector { inner: Mutex::new(Inner { settings, rng, injected: Injected::default() }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings in force.
    pub fn settings(&self) -> FaultSettings {
        self.lock().settings.clone()
    }

    /// The faults injected so far.
    pub fn injected(&self) -> Injected {
        self.lock().injected
    }

    fn count(&self, fault: Fault) {
        let counts = &mut self.lock().injected;
        match fault {
            Fault::Throttle => counts.throttled += 1,
            Fault::ServerError(_) => counts.server_errors += 1,
            Fault::Drop => counts.dropped += 1,
            Fault::Slow(_) => counts.slow += 1,
            Fault::Lost(_) => counts.lost += 1,
        }
    }

    /// Applies a partial update; a seed restarts the sequence.
    pub fn update(&self, update: &FaultUpdate) -> Result<FaultSettings, FaultError> {
        let mut inner = self.lock();
        let mut s = inner.settings.clone();
        if let Some(v) = update.seed {
            s.fault_seed = v;
        }
        if let Some(v) = update.rate429 {
            s.rate_429 = v;
        }
        if let Some(v) = update.rate5xx {
            s.rate_5xx = v;
        }
        if let Some(v) = update.rate_drop {
            s.rate_drop = v;
        }
        if let Some(v) = update.rate_slow {
            s.rate_slow = v;
        }
        if let Some(v) = update.rate_lost {
            s.rate_lost = v;
        }
        if let Some(v) = update.rate_lro_fail {
            s.rate_lro_fail = v;
        }
        if let Some(v) = update.slow_ms {
            s.slow_ms = v;
        }
        s.validate()?;
        if update.seed.is_some() {
            inner.rng = SplitMix64(s.fault_seed);
        }
        inner.settings = s.clone();
        Ok(s)
    }

    /// Draws the decision of the next request. Always consumes three numbers, whatever the rates, so
    /// the sequence only depends on the seed and the number of requests before.
    pub fn decide(&self) -> Decision {
        let mut inner = self.lock();
        let (u, which, lro) = (inner.rng.next_f64(), inner.rng.next_u64(), inner.rng.next_f64());
        let s = &inner.settings;
        let bands = [
            (s.rate_429, Fault::Throttle),
            (s.rate_5xx, Fault::ServerError(if which % 2 == 0 { 500 } else { 503 })),
            (s.rate_drop, Fault::Drop),
            (s.rate_slow, Fault::Slow(Duration::from_millis(s.slow_ms))),
            (s.rate_lost, Fault::Lost([Some(500), Some(503), None][(which >> 1) as usize % 3])),
        ];
        let mut edge = 0.0;
        let mut fault = None;
        for (rate, f) in bands {
            edge += rate;
            if u < edge {
                fault = Some(f);
                break;
            }
        }
        Decision { fault, fail_lro: lro < s.rate_lro_fail }
    }
}

/// Response header that marks an injected 429 / 5xx answer (Resource Manager's front door
/// answers those for any operation; a swagger lists only its provider's codes).
pub const INJECTED_HEADER: &str = "x-emulator-injected-fault";

/// The answer of an injected 429 / 5xx, or `None` when the request goes on.
pub fn fault_response(fault: Fault, subscription: &str) -> Option<Response> {
    let (status, code, message) = match fault {
        Fault::Throttle => (
            StatusCode::TOO_MANY_REQUESTS,
            "SubscriptionRequestsThrottled",
            format!("Number of requests for subscription '{subscription}' exceeded the limit. Please try again after '1' seconds."),
        ),
        Fault::ServerError(503) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable (injected by the emulator). Please try again later.".to_string(),
        ),
        Fault::ServerError(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Encountered internal server error (injected by the emulator).".to_string(),
        ),
        Fault::Drop => {
            // The client never sees it (the connection drops); the traffic record says it was injected.
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(DropConnection);
            response.headers_mut().insert(INJECTED_HEADER, HeaderValue::from_static("true"));
            return Some(response);
        }
        Fault::Lost(Some(status)) => return fault_response(Fault::ServerError(status), subscription),
        Fault::Lost(None) => return fault_response(Fault::Drop, subscription),
        Fault::Slow(_) => return None,
    };
    let mut response = json_response(status, &error_body(code, &message, None));
    if status != StatusCode::INTERNAL_SERVER_ERROR {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response.headers_mut().insert(INJECTED_HEADER, HeaderValue::from_static("true"));
    Some(response)
}

/// Middleware: draws a [`Decision`], answers the fault or passes the request on with the decision in its
/// extensions (for `fail_lro`).
pub async fn inject(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let decision = app.faults.decide();
    request.extensions_mut().insert(decision);
    match decision.fault {
        None => next.run(request).await,
        Some(fault @ Fault::Slow(delay)) => {
            app.faults.count(fault);
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(fault @ Fault::Lost(_)) => {
            let write = matches!(request.method().as_str(), "PUT" | "PATCH" | "DELETE" | "POST");
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let answered = next.run(request).await;
            if !write {
                return answered;
            }
            app.faults.count(fault);
            tracing::debug!("{method} {path}: applied ({}), answer lost: {fault:?}", answered.status());
            fault_response(fault, &app.config.subscription_id).unwrap_or(answered)
        }
        Some(fault) => {
            app.faults.count(fault);
            tracing::debug!("{} {}: injected {fault:?}", request.method(), request.uri().path());
            fault_response(fault, &app.config.subscription_id).unwrap_or_else(|| StatusCode::OK.into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(seed: u64) -> FaultSettings {
        FaultSettings {
            fault_seed: seed,
            rate_429: 0.1,
            rate_5xx: 0.1,
            rate_drop: 0.1,
            rate_slow: 0.1,
            rate_lost: 0.1,
            rate_lro_fail: 0.3,
            slow_ms: 5,
        }
    }

    #[test]
    fn same_seed_same_sequence() {
        let a = FaultInjector::new(settings(42)).unwrap();
        let b = FaultInjector::new(settings(42)).unwrap();
        let sa: Vec<_> = (0..200).map(|_| a.decide()).collect();
        let sb: Vec<_> = (0..200).map(|_| b.decide()).collect();
        assert_eq!(sa, sb);
        assert!(sa.iter().any(|d| d.fault == Some(Fault::Throttle)));
        assert!(sa.iter().any(|d| d.fault == Some(Fault::Drop)));
        assert!(sa.iter().any(|d| matches!(d.fault, Some(Fault::Lost(Some(_))))));
        assert!(sa.iter().any(|d| d.fault == Some(Fault::Lost(None))));
        assert!(sa.iter().any(|d| d.fail_lro));
        assert!(sa.iter().any(|d| d.fault.is_none()));
    }

    #[test]
    fn different_seed_different_sequence() {
        let a = FaultInjector::new(settings(1)).unwrap();
        let b = FaultInjector::new(settings(2)).unwrap();
        let sa: Vec<_> = (0..100).map(|_| a.decide()).collect();
        let sb: Vec<_> = (0..100).map(|_| b.decide()).collect();
        assert_ne!(sa, sb);
    }

    #[test]
    fn zero_rates_never_fault() {
        let f = FaultInjector::new(FaultSettings::default()).unwrap();
        assert!((0..1000).all(|_| f.decide() == Decision::default()));
    }

    #[test]
    fn rates_roughly_respected() {
        let f = FaultInjector::new(settings(7)).unwrap();
        let n = 10_000;
        let throttled = (0..n).filter(|_| f.decide().fault == Some(Fault::Throttle)).count();
        assert!((800..1200).contains(&throttled), "{throttled}");
    }

    #[test]
    fn update_with_seed_restarts() {
        let f = FaultInjector::new(settings(9)).unwrap();
        let first: Vec<_> = (0..10).map(|_| f.decide()).collect();
        f.update(&FaultUpdate { seed: Some(9), ..Default::default() }).unwrap();
        let again: Vec<_> = (0..10).map(|_| f.decide()).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn invalid_rates_refused() {
        let mut s = settings(0);
        s.rate_429 = 0.9;
        assert!(matches!(s.validate(), Err(FaultError::RatesExceedOne(_))));
        s.rate_429 = 0.1;
        s.rate_lost = 0.7;
        assert!(matches!(s.validate(), Err(FaultError::RatesExceedOne(_))));
        s.rate_lost = 0.1;
        s.rate_429 = 1.5;
        assert!(matches!(s.validate(), Err(FaultError::RateOutOfRange { .. })));
        let f = FaultInjector::new(settings(0)).unwrap();
        assert!(f.update(&FaultUpdate { rate_drop: Some(2.0), ..Default::default() }).is_err());
        assert_eq!(f.settings(), settings(0));
    }
}
