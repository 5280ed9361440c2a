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

/// A report as its reporter sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub target: Target,
    pub category: String,
    pub comment: String,
    /// `open` or `resolved`.
    pub status: String,
    /// `none`, `remove_content`, `suspend_user` or `warn` once resolved.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What a report says: the target as it was reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct Snapshot {
    pub body: String,
    pub media: Vec<crate::media::Media>,
    /// A user's names or a group's name, when the target is one.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub names: serde_json::Map<String, Value>,
}

/// A report as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminReport {
    #[serde(flatten)]
    pub report: Report,
    pub reporter: UserBrief,
    /// Who answers for the target (the user, author, sender, group owner).
    pub target_user: Option<UserBrief>,
    pub snapshot: Snapshot,
    pub action: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub note: String,
    pub resolved_by: Option<UserBrief>,
    pub open_reports_on_target: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportTargetBody {
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "post")]
    pub kind: Option<String>,
    #[schema(value_type = i64)]
    pub id: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportBody {
    #[schema(required = true)]
    pub target: Option<ReportTargetBody>,
    /// `spam`, `harassment`, `hate`, `violence`, `sexual`, `illegal` or `other`.
    #[schema(value_type = String, required = true, example = "spam")]
    pub category: Option<String>,
    #[schema(value_type = String, max_length = 1000)]
    pub comment: Option<String>,
}

impl ReportBody {
    /// The target's type and id, the category and the comment, or every field's error.
    pub fn validate(self) -> Result<(String, i64, String, String), crate::error::ApiError> {
        use crate::error::{ApiError, FieldErrors};
        let mut errors = FieldErrors::new();
        let target = match self.target {
            None => {
                errors.add("target", crate::users::fields::REQUIRED);
                None
            }
            Some(t) => {
                let kind = t
                    .kind
                    .filter(|k| super::reports::TARGET_TYPES.contains(&k.as_str()));
                let id = t.id.as_ref().and_then(Value::as_i64);
                match (kind, id) {
                    (Some(k), Some(i)) => Some((k, i)),
                    (None, _) => {
                        errors.add(
                            "target",
                            "type must be one of user, post, comment, message, group.",
                        );
                        None
                    }
                    (_, None) => {
                        errors.add("target", "id must be an integer.");
                        None
                    }
                }
            }
        };
        let category = match self.category {
            Some(c) if super::reports::CATEGORIES.contains(&c.as_str()) => Some(c),
            Some(c) => {
                errors.add("category", format!("\"{c}\" is not a valid choice."));
                None
            }
            None => {
                errors.add("category", crate::users::fields::REQUIRED);
                None
            }
        };
        let comment = crate::users::fields::bounded(self.comment.as_deref().unwrap_or(""), 1000)
            .map_err(|e| errors.add("comment", e))
            .unwrap_or_default();
        match (target, category) {
            (Some((k, i)), Some(c)) if errors.is_empty() => Ok((k, i, c, comment)),
            _ => Err(ApiError::Fields(errors)),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveBody {
    /// `none`, `remove_content`, `suspend_user` or `warn`.
    #[schema(value_type = String, required = true, example = "warn")]
    pub action: Option<String>,
    /// For `suspend_user`: in the future; absent or null: until lifted.
    #[serde(default, deserialize_with = "crate::http::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub until: Option<Option<String>>,
    /// For staff only.
    #[schema(value_type = String, max_length = 2000)]
    pub note: Option<String>,
    /// To the answerable user: the warning (required for `warn`) or the suspension's reason.
    #[schema(value_type = String, max_length = 1000)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminReportQuery {
    /// `open` (the default) or `resolved`.
    pub status: Option<String>,
    pub category: Option<String>,
    pub target_type: Option<String>,
}
