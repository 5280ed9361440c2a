//! Request and response types of /api/chat/ and of the chat WebSocket frames, named as in
//! API.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldErrors, REQUIRED};
use crate::social::model::UserBrief;

/// The longest message body, in characters after trimming.
pub const MAX_BODY_CHARS: usize = 4000;
/// The longest room name.
pub const MAX_NAME_CHARS: usize = 150;
/// The longest `client_id`.
pub const MAX_CLIENT_ID_CHARS: usize = 64;
/// Most members added (or a group room created with) in one request.
pub const MAX_MEMBERS_AT_ONCE: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Direct,
    Group,
}

impl RoomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }

    pub fn of(stored: &str) -> Self {
        if stored == "direct" {
            Self::Direct
        } else {
            Self::Group
        }
    }
}

/// A member's role in a room: owner > admin > member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub fn of(stored: &str) -> Self {
        match stored {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Member,
        }
    }

    /// Owners and admins manage a group room: rename it, add and remove members.
    pub fn manages(self) -> bool {
        self >= Self::Admin
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Member {
    pub user: UserBrief,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    pub last_read_message_id: Option<i64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub room: i64,
    pub sender: UserBrief,
    /// Empty when deleted.
    pub body: String,
    /// Empty when deleted.
    pub attachments: Vec<crate::media::Media>,
    pub reply_to: Option<i64>,
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// Each emoji and how many users reacted with it, in the order first used; empty when
    /// deleted.
    pub reactions: crate::reactions::Counts,
    /// The caller's emoji; null in room events (encoded once for everyone).
    pub my_reactions: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Room {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: RoomKind,
    pub name: String,
    pub group: Option<i64>,
    /// Every member of a room of up to 50, else the 50 who joined first (the rest through
    /// `GET /api/chat/rooms/{id}/members/`).
    pub members: Vec<Member>,
    pub member_count: u64,
    pub created_at: DateTime<Utc>,
    pub last_message: Option<Message>,
    /// Messages of others after the caller's read marker, counted up to 1,000: a room with
    /// more reads 1,000.
    pub unread_count: u64,
    pub muted_until: Option<DateTime<Utc>>,
}

impl Room {
    /// The room as an event for all its members: one encoding goes to everyone, so nothing
    /// that depends on who looks stays in it (members' presence, the caller's unread count and
    /// mute).
    pub fn for_everyone(mut self) -> Self {
        for m in &mut self.members {
            m.user.is_online = None;
        }
        if let Some(last) = &mut self.last_message {
            last.sender.is_online = None;
            last.my_reactions = None;
        }
        self.unread_count = 0;
        self.muted_until = None;
        self
    }
}

/// `GET /api/chat/rooms/{id}/messages/`: ascending by id, with links to older and newer.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub results: Vec<Message>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadMarker {
    pub last_read_message_id: Option<i64>,
    pub unread_count: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRoomBody {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 150, example = "Weekend hike")]
    pub name: Option<String>,
    /// The caller's friends to add.
    #[schema(value_type = Vec<i64>, required = false, example = json!([2, 3]))]
    pub member_ids: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DirectBody {
    #[schema(value_type = i64, required = true, example = 2)]
    pub user_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameBody {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 150)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMembersBody {
    #[schema(value_type = Vec<i64>, required = true, example = json!([4]))]
    pub user_ids: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendBody {
    /// 1–4000 characters after trimming, unless attachments are present.
    #[schema(value_type = String, required = false, max_length = 4000, example = "Hello!")]
    pub body: Option<String>,
    /// Up to 10 media ids, each the sender's own.
    #[schema(value_type = Vec<i64>, required = false)]
    pub attachments: Option<Vec<i64>>,
    #[schema(value_type = Option<i64>, required = false)]
    pub reply_to: Option<i64>,
    /// Makes the send idempotent: the same sender and client_id return the stored message.
    #[schema(value_type = Option<String>, required = false, max_length = 64, example = "c0ffee-1")]
    pub client_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditBody {
    #[schema(value_type = String, required = true, max_length = 4000)]
    pub body: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadBody {
    #[schema(value_type = i64, required = true)]
    pub message_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MuteBody {
    /// Until when the room is muted; null unmutes.
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>, required = true)]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages older than this id.
    #[param(value_type = Option<i64>)]
    pub before: Option<String>,
    /// Messages newer than this id: a complete catch-up after a reconnect.
    #[param(value_type = Option<i64>)]
    pub after: Option<String>,
    /// Default 50, at most 100.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// A validated message to send.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub body: String,
    /// Media ids, without repeats, in the order sent.
    pub attachments: Vec<i64>,
    pub reply_to: Option<i64>,
    pub client_id: Option<String>,
}

/// The most attachments a message may have.
pub const MAX_ATTACHMENTS: usize = 10;

/// A trimmed room name: 1–150 characters.
pub fn room_name(raw: Option<&str>) -> Result<String, String> {
    let Some(raw) = raw else {
        return Err(REQUIRED.into());
    };
    let name = raw.trim();
    if name.is_empty() {
        return Err(crate::error::BLANK.into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "Ensure this field has no more than {MAX_NAME_CHARS} characters."
        ));
    }
    Ok(name.to_owned())
}

/// A trimmed message body: 1–4000 characters.
pub fn message_body(raw: Option<&str>) -> Result<String, String> {
    crate::text::body(raw, MAX_BODY_CHARS)
}

impl SendBody {
    pub fn validate(self) -> Result<NewMessage, ApiError> {
        let mut errors = FieldErrors::new();
        let mut attachments = self.attachments.unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        attachments.retain(|id| seen.insert(*id));
        if attachments.len() > MAX_ATTACHMENTS {
            errors.add(
                "attachments",
                format!("Ensure this field has no more than {MAX_ATTACHMENTS} elements."),
            );
        }
        let blank = self.body.as_deref().is_none_or(|b| b.trim().is_empty());
        let body = if blank && !attachments.is_empty() {
            Some(String::new())
        } else {
            message_body(self.body.as_deref())
                .map_err(|e| errors.add("body", e))
                .ok()
        };
        let client_id = match self.client_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if c.chars().count() > MAX_CLIENT_ID_CHARS => {
                errors.add(
                    "client_id",
                    format!("Ensure this field has no more than {MAX_CLIENT_ID_CHARS} characters."),
                );
                None
            }
            Some(c) => Some(c.to_owned()),
        };
        errors.into_result()?;
        Ok(NewMessage {
            body: body.unwrap_or_default(),
            attachments,
            reply_to: self.reply_to,
            client_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_and_manage() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        assert!(Role::Owner.manages() && Role::Admin.manages() && !Role::Member.manages());
        assert_eq!(Role::of("admin"), Role::Admin);
    }

    #[test]
    fn bodies_and_names_are_trimmed_and_bounded() {
        assert_eq!(message_body(Some("  hi ")).as_deref(), Ok("hi"));
        assert!(message_body(Some("   ")).is_err());
        assert!(message_body(None).is_err());
        assert!(message_body(Some(&"x".repeat(4001))).is_err());
        assert!(message_body(Some(&"é".repeat(4000))).is_ok());
        assert!(room_name(Some(&"n".repeat(151))).is_err());
        assert_eq!(room_name(Some(" Hike ")).as_deref(), Ok("Hike"));
    }
}
