//! The chat use cases, shared by the REST routes and the `/ws/` gateway: each checks who may
//! do it, validates, runs one transaction, commits, then publishes and notifies.

use std::collections::HashSet;

use serde_json::json;

use super::model::{Message, ReadMarker, Role, Room, RoomKind, SendBody, message_body, room_name};
use super::{
    members, message_event, message_event_with, message_events, message_view, message_view_with,
    room_view, store, writer,
};
use crate::db::entities::{chat_member, chat_message, chat_room};
use crate::error::{ApiError, REQUIRED, after_commit};
use crate::events::Event;
use crate::http::CurrentUser;
use crate::media;
use crate::notifications;
use crate::social;
use crate::state::AppState;

/// The room and `me`'s membership of it; a room `me` is not in is a 404, as if it did not
/// exist.
pub async fn member_room(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
) -> Result<(chat_room::Model, chat_member::Model), ApiError> {
    let membership = store::membership(&app.db, room_id, me.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let room = store::find_room(&app.db, room_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((room, membership))
}

/// Sends `kind` with `data` to every member of `room_id`, plus `also` (a member who just
/// left). Runs after a commit: a failure is logged, never turned into an error.
pub async fn publish_to_room(
    app: &AppState,
    room_id: i64,
    also: &[i64],
    kind: &str,
    data: &impl serde::Serialize,
) {
    match members::member_ids(app, room_id).await {
        Ok(ids) => {
            let mut ids = ids.to_vec();
            ids.extend_from_slice(also);
            app.realtime.publish(&ids, kind, data);
        }
        Err(e) => after_commit::<()>("room event", Err(e)),
    }
}

/// `room_updated` to every member: the room without what depends on who looks, its links
/// not built from `me`'s request. After a commit: a failure is logged.
pub async fn announce_room(app: &AppState, me: &CurrentUser, room: &chat_room::Model) {
    match app.for_others(room_view(app, me, room)).await {
        Ok(view) => {
            let event = view.for_everyone();
            publish_to_room(app, room.id, &[], "room_updated", &event).await;
        }
        Err(e) => after_commit::<()>("room_updated", Err(e)),
    }
}

/// Every one of `ids` must be an active friend of `me`; otherwise a field error on `field`.
async fn friends_only(
    app: &AppState,
    me: &CurrentUser,
    ids: &[i64],
    field: &str,
) -> Result<(), ApiError> {
    let friends = social::store::friends_among(&app.db, me.id, ids).await?;
    let active: HashSet<i64> = app
        .users_by_id(ids)
        .await?
        .iter()
        .filter(|u| u.is_active)
        .map(|u| u.id)
        .collect();
    let bad: Vec<String> = ids
        .iter()
        .filter(|id| !friends.contains(id) || !active.contains(id))
        .map(ToString::to_string)
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::field(
            field,
            format!("Only your friends can be added: {}.", bad.join(", ")),
        ))
    }
}

fn distinct_others(ids: Vec<i64>, me: i64) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| *id != me && seen.insert(*id))
        .collect()
}

/// A group room named `name` with `me` as owner and `member_ids` (friends of `me`) as members.
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn create_group(
    app: &AppState,
    me: &CurrentUser,
    name: String,
    member_ids: Vec<i64>,
) -> Result<Room, ApiError> {
    let others = distinct_others(member_ids, me.id);
    if others.len() > super::model::MAX_MEMBERS_AT_ONCE {
        return Err(ApiError::field("member_ids", "Too many members at once."));
    }
    friends_only(app, me, &others, "member_ids").await?;
    let now = crate::db::now();
    let txn = crate::db::begin_write(&app.db).await?;
    let room = store::create_room(&txn, RoomKind::Group, &name, None, now).await?;
    let mut members = vec![(me.id, Role::Owner)];
    members.extend(others.iter().map(|id| (*id, Role::Member)));
    store::add_members(&txn, room.id, &members, now).await?;
    txn.commit().await?;
    announce_room(app, me, &room).await;
    room_view(app, me, &room).await
}

/// The direct room of `me` and `user_id`, created if missing; true when it was created.
#[tracing::instrument(skip_all, fields(user_id = me.id, other = user_id))]
pub async fn open_direct(
    app: &AppState,
    me: &CurrentUser,
    user_id: i64,
) -> Result<(Room, bool), ApiError> {
    if user_id == me.id {
        return Err(ApiError::field(
            "user_id",
            "You cannot open a direct room with yourself.",
        ));
    }
    let other = crate::users::active_user(app, user_id, "user_id").await?;
    // Asked before the room is looked up: a block or a narrowed `allow_messages_from` closes
    // an existing room to new messages as it would refuse a new one.
    if !social::may_message(&app.db, me.id, &other).await? {
        return Err(ApiError::Forbidden);
    }
    let key = store::direct_key(me.id, other.id);
    if let Some(room) = store::direct_room(&app.db, &key).await? {
        return Ok((room_view(app, me, &room).await?, false));
    }
    let now = crate::db::now();
    let txn = crate::db::begin_write(&app.db).await?;
    let created = match store::create_room(&txn, RoomKind::Direct, "", Some(key.clone()), now).await
    {
        Ok(room) => room,
        // Both opened it at once: the other request's room is the room.
        Err(e) if crate::db::is_unique_violation(&e) => {
            drop(txn);
            let room = store::direct_room(&app.db, &key)
                .await?
                .ok_or(ApiError::NotFound)?;
            return Ok((room_view(app, me, &room).await?, false));
        }
        Err(e) => return Err(e.into()),
    };
    store::add_members(
        &txn,
        created.id,
        &[(me.id, Role::Member), (other.id, Role::Member)],
        now,
    )
    .await?;
    txn.commit().await?;
    announce_room(app, me, &created).await;
    Ok((room_view(app, me, &created).await?, true))
}

/// Direct rooms are fixed: renaming them, adding to them or removing others is a 403. A
/// group's room changes with its group, through /api/groups/ (400 here).
fn group_only(room: &chat_room::Model) -> Result<(), ApiError> {
    match RoomKind::of(&room.kind) {
        RoomKind::Direct => Err(ApiError::Forbidden),
        RoomKind::Group if room.group_id.is_some() => Err(ApiError::rejected(GROUP_ROOM)),
        RoomKind::Group => Ok(()),
    }
}

const GROUP_ROOM: &str =
    "This is the room of a group: its name and members change through /api/groups/.";

#[tracing::instrument(skip_all, fields(user_id = me.id, room_id))]
pub async fn rename(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    name: Option<&str>,
) -> Result<Room, ApiError> {
    let (room, membership) = member_room(app, me, room_id).await?;
    group_only(&room)?;
    if !Role::of(&membership.role).manages() {
        return Err(ApiError::Forbidden);
    }
    let name = room_name(name).map_err(|e| ApiError::field("name", e))?;
    store::rename(&app.db, room.id, &name).await?;
    let room = store::find_room(&app.db, room.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    announce_room(app, me, &room).await;
    room_view(app, me, &room).await
}

#[tracing::instrument(skip_all, fields(user_id = me.id, room_id))]
pub async fn add_members(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    user_ids: Option<Vec<i64>>,
) -> Result<Room, ApiError> {
    let (room, membership) = member_room(app, me, room_id).await?;
    group_only(&room)?;
    if !Role::of(&membership.role).manages() {
        return Err(ApiError::Forbidden);
    }
    let user_ids = user_ids.ok_or_else(|| ApiError::field("user_ids", REQUIRED))?;
    let wanted = distinct_others(user_ids, me.id);
    if wanted.len() > super::model::MAX_MEMBERS_AT_ONCE {
        return Err(ApiError::field("user_ids", "Too many members at once."));
    }
    let present: HashSet<i64> = members::member_ids(app, room.id)
        .await?
        .iter()
        .copied()
        .collect();
    let new: Vec<i64> = wanted
        .into_iter()
        .filter(|id| !present.contains(id))
        .collect();
    friends_only(app, me, &new, "user_ids").await?;
    let now = crate::db::now();
    let members: Vec<(i64, Role)> = new.iter().map(|id| (*id, Role::Member)).collect();
    store::add_members(&app.db, room.id, &members, now).await?;
    members::changed(app, room.id).await;
    // The member list is read once for all the `member_joined` events, not once per new member.
    match members::member_ids(app, room.id).await {
        Ok(recipients) => {
            for user_id in &new {
                app.realtime.publish(
                    &recipients,
                    "member_joined",
                    &json!({"room": room.id, "user_id": user_id}),
                );
            }
        }
        Err(e) => after_commit::<()>("member_joined events", Err(e)),
    }
    room_view(app, me, &room).await
}

/// `me` removes `user_id` (owner: anyone; admin: members), or leaves when it is `me`. An
/// owner who leaves hands the room to the longest-standing admin, else member.
#[tracing::instrument(skip_all, fields(user_id = me.id, room_id, target = user_id))]
pub async fn remove_member(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    user_id: i64,
) -> Result<(), ApiError> {
    let (room, membership) = member_room(app, me, room_id).await?;
    let my_role = Role::of(&membership.role);
    let leaving = user_id == me.id;
    if RoomKind::of(&room.kind) == RoomKind::Direct {
        return Err(if leaving {
            ApiError::rejected("A direct room cannot be left.")
        } else {
            ApiError::Forbidden
        });
    }
    if room.group_id.is_some() {
        return Err(ApiError::rejected(GROUP_ROOM));
    }
    let target = if leaving {
        membership
    } else {
        if !my_role.manages() {
            return Err(ApiError::Forbidden);
        }
        let target = store::membership(&app.db, room.id, user_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        if Role::of(&target.role) >= my_role {
            return Err(ApiError::Forbidden);
        }
        target
    };
    members::leaving(app, room.id).await;
    let removed = async {
        let txn = crate::db::begin_write(&app.db).await?;
        store::remove_member(&txn, room.id, target.user_id).await?;
        if Role::of(&target.role) == Role::Owner {
            let rest = store::members_of(&txn, &[room.id]).await?;
            let heir = rest
                .iter()
                .find(|m| Role::of(&m.role) == Role::Admin)
                .or_else(|| rest.first());
            if let Some(heir) = heir {
                store::set_role(&txn, room.id, heir.user_id, Role::Owner).await?;
            }
        }
        txn.commit().await
    }
    .await;
    members::changed(app, room.id).await;
    removed?;
    publish_to_room(
        app,
        room.id,
        &[target.user_id],
        "member_left",
        &json!({"room": room.id, "user_id": target.user_id}),
    )
    .await;
    Ok(())
}

/// In a direct room, whether `me` may still write to the other member (no block either way,
/// and their `allow_messages_from` still admits `me`): asked at every send, edit and typing
/// frame, not only when the room was made. A 403 otherwise.
async fn may_write(app: &AppState, me: &CurrentUser, room: &members::Room) -> Result<(), ApiError> {
    match room.peer_of(me.id) {
        Some(peer) if !social::may_message_now(app, me.id, peer).await? => Err(ApiError::Forbidden),
        _ => Ok(()),
    }
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
    let row = writer::NewRow {
        room_id,
        sender_id: me.id,
        body: new.body,
        reply_to: new.reply_to,
        client_id: new.client_id.clone(),
        attachments: new.attachments,
        now: crate::db::now(),
    };
    let Some(message) = writer::write(app, row).await? else {
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
        (Ok(members), Ok(event)) => app.realtime.publish(&members, "chat_message", &event),
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
        media::store::detach_all(&txn, message.id).await?;
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
    let unread = store::unread_counts(&app.db, me.id, &[room.id]).await?;
    Ok(ReadMarker {
        last_read_message_id: marker.last_read_message_id,
        unread_count: unread.get(&room.id).copied().unwrap_or(0),
    })
}

pub async fn mute(
    app: &AppState,
    me: &CurrentUser,
    room_id: i64,
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Room, ApiError> {
    let (room, _) = member_room(app, me, room_id).await?;
    store::set_mute(&app.db, room.id, me.id, until).await?;
    room_view(app, me, &room).await
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
