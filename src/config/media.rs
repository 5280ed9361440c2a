//! The settings of uploaded files: where they are kept and the limits on them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ConfigError, Env, http_url};

/// Uploaded files: where they are kept and the limits on them.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// Local storage (when no S3 bucket is set).
    pub dir: PathBuf,
    pub s3: Option<S3Settings>,
    /// The largest upload, bytes (413 past it).
    pub max_bytes: u64,
    /// How long a signed `url` / `thumbnail_url` stays valid.
    pub url_ttl: Duration,
    /// The largest image accepted, in pixels (width × height); larger ones are a 400.
    pub max_pixels: u64,
    /// Uploads a user may make per minute; 0 turns the limit off.
    pub uploads_per_minute: u32,
    /// Bytes a user may keep stored; 0 turns the quota off.
    pub quota_bytes: u64,
    /// Bytes of images being received that an instance holds in memory at once, all uploads
    /// together (at least `max_bytes`); past it an image upload is a 503.
    pub buffer_bytes: u64,
}

impl MediaSettings {
    /// The defaults, with files under `dir`.
    pub fn local(dir: PathBuf) -> Self {
        Self {
            dir,
            s3: None,
            max_bytes: 25 * 1024 * 1024,
            url_ttl: Duration::from_secs(3600),
            max_pixels: 50_000_000,
            uploads_per_minute: 30,
            quota_bytes: 1024 * 1024 * 1024,
            buffer_bytes: 256 * 1024 * 1024,
        }
    }
}

/// An S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000` for a local S3-compatible server; AWS when unset.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<crate::secret::Secret>,
}

pub(super) fn media_settings(env: &Env, data_dir: &Path) -> Result<MediaSettings, ConfigError> {
    let defaults = MediaSettings::local(
        env.text("AGORA_MEDIA_DIR")
            .map_or_else(|| data_dir.join("media"), PathBuf::from),
    );
    let s3 = match env.text("AGORA_MEDIA_S3_BUCKET") {
        None => None,
        Some(bucket) => Some(S3Settings {
            bucket: bucket.trim().to_owned(),
            endpoint: env
                .parsed("AGORA_MEDIA_S3_ENDPOINT", |v| {
                    http_url(v, "http://127.0.0.1:9000")
                })?
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
            region: env
                .text("AGORA_MEDIA_S3_REGION")
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id: env.text("AGORA_MEDIA_S3_ACCESS_KEY_ID"),
            secret_access_key: env.text("AGORA_MEDIA_S3_SECRET_ACCESS_KEY").map(Into::into),
        }),
    };
    let max_bytes = env.num("AGORA_MEDIA_MAX_BYTES", defaults.max_bytes, 1)?;
    Ok(MediaSettings {
        s3,
        max_bytes,
        buffer_bytes: env.num(
            "AGORA_MEDIA_BUFFER_BYTES",
            defaults.buffer_bytes.max(max_bytes),
            max_bytes,
        )?,
        url_ttl: env.secs("AGORA_MEDIA_URL_TTL_SECS", defaults.url_ttl.as_secs(), 1)?,
        max_pixels: env.num("AGORA_MEDIA_MAX_PIXELS", defaults.max_pixels, 1)?,
        uploads_per_minute: env.num(
            "AGORA_MEDIA_UPLOADS_PER_MINUTE",
            defaults.uploads_per_minute,
            0,
        )?,
        quota_bytes: env.num("AGORA_MEDIA_QUOTA_BYTES", defaults.quota_bytes, 0)?,
        ..defaults
    })
}
