//! simplejwt-compatible JWTs: HS256, claims `token_type`, `exp`, `iat`, `jti`, `user_id`, plus
//! `ver` (the user's token version, bumped by a password change or deactivation, which is how
//! access tokens issued before it stop working) and `fam` (the login they descend from: on
//! refresh tokens for reuse detection, on access tokens for what the login owns, its push
//! subscriptions).

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub user_id: i64,
    pub ver: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl Claims {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_else(Utc::now)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("Token is invalid or expired")]
    Invalid,
    #[error("Token has wrong type")]
    WrongType,
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
}

pub fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TokenService {
    pub fn new(secret: &str, access_lifetime: Duration, refresh_lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_lifetime,
            refresh_lifetime,
        }
    }

    /// Signs a new token; returns it with its claims (the caller stores refresh claims).
    pub fn issue(
        &self,
        kind: TokenType,
        user_id: i64,
        ver: i32,
        family: Option<&str>,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let lifetime = match kind {
            TokenType::Access => self.access_lifetime,
            TokenType::Refresh => self.refresh_lifetime,
        };
        let claims = Claims {
            token_type: kind.as_str().to_owned(),
            exp: now + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
            iat: now,
            jti: new_jti(),
            user_id,
            ver,
            fam: family.map(str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm (HS256 only, so `alg: none` fails), expiry and type.
    pub fn decode(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let claims = self.decode_any(token)?;
        if claims.token_type != expected.as_str() {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }

    pub fn decode_any(&self, token: &str) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.token_type != "access" && claims.token_type != "refresh" {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(secret: &str) -> TokenService {
        TokenService::new(
            secret,
            Duration::from_secs(300),
            Duration::from_secs(86_400),
        )
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_round_trips_with_its_type() {
        let s = service(KEY);
        let (t, claims) = s.issue(TokenType::Access, 7, 2, None).expect("sign");
        assert_eq!(s.decode(&t, TokenType::Access), Ok(claims));
        assert_eq!(s.decode(&t, TokenType::Refresh), Err(TokenError::WrongType));
    }

    #[test]
    fn another_key_or_alg_none_is_rejected() {
        let (t, _) = service(KEY)
            .issue(TokenType::Access, 7, 0, None)
            .expect("sign");
        let other = service("ffffffffffffffffffffffffffffffff");
        assert_eq!(
            other.decode(&t, TokenType::Access),
            Err(TokenError::Invalid)
        );

        let payload = t.split('.').nth(1).expect("payload");
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(
            service(KEY).decode(&unsigned, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }
}
