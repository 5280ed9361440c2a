//! The cost of a read: every list page takes a fixed number of queries, whatever its size, and
//! an authenticated request finds its caller without one.

use std::sync::atomic::Ordering;

use crate::helpers::{TestApp, TestUser, json_of};
use crate::paths;

// A page of one that is not the caller: the caller's own row needs no relation queries.

/// Queries the server ran while answering `GET path` as `user`.
async fn queries_of(app: &TestApp, user: &TestUser, path: &str) -> (u64, serde_json::Value) {
    let before = app.state.queries.load(Ordering::SeqCst);
    let res = app.get(user, path).await;
    let after = app.state.queries.load(Ordering::SeqCst);
    assert_eq!(res.status(), 200, "{path}");
    (after - before, json_of(res).await)
}

#[tokio::test]
async fn a_page_of_twenty_costs_the_queries_of_a_page_of_one() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut suitors = Vec::new();
    for i in 0..20 {
        let friend = app.register(&format!("friend{i:02}")).await;
        app.befriend(&alice, &friend).await;
        let suitor = app.register(&format!("suitor{i:02}")).await;
        app.request_friend(&suitor, &alice).await;
        suitors.push(suitor);
    }
    // Twenty groups, the first with twenty members.
    let mut first_group = 0;
    for i in 0..20 {
        let res = app
            .post(
                &alice,
                "/api/groups/",
                serde_json::json!({"name": format!("group {i}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let id = json_of(res).await["id"].as_i64().unwrap();
        if i == 0 {
            first_group = id;
        }
    }
    for suitor in suitors.iter().skip(1) {
        let res = app
            .post(
                suitor,
                &paths::group_join(first_group),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let group_members = paths::group_members(first_group);
    // Warm the cache of the caller's row, invalidated by every friendship above.
    app.get(&alice, "/api/users/me/").await;

    let (me, _) = queries_of(&app, &alice, "/api/users/me/").await;
    assert_eq!(
        me, 0,
        "the caller comes from the cache and the profile is on its row"
    );

    let lists = [
        "/api/users/",
        "/api/friends/",
        "/api/friends/?search=friend",
        "/api/friends/?online=false",
        "/api/friends/request/?direction=incoming",
        "/api/notifications/",
        "/api/groups/",
        "/api/groups/?search=group",
        &group_members,
    ];
    for list in lists {
        let sep = if list.contains('?') { '&' } else { '?' };
        let (one, body) = queries_of(&app, &alice, &format!("{list}{sep}page=2&page_size=1")).await;
        assert_eq!(body["results"].as_array().unwrap().len(), 1, "{list}");
        let (twenty, body) = queries_of(&app, &alice, &format!("{list}{sep}page_size=20")).await;
        assert_eq!(body["results"].as_array().unwrap().len(), 20, "{list}");
        // A last page needs no count, so the page of twenty (all there is) may cost fewer.
        assert!(
            twenty <= one,
            "{list}: queries grow with the page ({one} → {twenty})"
        );
        assert!(twenty <= 5, "{list}: {twenty} queries");
    }

    for suitor in &suitors {
        let res = app
            .post(&alice, &paths::block(suitor.id), serde_json::json!({}))
            .await;
        assert_eq!(res.status(), 204);
    }
    app.get(&alice, "/api/users/me/").await;
    let (one, _) = queries_of(&app, &alice, "/api/users/blocked/?page=2&page_size=1").await;
    let (twenty, body) = queries_of(&app, &alice, "/api/users/blocked/?page_size=20").await;
    assert_eq!(body["results"].as_array().unwrap().len(), 20);
    assert!(
        twenty <= one,
        "blocked list: queries grow with the page ({one} → {twenty})"
    );
}

/// Tables that grow with a community: a list must reach their rows through an index.
const LARGE: &[&str] = &[
    "users",
    "friendships",
    "friend_requests",
    "notifications",
    "chat_rooms",
    "chat_members",
    "chat_messages",
    "groups",
    "media",
];

/// Columns of a few values: an index searched by one of them alone is a scan.
const FLAGS: &[&str] = &["is_active", "is_read", "deleted", "status", "visibility"];

/// The scans this test still finds, each open work of the large-data issue, as (the request,
/// the table scanned). A new scan fails the test; a fixed one must be taken off this list.
const KNOWN_SCANS: &[(&str, &str)] = &[
    // `LIKE '%x%'` over groups; counting every public group for the total.
    ("/api/groups/", "groups"),
    ("/api/groups/?search=hik", "groups"),
];

/// Each `SELECT` the server ran, explained on its own database: on SQLite the lines of
/// `EXPLAIN QUERY PLAN` that scan a large table; on PostgreSQL (sequential scans turned off, so
/// a plan keeps one only where no index serves) each `Seq Scan` of one.
async fn scans(app: &TestApp, statements: Vec<sea_orm::Statement>) -> Vec<(String, String)> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for st in statements {
        if !st
            .sql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("SELECT")
        {
            continue;
        }
        let values = st.values.clone().map(|v| v.0).unwrap_or_default();
        let lines: Vec<String> = if backend == DbBackend::Postgres {
            let txn = db.begin().await.expect("begin");
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .expect("set");
            let explain =
                Statement::from_sql_and_values(backend, format!("EXPLAIN {}", st.sql), values);
            let rows = txn.query_all_raw(explain).await.expect("explain");
            txn.rollback().await.expect("rollback");
            let plan: Vec<String> = rows
                .iter()
                .filter_map(|r| r.try_get::<String>("", "QUERY PLAN").ok())
                .collect();
            plan.iter()
                .filter_map(|l| {
                    let at = l.find("Seq Scan on ")?;
                    let table = l[at + 12..].split_whitespace().next()?.to_owned();
                    Some(table)
                })
                .collect()
        } else {
            let explain = Statement::from_sql_and_values(
                backend,
                format!("EXPLAIN QUERY PLAN {}", st.sql),
                values,
            );
            let rows = db.query_all_raw(explain).await.expect("explain");
            // An index searched by a flag alone (`is_active`) leads to every row with it: a
            // scan, unless the index's order and a LIMIT stop the walk early, which a filter
            // that rejects most rows (a search: LIKE, or alternatives joined by OR) defeats.
            let upper = st.sql.to_ascii_uppercase();
            let walk_stops =
                upper.contains(" LIMIT ") && !upper.contains(" LIKE ") && !upper.contains(" OR ");
            rows.iter()
                .filter_map(|r| r.try_get::<String>("", "detail").ok())
                .filter_map(|d| {
                    if let Some(rest) = d.strip_prefix("SCAN ") {
                        return Some(rest.split_whitespace().next()?.to_owned());
                    }
                    let rest = d.strip_prefix("SEARCH ")?;
                    let flag_only = FLAGS.iter().any(|f| rest.ends_with(&format!("({f}=?)")));
                    if !flag_only || walk_stops {
                        return None;
                    }
                    Some(rest.split_whitespace().next()?.to_owned())
                })
                .collect()
        };
        for table in lines {
            if LARGE.contains(&table.as_str()) {
                found.push((table, st.sql.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn no_list_scans_a_large_table() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut friends = Vec::new();
    for i in 0..3 {
        let friend = app.register(&format!("friend{i}")).await;
        app.befriend(&alice, &friend).await;
        friends.push(friend);
    }
    let suitor = app.register("suitor").await;
    app.request_friend(&suitor, &alice).await;
    let room = crate::chat::direct(&app, &alice, &friends[0]).await["id"].clone();
    crate::chat::say(&app, &friends[0], room.as_i64().expect("id"), "hi @alice").await;
    let group = json_of(
        app.post(
            &alice,
            "/api/groups/",
            serde_json::json!({"name": "hikers", "visibility": "public"}),
        )
        .await,
    )
    .await;
    let paths = [
        "/api/users/".to_owned(),
        // A page smaller than the list: the total is counted.
        "/api/users/?page_size=1".to_owned(),
        "/api/users/?search=fri".to_owned(),
        "/api/users/blocked/".to_owned(),
        "/api/friends/".to_owned(),
        "/api/friends/?online=true".to_owned(),
        "/api/friends/?online=false".to_owned(),
        "/api/friends/?search=fri".to_owned(),
        "/api/friends/request/".to_owned(),
        "/api/notifications/".to_owned(),
        "/api/notifications/?is_read=false".to_owned(),
        "/api/notifications/unread-count/".to_owned(),
        "/api/chat/rooms/".to_owned(),
        paths::room_messages(&room),
        paths::room_members(&room),
        "/api/groups/".to_owned(),
        "/api/groups/?search=hik".to_owned(),
        paths::group_members(&group["id"]),
    ];
    let mut unexpected = Vec::new();
    let mut known_seen = std::collections::HashSet::new();
    for path in &paths {
        app.state.statements.start();
        let res = app.get(&alice, path).await;
        assert_eq!(res.status(), 200, "{path}");
        let ran = app.state.statements.take();
        assert!(
            !ran.is_empty() || path.contains("friends"),
            "{path}: nothing recorded"
        );
        for (table, sql) in scans(&app, ran).await {
            if let Some(known) = KNOWN_SCANS
                .iter()
                .find(|(p, t)| *p == path.as_str() && *t == table.as_str())
            {
                known_seen.insert(*known);
            } else {
                unexpected.push(format!("{path} scans {table}: {sql}"));
            }
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    let fixed: Vec<_> = KNOWN_SCANS
        .iter()
        .filter(|k| !known_seen.contains(*k))
        .collect();
    // SQLite's plans name every full scan; PostgreSQL's (sequential scans off) read a whole
    // table through an index instead, which this test does not tell from a bounded read.
    let sqlite =
        sea_orm::ConnectionTrait::get_database_backend(&app.state.db) == sea_orm::DbBackend::Sqlite;
    assert!(
        !sqlite || fixed.is_empty(),
        "no longer scanning, take off KNOWN_SCANS: {fixed:?}"
    );
}

/// The writes that touch a user's largest lists reach their rows through indexes too: accepting
/// a friend request, sending a message, reading a room and all notifications.
#[tokio::test]
async fn no_write_scans_a_large_table() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &carol).await;
    let request = app.request_friend(&bob, &alice).await;
    let room = crate::chat::direct(&app, &alice, &carol).await["id"]
        .as_i64()
        .expect("id");
    let said = crate::chat::say(&app, &carol, room, "hi @alice").await;
    let writes: Vec<(&str, String, serde_json::Value)> = vec![
        (
            "PUT",
            paths::friend_request(request),
            serde_json::json!({"action": "accept"}),
        ),
        (
            "POST",
            paths::room_messages(room),
            serde_json::json!({"body": "hello @carol"}),
        ),
        (
            "POST",
            format!("/api/chat/rooms/{room}/read/"),
            serde_json::json!({"message_id": said["id"]}),
        ),
        (
            "POST",
            "/api/notifications/read-all/".to_owned(),
            serde_json::json!({}),
        ),
    ];
    let mut found = Vec::new();
    for (method, path, body) in writes {
        app.state.statements.start();
        let res = match method {
            "PUT" => app.put(&alice, &path, body).await,
            _ => app.post(&alice, &path, body).await,
        };
        assert!(
            res.status().is_success(),
            "{method} {path}: {}",
            res.status()
        );
        // The chat writer and the after-commit work run after the answer: give them a moment
        // by asking for something that waits on the same connection pool.
        app.get(&alice, "/api/users/me/").await;
        let ran = app.state.statements.take();
        for (table, sql) in scans(&app, ran).await {
            found.push(format!("{method} {path} scans {table}: {sql}"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[tokio::test]
async fn the_report_queue_costs_the_same_for_two_reports_as_for_five() {
    let app = TestApp::spawn().await;
    let moderator = crate::moderation::staff(&app, "moderator").await;
    let reporter = app.register("reporter").await;
    let mut reported = Vec::new();
    for i in 0..6 {
        let author = app.register(&format!("author{i}")).await;
        let res = app
            .post(
                &reporter,
                "/api/reports/",
                serde_json::json!({"target": {"type": "user", "id": author.id}, "category": "spam"}),
            )
            .await;
        assert_eq!(res.status(), 201);
        reported.push(author);
    }
    // The registrations' mails are sent in the background: done before anything is counted.
    app.until_jobs("mails sent", |jobs| jobs.iter().all(|j| j.state == "done"))
        .await;
    // Warm the caller's and the reported users' cache entries first, as a real queue is.
    queries_of(&app, &moderator, "/api/admin/reports/?page_size=6").await;
    let (one, page) = queries_of(&app, &moderator, "/api/admin/reports/?page_size=2").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    // Both pages partial (six reports), so both count the rest the same way.
    let (five, page) = queries_of(&app, &moderator, "/api/admin/reports/?page_size=5").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    assert_eq!(one, five, "{one} queries for two reports, {five} for five");
}
