//! The entity of Web Push subscriptions.

pub mod push_subscription {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "push_subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        /// The refresh-token family of the login that made it; its end removes it.
        pub login: Option<String>,
        /// The push service's URL for this browser or device (unique).
        pub endpoint: String,
        /// The browser's P-256 public key and auth secret, URL-safe base64 as it sent them.
        pub p256dh: String,
        pub auth: String,
        /// JSON object: type → bool, only the types switched off or on explicitly.
        pub alerts: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
