//! The api-version of an Azure DevOps request, negotiated as Azure DevOps' web tier does it
//! (`VersionedApiResourceConstraint` of the decompiled Framework.Server, see [`super::error`]):
//!
//! - read from the `api-version` query parameter, else from the `api-version` parameter of the `Accept`
//!   header (`application/json;api-version=7.1-preview.1`, as the .NET and Node clients send it);
//! - format `{major}.{minor}[-preview[.{resourceVersion}]]` (`7.1`, `7.1-preview`, `7.1-preview.1`; the last
//!   is what microsoft/azure-devops-node-api negotiates, `7.1-preview` what azure_devops_rust_api 0.39 sends);
//!   anything else is 400 `VssInvalidApiResourceVersionException`;
//! - missing: refused for POST, PUT, PATCH and DELETE (400 `VssVersionNotSpecifiedException`), a read is
//!   answered at the released version;
//! - above [`LATEST`]: 400 `VssVersionOutOfRangeException`; above [`RELEASED`] without `-preview`: 400
//!   `VssInvalidPreviewVersionException`; below the resource's minimum: 400 `VssVersionOutOfRangeException`
//!   naming the route.
//!
//! Caveat: every accepted version is answered with the 7.1 shapes of the specs; [`LATEST`] 7.2 (preview
//! only) and [`RELEASED`] 7.1 are those of the specs snapshot (`specs/README.md`: 7.2 is `7.2-preview.1` only).

use axum::http::{HeaderMap, Method};

use super::error::DevopsError;

/// The newest version the emulated service knows (7.2 exists as preview only).
pub const LATEST: (u32, u32) = (7, 2);
/// The newest released version.
pub const RELEASED: (u32, u32) = (7, 1);

/// A parsed api-version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
    pub preview: bool,
    pub resource_version: Option<u32>,
}

impl ApiVersion {
    /// Parses `7.1`, `7.1-preview`, `7.1-preview.1`.
    pub fn parse(raw: &str) -> Result<Self, DevopsError> {
        let invalid = || DevopsError::InvalidApiVersion(raw.to_string());
        let (number, preview) = match raw.split_once('-') {
            Some((number, suffix)) => (number, Some(suffix)),
            None => (raw, None),
        };
        let (major, minor) = number.split_once('.').ok_or_else(invalid)?;
        let digits = |s: &str| -> Result<u32, DevopsError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            s.parse().map_err(|_| invalid())
        };
        let (major, minor) = (digits(major)?, digits(minor)?);
        let resource_version = match preview {
            None => None,
            Some(suffix) if suffix.eq_ignore_ascii_case("preview") => None,
            Some(suffix) => match suffix.get(..8) {
                Some(head) if head.eq_ignore_ascii_case("preview.") => Some(digits(&suffix[8..])?),
                _ => return Err(invalid()),
            },
        };
        Ok(ApiVersion { major, minor, preview: preview.is_some(), resource_version })
    }

    fn number(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// `7.1`, `7.1-preview.1`: how the response's content type names it.
    pub fn render(&self) -> String {
        match (self.preview, self.resource_version) {
            (false, _) => format!("{}.{}", self.major, self.minor),
            (true, Some(r)) => format!("{}.{}-preview.{r}", self.major, self.minor),
            (true, None) => format!("{}.{}-preview", self.major, self.minor),
        }
    }
}

fn dotted((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

/// The `api-version` parameter of an `Accept` header.
pub fn from_accept(headers: &HeaderMap) -> Option<String> {
    let accept = headers.get(axum::http::header::ACCEPT)?.to_str().ok()?;
    accept.split([',', ';']).find_map(|part| {
        let (name, value) = part.split_once('=')?;
        name.trim().eq_ignore_ascii_case("api-version").then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The version a request asks for: query first, then `Accept`.
pub fn requested(query_version: Option<&str>, headers: &HeaderMap) -> Option<String> {
    query_version.map(str::to_string).filter(|v| !v.is_empty()).or_else(|| from_accept(headers))
}

/// Checks the requested version against the service and the route (`minimum`, `route` as `area/resource`);
/// returns the version to answer with.
pub fn negotiate(
    method: &Method,
    requested: Option<&str>,
    minimum: (u32, u32),
    route: &str,
) -> Result<ApiVersion, DevopsError> {
    let Some(raw) = requested else {
        if matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
            return Err(DevopsError::VersionNotSpecified(method.to_string()));
        }
        return Ok(ApiVersion { major: RELEASED.0, minor: RELEASED.1, preview: false, resource_version: None });
    };
    let version = ApiVersion::parse(raw)?;
    if version.number() > LATEST {
        return Err(DevopsError::VersionOutOfRange { requested: dotted(version.number()), latest: dotted(LATEST) });
    }
    if version.number() < minimum {
        return Err(DevopsError::VersionOutOfRangeForRoutes { requested: raw.to_string(), routes: route.to_string() });
    }
    if version.number() > RELEASED && !version.preview {
        return Err(DevopsError::PreviewRequired(dotted(version.number())));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_clients_send() {
        for (raw, preview, resource) in [
            ("7.1", false, None),
            ("7.1-preview", true, None),
            ("7.1-preview.1", true, Some(1)),
            ("6.0-PREVIEW.4", true, Some(4)),
        ] {
            let v = ApiVersion::parse(raw).unwrap();
            assert_eq!((v.preview, v.resource_version), (preview, resource), "{raw}");
        }
        for bad in ["7", "seven", "7.1-beta", "7.1-preview.", "7.x", ".1", "7.1-preview.a"] {
            assert!(matches!(ApiVersion::parse(bad), Err(DevopsError::InvalidApiVersion(_))), "{bad}");
        }
        assert_eq!(ApiVersion::parse("7.1-preview.1").unwrap().render(), "7.1-preview.1");
    }

    #[test]
    fn accept_header() {
        let mut h = HeaderMap::new();
        h.insert("accept", "application/json;api-version=7.1-preview.1;excludeUrls=true".parse().unwrap());
        assert_eq!(from_accept(&h).as_deref(), Some("7.1-preview.1"));
        assert_eq!(requested(Some("7.0"), &h).as_deref(), Some("7.0"), "the query wins");
        assert_eq!(requested(None, &h).as_deref(), Some("7.1-preview.1"));
        h.insert("accept", "application/json".parse().unwrap());
        assert_eq!(requested(None, &h), None);
    }

    #[test]
    fn negotiation() {
        let route = "distributedtask/elasticpools";
        assert_eq!(negotiate(&Method::GET, None, (6, 1), route).unwrap().render(), "7.1");
        assert_eq!(negotiate(&Method::POST, None, (6, 1), route), Err(DevopsError::VersionNotSpecified("POST".into())));
        assert_eq!(negotiate(&Method::POST, Some("7.1-preview"), (6, 1), route).unwrap().render(), "7.1-preview");
        assert_eq!(
            negotiate(&Method::GET, Some("8.0"), (6, 1), route),
            Err(DevopsError::VersionOutOfRange { requested: "8.0".into(), latest: "7.2".into() })
        );
        assert_eq!(
            negotiate(&Method::GET, Some("7.2"), (6, 1), route),
            Err(DevopsError::PreviewRequired("7.2".into()))
        );
        assert!(negotiate(&Method::GET, Some("7.2-preview.1"), (6, 1), route).is_ok());
        assert!(matches!(
            negotiate(&Method::GET, Some("5.1"), (6, 1), route),
            Err(DevopsError::VersionOutOfRangeForRoutes { .. })
        ));
    }
}
