//! The seed's SQL: one `INSERT ... SELECT` over a series of numbers per table, in SQLite's or
//! PostgreSQL's dialect.

use std::fmt::Write as _;

use sea_orm::DbBackend;

use super::Dataset;

/// The statements that write a `Dataset`, in one database's dialect.
pub(super) struct Sql {
    pub(super) backend: DbBackend,
    pub(super) set: Dataset,
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
    pub(super) fn statements(&self, hash: &str) -> Vec<(&'static str, String)> {
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
        // u3 (an author) and u4 (a reader) with `star_friends` friends each, from users past
        // u1's friends; a pair the rounds above already made is skipped.
        for (star, from) in [
            (3, s.hub_friends + 2),
            (4, s.hub_friends + 2 + s.star_friends),
        ] {
            let pairs = format!(
                "(SELECT {star} AS a, {from} + i AS b FROM {series}) AS p",
                series = self.series(s.star_friends)
            );
            let fresh =
                "NOT EXISTS (SELECT 1 FROM friendships f WHERE f.user_id = a AND f.friend_id = b)";
            out.push((
                "friendships",
                format!(
                    "INSERT INTO friendships (user_id, friend_id, created_at, \
                     friend_username_lower, friend_active) \
                     SELECT a, b, {at}, 'u' || b, TRUE FROM {pairs} WHERE {fresh} UNION ALL \
                     SELECT b, a, {at}, 'u' || a, TRUE FROM {pairs} WHERE {fresh}"
                ),
            ));
        }
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

        // Posts: each user's in turn (u3 and u4 write theirs too), three in ten public, one
        // in ten only for the author, the rest for friends.
        out.push((
            "posts",
            format!(
                "INSERT INTO posts (id, author_id, body, visibility, group_id, created_at, \
                 comment_count) \
                 SELECT i + 1, 1 + i % {users}, 'Post ' || (i + 1) || ' by u' || (1 + i % {users}), \
                 CASE WHEN i % 10 < 3 THEN 'public' WHEN i % 10 = 9 THEN 'only_me' \
                 ELSE 'friends' END, NULL, {at}, 0 FROM {series}",
                users = s.users,
                series = self.series(s.posts),
            ),
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
                "posts",
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
