//! Request and response types of /api/reports/ and /api/admin/, named as in API.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::social::model::UserBrief;
use crate::users::model::User;

/// What a report or an audit entry is about.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Target {
    /// `user`, `post`, `comment`, `message` or `group`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "post")]
    pub kind: String,
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suspension {
    pub user: UserBrief,
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
    pub created_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserBrief>,
}

/// A user as staff see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: User,
    pub is_active: bool,
    pub is_staff: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub suspension: Option<Suspension>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: UserBrief,
    pub action: String,
    pub target: Target,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspendBody {
    /// In the future; absent or null: until lifted.
    #[serde(default, deserialize_with = "crate::http::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub until: Option<Option<String>>,
    /// Written for the user: shown to them when they try to log in.
    #[schema(value_type = String, required = true, max_length = 1000)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminUserQuery {
    /// A part of a username or email, any case.
    pub search: Option<String>,
    /// `true`: only suspended users.
    #[param(value_type = Option<bool>)]
    pub suspended: Option<String>,
    #[param(value_type = Option<bool>)]
    pub is_active: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The staff member's id.
    #[param(value_type = Option<i64>)]
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    #[param(value_type = Option<i64>)]
    pub target_id: Option<String>,
}
