//! Chat measurements: send → delivery latency at a fixed message rate, sustained send
//! throughput over REST and over the WebSocket, and the time one message takes to reach every
//! member of a large room. The server must not rate-limit sends
//! (`AGORA_CHAT_RATE_PER_SECOND=0`; set when agora-bench starts the server itself).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Percentiles, User, befriend, register, ws_url};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Serialize, Debug)]
pub struct ChatReport {
    pub latency: Latency,
    pub rest_messages_per_second: f64,
    pub ws_messages_per_second: f64,
    pub fan_out: Option<FanOut>,
}

#[derive(Serialize, Debug)]
pub struct Latency {
    pub rate: u64,
    pub sent: usize,
    pub delivered: usize,
    pub latency: Percentiles,
}

#[derive(Serialize, Debug)]
pub struct FanOut {
    pub members: usize,
    /// Instances the members were connected to (half on each with `--peer-url`).
    pub instances: usize,
    pub messages: usize,
    /// From the send until the last member has the message.
    pub all_delivered: Percentiles,
}

/// Microseconds from when `cid` was sent to `at`, if it was sent.
fn micros_since(sent_at: &HashMap<String, Instant>, cid: &str, at: Instant) -> Option<u64> {
    sent_at
        .get(cid)
        .map(|s| u64::try_from(at.duration_since(*s).as_micros()).unwrap_or(u64::MAX))
}

async fn connect(base: &str, user: &User) -> Result<Socket, String> {
    let (socket, _) = tokio_tungstenite::connect_async(ws_url(base, &user.access))
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    Ok(socket)
}

pub(crate) async fn post(
    client: &reqwest::Client,
    url: String,
    user: &User,
    body: Value,
) -> Result<Value, String> {
    let res = client
        .post(url)
        .bearer_auth(&user.access)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!(
            "{}: {}",
            res.status(),
            res.text().await.unwrap_or_default()
        ));
    }
    res.json().await.map_err(|e| e.to_string())
}

async fn direct_room(
    client: &reqwest::Client,
    base: &str,
    a: &User,
    b: &User,
) -> Result<i64, String> {
    let room = post(
        client,
        format!("{base}/api/chat/direct/"),
        a,
        json!({"user_id": b.id}),
    )
    .await?;
    room["id"].as_i64().ok_or_else(|| "no room id".to_owned())
}

/// The `chat_message` events of `socket`, with when each arrived, until `expected` came or
/// `deadline` passed.
async fn collect(
    mut socket: Socket,
    expected: usize,
    deadline: Duration,
) -> Vec<(String, Instant)> {
    let mut out = Vec::with_capacity(expected);
    let end = tokio::time::Instant::now() + deadline;
    while out.len() < expected {
        let Ok(Some(Ok(msg))) = tokio::time::timeout_at(end, socket.next()).await else {
            break;
        };
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            if v["type"] == "chat_message"
                && let Some(cid) = v["data"]["client_id"].as_str()
            {
                out.push((cid.to_owned(), Instant::now()));
            }
        }
    }
    out
}

/// `count` messages at `rate` a second in all, spread over the senders' WebSockets (each to
/// its own room with the receiver); the latency of each until the receiver's socket has it.
async fn latency(
    base: &str,
    senders: &[(User, i64)],
    receiver: &User,
    rate: u64,
    count: usize,
) -> Result<Latency, String> {
    let in_socket = connect(base, receiver).await?;
    let receiving = tokio::spawn(collect(in_socket, count, Duration::from_secs(60)));
    let mut writers = Vec::new();
    let mut drains = Vec::new();
    for (user, room) in senders {
        let (write, mut read) = connect(base, user).await?.split();
        // Acks and the sender's own events are read and dropped so its socket never backs up.
        drains.push(tokio::spawn(async move {
            while let Some(Ok(_)) = read.next().await {}
        }));
        writers.push((write, *room));
    }
    let mut sent_at = HashMap::with_capacity(count);
    let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..count {
        tick.tick().await;
        let n = writers.len();
        let (write, room) = &mut writers[i % n];
        let cid = format!("lat-{i}");
        let frame = json!({"type": "chat_message", "data": {"room": *room, "body": "latency", "client_id": cid}});
        sent_at.insert(cid, Instant::now());
        write
            .send(Message::text(frame.to_string()))
            .await
            .map_err(|e| e.to_string())?;
    }
    let received = receiving.await.map_err(|e| e.to_string())?;
    for d in drains {
        d.abort();
    }
    let micros: Vec<u64> = received
        .iter()
        .filter_map(|(cid, at)| micros_since(&sent_at, cid, *at))
        .collect();
    Ok(Latency {
        rate,
        sent: count,
        delivered: micros.len(),
        latency: Percentiles::of(micros),
    })
}

/// Messages per second over REST: `clients` senders posting back to back for `seconds`.
async fn rest_throughput(base: &str, senders: &[(User, i64)], seconds: u64) -> Result<f64, String> {
    let client = reqwest::Client::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .iter()
        .cloned()
        .map(|(user, room)| {
            let client = client.clone();
            let url = format!("{base}/api/chat/rooms/{room}/messages/");
            tokio::spawn(async move {
                let mut sent = 0u64;
                while Instant::now() < end {
                    if post(&client, url.clone(), &user, json!({"body": "throughput"}))
                        .await
                        .is_ok()
                    {
                        sent += 1;
                    }
                }
                sent
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| e.to_string())?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Messages per second over the WebSocket: each sender keeps `window` messages in flight and
/// counts acks for `seconds`.
async fn ws_throughput(base: &str, senders: &[(User, i64)], seconds: u64) -> Result<f64, String> {
    const WINDOW: usize = 32;
    let started = Instant::now();
    let end = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (u, (user, room)) in senders.iter().enumerate() {
        let room = *room;
        let socket = connect(base, user).await?;
        tasks.push(tokio::spawn(async move {
            let (mut write, mut read) = socket.split();
            let mut next = 0usize;
            let mut acked = 0u64;
            let frame = |n: usize| {
                Message::text(
                    json!({"type": "chat_message", "data": {"room": room, "body": "throughput", "client_id": format!("t{u}-{n}")}})
                        .to_string(),
                )
            };
            for _ in 0..WINDOW {
                if write.send(frame(next)).await.is_err() {
                    return acked;
                }
                next += 1;
            }
            while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(end, read.next()).await {
                if let Message::Text(text) = msg
                    && serde_json::from_str::<Value>(text.as_str()).is_ok_and(|v| v["type"] == "ack")
                {
                    acked += 1;
                    if write.send(frame(next)).await.is_err() {
                        break;
                    }
                    next += 1;
                }
            }
            acked
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| e.to_string())?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// `messages` messages, one at a time, to a room of `members` online members: the time until
/// the last member has each. With `peer`, every other member is connected to it instead.
async fn fan_out(
    client: &reqwest::Client,
    base: &str,
    peer: Option<&str>,
    owner: &User,
    members: usize,
    messages: usize,
    tag: u32,
) -> Result<FanOut, String> {
    let mut users = Vec::with_capacity(members);
    for i in 0..members {
        let user = register(client, base, &format!("bench_fan{i}_{tag}")).await?;
        befriend(client, base, owner, &user).await?;
        users.push(user);
    }
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let room = post(
        client,
        format!("{base}/api/chat/rooms/"),
        owner,
        json!({"name": "fan-out", "member_ids": ids}),
    )
    .await?;
    let room = room["id"].as_i64().ok_or("no room id")?;
    let mut sockets = Vec::with_capacity(members);
    for (i, user) in users.iter().enumerate() {
        let instance = match peer {
            Some(p) if i % 2 == 1 => p,
            _ => base,
        };
        sockets.push(connect(instance, user).await?);
    }
    // Every member counts each message's arrival; the last arrival per message is what counts.
    let arrivals: Vec<_> = sockets
        .into_iter()
        .map(|s| tokio::spawn(collect(s, messages, Duration::from_secs(120))))
        .collect();
    let mut sent_at = HashMap::new();
    let url = format!("{base}/api/chat/rooms/{room}/messages/");
    for n in 0..messages {
        let cid = format!("fan-{n}");
        sent_at.insert(cid.clone(), Instant::now());
        post(
            client,
            url.clone(),
            owner,
            json!({"body": "fan-out", "client_id": cid}),
        )
        .await?;
        // One message at a time: the next goes out once this one had time to arrive.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut last: HashMap<String, Instant> = HashMap::new();
    for a in arrivals {
        for (cid, at) in a.await.map_err(|e| e.to_string())? {
            let entry = last.entry(cid).or_insert(at);
            if at > *entry {
                *entry = at;
            }
        }
    }
    let micros = last
        .iter()
        .filter_map(|(cid, at)| micros_since(&sent_at, cid, *at))
        .collect();
    Ok(FanOut {
        members,
        instances: if peer.is_some() { 2 } else { 1 },
        messages,
        all_delivered: Percentiles::of(micros),
    })
}

pub struct ChatArgs {
    pub rate: u64,
    pub messages: usize,
    pub seconds: u64,
    pub fan_out_members: usize,
    pub fan_out_messages: usize,
    pub peer: Option<String>,
}

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    a: &ChatArgs,
    tag: u32,
) -> Result<ChatReport, String> {
    let sender = register(client, base, &format!("bench_cs_{tag}")).await?;
    let receiver = register(client, base, &format!("bench_cr_{tag}")).await?;
    let mut senders = Vec::new();
    for i in 0..8 {
        let s = register(client, base, &format!("bench_ct{i}_{tag}")).await?;
        let r = direct_room(client, base, &s, &receiver).await?;
        senders.push((s, r));
    }
    eprintln!(
        "chat: {} messages at {}/s over 8 WebSockets ...",
        a.messages, a.rate
    );
    let latency = latency(base, &senders, &receiver, a.rate, a.messages).await?;
    eprintln!(
        "chat: sustained sends for {} s over REST, then over the WebSocket ...",
        a.seconds
    );
    // Each sender writes to a room of its own with the receiver: rooms do not serialise them.
    let rest = rest_throughput(base, &senders, a.seconds).await?;
    let ws = ws_throughput(base, &senders, a.seconds).await?;
    let fan_out = if a.fan_out_members > 0 {
        eprintln!("chat: fan-out to {} online members ...", a.fan_out_members);
        Some(
            fan_out(
                client,
                base,
                a.peer.as_deref(),
                &sender,
                a.fan_out_members,
                a.fan_out_messages,
                tag,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(ChatReport {
        latency,
        rest_messages_per_second: rest,
        ws_messages_per_second: ws,
        fan_out,
    })
}
