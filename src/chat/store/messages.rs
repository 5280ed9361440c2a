//! Message queries: one by id or by `client_id`, a room's history and its last message,
//! edits and tombstones.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use sea_orm::{Order, Select};

use super::placeholders;
use crate::db::entities::chat_message;

pub async fn find_by_client_id(
    db: &impl ConnectionTrait,
    sender_id: i64,
    client_id: &str,
) -> Result<Option<chat_message::Model>, DbErr> {
    chat_message::Entity::find()
        .filter(chat_message::Column::SenderId.eq(sender_id))
        .filter(chat_message::Column::ClientId.eq(client_id))
        .one(db)
        .await
}

pub async fn find_message(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<chat_message::Model>, DbErr> {
    chat_message::Entity::find_by_id(id).one(db).await
}

/// The messages of `ids` that exist, in id order.
pub async fn find_messages(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<chat_message::Model>, DbErr> {
    chat_message::Entity::find()
        .filter(chat_message::Column::Id.is_in(ids.to_vec()))
        .order_by_asc(chat_message::Column::Id)
        .all(db)
        .await
}

/// The newest message of each of `room_ids`: one query, and one step down the (room_id, id)
/// index per room (grouped over several rooms, `MAX(id)` read every message of each, half a
/// million for a big room; ordered by `(room_id, id)` as `in_room_order` says why).
pub async fn last_messages(
    db: &impl ConnectionTrait,
    room_ids: &[i64],
) -> Result<Vec<chat_message::Model>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut param = placeholders(backend);
    let rooms: Vec<String> = room_ids.iter().map(|_| param()).collect();
    let sql = format!(
        "SELECT * FROM chat_messages WHERE id IN (SELECT \
         (SELECT m.id FROM chat_messages m WHERE {in_room} \
         ORDER BY m.room_id DESC, m.id DESC LIMIT 1) \
         FROM chat_rooms r WHERE r.id IN ({}))",
        rooms.join(", "),
        in_room = crate::db::only_sql(backend, "m.room_id", "r.id"),
    );
    let values: Vec<Value> = room_ids.iter().map(|id| Value::from(*id)).collect();
    chat_message::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await
}

/// Which messages a history page holds.
#[derive(Clone, Copy, Debug)]
pub enum Window {
    Latest,
    Before(i64),
    After(i64),
}

/// A room's messages ordered by `(room_id, id)`, not by `id` alone, with the room chosen by
/// `db::only`: the same order for one room, but only the room's index gives it, so PostgreSQL
/// cannot choose to walk the primary key backwards filtering for the room (cheap by its
/// estimate, but the 500,000 messages of a room that was busy long ago lie under millions of
/// newer ones: 4.6 s a page under load).
fn in_room_order(q: Select<chat_message::Entity>, order: Order) -> Select<chat_message::Entity> {
    q.order_by(chat_message::Column::RoomId, order.clone())
        .order_by(chat_message::Column::Id, order)
}

/// The messages of room `room_id`, chosen as `in_room_order` needs.
fn of_room(db: &impl ConnectionTrait, room_id: i64) -> Select<chat_message::Entity> {
    chat_message::Entity::find().filter(crate::db::only(
        db.get_database_backend(),
        chat_message::Column::RoomId,
        room_id,
    ))
}

/// Up to `limit` messages of the window, ascending by id.
pub async fn history(
    db: &impl ConnectionTrait,
    room_id: i64,
    window: Window,
    limit: u64,
) -> Result<Vec<chat_message::Model>, DbErr> {
    let q = of_room(db, room_id);
    let q = match window {
        Window::After(id) => in_room_order(q.filter(chat_message::Column::Id.gt(id)), Order::Asc),
        Window::Before(id) => in_room_order(q.filter(chat_message::Column::Id.lt(id)), Order::Desc),
        Window::Latest => in_room_order(q, Order::Desc),
    };
    let mut rows = q.limit(limit).all(db).await?;
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

/// Whether the room has a message older (`newer` false) or newer than `id`.
pub async fn has_beyond(
    db: &impl ConnectionTrait,
    room_id: i64,
    id: i64,
    newer: bool,
) -> Result<bool, DbErr> {
    let q = of_room(db, room_id);
    let q = if newer {
        in_room_order(q.filter(chat_message::Column::Id.gt(id)), Order::Asc)
    } else {
        in_room_order(q.filter(chat_message::Column::Id.lt(id)), Order::Desc)
    };
    Ok(q.select_only()
        .column(chat_message::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

pub async fn edit_message(
    db: &impl ConnectionTrait,
    id: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    chat_message::Entity::update_many()
        .col_expr(chat_message::Column::Body, Expr::value(body))
        .col_expr(chat_message::Column::EditedAt, Expr::value(now))
        .filter(chat_message::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A tombstone: the message keeps its id and place, without its body.
pub async fn delete_message(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    chat_message::Entity::update_many()
        .col_expr(chat_message::Column::Body, Expr::value(""))
        .col_expr(chat_message::Column::Deleted, Expr::value(true))
        .filter(chat_message::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
