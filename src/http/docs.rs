//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations, and the
//! Swagger UI and ReDoc pages that render it (their scripts come from a public CDN, as with
//! drf-spectacular).

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Agora API", description = "Self-hostable backend for social apps. The contract is API.md."),
    modifiers(&BearerAuth),
    paths(crate::ops::health, crate::ops::metrics, crate::realtime::gateway::upgrade)
)]
struct BaseDoc;

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

/// The whole document: every feature's paths merged into the base.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = BaseDoc::openapi();
    doc.merge(crate::auth::ApiDoc::openapi());
    doc.merge(crate::users::ApiDoc::openapi());
    doc.merge(crate::friends::ApiDoc::openapi());
    doc.merge(crate::notifications::ApiDoc::openapi());
    doc
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/schema", get(schema))
        .route("/api/swagger", get(swagger))
        .route("/api/redoc", get(redoc))
}

async fn schema() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}

async fn swagger() -> Html<&'static str> {
    Html(
        r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Agora API — Swagger UI</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/api/schema/", dom_id: "#swagger-ui", persistAuthorization: true});</script>
</body></html>"##,
    )
}

async fn redoc() -> Html<&'static str> {
    Html(
        r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Agora API — ReDoc</title></head>
<body><redoc spec-url="/api/schema/"></redoc>
<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
</body></html>"##,
    )
}
