use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

#[tokio::test]
async fn health_reports_each_part() {
    let app = TestApp::spawn().await;
    let res = app.get_anon("/health/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        json_of(res).await,
        json!({"status": "ok", "database": "ok", "broker": "ok"})
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    app.get_anon("/health/").await;
    let alice = app.register("alice").await;
    let _socket = app.ws(&alice).await;
    let res = app.get_anon("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("text");
    assert!(text.contains("agora_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/health\""));
    assert!(text.contains("agora_ws_connections"), "{text}");
}

#[tokio::test]
async fn the_schema_is_openapi_3_1_and_lists_every_endpoint() {
    let app = TestApp::spawn().await;
    let doc: Value = json_of(app.get_anon("/api/schema/").await).await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("/api/auth/register/", "post"),
        ("/api/auth/login/", "post"),
        ("/api/auth/refresh/", "post"),
        ("/api/auth/verify/", "post"),
        ("/api/auth/logout/", "post"),
        ("/api/auth/password/change/", "post"),
        ("/api/users/", "get"),
        ("/api/users/me/", "get"),
        ("/api/users/me/", "delete"),
        ("/api/users/{id}/", "get"),
        ("/api/users/{id}/", "put"),
        ("/api/users/{id}/", "patch"),
        ("/api/users/{id}/block/", "post"),
        ("/api/users/{id}/block/", "delete"),
        ("/api/users/blocked/", "get"),
        ("/api/friends/request/", "post"),
        ("/api/friends/request/", "get"),
        ("/api/friends/request/{id}/", "put"),
        ("/api/friends/request/{id}/", "delete"),
        ("/api/friends/", "get"),
        ("/api/friends/{user_id}/", "delete"),
        ("/api/notifications/", "get"),
        ("/api/notifications/unread-count/", "get"),
        ("/api/notifications/{id}/read/", "put"),
        ("/api/notifications/read-all/", "post"),
        ("/api/notifications/{id}/", "delete"),
        ("/api/notifications/settings/", "get"),
        ("/api/notifications/settings/", "put"),
        ("/api/notifications/settings/", "patch"),
        ("/api/posts/", "post"),
        ("/api/posts/{id}/", "get"),
        ("/api/posts/{id}/", "patch"),
        ("/api/posts/{id}/", "delete"),
        ("/api/posts/{id}/comments/", "get"),
        ("/api/posts/{id}/comments/", "post"),
        ("/api/comments/{id}/", "get"),
        ("/api/comments/{id}/", "patch"),
        ("/api/comments/{id}/", "delete"),
        ("/api/comments/{id}/replies/", "get"),
        ("/api/feed/", "get"),
        ("/api/posts/{id}/reactions/", "get"),
        ("/api/posts/{id}/reactions/{emoji}/", "put"),
        ("/api/posts/{id}/reactions/{emoji}/", "delete"),
        ("/api/comments/{id}/reactions/", "get"),
        ("/api/comments/{id}/reactions/{emoji}/", "put"),
        ("/api/comments/{id}/reactions/{emoji}/", "delete"),
        ("/api/chat/messages/{id}/reactions/", "get"),
        ("/api/chat/messages/{id}/reactions/{emoji}/", "put"),
        ("/api/chat/messages/{id}/reactions/{emoji}/", "delete"),
        ("/api/users/{id}/posts/", "get"),
        ("/api/groups/{id}/posts/", "get"),
        ("/api/auth/email/verify/", "post"),
        ("/api/auth/email/resend/", "post"),
        ("/api/auth/password/reset/", "post"),
        ("/api/auth/password/reset/confirm/", "post"),
        ("/api/users/me/export/", "get"),
        ("/api/users/me/export/", "post"),
        ("/api/exports/{id}/download/", "get"),
        ("/api/reports/", "post"),
        ("/api/reports/", "get"),
        ("/api/reports/{id}/", "get"),
        ("/api/admin/reports/", "get"),
        ("/api/admin/reports/{id}/", "get"),
        ("/api/admin/reports/{id}/resolve/", "post"),
        ("/api/admin/users/", "get"),
        ("/api/admin/users/{id}/suspend/", "post"),
        ("/api/admin/users/{id}/unsuspend/", "post"),
        ("/api/admin/audit/", "get"),
        ("/ws/", "get"),
        ("/health/", "get"),
        ("/metrics", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    // Every operation says what it does and what its rules are, under an id of its own.
    let mut ids = std::collections::HashSet::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{method} {path}: operationId {id:?} twice"
            );
        }
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            for field in ["summary", "description"] {
                let text = op[field].as_str().unwrap_or_default();
                assert!(!text.is_empty(), "{method} {path} has no {field}");
            }
        }
    }
    assert!(doc["components"]["schemas"]["User"].is_object());
    let login_401 = &doc["paths"]["/api/auth/login/"]["post"]["responses"]["401"];
    assert_eq!(
        login_401["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorDetail"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    for page in ["/api/swagger/", "/api/redoc/"] {
        let res = app.get_anon(page).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.expect("html").contains("/api/schema/"));
    }
}

#[tokio::test]
async fn the_docs_pages_name_no_external_host_and_their_assets_are_served() {
    let app = TestApp::spawn().await;
    for page in ["/api/swagger/", "/api/redoc/"] {
        let html = app.get_anon(page).await.text().await.unwrap();
        assert!(!html.contains("://"), "{page} names a host: {html}");
        assert!(!html.contains("//cdn"), "{page}");
        // Every src= and href= the page holds is served here, with a long cache.
        let refs: Vec<&str> = html
            .split(['"', '\''])
            .filter(|s| s.starts_with('/'))
            .filter(|s| !s.starts_with("/api/schema"))
            .collect();
        assert!(!refs.is_empty(), "{page} references no asset");
        for asset in refs {
            let res = app.get_anon(asset).await;
            assert_eq!(res.status(), 200, "{asset}");
            let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
            assert!(cache.contains("max-age=31536000"), "{asset}: {cache}");
            let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(
                kind.starts_with("text/javascript") || kind.starts_with("text/css"),
                "{asset}: {kind}"
            );
            assert!(
                res.bytes().await.unwrap().len() > 10_000,
                "{asset} is a real bundle"
            );
        }
    }
    assert_eq!(
        app.get_anon("/api/docs-assets/redoc-2.5.4/nope.js")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get_anon("/api/docs-assets/../Cargo.toml")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn the_root_and_the_api_root_point_at_the_docs() {
    let app = TestApp::spawn().await;
    let res = app.get_anon("/").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/api/swagger/");
    let (status, root) = crate::helpers::status_body(app.get_anon("/api/").await).await;
    assert_eq!(status, 200);
    for (name, path) in [
        ("schema", "/api/schema/"),
        ("swagger", "/api/swagger/"),
        ("redoc", "/api/redoc/"),
    ] {
        assert_eq!(root[name], format!("{}{path}", app.base), "{root}");
        assert_eq!(
            app.client
                .get(root[name].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}
