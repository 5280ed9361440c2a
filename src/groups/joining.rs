//! Getting into a group: joining a public one, asking to join a private one and the answers
//! to those requests, invites and the answers to them. Each admits through `admit`, the one
//! place where someone enters a group after its creation.

use serde_json::json;

use super::actions::{Found, member, visible};
use super::model::{ActionBody, JoinOutcome, Visibility};
use super::permissions::{Action, check};
use super::{invite_view, request_view, store};
use crate::chat::actions::publish_to_room;
use crate::chat::members_view;
use crate::chat::model::Role;
use crate::chat::rooms::{self, MembersChanged};
use crate::db::entities::{group, group_invite, group_join_request};
use crate::error::{ApiError, after_commit};
use crate::http::CurrentUser;
use crate::notifications::{self, model as kinds};
use crate::social;
use crate::state::AppState;

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
