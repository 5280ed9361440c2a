use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, json_of};

/// Every operation of the served OpenAPI document that takes a body: (method, path with every
/// `{param}` set to `id`, whether it needs a token). Read from the document, so an endpoint added
/// later is covered without a list to remember.
async fn body_endpoints(app: &TestApp, id: i64) -> Vec<(String, String, bool)> {
    let schema = json_of(app.get_anon("/api/schema/").await).await;
    let mut out = Vec::new();
    for (path, ops) in schema["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            if op.get("requestBody").is_none() {
                continue;
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut concrete = String::new();
            let mut rest = path.as_str();
            while let Some(open) = rest.find('{') {
                concrete.push_str(&rest[..open]);
                concrete.push_str(&id.to_string());
                rest = &rest[rest[open..].find('}').expect("closing brace") + open + 1..];
            }
            concrete.push_str(rest);
            out.push((method.to_uppercase(), concrete, secured));
        }
    }
    out
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_in_the_drf_shape_on_every_endpoint() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let res = app
        .post(&bob, "/api/friends/request/", json!({"receiver": alice.id}))
        .await;
    let request = json_of(res).await["id"].as_i64().expect("id");
    // Alice and her friend request share the id 1, so `{id}` names something real where it can.
    assert_eq!((alice.id, request), (1, 1));
    let endpoints = body_endpoints(&app, 1).await;
    assert!(
        endpoints.len() >= 30,
        "{} operations with a body",
        endpoints.len()
    );
    // (content type, body, whether every endpoint must refuse it): a body of wrongly typed
    // fields is refused only where those fields mean something, and ignored elsewhere (DRF).
    let bodies: &[(&str, &str, bool)] = &[
        ("application/json", "{\"username\": ", true),
        ("application/json", "[1, 2]", true),
        ("application/json", "\"just a string\"", true),
        ("application/json", "null", true),
        ("text/plain", "hello", true),
        // Forms are read as DRF reads them: unknown fields are ignored, a NUL is refused.
        ("application/x-www-form-urlencoded", "a=b", false),
        ("application/x-www-form-urlencoded", "a=%00", true),
        (
            "application/x-www-form-urlencoded",
            "username=%FF%FE&password=%",
            false,
        ),
        (
            "multipart/form-data; boundary=x",
            "not a multipart body",
            true,
        ),
        (
            "application/json",
            "{\"username\": {\"n\": 1}, \"password\": [1], \"profile\": 7, \"receiver\": {}, \"action\": 3, \"types\": [], \"refresh\": 1, \"token\": false, \"old_password\": 1, \"email\": 2}",
            false,
        ),
    ];
    for (method, path, auth) in &endpoints {
        for (content_type, body, must_refuse) in bodies {
            let mut req = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).expect("method"),
                    app.url(path),
                )
                .header("content-type", *content_type)
                .body(body.to_string());
            if *auth {
                req = req.bearer_auth(&alice.access);
            }
            let res = req.send().await.expect("sent");
            let status = res.status().as_u16();
            if *must_refuse {
                assert!(
                    (400..500).contains(&status),
                    "{method} {path} {body}: {status}"
                );
            } else {
                assert!(status < 500, "{method} {path} {body}: {status}");
            }
            let json = json_of(res).await;
            assert!(json.is_object(), "{method} {path}: {json}");
        }
    }
}

#[tokio::test]
async fn bad_json_wrong_content_type_and_large_bodies_have_their_statuses() {
    let app = TestApp::spawn().await;
    let send = |ct: &'static str, body: String| {
        app.client
            .post(app.url("/api/auth/login/"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let res = send("application/json", "{oops".into())
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    let detail = json_of(res).await["detail"]
        .as_str()
        .expect("detail")
        .to_owned();
    assert!(detail.starts_with("JSON parse error - "), "{detail}");

    let res = send("text/plain", "{}".into()).await.expect("sent");
    assert_eq!(res.status(), 415);
    assert_eq!(
        json_of(res).await["detail"],
        "Unsupported media type \"text/plain\" in request."
    );

    let huge = format!("{{\"username\": \"{}\"}}", "x".repeat(200 * 1024));
    let res = send("application/json", huge).await.expect("sent");
    assert_eq!(res.status(), 413);
    assert!(json_of(res).await["detail"].is_string());
}

/// DRF's default parsers take forms wherever they take JSON, so a frontend written for DRF that
/// posts forms works unchanged.
#[tokio::test]
async fn form_and_multipart_bodies_are_read_like_json() {
    let app = TestApp::spawn().await;
    let form = reqwest::multipart::Form::new()
        .text("username", "carol")
        .text("email", "carol@example.com")
        .text("password", "correct-horse-battery")
        .part(
            "ignored",
            reqwest::multipart::Part::bytes(b"a file".to_vec()).file_name("a.txt"),
        );
    let res = app
        .client
        .post(app.url("/api/auth/register/"))
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let (status, body) = crate::helpers::status_body(res).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["username"], "carol");

    // A form is held within the same body limit as JSON.
    let huge = reqwest::multipart::Form::new().text("username", "x".repeat(2 * 1024 * 1024));
    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .multipart(huge)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 413);

    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .form(&[("username", "carol"), ("password", "correct-horse-battery")])
        .send()
        .await
        .expect("sent");
    let (status, body) = crate::helpers::status_body(res).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access"].as_str().expect("access").to_owned();

    // Numbers and booleans are read from their text, with DRF's messages when they are not.
    let patch = |pairs: &'static [(&'static str, &'static str)]| {
        app.client
            .patch(app.url("/api/users/me/"))
            .bearer_auth(&access)
            .form(pairs)
            .send()
    };
    let (status, body) =
        crate::helpers::status_body(patch(&[("first_name", "Carol")]).await.expect("sent")).await;
    assert_eq!(
        (status, &body["first_name"]),
        (200, &json!("Carol")),
        "{body}"
    );
    let dave = app.register("dave").await;
    let request = |receiver: String| {
        app.client
            .post(app.url("/api/friends/request/"))
            .bearer_auth(&access)
            .form(&[("receiver", receiver)])
            .send()
    };
    let (status, body) =
        crate::helpers::status_body(request("nobody".into()).await.expect("sent")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"receiver": ["Incorrect type. Expected pk value, received str."]})
    );
    let (status, body) =
        crate::helpers::status_body(request(dave.id.to_string()).await.expect("sent")).await;
    assert_eq!(
        (status, &body["receiver"]["id"]),
        (201, &json!(dave.id)),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_in_json() {
    let app = TestApp::spawn().await;
    let res = app.get_anon("/api/nothing-here/").await;
    assert_eq!(res.status(), 404);
    assert_eq!(json_of(res).await, json!({"detail": "Not found."}));
    let res = app
        .request(Method::DELETE, "/api/auth/login/", None, None)
        .await;
    assert_eq!(res.status(), 405);
    assert_eq!(
        json_of(res).await,
        json!({"detail": "Method \"DELETE\" not allowed."})
    );
}

#[tokio::test]
async fn paths_work_with_and_without_the_trailing_slash() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for path in ["/api/users/me/", "/api/users/me", "/health/", "/health"] {
        assert_eq!(app.get(&alice, path).await.status(), 200, "{path}");
    }
    let res = app
        .post_anon("/api/auth/verify", json!({"token": alice.access}))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn responses_carry_a_request_id_and_cors_headers() {
    let app = TestApp::spawn().await;
    let res = app.get_anon("/health/").await;
    assert!(res.headers().contains_key("x-request-id"));
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/users/me/"))
        .header("origin", "http://frontend.test")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .expect("cors"),
        "http://frontend.test"
    );
}

async fn raw_exchange(app: &TestApp, sent: &[u8]) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = std::time::Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(sent).await.unwrap();
    let mut out = Vec::new();
    // Read until the server closes; the deadline only guards against a hang.
    tokio::time::timeout(crate::helpers::EVENT_DEADLINE, tcp.read_to_end(&mut out))
        .await
        .expect("the server closed the connection before the deadline")
        .ok();
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_client_that_stops_mid_head_is_dropped_after_the_header_timeout() {
    let app =
        TestApp::spawn_with(|s| s.header_read_timeout = std::time::Duration::from_secs(1)).await;
    let (_, took) = raw_exchange(&app, b"GET /health/ HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    assert!(
        took < std::time::Duration::from_secs(5),
        "held for {took:?}"
    );
}

#[tokio::test]
async fn a_body_that_never_finishes_is_a_json_408() {
    let app = TestApp::spawn_with(|s| s.request_timeout = std::time::Duration::from_secs(1)).await;
    let (response, _) = raw_exchange(
        &app,
        b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"username\":",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{response}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert!(body["detail"].is_string());
}
