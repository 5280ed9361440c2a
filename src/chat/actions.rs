//! The room use cases, shared by the REST routes and the `/ws/` gateway: group and direct
//! rooms, their names and members, mutes. Each checks who may do it, validates, runs one
//! transaction, commits, then publishes. Messages are in `messages`.

use std::collections::HashSet;

use serde_json::json;

use super::model::{Role, Room, RoomKind, room_name};
use super::{members, room_view, store};
use crate::db::entities::{chat_member, chat_room};
use crate::error::{ApiError, REQUIRED, after_commit};
use crate::http::CurrentUser;
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
    if !social::may_message(app, me.id, other.id).await? {
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
    let txn = crate::db::begin_write(&app.db).await?;
    store::add_members(&txn, room.id, &members, now).await?;
    txn.commit().await?;
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
