//! Chat queries: rooms, members, read markers (and, in `messages`, messages). Every function
//! takes a connection or a transaction and knows nothing of HTTP.

mod messages;

pub use messages::*;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Select, Statement, Value,
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

/// Of each of `room_ids`: how many members it has, until when `user_id` muted it and the last
/// message `user_id` read there.
#[derive(Debug, FromQueryResult)]
pub struct RoomTally {
    pub room_id: i64,
    pub members: i64,
    pub muted_until: Option<DateTime<Utc>>,
    pub last_read: Option<i64>,
    /// 1 when `user_id` is a member, else 0.
    pub mine: i64,
}

/// `RoomTally` of each of `room_ids`: one query, on the (room_id, user_id) key.
pub async fn room_tallies(
    db: &impl ConnectionTrait,
    user_id: i64,
    room_ids: &[i64],
) -> Result<HashMap<i64, RoomTally>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let mut param = placeholders(backend);
    let me = param();
    let rooms: Vec<String> = room_ids.iter().map(|_| param()).collect();
    // The count kept on the room's row; the caller's own membership by its key.
    let sql = format!(
        "SELECT r.id AS room_id, r.member_count AS members, m.muted_until AS muted_until, \
         m.last_read_message_id AS last_read, \
         CAST(CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS mine \
         FROM chat_rooms r LEFT JOIN chat_members m ON m.room_id = r.id AND m.user_id = {me} \
         WHERE r.id IN ({})",
        rooms.join(", ")
    );
    let mut values: Vec<Value> = vec![user_id.into()];
    values.extend(room_ids.iter().map(|id| Value::from(*id)));
    let rows = RoomTally::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|t| (t.room_id, t)).collect())
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

#[derive(FromQueryResult)]
struct UnreadRow {
    room_id: i64,
    unread: i64,
}

/// The most a room's unread count counts: past it a room reads `UNREAD_MAX` (a client shows
/// "1000+"), so a member who never read a room of 500,000 messages costs a read of 1,000 index
/// entries, not of the room.
pub const UNREAD_MAX: u64 = 1000;

/// For each of `rooms` (a room and `user_id`'s read marker there), the messages of others
/// after the marker that are not deleted, up to `UNREAD_MAX`: one query however many rooms,
/// each room's count walking its `(room_id, id, sender_id, deleted)` index from the marker
/// and stopping at the bound. No join: with the room chosen by `db::only`'s range,
/// PostgreSQL no longer knew the membership's room and read all of the user's.
pub async fn unread_counts(
    db: &impl ConnectionTrait,
    user_id: i64,
    rooms: &[(i64, Option<i64>)],
) -> Result<HashMap<i64, u64>, DbErr> {
    if rooms.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let false_ = if backend == DbBackend::Postgres {
        "FALSE"
    } else {
        "0"
    };
    let mut param = placeholders(backend);
    let mut values: Vec<Value> = Vec::with_capacity(rooms.len() * 4);
    let mut parts = Vec::with_capacity(rooms.len());
    for (room, last_read) in rooms {
        let (id, room_, after, sender) = (param(), param(), param(), param());
        let in_room = crate::db::only_sql(backend, "m.room_id", &room_);
        values.extend([
            Value::from(*room),
            Value::from(*room),
            Value::from(last_read.unwrap_or(0)),
            user_id.into(),
        ]);
        parts.push(format!(
            "SELECT CAST({id} AS BIGINT) AS room_id, COUNT(*) AS unread FROM \
             (SELECT 1 AS one FROM chat_messages m \
             WHERE {in_room} AND m.id > {after} \
             AND m.sender_id <> {sender} AND m.deleted = {false_} \
             ORDER BY m.room_id, m.id LIMIT {UNREAD_MAX}) AS u"
        ));
    }
    let sql = parts.join(" UNION ALL ");
    let rows = UnreadRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.unread > 0)
        .map(|r| (r.room_id, u64::try_from(r.unread).unwrap_or(0)))
        .collect())
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

/// What a list of groups shows of each one's room: how many members, who owns it, and the
/// role of `user_id` in it.
#[derive(Debug, FromQueryResult)]
pub struct RoomSummary {
    pub room_id: i64,
    pub members: i64,
    pub owner_id: Option<i64>,
    pub my_role: Option<String>,
}

/// `RoomSummary` of each of `room_ids`: one query however many rooms.
pub async fn room_summaries(
    db: &impl ConnectionTrait,
    user_id: i64,
    room_ids: &[i64],
) -> Result<HashMap<i64, RoomSummary>, DbErr> {
    if room_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = vec![user_id.into()];
    values.extend(room_ids.iter().map(|id| Value::from(*id)));
    let mut param = placeholders(backend);
    let me = param();
    let rooms: Vec<String> = room_ids.iter().map(|_| param()).collect();
    // The count kept on the room's row; the owner through the (room_id, role) index; the
    // caller's role by its key: no room's members are read.
    let sql = format!(
        "SELECT r.id AS room_id, r.member_count AS members, \
         (SELECT o.user_id FROM chat_members o WHERE o.room_id = r.id AND o.role = 'owner' \
         ORDER BY o.user_id DESC LIMIT 1) AS owner_id, \
         (SELECT m.role FROM chat_members m WHERE m.room_id = r.id AND m.user_id = {me}) \
         AS my_role \
         FROM chat_rooms r WHERE r.id IN ({rooms})",
        rooms = rooms.join(", "),
    );
    let rows = RoomSummary::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.room_id, r)).collect())
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
