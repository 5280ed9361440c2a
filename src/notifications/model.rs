//! Request and response types of /api/notifications/.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::social::model::UserBrief;

pub const FRIEND_REQUEST: &str = "friend_request";
pub const FRIEND_ACCEPTED: &str = "friend_accepted";
pub const MENTION: &str = "mention";
pub const GROUP_INVITE: &str = "group_invite";
pub const GROUP_JOIN_REQUEST: &str = "group_join_request";
pub const GROUP_JOIN_APPROVED: &str = "group_join_approved";
pub const POST_COMMENT: &str = "post_comment";
pub const COMMENT_REPLY: &str = "comment_reply";
pub const POST_REACTION: &str = "post_reaction";
pub const EXPORT_READY: &str = "export_ready";
pub const REPORT_CREATED: &str = "report_created";
pub const REPORT_RESOLVED: &str = "report_resolved";
pub const MODERATION_WARNING: &str = "moderation_warning";
pub const SYSTEM: &str = "system";
pub const TYPES: &[&str] = &[
    FRIEND_REQUEST,
    FRIEND_ACCEPTED,
    GROUP_INVITE,
    GROUP_JOIN_REQUEST,
    GROUP_JOIN_APPROVED,
    MENTION,
    SYSTEM,
    POST_COMMENT,
    COMMENT_REPLY,
    POST_REACTION,
    EXPORT_READY,
    REPORT_CREATED,
    REPORT_RESOLVED,
    MODERATION_WARNING,
];

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub recipient: i64,
    pub sender: Option<UserBrief>,
    #[serde(rename = "type")]
    #[schema(value_type = crate::social::model::NotificationType)]
    pub kind: String,
    pub text: String,
    /// The ids of what it is about, e.g. `{"friend_request_id": 7}`.
    #[schema(value_type = Object)]
    pub data: Value,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    pub updated: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// Every type with whether it is created at all.
    pub types: BTreeMap<String, bool>,
    /// Stored but not pushed over the WebSocket.
    pub do_not_disturb: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NotificationSettingsBody {
    /// Any of the notification types, each on or off; types left out keep their setting.
    #[schema(value_type = BTreeMap<String, bool>, required = true, example = json!({"friend_request": true, "mention": false}))]
    pub types: Option<BTreeMap<String, bool>>,
    #[schema(value_type = bool, required = true)]
    pub do_not_disturb: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationListQuery {
    #[param(value_type = Option<bool>)]
    pub is_read: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<crate::social::model::NotificationType>)]
    pub kind: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_types_are_the_types() {
        use utoipa::PartialSchema;
        let schema =
            serde_json::to_value(crate::social::model::NotificationType::schema()).expect("schema");
        let documented: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(documented, super::TYPES);
    }
}
