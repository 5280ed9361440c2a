//! Hostile input: whatever a client sends, the answer is a 4xx in the contract's shape, the
//! same on SQLite and PostgreSQL (which refuses NUL characters that SQLite would store).

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, json_of};
use crate::paths;

const NUL: &str = "Null characters are not allowed.";

async fn body_of(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    json_of(res).await
}

#[tokio::test]
async fn nul_characters_are_refused_in_every_body_and_query_string() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;

    let res = app
        .post_anon(
            "/api/auth/register/",
            json!({"username": "bo\u{0}b", "email": "bob@example.com", "password": PASSWORD, "first_name": "\u{0}"}),
        )
        .await;
    let body = body_of(res, 400).await;
    assert_eq!(body["username"], json!([NUL]));
    assert_eq!(body["first_name"], json!([NUL]));

    let body = body_of(app.login("ali\u{0}ce", PASSWORD).await, 400).await;
    assert_eq!(body["username"], json!([NUL]));

    let res = app
        .patch(
            &alice,
            "/api/users/me/",
            json!({"profile": {"bio": "a\u{0}b"}}),
        )
        .await;
    assert_eq!(body_of(res, 400).await, json!({"profile": {"bio": [NUL]}}));

    let res = app
        .put(
            &alice,
            "/api/notifications/settings/",
            json!({"types": {"friend_request\u{0}": true}, "do_not_disturb": false}),
        )
        .await;
    assert_eq!(body_of(res, 400).await, json!({"types": [NUL]}));

    for path in [
        "/api/users/?search=a%00b",
        "/api/friends/?search=%00",
        "/api/notifications/?type=%00",
        "/api/users/me/?x=%00",
    ] {
        let body = body_of(app.get(&alice, path).await, 400).await;
        let field = body.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(body[&field], json!([NUL]), "{path}");
    }
    // Nothing was stored on the way.
    let me = json_of(app.get(&alice, "/api/users/me/").await).await;
    assert_eq!(me["profile"]["bio"], "");
}

#[tokio::test]
async fn search_terms_are_bounded() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let long = "%25a_".repeat(5_000);
    for list in ["/api/users/", "/api/friends/"] {
        let body = body_of(app.get(&alice, &format!("{list}?search={long}")).await, 400).await;
        assert!(
            body["search"][0].as_str().unwrap().contains("150"),
            "{list}: {body}"
        );
    }
    let ok = "a".repeat(150);
    assert_eq!(
        app.get(&alice, &format!("/api/users/?search={ok}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn dates_are_real_calendar_dates_in_a_sensible_range() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for bad in [
        "0000-01-01",
        "-0001-01-01",
        "1799-12-31",
        "2001-02-29",
        "+2000-01-01",
        "99999-01-01",
    ] {
        let res = app
            .patch(
                &alice,
                "/api/users/me/",
                json!({"profile": {"birth_date": bad}}),
            )
            .await;
        let body = body_of(res, 400).await;
        assert!(
            body["profile"]["birth_date"][0].is_string(),
            "{bad}: {body}"
        );
    }
    let res = app
        .patch(
            &alice,
            "/api/users/me/",
            json!({"profile": {"birth_date": "1800-01-01"}}),
        )
        .await;
    assert_eq!(
        body_of(res, 200).await["profile"]["birth_date"],
        "1800-01-01"
    );
}

#[tokio::test]
async fn trailing_bytes_odd_ids_and_wrong_types_get_clear_errors() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .header("content-type", "application/json")
        .body(r#"{"username": "alice", "password": "x"} junk"#)
        .send()
        .await
        .unwrap();
    let body = body_of(res, 400).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{body}"
    );

    for path in [
        "+1",
        "%201",
        "1e0",
        "0x1",
        "1.0",
        "-0",
        "99999999999999999999",
    ] {
        let res = app.get(&alice, &paths::user(path)).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    assert_eq!(app.get(&alice, &paths::user(alice.id)).await.status(), 200);

    let res = app
        .patch(
            &alice,
            "/api/users/me/",
            json!({"profile": {"birth_date": 5}}),
        )
        .await;
    assert_eq!(
        body_of(res, 400).await,
        json!({"profile": {"birth_date": ["Not a valid string."]}})
    );
    let res = app
        .put(
            &alice,
            "/api/notifications/settings/",
            json!({"types": [], "do_not_disturb": false}),
        )
        .await;
    let body = body_of(res, 400).await;
    let text = body.to_string();
    assert!(
        !text.contains("invalid type") && !text.contains("sequence"),
        "{text}"
    );
    assert_eq!(
        body["types"],
        json!(["Expected a dictionary of items but got type \"list\"."])
    );
}

#[tokio::test]
async fn every_string_has_a_bound() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let huge = "x".repeat(2_000);
    let res = app
        .patch(
            &alice,
            "/api/users/me/",
            json!({"first_name": huge, "last_name": huge, "profile": {"bio": huge, "location": huge, "website": format!("https://{huge}.com")}}),
        )
        .await;
    let body = body_of(res, 400).await;
    for field in ["first_name", "last_name"] {
        assert!(
            body[field][0].as_str().unwrap().contains("no more than"),
            "{body}"
        );
    }
    for field in ["bio", "location", "website"] {
        assert!(body["profile"][field][0].is_string(), "{field}: {body}");
    }
    let res = app
        .post(
            &alice,
            "/api/auth/password/change/",
            json!({"old_password": PASSWORD, "new_password": "long pass ".repeat(200)}),
        )
        .await;
    let body = body_of(res, 400).await;
    assert!(
        body["new_password"][0].as_str().unwrap().contains("1024"),
        "{body}"
    );
}

#[tokio::test]
async fn a_page_number_past_any_list_is_a_404_not_a_dropped_connection() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for list in [
        "/api/users/",
        "/api/notifications/",
        "/api/users/blocked/",
        "/api/friends/request/",
    ] {
        for page in [
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "99999999999999999999",
        ] {
            let res = app
                .get(&alice, &format!("{list}?page={page}&page_size=100"))
                .await;
            assert_eq!(res.status(), 404, "{list} page {page}");
            assert_eq!(json_of(res).await["detail"], "Invalid page.");
        }
    }
}

#[tokio::test]
async fn concurrent_writes_never_fail_with_database_locked() {
    // On SQLite a transaction that read before writing failed at once ("database is locked")
    // when another writer committed in between: a 500 under any real concurrency.
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut others = Vec::new();
    for i in 0..16 {
        let other = app.register(&format!("other{i}")).await;
        app.befriend(&alice, &other).await;
        others.push(other);
    }
    let statuses = futures_util::future::join_all(others.iter().enumerate().map(|(i, other)| {
        let app = &app;
        let alice = &alice;
        async move {
            let res = if i % 2 == 0 {
                app.post(alice, &paths::block(other.id), json!({})).await
            } else {
                app.delete(alice, &paths::friend(other.id)).await
            };
            res.status().as_u16()
        }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let me = json_of(app.get(&alice, "/api/users/me/").await).await;
    assert_eq!(me["friend_count"], 0);
}
