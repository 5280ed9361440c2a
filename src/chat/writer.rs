//! Group commit for chat sends: sends waiting at the same moment are written in one
//! transaction (the rooms' activity, each insert, their attachments, one commit), so a busy
//! server pays BEGIN and COMMIT once per batch instead of once per message. A send is still
//! acknowledged only after its commit. Each room belongs to one writer, so its messages keep
//! their commit order; PostgreSQL gets several writers (rooms spread over them), SQLite one
//! (it has one writer anyway).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter,
};
use tokio::sync::{mpsc, oneshot};

use crate::db::entities::{chat_message, chat_room};
use crate::error::ApiError;
use crate::state::AppState;

/// Most sends in one transaction.
const MAX_BATCH: usize = 64;
/// Writers on PostgreSQL (rooms are spread over them by id).
const POSTGRES_WRITERS: usize = 4;

/// A message to store.
pub struct NewRow {
    pub room_id: i64,
    pub sender_id: i64,
    pub body: String,
    pub reply_to: Option<i64>,
    pub client_id: Option<String>,
    pub attachments: Vec<i64>,
    pub now: DateTime<Utc>,
}

/// The stored message, or None when the sender already used its `client_id`.
type Written = Result<Option<chat_message::Model>, ApiError>;

struct Job {
    row: NewRow,
    reply: oneshot::Sender<Written>,
}

pub struct Writers {
    queues: Vec<mpsc::Sender<Job>>,
}

impl Writers {
    fn start(app: &AppState) -> Self {
        let n = if app.db.get_database_backend() == DbBackend::Postgres {
            POSTGRES_WRITERS
        } else {
            1
        };
        let queues = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::channel(1024);
                app.spawn_background(run(app.db.clone(), rx));
                tx
            })
            .collect();
        Self { queues }
    }
}

/// Stores `row` with whatever else is being sent at the moment; returns after the commit.
pub async fn write(app: &AppState, row: NewRow) -> Written {
    let writers = app.feature(Writers::start);
    let shard = usize::try_from(row.room_id.rem_euclid(writers.queues.len() as i64)).unwrap_or(0);
    let (reply, answer) = oneshot::channel();
    writers.queues[shard]
        .send(Job { row, reply })
        .await
        .map_err(|_| ApiError::Unavailable(1))?;
    answer.await.map_err(|_| ApiError::Unavailable(1))?
}

async fn run(db: DatabaseConnection, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        let rows: Vec<&NewRow> = batch.iter().map(|j| &j.row).collect();
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
    rows: &[&NewRow],
) -> Result<Vec<Option<chat_message::Model>>, DbErr> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut rooms: Vec<i64> = rows.iter().map(|r| r.room_id).collect();
    rooms.sort_unstable();
    rooms.dedup();
    let now = rows.iter().map(|r| r.now).max().unwrap_or_else(Utc::now);
    let txn = crate::db::begin_write(db).await?;
    // PostgreSQL: the rooms' row locks before the inserts, so ids commit in order per room
    // (SQLite has one writer: the transaction began IMMEDIATE).
    if postgres {
        touch_rooms(&txn, &rooms, now).await?;
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let inserted = chat_message::Entity::insert(chat_message::ActiveModel {
            room_id: Set(r.room_id),
            sender_id: Set(r.sender_id),
            body: Set(r.body.clone()),
            reply_to: Set(r.reply_to),
            client_id: Set(r.client_id.clone()),
            created_at: Set(r.now),
            edited_at: Set(None),
            deleted: Set(false),
            ..Default::default()
        })
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
        match inserted {
            Ok(m) => {
                crate::media::store::attach(&txn, m.id, &r.attachments).await?;
                out.push(Some(m));
            }
            // DO NOTHING returned no row: a repeated client_id (SeaORM says so one way on
            // PostgreSQL, another on SQLite).
            Err(DbErr::RecordNotInserted | DbErr::RecordNotFound(_)) => out.push(None),
            Err(e) => return Err(e),
        }
    }
    if !postgres {
        touch_rooms(&txn, &rooms, now).await?;
    }
    txn.commit().await?;
    Ok(out)
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
