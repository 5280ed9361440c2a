//! Media through the front door: uploads judged by their bytes, limits, images without
//! metadata, thumbnails, ranges, signed links, and who may see a file for every way it is used.
//! The same tests run on local disk and, with `AGORA_TEST_S3_ENDPOINT`, on S3.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_of, status_body};
use crate::paths;

fn encoded(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
    encoded(&DynamicImage::new_rgb8(w, h), ImageFormat::Png)
}

const SECRET_PLACE: &[u8] = b"GPS 48.8584N 2.2945E secret place";

/// A JPEG whose EXIF says: rotate 90° clockwise to view, and here is where it was taken.
fn jpeg_with_exif(w: u32, h: u32) -> Vec<u8> {
    let plain = encoded(&DynamicImage::new_rgb8(w, h), ImageFormat::Jpeg);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    // Orientation (0x0112), SHORT, 1, value 6.
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    // ImageDescription (0x010E), ASCII, the text after the IFD.
    let text_len = u32::try_from(SECRET_PLACE.len() + 1).unwrap();
    tiff.extend_from_slice(&[0x0e, 0x01, 2, 0]);
    tiff.extend_from_slice(&text_len.to_le_bytes());
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(SECRET_PLACE);
    tiff.push(0);
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&u16::try_from(2 + 6 + tiff.len()).unwrap().to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) async fn upload_as(
    app: &TestApp,
    user: &TestUser,
    bytes: Vec<u8>,
    filename: &str,
    declared: &str,
) -> (u16, Value) {
    let part = Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str(declared)
        .unwrap();
    let res = app
        .client
        .post(app.url("/api/media/"))
        .bearer_auth(&user.access)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    status_body(res).await
}

pub(crate) async fn upload(
    app: &TestApp,
    user: &TestUser,
    bytes: Vec<u8>,
    filename: &str,
) -> Value {
    let (status, body) = upload_as(app, user, bytes, filename, "application/octet-stream").await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn can_see(app: &TestApp, user: &TestUser, m: &Value) -> bool {
    app.get(user, &paths::media(&m["id"])).await.status() == 200
}

/// GET a signed link without credentials; a relative one (in events) is resolved against the
/// server, as a client does.
pub(crate) async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    let url = if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_owned()
    };
    app.client.get(url).send().await.unwrap()
}

async fn stored_keys(app: &TestApp) -> Vec<String> {
    app.state.media.keys().await.expect("list the media store")
}

#[tokio::test]
async fn each_allowed_type_is_accepted_and_judged_by_its_bytes() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let gif = encoded(&DynamicImage::new_rgba8(30, 20), ImageFormat::Gif);
    let webp = encoded(&DynamicImage::new_rgba8(30, 20), ImageFormat::WebP);
    let mut mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    mp4.extend_from_slice(&[0; 64]);
    let mut mp3 = b"ID3\x04\0\0\0\0\0\x0f".to_vec();
    mp3.extend_from_slice(&[0; 64]);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (png(40, 30), "a.png", "image/png"),
        (
            encoded(&DynamicImage::new_rgb8(40, 30), ImageFormat::Jpeg),
            "a.jpg",
            "image/jpeg",
        ),
        (gif, "a.gif", "image/gif"),
        (webp, "a.webp", "image/webp"),
        (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(),
            "a.pdf",
            "application/pdf",
        ),
        ("héllo, world\n".as_bytes().to_vec(), "a.txt", "text/plain"),
        (mp4, "a.mp4", "video/mp4"),
        (mp3, "a.mp3", "audio/mpeg"),
        (
            b"PK\x03\x04\x14\0\0\0\x08\0rest of a zip".to_vec(),
            "a.zip",
            "application/zip",
        ),
    ];
    for (bytes, name, kind) in cases {
        let m = upload(&app, &alice, bytes, name).await;
        assert_eq!(m["content_type"], kind, "{name}: {m}");
        assert_eq!(m["filename"], name);
        assert_eq!(m["owner"], alice.id);
        assert!(
            m["url"]
                .as_str()
                .unwrap()
                .starts_with(&app.url("/api/media/"))
        );
        assert_eq!(
            m["thumbnail_url"].is_string(),
            kind.starts_with("image/"),
            "{m}"
        );
        assert_eq!(m["width"].is_u64(), kind.starts_with("image/"), "{m}");
    }

    // A disguise: the name and the declared type say text, the bytes say PNG; and back.
    let (status, m) = upload_as(&app, &alice, png(10, 10), "notes.txt", "text/plain").await;
    assert_eq!(status, 201);
    assert_eq!(m["content_type"], "image/png");
    let (status, m) = upload_as(&app, &alice, b"just words".to_vec(), "x.png", "image/png").await;
    assert_eq!(status, 201);
    assert_eq!(m["content_type"], "text/plain");
    // Outside the allow-list, however it is dressed: 415, nothing stored.
    let before = stored_keys(&app).await.len();
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    let (status, err) = upload_as(&app, &alice, elf, "cat.png", "image/png").await;
    assert_eq!(status, 415, "{err}");
    assert!(err["detail"].is_string());
    let (status, _) = upload_as(&app, &alice, b"bin\0ary".to_vec(), "a.txt", "text/plain").await;
    assert_eq!(status, 415);
    // A PNG header on garbage is a 400, not a 500.
    let (status, err) = upload_as(
        &app,
        &alice,
        b"\x89PNG\r\n\x1a\ngarbage".to_vec(),
        "a.png",
        "image/png",
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert!(err["file"].is_array());
    assert_eq!(stored_keys(&app).await.len(), before);

    // No file, an empty one, not multipart at all.
    let res = app
        .client
        .post(app.url("/api/media/"))
        .bearer_auth(&alice.access)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    let (status, err) = status_body(res).await;
    assert_eq!(status, 400);
    assert!(err["file"].is_array(), "{err}");
    let (status, err) = upload_as(&app, &alice, Vec::new(), "e.txt", "text/plain").await;
    assert_eq!(status, 400);
    assert!(err["file"].is_array(), "{err}");
    let res = app.post(&alice, "/api/media/", json!({"file": "x"})).await;
    assert_eq!(res.status(), 415);
    let res = app
        .client
        .post(app.url("/api/media/"))
        .multipart(Form::new().part("file", Part::bytes(b"hi".to_vec())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_with_nothing_left_behind() {
    let app = TestApp::spawn_with(|s| {
        s.media.max_bytes = 64 * 1024;
        s.max_body_bytes = 16 * 1024;
    })
    .await;
    let alice = app.register("alice").await;
    let mut text = "a line of text\n".repeat(10_000).into_bytes();
    text.truncate(200 * 1024);
    let (status, err) = upload_as(&app, &alice, text, "big.txt", "text/plain").await;
    assert_eq!(status, 413, "{err}");
    // An image past the limit too.
    let noise = DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 400, |x, y| {
        image::Rgb([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8])
    }));
    let big_png = encoded(&noise, ImageFormat::Png);
    assert!(big_png.len() > 64 * 1024);
    let (status, _) = upload_as(&app, &alice, big_png, "big.png", "image/png").await;
    assert_eq!(status, 413);
    assert!(
        stored_keys(&app).await.is_empty(),
        "{:?}",
        stored_keys(&app).await
    );
    // The JSON routes keep their own, smaller limit (16 KiB here).
    let res = app
        .post(
            &alice,
            "/api/chat/direct/",
            json!({"user_id": "x".repeat(20 * 1024)}),
        )
        .await;
    assert_eq!(res.status(), 413);
    // Under the media limit is fine, far past the JSON limit.
    let ok = "words ".repeat(10_000).into_bytes();
    assert!(ok.len() > 50 * 1024 && ok.len() < 64 * 1024);
    upload(&app, &alice, ok, "ok.txt").await;
}

#[tokio::test]
async fn images_lose_their_metadata_keep_their_orientation_and_get_a_thumbnail() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let original = jpeg_with_exif(800, 400);
    assert!(contains(&original, SECRET_PLACE) && contains(&original, b"Exif"));
    let m = upload(&app, &alice, original, "holiday.jpg").await;
    // Orientation 6: the upright picture is 400 wide, 800 high.
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(400), Some(800))
    );
    let res = fetch(&app, m["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    let bytes = res.bytes().await.unwrap();
    assert!(!contains(&bytes, SECRET_PLACE), "the GPS text survived");
    assert!(!contains(&bytes, b"Exif"), "an EXIF block survived");
    assert_eq!(bytes.len() as u64, m["size"].as_u64().unwrap());
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (400, 800));

    let res = fetch(&app, m["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (160, 320));

    // A small PNG's thumbnail is no larger than the picture; a decompression bomb is a 400.
    let small = upload(&app, &alice, png(100, 50), "small.png").await;
    let res = fetch(&app, small["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    let thumb = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (100, 50));
    let bomb = png(10_000, 6_000);
    assert!(bomb.len() < 1024 * 1024, "compresses well: {}", bomb.len());
    let (status, err) = upload_as(&app, &alice, bomb, "bomb.png", "image/png").await;
    assert_eq!(status, 400, "{err}");
    assert!(err["file"][0].as_str().unwrap().contains("pixels"), "{err}");
    // No thumbnail for what is not an image.
    let text = upload(&app, &alice, b"plain".to_vec(), "a.txt").await;
    let res = app.get(&alice, &paths::media_thumbnail(&text["id"])).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn content_has_ranges_and_signed_links_that_expire() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let m = upload(&app, &alice, b"0123456789abcdef".to_vec(), "digits.txt").await;
    let id = m["id"].as_i64().unwrap();
    let url = m["url"].as_str().unwrap().to_owned();

    let res = fetch(&app, &url).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(res.headers()["accept-ranges"], "bytes");
    assert_eq!(res.text().await.unwrap(), "0123456789abcdef");
    let ranged = |range: &'static str| app.client.get(&url).header("range", range).send();
    let res = ranged("bytes=2-5").await.unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], "bytes 2-5/16");
    assert_eq!(res.text().await.unwrap(), "2345");
    let res = ranged("bytes=-3").await.unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.text().await.unwrap(), "def");
    let res = ranged("bytes=10-").await.unwrap();
    assert_eq!(res.text().await.unwrap(), "abcdef");
    let res = ranged("bytes=16-").await.unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(res.headers()["content-range"], "bytes */16");

    // Tampered, expired, for another variant or another id: 404.
    let tampered = if url.ends_with('0') {
        format!("{}1", &url[..url.len() - 1])
    } else {
        format!("{}0", &url[..url.len() - 1])
    };
    assert_eq!(fetch(&app, &tampered).await.status(), 404);
    let past = chrono::Utc::now().timestamp() - 10;
    let sig = app.state.links.sign(id, "content", past);
    let expired = app.url(&format!(
        "/api/media/{id}/content/?expires={past}&signature={sig}"
    ));
    assert_eq!(fetch(&app, &expired).await.status(), 404);
    let as_thumb = url.replace("/content/", "/thumbnail/");
    assert_eq!(fetch(&app, &as_thumb).await.status(), 404);
    let future = chrono::Utc::now().timestamp() + 100;
    let sig = app.state.links.sign(id, "content", future);
    let other = app.url(&format!(
        "/api/media/{}/content/?expires={future}&signature={sig}",
        id + 1
    ));
    assert_eq!(fetch(&app, &other).await.status(), 404);
    let half = app.url(&format!("/api/media/{id}/content/?signature={sig}"));
    assert_eq!(fetch(&app, &half).await.status(), 404);

    // Without a link: the Bearer header and the access rule.
    assert_eq!(
        fetch(&app, &app.url(&paths::media_content(id)))
            .await
            .status(),
        401
    );
    let res = app.get(&alice, &paths::media_content(id)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get(&bob, &paths::media_content(id)).await.status(), 404);
    assert_eq!(app.get(&bob, &paths::media(id)).await.status(), 404);
    let seen = json_of(app.get(&alice, &paths::media(id)).await).await;
    assert_eq!(seen["size"], 16);

    // Links follow AGORA_PUBLIC_URL when it is set.
    let public = TestApp::spawn_with(|s| {
        s.public_url = Some(url::Url::parse("https://api.example.com").unwrap());
    })
    .await;
    let carol = public.register("carol").await;
    let m = upload(&public, &carol, b"x".to_vec(), "x.txt").await;
    assert!(
        m["url"]
            .as_str()
            .unwrap()
            .starts_with("https://api.example.com/api/media/")
    );
}

#[tokio::test]
async fn who_sees_media_follows_where_it_is_used() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    app.befriend(&alice, &bob).await;
    // Avatar: everyone sees it, in every UserBrief.
    let avatar = upload(&app, &alice, png(64, 64), "me.png").await;
    assert!(!can_see(&app, &eve, &avatar).await);
    let res = app
        .patch(&alice, "/api/users/me/", json!({"avatar": avatar["id"]}))
        .await;
    assert_eq!(res.status(), 200);
    assert!(can_see(&app, &eve, &avatar).await);
    let seen = json_of(app.get(&eve, &paths::user(alice.id)).await).await;
    let link = seen["avatar"].as_str().unwrap();
    assert!(link.contains(&paths::media_content(&avatar["id"])));
    assert_eq!(fetch(&app, link).await.status(), 200);

    // Cover: whoever sees the profile.
    let cover = upload(&app, &alice, png(64, 32), "cover.png").await;
    let res = app
        .patch(
            &alice,
            "/api/users/me/",
            json!({"profile": {"cover": cover["id"], "visibility": "friends"}}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(can_see(&app, &bob, &cover).await);
    assert!(!can_see(&app, &eve, &cover).await);
    let seen = json_of(app.get(&bob, &paths::user(alice.id)).await).await;
    assert!(
        seen["profile"]["cover"]
            .as_str()
            .unwrap()
            .contains("/content/")
    );
    // Only one's own images: a text file or someone else's media is a 400.
    let text = upload(&app, &alice, b"words".to_vec(), "a.txt").await;
    let res = app
        .patch(&alice, "/api/users/me/", json!({"avatar": text["id"]}))
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .patch(&bob, "/api/users/me/", json!({"avatar": avatar["id"]}))
        .await;
    assert_eq!(res.status(), 400);

    // Group avatar: whoever sees the group.
    let logo = upload(&app, &alice, png(32, 32), "logo.png").await;
    let group = json_of(
        app.post(
            &alice,
            "/api/groups/",
            json!({"name": "Secret", "visibility": "private", "avatar": logo["id"]}),
        )
        .await,
    )
    .await;
    assert!(
        group["avatar"].as_str().unwrap().contains("/content/"),
        "{group}"
    );
    assert!(!can_see(&app, &bob, &logo).await);
    let res = app
        .post(
            &alice,
            &paths::group_invites(&group["id"]),
            json!({"user_id": bob.id}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert!(can_see(&app, &bob, &logo).await);
    assert!(!can_see(&app, &eve, &logo).await);
    let res = app
        .patch(
            &alice,
            &paths::group(&group["id"]),
            json!({"avatar": text["id"]}),
        )
        .await;
    assert_eq!(res.status(), 400);

    // Attachment: the members of the room; attaching needs owning.
    let photo = upload(&app, &alice, png(50, 50), "photo.png").await;
    let room = json_of(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": bob.id}))
            .await,
    )
    .await;
    let messages = paths::room_messages(&room["id"]);
    let (status, err) = status_body(
        app.post(&bob, &messages, json!({"attachments": [photo["id"]]}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["attachments"].is_array(), "{err}");
    assert!(!can_see(&app, &bob, &photo).await);
    let (status, sent) = status_body(
        app.post(
            &alice,
            &messages,
            json!({"body": "", "attachments": [photo["id"], text["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["body"], "");
    assert_eq!(sent["attachments"][0]["id"], photo["id"]);
    assert_eq!(sent["attachments"][1]["id"], text["id"]);
    assert!(can_see(&app, &bob, &photo).await);
    assert!(!can_see(&app, &eve, &photo).await);
    let history = json_of(app.get(&bob, &messages).await).await;
    let url = history["results"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap();
    assert_eq!(fetch(&app, url).await.status(), 200);
    let too_many: Vec<Value> = (0..11).map(|i| json!(i)).collect();
    let res = app
        .post(&alice, &messages, json!({"attachments": too_many}))
        .await;
    assert_eq!(res.status(), 400);

    // Deleting: the owner only; the message keeps its place without the attachment, and the
    // avatar is cleared.
    let res = app.delete(&bob, &paths::media(&photo["id"])).await;
    assert_eq!(res.status(), 403);
    let res = app.delete(&eve, &paths::media(&photo["id"])).await;
    assert_eq!(res.status(), 404);
    for m in [&photo, &avatar] {
        let res = app.delete(&alice, &paths::media(&m["id"])).await;
        assert_eq!(res.status(), 204);
    }
    assert_eq!(
        app.get(&alice, &paths::media(&photo["id"])).await.status(),
        404
    );
    let history = json_of(app.get(&bob, &messages).await).await;
    let attachments = history["results"][0]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["id"], text["id"]);
    let me = json_of(app.get(&alice, "/api/users/me/").await).await;
    assert_eq!(me["avatar"], Value::Null);
    // Deleting the message drops its attachments from it.
    let message_id = history["results"][0]["id"].clone();
    let res = app.delete(&alice, &paths::message(message_id)).await;
    assert_eq!(res.status(), 204);
    assert!(!can_see(&app, &bob, &text).await);
}

#[tokio::test]
async fn uploads_are_rate_limited_and_bounded_by_a_quota() {
    let app = TestApp::spawn_with(|s| {
        s.media.uploads_per_minute = 3;
        s.media.quota_bytes = 100;
    })
    .await;
    let alice = app.register("alice").await;
    upload(&app, &alice, vec![b'a'; 60], "a.txt").await;
    let (status, err) = upload_as(&app, &alice, vec![b'b'; 60], "b.txt", "text/plain").await;
    assert_eq!(status, 400, "{err}");
    assert!(err["detail"].as_str().unwrap().contains("quota"));
    assert_eq!(stored_keys(&app).await.len(), 1);
    upload(&app, &alice, vec![b'c'; 40], "c.txt").await;
    let res = app
        .client
        .post(app.url("/api/media/"))
        .bearer_auth(&alice.access)
        .multipart(Form::new().part("file", Part::bytes(b"d".to_vec()).file_name("d.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn parallel_uploads_cannot_overshoot_the_quota_together() {
    let app = TestApp::spawn_with(|s| s.media.quota_bytes = 1_000).await;
    let alice = app.register("alice").await;
    // Each fits alone; any two together do not. Before the check moved into the commit, all
    // three were stored.
    let (a, b, c) = tokio::join!(
        upload_as(&app, &alice, vec![b'a'; 900], "a.txt", "text/plain"),
        upload_as(&app, &alice, vec![b'b'; 900], "b.txt", "text/plain"),
        upload_as(&app, &alice, vec![b'c'; 900], "c.txt", "text/plain"),
    );
    let statuses = [a.0, b.0, c.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        2,
        "{statuses:?}"
    );
    // The refused ones left nothing in storage.
    assert_eq!(stored_keys(&app).await.len(), 1);
}

/// A GIF whose `frames` frames of one pixel each sit on a `side`×`side` canvas: tiny on the
/// wire, a full canvas per frame once decoded.
fn animation(side: u16, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = gif::Encoder::new(&mut out, side, side, &[0, 0, 0, 255, 255, 255]).unwrap();
    let dot = gif::Frame {
        width: 1,
        height: 1,
        buffer: std::borrow::Cow::Owned(vec![1]),
        ..gif::Frame::default()
    };
    (0..frames).for_each(|_| enc.write_frame(&dot).unwrap());
    drop(enc);
    out
}

#[tokio::test]
async fn an_animation_costs_at_most_its_frames_times_its_canvas_in_pixels() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    // 1.4 KB that would decode to 60 canvases of 4 megapixels (about 1 GB before the bound).
    let bomb = animation(2000, 60);
    assert!(bomb.len() < 2000);
    let (status, err) = upload_as(&app, &alice, bomb, "bomb.gif", "image/gif").await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["file"][0].as_str().unwrap().contains("all its frames"),
        "{err}"
    );
    assert!(stored_keys(&app).await.is_empty());
    // A small animation keeps all its frames.
    let ok = upload(&app, &alice, animation(64, 30), "ok.gif").await;
    let bytes = fetch(&app, ok["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    let mut decoder = gif::DecodeOptions::new().read_info(&bytes[..]).unwrap();
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 30);
}

/// A server with alice and bob, friends, and their direct room.
async fn friends_in_a_room() -> (TestApp, TestUser, TestUser, Value) {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;
    let room = json_of(
        app.post(&alice, "/api/chat/direct/", json!({"user_id": bob.id}))
            .await,
    )
    .await;
    (app, alice, bob, room)
}

#[tokio::test]
async fn attachments_go_over_the_websocket_like_over_rest() {
    let (app, alice, bob, room) = friends_in_a_room().await;
    let photo = upload(&app, &alice, png(20, 20), "p.png").await;
    let bobs = upload(&app, &bob, png(20, 20), "b.png").await;
    let mut alice_ws = app.ws(&alice).await;
    let mut bob_ws = app.ws(&bob).await;
    alice_ws
        .send(json!({"type": "chat_message", "data": {
            "room": room["id"], "attachments": [photo["id"]], "client_id": "ws-a"}}))
        .await;
    let ack = alice_ws.next_event("ack").await;
    assert_eq!(ack["client_id"], "ws-a");
    assert_eq!(ack["message"]["attachments"][0]["id"], photo["id"]);
    // The sender's connections get the message too.
    let own = alice_ws.next_event("chat_message").await;
    assert_eq!(own["attachments"][0]["id"], photo["id"]);
    let got = bob_ws.next_event("chat_message").await;
    let link = got["attachments"][0]["url"].as_str().unwrap();
    assert_eq!(fetch(&app, link).await.status(), 200);
    // Someone else's media is refused over the socket too, with the client_id.
    alice_ws
        .send(json!({"type": "chat_message", "data": {
            "room": room["id"], "attachments": [bobs["id"]], "client_id": "ws-b"}}))
        .await;
    let err = alice_ws.next_event("error").await;
    assert_eq!(err["client_id"], "ws-b");
    assert_eq!(err["code"], "invalid");
}

#[tokio::test]
async fn deleting_attached_media_updates_the_message_for_the_room() {
    let (app, alice, bob, room) = friends_in_a_room().await;
    let photo = upload(&app, &alice, png(20, 20), "p.png").await;
    let notes = upload(&app, &alice, b"notes".to_vec(), "n.txt").await;
    let mut bob_ws = app.ws(&bob).await;
    let (status, sent) = status_body(
        app.post(
            &alice,
            &paths::room_messages(&room["id"]),
            json!({"body": "look", "attachments": [photo["id"], notes["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(bob_ws.next_event("chat_message").await["id"], sent["id"]);
    let res = app.delete(&alice, &paths::media(&photo["id"])).await;
    assert_eq!(res.status(), 204);
    let updated = bob_ws.next_event("message_updated").await;
    assert_eq!(updated["id"], sent["id"]);
    assert_eq!(updated["body"], "look");
    let left = updated["attachments"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{updated}");
    assert_eq!(left[0]["id"], notes["id"]);
}

/// Posts an upload of `parts` (a text file) over raw TCP, `pause` between parts, and stops
/// sending after `sent` of them; the raw response.
async fn paced_upload(
    app: &TestApp,
    user: &TestUser,
    parts: &[&str],
    sent: usize,
    pause: std::time::Duration,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\nContent-Type: text/plain\r\n\r\n";
    let tail = "\r\n--B--\r\n";
    let length = head.len() + parts.iter().map(|p| p.len()).sum::<usize>() + tail.len();
    let mut tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!(
        "POST /api/media/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{head}",
        user.access
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    for (i, part) in parts.iter().take(sent).enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        tcp.write_all(part.as_bytes()).await.unwrap();
    }
    if sent == parts.len() {
        tcp.write_all(tail.as_bytes()).await.unwrap();
    }
    let mut out = Vec::new();
    tokio::time::timeout(crate::helpers::EVENT_DEADLINE, tcp.read_to_end(&mut out))
        .await
        .expect("the server answered before the deadline")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_upload_may_outlast_the_request_timeout_but_not_pause_longer_than_it() {
    let app = TestApp::spawn_with(|s| s.request_timeout = std::time::Duration::from_secs(2)).await;
    let user = app.register("slowpoke").await;
    let parts = ["first part, ", "second, ", "third, ", "and the last."];
    // Steady: 2.4 s in all, never a pause of two seconds (wide margins for a busy machine).
    let pause = std::time::Duration::from_millis(800);
    let response = paced_upload(&app, &user, &parts, parts.len(), pause).await;
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("\"size\":40"), "{response}");
    // Stalled after the first part: a JSON 408.
    let response = paced_upload(&app, &user, &parts, 1, pause).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).expect("a JSON body");
    assert!(body["detail"].is_string(), "{body}");
}

/// Starts uploading `len` bytes of something that looks like a PNG and stops before the end:
/// the server holds what came until the connection closes.
async fn stalled_image_upload(app: &TestApp, user: &TestUser, len: usize) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let head = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n";
    let mut tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!(
        "POST /api/media/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n{head}",
        user.access,
        head.len() + len + 100
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
    body.resize(len, b'x');
    tcp.write_all(&body).await.unwrap();
    tcp
}

#[tokio::test]
async fn images_being_received_share_a_bounded_memory_budget() {
    let app = TestApp::spawn_with(|s| {
        s.media.max_bytes = 64 * 1024;
        s.media.buffer_bytes = 64 * 1024;
        s.media.uploads_per_minute = 0;
    })
    .await;
    let slow = app.register("slow").await;
    let other = app.register("other").await;
    // Two uploads of 40 KiB each stall before their end: whichever comes second finds the
    // budget held by the first, and is a 503 with Retry-After rather than more memory.
    let mut one = stalled_image_upload(&app, &slow, 40 * 1024).await;
    let mut two = stalled_image_upload(&app, &slow, 40 * 1024).await;
    let (mut answer_one, mut answer_two) = (vec![0u8; 1024], vec![0u8; 1024]);
    let (answer, stalled) = tokio::time::timeout(crate::helpers::EVENT_DEADLINE, async {
        use tokio::io::AsyncReadExt;
        tokio::select! {
            n = one.read(&mut answer_one) => (answer_one[..n.unwrap()].to_vec(), two),
            n = two.read(&mut answer_two) => (answer_two[..n.unwrap()].to_vec(), one),
        }
    })
    .await
    .expect("one of the two is refused");
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after"), "{answer}");
    let deadline = tokio::time::Instant::now() + crate::helpers::EVENT_DEADLINE;
    // The stalled client goes away: its share comes back.
    drop(stalled);
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.resize(40 * 1024, b'y');
    loop {
        let (status, body) = upload_as(&app, &other, fake.clone(), "f.png", "image/png").await;
        if status == 400 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the budget was never released"
        );
    }
}
