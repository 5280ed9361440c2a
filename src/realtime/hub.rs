//! This instance's open WebSocket connections: user id → that user's connections, each a
//! bounded queue to its socket task. A connection whose queue is full is closed, never allowed
//! to slow the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::{Notify, mpsc};

use super::event::Frame;

/// Frames waiting for one socket; past this the connection is too slow and is closed.
pub const QUEUE: usize = 256;

struct Conn {
    id: u64,
    tx: mpsc::Sender<Frame>,
    kill: Arc<Notify>,
}

#[derive(Default)]
pub struct Hub {
    // A std lock: it is never held across an `.await`, and delivery only does `try_send`.
    users: RwLock<HashMap<i64, Vec<Conn>>>,
    next_id: AtomicU64,
}

pub struct Registration {
    pub conn_id: u64,
    pub rx: mpsc::Receiver<Frame>,
    /// Notified when the queue overflowed: the socket task closes the connection.
    pub kill: Arc<Notify>,
    /// This is the user's first connection on this instance.
    pub first: bool,
}

impl Hub {
    pub fn register(&self, user_id: i64) -> Registration {
        let (tx, rx) = mpsc::channel(QUEUE);
        let kill = Arc::new(Notify::new());
        let conn_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let conns = users.entry(user_id).or_default();
        let first = conns.is_empty();
        conns.push(Conn {
            id: conn_id,
            tx,
            kill: kill.clone(),
        });
        Registration {
            conn_id,
            rx,
            kill,
            first,
        }
    }

    /// Removes a connection; true when it was the user's last one on this instance.
    pub fn unregister(&self, user_id: i64, conn_id: u64) -> bool {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let Some(conns) = users.get_mut(&user_id) else {
            return false;
        };
        let before = conns.len();
        conns.retain(|c| c.id != conn_id);
        let removed = conns.len() < before;
        if conns.is_empty() {
            users.remove(&user_id);
            return removed;
        }
        false
    }

    /// Queues `frame` on every local connection of `user_ids`.
    pub fn deliver(&self, user_ids: &[i64], frame: &Frame) {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        for id in user_ids {
            for conn in users.get(id).into_iter().flatten() {
                if conn.tx.try_send(frame.clone()).is_err() {
                    // Full (or already closing): this client cannot keep up.
                    conn.kill.notify_one();
                }
            }
        }
    }

    pub fn is_connected(&self, user_id: i64) -> bool {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users.contains_key(&user_id)
    }

    pub fn users(&self) -> Vec<i64> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_connections_are_reported() {
        let hub = Hub::default();
        let a = hub.register(1);
        let b = hub.register(1);
        assert!(a.first && !b.first);
        assert!(!hub.unregister(1, a.conn_id));
        assert!(hub.unregister(1, b.conn_id));
        assert!(!hub.is_connected(1));
    }

    #[tokio::test]
    async fn a_full_queue_kills_only_that_connection() {
        let hub = Hub::default();
        let slow = hub.register(1);
        let mut fast = hub.register(2);
        let frame = Frame::from_static("x");
        for _ in 0..=QUEUE {
            hub.deliver(&[1], &frame);
            hub.deliver(&[2], &frame);
            fast.rx.recv().await.expect("frame");
        }
        // The overflow stored a permit, so this resolves at once.
        slow.kill.notified().await;
    }
}
