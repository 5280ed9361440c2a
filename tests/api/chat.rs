//! Chat through the front door: rooms, members, messages, history, receipts, mentions, and
//! the chat frames of the WebSocket.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;

pub(crate) async fn group(
    app: &TestApp,
    owner: &TestUser,
    name: &str,
    members: &[&TestUser],
) -> Value {
    let ids: Vec<i64> = members.iter().map(|u| u.id).collect();
    let (status, body) = status_body(
        app.post(
            owner,
            "/api/chat/rooms/",
            json!({"name": name, "member_ids": ids}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

pub(crate) async fn send(app: &TestApp, user: &TestUser, room: i64, body: Value) -> (u16, Value) {
    status_body(app.post(user, &paths::room_messages(room), body).await).await
}

pub(crate) async fn say(app: &TestApp, user: &TestUser, room: i64, text: &str) -> Value {
    let (status, body) = send(app, user, room, json!({"body": text})).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// The direct room of `a` and `b`, opened by `a`.
pub(crate) async fn direct(app: &TestApp, a: &TestUser, b: &TestUser) -> Value {
    let res = app
        .post(a, "/api/chat/direct/", json!({"user_id": b.id}))
        .await;
    assert!(res.status().is_success());
    json_of(res).await
}

fn role_of(room: &Value, user: &TestUser) -> String {
    room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == user.id)
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_direct_room_is_one_per_pair_and_obeys_blocks_and_message_policy() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;

    let (status, room) = status_body(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": bob.id}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(room["type"], "direct");
    assert_eq!(room["members"].as_array().unwrap().len(), 2);
    assert_eq!(role_of(&room, &alice), "member");
    let (status, again) = status_body(
        app.post(&bob, "/api/chat/direct/", json!({"user_id": alice.id}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], room["id"]);

    let (status, body) = status_body(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": alice.id}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["user_id"].is_array());
    let (status, body) = status_body(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": 999_999}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["user_id"].is_array());
    let (status, body) = status_body(app.post(&alice, "/api/chat/direct/", json!({})).await).await;
    assert_eq!(
        (status, body["user_id"][0].as_str()),
        (400, Some("This field is required."))
    );

    // Carol takes messages from friends only; then she blocks Alice outright.
    let res = app
        .patch(
            &carol,
            "/api/users/me/",
            json!({"profile": {"allow_messages_from": "friends"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post(&alice, "/api/chat/direct/", json!({"user_id": carol.id}))
        .await;
    assert_eq!(res.status(), 403);
    app.befriend(&alice, &carol).await;
    let res = app
        .post(&alice, "/api/chat/direct/", json!({"user_id": carol.id}))
        .await;
    assert_eq!(res.status(), 201);
    let dave = app.register("dave").await;
    app.post(&dave, &paths::block(alice.id), json!({})).await;
    let res = app
        .post(&alice, "/api/chat/direct/", json!({"user_id": dave.id}))
        .await;
    assert_eq!(res.status(), 403);

    // A direct room is fixed: no rename, no new members, no leaving, no removing.
    let id = room["id"].as_i64().unwrap();
    let res = app
        .patch(&alice, &paths::room(id), json!({"name": "x"}))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post(
            &alice,
            &paths::room_members(id),
            json!({"user_ids": [carol.id]}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app.delete(&alice, &paths::room_member(id, alice.id)).await;
    assert_eq!(res.status(), 400);
    let res = app.delete(&alice, &paths::room_member(id, bob.id)).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn group_rooms_have_owners_admins_and_members_and_take_friends_only() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let stranger = app.register("stranger").await;
    app.befriend(&owner, &bob).await;
    app.befriend(&owner, &carol).await;

    let res = app
        .post(
            &owner,
            "/api/chat/rooms/",
            json!({"name": "x", "member_ids": [stranger.id]}),
        )
        .await;
    let (status, body) = status_body(res).await;
    assert_eq!(status, 400);
    assert!(body["member_ids"].is_array(), "{body}");
    let (status, body) = status_body(
        app.post(&owner, "/api/chat/rooms/", json!({"name": "  "}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["name"].is_array());

    let room = group(&app, &owner, " Hike ", &[&bob]).await;
    assert_eq!(room["name"], "Hike");
    assert_eq!(room["type"], "group");
    assert_eq!(role_of(&room, &owner), "owner");
    assert_eq!(role_of(&room, &bob), "member");
    let id = room["id"].as_i64().unwrap();

    // A member can neither rename nor add; the owner can, friends only.
    let res = app
        .patch(&bob, &paths::room(id), json!({"name": "Mine"}))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .patch(&owner, &paths::room(id), json!({"name": "Hike 2"}))
        .await;
    assert_eq!(json_of(res).await["name"], "Hike 2");
    let res = app
        .post(
            &owner,
            &paths::room_members(id),
            json!({"user_ids": [stranger.id]}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .post(
            &bob,
            &paths::room_members(id),
            json!({"user_ids": [carol.id]}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .post(
            &owner,
            &paths::room_members(id),
            json!({"user_ids": [carol.id]}),
        )
        .await;
    let (status, room) = status_body(res).await;
    assert_eq!(status, 200);
    assert_eq!(role_of(&room, &carol), "member");

    // Members cannot remove each other; the owner can; anyone can leave.
    let res = app.delete(&bob, &paths::room_member(id, carol.id)).await;
    assert_eq!(res.status(), 403);
    let res = app.delete(&owner, &paths::room_member(id, carol.id)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.get(&carol, &paths::room(id)).await.status(), 404);
    // The owner leaves: the room passes to the longest-standing member.
    let res = app.delete(&owner, &paths::room_member(id, owner.id)).await;
    assert_eq!(res.status(), 204);
    let room = json_of(app.get(&bob, &paths::room(id)).await).await;
    assert_eq!(role_of(&room, &bob), "owner");
    assert_eq!(room["members"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_non_member_gets_404_for_the_room_and_everything_in_it() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let room = direct(&app, &alice, &bob).await;
    let id = room["id"].as_i64().unwrap();
    let message = say(&app, &alice, id, "secret").await;
    let mid = message["id"].as_i64().unwrap();

    assert_eq!(app.get(&eve, &paths::room(id)).await.status(), 404);
    assert_eq!(app.get(&eve, &paths::room_messages(id)).await.status(), 404);
    assert_eq!(send(&app, &eve, id, json!({"body": "hi"})).await.0, 404);
    // Even an invalid body: the room's existence is not revealed by a field error.
    assert_eq!(send(&app, &eve, id, json!({"body": ""})).await.0, 404);
    let res = app
        .post(&eve, &paths::room_read(id), json!({"message_id": mid}))
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .put(&eve, &paths::room_mute(id), json!({"until": null}))
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .patch(&eve, &paths::message(mid), json!({"body": "x"}))
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.delete(&eve, &paths::message(mid)).await.status(), 404);
    // Invalid input from an outsider is still a 404: nothing about the room leaks.
    for (path, body) in [
        (paths::message(mid), json!({"body": ""})),
        (paths::room(id), json!({"name": ""})),
    ] {
        assert_eq!(app.patch(&eve, &path, body).await.status(), 404, "{path}");
    }
    let res = app.post(&eve, &paths::room_members(id), json!({})).await;
    assert_eq!(res.status(), 404);
    let res = app.post(&eve, &paths::room_read(id), json!({})).await;
    assert_eq!(res.status(), 404);
    let rooms = json_of(app.get(&eve, "/api/chat/rooms/").await).await;
    assert_eq!(rooms["count"], 0);
}

#[tokio::test]
async fn messages_are_validated_idempotent_edited_and_deleted_as_tombstones() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;
    let room = group(&app, &alice, "g", &[&bob]).await;
    let id = room["id"].as_i64().unwrap();
    let other = group(&app, &alice, "other", &[]).await;

    for (body, field) in [
        (json!({"body": "   "}), "body"),
        (json!({}), "body"),
        (json!({"body": "x".repeat(4001)}), "body"),
        (json!({"body": "x", "attachments": [1]}), "attachments"),
        (
            json!({"body": "x", "client_id": "c".repeat(65)}),
            "client_id",
        ),
        (json!({"body": 5}), "body"),
    ] {
        let (status, err) = send(&app, &alice, id, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(err[field].is_array(), "{body}: {err}");
    }
    let foreign = say(&app, &alice, other["id"].as_i64().unwrap(), "elsewhere").await;
    let (status, err) = send(
        &app,
        &alice,
        id,
        json!({"body": "re", "reply_to": foreign["id"]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["reply_to"].is_array());

    let (status, first) = send(
        &app,
        &alice,
        id,
        json!({"body": " hello ", "client_id": "c-1"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(first["body"], "hello");
    assert_eq!(first["sender"]["id"], alice.id);
    assert_eq!(first["attachments"], json!([]));
    assert_eq!(first["deleted"], false);
    let (status, repeat) = send(
        &app,
        &alice,
        id,
        json!({"body": "changed", "client_id": "c-1"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(repeat["id"], first["id"]);
    assert_eq!(repeat["body"], "hello");
    let page = json_of(app.get(&alice, &paths::room_messages(id)).await).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1);

    let reply = say(&app, &bob, id, "hi back").await;
    let (status, r) = send(
        &app,
        &bob,
        id,
        json!({"body": "quoting", "reply_to": first["id"]}),
    )
    .await;
    assert_eq!((status, &r["reply_to"]), (201, &first["id"]));

    let mid = first["id"].as_i64().unwrap();
    let res = app
        .patch(&bob, &paths::message(mid), json!({"body": "hacked"}))
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .patch(&alice, &paths::message(mid), json!({"body": "hello!"}))
        .await;
    let edited = json_of(res).await;
    assert_eq!(edited["body"], "hello!");
    assert!(edited["edited_at"].is_string());

    // Bob deletes his own; Alice, the owner, deletes Bob's other one; Bob cannot delete hers.
    let rid = reply["id"].as_i64().unwrap();
    assert_eq!(app.delete(&bob, &paths::message(mid)).await.status(), 403);
    assert_eq!(app.delete(&bob, &paths::message(rid)).await.status(), 204);
    let quoting = r["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&alice, &paths::message(quoting)).await.status(),
        204
    );
    let page = json_of(app.get(&alice, &paths::room_messages(id)).await).await;
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "tombstones keep their place");
    assert_eq!(results[1]["deleted"], true);
    assert_eq!(results[1]["body"], "");
    assert_eq!(results[1]["attachments"], json!([]));
    let res = app
        .patch(&bob, &paths::message(rid), json!({"body": "back"}))
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn history_pages_back_and_forth_and_after_is_a_complete_catch_up() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = direct(&app, &alice, &bob).await;
    let id = room["id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(
            say(&app, &alice, id, &format!("m{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids grow in commit order"
    );

    let latest = json_of(app.get(&bob, &paths::room_messages(id)).await).await;
    let results = latest["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    assert_eq!(results[49]["body"], "m119");
    assert_eq!(results[0]["body"], "m70");
    assert!(latest["next"].is_null());
    let previous = latest["previous"].as_str().unwrap();
    assert!(
        previous.ends_with(&format!("?before={}", ids[70])),
        "{previous}"
    );
    let older = json_of(
        app.client
            .get(previous)
            .bearer_auth(&bob.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(older["results"][0]["body"], "m20");
    assert!(older["next"].as_str().unwrap().contains("after="));

    // Catch-up from the 10th message: everything after it, in order, exactly once.
    let mut seen = Vec::new();
    let mut url = format!("/api/chat/rooms/{id}/messages/?after={}&limit=100", ids[9]);
    loop {
        let page = json_of(app.get(&bob, &url).await).await;
        seen.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => url = next.trim_start_matches(&app.base).to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ids[10..]);

    for bad in ["before=x", "after=-1", "limit=abc", "before=1&after=2"] {
        let res = app
            .get(&bob, &format!("/api/chat/rooms/{id}/messages/?{bad}"))
            .await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    let page = json_of(
        app.get(&bob, &format!("/api/chat/rooms/{id}/messages/?limit=1000"))
            .await,
    )
    .await;
    assert_eq!(page["results"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn read_markers_move_forward_and_rooms_list_by_activity_with_unread_counts() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let with_bob = direct(&app, &alice, &bob).await;
    let with_carol = direct(&app, &alice, &carol).await;
    let (b, c) = (
        with_bob["id"].as_i64().unwrap(),
        with_carol["id"].as_i64().unwrap(),
    );
    let m1 = say(&app, &bob, b, "one").await["id"].as_i64().unwrap();
    let m2 = say(&app, &bob, b, "two").await["id"].as_i64().unwrap();
    say(&app, &carol, c, "hey").await;

    let rooms = json_of(app.get(&alice, "/api/chat/rooms/").await).await;
    let list = rooms["results"].as_array().unwrap();
    assert_eq!(list[0]["id"], c, "most recent activity first");
    assert_eq!(list[0]["last_message"]["body"], "hey");
    assert_eq!(list[0]["unread_count"], 1);
    assert_eq!(list[1]["unread_count"], 2);
    assert_eq!(list[1]["last_message"]["body"], "two");

    let read_path = paths::room_read(b);
    let read = |mid: i64| app.post(&alice, &read_path, json!({"message_id": mid}));
    let marker = json_of(read(m2).await).await;
    assert_eq!(
        marker,
        json!({"last_read_message_id": m2, "unread_count": 0})
    );
    let marker = json_of(read(m1).await).await;
    assert_eq!(
        marker["last_read_message_id"], m2,
        "markers only move forward"
    );
    let res = app
        .post(&alice, &paths::room_read(b), json!({"message_id": 999_999}))
        .await;
    assert_eq!(res.status(), 400);
    // Her own messages never count as unread for her.
    say(&app, &alice, b, "mine").await;
    let room = json_of(app.get(&alice, &paths::room(b)).await).await;
    assert_eq!(room["unread_count"], 0);
    let room = json_of(app.get(&bob, &paths::room(b)).await).await;
    assert_eq!(room["unread_count"], 1);

    let until = "2099-01-01T00:00:00Z";
    let res = app
        .put(&alice, &paths::room_mute(b), json!({"until": until}))
        .await;
    let room = json_of(res).await;
    assert!(
        room["muted_until"]
            .as_str()
            .unwrap()
            .starts_with("2099-01-01T00:00:00")
    );
    let res = app
        .put(&alice, &paths::room_mute(b), json!({"until": null}))
        .await;
    assert!(json_of(res).await["muted_until"].is_null());
}

#[tokio::test]
async fn mentions_notify_members_unless_they_muted_the_room() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let outsider = app.register("dave").await;
    app.befriend(&alice, &bob).await;
    app.befriend(&alice, &carol).await;
    let room = group(&app, &alice, "g", &[&bob, &carol]).await;
    let id = room["id"].as_i64().unwrap();
    app.put(
        &carol,
        &paths::room_mute(id),
        json!({"until": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let message = say(&app, &alice, id, "@Bob, @carol and @dave: lunch?").await;

    let mentions = |user: &TestUser| {
        let user = user.clone();
        let app = &app;
        async move { json_of(app.get(&user, "/api/notifications/?type=mention").await).await }
    };
    let bob_n = mentions(&bob).await;
    assert_eq!(bob_n["count"], 1);
    assert_eq!(bob_n["results"][0]["sender"]["id"], alice.id);
    assert_eq!(bob_n["results"][0]["data"]["message_id"], message["id"]);
    assert_eq!(mentions(&carol).await["count"], 0, "muted");
    assert_eq!(mentions(&outsider).await["count"], 0, "not a member");
    // Unmuted, carol is mentioned; an email address ending in her name mentions no one.
    app.put(&carol, &paths::room_mute(id), json!({"until": null}))
        .await;
    say(&app, &bob, id, "write to alice@carol").await;
    assert_eq!(mentions(&carol).await["count"], 0, "an address");
    say(&app, &bob, id, "(@carol)").await;
    assert_eq!(mentions(&carol).await["count"], 1);
}

#[tokio::test]
async fn the_websocket_sends_acks_delivers_to_every_device_and_carries_receipts_and_typing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = direct(&app, &alice, &bob).await;
    let id = room["id"].as_i64().unwrap();
    let mut alice_ws = app.ws(&alice).await;
    let mut alice_phone = app.ws(&alice).await;
    let mut bob_ws = app.ws(&bob).await;

    alice_ws
        .send(json!({"type": "chat_message", "data": {"room": id, "body": "over ws", "client_id": "w-1"}}))
        .await;
    let ack = alice_ws.next_event("ack").await;
    assert_eq!(ack["client_id"], "w-1");
    assert_eq!(ack["message"]["body"], "over ws");
    let mid = ack["message"]["id"].clone();
    assert_eq!(bob_ws.next_event("chat_message").await["id"], mid);
    assert_eq!(alice_phone.next_event("chat_message").await["id"], mid);
    assert_eq!(alice_ws.next_event("chat_message").await["id"], mid);

    // The same client_id again is the same message, over WebSocket as over REST.
    alice_ws
        .send(json!({"type": "chat_message", "data": {"room": id, "body": "dup", "client_id": "w-1"}}))
        .await;
    assert_eq!(alice_ws.next_event("ack").await["message"]["id"], mid);
    let (status, again) = send(&app, &alice, id, json!({"body": "dup", "client_id": "w-1"})).await;
    assert_eq!((status, &again["id"]), (200, &mid));

    // The same validation as REST, with the client_id in the error.
    alice_ws
        .send(
            json!({"type": "chat_message", "data": {"room": id, "body": "  ", "client_id": "w-2"}}),
        )
        .await;
    let err = alice_ws.next_event("error").await;
    assert_eq!(err["client_id"], "w-2");
    assert_eq!(err["code"], "invalid");
    assert!(err["detail"].as_str().unwrap().contains("body"));
    alice_ws
        .send(json!({"type": "chat_message", "data": {"room": 999_999, "body": "x", "client_id": "w-3"}}))
        .await;
    let err = alice_ws.next_event("error").await;
    assert_eq!(
        (err["code"].as_str(), err["client_id"].as_str()),
        (Some("not_found"), Some("w-3"))
    );

    bob_ws
        .send(json!({"type": "typing", "data": {"room": id, "is_typing": true}}))
        .await;
    let typing = alice_ws.next_event("typing").await;
    assert_eq!(
        typing,
        json!({"room": id, "user_id": bob.id, "is_typing": true})
    );

    bob_ws
        .send(json!({"type": "read", "data": {"room": id, "message_id": mid}}))
        .await;
    let receipt = alice_ws.next_event("message_read").await;
    assert_eq!(
        receipt,
        json!({"room": id, "user_id": bob.id, "message_id": mid})
    );
    // His own devices hear of it too, so they clear their unread badge.
    assert_eq!(bob_ws.next_event("message_read").await["user_id"], bob.id);
    let room = json_of(app.get(&bob, &paths::room(id)).await).await;
    assert_eq!(room["unread_count"], 0);

    // Edits and deletes reach the room too.
    let res = app
        .patch(&alice, &paths::message(&mid), json!({"body": "edited"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(bob_ws.next_event("message_updated").await["body"], "edited");
    app.delete(&alice, &paths::message(&mid)).await;
    assert_eq!(
        bob_ws.next_event("message_deleted").await,
        json!({"id": mid, "room": id})
    );
}

#[tokio::test]
async fn room_events_tell_members_who_joined_and_left() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    app.befriend(&alice, &carol).await;
    let mut bob_ws = app.ws(&bob).await;
    // Alice, a friend of both, may see Bob online; the event Carol would get must not carry that.
    let room = group(&app, &alice, "g", &[&bob]).await;
    let id = room["id"].as_i64().unwrap();
    assert_eq!(role_of(&room, &bob), "member");
    let bob_in_room = room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == bob.id)
        .cloned()
        .unwrap();
    assert_eq!(
        bob_in_room["user"]["is_online"], true,
        "the creator's own view shows presence"
    );
    let event = bob_ws.next_event("room_updated").await;
    assert_eq!(event["id"], id);
    for m in event["members"].as_array().unwrap() {
        assert!(
            m["user"]["is_online"].is_null(),
            "presence leaked into a room event: {event}"
        );
    }
    app.post(
        &alice,
        &paths::room_members(id),
        json!({"user_ids": [carol.id]}),
    )
    .await;
    assert_eq!(
        bob_ws.next_event("member_joined").await,
        json!({"room": id, "user_id": carol.id})
    );
    app.patch(&alice, &paths::room(id), json!({"name": "renamed"}))
        .await;
    assert_eq!(bob_ws.next_event("room_updated").await["name"], "renamed");
    app.delete(&carol, &paths::room_member(id, carol.id)).await;
    assert_eq!(
        bob_ws.next_event("member_left").await,
        json!({"room": id, "user_id": carol.id})
    );
}

#[tokio::test]
async fn sending_too_fast_is_throttled_over_rest_and_websocket_and_nothing_is_stored() {
    let app = TestApp::spawn_with(|s| {
        s.chat_rate_per_second = 1;
        s.chat_burst = 3;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = direct(&app, &alice, &bob).await;
    let id = room["id"].as_i64().unwrap();
    for i in 0..3 {
        say(&app, &alice, id, &format!("m{i}")).await;
    }
    let res = app
        .post(&alice, &paths::room_messages(id), json!({"body": "x"}))
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let mut ws = app.ws(&alice).await;
    ws.send(json!({"type": "chat_message", "data": {"room": id, "body": "y", "client_id": "t-1"}}))
        .await;
    let err = ws.next_event("error").await;
    assert_eq!(
        (err["code"].as_str(), err["client_id"].as_str()),
        (Some("throttled"), Some("t-1"))
    );
    let page = json_of(app.get(&alice, &paths::room_messages(id)).await).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 3);
    // Bob has a budget of his own.
    say(&app, &bob, id, "mine").await;
}

#[tokio::test]
async fn a_page_of_rooms_costs_the_same_queries_whatever_its_size() {
    use std::sync::atomic::Ordering;
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for i in 0..20 {
        let friend = app.register(&format!("f{i:02}")).await;
        app.befriend(&alice, &friend).await;
        let room = group(&app, &alice, &format!("r{i}"), &[&friend]).await;
        say(&app, &friend, room["id"].as_i64().unwrap(), "hello").await;
    }
    app.get(&alice, "/api/users/me/").await;
    let mut counts = Vec::new();
    for size in [1, 20] {
        let before = app.state.queries.load(Ordering::SeqCst);
        let res = app
            .get(&alice, &format!("/api/chat/rooms/?page=2&page_size={size}"))
            .await;
        let status = res.status();
        let body = json_of(res).await;
        counts.push(app.state.queries.load(Ordering::SeqCst) - before);
        if size == 20 {
            assert_eq!(status, 404, "page 2 of 20 rooms at 20 a page");
        } else {
            assert_eq!(body["results"][0]["unread_count"], 1);
        }
    }
    let before = app.state.queries.load(Ordering::SeqCst);
    let page = json_of(app.get(&alice, "/api/chat/rooms/?page_size=20").await).await;
    let twenty = app.state.queries.load(Ordering::SeqCst) - before;
    assert_eq!(page["results"].as_array().unwrap().len(), 20);
    assert!(
        twenty <= counts[0],
        "rooms: {} queries for one, {twenty} for twenty",
        counts[0]
    );
    // 8, and one for the reactions of the last messages.
    assert!(twenty <= 9, "{twenty} queries");
}

#[tokio::test]
async fn a_reader_following_after_never_skips_a_message_sent_concurrently() {
    let app = TestApp::spawn().await;
    let mut senders = Vec::new();
    let owner = app.register("owner").await;
    for i in 0..4 {
        let s = app.register(&format!("sender{i}")).await;
        app.befriend(&owner, &s).await;
        senders.push(s);
    }
    let refs: Vec<&TestUser> = senders.iter().collect();
    let room = group(&app, &owner, "busy", &refs).await;
    let id = room["id"].as_i64().unwrap();

    let sending = futures_util::future::join_all(senders.iter().map(|s| {
        let app = &app;
        async move {
            let mut ids = Vec::new();
            for n in 0..25 {
                let (status, m) = send(app, s, id, json!({"body": format!("{n}")})).await;
                assert_eq!(status, 201);
                ids.push(m["id"].as_i64().unwrap());
            }
            ids
        }
    }));
    let reading = async {
        let mut seen: Vec<i64> = Vec::new();
        let mut polls = 0;
        while seen.len() < 100 {
            let cursor = seen.last().copied().unwrap_or(0);
            let url = format!("/api/chat/rooms/{id}/messages/?after={cursor}&limit=100");
            let page = json_of(app.get(&owner, &url).await).await;
            seen.extend(
                page["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_i64().unwrap()),
            );
            polls += 1;
            assert!(polls < 10_000, "the reader never caught up");
            tokio::task::yield_now().await;
        }
        seen
    };
    let (sent, seen) = tokio::join!(sending, reading);
    let mut all: Vec<i64> = sent.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(seen, all, "every message exactly once, in id order");
}

/// A big room stays a small object: a Room shows its first 50 members and how many there are;
/// every member is listed, in join order, by `GET /api/chat/rooms/{id}/members/`.
#[tokio::test]
async fn a_room_shows_its_first_fifty_members_and_lists_them_all() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let mut members = Vec::new();
    for i in 0..54 {
        let user = app.register(&format!("member{i:02}")).await;
        app.befriend(&owner, &user).await;
        members.push(user);
    }
    let refs: Vec<&TestUser> = members.iter().collect();
    let room = group(&app, &owner, "crowd", &refs).await;
    let id = room["id"].as_i64().expect("id");
    assert_eq!(room["member_count"], 55);
    let shown = room["members"].as_array().expect("members");
    assert_eq!(shown.len(), 50);
    assert_eq!(shown[0]["user"]["id"], owner.id, "the first to join first");

    let last = &members[53];
    let seen = json_of(app.get(last, &paths::room(id)).await).await;
    assert_eq!(
        (
            seen["member_count"].clone(),
            seen["members"].as_array().map(Vec::len)
        ),
        (json!(55), Some(50))
    );
    // The last to join is not among those shown, yet sees their own mute.
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let res = app
        .put(last, &paths::room_mute(id), json!({"until": until}))
        .await;
    assert_eq!(res.status(), 200);
    let seen = json_of(app.get(last, &paths::room(id)).await).await;
    assert!(seen["muted_until"].is_string(), "{seen}");

    let page = json_of(
        app.get(last, &format!("{}?page_size=100", paths::room_members(id)))
            .await,
    )
    .await;
    assert_eq!(page["count"], 55);
    let listed: Vec<i64> = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|m| m["user"]["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(listed.len(), 55);
    assert_eq!(listed[0], owner.id);
    let outsider = app.register("outsider").await;
    assert_eq!(
        app.get(&outsider, &paths::room_members(id)).await.status(),
        404
    );
}
