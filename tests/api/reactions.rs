//! Reactions through the front door, one mechanism for posts, comments and chat messages:
//! emoji rules, idempotence, the cap, counts under concurrent reactors, who may react, the
//! aggregated notification and the events.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;
use crate::posts::{publish, say};

/// The next `reaction_changed`, past the author's notifications.
async fn next_change(ws: &mut crate::helpers::WsClient) -> Value {
    loop {
        let frame = ws.next_frame().await;
        if frame["type"] == "reaction_changed" {
            return frame["data"].clone();
        }
        assert!(
            ["notification", "online_status"].contains(&frame["type"].as_str().unwrap()),
            "{frame}"
        );
    }
}

fn on(target: &str, id: &Value, emoji: &str) -> String {
    format!("/api/{target}/{id}/reactions/{emoji}/")
}

async fn react(app: &TestApp, user: &TestUser, path: &str) -> (u16, Value) {
    status_body(app.put(user, path, json!({})).await).await
}

#[tokio::test]
async fn reactions_on_a_post_are_idempotent_ordered_capped_and_private() {
    let app = TestApp::spawn().await;
    let author = app.register("star").await;
    let fan = app.register("fan").await;
    let other = app.register("otherfan").await;
    let stranger = app.register("nobody").await;
    app.befriend(&author, &fan).await;
    app.befriend(&author, &other).await;
    let p = say(&app, &author, "react to me", "friends").await;
    let mut author_ws = app.ws(&author).await;

    let (status, state) = react(&app, &fan, &on("posts", &p["id"], "😀")).await;
    assert_eq!(
        (status, state.clone()),
        (200, json!({"reactions": {"😀": 1}, "my_reactions": ["😀"]}))
    );
    let event = next_change(&mut author_ws).await;
    assert_eq!(
        event,
        json!({"target": {"type": "post", "id": p["id"]}, "post": p["id"], "reactions": {"😀": 1}, "user_id": fan.id, "emoji": "😀", "action": "added"})
    );
    // Adding again changes nothing; `❤` and `❤️` are one key; keys keep first-use order.
    assert_eq!(
        react(&app, &fan, &on("posts", &p["id"], "😀")).await.1,
        state
    );
    react(&app, &other, &on("posts", &p["id"], "❤")).await;
    let (_, state) = react(&app, &fan, &on("posts", &p["id"], "❤️")).await;
    let text = serde_json::to_string(&state["reactions"]).unwrap();
    assert_eq!(text, r#"{"😀":1,"❤️":2}"#);
    assert_eq!(state["my_reactions"], json!(["😀", "❤️"]));
    let seen = json_of(app.get(&other, &paths::post(&p["id"])).await).await;
    assert_eq!(seen["my_reactions"], json!(["❤️"]));
    let next = next_change(&mut author_ws).await;
    assert_eq!(
        next["user_id"], other.id,
        "the idempotent repeat sent nothing"
    );

    // Taking back is idempotent too.
    let (status, state) = status_body(app.delete(&fan, &on("posts", &p["id"], "😀")).await).await;
    assert_eq!(
        (status, state["reactions"].clone()),
        (200, json!({"❤️": 2}))
    );
    let (status, again) = status_body(app.delete(&fan, &on("posts", &p["id"], "😀")).await).await;
    assert_eq!((status, again), (200, state));

    for bad in [
        "a",
        "%3Asmile%3A",
        "%F0%9F%98%80%F0%9F%98%80",
        "x%F0%9F%98%80",
    ] {
        let (status, err) = react(&app, &fan, &on("posts", &p["id"], bad)).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(
            err["detail"]
                .as_str()
                .unwrap()
                .ends_with("is not a valid emoji."),
            "{err}"
        );
    }
    // Twenty distinct emoji at most; one already present may always be added.
    let many = [
        "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗",
        "😙", "🥲", "😚",
    ];
    for e in many {
        assert_eq!(react(&app, &author, &on("posts", &p["id"], e)).await.0, 200);
    }
    assert_eq!(
        react(&app, &fan, &on("posts", &p["id"], "🙂")).await.0,
        200,
        "the 20th"
    );
    let (status, err) = react(&app, &fan, &on("posts", &p["id"], "🤗")).await;
    assert_eq!(
        (status, err),
        (
            400,
            json!({"detail": "No more than 20 different reactions are allowed here."})
        )
    );
    assert_eq!(
        react(&app, &other, &on("posts", &p["id"], "😎")).await.0,
        200
    );

    // Who may not see the post may not react or list.
    assert_eq!(
        react(&app, &stranger, &on("posts", &p["id"], "😀")).await.0,
        404
    );
    assert_eq!(
        app.get(&stranger, &format!("/api/posts/{}/reactions/", p["id"]))
            .await
            .status(),
        404
    );
    // The list: newest first, by emoji, without users blocked either way (counts keep them).
    let list = json_of(
        app.get(
            &author,
            &format!("/api/posts/{}/reactions/?emoji=%E2%9D%A4", p["id"]),
        )
        .await,
    )
    .await;
    assert_eq!(list["count"], 2);
    let users: Vec<&Value> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["user"]["id"])
        .collect();
    assert_eq!(users, vec![&json!(fan.id), &json!(other.id)]);
    app.post(&author, &paths::block(other.id), json!({})).await;
    let list = json_of(
        app.get(
            &author,
            &format!("/api/posts/{}/reactions/?emoji=%E2%9D%A4", p["id"]),
        )
        .await,
    )
    .await;
    assert_eq!(list["count"], 1);
    let post = json_of(app.get(&author, &paths::post(&p["id"])).await).await;
    assert_eq!(post["reactions"]["❤️"], 2);
}

#[tokio::test]
async fn concurrent_reactors_are_all_counted_and_the_author_gets_one_grouped_notification() {
    let app = TestApp::spawn().await;
    let author = app.register("famous").await;
    let p = say(&app, &author, "public news", "public").await;
    let mut fans = Vec::new();
    for i in 0..8 {
        fans.push(app.register(&format!("fan{i}")).await);
    }
    let path = on("posts", &p["id"], "🎉");
    let all =
        futures_util::future::join_all(fans.iter().map(|f| app.put(f, &path, json!({})))).await;
    assert!(all.iter().all(|r| r.status() == 200));
    let post = json_of(app.get(&author, &paths::post(&p["id"])).await).await;
    assert_eq!(post["reactions"], json!({"🎉": 8}));
    let page = json_of(
        app.get(&author, "/api/notifications/?type=post_reaction")
            .await,
    )
    .await;
    let grouped: Vec<&Value> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "post_reaction")
        .collect();
    assert_eq!(grouped.len(), 1, "{page}");
    assert_eq!(grouped[0]["data"]["count"], 8);
    assert!(
        grouped[0]["text"]
            .as_str()
            .unwrap()
            .ends_with("and 7 others reacted to your post"),
        "{}",
        grouped[0]
    );
    // Once read, the next reaction starts a new one.
    app.post(&author, "/api/notifications/read-all/", json!({}))
        .await;
    app.put(&fans[0], &on("posts", &p["id"], "🔥"), json!({}))
        .await;
    let page = json_of(app.get(&author, "/api/notifications/").await).await;
    let count = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "post_reaction")
        .count();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn comments_and_chat_messages_take_reactions_through_the_same_rules() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    app.befriend(&alice, &bob).await;
    let p = publish(&app, &alice, json!({"body": "post"})).await;
    let (_, c) = status_body(
        app.post(&bob, &paths::post_comments(&p["id"]), json!({"body": "c"}))
            .await,
    )
    .await;
    let (status, state) = react(&app, &alice, &on("comments", &c["id"], "👍")).await;
    assert_eq!(
        (status, state["reactions"].clone()),
        (200, json!({"👍": 1}))
    );
    let listed = json_of(app.get(&bob, &paths::post_comments(&p["id"])).await).await;
    assert_eq!(listed["results"][0]["reactions"], json!({"👍": 1}));
    assert_eq!(listed["results"][0]["my_reactions"], json!([]));
    app.delete(&bob, &paths::comment(&c["id"])).await;
    assert_eq!(
        react(&app, &alice, &on("comments", &c["id"], "👍")).await.0,
        404
    );

    // Chat: members react over REST, the room hears it over the socket.
    let (_, room) = status_body(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": bob.id}))
            .await,
    )
    .await;
    let (_, m) = status_body(
        app.post(
            &alice,
            &paths::room_messages(&room["id"]),
            json!({"body": "hi"}),
        )
        .await,
    )
    .await;
    let mut alice_ws = app.ws(&alice).await;
    let (status, state) = react(&app, &bob, &on("chat/messages", &m["id"], "👋")).await;
    assert_eq!(
        (status, state["my_reactions"].clone()),
        (200, json!(["👋"]))
    );
    let event = alice_ws.next_event("message_reaction").await;
    assert_eq!(
        event,
        json!({"room": room["id"], "message_id": m["id"], "reactions": {"👋": 1}, "user_id": bob.id, "emoji": "👋", "action": "added"})
    );
    let history = json_of(app.get(&bob, &paths::room_messages(&room["id"])).await).await;
    assert_eq!(history["results"][0]["reactions"], json!({"👋": 1}));
    assert_eq!(history["results"][0]["my_reactions"], json!(["👋"]));
    assert_eq!(
        react(&app, &carol, &on("chat/messages", &m["id"], "👋"))
            .await
            .0,
        404
    );
    // Deleting a message clears its reactions and takes no more.
    app.delete(&alice, &format!("/api/chat/messages/{}/", m["id"]))
        .await;
    let history = json_of(app.get(&bob, &paths::room_messages(&room["id"])).await).await;
    assert_eq!(history["results"][0]["reactions"], json!({}));
    let (status, err) = react(&app, &bob, &on("chat/messages", &m["id"], "👋")).await;
    assert_eq!(
        (status, err),
        (400, json!({"detail": "This message has been deleted."}))
    );
}
