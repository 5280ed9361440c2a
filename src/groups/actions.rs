//! The group use cases: each finds the group as the caller may see it, asks the permission
//! table, runs one transaction (the group's room membership changes inside it), commits, then
//! notifies and publishes to the room.

use serde_json::json;

use super::model::{ActionBody, GroupBody, GroupFields, JoinOutcome, Visibility};
use super::permissions::{Action, Actor, check};
use super::{group_view, invite_view, request_view, store};
use crate::chat::actions::{announce_room, publish_to_room};
use crate::chat::members_view;
use crate::chat::model::{Member, Role};
use crate::chat::rooms::{self, Leaving, MembersChanged};
use crate::db::entities::{chat_member, group, group_invite, group_join_request};
use crate::error::{ApiError, after_commit};
use crate::http::CurrentUser;
use crate::media;
use crate::notifications::{self, model as kinds};
use crate::social;
use crate::state::AppState;

/// A group as `me` finds it, with `me`'s role in it.
pub struct Found {
    pub group: group::Model,
    pub role: Option<Role>,
    pub actor: Actor,
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
async fn member(
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

async fn joined(app: &AppState, group: &group::Model, user_id: i64, changed: MembersChanged) {
    changed.announce(app).await;
    publish_to_room(
        app,
        group.room_id,
        &[],
        "member_joined",
        &json!({"room": group.room_id, "user_id": user_id}),
    )
    .await;
}

/// Makes `user_id` a member (if not one yet) and closes their pending invite and join request
/// to the group: the one place where someone enters a group after its creation. The change to
/// announce after the commit when they were not a member yet.
async fn admit(
    txn: &impl sea_orm::ConnectionTrait,
    group: &group::Model,
    user_id: i64,
) -> Result<Option<MembersChanged>, ApiError> {
    let now = crate::db::now();
    let (added, changed) = rooms::add_member(txn, group.room_id, user_id, now).await?;
    let new = added.then_some(changed);
    if let Some(invite) = store::pending_invite(txn, group.id, user_id).await? {
        store::close_invite(txn, invite.id, "accepted", now).await?;
    }
    store::close_pending_requests(txn, group.id, user_id, "approved", now).await?;
    Ok(new)
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
    let fields = body.validate(false)?;
    check_avatar(app, me, &fields).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    store::update(&txn, found.group.id, &fields).await?;
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
    txn.commit().await?;
    after_commit("group room", announce(app, me, &found.group).await);
    group_view(app, me, &found.group).await
}

/// Joins a public group at once (or a private one `me` is invited to); asks to join a private
/// one otherwise. A private group's id is enough to ask: that is how one gets in.
#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id))]
pub async fn join(app: &AppState, me: &CurrentUser, id: i64) -> Result<JoinOutcome, ApiError> {
    let group = store::find(&app.db, id).await?.ok_or(ApiError::NotFound)?;
    if rooms::membership(&app.db, group.room_id, me.id)
        .await?
        .is_some()
    {
        return Err(ApiError::rejected(
            "You are already a member of this group.",
        ));
    }
    let invited = store::pending_invite(&app.db, group.id, me.id)
        .await?
        .is_some();
    if Visibility::of(&group.visibility) == Visibility::Public || invited {
        let txn = crate::db::begin_write(&app.db).await?;
        let new = admit(&txn, &group, me.id).await?;
        txn.commit().await?;
        if let Some(changed) = new {
            joined(app, &group, me.id, changed).await;
        }
        let row = member(app, &group, me.id).await?;
        let view = super::single(members_view(app, me, std::slice::from_ref(&row)).await?)?;
        return Ok(JoinOutcome::Joined(view));
    }
    let request = match store::create_request(&app.db, group.id, me.id, crate::db::now()).await {
        Ok(r) => r,
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(ApiError::rejected(
                "You have already asked to join this group.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let managers: Vec<i64> = rooms::members_of(&app.db, &[group.room_id])
        .await?
        .into_iter()
        .filter(|m| Role::of(&m.role).manages())
        .map(|m| m.user_id)
        .collect();
    after_commit(
        "join request notification",
        notifications::notify_many(
            app,
            &managers,
            Some(me.id),
            kinds::GROUP_JOIN_REQUEST,
            format!("{} asked to join {}", me.user.username, group.name),
            json!({"group_id": group.id, "join_request_id": request.id}),
        )
        .await,
    );
    Ok(JoinOutcome::Requested(
        request_view(app, me, &request).await?,
    ))
}

/// A join request of group `id` for someone who answers them.
async fn request_to_answer(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    request_id: i64,
) -> Result<(Found, group_join_request::Model), ApiError> {
    let found = visible(app, me, id).await?;
    check(found.actor, Action::AnswerJoinRequests).enforce()?;
    let request = store::find_request(&app.db, request_id)
        .await?
        .filter(|r| r.group_id == found.group.id)
        .ok_or(ApiError::NotFound)?;
    Ok((found, request))
}

#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id, request_id))]
pub async fn answer_request(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    request_id: i64,
    body: ActionBody,
) -> Result<super::model::JoinRequest, ApiError> {
    let (found, request) = request_to_answer(app, me, id, request_id).await?;
    let approve = body.validate(["approve", "reject"])?;
    let group = &found.group;
    let now = crate::db::now();
    let txn = crate::db::begin_write(&app.db).await?;
    let status = if approve { "approved" } else { "rejected" };
    if !store::close_request(&txn, request.id, status, now).await? {
        return Err(ApiError::rejected("This request was already answered."));
    }
    let new = if approve {
        admit(&txn, group, request.user_id).await?
    } else {
        None
    };
    txn.commit().await?;
    if approve {
        if let Some(changed) = new {
            joined(app, group, request.user_id, changed).await;
        }
        after_commit(
            "join approved notification",
            notifications::notify(
                app,
                request.user_id,
                Some(me.id),
                kinds::GROUP_JOIN_APPROVED,
                format!("Your request to join {} was approved", group.name),
                json!({"group_id": group.id, "join_request_id": request.id}),
            )
            .await,
        );
    }
    let request = store::find_request(&app.db, request.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    request_view(app, me, &request).await
}

#[tracing::instrument(skip_all, fields(user_id = me.id, group_id = id, target = user_id))]
pub async fn invite(
    app: &AppState,
    me: &CurrentUser,
    id: i64,
    user_id: i64,
) -> Result<super::model::Invite, ApiError> {
    let found = visible(app, me, id).await?;
    check(found.actor, Action::Invite).enforce()?;
    let target = crate::users::active_user(app, user_id, "user_id").await?;
    if rooms::membership(&app.db, found.group.room_id, target.id)
        .await?
        .is_some()
    {
        return Err(ApiError::rejected(
            "This user is already a member of the group.",
        ));
    }
    if social::store::blocked_either_way(&app.db, me.id, target.id).await? {
        return Err(ApiError::Forbidden);
    }
    let invite =
        match store::create_invite(&app.db, found.group.id, target.id, me.id, crate::db::now())
            .await
        {
            Ok(i) => i,
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(ApiError::rejected(
                    "This user already has a pending invite to this group.",
                ));
            }
            Err(e) => return Err(e.into()),
        };
    after_commit(
        "group invite notification",
        notifications::notify(
            app,
            target.id,
            Some(me.id),
            kinds::GROUP_INVITE,
            format!("{} invited you to {}", me.user.username, found.group.name),
            json!({"group_id": found.group.id, "invite_id": invite.id}),
        )
        .await,
    );
    invite_view(app, me, &invite).await
}

/// `me` accepts (joins) or declines one of their invites; anyone else's is a 404.
#[tracing::instrument(skip_all, fields(user_id = me.id, invite_id))]
pub async fn answer_invite(
    app: &AppState,
    me: &CurrentUser,
    invite_id: i64,
    accept: bool,
) -> Result<super::model::Invite, ApiError> {
    let invite: group_invite::Model = store::find_invite(&app.db, invite_id)
        .await?
        .filter(|i| i.user_id == me.id)
        .ok_or(ApiError::NotFound)?;
    let group = store::find(&app.db, invite.group_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = crate::db::now();
    let txn = crate::db::begin_write(&app.db).await?;
    let status = if accept { "accepted" } else { "declined" };
    if !store::close_invite(&txn, invite.id, status, now).await? {
        return Err(ApiError::rejected("This invite was already answered."));
    }
    let new = if accept {
        admit(&txn, &group, me.id).await?
    } else {
        None
    };
    txn.commit().await?;
    if let Some(changed) = new {
        joined(app, &group, me.id, changed).await;
    }
    let invite = store::find_invite(&app.db, invite.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    invite_view(app, me, &invite).await
}
