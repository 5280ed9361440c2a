//! The types every feature shows people with, named as in API.md.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FriendshipStatus {
    #[serde(rename = "self")]
    Myself,
    Friends,
    RequestSent,
    RequestReceived,
    None,
}

/// Who sees a profile.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: values are validated as strings
pub enum ProfileVisibility {
    Public,
    Friends,
    Private,
}

/// Who may open a direct chat with the user.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum MessagePolicy {
    Everyone,
    Friends,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum FriendRequestStatus {
    Pending,
    Accepted,
    Rejected,
    Cancelled,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum FriendRequestAction {
    Created,
    Accepted,
    Rejected,
    Cancelled,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum RespondAction {
    Accept,
    Reject,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum RequestDirection {
    Incoming,
    Outgoing,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum NotificationType {
    FriendRequest,
    FriendAccepted,
    GroupInvite,
    GroupJoinRequest,
    GroupJoinApproved,
    Mention,
    System,
    PostComment,
    CommentReply,
    PostReaction,
    ExportReady,
    ReportCreated,
    ReportResolved,
    ModerationWarning,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserBrief {
    #[schema(read_only)]
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    /// Absolute, signed URL of the avatar image, or null when none is set.
    pub avatar: Option<String>,
    /// Null when the viewer may not see this user's presence.
    #[schema(read_only)]
    pub is_online: Option<bool>,
}

/// An entry of `GET /api/users/`: UserBrief plus the viewer's relation to the user.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserListItem {
    #[serde(flatten)]
    pub user: UserBrief,
    pub friendship_status: FriendshipStatus,
}
