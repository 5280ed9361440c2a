use serde_json::json;

use crate::helpers::{TestApp, json_of};
use crate::paths;

#[tokio::test]
async fn notifications_list_filter_count_read_and_delete() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.request_friend(&bob, &alice).await;
    let carols = app.request_friend(&carol, &alice).await;
    // Accepting Carol's notifies Carol, not Alice.
    app.put(
        &alice,
        &paths::friend_request(carols),
        json!({"action": "accept"}),
    )
    .await;

    let list = json_of(app.get(&alice, "/api/notifications/").await).await;
    assert_eq!(list["count"], 2);
    assert_eq!(
        list["results"][0]["sender"]["username"], "carol",
        "newest first"
    );
    let first = list["results"][1]["id"].as_i64().expect("id");
    assert_eq!(
        json_of(app.get(&alice, "/api/notifications/unread-count/").await).await,
        json!({"count": 2})
    );

    let res = app
        .put(&alice, &paths::notification_read(first), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_of(res).await["is_read"], true);
    let res = app
        .patch(&alice, &paths::notification_read(first), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let unread = json_of(app.get(&alice, "/api/notifications/?is_read=false").await).await;
    assert_eq!(unread["count"], 1);
    let read = json_of(app.get(&alice, "/api/notifications/?is_read=true").await).await;
    assert_eq!(read["results"][0]["id"], first);
    let typed = json_of(
        app.get(&alice, "/api/notifications/?type=friend_accepted")
            .await,
    )
    .await;
    assert_eq!(typed["count"], 0);
    assert_eq!(
        app.get(&alice, "/api/notifications/?type=nonsense")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get(&alice, "/api/notifications/?is_read=maybe")
            .await
            .status(),
        400
    );

    let accepted = json_of(
        app.get(&carol, "/api/notifications/?type=friend_accepted")
            .await,
    )
    .await;
    assert_eq!(accepted["count"], 1);

    let res = app
        .post(&alice, "/api/notifications/read-all/", json!({}))
        .await;
    assert_eq!(json_of(res).await, json!({"updated": 1}));
    assert_eq!(
        json_of(app.get(&alice, "/api/notifications/unread-count/").await).await["count"],
        0
    );

    // Someone else's notification does not exist for you.
    assert_eq!(
        app.delete(&bob, &paths::notification(first)).await.status(),
        404
    );
    assert_eq!(
        app.put(&bob, &paths::notification_read(first), json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.delete(&alice, &paths::notification(first))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.delete(&alice, &paths::notification(first))
            .await
            .status(),
        404
    );
    assert_eq!(
        json_of(app.get(&alice, "/api/notifications/").await).await["count"],
        1
    );
}

#[tokio::test]
async fn settings_default_to_everything_on_and_switch_types_off() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let settings = json_of(app.get(&alice, "/api/notifications/settings/").await).await;
    assert_eq!(settings["do_not_disturb"], false);
    assert_eq!(settings["types"].as_object().expect("types").len(), 14);
    assert_eq!(settings["types"]["export_ready"], true);
    assert!(
        settings["types"]
            .as_object()
            .expect("types")
            .values()
            .all(|v| v == true)
    );

    let res = app
        .patch(
            &alice,
            "/api/notifications/settings/",
            json!({"types": {"friend_request": false}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    assert_eq!(body["types"]["friend_request"], false);
    assert_eq!(body["types"]["friend_accepted"], true);

    let res = app
        .put(&alice, "/api/notifications/settings/", json!({"types": {}}))
        .await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["do_not_disturb"].is_array());
    let res = app
        .patch(
            &alice,
            "/api/notifications/settings/",
            json!({"types": {"bogus": true}}),
        )
        .await;
    assert_eq!(res.status(), 400);

    // A type switched off is not created at all; the friend request still happens.
    let mut ws = app.ws(&alice).await;
    app.request_friend(&bob, &alice).await;
    let event = ws.next_event("friend_request").await;
    assert_eq!(event["action"], "created");
    assert_eq!(
        json_of(app.get(&alice, "/api/notifications/").await).await["count"],
        0
    );
    let again = json_of(app.get(&alice, "/api/notifications/settings/").await).await;
    assert_eq!(again["types"]["friend_request"], false, "settings persist");
}

#[tokio::test]
async fn do_not_disturb_stores_but_does_not_push() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let res = app
        .put(
            &alice,
            "/api/notifications/settings/",
            json!({"types": {}, "do_not_disturb": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut ws = app.ws(&alice).await;
    app.request_friend(&bob, &alice).await;
    // The notification would have been queued before this event; the first frame is the event.
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "friend_request", "{frame}");
    assert_eq!(
        json_of(app.get(&alice, "/api/notifications/").await).await["count"],
        1
    );
}

/// The kept counts stay equal to what they count while notifications arrive, are read one by
/// one, all at once and deleted, all at the same time; and "read all" reads what it passed.
#[tokio::test]
async fn kept_counts_hold_while_notifications_arrive_and_are_read_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = crate::chat::direct(&app, &bob, &alice).await["id"]
        .as_i64()
        .expect("id");
    for i in 0..12 {
        crate::chat::say(&app, &bob, room, &format!("@alice {i}")).await;
    }
    let first = json_of(app.get(&alice, "/api/notifications/?page_size=100").await).await;
    let ids: Vec<i64> = first["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|n| n["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 12);

    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().copied().enumerate() {
        let (app_base, client, alice) = (app.base.clone(), app.client.clone(), alice.clone());
        tasks.spawn(async move {
            let path = if i % 3 == 0 {
                client.delete(format!("{app_base}/api/notifications/{id}/"))
            } else {
                client.put(format!("{app_base}/api/notifications/{id}/read/"))
            };
            let res = path.bearer_auth(&alice.access).send().await.expect("send");
            assert!(res.status().is_success(), "{}", res.status());
        });
    }
    for _ in 0..3 {
        let (app_base, client, alice) = (app.base.clone(), app.client.clone(), alice.clone());
        tasks.spawn(async move {
            let res = client
                .post(format!("{app_base}/api/notifications/read-all/"))
                .bearer_auth(&alice.access)
                .json(&json!({}))
                .send()
                .await
                .expect("send");
            assert_eq!(res.status(), 200);
        });
    }
    let texts: Vec<String> = (0..6).map(|i| format!("@alice late {i}")).collect();
    let sends: Vec<_> = texts
        .iter()
        .map(|t| crate::chat::say(&app, &bob, room, t))
        .collect();
    futures_util::future::join_all(sends).await;
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }

    let all = json_of(app.get(&alice, "/api/notifications/?page_size=100").await).await;
    let results = all["results"].as_array().expect("results");
    assert_eq!(all["count"], results.len(), "the kept total");
    assert_eq!(results.len(), 12 - 4 + 6, "four deleted, six arrived");
    let unread_listed = results.iter().filter(|n| n["is_read"] == false).count();
    let unread = json_of(app.get(&alice, "/api/notifications/?is_read=false").await).await;
    assert_eq!(unread["count"], unread_listed);
    assert_eq!(
        unread["results"].as_array().expect("results").len(),
        unread_listed
    );
    let count = json_of(app.get(&alice, "/api/notifications/unread-count/").await).await;
    assert_eq!(count["count"], unread_listed);
    let read = json_of(app.get(&alice, "/api/notifications/?is_read=true").await).await;
    assert_eq!(read["count"], results.len() - unread_listed);

    // Everything read at once; a notification "read all" passed reads as read everywhere,
    // and marking it again changes nothing.
    let res = json_of(
        app.post(&alice, "/api/notifications/read-all/", json!({}))
            .await,
    )
    .await;
    assert_eq!(res["updated"], unread_listed);
    let again = json_of(
        app.post(&alice, "/api/notifications/read-all/", json!({}))
            .await,
    )
    .await;
    assert_eq!(again["updated"], 0);
    let all = json_of(app.get(&alice, "/api/notifications/").await).await;
    assert!(
        all["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|n| n["is_read"] == true)
    );
    let newest = all["results"][0]["id"].as_i64().expect("id");
    let res = app
        .put(&alice, &paths::notification_read(newest), json!({}))
        .await;
    assert_eq!(json_of(res).await["is_read"], true);
    let res = app
        .delete(&alice, &format!("/api/notifications/{newest}/"))
        .await;
    assert_eq!(res.status(), 204);
    let count = json_of(app.get(&alice, "/api/notifications/unread-count/").await).await;
    assert_eq!(count["count"], 0);
    let unread = json_of(app.get(&alice, "/api/notifications/?is_read=false").await).await;
    assert_eq!(unread["count"], 0);
    crate::chat::say(&app, &bob, room, "@alice after").await;
    let count = json_of(app.get(&alice, "/api/notifications/unread-count/").await).await;
    assert_eq!(count["count"], 1);

    // A page past the middle is read from the far end, in the same order.
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|n| n["id"].as_i64().expect("id"))
            .collect()
    };
    let all = ids(&json_of(app.get(&alice, "/api/notifications/?page_size=100").await).await);
    let last = json_of(
        app.get(&alice, "/api/notifications/?page_size=4&page=last")
            .await,
    )
    .await;
    let tail = if all.len() % 4 == 0 { 4 } else { all.len() % 4 };
    assert_eq!(ids(&last), all[all.len() - tail..]);
    let third = json_of(
        app.get(&alice, "/api/notifications/?page_size=4&page=3")
            .await,
    )
    .await;
    assert_eq!(ids(&third), all[8..12]);
}
