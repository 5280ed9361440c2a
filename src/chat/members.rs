//! Each room's member ids and kind, through the instance's cache of them (`state::rooms`).
//! Every change to who is in a room calls `changed` after its commit: the entry is dropped
//! here and, through the bus, on every other instance before `changed` returns.

use std::sync::Arc;

use super::store;
use crate::error::ApiError;
use crate::realtime::hub::Control;
use crate::state::AppState;
pub use crate::state::rooms::Room;

/// The ids of `room_id`'s members; empty when there is no such room. An empty list is never
/// cached: a room about to be created would otherwise look empty until the entry expired.
pub async fn member_ids(app: &AppState, room_id: i64) -> Result<Arc<[i64]>, ApiError> {
    Ok(room(app, room_id).await?.ids)
}

/// A point to compare with after a commit (`unsettled`).
pub fn generation(app: &AppState) -> u64 {
    app.rooms.rooms.generation()
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
    if app.rooms.unsettled(room_id, generation) {
        return Ok(store::member_ids(&app.db, room_id).await?.into());
    }
    Ok(read)
}

/// `room_id`'s members and kind (no members when there is no such room).
pub async fn room(app: &AppState, room_id: i64) -> Result<Room, ApiError> {
    let cache = &app.rooms.rooms;
    if let Some(room) = cache.get(&room_id) {
        return Ok(room);
    }
    let generation = cache.generation();
    let ids: Arc<[i64]> = store::member_ids(&app.db, room_id).await?.into();
    if ids.is_empty() {
        return Ok(Room { ids, direct: false });
    }
    let direct = store::find_room(&app.db, room_id)
        .await?
        .is_some_and(|r| super::model::RoomKind::of(&r.kind) == super::model::RoomKind::Direct);
    let room = Room { ids, direct };
    cache.put(generation, room_id, room.clone());
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
