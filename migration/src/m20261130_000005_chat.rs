//! Chat: rooms (direct or group), their members with roles, read markers and mutes, and
//! messages. `direct_key` ("smaller id:larger id") makes one direct room per pair; a unique
//! (sender, client_id) makes a send idempotent per sender in the database itself.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChatRooms {
    Table,
    Id,
    Kind,
    Name,
    GroupId,
    DirectKey,
    LastMessageId,
    LastActivityAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChatMembers {
    Table,
    RoomId,
    UserId,
    Role,
    JoinedAt,
    LastReadMessageId,
    MutedUntil,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChatMessages {
    Table,
    Id,
    RoomId,
    SenderId,
    Body,
    ReplyTo,
    ClientId,
    CreatedAt,
    EditedAt,
    Deleted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatRooms::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ChatRooms::Id))
                    .col(string_len(ChatRooms::Kind, 16))
                    .col(string_len(ChatRooms::Name, 150).default(""))
                    .col(big_integer_null(ChatRooms::GroupId))
                    .col(string_len_null(ChatRooms::DirectKey, 64).unique_key())
                    .col(big_integer_null(ChatRooms::LastMessageId))
                    .col(timestamp_with_time_zone(ChatRooms::LastActivityAt))
                    .col(timestamp_with_time_zone(ChatRooms::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatMembers::Table)
                    .if_not_exists()
                    .col(big_integer(ChatMembers::RoomId))
                    .col(big_integer(ChatMembers::UserId))
                    .col(string_len(ChatMembers::Role, 16))
                    .col(timestamp_with_time_zone(ChatMembers::JoinedAt))
                    .col(big_integer_null(ChatMembers::LastReadMessageId))
                    .col(timestamp_with_time_zone_null(ChatMembers::MutedUntil))
                    .primary_key(
                        Index::create()
                            .col(ChatMembers::RoomId)
                            .col(ChatMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMembers::Table, ChatMembers::RoomId)
                            .to(ChatRooms::Table, ChatRooms::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMembers::Table, ChatMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_members_user")
                    .table(ChatMembers::Table)
                    .col(ChatMembers::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatMessages::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ChatMessages::Id))
                    .col(big_integer(ChatMessages::RoomId))
                    .col(big_integer(ChatMessages::SenderId))
                    .col(text(ChatMessages::Body))
                    .col(big_integer_null(ChatMessages::ReplyTo))
                    .col(string_len_null(ChatMessages::ClientId, 64))
                    .col(timestamp_with_time_zone(ChatMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(ChatMessages::EditedAt))
                    .col(boolean(ChatMessages::Deleted).default(false))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMessages::Table, ChatMessages::RoomId)
                            .to(ChatRooms::Table, ChatRooms::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMessages::Table, ChatMessages::SenderId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_messages_room_id")
                    .table(ChatMessages::Table)
                    .col(ChatMessages::RoomId)
                    .col(ChatMessages::Id)
                    .to_owned(),
            )
            .await?;
        // NULL client ids are distinct on both databases, so only real ones collide.
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_messages_client_id")
                    .table(ChatMessages::Table)
                    .col(ChatMessages::SenderId)
                    .col(ChatMessages::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChatMessages::Table.into_iden(),
            ChatMembers::Table.into_iden(),
            ChatRooms::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
