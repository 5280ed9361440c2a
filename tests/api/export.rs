//! Data export through the front door: asked for, built by a job, announced, downloaded by
//! its signed link without a header, opened as a ZIP whose JSON files hold the user's data as
//! the API shows it to them; limited to one at a time and one per interval; expired.

use std::io::Read;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;

const EXPORT: &str = "/api/users/me/export/";

async fn ready_export(app: &TestApp, user: &TestUser) -> Value {
    app.until_jobs("the export built", |jobs| {
        jobs.iter().any(|j| j.kind == "export" && j.state == "done")
    })
    .await;
    let (status, export) = status_body(app.get(user, EXPORT).await).await;
    assert_eq!(status, 200);
    assert_eq!(export["status"], "ready", "{export}");
    export
}

fn entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut file = archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("no {name} in the archive"));
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap();
    out
}

fn json_entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Value {
    serde_json::from_slice(&entry(archive, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn an_export_holds_the_users_data_and_is_served_by_its_signed_link() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;
    let bytes = crate::media::png(4, 4);
    let picture = crate::media::upload(&app, &alice, bytes, "holiday.png").await;
    let (status, post) = status_body(
        app.post(
            &alice,
            "/api/posts/",
            json!({"body": "look", "visibility": "friends", "media": [picture["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{post}");
    let (status, _) = status_body(
        app.post(
            &alice,
            &paths::post_comments(&post["id"]),
            json!({"body": "me again"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let direct = crate::chat::direct(&app, &alice, &bob).await;
    crate::chat::say(&app, &alice, direct["id"].as_i64().unwrap(), "secret plans").await;

    let service = crate::pushee::PushService::start().await;
    let mut browser = service.browser("laptop");
    browser["alerts"] = json!({"chat_message": false});
    let res = app.post(&alice, "/api/push/subscriptions/", browser).await;
    assert_eq!(res.status(), 201);

    let (status, asked) = status_body(app.post(&alice, EXPORT, json!({})).await).await;
    assert_eq!(status, 202, "{asked}");
    assert_eq!(asked["status"], "pending");
    assert!(asked["url"].is_null());
    let export = ready_export(&app, &alice).await;
    assert!(export["size"].as_i64().unwrap() > 0);
    assert!(export["expires_at"].is_string());

    // Announced, and at most one per interval.
    let notes = json_of(app.get(&alice, "/api/notifications/").await).await;
    let ready = notes["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "export_ready")
        .cloned()
        .expect("an export_ready notification");
    assert_eq!(ready["data"], json!({"export_id": export["id"]}));
    let res = app.post(&alice, EXPORT, json!({})).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 86_000, "{retry}");

    // The link needs no header; altered, or for another export, it is a 404.
    let url = export["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&app.base), "{url}");
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let body = res.bytes().await.unwrap().to_vec();
    assert_eq!(body.len() as i64, export["size"].as_i64().unwrap());
    let altered = format!("{}0", url);
    assert_eq!(app.client.get(&altered).send().await.unwrap().status(), 404);
    let other = url.replace(
        &format!("/exports/{}/", export["id"]),
        &format!("/exports/{}/", export["id"].as_i64().unwrap() + 1),
    );
    assert_eq!(app.client.get(&other).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&bob, EXPORT).await.status(), 404, "bob has none");

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    let profile = json_entry(&mut archive, "profile.json");
    assert_eq!(profile["email"], "alice@example.com");
    assert_eq!(profile["email_verified"], false);
    let friends = json_entry(&mut archive, "friends.json");
    assert_eq!(friends[0]["user"]["id"], bob.id);
    assert_eq!(friends[0]["user"]["is_online"], Value::Null);
    assert!(friends[0]["since"].is_string());
    let requests = json_entry(&mut archive, "friend_requests.json");
    assert_eq!(requests[0]["status"], "accepted");
    let posts = json_entry(&mut archive, "posts.json");
    assert_eq!(posts[0]["body"], "look");
    let file = format!("media/{}-holiday.png", picture["id"]);
    assert_eq!(posts[0]["media"][0]["file"], file.as_str());
    assert!(posts[0]["media"][0].get("url").is_none());
    let comments = json_entry(&mut archive, "comments.json");
    assert_eq!(comments[0]["body"], "me again");
    let settings = json_entry(&mut archive, "settings.json");
    let subs = &settings["push_subscriptions"];
    assert_eq!(
        subs[0]["endpoint"],
        service.endpoint("laptop"),
        "{settings}"
    );
    assert_eq!(subs[0]["alerts"]["chat_message"], false);
    assert!(subs[0].get("keys").is_none() && subs[0].get("p256dh").is_none());
    let messages = json_entry(&mut archive, "messages.json");
    assert_eq!(messages[0]["room"]["type"], "direct");
    assert_eq!(messages[0]["messages"][0]["body"], "secret plans");
    for name in [
        "settings.json",
        "blocks.json",
        "reactions.json",
        "groups.json",
        "notifications.json",
        "reports.json",
    ] {
        assert!(
            json_entry(&mut archive, name).is_object() || json_entry(&mut archive, name).is_array()
        );
    }
    let stored = entry(&mut archive, &file);
    assert_eq!(stored.len() as i64, picture["size"].as_i64().unwrap());
}

#[tokio::test]
async fn two_exports_asked_at_once_make_one() {
    let app = TestApp::spawn_with(|s| s.accounts.jobs.workers = 0).await;
    let carl = app.register("carl").await;
    let (a, b) = tokio::join!(
        app.post(&carl, EXPORT, json!({})),
        app.post(&carl, EXPORT, json!({}))
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 429]);
}

#[tokio::test]
async fn an_export_past_its_retention_is_expired_and_its_file_gone() {
    let app = TestApp::spawn_with(|s| {
        s.accounts.export_retention = std::time::Duration::ZERO;
        s.accounts.export_interval = std::time::Duration::ZERO;
    })
    .await;
    let dora = app.register("dora").await;
    assert_eq!(app.post(&dora, EXPORT, json!({})).await.status(), 202);
    let export = ready_export(&app, &dora).await;
    let url = export["url"].as_str().unwrap().to_owned();
    agora::export::expire(&app.state).await.unwrap();
    let expired = json_of(app.get(&dora, EXPORT).await).await;
    assert_eq!(expired["status"], "expired");
    assert!(expired["url"].is_null());
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);
    // With no interval, another may be asked for at once.
    assert_eq!(app.post(&dora, EXPORT, json!({})).await.status(), 202);
}
