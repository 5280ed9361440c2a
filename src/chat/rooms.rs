//! Chat's rooms as another feature uses them (a group's room): create one, change its members
//! and roles, delete it, read its members. Writes take the caller's transaction; a change to
//! who is in a room returns a `MembersChanged` that must be announced after the commit, so
//! every instance's member cache learns of it (the compiler warns when one is dropped).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::members;
use super::model::{Role, RoomKind};
use super::store;
use crate::db::entities::chat_room;
use crate::state::AppState;

pub use super::store::{RoomSummary, find_room, members_of, membership, room_summaries};

/// Who is in a room changed inside a transaction: `announce` it once that has committed.
#[must_use = "announce the change after the commit, or other instances keep stale members"]
pub struct MembersChanged(i64);

impl MembersChanged {
    pub async fn announce(self, app: &AppState) {
        members::changed(app, self.0).await;
    }
}

/// A removal from a room is about to happen: sends racing it check their recipients again
/// until `done` (call it after the commit, whatever the outcome).
#[must_use = "call done after the removal's commit"]
pub struct Leaving(i64);

impl Leaving {
    pub async fn start(app: &AppState, room_id: i64) -> Self {
        members::leaving(app, room_id).await;
        Self(room_id)
    }

    pub async fn done(self, app: &AppState) {
        members::changed(app, self.0).await;
    }
}

/// A group's room named `name`, with `owner` as its owner.
pub async fn create_group_room(
    txn: &impl ConnectionTrait,
    name: &str,
    owner: i64,
    now: DateTime<Utc>,
) -> Result<(chat_room::Model, MembersChanged), DbErr> {
    let room = store::create_room(txn, RoomKind::Group, name, None, now).await?;
    store::add_members(txn, room.id, &[(owner, Role::Owner)], now).await?;
    let changed = MembersChanged(room.id);
    Ok((room, changed))
}

/// Marks `room_id` as the room of group `group_id`.
pub async fn link_group(
    txn: &impl ConnectionTrait,
    room_id: i64,
    group_id: i64,
) -> Result<(), DbErr> {
    store::link_group(txn, room_id, group_id).await
}

/// Adds `user_id` as a member; false when they already were one.
pub async fn add_member(
    txn: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(bool, MembersChanged), DbErr> {
    let added = store::add_members(txn, room_id, &[(user_id, Role::Member)], now).await? > 0;
    Ok((added, MembersChanged(room_id)))
}

pub async fn remove_member(
    txn: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
) -> Result<MembersChanged, DbErr> {
    store::remove_member(txn, room_id, user_id).await?;
    Ok(MembersChanged(room_id))
}

pub async fn set_role(
    txn: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
    role: Role,
) -> Result<(), DbErr> {
    store::set_role(txn, room_id, user_id, role).await
}

/// Makes `user_id` the owner; the owner before becomes an admin.
pub async fn hand_over(
    txn: &impl ConnectionTrait,
    room_id: i64,
    user_id: i64,
) -> Result<(), DbErr> {
    store::hand_over(txn, room_id, user_id).await
}

pub async fn rename(txn: &impl ConnectionTrait, room_id: i64, name: &str) -> Result<(), DbErr> {
    store::rename(txn, room_id, name).await
}

/// Takes the room's row lock until the transaction ends: its role changes run one by one.
pub async fn lock(txn: &impl ConnectionTrait, room_id: i64) -> Result<(), DbErr> {
    store::lock_room(txn, room_id).await
}

/// Deletes the room with its messages; returns who was in it.
pub async fn delete_room(
    txn: &impl ConnectionTrait,
    room_id: i64,
) -> Result<(Vec<i64>, MembersChanged), DbErr> {
    let members = store::member_ids(txn, room_id).await?;
    store::delete_room(txn, room_id).await?;
    Ok((members, MembersChanged(room_id)))
}
