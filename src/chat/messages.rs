//! The message use cases, shared by the REST routes and the `/ws/` gateway: sending (with
//! mentions), editing, deleting, read markers and typing. Each checks who may do it, validates,
//! commits, then publishes and notifies.

use serde_json::json;

use super::actions::{member_room, publish_to_room};
use super::model::{Message, ReadMarker, Role, RoomKind, SendBody, message_body};
use super::{
    members, message_event, message_event_with, message_events, message_view, message_view_with,
    store,
};
use crate::db::entities::{chat_member, chat_message};
use crate::error::{ApiError, REQUIRED, after_commit};
use crate::events::Event;
use crate::http::CurrentUser;
use crate::media;
use crate::notifications;
use crate::reactions;
use crate::social;
use crate::state::AppState;

/// In a direct room, whether `me` may still write to the other member (no block either way,
/// and their `allow_messages_from` still admits `me`): asked at every send, edit and typing
/// frame, not only when the room was made. A 403 otherwise.
async fn may_write(app: &AppState, me: &CurrentUser, room: &members::Room) -> Result<(), ApiError> {
    match room.peer_of(me.id) {
        Some(peer) if !social::may_message(app, me.id, peer).await? => {
            // A deleted account's room stays to be read; writing to it says why it cannot be.
            let gone = app
                .users_by_id(&[peer])
                .await?
                .pop()
                .is_some_and(|u| u.deleted_at.is_some());
            Err(if gone {
                ApiError::rejected("This account has been deleted.")
            } else {
                ApiError::Forbidden
            })
        }
        _ => Ok(()),
    }
}

/// Makes `ids` tombstones (`deleted`, no body, attachments or reactions) in one transaction,
/// sending no event: a deleted account's messages, which keep their place in conversations.
pub async fn tombstone_all(app: &AppState, ids: &[i64]) -> Result<(), ApiError> {
    use crate::db::entities::chat_message;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let txn = crate::db::begin_write(&app.db).await?;
    chat_message::Entity::update_many()
        .col_expr(chat_message::Column::Body, Expr::value(""))
        .col_expr(chat_message::Column::Deleted, Expr::value(true))
        .filter(chat_message::Column::Id.is_in(ids.to_vec()))
        .exec(&txn)
        .await?;
    media::store::detach_all(&txn, media::store::Holder::Message, ids).await?;
    reactions::clear(&txn, reactions::Kind::Message, ids).await?;
    txn.commit().await?;
    Ok(())
}

/// Sends a message and returns it as `me` sees it; with a `client_id` already used by `me`,
/// returns the stored message instead (false: nothing new was stored). The database decides
/// what a repeat is (a unique index on sender and client_id), so a send costs no read before
/// its insert. A room `me` is not in is a 404 before the body is looked at, as in DRF.
#[tracing::instrument(skip_all, fields(user_id = me.id, room_id))]
pub async fn send(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    body: SendBody,
) -> Result<(Message, bool), ApiError> {
    // The members, read once (from the cache, usually): whether `me` is one, and who gets
    // the event.
    let generation = members::generation(app);
    let room = members::room(app, room_id).await?;
    if !room.contains(me.id) {
        return Err(ApiError::NotFound);
    }
    may_write(app, me, &room).await?;
    let new = body.validate()?;
    app.send_limiter.check(me.id)?;
    let attachments = media::owned(app, me.id, &new.attachments, media::Use::Any)
        .await?
        .map_err(|e| ApiError::field("attachments", e))?;
    if let Some(reply_to) = new.reply_to {
        let target = store::find_message(&app.db, reply_to).await?;
        if target.is_none_or(|m| m.room_id != room_id) {
            return Err(ApiError::field(
                "reply_to",
                "The message replied to is not in this room.",
            ));
        }
    }
    let row = crate::state::queues::NewMessage {
        room_id,
        sender_id: me.id,
        body: new.body,
        reply_to: new.reply_to,
        client_id: new.client_id.clone(),
        attachments: new.attachments,
        now: crate::db::now(),
    };
    let Some(message) = app.messages.write(row).await? else {
        // The same client_id again (a retry, or two sends at once): the stored one wins.
        let cid = new.client_id.as_deref().unwrap_or_default();
        let existing = store::find_by_client_id(&app.db, me.id, cid)
            .await?
            .ok_or(ApiError::NotFound)?;
        if existing.room_id != room_id {
            return Err(ApiError::field(
                "client_id",
                "This client_id was already used for a message in another room.",
            ));
        }
        return Ok((message_view(app, me, &existing).await?, false));
    };
    app.events
        .publish(
            app,
            Event::MessageSent {
                room_id,
                message_id: message.id,
                sender_id: me.id,
            },
        )
        .await;
    // Who is in the room now that the message is in: not someone removed meanwhile.
    let members = members::settled_ids(app, room_id, generation, room.ids.clone()).await;
    let event = message_event_with(app, &message, &attachments).await;
    match (members, event) {
        // On the bus before the sender hears of the commit: an instance that dies after the
        // acknowledgement cannot take the event with it.
        (Ok(members), Ok(event)) => {
            app.realtime
                .publish_confirmed(&members, "chat_message", &event)
                .await;
        }
        (Err(e), _) | (_, Err(e)) => after_commit::<()>("chat message event", Err(e)),
    }
    after_commit("mentions", mention(app, me, &message).await);
    Ok((
        message_view_with(app, me, &message, &attachments).await?,
        true,
    ))
}

/// A `mention` notification to each mentioned member, unless they muted the room (the
/// notification settings decide the rest).
async fn mention(
    app: &AppState,
    me: &CurrentUser,
    message: &chat_message::Model,
) -> Result<(), ApiError> {
    let names = crate::text::mentioned(&message.body);
    if names.is_empty() {
        return Ok(());
    }
    let members = store::members_of(&app.db, &[message.room_id]).await?;
    let ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
    let users = app.users_by_id(&ids).await?;
    let now = chrono::Utc::now();
    let recipients: Vec<i64> = users
        .iter()
        .filter(|u| u.id != me.id && names.contains(&u.username_lower))
        .filter(|u| {
            members
                .iter()
                .find(|m| m.user_id == u.id)
                .and_then(|m| m.muted_until)
                .is_none_or(|until| until <= now)
        })
        .map(|u| u.id)
        .collect();
    if recipients.is_empty() {
        return Ok(());
    }
    notifications::notify_many(
        app,
        &recipients,
        Some(me.id),
        notifications::model::MENTION,
        format!("{} mentioned you", me.user.username),
        json!({"room_id": message.room_id, "message_id": message.id}),
    )
    .await?;
    Ok(())
}

/// A message `me` may see: in a room `me` belongs to (staff see any); else a 404.
async fn visible_message(
    app: &AppState,
    me: &CurrentUser,
    message_id: i64,
) -> Result<(chat_message::Model, Option<chat_member::Model>), ApiError> {
    let message = store::find_message(&app.db, message_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let membership = store::membership(&app.db, message.room_id, me.id).await?;
    if membership.is_none() && !me.is_staff {
        return Err(ApiError::NotFound);
    }
    Ok((message, membership))
}

#[tracing::instrument(skip_all, fields(user_id = me.id, message_id))]
pub async fn edit(
    app: &AppState,
    me: &CurrentUser,
    message_id: i64,
    body: Option<&str>,
) -> Result<chat_message::Model, ApiError> {
    let (message, _) = visible_message(app, me, message_id).await?;
    if message.sender_id != me.id {
        return Err(ApiError::Forbidden);
    }
    may_write(app, me, &members::room(app, message.room_id).await?).await?;
    let body = message_body(body).map_err(|e| ApiError::field("body", e))?;
    if message.deleted {
        return Err(ApiError::rejected("A deleted message cannot be edited."));
    }
    store::edit_message(&app.db, message.id, &body, crate::db::now()).await?;
    let message = store::find_message(&app.db, message.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let event = message_event(app, &message).await?;
    publish_to_room(app, message.room_id, &[], "message_updated", &event).await;
    Ok(message)
}

/// `message_updated` for each of `ids`, whose attachments changed without an edit (their
/// media was deleted): two queries however many messages. After a commit: failures are logged.
pub async fn announce_messages(app: &AppState, ids: Vec<i64>) {
    let announced = async {
        let messages = store::find_messages(&app.db, &ids).await?;
        let events = message_events(app, &messages).await?;
        for (m, event) in messages.iter().zip(&events) {
            publish_to_room(app, m.room_id, &[], "message_updated", event).await;
        }
        Ok(())
    }
    .await;
    after_commit("message_updated", announced);
}

/// Deletes (as a tombstone) by the sender, a group room's owner or admin, or staff.
#[tracing::instrument(skip_all, fields(user_id = me.id, message_id))]
pub async fn delete(app: &AppState, me: &CurrentUser, message_id: i64) -> Result<(), ApiError> {
    let (message, membership) = visible_message(app, me, message_id).await?;
    let room = store::find_room(&app.db, message.room_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let moderator = RoomKind::of(&room.kind) == RoomKind::Group
        && membership.is_some_and(|m| Role::of(&m.role).manages());
    if message.sender_id != me.id && !moderator && !me.is_staff {
        return Err(ApiError::Forbidden);
    }
    if !message.deleted {
        let txn = crate::db::begin_write(&app.db).await?;
        store::delete_message(&txn, message.id).await?;
        media::store::detach_all(&txn, media::store::Holder::Message, &[message.id]).await?;
        reactions::clear(&txn, reactions::Kind::Message, &[message.id]).await?;
        // Staff deleting a message that is neither theirs nor in a room they moderate.
        if message.sender_id != me.id && !moderator {
            crate::db::audit::append(
                &txn,
                me.id,
                "message.delete",
                "message",
                message.id,
                json!({}),
            )
            .await?;
        }
        txn.commit().await?;
        publish_to_room(
            app,
            message.room_id,
            &[],
            "message_deleted",
            &json!({"id": message.id, "room": message.room_id}),
        )
        .await;
    }
    Ok(())
}

/// Adds or takes back `me`'s `emoji` on a message of a room `me` belongs to (others: 404);
/// a deleted message takes none, and a direct room across a block takes none (403). A change
/// goes to the room as `message_reaction`; reactions to messages notify no one.
#[tracing::instrument(skip_all, fields(user_id = me.id, message_id))]
pub async fn react(
    app: &AppState,
    me: &CurrentUser,
    message_id: i64,
    raw: &str,
    add: bool,
) -> Result<reactions::ReactionState, ApiError> {
    let emoji = reactions::emoji(raw)?;
    let (message, membership) = visible_message(app, me, message_id).await?;
    if membership.is_none() {
        return Err(ApiError::NotFound);
    }
    may_write(app, me, &members::room(app, message.room_id).await?).await?;
    if message.deleted && add {
        return Err(ApiError::rejected("This message has been deleted."));
    }
    let (state, changed) = reactions::change(
        &app.db,
        reactions::Kind::Message,
        message.id,
        me.id,
        emoji,
        add,
    )
    .await?;
    if changed {
        let event = json!({
            "room": message.room_id,
            "message_id": message.id,
            "reactions": state.reactions,
            "user_id": me.id,
            "emoji": emoji,
            "action": if add { "added" } else { "removed" },
        });
        publish_to_room(app, message.room_id, &[], "message_reaction", &event).await;
    }
    Ok(state)
}

/// Who reacted to a message of a room `me` belongs to (staff: any).
pub async fn reactions_of(
    app: &AppState,
    me: &CurrentUser,
    message_id: i64,
    q: &reactions::ReactionQuery,
    page: &mut crate::http::Page,
) -> Result<crate::http::Paginated<reactions::Reaction>, ApiError> {
    let (message, _) = visible_message(app, me, message_id).await?;
    reactions::list(
        app,
        me.into(),
        reactions::Kind::Message,
        message.id,
        q,
        page,
    )
    .await
}

/// Moves `me`'s read marker forward to `message_id` (never back) and tells the room.
#[tracing::instrument(skip_all, fields(user_id = me.id, room_id))]
pub async fn mark_read(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    message_id: Option<i64>,
) -> Result<ReadMarker, ApiError> {
    let (room, _) = member_room(app, me, room_id).await?;
    let message_id = message_id.ok_or_else(|| ApiError::field("message_id", REQUIRED))?;
    let in_room = store::find_message(&app.db, message_id)
        .await?
        .is_some_and(|m| m.room_id == room.id);
    if !in_room {
        return Err(ApiError::field(
            "message_id",
            "The message is not in this room.",
        ));
    }
    if store::mark_read(&app.db, room.id, me.id, message_id).await? {
        let event = json!({"room": room.id, "user_id": me.id, "message_id": message_id});
        // Across a block in a direct room, only `me`'s own devices hear of it.
        let cached = members::room(app, room.id).await?;
        match cached.peer_of(me.id) {
            Some(peer) if social::blocked_now(app, me.id, peer).await? => {
                app.realtime.publish(&[me.id], "message_read", &event);
            }
            _ => publish_to_room(app, room.id, &[], "message_read", &event).await,
        }
    }
    let marker = store::membership(&app.db, room.id, me.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let unread =
        store::unread_counts(&app.db, me.id, &[(room.id, marker.last_read_message_id)]).await?;
    Ok(ReadMarker {
        last_read_message_id: marker.last_read_message_id,
        unread_count: unread.get(&room.id).copied().unwrap_or(0),
    })
}

/// Tells the other members that `me` is typing (or stopped); nothing is stored.
pub async fn typing(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    is_typing: bool,
) -> Result<(), ApiError> {
    let room = members::room(app, room_id).await?;
    if !room.contains(me.id) {
        return Err(ApiError::NotFound);
    }
    may_write(app, me, &room).await?;
    let others: Vec<i64> = room.ids.iter().copied().filter(|id| *id != me.id).collect();
    app.realtime.publish(
        &others,
        "typing",
        &json!({"room": room_id, "user_id": me.id, "is_typing": is_typing}),
    );
    Ok(())
}
