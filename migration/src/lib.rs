//! SeaORM migrations for Agora, one file per change, listed in order in [`Migrator`].
//! The same migrations run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_accounts;
mod m20261125_000002_social;
mod m20261125_000003_friend_count;
mod m20261125_000004_one_pending_request;
mod m20261130_000005_chat;
mod m20261130_000006_groups;
mod m20261130_000007_media;
mod m20261201_000008_list_indexes;
mod m20261201_000009_kept_counts;
mod m20261201_000010_friend_order;
mod m20261201_000011_name_prefixes;
mod m20261201_000012_unread_index;
mod m20261201_000013_member_count;
mod m20261202_000014_posts;
mod m20261203_000015_jobs_and_accounts;
mod m20261204_000016_moderation;
mod m20261205_000017_push;
mod m20261206_000018_media_holds;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_accounts::Migration),
            Box::new(m20261125_000002_social::Migration),
            Box::new(m20261125_000003_friend_count::Migration),
            Box::new(m20261125_000004_one_pending_request::Migration),
            Box::new(m20261130_000005_chat::Migration),
            Box::new(m20261130_000006_groups::Migration),
            Box::new(m20261130_000007_media::Migration),
            Box::new(m20261201_000008_list_indexes::Migration),
            Box::new(m20261201_000009_kept_counts::Migration),
            Box::new(m20261201_000010_friend_order::Migration),
            Box::new(m20261201_000011_name_prefixes::Migration),
            Box::new(m20261201_000012_unread_index::Migration),
            Box::new(m20261201_000013_member_count::Migration),
            Box::new(m20261202_000014_posts::Migration),
            Box::new(m20261203_000015_jobs_and_accounts::Migration),
            Box::new(m20261204_000016_moderation::Migration),
            Box::new(m20261205_000017_push::Migration),
            Box::new(m20261206_000018_media_holds::Migration),
        ]
    }
}
