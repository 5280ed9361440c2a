//! Friend requests, friendships (one row per direction, so "my friends" is one index scan),
//! notifications and per-user notification settings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum FriendRequests {
    Table,
    Id,
    SenderId,
    ReceiverId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Friendships {
    Table,
    UserId,
    FriendId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notifications {
    Table,
    Id,
    RecipientId,
    SenderId,
    Kind,
    Text,
    Data,
    IsRead,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum NotificationSettings {
    Table,
    UserId,
    DisabledTypes,
    DoNotDisturb,
}

fn user_fk(
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FriendRequests::Table)
                    .if_not_exists()
                    .col(big_pk_auto(FriendRequests::Id))
                    .col(big_integer(FriendRequests::SenderId))
                    .col(big_integer(FriendRequests::ReceiverId))
                    .col(string_len(FriendRequests::Status, 16))
                    .col(timestamp_with_time_zone(FriendRequests::CreatedAt))
                    .col(timestamp_with_time_zone(FriendRequests::UpdatedAt))
                    .foreign_key(&mut user_fk(
                        FriendRequests::Table,
                        FriendRequests::SenderId,
                    ))
                    .foreign_key(&mut user_fk(
                        FriendRequests::Table,
                        FriendRequests::ReceiverId,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_friend_requests_sender", FriendRequests::SenderId),
            ("idx_friend_requests_receiver", FriendRequests::ReceiverId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(FriendRequests::Table)
                        .col(col)
                        .col(FriendRequests::Status)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Friendships::Table)
                    .if_not_exists()
                    .col(big_integer(Friendships::UserId))
                    .col(big_integer(Friendships::FriendId))
                    .col(timestamp_with_time_zone(Friendships::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Friendships::UserId)
                            .col(Friendships::FriendId),
                    )
                    .foreign_key(&mut user_fk(Friendships::Table, Friendships::UserId))
                    .foreign_key(&mut user_fk(Friendships::Table, Friendships::FriendId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Notifications::Id))
                    .col(big_integer(Notifications::RecipientId))
                    .col(big_integer_null(Notifications::SenderId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(text(Notifications::Text))
                    .col(text(Notifications::Data))
                    .col(boolean(Notifications::IsRead).default(false))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(&mut user_fk(
                        Notifications::Table,
                        Notifications::RecipientId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::SenderId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_recipient")
                    .table(Notifications::Table)
                    .col(Notifications::RecipientId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationSettings::Table)
                    .if_not_exists()
                    .col(big_integer(NotificationSettings::UserId).primary_key())
                    .col(text(NotificationSettings::DisabledTypes).default(""))
                    .col(boolean(NotificationSettings::DoNotDisturb).default(false))
                    .foreign_key(&mut user_fk(
                        NotificationSettings::Table,
                        NotificationSettings::UserId,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NotificationSettings::Table.into_iden(),
            Notifications::Table.into_iden(),
            Friendships::Table.into_iden(),
            FriendRequests::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
