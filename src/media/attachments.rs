//! The attachments of a set of messages (or the media of posts and comments), loaded in a fixed number of queries, as the Media
//! objects a response or an event carries.

use std::collections::HashMap;

use super::Media;
use super::store::Holder;
use crate::db::entities::media;
use crate::error::ApiError;
use crate::state::{AppState, MediaLinks};

pub struct Attachments {
    by_message: HashMap<i64, Vec<media::Model>>,
    links: MediaLinks,
}

impl Attachments {
    /// The attachments of `message_ids` (leave out deleted messages: they keep none), with
    /// `links` for their URLs.
    pub async fn load(
        app: &AppState,
        message_ids: &[i64],
        links: MediaLinks,
    ) -> Result<Self, ApiError> {
        Self::load_of(app, Holder::Message, message_ids, links).await
    }

    /// The media of posts or comments (or messages), as `load`.
    pub async fn load_of(
        app: &AppState,
        holder: Holder,
        ids: &[i64],
        links: MediaLinks,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            by_message: super::store::attachments_of(&app.db, holder, ids).await?,
            links,
        })
    }

    /// The attachments of one message, already known (a message just sent).
    pub fn known(message_id: i64, rows: &[media::Model], links: MediaLinks) -> Self {
        let mut by_message = HashMap::new();
        if !rows.is_empty() {
            by_message.insert(message_id, rows.to_vec());
        }
        Self { by_message, links }
    }

    pub fn links(&self) -> &MediaLinks {
        &self.links
    }

    pub fn of(&self, message_id: i64) -> Vec<Media> {
        self.by_message
            .get(&message_id)
            .map(|rows| rows.iter().map(|m| Media::of(m, &self.links)).collect())
            .unwrap_or_default()
    }
}
