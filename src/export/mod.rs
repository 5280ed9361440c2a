//! Data export: `POST /api/users/me/export/` queues an `export` job that writes a ZIP of the
//! user's data (JSON files and their media) to storage; `GET` shows the latest with a signed
//! expiring link; the link serves the file without a header. Above every feature: the files
//! hold each feature's objects as the API shows them to the user themself.

mod archive;
pub mod build;
mod shape;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::db::entities::{data_export, user};
use crate::error::ApiError;
use crate::http::{CurrentUser, Json, Origin, Path, Query};
use crate::jobs::{self, NewJob};
use crate::media::model::LinkQuery;
use crate::state::AppState;

/// The job kind that builds an export.
pub const JOB: &str = "export";
/// The signed link's variant (media links sign theirs with `content` or `thumbnail`).
const LINK: &str = "export";

#[derive(OpenApi)]
#[openapi(paths(request, latest, download))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users/me/export", get(latest).post(request))
        .route("/api/exports/{id}/download", get(download))
}

/// An export as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub id: i64,
    /// `pending`, `running`, `ready`, `failed` or `expired`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Bytes of the ZIP, once ready.
    pub size: Option<i64>,
    /// Absolute and signed (no header needed), while ready; each GET gives a fresh one.
    pub url: Option<String>,
    /// When the file is deleted (ready) or was (expired).
    pub expires_at: Option<DateTime<Utc>>,
}

fn now_secs() -> i64 {
    Utc::now().timestamp()
}

fn view(app: &AppState, base: &str, e: &data_export::Model) -> Export {
    let retention = chrono::Duration::from_std(app.settings.accounts.export_retention)
        .unwrap_or_else(|_| chrono::Duration::days(7));
    let url = (e.status == "ready").then(|| {
        let ttl = i64::try_from(app.settings.media.url_ttl.as_secs()).unwrap_or(3600);
        let expires = now_secs() + ttl;
        let signature = app.links.sign(e.id, LINK, expires);
        format!(
            "{}/api/exports/{}/download/?expires={expires}&signature={signature}",
            base.trim_end_matches('/'),
            e.id
        )
    });
    Export {
        id: e.id,
        status: e.status.clone(),
        created_at: e.created_at,
        finished_at: e.finished_at,
        size: e.size,
        url,
        expires_at: e
            .finished_at
            .filter(|_| matches!(e.status.as_str(), "ready" | "expired"))
            .map(|t| t + retention),
    }
}

#[utoipa::path(post, path = "/api/users/me/export/", summary = "Export my data",
    description = "Queues a ZIP of the caller's data: JSON files (profile, settings, friends, friend requests, blocks, posts, comments, reactions, messages, groups, notifications, reports) and every file they uploaded. One at a time, and at most one per AGORA_EXPORT_INTERVAL_SECS since the last that did not fail; otherwise 429 with Retry-After. An `export_ready` notification says when it is ready (a `system` one if it failed).", tag = "users",
    responses((status = 202, body = Export), (status = 401), (status = 429, description = "One is under way, or the last was too recent; see Retry-After")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn request(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
) -> Result<(StatusCode, Json<Export>), ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    // Requests of one user are decided one at a time.
    crate::db::lock_row::<user::Entity>(&txn, user::Column::Id, me.id).await?;
    let recent = data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(me.id))
        .filter(data_export::Column::Status.ne("failed"))
        .order_by_desc(data_export::Column::Id)
        .one(&txn)
        .await?;
    if let Some(last) = recent {
        if matches!(last.status.as_str(), "pending" | "running") {
            return Err(ApiError::Throttled(60));
        }
        let interval = i64::try_from(app.settings.accounts.export_interval.as_secs()).unwrap_or(0);
        let wait = last.created_at.timestamp() + interval - now_secs();
        if wait > 0 {
            return Err(ApiError::Throttled(u64::try_from(wait).unwrap_or(1)));
        }
    }
    let row = data_export::ActiveModel {
        user_id: Set(me.id),
        status: Set("pending".into()),
        file_key: Set(None),
        size: Set(None),
        created_at: Set(crate::db::now()),
        finished_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    jobs::enqueue(
        &txn,
        NewJob {
            kind: JOB,
            key: Some(me.id.to_string()),
            payload: serde_json::json!({"export_id": row.id}),
            max_attempts: 3,
        },
    )
    .await?;
    txn.commit().await?;
    app.wake_jobs();
    Ok((StatusCode::ACCEPTED, Json(view(&app, &origin.base, &row))))
}

#[utoipa::path(get, path = "/api/users/me/export/", summary = "My latest export",
    description = "With a fresh signed `url` while it is ready.", tag = "users",
    responses((status = 200, body = Export), (status = 401), (status = 404, description = "None yet")),
    security(("bearer" = [])))]
pub async fn latest(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
) -> Result<Json<Export>, ApiError> {
    let row = data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(me.id))
        .order_by_desc(data_export::Column::Id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&app, &origin.base, &row)))
}

#[utoipa::path(get, path = "/api/exports/{id}/download/", summary = "An export's file",
    description = "Through the signed link of its Export (no header needed); a tampered or expired link, or an export no longer ready, is a 404.", tag = "users", params(("id" = i64, Path), LinkQuery),
    responses((status = 200, description = "The ZIP", content(("application/zip"))), (status = 206, description = "The requested range", content(("application/zip"))), (status = 404), (status = 416, description = "A range past the end")),
    security(()))]
pub async fn download(
    State(app): State<AppState>,
    Path(id): Path<i64>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !link.verifies(&app.links, id, LINK) {
        return Err(ApiError::NotFound);
    }
    let row = data_export::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|e| e.status == "ready")
        .ok_or(ApiError::NotFound)?;
    let key = row.file_key.ok_or(ApiError::NotFound)?;
    let name = format!("agora-export-{}.zip", row.id);
    crate::media::serve::send(&app.media, &key, "application/zip", &name, false, &headers).await
}

/// Deletes the files of exports ready for longer than `AGORA_EXPORT_RETENTION_SECS` and marks
/// them `expired` (the housekeeping loop calls it).
pub async fn expire(app: &AppState) -> Result<(), ApiError> {
    let retention = chrono::Duration::from_std(app.settings.accounts.export_retention)
        .unwrap_or_else(|_| chrono::Duration::days(7));
    let due = data_export::Entity::find()
        .filter(data_export::Column::Status.eq("ready"))
        .filter(data_export::Column::FinishedAt.lt(crate::db::now() - retention))
        .all(&app.db)
        .await?;
    for e in due {
        remove_file(app, &e).await;
        data_export::Entity::update_many()
            .col_expr(data_export::Column::Status, Expr::value("expired"))
            .col_expr(
                data_export::Column::FileKey,
                Expr::value(Option::<String>::None),
            )
            .filter(data_export::Column::Id.eq(e.id))
            .exec(&app.db)
            .await?;
    }
    Ok(())
}

async fn remove_file(app: &AppState, e: &data_export::Model) {
    if let Some(key) = &e.file_key
        && let Err(err) = app.media.delete(key).await
    {
        tracing::warn!(error = %err, export_id = e.id, "export file not deleted");
    }
}

/// A deleted account's exports: an unfinished one cancelled, every file and row gone.
pub async fn erase_all(app: &AppState, user_id: i64) -> Result<(), ApiError> {
    let rows = data_export::Entity::find()
        .filter(data_export::Column::UserId.eq(user_id))
        .all(&app.db)
        .await?;
    for e in &rows {
        remove_file(app, e).await;
    }
    data_export::Entity::delete_many()
        .filter(data_export::Column::UserId.eq(user_id))
        .exec(&app.db)
        .await?;
    Ok(())
}
