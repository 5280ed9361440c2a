//! The entities of posts, comments and reactions.

pub mod post {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub author_id: i64,
        pub body: String,
        /// `public`, `friends`, `only_me` or `group` (exactly when `group_id` is set).
        pub visibility: String,
        pub group_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub edited_at: Option<DateTimeUtc>,
        /// Comments and replies not deleted, kept by the comment store in its transactions.
        pub comment_count: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub post_id: i64,
        pub author_id: i64,
        pub body: String,
        /// The top-level comment this one replies to.
        pub reply_to: Option<i64>,
        /// Replies not deleted.
        pub reply_count: i64,
        pub created_at: DateTimeUtc,
        pub edited_at: Option<DateTimeUtc>,
        /// A tombstone kept for its replies.
        pub deleted: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod reaction {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reactions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `post`, `comment` or `message`.
        pub kind: String,
        pub target_id: i64,
        pub user_id: i64,
        /// Fully qualified.
        pub emoji: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod reaction_count {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reaction_counts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub target_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub emoji: String,
        pub count: i64,
        /// The id of the emoji's first reaction there: keys are shown in this order.
        pub first_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
