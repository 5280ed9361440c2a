//! Presence: a user is online while any of their connections is open on any instance. The
//! store only sees this instance's 0→1 and 1→0 transitions (the hub counts connections) and
//! answers whether the user's global state changed.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::hub::Hub;

pub type PresenceResult<T> = Result<T, String>;

pub trait PresenceStore: Send + Sync {
    /// This instance got its first connection of `user_id`; true when the user came online.
    fn connect(&self, user_id: i64) -> BoxFuture<'_, PresenceResult<bool>>;
    /// This instance closed its last connection of `user_id`; true when the user went offline.
    fn disconnect(&self, user_id: i64) -> BoxFuture<'_, PresenceResult<bool>>;
    /// Which of `user_ids` are online anywhere.
    fn online(&self, user_ids: Vec<i64>) -> BoxFuture<'_, PresenceResult<HashSet<i64>>>;
    /// False when this instance's connections are the whole truth (nothing to ask elsewhere).
    fn shared(&self) -> bool {
        true
    }
}

/// One instance: the hub's connections are the whole truth.
pub struct LocalPresence {
    hub: Arc<Hub>,
}

impl LocalPresence {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

impl PresenceStore for LocalPresence {
    fn shared(&self) -> bool {
        false
    }

    fn connect(&self, _user_id: i64) -> BoxFuture<'_, PresenceResult<bool>> {
        Box::pin(async { Ok(true) })
    }

    fn disconnect(&self, _user_id: i64) -> BoxFuture<'_, PresenceResult<bool>> {
        Box::pin(async { Ok(true) })
    }

    fn online(&self, user_ids: Vec<i64>) -> BoxFuture<'_, PresenceResult<HashSet<i64>>> {
        let set = user_ids
            .into_iter()
            .filter(|id| self.hub.is_connected(*id))
            .collect();
        Box::pin(async move { Ok(set) })
    }
}
