//! Moderation through the front door: staff-only routes, suspension and its effect on every
//! surface and instance, lifting it, and the audit log.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, json_of, status_body};
use crate::paths;

pub(crate) async fn staff(app: &TestApp, name: &str) -> TestUser {
    let user = app.register(name).await;
    app.make_staff(&user).await;
    user
}

async fn suspend(app: &TestApp, by: &TestUser, id: i64, body: Value) -> (u16, Value) {
    status_body(
        app.post(by, &format!("/api/admin/users/{id}/suspend/"), body)
            .await,
    )
    .await
}

#[tokio::test]
async fn admin_routes_are_for_staff_only() {
    let app = TestApp::spawn().await;
    let eve = app.register("eve").await;
    let bob = app.register("bob").await;
    for (method, path) in [
        (Method::GET, "/api/admin/users/".to_owned()),
        (Method::GET, "/api/admin/audit/".to_owned()),
        (
            Method::POST,
            format!("/api/admin/users/{}/suspend/", bob.id),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{}/unsuspend/", bob.id),
        ),
    ] {
        let res = app
            .request(
                method.clone(),
                &path,
                Some(&eve.access),
                Some(json!({"reason": "x"})),
            )
            .await;
        assert_eq!(res.status(), 403, "{method} {path}");
        let anon = app.request(method.clone(), &path, None, None).await;
        assert_eq!(anon.status(), 401, "{method} {path}");
    }
    assert_eq!(app.login("bob", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_suspension_hides_the_user_until_it_is_lifted_and_is_audited() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let troll = app.register("troll").await;
    let friend = app.register("friend").await;
    app.befriend(&troll, &friend).await;
    let (status, post) = status_body(
        app.post(
            &troll,
            "/api/posts/",
            json!({"body": "rude", "visibility": "public"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let mut socket = app.ws(&troll).await;

    // Bad terms: a past `until`, no reason, a staff target.
    let (status, body) = suspend(
        &app,
        &mod_,
        troll.id,
        json!({"until": "2000-01-01T00:00:00Z", "reason": "spam"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["until"].is_array(), "{body}");
    assert_eq!(suspend(&app, &mod_, troll.id, json!({})).await.0, 400);
    let other_staff = staff(&app, "othermod").await;
    assert_eq!(
        suspend(&app, &mod_, other_staff.id, json!({"reason": "x"}))
            .await
            .0,
        403
    );

    let (status, s) = suspend(
        &app,
        &mod_,
        troll.id,
        json!({"reason": "Spamming the feed."}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["user"]["id"], troll.id);
    assert_eq!(s["until"], Value::Null);
    assert_eq!(s["created_by"]["id"], mod_.id);

    // At once: the socket closes, tokens die, login and refresh say why.
    assert_eq!(socket.closed().await, 4401);
    assert_eq!(app.get(&troll, "/api/users/me/").await.status(), 401);
    let (status, body) = status_body(app.login("troll", PASSWORD).await).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "This account is suspended.", "code": "account_suspended",
                "until": null, "reason": "Spamming the feed."})
        )
    );
    assert_eq!(app.login("troll", "wrong-password").await.status(), 401);
    let (status, body) = status_body(
        app.post_anon("/api/auth/refresh/", json!({"refresh": troll.refresh}))
            .await,
    )
    .await;
    assert_eq!((status, &body["code"]), (403, &json!("account_suspended")));

    // Hidden from others, visible to staff; the friendship stays.
    assert_eq!(app.get(&friend, &paths::user(troll.id)).await.status(), 404);
    assert_eq!(
        app.get(&friend, &paths::post(&post["id"])).await.status(),
        404
    );
    let list = json_of(app.get(&friend, "/api/users/?search=troll").await).await;
    assert_eq!(list["count"], 0);
    assert_eq!(app.get(&mod_, &paths::user(troll.id)).await.status(), 200);
    let listed = json_of(app.get(&mod_, "/api/admin/users/?suspended=true").await).await;
    assert_eq!(listed["count"], 1);
    assert_eq!(
        listed["results"][0]["suspension"]["reason"],
        "Spamming the feed."
    );
    assert_eq!(listed["results"][0]["is_active"], false);

    // Lifted: everything as it was.
    let res = app
        .post(
            &mod_,
            &format!("/api/admin/users/{}/unsuspend/", troll.id),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let (status, body) = status_body(
        app.post(
            &mod_,
            &format!("/api/admin/users/{}/unsuspend/", troll.id),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"detail": "This user is not suspended."}))
    );
    let back = app.sign_in("troll", PASSWORD).await;
    assert_eq!(
        app.get(&friend, &paths::post(&post["id"])).await.status(),
        200
    );
    let friends = json_of(app.get(&back, "/api/friends/").await).await;
    assert_eq!(friends["count"], 1);

    let audit = json_of(app.get(&mod_, "/api/admin/audit/").await).await;
    let actions: Vec<&str> = audit["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.unsuspend", "user.suspend"]);
    assert_eq!(audit["results"][1]["actor"]["id"], mod_.id);
    assert_eq!(
        audit["results"][1]["target"],
        json!({"type": "user", "id": troll.id})
    );
    assert_eq!(audit["results"][1]["data"]["reason"], "Spamming the feed.");
    let filtered = json_of(
        app.get(
            &mod_,
            &format!(
                "/api/admin/audit/?action=user.suspend&target_id={}",
                troll.id
            ),
        )
        .await,
    )
    .await;
    assert_eq!(filtered["count"], 1);
    assert_eq!(
        app.get(&mod_, "/api/admin/audit/?actor=abc").await.status(),
        400
    );
}

#[tokio::test]
async fn a_suspension_closes_the_users_socket_on_another_instance() {
    if !TestApp::has_redis() {
        return;
    }
    let one = TestApp::spawn().await;
    let two = one.spawn_peer().await;
    let mod_ = staff(&one, "moderator").await;
    let troll = one.register("troll").await;
    let mut socket = two.ws(&troll).await;
    let (status, _) = suspend(&one, &mod_, troll.id, json!({"reason": "r"})).await;
    assert_eq!(status, 200);
    let closed = tokio::time::timeout(std::time::Duration::from_secs(1), socket.closed())
        .await
        .expect("closed within a second");
    assert_eq!(closed, 4401);
}

#[tokio::test]
async fn what_staff_change_through_the_ordinary_endpoints_is_audited() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let alice = app.register("alice").await;
    let res = app
        .patch(
            &mod_,
            &paths::user(alice.id),
            json!({"profile": {"bio": "[removed]"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (_, post) = status_body(
        app.post(
            &alice,
            "/api/posts/",
            json!({"body": "x", "visibility": "public"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        app.delete(&mod_, &paths::post(&post["id"])).await.status(),
        204
    );
    let (_, group) =
        status_body(app.post(&alice, "/api/groups/", json!({"name": "G"})).await).await;
    let res = app
        .patch(
            &mod_,
            &paths::group(&group["id"]),
            json!({"description": "tidied"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.delete(&mod_, &paths::group(&group["id"]))
            .await
            .status(),
        204
    );
    // Their own things are not staff actions.
    let res = app
        .patch(&mod_, "/api/users/me/", json!({"first_name": "Mo"}))
        .await;
    assert_eq!(res.status(), 200);

    let audit = json_of(app.get(&mod_, "/api/admin/audit/").await).await;
    let entries: Vec<(String, String)> = audit["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("group.delete", "group"),
        ("group.update", "group"),
        ("post.delete", "post"),
        ("user.update", "user"),
    ]
    .iter()
    .map(|(a, t)| ((*a).to_owned(), (*t).to_owned()))
    .collect();
    assert_eq!(entries, expected);
    assert_eq!(audit["results"][3]["data"]["profile"]["bio"], "[removed]");
    assert_eq!(audit["results"][1]["data"]["description"], "tidied");
}

#[tokio::test]
async fn a_suspended_users_posts_leave_every_feed_and_come_back() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let author = app.register("author").await;
    let reader = app.register("reader").await;
    app.befriend(&author, &reader).await;
    let (_, group) = status_body(
        app.post(&author, "/api/groups/", json!({"name": "G"}))
            .await,
    )
    .await;
    let res = app
        .post(&reader, &paths::group_join(&group["id"]), json!({}))
        .await;
    assert!(res.status().is_success());
    let (_, mine) = status_body(
        app.post(
            &author,
            "/api/posts/",
            json!({"body": "hi", "visibility": "friends"}),
        )
        .await,
    )
    .await;
    let (_, in_group) = status_body(
        app.post(
            &author,
            "/api/posts/",
            json!({"body": "hi group", "visibility": "group", "group": group["id"]}),
        )
        .await,
    )
    .await;
    let feeds = [
        "/api/feed/".to_owned(),
        paths::user_posts(author.id),
        format!("/api/groups/{}/posts/", group["id"]),
    ];
    let seen = |ids: Vec<i64>| {
        ids.contains(&mine["id"].as_i64().unwrap())
            || ids.contains(&in_group["id"].as_i64().unwrap())
    };
    for feed in &feeds {
        assert!(
            seen(crate::posts::feed_ids(&app, &reader, feed).await),
            "{feed}"
        );
    }
    let (status, _) = suspend(&app, &mod_, author.id, json!({"reason": "r"})).await;
    assert_eq!(status, 200);
    for feed in &feeds {
        let res = app.get(&reader, feed).await;
        let visible = res.status() == 200 && {
            let body = json_of(res).await;
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["author"]["id"] == author.id)
        };
        assert!(!visible, "{feed} still shows the suspended author");
    }
    // Group pages and the room stay; the membership too.
    assert_eq!(
        app.get(&reader, &paths::group(&group["id"])).await.status(),
        200
    );
    let res = app
        .post(
            &mod_,
            &format!("/api/admin/users/{}/unsuspend/", author.id),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    for feed in &feeds {
        assert!(
            seen(crate::posts::feed_ids(&app, &reader, feed).await),
            "{feed} after lifting"
        );
    }
}

#[tokio::test]
async fn a_suspended_user_cannot_be_asked_added_or_invited() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let troll = app.register("troll").await;
    let alice = app.register("alice").await;
    app.befriend(&alice, &troll).await;
    let (_, room) = status_body(
        app.post(
            &alice,
            "/api/chat/rooms/",
            json!({"name": "r", "member_ids": []}),
        )
        .await,
    )
    .await;
    let (_, group) =
        status_body(app.post(&alice, "/api/groups/", json!({"name": "G"})).await).await;
    let (status, _) = suspend(&app, &mod_, troll.id, json!({"reason": "r"})).await;
    assert_eq!(status, 200);

    let bob = app.register("bob").await;
    let (status, body) = status_body(
        app.post(&bob, "/api/friends/request/", json!({"receiver": troll.id}))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = status_body(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": troll.id}))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = status_body(
        app.post(
            &alice,
            &paths::room_members(&room["id"]),
            json!({"user_ids": [troll.id]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = status_body(
        app.post(
            &alice,
            &format!("/api/groups/{}/invites/", group["id"]),
            json!({"user_id": troll.id}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_warned_and_the_suspended_are_told_by_mail() {
    let smtp = crate::smtp::SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(move |s| {
        s.accounts.email = agora::config::email_backend(&url).unwrap();
        s.accounts.verification = agora::config::Verification::None;
    })
    .await;
    let mod_ = staff(&app, "moderator").await;
    let troll = app.register("troll").await;
    let bob = app.register("bob").await;
    let (status, report) = status_body(
        app.post(
            &bob,
            "/api/reports/",
            json!({"target": {"type": "user", "id": troll.id}, "category": "spam"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{report}");
    let res = app
        .post(
            &mod_,
            &format!("/api/admin/reports/{}/resolve/", report["id"]),
            json!({"action": "warn", "message": "Please stop posting ads."}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let warned = smtp.wait_for("troll@example.com", "moderators", 1).await;
    assert!(warned.text().contains("warned"));
    assert!(warned.text().contains("Please stop posting ads."));
    let (status, _) = suspend(&app, &mod_, troll.id, json!({"reason": "Ads again."})).await;
    assert_eq!(status, 200);
    let suspended = smtp.wait_for("troll@example.com", "moderators", 2).await;
    assert!(suspended.text().contains("suspended") && suspended.text().contains("Ads again."));
    assert!(
        smtp.to("bob@example.com").is_empty(),
        "the reporter gets no mail"
    );
}

#[tokio::test]
async fn a_suspended_users_comments_are_hidden_until_it_is_lifted() {
    let app = TestApp::spawn().await;
    let mod_ = staff(&app, "moderator").await;
    let troll = app.register("troll").await;
    let reader = app.register("reader").await;
    let (_, post) = status_body(
        app.post(
            &reader,
            "/api/posts/",
            json!({"body": "mine", "visibility": "public"}),
        )
        .await,
    )
    .await;
    let (status, comment) = status_body(
        app.post(
            &troll,
            &paths::post_comments(&post["id"]),
            json!({"body": "rude"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    async fn count(app: &TestApp, who: &TestUser, post: &Value) -> usize {
        let page = json_of(app.get(who, &paths::post_comments(&post["id"])).await).await;
        page["results"].as_array().unwrap().len()
    }
    assert_eq!(count(&app, &reader, &post).await, 1);
    let (status, _) = suspend(&app, &mod_, troll.id, json!({"reason": "r"})).await;
    assert_eq!(status, 200);
    assert_eq!(count(&app, &reader, &post).await, 0);
    assert_eq!(
        app.get(&reader, &paths::comment(&comment["id"]))
            .await
            .status(),
        404
    );
    assert_eq!(count(&app, &mod_, &post).await, 1, "staff still see it");
    let res = app
        .post(
            &mod_,
            &format!("/api/admin/users/{}/unsuspend/", troll.id),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(count(&app, &reader, &post).await, 1);
    assert_eq!(
        app.get(&reader, &paths::comment(&comment["id"]))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn two_resolves_at_once_act_once() {
    let app = TestApp::spawn().await;
    let (one, two) = (staff(&app, "mod1").await, staff(&app, "mod2").await);
    let troll = app.register("troll").await;
    let bob = app.register("bob").await;
    let (status, report) = status_body(
        app.post(
            &bob,
            "/api/reports/",
            json!({"target": {"type": "user", "id": troll.id}, "category": "spam"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{report}");
    let path = format!("/api/admin/reports/{}/resolve/", report["id"]);
    let body = json!({"action": "suspend_user", "message": "Spam."});
    let (a, b) = tokio::join!(
        app.post(&one, &path, body.clone()),
        app.post(&two, &path, body.clone())
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    for action in ["report.resolve", "user.suspend"] {
        let audit = json_of(
            app.get(&one, &format!("/api/admin/audit/?action={action}"))
                .await,
        )
        .await;
        assert_eq!(audit["count"], 1, "{action}: {audit}");
    }
    let notes = json_of(
        app.get(&bob, "/api/notifications/?type=report_resolved")
            .await,
    )
    .await;
    assert_eq!(notes["count"], 1, "the reporter is told once");
}
