//! Sending one push (RFC 8030): the payload encrypted for the subscription (RFC 8291,
//! `aes128gcm`, by web-push-native), a VAPID `Authorization` (RFC 8292, an ES256 JWT signed by
//! jsonwebtoken), `TTL`, `Urgency` and `Topic`, posted with an HTTP client that never follows
//! a redirect and resolves only to addresses the policy allows.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;

use super::policy::{Policy, Resolver};
use crate::config::PushSettings;
use crate::db::entities::push_subscription;

/// How a push service answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 404 or 410: the subscription is gone for good.
    Gone,
    /// 429, 5xx, a timeout or a connection error: worth another try, not before `after`.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Any other answer, or a push that cannot be made: dropped.
    Dropped(String),
}

/// The server's VAPID identity.
pub struct Vapid {
    key: EncodingKey,
    /// The uncompressed public key, URL-safe base64 unpadded.
    pub public_key: String,
    subject: String,
}

impl Vapid {
    pub fn new(settings: &PushSettings, email_from: &str) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(settings.vapid_private_key.expose())
            .map_err(|e| format!("VAPID key: {e}"))?;
        let secret = p256::SecretKey::from_slice(&bytes).map_err(|e| format!("VAPID key: {e}"))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| format!("VAPID key: {e}"))?;
        Ok(Self {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            public_key: public_key(&secret),
            subject: settings
                .subject
                .clone()
                .unwrap_or_else(|| format!("mailto:{}", address_of(email_from))),
        })
    }

    /// `vapid t=<JWT>, k=<public key>` for an endpoint of `origin`, valid 12 hours.
    pub fn authorization(&self, origin: &str) -> Result<String, String> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: i64,
            sub: &'a str,
        }
        let claims = Claims {
            aud: origin,
            exp: chrono::Utc::now().timestamp() + 12 * 3600,
            sub: &self.subject,
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.key)
            .map_err(|e| format!("VAPID signature: {e}"))?;
        Ok(format!("vapid t={jwt}, k={}", self.public_key))
    }
}

/// The uncompressed point of `secret`'s public key, as browsers take it.
pub fn public_key(secret: &p256::SecretKey) -> String {
    URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes())
}

/// `Name <address>` → `address`.
fn address_of(from: &str) -> &str {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].trim(),
        _ => from.trim(),
    }
}

/// One push, ready to send.
pub struct Push<'a> {
    pub payload: &'a [u8],
    /// `high` for chat messages and mentions, else `normal`.
    pub urgency: &'a str,
    /// Pushes with the same topic replace one another while undelivered (a burst of chat
    /// messages in one room).
    pub topic: Option<&'a str>,
}

pub struct Sender {
    client: reqwest::Client,
    policy: Policy,
    vapid: Vapid,
    ttl: Duration,
}

impl Sender {
    pub fn new(settings: &PushSettings, email_from: &str) -> Result<Self, String> {
        let policy = Policy::new(&settings.allowlist);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(std::sync::Arc::new(Resolver(policy.clone())))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| format!("push client: {e}"))?;
        Ok(Self {
            client,
            policy,
            vapid: Vapid::new(settings, email_from)?,
            ttl: settings.ttl,
        })
    }

    pub async fn send(&self, sub: &push_subscription::Model, push: &Push<'_>) -> Outcome {
        let url = match self.policy.check(&sub.endpoint) {
            Ok(url) => url,
            Err(e) => return Outcome::Dropped(e.into()),
        };
        let keys = URL_SAFE_NO_PAD
            .decode(&sub.p256dh)
            .ok()
            .and_then(|b| p256::PublicKey::from_sec1_bytes(&b).ok())
            .zip(
                URL_SAFE_NO_PAD
                    .decode(&sub.auth)
                    .ok()
                    .filter(|a| a.len() == 16),
            );
        let Some((ua_public, auth)) = keys else {
            return Outcome::Dropped("the subscription's keys are not valid".into());
        };
        let mut ua_auth = web_push_native::Auth::default();
        ua_auth.copy_from_slice(&auth);
        let body = match web_push_native::encrypt(push.payload.to_vec(), &ua_public, &ua_auth) {
            Ok(b) => b,
            Err(e) => return Outcome::Dropped(format!("encryption: {e}")),
        };
        let origin = url.origin().ascii_serialization();
        let authorization = match self.vapid.authorization(&origin) {
            Ok(a) => a,
            Err(e) => return Outcome::Dropped(e),
        };
        let mut req = self
            .client
            .post(url)
            .header("TTL", self.ttl.as_secs().to_string())
            .header("Urgency", push.urgency)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body);
        if let Some(topic) = push.topic {
            req = req.header("Topic", topic);
        }
        match req.send().await {
            Ok(res) => outcome(res.status().as_u16(), res.headers()),
            Err(e) => Outcome::Retry {
                error: format!("push service unreachable: {e}"),
                after: None,
            },
        }
    }
}

/// What an answer of `status` means for the push.
fn outcome(status: u16, headers: &reqwest::header::HeaderMap) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry {
            error: format!("push service answered {status}"),
            after: headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after),
        },
        _ => Outcome::Dropped(format!("push service answered {status}")),
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_outcomes() {
        let none = reqwest::header::HeaderMap::new();
        assert_eq!(outcome(201, &none), Outcome::Delivered);
        assert_eq!(outcome(410, &none), Outcome::Gone);
        assert_eq!(outcome(404, &none), Outcome::Gone);
        assert!(matches!(outcome(400, &none), Outcome::Dropped(_)));
        assert!(matches!(outcome(413, &none), Outcome::Dropped(_)));
        let mut later = reqwest::header::HeaderMap::new();
        later.insert(reqwest::header::RETRY_AFTER, "7".parse().expect("value"));
        assert_eq!(
            outcome(429, &later),
            Outcome::Retry {
                error: "push service answered 429".into(),
                after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            outcome(503, &none),
            Outcome::Retry { after: None, .. }
        ));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn the_subject_is_the_senders_address() {
        assert_eq!(
            address_of("Agora <no-reply@example.com>"),
            "no-reply@example.com"
        );
        assert_eq!(address_of("webmaster@localhost"), "webmaster@localhost");
    }
}
