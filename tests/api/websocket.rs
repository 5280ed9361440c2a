use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::{TestApp, TestUser, json_of};
use crate::paths;

async fn refused_status(url: String) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Err(tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("the upgrade should have been refused"),
    }
}

#[tokio::test]
async fn the_upgrade_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let base = app.ws_url("x");
    let no_token = base.split('?').next().expect("url").to_owned();
    assert_eq!(refused_status(no_token).await, 401);
    assert_eq!(refused_status(app.ws_url("garbage")).await, 401);
    assert_eq!(refused_status(app.ws_url(&alice.refresh)).await, 401);

    // The Authorization header works too.
    use tungstenite::client::IntoClientRequest;
    let mut req = no_token_url(&app).into_client_request().expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", alice.access).parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    use futures_util::{SinkExt, StreamExt};
    socket
        .send(Message::text(json!({"type": "ping"}).to_string()))
        .await
        .expect("send");
    let reply = socket.next().await.expect("frame").expect("ok");
    let v: serde_json::Value = serde_json::from_str(reply.to_text().expect("text")).expect("json");
    assert_eq!(v["type"], "pong");
}

fn no_token_url(app: &TestApp) -> String {
    app.ws_url("x").split('?').next().expect("url").to_owned()
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_stays_open() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(&alice).await;
    for (frame, code) in [
        ("not json".to_owned(), "parse_error"),
        (json!({"data": {}}).to_string(), "invalid"),
        (json!({"type": "dance", "data": {}}).to_string(), "invalid"),
        (
            json!({"type": "authenticate", "data": {}}).to_string(),
            "invalid",
        ),
        (
            json!({"type": "authenticate", "data": {"token": "nope"}}).to_string(),
            "token_not_valid",
        ),
    ] {
        use futures_util::SinkExt;
        ws.socket
            .send(Message::text(frame.clone()))
            .await
            .expect("send");
        let err = ws.next_event("error").await;
        assert_eq!(err["code"], code, "{frame}");
        assert!(err["detail"].is_string());
    }
    ws.send(json!({"type": "chat_message", "data": {"room": 1, "body": "hi", "client_id": "c-1"}}))
        .await;
    let err = ws.next_event("error").await;
    assert_eq!(err["client_id"], "c-1");
    ws.send(json!({"type": "ping", "data": {}})).await;
    ws.next_event("pong").await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_1009() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(&alice).await;
    let big = json!({"type": "ping", "data": {"pad": "x".repeat(70 * 1024)}});
    ws.send(big).await;
    assert_eq!(ws.closed().await, 1009);
}

async fn send_raw_frame(
    ws: &mut crate::helpers::WsClient,
    frame: tungstenite::protocol::frame::Frame,
) {
    use futures_util::SinkExt;
    ws.socket.send(Message::Frame(frame)).await.unwrap();
}

#[tokio::test]
async fn frames_much_larger_than_the_limit_close_with_1009_not_a_reset() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for size in [1024 * 1024, 4 * 1024 * 1024] {
        let mut ws = app.ws(&alice).await;
        use futures_util::SinkExt;
        // Sent without waiting for it to be written: the server may close before reading it all.
        let _ = ws.socket.send(Message::text("x".repeat(size))).await;
        assert_eq!(ws.closed().await, 1009, "{size} bytes");
    }
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007_and_a_protocol_violation_with_1002() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(&alice).await;
    send_raw_frame(
        &mut ws,
        Frame::message(vec![0xff, 0xfe, 0x7b], OpCode::Data(Data::Text), true),
    )
    .await;
    assert_eq!(ws.closed().await, 1007);

    let mut ws = app.ws(&alice).await;
    // A continuation with nothing to continue.
    send_raw_frame(
        &mut ws,
        Frame::message(b"x".to_vec(), OpCode::Data(Data::Continue), true),
    )
    .await;
    assert_eq!(ws.closed().await, 1002);
}

#[tokio::test]
async fn the_connection_closes_with_4401_when_the_token_expires_unless_renewed() {
    let app =
        TestApp::spawn_with(|s| s.access_token_lifetime = std::time::Duration::from_secs(4)).await;
    // A fresh token sent with `authenticate` keeps the connection open past the first expiry.
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let mut bob_ws = app.ws(&bob).await;
    // Carol's token expires no earlier than Bob's first one: her 4401 is the clock.
    let mut carol_ws = app.ws(&carol).await;
    let now = chrono::Utc::now().timestamp();
    let long_lived = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"token_type": "access", "exp": now + 3600, "iat": now, "jti": "renewed",
                "user_id": bob.id, "ver": 0}),
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::SECRET.as_bytes()),
    )
    .expect("sign");
    bob_ws
        .send(json!({"type": "authenticate", "data": {"token": long_lived}}))
        .await;
    bob_ws.send(json!({"type": "ping"})).await;
    bob_ws.next_event("pong").await;
    // Carol did not renew: her socket closes at her token's expiry.
    assert_eq!(carol_ws.closed().await, 4401);
    bob_ws.send(json!({"type": "ping"})).await;
    bob_ws.next_event("pong").await;
}

#[tokio::test]
async fn presence_goes_online_and_offline_for_friends_who_may_see_it() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;

    let mut alice_ws = app.ws(&alice).await;
    let bob_ws = app.ws(&bob).await;
    let online = alice_ws.next_event("online_status").await;
    assert_eq!(online["user_id"], bob.id);
    assert_eq!(online["status"], "online");
    let seen = json_of(app.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], true);

    // A second device: no new transition; closing one of two keeps Bob online.
    let second = app.ws(&bob).await;
    drop(bob_ws);
    let mut bob_ws = second;
    bob_ws.send(json!({"type": "ping"})).await;
    bob_ws.next_event("pong").await;
    drop(bob_ws);
    let offline = alice_ws.next_event("online_status").await;
    assert_eq!(offline["user_id"], bob.id);
    assert_eq!(offline["status"], "offline");
    assert!(offline["last_seen"].is_string());
    let seen = json_of(app.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], false);
    assert!(seen["last_seen"].is_string());

    // Strangers see null.
    let carol = app.register("carol").await;
    let seen = json_of(app.get(&carol, &paths::user(alice.id)).await).await;
    assert!(seen["is_online"].is_null());
}

#[tokio::test]
async fn a_user_hiding_presence_sends_no_online_status() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;
    app.patch(
        &bob,
        "/api/users/me/",
        json!({"profile": {"show_online_status": false}}),
    )
    .await;
    let mut alice_ws = app.ws(&alice).await;
    let _bob_ws = app.ws(&bob).await;
    // Bob's connection happened before this request, whose event comes next on Alice's socket.
    let carol = app.register("carol").await;
    app.request_friend(&carol, &alice).await;
    let frame = alice_ws.next_frame().await;
    assert_eq!(
        frame["type"], "notification",
        "no online_status came first: {frame}"
    );
}

#[tokio::test]
async fn a_connection_that_stops_answering_pings_is_dropped() {
    let app = TestApp::spawn_with(|s| s.ws_heartbeat = std::time::Duration::from_secs(1)).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;
    let mut alice_ws = app.ws(&alice).await;
    // Bob's client never reads again, so it never answers the server's pings.
    let _silent_bob = app.ws(&bob).await;
    let online = alice_ws.next_event("online_status").await;
    assert_eq!(online["status"], "online");
    // Alice keeps reading (and so answering pings) while the server gives up on Bob.
    let offline = alice_ws.next_event("online_status").await;
    assert_eq!(offline["user_id"], bob.id);
    assert_eq!(offline["status"], "offline");
    alice_ws.send(json!({"type": "ping"})).await;
    alice_ws.next_event("pong").await;
}

#[tokio::test]
async fn a_graceful_shutdown_closes_sockets_with_1001() {
    let mut app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(&alice).await;
    app.shutdown();
    assert_eq!(ws.closed().await, 1001);
    // serve returns only when every socket and background task (Redis ones included) ended.
    app.stopped().await;
    assert!(app.state.sockets.is_empty(), "socket tasks left");
    assert!(app.state.tasks.tracker.is_empty(), "background tasks left");
    assert_eq!(
        app.state.ws_slots.available_permits(),
        app.settings.ws_max_connections
    );
}

#[tokio::test]
async fn past_the_connection_cap_an_upgrade_is_a_503_with_retry_after() {
    let app = TestApp::spawn_with(|s| s.ws_max_connections = 2).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let first = app.ws(&alice).await;
    let _second = app.ws(&bob).await;
    refused(&app, &alice, 503).await;
    // A closed socket gives its slot back.
    first.close().await;
    let deadline = tokio::time::Instant::now() + crate::helpers::EVENT_DEADLINE;
    while app.state.ws_slots.available_permits() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot was never released"
        );
        tokio::task::yield_now().await;
    }
    app.ws(&alice).await;
}

/// An upgrade by `user` that the server refuses with `status`, `Retry-After` and a JSON body.
async fn refused(app: &TestApp, user: &TestUser, status: u16) {
    let err = tokio_tungstenite::connect_async(app.ws_url(&user.access))
        .await
        .expect_err("the socket is refused");
    let tokio_tungstenite::tungstenite::Error::Http(res) = err else {
        panic!("expected an HTTP refusal, got {err}");
    };
    assert_eq!(res.status(), status);
    let retry = res.headers().get("retry-after").expect("Retry-After");
    assert!(retry.to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let body: Value = serde_json::from_slice(res.body().as_deref().unwrap_or_default()).unwrap();
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn one_user_cannot_hold_every_socket_slot() {
    let app = TestApp::spawn_with(|s| {
        s.ws_max_connections = 4;
        s.ws_max_per_user = 2;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let _a1 = app.ws(&alice).await;
    let _a2 = app.ws(&alice).await;
    refused(&app, &alice, 429).await;
    // The others still get theirs.
    let _b1 = app.ws(&bob).await;
    let _b2 = app.ws(&bob).await;
    assert_eq!(app.state.ws_slots.available_permits(), 0);
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_for_a_free_one() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|s| s.max_connections = 2).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _idle2 = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    third
        .write_all(b"GET /health/ HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // Not served while two connections hold both permits (an answer would come in microseconds).
    let early = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        third.read_to_end(&mut answer),
    )
    .await;
    assert!(early.is_err(), "served past the cap: {answer:?}");
    // One closes: the third is accepted and answered.
    drop(idle);
    tokio::time::timeout(
        crate::helpers::EVENT_DEADLINE,
        third.read_to_end(&mut answer),
    )
    .await
    .expect("answered once a connection closed")
    .unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_password_change_closes_open_sockets_with_4401_at_once() {
    // The heartbeat is far away: the close is pushed, not found by polling.
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(&alice).await;
    let res = app
        .post(
            &alice,
            "/api/auth/password/change/",
            json!({"old_password": crate::helpers::PASSWORD, "new_password": "a-new-long-passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let code = tokio::time::timeout(std::time::Duration::from_secs(1), ws.closed())
        .await
        .expect("closed within a second");
    assert_eq!(code, 4401);
}

#[tokio::test]
async fn a_deactivation_closes_open_sockets_with_4401_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut ws = app.ws(&alice).await;
    let res = app
        .request(
            reqwest::Method::DELETE,
            "/api/users/me/",
            Some(&alice.access),
            Some(json!({"password": crate::helpers::PASSWORD})),
        )
        .await;
    assert_eq!(res.status(), 204);
    let code = tokio::time::timeout(std::time::Duration::from_secs(1), ws.closed())
        .await
        .expect("closed within a second");
    assert_eq!(code, 4401);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_without_stalling_others() {
    use futures_util::FutureExt;
    // A small kernel send buffer, so the flood below fills it in a few hundred events; room
    // for Dave's and Carol's sockets only.
    let app = TestApp::spawn_with(|s| {
        s.socket_send_buffer = Some(8192);
        s.ws_max_connections = 2;
    })
    .await;
    let alice = app.register("alice").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    app.befriend(&dave, &carol).await;
    // Long names make each event larger, so fewer rounds fill the kernel's socket buffers.
    let long = "x".repeat(150);
    app.patch(
        &alice,
        "/api/users/me/",
        json!({"first_name": long, "last_name": long}),
    )
    .await;
    let mut dave_ws = app.ws(&dave).await;

    // Carol's client has a tiny receive buffer and never reads after the handshake.
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(2048).expect("rcvbuf");
    let stream = tcp.connect(addr).await.expect("connect");
    let (mut stalled, _) = tokio_tungstenite::client_async(app.ws_url(&carol.access), stream)
        .await
        .expect("handshake");
    let online = dave_ws.next_event("online_status").await;
    assert_eq!(online["status"], "online");

    // Flood Carol with events until the server gives her connection up; Dave keeps receiving.
    for round in 0..3000 {
        let id = app.request_friend(&alice, &carol).await;
        let res = app.delete(&alice, &paths::friend_request(id)).await;
        assert_eq!(res.status(), 204);
        if let Some(frame) = dave_ws.next_frame().now_or_never() {
            assert_eq!(frame["type"], "online_status", "{frame}");
            assert_eq!(frame["data"]["user_id"], carol.id);
            assert_eq!(frame["data"]["status"], "offline", "after {round} rounds");
            // Her slot is free at once: a third socket fits under the cap of two.
            let third = tokio::time::timeout(crate::helpers::EVENT_DEADLINE, app.ws(&alice))
                .await
                .expect("the stalled connection's slot was given back");
            drop(third);
            // And the connection itself is gone: what was queued drains, then it ends.
            let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                use futures_util::StreamExt;
                while let Some(Ok(_)) = stalled.next().await {}
            })
            .await;
            assert!(
                drained.is_ok(),
                "the server kept the stalled connection open"
            );
            return;
        }
    }
    panic!("the stalled connection was never closed");
}

#[tokio::test]
async fn a_quick_reconnect_leaves_the_user_online() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    let mut alice_ws = app.ws(&alice).await;
    let mut bob_ws = app.ws(&bob).await;
    // A page reload, ten times: the old socket closes while the new one opens.
    for _ in 0..10 {
        let (_, new) = tokio::join!(bob_ws.close(), app.ws(&bob));
        bob_ws = new;
    }
    let seen = json_of(app.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], true);
    // Every transition is announced by now; Carol's request marks the end of them.
    app.request_friend(&carol, &alice).await;
    let mut last = None;
    loop {
        let frame = alice_ws.next_frame().await;
        match frame["type"].as_str() {
            Some("online_status") => last = Some(frame["data"]["status"].clone()),
            Some("notification") => break,
            _ => {}
        }
    }
    assert_eq!(
        last,
        Some(json!("online")),
        "the last word on Bob must be online"
    );
}

#[tokio::test]
async fn an_upgraded_socket_leaves_the_http_connection_cap() {
    // Two HTTP connections at most: the test client keeps one open; each WebSocket passes
    // through the other and gives it back once upgraded (the WebSocket caps count it then).
    let app = TestApp::spawn_with(|s| s.max_connections = 2).await;
    let alice = app.register("alice").await;
    let mut sockets = Vec::new();
    for _ in 0..4 {
        let ws = tokio::time::timeout(crate::helpers::EVENT_DEADLINE, app.ws(&alice))
            .await
            .expect("an upgrade is not held back by the sockets before it");
        sockets.push(ws);
    }
    assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 200);
}
