//! Each room's member ids, cached on this instance so that a send (whether the sender is a
//! member, and who gets the event), a typing frame and a room event need no query for them.
//! Every change to who is in a room calls `changed` after its commit: the entry is dropped
//! here and, through the bus, on every other instance before `changed` returns. Entries also
//! expire, which bounds what a control message lost to a broker outage can leave behind (and
//! an instance that reconnects to the broker forgets them all).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::store;
use crate::error::ApiError;
use crate::realtime::hub::{Control, Invalidate};
use crate::state::AppState;

/// How long an entry is trusted without an invalidation.
const TTL: Duration = Duration::from_secs(30);
/// Rooms past which the cache starts over.
const MAX_ROOMS: usize = 100_000;

/// A room's member ids, whether it is a direct room, and when they were read.
type Entry = (Room, Instant);

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

#[derive(Default)]
struct Cache {
    // A std lock: held for a map operation only, never across an `.await`.
    rooms: RwLock<HashMap<i64, Entry>>,
    /// Rooms someone is leaving (announced before the commit, until `Room` comes after it):
    /// how many removals are in flight, and since when.
    leaving: RwLock<HashMap<i64, (usize, Instant)>>,
    /// Bumped by every invalidation: a list read before one is not cached after it.
    generation: AtomicU64,
}

impl Cache {
    fn get(&self, room_id: i64) -> Option<Room> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms
            .get(&room_id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(room, _)| room.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `ids` unless an invalidation happened since `generation` was read.
    fn put(&self, generation: u64, room_id: i64, room: Room) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        if rooms.len() >= MAX_ROOMS {
            rooms.clear();
        }
        rooms.insert(room_id, (room, Instant::now()));
    }
}

impl Cache {
    /// Whether the members read at `generation` may no longer be the room's: a membership
    /// change happened since, or a removal from the room is in flight.
    fn unsettled(&self, room_id: i64, generation: u64) -> bool {
        if self.generation() != generation {
            return true;
        }
        let leaving = self.leaving.read().unwrap_or_else(|e| e.into_inner());
        leaving
            .get(&room_id)
            .is_some_and(|(n, since)| *n > 0 && since.elapsed() < TTL)
    }
}

impl Invalidate for Cache {
    fn invalidate(&self, control: Control) {
        let (Control::Room(room_id) | Control::Leaving(room_id)) = control else {
            return;
        };
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        let mut leaving = self.leaving.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        rooms.remove(&room_id);
        if matches!(control, Control::Leaving(_)) {
            let entry = leaving.entry(room_id).or_insert((0, Instant::now()));
            *entry = (entry.0 + 1, Instant::now());
        } else if let Some(entry) = leaving.get_mut(&room_id) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                leaving.remove(&room_id);
            }
        }
    }

    fn clear(&self) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        rooms.clear();
        // A lost `Room` must not leave a room unsettled for good; a lost `Leaving` is covered
        // by the generation bumped here.
        self.leaving
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// The app's cache, registered with the hub so that control messages reach it.
struct Members(Arc<Cache>);

impl Members {
    fn start(app: &AppState) -> Self {
        let cache = Arc::new(Cache::default());
        app.realtime.hub.add_cache(cache.clone());
        Self(cache)
    }
}

/// The ids of `room_id`'s members; empty when there is no such room. An empty list is never
/// cached: a room about to be created would otherwise look empty until the entry expired.
pub async fn member_ids(app: &AppState, room_id: i64) -> Result<Arc<[i64]>, ApiError> {
    Ok(room(app, room_id).await?.ids)
}

/// A point to compare with after a commit (`unsettled`).
pub fn generation(app: &AppState) -> u64 {
    app.feature(Members::start).0.generation()
}

/// The ids of who is in `room_id` now that a write to it committed, for its event: the cached
/// ones read at `generation` unless a membership change came since or a removal is in
/// flight, then read afresh. A send that read its members before a removal and committed after
/// it so never reaches the member who left.
pub async fn settled_ids(
    app: &AppState,
    room_id: i64,
    generation: u64,
    read: Arc<[i64]>,
) -> Result<Arc<[i64]>, ApiError> {
    let cache = app.feature(Members::start);
    if cache.0.unsettled(room_id, generation) {
        return Ok(store::member_ids(&app.db, room_id).await?.into());
    }
    Ok(read)
}

/// `room_id`'s members and kind (no members when there is no such room).
pub async fn room(app: &AppState, room_id: i64) -> Result<Room, ApiError> {
    let cache = app.feature(Members::start);
    if let Some(room) = cache.0.get(room_id) {
        return Ok(room);
    }
    let generation = cache.0.generation();
    let ids: Arc<[i64]> = store::member_ids(&app.db, room_id).await?.into();
    if ids.is_empty() {
        return Ok(Room { ids, direct: false });
    }
    let direct = store::find_room(&app.db, room_id)
        .await?
        .is_some_and(|r| super::model::RoomKind::of(&r.kind) == super::model::RoomKind::Direct);
    let room = Room { ids, direct };
    cache.0.put(generation, room_id, room.clone());
    Ok(room)
}

/// Who is in `room_id` changed (committed): every instance drops its list.
pub async fn changed(app: &AppState, room_id: i64) {
    app.realtime.broadcast(Control::Room(room_id)).await;
}

/// Someone is about to be removed from `room_id`: call before the removal's commit (and
/// `changed` after it, whatever the outcome). Until then every instance checks a send's
/// recipients again after its commit.
pub async fn leaving(app: &AppState, room_id: i64) {
    app.realtime.broadcast(Control::Leaving(room_id)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalidation_drops_the_room_and_refuses_a_list_read_before_it() {
        let cache = Cache::default();
        let before = cache.generation();
        let room = |ids: &[i64]| Room {
            ids: Arc::from(ids),
            direct: false,
        };
        cache.put(before, 1, room(&[1, 2]));
        cache.put(before, 2, room(&[3]));
        let read_before = cache.generation();
        cache.invalidate(Control::Room(1));
        assert!(cache.get(1).is_none());
        assert_eq!(cache.get(2).map(|r| r.ids).as_deref(), Some(&[3][..]));
        // A list read before the invalidation may be stale: it is not cached.
        cache.put(read_before, 1, room(&[1, 2]));
        assert!(cache.get(1).is_none());
        // A user's change is not a room's.
        cache.invalidate(Control::Changed(2));
        assert!(cache.get(2).is_some());
        cache.clear();
        assert!(cache.get(2).is_none());
    }

    #[test]
    fn a_removal_in_flight_unsettles_its_room_until_it_is_done() {
        let cache = Cache::default();
        let read_at = cache.generation();
        assert!(!cache.unsettled(1, read_at));
        cache.invalidate(Control::Leaving(1));
        // Members read before the announcement are stale.
        assert!(cache.unsettled(1, read_at));
        // Read after it, they are still unsettled until the removal is done.
        let after = cache.generation();
        assert!(cache.unsettled(1, after));
        assert!(!cache.unsettled(2, after));
        cache.invalidate(Control::Leaving(1));
        cache.invalidate(Control::Room(1));
        assert!(
            cache.unsettled(1, cache.generation()),
            "one removal still in flight"
        );
        cache.invalidate(Control::Room(1));
        assert!(!cache.unsettled(1, cache.generation()));
    }
}
