//! Handlers of /api/notifications/. A user sees and changes only their own notifications.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::model::{
    Notification, NotificationListQuery, NotificationSettings, NotificationSettingsBody, ReadAll,
    TYPES, UnreadCount,
};
use super::{store, views};
use crate::db::entities::notification_setting;
use crate::db::{paginate, paginate_counted};
use crate::error::REQUIRED;
use crate::error::{ApiError, FieldErrors};
use crate::http::{CurrentUser, Json, Page, PageParams, Paginated, Path, Query, query_bool};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(
    list,
    unread_count,
    mark_read,
    patch_read,
    read_all,
    delete,
    get_settings,
    put_settings,
    patch_settings
))]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/notifications/", summary = "List notifications",
    description = "Newest first; ?is_read= and ?type= filter.", tag = "notifications", params(NotificationListQuery, PageParams),
    responses((status = 200, body = Paginated<Notification>), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<NotificationListQuery>,
) -> Result<Json<Paginated<Notification>>, ApiError> {
    let mut errors = FieldErrors::new();
    let is_read = query_bool(q.is_read.as_deref()).unwrap_or_else(|e| {
        errors.add("is_read", e);
        None
    });
    let kind = q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
    if let Some(k) = kind
        && !TYPES.contains(&k)
    {
        errors.add(
            "type",
            format!("Select a valid choice. {k} is not one of the available choices."),
        );
    }
    errors.into_result()?;
    let inbox = store::inbox(&app.db, me.id).await?;
    let backend = app.db.get_database_backend();
    let query = store::query(backend, &inbox, is_read, kind);
    // The totals are kept; only a list of one type is counted (through its index).
    let kept = match (kind, is_read) {
        (Some(_), _) => None,
        (None, None) => Some(inbox.total),
        (None, Some(false)) => Some(inbox.unread),
        (None, Some(true)) => Some(inbox.total - inbox.unread),
    };
    let (count, rows) = match kept {
        Some(total) => {
            let total = u64::try_from(total).unwrap_or(0);
            let both = crate::db::BothWays {
                forward: query,
                backward: Some(store::query_in(
                    backend,
                    &inbox,
                    is_read,
                    kind,
                    sea_orm::Order::Asc,
                )),
            };
            (
                total,
                paginate_counted(&app.db, both, &mut page, total).await?,
            )
        }
        None => paginate(&app.db, query, &mut page).await?,
    };
    let rows: Vec<_> = rows
        .into_iter()
        .map(|n| store::as_read_by(&inbox, n))
        .collect();
    Ok(Json(
        page.wrap(count, views(&app, (&me).into(), &rows).await?),
    ))
}

#[utoipa::path(get, path = "/api/notifications/unread-count/", summary = "Unread count",
    description = "How many of the caller's notifications are unread.", tag = "notifications",
    responses((status = 200, body = UnreadCount), (status = 401)), security(("bearer" = [])))]
pub async fn unread_count(
    State(app): State<AppState>,
    me: CurrentUser,
) -> Result<Json<UnreadCount>, ApiError> {
    let unread = store::inbox(&app.db, me.id).await?.unread;
    Ok(Json(UnreadCount {
        count: u64::try_from(unread).unwrap_or(0),
    }))
}

#[utoipa::path(put, path = "/api/notifications/{id}/read/", summary = "Mark a notification read",
    description = "The recipient only; others 404.", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = Notification), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn mark_read(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Notification>, ApiError> {
    let mut row = store::find_own(&app.db, me.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    store::mark_read(&app.db, me.id, id).await?;
    // Read now, whether this marked it or an earlier "read all" had.
    row.is_read = true;
    let mut out = views(&app, (&me).into(), std::slice::from_ref(&row)).await?;
    out.pop().map(Json).ok_or(ApiError::NotFound)
}

/// PATCH does what PUT does (a separate function only so the document gives each its own
/// operation id).
#[utoipa::path(patch, path = "/api/notifications/{id}/read/", summary = "Mark a notification read (PATCH)",
    description = "The same as PUT.", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = Notification), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn patch_read(
    state: State<AppState>,
    me: CurrentUser,
    id: Path<i64>,
) -> Result<Json<Notification>, ApiError> {
    mark_read(state, me, id).await
}

#[utoipa::path(post, path = "/api/notifications/read-all/", summary = "Mark all read",
    description = "Answers how many were marked.", tag = "notifications",
    responses((status = 200, body = ReadAll), (status = 401)), security(("bearer" = [])))]
pub async fn read_all(
    State(app): State<AppState>,
    me: CurrentUser,
) -> Result<Json<ReadAll>, ApiError> {
    Ok(Json(ReadAll {
        updated: store::mark_all_read(&app.db, me.id).await?,
    }))
}

#[utoipa::path(delete, path = "/api/notifications/{id}/", summary = "Delete a notification",
    description = "The recipient only; others 404.", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if store::delete_own(&app.db, me.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The settings as `GET /api/notifications/settings/` shows them.
pub fn settings_view(s: &notification_setting::Model) -> NotificationSettings {
    NotificationSettings {
        types: TYPES
            .iter()
            .map(|t| ((*t).to_owned(), !store::is_disabled(s, t)))
            .collect(),
        do_not_disturb: s.do_not_disturb,
    }
}

#[utoipa::path(get, path = "/api/notifications/settings/", summary = "Notification settings",
    description = "Each type on or off, and do_not_disturb (stored, not pushed over the socket).", tag = "notifications",
    responses((status = 200, body = NotificationSettings), (status = 401)), security(("bearer" = [])))]
pub async fn get_settings(
    State(app): State<AppState>,
    me: CurrentUser,
) -> Result<Json<NotificationSettings>, ApiError> {
    Ok(Json(settings_view(&store::settings(&app.db, me.id).await?)))
}

#[utoipa::path(put, path = "/api/notifications/settings/", summary = "Replace notification settings",
    description = "A type switched off is not created at all.", tag = "notifications", request_body = NotificationSettingsBody,
    responses((status = 200, body = NotificationSettings), (status = 400), (status = 401)), security(("bearer" = [])))]
pub async fn put_settings(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<NotificationSettingsBody>,
) -> Result<Json<NotificationSettings>, ApiError> {
    update_settings(app, me, body, true).await
}

#[utoipa::path(patch, path = "/api/notifications/settings/", summary = "Change notification settings",
    description = "Any subset of the settings.", tag = "notifications", request_body = NotificationSettingsBody,
    responses((status = 200, body = NotificationSettings), (status = 400), (status = 401)), security(("bearer" = [])))]
pub async fn patch_settings(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<NotificationSettingsBody>,
) -> Result<Json<NotificationSettings>, ApiError> {
    update_settings(app, me, body, false).await
}

/// `types` may name any subset; the types it leaves out keep their setting.
async fn update_settings(
    app: AppState,
    me: CurrentUser,
    body: NotificationSettingsBody,
    full: bool,
) -> Result<Json<NotificationSettings>, ApiError> {
    let mut errors = FieldErrors::new();
    if full {
        if body.types.is_none() {
            errors.add("types", REQUIRED);
        }
        if body.do_not_disturb.is_none() {
            errors.add("do_not_disturb", REQUIRED);
        }
    }
    for t in body.types.iter().flat_map(|m| m.keys()) {
        if !TYPES.contains(&t.as_str()) {
            errors.add(
                "types",
                format!("\"{t}\" is not a valid notification type."),
            );
        }
    }
    errors.into_result()?;
    let mut settings = store::settings(&app.db, me.id).await?;
    if let Some(types) = body.types {
        let disabled: Vec<&str> = TYPES
            .iter()
            .copied()
            .filter(|t| {
                types
                    .get(*t)
                    .map_or_else(|| store::is_disabled(&settings, t), |on| !on)
            })
            .collect();
        settings.disabled_types = disabled.join(",");
    }
    if let Some(dnd) = body.do_not_disturb {
        settings.do_not_disturb = dnd;
    }
    store::save_settings(&app.db, settings.clone()).await?;
    Ok(Json(settings_view(&settings)))
}
