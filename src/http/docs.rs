//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations, and the
//! Swagger UI and ReDoc pages that render it, with their scripts embedded in the binary (as
//! drf-spectacular-sidecar does) so the docs work without internet access.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Agora API", description = "Self-hostable backend for social apps: accounts, profiles and blocking, friends, notifications, presence, chat, groups and media over REST, and a WebSocket for real-time events. Errors are JSON in the Django REST Framework shapes; lists are paginated with page and page_size. The README covers what this document cannot: the WebSocket frames, events and close codes, and every setting."),
    modifiers(&BearerAuth, &ErrorBodies),
    components(schemas(ErrorDetail, FieldErrorsBody, FieldErrorValue))
)]
pub struct BaseDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `{"detail": "..."}`, with `code` on 401s: the body of every error but field errors.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: ApiError builds the real bodies
struct ErrorDetail {
    detail: String,
    /// `not_authenticated` or `token_not_valid` on 401s.
    code: Option<String>,
}

/// DRF field errors: `{"<field>": ["message", ...]}`, nested objects for nested fields; or
/// `{"detail": "..."}` for errors not tied to a field.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: FieldErrors builds the real bodies
struct FieldErrorsBody(std::collections::HashMap<String, FieldErrorValue>);

/// A field's messages, the errors of a nested object by field, or (under `detail`) one message.
#[derive(utoipa::ToSchema, serde::Serialize)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only
enum FieldErrorValue {
    Messages(Vec<String>),
    Nested(std::collections::HashMap<String, serde_json::Value>),
    Detail(String),
}

/// Gives every 4xx/5xx response that names no body the contract's error body, so each
/// handler lists its error statuses and this decides their shape in one place; and every
/// response without a description its status's reason (OpenAPI requires one).
struct ErrorBodies;

impl Modify for ErrorBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, RefOr};
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                declare_common_statuses(op);
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if response.description.is_empty() {
                        response.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
                            .and_then(|c| c.canonical_reason())
                            .unwrap_or("Response")
                            .to_owned();
                    }
                    if !(status.starts_with('4') || status.starts_with('5'))
                        || !response.content.is_empty()
                    {
                        continue;
                    }
                    let schema = if status == "400" {
                        "#/components/schemas/FieldErrorsBody"
                    } else {
                        "#/components/schemas/ErrorDetail"
                    };
                    response.content.insert(
                        "application/json".into(),
                        RefOr::T(Content::new(Some(Ref::new(schema)))),
                    );
                }
            }
        }
    }
}

/// What Agora's own layers can answer for any operation, declared where it can happen, so a
/// client generated from the document knows every status it may see: a body can be refused
/// (400 parse or NUL error, 408, 413, 415), a query parameter too (400, NUL characters), a
/// token (401 with `WWW-Authenticate`); and the database can be away (503 with `Retry-After`).
fn declare_common_statuses(op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::header::Header;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Object, RefOr, Response, Type};
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    };
    let has_body = op.request_body.is_some();
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query))
    });
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if has_body || has_query {
        add("400", "Invalid input");
    }
    if has_body {
        add("408", "The request body did not arrive in time");
        add("413", "Request body too large");
        add(
            "415",
            "Unsupported media type: send application/json (or, as DRF takes them, a form: application/x-www-form-urlencoded or multipart/form-data)",
        );
    }
    if secured {
        add("401", "Missing, invalid or expired access token");
    }
    add(
        "503",
        "The database is unreachable; retry after Retry-After seconds",
    );
    let header = |description: &str| {
        let mut h = Header::new(Object::with_type(Type::String));
        h.description = Some(description.to_owned());
        RefOr::T(h)
    };
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        match status.as_str() {
            "401" => {
                response
                    .headers
                    .entry("WWW-Authenticate".into())
                    .or_insert_with(|| header("Bearer realm=\"api\""));
            }
            "429" | "503" => {
                response
                    .headers
                    .entry("Retry-After".into())
                    .or_insert_with(|| header("Seconds to wait before trying again"));
            }
            _ => {}
        }
    }
}

/// The base document (security scheme, error bodies) with `docs` merged in, and the error
/// bodies given to every merged path.
pub fn assemble(
    docs: impl IntoIterator<Item = utoipa::openapi::OpenApi>,
) -> utoipa::openapi::OpenApi {
    let mut doc = BaseDoc::openapi();
    for d in docs {
        doc.merge(d);
    }
    // Modifiers ran on the base alone; the merged paths need the error bodies too.
    ErrorBodies.modify(&mut doc);
    doc
}

/// `/api/schema/` serving `doc`, and the pages that render it.
pub fn router<S: Clone + Send + Sync + 'static>(doc: utoipa::openapi::OpenApi) -> Router<S> {
    // Encoded once: the document never changes while the server runs.
    let body = axum::body::Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
    Router::new()
        .route(
            "/api/schema",
            get(move || {
                let body = body.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        )
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/api/swagger/") }),
        )
        .route("/api", get(api_root))
        .route("/api/swagger", get(swagger))
        .route("/api/redoc", get(redoc))
        .route("/api/docs-assets/{folder}/{name}", get(asset))
}

/// `GET /api/`: where the API describes itself, as DRF's API root lists its routes.
async fn api_root(origin: super::origin::Origin) -> axum::Json<serde_json::Value> {
    let at = |path: &str| format!("{}{path}", origin.base);
    axum::Json(serde_json::json!({
        "schema": at("/api/schema/"),
        "swagger": at("/api/swagger/"),
        "redoc": at("/api/redoc/"),
        "health": at("/health/"),
        "websocket": at("/ws/"),
    }))
}

const SWAGGER: &str = "swagger-ui-dist-5.35.0";
const REDOC: &str = "redoc-2.5.4";

/// The embedded files: (folder, name, content type, bytes).
const ASSETS: &[(&str, &str, &str, &[u8])] = &[
    (
        SWAGGER,
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui-dist-5.35.0/swagger-ui-bundle.js"),
    ),
    (
        SWAGGER,
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui-dist-5.35.0/swagger-ui.css"),
    ),
    (
        SWAGGER,
        "LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-ui-dist-5.35.0/LICENSE"),
    ),
    (
        REDOC,
        "redoc.standalone.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/redoc-2.5.4/redoc.standalone.js"),
    ),
    (
        REDOC,
        "LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/docs/redoc-2.5.4/LICENSE"),
    ),
];

/// An embedded asset, cached for a year: its path names its version, so it never changes.
async fn asset(
    axum::extract::Path((folder, name)): axum::extract::Path<(String, String)>,
) -> Response {
    match ASSETS
        .iter()
        .find(|(f, n, _, _)| *f == folder && *n == name)
    {
        Some((_, _, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            Bytes::from_static(bytes),
        )
            .into_response(),
        None => crate::error::ApiError::NotFound.into_response(),
    }
}

async fn swagger() -> Html<String> {
    // validatorUrl: null, or Swagger UI would send the schema to a public validator.
    Html(format!(
        r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Agora API — Swagger UI</title>
<link rel="stylesheet" href="/api/docs-assets/{SWAGGER}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs-assets/{SWAGGER}/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/api/schema/", dom_id: "#swagger-ui", persistAuthorization: true, validatorUrl: null}});</script>
</body></html>"##
    ))
}

async fn redoc() -> Html<String> {
    Html(format!(
        r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Agora API — ReDoc</title></head>
<body><redoc spec-url="/api/schema/"></redoc>
<script src="/api/docs-assets/{REDOC}/redoc.standalone.js"></script>
</body></html>"##
    ))
}
