//! Request and response types of /api/friends/.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldErrors, REQUIRED};
use crate::http::json_type_name;
use crate::social::model::UserBrief;
use crate::social::store::{Direction, RequestStatus};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FriendRequest {
    pub id: i64,
    pub sender: UserBrief,
    pub receiver: UserBrief,
    #[schema(value_type = crate::social::model::FriendRequestStatus)]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The data of a `friend_request` WebSocket event.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FriendRequestEvent {
    #[schema(value_type = crate::social::model::FriendRequestAction)]
    pub action: &'static str,
    pub friend_request: FriendRequest,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendRequestBody {
    /// The id of the user asked (a string of digits is read as the same id).
    #[schema(value_type = i64, required = true, example = 2)]
    pub receiver: Option<serde_json::Value>,
}

/// How a receiver answers a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Reject,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RespondBody {
    #[schema(value_type = crate::social::model::RespondAction, required = true)]
    pub action: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    /// Default: both.
    #[param(value_type = Option<crate::social::model::RequestDirection>)]
    pub direction: Option<String>,
    /// Default: pending.
    #[param(value_type = Option<crate::social::model::FriendRequestStatus>)]
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FriendListQuery {
    /// true: only friends online now; false: only those offline.
    #[param(value_type = Option<bool>)]
    pub online: Option<String>,
    /// Matches a username, first or last name that begins with it, ignoring case (`ali`
    /// finds `Alice`, not `Natalie`): each through its index.
    #[param(max_length = 150)]
    pub search: Option<String>,
}

impl SendRequestBody {
    /// The receiver's id: a number, or a string of digits, as DRF's primary-key field reads it.
    pub fn validate(self) -> Result<i64, ApiError> {
        use serde_json::Value;
        match self.receiver {
            None | Some(Value::Null) => Err(ApiError::field("receiver", REQUIRED)),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Ok(s.trim().parse().unwrap_or_default())
            }
            Some(other) => Err(ApiError::field(
                "receiver",
                format!(
                    "Incorrect type. Expected pk value, received {}.",
                    json_type_name(&other)
                ),
            )),
        }
    }
}

impl RespondBody {
    pub fn validate(self) -> Result<Answer, ApiError> {
        match self.action.as_deref().map(str::trim) {
            None => Err(ApiError::field("action", REQUIRED)),
            Some("accept") => Ok(Answer::Accept),
            Some("reject") => Ok(Answer::Reject),
            Some(other) => Err(ApiError::field(
                "action",
                format!("\"{other}\" is not a valid choice."),
            )),
        }
    }
}

fn not_a_choice(value: &str) -> String {
    format!("Select a valid choice. {value} is not one of the available choices.")
}

impl RequestListQuery {
    /// The direction (both when absent) and the status (pending when absent).
    pub fn validate(self) -> Result<(Option<Direction>, RequestStatus), ApiError> {
        let mut errors = FieldErrors::new();
        let direction = match self.direction.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("incoming") => Some(Direction::Incoming),
            Some("outgoing") => Some(Direction::Outgoing),
            Some(other) => {
                errors.add("direction", not_a_choice(other));
                None
            }
        };
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => RequestStatus::Pending,
            Some(s) => RequestStatus::parse(s).unwrap_or_else(|| {
                errors.add("status", not_a_choice(s));
                RequestStatus::Pending
            }),
        };
        errors.into_result()?;
        Ok((direction, status))
    }
}
