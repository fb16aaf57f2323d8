//! Access tokens: compact JWTs signed with HMAC-SHA256 under JWT_SECRET_KEY. Only `HS256` is
//! accepted; `alg: none`, other algorithms, bad signatures and expired tokens are refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The member.
    pub sub: Uuid,
    /// The session (refresh-token family) the token belongs to.
    pub sid: Uuid,
    pub role: bma_domain::access::Role,
    /// `full`, or `mfa_setup` for an admin who has yet to enrol a second factor.
    pub scope: Scope,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Full,
    MfaSetup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer")]
    Issuer,
}

pub const ISSUER: &str = "bma-social";

#[derive(Clone)]
pub struct JwtKeys {
    key: hmac::Key,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let sig = hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(sig.as_ref()))
    }

    /// Verifies signature, algorithm, issuer and expiry at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header: Header = serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?)
            .map_err(|_| TokenError::Malformed)?;
        if header.alg != "HS256" || header.typ.as_deref().is_some_and(|t| t != "JWT") {
            return Err(TokenError::Algorithm);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        hmac::verify(&self.key, format!("{h}.{p}").as_bytes(), &sig).map_err(|_| TokenError::Signature)?;
        let claims: Claims = serde_json::from_slice(&B64.decode(p).map_err(|_| TokenError::Malformed)?)
            .map_err(|_| TokenError::Malformed)?;
        if claims.iss != ISSUER {
            return Err(TokenError::Issuer);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bma_domain::access::Role;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::nil(),
            sid: Uuid::nil(),
            role: Role::Viewer,
            scope: Scope::Full,
            iat: 0,
            exp,
            iss: ISSUER.into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let k = JwtKeys::new(b"k".repeat(32).as_slice());
        let t = k.sign(&claims(100));
        assert_eq!(k.verify(&t, 99).map(|c| c.exp), Ok(100));
        assert_eq!(k.verify(&t, 100), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_alg_none_tokens_are_refused() {
        let k = JwtKeys::new(b"k".repeat(32).as_slice());
        let other = JwtKeys::new(b"x".repeat(32).as_slice());
        let t = other.sign(&claims(100));
        assert_eq!(k.verify(&t, 1), Err(TokenError::Signature));

        let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(&claims(100)).unwrap_or_default());
        assert_eq!(k.verify(&format!("{none_header}.{payload}."), 1), Err(TokenError::Algorithm));
        assert_eq!(k.verify("not-a-token", 1), Err(TokenError::Malformed));

        // A payload swapped under a valid signature (role escalation) fails the signature.
        let good = k.sign(&claims(100));
        let mut admin = claims(100);
        admin.role = Role::Admin;
        let parts: Vec<&str> = good.split('.').collect();
        let forged =
            format!("{}.{}.{}", parts[0], B64.encode(serde_json::to_vec(&admin).unwrap_or_default()), parts[2]);
        assert_eq!(k.verify(&forged, 1), Err(TokenError::Signature));
    }
}
