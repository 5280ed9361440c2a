//! Users and profiles: the /api/users/ routes, blocking, and the functions every feature uses
//! to show a user (`brief`, `view`).

pub mod fields;
pub mod model;
mod routes;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::db::entities::user;
use crate::error::ApiError;
use crate::http::CurrentUser;
use model::{FriendshipStatus, Profile, ProfileView, User, UserBrief, UserListItem};

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

/// How `viewer` relates to `target`. Friendships come with the friends feature; until then
/// the only relation besides `self` is `none`.
pub fn friendship_status(viewer: &CurrentUser, target: &user::Model) -> FriendshipStatus {
    if viewer.id == target.id {
        FriendshipStatus::Myself
    } else {
        FriendshipStatus::None
    }
}

/// Presence is not built yet, so nobody's online state is known: null, as API.md allows.
fn is_online(_viewer: &CurrentUser, _target: &user::Model) -> Option<bool> {
    None
}

pub fn brief_of(target: &user::Model, is_online: Option<bool>) -> UserBrief {
    UserBrief {
        id: target.id,
        username: target.username.clone(),
        first_name: target.first_name.clone(),
        last_name: target.last_name.clone(),
        avatar: None,
        is_online,
    }
}

pub fn brief(viewer: &CurrentUser, target: &user::Model) -> UserBrief {
    brief_of(target, is_online(viewer, target))
}

pub fn list_item(viewer: &CurrentUser, target: &user::Model) -> UserListItem {
    UserListItem {
        user: brief(viewer, target),
        friendship_status: friendship_status(viewer, target),
    }
}

/// The full User object as `viewer` may see it.
pub async fn view(
    _app: &AppState,
    viewer: &CurrentUser,
    target: &user::Model,
) -> Result<User, ApiError> {
    let status = friendship_status(viewer, target);
    let privileged = viewer.id == target.id || viewer.is_staff;
    let profile_visible = privileged
        || match target.visibility.as_str() {
            "public" => true,
            "friends" => status == FriendshipStatus::Friends,
            _ => false,
        };
    let profile = if profile_visible {
        ProfileView::Full(Profile {
            bio: target.bio.clone(),
            location: target.location.clone(),
            website: target.website.clone(),
            birth_date: target.birth_date,
            cover: None,
            visibility: target.visibility.clone(),
            show_online_status: target.show_online_status,
            allow_messages_from: target.allow_messages_from.clone(),
        })
    } else {
        ProfileView::Hidden {
            visibility: target.visibility.clone(),
        }
    };
    let presence_visible = privileged || target.show_online_status;
    Ok(User {
        brief: brief(viewer, target),
        email: privileged.then(|| target.email.clone()),
        date_joined: target.date_joined,
        last_seen: if presence_visible {
            target.last_seen
        } else {
            None
        },
        friendship_status: status,
        profile,
        friend_count: 0,
    })
}
