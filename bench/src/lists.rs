//! `--lists`: every list endpoint, and the writes that touch the largest rows, on servers
//! serving a database made by `agora seed` (a small one and a large one, side by side).
//!
//! The seeded accounts play fixed parts at every scale: `u1` has the most friends, pending
//! requests and rooms and owns the big group (id 1, whose room 1 holds the most messages);
//! `u2` has the most notifications, all unread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::{Percentiles, Reads, User};

/// The password `agora seed` gives every account.
const PASSWORD: &str = "seeded-password-1";

#[derive(Serialize, Debug)]
pub struct ListsReport {
    pub small: Option<Target>,
    pub large: Target,
}

#[derive(Serialize, Debug)]
pub struct Target {
    pub url: String,
    pub reads: Vec<Reads>,
    pub writes: Vec<Write>,
}

#[derive(Serialize, Debug)]
pub struct Write {
    pub action: String,
    pub samples: usize,
    pub errors: u64,
    pub latency: Percentiles,
}

/// Latencies of the requests that succeeded, and how many did not.
#[derive(Default)]
pub(crate) struct Timings {
    micros: Vec<u64>,
    errors: u64,
}

impl Timings {
    /// Times `request`, which answers whether it succeeded.
    pub(crate) async fn time(&mut self, request: impl std::future::Future<Output = bool>) {
        let t = Instant::now();
        if request.await {
            self.micros.push(t.elapsed().as_micros() as u64);
        } else {
            self.errors += 1;
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.micros.len()
    }

    pub(crate) fn absorb(&mut self, other: Timings) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    pub(crate) fn into_write(self, action: String) -> Write {
        Write {
            action,
            samples: self.micros.len(),
            errors: self.errors,
            latency: Percentiles::of(self.micros),
        }
    }
}

pub struct ListArgs {
    pub concurrency: usize,
    pub seconds: u64,
}

pub(crate) async fn login(
    client: &reqwest::Client,
    base: &str,
    name: &str,
) -> Result<User, String> {
    let res = client
        .post(format!("{base}/api/auth/login/"))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!(
            "{base}: logging in as {name} answered {} (is it a database made by `agora seed`?)",
            res.status()
        ));
    }
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    Ok(User {
        id: 0,
        access: body["access"].as_str().unwrap_or_default().to_owned(),
    })
}

/// The lists, as (who asks, path).
const LISTS: &[(&str, &str)] = &[
    ("u1", "/api/users/"),
    ("u1", "/api/users/?page=last"),
    ("u1", "/api/users/?search=xyz"),
    ("u1", "/api/users/?search=name12"),
    ("u1", "/api/users/blocked/"),
    ("u1", "/api/friends/"),
    ("u1", "/api/friends/?page=last"),
    ("u1", "/api/friends/?search=name12"),
    ("u1", "/api/friends/?online=true"),
    ("u1", "/api/friends/request/?direction=incoming"),
    ("u2", "/api/notifications/"),
    ("u2", "/api/notifications/?is_read=false"),
    ("u2", "/api/notifications/unread-count/"),
    ("u1", "/api/chat/rooms/"),
    ("u1", "/api/chat/rooms/1/messages/"),
    ("u1", "/api/chat/rooms/1/members/"),
    ("u1", "/api/chat/rooms/1/members/?page=last"),
    ("u1", "/api/groups/"),
    ("u1", "/api/groups/?search=group 12"),
    ("u1", "/api/groups/1/members/"),
    ("u1", "/api/groups/1/members/?page=last"),
];

pub async fn run(
    client: &reqwest::Client,
    large: &str,
    small: Option<&str>,
    args: &ListArgs,
) -> Result<ListsReport, String> {
    let small = match small {
        Some(base) => Some(target(client, base, args).await?),
        None => None,
    };
    let large = target(client, large, args).await?;
    Ok(ListsReport { small, large })
}

async fn target(client: &reqwest::Client, base: &str, args: &ListArgs) -> Result<Target, String> {
    let u1 = login(client, base, "u1").await?;
    let u2 = login(client, base, "u2").await?;
    let mut reads = Vec::new();
    for (who, path) in LISTS {
        let user = if *who == "u1" { &u1 } else { &u2 };
        eprintln!("{base}{path} ...");
        reads.push(crate::reads_at(args.concurrency, args.seconds, base, path, user).await);
    }
    let mut writes = Vec::new();
    eprintln!("{base}: writes ...");
    writes.push(sends(client, base, &u1, args).await);
    writes.push(accepts(client, base, &u1).await?);
    writes.extend(read_all(client, base, &u2).await);
    Ok(Target {
        url: base.to_owned(),
        reads,
        writes,
    })
}

/// Messages sent to the big room by `concurrency / 4` senders at once for the read time.
async fn sends(client: &reqwest::Client, base: &str, u1: &User, args: &ListArgs) -> Write {
    let senders = (args.concurrency / 4).max(1);
    let end = Instant::now() + Duration::from_secs(args.seconds);
    let url = Arc::new(format!("{base}/api/chat/rooms/1/messages/"));
    let mut tasks = Vec::new();
    for s in 0..senders {
        let (client, url, token) = (client.clone(), url.clone(), u1.access.clone());
        tasks.push(tokio::spawn(async move {
            let (mut timings, mut n) = (Timings::default(), 0u64);
            while Instant::now() < end {
                n += 1;
                let send = client
                    .post(url.as_str())
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("bench {s} {n}")}))
                    .send();
                timings
                    .time(async { send.await.is_ok_and(|r| r.status().as_u16() == 201) })
                    .await;
            }
            timings
        }));
    }
    let mut all = Timings::default();
    for t in tasks {
        if let Ok(timings) = t.await {
            all.absorb(timings);
        }
    }
    all.into_write(format!(
        "POST /api/chat/rooms/1/messages/ (the biggest room), {senders} senders"
    ))
}

/// `u1` accepts up to 100 of its pending requests, one after another.
async fn accepts(client: &reqwest::Client, base: &str, u1: &User) -> Result<Write, String> {
    let page: Value = client
        .get(format!(
            "{base}/api/friends/request/?direction=incoming&page_size=100"
        ))
        .bearer_auth(&u1.access)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let ids: Vec<i64> = page["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["id"].as_i64()).collect())
        .unwrap_or_default();
    let mut timings = Timings::default();
    for id in ids {
        let accept = client
            .put(format!("{base}/api/friends/request/{id}/"))
            .bearer_auth(&u1.access)
            .json(&json!({"action": "accept"}))
            .send();
        timings
            .time(async { accept.await.is_ok_and(|r| r.status().is_success()) })
            .await;
    }
    Ok(timings.into_write(
        "PUT /api/friends/request/{id}/ accept, by the user with the most friends".into(),
    ))
}

/// Marking everything read: once with the whole inbox unread, then 50 times with nothing
/// unread.
async fn read_all(client: &reqwest::Client, base: &str, u2: &User) -> Vec<Write> {
    let mut out = Vec::new();
    for (action, times) in [
        ("POST /api/notifications/read-all/, everything unread", 1),
        ("POST /api/notifications/read-all/, nothing unread", 50),
    ] {
        let mut timings = Timings::default();
        for _ in 0..times {
            let read = client
                .post(format!("{base}/api/notifications/read-all/"))
                .bearer_auth(&u2.access)
                .json(&json!({}))
                .send();
            timings
                .time(async { read.await.is_ok_and(|r| r.status().is_success()) })
                .await;
        }
        out.push(timings.into_write(action.into()));
    }
    out
}

pub fn print(r: &ListsReport) {
    println!(
        "| endpoint (seeded accounts) | small p50 / p99 ms | large p50 / p99 ms | large req/s | large ÷ small p50 |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let cell = |x: Option<&Reads>| {
        x.map_or("—".to_owned(), |x| {
            let errors = if x.errors > 0 {
                format!(" ({} errors)", x.errors)
            } else {
                String::new()
            };
            format!("{:.1} / {:.1}{errors}", x.latency.p50_ms, x.latency.p99_ms)
        })
    };
    for (i, large) in r.large.reads.iter().enumerate() {
        let small = r.small.as_ref().and_then(|s| s.reads.get(i));
        let ratio = small.map_or("—".to_owned(), |s| {
            format!(
                "{:.1}×",
                large.latency.p50_ms / s.latency.p50_ms.max(f64::MIN_POSITIVE)
            )
        });
        println!(
            "| `{}` | {} | {} | {:.0} | {} |",
            large.endpoint,
            cell(small),
            cell(Some(large)),
            large.requests_per_second,
            ratio
        );
    }
    for (i, large) in r.large.writes.iter().enumerate() {
        let small = r.small.as_ref().and_then(|s| s.writes.get(i));
        let w = |x: Option<&Write>| {
            x.map_or("—".to_owned(), |x| {
                format!(
                    "{:.1} / {:.1} ({} samples{})",
                    x.latency.p50_ms,
                    x.latency.p99_ms,
                    x.samples,
                    if x.errors > 0 {
                        format!(", {} errors", x.errors)
                    } else {
                        String::new()
                    }
                )
            })
        };
        println!(
            "| {} | {} | {} | | |",
            large.action,
            w(small),
            w(Some(large))
        );
    }
}
