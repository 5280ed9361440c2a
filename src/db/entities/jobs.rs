//! The entities of the job queue and of data exports.

pub mod job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Which handler runs it (`email`, `delete_account`, `export`).
        pub kind: String,
        /// What it is about, for counting (a mail's recipient, lower-cased).
        pub key: Option<String>,
        /// JSON, as its handler reads it.
        pub payload: String,
        /// `queued`, `running`, `done` or `dead`.
        pub state: String,
        pub attempts: i32,
        pub max_attempts: i32,
        /// Unix milliseconds: when it is due.
        pub run_at: i64,
        /// Unix milliseconds: while running, the end of the claiming instance's lease.
        pub locked_until: Option<i64>,
        pub last_error: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod data_export {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_exports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        /// `pending`, `ready`, `failed` or `expired`.
        pub status: String,
        /// The ZIP's key in the media storage, once built.
        pub file_key: Option<String>,
        pub size: Option<i64>,
        pub created_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
