//! The database going away and coming back, for real: the server reaches PostgreSQL through a
//! TCP relay that the test cuts (every connection reset, new ones refused) and restores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{TestApp, json_of};

/// Forwards TCP connections to `upstream` until cut.
struct Relay {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// Connections refused while cut.
    refused: Arc<AtomicUsize>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let cut = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (cut, refused, links) = (cut.clone(), refused.clone(), links.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        refused.fetch_add(1, Ordering::SeqCst);
                        continue; // dropped: the connection is refused
                    }
                    let upstream = upstream.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            }
        });
        Self {
            addr,
            cut,
            refused,
            links,
            accept,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// A relay to the test PostgreSQL server (`AGORA_TEST_DATABASE_URL`).
async fn relay_to_postgres() -> Relay {
    let base = std::env::var("AGORA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .expect("this test needs AGORA_TEST_DATABASE_URL (it is run with --include-ignored)");
    let parsed = url::Url::parse(&base).expect("database URL");
    let upstream = format!(
        "{}:{}",
        parsed.host_str().expect("host"),
        parsed.port().unwrap_or(5432)
    );
    Relay::start(upstream).await
}

/// `database_url` reached through `relay`.
fn through(relay: &Relay, database_url: &str) -> String {
    let mut url = url::Url::parse(database_url).expect("test database URL");
    url.set_port(Some(relay.addr.port())).expect("port");
    url.set_host(Some("127.0.0.1")).expect("host");
    url.to_string()
}

/// An instance started while its database is down waits for it (with backoff) instead of
/// exiting, and fills a large pool in the background once it answers.
#[tokio::test]
#[ignore = "needs AGORA_TEST_DATABASE_URL; run with --include-ignored"]
async fn start_up_waits_for_a_database_that_is_briefly_down() {
    let relay = Arc::new(relay_to_postgres().await);
    relay.cut();
    let starting = tokio::spawn({
        let relay = relay.clone();
        async move {
            TestApp::spawn_with(move |s| {
                s.database_url = through(&relay, &s.database_url);
                s.database_pool.min = 32;
                s.database_pool.wait = Duration::from_secs(30);
            })
            .await
        }
    });
    // Refused twice: the instance is retrying, not gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.refused.load(Ordering::SeqCst) < 2 {
        assert!(
            !starting.is_finished(),
            "start-up ended while the database was down"
        );
        assert!(Instant::now() < deadline, "no retry");
        tokio::task::yield_now().await;
    }
    relay.restore();
    let app = starting.await.expect("started once the database answered");
    let alice = app.register("alice").await;
    assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 200);
}

#[tokio::test]
#[ignore = "needs AGORA_TEST_DATABASE_URL; run with --include-ignored"]
async fn a_database_outage_is_a_quick_503_and_requests_recover_by_themselves() {
    let relay = relay_to_postgres().await;
    let relay_addr = relay.addr;
    let app = TestApp::spawn_with(move |s| {
        let mut url = url::Url::parse(&s.database_url).expect("test database URL");
        url.set_port(Some(relay_addr.port())).expect("port");
        url.set_host(Some("127.0.0.1")).expect("host");
        s.database_url = url.to_string();
    })
    .await;
    let alice = app.register("alice").await;
    // A list that always reads the database (the caller and the friends list are cached).
    assert_eq!(app.get(&alice, "/api/notifications/").await.status(), 200);

    relay.cut();
    let started = Instant::now();
    let res = app.get(&alice, "/api/notifications/").await;
    let waited = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert!(json_of(res).await["detail"].is_string());
    assert!(waited < Duration::from_secs(5), "took {waited:?}");

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = app.get(&alice, "/api/notifications/").await.status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after the database came back"
        );
    }
}

/// Instances started together on a fresh database take turns migrating it: both serve.
#[tokio::test]
#[ignore = "needs AGORA_TEST_DATABASE_URL; run with --include-ignored"]
async fn instances_started_together_on_a_fresh_database_both_start() {
    let dir = tempfile::tempdir().expect("dir");
    let url = crate::helpers::fresh_database_url(&dir).await;
    assert!(
        url.starts_with("postgres"),
        "this test needs AGORA_TEST_DATABASE_URL (it is run with --include-ignored)"
    );
    let (one, two, three) = tokio::join!(
        TestApp::spawn_with(|s| s.database_url = url.clone()),
        TestApp::spawn_with(|s| s.database_url = url.clone()),
        TestApp::spawn_with(|s| s.database_url = url.clone()),
    );
    let alice = one.register("alice").await;
    for app in [&one, &two, &three] {
        assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 200);
    }
}
