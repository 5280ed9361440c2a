//! Request and response types of /api/friends/.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::social::model::UserBrief;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FriendRequest {
    pub id: i64,
    pub sender: UserBrief,
    pub receiver: UserBrief,
    /// pending | accepted | rejected | cancelled
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The data of a `friend_request` WebSocket event.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FriendRequestEvent {
    /// created | accepted | rejected | cancelled
    pub action: &'static str,
    pub friend_request: FriendRequest,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendRequestBody {
    pub receiver: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RespondBody {
    /// accept | reject
    pub action: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    /// incoming | outgoing (default: both)
    pub direction: Option<String>,
    /// pending (default) | accepted | rejected | cancelled
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FriendListQuery {
    /// true: only friends online now; false: only those offline.
    pub online: Option<String>,
    /// Matches username, first and last name, ignoring case.
    pub search: Option<String>,
}
