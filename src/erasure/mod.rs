//! Erasing a deleted account's data, the `delete_account` job: the one use case that reaches
//! into every feature, so it sits above them all. `DELETE /api/users/me/` has already made the
//! account an inactive shell (signed out everywhere, profile gone, username and email free);
//! this takes the rest away through each feature's own functions, so every kept count (comment
//! counts, reaction counts, friend counts, inboxes) stays right. Each step reads what is left,
//! so a job cut off by a crash resumes where it was when it runs again. No event is sent per
//! object; rooms and groups hear `member_left` as when anyone leaves.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::chat::model::{Role, RoomKind};
use crate::db::entities::{
    chat_member, chat_message, comment, friend_request, group_invite, group_join_request, media,
    notification_setting, post, reaction, user_block,
};
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::state::AppState;
use crate::{chat, groups, notifications, posts, reactions, social, users};

/// Rows handled per round of a step.
const BATCH: u64 = 200;

/// Erases what is left of deleted account `user_id`.
pub async fn run(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    let Some(u) = users::store::find_by_id(&app.db, user_id).await? else {
        return Ok(());
    };
    if u.deleted_at.is_none() {
        tracing::warn!(user_id, "erasure asked for an account that was not deleted");
        return Ok(());
    }
    let me = CurrentUser::of(u);
    leave_rooms(app, &me).await?;
    leave_groups(app, &me).await?;
    delete_posts(app, user_id).await?;
    delete_comments(app, user_id).await?;
    remove_reactions(app, user_id).await?;
    tombstone_messages(app, user_id).await?;
    delete_media(app, user_id).await?;
    erase_ties(app, user_id).await?;
    crate::export::erase_all(app, user_id).await?;
    app.user_changed(user_id).await;
    tracing::info!(user_id, "deleted account erased");
    Ok(())
}

/// Group chat rooms (not a group's): left as an owner leaves (the longest-standing admin, else
/// member, takes it over); a room left empty is deleted. Direct rooms stay for the other user.
async fn leave_rooms(app: &AppState, me: &CurrentUser) -> Result<(), ApiError> {
    let rooms = chat::store::rooms_of(me.id).all(&app.db).await?;
    for room in rooms {
        if RoomKind::of(&room.kind) == RoomKind::Direct || room.group_id.is_some() {
            continue;
        }
        match chat::actions::remove_member(app, me, room.id, me.id).await {
            Ok(()) | Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
        if chat::store::member_count(&app.db, room.id).await? == 0 {
            let txn = crate::db::begin_write(&app.db).await?;
            let (_, changed) = chat::rooms::delete_room(&txn, room.id).await?;
            txn.commit().await?;
            changed.announce(app).await;
        }
    }
    Ok(())
}

/// Groups: left likewise (an owner hands the group to the longest-standing admin, else
/// member, first); a group left with no member is deleted with its posts.
async fn leave_groups(app: &AppState, me: &CurrentUser) -> Result<(), ApiError> {
    for group_id in social::posts::group_ids_of(&app.db, me.id).await? {
        let Some(group) = groups::store::find(&app.db, group_id).await? else {
            continue;
        };
        let members = chat::store::members_of(&app.db, &[group.room_id]).await?;
        let others: Vec<&chat_member::Model> =
            members.iter().filter(|m| m.user_id != me.id).collect();
        let Some(mine) = members.iter().find(|m| m.user_id == me.id) else {
            continue;
        };
        if others.is_empty() {
            posts_of_group(app, group_id).await?;
            let txn = crate::db::begin_write(&app.db).await?;
            groups::store::delete(&txn, group_id).await?;
            let (_, changed) = chat::rooms::delete_room(&txn, group.room_id).await?;
            txn.commit().await?;
            changed.announce(app).await;
            continue;
        }
        if Role::of(&mine.role) == Role::Owner {
            let heir = others
                .iter()
                .find(|m| Role::of(&m.role) == Role::Admin)
                .or_else(|| others.first())
                .map(|m| m.user_id);
            if let Some(heir) = heir {
                let txn = crate::db::begin_write(&app.db).await?;
                chat::rooms::lock(&txn, group.room_id).await?;
                chat::rooms::hand_over(&txn, group.room_id, heir).await?;
                txn.commit().await?;
            }
        }
        match groups::actions::remove(app, me, group_id, me.id).await {
            Ok(()) | Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The posts of a group about to be deleted, each with its comments, reactions and
/// notifications.
async fn posts_of_group(app: &AppState, group_id: i64) -> Result<(), ApiError> {
    each_post(app, post::Column::GroupId.eq(group_id)).await
}

async fn delete_posts(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    each_post(app, post::Column::AuthorId.eq(user_id)).await
}

async fn each_post(app: &AppState, which: sea_orm::sea_query::SimpleExpr) -> Result<(), ApiError> {
    loop {
        let batch = post::Entity::find()
            .filter(which.clone())
            .order_by_asc(post::Column::Id)
            .limit(BATCH)
            .all(&app.db)
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        for p in &batch {
            posts::actions::remove(app, p, false).await?;
        }
    }
}

/// Their comments elsewhere: a reply or a lone comment goes; a top-level one with others'
/// replies becomes a tombstone by the deleted user.
async fn delete_comments(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    let mut after = 0;
    loop {
        let batch = comment::Entity::find()
            .filter(comment::Column::AuthorId.eq(user_id))
            .filter(comment::Column::Deleted.eq(false))
            .filter(comment::Column::Id.gt(after))
            .order_by_asc(comment::Column::Id)
            .limit(BATCH)
            .all(&app.db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.id;
        for c in &batch {
            if let Some(p) = posts::store::find(&app.db, c.post_id).await? {
                posts::comments::remove(app, c, &p, false).await?;
            }
        }
    }
}

/// Their reactions everywhere, each removed as a user removes one (counts kept).
async fn remove_reactions(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    let mut after = 0;
    loop {
        let batch = reaction::Entity::find()
            .filter(reaction::Column::UserId.eq(user_id))
            .filter(reaction::Column::Id.gt(after))
            .order_by_asc(reaction::Column::Id)
            .limit(BATCH)
            .all(&app.db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.id;
        for r in &batch {
            let Some(kind) = reactions::Kind::parse(&r.kind) else {
                continue;
            };
            match reactions::change(&app.db, kind, r.target_id, user_id, &r.emoji, false).await {
                Ok(_) | Err(ApiError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Every message they sent becomes a tombstone sent by the deleted user.
async fn tombstone_messages(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    loop {
        let ids: Vec<i64> = chat_message::Entity::find()
            .select_only()
            .column(chat_message::Column::Id)
            .filter(chat_message::Column::SenderId.eq(user_id))
            .filter(chat_message::Column::Deleted.eq(false))
            .order_by_asc(chat_message::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(&app.db)
            .await?;
        if ids.is_empty() {
            return Ok(());
        }
        chat::messages::tombstone_all(app, &ids).await?;
    }
}

/// Every file they uploaded, its uses with it.
async fn delete_media(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    loop {
        let batch = media::Entity::find()
            .filter(media::Column::OwnerId.eq(user_id))
            .order_by_asc(media::Column::Id)
            .limit(BATCH)
            .all(&app.db)
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        for m in &batch {
            crate::media::actions::remove(app, m).await?;
        }
    }
}

/// Rows where `a` or `b` is `user_id`.
fn either(a: impl ColumnTrait, b: impl ColumnTrait, user_id: i64) -> Condition {
    Condition::any().add(a.eq(user_id)).add(b.eq(user_id))
}

/// Friendships (the friends' counts kept), requests, blocks, invites and join requests both
/// ways, notifications to and from them, settings and mutes.
async fn erase_ties(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    let friends = social::store::friend_ids(&app.db, user_id).await?;
    let txn = crate::db::begin_write(&app.db).await?;
    for &friend in &friends {
        social::store::lock_pair(&txn, user_id, friend).await?;
        social::store::unfriend(&txn, user_id, friend).await?;
    }
    friend_request::Entity::delete_many()
        .filter(either(
            friend_request::Column::SenderId,
            friend_request::Column::ReceiverId,
            user_id,
        ))
        .exec(&txn)
        .await?;
    user_block::Entity::delete_many()
        .filter(either(
            user_block::Column::BlockerId,
            user_block::Column::BlockedId,
            user_id,
        ))
        .exec(&txn)
        .await?;
    group_invite::Entity::delete_many()
        .filter(either(
            group_invite::Column::UserId,
            group_invite::Column::InvitedBy,
            user_id,
        ))
        .exec(&txn)
        .await?;
    group_join_request::Entity::delete_many()
        .filter(group_join_request::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    notifications::store::delete_involving(&txn, user_id).await?;
    notification_setting::Entity::delete_many()
        .filter(notification_setting::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    chat_member::Entity::update_many()
        .col_expr(
            chat_member::Column::MutedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(chat_member::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    for friend in friends {
        app.user_changed(friend).await;
    }
    Ok(())
}
