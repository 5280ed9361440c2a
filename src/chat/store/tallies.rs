//! What lists of rooms and groups show of each room, in one query however many rooms a page
//! holds: member counts (kept on the room's row), the caller's mute, read marker and role, the
//! owner, and unread counts bounded by `UNREAD_MAX`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};

use super::placeholders;

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
