//! Groups through the front door: create, list, visibility, roles and every permission a
//! handler exposes, joining, join requests, invites, and the group's room mirroring its members.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;

async fn create(app: &TestApp, owner: &TestUser, body: Value) -> Value {
    let (status, group) = status_body(app.post(owner, "/api/groups/", body).await).await;
    assert_eq!(status, 201, "{group}");
    group
}

pub(crate) async fn public(app: &TestApp, owner: &TestUser, name: &str) -> Value {
    create(app, owner, json!({"name": name})).await
}

pub(crate) async fn private(app: &TestApp, owner: &TestUser, name: &str) -> Value {
    create(app, owner, json!({"name": name, "visibility": "private"})).await
}

pub(crate) fn path(group: &Value, rest: &str) -> String {
    format!("/api/groups/{}/{rest}", group["id"])
}

pub(crate) async fn join(app: &TestApp, user: &TestUser, group: &Value) -> (u16, Value) {
    status_body(app.post(user, &path(group, "join/"), json!({})).await).await
}

/// `user` joins the public `group`.
pub(crate) async fn joined(app: &TestApp, user: &TestUser, group: &Value) {
    let (status, body) = join(app, user, group).await;
    assert_eq!(status, 200, "{body}");
}

pub(crate) async fn set_role(
    app: &TestApp,
    by: &TestUser,
    group: &Value,
    user: &TestUser,
    role: &str,
) -> u16 {
    app.patch(
        by,
        &path(group, &format!("members/{}/", user.id)),
        json!({"role": role}),
    )
    .await
    .status()
    .as_u16()
}

pub(crate) async fn remove(
    app: &TestApp,
    by: &TestUser,
    group: &Value,
    user: &TestUser,
) -> (u16, Value) {
    status_body(
        app.delete(by, &path(group, &format!("members/{}/", user.id)))
            .await,
    )
    .await
}

pub(crate) async fn transfer(app: &TestApp, by: &TestUser, group: &Value, to: i64) -> (u16, Value) {
    status_body(
        app.post(by, &path(group, "transfer/"), json!({"user_id": to}))
            .await,
    )
    .await
}

async fn invite(app: &TestApp, by: &TestUser, group: &Value, to: Value) -> (u16, Value) {
    status_body(
        app.post(by, &path(group, "invites/"), json!({"user_id": to}))
            .await,
    )
    .await
}

async fn answer_request(
    app: &TestApp,
    by: &TestUser,
    group: &Value,
    rid: &Value,
    action: &str,
) -> (u16, Value) {
    let url = path(group, &format!("join-requests/{rid}/"));
    status_body(app.put(by, &url, json!({"action": action})).await).await
}

async fn answer_invite(app: &TestApp, by: &TestUser, invite: &Value, action: &str) -> (u16, Value) {
    let url = paths::invite(&invite["id"]);
    status_body(app.put(by, &url, json!({"action": action})).await).await
}

/// user id → role, as the group's member list has it.
pub(crate) async fn group_members(
    app: &TestApp,
    viewer: &TestUser,
    group: &Value,
) -> BTreeMap<i64, String> {
    let (status, page) = status_body(
        app.get(viewer, &path(group, "members/?page_size=100"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], page["results"].as_array().unwrap().len());
    roles(&page["results"])
}

fn roles(members: &Value) -> BTreeMap<i64, String> {
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["id"].as_i64().unwrap(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The group's members and the room's members are the same users with the same roles, and
/// the group's `member_count` agrees.
async fn assert_mirrored(app: &TestApp, viewer: &TestUser, group: &Value) {
    let in_group = group_members(app, viewer, group).await;
    let room = json_of(app.get(viewer, &paths::room(&group["room"])).await).await;
    assert_eq!(roles(&room["members"]), in_group, "room {room}");
    assert_eq!(room["group"], group["id"]);
    let fresh = json_of(app.get(viewer, &path(group, "")).await).await;
    assert_eq!(fresh["member_count"], in_group.len());
}

pub(crate) async fn notifications_of(app: &TestApp, user: &TestUser, kind: &str) -> Vec<Value> {
    let page = json_of(app.get(user, "/api/notifications/").await).await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_group_is_created_with_its_room_listed_searched_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    let hikers = create(
        &app,
        &alice,
        json!({"name": "  Hikers  ", "description": "Weekend walks", "id": 999, "owner": bob.id}),
    )
    .await;
    assert_eq!(hikers["name"], "Hikers");
    assert_eq!(hikers["description"], "Weekend walks");
    assert_eq!(hikers["visibility"], "public");
    assert_eq!(hikers["owner"]["id"], alice.id);
    assert_eq!(hikers["my_role"], "owner");
    assert_eq!(hikers["member_count"], 1);
    assert_eq!(hikers["avatar"], Value::Null);
    assert_ne!(hikers["id"], 999);
    let room = json_of(app.get(&alice, &paths::room(&hikers["room"])).await).await;
    assert_eq!(room["type"], "group");
    assert_eq!(room["name"], "Hikers");
    assert_eq!(room["group"], hikers["id"]);
    let cooks = public(&app, &bob, "Cooks").await;

    // Validation.
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(151)}), "name"),
        (
            json!({"name": "ok", "description": "d".repeat(2001)}),
            "description",
        ),
        (json!({"name": "ok", "visibility": "secret"}), "visibility"),
        (json!({"name": "ok", "avatar": 5}), "avatar"),
    ] {
        let (status, err) = status_body(app.post(&alice, "/api/groups/", body).await).await;
        assert_eq!(status, 400, "{err}");
        assert!(err[field].is_array(), "{err}");
    }

    // Lists: newest first, mine, search in the name and the description.
    let all = json_of(app.get(&bob, "/api/groups/").await).await;
    assert_eq!(all["count"], 2);
    assert_eq!(all["results"][0]["id"], cooks["id"]);
    assert_eq!(all["results"][1]["my_role"], Value::Null);
    let mine = json_of(app.get(&bob, "/api/groups/?mine=true").await).await;
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["results"][0]["id"], cooks["id"]);
    let found = json_of(app.get(&bob, "/api/groups/?search=WALKS").await).await;
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["id"], hikers["id"]);
    let none = json_of(app.get(&bob, "/api/groups/?search=100%25").await).await;
    assert_eq!(none["count"], 0);
    let (status, _) = status_body(app.get(&bob, "/api/groups/?mine=perhaps").await).await;
    assert_eq!(status, 400);

    // Update: owner or admin only; a rename renames the room.
    let (status, _) = status_body(
        app.patch(&bob, &path(&hikers, ""), json!({"name": "Mine"}))
            .await,
    )
    .await;
    assert_eq!(status, 403);
    let (status, updated) = status_body(
        app.patch(
            &alice,
            &path(&hikers, ""),
            json!({"name": "Hill walkers", "visibility": "private"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Hill walkers");
    assert_eq!(updated["visibility"], "private");
    assert_eq!(updated["description"], "Weekend walks");
    let room = json_of(app.get(&alice, &paths::room(&hikers["room"])).await).await;
    assert_eq!(room["name"], "Hill walkers");
    let (status, err) = status_body(
        app.patch(&alice, &path(&hikers, ""), json!({"name": ""}))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{err}");

    // Delete: the owner only; the room and its messages go with it.
    let res = app
        .post(
            &alice,
            &paths::room_messages(&hikers["room"]),
            json!({"body": "hello"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    joined(&app, &alice, &cooks).await;
    assert_eq!(app.delete(&alice, &path(&cooks, "")).await.status(), 403);
    assert_eq!(app.delete(&alice, &path(&hikers, "")).await.status(), 204);
    assert_eq!(app.get(&alice, &path(&hikers, "")).await.status(), 404);
    let gone = app.get(&alice, &paths::room(&hikers["room"])).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(app.delete(&alice, &path(&hikers, "")).await.status(), 404);
}

#[tokio::test]
async fn a_private_group_is_seen_by_members_invitees_and_staff_only() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let staff = app.register("staff").await;
    app.make_staff(&staff).await;
    let secret = private(&app, &alice, "Secret").await;

    for what in ["", "members/"] {
        assert_eq!(app.get(&bob, &path(&secret, what)).await.status(), 404);
    }
    let list = json_of(app.get(&bob, "/api/groups/").await).await;
    assert_eq!(list["count"], 0);
    let res = app
        .patch(&bob, &path(&secret, ""), json!({"name": "x"}))
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.delete(&bob, &path(&secret, "")).await.status(), 404);
    let res = app
        .post(
            &bob,
            &path(&secret, "invites/"),
            json!({"user_id": carol.id}),
        )
        .await;
    assert_eq!(res.status(), 404);

    // An invite lets bob see it; carol still does not.
    let res = app
        .post(
            &alice,
            &path(&secret, "invites/"),
            json!({"user_id": bob.id}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let seen = json_of(app.get(&bob, &path(&secret, "")).await).await;
    assert_eq!(seen["my_role"], Value::Null);
    assert_eq!(seen["member_count"], 1);
    let list = json_of(app.get(&bob, "/api/groups/").await).await;
    assert_eq!(list["count"], 1);
    assert_eq!(app.get(&carol, &path(&secret, "")).await.status(), 404);
    assert_eq!(
        app.get(&carol, &path(&secret, "members/")).await.status(),
        404
    );

    // Staff see and manage any group.
    let list = json_of(app.get(&staff, "/api/groups/").await).await;
    assert_eq!(list["count"], 1);
    let (status, renamed) = status_body(
        app.patch(
            &staff,
            &path(&secret, ""),
            json!({"description": "moderated"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["description"], "moderated");
    assert_eq!(renamed["my_role"], Value::Null);
}

#[tokio::test]
async fn roles_follow_the_permission_table_and_the_room_mirrors_every_change() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let admin = app.register("admin").await;
    let admin2 = app.register("admin2").await;
    let member = app.register("member").await;
    let member2 = app.register("member2").await;
    let outsider = app.register("outsider").await;
    let group = public(&app, &owner, "Club").await;
    for u in [&admin, &admin2, &member, &member2] {
        joined(&app, u, &group).await;
        assert_mirrored(&app, &owner, &group).await;
    }

    // Roles: the owner only; "owner" is not a role one is given.
    assert_eq!(set_role(&app, &admin, &group, &member, "admin").await, 403);
    assert_eq!(set_role(&app, &owner, &group, &admin, "admin").await, 200);
    assert_eq!(set_role(&app, &owner, &group, &admin2, "admin").await, 200);
    assert_mirrored(&app, &owner, &group).await;
    assert_eq!(set_role(&app, &admin, &group, &member, "admin").await, 403);
    assert_eq!(
        set_role(&app, &member, &group, &member2, "admin").await,
        403
    );
    assert_eq!(set_role(&app, &owner, &group, &member, "owner").await, 400);
    assert_eq!(set_role(&app, &owner, &group, &member, "boss").await, 400);
    assert_eq!(set_role(&app, &owner, &group, &owner, "member").await, 400);
    assert_eq!(
        set_role(&app, &owner, &group, &outsider, "admin").await,
        404
    );
    let res = app
        .patch(
            &owner,
            &path(&group, &format!("members/{}/", admin2.id)),
            json!({"role": "member"}),
        )
        .await;
    let demoted = json_of(res).await;
    assert_eq!(demoted["role"], "member");
    assert_eq!(demoted["user"]["id"], admin2.id);
    assert_eq!(set_role(&app, &owner, &group, &admin2, "admin").await, 200);

    // Removal: an admin removes members only; the owner anyone but themself.
    assert_eq!(remove(&app, &member, &group, &member2).await.0, 403);
    assert_eq!(remove(&app, &admin, &group, &admin2).await.0, 403);
    assert_eq!(remove(&app, &admin, &group, &owner).await.0, 403);
    assert_eq!(remove(&app, &admin, &group, &outsider).await.0, 404);
    assert_eq!(remove(&app, &admin, &group, &member2).await.0, 204);
    assert_mirrored(&app, &owner, &group).await;
    assert_eq!(remove(&app, &owner, &group, &admin2).await.0, 204);
    assert_mirrored(&app, &owner, &group).await;
    let (status, err) = remove(&app, &owner, &group, &owner).await;
    assert_eq!(status, 400);
    assert!(err["detail"].as_str().unwrap().contains("owner"), "{err}");
    // Anyone else leaves.
    assert_eq!(remove(&app, &member, &group, &member).await.0, 204);
    assert_mirrored(&app, &owner, &group).await;
    joined(&app, &member, &group).await;

    // Ownership: the owner hands it to a member; they become an admin.
    assert_eq!(transfer(&app, &admin, &group, member.id).await.0, 403);
    let (status, err) = transfer(&app, &owner, &group, outsider.id).await;
    assert_eq!(status, 400);
    assert!(err["user_id"].is_array(), "{err}");
    assert_eq!(transfer(&app, &owner, &group, owner.id).await.0, 400);
    let (status, body) = status_body(
        app.post(&owner, &path(&group, "transfer/"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["user_id"].is_array());
    let (status, handed) = transfer(&app, &owner, &group, member.id).await;
    assert_eq!(status, 200, "{handed}");
    assert_eq!(handed["owner"]["id"], member.id);
    assert_eq!(handed["my_role"], "admin");
    assert_mirrored(&app, &member, &group).await;
    let members = group_members(&app, &member, &group).await;
    assert_eq!(members[&owner.id], "admin");
    assert_eq!(members[&member.id], "owner");
    assert_eq!(members.values().filter(|r| *r == "owner").count(), 1);
    assert_eq!(transfer(&app, &owner, &group, admin.id).await.0, 403);
    assert_eq!(app.delete(&owner, &path(&group, "")).await.status(), 403);
    assert_eq!(remove(&app, &member, &group, &member).await.0, 400);

    // The room is managed through the group, never through chat.
    let room = paths::room(&group["room"]);
    let res = app.patch(&member, &room, json!({"name": "renamed"})).await;
    assert_eq!(res.status(), 400);
    let res = app
        .post(
            &member,
            &format!("{room}members/"),
            json!({"user_ids": [outsider.id]}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .delete(&admin, &format!("{room}members/{}/", admin.id))
        .await;
    assert_eq!(res.status(), 400);
    assert_mirrored(&app, &member, &group).await;

    // Staff manage any group, without being in it.
    let staff = app.register("staff").await;
    app.make_staff(&staff).await;
    assert_eq!(set_role(&app, &staff, &group, &admin, "member").await, 200);
    assert_eq!(remove(&app, &staff, &group, &member).await.0, 400);
    assert_eq!(remove(&app, &staff, &group, &admin).await.0, 204);
    assert_mirrored(&app, &member, &group).await;
    assert_eq!(app.delete(&staff, &path(&group, "")).await.status(), 204);
}

#[tokio::test]
async fn joining_a_public_group_is_immediate_and_a_private_one_takes_an_approval() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let admin = app.register("admin").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let open = public(&app, &owner, "Open").await;
    let (status, member) = join(&app, &bob, &open).await;
    assert_eq!(status, 200, "{member}");
    assert_eq!(member["role"], "member");
    assert_eq!(member["user"]["id"], bob.id);
    let (status, err) = join(&app, &bob, &open).await;
    assert_eq!(status, 400, "{err}");
    assert_mirrored(&app, &bob, &open).await;
    let res = app
        .post(&owner, "/api/groups/123456/join/", json!({}))
        .await;
    assert_eq!(res.status(), 404);

    let closed = private(&app, &owner, "Closed").await;
    joined(&app, &admin, &open).await;
    // The owner invites admin in, who then becomes an admin of the closed group.
    let invite = json_of(
        app.post(
            &owner,
            &path(&closed, "invites/"),
            json!({"user_id": admin.id}),
        )
        .await,
    )
    .await;
    let res = app
        .put(
            &admin,
            &paths::invite(&invite["id"]),
            json!({"action": "accept"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(set_role(&app, &owner, &closed, &admin, "admin").await, 200);

    let (status, request) = join(&app, &bob, &closed).await;
    assert_eq!(status, 202, "{request}");
    assert_eq!(request["status"], "pending");
    assert_eq!(request["user"]["id"], bob.id);
    assert_eq!(request["group"], closed["id"]);
    let (status, _) = join(&app, &bob, &closed).await;
    assert_eq!(status, 400);
    assert_eq!(app.get(&bob, &path(&closed, "")).await.status(), 404);
    // The owner and the admins are told.
    for manager in [&owner, &admin] {
        let told = notifications_of(&app, manager, "group_join_request").await;
        assert_eq!(told.len(), 1);
        assert_eq!(told[0]["data"]["group_id"], closed["id"]);
        assert_eq!(told[0]["data"]["join_request_id"], request["id"]);
        assert_eq!(told[0]["sender"]["id"], bob.id);
    }

    // Only owners and admins see and answer requests.
    let (status, _) = join(&app, &carol, &closed).await;
    assert_eq!(status, 202);
    let queue = json_of(app.get(&admin, &path(&closed, "join-requests/")).await).await;
    assert_eq!(queue["count"], 2);
    assert_eq!(queue["results"][0]["id"], request["id"]);
    assert_eq!(
        app.get(&bob, &path(&closed, "join-requests/"))
            .await
            .status(),
        404
    );
    assert_eq!(
        answer_request(&app, &admin, &closed, &request["id"], "maybe")
            .await
            .0,
        400
    );
    let (status, err) = status_body(
        app.put(
            &admin,
            &path(&closed, &format!("join-requests/{}/", request["id"])),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["action"].is_array());
    let (status, approved) = answer_request(&app, &admin, &closed, &request["id"], "approve").await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(
        answer_request(&app, &admin, &closed, &request["id"], "reject")
            .await
            .0,
        400
    );
    let told = notifications_of(&app, &bob, "group_join_approved").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["data"]["group_id"], closed["id"]);
    let seen = json_of(app.get(&bob, &path(&closed, "")).await).await;
    assert_eq!(seen["my_role"], "member");
    assert_mirrored(&app, &bob, &closed).await;
    // Now a member, bob still may not answer requests.
    let carols = json_of(app.get(&admin, &path(&closed, "join-requests/")).await).await;
    let carol_rid = carols["results"][0]["id"].clone();
    assert_eq!(
        answer_request(&app, &bob, &closed, &carol_rid, "approve")
            .await
            .0,
        403
    );
    let (status, rejected) = answer_request(&app, &owner, &closed, &carol_rid, "reject").await;
    assert_eq!(status, 200);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(app.get(&carol, &path(&closed, "")).await.status(), 404);
    // A request of another group is not found through this one.
    let res = app
        .put(
            &owner,
            &path(&open, &format!("join-requests/{carol_rid}/")),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let queue = json_of(app.get(&owner, &path(&closed, "join-requests/")).await).await;
    assert_eq!(queue["count"], 0);
    assert_mirrored(&app, &owner, &closed).await;
}

#[tokio::test]
async fn invites_are_sent_by_owners_and_admins_and_answered_by_the_invitee() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let group = private(&app, &owner, "Book club").await;

    let (status, sent) = invite(&app, &owner, &group, json!(member.id)).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["group"], group["id"]);
    assert_eq!(sent["user"]["id"], member.id);
    assert_eq!(sent["invited_by"]["id"], owner.id);
    assert_eq!(sent["status"], "pending");
    let told = notifications_of(&app, &member, "group_invite").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["data"]["invite_id"], sent["id"]);
    assert_eq!(told[0]["data"]["group_id"], group["id"]);
    let mine = json_of(app.get(&member, "/api/groups/invites/").await).await;
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["results"][0]["id"], sent["id"]);
    // Joining while invited is accepting.
    let (status, joined_member) = join(&app, &member, &group).await;
    assert_eq!(status, 200, "{joined_member}");
    let mine = json_of(app.get(&member, "/api/groups/invites/").await).await;
    assert_eq!(mine["count"], 0);
    let res = app
        .put(
            &member,
            &paths::invite(&sent["id"]),
            json!({"action": "accept"}),
        )
        .await;
    assert_eq!(res.status(), 400);

    // Members who are not admins do not invite; nor is anyone invited twice or when in.
    assert_eq!(invite(&app, &member, &group, json!(carol.id)).await.0, 403);
    let (status, err) = invite(&app, &owner, &group, json!(member.id)).await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = invite(&app, &owner, &group, json!(999_999)).await;
    assert_eq!(status, 400);
    assert!(err["user_id"].is_array(), "{err}");
    let (status, err) = invite(&app, &owner, &group, json!("x")).await;
    assert_eq!(status, 400, "{err}");
    let (status, err) =
        status_body(app.post(&owner, &path(&group, "invites/"), json!({})).await).await;
    assert_eq!(status, 400);
    assert!(err["user_id"].is_array());
    let to_carol = invite(&app, &owner, &group, json!(carol.id)).await.1;
    assert_eq!(invite(&app, &owner, &group, json!(carol.id)).await.0, 400);

    // Only the invitee answers; to others the invite does not exist.
    assert_eq!(answer_invite(&app, &dave, &to_carol, "accept").await.0, 404);
    assert_eq!(
        answer_invite(&app, &owner, &to_carol, "accept").await.0,
        404
    );
    assert_eq!(
        answer_invite(&app, &carol, &to_carol, "approve").await.0,
        400
    );
    let (status, declined) = answer_invite(&app, &carol, &to_carol, "decline").await;
    assert_eq!(status, 200, "{declined}");
    assert_eq!(declined["status"], "declined");
    assert_eq!(
        answer_invite(&app, &carol, &to_carol, "accept").await.0,
        400
    );
    assert_eq!(app.get(&carol, &path(&group, "")).await.status(), 404);

    let again = invite(&app, &owner, &group, json!(carol.id)).await.1;
    let (status, accepted) = status_body(
        app.put(
            &carol,
            &paths::invite(&again["id"]),
            json!({"action": "accept"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let seen = json_of(app.get(&carol, &path(&group, "")).await).await;
    assert_eq!(seen["my_role"], "member");
    assert_mirrored(&app, &carol, &group).await;

    // A block either way stops an invite.
    let res = app.post(&dave, &paths::block(owner.id), json!({})).await;
    assert_eq!(res.status(), 204);
    assert_eq!(invite(&app, &owner, &group, json!(dave.id)).await.0, 403);
}

#[tokio::test]
async fn the_room_hears_of_joins_leaves_and_changes_and_members_chat_in_it() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = public(&app, &owner, "Talk").await;
    joined(&app, &bob, &group).await;
    let mut owner_ws = app.ws(&owner).await;
    let mut bob_ws = app.ws(&bob).await;

    joined(&app, &carol, &group).await;
    let event = owner_ws.next_event("member_joined").await;
    assert_eq!(event, json!({"room": group["room"], "user_id": carol.id}));
    bob_ws.next_event("member_joined").await;

    let res = app
        .patch(&owner, &path(&group, ""), json!({"name": "Talk more"}))
        .await;
    assert_eq!(res.status(), 200);
    let room = bob_ws.next_event("room_updated").await;
    assert_eq!(room["name"], "Talk more");
    assert_eq!(room["group"], group["id"]);

    let res = app
        .post(
            &carol,
            &paths::room_messages(&group["room"]),
            json!({"body": "hi all"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let message = bob_ws.next_event("chat_message").await;
    assert_eq!(message["body"], "hi all");

    assert_eq!(remove(&app, &owner, &group, &bob).await.0, 204);
    let left = bob_ws.next_event("member_left").await;
    assert_eq!(left, json!({"room": group["room"], "user_id": bob.id}));
    owner_ws.next_event("room_updated").await;
    owner_ws.next_event("chat_message").await;
    owner_ws.next_event("member_left").await;
    // Bob's history of the room is gone with his membership.
    let res = app.get(&bob, &paths::room_messages(&group["room"])).await;
    assert_eq!(res.status(), 404);

    assert_eq!(app.delete(&owner, &path(&group, "")).await.status(), 204);
    let left = owner_ws.next_event("member_left").await;
    assert_eq!(left, json!({"room": group["room"], "user_id": owner.id}));
}

#[tokio::test]
async fn the_same_user_joining_many_times_at_once_joins_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let bob = app.register("bob").await;
    let group = public(&app, &owner, "Busy").await;
    let url = path(&group, "join/");
    let attempts = (0..8).map(|_| app.post(&bob, &url, json!({})));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_mirrored(&app, &owner, &group).await;
    assert_eq!(group_members(&app, &owner, &group).await.len(), 2);
}

/// The member count kept on the room's row stays equal to the members while people join twice
/// at once and leave at once, in the group, its room and the lists.
#[tokio::test]
async fn the_kept_member_count_holds_while_members_join_and_leave_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let group = json_of(
        app.post(
            &owner,
            "/api/groups/",
            json!({"name": "crowd", "visibility": "public"}),
        )
        .await,
    )
    .await;
    let mut people = Vec::new();
    for i in 0..8 {
        people.push(app.register(&format!("joiner{i}")).await);
    }
    // Everyone joins twice at the same time.
    let join = paths::group_join(&group["id"]);
    let joins = people
        .iter()
        .chain(people.iter())
        .map(|p| app.post(p, &join, json!({})));
    // One of each pair may find the other already in: 400, as for any second join.
    for res in futures_util::future::join_all(joins).await {
        assert!(
            matches!(res.status().as_u16(), 200 | 400),
            "{}",
            res.status()
        );
    }
    // Half leave at the same time, each twice.
    let leaving = &people[..4];
    let exits: Vec<String> = leaving
        .iter()
        .map(|p| paths::group_member(&group["id"], p.id))
        .collect();
    let leaves = leaving
        .iter()
        .zip(&exits)
        .chain(leaving.iter().zip(&exits))
        .map(|(p, exit)| app.delete(p, exit));
    for res in futures_util::future::join_all(leaves).await {
        assert!(
            matches!(res.status().as_u16(), 204 | 404),
            "{}",
            res.status()
        );
    }
    let listed = json_of(app.get(&owner, &paths::group_members(&group["id"])).await).await;
    assert_eq!(listed["count"], 5, "the owner and four who stayed");
    assert_eq!(listed["results"].as_array().expect("results").len(), 5);
    let shown = json_of(app.get(&owner, &paths::group(&group["id"])).await).await;
    assert_eq!(shown["member_count"], 5);
    let room = json_of(
        app.get(&owner, &format!("/api/chat/rooms/{}/", group["room"]))
            .await,
    )
    .await;
    assert_eq!(room["member_count"], 5);
    assert_eq!(room["members"].as_array().expect("members").len(), 5);
}
