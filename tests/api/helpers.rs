//! `TestApp`: the real server on 127.0.0.1:0 with its own database (a fresh SQLite file, or a
//! fresh PostgreSQL database when `AGORA_TEST_DATABASE_URL` is set), and a helper per verb.

use crate::paths;
use std::sync::Once;
use std::time::Duration;

use agora::app;
use agora::config::Settings;
use agora::state::AppState;
use reqwest::{Method, Response};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";
pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub base: String,
    pub settings: Settings,
    pub client: reqwest::Client,
    pub state: AppState,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub access: String,
    pub refresh: String,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .init();
        }
    });
}

/// A database of its own for one test.
pub async fn fresh_database_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("AGORA_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let admin = Database::connect(&base)
                .await
                .expect("connect to the test server");
            let name = format!("agora_test_{}", rand::random::<u64>());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            admin.close().await.expect("close admin connection");
            let mut url = url::Url::parse(&base).expect("AGORA_TEST_DATABASE_URL is a URL");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("agora.db").display()
        ),
    }
}

/// Media on local disk under the test's directory, or, with `AGORA_TEST_S3_ENDPOINT` (a local
/// S3-compatible server such as moto), in a fresh bucket of the test's own.
async fn test_media_settings(dir: &tempfile::TempDir) -> agora::config::MediaSettings {
    let mut media = agora::config::MediaSettings::local(dir.path().join("media"));
    if let Some(endpoint) = std::env::var("AGORA_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    {
        let bucket = format!("agora-test-{:016x}", rand::random::<u64>());
        let res = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .expect("S3 server reachable");
        assert!(res.status().is_success(), "create bucket: {}", res.status());
        media.s3 = Some(agora::config::S3Settings {
            bucket,
            endpoint: Some(endpoint),
            region: "us-east-1".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
        });
    }
    media
}

/// A fresh VAPID private key, as `AGORA_VAPID_PRIVATE_KEY` takes it.
fn test_vapid_key() -> String {
    use base64::Engine as _;
    let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_bytes())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            bind: "127.0.0.1:0".parse().expect("address"),
            data_dir: dir.path().to_owned(),
            database_url: fresh_database_url(&dir).await,
            // Many servers at once share one PostgreSQL: no idle connections held.
            database_pool: agora::config::Pool {
                min: 0,
                max: 32,
                wait: Duration::from_secs(5),
            },
            secret_key: SECRET.into(),
            access_token_lifetime: Duration::from_secs(300),
            refresh_token_lifetime: Duration::from_secs(86_400),
            cors_origins: vec!["http://frontend.test".into()],
            log: "info".into(),
            auto_migrate: true,
            login_rate_per_address: 1000,
            login_failures_per_username: 1000,
            register_rate_per_address: 0,
            trusted_proxies: Vec::new(),
            public_url: None,
            chat_rate_per_second: 0,
            chat_burst: 50,
            ws_max_connections: 1000,
            ws_max_per_user: 100,
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 64 * 1024,
            // Cheap hashes keep the suite fast; the algorithm is the same.
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            redis_url: std::env::var("AGORA_TEST_REDIS_URL")
                .ok()
                .filter(|u| !u.is_empty()),
            // Tests share one Redis server: each gets its own namespace.
            redis_prefix: format!("agora_test_{}", rand::random::<u64>()),
            ws_heartbeat: Duration::from_secs(30),
            presence_ttl: Duration::from_secs(60),
            socket_send_buffer: None,
            feed_walk_friends: 1_000,
            media: test_media_settings(&dir).await,
            accounts: agora::config::AccountSettings {
                // Retries come quickly, and a killed instance's jobs are taken over soon.
                jobs: agora::config::JobSettings {
                    workers: 4,
                    lease: Duration::from_secs(3),
                    retry_base: Duration::from_millis(200),
                    poll: Duration::from_millis(200),
                },
                ..Default::default()
            },
            // Pushes may go to the tests' own receivers on this machine, and nowhere else.
            push: agora::config::PushSettings {
                vapid_private_key: agora::secret::Secret::new(test_vapid_key()),
                vapid_generated: None,
                subject: Some("mailto:ops@agora.test".into()),
                allowlist: vec!["127.0.0.1".into()],
                ttl: Duration::from_secs(86_400),
            },
        };
        configure(&mut settings);
        Self::start(settings, dir).await
    }

    /// Begins a graceful shutdown, as SIGTERM does.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).expect("server still running");
        }
    }

    /// After `shutdown`: waits until `serve` has returned, which it does once every socket and
    /// background task has ended (or its deadline passed).
    pub async fn stopped(&mut self) {
        let served = self.served.take().expect("not awaited yet");
        tokio::time::timeout(EVENT_DEADLINE, served)
            .await
            .expect("serve returned before the deadline")
            .expect("serve task")
            .expect("serve result");
    }

    /// Whether the tests run against Redis (and so can run several instances).
    pub fn has_redis() -> bool {
        std::env::var("AGORA_TEST_REDIS_URL").is_ok_and(|u| !u.is_empty())
    }

    /// A second instance sharing this one's database and Redis namespace.
    pub async fn spawn_peer(&self) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = self.settings.clone();
        settings.data_dir = dir.path().to_owned();
        Self::start(settings, dir).await
    }

    async fn start(settings: Settings, dir: tempfile::TempDir) -> Self {
        let state = app::state(settings.clone()).await.expect("app state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(app::serve(state.clone(), listener, async {
            let _ = stopped.await; // the sender dropping is the signal too
        }));
        Self {
            settings,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            state,
            _dir: dir,
            stop: Some(stop),
            served: Some(served),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> Response {
        self.request(Method::GET, path, Some(&user.access), None)
            .await
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(&user.access), Some(body))
            .await
    }

    pub async fn put(&self, user: &TestUser, path: &str, body: Value) -> Response {
        self.request(Method::PUT, path, Some(&user.access), Some(body))
            .await
    }

    pub async fn patch(&self, user: &TestUser, path: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(&user.access), Some(body))
            .await
    }

    pub async fn delete(&self, user: &TestUser, path: &str) -> Response {
        self.request(Method::DELETE, path, Some(&user.access), None)
            .await
    }

    pub async fn post_anon(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path, None, Some(body)).await
    }

    pub async fn get_anon(&self, path: &str) -> Response {
        self.request(Method::GET, path, None, None).await
    }

    /// Registers `username` with the default password and returns its tokens.
    pub async fn register(&self, username: &str) -> TestUser {
        let res = self
            .post_anon(
                "/api/auth/register/",
                json!({
                    "username": username,
                    "email": format!("{username}@example.com"),
                    "password": PASSWORD,
                }),
            )
            .await;
        assert_eq!(res.status(), 201, "registering {username}");
        let body: Value = res.json().await.expect("json");
        TestUser {
            id: body["user"]["id"].as_i64().expect("id"),
            username: username.into(),
            access: body["access"].as_str().expect("access").into(),
            refresh: body["refresh"].as_str().expect("refresh").into(),
        }
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post_anon(
            "/api/auth/login/",
            json!({"username": login, "password": password}),
        )
        .await
    }

    /// Logs in as an existing account (a seeded one, say) and returns its tokens.
    pub async fn sign_in(&self, login: &str, password: &str) -> TestUser {
        let res = self.login(login, password).await;
        assert_eq!(res.status(), 200, "{login} logs in");
        let body = json_of(res).await;
        TestUser {
            id: body["user"]["id"].as_i64().unwrap_or_default(),
            username: login.into(),
            access: body["access"].as_str().expect("access").into(),
            refresh: body["refresh"].as_str().unwrap_or_default().into(),
        }
    }

    /// `from` sends `to` a friend request; returns its id.
    pub async fn request_friend(&self, from: &TestUser, to: &TestUser) -> i64 {
        let res = self
            .post(from, "/api/friends/request/", json!({"receiver": to.id}))
            .await;
        assert_eq!(res.status(), 201);
        json_of(res).await["id"].as_i64().expect("id")
    }

    /// `a` asks `b`, `b` accepts: they are friends.
    pub async fn befriend(&self, a: &TestUser, b: &TestUser) -> i64 {
        let id = self.request_friend(a, b).await;
        let res = self
            .put(b, &paths::friend_request(id), json!({"action": "accept"}))
            .await;
        assert_eq!(res.status(), 200);
        id
    }

    /// Waits until `check` holds for the jobs in the database (what the queue did is read
    /// there: no endpoint shows jobs).
    pub async fn until_jobs(&self, what: &str, check: impl Fn(&[agora::jobs::Job]) -> bool) {
        use sea_orm::EntityTrait;
        let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
        loop {
            let jobs = agora::db::entities::job::Entity::find()
                .all(&self.state.db)
                .await
                .expect("jobs");
            if check(&jobs) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {jobs:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Makes a user staff directly in the database: there is no endpoint for it, by design.
    pub async fn make_staff(&self, user: &TestUser) {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        agora::db::entities::user::ActiveModel {
            id: Set(user.id),
            is_staff: Set(true),
            ..Default::default()
        }
        .update(&self.state.db)
        .await
        .expect("make staff");
        // A change made behind the server's back, as an admin tool would: tell the server.
        self.state.user_changed(user.id).await;
    }
}

pub async fn json_of(res: Response) -> Value {
    let status = res.status();
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("status {status}: not JSON: {text}"))
}

/// The status and the JSON body (null when the body is not JSON).
pub async fn status_body(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for an event before failing: generous, and never a sleep.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(10);

pub struct WsClient {
    pub socket: Socket,
}

impl TestApp {
    pub fn ws_url(&self, token: &str) -> String {
        format!(
            "ws://{}/ws/?token={token}",
            self.base.trim_start_matches("http://")
        )
    }

    /// Opens a WebSocket as `user`; waits until the server has registered it (a ping answered).
    pub async fn ws(&self, user: &TestUser) -> WsClient {
        let (socket, _) = tokio_tungstenite::connect_async(self.ws_url(&user.access))
            .await
            .expect("websocket upgrade");
        let mut client = WsClient { socket };
        client.send(json!({"type": "ping", "data": {}})).await;
        client.next_event("pong").await;
        client
    }
}

impl WsClient {
    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::text(
                frame.to_string(),
            ))
            .await
            .expect("send frame");
    }

    /// The next JSON frame of any type.
    pub async fn next_frame(&mut self) -> Value {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(EVENT_DEADLINE, self.socket.next())
                .await
                .expect("no frame before the deadline")
                .expect("socket open")
                .expect("frame");
            match msg {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame of type `kind`, skipping `online_status` noise; fails after the deadline.
    pub async fn next_event(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next_frame().await;
            if frame["type"] == kind {
                return frame["data"].clone();
            }
            assert!(
                frame["type"] == "online_status" || frame["type"] == "pong",
                "expected {kind}, got {frame}"
            );
        }
    }

    /// Closes from the client side and waits for the server to finish the handshake, which it
    /// does only after it has processed the disconnection.
    pub async fn close(mut self) {
        use futures_util::StreamExt;
        self.socket.close(None).await.expect("send close");
        while let Ok(Some(Ok(_))) = tokio::time::timeout(EVENT_DEADLINE, self.socket.next()).await {
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self) -> u16 {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = tokio::time::timeout(EVENT_DEADLINE, self.socket.next())
                .await
                .expect("no close before the deadline");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) | None => return 1005,
                Some(Err(e)) => panic!("socket error instead of a close frame: {e}"),
                Some(Ok(_)) => continue,
            }
        }
    }
}
