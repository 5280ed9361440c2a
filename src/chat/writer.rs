//! Group commit for chat sends: sends waiting at the same moment are written in one
//! transaction (the rooms' activity, each insert, their attachments, one commit), so a busy
//! server pays BEGIN and COMMIT once per batch instead of once per message. A send is still
//! acknowledged only after its commit. Each room belongs to one writer, so its messages keep
//! their commit order (`state::queues`).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, Statement, Value,
};
use tokio::sync::mpsc;

use crate::db::entities::{chat_message, chat_room};
use crate::state::AppState;
use crate::state::queues::{MessageJob, NewMessage};

/// Most sends in one transaction.
const MAX_BATCH: usize = 64;

/// Starts one writer per queue of `app.messages` (`AppState::build` made them).
pub fn start(app: &AppState, queues: Vec<mpsc::Receiver<MessageJob>>) {
    for queue in queues {
        app.spawn_background(run(app.db.clone(), queue));
    }
}

async fn run(db: DatabaseConnection, mut queue: mpsc::Receiver<MessageJob>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        let rows: Vec<&NewMessage> = batch.iter().map(|j| &j.row).collect();
        match write_batch(&db, &rows).await {
            Ok(written) => {
                for (job, w) in batch.into_iter().zip(written) {
                    let _ = job.reply.send(Ok(w));
                }
            }
            // One bad send (a room deleted meanwhile, say) must not fail the others: each
            // goes again on its own.
            Err(_) if batch.len() > 1 => {
                for job in batch {
                    let one = write_batch(&db, &[&job.row]).await;
                    let _ = job
                        .reply
                        .send(one.map(|mut w| w.pop().flatten()).map_err(Into::into));
                }
            }
            Err(e) => {
                if let Some(job) = batch.into_iter().next() {
                    let _ = job.reply.send(Err(e.into()));
                }
            }
        }
    }
}

async fn write_batch(
    db: &DatabaseConnection,
    rows: &[&NewMessage],
) -> Result<Vec<Option<chat_message::Model>>, DbErr> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut rooms: Vec<i64> = rows.iter().map(|r| r.room_id).collect();
    rooms.sort_unstable();
    rooms.dedup();
    let now = rows.iter().map(|r| r.now).max().unwrap_or_else(Utc::now);
    if postgres && rows.iter().all(|r| r.attachments.is_empty()) {
        let mut stored = insert_postgres(db, rows, &rooms, now).await?;
        return Ok(match_rows(rows, &mut stored));
    }
    let txn = crate::db::begin_write(db).await?;
    // PostgreSQL: the rooms' row locks before the inserts, so ids commit in order per room
    // (SQLite has one writer: the transaction began IMMEDIATE).
    if postgres {
        touch_rooms(&txn, &rooms, now).await?;
    }
    // One INSERT for the whole batch. Rows whose (sender, client_id) is taken are skipped by
    // the database; the rest come back with their ids, drawn in the order of the rows.
    let inserted =
        chat_message::Entity::insert_many(rows.iter().map(|r| chat_message::ActiveModel {
            room_id: Set(r.room_id),
            sender_id: Set(r.sender_id),
            body: Set(r.body.clone()),
            reply_to: Set(r.reply_to),
            client_id: Set(r.client_id.clone()),
            created_at: Set(r.now),
            edited_at: Set(None),
            deleted: Set(false),
            ..Default::default()
        }))
        .on_conflict(
            OnConflict::columns([
                chat_message::Column::SenderId,
                chat_message::Column::ClientId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_with_returning(&txn)
        .await;
    let mut stored = match inserted {
        Ok(models) => models,
        // Every row was a repeat (SeaORM says so one way on PostgreSQL, another on SQLite).
        Err(DbErr::RecordNotInserted | DbErr::RecordNotFound(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let out = match_rows(rows, &mut stored);
    for (r, m) in rows.iter().zip(&out) {
        if let Some(m) = m {
            crate::media::store::attach(
                &txn,
                crate::media::store::Holder::Message,
                m.id,
                &r.attachments,
            )
            .await?;
        }
    }
    if !postgres {
        touch_rooms(&txn, &rooms, now).await?;
    }
    txn.commit().await?;
    Ok(out)
}

/// PostgreSQL, a batch without attachments: one statement, its own transaction, so one round
/// trip instead of four (BEGIN, the rooms, the insert, COMMIT). The UPDATE locks the rooms'
/// rows; the INSERT takes its rows through a join with the rooms it updated, sorted, so every
/// id is drawn after its room's lock is held and in the order of the rows: ids still commit in
/// order per room. A row whose room is gone is not inserted (it finds no stored row).
async fn insert_postgres(
    db: &DatabaseConnection,
    rows: &[&NewMessage],
    rooms: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<chat_message::Model>, DbErr> {
    let mut values: Vec<Value> = Vec::with_capacity(1 + rooms.len() + rows.len() * 6);
    let mut n = 0;
    let mut param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        n += 1;
        format!("${n}")
    };
    let at = param(now.into(), &mut values);
    let room_list: Vec<String> = rooms
        .iter()
        .map(|id| param((*id).into(), &mut values))
        .collect();
    let tuples: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(ord, r)| {
            format!(
                "({}::bigint, {}::bigint, {}::text, {}::bigint, {}::text, {}::timestamptz, {ord})",
                param(r.room_id.into(), &mut values),
                param(r.sender_id.into(), &mut values),
                param(r.body.clone().into(), &mut values),
                param(r.reply_to.into(), &mut values),
                param(r.client_id.clone().into(), &mut values),
                param(r.now.into(), &mut values),
            )
        })
        .collect();
    let sql = format!(
        "WITH touched AS (UPDATE chat_rooms SET last_activity_at = {at} \
         WHERE id IN ({rooms}) RETURNING id) \
         INSERT INTO chat_messages \
         (room_id, sender_id, body, reply_to, client_id, created_at, edited_at, deleted) \
         SELECT v.room_id, v.sender_id, v.body, v.reply_to, v.client_id, v.created_at, NULL, FALSE \
         FROM (VALUES {tuples}) AS v (room_id, sender_id, body, reply_to, client_id, created_at, ord) \
         JOIN touched ON touched.id = v.room_id ORDER BY v.ord \
         ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING *",
        rooms = room_list.join(", "),
        tuples = tuples.join(", "),
    );
    chat_message::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .all(db)
        .await
}

/// Which stored row each sent row became: a row with a client_id is found by it (none when
/// that client_id was taken, a repeat); the others take the stored rows without a client_id of
/// the same room and sender in id order, which is the order they were sent in. A row that was
/// not stored (its room is gone) finds none.
fn match_rows(
    rows: &[&NewMessage],
    stored: &mut [chat_message::Model],
) -> Vec<Option<chat_message::Model>> {
    stored.sort_by_key(|m| m.id);
    let mut by_client: HashMap<(i64, i64, &str), &chat_message::Model> = HashMap::new();
    let mut plain: HashMap<(i64, i64), VecDeque<&chat_message::Model>> = HashMap::new();
    for m in stored.iter() {
        match m.client_id.as_deref() {
            Some(cid) => {
                by_client.insert((m.room_id, m.sender_id, cid), m);
            }
            None => plain
                .entry((m.room_id, m.sender_id))
                .or_default()
                .push_back(m),
        }
    }
    rows.iter()
        .map(|r| match r.client_id.as_deref() {
            Some(cid) => by_client.remove(&(r.room_id, r.sender_id, cid)).cloned(),
            None => plain
                .get_mut(&(r.room_id, r.sender_id))
                .and_then(VecDeque::pop_front)
                .cloned(),
        })
        .collect()
}

async fn touch_rooms(
    db: &impl ConnectionTrait,
    rooms: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    chat_room::Entity::update_many()
        .col_expr(chat_room::Column::LastActivityAt, Expr::value(now))
        .filter(chat_room::Column::Id.is_in(rooms.to_vec()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sender_id: i64, client_id: Option<&str>) -> NewMessage {
        NewMessage {
            room_id: 1,
            sender_id,
            body: "b".into(),
            reply_to: None,
            client_id: client_id.map(str::to_owned),
            attachments: Vec::new(),
            now: Utc::now(),
        }
    }

    fn stored(id: i64, sender_id: i64, client_id: Option<&str>) -> chat_message::Model {
        chat_message::Model {
            id,
            room_id: 1,
            sender_id,
            body: "b".into(),
            reply_to: None,
            client_id: client_id.map(str::to_owned),
            created_at: Utc::now(),
            edited_at: None,
            deleted: false,
        }
    }

    #[test]
    fn sent_rows_find_their_stored_rows_and_repeats_find_none() {
        let sent = [
            row(1, None),
            row(2, Some("a")),
            row(1, Some("taken")),
            row(3, None),
            row(2, Some("a")),
        ];
        let refs: Vec<&NewMessage> = sent.iter().collect();
        // Returned in any order; "taken" was a repeat, the second "a" a repeat of the first.
        let mut back = vec![
            stored(12, 3, None),
            stored(10, 1, None),
            stored(11, 2, Some("a")),
        ];
        let ids: Vec<Option<i64>> = match_rows(&refs, &mut back)
            .iter()
            .map(|m| m.as_ref().map(|m| m.id))
            .collect();
        assert_eq!(ids, vec![Some(10), Some(11), None, Some(12), None]);
    }

    #[test]
    fn a_row_whose_room_was_not_stored_takes_no_other_rooms_row() {
        let gone = NewMessage {
            room_id: 2,
            ..row(1, None)
        };
        let gone_cid = NewMessage {
            room_id: 2,
            ..row(1, Some("c"))
        };
        let sent = [gone, row(1, None), gone_cid, row(1, Some("c"))];
        let refs: Vec<&NewMessage> = sent.iter().collect();
        let mut back = vec![stored(20, 1, None), stored(21, 1, Some("c"))];
        let ids: Vec<Option<i64>> = match_rows(&refs, &mut back)
            .iter()
            .map(|m| m.as_ref().map(|m| m.id))
            .collect();
        assert_eq!(ids, vec![None, Some(20), None, Some(21)]);
    }
}
