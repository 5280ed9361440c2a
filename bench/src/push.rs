//! `--push`: Web Push throughput and delay. A local push service (this process) takes every
//! push a server sends; a room of `members` members, each with a subscription and no socket
//! open, gets `messages` messages one after another. Measured: pushes a second, and for each
//! message the delay from its commit (the 201 of its send) to the arrival of its pushes, the
//! last one included. The server must allow the receiver: `AGORA_PUSH_ENDPOINT_ALLOWLIST=127.0.0.1`
//! (and `AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS=0` for the members' registrations).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;

use crate::chat::post;
use crate::{Percentiles, User, befriend, register};

#[derive(Serialize, Debug)]
pub struct PushReport {
    pub members: usize,
    pub messages: usize,
    pub pushes: usize,
    pub pushes_per_second: f64,
    /// Commit → arrival of each push.
    pub delay: Percentiles,
    /// Commit → arrival of each message's last push, the slowest message.
    pub last_push_max_ms: f64,
}

type Arrivals = Arc<Mutex<Vec<Instant>>>;

async fn receive(
    axum::extract::State(arrivals): axum::extract::State<Arrivals>,
) -> axum::http::StatusCode {
    arrivals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Instant::now());
    axum::http::StatusCode::CREATED
}

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    members: usize,
    messages: usize,
) -> Result<PushReport, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let receiver = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route("/push/{n}", axum::routing::post(receive))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let tag: u32 = rand::random();
    let owner = register(client, base, &format!("bench_push_owner_{tag}")).await?;
    let browser = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let p256dh = URL_SAFE_NO_PAD.encode(
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&browser.public_key(), false)
            .as_bytes(),
    );
    let auth = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    eprintln!("push: {members} members subscribe ...");
    let users: Vec<Result<User, String>> = futures_util::stream::iter(0..members)
        .map(|i| {
            let (owner, receiver, p256dh, auth) = (&owner, &receiver, &p256dh, &auth);
            async move {
                let user = register(client, base, &format!("bench_push{i}_{tag}")).await?;
                befriend(client, base, owner, &user).await?;
                post(
                    client,
                    format!("{base}/api/push/subscriptions/"),
                    &user,
                    json!({"endpoint": format!("{receiver}/push/{i}"), "keys": {"p256dh": p256dh, "auth": auth}}),
                )
                .await?;
                Ok(user)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let ids = users
        .into_iter()
        .map(|u| u.map(|u| u.id))
        .collect::<Result<Vec<i64>, String>>()?;
    let room = post(
        client,
        format!("{base}/api/chat/rooms/"),
        &owner,
        json!({"name": "push", "member_ids": ids}),
    )
    .await?;
    let room = room["id"].as_i64().ok_or("no room id")?;
    eprintln!("push: {messages} messages to {members} members away ...");
    let url = format!("{base}/api/chat/rooms/{room}/messages/");
    let mut delays = Vec::with_capacity(members * messages);
    let mut last_max = Duration::ZERO;
    let started = Instant::now();
    for n in 0..messages {
        post(
            client,
            url.clone(),
            &owner,
            json!({"body": format!("push {n}")}),
        )
        .await?;
        let committed = Instant::now();
        let deadline = committed + Duration::from_secs(60);
        let got = loop {
            let got: Vec<Instant> = {
                let a = arrivals.lock().unwrap_or_else(|e| e.into_inner());
                a.iter().skip(n * members).copied().collect()
            };
            if got.len() >= members {
                break got;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "message {n}: {} of {members} pushes in 60 s",
                    got.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        for at in &got {
            delays.push(
                u64::try_from(at.saturating_duration_since(committed).as_micros())
                    .unwrap_or(u64::MAX),
            );
        }
        if let Some(last) = got.iter().max() {
            last_max = last_max.max(last.saturating_duration_since(committed));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let pushes = members * messages;
    Ok(PushReport {
        members,
        messages,
        pushes,
        pushes_per_second: pushes as f64 / elapsed,
        delay: Percentiles::of(delays),
        last_push_max_ms: last_max.as_secs_f64() * 1000.0,
    })
}

pub fn print(r: &PushReport) {
    println!(
        "| push, {} members away, {} messages | value |",
        r.members, r.messages
    );
    println!("| --- | --- |");
    println!("| pushes a second | {:.0} |", r.pushes_per_second);
    println!(
        "| commit → push p50 / p90 / p99 | {:.0} / {:.0} / {:.0} ms |",
        r.delay.p50_ms, r.delay.p90_ms, r.delay.p99_ms
    );
    println!(
        "| commit → last push of a message, worst | {:.0} ms |",
        r.last_push_max_ms
    );
}
