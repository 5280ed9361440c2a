//! UserBriefs for a page of anything (messages, members, requests, notifications): the users
//! and the viewer's relations to them, loaded in a fixed number of queries however many a
//! page holds.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::UserBrief;
use super::{Relations, Viewer, brief_of};
use crate::db::entities::user;
use crate::error::ApiError;
use crate::state::{AppState, MediaLinks};

/// The rows of `ids`, by id (the caller's cache first, one query for the rest).
pub async fn users_by_id(
    app: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, Arc<user::Model>>, ApiError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(app
        .users_by_id(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// A user's brief where no single viewer applies (an event for a whole room): presence
/// depends on the viewer, so it is left out (`is_online: null`). A user who is gone is an id.
pub fn neutral_brief(
    users: &HashMap<i64, Arc<user::Model>>,
    id: i64,
    links: &MediaLinks,
) -> UserBrief {
    match users.get(&id) {
        Some(u) => brief_of(u, None, links),
        None => UserBrief {
            id,
            username: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            avatar: None,
            is_online: None,
        },
    }
}

/// UserBriefs of a set of users as one viewer sees them.
pub struct Briefs {
    users: HashMap<i64, Arc<user::Model>>,
    rel: Relations,
}

impl Briefs {
    pub async fn load(
        app: &AppState,
        viewer: Viewer,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<Self, ApiError> {
        let users = users_by_id(app, ids).await?;
        let refs: Vec<&user::Model> = users.values().map(|u| &**u).collect();
        let rel = Relations::load(app, viewer, &refs).await?;
        Ok(Self { users, rel })
    }

    pub fn links(&self) -> &MediaLinks {
        self.rel.links()
    }

    /// The brief of a user that exists.
    pub fn get(&self, id: i64) -> Option<UserBrief> {
        self.users.get(&id).map(|u| self.rel.brief(u))
    }

    /// The brief of `id`, or a bare id for a user who is gone.
    pub fn of(&self, id: i64) -> UserBrief {
        self.get(id)
            .unwrap_or_else(|| neutral_brief(&self.users, id, self.rel.links()))
    }
}
