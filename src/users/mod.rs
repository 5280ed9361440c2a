//! Users and profiles: the /api/users/ routes, blocking, and the functions every feature uses
//! to show a user (`brief`, `view`).

pub mod fields;
pub mod model;
mod routes;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
use std::collections::HashSet;

use crate::db::entities::user;
use crate::error::ApiError;
use crate::friends;
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

/// Who is looking: relations and visibility are computed for them.
#[derive(Clone, Copy, Debug)]
pub struct Viewer {
    pub id: i64,
    pub is_staff: bool,
}

impl From<&CurrentUser> for Viewer {
    fn from(me: &CurrentUser) -> Self {
        Self {
            id: me.id,
            is_staff: me.is_staff,
        }
    }
}

/// The viewer's relations to a set of users, loaded in a fixed number of queries however many
/// users a page holds: friendships, pending requests and presence.
pub struct Relations {
    viewer: Viewer,
    friends: HashSet<i64>,
    sent: HashSet<i64>,
    received: HashSet<i64>,
    online: HashSet<i64>,
}

impl Relations {
    pub async fn load(
        app: &AppState,
        viewer: Viewer,
        targets: &[&user::Model],
    ) -> Result<Self, ApiError> {
        let ids: Vec<i64> = targets
            .iter()
            .map(|u| u.id)
            .filter(|id| *id != viewer.id)
            .collect();
        let friends = friends::store::friends_among(&app.db, viewer.id, &ids).await?;
        let (sent, received) = friends::store::pending_among(&app.db, viewer.id, &ids).await?;
        Ok(Self::with_presence(app, viewer, targets, friends, sent, received).await)
    }

    /// Relations to users already known to be the viewer's friends (the friends list): no
    /// query but presence.
    pub async fn of_friends(app: &AppState, viewer: Viewer, friends: &[&user::Model]) -> Self {
        let ids = friends.iter().map(|u| u.id).collect();
        Self::with_presence(app, viewer, friends, ids, HashSet::new(), HashSet::new()).await
    }

    async fn with_presence(
        app: &AppState,
        viewer: Viewer,
        targets: &[&user::Model],
        friends: HashSet<i64>,
        sent: HashSet<i64>,
        received: HashSet<i64>,
    ) -> Self {
        let mut rel = Self {
            viewer,
            friends,
            sent,
            received,
            online: HashSet::new(),
        };
        let visible: Vec<i64> = targets
            .iter()
            .filter(|u| rel.presence_visible(u))
            .map(|u| u.id)
            .collect();
        rel.online = app.realtime.online(visible).await;
        rel
    }

    pub fn status(&self, target_id: i64) -> FriendshipStatus {
        if target_id == self.viewer.id {
            FriendshipStatus::Myself
        } else if self.friends.contains(&target_id) {
            FriendshipStatus::Friends
        } else if self.sent.contains(&target_id) {
            FriendshipStatus::RequestSent
        } else if self.received.contains(&target_id) {
            FriendshipStatus::RequestReceived
        } else {
            FriendshipStatus::None
        }
    }

    /// Presence is shown to the user, to staff, and to friends unless the user hides it.
    fn presence_visible(&self, target: &user::Model) -> bool {
        target.id == self.viewer.id
            || self.viewer.is_staff
            || (target.show_online_status && self.friends.contains(&target.id))
    }

    pub fn is_online(&self, target: &user::Model) -> Option<bool> {
        self.presence_visible(target)
            .then(|| self.online.contains(&target.id))
    }

    pub fn brief(&self, target: &user::Model) -> UserBrief {
        brief_of(target, self.is_online(target))
    }

    pub fn list_item(&self, target: &user::Model) -> UserListItem {
        UserListItem {
            user: self.brief(target),
            friendship_status: self.status(target.id),
        }
    }
}

/// UserBriefs of `targets` as `viewer` sees them.
pub async fn briefs(
    app: &AppState,
    viewer: Viewer,
    targets: &[user::Model],
) -> Result<Vec<UserBrief>, ApiError> {
    let refs: Vec<&user::Model> = targets.iter().collect();
    let rel = Relations::load(app, viewer, &refs).await?;
    Ok(targets.iter().map(|t| rel.brief(t)).collect())
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

/// The full User object as `viewer` may see it.
pub async fn view(
    app: &AppState,
    viewer: &CurrentUser,
    target: &user::Model,
) -> Result<User, ApiError> {
    let rel = Relations::load(app, viewer.into(), &[target]).await?;
    let status = rel.status(target.id);
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
    let is_online = rel.is_online(target);
    Ok(User {
        brief: brief_of(target, is_online),
        email: privileged.then(|| target.email.clone()),
        date_joined: target.date_joined,
        last_seen: if is_online.is_some() {
            target.last_seen
        } else {
            None
        },
        friendship_status: status,
        profile,
        friend_count: u64::try_from(target.friend_count).unwrap_or(0),
    })
}
