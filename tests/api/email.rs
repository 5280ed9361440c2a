//! Accounts by email over a real SMTP server: password reset, verification, email change,
//! mandatory verification, hostile tokens and names, and mail that outlives an SMTP server
//! that is down or an instance that dies with the mail half sent.

use agora::config::{Verification, email_backend};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, json_of, status_body};
use crate::smtp::SmtpServer;

const NEW_PASSWORD: &str = "a-brand-new-passphrase";

async fn mail_app(smtp: &SmtpServer, verification: Verification) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(move |s| {
        s.accounts.email = email_backend(&url).unwrap();
        s.accounts.verification = verification;
    })
    .await
}

async fn register_as(app: &TestApp, username: &str, email: &str, first_name: &str) -> TestUser {
    let res = app
        .post_anon(
            "/api/auth/register/",
            json!({"username": username, "email": email, "password": PASSWORD,
                "first_name": first_name}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body = json_of(res).await;
    TestUser {
        id: body["user"]["id"].as_i64().unwrap(),
        username: username.into(),
        access: body["access"].as_str().unwrap().into(),
        refresh: body["refresh"].as_str().unwrap().into(),
    }
}

/// The `uid` and `token` of a reset link (`…/password-reset/confirm/{uid}/{token}/`).
fn uid_and_token(link: &str) -> (String, String) {
    let parts: Vec<&str> = link.trim_end_matches('/').rsplit('/').take(2).collect();
    (parts[1].to_owned(), parts[0].to_owned())
}

async fn confirm(app: &TestApp, uid: &str, token: &str, password: &str) -> (u16, Value) {
    status_body(
        app.post_anon(
            "/api/auth/password/reset/confirm/",
            json!({"uid": uid, "token": token, "new_password": password}),
        )
        .await,
    )
    .await
}

async fn ask_reset(app: &TestApp, email: &str) -> (u16, Value) {
    status_body(
        app.post_anon("/api/auth/password/reset/", json!({"email": email}))
            .await,
    )
    .await
}

#[tokio::test]
async fn a_password_reset_goes_by_smtp_and_its_token_works_once() {
    let smtp = SmtpServer::start();
    let app = mail_app(&smtp, Verification::Optional).await;
    // A line break in the name goes into the To: header's display name: it must stay there.
    let alice = register_as(
        &app,
        "alice",
        "alice@mail.test",
        "Eve\r\nBcc: victim@evil.test\r\nX-Injected: yes",
    )
    .await;
    let bob = register_as(&app, "bob", "bob@mail.test", "Bob").await;

    // The same answer whether or not an account has the address; a bad address is a 400.
    let (status, hit) = ask_reset(&app, "ALICE@mail.test").await;
    assert_eq!(status, 200);
    assert_eq!(
        hit,
        json!({"detail": "Password reset e-mail has been sent."})
    );
    assert_eq!(ask_reset(&app, "nobody@mail.test").await, (200, hit));
    let (status, body) = ask_reset(&app, "not an address").await;
    assert_eq!(status, 400);
    assert!(body["email"].is_array(), "{body}");

    let mail = smtp.wait_for("alice@mail.test", "Password reset", 1).await;
    let link = mail.link(&format!("{}/password-reset/confirm/", app.base));
    let (uid, token) = uid_and_token(&link);
    assert_eq!(mail.to, vec!["alice@mail.test".to_owned()]);
    assert!(
        mail.headers()
            .iter()
            .all(|h| !h.starts_with("Bcc:") && !h.starts_with("X-Injected")),
        "{:?}",
        mail.headers()
    );
    assert!(smtp.to("victim@evil.test").is_empty());
    assert!(smtp.to("nobody@mail.test").is_empty());

    // Hostile tokens: altered, truncated, someone else's uid, a uid that is no one's.
    let mut altered = token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    let invalid_token = json!({"token": ["Invalid value"]});
    assert_eq!(
        confirm(&app, &uid, &altered, NEW_PASSWORD).await,
        (400, invalid_token.clone())
    );
    let truncated = &token[..token.len() - 4];
    assert_eq!(
        confirm(&app, &uid, truncated, NEW_PASSWORD).await,
        (400, invalid_token.clone())
    );
    let bob_uid = agora::users::mail::encode_uid(bob.id);
    assert_eq!(
        confirm(&app, &bob_uid, &token, NEW_PASSWORD).await,
        (400, invalid_token.clone())
    );
    assert_eq!(
        confirm(&app, "!!!", &token, NEW_PASSWORD).await,
        (400, json!({"uid": ["Invalid value"]}))
    );
    assert_eq!(
        confirm(
            &app,
            &agora::users::mail::encode_uid(999_999),
            &token,
            NEW_PASSWORD
        )
        .await,
        (400, json!({"uid": ["Invalid value"]}))
    );
    let (status, body) = confirm(&app, &uid, &token, "123").await;
    assert_eq!(status, 400);
    assert!(body["new_password"].is_array(), "{body}");

    // The real one works once; every session of the account ends.
    assert_eq!(
        confirm(&app, &uid, &token, NEW_PASSWORD).await,
        (
            200,
            json!({"detail": "Password has been reset with the new password."})
        )
    );
    assert_eq!(
        confirm(&app, &uid, &token, "yet-another-passphrase").await,
        (400, invalid_token)
    );
    assert_eq!(app.get(&alice, "/api/users/me/").await.status(), 401);
    assert_eq!(app.login("alice", PASSWORD).await.status(), 401);
    let again = app.sign_in("alice", NEW_PASSWORD).await;
    let me = json_of(app.get(&again, "/api/users/me/").await).await;
    assert_eq!(
        me["email_verified"], true,
        "following the link proved the address"
    );
    smtp.wait_for("alice@mail.test", "Your password was changed", 1)
        .await;
}

#[tokio::test]
async fn a_newer_reset_or_a_login_kills_the_older_token() {
    let smtp = SmtpServer::start();
    let app = mail_app(&smtp, Verification::None).await;
    register_as(&app, "carol", "carol@mail.test", "").await;
    let prefix = format!("{}/password-reset/confirm/", app.base);

    ask_reset(&app, "carol@mail.test").await;
    let first = smtp.wait_for("carol@mail.test", "Password reset", 1).await;
    ask_reset(&app, "carol@mail.test").await;
    let second = smtp.wait_for("carol@mail.test", "Password reset", 2).await;
    let (uid, old) = uid_and_token(&first.link(&prefix));
    let (_, new) = uid_and_token(&second.link(&prefix));
    assert_eq!(
        confirm(&app, &uid, &old, NEW_PASSWORD).await.0,
        400,
        "a newer request killed it"
    );

    // Logging in changes last_login, which the token is bound to (as Django's).
    app.sign_in("carol", PASSWORD).await;
    assert_eq!(confirm(&app, &uid, &new, NEW_PASSWORD).await.0, 400);
    // With `none` nothing but the reset mails was sent.
    assert!(
        smtp.to("carol@mail.test")
            .iter()
            .all(|m| m.header("subject").unwrap().contains("Password reset"))
    );
}

#[tokio::test]
async fn two_confirmations_of_one_token_race_and_one_wins() {
    let smtp = SmtpServer::start();
    let app = mail_app(&smtp, Verification::None).await;
    register_as(&app, "dave", "dave@mail.test", "").await;
    ask_reset(&app, "dave@mail.test").await;
    let mail = smtp.wait_for("dave@mail.test", "Password reset", 1).await;
    let (uid, token) = uid_and_token(&mail.link(&format!("{}/password-reset/confirm/", app.base)));
    let (a, b) = tokio::join!(
        confirm(&app, &uid, &token, "first-racing-passphrase"),
        confirm(&app, &uid, &token, "second-racing-passphrase"),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{a:?} {b:?}");
    let winner = if a.0 == 200 {
        "first-racing-passphrase"
    } else {
        "second-racing-passphrase"
    };
    assert_eq!(app.login("dave", winner).await.status(), 200);
}

#[tokio::test]
async fn verification_links_confirm_the_current_address_only() {
    let smtp = SmtpServer::start();
    let app = mail_app(&smtp, Verification::Optional).await;
    let erin = register_as(&app, "erin", "erin@mail.test", "Erin").await;
    let me = json_of(app.get(&erin, "/api/users/me/").await).await;
    assert_eq!(me["email_verified"], false);

    let mail = smtp.wait_for("erin@mail.test", "Confirm", 1).await;
    let prefix = format!("{}/account-confirm-email/", app.base);
    let key = mail.link(&prefix)[prefix.len()..]
        .trim_end_matches('/')
        .to_owned();
    let verify = |key: String| {
        let app = &app;
        async move {
            status_body(
                app.post_anon("/api/auth/email/verify/", json!({"key": key}))
                    .await,
            )
            .await
        }
    };
    assert_eq!(verify(format!("{key}x")).await.0, 404);
    assert_eq!(verify("garbage.garbage".into()).await.0, 404);
    assert_eq!(verify(key.clone()).await, (200, json!({"detail": "ok"})));
    assert_eq!(verify(key.clone()).await.0, 200, "a second verify is fine");
    let me = json_of(app.get(&erin, "/api/users/me/").await).await;
    assert_eq!(me["email_verified"], true);

    // A new address: unverified, a link to it, a notice to the old one; the old key is stale.
    let res = app
        .patch(&erin, "/api/users/me/", json!({"email": "erin2@mail.test"}))
        .await;
    let body = json_of(res).await;
    assert_eq!(
        (body["email"].as_str(), body["email_verified"].as_bool()),
        (Some("erin2@mail.test"), Some(false))
    );
    let notice = smtp.wait_for("erin@mail.test", "was changed", 1).await;
    assert!(notice.text().contains("erin2@mail.test"));
    let fresh = smtp.wait_for("erin2@mail.test", "Confirm", 1).await;
    let new_key = fresh.link(&prefix)[prefix.len()..]
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        verify(key).await.0,
        404,
        "a key for an address no longer the account's"
    );
    assert_eq!(verify(new_key).await.0, 200);

    // Resend: only to an unverified address of an active account; the answer never differs.
    for email in ["erin2@mail.test", "nobody@mail.test"] {
        let (status, body) = status_body(
            app.post_anon("/api/auth/email/resend/", json!({"email": email}))
                .await,
        )
        .await;
        assert_eq!((status, body), (200, json!({"detail": "ok"})));
    }
}

#[tokio::test]
async fn mandatory_verification_keeps_an_account_to_its_own_routes() {
    let smtp = SmtpServer::start();
    let app = mail_app(&smtp, Verification::Mandatory).await;
    let fay = register_as(&app, "fay", "fay@mail.test", "").await;
    let (status, body) = status_body(app.get(&fay, "/api/friends/").await).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "E-mail is not verified.", "code": "email_not_verified"})
        )
    );
    assert_eq!(app.get(&fay, "/api/users/me/").await.status(), 200);
    let refused = tokio_tungstenite::connect_async(app.ws_url(&fay.access)).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(res)) = refused else {
        panic!("the upgrade should be refused");
    };
    assert_eq!(res.status(), 403);

    let mail = smtp.wait_for("fay@mail.test", "Confirm", 1).await;
    let prefix = format!("{}/account-confirm-email/", app.base);
    let key = mail.link(&prefix)[prefix.len()..]
        .trim_end_matches('/')
        .to_owned();
    let res = app
        .post_anon("/api/auth/email/verify/", json!({"key": key}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get(&fay, "/api/friends/").await.status(), 200);
}

#[tokio::test]
async fn mail_waits_for_a_server_that_is_down_and_arrives_once() {
    let port = SmtpServer::free_port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none&timeout=2");
    let app = TestApp::spawn_with(move |s| {
        s.accounts.email = email_backend(&url).unwrap();
        s.accounts.verification = Verification::None;
    })
    .await;
    register_as(&app, "gus", "gus@mail.test", "").await;
    let (status, _) = ask_reset(&app, "gus@mail.test").await;
    assert_eq!(status, 200);
    app.until_jobs("a failed try", |jobs| {
        jobs.iter()
            .any(|j| j.state == "queued" && j.attempts >= 1 && j.last_error.is_some())
    })
    .await;

    let smtp = SmtpServer::start_on(port);
    smtp.wait_for("gus@mail.test", "Password reset", 1).await;
    app.until_jobs("the job done", |jobs| {
        jobs.iter().all(|j| j.state == "done")
    })
    .await;
    assert_eq!(smtp.all().len(), 1, "delivered exactly once");
    app.until_jobs("no link left in done jobs", |jobs| {
        jobs.iter().all(|j| j.payload == "{}")
    })
    .await;
}

#[tokio::test]
async fn a_mail_half_sent_by_a_dead_instance_is_sent_by_the_next() {
    // An SMTP server that accepts and never answers: the first instance's send hangs.
    let stall = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_url = format!(
        "smtp://127.0.0.1:{}?tls=none&timeout=60",
        stall.local_addr().unwrap().port()
    );
    let mut first = TestApp::spawn_with(move |s| {
        s.accounts.email = email_backend(&stall_url).unwrap();
        s.accounts.verification = Verification::None;
        s.shutdown_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    register_as(&first, "hal", "hal@mail.test", "").await;
    ask_reset(&first, "hal@mail.test").await;
    first
        .until_jobs("the send under way", |jobs| {
            jobs.iter()
                .any(|j| j.kind == "email" && j.state == "running")
        })
        .await;
    // The instance goes away mid-send (its tasks are cut off, as by kill -9): the job stays
    // claimed in the database.
    first.shutdown();
    first.stopped().await;

    let smtp = SmtpServer::start();
    let mut settings = first.settings.clone();
    settings.accounts.email = email_backend(&smtp.url()).unwrap();
    let second = TestApp::spawn_with(move |s| *s = settings).await;
    smtp.wait_for("hal@mail.test", "Password reset", 1).await;
    second
        .until_jobs("the job done", |jobs| {
            jobs.iter().all(|j| j.state == "done")
        })
        .await;
    assert_eq!(smtp.all().len(), 1);
    drop(stall);
    assert_eq!(StatusCode::OK, second.get_anon("/health/").await.status());
}

#[tokio::test]
async fn mail_requests_are_limited_per_address_and_per_recipient() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(move |s| {
        s.accounts.email = email_backend(&url).unwrap();
        s.accounts.verification = Verification::None;
        s.accounts.email_requests_per_hour = 4;
        s.accounts.emails_per_recipient_per_hour = 2;
    })
    .await;
    register_as(&app, "ivy", "ivy@mail.test", "").await;
    for _ in 0..4 {
        assert_eq!(ask_reset(&app, "ivy@mail.test").await.0, 200);
    }
    let res = app
        .post_anon(
            "/api/auth/password/reset/",
            json!({"email": "ivy@mail.test"}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    smtp.wait_for("ivy@mail.test", "Password reset", 2).await;
    app.until_jobs("every mail job settled", |jobs| {
        let mails: Vec<_> = jobs.iter().filter(|j| j.kind == "email").collect();
        mails.len() == 2 && jobs.iter().all(|j| j.state == "done")
    })
    .await;
    assert_eq!(
        smtp.to("ivy@mail.test").len(),
        2,
        "two mails an hour to one address"
    );
}

#[tokio::test]
async fn the_file_backend_writes_one_eml_per_mail_with_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let app = TestApp::spawn_with(move |s| {
        s.accounts.email = email_backend(&url).unwrap();
        s.accounts.frontend_url = Some("https://app.example.test".parse().unwrap());
    })
    .await;
    register_as(&app, "jo", "jo@mail.test", "").await;
    app.until_jobs("the mail written", |jobs| {
        !jobs.is_empty() && jobs.iter().all(|j| j.state == "done")
    })
    .await;
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read_to_string(&files[0])
        .unwrap()
        .replace('\n', "\r\n");
    let mail = crate::smtp::Received {
        to: vec!["jo@mail.test".into()],
        raw: raw.replace("\r\r\n", "\r\n"),
    };
    assert_eq!(mail.header("to").as_deref(), Some("jo@mail.test"));
    // Links are built from AGORA_FRONTEND_URL when it is set.
    let link = mail.link("https://app.example.test/account-confirm-email/");
    let key = link
        .trim_start_matches("https://app.example.test/account-confirm-email/")
        .trim_end_matches('/');
    let res = app
        .post_anon("/api/auth/email/verify/", json!({"key": key}))
        .await;
    assert_eq!(res.status(), 200);
}
