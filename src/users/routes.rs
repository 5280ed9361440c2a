//! Handlers of /api/users/: parse, authorise, call the store, shape the response.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::OpenApi;

use super::model::{
    DeleteAccountBody, User, UserBrief, UserListItem, UserListQuery, UserUpdateBody,
};
use super::{accounts, mail, store, view};
use crate::db::entities::user;
use crate::db::paginate;
use crate::error::ApiError;
use crate::http::{
    CurrentUser, Json, Origin, Page, PageParams, Paginated, Path, Query, search_term,
};
use crate::social::{self, Relations, briefs, store as graph};
use crate::state::AppState;
use crate::state::users::IdList;

#[derive(OpenApi)]
#[openapi(paths(
    list_users,
    me,
    update_me,
    patch_me,
    delete_me,
    get_user,
    update_user,
    patch_user,
    block_user,
    unblock_user,
    list_blocked
))]
pub struct ApiDoc;

/// A user `me` may see: active, and not someone who blocked `me` (staff see everyone).
async fn visible_user(app: &AppState, me: &CurrentUser, id: i64) -> Result<user::Model, ApiError> {
    // A suspended account stays visible to staff, who act on it.
    let target = store::find_by_id(&app.db, id)
        .await?
        .filter(|u| u.is_active || (me.is_staff && u.suspended))
        .ok_or(ApiError::NotFound)?;
    if !me.is_staff && target.id != me.id && graph::has_blocked(&app.db, target.id, me.id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(target)
}

#[utoipa::path(get, path = "/api/users/", summary = "List users",
    description = "Paginated with friendship_status; ?search= matches the start of a username, first or last name, ignoring case. Inactive users and users blocked either way are left out.", tag = "users", params(UserListQuery, PageParams),
    responses((status = 200, body = Paginated<UserListItem>), (status = 401), (status = 404, description = "Invalid page.")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn list_users(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
    Query(q): Query<UserListQuery>,
) -> Result<Json<Paginated<UserListItem>>, ApiError> {
    let search = search_term(q.search.as_deref())?;
    let blocked = social::cached_ids(&app, me.id, IdList::Blocked).await?;
    let backend = app.db.get_database_backend();
    let query = |order| store::visible_query(backend, &blocked, search, order);
    let (count, rows) = match search {
        Some(_) => paginate(&app.db, query(sea_orm::Order::Asc), &mut page).await?,
        // The kept number of active users, less those of them the caller cannot see.
        None => {
            let active = crate::db::counter(&app.db, crate::db::ACTIVE_USERS).await?;
            let hidden = app.users_by_id(&blocked).await?;
            let hidden = hidden.iter().filter(|u| u.is_active).count();
            let total = u64::try_from(active)
                .unwrap_or(0)
                .saturating_sub(u64::try_from(hidden).unwrap_or(0));
            let both = crate::db::BothWays {
                forward: query(sea_orm::Order::Asc),
                backward: Some(query(sea_orm::Order::Desc)),
            };
            let rows = crate::db::paginate_counted(&app.db, both, &mut page, total).await?;
            (total, rows)
        }
    };
    let refs: Vec<&user::Model> = rows.iter().collect();
    let rel = Relations::load(&app, (&me).into(), &refs).await?;
    let items = rows.iter().map(|u| rel.list_item(u)).collect();
    Ok(Json(page.wrap(count, items)))
}

#[utoipa::path(get, path = "/api/users/me/", summary = "My profile",
    description = "With the email and every setting.", tag = "users",
    responses((status = 200, body = User), (status = 401)), security(("bearer" = [])))]
pub async fn me(State(app): State<AppState>, me: CurrentUser) -> Result<Json<User>, ApiError> {
    Ok(Json(view(&app, &me, &me.user).await?))
}

#[utoipa::path(put, path = "/api/users/me/", summary = "Replace my profile",
    description = "The writable top-level fields are required; profile fields as PATCH.", tag = "users", request_body = UserUpdateBody,
    responses((status = 200, body = User), (status = 400), (status = 401), (status = 429, description = "A change of the caller's own email past AGORA_EMAIL_REQUESTS_PER_HOUR from this address; see Retry-After")), security(("bearer" = [])))]
pub async fn update_me(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
    Json(body): Json<UserUpdateBody>,
) -> Result<Json<User>, ApiError> {
    let id = me.id;
    update(app, me, origin, id, body, true).await
}

#[utoipa::path(patch, path = "/api/users/me/", summary = "Change my profile",
    description = "Any subset: names, email, username, and profile bio, location, website, birth_date, visibility, show_online_status, allow_messages_from, avatar, cover (images of the caller's own). A new email is unverified (email_verified false) until the link sent to it is followed, and a notice goes to the old address (unless AGORA_EMAIL_VERIFICATION=none).", tag = "users", request_body = UserUpdateBody,
    responses((status = 200, body = User), (status = 400), (status = 401), (status = 429, description = "A change of the caller's own email past AGORA_EMAIL_REQUESTS_PER_HOUR from this address; see Retry-After")), security(("bearer" = [])))]
pub async fn patch_me(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
    Json(body): Json<UserUpdateBody>,
) -> Result<Json<User>, ApiError> {
    let id = me.id;
    update(app, me, origin, id, body, false).await
}

#[utoipa::path(get, path = "/api/users/{id}/", summary = "A user",
    description = "As the caller may see it: a private profile shows a brief only; a user blocked either way is a 404.", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn get_user(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<User>, ApiError> {
    let target = visible_user(&app, &me, id).await?;
    Ok(Json(view(&app, &me, &target).await?))
}

#[utoipa::path(put, path = "/api/users/{id}/", summary = "Replace a user",
    description = "The user themself or staff; others 403.", tag = "users", params(("id" = i64, Path)),
    request_body = UserUpdateBody,
    responses((status = 200, body = User), (status = 400), (status = 401), (status = 403), (status = 404), (status = 429, description = "A change of the caller's own email past AGORA_EMAIL_REQUESTS_PER_HOUR from this address; see Retry-After")),
    security(("bearer" = [])))]
pub async fn update_user(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdateBody>,
) -> Result<Json<User>, ApiError> {
    update(app, me, origin, id, body, true).await
}

#[utoipa::path(patch, path = "/api/users/{id}/", summary = "Change a user",
    description = "The user themself or staff; others 403.", tag = "users", params(("id" = i64, Path)),
    request_body = UserUpdateBody,
    responses((status = 200, body = User), (status = 400), (status = 401), (status = 403), (status = 404), (status = 429, description = "A change of the caller's own email past AGORA_EMAIL_REQUESTS_PER_HOUR from this address; see Retry-After")),
    security(("bearer" = [])))]
pub async fn patch_user(
    State(app): State<AppState>,
    me: CurrentUser,
    origin: Origin,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdateBody>,
) -> Result<Json<User>, ApiError> {
    update(app, me, origin, id, body, false).await
}

#[tracing::instrument(skip_all, fields(user_id = me.id, target = id))]
async fn update(
    app: AppState,
    me: CurrentUser,
    origin: Origin,
    id: i64,
    body: UserUpdateBody,
    full: bool,
) -> Result<Json<User>, ApiError> {
    let target = visible_user(&app, &me, id).await?;
    // A user changing their own address sends mail: it counts as a mail request.
    let old_email = target.email.clone();
    let own_new_address = target.id == me.id
        && body
            .email
            .as_deref()
            .is_some_and(|e| e.trim().to_lowercase() != target.email_lower);
    if own_new_address {
        mail::before_email_request(&app, &origin).await?;
    }
    // Staff changing someone else's account: the audit log keeps what they sent.
    let audited = (target.id != me.id).then(|| serde_json::to_value(&body).unwrap_or_default());
    let updated = accounts::update(&app, &me, target, body, full).await?;
    if let Some(data) = audited {
        crate::db::audit::record(&app.db, me.id, "user.update", "user", updated.id, data).await;
    }
    if own_new_address && !updated.email.eq_ignore_ascii_case(&old_email) {
        mail::email_changed(&app, &origin, &updated, &old_email).await;
    }
    // The caller's own cached row is stale now; view the updated one.
    let viewer = if updated.id == me.id {
        CurrentUser {
            user: updated.clone().into(),
            ..me
        }
    } else {
        me
    };
    Ok(Json(view(&app, &viewer, &updated).await?))
}

#[utoipa::path(delete, path = "/api/users/me/", summary = "Delete my account",
    description = "Needs the password (a wrong or missing one is a 400 on `password`). At once: signed out everywhere (every token refused, sockets closed with 4401 on every instance), the profile, email and password erased, the username and email free for new accounts. Then, in a background job that resumes after a crash: friendships, requests, blocks, invites and join requests both ways, notifications to and from the account, settings and mutes erased; posts (with their comments, reactions and notifications), comments (a top-level one with others' replies becomes a tombstone), reactions and every uploaded file deleted; chat messages become tombstones; rooms and groups are left (ownership passes to the longest-standing admin, else member; one left empty is deleted). A direct room stays for the other user to read. The id stays as an inactive shell.", tag = "users", request_body = DeleteAccountBody,
    responses((status = 204, description = "Account deleted; its data is being erased"), (status = 400), (status = 401)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id))]
pub async fn delete_me(
    State(app): State<AppState>,
    me: CurrentUser,
    Json(body): Json<DeleteAccountBody>,
) -> Result<StatusCode, ApiError> {
    accounts::close(&app, &me, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/users/{id}/block/", summary = "Block a user",
    description = "Ends the friendship and pending requests both ways; closes direct rooms to writes and stops notifications either way. The blocked user is not told.", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, description = "Blocking yourself"), (status = 401), (status = 404)),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, target = id))]
pub async fn block_user(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let target = visible_user(&app, &me, id).await?;
    if target.id == me.id {
        return Err(ApiError::rejected("You cannot block yourself."));
    }
    social::block(&app, me.id, target.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/users/{id}/block/", summary = "Unblock a user",
    description = "404 when there was no block.", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 404, description = "Not blocked")),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user_id = me.id, target = id))]
pub async fn unblock_user(
    State(app): State<AppState>,
    me: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if social::unblock(&app, me.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(get, path = "/api/users/blocked/", summary = "Users I blocked",
    description = "Most recent first.", tag = "users", params(PageParams),
    responses((status = 200, body = Paginated<UserBrief>), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_blocked(
    State(app): State<AppState>,
    me: CurrentUser,
    mut page: Page,
) -> Result<Json<Paginated<UserBrief>>, ApiError> {
    let (count, blocks) = paginate(&app.db, graph::blocks_query(me.id), &mut page).await?;
    let ids: Vec<i64> = blocks.iter().map(|b| b.blocked_id).collect();
    let rows = graph::users_in_order(&app.db, &ids).await?;
    Ok(Json(
        page.wrap(count, briefs(&app, (&me).into(), &rows).await?),
    ))
}
