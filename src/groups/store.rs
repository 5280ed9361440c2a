//! Group queries: groups, join requests, invites. Membership lives in the group's chat room
//! and is read and changed through `chat::rooms`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Select,
};

use super::model::{GroupFields, Visibility};
use crate::db::entities::{chat_member, group, group_invite, group_join_request};
use crate::db::like_contains;

pub const PENDING: &str = crate::db::PENDING;

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<group::Model>, DbErr> {
    group::Entity::find_by_id(id).one(db).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    fields: GroupFields,
    room_id: i64,
    now: DateTime<Utc>,
) -> Result<group::Model, DbErr> {
    group::ActiveModel {
        name: Set(fields.name.unwrap_or_default()),
        description: Set(fields.description.unwrap_or_default()),
        visibility: Set(fields
            .visibility
            .unwrap_or(Visibility::Public)
            .as_str()
            .to_owned()),
        avatar_id: Set(fields.avatar.flatten()),
        room_id: Set(room_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Applies the fields that were sent.
pub async fn update(db: &impl ConnectionTrait, id: i64, fields: &GroupFields) -> Result<(), DbErr> {
    let mut q = group::Entity::update_many().filter(group::Column::Id.eq(id));
    let mut changed = false;
    if let Some(name) = &fields.name {
        q = q.col_expr(group::Column::Name, Expr::value(name.clone()));
        changed = true;
    }
    if let Some(d) = &fields.description {
        q = q.col_expr(group::Column::Description, Expr::value(d.clone()));
        changed = true;
    }
    if let Some(v) = fields.visibility {
        q = q.col_expr(group::Column::Visibility, Expr::value(v.as_str()));
        changed = true;
    }
    if let Some(a) = fields.avatar {
        q = q.col_expr(group::Column::AvatarId, Expr::value(a));
        changed = true;
    }
    if changed {
        q.exec(db).await?;
    }
    Ok(())
}

/// Who lists groups, and what they asked for.
pub struct Listing<'a> {
    pub user_id: i64,
    pub is_staff: bool,
    pub search: Option<&'a str>,
    pub mine: bool,
}

/// The groups a listing shows, newest first: public ones, those the user belongs to or is
/// invited to (staff: all); with `mine`, only those the user belongs to.
pub fn list_query(l: &Listing<'_>) -> Select<group::Entity> {
    let my_rooms = Query::select()
        .column(chat_member::Column::RoomId)
        .from(chat_member::Entity)
        .and_where(chat_member::Column::UserId.eq(l.user_id))
        .to_owned();
    let mut q = group::Entity::find();
    if l.mine {
        q = q.filter(group::Column::RoomId.in_subquery(my_rooms));
    } else if !l.is_staff {
        let invited = Query::select()
            .column(group_invite::Column::GroupId)
            .from(group_invite::Entity)
            .and_where(group_invite::Column::UserId.eq(l.user_id))
            .and_where(group_invite::Column::Status.eq(PENDING))
            .to_owned();
        q = q.filter(
            Condition::any()
                .add(group::Column::Visibility.eq(Visibility::Public.as_str()))
                .add(group::Column::RoomId.in_subquery(my_rooms))
                .add(group::Column::Id.in_subquery(invited)),
        );
    }
    if let Some(s) = l.search {
        let pattern = like_contains(s);
        let like = |col: group::Column| {
            Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(&pattern).escape('\\'))
        };
        q = q.filter(
            Condition::any()
                .add(like(group::Column::Name))
                .add(like(group::Column::Description)),
        );
    }
    q.order_by_desc(group::Column::Id)
}

pub async fn create_request(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<group_join_request::Model, DbErr> {
    group_join_request::ActiveModel {
        group_id: Set(group_id),
        user_id: Set(user_id),
        status: Set(PENDING.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_request(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<group_join_request::Model>, DbErr> {
    group_join_request::Entity::find_by_id(id).one(db).await
}

/// Closes a pending request with `status`; false when it was no longer pending.
pub async fn close_request(
    db: &impl ConnectionTrait,
    id: i64,
    status: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use group_join_request::Column as C;
    let columns = crate::db::PendingColumns {
        id: C::Id,
        status: C::Status,
        updated_at: C::UpdatedAt,
    };
    crate::db::close_pending::<group_join_request::Entity>(db, columns, id, status, now).await
}

/// The pending join requests of a group, oldest first.
pub fn pending_requests(group_id: i64) -> Select<group_join_request::Entity> {
    group_join_request::Entity::find()
        .filter(group_join_request::Column::GroupId.eq(group_id))
        .filter(group_join_request::Column::Status.eq(PENDING))
        .order_by_asc(group_join_request::Column::Id)
}

pub async fn create_invite(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
    invited_by: i64,
    now: DateTime<Utc>,
) -> Result<group_invite::Model, DbErr> {
    group_invite::ActiveModel {
        group_id: Set(group_id),
        user_id: Set(user_id),
        invited_by: Set(invited_by),
        status: Set(PENDING.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_invite(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<group_invite::Model>, DbErr> {
    group_invite::Entity::find_by_id(id).one(db).await
}

pub async fn pending_invite(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
) -> Result<Option<group_invite::Model>, DbErr> {
    group_invite::Entity::find()
        .filter(group_invite::Column::GroupId.eq(group_id))
        .filter(group_invite::Column::UserId.eq(user_id))
        .filter(group_invite::Column::Status.eq(PENDING))
        .one(db)
        .await
}

/// Closes a pending invite with `status`; false when it was no longer pending.
pub async fn close_invite(
    db: &impl ConnectionTrait,
    id: i64,
    status: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use group_invite::Column as C;
    let columns = crate::db::PendingColumns {
        id: C::Id,
        status: C::Status,
        updated_at: C::UpdatedAt,
    };
    crate::db::close_pending::<group_invite::Entity>(db, columns, id, status, now).await
}

/// A user's pending invites, newest first.
pub fn pending_invites_of(user_id: i64) -> Select<group_invite::Entity> {
    group_invite::Entity::find()
        .filter(group_invite::Column::UserId.eq(user_id))
        .filter(group_invite::Column::Status.eq(PENDING))
        .order_by_desc(group_invite::Column::Id)
}

/// Deletes a group with its join requests and invites (its room goes separately).
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    group::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Closes every pending join request of `user_id` to the group with `status`.
pub async fn close_pending_requests(
    db: &impl ConnectionTrait,
    group_id: i64,
    user_id: i64,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    group_join_request::Entity::update_many()
        .col_expr(group_join_request::Column::Status, Expr::value(status))
        .col_expr(group_join_request::Column::UpdatedAt, Expr::value(now))
        .filter(group_join_request::Column::GroupId.eq(group_id))
        .filter(group_join_request::Column::UserId.eq(user_id))
        .filter(group_join_request::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(())
}
