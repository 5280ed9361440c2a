//! Request and response types of /api/media/, named as in API.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::entities::media;
use crate::state::MediaLinks;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Media {
    pub id: i64,
    pub owner: i64,
    pub filename: String,
    /// Decided from the bytes.
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Absolute and signed; valid for `AGORA_MEDIA_URL_TTL_SECS`.
    pub url: String,
    /// Images only.
    pub thumbnail_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Media {
    pub fn of(m: &media::Model, links: &MediaLinks) -> Self {
        Self {
            id: m.id,
            owner: m.owner_id,
            filename: m.filename.clone(),
            content_type: m.content_type.clone(),
            size: u64::try_from(m.size).unwrap_or(0),
            width: m.width.and_then(|w| u32::try_from(w).ok()),
            height: m.height.and_then(|h| u32::try_from(h).ok()),
            url: links.url(m.id, CONTENT),
            thumbnail_url: m.thumbnail_key.as_ref().map(|_| links.url(m.id, THUMBNAIL)),
            created_at: m.created_at,
        }
    }
}

pub const CONTENT: &str = "content";
pub const THUMBNAIL: &str = "thumbnail";

/// `multipart/form-data` with one file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A signed link's query; without it the Bearer header is needed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Unix seconds after which the link is refused.
    #[param(value_type = Option<i64>)]
    pub expires: Option<String>,
    #[param(value_type = Option<String>)]
    pub signature: Option<String>,
}

impl LinkQuery {
    /// Whether the link names `id` and `variant`, was signed by `links` and has not expired.
    /// A missing, malformed, altered or expired part is false.
    pub fn verifies(
        &self,
        links: &crate::security::signing::LinkSigner,
        id: i64,
        variant: &str,
    ) -> bool {
        let (Some(expires), Some(signature)) = (&self.expires, &self.signature) else {
            return false;
        };
        let Ok(expires) = expires.trim().parse::<i64>() else {
            return false;
        };
        links.verify(
            id,
            variant,
            expires,
            signature,
            chrono::Utc::now().timestamp(),
        )
    }
}
