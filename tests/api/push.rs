//! Web Push end to end: the tests play the browser (a P-256 key pair and an auth secret) and
//! the push service (`pushee`), which checks every request's VAPID header and decrypts its body.

use serde_json::{Value, json};

use crate::chat::{group, say};
use crate::helpers::{PASSWORD, TestApp, TestUser, json_of, status_body};
use crate::paths;
use crate::pushee::PushService;

const SUBSCRIPTIONS: &str = "/api/push/subscriptions/";

async fn subscribe(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let (status, body) = status_body(app.post(user, SUBSCRIPTIONS, body).await).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Waits until no push job is queued or running.
async fn pushes_settled(app: &TestApp) {
    app.until_jobs("pushes settled", |jobs| {
        jobs.iter()
            .filter(|j| j.kind == "push")
            .all(|j| j.state == "done" || j.state == "dead")
    })
    .await;
}

#[tokio::test]
async fn subscriptions_are_kept_per_endpoint_and_checked() {
    let app = TestApp::spawn().await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    let key = json_of(app.get_anon("/api/push/").await).await;
    let key = key["vapid_public_key"].as_str().expect("key").to_owned();
    let point = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&key)
            .expect("URL-safe base64 unpadded")
    };
    assert_eq!(
        (point.len(), point[0]),
        (65, 4),
        "an uncompressed P-256 point"
    );

    let browser = service.browser("a1");
    let sub = subscribe(&app, &alice, browser.clone()).await;
    assert_eq!(sub["endpoint"], service.endpoint("a1"));
    assert!(sub.get("keys").is_none(), "keys are never returned");
    assert_eq!(sub["alerts"]["chat_message"], true);
    assert_eq!(sub["alerts"]["friend_request"], true);
    assert_eq!(sub["alerts"]["report_resolved"], true);
    let id = sub["id"].as_i64().expect("id");

    // The same endpoint again updates it.
    let mut again = browser.clone();
    again["alerts"] = json!({"friend_request": false});
    let (status, body) = status_body(app.post(&alice, SUBSCRIPTIONS, again).await).await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(id)), "{body}");
    assert_eq!(body["alerts"]["friend_request"], false);

    let (status, body) = status_body(
        app.patch(
            &alice,
            &paths::push_subscription(id),
            json!({"alerts": {"chat_message": false}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["alerts"]["chat_message"],
            &body["alerts"]["friend_request"],
            &body["alerts"]["mention"]
        ),
        (&json!(false), &json!(false), &json!(true))
    );
    let (status, body) = status_body(
        app.patch(
            &alice,
            &paths::push_subscription(id),
            json!({"alerts": {"nope": true}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["alerts"].is_array(), "{body}");

    // Someone else's is not found; a page of one's own lists it.
    assert_eq!(
        app.patch(&bob, &paths::push_subscription(id), json!({"alerts": {}}))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.delete(&bob, &paths::push_subscription(id))
            .await
            .status(),
        404
    );
    let page = json_of(app.get(&alice, SUBSCRIPTIONS).await).await;
    assert_eq!(page["count"], 1);
    assert_eq!(
        json_of(app.get(&bob, SUBSCRIPTIONS).await).await["count"],
        0
    );

    // Field errors, nested as DRF's.
    for (body, field) in [
        (json!({"keys": browser["keys"]}), "endpoint"),
        (json!({"endpoint": service.endpoint("x")}), "keys"),
        (
            json!({"endpoint": "https://evil.example.com/push", "keys": browser["keys"]}),
            "endpoint",
        ),
        (
            json!({"endpoint": "http://localhost:1/push", "keys": browser["keys"]}),
            "endpoint",
        ),
        (
            json!({"endpoint": "http://127.0.0.2:1/push", "keys": browser["keys"]}),
            "endpoint",
        ),
        (
            json!({"endpoint": "javascript:alert(1)", "keys": browser["keys"]}),
            "endpoint",
        ),
        (
            json!({"endpoint": format!("{}/{}", service.base, "a".repeat(2100)), "keys": browser["keys"]}),
            "endpoint",
        ),
        (
            json!({"endpoint": service.endpoint("x"), "keys": browser["keys"], "alerts": {"bogus": true}}),
            "alerts",
        ),
        (
            json!({"endpoint": service.endpoint("x"), "keys": browser["keys"], "alerts": {"mention": "yes"}}),
            "alerts",
        ),
    ] {
        let (status, errors) =
            status_body(app.post(&alice, SUBSCRIPTIONS, body.clone()).await).await;
        assert_eq!(status, 400, "{body} → {errors}");
        assert!(
            errors[field].is_array() || errors[field].is_object(),
            "{body} → {errors}"
        );
    }
    for keys in [
        json!({"p256dh": "AAAA", "auth": browser["keys"]["auth"]}),
        json!({"p256dh": format!("C{}", &browser["keys"]["p256dh"].as_str().expect("key")[1..]), "auth": browser["keys"]["auth"]}),
        json!({"p256dh": browser["keys"]["p256dh"], "auth": "not base64!"}),
        json!({"p256dh": browser["keys"]["p256dh"]}),
    ] {
        let (status, errors) = status_body(
            app.post(
                &alice,
                SUBSCRIPTIONS,
                json!({"endpoint": service.endpoint("x"), "keys": keys}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{keys} → {errors}");
        assert!(errors["keys"].is_object(), "{keys} → {errors}");
    }

    // The same endpoint posted by someone else moves to them.
    let (status, moved) = status_body(app.post(&bob, SUBSCRIPTIONS, browser.clone()).await).await;
    assert_eq!((status, moved["id"].as_i64()), (200, Some(id)));
    assert_eq!(
        moved["alerts"]["chat_message"], true,
        "alice's alerts are not bob's"
    );
    assert_eq!(
        json_of(app.get(&alice, SUBSCRIPTIONS).await).await["count"],
        0
    );
    assert_eq!(
        app.delete(&bob, &paths::push_subscription(id))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.delete(&bob, &paths::push_subscription(id))
            .await
            .status(),
        404
    );

    // At most 20 per user: the 21st removes the oldest.
    let mut ids = Vec::new();
    for i in 0..21 {
        ids.push(
            subscribe(&app, &alice, service.browser(&format!("many{i}"))).await["id"].as_i64(),
        );
    }
    let page = json_of(
        app.get(&alice, &format!("{SUBSCRIPTIONS}?page_size=100"))
            .await,
    )
    .await;
    assert_eq!(page["count"], 20);
    let listed: Vec<Option<i64>> = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(listed, ids[1..].to_vec());
}

#[tokio::test]
async fn two_posts_of_one_endpoint_at_once_make_one_subscription() {
    let app = TestApp::spawn().await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let browser = service.browser("race");
    let (a, b) = tokio::join!(
        app.post(&alice, SUBSCRIPTIONS, browser.clone()),
        app.post(&alice, SUBSCRIPTIONS, browser.clone())
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201]);
    assert_eq!(
        json_of(app.get(&alice, SUBSCRIPTIONS).await).await["count"],
        1
    );
}

#[tokio::test]
async fn a_notification_is_pushed_encrypted_and_signed_as_its_alerts_say() {
    let app = TestApp::spawn().await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.patch(
        &alice,
        "/api/users/me/",
        json!({"first_name": "Alice", "last_name": "Liddell"}),
    )
    .await;
    let sub = subscribe(&app, &bob, service.browser("bob")).await;
    let key = json_of(app.get_anon("/api/push/").await).await;

    app.request_friend(&alice, &bob).await;
    let got = service.until_delivered("bob", 1).await;
    let push = &got[0];
    assert_eq!(push.payload["type"], "friend_request");
    assert_eq!(push.payload["title"], "Alice Liddell");
    assert!(push.payload["body"].as_str().is_some_and(|b| !b.is_empty()));
    let listed = json_of(app.get(&bob, "/api/notifications/").await).await;
    assert_eq!(push.payload["body"], listed["results"][0]["text"]);
    assert_eq!(
        push.payload["data"]["notification_id"],
        listed["results"][0]["id"]
    );
    assert!(push.payload.get("url").is_none(), "no AGORA_FRONTEND_URL");
    assert_eq!(push.vapid_key, key["vapid_public_key"]);
    assert_eq!(push.ttl.as_deref(), Some("86400"));
    assert_eq!(push.urgency.as_deref(), Some("normal"));

    // The alert off: carol's request is not pushed; a type off in the notification settings
    // makes nothing to push.
    app.patch(
        &bob,
        &paths::push_subscription(sub["id"].as_i64().expect("id")),
        json!({"alerts": {"friend_request": false}}),
    )
    .await;
    app.request_friend(&carol, &bob).await;
    app.put(
        &bob,
        "/api/notifications/settings/",
        json!({"types": {"mention": false}, "do_not_disturb": false}),
    )
    .await;
    let post = app
        .post(
            &alice,
            "/api/posts/",
            json!({"body": "hi @bob", "visibility": "public"}),
        )
        .await;
    assert_eq!(post.status(), 201);
    pushes_settled(&app).await;
    assert_eq!(
        service.delivered("bob").len(),
        1,
        "{:?}",
        service.delivered("bob")
    );

    // Do-not-disturb: stored, not pushed.
    app.put(
        &bob,
        "/api/notifications/settings/",
        json!({"types": {"mention": true}, "do_not_disturb": true}),
    )
    .await;
    let post = json_of(
        app.post(
            &alice,
            "/api/posts/",
            json!({"body": "hi @bob", "visibility": "public"}),
        )
        .await,
    )
    .await;
    assert!(post["id"].is_i64(), "{post}");
    pushes_settled(&app).await;
    assert_eq!(service.delivered("bob").len(), 1);
    app.put(
        &bob,
        "/api/notifications/settings/",
        json!({"types": {}, "do_not_disturb": false}),
    )
    .await;
    app.post(
        &alice,
        "/api/posts/",
        json!({"body": "again @bob", "visibility": "public"}),
    )
    .await;
    let got = service.until_delivered("bob", 2).await;
    assert_eq!(got[1].payload["type"], "mention");
    assert_eq!(got[1].urgency.as_deref(), Some("high"));
}

#[tokio::test]
async fn a_chat_message_is_pushed_to_members_away_only() {
    let app = TestApp::spawn_with(|s| {
        s.accounts.frontend_url = Some(url::Url::parse("https://app.example.com/").expect("url"));
    })
    .await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    for u in [&bob, &carol, &dave] {
        app.befriend(&alice, u).await;
    }
    let room = group(&app, &alice, "Hike", &[&bob, &carol, &dave]).await;
    let room = room["id"].as_i64().expect("room");
    for (u, name) in [(&bob, "bob"), (&carol, "carol"), (&dave, "dave")] {
        subscribe(&app, u, service.browser(name)).await;
    }
    // Bob has the app open; dave blocks alice.
    let mut bob_ws = app.ws(&bob).await;
    assert_eq!(
        app.post(&dave, &paths::block(alice.id), json!({}))
            .await
            .status()
            .as_u16()
            / 100,
        2
    );

    say(&app, &alice, room, "see you at nine").await;
    let got = service.until_delivered("carol", 1).await;
    let push = &got[0];
    assert_eq!(push.payload["type"], "chat_message");
    assert_eq!(push.payload["title"], "Hike");
    assert_eq!(push.payload["body"], "alice: see you at nine");
    assert_eq!(push.payload["data"]["room"], room);
    assert_eq!(push.payload["data"]["sender_id"], alice.id);
    assert_eq!(push.payload["url"], "https://app.example.com/");
    assert_eq!(push.urgency.as_deref(), Some("high"));
    assert_eq!(push.topic.as_deref(), Some(format!("room-{room}").as_str()));
    bob_ws.next_event("chat_message").await;

    // A mention is pushed once, as the mention; a muted room and do-not-disturb push nothing.
    say(&app, &alice, room, "@carol bring water").await;
    let got = service.until_delivered("carol", 2).await;
    assert_eq!(got[1].payload["type"], "mention");
    app.put(&carol, &paths::room_mute(room), json!({"until": null}))
        .await;
    let muted = json_of(
        app.put(
            &carol,
            &paths::room_mute(room),
            json!({"until": "2999-01-01T00:00:00Z"}),
        )
        .await,
    )
    .await;
    assert!(muted["muted_until"].is_string(), "{muted}");
    say(&app, &alice, room, "muted").await;
    app.put(&carol, &paths::room_mute(room), json!({"until": null}))
        .await;
    app.put(
        &carol,
        "/api/notifications/settings/",
        json!({"types": {}, "do_not_disturb": true}),
    )
    .await;
    say(&app, &alice, room, "quiet").await;
    app.put(
        &carol,
        "/api/notifications/settings/",
        json!({"types": {}, "do_not_disturb": false}),
    )
    .await;
    say(&app, &alice, room, "last").await;
    service.until_delivered("carol", 3).await;
    pushes_settled(&app).await;
    let got = service.delivered("carol");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2].payload["body"], "alice: last");
    assert!(service.delivered("bob").is_empty(), "bob had a socket open");
    assert!(service.delivered("dave").is_empty(), "dave blocked alice");
    assert_eq!(service.attempts("bob") + service.attempts("dave"), 0);
}

#[tokio::test]
async fn a_gone_subscription_is_removed_and_a_busy_service_gets_the_push_once() {
    let app = TestApp::spawn().await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    subscribe(&app, &bob, service.browser("gone")).await;
    subscribe(&app, &carol, service.browser("busy")).await;
    service.answer("gone", &[(410, None)]);
    service.answer("busy", &[(503, Some("0")), (429, None)]);

    app.request_friend(&alice, &bob).await;
    app.request_friend(&alice, &carol).await;
    let got = service.until_delivered("busy", 1).await;
    assert_eq!(got[0].payload["type"], "friend_request");
    pushes_settled(&app).await;
    assert_eq!(service.attempts("busy"), 3, "503, 429, then accepted");
    assert_eq!(service.delivered("busy").len(), 1, "delivered exactly once");
    assert_eq!(service.attempts("gone"), 1);
    assert_eq!(
        json_of(app.get(&bob, SUBSCRIPTIONS).await).await["count"],
        0,
        "410 removed it"
    );
}

#[tokio::test]
async fn pushes_queued_when_the_server_stops_are_sent_after_a_restart() {
    let mut app = TestApp::spawn().await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    subscribe(&app, &bob, service.browser("bob")).await;
    // The first try is told to come back in a second; the server stops meanwhile.
    service.answer("bob", &[(503, Some("1"))]);
    app.request_friend(&alice, &bob).await;
    app.until_jobs("the push was tried once", |jobs| {
        jobs.iter()
            .any(|j| j.kind == "push" && j.state == "queued" && j.attempts == 1)
    })
    .await;
    app.shutdown();
    app.stopped().await;
    let restarted = app.spawn_peer().await;
    let got = service.until_delivered("bob", 1).await;
    assert_eq!(got[0].payload["type"], "friend_request");
    pushes_settled(&restarted).await;
    assert_eq!(service.delivered("bob").len(), 1);
}

#[tokio::test]
async fn signing_out_ends_the_logins_subscriptions() {
    let app = TestApp::spawn().await;
    let service = PushService::start().await;
    let alice = app.register("alice").await;
    let phone = app.sign_in("alice", PASSWORD).await;
    subscribe(&app, &alice, service.browser("laptop")).await;
    subscribe(&app, &phone, service.browser("phone")).await;

    // Logout ends that login's subscription, not the other's.
    assert_eq!(
        app.post(
            &alice,
            "/api/auth/logout/",
            json!({"refresh": alice.refresh})
        )
        .await
        .status(),
        204
    );
    let left = json_of(app.get(&phone, SUBSCRIPTIONS).await).await;
    assert_eq!(left["count"], 1);
    assert_eq!(left["results"][0]["endpoint"], service.endpoint("phone"));
    // The logged-out login's access token may still live, but cannot subscribe again.
    assert_eq!(
        app.post(&alice, SUBSCRIPTIONS, service.browser("laptop2"))
            .await
            .status(),
        401
    );

    // A password change ends every login's.
    let res = app
        .post(
            &phone,
            "/api/auth/password/change/",
            json!({"old_password": PASSWORD, "new_password": "a-new-long-passphrase"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let again = app.sign_in("alice", "a-new-long-passphrase").await;
    assert_eq!(
        json_of(app.get(&again, SUBSCRIPTIONS).await).await["count"],
        0
    );

    // A suspension ends them, and so does deleting the account.
    let staff = app.register("staff").await;
    app.make_staff(&staff).await;
    let bob = app.register("bob").await;
    subscribe(&app, &bob, service.browser("bob")).await;
    let res = app
        .post(
            &staff,
            &format!("/api/admin/users/{}/suspend/", bob.id),
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(subscriptions_of(&app, bob.id).await, 0);
    subscribe(&app, &again, service.browser("alice")).await;
    let res = app
        .request(
            reqwest::Method::DELETE,
            "/api/users/me/",
            Some(&again.access),
            Some(json!({"password": "a-new-long-passphrase"})),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(subscriptions_of(&app, again.id).await, 0);
}

/// Subscriptions in the database: a suspended or deleted user cannot list theirs.
async fn subscriptions_of(app: &TestApp, user_id: i64) -> u64 {
    use agora::db::entities::push_subscription as s;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    s::Entity::find()
        .filter(s::Column::UserId.eq(user_id))
        .count(&app.state.db)
        .await
        .expect("count")
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn a_member_connected_to_another_instance_is_not_pushed_and_one_away_is_once() {
    crate::cluster::require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let service = PushService::start().await;
    let alice = one.register("alice").await;
    let bob = one.register("bob").await;
    let carol = one.register("carol").await;
    one.befriend(&alice, &bob).await;
    one.befriend(&alice, &carol).await;
    let room = group(&one, &alice, "Two", &[&bob, &carol]).await;
    let room = room["id"].as_i64().expect("room");
    subscribe(&one, &bob, service.browser("bob")).await;
    subscribe(&one, &carol, service.browser("carol")).await;
    // Bob's only socket is on the other instance.
    let _bob_ws = two.ws(&bob).await;
    say(&one, &alice, room, "across").await;
    let got = service.until_delivered("carol", 1).await;
    assert_eq!(got[0].payload["body"], "alice: across");
    pushes_settled(&one).await;
    pushes_settled(&two).await;
    assert_eq!(service.attempts("bob"), 0, "bob is online on instance two");
    assert_eq!(
        service.delivered("carol").len(),
        1,
        "sent once by one instance"
    );
}
