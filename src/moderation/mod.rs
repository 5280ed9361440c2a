//! Reports and moderation: users' reports, and staff's routes (under the `admin` tag, 403 to
//! anyone else): the report queue and resolving, users, suspensions and the audit log. Above
//! the features whose content it acts on.

pub mod admin;
pub mod model;
pub mod queue;
pub mod reports;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(
    reports::create,
    reports::list,
    reports::detail,
    queue::list,
    queue::detail,
    queue::resolve,
    admin::list_users,
    admin::suspend,
    admin::unsuspend,
    admin::audit_log
))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/reports", get(reports::list).post(reports::create))
        .route("/api/reports/{id}", get(reports::detail))
        .route("/api/admin/reports", get(queue::list))
        .route("/api/admin/reports/{id}", get(queue::detail))
        .route("/api/admin/reports/{id}/resolve", post(queue::resolve))
        .route("/api/admin/users", get(admin::list_users))
        .route("/api/admin/users/{id}/suspend", post(admin::suspend))
        .route("/api/admin/users/{id}/unsuspend", post(admin::unsuspend))
        .route("/api/admin/audit", get(admin::audit_log))
}
