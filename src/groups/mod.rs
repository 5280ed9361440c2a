//! Groups: public and private groups with owner/admin/member roles, join requests, invites, and
//! each group's chat room. The room's members are the group's members (one table, so the two
//! never differ); groups change them through chat's room functions. Who may do what is one
//! pure table, `permissions`.

pub mod actions;
pub mod joining;
pub mod model;
pub mod permissions;
mod routes;
pub mod store;

use axum::Router;
use axum::routing::{get, post, put};

use crate::chat::model::Role;
use crate::chat::rooms;
use crate::db::entities::{group, group_invite, group_join_request};
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::social::briefs::Briefs;
use crate::state::AppState;
use model::{Group, Invite, InviteStatus, JoinRequest, RequestStatus, Visibility};

pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/groups",
            get(routes::list_groups).post(routes::create_group),
        )
        .route("/api/groups/invites", get(routes::my_invites))
        .route("/api/groups/invites/{id}", put(routes::answer_invite))
        .route(
            "/api/groups/{id}",
            get(routes::get_group)
                .patch(routes::update_group)
                .delete(routes::delete_group),
        )
        .route("/api/groups/{id}/members", get(routes::group_members))
        .route(
            "/api/groups/{id}/members/{user_id}",
            axum::routing::patch(routes::set_member_role).delete(routes::remove_group_member),
        )
        .route("/api/groups/{id}/transfer", post(routes::transfer_group))
        .route("/api/groups/{id}/join", post(routes::join_group))
        .route(
            "/api/groups/{id}/join-requests",
            get(routes::list_join_requests),
        )
        .route(
            "/api/groups/{id}/join-requests/{rid}",
            put(routes::answer_join_request),
        )
        .route("/api/groups/{id}/invites", post(routes::invite_to_group))
}

/// Groups as `me` sees them: member counts, owners and `me`'s role in a fixed number of
/// queries however many groups a page holds.
pub async fn groups_view(
    app: &AppState,
    me: &CurrentUser,
    groups: &[group::Model],
) -> Result<Vec<Group>, ApiError> {
    let rooms: Vec<i64> = groups.iter().map(|g| g.room_id).collect();
    let summaries = rooms::room_summaries(&app.db, me.id, &rooms).await?;
    let briefs = Briefs::load(
        app,
        me.into(),
        summaries.values().filter_map(|s| s.owner_id),
    )
    .await?;
    Ok(groups
        .iter()
        .map(|g| {
            let summary = summaries.get(&g.room_id);
            Group {
                id: g.id,
                name: g.name.clone(),
                description: g.description.clone(),
                avatar: g.avatar_id.map(|id| briefs.links().url(id, "content")),
                visibility: Visibility::of(&g.visibility),
                owner: briefs.of(summary.and_then(|s| s.owner_id).unwrap_or_default()),
                member_count: summary.map_or(0, |s| u64::try_from(s.members).unwrap_or(0)),
                my_role: summary.and_then(|s| s.my_role.as_deref()).map(Role::of),
                room: g.room_id,
                created_at: g.created_at,
            }
        })
        .collect())
}

pub async fn group_view(
    app: &AppState,
    me: &CurrentUser,
    group: &group::Model,
) -> Result<Group, ApiError> {
    single(groups_view(app, me, std::slice::from_ref(group)).await?)
}

fn request_status(stored: &str) -> RequestStatus {
    match stored {
        "approved" => RequestStatus::Approved,
        "rejected" => RequestStatus::Rejected,
        _ => RequestStatus::Pending,
    }
}

fn invite_status(stored: &str) -> InviteStatus {
    match stored {
        "accepted" => InviteStatus::Accepted,
        "declined" => InviteStatus::Declined,
        _ => InviteStatus::Pending,
    }
}

pub async fn requests_view(
    app: &AppState,
    me: &CurrentUser,
    rows: &[group_join_request::Model],
) -> Result<Vec<JoinRequest>, ApiError> {
    let briefs = Briefs::load(app, me.into(), rows.iter().map(|r| r.user_id)).await?;
    Ok(rows
        .iter()
        .map(|r| JoinRequest {
            id: r.id,
            group: r.group_id,
            user: briefs.of(r.user_id),
            status: request_status(&r.status),
            created_at: r.created_at,
        })
        .collect())
}

pub async fn invites_view(
    app: &AppState,
    me: &CurrentUser,
    rows: &[group_invite::Model],
) -> Result<Vec<Invite>, ApiError> {
    let briefs = Briefs::load(
        app,
        me.into(),
        rows.iter().flat_map(|r| [r.user_id, r.invited_by]),
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| Invite {
            id: r.id,
            group: r.group_id,
            user: briefs.of(r.user_id),
            invited_by: briefs.of(r.invited_by),
            status: invite_status(&r.status),
            created_at: r.created_at,
        })
        .collect())
}

/// The single item of a view of one row.
fn single<T>(rows: Vec<T>) -> Result<T, ApiError> {
    rows.into_iter().next().ok_or(ApiError::NotFound)
}

pub async fn request_view(
    app: &AppState,
    me: &CurrentUser,
    row: &group_join_request::Model,
) -> Result<JoinRequest, ApiError> {
    single(requests_view(app, me, std::slice::from_ref(row)).await?)
}

pub async fn invite_view(
    app: &AppState,
    me: &CurrentUser,
    row: &group_invite::Model,
) -> Result<Invite, ApiError> {
    single(invites_view(app, me, std::slice::from_ref(row)).await?)
}
