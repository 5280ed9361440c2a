//! `agora-bench`: measures a running Agora, or one it starts itself.
//!
//! - authenticated `GET /api/users/me/`: throughput and latency percentiles at a concurrency;
//! - REST action → WebSocket delivery: a friend request sent over HTTP until the receiver's
//!   socket gets the `friend_request` event, percentiles;
//! - chat: send → delivery latency, sustained sends, fan-out to a large room (`chat.rs`);
//! - media: upload throughput, photo upload (with its processing) and thumbnail latency
//!   (`media.rs`);
//! - memory per idle WebSocket connection: server RSS before and after opening N of them.
//!
//! With `--reference URL` the reads are measured on a second implementation of the same API
//! in the same run, with the ratio. It prints a table and can write the figures as JSON.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod chat;
mod faults;
mod feed;
mod lists;
mod media;
mod push;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(name = "agora-bench", about = "Measure an Agora server")]
struct Args {
    /// Target this server instead of starting one (memory is then measured only with --pid).
    #[arg(long)]
    url: Option<String>,
    /// PID of the target server, for RSS readings when --url is given.
    #[arg(long)]
    pid: Option<u32>,
    /// The agora binary to start when no --url is given (default: next to this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Concurrent connections for the read benchmark.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds the read benchmark runs.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Friend requests timed for REST → WebSocket delivery.
    #[arg(long, default_value_t = 500)]
    deliveries: usize,
    /// Idle WebSocket connections opened for the memory reading.
    #[arg(long, default_value_t = 10_000)]
    ws_connections: usize,
    /// Skip a part: reads, delivery, chat, media, memory (repeatable).
    #[arg(long)]
    skip: Vec<String>,
    /// Also write the results to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// A second server implementing the same API (the Django original, say): the reads are
    /// measured on it too, in the same run, and the ratio is printed.
    #[arg(long)]
    reference: Option<String>,
    /// Chat: messages sent at --chat-rate for the send → delivery latency.
    #[arg(long, default_value_t = 4000)]
    chat_messages: usize,
    /// Chat: messages per second for the latency measurement.
    #[arg(long, default_value_t = 2000)]
    chat_rate: u64,
    /// Chat: seconds of sustained sending, over REST and over the WebSocket.
    #[arg(long, default_value_t = 5)]
    chat_seconds: u64,
    /// Chat: online members of the fan-out room (0 skips it).
    #[arg(long, default_value_t = 1000)]
    fan_out_members: usize,
    /// Chat: a second instance of the same deployment (same database and Redis): half of the
    /// fan-out room's members connect to it, so the message crosses instances.
    #[arg(long)]
    peer_url: Option<String>,
    /// Chat: messages timed for the fan-out (200, so that the p99 is not simply the slowest).
    #[arg(long, default_value_t = 200)]
    fan_out_messages: usize,
    /// Media: size of each uploaded file, MiB.
    #[arg(long, default_value_t = 4)]
    media_file_mib: usize,
    /// Media: uploaders at once.
    #[arg(long, default_value_t = 4)]
    media_uploaders: usize,
    /// Media: seconds of uploading.
    #[arg(long, default_value_t = 5)]
    media_seconds: u64,
    /// Media: photos uploaded one after another for the processing and thumbnail latency.
    #[arg(long, default_value_t = 50)]
    media_photos: usize,
    /// Instead of the measurements: the faults run (`faults.rs`) on this PostgreSQL database,
    /// which should be empty (it is migrated); needs `redis-server` on the PATH.
    #[arg(long)]
    faults_database_url: Option<String>,
    /// Instead of the measurements: every list endpoint and the writes on the largest rows,
    /// at --concurrency for --duration seconds each, on --url serving a database made by
    /// `agora seed` (`lists.rs`).
    #[arg(long)]
    lists: bool,
    /// With --lists: a second server on a smaller seeded database, measured first and shown
    /// side by side.
    #[arg(long)]
    small_url: Option<String>,
    /// Instead of the measurements: the home feed (first page for an ordinary reader and for
    /// one with 5,000 friends, a page 50 back) at --concurrency, a post to 5,000 friends, and
    /// posts from ordinary authors at once, on --url serving a seeded database (`feed.rs`).
    #[arg(long)]
    feed: bool,
    /// Instead of the measurements: Web Push (`push.rs`), pushes a second and commit → push
    /// delay for a room of --push-members members away, on --url started with
    /// `AGORA_PUSH_ENDPOINT_ALLOWLIST=127.0.0.1` and `AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS=0`.
    #[arg(long)]
    push: bool,
    #[arg(long, default_value_t = 1000)]
    push_members: usize,
    #[arg(long, default_value_t = 5)]
    push_messages: usize,
}

#[derive(Serialize, Default, Debug)]
struct Percentiles {
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Percentiles {
    fn of(mut micros: Vec<u64>) -> Self {
        if micros.is_empty() {
            return Self::default();
        }
        micros.sort_unstable();
        let at = |q: f64| {
            let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
            micros[i] as f64 / 1000.0
        };
        Self {
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

#[derive(Serialize, Default, Debug)]
struct Report {
    target: String,
    reads: Vec<Reads>,
    reference: Option<Reference>,
    delivery: Option<Delivery>,
    chat: Option<chat::ChatReport>,
    media: Option<media::MediaReport>,
    memory: Option<Memory>,
}

#[derive(Serialize, Debug)]
struct Reads {
    endpoint: String,
    concurrency: usize,
    seconds: f64,
    requests: u64,
    errors: u64,
    requests_per_second: f64,
    latency: Percentiles,
}

#[derive(Serialize, Debug)]
struct Reference {
    target: String,
    reads: Vec<Reads>,
}

#[derive(Serialize, Debug)]
struct Delivery {
    action: &'static str,
    samples: usize,
    latency: Percentiles,
}

#[derive(Serialize, Debug)]
struct Memory {
    connections: usize,
    rss_before_kib: u64,
    rss_after_kib: u64,
    bytes_per_connection: f64,
}

struct Server {
    child: Option<Child>,
    base: String,
    pid: Option<u32>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // The benchmark is over; a server that already exited needs nothing.
            if child.kill().is_ok() {
                let _ = child.wait();
            }
        }
    }
}

fn start_server(args: &Args) -> Result<Server, String> {
    if let Some(url) = &args.url {
        return Ok(Server {
            child: None,
            base: url.trim_end_matches('/').to_owned(),
            pid: args.pid,
            _dir: None,
        });
    }
    let bin = server_bin(args)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let child = Command::new(&bin)
        .env("AGORA_BIND", format!("127.0.0.1:{port}"))
        .env("AGORA_DATA_DIR", dir.path())
        .env_remove("AGORA_DATABASE_URL")
        .env("AGORA_LOGIN_RATE_LIMIT", "0")
        .env("AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS", "0")
        .env("AGORA_CHAT_RATE_PER_SECOND", "0")
        .env("AGORA_MEDIA_UPLOADS_PER_MINUTE", "0")
        .env("AGORA_MEDIA_QUOTA_BYTES", "0")
        .env("AGORA_ACCESS_TOKEN_LIFETIME", "3600")
        .env("AGORA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    Ok(Server {
        pid: Some(child.id()),
        child: Some(child),
        base: format!("http://127.0.0.1:{port}"),
        _dir: Some(dir),
    })
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/health/")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{base} did not become healthy"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Clone)]
struct User {
    id: i64,
    access: String,
}

async fn register(client: &reqwest::Client, base: &str, name: &str) -> Result<User, String> {
    let res = client
        .post(format!("{base}/api/auth/register/"))
        .json(&json!({"username": name, "email": format!("{name}@bench.example"), "password": "bench-pass-phrase-1"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("register {name}: {}", res.status()));
    }
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    Ok(User {
        id: body["user"]["id"].as_i64().unwrap_or_default(),
        access: body["access"].as_str().unwrap_or_default().to_owned(),
    })
}

async fn reads(args: &Args, base: &str, path: &str, user: &User) -> Reads {
    reads_at(args.concurrency, args.duration, base, path, user).await
}

/// `GET path` as `user` from `concurrency` connections for `seconds`.
async fn reads_at(concurrency: usize, seconds: u64, base: &str, path: &str, user: &User) -> Reads {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap_or_default();
    let url = Arc::new(format!("{base}{path}"));
    let token = Arc::new(format!("Bearer {}", user.access));
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            while Instant::now() < end {
                let t = Instant::now();
                let ok = match client
                    .get(url.as_str())
                    .header("authorization", token.as_str())
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Reads {
        endpoint: format!("GET {path}"),
        concurrency,
        seconds,
        requests: all.len() as u64,
        errors,
        requests_per_second: all.len() as f64 / seconds,
        latency: Percentiles::of(all),
    }
}

async fn befriend(client: &reqwest::Client, base: &str, a: &User, b: &User) -> Result<(), String> {
    let res = client
        .post(format!("{base}/api/friends/request/"))
        .bearer_auth(&a.access)
        .json(&json!({"receiver": b.id}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let id = res.json::<Value>().await.map_err(|e| e.to_string())?["id"].clone();
    let res = client
        .put(format!("{base}/api/friends/request/{id}/"))
        .bearer_auth(&b.access)
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("accepting a friend request: {}", res.status()));
    }
    Ok(())
}

fn ws_url(base: &str, token: &str) -> String {
    format!("{}/ws/?token={token}", base.replacen("http", "ws", 1))
}

async fn delivery(
    args: &Args,
    client: &reqwest::Client,
    base: &str,
    sender: &User,
    receiver: &User,
) -> Result<Delivery, String> {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url(base, &receiver.access))
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    let mut samples = Vec::with_capacity(args.deliveries);
    for _ in 0..args.deliveries {
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/friends/request/"))
            .bearer_auth(&sender.access)
            .json(&json!({"receiver": receiver.id}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if res.status().as_u16() != 201 {
            return Err(format!("friend request: {}", res.status()));
        }
        let id = res.json::<Value>().await.map_err(|e| e.to_string())?["id"].clone();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .map_err(|_| "no event within 10 s".to_owned())?
                .ok_or("socket closed")?
                .map_err(|e| e.to_string())?;
            if let Message::Text(text) = msg {
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                if v["type"] == "friend_request"
                    && v["data"]["action"] == "created"
                    && v["data"]["friend_request"]["id"] == id
                {
                    samples.push(t.elapsed().as_micros() as u64);
                    break;
                }
            }
        }
        // Cancel it so the next request is allowed (its event is skipped above).
        client
            .delete(format!("{base}/api/friends/request/{id}/"))
            .bearer_auth(&sender.access)
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = socket.close(None).await;
    Ok(Delivery {
        action: "POST /api/friends/request/ → friend_request event",
        samples: samples.len(),
        latency: Percentiles::of(samples),
    })
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn memory(args: &Args, base: &str, pid: u32, users: &[User]) -> Result<Memory, String> {
    let before = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let mut sockets = Vec::with_capacity(args.ws_connections);
    for i in 0..args.ws_connections {
        let user = &users[i % users.len()];
        let (socket, _) = tokio_tungstenite::connect_async(ws_url(base, &user.access))
            .await
            .map_err(|e| format!("websocket {i}: {e}"))?;
        sockets.push(socket);
    }
    // Make sure every connection is fully set up on the server: each answers a ping.
    for s in &mut sockets {
        s.send(Message::text(r#"{"type":"ping"}"#))
            .await
            .map_err(|e| e.to_string())?;
    }
    for s in &mut sockets {
        loop {
            match s.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().contains("pong") => break,
                Some(Ok(_)) => continue,
                other => return Err(format!("socket failed: {other:?}")),
            }
        }
    }
    let after = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let n = sockets.len();
    drop(sockets);
    Ok(Memory {
        connections: n,
        rss_before_kib: before,
        rss_after_kib: after,
        bytes_per_connection: (after.saturating_sub(before) as f64 * 1024.0) / n as f64,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agora-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `GET /api/users/me/`, then a first page of 20 friends of `GET /api/friends/`.
async fn read_suite(
    args: &Args,
    client: &reqwest::Client,
    base: &str,
    user: &User,
    tag: u32,
) -> Result<Vec<Reads>, String> {
    eprintln!(
        "reads: {} connections for {} s ...",
        args.concurrency, args.duration
    );
    let mut out = vec![reads(args, base, "/api/users/me/", user).await];
    for i in 0..20 {
        let friend = register(client, base, &format!("bench_f{i}_{tag}")).await?;
        befriend(client, base, user, &friend).await?;
    }
    eprintln!("reads: /api/friends/ ...");
    out.push(reads(args, base, "/api/friends/", user).await);
    Ok(out)
}

/// The agora binary: `--server-bin`, else the one next to this one.
fn server_bin(args: &Args) -> Result<PathBuf, String> {
    let bin = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("agora"),
    };
    if !bin.exists() {
        return Err(format!(
            "{} not found: build it first (cargo build --release) or pass --server-bin / --url",
            bin.display()
        ));
    }
    Ok(bin)
}

async fn run_faults(args: &Args, database_url: &str) -> Result<(), String> {
    let reports = faults::run(&server_bin(args)?, database_url).await?;
    println!(
        "| fault, 16 senders on instance A, receivers on B | acknowledged | delivered | announced by resync | lost |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for r in &reports {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.fault, r.acknowledged, r.delivered, r.resynced, r.lost
        );
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    if let Some(url) = &args.faults_database_url {
        return run_faults(&args, url).await;
    }
    if args.push {
        let url = args.url.as_deref().ok_or("--push needs --url")?;
        let client = reqwest::Client::new();
        let report = push::run(&client, url, args.push_members, args.push_messages).await?;
        push::print(&report);
        if let Some(path) = &args.json {
            let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    if args.feed {
        let url = args.url.as_deref().ok_or("--feed needs --url")?;
        let client = reqwest::Client::new();
        let report = feed::run(&client, url, args.concurrency, args.duration).await?;
        feed::print(&report);
        if let Some(path) = &args.json {
            let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    if args.lists {
        let large = args.url.as_deref().ok_or("--lists needs --url")?;
        let a = lists::ListArgs {
            concurrency: args.concurrency,
            seconds: args.duration,
        };
        let client = reqwest::Client::new();
        let report = lists::run(&client, large, args.small_url.as_deref(), &a).await?;
        lists::print(&report);
        if let Some(path) = &args.json {
            let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    let server = start_server(&args)?;
    let client = reqwest::Client::new();
    wait_healthy(&client, &server.base).await?;
    let tag = std::process::id();
    let alice = register(&client, &server.base, &format!("bench_a_{tag}")).await?;
    let bob = register(&client, &server.base, &format!("bench_b_{tag}")).await?;
    let mut report = Report {
        target: server.base.clone(),
        ..Default::default()
    };
    let skip = |part: &str| args.skip.iter().any(|s| s == part);

    if !skip("reads") {
        report.reads = read_suite(&args, &client, &server.base, &alice, tag).await?;
        if let Some(reference) = &args.reference {
            let base = reference.trim_end_matches('/').to_owned();
            eprintln!("reference {base}:");
            wait_healthy(&client, &base).await?;
            let user = register(&client, &base, &format!("bench_a_{tag}")).await?;
            let reads = read_suite(&args, &client, &base, &user, tag).await?;
            report.reference = Some(Reference {
                target: base,
                reads,
            });
        }
    }
    if !skip("delivery") {
        eprintln!("delivery: {} friend requests ...", args.deliveries);
        report.delivery = Some(delivery(&args, &client, &server.base, &alice, &bob).await?);
    }
    if !skip("chat") {
        let a = chat::ChatArgs {
            rate: args.chat_rate,
            messages: args.chat_messages,
            seconds: args.chat_seconds,
            fan_out_members: args.fan_out_members,
            fan_out_messages: args.fan_out_messages,
            peer: args.peer_url.clone(),
        };
        report.chat = Some(chat::run(&client, &server.base, &a, tag).await?);
    }
    if !skip("media") {
        let a = media::MediaArgs {
            file_mib: args.media_file_mib,
            uploaders: args.media_uploaders,
            seconds: args.media_seconds,
            photos: args.media_photos,
        };
        report.media = Some(media::run(&client, &server.base, &alice, &a).await?);
    }
    if !skip("memory") {
        match server.pid {
            Some(pid) => {
                eprintln!(
                    "memory: {} idle WebSocket connections ...",
                    args.ws_connections
                );
                let mut users = Vec::new();
                for i in 0..100.min(args.ws_connections.max(1)) {
                    users
                        .push(register(&client, &server.base, &format!("bench_m{i}_{tag}")).await?);
                }
                report.memory = Some(memory(&args, &server.base, pid, &users).await?);
            }
            None => eprintln!("memory: skipped (give --pid with --url)"),
        }
    }
    print_table(&report);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn print_table(r: &Report) {
    println!("| measurement | result |");
    println!("| --- | --- |");
    for x in &r.reads {
        println!(
            "| {} at {} connections | {:.0} req/s ({} requests, {} errors in {:.1} s); p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms |",
            x.endpoint,
            x.concurrency,
            x.requests_per_second,
            x.requests,
            x.errors,
            x.seconds,
            x.latency.p50_ms,
            x.latency.p90_ms,
            x.latency.p99_ms
        );
    }
    if let Some(reference) = &r.reference {
        for (ours, theirs) in r.reads.iter().zip(&reference.reads) {
            println!(
                "| {} on the reference ({}) | {:.0} req/s ({} errors); p99 {:.2} ms — Agora serves {:.1}× as many |",
                theirs.endpoint,
                reference.target,
                theirs.requests_per_second,
                theirs.errors,
                theirs.latency.p99_ms,
                ours.requests_per_second / theirs.requests_per_second.max(f64::MIN_POSITIVE)
            );
        }
    }
    if let Some(x) = &r.delivery {
        println!(
            "| {} ({} samples) | p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
            x.action,
            x.samples,
            x.latency.p50_ms,
            x.latency.p90_ms,
            x.latency.p99_ms,
            x.latency.max_ms
        );
    }
    if let Some(c) = &r.chat {
        let l = &c.latency;
        println!(
            "| chat send → delivery over WebSocket at {} msg/s ({} sent, {} delivered) | p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
            l.rate,
            l.sent,
            l.delivered,
            l.latency.p50_ms,
            l.latency.p90_ms,
            l.latency.p99_ms,
            l.latency.max_ms
        );
        println!(
            "| chat sustained sends, 8 senders | REST {:.0} msg/s; WebSocket {:.0} msg/s |",
            c.rest_messages_per_second, c.ws_messages_per_second
        );
        if let Some(f) = &c.fan_out {
            println!(
                "| chat fan-out to {} online members on {} instance(s) ({} messages), until the last member has it | p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
                f.members,
                f.instances,
                f.messages,
                f.all_delivered.p50_ms,
                f.all_delivered.p90_ms,
                f.all_delivered.p99_ms,
                f.all_delivered.max_ms
            );
        }
    }
    if let Some(m) = &r.media {
        println!(
            "| media upload, {} uploaders of {} MiB files ({} uploads in {:.1} s) | {:.0} MB/s |",
            m.uploaders,
            m.file_bytes / (1024 * 1024),
            m.uploads,
            m.seconds,
            m.megabytes_per_second
        );
        println!(
            "| media photo upload ({}; decode, strip, re-encode, thumbnail; {} photos) | p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms |",
            m.photo, m.photos, m.photo_upload.p50_ms, m.photo_upload.p90_ms, m.photo_upload.p99_ms
        );
        println!(
            "| media thumbnail fetch (signed link) | p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms |",
            m.thumbnail_fetch.p50_ms, m.thumbnail_fetch.p90_ms, m.thumbnail_fetch.p99_ms
        );
    }
    if let Some(x) = &r.memory {
        println!(
            "| server memory per idle WebSocket ({} connections) | {:.0} bytes ({:.1} KiB); RSS {} → {} KiB |",
            x.connections,
            x.bytes_per_connection,
            x.bytes_per_connection / 1024.0,
            x.rss_before_kib,
            x.rss_after_kib
        );
    }
}
