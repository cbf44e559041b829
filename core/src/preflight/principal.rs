//! Who is deploying: the object id (`oid` claim) of the principal an ARM access token was
//! issued to.
//!
//! Entra ID access tokens are JWTs whose payload carries `oid`, "the immutable identifier for
//! the requestor, which is the verified identity of the user or service principal"
//! (<https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference>).
//! Preflight needs it to list the caller's role assignments (`assignedTo('{oid}')`) where no
//! resource group exists yet to ask for permissions.
//!
//! # Caveats
//! - The payload is decoded, not verified: no signature, audience or expiry check. The token
//!   comes from the credential agentpool itself uses, and the object id only selects which role
//!   assignments to read; Azure decides access on every real request.
//! - Tokens are opaque by contract; a token without a readable `oid` makes the rights of
//!   groups not yet created unknown (a warning), not an error.

use serde::Deserialize;

/// Why a token yields no object id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrincipalError {
    #[error("the access token is not a JWT (expected three dot-separated parts)")]
    NotJwt,
    #[error("the access token's payload is not base64url JSON: {0}")]
    Payload(String),
    #[error("the access token carries no oid claim")]
    NoObjectId,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    oid: Option<String>,
}

/// The `oid` claim of `token`.
pub fn object_id(token: &str) -> Result<String, PrincipalError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PrincipalError::NotJwt);
    };
    let bytes = azure_core::base64::decode_url_safe(payload).map_err(|e| PrincipalError::Payload(e.to_string()))?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|e| PrincipalError::Payload(e.to_string()))?;
    claims.oid.filter(|oid| !oid.is_empty()).ok_or(PrincipalError::NoObjectId)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            azure_core::base64::encode_url_safe(r#"{"typ":"JWT","alg":"RS256"}"#),
            azure_core::base64::encode_url_safe(payload)
        )
    }

    #[test]
    fn the_oid_claim_is_read_from_the_payload() {
        let token = jwt(
            r#"{"aud":"https://management.azure.com","iss":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","oid":"3c5b2f8e-6a1d-4e3b-9a7c-2f0d1e4b5a69","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47"}"#,
        );
        assert_eq!(object_id(&token).unwrap(), "3c5b2f8e-6a1d-4e3b-9a7c-2f0d1e4b5a69");
        assert!(!token.contains('='), "base64url without padding, as Entra writes it");
    }

    #[test]
    fn tokens_without_an_oid_say_why() {
        assert_eq!(object_id("opaque-token"), Err(PrincipalError::NotJwt));
        assert_eq!(object_id(&jwt(r#"{"aud":"x"}"#)), Err(PrincipalError::NoObjectId));
        assert!(matches!(object_id("a.%%%.c"), Err(PrincipalError::Payload(_))));
        assert!(matches!(object_id(&jwt("not json")), Err(PrincipalError::Payload(_))));
    }
}
