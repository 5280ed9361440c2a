//! The holes an attack on chat, groups, media and accounts found (issue 16), each tried again
//! through the front door: blocks that reach existing rooms and every notification, bounded
//! images, fair socket slots, links no client can forge, races on roles and quotas, and the
//! account rules of login and registration.

use serde_json::{Value, json};

use crate::chat::{direct, send};
use crate::groups;
use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::media::{fetch, png, upload};
use crate::paths;

async fn block(app: &TestApp, by: &TestUser, whom: &TestUser) {
    let res = app.post(by, &paths::block(whom.id), json!({})).await;
    assert_eq!(res.status(), 204);
}

/// A friend request from `from` to `to`, used as a marker: `to`'s socket gets its
/// `notification` after anything published to it before.
async fn marker(app: &TestApp, from: &TestUser, to: &TestUser) {
    app.request_friend(from, to).await;
}

fn member<'a>(room: &'a Value, user: &TestUser) -> &'a Value {
    room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == user.id)
        .map(|m| &m["user"])
        .unwrap()
}

#[tokio::test]
async fn a_block_closes_an_existing_direct_room_to_every_write_both_ways() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.patch(&alice, "/api/users/me/", json!({"first_name": "Alice"}))
        .await;
    let room = direct(&app, &bob, &alice).await["id"].as_i64().unwrap();
    let (status, old) = send(&app, &bob, room, json!({"body": "hi"})).await;
    assert_eq!(status, 201, "{old}");
    let mut alice_ws = app.ws(&alice).await;
    let mut bob_ws = app.ws(&bob).await;

    block(&app, &alice, &bob).await;

    // Opening the room again, sending, editing: refused.
    let res = app
        .post(&bob, "/api/chat/direct/", json!({"user_id": alice.id}))
        .await;
    assert_eq!(res.status(), 403);
    let (status, _) = send(&app, &bob, room, json!({"body": "still there?"})).await;
    assert_eq!(status, 403);
    let res = app
        .patch(&bob, &paths::message(&old["id"]), json!({"body": "edited"}))
        .await;
    assert_eq!(res.status(), 403);
    // Over the socket: an error frame each, and the socket stays open.
    bob_ws
        .send(json!({"type": "chat_message", "data": {"room": room, "body": "ws", "client_id": "b-1"}}))
        .await;
    let err = bob_ws.next_event("error").await;
    assert_eq!(err["code"], "permission_denied", "{err}");
    assert_eq!(err["client_id"], "b-1");
    bob_ws
        .send(json!({"type": "typing", "data": {"room": room, "is_typing": true}}))
        .await;
    assert_eq!(
        bob_ws.next_event("error").await["code"],
        "permission_denied"
    );
    // Marking read still works for bob, but alice is not told.
    let res = app
        .post(
            &bob,
            &paths::room_read(room),
            json!({"message_id": old["id"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // The blocker cannot write either.
    let (status, _) = send(&app, &alice, room, json!({"body": "bye"})).await;
    assert_eq!(status, 403);

    // Nothing of bob's reached alice: the first event after the marker's is the marker.
    marker(&app, &carol, &alice).await;
    let note = alice_ws.next_event("notification").await;
    assert_eq!(note["type"], "friend_request", "{note}");
    alice_ws.next_event("friend_request").await;

    // Bob still sees the room and its history, but alice only as an id and a username.
    let (status, seen) = status_body(app.get(&bob, &paths::room(room)).await).await;
    assert_eq!(status, 200, "{seen}");
    let brief = member(&seen, &alice);
    assert_eq!(brief["username"], "alice");
    assert_eq!(brief["first_name"], "");
    assert_eq!(brief["avatar"], Value::Null);
    let (status, _) = status_body(app.get(&bob, &paths::room_messages(room)).await).await;
    assert_eq!(status, 200);

    // Lifting the block opens the room again, on every instance's caches.
    let res = app.delete(&alice, &paths::block(bob.id)).await;
    assert_eq!(res.status(), 204);
    let (status, body) = send(&app, &bob, room, json!({"body": "back"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(alice_ws.next_event("chat_message").await["body"], "back");
    let seen = json_of(app.get(&bob, &paths::room(room)).await).await;
    assert_eq!(member(&seen, &alice)["first_name"], "Alice");
}

#[tokio::test]
async fn narrowing_allow_messages_from_closes_an_existing_direct_room_to_strangers() {
    let app = TestApp::spawn().await;
    let dave = app.register("dave").await;
    let erin = app.register("erin").await;
    let room = direct(&app, &dave, &erin).await["id"].as_i64().unwrap();
    let res = app
        .patch(
            &erin,
            "/api/users/me/",
            json!({"profile": {"allow_messages_from": "friends"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (status, _) = send(&app, &dave, room, json!({"body": "hello?"})).await;
    assert_eq!(status, 403);
    let res = app
        .post(&dave, "/api/chat/direct/", json!({"user_id": erin.id}))
        .await;
    assert_eq!(res.status(), 403);
    // Erin may still write to dave, who takes messages from everyone.
    let (status, _) = send(&app, &erin, room, json!({"body": "hi dave"})).await;
    assert_eq!(status, 201);
    // Once friends, dave may write again.
    app.befriend(&dave, &erin).await;
    let (status, _) = send(&app, &dave, room, json!({"body": "friends now"})).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn no_notification_crosses_a_block_whatever_its_path() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let pest = app.register("pest").await;
    let friend = app.register("friend").await;
    // A join request to the blocker's private group notifies no one.
    let closed = groups::private(&app, &owner, "Closed").await;
    block(&app, &owner, &pest).await;
    let (status, body) = groups::join(&app, &pest, &closed).await;
    assert_eq!(status, 202, "{body}");
    assert!(
        groups::notifications_of(&app, &owner, "group_join_request")
            .await
            .is_empty()
    );
    // A mention in a shared group room notifies no one across the block, either way.
    let open = groups::public(&app, &friend, "Open").await;
    groups::joined(&app, &owner, &open).await;
    groups::joined(&app, &pest, &open).await;
    let room = open["room"].as_i64().unwrap();
    let (status, _) = send(&app, &pest, room, json!({"body": "hey @owner and @friend"})).await;
    assert_eq!(status, 201);
    let (status, _) = send(&app, &owner, room, json!({"body": "@pest @friend"})).await;
    assert_eq!(status, 201);
    assert!(
        groups::notifications_of(&app, &owner, "mention")
            .await
            .is_empty()
    );
    assert!(
        groups::notifications_of(&app, &pest, "mention")
            .await
            .is_empty()
    );
    assert_eq!(
        groups::notifications_of(&app, &friend, "mention")
            .await
            .len(),
        2
    );
}

/// A request by `user` that claims to be for `evil.example`.
async fn forged_host(app: &TestApp, user: &TestUser, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(path))
        .header("host", "evil.example")
        .bearer_auth(&user.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_body(res).await
}

/// A signed media link fit to be delivered to someone else: relative to the server (no
/// `AGORA_PUBLIC_URL` here), never on the sender's `Host`, and working.
async fn assert_safe_link(app: &TestApp, link: &Value) {
    let link = link.as_str().unwrap();
    assert!(link.starts_with("/api/media/"), "{link}");
    assert_eq!(fetch(app, link).await.status(), 200, "{link}");
}

#[tokio::test]
async fn links_delivered_to_others_never_come_from_the_senders_host_header() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    let avatar = upload(&app, &alice, png(8, 8), "a.png").await;
    let res = app
        .patch(&alice, "/api/users/me/", json!({"avatar": avatar["id"]}))
        .await;
    assert_eq!(res.status(), 200);
    let photo = upload(&app, &alice, png(8, 8), "p.png").await;
    let room = direct(&app, &alice, &bob).await["id"].as_i64().unwrap();
    let mut bob_ws = app.ws(&bob).await;
    let mut carol_ws = app.ws(&carol).await;

    let (status, sent) = forged_host(
        &app,
        &alice,
        &paths::room_messages(room),
        json!({"body": "look", "attachments": [photo["id"]]}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    // Alice's own answer is built for her request, as DRF builds absolute links.
    assert!(
        sent["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://evil.example/")
    );
    let got = bob_ws.next_event("chat_message").await;
    assert_safe_link(&app, &got["attachments"][0]["url"]).await;
    assert_safe_link(&app, &got["sender"]["avatar"]).await;

    // A friend request and its notification: alice's brief as carol receives it.
    let (status, _) = forged_host(
        &app,
        &alice,
        "/api/friends/request/",
        json!({"receiver": carol.id}),
    )
    .await;
    assert_eq!(status, 201);
    let note = carol_ws.next_event("notification").await;
    assert_safe_link(&app, &note["sender"]["avatar"]).await;
    let request = carol_ws.next_event("friend_request").await;
    assert_safe_link(&app, &request["friend_request"]["sender"]["avatar"]).await;

    // A room's announcement to its members.
    let (status, _) = forged_host(
        &app,
        &alice,
        "/api/chat/rooms/",
        json!({"name": "trip", "member_ids": [bob.id]}),
    )
    .await;
    assert_eq!(status, 201);
    let announced = bob_ws.next_event("room_updated").await;
    assert_safe_link(&app, &member(&announced, &alice)["avatar"]).await;
}

#[tokio::test]
async fn racing_role_changes_leave_every_group_exactly_one_owner() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let admin = app.register("admin").await;
    let m1 = app.register("m1").await;
    let m2 = app.register("m2").await;
    for round in 0..4 {
        let group = groups::public(&app, &owner, &format!("race {round}")).await;
        for user in [&admin, &m1, &m2] {
            groups::joined(&app, user, &group).await;
        }
        assert_eq!(
            groups::set_role(&app, &owner, &group, &admin, "admin").await,
            200
        );
        // The owner hands the group to m1 and to m2 while the admin removes m1.
        let (to_m1, removed, to_m2) = tokio::join!(
            groups::transfer(&app, &owner, &group, m1.id),
            groups::remove(&app, &admin, &group, &m1),
            groups::transfer(&app, &owner, &group, m2.id),
        );
        let members = groups::group_members(&app, &admin, &group).await;
        let owners: Vec<i64> = members
            .iter()
            .filter(|(_, role)| *role == "owner")
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            owners.len(),
            1,
            "round {round}: {members:?} after {to_m1:?} {removed:?} {to_m2:?}"
        );
        // Exactly one of the two transfers happened, and the owner is someone still there.
        assert_eq!(
            [to_m1.0, to_m2.0].iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {to_m1:?} {to_m2:?}"
        );
        let detail = json_of(app.get(&admin, &groups::path(&group, "")).await).await;
        assert_eq!(detail["owner"]["id"], owners[0], "{detail}");
    }
}

#[tokio::test]
async fn failed_logins_lock_the_account_whichever_identifier_is_typed() {
    let app = TestApp::spawn_with(|s| s.login_failures_per_username = 3).await;
    app.register("lockme").await;
    app.register("other").await;
    assert_eq!(app.login("lockme", "wrong-password").await.status(), 401);
    assert_eq!(
        app.login("LOCKME@example.com", "wrong-password")
            .await
            .status(),
        401
    );
    assert_eq!(app.login("LockMe", "wrong-password").await.status(), 401);
    // Locked, through the username and through the email, in any case.
    for login in ["lockme", "LockMe@Example.com", "lockme@example.com"] {
        assert_eq!(
            app.login(login, crate::helpers::PASSWORD).await.status(),
            429,
            "{login}"
        );
    }
    // Another account is not.
    assert_eq!(
        app.login("other@example.com", crate::helpers::PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_username_cannot_be_someone_elses_email_nor_the_reverse() {
    let app = TestApp::spawn().await;
    let victim = app.register("victim").await;
    let register = |username: &str, email: &str| {
        app.post_anon(
            "/api/auth/register/",
            json!({"username": username, "email": email, "password": crate::helpers::PASSWORD}),
        )
    };
    // A squatter's username equal to the victim's email (in any case) is refused.
    let (status, body) =
        status_body(register("Victim@Example.com", "squat@example.com").await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["username"].is_array(), "{body}");
    // An email equal to someone's username (which may hold `@`) is refused too.
    let res = register("mail@example.org", "mail-owner@example.com").await;
    assert_eq!(res.status(), 201);
    let (status, body) = status_body(register("someone", "MAIL@example.org").await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["email"].is_array(), "{body}");
    // The same rules on a profile change.
    let res = app
        .patch(
            &victim,
            "/api/users/me/",
            json!({"username": "mail-owner@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    // The victim still logs in by email, as themself.
    let login = json_of(
        app.login("victim@example.com", crate::helpers::PASSWORD)
            .await,
    )
    .await;
    assert_eq!(login["user"]["id"], victim.id);
    // A user may have their own email as their username.
    let (status, body) = status_body(register("self@example.com", "self@example.com").await).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_query_token_opens_only_the_websocket_and_never_reaches_a_link() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.register("bob").await;
    let with_query = |path: &str| format!("{}{path}token={}", app.base, alice.access);
    let res = app
        .client
        .get(with_query("/api/users/me/?"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .post(with_query("/api/friends/request/?"))
        .json(&json!({"receiver": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The WebSocket upgrade still takes it.
    app.ws(&alice).await;
    // A token in the query of an authenticated request is not copied into its links.
    let page = json_of(
        app.client
            .get(with_query("/api/users/?page_size=1&"))
            .bearer_auth(&alice.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let next = page["next"].as_str().unwrap();
    assert!(!next.contains("token"), "{next}");
}

#[tokio::test]
async fn a_friend_request_racing_a_block_never_outlives_it() {
    let app = TestApp::spawn().await;
    for pair in 0..12 {
        let blocker = app.register(&format!("blocker{pair}")).await;
        let pest = app.register(&format!("pest{pair}")).await;
        let block_path = paths::block(pest.id);
        let (blocked, requested) = tokio::join!(
            app.post(&blocker, &block_path, json!({})),
            app.post(
                &pest,
                "/api/friends/request/",
                json!({"receiver": blocker.id})
            ),
        );
        assert_eq!(blocked.status(), 204);
        assert!(
            [201, 403].contains(&requested.status().as_u16()),
            "{}",
            requested.status()
        );
        let pending = json_of(
            app.get(&blocker, "/api/friends/request/?direction=incoming")
                .await,
        )
        .await;
        assert_eq!(pending["count"], 0, "pair {pair}: {pending}");
    }
}
