//! Running behind a proxy: whose address the login limit counts, which host links name, and
//! login counts shared by every instance.

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, json_of};

async fn login_via(app: &TestApp, forwarded_for: &str, username: &str, password: &str) -> Response {
    app.client
        .post(app.url("/api/auth/login/"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn trusted_loopback(s: &mut agora::config::Settings) {
    s.trusted_proxies = vec![agora::config::IpNet::parse("127.0.0.1").unwrap()];
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_for_decides_the_limited_address() {
    let app = TestApp::spawn_with(|s| {
        trusted_loopback(s);
        s.login_rate_per_address = 2;
    })
    .await;
    app.register("alice").await;
    for _ in 0..2 {
        assert_eq!(
            login_via(&app, "203.0.113.7", "alice", PASSWORD)
                .await
                .status(),
            200
        );
    }
    let res = login_via(&app, "203.0.113.7", "alice", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Another client behind the same proxy has its own budget.
    assert_eq!(
        login_via(&app, "203.0.113.8", "alice", PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    let app = TestApp::spawn_with(|s| s.login_rate_per_address = 2).await;
    app.register("alice").await;
    assert_eq!(
        login_via(&app, "203.0.113.7", "alice", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(
        login_via(&app, "203.0.113.8", "alice", PASSWORD)
            .await
            .status(),
        200
    );
    // A client cannot buy a fresh budget by writing a new X-Forwarded-For.
    assert_eq!(
        login_via(&app, "203.0.113.9", "alice", PASSWORD)
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn the_username_limit_counts_failures_and_successes_pass() {
    let app = TestApp::spawn_with(|s| s.login_failures_per_username = 3).await;
    app.register("alice").await;
    app.register("bob").await;
    for _ in 0..5 {
        assert_eq!(app.login("bob", PASSWORD).await.status(), 200);
    }
    for _ in 0..3 {
        assert_eq!(app.login("alice", "wrong-password").await.status(), 401);
    }
    // Even the right password waits now; the username is counted case-insensitively.
    assert_eq!(app.login("ALICE", PASSWORD).await.status(), 429);
    assert_eq!(app.login("bob", PASSWORD).await.status(), 200);
}

async fn next_link(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let viewer = app.register(&format!("v{}", rand::random::<u32>())).await;
    let mut req = app
        .client
        .get(app.url("/api/users/?page_size=1"))
        .bearer_auth(&viewer.access);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body: Value = json_of(req.send().await.unwrap()).await;
    body["next"].as_str().expect("a next link").to_owned()
}

#[tokio::test]
async fn links_follow_a_trusted_proxy_and_ignore_an_untrusted_one() {
    let forwarded = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example.com"),
    ];
    let plain = TestApp::spawn().await;
    plain.register("alice").await;
    let link = next_link(&plain, &forwarded).await;
    assert!(
        link.starts_with(&format!("{}/api/users/", plain.base)),
        "{link}"
    );

    let proxied = TestApp::spawn_with(trusted_loopback).await;
    proxied.register("alice").await;
    let link = next_link(&proxied, &forwarded).await;
    assert!(
        link.starts_with("https://api.example.com/api/users/?"),
        "{link}"
    );
    let link = next_link(
        &proxied,
        &[("forwarded", "for=198.51.100.1;proto=https;host=social.test")],
    )
    .await;
    assert!(
        link.starts_with("https://social.test/api/users/?"),
        "{link}"
    );
}

#[tokio::test]
async fn links_follow_the_public_url_whatever_the_headers_say() {
    let app = TestApp::spawn_with(|s| {
        trusted_loopback(s);
        s.public_url = Some(url::Url::parse("https://social.example.com/backend/").unwrap());
    })
    .await;
    app.register("alice").await;
    let link = next_link(
        &app,
        &[("x-forwarded-host", "other.test"), ("host", "evil.test")],
    )
    .await;
    assert!(
        link.starts_with("https://social.example.com/backend/api/users/?"),
        "{link}"
    );
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn two_instances_share_the_login_counts() {
    crate::cluster::require_redis();
    let one = TestApp::spawn_with(|s| {
        s.login_failures_per_username = 3;
        s.login_rate_per_address = 4;
    })
    .await;
    let two = one.spawn_peer().await;
    one.register("alice").await;
    assert_eq!(one.login("alice", "wrong-password").await.status(), 401);
    assert_eq!(two.login("alice", "wrong-password").await.status(), 401);
    assert_eq!(one.login("alice", "wrong-password").await.status(), 401);
    // Three failures spread over two instances: alice is limited on both.
    assert_eq!(two.login("alice", PASSWORD).await.status(), 429);
    assert_eq!(one.login("alice", PASSWORD).await.status(), 429);
    // The address limit (4 attempts) was spent across both instances too: the fifth attempt.
    one.register("bob").await;
    assert_eq!(two.login("bob", PASSWORD).await.status(), 429);
}

async fn register_via(app: &TestApp, forwarded_for: &str, username: &str) -> Response {
    app.client
        .post(app.url("/api/auth/register/"))
        .header("x-forwarded-for", forwarded_for)
        .json(
            &json!({"username": username, "email": format!("{username}@example.com"),
                      "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn registrations_are_limited_per_address_on_every_instance() {
    let app = TestApp::spawn_with(|s| {
        trusted_loopback(s);
        s.register_rate_per_address = 3;
    })
    .await;
    // With Redis, a second instance shares the count.
    let peer = if TestApp::has_redis() {
        Some(app.spawn_peer().await)
    } else {
        None
    };
    let second = peer.as_ref().unwrap_or(&app);
    for (i, instance) in [&app, second, &app].into_iter().enumerate() {
        let res = register_via(instance, "203.0.113.7", &format!("user{i}")).await;
        assert_eq!(res.status(), 201);
    }
    let res = register_via(second, "203.0.113.7", "one_too_many").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Another address has its own budget.
    let res = register_via(&app, "203.0.113.8", "neighbour").await;
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn a_forwarded_host_is_taken_from_the_hop_that_met_the_client() {
    let app = TestApp::spawn_with(trusted_loopback).await;
    app.register("alice").await;
    // The client sent its own X-Forwarded-Host and -Proto; our proxy (the loopback) appended
    // what the client really asked for.
    let link = next_link(
        &app,
        &[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.test, api.example.com"),
        ],
    )
    .await;
    assert!(
        link.starts_with("https://api.example.com/api/users/?"),
        "{link}"
    );
    let link = next_link(
        &app,
        &[(
            "forwarded",
            "for=198.51.100.9;host=evil.test;proto=http, for=198.51.100.1;proto=https;host=social.test",
        )],
    )
    .await;
    assert!(
        link.starts_with("https://social.test/api/users/?"),
        "{link}"
    );
}
