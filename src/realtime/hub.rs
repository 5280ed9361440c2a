//! This instance's open WebSocket connections: user id → that user's connections, each a
//! bounded queue to its socket task. A connection whose queue is full is closed, never allowed
//! to slow the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::{Notify, mpsc};

use super::event::Frame;

/// A message for every instance, not for a user's sockets: drop what you cached about a user,
/// or also close their sockets because their tokens were revoked, or drop what you cached
/// about a room (its members changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Changed(i64),
    Revoked(i64),
    Room(i64),
    /// Someone is about to leave a room (sent before the commit; `Room` follows after it).
    Leaving(i64),
}

impl Control {
    pub fn encode(self) -> String {
        match self {
            Self::Changed(id) => format!("changed:{id}"),
            Self::Revoked(id) => format!("revoked:{id}"),
            Self::Room(id) => format!("room:{id}"),
            Self::Leaving(id) => format!("leaving:{id}"),
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let id = id.parse().ok()?;
        match kind {
            "changed" => Some(Self::Changed(id)),
            "revoked" => Some(Self::Revoked(id)),
            "room" => Some(Self::Room(id)),
            "leaving" => Some(Self::Leaving(id)),
            _ => None,
        }
    }
}

/// A cache kept by a layer above (of users, of rooms); `Control` messages reach it here and
/// it drops what the message is about.
pub trait Invalidate: Send + Sync {
    fn invalidate(&self, control: Control);
    /// Messages may have been missed (the broker was away): forget everything.
    fn clear(&self);
}

/// Frames waiting for one socket; past this the connection is too slow and is closed.
pub const QUEUE: usize = 256;

struct Conn {
    id: u64,
    tx: mpsc::Sender<Frame>,
    kill: Arc<Notify>,
    revoked: Arc<Notify>,
}

#[derive(Default)]
pub struct Hub {
    // A std lock: it is never held across an `.await`, and delivery only does `try_send`.
    users: RwLock<HashMap<i64, Vec<Conn>>>,
    next_id: AtomicU64,
    caches: RwLock<Vec<Arc<dyn Invalidate>>>,
}

pub struct Registration {
    pub conn_id: u64,
    pub rx: mpsc::Receiver<Frame>,
    /// Notified when the queue overflowed: the socket task closes the connection.
    pub kill: Arc<Notify>,
    /// Notified when the user's tokens were revoked (on any instance): closed with 4401.
    pub revoked: Arc<Notify>,
    /// This is the user's first connection on this instance.
    pub first: bool,
}

impl Hub {
    pub fn register(&self, user_id: i64) -> Registration {
        let (tx, rx) = mpsc::channel(QUEUE);
        let kill = Arc::new(Notify::new());
        let revoked = Arc::new(Notify::new());
        let conn_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let conns = users.entry(user_id).or_default();
        let first = conns.is_empty();
        conns.push(Conn {
            id: conn_id,
            tx,
            kill: kill.clone(),
            revoked: revoked.clone(),
        });
        Registration {
            conn_id,
            rx,
            kill,
            revoked,
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

    /// Registers a cache that `Control` messages invalidate.
    pub fn add_cache(&self, cache: Arc<dyn Invalidate>) {
        self.caches
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(cache);
    }

    /// Applies a control message from this or another instance.
    pub fn apply(&self, control: Control) {
        for cache in self.caches.read().unwrap_or_else(|e| e.into_inner()).iter() {
            cache.invalidate(control);
        }
        if let Control::Revoked(user_id) = control {
            let users = self.users.read().unwrap_or_else(|e| e.into_inner());
            for conn in users.get(&user_id).into_iter().flatten() {
                conn.revoked.notify_one();
            }
        }
    }

    /// Forgets every cached entry: control messages may have been lost.
    pub fn clear_caches(&self) {
        for cache in self.caches.read().unwrap_or_else(|e| e.into_inner()).iter() {
            cache.clear();
        }
    }

    pub fn is_connected(&self, user_id: i64) -> bool {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users.contains_key(&user_id)
    }

    /// `user_ids` split into those connected here and the others, under one read of the lock.
    pub fn partition_connected(&self, user_ids: Vec<i64>) -> (Vec<i64>, Vec<i64>) {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        user_ids.into_iter().partition(|id| users.contains_key(id))
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
    fn control_messages_round_trip() {
        for c in [
            Control::Changed(7),
            Control::Revoked(-1),
            Control::Room(3),
            Control::Leaving(4),
        ] {
            assert_eq!(Control::decode(&c.encode()), Some(c));
        }
        assert_eq!(Control::decode("nope:1"), None);
        assert_eq!(Control::decode("changed:x"), None);
    }

    #[tokio::test]
    async fn a_revocation_reaches_every_connection_of_the_user() {
        let hub = Hub::default();
        let a = hub.register(1);
        let b = hub.register(1);
        let other = hub.register(2);
        hub.apply(Control::Revoked(1));
        a.revoked.notified().await;
        b.revoked.notified().await;
        let pending = tokio::time::timeout(
            std::time::Duration::from_millis(1),
            other.revoked.notified(),
        )
        .await;
        assert!(pending.is_err(), "another user's socket was revoked");
    }

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
