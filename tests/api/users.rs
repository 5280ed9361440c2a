use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, json_of};
use crate::paths;

#[tokio::test]
async fn me_needs_a_token() {
    let app = TestApp::spawn().await;
    let res = app.get_anon("/api/users/me/").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers().get("www-authenticate").expect("header"),
        "Bearer realm=\"api\""
    );
    let body = json_of(res).await;
    assert_eq!(body["code"], "not_authenticated");
    assert_eq!(
        body["detail"],
        "Authentication credentials were not provided."
    );
}

#[tokio::test]
async fn another_user_is_shown_without_email() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let res = app.get(&alice, &paths::user(bob.id)).await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    assert_eq!(body["username"], "bob");
    assert!(
        body.get("email").is_none(),
        "email is only for the user and staff"
    );
    assert_eq!(body["friendship_status"], "none");
    assert_eq!(body["friend_count"], 0);
    assert_eq!(body["profile"]["visibility"], "public");
    assert!(body["is_online"].is_null());
    assert!(body["avatar"].is_null());
    assert!(
        body["date_joined"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    assert_eq!(app.get(&alice, "/api/users/999999/").await.status(), 404);
    assert_eq!(app.get(&alice, "/api/users/abc/").await.status(), 404);
}

#[tokio::test]
async fn patch_updates_own_fields_and_nested_profile_and_ignores_read_only_ones() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let before = json_of(app.get(&alice, "/api/users/me/").await).await;
    let res = app
        .patch(
            &alice,
            &paths::user(alice.id),
            json!({
                "first_name": "  Alice ", "last_name": "Liddell",
                "id": 12345, "is_staff": true, "date_joined": "2000-01-01T00:00:00Z",
                "is_online": true, "friend_count": 99,
                "profile": {"bio": "Down the rabbit hole", "website": "https://alice.example",
                            "birth_date": "1852-05-04", "visibility": "friends",
                            "show_online_status": false, "allow_messages_from": "friends"}
            }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    assert_eq!(body["first_name"], "Alice");
    assert_eq!(body["last_name"], "Liddell");
    assert_eq!(body["id"], alice.id);
    assert_eq!(body["date_joined"], before["date_joined"]);
    assert_eq!(body["profile"]["bio"], "Down the rabbit hole");
    assert_eq!(body["profile"]["birth_date"], "1852-05-04");
    assert_eq!(body["profile"]["visibility"], "friends");
    assert_eq!(body["profile"]["show_online_status"], false);
    assert_eq!(body["profile"]["allow_messages_from"], "friends");

    let row = agora::users::store::find_by_id(&app.state.db, alice.id)
        .await
        .expect("query")
        .expect("row");
    assert!(!row.is_staff);

    // PATCH of one field leaves the rest alone.
    let res = app
        .patch(&alice, "/api/users/me/", json!({"profile": {"bio": "x"}}))
        .await;
    let body = json_of(res).await;
    assert_eq!(body["profile"]["bio"], "x");
    assert_eq!(body["profile"]["website"], "https://alice.example");
    assert_eq!(body["last_name"], "Liddell");
}

#[tokio::test]
async fn put_needs_every_writable_top_level_field() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let path = paths::user(alice.id);
    let res = app.put(&alice, &path, json!({"first_name": "A"})).await;
    assert_eq!(res.status(), 400);
    let body = json_of(res).await;
    for f in ["username", "email", "last_name"] {
        assert_eq!(body[f], json!(["This field is required."]), "{f}");
    }
    let res = app
        .put(
            &alice,
            &path,
            json!({"username": "alice2", "email": "a2@example.com", "first_name": "A", "last_name": "B"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    assert_eq!(body["username"], "alice2");
    assert_eq!(body["email"], "a2@example.com");
    assert_eq!(app.login("alice2", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn updating_someone_else_is_forbidden_but_staff_may() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let path = paths::user(bob.id);
    let res = app
        .patch(&alice, &path, json!({"first_name": "Hacked"}))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        json_of(res).await["detail"],
        "You do not have permission to perform this action."
    );
    // Field rules run after the permission check: no revealing field error.
    let res = app.patch(&alice, &path, json!({"email": "bad"})).await;
    assert_eq!(res.status(), 403);
    let bob_now = json_of(app.get(&bob, "/api/users/me/").await).await;
    assert_eq!(bob_now["first_name"], "");

    app.make_staff(&alice).await;
    let res = app
        .patch(&alice, &path, json!({"first_name": "Robert"}))
        .await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    assert_eq!(body["first_name"], "Robert");
    assert_eq!(body["email"], "bob@example.com", "staff see emails");
}

#[tokio::test]
async fn profile_fields_are_validated() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let res = app
        .patch(
            &alice,
            "/api/users/me/",
            json!({"username": "BOB", "email": "Bob@example.com",
                   "profile": {"website": "not a url", "birth_date": "05/04/1852",
                               "visibility": "everyone", "allow_messages_from": "nobody",
                               "bio": "x".repeat(501), "avatar": 5}}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body = json_of(res).await;
    assert_eq!(
        body["username"],
        json!(["A user with that username already exists."])
    );
    assert_eq!(
        body["email"],
        json!(["A user with that email already exists."])
    );
    let p = &body["profile"];
    for f in [
        "website",
        "birth_date",
        "visibility",
        "allow_messages_from",
        "bio",
        "avatar",
    ] {
        assert!(p[f].is_array(), "{f}: {body}");
    }
    let res = app
        .patch(&alice, "/api/users/me/", json!({"username": "   "}))
        .await;
    assert_eq!(
        json_of(res).await["username"],
        json!(["This field may not be blank."])
    );
    let res = app
        .patch(&alice, "/api/users/me/", json!({"profile": "nope"}))
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .patch(&alice, "/api/users/me/", json!({"first_name": 5}))
        .await;
    assert_eq!(
        json_of(res).await["first_name"],
        json!(["Not a valid string."])
    );
    let _ = bob;
}

#[tokio::test]
async fn a_hidden_profile_shows_only_its_visibility() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for visibility in ["private", "friends"] {
        app.patch(
            &bob,
            "/api/users/me/",
            json!({"profile": {"visibility": visibility, "bio": "secret"}}),
        )
        .await;
        let body = json_of(app.get(&alice, &paths::user(bob.id)).await).await;
        assert_eq!(body["profile"], json!({"visibility": visibility}));
        let own = json_of(app.get(&bob, "/api/users/me/").await).await;
        assert_eq!(own["profile"]["bio"], "secret");
    }
}

#[tokio::test]
async fn the_user_list_searches_paginates_and_skips_inactive_users() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for i in 0..4 {
        app.register(&format!("zed{i}")).await;
    }
    let carol = app.register("carol").await;
    app.patch(&carol, "/api/users/me/", json!({"last_name": "Zedson"}))
        .await;

    let body = json_of(app.get(&alice, "/api/users/?search=ZED&page_size=2").await).await;
    assert_eq!(body["count"], 5, "{body}");
    let names: Vec<&str> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|u| u["username"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["carol", "zed0"]);
    assert_eq!(body["results"][0]["friendship_status"], "none");
    assert!(body["results"][0].get("email").is_none());
    assert!(body["previous"].is_null());
    let next = body["next"].as_str().expect("next");
    assert_eq!(next, app.url("/api/users/?search=ZED&page=2&page_size=2"));

    let page2 = json_of(
        app.request(
            Method::GET,
            next.trim_start_matches(&app.base),
            Some(&alice.access),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page2["results"][0]["username"], "zed1");
    assert_eq!(
        page2["previous"],
        app.url("/api/users/?search=ZED&page_size=2")
    );

    let res = app.get(&alice, "/api/users/?page=9").await;
    assert_eq!(res.status(), 404);
    assert_eq!(json_of(res).await["detail"], "Invalid page.");
    assert_eq!(app.get(&alice, "/api/users/?page=abc").await.status(), 404);

    // A wildcard in the search is a literal character.
    let body = json_of(app.get(&alice, "/api/users/?search=%25").await).await;
    assert_eq!(body["count"], 0);

    // A deactivated account leaves the list.
    let res = app
        .request(
            Method::DELETE,
            "/api/users/me/",
            Some(&carol.access),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status(), 204);
    let body = json_of(app.get(&alice, "/api/users/?search=zed").await).await;
    assert_eq!(body["count"], 4);
    assert_eq!(app.get(&alice, &paths::user(carol.id)).await.status(), 404);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_revokes_tokens() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = app
        .request(
            Method::DELETE,
            "/api/users/me/",
            Some(&alice.access),
            Some(json!({"password": "nope"})),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["password"].is_array());
    let res = app
        .request(
            Method::DELETE,
            "/api/users/me/",
            Some(&alice.access),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        json_of(res).await["password"],
        json!(["This field is required."])
    );

    let res = app
        .request(
            Method::DELETE,
            "/api/users/me/",
            Some(&alice.access),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 401);
    assert_eq!(
        app.post_anon("/api/auth/refresh/", json!({"refresh": alice.refresh}))
            .await
            .status(),
        401
    );
    assert_eq!(app.login(&alice.username, PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn blocking_hides_both_sides_from_each_other() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.register("carol").await;

    let res = app.post(&alice, &paths::block(alice.id), json!({})).await;
    assert_eq!(res.status(), 400, "blocking yourself");
    assert_eq!(
        app.post(&alice, "/api/users/424242/block/", json!({}))
            .await
            .status(),
        404
    );

    let res = app.post(&alice, &paths::block(bob.id), json!({})).await;
    assert_eq!(res.status(), 204);
    let again = app.post(&alice, &paths::block(bob.id), json!({})).await;
    assert_eq!(again.status(), 204, "blocking twice is harmless");

    let blocked = json_of(app.get(&alice, "/api/users/blocked/").await).await;
    assert_eq!(blocked["count"], 1);
    assert_eq!(blocked["results"][0]["username"], "bob");
    assert!(
        blocked["results"][0].get("friendship_status").is_none(),
        "UserBrief"
    );

    let names = |v: serde_json::Value| -> Vec<String> {
        v["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|u| u["username"].as_str().expect("name").to_owned())
            .collect()
    };
    let seen_by_bob = names(json_of(app.get(&bob, "/api/users/").await).await);
    assert_eq!(seen_by_bob, ["bob", "carol"]);
    let seen_by_alice = names(json_of(app.get(&alice, "/api/users/?search=b").await).await);
    assert!(!seen_by_alice.contains(&"bob".to_owned()));

    let res = app.get(&bob, &paths::user(alice.id)).await;
    assert_eq!(res.status(), 404, "the blocker is invisible to the blocked");
    assert_eq!(app.get(&alice, &paths::user(bob.id)).await.status(), 200);

    let res = app.delete(&alice, &paths::block(bob.id)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.delete(&alice, &paths::block(bob.id)).await.status(),
        404
    );
    assert_eq!(app.get(&bob, &paths::user(alice.id)).await.status(), 200);
    assert_eq!(
        json_of(app.get(&alice, "/api/users/blocked/").await).await["count"],
        0
    );
}
