//! Each room's member ids and kind, cached on this instance so that a send (whether the sender
//! is a member, and who gets the event), a typing frame and a room event need no query for
//! them. Chat loads and invalidates the entries (`chat::members`); every change to who is in a
//! room is announced after its commit, which drops the entry here and, through the bus, on
//! every other instance. Entries also expire, which bounds what a control message lost to a
//! broker outage can leave behind (and an instance that reconnects to the broker forgets them
//! all).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::cache::Cache;
use crate::realtime::hub::{Control, Invalidate};

/// How long an entry is trusted without an invalidation.
const TTL: Duration = Duration::from_secs(30);
/// Rooms past which the cache starts over.
const MAX_ROOMS: usize = 100_000;

/// What a send needs to know of its room: who is in it, and whether it is a direct room (where
/// the two must still be allowed to message each other).
#[derive(Clone, Debug)]
pub struct Room {
    pub ids: Arc<[i64]>,
    pub direct: bool,
}

impl Room {
    pub fn contains(&self, user_id: i64) -> bool {
        self.ids.contains(&user_id)
    }

    /// In a direct room, the member who is not `me`.
    pub fn peer_of(&self, me: i64) -> Option<i64> {
        if !self.direct {
            return None;
        }
        self.ids.iter().copied().find(|id| *id != me)
    }
}

pub struct RoomCache {
    pub rooms: Cache<i64, Room>,
    /// Rooms someone is leaving (announced before the commit, until `Room` comes after it):
    /// how many removals are in flight, and since when.
    leaving: RwLock<HashMap<i64, (usize, Instant)>>,
}

impl Default for RoomCache {
    fn default() -> Self {
        Self {
            rooms: Cache::new(TTL, MAX_ROOMS),
            leaving: RwLock::default(),
        }
    }
}

impl RoomCache {
    /// Whether the members read at `generation` may no longer be the room's: a membership
    /// change happened since, or a removal from the room is in flight.
    pub fn unsettled(&self, room_id: i64, generation: u64) -> bool {
        // Both read under the lock `invalidate` changes both under: a removal that ends
        // meanwhile is seen either as in flight or as a new generation, never as neither.
        let leaving = self.leaving.read().unwrap_or_else(|e| e.into_inner());
        self.rooms.generation() != generation
            || leaving
                .get(&room_id)
                .is_some_and(|(n, since)| *n > 0 && since.elapsed() < TTL)
    }
}

impl Invalidate for RoomCache {
    fn invalidate(&self, control: Control) {
        let (Control::Room(room_id) | Control::Leaving(room_id)) = control else {
            return;
        };
        // The generation moves while the lock on `leaving` is held (see `unsettled`).
        let mut leaving = self.leaving.write().unwrap_or_else(|e| e.into_inner());
        if matches!(control, Control::Leaving(_)) {
            let entry = leaving.entry(room_id).or_insert((0, Instant::now()));
            *entry = (entry.0 + 1, Instant::now());
        } else if let Some(entry) = leaving.get_mut(&room_id) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                leaving.remove(&room_id);
            }
        }
        self.rooms.remove([room_id]);
    }

    fn clear(&self) {
        self.rooms.clear();
        // A lost `Room` must not leave a room unsettled for good; a lost `Leaving` is covered
        // by the generation bumped here.
        self.leaving
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(ids: &[i64]) -> Room {
        Room {
            ids: Arc::from(ids),
            direct: false,
        }
    }

    #[test]
    fn a_room_change_drops_only_that_room() {
        let cache = RoomCache::default();
        let g = cache.rooms.generation();
        cache.rooms.put(g, 1, room(&[1, 2]));
        cache.rooms.put(g, 2, room(&[3]));
        cache.invalidate(Control::Room(1));
        assert!(cache.rooms.get(&1).is_none());
        assert_eq!(
            cache.rooms.get(&2).map(|r| r.ids).as_deref(),
            Some(&[3][..])
        );
        // A user's change is not a room's.
        cache.invalidate(Control::Changed(2));
        assert!(cache.rooms.get(&2).is_some());
        cache.clear();
        assert!(cache.rooms.get(&2).is_none());
    }

    #[test]
    fn a_removal_in_flight_unsettles_its_room_until_it_is_done() {
        let cache = RoomCache::default();
        let read_at = cache.rooms.generation();
        assert!(!cache.unsettled(1, read_at));
        cache.invalidate(Control::Leaving(1));
        // Members read before the announcement are stale.
        assert!(cache.unsettled(1, read_at));
        // Read after it, they are still unsettled until the removal is done.
        let after = cache.rooms.generation();
        assert!(cache.unsettled(1, after));
        assert!(!cache.unsettled(2, after));
        cache.invalidate(Control::Leaving(1));
        cache.invalidate(Control::Room(1));
        assert!(
            cache.unsettled(1, cache.rooms.generation()),
            "one removal still in flight"
        );
        cache.invalidate(Control::Room(1));
        assert!(!cache.unsettled(1, cache.rooms.generation()));
    }
}
