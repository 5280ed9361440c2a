//! Reporting: a user reports what they can see (a user, post, comment, chat message or
//! group) with a category and a comment; the report keeps a snapshot of it and every staff
//! user hears of it. The reported user never learns who reported them.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;

use super::model::{Report, ReportBody, Target};
use crate::chat::model::Role;
use crate::db::entities::{chat_message, report, user};
use crate::db::paginate;
use crate::error::ApiError;
use crate::http::{CurrentUser, Json, Page, PageParams, Paginated, Path};
use crate::state::AppState;
use crate::{chat, groups, notifications, posts};

pub const CATEGORIES: &[&str] = &[
    "spam",
    "harassment",
    "hate",
    "violence",
    "sexual",
    "illegal",
    "other",
];
pub const TARGET_TYPES: &[&str] = &["user", "post", "comment", "message", "group"];

pub fn view(r: &report::Model) -> Report {
    Report {
        id: r.id,
        target: Target {
            kind: r.target_type.clone(),
            id: r.target_id,
        },
        category: r.category.clone(),
        comment: r.comment.clone(),
        status: r.status.clone(),
        outcome: r.action.clone(),
        created_at: r.created_at,
        resolved_at: r.resolved_at,
    }
}

/// What a report is about, as `me` may see it: who answers for it and its snapshot
/// (`{"body", "media_ids"}`, plus names for a user or a group). None when it does not exist or
/// `me` may not see it.
pub async fn resolve_target(
    app: &AppState,
    me: &CurrentUser,
    kind: &str,
    id: i64,
) -> Result<Option<(Option<i64>, serde_json::Value)>, ApiError> {
    let found = match kind {
        "user" => {
            let u = crate::users::store::find_active(&app.db, id).await?;
            match u {
                Some(u)
                    if me.is_staff
                        || u.id == me.id
                        || !crate::social::store::has_blocked(&app.db, u.id, me.id).await? =>
                {
                    let media: Vec<i64> = [u.avatar_id, u.cover_id].into_iter().flatten().collect();
                    Some((
                        Some(u.id),
                        json!({"body": u.bio, "username": u.username, "first_name": u.first_name,
                            "last_name": u.last_name, "media_ids": media}),
                    ))
                }
                _ => None,
            }
        }
        "post" => match posts::actions::visible(app, me, id).await {
            Ok((p, _)) => {
                let view = posts::posts_view(app, me.into(), std::slice::from_ref(&p))
                    .await?
                    .pop();
                let media: Vec<i64> = view
                    .map(|v| v.media.iter().map(|m| m.id).collect())
                    .unwrap_or_default();
                Some((
                    Some(p.author_id),
                    json!({"body": p.body, "media_ids": media}),
                ))
            }
            Err(ApiError::NotFound) => None,
            Err(e) => return Err(e),
        },
        "comment" => match posts::comments::visible(app, me, id).await {
            Ok((c, _, _)) if !c.deleted => {
                let view = posts::comments_view(app, me.into(), std::slice::from_ref(&c))
                    .await?
                    .pop();
                let media: Vec<i64> = view
                    .map(|v| v.media.iter().map(|m| m.id).collect())
                    .unwrap_or_default();
                Some((
                    Some(c.author_id),
                    json!({"body": c.body, "media_ids": media}),
                ))
            }
            Ok(_) | Err(ApiError::NotFound) => None,
            Err(e) => return Err(e),
        },
        "message" => {
            let m = chat_message::Entity::find_by_id(id).one(&app.db).await?;
            match m {
                Some(m)
                    if !m.deleted
                        && chat::store::membership(&app.db, m.room_id, me.id)
                            .await?
                            .is_some() =>
                {
                    let view = chat::messages_view(app, me, std::slice::from_ref(&m))
                        .await?
                        .pop();
                    let media: Vec<i64> = view
                        .map(|v| v.attachments.iter().map(|a| a.id).collect())
                        .unwrap_or_default();
                    Some((
                        Some(m.sender_id),
                        json!({"body": m.body, "media_ids": media}),
                    ))
                }
                _ => None,
            }
        }
        "group" => match groups::actions::visible(app, me, id).await {
            Ok(found) => {
                let owner = chat::store::members_of(&app.db, &[found.group.room_id])
                    .await?
                    .into_iter()
                    .find(|m| Role::of(&m.role) == Role::Owner)
                    .map(|m| m.user_id);
                let g = found.group;
                let media: Vec<i64> = g.avatar_id.into_iter().collect();
                Some((
                    owner,
                    json!({"body": g.description, "name": g.name, "media_ids": media}),
                ))
            }
            Err(ApiError::NotFound) => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    Ok(found)
}

#[utoipa::path(post, path = "/api/reports/", operation_id = "create_report", summary = "Report something",
    description = "A user, post, comment, chat message (of a room the caller is in) or group the caller can see, with a category (spam, harassment, hate, violence, sexual, illegal, other) and an optional comment (at most 1000 characters). Oneself or one's own content: 400. One open report per reporter and target: 400. At most AGORA_REPORTS_PER_HOUR an hour: 429. Every staff user gets report_created; the reported user never learns who reported them.", tag = "reports", request_body = ReportBody,
    responses((status = 201, body = Report), (status = 400), (status = 401), (status = 429)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn create(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<ReportBody>,
) -> Result<(StatusCode, Json<Report>), ApiError> {
    let (kind, id, category, comment) = body.validate()?;
    let invalid = || {
        ApiError::field(
            "target",
            format!("Invalid pk \"{id}\" - object does not exist."),
        )
    };
    let (answerable, snapshot) = resolve_target(&app, &me, &kind, id)
        .await?
        .ok_or_else(invalid)?;
    if answerable == Some(me.id) {
        return Err(ApiError::rejected("You cannot report yourself."));
    }
    let txn = crate::db::begin_write(&app.db).await?;
    // One reporter's reports are decided one at a time: the duplicate and the hourly limit.
    crate::db::lock_row::<user::Entity>(&txn, user::Column::Id, me.id).await?;
    let open = report::Entity::find()
        .filter(report::Column::ReporterId.eq(me.id))
        .filter(report::Column::TargetType.eq(kind.as_str()))
        .filter(report::Column::TargetId.eq(id))
        .filter(report::Column::Status.eq("open"))
        .count(&txn)
        .await?;
    if open > 0 {
        return Err(ApiError::rejected("You have already reported this."));
    }
    let limit = app.settings.accounts.reports_per_hour;
    if limit > 0 {
        let hour_ago = crate::db::now() - chrono::Duration::hours(1);
        let recent = report::Entity::find()
            .filter(report::Column::ReporterId.eq(me.id))
            .filter(report::Column::CreatedAt.gt(hour_ago))
            .count(&txn)
            .await?;
        if recent >= u64::from(limit) {
            return Err(ApiError::Throttled(3600));
        }
    }
    let row = report::ActiveModel {
        reporter_id: Set(me.id),
        target_type: Set(kind),
        target_id: Set(id),
        answerable_id: Set(answerable),
        category: Set(category),
        comment: Set(comment),
        snapshot: Set(snapshot.to_string()),
        status: Set("open".into()),
        action: Set(None),
        until: Set(None),
        note: Set(String::new()),
        resolved_by: Set(None),
        resolved_at: Set(None),
        created_at: Set(crate::db::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // The files it is about stay readable to staff until it is resolved, even if deleted.
    let held: Vec<i64> = serde_json::from_str::<serde_json::Value>(&row.snapshot)
        .ok()
        .and_then(|s| serde_json::from_value(s["media_ids"].clone()).ok())
        .unwrap_or_default();
    crate::media::hold::hold(&txn, row.id, &held).await?;
    txn.commit().await?;
    let staff: Vec<i64> = user::Entity::find()
        .filter(user::Column::IsStaff.eq(true))
        .filter(user::Column::IsActive.eq(true))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    if let Err(e) = notifications::notify_many(
        &app,
        &staff,
        None,
        notifications::model::REPORT_CREATED,
        "A new report is waiting for review.".into(),
        json!({"report_id": row.id}),
    )
    .await
    {
        tracing::warn!(error = %e, "report_created not sent");
    }
    Ok((StatusCode::CREATED, Json(view(&row))))
}

#[utoipa::path(get, path = "/api/reports/", operation_id = "list_reports", summary = "My reports",
    description = "The caller's reports, newest first, with their outcome once resolved.", tag = "reports", params(PageParams),
    responses((status = 200, body = Paginated<Report>), (status = 401), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
) -> Result<Json<Paginated<Report>>, ApiError> {
    let select = report::Entity::find()
        .filter(report::Column::ReporterId.eq(me.id))
        .order_by_desc(report::Column::Id);
    let (count, rows) = paginate(&app.db, select, &mut page).await?;
    Ok(Json(page.wrap(count, rows.iter().map(view).collect())))
}

#[utoipa::path(get, path = "/api/reports/{id}/", operation_id = "get_report", summary = "One of my reports",
    description = "Someone else's report is a 404.", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, body = Report), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn detail(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Report>, ApiError> {
    let row = report::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|r| r.reporter_id == me.id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view(&row)))
}
