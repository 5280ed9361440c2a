//! Request and response types of /api/push/, named as in API.md, and their validation.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::db::entities::push_subscription;
use crate::error::{FieldErrors, REQUIRED};
use crate::notifications::model::TYPES;

/// The alert of chat messages, beside the notification types.
pub const CHAT_MESSAGE: &str = "chat_message";
/// The longest endpoint accepted.
pub const MAX_ENDPOINT_CHARS: usize = 2048;

/// Every key `alerts` has: the notification types, then `chat_message`.
pub fn alert_types() -> impl Iterator<Item = &'static str> {
    TYPES.iter().copied().chain([CHAT_MESSAGE])
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VapidKey {
    /// The uncompressed P-256 public key, URL-safe base64 unpadded, as
    /// `PushManager.subscribe()` takes it for `applicationServerKey`.
    pub vapid_public_key: String,
}

/// A subscription as its owner sees it (its keys are never returned).
#[derive(Debug, Serialize, ToSchema)]
pub struct PushSubscription {
    pub id: i64,
    pub endpoint: String,
    /// Every notification type and `chat_message`: whether it is pushed.
    #[schema(value_type = Object)]
    pub alerts: Map<String, Value>,
    pub created_at: DateTime<Utc>,
}

/// The alerts switched explicitly, as stored (a type left out is on).
pub fn stored_alerts(row: &push_subscription::Model) -> HashMap<String, bool> {
    serde_json::from_str(&row.alerts).unwrap_or_default()
}

/// Whether `row` wants pushes of `kind`.
pub fn wants(row: &push_subscription::Model, kind: &str) -> bool {
    stored_alerts(row).get(kind).copied().unwrap_or(true)
}

pub fn view(row: &push_subscription::Model) -> PushSubscription {
    let stored = stored_alerts(row);
    PushSubscription {
        id: row.id,
        endpoint: row.endpoint.clone(),
        alerts: alert_types()
            .map(|t| {
                (
                    t.to_owned(),
                    Value::Bool(stored.get(t).copied().unwrap_or(true)),
                )
            })
            .collect(),
        created_at: row.created_at,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Keys {
    /// The browser's P-256 public key (65 bytes), URL-safe base64.
    #[schema(required = true)]
    pub p256dh: Option<String>,
    /// The browser's auth secret (16 bytes), URL-safe base64.
    #[schema(required = true)]
    pub auth: Option<String>,
}

/// `PushSubscription.toJSON()` as a browser gives it, with optional `alerts`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscribeBody {
    /// The push service's `https://` URL for this browser, at most 2048 characters.
    #[schema(required = true, max_length = 2048)]
    pub endpoint: Option<String>,
    #[schema(required = true)]
    pub keys: Option<Keys>,
    /// Types to switch on or off (`chat_message` and the notification types); others stay on.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub alerts: Option<HashMap<String, bool>>,
    /// Sent by browsers; ignored.
    #[serde(default, rename = "expirationTime")]
    #[schema(value_type = Option<i64>)]
    pub expiration_time: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AlertsBody {
    /// Types to switch on or off; those left out keep their setting.
    #[schema(value_type = Object, required = true)]
    pub alerts: Option<HashMap<String, bool>>,
}

/// A valid subscription's parts: the keys as sent, checked.
pub struct NewSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub alerts: HashMap<String, bool>,
}

/// Checks the keys of `alerts`: only known types.
pub fn check_alerts(alerts: &HashMap<String, bool>) -> Result<(), String> {
    let mut unknown: Vec<&str> = alerts
        .keys()
        .map(String::as_str)
        .filter(|k| !alert_types().any(|t| t == *k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(format!("Unknown alert types: {}.", unknown.join(", ")))
}

/// A URL-safe base64 field of `len` bytes decoded (padding and the standard alphabet are
/// tolerated, as browsers and libraries differ).
fn key_bytes(raw: &str, len: usize, what: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = raw
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = URL_SAFE_NO_PAD
        .decode(cleaned.as_bytes())
        .map_err(|_| format!("Not valid URL-safe base64 {what}."))?;
    if bytes.len() != len {
        return Err(format!("Must be {len} bytes, not {}.", bytes.len()));
    }
    Ok(bytes)
}

impl SubscribeBody {
    /// Field errors as DRF nests them; the endpoint's policy is checked by the caller.
    pub fn validate(self) -> Result<NewSubscription, FieldErrors> {
        let mut errors = FieldErrors::new();
        let endpoint = match self.endpoint.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("endpoint", REQUIRED);
                String::new()
            }
            Some(e) if e.chars().count() > MAX_ENDPOINT_CHARS => {
                errors.add(
                    "endpoint",
                    format!("Ensure this field has no more than {MAX_ENDPOINT_CHARS} characters."),
                );
                String::new()
            }
            Some(e) => e.to_owned(),
        };
        let mut keys = FieldErrors::new();
        let (mut p256dh, mut auth) = (String::new(), String::new());
        match &self.keys {
            None => errors.add("keys", REQUIRED),
            Some(k) => {
                match k.p256dh.as_deref() {
                    None | Some("") => keys.add("p256dh", REQUIRED),
                    Some(raw) => match key_bytes(raw, 65, "key") {
                        Ok(b) if p256::PublicKey::from_sec1_bytes(&b).is_ok() && b[0] == 4 => {
                            p256dh = URL_SAFE_NO_PAD.encode(b);
                        }
                        Ok(_) => keys.add("p256dh", "Not an uncompressed P-256 public key."),
                        Err(e) => keys.add("p256dh", e),
                    },
                }
                match k.auth.as_deref() {
                    None | Some("") => keys.add("auth", REQUIRED),
                    Some(raw) => match key_bytes(raw, 16, "secret") {
                        Ok(b) => auth = URL_SAFE_NO_PAD.encode(b),
                        Err(e) => keys.add("auth", e),
                    },
                }
            }
        }
        errors.nest("keys", keys);
        let alerts = self.alerts.unwrap_or_default();
        if let Err(e) = check_alerts(&alerts) {
            errors.add("alerts", e);
        }
        if errors.is_empty() {
            Ok(NewSubscription {
                endpoint,
                p256dh,
                auth,
                alerts,
            })
        } else {
            Err(errors)
        }
    }
}
