//! The authenticated users' rows and id lists, so an authenticated request needs no query for
//! its caller, and a send none for whether its sender may message the recipient.

use std::sync::Arc;
use std::time::Duration;

use super::cache::Cache;
use crate::db::entities::user;
use crate::realtime::hub::{Control, Invalidate};

/// How long a cached user row is trusted without an invalidation: bounds the staleness left by
/// a control message lost while the broker was cut off from one instance only.
const TTL: Duration = Duration::from_secs(30);
/// Entries past which the cache starts over; a user row is about 1 KiB.
const MAX: usize = 100_000;

/// The id lists kept per user beside their row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdList {
    Friends,
    /// Users who blocked them or whom they blocked.
    Blocked,
}

/// Every change to a user row goes through `AppState::user_changed` or `revoke_sessions`,
/// which invalidate it here and, through the bus, on every other instance.
pub struct UserCache {
    pub rows: Cache<i64, Arc<user::Model>>,
    /// Each user's friend ids and the ids of users blocked either way with them. A friendship
    /// change changes both users' `friend_count`, and a block or unblock is announced for
    /// both users, so each invalidates both users' lists like any other change to their rows.
    pub lists: Cache<(i64, IdList), Arc<[i64]>>,
}

impl Default for UserCache {
    fn default() -> Self {
        Self {
            rows: Cache::new(TTL, MAX),
            lists: Cache::new(TTL, MAX),
        }
    }
}

impl Invalidate for UserCache {
    fn invalidate(&self, control: Control) {
        let (Control::Changed(user_id) | Control::Revoked(user_id)) = control else {
            return;
        };
        self.rows.remove([user_id]);
        self.lists
            .remove([(user_id, IdList::Friends), (user_id, IdList::Blocked)]);
    }

    fn clear(&self) {
        self.rows.clear();
        self.lists.clear();
    }
}
