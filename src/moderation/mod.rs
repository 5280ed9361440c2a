//! Reports and moderation: staff's routes (under the `admin` tag, 403 to anyone else) on
//! users, suspensions and the audit log. Above the features whose content it acts on.

pub mod admin;
pub mod audit;
pub mod model;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(admin::list_users, admin::suspend, admin::unsuspend, admin::audit_log))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users", get(admin::list_users))
        .route("/api/admin/users/{id}/suspend", post(admin::suspend))
        .route("/api/admin/users/{id}/unsuspend", post(admin::unsuspend))
        .route("/api/admin/audit", get(admin::audit_log))
}
