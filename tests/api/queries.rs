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
