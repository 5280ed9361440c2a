//! Staff's report queue: open reports oldest first (resolved ones newest first), each with its
//! snapshot, who answers for it and how many open reports its target has; resolving one acts
//! on the target (nothing, a warning, removing the content, suspending its user), resolves
//! every other open report on the same target the same way, tells each reporter the outcome
//! in fixed words (never the note), and is audited.

use axum::extract::State;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::admin::{parse_until, staff, suspend_user};
use super::model::{AdminReport, AdminReportQuery, ResolveBody, Snapshot};
use super::reports::{CATEGORIES, TARGET_TYPES, view};
use crate::db::audit;
use crate::db::entities::{report, user};
use crate::db::paginate;
use crate::error::ApiError;
use crate::http::{CurrentUser, Json, Page, PageParams, Paginated, Path, Query};
use crate::social::briefs::Briefs;
use crate::state::AppState;
use crate::{chat, groups, notifications, posts, users};

async fn admin_views(
    app: &AppState,
    me: &CurrentUser,
    rows: &[report::Model],
) -> Result<Vec<AdminReport>, ApiError> {
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [Some(r.reporter_id), r.answerable_id, r.resolved_by])
        .flatten()
        .collect();
    let briefs = Briefs::load(app, me.into(), ids).await?;
    let links = app.media_links();
    // One query for every snapshot's media and one for the open counts, whatever the page.
    let snapshots: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.snapshot).unwrap_or_default())
        .collect();
    let media_of = |snap: &serde_json::Map<String, Value>| -> Vec<i64> {
        snap.get("media_ids")
            .and_then(|m| serde_json::from_value(m.clone()).ok())
            .unwrap_or_default()
    };
    let all_media: Vec<i64> = snapshots.iter().flat_map(media_of).collect();
    let mut media: std::collections::HashMap<i64, crate::media::Media> =
        crate::media::store::by_ids(&app.db, &all_media)
            .await?
            .iter()
            .map(|m| (m.id, crate::media::Media::of(m, &links)))
            .collect();
    // Files deleted since, which an open report holds.
    let deleted: Vec<i64> = all_media
        .iter()
        .copied()
        .filter(|id| !media.contains_key(id))
        .collect();
    for view in crate::media::hold::views(&app.db, &deleted, &links).await? {
        media.insert(view.id, view);
    }
    let open = open_counts(app, rows).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (r, mut snap) in rows.iter().zip(snapshots) {
        let ids = media_of(&snap);
        snap.remove("media_ids");
        let body = snap
            .remove("body")
            .and_then(|b| b.as_str().map(str::to_owned))
            .unwrap_or_default();
        out.push(AdminReport {
            report: view(r),
            reporter: briefs.of(r.reporter_id),
            target_user: r.answerable_id.map(|id| briefs.of(id)),
            snapshot: Snapshot {
                body,
                media: ids.iter().filter_map(|id| media.get(id).cloned()).collect(),
                names: snap,
            },
            action: r.action.clone(),
            until: r.until,
            note: r.note.clone(),
            resolved_by: r.resolved_by.map(|id| briefs.of(id)),
            open_reports_on_target: open
                .get(&(r.target_type.clone(), r.target_id))
                .copied()
                .unwrap_or(0),
        });
    }
    Ok(out)
}

/// Open reports on each target of `rows`, in one query.
async fn open_counts(
    app: &AppState,
    rows: &[report::Model],
) -> Result<std::collections::HashMap<(String, i64), u64>, ApiError> {
    use sea_orm::{Condition, QuerySelect};
    if rows.is_empty() {
        return Ok(Default::default());
    }
    let targets = rows.iter().fold(Condition::any(), |any, r| {
        any.add(
            Condition::all()
                .add(report::Column::TargetType.eq(r.target_type.as_str()))
                .add(report::Column::TargetId.eq(r.target_id)),
        )
    });
    let counts: Vec<(String, i64, i64)> = report::Entity::find()
        .select_only()
        .column(report::Column::TargetType)
        .column(report::Column::TargetId)
        .column_as(report::Column::Id.count(), "n")
        .filter(report::Column::Status.eq("open"))
        .filter(targets)
        .group_by(report::Column::TargetType)
        .group_by(report::Column::TargetId)
        .into_tuple()
        .all(&app.db)
        .await?;
    Ok(counts
        .into_iter()
        .map(|(t, id, n)| ((t, id), u64::try_from(n).unwrap_or(0)))
        .collect())
}

#[utoipa::path(get, path = "/api/admin/reports/", operation_id = "admin_list_reports", summary = "The report queue",
    description = "`?status=open` (the default; oldest first) or `resolved` (newest first), `?category=`, `?target_type=`. `open_reports_on_target` groups reports of one target.", tag = "admin", params(AdminReportQuery, PageParams),
    responses((status = 200, body = Paginated<AdminReport>), (status = 400), (status = 401), (status = 403), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<AdminReportQuery>,
) -> Result<Json<Paginated<AdminReport>>, ApiError> {
    staff(&me)?;
    let status = q.status.as_deref().unwrap_or("open");
    let mut select = report::Entity::find().filter(report::Column::Status.eq(status));
    select = match status {
        "open" => select.order_by_asc(report::Column::Id),
        "resolved" => select
            .order_by_desc(report::Column::ResolvedAt)
            .order_by_desc(report::Column::Id),
        other => {
            return Err(ApiError::field(
                "status",
                format!("Select a valid choice. {other} is not one of the available choices."),
            ));
        }
    };
    if let Some(c) = q.category.as_deref().filter(|c| !c.is_empty()) {
        if !CATEGORIES.contains(&c) {
            return Err(ApiError::field(
                "category",
                format!("Select a valid choice. {c} is not one of the available choices."),
            ));
        }
        select = select.filter(report::Column::Category.eq(c));
    }
    if let Some(t) = q.target_type.as_deref().filter(|t| !t.is_empty()) {
        if !TARGET_TYPES.contains(&t) {
            return Err(ApiError::field(
                "target_type",
                format!("Select a valid choice. {t} is not one of the available choices."),
            ));
        }
        select = select.filter(report::Column::TargetType.eq(t));
    }
    let (count, rows) = paginate(&app.db, select, &mut page).await?;
    Ok(Json(page.wrap(count, admin_views(&app, &me, &rows).await?)))
}

#[utoipa::path(get, path = "/api/admin/reports/{id}/", operation_id = "admin_get_report", summary = "A report, as staff see it",
    description = "With its reporter, the user who answers for the target, the snapshot and the note.", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminReport), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn detail(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<AdminReport>, ApiError> {
    staff(&me)?;
    let row = report::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    single(admin_views(&app, &me, &[row]).await?)
}

fn single(mut v: Vec<AdminReport>) -> Result<Json<AdminReport>, ApiError> {
    v.pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal("a report view is missing".into()))
}

/// What the reporters are told, in fixed words.
fn outcome_text(action: &str) -> &'static str {
    match action {
        "remove_content" => "We reviewed your report and removed the content.",
        "warn" => "We reviewed your report and warned the account responsible.",
        "suspend_user" => "We reviewed your report and suspended the account responsible.",
        _ => "We reviewed your report and took no action.",
    }
}

/// Deletes the target as its author could (a user: the profile's texts and images cleared).
async fn remove_content(
    app: &AppState,
    me: &CurrentUser,
    r: &report::Model,
) -> Result<(), ApiError> {
    let gone = |res: Result<(), ApiError>| match res {
        Err(ApiError::NotFound) => Ok(()),
        other => other,
    };
    match r.target_type.as_str() {
        "post" => {
            if let Some(p) = posts::store::find(&app.db, r.target_id).await? {
                gone(posts::actions::remove(app, &p, true).await)?;
            }
        }
        "comment" => {
            if let Some(c) = posts::store::comments::find(&app.db, r.target_id).await?
                && let Some(p) = posts::store::find(&app.db, c.post_id).await?
            {
                gone(posts::comments::remove(app, &c, &p, true).await)?;
            }
        }
        "message" => chat::messages::tombstone_all(app, &[r.target_id]).await?,
        "group" => gone(groups::actions::delete(app, me, r.target_id).await)?,
        _ => {
            use user::Column as C;
            user::Entity::update_many()
                .col_expr(C::Bio, Expr::value(""))
                .col_expr(C::Location, Expr::value(""))
                .col_expr(C::Website, Expr::value(""))
                .col_expr(C::AvatarId, Expr::value(Option::<i64>::None))
                .col_expr(C::CoverId, Expr::value(Option::<i64>::None))
                .filter(C::Id.eq(r.target_id))
                .exec(&app.db)
                .await?;
            app.user_changed(r.target_id).await;
        }
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/admin/reports/{id}/resolve/", operation_id = "resolve_report", summary = "Resolve a report",
    description = "`none`; `warn` (`message` required: a moderation_warning to the user who answers for the target); `remove_content` (the target deleted as its author could; a user's bio, location, website, avatar and cover cleared; a moderation_warning with `message` or a default text); `suspend_user` (as suspend/, `until` absent or null for until lifted, `message` the reason). Staff accounts cannot be warned or suspended (403). Every other open report on the target is resolved the same way; each reporter gets report_resolved with the outcome in fixed words, never the note. An already resolved report: 400.", tag = "admin", params(("id" = i64, Path)), request_body = ResolveBody,
    responses((status = 200, body = AdminReport), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, report_id = id))]
pub async fn resolve(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<ResolveBody>,
) -> Result<Json<AdminReport>, ApiError> {
    staff(&me)?;
    let r = report::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let already = || ApiError::rejected("This report is already resolved.");
    if r.status != "open" {
        return Err(already());
    }
    let action = body
        .action
        .ok_or_else(|| ApiError::field("action", crate::users::fields::REQUIRED))?;
    if !["none", "remove_content", "suspend_user", "warn"].contains(&action.as_str()) {
        return Err(ApiError::field(
            "action",
            format!("\"{action}\" is not a valid choice."),
        ));
    }
    let bounded = |raw: Option<String>, field: &str, max| {
        users::fields::bounded(raw.as_deref().unwrap_or(""), max)
            .map_err(|e| ApiError::field(field, e))
    };
    let note = bounded(body.note, "note", 2000)?;
    let message = bounded(body.message, "message", 1000)?;
    let until = if action == "suspend_user" {
        parse_until(body.until)?
    } else {
        None
    };
    if action == "warn" && message.is_empty() {
        return Err(ApiError::field("message", crate::users::fields::REQUIRED));
    }
    let answerable = match r.answerable_id {
        Some(uid) => users::store::find_by_id(&app.db, uid).await?,
        None => None,
    };
    if matches!(action.as_str(), "warn" | "suspend_user") {
        match &answerable {
            Some(u) if u.is_staff => return Err(ApiError::Forbidden),
            Some(_) => {}
            None => return Err(ApiError::rejected("No account answers for this target.")),
        }
    }
    let target = json!({"type": r.target_type, "id": r.target_id});
    // Claimed first, for every open report on the target at once: of two resolves racing, one
    // claims them and acts; the other finds none open and does nothing.
    let txn = crate::db::begin_write(&app.db).await?;
    let reporters: Vec<(i64, i64)> = report::Entity::find()
        .filter(report::Column::TargetType.eq(r.target_type.as_str()))
        .filter(report::Column::TargetId.eq(r.target_id))
        .filter(report::Column::Status.eq("open"))
        .all(&txn)
        .await?
        .into_iter()
        .map(|o| (o.id, o.reporter_id))
        .collect();
    let done = report::Entity::update_many()
        .col_expr(report::Column::Status, Expr::value("resolved"))
        .col_expr(report::Column::Action, Expr::value(action.clone()))
        .col_expr(report::Column::Until, Expr::value(until))
        .col_expr(report::Column::Note, Expr::value(note.clone()))
        .col_expr(report::Column::ResolvedBy, Expr::value(me.id))
        .col_expr(report::Column::ResolvedAt, Expr::value(crate::db::now()))
        .filter(report::Column::TargetType.eq(r.target_type.as_str()))
        .filter(report::Column::TargetId.eq(r.target_id))
        .filter(report::Column::Status.eq("open"))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 || !reporters.iter().any(|(rid, _)| *rid == r.id) {
        return Err(already());
    }
    txn.commit().await?;
    let acted = match action.as_str() {
        "remove_content" => remove_content(&app, &me, &r).await,
        "suspend_user" => {
            if let Some(u) = &answerable {
                let reason = if message.is_empty() {
                    "Breaking the rules.".to_owned()
                } else {
                    message.clone()
                };
                suspend_user(&app, &me, u.id, until, &reason, json!({"report_id": r.id})).await
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    };
    if let Err(e) = acted {
        // The action failed: the reports are open again, as they were.
        report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value("open"))
            .col_expr(report::Column::Action, Expr::value(Option::<String>::None))
            .col_expr(report::Column::ResolvedBy, Expr::value(Option::<i64>::None))
            .col_expr(
                report::Column::ResolvedAt,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .filter(report::Column::Id.is_in(reporters.iter().map(|(rid, _)| *rid)))
            .exec(&app.db)
            .await?;
        return Err(e);
    }
    // Files held for these reports and deleted meanwhile leave storage now.
    let resolved: Vec<i64> = reporters.iter().map(|(rid, _)| *rid).collect();
    if let Err(e) = crate::media::hold::release(&app, &resolved).await {
        tracing::warn!(error = %e, "held files not released");
    }
    let txn = crate::db::begin_write(&app.db).await?;
    audit::append(
        &txn,
        me.id,
        "report.resolve",
        &r.target_type,
        r.target_id,
        json!({"report_id": r.id, "action": action, "note": note, "until": until,
            "message": message, "reports": reporters.iter().map(|(rid, _)| rid).collect::<Vec<_>>()}),
    )
    .await?;
    txn.commit().await?;

    for (report_id, reporter) in &reporters {
        if let Err(e) = notifications::notify(
            &app,
            *reporter,
            None,
            notifications::model::REPORT_RESOLVED,
            outcome_text(&action).into(),
            json!({"report_id": report_id, "outcome": action}),
        )
        .await
        {
            tracing::warn!(error = %e, "report_resolved not sent");
        }
    }
    if matches!(action.as_str(), "warn" | "remove_content")
        && let Some(u) = &answerable
    {
        let text = if message.is_empty() {
            "Content you posted was removed for breaking the rules.".to_owned()
        } else {
            message.clone()
        };
        if let Err(e) = notifications::notify(
            &app,
            u.id,
            None,
            notifications::model::MODERATION_WARNING,
            text.clone(),
            json!({"action": action, "target": target}),
        )
        .await
        {
            tracing::warn!(error = %e, "moderation_warning not sent");
        }
        users::mail::moderation_notice(&app, u, "warned", &text).await;
    }
    let row = report::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    single(admin_views(&app, &me, &[row]).await?)
}
