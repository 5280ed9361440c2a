//! `agora-bench --faults`: what an operator's faults cost the real-time side, under load.
//!
//! Starts a private `redis-server` and two `agora` instances (A and B) on the PostgreSQL
//! database given with `--faults-database-url` (an empty one: it is migrated). Senders post
//! chat messages to A over REST, each to a receiver whose socket is on B. Two faults, each
//! under load: kill -9 of A (then a new A), and Redis stopped for a few seconds and started
//! again. For each: messages acknowledged (201), delivered to the receiver's socket, announced
//! by a `resync` to a receiver that did not get them, and lost (neither).

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{User, befriend, register, wait_healthy, ws_url};

const SENDERS: usize = 16;

#[derive(Serialize, Debug)]
pub struct FaultReport {
    pub fault: String,
    pub acknowledged: usize,
    pub delivered: usize,
    pub resynced: usize,
    pub lost: usize,
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        if self.0.kill().is_ok() {
            let _ = self.0.wait();
        }
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn start_redis(port: u16) -> Result<Process, String> {
    Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map(Process)
        .map_err(|e| format!("redis-server: {e}"))
}

fn start_agora(
    bin: &std::path::Path,
    port: u16,
    db: &str,
    redis: &str,
    dir: &std::path::Path,
) -> Result<Process, String> {
    Command::new(bin)
        .env("AGORA_BIND", format!("127.0.0.1:{port}"))
        .env("AGORA_DATA_DIR", dir)
        .env("AGORA_DATABASE_URL", db)
        .env("AGORA_REDIS_URL", redis)
        .env(
            "AGORA_SECRET_KEY",
            "faults-secret-key-that-is-long-enough-0123456789",
        )
        .env("AGORA_LOGIN_RATE_LIMIT", "0")
        .env("AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS", "0")
        .env("AGORA_CHAT_RATE_PER_SECOND", "0")
        .env("AGORA_ACCESS_TOKEN_LIFETIME", "3600")
        .env("AGORA_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .map(Process)
        .map_err(|e| format!("starting {}: {e}", bin.display()))
}

/// What one receiver's socket saw: chat message ids, and whether a `resync` came.
#[derive(Default)]
struct Seen {
    ids: HashSet<i64>,
    resync: bool,
}

fn listen(base: &str, user: &User, seen: Arc<Mutex<Seen>>) -> JoinHandle<()> {
    let url = ws_url(base, &user.access);
    tokio::spawn(async move {
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else {
            return;
        };
        while let Some(Ok(msg)) = socket.next().await {
            let Ok(text) = msg.to_text() else { continue };
            let Ok(frame) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            match frame["type"].as_str() {
                Some("chat_message") => {
                    if let Some(id) = frame["data"]["id"].as_i64() {
                        seen.ids.insert(id);
                    }
                }
                Some("resync") => seen.resync = true,
                _ => {}
            }
        }
    })
}

/// Senders posting to `base` until `stop`; the ids acknowledged per receiver.
fn send_until(
    base: &str,
    pairs: &[(User, User, i64)],
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<JoinHandle<Vec<i64>>> {
    pairs
        .iter()
        .map(|(sender, _, room)| {
            let url = format!("{base}/api/chat/rooms/{room}/messages/");
            let (token, stop) = (sender.access.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut acked = Vec::new();
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let sent = client
                        .post(&url)
                        .bearer_auth(&token)
                        .timeout(Duration::from_secs(5))
                        .json(&json!({"body": format!("fault {i}")}))
                        .send()
                        .await;
                    match sent {
                        Ok(res) if res.status().as_u16() == 201 => {
                            if let Ok(body) = res.json::<Value>().await
                                && let Some(id) = body["id"].as_i64()
                            {
                                acked.push(id);
                            }
                        }
                        // A dead instance: wait for the stop.
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                        Ok(_) => {}
                    }
                }
                acked
            })
        })
        .collect()
}

async fn tally(
    fault: &str,
    senders: Vec<JoinHandle<Vec<i64>>>,
    seen: &[Arc<Mutex<Seen>>],
) -> FaultReport {
    let mut acked = Vec::new();
    for s in senders {
        acked.push(s.await.unwrap_or_default());
    }
    // Time for what is in flight to arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut report = FaultReport {
        fault: fault.to_owned(),
        acknowledged: 0,
        delivered: 0,
        resynced: 0,
        lost: 0,
    };
    for (ids, seen) in acked.iter().zip(seen) {
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            report.acknowledged += 1;
            if seen.ids.contains(id) {
                report.delivered += 1;
            } else if seen.resync {
                report.resynced += 1;
            } else {
                report.lost += 1;
            }
        }
    }
    report
}

/// Receivers listening on B and senders posting to A, until `finish` counts what happened.
struct Load {
    seen: Vec<Arc<Mutex<Seen>>>,
    listeners: Vec<JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    senders: Vec<JoinHandle<Vec<i64>>>,
}

impl Load {
    async fn start(base_a: &str, base_b: &str, pairs: &[(User, User, i64)]) -> Self {
        let seen: Vec<Arc<Mutex<Seen>>> = (0..pairs.len()).map(|_| Arc::default()).collect();
        let listeners = pairs
            .iter()
            .zip(&seen)
            .map(|((_, r, _), s)| listen(base_b, r, s.clone()))
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let senders = send_until(base_a, pairs, stop.clone());
        Self {
            seen,
            listeners,
            stop,
            senders,
        }
    }

    async fn finish(self, fault: &str) -> FaultReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let report = tally(fault, self.senders, &self.seen).await;
        for l in self.listeners {
            l.abort();
        }
        report
    }
}

pub async fn run(bin: &std::path::Path, database_url: &str) -> Result<Vec<FaultReport>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let redis_port = free_port()?;
    let mut redis = start_redis(redis_port)?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let (port_a, port_b) = (free_port()?, free_port()?);
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let mut a = start_agora(bin, port_a, database_url, &redis_url, &a_dir)?;
    let _b = start_agora(bin, port_b, database_url, &redis_url, &b_dir)?;
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let client = reqwest::Client::new();
    wait_healthy(&client, &base_a).await?;
    wait_healthy(&client, &base_b).await?;
    let tag = std::process::id();
    let mut pairs = Vec::new();
    for i in 0..SENDERS {
        let s = register(&client, &base_a, &format!("fault_s{i}_{tag}")).await?;
        let r = register(&client, &base_a, &format!("fault_r{i}_{tag}")).await?;
        befriend(&client, &base_a, &s, &r).await?;
        let room: Value = client
            .post(format!("{base_a}/api/chat/direct/"))
            .bearer_auth(&s.access)
            .json(&json!({"user_id": r.id}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let room = room["id"].as_i64().ok_or("no room id")?;
        pairs.push((s, r, room));
    }
    let mut reports = Vec::new();

    // Fault 1: kill -9 of the instance the senders use, mid-load.
    eprintln!("faults: kill -9 of instance A under load ...");
    let load = Load::start(&base_a, &base_b, &pairs).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = a.0.kill();
    let _ = a.0.wait();
    tokio::time::sleep(Duration::from_millis(500)).await;
    reports.push(load.finish("kill -9 of the sending instance").await);

    // Fault 2: Redis stopped for 3 s under load, then started again (empty).
    a = start_agora(bin, port_a, database_url, &redis_url, &a_dir)?;
    wait_healthy(&client, &base_a).await?;
    eprintln!("faults: Redis down for 3 s under load ...");
    let load = Load::start(&base_a, &base_b, &pairs).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(redis);
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis = start_redis(redis_port)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    reports.push(load.finish("Redis stopped for 3 s and started again").await);
    drop((a, redis));
    Ok(reports)
}
