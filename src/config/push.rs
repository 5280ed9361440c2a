//! The settings of Web Push: the VAPID key pair, the `sub` claim, the push services the server
//! may send to and how long a push service keeps a push.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{ConfigError, Env, ensure_dir, invalid};
use crate::secret::Secret;

/// The push services of today's browsers (Chrome and Edge via FCM, Firefox, Safari, Windows).
pub const DEFAULT_ALLOWLIST: &str = "fcm.googleapis.com, updates.push.services.mozilla.com, web.push.apple.com, *.notify.windows.com";

#[derive(Clone, Debug)]
pub struct PushSettings {
    /// The VAPID P-256 private key: its 32-byte scalar, URL-safe base64 without padding.
    pub vapid_private_key: Secret,
    /// Where the key came from, so `serve` can warn about a generated one.
    pub vapid_generated: Option<PathBuf>,
    /// `AGORA_PUSH_SUBJECT`; `None`: `mailto:` and `AGORA_EMAIL_FROM`'s address.
    pub subject: Option<String>,
    /// Hosts, lower-case; `*.example.com` admits any subdomain of example.com.
    pub allowlist: Vec<String>,
    pub ttl: Duration,
}

pub(super) fn push_settings(env: &Env, data_dir: &Path) -> Result<PushSettings, ConfigError> {
    let (key, generated) = match env.text("AGORA_VAPID_PRIVATE_KEY") {
        Some(raw) => (
            parse_key(&raw).map_err(|m| invalid("AGORA_VAPID_PRIVATE_KEY", m))?,
            None,
        ),
        None => stored_or_generated(data_dir)?,
    };
    Ok(PushSettings {
        vapid_private_key: Secret::new(key),
        vapid_generated: generated,
        subject: env.text("AGORA_PUSH_SUBJECT").map(|s| s.trim().to_owned()),
        allowlist: allowlist(
            &env.text("AGORA_PUSH_ENDPOINT_ALLOWLIST")
                .unwrap_or_else(|| DEFAULT_ALLOWLIST.into()),
        ),
        ttl: env.secs("AGORA_PUSH_TTL_SECS", 86_400, 0)?,
    })
}

pub fn allowlist(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

/// A P-256 private key as PEM (SEC1 `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`) or as the
/// URL-safe base64 of its 32-byte scalar (what `web-push generate-vapid-keys` prints), to the
/// latter form.
pub fn parse_key(raw: &str) -> Result<String, String> {
    use p256::pkcs8::DecodePrivateKey;
    let raw = raw.trim();
    let key = if raw.starts_with("-----BEGIN") {
        let pem = raw.replace("\\n", "\n");
        p256::SecretKey::from_sec1_pem(&pem)
            .or_else(|_| p256::SecretKey::from_pkcs8_pem(&pem))
            .map_err(|_| "is not a P-256 private key in PEM".to_owned())?
    } else {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| "is neither PEM nor URL-safe base64".to_owned())?;
        p256::SecretKey::from_slice(&bytes)
            .map_err(|_| "is not a 32-byte P-256 private key".to_owned())?
    };
    Ok(URL_SAFE_NO_PAD.encode(key.to_bytes()))
}

/// Keeps a generated key in the data directory so subscriptions survive a restart.
fn stored_or_generated(data_dir: &Path) -> Result<(String, Option<PathBuf>), ConfigError> {
    let path = data_dir.join("vapid_private_key");
    let io_err = |source| ConfigError::DataDir {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(k) => parse_key(&k).map(|k| (k, None)).map_err(|m| {
            invalid(
                "AGORA_VAPID_PRIVATE_KEY",
                format!("the stored key in {}: {m}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ensure_dir(data_dir)?;
            let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
            let encoded = URL_SAFE_NO_PAD.encode(key.to_bytes());
            std::fs::write(&path, &encoded).map_err(io_err)?;
            Ok((encoded, Some(path)))
        }
        Err(e) => Err(io_err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_from_pem_and_from_base64_alike() {
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let b64 = URL_SAFE_NO_PAD.encode(key.to_bytes());
        let pem = key
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .expect("pem")
            .to_string();
        assert_eq!(parse_key(&b64).expect("base64"), b64);
        assert_eq!(parse_key(&pem).expect("pem"), b64);
        assert!(parse_key("not a key").is_err());
        assert!(parse_key(&URL_SAFE_NO_PAD.encode([0u8; 32])).is_err());
    }

    #[test]
    fn the_allowlist_is_trimmed_and_lower_cased() {
        assert_eq!(
            allowlist(" FCM.googleapis.com, *.Notify.windows.com.,,127.0.0.1 "),
            vec!["fcm.googleapis.com", "*.notify.windows.com", "127.0.0.1"]
        );
    }
}
