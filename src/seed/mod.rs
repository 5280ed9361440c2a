//! `agora seed`: a community of a real size, written straight into an empty database, for
//! measuring what the lists cost when the tables are large (`agora-bench --lists`).
//!
//! Every row is made by one `INSERT ... SELECT` over a series of numbers, so a million rows
//! take seconds, and every row keeps the invariants the application keeps: friendships one row
//! per direction with `friend_count` equal to them, one pending request per pair, a group's
//! members being its room's members with one owner, a direct room with its two members and
//! its key, messages only from members, the kept counters equal to what they count.
//!
//! The same accounts play the same parts at every scale (usernames `u1`, `u2`, ..., one
//! password, [`PASSWORD`]):
//!
//! - `u1`: `hub_friends` friends, pending requests from `requests` users, a member of the big
//!   group (which it owns) and of up to 369 direct rooms;
//! - `u2`: `inbox` notifications, all unread;
//! - `u3` and `u4`: `star_friends` friends each (an author and a reader of the feed);
//! - `posts` posts, each user's in turn, three in ten public, one in ten `only_me`;
//! - the big group (id 1, room 1): `big_group` members and `big_room` messages, never read by
//!   `u1`;
//! - everyone else: a few friends, some notifications, a handful of rooms.

use sea_orm::{ConnectionTrait, DbBackend};

mod sql;

use sql::Sql;

use crate::db;
use crate::error::ApiError;
use crate::secret::Secret;
use crate::state::AppState;

/// The password of every seeded account.
pub const PASSWORD: &str = "seeded-password-1";

/// How much of everything. [`Dataset::community`] is the size the large-data issue measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dataset {
    pub users: i64,
    /// Friendships (pairs; each is two rows), `u1`'s included.
    pub friendships: i64,
    pub hub_friends: i64,
    /// Pending friend requests to `u1`.
    pub requests: i64,
    pub notifications: i64,
    pub inbox: i64,
    /// Rooms in all: one per group, the rest direct.
    pub rooms: i64,
    pub messages: i64,
    pub big_room: i64,
    pub groups: i64,
    pub big_group: i64,
    /// Members of every other group.
    pub group_size: i64,
    /// Friends of `u3` (an author) and of `u4` (a reader) each, besides their few others.
    pub star_friends: i64,
    pub posts: i64,
}

impl Dataset {
    /// 100,000 users, about 1,000,000 friendship rows (`u1` with 20,000 friends, `u3` and `u4`
    /// with 5,000 more each), 1,000,000 posts, 2,000,000
    /// notifications (`u2` with 50,000), 5,000 rooms with 3,000,000 messages (500,000 in the
    /// big group's room), 1,000 groups (the big one with 10,000 members).
    pub const fn community() -> Self {
        Self {
            users: 100_000,
            friendships: 500_000,
            hub_friends: 20_000,
            requests: 1_000,
            notifications: 2_000_000,
            inbox: 50_000,
            rooms: 5_000,
            messages: 3_000_000,
            big_room: 500_000,
            groups: 1_000,
            big_group: 10_000,
            group_size: 20,
            star_friends: 5_000,
            posts: 1_000_000,
        }
    }

    /// The community scaled by `factor` (0.01 is a hundredth), never so small that a part
    /// disappears: at least 400 users, 10 groups, 20 rooms.
    pub fn scaled(factor: f64) -> Self {
        let c = Self::community();
        let s = |n: i64, min: i64| ((n as f64 * factor).round() as i64).max(min);
        let users = s(c.users, 400);
        let groups = s(c.groups, 10);
        Self {
            users,
            friendships: s(c.friendships, 2 * users),
            hub_friends: s(c.hub_friends, 50).min(users / 4),
            requests: s(c.requests, 10).min(users / 8),
            notifications: s(c.notifications, 2_000),
            inbox: s(c.inbox, 200),
            rooms: s(c.rooms, groups + 10).max(groups + 10),
            messages: s(c.messages, 2_000),
            big_room: s(c.big_room, 500),
            groups,
            big_group: s(c.big_group, 50).min(users / 2),
            group_size: c.group_size.min(users / 10),
            star_friends: s(c.star_friends, 50).min(users / 8),
            posts: s(c.posts, 4_000),
        }
    }
}

/// What `run` wrote, for the command to print.
#[derive(Debug, Default)]
pub struct Seeded {
    pub rows: Vec<(&'static str, u64)>,
}

/// Fills an empty, migrated database with `set`. Refuses a database that has users.
pub async fn run(app: &AppState, set: Dataset) -> Result<Seeded, ApiError> {
    let d = &app.db;
    let backend = d.get_database_backend();
    let users: i64 = d
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM users",
        ))
        .await?
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0);
    if users > 0 {
        return Err(ApiError::Internal(
            "seed needs an empty database: this one has users".into(),
        ));
    }
    let hash = app
        .passwords
        .hash(Secret::from(PASSWORD.to_owned()))
        .await?;
    let sql = Sql { backend, set };
    let txn = db::begin_write(d).await?;
    let mut seeded = Seeded::default();
    for (table, statement) in sql.statements(hash.expose()) {
        let done = txn.execute_unprepared(&statement).await?;
        if !table.is_empty() {
            seeded.rows.push((table, done.rows_affected()));
        }
    }
    txn.commit().await?;
    if backend == DbBackend::Postgres {
        // What autovacuum would soon do: plans from real statistics.
        d.execute_unprepared("ANALYZE").await?;
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scale_keeps_every_part() {
        for f in [0.0, 0.001, 0.01, 0.1, 1.0] {
            let d = Dataset::scaled(f);
            assert!(d.users >= 400 && d.hub_friends >= 50 && d.big_group <= d.users);
            assert!(d.rooms > d.groups && d.messages > d.big_room);
            assert!(d.notifications > d.inbox);
            assert!(d.hub_friends + 2 + d.requests <= d.users);
            assert!(d.hub_friends + 1 + 2 * d.star_friends <= d.users);
        }
        assert_eq!(Dataset::scaled(1.0), Dataset::community());
    }
}
