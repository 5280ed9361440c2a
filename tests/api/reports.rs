//! Reports through the front door: what may be reported by whom, the staff queue with
//! snapshots and grouping, each resolution and its effect, what reporters and the reported
//! are told, and the audit entry.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, json_of, status_body};
use crate::moderation::staff;
use crate::paths;

async fn report(
    app: &TestApp,
    by: &TestUser,
    kind: &str,
    id: &Value,
    category: &str,
) -> (u16, Value) {
    status_body(
        app.post(
            by,
            "/api/reports/",
            json!({"target": {"type": kind, "id": id}, "category": category, "comment": "look"}),
        )
        .await,
    )
    .await
}

async fn resolve(app: &TestApp, by: &TestUser, id: &Value, body: Value) -> (u16, Value) {
    status_body(
        app.post(by, &format!("/api/admin/reports/{id}/resolve/"), body)
            .await,
    )
    .await
}

async fn notes_of(app: &TestApp, user: &TestUser) -> Vec<Value> {
    json_of(app.get(user, "/api/notifications/?page_size=100").await).await["results"]
        .as_array()
        .unwrap()
        .clone()
}

async fn post_of(app: &TestApp, author: &TestUser, body: &str, visibility: &str) -> Value {
    let (status, p) = status_body(
        app.post(
            author,
            "/api/posts/",
            json!({"body": body, "visibility": visibility}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{p}");
    p
}

#[tokio::test]
async fn reports_are_checked_grouped_resolved_and_told() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let post = post_of(&app, &alice, "buy cheap pills", "public").await;
    let private = post_of(&app, &alice, "friends only", "friends").await;

    // What may not be reported.
    let (status, body) = report(&app, &bob, "post", &private["id"], "spam").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"target": [format!("Invalid pk \"{}\" - object does not exist.", private["id"])]})
    );
    let (status, body) = report(&app, &alice, "post", &post["id"], "spam").await;
    assert_eq!(
        (status, body),
        (400, json!({"detail": "You cannot report yourself."}))
    );
    assert_eq!(
        report(&app, &bob, "post", &post["id"], "boring").await.0,
        400
    );
    assert_eq!(
        report(&app, &bob, "planet", &post["id"], "spam").await.0,
        400
    );

    let (status, mine) = report(&app, &bob, "post", &post["id"], "spam").await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!(
        (&mine["status"], &mine["outcome"], &mine["target"]),
        (
            &json!("open"),
            &Value::Null,
            &json!({"type": "post", "id": post["id"]})
        )
    );
    let (status, body) = report(&app, &bob, "post", &post["id"], "spam").await;
    assert_eq!(
        (status, body),
        (400, json!({"detail": "You have already reported this."}))
    );
    assert_eq!(
        report(&app, &carol, "post", &post["id"], "hate").await.0,
        201
    );
    assert_eq!(
        json_of(app.get(&bob, "/api/reports/").await).await["count"],
        1
    );
    assert_eq!(
        app.get(&carol, &format!("/api/reports/{}/", mine["id"]))
            .await
            .status(),
        404
    );
    assert!(
        notes_of(&app, &mod_)
            .await
            .iter()
            .any(|n| n["type"] == "report_created" && n["data"]["report_id"] == mine["id"])
    );

    // Staff see the post as reported, after an edit too, grouped by target.
    let res = app
        .patch(
            &alice,
            &paths::post(&post["id"]),
            json!({"body": "edited away"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get(&bob, "/api/admin/reports/").await.status(), 403);
    let queue = json_of(app.get(&mod_, "/api/admin/reports/").await).await;
    assert_eq!(queue["count"], 2);
    let first = &queue["results"][0];
    assert_eq!(first["id"], mine["id"], "open ones oldest first");
    assert_eq!(first["snapshot"]["body"], "buy cheap pills");
    assert_eq!(first["reporter"]["id"], bob.id);
    assert_eq!(first["target_user"]["id"], alice.id);
    assert_eq!(first["open_reports_on_target"], 2);
    let only_hate = json_of(app.get(&mod_, "/api/admin/reports/?category=hate").await).await;
    assert_eq!(only_hate["count"], 1);

    // A warning needs its message; removing the content resolves both reports.
    let (status, body) = resolve(&app, &mod_, &mine["id"], json!({"action": "warn"})).await;
    assert_eq!(status, 400);
    assert!(body["message"].is_array(), "{body}");
    let (status, done) = resolve(
        &app,
        &mod_,
        &mine["id"],
        json!({"action": "remove_content", "note": "known spammer", "message": "No ads, please."}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (&done["status"], &done["action"]),
        (&json!("resolved"), &json!("remove_content"))
    );
    assert_eq!(done["resolved_by"]["id"], mod_.id);
    assert_eq!(app.get(&bob, &paths::post(&post["id"])).await.status(), 404);
    let (status, body) = resolve(&app, &mod_, &mine["id"], json!({"action": "none"})).await;
    assert_eq!(
        (status, body),
        (400, json!({"detail": "This report is already resolved."}))
    );
    assert_eq!(
        json_of(app.get(&mod_, "/api/admin/reports/").await).await["count"],
        0,
        "the other report on the post was resolved with it"
    );
    for reporter in [&bob, &carol] {
        let told = notes_of(&app, reporter)
            .await
            .into_iter()
            .find(|n| n["type"] == "report_resolved")
            .expect("report_resolved");
        assert_eq!(
            told["text"],
            "We reviewed your report and removed the content."
        );
        assert_eq!(told["data"]["outcome"], "remove_content");
        assert!(
            !told.to_string().contains("known spammer"),
            "never the note"
        );
    }
    let mine = json_of(
        app.get(&bob, &format!("/api/reports/{}/", mine["id"]))
            .await,
    )
    .await;
    assert_eq!(mine["outcome"], "remove_content");
    // The reported user is warned, and never told who reported or why in their words.
    let alice_notes = notes_of(&app, &alice).await;
    let warning = alice_notes
        .iter()
        .find(|n| n["type"] == "moderation_warning")
        .expect("moderation_warning");
    assert_eq!(warning["text"], "No ads, please.");
    assert_eq!(
        warning["data"],
        json!({"action": "remove_content", "target": {"type": "post", "id": post["id"]}})
    );
    let everything = Value::Array(alice_notes).to_string();
    assert!(
        !everything.contains("\"bob\"")
            && !everything.contains("spam")
            && !everything.contains("report_id")
    );

    let audit = json_of(
        app.get(&mod_, "/api/admin/audit/?action=report.resolve")
            .await,
    )
    .await;
    assert_eq!(audit["count"], 1);
    assert_eq!(audit["results"][0]["data"]["note"], "known spammer");
}

#[tokio::test]
async fn each_target_type_can_be_reported_and_acted_on() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;

    // A message: only by someone in its room; removed, it is a tombstone.
    let direct = crate::chat::direct(&app, &alice, &bob).await;
    let said = crate::chat::say(&app, &alice, direct["id"].as_i64().unwrap(), "threat").await;
    assert_eq!(
        report(&app, &eve, "message", &said["id"], "violence")
            .await
            .0,
        400
    );
    let (status, r) = report(&app, &bob, "message", &said["id"], "violence").await;
    assert_eq!(status, 201);
    assert_eq!(
        resolve(&app, &mod_, &r["id"], json!({"action": "remove_content"}))
            .await
            .0,
        200
    );
    let history = json_of(app.get(&bob, &paths::room_messages(&direct["id"])).await).await;
    assert_eq!(history["results"][0]["deleted"], true);

    // A comment: warned.
    let post = post_of(&app, &bob, "hello", "public").await;
    let (status, c) = status_body(
        app.post(
            &alice,
            &paths::post_comments(&post["id"]),
            json!({"body": "you idiot"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (status, r) = report(&app, &bob, "comment", &c["id"], "harassment").await;
    assert_eq!(status, 201);
    let (status, _) = resolve(
        &app,
        &mod_,
        &r["id"],
        json!({"action": "warn", "message": "Be kind."}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        notes_of(&app, &alice)
            .await
            .iter()
            .any(|n| n["type"] == "moderation_warning" && n["text"] == "Be kind.")
    );

    // A group: removed.
    let (status, g) = status_body(
        app.post(&alice, "/api/groups/", json!({"name": "Bad"}))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let (status, r) = report(&app, &bob, "group", &g["id"], "illegal").await;
    assert_eq!(status, 201);
    let queue = json_of(
        app.get(&mod_, &format!("/api/admin/reports/{}/", r["id"]))
            .await,
    )
    .await;
    assert_eq!(queue["snapshot"]["name"], "Bad");
    assert_eq!(
        resolve(&app, &mod_, &r["id"], json!({"action": "remove_content"}))
            .await
            .0,
        200
    );
    assert_eq!(app.get(&bob, &paths::group(&g["id"])).await.status(), 404);

    // A user: suspended through the report; staff cannot be.
    let (status, r) = report(&app, &bob, "user", &json!(alice.id), "spam").await;
    assert_eq!(status, 201);
    let (status, r2) = report(&app, &bob, "user", &json!(mod_.id), "other").await;
    assert_eq!(status, 201);
    assert_eq!(
        resolve(&app, &mod_, &r2["id"], json!({"action": "suspend_user"}))
            .await
            .0,
        403
    );
    let (status, done) = resolve(
        &app,
        &mod_,
        &r["id"],
        json!({"action": "suspend_user", "message": "Repeated abuse.", "until": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["until"], "2999-01-01T00:00:00Z");
    let (status, body) = status_body(app.login("alice", PASSWORD).await).await;
    assert_eq!(status, 403);
    assert_eq!(body["reason"], "Repeated abuse.");
    assert_eq!(body["until"], "2999-01-01T00:00:00Z");
}

#[tokio::test]
async fn reports_are_limited_per_hour() {
    let app = TestApp::spawn_with(|s| s.accounts.reports_per_hour = 2).await;
    let author = app.register("author").await;
    let bob = app.register("bob").await;
    let mut last = 0;
    for i in 0..3 {
        let p = post_of(&app, &author, &format!("post {i}"), "public").await;
        last = report(&app, &bob, "post", &p["id"], "spam").await.0;
    }
    assert_eq!(last, 429);
}

#[tokio::test]
async fn a_reported_file_its_owner_deletes_stays_readable_to_staff_until_resolved() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let troll = app.register("troll").await;
    let bob = app.register("bob").await;
    let picture = crate::media::upload(&app, &troll, crate::media::png(8, 8), "bad.png").await;
    let (status, post) = status_body(
        app.post(
            &troll,
            "/api/posts/",
            json!({"body": "look", "visibility": "public", "media": [picture["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{post}");
    let old_link = post["media"][0]["url"].as_str().expect("url").to_owned();
    let (status, filed) = report(&app, &bob, "post", &post["id"], "sexual").await;
    assert_eq!(status, 201, "{filed}");

    // The owner deletes the file: gone for everyone, its old links included.
    assert_eq!(
        app.delete(&troll, &paths::media(&picture["id"]))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.client
            .get(&old_link)
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
    assert_eq!(
        app.get(&troll, &paths::media(&picture["id"]))
            .await
            .status(),
        404
    );

    // Staff still see it through the report.
    let path = format!("/api/admin/reports/{}/", filed["id"]);
    let seen = json_of(app.get(&mod_, &path).await).await;
    let media = &seen["snapshot"]["media"];
    assert_eq!(media[0]["id"], picture["id"], "{seen}");
    let link = media[0]["url"].as_str().expect("url").to_owned();
    let res = app.client.get(&link).send().await.expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let thumb = media[0]["thumbnail_url"]
        .as_str()
        .expect("thumbnail")
        .to_owned();
    assert_eq!(
        app.client.get(&thumb).send().await.expect("get").status(),
        200
    );

    // Resolved: the bytes go.
    let res = app
        .post(
            &mod_,
            &format!("{path}resolve/"),
            json!({"action": "remove_content"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.client.get(&link).send().await.expect("get").status(),
        404
    );
    let seen = json_of(app.get(&mod_, &path).await).await;
    assert_eq!(seen["snapshot"]["media"], json!([]));
}
