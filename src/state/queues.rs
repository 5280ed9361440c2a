//! The queues a feature's long-lived task consumes, made with the state so that they are
//! fields of it, and handed to their consumers once at start (`app::state`).

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::db::entities::chat_message;
use crate::error::ApiError;

/// Sends waiting for a chat writer, per writer.
const QUEUE_DEPTH: usize = 1024;

/// A chat message to store.
pub struct NewMessage {
    pub room_id: i64,
    pub sender_id: i64,
    pub body: String,
    pub reply_to: Option<i64>,
    pub client_id: Option<String>,
    pub attachments: Vec<i64>,
    pub now: DateTime<Utc>,
}

/// The stored message, or None when the sender already used its `client_id`.
pub type Written = Result<Option<chat_message::Model>, ApiError>;

pub struct MessageJob {
    pub row: NewMessage,
    pub reply: oneshot::Sender<Written>,
}

/// The chat writers' queues (`chat::writer` consumes them): each room belongs to one, so its
/// messages keep their commit order.
pub struct MessageQueues {
    shards: Vec<mpsc::Sender<MessageJob>>,
}

impl MessageQueues {
    /// `n` queues (at least one), and their receiving ends for the writers.
    pub fn new(n: usize) -> (Self, Vec<mpsc::Receiver<MessageJob>>) {
        let (shards, receivers) = (0..n.max(1)).map(|_| mpsc::channel(QUEUE_DEPTH)).unzip();
        (Self { shards }, receivers)
    }

    /// Queues `row` for its room's writer; returns after the commit.
    pub async fn write(&self, row: NewMessage) -> Written {
        let n = i64::try_from(self.shards.len()).unwrap_or(1);
        let shard = usize::try_from(row.room_id.rem_euclid(n)).unwrap_or(0);
        let (reply, answer) = oneshot::channel();
        self.shards[shard]
            .send(MessageJob { row, reply })
            .await
            .map_err(|_| ApiError::Unavailable(1))?;
        answer.await.map_err(|_| ApiError::Unavailable(1))?
    }
}
