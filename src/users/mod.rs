//! Users and profiles: the /api/users/ routes (blocking included: its rules live in `social/`)
//! and `view`, the full User object as a viewer may see it.

pub mod accounts;
pub mod fields;
pub mod mail;
pub mod model;
mod reset;
mod routes;
pub mod store;
pub mod suspension;

use axum::Router;
use axum::routing::{get, post};

use crate::db::entities::user;
use crate::error::ApiError;
use crate::http::CurrentUser;
use crate::social::{Relations, brief_of};
use crate::state::AppState;
use model::{HiddenProfile, Profile, ProfileView, User};

pub use routes::ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(routes::list_users))
        .route(
            "/api/users/me",
            get(routes::me)
                .put(routes::update_me)
                .patch(routes::patch_me)
                .delete(routes::delete_me),
        )
        .route("/api/users/blocked", get(routes::list_blocked))
        .route(
            "/api/users/{id}",
            get(routes::get_user)
                .put(routes::update_user)
                .patch(routes::patch_user),
        )
        .route(
            "/api/users/{id}/block",
            post(routes::block_user).delete(routes::unblock_user),
        )
}

/// The full User object as `viewer` may see it.
pub async fn view(
    app: &AppState,
    viewer: &CurrentUser,
    target: &user::Model,
) -> Result<User, ApiError> {
    let rel = Relations::load(app, viewer.into(), &[target]).await?;
    let profile = if rel.profile_visible(target) {
        ProfileView::Full(Profile {
            bio: target.bio.clone(),
            location: target.location.clone(),
            website: target.website.clone(),
            birth_date: target.birth_date,
            cover: target.cover_id.map(|id| rel.links().url(id, "content")),
            visibility: target.visibility.clone(),
            show_online_status: target.show_online_status,
            allow_messages_from: target.allow_messages_from.clone(),
        })
    } else {
        ProfileView::Hidden(HiddenProfile {
            visibility: target.visibility.clone(),
        })
    };
    let is_online = rel.is_online(target);
    Ok(User {
        brief: brief_of(target, is_online, rel.links()),
        email: rel.email_visible(target).then(|| target.email.clone()),
        email_verified: rel.email_visible(target).then_some(target.email_verified),
        date_joined: target.date_joined,
        last_seen: if is_online.is_some() {
            target.last_seen
        } else {
            None
        },
        friendship_status: rel.status(target.id),
        profile,
        friend_count: u64::try_from(target.friend_count).unwrap_or(0),
    })
}

/// The active user `id`, named by a request's `field`; otherwise the field error DRF gives for
/// a primary key that names nothing.
pub async fn active_user(app: &AppState, id: i64, field: &str) -> Result<user::Model, ApiError> {
    store::find_active(&app.db, id).await?.ok_or_else(|| {
        ApiError::field(
            field,
            format!("Invalid pk \"{id}\" - object does not exist."),
        )
    })
}
