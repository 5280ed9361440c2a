//! Staff's routes on users and the audit log: the user list, suspending and lifting, and the
//! log of every staff action. Anyone but staff gets a 403, as DRF's `IsAdminUser`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use super::model::{
    AdminUser, AdminUserQuery, AuditEntry, AuditQuery, SuspendBody, Suspension, Target,
};
use crate::db::audit;
use crate::db::entities::{audit_entry, user};
use crate::db::paginate;
use crate::error::ApiError;
use crate::http::{CurrentUser, Json, Page, PageParams, Paginated, Path, Query, query_bool};
use crate::social::briefs::Briefs;
use crate::state::AppState;
use crate::users::{self, store as users_store, suspension};

/// Refuses anyone but staff.
pub fn staff(me: &CurrentUser) -> Result<(), ApiError> {
    if me.is_staff {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

async fn admin_views(
    app: &AppState,
    me: &CurrentUser,
    rows: &[user::Model],
) -> Result<Vec<AdminUser>, ApiError> {
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|u| [Some(u.id), u.suspended_by])
        .flatten()
        .collect();
    let briefs = Briefs::load(app, me.into(), ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for u in rows {
        out.push(AdminUser {
            user: users::view(app, me, u).await?,
            is_active: u.is_active,
            is_staff: u.is_staff,
            last_login: u.last_login,
            suspension: u.suspended.then(|| Suspension {
                user: briefs.of(u.id),
                until: u.suspended_until,
                reason: u.suspension_reason.clone(),
                created_at: u.suspended_at,
                created_by: u.suspended_by.map(|id| briefs.of(id)),
            }),
        });
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/admin/users/", operation_id = "admin_list_users", summary = "Users, as staff see them",
    description = "Every account but deleted ones, by username; `?search=` a part of a username or email (any case), `?suspended=true`, `?is_active=`.", tag = "admin", params(AdminUserQuery, PageParams),
    responses((status = 200, body = Paginated<AdminUser>), (status = 400), (status = 401), (status = 403), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn list_users(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<AdminUserQuery>,
) -> Result<Json<Paginated<AdminUser>>, ApiError> {
    staff(&me)?;
    let mut select = user::Entity::find()
        .filter(user::Column::DeletedAt.is_null())
        .order_by_asc(user::Column::UsernameLower);
    if let Some(term) = crate::http::search_term(q.search.as_deref())? {
        use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
        let pattern = crate::db::like_contains(term);
        let like = |col: user::Column| Expr::col(col).like(LikeExpr::new(&pattern).escape('\\'));
        select = select.filter(
            Condition::any()
                .add(like(user::Column::UsernameLower))
                .add(like(user::Column::EmailLower)),
        );
    }
    if let Some(s) =
        query_bool(q.suspended.as_deref()).map_err(|e| ApiError::field("suspended", e))?
    {
        select = select.filter(user::Column::Suspended.eq(s));
    }
    if let Some(a) =
        query_bool(q.is_active.as_deref()).map_err(|e| ApiError::field("is_active", e))?
    {
        select = select.filter(user::Column::IsActive.eq(a));
    }
    let (count, rows) = paginate(&app.db, select, &mut page).await?;
    Ok(Json(page.wrap(count, admin_views(&app, &me, &rows).await?)))
}

/// A user staff may act on: any account but a deleted one; staff accounts are refused (403).
async fn actionable(app: &AppState, id: i64) -> Result<user::Model, ApiError> {
    let u = users_store::find_by_id(&app.db, id)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    if u.is_staff {
        return Err(ApiError::Forbidden);
    }
    Ok(u)
}

/// `until` as a suspension takes it: absent or null for "until lifted", else a time to come.
pub fn parse_until(raw: Option<Option<String>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(Some(raw)) = raw else {
        return Ok(None);
    };
    let until = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| {
            ApiError::field(
                "until",
                "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            )
        })?
        .with_timezone(&Utc);
    if until <= Utc::now() {
        return Err(ApiError::field("until", "Must be in the future."));
    }
    Ok(Some(until))
}

/// Suspends `target` for staff member `me` and records it; every session of theirs ends on
/// every instance, and they are told by mail. The caller has checked the target may be
/// suspended.
pub async fn suspend_user(
    app: &AppState,
    me: &CurrentUser,
    target: i64,
    until: Option<DateTime<Utc>>,
    reason: &str,
    extra: serde_json::Value,
) -> Result<(), ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    if !suspension::suspend(&txn, target, me.id, until, reason).await? {
        return Err(ApiError::NotFound);
    }
    crate::security::sessions::blacklist_user(&txn, target).await?;
    let mut data = serde_json::json!({"until": until, "reason": reason});
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    audit::append(&txn, me.id, "user.suspend", "user", target, data).await?;
    txn.commit().await?;
    app.revoke_sessions(target).await;
    if let Some(u) = users_store::find_by_id(&app.db, target).await? {
        users::mail::moderation_notice(app, &u, "suspended", reason).await;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/admin/users/{id}/suspend/", operation_id = "suspend_user", summary = "Suspend a user",
    description = "At once on every instance: tokens revoked, sockets closed with 4401; login and refresh answer 403 account_suspended with `until` and `reason`; the profile, posts and comments are hidden and the user is left out of lists. `until` absent or null: until lifted. Suspending again replaces it. Staff accounts cannot be suspended (403).", tag = "admin", params(("id" = i64, Path)), request_body = SuspendBody,
    responses((status = 200, body = Suspension), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn suspend(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<SuspendBody>,
) -> Result<Json<Suspension>, ApiError> {
    staff(&me)?;
    let until = parse_until(body.until)?;
    let reason = crate::users::fields::bounded(body.reason.as_deref().unwrap_or(""), 1000)
        .map_err(|e| ApiError::field("reason", e))?;
    if reason.is_empty() {
        return Err(ApiError::field("reason", crate::users::fields::REQUIRED));
    }
    actionable(&app, id).await?;
    suspend_user(&app, &me, id, until, &reason, serde_json::json!({})).await?;
    let u = users_store::find_by_id(&app.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = admin_views(&app, &me, std::slice::from_ref(&u))
        .await?
        .pop()
        .and_then(|v| v.suspension)
        .ok_or_else(|| ApiError::Internal("the suspension was not stored".into()))?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/admin/users/{id}/unsuspend/", operation_id = "unsuspend_user", summary = "Lift a suspension",
    description = "Everything returns as it was. 400 when the user is not suspended.", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn unsuspend(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    staff(&me)?;
    let txn = crate::db::begin_write(&app.db).await?;
    if !suspension::lift(&txn, id).await? {
        return Err(ApiError::rejected("This user is not suspended."));
    }
    audit::append(
        &txn,
        me.id,
        "user.unsuspend",
        "user",
        id,
        serde_json::json!({}),
    )
    .await?;
    txn.commit().await?;
    app.user_changed(id).await;
    Ok(StatusCode::NO_CONTENT)
}

fn id_param(field: &str, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::field(field, "Enter a whole number."))
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/admin/audit/", operation_id = "admin_audit_log", summary = "The audit log",
    description = "Every staff action, newest first; entries are never changed or deleted.", tag = "admin", params(AuditQuery, PageParams),
    responses((status = 200, body = Paginated<AuditEntry>), (status = 400), (status = 401), (status = 403), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn audit_log(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Paginated<AuditEntry>>, ApiError> {
    staff(&me)?;
    let mut select = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
    if let Some(actor) = id_param("actor", q.actor.as_deref())? {
        select = select.filter(audit_entry::Column::ActorId.eq(actor));
    }
    if let Some(target) = id_param("target_id", q.target_id.as_deref())? {
        select = select.filter(audit_entry::Column::TargetId.eq(target));
    }
    if let Some(action) = q.action.as_deref().filter(|a| !a.is_empty()) {
        select = select.filter(audit_entry::Column::Action.eq(action));
    }
    if let Some(kind) = q.target_type.as_deref().filter(|a| !a.is_empty()) {
        select = select.filter(audit_entry::Column::TargetType.eq(kind));
    }
    let (count, rows) = paginate(&app.db, select, &mut page).await?;
    let briefs = Briefs::load(&app, (&me).into(), rows.iter().map(|r| r.actor_id)).await?;
    let items = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            actor: briefs.of(r.actor_id),
            action: r.action,
            target: Target {
                kind: r.target_type,
                id: r.target_id,
            },
            data: serde_json::from_str(&r.data).unwrap_or_default(),
            created_at: r.created_at,
        })
        .collect();
    Ok(Json(page.wrap(count, items)))
}
