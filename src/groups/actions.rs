//! The group use cases: each finds the group as the caller may see it, asks the permission
//! table, runs one transaction (the group's room membership changes inside it), commits, then
//! notifies and publishes to the room.

use serde_json::json;

use super::model::{GroupBody, GroupFields};
use super::permissions::{Action, Actor, check};
use super::{group_view, store};
use crate::chat::actions::{announce_room, publish_to_room};
use crate::chat::members_view;
use crate::chat::model::{Member, Role};
use crate::chat::rooms::{self, Leaving};
use crate::db::entities::{chat_member, group};
use crate::error::{ApiError, after_commit};
use crate::http::CurrentUser;
use crate::media;
use crate::social;
use crate::state::AppState;

/// A group as `me` finds it, with `me`'s role in it.
pub struct Found {
    pub group: group::Model,
    pub role: Option<Role>,
    pub actor: Actor,
}

/// Whether `me` acts on the group as staff rather than as one of its members: what staff do
/// to a group that is not theirs goes in the audit log.
fn by_staff(me: &CurrentUser, found: &Found) -> bool {
    me.is_staff && found.role.is_none()
}

/// The group, if `me` may see it: public groups to everyone; private ones to their members,
/// the users invited to them and staff. Otherwise a 404, as if it did not exist.
pub async fn visible(app: &AppState, me: &CurrentUser, id: i64) -> Result<Found, ApiError> {
    let group = store::find(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    let role = rooms::membership(&app.db, group.room_id, me.id)
        .await?
        .map(|m| Role::of(&m.role));
    if role.is_none() && !me.is_staff && !social::group_visible(&app.db, &group, me.id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Found {
        actor: Actor::of(role, me.is_staff),
        group,
        role,
    })
}

/// A member of the group's room, or a 404.
pub(super) async fn member(
    app: &AppState,
    group: &group::Model,
    user_id: i64,
) -> Result<chat_member::Model, ApiError> {
    rooms::membership(&app.db, group.room_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Inside `txn`, with the group's room locked: `me` as an actor and `user_id`'s membership,
/// as they are after every role change before this one committed. Every role change (set,
/// remove, leave, transfer) checks its permission on these, so two racing changes cannot both
/// pass on what the other is about to change (a group left without an owner, or with two).
async fn locked_roles(
    txn: &impl sea_orm::ConnectionTrait,
    me: &CurrentUser,
    group: &group::Model,
    user_id: i64,
) -> Result<(Actor, Option<chat_member::Model>), ApiError> {
    rooms::lock(txn, group.room_id).await?;
    let mine = rooms::membership(txn, group.room_id, me.id)
        .await?
        .map(|m| Role::of(&m.role));
    let target = rooms::membership(txn, group.room_id, user_id).await?;
    Ok((Actor::of(mine, me.is_staff), target))
}

async fn announce(app: &AppState, me: &CurrentUser, group: &group::Model) -> Result<(), ApiError> {
    let room = rooms::find_room(&app.db, group.room_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    announce_room(app, me, &room).await;
    Ok(())
}

/// A new avatar must be an image of `me`'s own.
async fn check_avatar(
    app: &AppState,
    me: &CurrentUser,
    fields: &GroupFields,
) -> Result<(), ApiError> {
    if let Some(Some(id)) = fields.avatar
        && let Err(e) = media::owned(app, me.id, &[id], media::Use::Image).await?
    {
        return Err(ApiError::field("avatar", e));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn create(
    app: &AppState,
    me: &CurrentUser,
    fields: GroupFields,
) -> Result<super::model::Group, ApiError> {
    check_avatar(app, me, &fields).await?;
    let now = crate::db::now();
    let name = fields.name.clone().unwrap_or_default();
    let txn = crate::db::begin_write(&app.db).await?;
    let (room, changed) = rooms::create_group_room(&txn, &name, me.id, now).await?;
    let group = store::insert(&txn, fields, room.id, now).await?;
    rooms::link_group(&txn, room.id, group.id).await?;
    txn.commit().await?;
    changed.announce(app).await;
    after_commit("group room", announce(app, me, &group).await);
    group_view(app, me, &group).await
}

#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id))]
pub async fn update(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    body: GroupBody,
) -> Result<super::model::Group, ApiError> {
    let found = visible(app, me, id).await?;
    check(found.actor, Action::Update).enforce()?;
    let sent = serde_json::to_value(&body).unwrap_or_default();
    let fields = body.validate(false)?;
    check_avatar(app, me, &fields).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    store::update(&txn, found.group.id, &fields).await?;
    if by_staff(me, &found) {
        crate::db::audit::append(&txn, me.id, "group.update", "group", id, sent).await?;
    }
    if let Some(name) = &fields.name {
        rooms::rename(&txn, found.group.room_id, name).await?;
    }
    txn.commit().await?;
    if fields.name.is_some() {
        after_commit("group room", announce(app, me, &found.group).await);
    }
    let group = store::find(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    group_view(app, me, &group).await
}

/// Deletes the group with its room, messages, requests and invites; each former member gets
/// `member_left` for the room.
#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id))]
pub async fn delete(app: &AppState, me: &CurrentUser, id: i64) -> Result<(), ApiError> {
    let found = visible(app, me, id).await?;
    check(found.actor, Action::Delete).enforce()?;
    let room_id = found.group.room_id;
    let txn = crate::db::begin_write(&app.db).await?;
    store::delete(&txn, found.group.id).await?;
    if by_staff(me, &found) {
        crate::db::audit::append(&txn, me.id, "group.delete", "group", id, json!({})).await?;
    }
    let (members, changed) = rooms::delete_room(&txn, room_id).await?;
    txn.commit().await?;
    changed.announce(app).await;
    for user_id in members {
        app.realtime.publish(
            &[user_id],
            "member_left",
            &json!({"room": room_id, "user_id": user_id}),
        );
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id, target = user_id))]
pub async fn set_role(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    user_id: i64,
    role: Role,
) -> Result<Member, ApiError> {
    let found = visible(app, me, id).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    let (actor, target) = locked_roles(&txn, me, &found.group, user_id).await?;
    let target = target.ok_or(ApiError::NotFound)?;
    check(actor, Action::SetRole(Role::of(&target.role))).enforce()?;
    rooms::set_role(&txn, found.group.room_id, user_id, role).await?;
    txn.commit().await?;
    after_commit("group room", announce(app, me, &found.group).await);
    let updated = member(app, &found.group, user_id).await?;
    super::single(members_view(app, me, std::slice::from_ref(&updated)).await?)
}

/// `me` removes `user_id`, or leaves when it is `me`.
#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id, target = user_id))]
pub async fn remove(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    user_id: i64,
) -> Result<(), ApiError> {
    let found = visible(app, me, id).await?;
    let room_id = found.group.room_id;
    let leaving = Leaving::start(app, room_id).await;
    let removed = async {
        let txn = crate::db::begin_write(&app.db).await?;
        let (actor, target) = locked_roles(&txn, me, &found.group, user_id).await?;
        let target_role = Role::of(&target.ok_or(ApiError::NotFound)?.role);
        let action = if user_id == me.id {
            Action::Leave(target_role)
        } else {
            Action::Remove(target_role)
        };
        check(actor, action).enforce()?;
        let _changed = rooms::remove_member(&txn, room_id, user_id).await?;
        txn.commit().await?;
        Ok::<_, ApiError>(())
    }
    .await;
    // Announces the removal (whatever its outcome) and ends the leaving.
    leaving.done(app).await;
    removed?;
    publish_to_room(
        app,
        found.group.room_id,
        &[user_id],
        "member_left",
        &json!({"room": found.group.room_id, "user_id": user_id}),
    )
    .await;
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id, target = user_id))]
pub async fn transfer(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    user_id: i64,
) -> Result<super::model::Group, ApiError> {
    let found = visible(app, me, id).await?;
    // Only someone who may transfer learns whether the user is a member.
    check(found.actor, Action::Transfer(Role::Member)).enforce()?;
    let txn = crate::db::begin_write(&app.db).await?;
    let (actor, target) = locked_roles(&txn, me, &found.group, user_id).await?;
    let target = target
        .ok_or_else(|| ApiError::field("user_id", "This user is not a member of the group."))?;
    check(actor, Action::Transfer(Role::of(&target.role))).enforce()?;
    rooms::hand_over(&txn, found.group.room_id, user_id).await?;
    if by_staff(me, &found) {
        let data = json!({"user_id": user_id});
        crate::db::audit::append(&txn, me.id, "group.transfer", "group", id, data).await?;
    }
    txn.commit().await?;
    after_commit("group room", announce(app, me, &found.group).await);
    group_view(app, me, &found.group).await
}
