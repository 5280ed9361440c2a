//! The objects of posts and comments, and the bodies their routes take.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldErrors};
use crate::media::Media;
use crate::reactions::Counts;
use crate::social::model::UserBrief;

pub const MAX_POST_CHARS: usize = 5000;
pub const MAX_POST_MEDIA: usize = 10;
pub const MAX_COMMENT_CHARS: usize = 2000;
pub const MAX_COMMENT_MEDIA: usize = 4;

/// The visibilities a post may be given (`group` only with a group).
pub const VISIBILITIES: &[&str] = &["public", "friends", "only_me", "group"];

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Post {
    pub id: i64,
    pub author: UserBrief,
    pub body: String,
    pub media: Vec<Media>,
    /// `public`, `friends`, `only_me`, or `group` exactly when `group` is set.
    #[schema(example = "friends")]
    pub visibility: String,
    pub group: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub comment_count: i64,
    pub reactions: Counts,
    /// The caller's emoji; null in events (encoded once for everyone).
    pub my_reactions: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub post: i64,
    pub author: UserBrief,
    /// Empty when deleted.
    pub body: String,
    pub media: Vec<Media>,
    pub reply_to: Option<i64>,
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub reactions: Counts,
    pub my_reactions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostBody {
    /// 1–5000 characters after trimming, unless media are present.
    #[schema(value_type = String, required = false, max_length = 5000, example = "Hello, friends!")]
    pub body: Option<String>,
    /// Up to 10 media ids, each the author's own.
    #[schema(value_type = Vec<i64>, required = false)]
    pub media: Option<Vec<i64>>,
    /// Default `friends`; a group post is always `group`.
    #[schema(value_type = String, required = false, example = "friends")]
    pub visibility: Option<String>,
    /// A group the author belongs to (at creation only).
    #[schema(value_type = Option<i64>, required = false)]
    pub group: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentBody {
    /// 1–2000 characters after trimming, unless media are present.
    #[schema(value_type = String, required = false, max_length = 2000, example = "Nice!")]
    pub body: Option<String>,
    /// Up to 4 media ids, each the author's own.
    #[schema(value_type = Vec<i64>, required = false)]
    pub media: Option<Vec<i64>>,
    /// A top-level comment of the same post (at creation only).
    #[schema(value_type = Option<i64>, required = false)]
    pub reply_to: Option<i64>,
}

/// A validated body and media list: what a post or comment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub body: String,
    /// Media ids without repeats, in the order sent.
    pub media: Vec<i64>,
}

/// Validates a body and media list; on an edit (`current` the stored media) a field not sent
/// keeps its value, and a blank body is allowed while media remain.
pub fn content(
    body: Option<&str>,
    media: Option<Vec<i64>>,
    max_chars: usize,
    max_media: usize,
    errors: &mut FieldErrors,
) -> Content {
    let mut media = media.unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    media.retain(|id| seen.insert(*id));
    if media.len() > max_media {
        errors.add(
            "media",
            format!("Ensure this field has no more than {max_media} elements."),
        );
    }
    let blank = body.is_none_or(|b| b.trim().is_empty());
    let body = if blank && !media.is_empty() {
        String::new()
    } else {
        crate::text::body(body, max_chars)
            .map_err(|e| errors.add("body", e))
            .unwrap_or_default()
    };
    Content { body, media }
}

impl PostBody {
    /// The content and visibility of a new post.
    pub fn validate_new(self) -> Result<(Content, String, Option<i64>), ApiError> {
        let mut errors = FieldErrors::new();
        let content = content(
            self.body.as_deref(),
            self.media,
            MAX_POST_CHARS,
            MAX_POST_MEDIA,
            &mut errors,
        );
        let visibility = if self.group.is_some() {
            "group".to_owned()
        } else {
            visibility(self.visibility.as_deref().unwrap_or("friends"), &mut errors)
        };
        errors.into_result()?;
        Ok((content, visibility, self.group))
    }
}

/// A visibility sent for a post outside a group.
pub fn visibility(raw: &str, errors: &mut FieldErrors) -> String {
    match crate::users::fields::choice(raw, VISIBILITIES) {
        Ok(v) if v == "group" => {
            errors.add("visibility", "A group post needs a group.");
            v
        }
        Ok(v) => v,
        Err(e) => {
            errors.add("visibility", e);
            String::new()
        }
    }
}
