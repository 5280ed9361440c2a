//! Posts and feeds through the front door: every visibility against every kind of viewer,
//! feeds after each change of relation, cursor pages that hold still, edits, deletes,
//! validation and the events of a post's audience.

use serde_json::{Value, json};

use crate::groups;
use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;

pub(crate) async fn publish(app: &TestApp, author: &TestUser, body: Value) -> Value {
    let (status, post) = status_body(app.post(author, "/api/posts/", body).await).await;
    assert_eq!(status, 201, "{post}");
    post
}

pub(crate) async fn say(app: &TestApp, author: &TestUser, text: &str, visibility: &str) -> Value {
    publish(app, author, json!({"body": text, "visibility": visibility})).await
}

/// The ids of a feed's first page (of up to 100).
pub(crate) async fn feed_ids(app: &TestApp, user: &TestUser, path: &str) -> Vec<i64> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, page) =
        status_body(app.get(user, &format!("{path}{sep}page_size=100")).await).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

async fn sees(app: &TestApp, user: &TestUser, post: &Value) -> bool {
    match app
        .get(user, &paths::post(&post["id"]))
        .await
        .status()
        .as_u16()
    {
        200 => true,
        404 => false,
        other => panic!("reading a post: {other}"),
    }
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn each_visibility_reaches_exactly_whom_it_should() {
    let app = TestApp::spawn().await;
    let author = app.register("author").await;
    let friend = app.register("friend").await;
    let stranger = app.register("stranger").await;
    let blocked = app.register("blocked").await;
    let staff = app.register("staff").await;
    app.make_staff(&staff).await;
    app.befriend(&author, &friend).await;
    app.befriend(&author, &blocked).await;
    app.post(&author, &paths::block(blocked.id), json!({}))
        .await;

    let public = say(&app, &author, "for everyone", "public").await;
    let friends = say(&app, &author, "for friends", "friends").await;
    let only_me = say(&app, &author, "for me", "only_me").await;
    assert_eq!(public["visibility"], "public");
    assert_eq!(public["author"]["id"], author.id);
    assert_eq!(public["comment_count"], 0);
    assert_eq!(public["reactions"], json!({}));
    assert_eq!(public["my_reactions"], json!([]));
    let default = publish(&app, &author, json!({"body": "no visibility sent"})).await;
    assert_eq!(default["visibility"], "friends", "the safer default");

    let expect = [
        (&author, [true, true, true]),
        (&friend, [true, true, false]),
        (&stranger, [true, false, false]),
        (&blocked, [false, false, false]),
        (&staff, [true, true, false]),
    ];
    for (viewer, seen) in &expect {
        for (post, should) in [&public, &friends, &only_me].iter().zip(seen) {
            assert_eq!(
                sees(&app, viewer, post).await,
                *should,
                "{} reading {}",
                viewer.username,
                post["body"]
            );
        }
        if viewer.id == blocked.id {
            continue;
        }
        let listed = feed_ids(&app, viewer, &paths::user_posts(author.id)).await;
        let want: Vec<i64> = [&default, &only_me, &friends, &public]
            .iter()
            .filter(|p| {
                let i = [&public, &friends, &only_me, &default]
                    .iter()
                    .position(|q| q["id"] == p["id"])
                    .unwrap();
                i == 3 && seen[1] || i < 3 && seen[i]
            })
            .map(|p| id(p))
            .collect();
        assert_eq!(
            listed, want,
            "{}'s view of the author's posts",
            viewer.username
        );
    }
    let (status, _) = status_body(app.get(&blocked, &paths::user_posts(author.id)).await).await;
    assert_eq!(status, 404, "a blocked user does not see the author at all");

    // A profile that is not public has no public audience: its public posts reach friends.
    app.patch(
        &author,
        &paths::user(author.id),
        json!({"profile": {"visibility": "friends"}}),
    )
    .await;
    assert!(!sees(&app, &stranger, &public).await);
    assert!(sees(&app, &friend, &public).await);
    assert!(
        feed_ids(&app, &stranger, &paths::user_posts(author.id))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn group_posts_follow_the_group() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let outsider = app.register("outsider").await;
    let invitee = app.register("invitee").await;
    let open = groups::public(&app, &owner, "Open").await;
    let closed = groups::private(&app, &owner, "Closed").await;
    groups::joined(&app, &member, &open).await;

    let in_open = publish(
        &app,
        &member,
        json!({"body": "hi open", "group": open["id"], "visibility": "public"}),
    )
    .await;
    assert_eq!(in_open["visibility"], "group");
    assert_eq!(in_open["group"], open["id"]);
    let in_closed = publish(
        &app,
        &owner,
        json!({"body": "hi closed", "group": closed["id"]}),
    )
    .await;
    app.post(
        &owner,
        &groups::path(&closed, "invites/"),
        json!({"user_id": invitee.id}),
    )
    .await;

    assert!(
        sees(&app, &outsider, &in_open).await,
        "a public group's posts are public"
    );
    assert!(!sees(&app, &outsider, &in_closed).await);
    assert!(
        !sees(&app, &invitee, &in_closed).await,
        "invitees see the group, not its posts"
    );
    assert_eq!(
        app.get(&invitee, &groups::path(&closed, "posts/"))
            .await
            .status(),
        404
    );
    assert_eq!(
        feed_ids(&app, &outsider, &groups::path(&open, "posts/")).await,
        vec![id(&in_open)]
    );
    assert_eq!(
        feed_ids(&app, &owner, &groups::path(&closed, "posts/")).await,
        vec![id(&in_closed)]
    );
    // Group posts belong to their group, not to the author's own list.
    assert!(
        feed_ids(&app, &owner, &paths::user_posts(member.id))
            .await
            .is_empty()
    );

    // Only members post; a group one may not see does not exist.
    let (status, err) = status_body(
        app.post(
            &outsider,
            "/api/posts/",
            json!({"body": "x", "group": open["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &err["group"][0]),
        (400, &json!("You are not a member of this group."))
    );
    let (status, err) = status_body(
        app.post(
            &outsider,
            "/api/posts/",
            json!({"body": "x", "group": closed["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        err["group"][0],
        format!("Invalid pk \"{}\" - object does not exist.", closed["id"])
    );

    // The home feed holds the groups' posts while one is a member, and not after leaving.
    assert_eq!(
        feed_ids(&app, &member, "/api/feed/").await,
        vec![id(&in_open)]
    );
    assert_eq!(
        feed_ids(&app, &owner, "/api/feed/").await,
        vec![id(&in_closed), id(&in_open)]
    );
    groups::remove(&app, &member, &open, &member).await;
    assert_eq!(
        feed_ids(&app, &member, "/api/feed/").await,
        vec![id(&in_open)],
        "still the author"
    );
    assert!(feed_ids(&app, &outsider, "/api/feed/").await.is_empty());

    // A group owner (or admin) deletes a member's post; a member cannot delete another's.
    let by_owner = publish(
        &app,
        &owner,
        json!({"body": "owner's", "group": open["id"]}),
    )
    .await;
    groups::joined(&app, &outsider, &open).await;
    assert_eq!(
        app.delete(&outsider, &paths::post(&by_owner["id"]))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.delete(&owner, &paths::post(&in_open["id"]))
            .await
            .status(),
        204
    );
    assert!(!sees(&app, &member, &in_open).await);
}

#[tokio::test]
async fn the_home_feed_follows_friendships_blocks_and_visibility_at_once() {
    feed_follows_every_change(TestApp::spawn().await).await;
}

/// The same rules when the feed walks the posts newest first (as it does for a viewer with
/// many friends).
#[tokio::test]
async fn the_walked_home_feed_follows_the_same_rules() {
    feed_follows_every_change(TestApp::spawn_with(|s| s.feed_walk_friends = 0).await).await;
}

async fn feed_follows_every_change(app: TestApp) {
    let me = app.register("reader").await;
    let ann = app.register("ann").await;
    let ben = app.register("ben").await;
    let own = say(&app, &me, "mine, only me", "only_me").await;
    let a1 = say(&app, &ann, "ann public", "public").await;
    let a2 = say(&app, &ann, "ann friends", "friends").await;
    let _a3 = say(&app, &ann, "ann alone", "only_me").await;
    let b1 = say(&app, &ben, "ben friends", "friends").await;
    assert_eq!(feed_ids(&app, &me, "/api/feed/").await, vec![id(&own)]);

    app.befriend(&me, &ann).await;
    app.befriend(&me, &ben).await;
    assert_eq!(
        feed_ids(&app, &me, "/api/feed/").await,
        vec![id(&b1), id(&a2), id(&a1), id(&own)]
    );
    // A visibility narrowed: gone from the next read.
    let (status, _) = status_body(
        app.patch(
            &ann,
            &paths::post(&a2["id"]),
            json!({"visibility": "only_me"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        feed_ids(&app, &me, "/api/feed/").await,
        vec![id(&b1), id(&a1), id(&own)]
    );
    // Unfriending and blocking: gone at once, both ways.
    app.delete(&me, &paths::friend(ann.id)).await;
    assert_eq!(
        feed_ids(&app, &me, "/api/feed/").await,
        vec![id(&b1), id(&own)]
    );
    app.post(&ben, &paths::block(me.id), json!({})).await;
    assert_eq!(feed_ids(&app, &me, "/api/feed/").await, vec![id(&own)]);
    assert!(!sees(&app, &me, &b1).await);
    // Ann's public post is still hers to show on her page.
    assert_eq!(
        feed_ids(&app, &me, &paths::user_posts(ann.id)).await,
        vec![id(&a1)]
    );
    // A group's posts while a member, and not after leaving.
    let g = groups::public(&app, &ann, "Walkers").await;
    groups::joined(&app, &me, &g).await;
    let gp = publish(
        &app,
        &ann,
        json!({"body": "in the group", "group": g["id"]}),
    )
    .await;
    assert_eq!(
        feed_ids(&app, &me, "/api/feed/").await,
        vec![id(&gp), id(&own)]
    );
    groups::remove(&app, &me, &g, &me).await;
    assert_eq!(feed_ids(&app, &me, "/api/feed/").await, vec![id(&own)]);
}

#[tokio::test]
async fn cursor_pages_hold_still_while_posts_arrive() {
    let app = TestApp::spawn().await;
    let me = app.register("pager").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id(&say(&app, &me, &format!("post {i}"), "friends").await));
    }
    let first = json_of(app.get(&me, "/api/feed/?page_size=2").await).await;
    assert!(first.get("count").is_none());
    assert!(first["previous"].is_null());
    let got: Vec<i64> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(got, vec![ids[4], ids[3]]);
    // A post published meanwhile shifts nothing.
    let newer = id(&say(&app, &me, "newer", "friends").await);
    let next = first["next"].as_str().unwrap();
    let second = json_of(
        app.client
            .get(next)
            .bearer_auth(&me.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let got: Vec<i64> = second["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(got, vec![ids[2], ids[1]]);
    assert!(next.contains("page_size=2"));
    let back = second["previous"].as_str().unwrap();
    let back = json_of(
        app.client
            .get(back)
            .bearer_auth(&me.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let got: Vec<i64> = back["results"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(
        got,
        vec![ids[4], ids[3]],
        "previous walks back to the page before"
    );
    assert!(
        back["previous"].as_str().is_some(),
        "the newer post is before it now"
    );
    let third = json_of(
        app.client
            .get(second["next"].as_str().unwrap())
            .bearer_auth(&me.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let got: Vec<i64> = third["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(got, vec![ids[0]]);
    assert!(third["next"].is_null());
    assert!(ids.iter().all(|i| *i < newer));
    for bad in ["nonsense", "cD0xMg", "cD1hYmM%3D", "cD0w"] {
        let (status, body) =
            status_body(app.get(&me, &format!("/api/feed/?cursor={bad}")).await).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Invalid cursor"})),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn edits_and_deletes_are_the_authors_and_validation_is_as_documented() {
    let app = TestApp::spawn().await;
    let author = app.register("writer").await;
    let friend = app.register("reader").await;
    let staff = app.register("moderator").await;
    app.make_staff(&staff).await;
    app.befriend(&author, &friend).await;
    let p = say(&app, &author, "first words", "friends").await;
    assert!(p["edited_at"].is_null());

    assert_eq!(
        app.patch(&friend, &paths::post(&p["id"]), json!({"body": "mine now"}))
            .await
            .status(),
        403
    );
    let (status, edited) = status_body(
        app.patch(
            &author,
            &paths::post(&p["id"]),
            json!({"body": "  second words  ", "group": 99}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["body"], "second words");
    assert!(edited["edited_at"].is_string());
    let (_, moved) = status_body(
        app.patch(
            &author,
            &paths::post(&p["id"]),
            json!({"visibility": "public"}),
        )
        .await,
    )
    .await;
    assert_eq!(moved["visibility"], "public");
    assert_eq!(
        moved["edited_at"], edited["edited_at"],
        "a visibility change alone is no edit"
    );
    assert_eq!(
        app.delete(&friend, &paths::post(&p["id"])).await.status(),
        403
    );
    assert_eq!(
        app.delete(&staff, &paths::post(&p["id"])).await.status(),
        204
    );
    assert_eq!(app.get(&author, &paths::post(&p["id"])).await.status(), 404);

    let other = app.register("other").await;
    let theirs = crate::media::upload(&app, &other, crate::media::png(4, 4), "a.png").await;
    let cases = [
        (json!({}), "body", "This field is required."),
        (
            json!({"body": "   "}),
            "body",
            "This field may not be blank.",
        ),
        (
            json!({"body": "x".repeat(5001)}),
            "body",
            "Ensure this field has no more than 5000 characters.",
        ),
        (
            json!({"body": "x", "visibility": "group"}),
            "visibility",
            "A group post needs a group.",
        ),
        (
            json!({"body": "x", "visibility": "everyone"}),
            "visibility",
            "\"everyone\" is not a valid choice.",
        ),
        (
            json!({"body": "x", "media": [theirs["id"]]}),
            "media",
            &*format!("Invalid pk \"{}\" - object does not exist.", theirs["id"]),
        ),
        (
            json!({"body": "x", "media": (1..=11).collect::<Vec<i64>>()}),
            "media",
            "Ensure this field has no more than 10 elements.",
        ),
        (
            json!({"body": "a\u{0}b"}),
            "body",
            "Null characters are not allowed.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, err) = status_body(app.post(&author, "/api/posts/", body.clone()).await).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err[field][0], message, "{body}: {err}");
    }
    let (status, _) = status_body(
        app.post(&author, "/api/posts/", json!({"body": "x".repeat(1 << 20)}))
            .await,
    )
    .await;
    assert!(status == 400 || status == 413, "a 1 MB body: {status}");
    // A post of media alone needs no words.
    let mine = crate::media::upload(&app, &author, crate::media::png(4, 4), "b.png").await;
    let photo = publish(
        &app,
        &author,
        json!({"media": [mine["id"]], "visibility": "friends"}),
    )
    .await;
    assert_eq!(photo["body"], "");
    assert_eq!(photo["media"][0]["id"], mine["id"]);
    assert!(sees(&app, &friend, &photo).await);
    // Whoever may see the post may see its media.
    let m = json_of(
        app.get(&friend, &format!("/api/media/{}/", mine["id"]))
            .await,
    )
    .await;
    assert_eq!(m["id"], mine["id"], "{m}");
}

#[tokio::test]
async fn a_posts_audience_hears_of_it_and_those_who_lose_sight_are_told() {
    let app = TestApp::spawn().await;
    let author = app.register("speaker").await;
    let friend = app.register("listener").await;
    let stranger = app.register("passerby").await;
    app.befriend(&author, &friend).await;
    let mut friend_ws = app.ws(&friend).await;
    let mut own_ws = app.ws(&author).await;
    let mut stranger_ws = app.ws(&stranger).await;

    let p = say(&app, &author, "hello @listener", "friends").await;
    let event = friend_ws.next_event("post_created").await;
    assert_eq!(event["id"], p["id"]);
    assert!(event["my_reactions"].is_null());
    assert!(event["author"]["is_online"].is_null());
    assert_eq!(own_ws.next_event("post_created").await["id"], p["id"]);
    let mention = friend_ws.next_event("notification").await;
    assert_eq!(mention["type"], "mention");
    assert_eq!(mention["data"], json!({"post_id": p["id"]}));

    app.patch(
        &author,
        &paths::post(&p["id"]),
        json!({"visibility": "only_me"}),
    )
    .await;
    assert_eq!(
        own_ws.next_event("post_updated").await["visibility"],
        "only_me"
    );
    assert_eq!(
        friend_ws.next_event("post_deleted").await,
        json!({"id": p["id"]})
    );
    let unread = |user: TestUser| {
        let app = &app;
        async move { json_of(app.get(&user, "/api/notifications/unread-count/").await).await }
    };
    let before = unread(friend.clone()).await;
    app.delete(&author, &paths::post(&p["id"])).await;
    assert_eq!(
        own_ws.next_event("post_deleted").await,
        json!({"id": p["id"]})
    );
    // Its notifications went with it, and the kept counts with them.
    let after = unread(friend.clone()).await;
    assert_eq!(
        after["count"].as_i64().unwrap(),
        before["count"].as_i64().unwrap() - 1,
        "{before} {after}"
    );
    let left = json_of(app.get(&friend, "/api/notifications/").await).await;
    assert!(
        left["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] != "mention"),
        "{left}"
    );
    // The stranger heard of none of it: the next thing it hears is its own post.
    let q = say(&app, &stranger, "me too", "public").await;
    assert_eq!(stranger_ws.next_event("post_created").await["id"], q["id"]);
}
