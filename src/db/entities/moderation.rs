//! The entities of reports, the files they hold and the audit log.

pub mod report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub reporter_id: i64,
        /// `user`, `post`, `comment`, `message` or `group`.
        pub target_type: String,
        pub target_id: i64,
        /// Who answers for the target: the user, the author, the sender, the group's owner.
        pub answerable_id: Option<i64>,
        pub category: String,
        pub comment: String,
        /// The target as it was reported (JSON), kept through edits and deletes.
        pub snapshot: String,
        /// `open` or `resolved`.
        pub status: String,
        /// `none`, `remove_content`, `warn` or `suspend_user`, once resolved.
        pub action: Option<String>,
        /// A suspension's end, for `suspend_user`.
        pub until: Option<DateTimeUtc>,
        /// Staff's own note; never shown to the reporter or the reported.
        pub note: String,
        pub resolved_by: Option<i64>,
        pub resolved_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit_entry {
    use sea_orm::entity::prelude::*;

    /// One staff action; rows are only ever inserted.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_entries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub actor_id: i64,
        pub action: String,
        pub target_type: String,
        pub target_id: i64,
        /// JSON: the request's fields (never a password); for a resolve, the report and note.
        pub data: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod media_hold {
    use sea_orm::entity::prelude::*;

    /// An open report holds a file it is about, so deleting the file keeps its bytes.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "media_holds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub media_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub report_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod held_media {
    use sea_orm::entity::prelude::*;

    /// A deleted file's row, kept while a report holds it (the `media` row's columns).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "held_media")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        pub owner_id: i64,
        pub filename: String,
        pub content_type: String,
        pub size: i64,
        pub width: Option<i32>,
        pub height: Option<i32>,
        pub storage_key: String,
        pub thumbnail_key: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
