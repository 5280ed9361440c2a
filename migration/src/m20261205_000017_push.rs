//! Web Push subscriptions: one row per browser or device endpoint, owned by the login (the
//! refresh-token family) that made it, so signing out ends its pushes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PushSubscriptions {
    Table,
    Id,
    UserId,
    Login,
    Endpoint,
    P256dh,
    Auth,
    Alerts,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushSubscriptions::Table)
                    .col(big_pk_auto(PushSubscriptions::Id))
                    .col(big_integer(PushSubscriptions::UserId))
                    .col(string_len_null(PushSubscriptions::Login, 64))
                    .col(text(PushSubscriptions::Endpoint))
                    .col(string_len(PushSubscriptions::P256dh, 128))
                    .col(string_len(PushSubscriptions::Auth, 64))
                    .col(text(PushSubscriptions::Alerts))
                    .col(timestamp_with_time_zone(PushSubscriptions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_push_subscriptions_endpoint")
                    .table(PushSubscriptions::Table)
                    .col(PushSubscriptions::Endpoint)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_push_subscriptions_user")
                    .table(PushSubscriptions::Table)
                    .col(PushSubscriptions::UserId)
                    .col(PushSubscriptions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_push_subscriptions_login")
                    .table(PushSubscriptions::Table)
                    .col(PushSubscriptions::Login)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
