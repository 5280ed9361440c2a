//! The `agora` command itself: createsuperuser, migrate, openapi and configuration errors.

use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{TestApp, json_of};

fn agora(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agora"));
    cmd.args(args)
        .env("AGORA_DATABASE_URL", &app.settings.database_url)
        .env("AGORA_DATABASE_POOL_MIN", "0")
        .env("AGORA_DATA_DIR", &app.settings.data_dir)
        .env("AGORA_SECRET_KEY", crate::helpers::SECRET)
        .env("AGORA_ARGON2_MEMORY_KIB", "64")
        .env("AGORA_ARGON2_ITERATIONS", "1")
        .env("AGORA_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run agora")
}

#[tokio::test]
async fn createsuperuser_makes_a_staff_account_that_can_log_in() {
    let app = TestApp::spawn().await;
    let out = agora(
        &app,
        &[
            "createsuperuser",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
        &[("AGORA_SUPERUSER_PASSWORD", "a-long-admin-passphrase")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = app.login("root", "a-long-admin-passphrase").await;
    assert_eq!(res.status(), 200);
    let body = json_of(res).await;
    let row =
        agora::users::store::find_by_id(&app.state.db, body["user"]["id"].as_i64().expect("id"))
            .await
            .expect("query")
            .expect("row");
    assert!(row.is_staff && row.is_superuser);

    // The same username again, or a weak password, is refused with a message.
    let again = agora(
        &app,
        &[
            "createsuperuser",
            "--username",
            "ROOT",
            "--email",
            "x@example.com",
            "--password",
            "another-long-one",
        ],
        &[],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let weak = agora(
        &app,
        &[
            "createsuperuser",
            "--username",
            "admin2",
            "--email",
            "a2@example.com",
            "--password",
            "123",
        ],
        &[],
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
}

#[tokio::test]
async fn migrate_and_openapi_work_and_bad_configuration_names_the_variable() {
    let app = TestApp::spawn().await;
    let out = agora(&app, &["migrate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = agora(&app, &["openapi"], &[]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).expect("OpenAPI JSON");
    assert!(doc["paths"]["/api/auth/login/"].is_object());

    for (var, value) in [
        ("AGORA_SECRET_KEY", "too-short"),
        ("AGORA_BIND", "not-an-address"),
        ("AGORA_AUTO_MIGRATE", "perhaps"),
        ("AGORA_REDIS_URL", "http://nope"),
    ] {
        let out = agora(&app, &["migrate"], &[(var, value)]);
        assert!(!out.status.success(), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[test]
fn openapi_into_a_pipe_closed_early_is_no_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run agora");
    // Read one line's worth, then close the pipe, as `agora openapi | head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `agora seed` writes a community the API then reads as it would one it made itself: counts
/// kept equal to what they count, every part reachable by its seeded account.
#[tokio::test]
async fn seed_writes_a_community_the_api_reads_consistently() {
    use agora::seed::{Dataset, PASSWORD};
    let app = TestApp::spawn().await;
    let out = agora(&app, &["seed", "--scale", "0.004"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set = Dataset::scaled(0.004);
    let hub = app.sign_in("u1", PASSWORD).await;
    let me = json_of(app.get(&hub, "/api/users/me/").await).await;
    assert_eq!(me["friend_count"], set.hub_friends);
    let friends = json_of(app.get(&hub, "/api/friends/?page_size=100").await).await;
    assert_eq!(friends["count"], set.hub_friends);
    let requests = json_of(
        app.get(&hub, "/api/friends/request/?direction=incoming")
            .await,
    )
    .await;
    assert_eq!(requests["count"], set.requests);
    let rooms = json_of(app.get(&hub, "/api/chat/rooms/").await).await;
    let direct = (set.rooms - set.groups).min(369).min(set.hub_friends);
    assert_eq!(
        rooms["count"],
        direct + 1,
        "the big group's room and the direct rooms"
    );
    // u1 never read the big room's 2,000 messages: counted up to the bound.
    let big_room = rooms["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"] == 1))
        .expect("the big room on the first page");
    assert_eq!(big_room["unread_count"], agora::chat::store::UNREAD_MAX);
    assert_eq!(big_room["member_count"], set.big_group);
    let big = json_of(app.get(&hub, &crate::paths::group_members(1)).await).await;
    assert_eq!(big["count"], set.big_group);
    let history = json_of(app.get(&hub, &crate::paths::room_messages(1)).await).await;
    let newest = history["results"].as_array().and_then(|r| r.last());
    assert_eq!(
        newest.expect("a page of history")["body"],
        format!("message {}", set.big_room)
    );

    // u4 reads the posts of its star_friends friends (and its own) in its feed, newest first;
    // u3's friends see its friends-only posts.
    let reader = app.sign_in("u4", PASSWORD).await;
    let me = json_of(app.get(&reader, "/api/users/me/").await).await;
    assert!(me["friend_count"].as_i64().unwrap() >= set.star_friends);
    let feed = json_of(app.get(&reader, "/api/feed/?page_size=100").await).await;
    let posts = feed["results"].as_array().expect("a feed");
    assert_eq!(posts.len(), 100, "{feed}");
    assert!(
        posts
            .windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64())
    );
    assert!(
        posts
            .iter()
            .all(|p| p["visibility"] != "only_me" || p["author"]["id"] == 4)
    );
    assert!(feed["next"].is_string());

    let inbox = app.sign_in("u2", PASSWORD).await;
    let unread = json_of(app.get(&inbox, "/api/notifications/unread-count/").await).await;
    assert_eq!(unread["count"], set.inbox);

    // A second seed would mix two communities: refused.
    let again = agora(&app, &["seed", "--scale", "0.004"], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));
}
