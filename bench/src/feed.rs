//! `--feed`: the home feed and posting, on a server serving a database made by `agora seed`
//! (which writes the posts): `u4` reads with 5,000 friends (at full scale), `u5` is an
//! ordinary reader, `u3` posts to 5,000 friends, and ordinary users post as fast as they can.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::lists::{Timings, Write, login};
use crate::{Reads, User};

#[derive(Serialize, Debug)]
pub struct FeedReport {
    pub url: String,
    pub reads: Vec<Reads>,
    pub writes: Vec<Write>,
    /// Posts per second from `authors` ordinary authors at once.
    pub posts_per_second: f64,
    pub authors: usize,
}

/// The path (from `base`) of the page `pages` pages back in `user`'s feed.
async fn deep_page(
    client: &reqwest::Client,
    base: &str,
    user: &User,
    pages: usize,
) -> Result<String, String> {
    let mut url = format!("{base}/api/feed/");
    for _ in 0..pages {
        let page: Value = client
            .get(&url)
            .bearer_auth(&user.access)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match page["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    Ok(url.strip_prefix(base).unwrap_or(&url).to_owned())
}

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    concurrency: usize,
    seconds: u64,
) -> Result<FeedReport, String> {
    let star_reader = login(client, base, "u4").await?;
    let reader = login(client, base, "u5").await?;
    let star_author = login(client, base, "u3").await?;
    let deep = deep_page(client, base, &star_reader, 50).await?;
    let mut reads = Vec::new();
    for (user, path) in [
        (&reader, "/api/feed/".to_owned()),
        (&star_reader, "/api/feed/".to_owned()),
        (&star_reader, deep.clone()),
    ] {
        eprintln!("{base}{path} ...");
        let mut r = crate::reads_at(concurrency, seconds, base, &path, user).await;
        if path == deep {
            r.endpoint = "/api/feed/?cursor=<50 pages back>".into();
        }
        reads.push(r);
    }
    eprintln!("{base}: posts ...");
    let mut timings = Timings::default();
    for n in 0..100 {
        let post = client
            .post(format!("{base}/api/posts/"))
            .bearer_auth(&star_author.access)
            .json(&json!({"body": format!("bench post {n}"), "visibility": "friends"}))
            .send();
        timings
            .time(async { post.await.is_ok_and(|r| r.status().as_u16() == 201) })
            .await;
    }
    let mut writes = vec![
        timings
            .into_write("POST /api/posts/ by the author with 5,000 friends, one at a time".into()),
    ];
    let authors = concurrency.min(32);
    let (rate, sustained) = sustained_posts(client, base, authors, seconds).await?;
    writes.push(sustained);
    Ok(FeedReport {
        url: base.to_owned(),
        reads,
        writes,
        posts_per_second: rate,
        authors,
    })
}

/// `authors` ordinary users (u1001, u1002, ...) posting as fast as they can for `seconds`.
async fn sustained_posts(
    client: &reqwest::Client,
    base: &str,
    authors: usize,
    seconds: u64,
) -> Result<(f64, Write), String> {
    let mut users = Vec::new();
    for i in 0..authors {
        users.push(login(client, base, &format!("u{}", 1001 + i)).await?);
    }
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, user) in users.into_iter().enumerate() {
        let client = client.clone();
        let url = format!("{base}/api/posts/");
        tasks.push(tokio::spawn(async move {
            let mut timings = Timings::default();
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let post = client
                    .post(&url)
                    .bearer_auth(&user.access)
                    .json(&json!({"body": format!("post {i}.{n}")}))
                    .send();
                timings
                    .time(async { post.await.is_ok_and(|r| r.status().as_u16() == 201) })
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
    let rate = all.count() as f64 / started.elapsed().as_secs_f64();
    Ok((
        rate,
        all.into_write(format!(
            "POST /api/posts/ by {authors} ordinary authors at once"
        )),
    ))
}

pub fn print(r: &FeedReport) {
    println!("| feed ({}) | p50 / p99 ms | req/s |", r.url);
    println!("| --- | --- | --- |");
    for x in &r.reads {
        println!(
            "| `{}` | {:.1} / {:.1}{} | {:.0} |",
            x.endpoint,
            x.latency.p50_ms,
            x.latency.p99_ms,
            if x.errors > 0 {
                format!(" ({} errors)", x.errors)
            } else {
                String::new()
            },
            x.requests_per_second
        );
    }
    for w in &r.writes {
        println!(
            "| {} | {:.1} / {:.1} ({} samples, {} errors) | |",
            w.action, w.latency.p50_ms, w.latency.p99_ms, w.samples, w.errors
        );
    }
    println!(
        "\n{:.0} posts/s sustained from {} ordinary authors",
        r.posts_per_second, r.authors
    );
}
