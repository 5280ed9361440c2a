//! The database going away and coming back, for real: the server reaches PostgreSQL through a
//! TCP relay that the test cuts (every connection reset, new ones refused) and restores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{TestApp, json_of};

/// Forwards TCP connections to `upstream` until cut.
struct Relay {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (cut, links) = (cut.clone(), links.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
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

#[tokio::test]
#[ignore = "needs AGORA_TEST_DATABASE_URL; run with --include-ignored"]
async fn a_database_outage_is_a_quick_503_and_requests_recover_by_themselves() {
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
    let relay = Relay::start(upstream).await;
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
