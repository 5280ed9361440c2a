//! Who of a room should hear of a message by push while away: the members but its sender who
//! have not muted the room, whom it does not mention (a mention is pushed as the `mention`
//! notification instead) and who are not blocked either way with the sender. Presence, alerts
//! and do-not-disturb are the push feature's to apply.

use std::collections::HashSet;

use super::store;
use crate::db::entities::{chat_message, chat_room};
use crate::error::ApiError;
use crate::social;
use crate::state::AppState;

/// A message with what a push about it shows.
pub struct Announced {
    pub message: chat_message::Model,
    pub room: chat_room::Model,
    /// The sender's first and last name, else username.
    pub sender_name: String,
    /// Those of the candidates the message may be pushed to.
    pub recipients: Vec<i64>,
}

/// What a push of `message_id` says and to which of `candidates` (members with a push
/// subscription and no socket open) it may go; `None` when the message is gone.
pub async fn announced(
    app: &AppState,
    message_id: i64,
    candidates: &[i64],
) -> Result<Option<Announced>, ApiError> {
    let Some(message) = store::find_message(&app.db, message_id).await? else {
        return Ok(None);
    };
    let Some(room) = store::find_room(&app.db, message.room_id).await? else {
        return Ok(None);
    };
    if message.deleted {
        return Ok(None);
    }
    let now = chrono::Utc::now();
    let candidates: HashSet<i64> = candidates
        .iter()
        .copied()
        .filter(|id| *id != message.sender_id)
        .collect();
    let members: Vec<_> = store::members_of(&app.db, &[room.id])
        .await?
        .into_iter()
        .filter(|m| candidates.contains(&m.user_id))
        .filter(|m| m.muted_until.is_none_or(|until| until <= now))
        .map(|m| m.user_id)
        .collect();
    let mut ids = members.clone();
    ids.push(message.sender_id);
    let users = app.users_by_id(&ids).await?;
    let mentioned = crate::text::mentioned(&message.body);
    let blocked = social::store::blocked_among(&app.db, message.sender_id, &members).await?;
    let sender_name = users
        .iter()
        .find(|u| u.id == message.sender_id)
        .map(|u| u.display_name())
        .unwrap_or_default();
    let recipients = users
        .iter()
        .filter(|u| members.contains(&u.id) && u.is_active)
        .filter(|u| !mentioned.contains(&u.username_lower) && !blocked.contains(&u.id))
        .map(|u| u.id)
        .collect();
    Ok(Some(Announced {
        message,
        room,
        sender_name,
        recipients,
    }))
}
