//! SeaORM entities. They never reach a client: routes shape their own response types.

mod posts;
pub use posts::{comment, post, reaction, reaction_count};
mod jobs;
pub use jobs::{data_export, job};
mod moderation;
pub use moderation::{audit_entry, held_media, media_hold, report};
mod push;
pub use push::push_subscription;

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub username: String,
        pub username_lower: String,
        pub email: String,
        pub email_lower: String,
        /// The Argon2id hash.
        pub password: crate::secret::Secret,
        pub first_name: String,
        pub last_name: String,
        pub is_staff: bool,
        pub is_superuser: bool,
        pub is_active: bool,
        pub date_joined: DateTimeUtc,
        pub last_login: Option<DateTimeUtc>,
        pub last_seen: Option<DateTimeUtc>,
        pub token_version: i32,
        pub bio: String,
        pub location: String,
        pub website: String,
        pub birth_date: Option<Date>,
        pub visibility: String,
        pub show_online_status: bool,
        pub allow_messages_from: String,
        pub avatar_id: Option<i64>,
        pub cover_id: Option<i64>,
        /// Kept in step with `friendships` by the friends store.
        pub friend_count: i64,
        /// Whether `email` was confirmed by a link sent to it.
        pub email_verified: bool,
        /// Changed by every password-reset request: a reset token names the one it was made
        /// under, so a newer request kills the older tokens.
        pub reset_stamp: i64,
        /// When its user deleted the account (an inactive shell kept for staff), if they did.
        pub deleted_at: Option<DateTimeUtc>,
        /// Suspended by staff: inactive while it lasts (until `suspended_until`, or lifted).
        pub suspended: bool,
        pub suspended_until: Option<DateTimeUtc>,
        /// Written for the user; shown to them when they try to log in.
        pub suspension_reason: String,
        pub suspended_at: Option<DateTimeUtc>,
        /// The staff member who suspended them.
        pub suspended_by: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// First and last name, else the username: how a push or a mail names the user.
        pub fn display_name(&self) -> String {
            match format!("{} {}", self.first_name, self.last_name).trim() {
                "" => self.username.clone(),
                name => name.to_owned(),
            }
        }
    }
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub user_id: i64,
        pub family: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub blacklisted_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user_block {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_blocks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub blocker_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub blocked_id: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod friend_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "friend_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub sender_id: i64,
        pub receiver_id: i64,
        /// pending | accepted | rejected | cancelled
        pub status: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// "smaller id:larger id"; unique among pending requests.
        pub pair_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod friendship {
    use sea_orm::entity::prelude::*;

    /// One row per direction: (a, b) and (b, a).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "friendships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub friend_id: i64,
        pub created_at: DateTimeUtc,
        /// The friend's `username_lower` and `is_active`, kept with theirs: the list's order.
        pub friend_username_lower: String,
        pub friend_active: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod notification {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub recipient_id: i64,
        pub sender_id: Option<i64>,
        pub kind: String,
        pub text: String,
        /// A JSON object, stored as text so both databases treat it alike.
        pub data: String,
        pub is_read: bool,
        pub created_at: DateTimeUtc,
        /// The post it is about (`data.post_id`), so deleting the post deletes it.
        pub post_id: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod notification_inbox {
    use sea_orm::entity::prelude::*;

    /// A user's notifications counted as they change: a notification is read when its
    /// `is_read` is set or its id is at most `read_through` (what "read all" moves). Every
    /// change to a user's notifications takes this row's lock first.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification_inbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        pub total: i64,
        pub unread: i64,
        pub read_through: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod counter {
    use sea_orm::entity::prelude::*;

    /// A number kept as rows change (`active_users`), read instead of counting a large table.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub value: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod notification_setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        /// Comma-separated notification types switched off.
        pub disabled_types: String,
        pub do_not_disturb: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod chat_room {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "chat_rooms")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `direct` or `group`.
        pub kind: String,
        pub name: String,
        pub group_id: Option<i64>,
        /// "smaller id:larger id" for a direct room, so there is one per pair.
        pub direct_key: Option<String>,
        pub last_message_id: Option<i64>,
        pub last_activity_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        /// Kept by the chat store's `add_members` and `remove_member`.
        pub member_count: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod chat_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "chat_members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub room_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        /// `owner`, `admin` or `member`.
        pub role: String,
        pub joined_at: DateTimeUtc,
        pub last_read_message_id: Option<i64>,
        pub muted_until: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod chat_message {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "chat_messages")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub room_id: i64,
        pub sender_id: i64,
        pub body: String,
        pub reply_to: Option<i64>,
        pub client_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub edited_at: Option<DateTimeUtc>,
        pub deleted: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod group {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "groups")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub description: String,
        /// `public` or `private`.
        pub visibility: String,
        pub avatar_id: Option<i64>,
        /// The group's chat room: its members are the group's members.
        pub room_id: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod group_join_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "group_join_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub group_id: i64,
        pub user_id: i64,
        /// `pending`, `approved` or `rejected`.
        pub status: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod group_invite {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "group_invites")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub group_id: i64,
        pub user_id: i64,
        pub invited_by: i64,
        /// `pending`, `accepted` or `declined`.
        pub status: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod media {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "media")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub owner_id: i64,
        pub filename: String,
        /// Decided from the bytes.
        pub content_type: String,
        pub size: i64,
        pub width: Option<i32>,
        pub height: Option<i32>,
        /// Where the bytes are in the media store.
        pub storage_key: String,
        pub thumbnail_key: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod chat_attachment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "chat_attachments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub message_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub media_id: i64,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
