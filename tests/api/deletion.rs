//! Account deletion through the front door: signed out everywhere at once, the username and
//! email free, and then, by the `delete_account` job, everything API.md lists erased while
//! the others' rooms, groups and threads keep their shape.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, json_of, status_body};
use crate::paths;

async fn delete_account(app: &TestApp, user: &TestUser, password: &str) -> (u16, Value) {
    let res = app
        .request(
            Method::DELETE,
            "/api/users/me/",
            Some(&user.access),
            Some(json!({"password": password})),
        )
        .await;
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn created(app: &TestApp, user: &TestUser, path: &str, body: Value) -> Value {
    let (status, made) = status_body(app.post(user, path, body).await).await;
    assert_eq!(status, 201, "{path}: {made}");
    made
}

#[tokio::test]
async fn a_deleted_account_is_signed_out_at_once_and_its_data_erased() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    app.request_friend(&carol, &alice).await;

    // What alice made and took part in.
    let picture = crate::media::upload(&app, &alice, crate::media::png(8, 8), "me.png").await;
    let own = created(
        &app,
        &alice,
        "/api/posts/",
        json!({"body": "mine", "visibility": "public"}),
    )
    .await;
    created(
        &app,
        &bob,
        &paths::post_comments(&own["id"]),
        json!({"body": "nice"}),
    )
    .await;
    let bobs = created(
        &app,
        &bob,
        "/api/posts/",
        json!({"body": "bob's", "visibility": "public"}),
    )
    .await;
    let lone = created(
        &app,
        &alice,
        &paths::post_comments(&bobs["id"]),
        json!({"body": "lone"}),
    )
    .await;
    let top = created(
        &app,
        &alice,
        &paths::post_comments(&bobs["id"]),
        json!({"body": "top"}),
    )
    .await;
    created(
        &app,
        &carol,
        &paths::post_comments(&bobs["id"]),
        json!({"body": "reply", "reply_to": top["id"]}),
    )
    .await;
    let res = app
        .put(
            &alice,
            &format!("/api/posts/{}/reactions/👍/", bobs["id"]),
            json!({}),
        )
        .await;
    assert!(res.status().is_success());
    let direct = created(
        &app,
        &alice,
        "/api/chat/direct/",
        json!({"user_id": bob.id}),
    )
    .await;
    let said = crate::chat::say(&app, &alice, direct["id"].as_i64().unwrap(), "hello bob").await;
    let room = created(
        &app,
        &alice,
        "/api/chat/rooms/",
        json!({"name": "ours", "member_ids": [bob.id]}),
    )
    .await;
    let shared = created(&app, &alice, "/api/groups/", json!({"name": "Shared"})).await;
    let res = app
        .post(&carol, &paths::group_join(&shared["id"]), json!({}))
        .await;
    assert!(res.status().is_success());
    let solo = created(&app, &alice, "/api/groups/", json!({"name": "Solo"})).await;
    let mut socket = app.ws(&alice).await;

    // A wrong password changes nothing.
    let (status, body) = delete_account(&app, &alice, "wrong-password").await;
    assert_eq!(status, 400);
    assert!(body["password"].is_array(), "{body}");
    assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 200);

    assert_eq!(delete_account(&app, &alice, PASSWORD).await.0, 204);
    // At once: every token refused, the socket closed, the names free for anyone.
    assert_eq!(socket.closed().await, 4401);
    assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 401);
    assert_eq!(app.login("alice", PASSWORD).await.status(), 401);
    let again = app.register("alice").await;
    assert_ne!(again.id, alice.id, "an id is never reused");

    app.until_jobs("the account erased", |jobs| {
        jobs.iter()
            .any(|j| j.kind == "delete_account" && j.state == "done")
    })
    .await;

    assert_eq!(app.get(&bob, &paths::user(alice.id)).await.status(), 404);
    let friends = json_of(app.get(&bob, "/api/friends/").await).await;
    assert_eq!(friends["count"], 0);
    let me = json_of(app.get(&bob, "/api/users/me/").await).await;
    assert_eq!(me["friend_count"], 0);
    let requests = json_of(
        app.get(&carol, "/api/friends/request/?direction=outgoing")
            .await,
    )
    .await;
    assert_eq!(requests["count"], 0, "{requests}");
    let notes = json_of(app.get(&bob, "/api/notifications/").await).await;
    assert!(
        notes["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["sender"]["id"] != alice.id),
        "{notes}"
    );

    // Posts, comments and reactions.
    assert_eq!(app.get(&bob, &paths::post(&own["id"])).await.status(), 404);
    assert_eq!(
        app.get(&bob, &paths::comment(&lone["id"])).await.status(),
        404
    );
    let tomb = json_of(app.get(&bob, &paths::comment(&top["id"])).await).await;
    assert_eq!(tomb["deleted"], true, "{tomb}");
    assert_eq!(tomb["body"], "");
    let post = json_of(app.get(&bob, &paths::post(&bobs["id"])).await).await;
    assert_eq!(post["reactions"], json!({}), "{post}");
    assert_eq!(post["comment_count"], 1, "carol's reply stays: {post}");

    // Chat: the direct room stays to be read, a tombstone in alice's place; writing is refused.
    let history = json_of(app.get(&bob, &paths::room_messages(&direct["id"])).await).await;
    let message = history["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == said["id"])
        .cloned()
        .unwrap();
    assert_eq!(
        (
            &message["deleted"],
            &message["body"],
            &message["sender"]["id"]
        ),
        (&json!(true), &json!(""), &json!(alice.id))
    );
    let (status, body) = crate::chat::send(
        &app,
        &bob,
        direct["id"].as_i64().unwrap(),
        json!({"body": "hi?"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"detail": "This account has been deleted."}))
    );
    let room = json_of(app.get(&bob, &paths::room(&room["id"])).await).await;
    let owner = room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "owner")
        .cloned()
        .unwrap();
    assert_eq!(owner["user"]["id"], bob.id, "{room}");
    assert_eq!(room["member_count"], 1);

    // Groups: the shared one passes to carol, the one left empty is gone.
    let members = json_of(app.get(&carol, &paths::group_members(&shared["id"])).await).await;
    assert_eq!(members["count"], 1, "{members}");
    assert_eq!(members["results"][0]["role"], "owner");
    assert_eq!(
        app.get(&carol, &paths::group(&solo["id"])).await.status(),
        404
    );

    // Every file gone, its link dead.
    let link = picture["url"].as_str().unwrap();
    let res = app.client.get(link).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn two_deletions_at_once_delete_once() {
    let app = TestApp::spawn().await;
    let dan = app.register("dan").await;
    let (a, b) = tokio::join!(
        delete_account(&app, &dan, PASSWORD),
        delete_account(&app, &dan, PASSWORD)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert!(
        statuses == [204, 401] || statuses == [204, 204],
        "{a:?} {b:?}"
    );
    app.until_jobs("erased", |jobs| {
        !jobs.is_empty() && jobs.iter().all(|j| j.state == "done")
    })
    .await;
}

#[tokio::test]
async fn an_erasure_queued_by_an_instance_that_stopped_is_done_by_the_next() {
    // The first instance runs no jobs: it answers the deletion and stops with the job queued.
    let mut first = TestApp::spawn_with(|s| s.accounts.jobs.workers = 0).await;
    let erin = first.register("erin").await;
    let frank = first.register("frank").await;
    first.befriend(&erin, &frank).await;
    let post = created(
        &first,
        &erin,
        "/api/posts/",
        json!({"body": "bye", "visibility": "public"}),
    )
    .await;
    assert_eq!(delete_account(&first, &erin, PASSWORD).await.0, 204);
    first.shutdown();
    first.stopped().await;

    let mut settings = first.settings.clone();
    settings.accounts.jobs.workers = 2;
    let second = TestApp::spawn_with(move |s| *s = settings).await;
    second
        .until_jobs("erased by the second instance", |jobs| {
            jobs.iter().all(|j| j.state == "done")
        })
        .await;
    assert_eq!(
        second.get(&frank, &paths::post(&post["id"])).await.status(),
        404
    );
    let friends = json_of(second.get(&frank, "/api/friends/").await).await;
    assert_eq!(friends["count"], 0);
}
