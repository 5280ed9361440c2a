//! Several instances sharing PostgreSQL and Redis, and a broker that dies and comes back.
//! These run when `AGORA_TEST_REDIS_URL` is set (as in CI's second pass).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, TestUser, json_of};
use crate::paths;

/// Fails loudly when a test that needs Redis is run without it: such a test is ignored by
/// default and must never pass by doing nothing.
pub fn require_redis() {
    assert!(
        TestApp::has_redis(),
        "this test needs AGORA_TEST_REDIS_URL (it is run with --include-ignored)"
    );
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn events_cross_instances_and_presence_spans_them() {
    require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let alice = one.register("alice").await;
    let bob = two.register("bob").await;
    let carol = two.register("carol").await;
    let mut alice_ws = one.ws(&alice).await;

    // Caused through instance 2, received on instance 1.
    let res = two
        .post(&bob, "/api/friends/request/", json!({"receiver": alice.id}))
        .await;
    assert_eq!(res.status(), 201);
    let note = alice_ws.next_event("notification").await;
    assert_eq!(note["type"], "friend_request");
    let event = alice_ws.next_event("friend_request").await;
    assert_eq!(event["action"], "created");
    let id = event["friend_request"]["id"].as_i64().expect("id");
    one.put(
        &alice,
        &paths::friend_request(id),
        json!({"action": "accept"}),
    )
    .await;

    // Bob online through instance 2, then also through instance 1.
    let bob_two = two.ws(&bob).await;
    let online = alice_ws.next_event("online_status").await;
    assert_eq!(
        (online["user_id"].as_i64(), online["status"].as_str()),
        (Some(bob.id), Some("online"))
    );
    let bob_one = one.ws(&bob).await;
    let seen = json_of(one.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], true);

    // Closing one of the two leaves him online: the next event Alice gets is Carol's request.
    bob_two.close().await;
    let seen = json_of(two.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], true, "still connected to instance 1");
    two.request_friend(&carol, &alice).await;
    let frame = alice_ws.next_frame().await;
    assert_eq!(
        frame["type"], "notification",
        "no offline while a connection remains: {frame}"
    );
    alice_ws.next_event("friend_request").await;

    bob_one.close().await;
    let offline = alice_ws.next_event("online_status").await;
    assert_eq!(
        (offline["user_id"].as_i64(), offline["status"].as_str()),
        (Some(bob.id), Some("offline"))
    );
    let seen = json_of(two.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], false);

    // A user connected to both instances receives an event on both.
    let dave = two.register("dave").await;
    let mut dave_one = one.ws(&dave).await;
    let mut dave_two = two.ws(&dave).await;
    let res = one
        .post(
            &alice,
            "/api/friends/request/",
            json!({"receiver": dave.id}),
        )
        .await;
    assert_eq!(res.status(), 201);
    for ws in [&mut dave_one, &mut dave_two] {
        assert_eq!(
            ws.next_event("notification").await["type"],
            "friend_request"
        );
    }
}

/// A private redis-server on a free port, killed when dropped.
struct PrivateRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn start_on(port: u16, dir: tempfile::TempDir) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        Self { child, port, dir }
    }

    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let redis = Self::start_on(port, tempfile::tempdir().expect("dir"));
        redis.wait_until_up().await;
        redis
    }

    async fn wait_until_up(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::task::yield_now().await;
        }
    }

    fn kill(&mut self) {
        self.child.kill().expect("kill redis");
        self.child.wait().expect("reap redis");
    }

    async fn restart(mut self) -> Self {
        self.kill();
        let port = self.port;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("dir"));
        let redis = Self::start_on(port, dir);
        redis.wait_until_up().await;
        redis
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // Already dead after kill(); nothing to do then.
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn delivery_resumes_by_itself_after_the_broker_restarts() {
    require_redis();
    let redis = PrivateRedis::start().await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let one = TestApp::spawn_with(|s| s.redis_url = Some(url.clone())).await;
    let two = one.spawn_peer().await;
    let alice = one.register("alice").await;
    let bob = two.register("bob").await;
    let mut alice_ws = one.ws(&alice).await;

    let mut redis = redis;
    redis.kill();
    // While the broker is down: requests still succeed (events to other instances are lost),
    // and /health/ names the broker.
    let carol = two.register("carol").await;
    let res = two
        .post(
            &carol,
            "/api/friends/request/",
            json!({"receiver": alice.id}),
        )
        .await;
    assert_eq!(res.status(), 201);
    broker_reported_down(&two).await;
    // Local delivery goes on without the broker.
    let dave = one.register("dave").await;
    one.post(
        &dave,
        "/api/friends/request/",
        json!({"receiver": alice.id}),
    )
    .await;
    let note = alice_ws.next_event("notification").await;
    assert_eq!(note["sender"]["username"], "dave");

    let _redis = redis.restart().await;
    // Delivery resumes by itself: retry a cross-instance request until it arrives, within a
    // deadline, as a client of a recovering cluster would see it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = two
            .post(&bob, "/api/friends/request/", json!({"receiver": alice.id}))
            .await;
        assert!(
            res.status().is_success() || res.status() == 400,
            "never a 5xx: {}",
            res.status()
        );
        if res.status().is_success() {
            let id = json_of(res).await["id"].as_i64().expect("id");
            let arrived = tokio::time::timeout(Duration::from_millis(500), async {
                loop {
                    let frame = alice_ws.next_frame().await;
                    if frame["type"] == "friend_request"
                        && frame["data"]["friend_request"]["id"] == id
                    {
                        return;
                    }
                }
            })
            .await;
            if arrived.is_ok() {
                break;
            }
            // Not delivered: cancel and try again.
            two.delete(&bob, &paths::friend_request(id)).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery did not resume ({attempt} tries)"
        );
    }
    // Health recovers by itself too, once both of instance two's Redis clients are back (its
    // subscriber may reconnect a moment after the publisher). Polled at a steady pace.
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    loop {
        pace.tick().await;
        let health = json_of(two.get_anon("/health/").await).await;
        if health["broker"] == "ok" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health did not recover: {health}"
        );
    }
}

/// `/health/` answers from a probe made in the background: it names the broker as down within
/// a second of the broker's death, every answer at once.
async fn broker_reported_down(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut pace = tokio::time::interval(Duration::from_millis(50));
    loop {
        pace.tick().await;
        let health = app.get_anon("/health/").await;
        if health.status() == 503 {
            assert_eq!(json_of(health).await["broker"], "down");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker's death was not noticed"
        );
    }
}

/// `user`'s `is_online` as `viewer` sees it through `app`.
async fn is_online(app: &TestApp, viewer: &TestUser, user: &TestUser) -> serde_json::Value {
    json_of(app.get(viewer, &paths::user(user.id)).await).await["is_online"].clone()
}

/// Events lost to a broker outage are announced: every client that may have missed one gets
/// `resync`, on both sides of the gap; and a user connected throughout never reads as offline.
#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn a_broker_outage_ends_in_resync_and_presence_never_lies() {
    require_redis();
    let redis = PrivateRedis::start().await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let one = TestApp::spawn_with(|s| s.redis_url = Some(url.clone())).await;
    let two = one.spawn_peer().await;
    let alice = one.register("alice").await;
    let bob = two.register("bob").await;
    one.befriend(&alice, &bob).await;
    let room = crate::chat::direct(&two, &bob, &alice).await["id"].clone();
    let mut alice_ws = one.ws(&alice).await;
    let mut bob_ws = two.ws(&bob).await;
    alice_ws.next_event("online_status").await;
    assert_eq!(is_online(&one, &alice, &bob).await, true);

    let mut redis = redis;
    redis.kill();
    broker_reported_down(&two).await;
    // During the outage Bob's messages are stored and acknowledged, but cannot cross over.
    for i in 0..5 {
        let res = two
            .post(
                &bob,
                &paths::room_messages(&room),
                json!({"body": format!("gap {i}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    assert_eq!(
        is_online(&one, &alice, &bob).await,
        true,
        "online throughout the outage"
    );

    let _redis = redis.restart().await;
    // Both sides are told to fetch again what they show; Alice then finds every message.
    for ws in [&mut alice_ws, &mut bob_ws] {
        let resync = loop {
            let frame = ws.next_frame().await;
            if frame["type"] == "resync" {
                break frame["data"].clone();
            }
        };
        assert!(resync["since"].is_string(), "{resync}");
    }
    let history = json_of(one.get(&alice, &paths::room_messages(&room)).await).await;
    let bodies: Vec<&str> = history["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    for i in 0..5 {
        assert!(bodies.contains(&format!("gap {i}").as_str()), "{bodies:?}");
    }
    // Bob, connected throughout, reads as online from the other instance at every moment
    // while the broker settles and after.
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    for _ in 0..30 {
        pace.tick().await;
        assert_eq!(
            is_online(&one, &alice, &bob).await,
            true,
            "online after the outage"
        );
    }
}

/// A real `agora` process sharing `one`'s database and Redis, with `env` on top; started and
/// answering. Returns the process, its port and its data directory.
async fn process_peer(
    one: &TestApp,
    env: &[(&str, &str)],
) -> (std::process::Child, u16, tempfile::TempDir) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("dir");
    let s = &one.settings;
    let mut command = Command::new(env!("CARGO_BIN_EXE_agora"));
    command
        .env("AGORA_BIND", format!("127.0.0.1:{port}"))
        .env("AGORA_DATABASE_URL", &s.database_url)
        .env("AGORA_DATABASE_POOL_MIN", "0")
        .env("AGORA_REDIS_URL", s.redis_url.as_deref().expect("redis"))
        .env("AGORA_REDIS_PREFIX", &s.redis_prefix)
        .env("AGORA_SECRET_KEY", crate::helpers::SECRET)
        .env("AGORA_DATA_DIR", dir.path())
        .env("AGORA_CHAT_RATE_PER_SECOND", "0")
        .env("AGORA_LOG", "error")
        .stdout(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("start agora");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let health = format!("http://127.0.0.1:{port}/health/");
    while !reqwest::get(&health)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "instance two did not start"
        );
        tokio::task::yield_now().await;
    }
    (child, port, dir)
}

/// kill -9 of the instance that acknowledged messages, with sends in flight: every message it
/// acknowledged reaches the recipient on the other instance (or a `resync` announces a gap).
#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn acknowledged_messages_survive_the_death_of_their_instance() {
    require_redis();
    let one = TestApp::spawn().await;
    let alice = one.register("alice").await;
    let bob = one.register("bob").await;
    one.befriend(&alice, &bob).await;
    let room = crate::chat::direct(&one, &bob, &alice).await["id"].clone();
    let (mut two, port, _dir) = process_peer(&one, &[]).await;
    let mut alice_ws = one.ws(&alice).await;

    let url = format!("http://127.0.0.1:{port}{}", paths::room_messages(&room));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let mut senders = Vec::new();
    for sender in 0..8 {
        let (url, token, acked) = (url.clone(), bob.access.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0.. {
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("{sender}-{i}")}))
                    .send()
                    .await;
                let Ok(res) = sent else { return };
                if res.status() != 201 {
                    return;
                }
                let Ok(body) = res.json::<serde_json::Value>().await else {
                    return;
                };
                acked.lock().unwrap().push(body["id"].as_i64().expect("id"));
            }
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 200 {
        assert!(tokio::time::Instant::now() < deadline, "sends too slow");
        tokio::task::yield_now().await;
    }
    two.kill().expect("kill -9 instance two");
    two.wait().expect("reap");
    for s in senders {
        s.await.expect("sender");
    }
    let mut owed: std::collections::HashSet<i64> = acked.lock().unwrap().iter().copied().collect();
    let total = owed.len();
    let mut resynced = false;
    while !owed.is_empty() && !resynced {
        let frame = alice_ws.next_frame().await;
        match frame["type"].as_str() {
            Some("chat_message") => {
                owed.remove(&frame["data"]["id"].as_i64().expect("id"));
            }
            Some("resync") => resynced = true,
            _ => {}
        }
    }
    assert!(
        owed.is_empty() || resynced,
        "{} of {total} acknowledged messages lost",
        owed.len()
    );
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn the_users_of_an_instance_that_dies_go_offline_after_the_ttl() {
    require_redis();
    let one = TestApp::spawn_with(|s| s.presence_ttl = Duration::from_secs(3)).await;
    let alice = one.register("alice").await;
    let bob = one.register("bob").await;
    one.befriend(&alice, &bob).await;

    // Instance two is a real `agora` process, so it can really die.
    let (mut two, port, _dir) = process_peer(&one, &[("AGORA_PRESENCE_TTL_SECS", "3")]).await;

    let mut alice_ws = one.ws(&alice).await;
    let url = format!("ws://127.0.0.1:{port}/ws/?token={}", bob.access);
    let (_bob_socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("bob connects to two");
    let online = alice_ws.next_event("online_status").await;
    assert_eq!(
        (online["user_id"].as_i64(), online["status"].as_str()),
        (Some(bob.id), Some("online"))
    );

    two.kill().expect("kill instance two");
    two.wait().expect("reap");
    let offline = alice_ws.next_event("online_status").await;
    assert_eq!(
        (offline["user_id"].as_i64(), offline["status"].as_str()),
        (Some(bob.id), Some("offline"))
    );
    let seen = json_of(one.get(&alice, &paths::user(bob.id)).await).await;
    assert_eq!(seen["is_online"], false);
    assert!(seen["last_seen"].is_string());
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn a_revocation_through_one_instance_holds_on_the_other_at_once() {
    require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let alice = one.register("alice").await;
    // Instance two has Alice cached and holds her socket.
    assert_eq!(two.get(&alice, "/api/users/me/").await.status(), 200);
    let mut ws = two.ws(&alice).await;

    // A profile change through one is what two shows next.
    let res = one
        .patch(&alice, "/api/users/me/", json!({"first_name": "Alicia"}))
        .await;
    assert_eq!(res.status(), 200);
    let me = json_of(two.get(&alice, "/api/users/me/").await).await;
    assert_eq!(me["first_name"], "Alicia");

    let res = one
        .post(
            &alice,
            "/api/auth/password/change/",
            json!({"old_password": crate::helpers::PASSWORD, "new_password": "a-new-long-passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = two.get(&alice, "/api/users/me/").await;
    assert_eq!(
        res.status(),
        401,
        "the old token still works on the other instance"
    );
    let code = tokio::time::timeout(Duration::from_secs(1), ws.closed())
        .await
        .expect("the socket on the other instance closed within a second");
    assert_eq!(code, 4401);
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn a_friends_list_cached_on_one_instance_follows_changes_made_on_the_other() {
    require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let alice = one.register("alice").await;
    let bob = one.register("bob").await;
    let carol = one.register("carol").await;
    one.befriend(&alice, &bob).await;
    let list = json_of(two.get(&alice, "/api/friends/").await).await;
    assert_eq!(list["count"], 1);
    one.befriend(&carol, &alice).await;
    let res = one
        .patch(&bob, "/api/users/me/", json!({"first_name": "Robert"}))
        .await;
    assert_eq!(res.status(), 200);
    let list = json_of(two.get(&alice, "/api/friends/").await).await;
    assert_eq!(list["count"], 2);
    assert_eq!(list["results"][0]["first_name"], "Robert");
    assert_eq!(
        one.delete(&alice, &paths::friend(carol.id)).await.status(),
        204
    );
    let list = json_of(two.get(&alice, "/api/friends/").await).await;
    assert_eq!(list["count"], 1);
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn chat_members_on_different_instances_get_messages_receipts_and_typing() {
    require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let alice = one.register("alice").await;
    let bob = one.register("bob").await;
    let room = json_of(
        one.post(&alice, "/api/chat/direct/", json!({"user_id": bob.id}))
            .await,
    )
    .await;
    let id = room["id"].as_i64().unwrap();
    let mut alice_ws = one.ws(&alice).await;
    let mut bob_ws = two.ws(&bob).await;

    alice_ws
        .send(json!({"type": "chat_message", "data": {"room": id, "body": "across", "client_id": "x-1"}}))
        .await;
    let ack = alice_ws.next_event("ack").await;
    let mid = ack["message"]["id"].clone();
    assert_eq!(bob_ws.next_event("chat_message").await["body"], "across");
    assert_eq!(alice_ws.next_event("chat_message").await["id"], mid);

    bob_ws
        .send(json!({"type": "typing", "data": {"room": id, "is_typing": true}}))
        .await;
    assert_eq!(alice_ws.next_event("typing").await["user_id"], bob.id);
    bob_ws
        .send(json!({"type": "read", "data": {"room": id, "message_id": mid}}))
        .await;
    let receipt = alice_ws.next_event("message_read").await;
    assert_eq!(receipt["message_id"], mid);

    // And back the other way, sent over REST through instance two.
    let res = two
        .post(&bob, &paths::room_messages(id), json!({"body": "back"}))
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(alice_ws.next_event("chat_message").await["body"], "back");
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn a_message_to_a_big_room_reaches_members_on_every_instance_in_one_publish() {
    require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let owner = one.register("owner").await;
    let mut members = Vec::new();
    for i in 0..20 {
        let m = one.register(&format!("member{i:02}")).await;
        one.befriend(&owner, &m).await;
        members.push(m);
    }
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let res = one
        .post(
            &owner,
            "/api/chat/rooms/",
            json!({"name": "big", "member_ids": ids}),
        )
        .await;
    let room = json_of(res).await["id"].as_i64().unwrap();
    // More recipients than the per-user threshold, on both instances.
    let mut far = Vec::new();
    for m in &members[..3] {
        far.push(two.ws(m).await);
    }
    let mut near = one.ws(&members[3]).await;
    let res = one
        .post(
            &owner,
            &paths::room_messages(room),
            json!({"body": "all of you"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    for ws in &mut far {
        assert_eq!(ws.next_event("chat_message").await["body"], "all of you");
    }
    assert_eq!(near.next_event("chat_message").await["body"], "all of you");
    // Exactly once on the instance that published it too.
    near.send(json!({"type": "ping"})).await;
    near.next_event("pong").await;
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_REDIS_URL; run with --include-ignored"]
async fn a_member_change_on_one_instance_holds_at_once_for_sends_on_another() {
    require_redis();
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let owner = one.register("owner").await;
    let bob = one.register("bob").await;
    let carol = one.register("carol").await;
    one.befriend(&owner, &bob).await;
    one.befriend(&owner, &carol).await;
    let res = one
        .post(
            &owner,
            "/api/chat/rooms/",
            json!({"name": "crew", "member_ids": [bob.id]}),
        )
        .await;
    let room = json_of(res).await["id"].as_i64().unwrap();
    // Instance two learns the members, then they change on instance one.
    assert_eq!(send(&two, room, &bob, "hello").await, 201);
    assert_eq!(send(&two, room, &carol, "not yet").await, 404);
    let res = one
        .post(
            &owner,
            &paths::room_members(room),
            json!({"user_ids": [carol.id]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut carol_ws = two.ws(&carol).await;
    assert_eq!(send(&two, room, &carol, "I am in").await, 201);
    assert_eq!(send(&two, room, &owner, "welcome").await, 201);
    assert_eq!(carol_ws.next_event("chat_message").await["body"], "I am in");
    assert_eq!(carol_ws.next_event("chat_message").await["body"], "welcome");
    let res = one.delete(&owner, &paths::room_member(room, bob.id)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(send(&two, room, &bob, "still here?").await, 404);

    // A group's room: joining, leaving and deleting the group on one, sending on two.
    let res = one
        .post(&owner, "/api/groups/", json!({"name": "Walkers"}))
        .await;
    let group = json_of(res).await;
    let (gid, groom) = (
        group["id"].as_i64().unwrap(),
        group["room"].as_i64().unwrap(),
    );
    assert_eq!(send(&two, groom, &owner, "hi").await, 201);
    assert_eq!(send(&two, groom, &carol, "hi").await, 404);
    let res = one.post(&carol, &paths::group_join(gid), json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(send(&two, groom, &carol, "hi").await, 201);
    let res = one
        .delete(&carol, &paths::group_member(gid, carol.id))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(send(&two, groom, &carol, "hi").await, 404);
    let res = one.delete(&owner, &paths::group(gid)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(send(&two, groom, &owner, "hi").await, 404);
}

/// `user` posts `body` to `room` through `app`; the status.
async fn send(app: &TestApp, room: i64, user: &TestUser, body: &str) -> u16 {
    app.post(user, &paths::room_messages(room), json!({"body": body}))
        .await
        .status()
        .as_u16()
}
