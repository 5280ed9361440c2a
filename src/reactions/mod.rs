//! Reactions, one mechanism for posts, comments and chat messages: which emoji are allowed,
//! adding and removing one (idempotent, at most 20 distinct emoji per object), the counts a
//! page of objects shows and the list of who reacted. Who may react to what is the calling
//! feature's rule; this module only keeps the rows and their counts true.

mod store;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::SerializeMap;
use utoipa::ToSchema;

use crate::db::entities::reaction;
use crate::error::ApiError;
use crate::social::model::UserBrief;

pub use store::{add, clear, list_query, reactors, remove};

/// At most this many distinct emoji on one object (as Discord).
pub const MAX_DISTINCT: usize = 20;

/// What a reaction is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Post,
    Comment,
    Message,
}

impl Kind {
    /// The kind stored as `as_str` gave it.
    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Post, Self::Comment, Self::Message]
            .into_iter()
            .find(|k| k.as_str() == stored)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Comment => "comment",
            Self::Message => "message",
        }
    }
}

/// The fully qualified form of one RGI emoji (a code point, or a modifier, keycap, flag, tag
/// or ZWJ sequence), or the 400 of API.md. `❤` and `❤️` are one emoji.
pub fn emoji(raw: &str) -> Result<&'static str, ApiError> {
    let found = (raw.len() <= 64)
        .then(|| emojis::get(raw))
        .flatten()
        .map(emojis::Emoji::as_str);
    found.ok_or_else(|| {
        let shown: String = raw.chars().take(64).collect();
        ApiError::rejected(format!("\"{shown}\" is not a valid emoji."))
    })
}

/// Emoji and how many users reacted with each, in the order each was first used: a JSON
/// object whose keys keep that order.
#[derive(Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[schema(value_type = HashMap<String, u64>, example = json!({"👍": 3, "❤️": 1}))]
pub struct Counts(pub Vec<(String, i64)>);

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (emoji, n) in &self.0 {
            map.serialize_entry(emoji, n)?;
        }
        map.end()
    }
}

/// The counts of a page of objects, and the viewer's own reactions to them: two queries.
#[derive(Default)]
pub struct Tally {
    counts: HashMap<i64, Counts>,
    mine: HashMap<i64, Vec<String>>,
}

impl Tally {
    /// `viewer` None: no `my_reactions` (an event, encoded once for everyone).
    pub async fn load(
        db: &impl sea_orm::ConnectionTrait,
        kind: Kind,
        ids: &[i64],
        viewer: Option<i64>,
    ) -> Result<Self, ApiError> {
        if ids.is_empty() {
            return Ok(Self::default());
        }
        let mut counts: HashMap<i64, Counts> = HashMap::new();
        for row in store::counts_of(db, kind, ids).await? {
            counts
                .entry(row.target_id)
                .or_default()
                .0
                .push((row.emoji, row.count));
        }
        let mut mine: HashMap<i64, Vec<String>> = HashMap::new();
        // No counts, no reactions of the viewer's either: one query saved on most pages.
        if let Some(viewer) = viewer.filter(|_| !counts.is_empty()) {
            for (target, emoji) in store::mine(db, kind, ids, viewer).await? {
                mine.entry(target).or_default().push(emoji);
            }
        }
        Ok(Self { counts, mine })
    }

    pub fn counts(&self, id: i64) -> Counts {
        self.counts.get(&id).cloned().unwrap_or_default()
    }

    /// The viewer's emoji on `id`, in the order of `counts`.
    pub fn mine(&self, id: i64) -> Vec<String> {
        let Some(own) = self.mine.get(&id) else {
            return Vec::new();
        };
        self.counts(id)
            .0
            .into_iter()
            .map(|(e, _)| e)
            .filter(|e| own.contains(e))
            .collect()
    }
}

/// What PUT and DELETE answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionState {
    pub reactions: Counts,
    pub my_reactions: Vec<String>,
}

impl ReactionState {
    pub async fn of(
        db: &impl sea_orm::ConnectionTrait,
        kind: Kind,
        id: i64,
        viewer: i64,
    ) -> Result<Self, ApiError> {
        let tally = Tally::load(db, kind, &[id], Some(viewer)).await?;
        Ok(Self {
            reactions: tally.counts(id),
            my_reactions: tally.mine(id),
        })
    }
}

/// Adds (or removes) `user_id`'s `emoji` on the target in one transaction under the target's
/// row lock; the counts after it, and whether anything changed (an idempotent repeat does
/// not, and sends no event).
pub async fn change(
    db: &sea_orm::DatabaseConnection,
    kind: Kind,
    target: i64,
    user_id: i64,
    emoji: &str,
    add: bool,
) -> Result<(ReactionState, bool), ApiError> {
    use crate::db::entities::{chat_message, comment, post};
    use crate::db::lock_row;
    use sea_orm::EntityTrait;
    let txn = crate::db::begin_write(db).await?;
    match kind {
        Kind::Post => lock_row::<post::Entity>(&txn, post::Column::Id, target).await?,
        Kind::Comment => lock_row::<comment::Entity>(&txn, comment::Column::Id, target).await?,
        Kind::Message => {
            lock_row::<chat_message::Entity>(&txn, chat_message::Column::Id, target).await?;
        }
    }
    // Read again under the lock: a target deleted by a racing request takes no reaction (it
    // would outlive it), and neither does a tombstone made meanwhile.
    let deleted = match kind {
        Kind::Post => post::Entity::find_by_id(target)
            .one(&txn)
            .await?
            .map(|_| false),
        Kind::Comment => comment::Entity::find_by_id(target)
            .one(&txn)
            .await?
            .map(|c| c.deleted),
        Kind::Message => chat_message::Entity::find_by_id(target)
            .one(&txn)
            .await?
            .map(|m| m.deleted),
    };
    match deleted {
        None => return Err(ApiError::NotFound),
        Some(true) if add => {
            return Err(ApiError::rejected("This message has been deleted."));
        }
        Some(_) => {}
    }
    let changed = if add {
        store::add(&txn, kind, target, user_id, emoji).await?
    } else {
        store::remove(&txn, kind, target, user_id, emoji).await?
    };
    txn.commit().await?;
    Ok((ReactionState::of(db, kind, target, user_id).await?, changed))
}

/// The list of who reacted, `?emoji=` to narrow it.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReactionQuery {
    /// Only this emoji.
    pub emoji: Option<String>,
}

/// One page of who reacted to the target, as `viewer` sees it: users blocked either way with
/// the viewer left out (the counts include everyone).
pub async fn list(
    app: &crate::state::AppState,
    viewer: crate::social::Viewer,
    kind: Kind,
    target: i64,
    q: &ReactionQuery,
    page: &mut crate::http::Page,
) -> Result<crate::http::Paginated<Reaction>, ApiError> {
    let emoji = match q.emoji.as_deref() {
        Some(raw) => Some(emoji(raw)?),
        None => None,
    };
    let hidden = if viewer.is_staff {
        Vec::new()
    } else {
        crate::social::cached_ids(app, viewer.id, crate::state::IdList::Blocked)
            .await?
            .to_vec()
    };
    let query = list_query(kind, target, emoji, &hidden);
    let (count, rows) = crate::db::paginate(&app.db, query, page).await?;
    Ok(page.wrap(count, views(app, viewer, &rows).await?))
}

/// One user's reaction, in the list of who reacted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reaction {
    pub user: UserBrief,
    pub emoji: String,
    pub created_at: DateTime<Utc>,
}

/// A page of reaction rows as `viewer` sees them.
pub async fn views(
    app: &crate::state::AppState,
    viewer: crate::social::Viewer,
    rows: &[reaction::Model],
) -> Result<Vec<Reaction>, ApiError> {
    let briefs =
        crate::social::briefs::Briefs::load(app, viewer, rows.iter().map(|r| r.user_id)).await?;
    Ok(rows
        .iter()
        .map(|r| Reaction {
            user: briefs.of(r.user_id),
            emoji: r.emoji.clone(),
            created_at: r.created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_stored_fully_qualified_and_anything_else_is_refused() {
        assert_eq!(emoji("❤").expect("heart"), "❤\u{fe0f}");
        assert_eq!(emoji("❤️").expect("heart"), "❤️");
        assert_eq!(emoji("👍🏽").expect("skin tone"), "👍🏽");
        assert_eq!(emoji("🇫🇷").expect("flag"), "🇫🇷");
        assert_eq!(emoji("👩‍👩‍👧").expect("zwj"), "👩‍👩‍👧");
        assert_eq!(emoji("1️⃣").expect("keycap"), "1️⃣");
        for bad in ["a", ":smile:", "👍👍", "", "\0", "x👍", &"👍".repeat(40)] {
            assert!(emoji(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn counts_serialize_in_first_use_order() {
        let c = Counts(vec![("😀".into(), 2), ("👍".into(), 5), ("❤️".into(), 1)]);
        assert_eq!(
            serde_json::to_string(&c).expect("json"),
            r#"{"😀":2,"👍":5,"❤️":1}"#
        );
    }
}
