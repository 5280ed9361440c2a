//! Chat queries: rooms, members, read markers (and, in `messages`, messages). Every function
//! takes a connection or a transaction and knows nothing of HTTP.

mod messages;
mod tallies;

pub use messages::*;
pub use tallies::*;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Statement, Value,
};

use super::model::{Role, RoomKind};
use crate::db::entities::{chat_member, chat_room};

/// "smaller id:larger id": one direct room per pair.
pub fn direct_key(a: i64, b: i64) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

pub async fn find_room(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<chat_room::Model>, DbErr> {
    chat_room::Entity::find_by_id(id).one(db).await
}

pub async fn direct_room(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<chat_room::Model>, DbErr> {
    chat_room::Entity::find()
        .filter(chat_room::Column::DirectKey.eq(key))
        .one(db)
        .await
}

pub async fn membership(
    db: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
) -> Result<Option<chat_member::Model>, DbErr> {
    chat_member::Entity::find_by_id((room_id, user_id))
        .one(db)
        .await
}

/// The members of `room_ids`, oldest first within each room.
pub async fn members_of(
    db: &impl ConnectionTrait,
    room_ids: &[i64],
) -> Result<Vec<chat_member::Model>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    chat_member::Entity::find()
        .filter(chat_member::Column::RoomId.is_in(room_ids.to_vec()))
        .order_by_asc(chat_member::Column::JoinedAt)
        .order_by_asc(chat_member::Column::UserId)
        .all(db)
        .await
}

/// The first `per_room` members of each of `room_ids` in the order they joined: one query,
/// each room's part one bounded step down its (room_id, joined_at, user_id) index however
/// many members it has.
pub async fn first_members(
    db: &impl ConnectionTrait,
    room_ids: &[i64],
    per_room: u64,
) -> Result<Vec<chat_member::Model>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut param = placeholders(backend);
    let parts: Vec<String> = room_ids
        .iter()
        .map(|_| {
            format!(
                "SELECT * FROM (SELECT * FROM chat_members WHERE room_id = {} \
                 ORDER BY joined_at, user_id LIMIT {per_room}) AS r",
                param()
            )
        })
        .collect();
    let values: Vec<Value> = room_ids.iter().map(|id| Value::from(*id)).collect();
    chat_member::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            parts.join(" UNION ALL "),
            values,
        ))
        .all(db)
        .await
}

pub async fn member_ids(db: &impl ConnectionTrait, room_id: i64) -> Result<Vec<i64>, DbErr> {
    chat_member::Entity::find()
        .select_only()
        .column(chat_member::Column::UserId)
        .filter(chat_member::Column::RoomId.eq(room_id))
        .into_tuple()
        .all(db)
        .await
}

/// The rooms `user_id` belongs to, most recent activity first.
pub fn rooms_of(user_id: i64) -> Select<chat_room::Entity> {
    let mine = Query::select()
        .column(chat_member::Column::RoomId)
        .from(chat_member::Entity)
        .and_where(chat_member::Column::UserId.eq(user_id))
        .to_owned();
    chat_room::Entity::find()
        .filter(chat_room::Column::Id.in_subquery(mine))
        .order_by_desc(chat_room::Column::LastActivityAt)
        .order_by_desc(chat_room::Column::Id)
}

pub async fn create_room(
    db: &impl ConnectionTrait,
    kind: RoomKind,
    name: &str,
    direct_key: Option<String>,
    now: DateTime<Utc>,
) -> Result<chat_room::Model, DbErr> {
    chat_room::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        name: Set(name.to_owned()),
        group_id: Set(None),
        direct_key: Set(direct_key),
        last_message_id: Set(None),
        last_activity_at: Set(now),
        created_at: Set(now),
        member_count: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Adds `delta` to the room's kept member count.
async fn count_members(db: &impl ConnectionTrait, room_id: i64, delta: i64) -> Result<(), DbErr> {
    if delta != 0 {
        chat_room::Entity::update_many()
            .col_expr(
                chat_room::Column::MemberCount,
                sea_orm::sea_query::ExprTrait::add(
                    Expr::col(chat_room::Column::MemberCount),
                    delta,
                ),
            )
            .filter(chat_room::Column::Id.eq(room_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Adds the members who are not in the room yet (a concurrent add of the same user is not an
/// error) and counts them on the room's row; returns how many were added. Call inside the
/// transaction of the change.
pub async fn add_members(
    db: &impl ConnectionTrait,
    room_id: i64,
    members: &[(i64, Role)],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if members.is_empty() {
        return Ok(0);
    }
    let added = chat_member::Entity::insert_many(members.iter().map(|(user_id, role)| {
        chat_member::ActiveModel {
            room_id: Set(room_id),
            user_id: Set(*user_id),
            role: Set(role.as_str().to_owned()),
            joined_at: Set(now),
            last_read_message_id: Set(None),
            muted_until: Set(None),
        }
    }))
    .on_conflict(
        OnConflict::columns([chat_member::Column::RoomId, chat_member::Column::UserId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    count_members(db, room_id, i64::try_from(added).unwrap_or(0)).await?;
    Ok(added)
}

/// Removes a member and uncounts them. Call inside the transaction of the change.
pub async fn remove_member(
    db: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
) -> Result<bool, DbErr> {
    let res = chat_member::Entity::delete_by_id((room_id, user_id))
        .exec(db)
        .await?;
    let removed = res.rows_affected > 0;
    if removed {
        count_members(db, room_id, -1).await?;
    }
    Ok(removed)
}

pub async fn set_role(
    db: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
    role: Role,
) -> Result<(), DbErr> {
    chat_member::Entity::update_many()
        .col_expr(chat_member::Column::Role, Expr::value(role.as_str()))
        .filter(chat_member::Column::RoomId.eq(room_id))
        .filter(chat_member::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes `user_id` the owner of the room and the owner until now an admin.
/// Takes `room_id`'s row lock until the transaction ends: role changes of a room then run
/// one after another, each seeing the last one's result.
pub async fn lock_room(txn: &impl ConnectionTrait, room_id: i64) -> Result<(), DbErr> {
    crate::db::lock_row::<chat_room::Entity>(txn, chat_room::Column::Id, room_id).await
}

pub async fn hand_over(db: &impl ConnectionTrait, room_id: i64, user_id: i64) -> Result<(), DbErr> {
    chat_member::Entity::update_many()
        .col_expr(chat_member::Column::Role, Expr::value(Role::Admin.as_str()))
        .filter(chat_member::Column::RoomId.eq(room_id))
        .filter(chat_member::Column::Role.eq(Role::Owner.as_str()))
        .exec(db)
        .await?;
    set_role(db, room_id, user_id, Role::Owner).await
}

pub async fn rename(db: &impl ConnectionTrait, room_id: i64, name: &str) -> Result<(), DbErr> {
    chat_room::Entity::update_many()
        .col_expr(chat_room::Column::Name, Expr::value(name))
        .filter(chat_room::Column::Id.eq(room_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves the read marker forward to `message_id`; a marker already there or past it stays.
/// True when it moved.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
    message_id: i64,
) -> Result<bool, DbErr> {
    let res = chat_member::Entity::update_many()
        .col_expr(
            chat_member::Column::LastReadMessageId,
            Expr::value(message_id),
        )
        .filter(chat_member::Column::RoomId.eq(room_id))
        .filter(chat_member::Column::UserId.eq(user_id))
        .filter(
            sea_orm::Condition::any()
                .add(chat_member::Column::LastReadMessageId.is_null())
                .add(chat_member::Column::LastReadMessageId.lt(message_id)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn set_mute(
    db: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
    until: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    chat_member::Entity::update_many()
        .col_expr(chat_member::Column::MutedUntil, Expr::value(until))
        .filter(chat_member::Column::RoomId.eq(room_id))
        .filter(chat_member::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The next bind placeholder each call: `$1, $2, ...` on PostgreSQL, `?` on SQLite.
pub(super) fn placeholders(backend: DbBackend) -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    }
}

/// Marks a group room as the room of `group_id`.
pub async fn link_group(
    db: &impl ConnectionTrait,
    room_id: i64,
    group_id: i64,
) -> Result<(), DbErr> {
    chat_room::Entity::update_many()
        .col_expr(chat_room::Column::GroupId, Expr::value(group_id))
        .filter(chat_room::Column::Id.eq(room_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a room with its members and messages.
pub async fn delete_room(db: &impl ConnectionTrait, room_id: i64) -> Result<(), DbErr> {
    chat_room::Entity::delete_by_id(room_id).exec(db).await?;
    Ok(())
}

/// A room's members in the order they joined (`Asc`) or its reverse.
pub fn members_in(room_id: i64, order: sea_orm::Order) -> Select<chat_member::Entity> {
    chat_member::Entity::find()
        .filter(chat_member::Column::RoomId.eq(room_id))
        .order_by(chat_member::Column::JoinedAt, order.clone())
        .order_by(chat_member::Column::UserId, order)
}

/// The room's kept member count.
pub async fn member_count(db: &impl ConnectionTrait, room_id: i64) -> Result<i64, DbErr> {
    Ok(chat_room::Entity::find_by_id(room_id)
        .select_only()
        .column(chat_room::Column::MemberCount)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}
