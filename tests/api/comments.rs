//! Comments through the front door: replies one level deep, tombstones, counts true under
//! concurrent writers, who may write and delete, notifications once per user, and events.

use serde_json::{Value, json};

use crate::groups;
use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;
use crate::posts::{feed_ids, say};

async fn comment(app: &TestApp, user: &TestUser, post: &Value, body: Value) -> Value {
    let (status, c) = status_body(
        app.post(user, &paths::post_comments(&post["id"]), body)
            .await,
    )
    .await;
    assert_eq!(status, 201, "{c}");
    c
}

async fn post_of(app: &TestApp, user: &TestUser, post: &Value) -> Value {
    json_of(app.get(user, &paths::post(&post["id"])).await).await
}

#[tokio::test]
async fn comments_replies_and_tombstones_keep_their_counts() {
    let app = TestApp::spawn().await;
    let author = app.register("poster").await;
    let friend = app.register("commenter").await;
    app.befriend(&author, &friend).await;
    let p = say(&app, &author, "a post", "friends").await;

    let top = comment(&app, &friend, &p, json!({"body": " first! "})).await;
    assert_eq!(top["body"], "first!");
    assert_eq!(top["post"], p["id"]);
    assert!(top["reply_to"].is_null());
    let reply = comment(
        &app,
        &author,
        &p,
        json!({"body": "thanks", "reply_to": top["id"]}),
    )
    .await;
    assert_eq!(reply["reply_to"], top["id"]);
    let lone = comment(&app, &author, &p, json!({"body": "another"})).await;
    assert_eq!(post_of(&app, &friend, &p).await["comment_count"], 3);
    let listed = json_of(app.get(&friend, &paths::post_comments(&p["id"])).await).await;
    let ids: Vec<&Value> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        ids,
        vec![&top["id"], &lone["id"]],
        "top-level only, oldest first"
    );
    assert_eq!(listed["results"][0]["reply_count"], 1);
    let replies = json_of(app.get(&friend, &paths::replies(&top["id"])).await).await;
    assert_eq!(replies["results"][0]["id"], reply["id"]);

    // One level only, and only within the post.
    let other = say(&app, &author, "another post", "friends").await;
    for reply_to in [&reply["id"], &json!(999_999)] {
        let (status, err) = status_body(
            app.post(
                &friend,
                &paths::post_comments(&p["id"]),
                json!({"body": "x", "reply_to": reply_to}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            err["reply_to"][0],
            "Replies can only be made to a top-level comment of this post."
        );
    }
    let (status, _) = status_body(
        app.post(
            &friend,
            &paths::post_comments(&other["id"]),
            json!({"body": "x", "reply_to": top["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    let (status, err) = status_body(
        app.post(
            &friend,
            &paths::post_comments(&p["id"]),
            json!({"body": "y".repeat(2001)}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &err["body"][0]),
        (
            400,
            &json!("Ensure this field has no more than 2000 characters.")
        )
    );

    // Deleting a comment with replies leaves a tombstone; its last reply takes it along.
    assert_eq!(
        app.delete(&friend, &paths::comment(&top["id"]))
            .await
            .status(),
        204
    );
    let tomb = json_of(app.get(&author, &paths::comment(&top["id"])).await).await;
    assert_eq!(
        (tomb["deleted"].clone(), tomb["body"].clone()),
        (json!(true), json!(""))
    );
    assert_eq!(post_of(&app, &author, &p).await["comment_count"], 2);
    let (status, err) = status_body(
        app.patch(
            &friend,
            &paths::comment(&top["id"]),
            json!({"body": "back"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err),
        (400, json!({"detail": "This comment has been deleted."}))
    );
    assert_eq!(
        app.delete(&author, &paths::comment(&reply["id"]))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.get(&author, &paths::comment(&top["id"])).await.status(),
        404
    );
    assert_eq!(post_of(&app, &author, &p).await["comment_count"], 1);

    // Edits are the author's; the post's author may delete anyone's comment.
    assert_eq!(
        app.patch(&author, &paths::comment(&lone["id"]), json!({"body": "x"}))
            .await
            .status(),
        200
    );
    let theirs = comment(&app, &friend, &p, json!({"body": "mine"})).await;
    assert_eq!(
        app.patch(
            &author,
            &paths::comment(&theirs["id"]),
            json!({"body": "x"})
        )
        .await
        .status(),
        403
    );
    let (status, edited) = status_body(
        app.patch(
            &friend,
            &paths::comment(&theirs["id"]),
            json!({"body": "mine, edited"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(edited["edited_at"].is_string());
    assert_eq!(
        app.delete(&author, &paths::comment(&theirs["id"]))
            .await
            .status(),
        204
    );
    // Deleting the post takes its comments.
    app.delete(&author, &paths::post(&p["id"])).await;
    assert_eq!(
        app.get(&author, &paths::comment(&lone["id"]))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn only_those_who_may_see_a_post_comment_and_blocks_hide_comments() {
    let app = TestApp::spawn().await;
    let author = app.register("host").await;
    let friend = app.register("guest").await;
    let stranger = app.register("outsider").await;
    let troll = app.register("troll").await;
    app.befriend(&author, &friend).await;
    app.befriend(&author, &troll).await;
    let p = say(&app, &author, "friends only", "friends").await;
    assert_eq!(
        app.post(
            &stranger,
            &paths::post_comments(&p["id"]),
            json!({"body": "hi"})
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.get(&stranger, &paths::post_comments(&p["id"]))
            .await
            .status(),
        404
    );
    let rude = comment(&app, &troll, &p, json!({"body": "rude"})).await;
    let kind = comment(&app, &friend, &p, json!({"body": "kind"})).await;
    app.post(&friend, &paths::block(troll.id), json!({})).await;
    let seen = json_of(app.get(&friend, &paths::post_comments(&p["id"])).await).await;
    let ids: Vec<&Value> = seen["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        ids,
        vec![&kind["id"]],
        "a blocked user's comment is left out"
    );
    assert_eq!(
        app.get(&friend, &paths::comment(&rude["id"]))
            .await
            .status(),
        404
    );
    assert_eq!(
        post_of(&app, &friend, &p).await["comment_count"],
        2,
        "counts are the same for everyone"
    );

    // A public group's post: outsiders read it but only members comment.
    let g = groups::public(&app, &author, "Club").await;
    let gp = crate::posts::publish(
        &app,
        &author,
        json!({"body": "club news", "group": g["id"]}),
    )
    .await;
    assert_eq!(
        app.get(&stranger, &paths::post_comments(&gp["id"]))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post(
            &stranger,
            &paths::post_comments(&gp["id"]),
            json!({"body": "hi"})
        )
        .await
        .status(),
        403
    );
    groups::joined(&app, &stranger, &g).await;
    comment(&app, &stranger, &gp, json!({"body": "hi"})).await;
}

#[tokio::test]
async fn each_user_is_notified_once_per_comment_by_the_first_rule_that_applies() {
    let app = TestApp::spawn().await;
    let author = app.register("op").await;
    let first = app.register("first").await;
    let second = app.register("second").await;
    let hidden = app.register("hidden").await;
    app.befriend(&author, &first).await;
    app.befriend(&author, &second).await;
    let p = say(&app, &author, "a post", "friends").await;
    let top = comment(&app, &first, &p, json!({"body": "top"})).await;
    // A reply that mentions the top comment's author and someone who may not see the post.
    let reply = comment(
        &app,
        &second,
        &p,
        json!({"body": "@first and @op and @hidden", "reply_to": top["id"]}),
    )
    .await;
    let kinds = |n: &Value| (n["type"].as_str().unwrap().to_owned(), n["data"].clone());
    let of = |user: &TestUser| {
        let user = user.clone();
        let app = &app;
        async move {
            let page = json_of(app.get(&user, "/api/notifications/").await).await;
            let about_posts = ["mention", "post_comment", "comment_reply"];
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| about_posts.contains(&n["type"].as_str().unwrap()))
                .map(kinds)
                .collect::<Vec<_>>()
        }
    };
    let (pid, tid, rid) = (p["id"].clone(), top["id"].clone(), reply["id"].clone());
    assert_eq!(
        of(&first).await,
        vec![(
            "mention".to_owned(),
            json!({"post_id": pid, "comment_id": rid})
        )]
    );
    let op = of(&author).await;
    assert_eq!(
        op[0],
        (
            "mention".to_owned(),
            json!({"post_id": pid, "comment_id": rid})
        )
    );
    assert_eq!(
        op[1],
        (
            "post_comment".to_owned(),
            json!({"post_id": pid, "comment_id": tid})
        )
    );
    assert_eq!(op.len(), 2);
    assert!(
        of(&hidden).await.is_empty(),
        "no notification to someone who may not see the post"
    );
    // A plain reply: comment_reply to the parent's author.
    let plain = comment(
        &app,
        &author,
        &p,
        json!({"body": "ok", "reply_to": top["id"]}),
    )
    .await;
    assert_eq!(
        of(&first).await[0],
        (
            "comment_reply".to_owned(),
            json!({"post_id": pid, "comment_id": plain["id"], "reply_to": tid})
        )
    );
    // Notification settings are obeyed.
    app.patch(
        &author,
        "/api/notifications/settings/",
        json!({"types": {"post_comment": false}}),
    )
    .await;
    comment(&app, &second, &p, json!({"body": "quiet"})).await;
    assert_eq!(of(&author).await.len(), 2);
}

#[tokio::test]
async fn comment_counts_stay_true_under_concurrent_writers_and_events_reach_the_audience() {
    let app = TestApp::spawn().await;
    let author = app.register("busy").await;
    let p = say(&app, &author, "comment here", "public").await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.register(&format!("racer{i}")).await);
    }
    let mut watcher = app.ws(&author).await;
    let top = comment(&app, &author, &p, json!({"body": "thread"})).await;
    let comments_path = paths::post_comments(&p["id"]);
    let made = futures_util::future::join_all(users.iter().flat_map(|u| {
        [
            app.post(
                u,
                &comments_path,
                json!({"body": "a", "reply_to": top["id"]}),
            ),
            app.post(u, &comments_path, json!({"body": "b"})),
        ]
    }))
    .await;
    let mut ids = Vec::new();
    for res in made {
        assert_eq!(res.status(), 201);
        ids.push(json_of(res).await["id"].as_i64().unwrap());
    }
    // Half of them deleted at once, together with the thread they reply to.
    let mut targets: Vec<(&TestUser, String)> = users
        .iter()
        .zip(ids.chunks(2))
        .map(|(u, pair)| (u, paths::comment(pair[0])))
        .collect();
    targets.push((&author, paths::comment(&top["id"])));
    let deletes = targets.iter().map(|(u, path)| app.delete(u, path));
    for res in futures_util::future::join_all(deletes).await {
        assert_eq!(res.status(), 204);
    }
    let post = post_of(&app, &author, &p).await;
    let listed = json_of(
        app.get(
            &author,
            &format!("{}?page_size=100", paths::post_comments(&p["id"])),
        )
        .await,
    )
    .await;
    let live = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["deleted"] == false)
        .count();
    assert_eq!(post["comment_count"], json!(live), "{listed}");
    assert_eq!(live, 6);
    let first = watcher.next_event("comment_created").await;
    assert_eq!(first["comment"]["id"], top["id"]);
    assert_eq!(first["comment_count"], 1);
    assert!(first["comment"]["my_reactions"].is_null());
    assert!(
        feed_ids(&app, &author, "/api/feed/")
            .await
            .contains(&p["id"].as_i64().unwrap())
    );
}

/// A post deleted while comments and reactions arrive: each of them is a 201/200 before the
/// delete or a 404 after it, never a 500, and nothing of them outlives the post.
#[tokio::test]
async fn comments_and_reactions_racing_the_posts_deletion_are_refused_cleanly() {
    let app = TestApp::spawn().await;
    let author = app.register("leaving").await;
    let p = say(&app, &author, "soon gone", "public").await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(app.register(&format!("late{i}")).await);
    }
    let comments_path = paths::post_comments(&p["id"]);
    let react_path = format!("/api/posts/{}/reactions/%F0%9F%91%8D/", p["id"]);
    let post_path = paths::post(&p["id"]);
    type Write<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = reqwest::Response> + 'a>>;
    let mut writes: Vec<Write<'_>> = Vec::new();
    for u in &users {
        writes.push(Box::pin(app.post(
            u,
            &comments_path,
            json!({"body": "last word"}),
        )));
        writes.push(Box::pin(app.put(u, &react_path, json!({}))));
    }
    let (deleted, answers) = tokio::join!(
        app.delete(&author, &post_path),
        futures_util::future::join_all(writes)
    );
    assert_eq!(deleted.status(), 204);
    for res in answers {
        let status = res.status().as_u16();
        assert!(
            [200, 201, 404].contains(&status),
            "{status}: {}",
            res.text().await.unwrap()
        );
    }
    use agora::db::entities::{comment, reaction};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let db = &app.state.db;
    let left = comment::Entity::find()
        .filter(comment::Column::PostId.eq(p["id"].as_i64().unwrap()))
        .count(db)
        .await
        .unwrap();
    let orphans = reaction::Entity::find()
        .filter(reaction::Column::TargetId.eq(p["id"].as_i64().unwrap()))
        .count(db)
        .await
        .unwrap();
    assert_eq!((left, orphans), (0, 0));
}
