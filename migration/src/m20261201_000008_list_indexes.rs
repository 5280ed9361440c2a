//! Indexes behind lists that grow with a community: a user's unread notifications (the unread
//! count, `?is_read=false`, read-all) and a room's members in the order they joined (a group's
//! member list).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    RecipientId,
    IsRead,
    Id,
}

#[derive(DeriveIden)]
enum ChatMembers {
    Table,
    RoomId,
    JoinedAt,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_recipient_read")
                    .table(Notifications::Table)
                    .col(Notifications::RecipientId)
                    .col(Notifications::IsRead)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_members_room_joined")
                    .table(ChatMembers::Table)
                    .col(ChatMembers::RoomId)
                    .col(ChatMembers::JoinedAt)
                    .col(ChatMembers::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_chat_members_room_joined")
                    .table(ChatMembers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_notifications_recipient_read")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await
    }
}
