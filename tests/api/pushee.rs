//! The other end of Web Push for the push tests: a push service on 127.0.0.1 that checks each
//! request's VAPID `Authorization` (ES256 signature, `aud` its own origin, `exp` within 24
//! hours) and a browser's keys that decrypt the body, per RFC 8291 written out here from the
//! RFC (not the server's crate), so a wrong encryption cannot pass by agreeing with itself.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};

use crate::helpers::EVENT_DEADLINE;

/// A browser's push keys: a P-256 key pair and an auth secret.
pub struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        Self {
            secret: p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            auth: rand::random(),
        }
    }

    fn public(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// RFC 8291 §3.4 and RFC 8188: one `aes128gcm` record.
    fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        use hkdf::Hkdf;
        use sha2::Sha256;
        if body.len() < 21 {
            return Err("no header".into());
        }
        let salt = &body[..16];
        let idlen = usize::from(body[20]);
        if idlen != 65 || body.len() < 21 + idlen + 17 {
            return Err(format!("keyid of {idlen} bytes"));
        }
        let as_public = p256::PublicKey::from_sec1_bytes(&body[21..21 + idlen])
            .map_err(|e| format!("keyid: {e}"))?;
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend(self.public());
        info.extend(as_public.to_encoded_point(false).as_bytes());
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .map_err(|e| e.to_string())?;
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0u8; 16];
        let mut nonce = [0u8; 12];
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .map_err(|e| e.to_string())?;
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .map_err(|e| e.to_string())?;
        let cipher = aes_gcm::Aes128Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
        let plain = cipher
            .decrypt(&nonce.into(), &body[21 + idlen..])
            .map_err(|_| "the record does not decrypt".to_owned())?;
        // The last record ends in 0x02, then zero padding.
        let end = plain.iter().rposition(|b| *b != 0).ok_or("no delimiter")?;
        if plain[end] != 2 {
            return Err(format!("delimiter {}", plain[end]));
        }
        Ok(plain[..end].to_vec())
    }
}

/// One push the service accepted, decrypted.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub endpoint: String,
    pub payload: Value,
    pub ttl: Option<String>,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    /// The `k=` of the VAPID header.
    pub vapid_key: String,
}

#[derive(Default)]
struct Inner {
    browsers: HashMap<String, Browser>,
    /// Answers to give before accepting, per endpoint: status and `Retry-After`.
    script: HashMap<String, VecDeque<(u16, Option<String>)>>,
    attempts: HashMap<String, usize>,
    delivered: Vec<Delivery>,
    /// What a real push service would have refused: a bad signature, a wrong audience, ...
    faults: Vec<String>,
}

#[derive(Clone)]
pub struct PushService {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl PushService {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let service = Self {
            base,
            inner: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/push/{name}", axum::routing::post(receive))
            .with_state(service.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        service
    }

    /// A new browser at endpoint `name`: the body a page posts (`PushSubscription.toJSON()`).
    pub fn browser(&self, name: &str) -> Value {
        let b = Browser::new();
        let keys = json!({"p256dh": URL_SAFE_NO_PAD.encode(b.public()), "auth": URL_SAFE_NO_PAD.encode(b.auth)});
        self.lock().browsers.insert(name.into(), b);
        json!({"endpoint": self.endpoint(name), "expirationTime": null, "keys": keys})
    }

    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.base)
    }

    /// The next answers to pushes to `name`, before it accepts them again.
    pub fn answer(&self, name: &str, answers: &[(u16, Option<&str>)]) {
        self.lock().script.insert(
            name.into(),
            answers
                .iter()
                .map(|(s, r)| (*s, r.map(str::to_owned)))
                .collect(),
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn delivered(&self, name: &str) -> Vec<Delivery> {
        let inner = self.lock();
        assert!(
            inner.faults.is_empty(),
            "push service refused: {:?}",
            inner.faults
        );
        inner
            .delivered
            .iter()
            .filter(|d| d.endpoint == name)
            .cloned()
            .collect()
    }

    pub fn attempts(&self, name: &str) -> usize {
        self.lock().attempts.get(name).copied().unwrap_or_default()
    }

    /// Waits until `name` has had `n` pushes accepted; returns them.
    pub async fn until_delivered(&self, name: &str, n: usize) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
        loop {
            let got = self.delivered(name);
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} got {} of {n} pushes: {got:?}",
                got.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The VAPID header's key, after checking its JWT.
fn check_vapid(base: &str, headers: &HeaderMap) -> Result<String, String> {
    let auth = header(headers, "authorization").ok_or("no Authorization")?;
    let rest = auth
        .strip_prefix("vapid ")
        .ok_or("not a vapid Authorization")?;
    let mut t = None;
    let mut k = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("k=") {
            k = Some(v.to_owned());
        }
    }
    let (t, k) = (t.ok_or("no t=")?, k.ok_or("no k=")?);
    let point = URL_SAFE_NO_PAD.decode(&k).map_err(|e| e.to_string())?;
    if point.len() != 65 || point[0] != 4 {
        return Err("k is not an uncompressed P-256 point".into());
    }
    let key = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..]),
    )
    .map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[base]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(&t, &key, &validation)
        .map_err(|e| format!("VAPID JWT: {e}"))?
        .claims;
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    let now = chrono::Utc::now().timestamp();
    if exp <= now || exp > now + 24 * 3600 {
        return Err(format!("exp {exp} is not within 24 hours"));
    }
    if !claims["sub"]
        .as_str()
        .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:"))
    {
        return Err(format!("sub {:?}", claims["sub"]));
    }
    Ok(k)
}

async fn receive(
    State(service): State<PushService>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let mut inner = service.lock();
    *inner.attempts.entry(name.clone()).or_default() += 1;
    let vapid_key = match check_vapid(&service.base, &headers) {
        Ok(k) => k,
        Err(e) => {
            inner.faults.push(e);
            return (StatusCode::UNAUTHORIZED, HeaderMap::new());
        }
    };
    if header(&headers, "content-encoding").as_deref() != Some("aes128gcm") {
        inner
            .faults
            .push("Content-Encoding is not aes128gcm".into());
        return (StatusCode::BAD_REQUEST, HeaderMap::new());
    }
    if let Some((status, retry_after)) = inner.script.get_mut(&name).and_then(VecDeque::pop_front) {
        let mut h = HeaderMap::new();
        if let Some(r) = retry_after {
            h.insert("retry-after", r.parse().expect("header"));
        }
        return (StatusCode::from_u16(status).expect("status"), h);
    }
    let Some(browser) = inner.browsers.get(&name) else {
        return (StatusCode::NOT_FOUND, HeaderMap::new());
    };
    let payload = browser
        .decrypt(&body)
        .and_then(|p| serde_json::from_slice::<Value>(&p).map_err(|e| e.to_string()));
    match payload {
        Ok(payload) => {
            let d = Delivery {
                endpoint: name,
                payload,
                ttl: header(&headers, "ttl"),
                urgency: header(&headers, "urgency"),
                topic: header(&headers, "topic"),
                vapid_key,
            };
            inner.delivered.push(d);
            (StatusCode::CREATED, HeaderMap::new())
        }
        Err(e) => {
            inner.faults.push(e);
            (StatusCode::BAD_REQUEST, HeaderMap::new())
        }
    }
}
