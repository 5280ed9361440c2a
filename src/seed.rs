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
//! - the big group (id 1, room 1): `big_group` members and `big_room` messages, never read by
//!   `u1`;
//! - everyone else: a few friends, some notifications, a handful of rooms.

use std::fmt::Write as _;

use sea_orm::{ConnectionTrait, DbBackend};

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
}

impl Dataset {
    /// 100,000 users, about 1,000,000 friendship rows (`u1` with 20,000 friends), 2,000,000
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

struct Sql {
    backend: DbBackend,
    set: Dataset,
}

/// Every seeded row's time.
const AT: &str = "2026-11-01T12:00:00.000000+00:00";

impl Sql {
    /// `n` rows with one column `i` from 0 to `n - 1`.
    fn series(&self, n: i64) -> String {
        match self.backend {
            DbBackend::Postgres => {
                format!("(SELECT generate_series(0, {n} - 1)::bigint AS i) AS s")
            }
            _ => format!(
                "(WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {n} - 1) \
                 SELECT i FROM c) AS s"
            ),
        }
    }

    fn at(&self) -> String {
        match self.backend {
            DbBackend::Postgres => format!("'{AT}'::timestamptz"),
            _ => format!("'{AT}'"),
        }
    }

    /// `a` and `b` as "smaller:larger", the pair key of requests and direct rooms.
    fn pair_key(a: &str, b: &str) -> String {
        let text = |e: &str| format!("CAST({e} AS TEXT)");
        format!(
            "(CASE WHEN {a} < {b} THEN {ta} || ':' || {tb} ELSE {tb} || ':' || {ta} END)",
            ta = text(a),
            tb = text(b)
        )
    }

    /// The `k`-th member (0-based, `k < group_size`) of group `g` other than the big one:
    /// consecutive users from an offset, never `u1`.
    fn member_of(&self, g: &str, k: &str) -> String {
        let others = self.set.users - 1;
        format!("(2 + (({g}) * 37 + ({k})) % {others})")
    }

    /// `(table, statement)` in order; an empty table name for statements that only adjust.
    fn statements(&self, hash: &str) -> Vec<(&'static str, String)> {
        let s = self.set;
        let at = self.at();
        let mut out = Vec::new();
        let others = s.users - 1;

        out.push((
            "users",
            format!(
                "INSERT INTO users (id, username, username_lower, email, email_lower, password, \
                 first_name, last_name, is_staff, is_superuser, is_active, date_joined, \
                 token_version, bio, location, website, visibility, show_online_status, \
                 allow_messages_from, friend_count) \
                 SELECT i + 1, 'u' || (i + 1), 'u' || (i + 1), 'u' || (i + 1) || '@example.com', \
                 'u' || (i + 1) || '@example.com', '{hash}', 'Name' || (i % 1000), \
                 'Family' || (i % 997), FALSE, FALSE, TRUE, {at}, 0, '', '', '', 'public', TRUE, \
                 'everyone', 0 FROM {series}",
                series = self.series(s.users)
            ),
        ));

        // u1 with each of u2 .. u(hub_friends + 1); then, for everyone but u1, `rounds`
        // partners at offsets 1, 98, 195, ... (no two offsets add up to `others`, so no pair
        // comes twice).
        let rounds = ((s.friendships - s.hub_friends) / others).max(1);
        let pairs = format!(
            "(SELECT 1 AS a, i + 2 AS b FROM {hub} UNION ALL \
             SELECT 2 + i % {others} AS a, 2 + (i % {others} + 1 + (i / {others}) * 97) % {others} AS b \
             FROM {rest}) AS p",
            hub = self.series(s.hub_friends),
            rest = self.series(rounds * others),
        );
        out.push((
            "friendships",
            format!(
                "INSERT INTO friendships (user_id, friend_id, created_at, \
                 friend_username_lower, friend_active) \
                 SELECT a, b, {at}, 'u' || b, TRUE FROM {pairs} WHERE a <> b UNION ALL \
                 SELECT b, a, {at}, 'u' || a, TRUE FROM {pairs} WHERE a <> b"
            ),
        ));
        out.push((
            "",
            "UPDATE users SET friend_count = \
             (SELECT COUNT(*) FROM friendships f WHERE f.user_id = users.id)"
                .to_owned(),
        ));

        // Pending requests to u1 from users who are not its friends.
        let first = s.hub_friends + 2;
        out.push((
            "friend_requests",
            format!(
                "INSERT INTO friend_requests (id, sender_id, receiver_id, status, created_at, \
                 updated_at, pair_key) \
                 SELECT i + 1, {first} + i, 1, 'pending', {at}, {at}, {key} FROM {series}",
                key = Self::pair_key(&format!("({first} + i)"), "1"),
                series = self.series(s.requests),
            ),
        ));

        // u2's inbox (unread), then everyone else's (one in five unread).
        let rest = s.notifications - s.inbox;
        out.push((
            "notifications",
            format!(
                "INSERT INTO notifications (id, recipient_id, sender_id, kind, text, data, \
                 is_read, created_at) \
                 SELECT i + 1, 2, 3 + i % {senders}, 'friend_request', \
                 'u' || (3 + i % {senders}) || ' sent you a friend request.', '{{}}', FALSE, {at} \
                 FROM {series}",
                senders = s.users - 2,
                series = self.series(s.inbox),
            ),
        ));
        out.push((
            "notifications",
            format!(
                "INSERT INTO notifications (id, recipient_id, sender_id, kind, text, data, \
                 is_read, created_at) \
                 SELECT {inbox} + i + 1, 3 + i % {n}, 3 + (i + 1) % {n}, 'mention', \
                 'u' || (3 + (i + 1) % {n}) || ' mentioned you.', '{{}}', i % 5 <> 0, {at} \
                 FROM {series}",
                inbox = s.inbox,
                n = s.users - 2,
                series = self.series(rest),
            ),
        ));

        // Group g has room g. The big group's members are u1 (its owner) .. u(big_group).
        out.push((
            "chat_rooms",
            format!(
                "INSERT INTO chat_rooms (id, kind, name, group_id, direct_key, last_message_id, \
                 last_activity_at, created_at) \
                 SELECT i + 1, 'group', 'Group ' || (i + 1), i + 1, NULL, NULL, {at}, {at} \
                 FROM {series}",
                series = self.series(s.groups),
            ),
        ));
        out.push((
            "groups",
            format!(
                "INSERT INTO \"groups\" (id, name, description, visibility, avatar_id, room_id, \
                 created_at) \
                 SELECT i + 1, 'Group ' || (i + 1), 'A seeded group.', \
                 CASE WHEN i % 4 = 3 THEN 'private' ELSE 'public' END, NULL, i + 1, {at} \
                 FROM {series}",
                series = self.series(s.groups),
            ),
        ));
        out.push((
            "chat_members",
            format!(
                "INSERT INTO chat_members (room_id, user_id, role, joined_at) \
                 SELECT 1, i + 1, CASE WHEN i = 0 THEN 'owner' ELSE 'member' END, {at} \
                 FROM {series}",
                series = self.series(s.big_group),
            ),
        ));
        out.push((
            "chat_members",
            format!(
                "INSERT INTO chat_members (room_id, user_id, role, joined_at) \
                 SELECT 2 + i / {size}, {member}, \
                 CASE WHEN i % {size} = 0 THEN 'owner' ELSE 'member' END, {at} FROM {series}",
                size = s.group_size,
                member = self.member_of(
                    &format!("(2 + i / {})", s.group_size),
                    &format!("(i % {})", s.group_size)
                ),
                series = self.series((s.groups - 1) * s.group_size),
            ),
        ));

        // Direct rooms: the first (up to 369) pair u1 with its friends u2, u3, ...; the rest
        // pair u(2j + 2) with u(2j + 3), wrapping.
        let direct = s.rooms - s.groups;
        let (lo, hi) = self.direct_pair("i");
        out.push((
            "chat_rooms",
            format!(
                "INSERT INTO chat_rooms (id, kind, name, group_id, direct_key, last_message_id, \
                 last_activity_at, created_at) \
                 SELECT {groups} + i + 1, 'direct', '', NULL, {key}, NULL, {at}, {at} FROM {series}",
                groups = s.groups,
                key = Self::pair_key(&lo, &hi),
                series = self.series(direct),
            ),
        ));
        out.push((
            "chat_members",
            format!(
                "INSERT INTO chat_members (room_id, user_id, role, joined_at) \
                 SELECT {groups} + i + 1, {lo}, 'member', {at} FROM {series} UNION ALL \
                 SELECT {groups} + i + 1, {hi}, 'member', {at} FROM {series}",
                groups = s.groups,
                series = self.series(direct),
            ),
        ));

        // The big room's messages from its members in turn, then the rest spread over the
        // other rooms, each from one of its first two members.
        out.push((
            "chat_messages",
            format!(
                "INSERT INTO chat_messages (id, room_id, sender_id, body, created_at, deleted) \
                 SELECT i + 1, 1, 1 + i % {members}, 'message ' || (i + 1), {at}, FALSE \
                 FROM {series}",
                members = s.big_group,
                series = self.series(s.big_room),
            ),
        ));
        let room = format!("(2 + i % {})", s.rooms - 1);
        let j = format!("({room} - {} - 1)", s.groups);
        let (dlo, dhi) = self.direct_pair(&j);
        let sender = format!(
            "CASE WHEN {room} <= {groups} THEN {group_member} \
             WHEN i % 2 = 0 THEN {dlo} ELSE {dhi} END",
            groups = s.groups,
            group_member = self.member_of(&room, "(i % 2)"),
        );
        out.push((
            "chat_messages",
            format!(
                "INSERT INTO chat_messages (id, room_id, sender_id, body, created_at, deleted) \
                 SELECT {big} + i + 1, {room}, {sender}, 'message ' || ({big} + i + 1), {at}, \
                 FALSE FROM {series}",
                big = s.big_room,
                series = self.series(s.messages - s.big_room),
            ),
        ));

        out.push((
            "",
            "UPDATE chat_rooms SET member_count = \
             (SELECT COUNT(*) FROM chat_members WHERE chat_members.room_id = chat_rooms.id)"
                .to_owned(),
        ));
        out.push((
            "notification_inbox",
            "INSERT INTO notification_inbox (user_id, total, unread, read_through) \
             SELECT recipient_id, COUNT(*), SUM(CASE WHEN is_read THEN 0 ELSE 1 END), 0 \
             FROM notifications GROUP BY recipient_id"
                .to_owned(),
        ));
        out.push((
            "",
            "UPDATE counters SET value = (SELECT COUNT(*) FROM users WHERE is_active) \
             WHERE name = 'active_users'"
                .to_owned(),
        ));

        if self.backend == DbBackend::Postgres {
            let mut seq = String::new();
            for table in [
                "users",
                "friend_requests",
                "notifications",
                "chat_rooms",
                "groups",
                "chat_messages",
            ] {
                let _ = write!(
                    seq,
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT MAX(id) FROM {table}));"
                );
            }
            out.push(("", seq));
        }
        out
    }

    /// The two members of direct room number `j` (0-based), as SQL over `j`.
    fn direct_pair(&self, j: &str) -> (String, String) {
        let s = self.set;
        let hub = (s.rooms - s.groups).min(369).min(s.hub_friends);
        let others = s.users - 3;
        let lo =
            format!("(CASE WHEN {j} < {hub} THEN 1 ELSE 2 + (2 * ({j} - {hub})) % {others} END)");
        let hi = format!(
            "(CASE WHEN {j} < {hub} THEN {j} + 2 ELSE 3 + (2 * ({j} - {hub})) % {others} END)"
        );
        (lo, hi)
    }
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
        }
        assert_eq!(Dataset::scaled(1.0), Dataset::community());
    }
}
