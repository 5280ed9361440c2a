use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_of};
use crate::paths;

#[tokio::test]
async fn a_friend_request_notifies_the_receiver_over_rest_and_websocket() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut bob_ws = app.ws(&bob).await;

    let res = app
        .post(&alice, "/api/friends/request/", json!({"receiver": bob.id}))
        .await;
    assert_eq!(res.status(), 201);
    let req = json_of(res).await;
    assert_eq!(req["status"], "pending");
    assert_eq!(req["sender"]["id"], alice.id);
    assert_eq!(req["receiver"]["username"], "bob");
    assert!(req["created_at"].is_string() && req["updated_at"].is_string());

    let note = bob_ws.next_event("notification").await;
    assert_eq!(note["type"], "friend_request");
    assert_eq!(note["recipient"], bob.id);
    assert_eq!(note["sender"]["id"], alice.id);
    assert_eq!(note["data"], json!({"friend_request_id": req["id"]}));
    assert_eq!(note["is_read"], false);
    let event = bob_ws.next_event("friend_request").await;
    assert_eq!(event["action"], "created");
    assert_eq!(event["friend_request"]["id"], req["id"]);

    let list = json_of(app.get(&bob, "/api/notifications/").await).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], note["id"]);

    let alice_view = json_of(app.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(alice_view["friendship_status"], "request_sent");
    let bob_view = json_of(app.get(&bob, &paths::user(alice.id)).await).await;
    assert_eq!(bob_view["friendship_status"], "request_received");
}

#[tokio::test]
async fn accepting_makes_friends_and_tells_the_sender() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut alice_ws = app.ws(&alice).await;
    let id = app.request_friend(&alice, &bob).await;

    let path = paths::friend_request(id);
    let res = app.put(&alice, &path, json!({"action": "accept"})).await;
    assert_eq!(res.status(), 403, "the sender cannot accept");
    let carol = app.register("carol").await;
    assert_eq!(
        app.put(&carol, &path, json!({"action": "accept"}))
            .await
            .status(),
        404
    );
    let res = app.put(&bob, &path, json!({"action": "maybe"})).await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["action"].is_array());

    let res = app.put(&bob, &path, json!({"action": "accept"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_of(res).await["status"], "accepted");
    let note = alice_ws.next_event("notification").await;
    assert_eq!(note["type"], "friend_accepted");
    let event = alice_ws.next_event("friend_request").await;
    assert_eq!(event["action"], "accepted");

    let res = app.put(&bob, &path, json!({"action": "reject"})).await;
    assert_eq!(res.status(), 400, "no longer pending");

    let friends = json_of(app.get(&alice, "/api/friends/").await).await;
    assert_eq!(friends["count"], 1);
    assert_eq!(friends["results"][0]["username"], "bob");
    let bob_seen = json_of(app.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(bob_seen["friendship_status"], "friends");
    assert_eq!(bob_seen["friend_count"], 1);
    let me = json_of(app.get(&alice, "/api/users/me/").await).await;
    assert_eq!(me["friend_count"], 1);
    let list = json_of(app.get(&alice, "/api/users/?search=bob").await).await;
    assert_eq!(list["results"][0]["friendship_status"], "friends");
}

#[tokio::test]
async fn request_rules_are_enforced() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let send = |from: &TestUser, body: Value| {
        let from = from.clone();
        let app = &app;
        async move { app.post(&from, "/api/friends/request/", body).await }
    };

    let res = send(&alice, json!({"receiver": alice.id})).await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["receiver"].is_array(), "to yourself");
    let res = send(&alice, json!({"receiver": 987654})).await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["receiver"].is_array(), "missing user");
    let res = send(&alice, json!({})).await;
    assert_eq!(
        json_of(res).await["receiver"],
        json!(["This field is required."])
    );
    let res = send(&alice, json!({"receiver": "abc"})).await;
    assert_eq!(res.status(), 400);
    let res = send(&alice, json!({"receiver": [1]})).await;
    assert_eq!(res.status(), 400);

    assert_eq!(
        send(&alice, json!({"receiver": bob.id})).await.status(),
        201
    );
    let res = send(&alice, json!({"receiver": bob.id})).await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["detail"].is_string(), "duplicate");
    let res = send(&bob, json!({"receiver": alice.id})).await;
    assert_eq!(res.status(), 400, "a pending request exists the other way");

    app.befriend(&carol, &alice).await;
    let res = send(&alice, json!({"receiver": carol.id})).await;
    assert_eq!(res.status(), 400);
    assert!(
        json_of(res).await["detail"]
            .as_str()
            .expect("detail")
            .contains("already friends")
    );

    let dave = app.register("dave").await;
    app.post(&dave, &paths::block(alice.id), json!({})).await;
    assert_eq!(
        send(&alice, json!({"receiver": dave.id})).await.status(),
        403
    );

    // Deactivated users cannot be asked.
    let erin = app.register("erin").await;
    app.request(
        reqwest::Method::DELETE,
        "/api/users/me/",
        Some(&erin.access),
        Some(json!({"password": crate::helpers::PASSWORD})),
    )
    .await;
    assert_eq!(
        send(&alice, json!({"receiver": erin.id})).await.status(),
        400
    );
}

#[tokio::test]
async fn reject_and_cancel_send_only_the_websocket_event() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut alice_ws = app.ws(&alice).await;
    let mut bob_ws = app.ws(&bob).await;

    let id = app.request_friend(&alice, &bob).await;
    bob_ws.next_event("notification").await;
    bob_ws.next_event("friend_request").await;
    let res = app
        .put(
            &bob,
            &paths::friend_request(id),
            json!({"action": "reject"}),
        )
        .await;
    assert_eq!(json_of(res).await["status"], "rejected");
    let event = alice_ws.next_event("friend_request").await;
    assert_eq!(event["action"], "rejected");

    let id = app.request_friend(&alice, &bob).await;
    bob_ws.next_event("notification").await;
    bob_ws.next_event("friend_request").await;
    let path = paths::friend_request(id);
    assert_eq!(
        app.delete(&bob, &path).await.status(),
        403,
        "only the sender cancels"
    );
    assert_eq!(app.delete(&alice, &path).await.status(), 204);
    let event = bob_ws.next_event("friend_request").await;
    assert_eq!(event["action"], "cancelled");
    assert_eq!(event["friend_request"]["status"], "cancelled");
    assert_eq!(
        app.delete(&alice, &path).await.status(),
        400,
        "no longer pending"
    );

    // Only the two creations made notifications.
    let list = json_of(app.get(&bob, "/api/notifications/").await).await;
    assert_eq!(list["count"], 2);
    assert_eq!(
        json_of(app.get(&alice, "/api/notifications/").await).await["count"],
        0
    );
}

#[tokio::test]
async fn request_lists_filter_by_direction_and_status() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.post(&alice, "/api/friends/request/", json!({"receiver": bob.id}))
        .await;
    app.post(
        &carol,
        "/api/friends/request/",
        json!({"receiver": alice.id}),
    )
    .await;

    let both = json_of(app.get(&alice, "/api/friends/request/").await).await;
    assert_eq!(both["count"], 2);
    let incoming = json_of(
        app.get(&alice, "/api/friends/request/?direction=incoming")
            .await,
    )
    .await;
    assert_eq!(incoming["count"], 1);
    assert_eq!(incoming["results"][0]["sender"]["username"], "carol");
    let outgoing = json_of(
        app.get(&alice, "/api/friends/request/?direction=outgoing")
            .await,
    )
    .await;
    assert_eq!(outgoing["results"][0]["receiver"]["username"], "bob");
    let accepted = json_of(
        app.get(&alice, "/api/friends/request/?status=accepted")
            .await,
    )
    .await;
    assert_eq!(accepted["count"], 0);
    assert_eq!(
        app.get(&alice, "/api/friends/request/?direction=up")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get(&alice, "/api/friends/request/?status=maybe")
            .await
            .status(),
        400
    );
    // Bob sees only his own.
    assert_eq!(
        json_of(app.get(&bob, "/api/friends/request/").await).await["count"],
        1
    );
}

#[tokio::test]
async fn friends_list_searches_filters_online_and_unfriends() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    app.befriend(&carol, &alice).await;

    let list = json_of(app.get(&alice, "/api/friends/?search=CAR").await).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["username"], "carol");
    assert_eq!(list["results"][0]["is_online"], false);

    let _bob_ws = app.ws(&bob).await;
    let online = json_of(app.get(&alice, "/api/friends/?online=true").await).await;
    assert_eq!(online["count"], 1);
    assert_eq!(online["results"][0]["username"], "bob");
    assert_eq!(online["results"][0]["is_online"], true);
    let offline = json_of(app.get(&alice, "/api/friends/?online=false").await).await;
    assert_eq!(offline["results"][0]["username"], "carol");
    assert_eq!(
        app.get(&alice, "/api/friends/?online=perhaps")
            .await
            .status(),
        400
    );

    // A friend hiding their presence is never listed as online, and shows null.
    app.patch(
        &bob,
        "/api/users/me/",
        json!({"profile": {"show_online_status": false}}),
    )
    .await;
    let online = json_of(app.get(&alice, "/api/friends/?online=true").await).await;
    assert_eq!(online["count"], 0);
    let all = json_of(app.get(&alice, "/api/friends/").await).await;
    assert!(all["results"][0]["is_online"].is_null());

    assert_eq!(
        app.delete(&alice, &paths::friend(bob.id)).await.status(),
        204
    );
    assert_eq!(
        app.delete(&alice, &paths::friend(bob.id)).await.status(),
        404
    );
    let list = json_of(app.get(&bob, "/api/friends/").await).await;
    assert_eq!(list["count"], 0, "unfriending is mutual");
    let bob_me = json_of(app.get(&bob, "/api/users/me/").await).await;
    assert_eq!(bob_me["friend_count"], 0);
    let alice_me = json_of(app.get(&alice, "/api/users/me/").await).await;
    assert_eq!(alice_me["friend_count"], 1, "carol remains");
}

#[tokio::test]
async fn blocking_ends_friendship_and_pending_requests_both_ways() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    app.post(
        &carol,
        "/api/friends/request/",
        json!({"receiver": alice.id}),
    )
    .await;

    app.post(&alice, &paths::block(bob.id), json!({})).await;
    app.post(&alice, &paths::block(carol.id), json!({})).await;
    assert_eq!(
        json_of(app.get(&alice, "/api/friends/").await).await["count"],
        0
    );
    assert_eq!(
        json_of(app.get(&bob, "/api/friends/").await).await["count"],
        0
    );
    let counts = [&alice, &bob].map(|u| app.get(u, "/api/users/me/"));
    for res in counts {
        assert_eq!(json_of(res.await).await["friend_count"], 0);
    }
    let pending = json_of(app.get(&carol, "/api/friends/request/").await).await;
    assert_eq!(pending["count"], 0);
    let cancelled = json_of(
        app.get(&carol, "/api/friends/request/?status=cancelled")
            .await,
    )
    .await;
    assert_eq!(cancelled["count"], 1);
    let res = app
        .post(&bob, "/api/friends/request/", json!({"receiver": alice.id}))
        .await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn concurrent_requests_between_two_users_make_exactly_one() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let a = app.register(&format!("a{i}")).await;
        let b = app.register(&format!("b{i}")).await;
        let (x, y) = tokio::join!(
            app.post(&a, "/api/friends/request/", json!({"receiver": b.id})),
            app.post(&b, "/api/friends/request/", json!({"receiver": a.id})),
        );
        let mut statuses = [x.status().as_u16(), y.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 400], "pair {i}");
        let pending = json_of(app.get(&a, "/api/friends/request/").await).await;
        assert_eq!(pending["count"], 1, "pair {i}");
    }
}

#[tokio::test]
async fn an_accept_racing_a_block_never_leaves_the_two_friends() {
    let app = TestApp::spawn().await;
    for i in 0..12 {
        let a = app.register(&format!("ra{i}")).await;
        let b = app.register(&format!("rb{i}")).await;
        let request = json_of(
            app.post(&a, "/api/friends/request/", json!({"receiver": b.id}))
                .await,
        )
        .await;
        let answer = paths::friend_request(&request["id"]);
        let block = paths::block(b.id);
        let (accepted, blocked) = tokio::join!(
            app.put(&b, &answer, json!({"action": "accept"})),
            app.post(&a, &block, json!({})),
        );
        assert_eq!(blocked.status(), 204, "pair {i}");
        assert!(
            [200, 400].contains(&accepted.status().as_u16()),
            "pair {i}: {}",
            accepted.status()
        );
        // Whichever came first, the block stands and they are not friends.
        let friends = json_of(app.get(&b, "/api/friends/").await).await;
        assert_eq!(friends["count"], 0, "pair {i}: {friends}");
        let me = json_of(app.get(&a, "/api/users/me/").await).await;
        assert_eq!(me["friend_count"], 0, "pair {i}: {me}");
    }
}

fn usernames(page: &serde_json::Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_friends_list_follows_every_change_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    for friend in [&bob, &carol, &dave] {
        app.befriend(&alice, friend).await;
    }
    let list = json_of(app.get(&alice, "/api/friends/").await).await;
    assert_eq!(usernames(&list), ["bob", "carol", "dave"]);
    assert_eq!(list["count"], 3);

    // A friend renames: the next page shows the new name, in its new place.
    let res = app
        .patch(
            &bob,
            "/api/users/me/",
            json!({"username": "zed", "first_name": "Z"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let list = json_of(app.get(&alice, "/api/friends/").await).await;
    assert_eq!(usernames(&list), ["carol", "dave", "zed"]);
    assert_eq!(list["results"][2]["first_name"], "Z");

    // Unfriending, being blocked and deactivating each take a friend off the list.
    assert_eq!(
        app.delete(&carol, &paths::friend(alice.id)).await.status(),
        204
    );
    let list = json_of(app.get(&alice, "/api/friends/?page_size=1").await).await;
    assert_eq!(usernames(&list), ["dave"]);
    assert_eq!(list["count"], 2);
    assert!(list["next"].as_str().unwrap().contains("page=2"));
    let res = app
        .request(
            reqwest::Method::DELETE,
            "/api/users/me/",
            Some(&dave.access),
            Some(json!({"password": crate::helpers::PASSWORD})),
        )
        .await;
    assert_eq!(res.status(), 204);
    let list = json_of(app.get(&alice, "/api/friends/").await).await;
    assert_eq!(usernames(&list), ["zed"]);
    assert_eq!(
        app.post(&bob, &paths::block(alice.id), json!({}))
            .await
            .status(),
        204
    );
    let list = json_of(app.get(&alice, "/api/friends/").await).await;
    assert_eq!(list["count"], 0);
    assert_eq!(app.get(&alice, "/api/friends/?page=2").await.status(), 404);

    // And a new friendship appears on both lists.
    app.befriend(&carol, &alice).await;
    let list = json_of(app.get(&alice, "/api/friends/").await).await;
    assert_eq!(usernames(&list), ["carol"]);
    let list = json_of(app.get(&carol, "/api/friends/").await).await;
    assert_eq!(usernames(&list), ["alice"]);
}

/// Past 500 friends the list is a walk of the friendships in username order: the same order and
/// totals as the list held in memory, following renames and deactivations at once.
#[tokio::test]
async fn a_list_of_hundreds_of_friends_pages_in_order_and_follows_changes() {
    use agora::seed::{Dataset, PASSWORD};
    let app = TestApp::spawn().await;
    let set = Dataset::scaled(0.03);
    assert!(set.hub_friends > 500, "{set:?}");
    agora::seed::run(&app.state, set).await.expect("seed");
    let hub = app.sign_in("u1", PASSWORD).await;
    let names = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|u| u["username"].as_str().expect("name").to_owned())
            .collect()
    };
    let first = json_of(app.get(&hub, "/api/friends/?page_size=100").await).await;
    assert_eq!(first["count"], set.hub_friends);
    let mut expected: Vec<String> = (2..set.hub_friends + 2).map(|i| format!("u{i}")).collect();
    expected.sort();
    assert_eq!(names(&first), expected[..100]);
    let last = json_of(app.get(&hub, "/api/friends/?page=last&page_size=100").await).await;
    let tail = set.hub_friends as usize % 100;
    let tail = if tail == 0 { 100 } else { tail };
    assert_eq!(names(&last), expected[expected.len() - tail..]);

    // The users list's last page is read from its far end, in the same order.
    let mut everyone: Vec<String> = (1..=set.users).map(|i| format!("u{i}")).collect();
    everyone.sort();
    let last_users = json_of(app.get(&hub, "/api/users/?page=last&page_size=100").await).await;
    assert_eq!(last_users["count"], set.users);
    let tail = set.users as usize % 100;
    let tail = if tail == 0 { 100 } else { tail };
    assert_eq!(names(&last_users), everyone[everyone.len() - tail..]);
    let middle = json_of(app.get(&hub, "/api/users/?page=16&page_size=100").await).await;
    assert_eq!(names(&middle), everyone[1500..1600]);

    // u2 (first by name after u10...) renames itself to the end of the alphabet.
    let u2 = app.sign_in("u2", PASSWORD).await;
    let res = app
        .patch(&u2, "/api/users/me/", json!({"username": "zz_renamed"}))
        .await;
    assert_eq!(res.status(), 200);
    let last = json_of(app.get(&hub, "/api/friends/?page=last&page_size=100").await).await;
    assert_eq!(names(&last).last().map(String::as_str), Some("zz_renamed"));
    // u3 closes its account: no longer listed nor counted.
    let u3 = app.sign_in("u3", PASSWORD).await;
    let res = app
        .request(
            reqwest::Method::DELETE,
            "/api/users/me/",
            Some(&u3.access),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status(), 204);
    let all = json_of(app.get(&hub, "/api/friends/?page_size=100").await).await;
    assert_eq!(all["count"], set.hub_friends - 1);
    assert!(!names(&all).contains(&"u3".to_owned()));
    // The offline list is the same walk (nobody is online); a search finds by the start.
    let offline = json_of(
        app.get(&hub, "/api/friends/?online=false&page_size=100")
            .await,
    )
    .await;
    assert_eq!(offline["count"], set.hub_friends - 1);
    assert_eq!(names(&offline), names(&all));
    let found = json_of(app.get(&hub, "/api/friends/?search=ZZ_ren").await).await;
    assert_eq!(names(&found), ["zz_renamed"]);
}
