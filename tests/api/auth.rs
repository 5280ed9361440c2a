use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, SECRET, TestApp, json_of};

#[tokio::test]
async fn register_returns_the_user_and_a_token_pair() {
    let app = TestApp::spawn().await;
    let res = app
        .post_anon(
            "/api/auth/register/",
            json!({"username": " alice ", "email": "Alice@Example.com", "password": PASSWORD,
                   "first_name": "Alice", "is_staff": true, "id": 999}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body = json_of(res).await;
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["email"], "Alice@Example.com");
    assert_eq!(body["user"]["first_name"], "Alice");
    assert_eq!(body["user"]["friendship_status"], "self");
    assert_ne!(body["user"]["id"], 999);
    assert!(
        body["access"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert!(body["refresh"].is_string());

    let access = body["access"].as_str().expect("access");
    let me = json_of(
        app.request(Method::GET, "/api/users/me/", Some(access), None)
            .await,
    )
    .await;
    assert_eq!(me["username"], "alice");
    let user = app.state.db.clone();
    let row = agora::users::store::find_by_id(&user, me["id"].as_i64().expect("id"))
        .await
        .expect("query")
        .expect("row");
    assert!(!row.is_staff, "is_staff must not be mass-assignable");
    assert!(
        row.password.expose().starts_with("$argon2id$"),
        "stored as an Argon2id hash"
    );
}

#[tokio::test]
async fn register_reports_every_missing_field() {
    let app = TestApp::spawn().await;
    let body = json_of(app.post_anon("/api/auth/register/", json!({})).await).await;
    for field in ["username", "email", "password"] {
        assert_eq!(body[field], json!(["This field is required."]), "{field}");
    }
    let body = json_of(
        app.post_anon(
            "/api/auth/register/",
            json!({"username": "  ", "email": "", "password": " "}),
        )
        .await,
    )
    .await;
    assert_eq!(body["username"], json!(["This field may not be blank."]));
    assert_eq!(body["email"], json!(["This field may not be blank."]));
}

async fn register_error(app: &TestApp, body: Value) -> Value {
    let res = app.post_anon("/api/auth/register/", body).await;
    assert_eq!(res.status(), 400);
    json_of(res).await
}

#[tokio::test]
async fn register_validates_username_email_and_password() {
    let app = TestApp::spawn().await;
    let e = register_error(
        &app,
        json!({"username": "bad name!", "email": "not-an-email", "password": PASSWORD}),
    )
    .await;
    assert!(
        e["username"][0]
            .as_str()
            .expect("msg")
            .starts_with("Enter a valid username")
    );
    assert_eq!(e["email"], json!(["Enter a valid email address."]));

    let e = register_error(
        &app,
        json!({"username": "a".repeat(151), "email": "x@example.com", "password": PASSWORD}),
    )
    .await;
    assert!(e["username"].is_array());

    let cases = [
        ("short1", "too short"),
        ("password", "too common"),
        ("4829175630", "entirely numeric"),
        ("bobby1234", "similar to the username"),
        ("bobby@example", "similar to the"),
    ];
    for (password, expected) in cases {
        let e = register_error(
            &app,
            json!({"username": "bobby", "email": "bobby@example.com", "password": password}),
        )
        .await;
        let messages = e["password"].to_string();
        assert!(messages.contains(expected), "{password}: {messages}");
    }
}

#[tokio::test]
async fn usernames_and_emails_are_unique_ignoring_case() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let e = register_error(
        &app,
        json!({"username": "ALICE", "email": "other@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        e["username"],
        json!(["A user with that username already exists."])
    );
    let e = register_error(
        &app,
        json!({"username": "alice2", "email": "ALICE@example.COM", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        e["email"],
        json!(["A user with that email already exists."])
    );
}

#[tokio::test]
async fn login_accepts_username_or_email_ignoring_case() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for login in ["alice", "ALICE", "alice@example.com", "Alice@Example.com"] {
        let res = app.login(login, PASSWORD).await;
        assert_eq!(res.status(), 200, "{login}");
        let body = json_of(res).await;
        assert_eq!(body["user"]["id"], alice.id);
        assert!(body["access"].is_string() && body["refresh"].is_string());
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let wrong = app.login("alice", "wrong-password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().contains_key("www-authenticate"));
    let wrong = json_of(wrong).await;
    let unknown = app.login("nobody", "wrong-password").await;
    assert_eq!(unknown.status(), 401);
    let unknown = json_of(unknown).await;
    assert_eq!(wrong, unknown);
    assert_eq!(
        wrong["detail"],
        "No active account found with the given credentials"
    );

    let missing = json_of(
        app.post_anon("/api/auth/login/", json!({"username": "alice"}))
            .await,
    )
    .await;
    assert_eq!(missing["password"], json!(["This field is required."]));
}

#[tokio::test]
async fn login_attempts_are_rate_limited_with_retry_after() {
    let app = TestApp::spawn_with(|s| s.login_failures_per_username = 3).await;
    app.register("alice").await;
    for _ in 0..3 {
        assert_eq!(app.login("alice", "wrong-password").await.status(), 401);
    }
    let res = app.login("alice", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    assert!(
        json_of(res).await["detail"]
            .as_str()
            .expect("detail")
            .contains("throttled")
    );
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_anon("/api/auth/refresh/", json!({"refresh": token}))
        .await
}

#[tokio::test]
async fn refresh_rotates_and_blacklists_the_old_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = refresh(&app, &alice.refresh).await;
    assert_eq!(res.status(), 200);
    let pair = json_of(res).await;
    let new_refresh = pair["refresh"].as_str().expect("refresh");
    assert_ne!(new_refresh, alice.refresh);
    let access = pair["access"].as_str().expect("access");
    assert_eq!(
        app.request(Method::GET, "/api/users/me/", Some(access), None)
            .await
            .status(),
        200
    );

    let again = refresh(&app, &alice.refresh).await;
    assert_eq!(again.status(), 401);
    let body = json_of(again).await;
    assert_eq!(body["code"], "token_not_valid");
    assert_eq!(body["detail"], "Token is blacklisted");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_its_whole_family() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    // A second, separate login must survive the reuse.
    let other_login = json_of(app.login("alice", PASSWORD).await).await;
    let pair = json_of(refresh(&app, &alice.refresh).await).await;
    let descendant = pair["refresh"].as_str().expect("refresh");

    assert_eq!(refresh(&app, &alice.refresh).await.status(), 401, "reuse");
    assert_eq!(
        refresh(&app, descendant).await.status(),
        401,
        "the family is revoked"
    );
    let other = other_login["refresh"].as_str().expect("refresh");
    assert_eq!(
        refresh(&app, other).await.status(),
        200,
        "other logins are untouched"
    );
}

#[tokio::test]
async fn token_types_are_not_interchangeable() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = app
        .request(Method::GET, "/api/users/me/", Some(&alice.refresh), None)
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(json_of(res).await["code"], "token_not_valid");
    let res = refresh(&app, &alice.access).await;
    assert_eq!(res.status(), 401);
    assert_eq!(json_of(res).await["code"], "token_not_valid");
}

fn sign(claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test]
async fn tampered_forged_and_expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"token_type": "access", "exp": exp, "iat": now - 10, "jti": "x", "user_id": alice.id, "ver": 0});
    let good = sign(&claims(now + 60), SECRET);
    assert_eq!(
        app.request(Method::GET, "/api/users/me/", Some(&good), None)
            .await
            .status(),
        200,
        "the forging helper itself is right"
    );

    let expired = sign(&claims(now - 1), SECRET);
    let wrong_key = sign(
        &claims(now + 60),
        "another-secret-key-that-is-long-enough!!",
    );
    let payload = alice.access.split('.').nth(1).expect("payload");
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let mut flipped = alice.access.clone();
    let last = flipped.pop().expect("char");
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let other_user = sign(
        &json!({"token_type": "access", "exp": now + 60, "iat": now, "jti": "y", "user_id": alice.id + 100, "ver": 0}),
        SECRET,
    );
    for (name, token) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("alg none", alg_none),
        ("tampered signature", flipped),
        ("missing user", other_user),
        ("garbage", "not.a.jwt".to_owned()),
    ] {
        let res = app
            .request(Method::GET, "/api/users/me/", Some(&token), None)
            .await;
        assert_eq!(res.status(), 401, "{name}");
        let body = json_of(res).await;
        assert_eq!(body["code"], "token_not_valid", "{name}");
        let verify = app
            .post_anon("/api/auth/verify/", json!({"token": token}))
            .await;
        assert_eq!(verify.status(), 401, "verify {name}");
    }
}

#[tokio::test]
async fn verify_accepts_live_tokens_of_both_types() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for token in [&alice.access, &alice.refresh] {
        let res = app
            .post_anon("/api/auth/verify/", json!({"token": token}))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(json_of(res).await, json!({}));
    }
    let res = app.post_anon("/api/auth/verify/", json!({})).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        json_of(res).await["token"],
        json!(["This field is required."])
    );
}

#[tokio::test]
async fn logout_blacklists_the_refresh_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let anon = app
        .post_anon("/api/auth/logout/", json!({"refresh": alice.refresh}))
        .await;
    assert_eq!(anon.status(), 401);
    let not_hers = app
        .post(&bob, "/api/auth/logout/", json!({"refresh": alice.refresh}))
        .await;
    assert_eq!(not_hers.status(), 401, "bob cannot log alice out");

    let res = app
        .post(
            &alice,
            "/api/auth/logout/",
            json!({"refresh": alice.refresh}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(refresh(&app, &alice.refresh).await.status(), 401);
    let verify = app
        .post_anon("/api/auth/verify/", json!({"token": alice.refresh}))
        .await;
    assert_eq!(verify.status(), 401);
}

#[tokio::test]
async fn password_change_revokes_every_token_issued_before_it() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let second = json_of(app.login("alice", PASSWORD).await).await;

    let res = app
        .post(
            &alice,
            "/api/auth/password/change/",
            json!({"old_password": "wrong-one", "new_password": "a-new-long-passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(json_of(res).await["old_password"].is_array());
    let res = app
        .post(
            &alice,
            "/api/auth/password/change/",
            json!({"old_password": PASSWORD, "new_password": "123"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        json_of(res).await["new_password"]
            .as_array()
            .is_some_and(|a| a.len() >= 2)
    );

    let res = app
        .post(
            &alice,
            "/api/auth/password/change/",
            json!({"old_password": PASSWORD, "new_password": "a-new-long-passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.get(&alice, "/api/users/me/").await.status(),
        401,
        "old access token"
    );
    assert_eq!(
        refresh(&app, &alice.refresh).await.status(),
        401,
        "old refresh token"
    );
    let second_refresh = second["refresh"].as_str().expect("refresh");
    assert_eq!(
        refresh(&app, second_refresh).await.status(),
        401,
        "other session's refresh"
    );
    assert_eq!(app.login("alice", PASSWORD).await.status(), 401);
    let fresh = app.login("alice", "a-new-long-passphrase").await;
    assert_eq!(fresh.status(), 200);
    let access = json_of(fresh).await["access"]
        .as_str()
        .expect("access")
        .to_owned();
    assert_eq!(
        app.request(Method::GET, "/api/users/me/", Some(&access), None)
            .await
            .status(),
        200,
        "a token issued after the change works"
    );
}
