//! Request and response types of /api/groups/, named as in API.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::chat::model::{Role, room_name};
use crate::error::{ApiError, FieldErrors, REQUIRED};
use crate::social::model::UserBrief;

pub const MAX_DESCRIPTION_CHARS: usize = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn of(stored: &str) -> Self {
        if stored == "private" {
            Self::Private
        } else {
            Self::Public
        }
    }

    fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            other => Err(format!("\"{other}\" is not a valid choice.")),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Absolute, signed link to the image, or null.
    pub avatar: Option<String>,
    pub visibility: Visibility,
    pub owner: UserBrief,
    pub member_count: u64,
    /// The caller's role, null when not a member.
    pub my_role: Option<Role>,
    /// The group's chat room: its members are the group's members.
    pub room: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Pending,
    Accepted,
    Declined,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JoinRequest {
    pub id: i64,
    pub group: i64,
    pub user: UserBrief,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Invite {
    pub id: i64,
    pub group: i64,
    pub user: UserBrief,
    pub invited_by: UserBrief,
    pub status: InviteStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupListQuery {
    /// Matches the name or the description, ignoring case.
    #[param(value_type = Option<String>, max_length = 150)]
    pub search: Option<String>,
    /// Only the groups the caller belongs to.
    #[param(value_type = Option<bool>)]
    pub mine: Option<String>,
}

/// The fields of a group, as created or changed.
#[derive(Debug, Default)]
pub struct GroupFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    /// `Some(None)` clears it.
    pub avatar: Option<Option<i64>>,
}

/// Serialize: what staff sent is kept in the audit log.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct GroupBody {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 150, example = "Hikers")]
    pub name: Option<String>,
    #[schema(value_type = String, required = false, max_length = 2000)]
    pub description: Option<String>,
    #[schema(value_type = Visibility, required = false)]
    pub visibility: Option<String>,
    /// Media id of an image of the caller's own, or null.
    #[serde(default, deserialize_with = "crate::http::nullable")]
    #[schema(value_type = Option<i64>, required = false)]
    pub avatar: Option<Option<i64>>,
}

impl GroupBody {
    /// The fields sent, checked; `creating` makes the name required.
    pub fn validate(self, creating: bool) -> Result<GroupFields, ApiError> {
        let mut errors = FieldErrors::new();
        let mut out = GroupFields::default();
        if creating || self.name.is_some() {
            match room_name(self.name.as_deref()) {
                Ok(n) => out.name = Some(n),
                Err(e) => errors.add("name", e),
            }
        }
        if let Some(d) = self.description.as_deref().map(str::trim) {
            if d.chars().count() > MAX_DESCRIPTION_CHARS {
                errors.add(
                    "description",
                    format!(
                        "Ensure this field has no more than {MAX_DESCRIPTION_CHARS} characters."
                    ),
                );
            } else {
                out.description = Some(d.to_owned());
            }
        }
        if let Some(v) = self.visibility.as_deref() {
            match Visibility::parse(v) {
                Ok(v) => out.visibility = Some(v),
                Err(e) => errors.add("visibility", e),
            }
        }
        out.avatar = self.avatar;
        errors.into_result()?;
        Ok(out)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    #[schema(value_type = String, required = true, example = "admin")]
    pub role: Option<String>,
}

impl RoleBody {
    pub fn validate(self) -> Result<Role, ApiError> {
        match self.role.as_deref().map(str::trim) {
            None => Err(ApiError::field("role", REQUIRED)),
            Some("admin") => Ok(Role::Admin),
            Some("member") => Ok(Role::Member),
            Some(other) => Err(ApiError::field(
                "role",
                format!("\"{other}\" is not a valid choice."),
            )),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserIdBody {
    #[schema(value_type = i64, required = true, example = 2)]
    pub user_id: Option<i64>,
}

impl UserIdBody {
    pub fn validate(self) -> Result<i64, ApiError> {
        self.user_id
            .ok_or_else(|| ApiError::field("user_id", REQUIRED))
    }
}

/// `{"action"}` of a join request or an invite answer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionBody {
    #[schema(value_type = String, required = true, example = "approve")]
    pub action: Option<String>,
}

impl ActionBody {
    /// True for the first of `choices` (approve, accept), false for the second.
    pub fn validate(self, choices: [&str; 2]) -> Result<bool, ApiError> {
        match self.action.as_deref().map(str::trim) {
            None => Err(ApiError::field("action", REQUIRED)),
            Some(a) if a == choices[0] => Ok(true),
            Some(a) if a == choices[1] => Ok(false),
            Some(other) => Err(ApiError::field(
                "action",
                format!("\"{other}\" is not a valid choice."),
            )),
        }
    }
}

/// What `POST /api/groups/{id}/join/` did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JoinOutcome {
    Joined(crate::chat::model::Member),
    Requested(JoinRequest),
}
