//! A room's member count kept on its row (by the chat store's add and remove, in their
//! transactions), so lists of rooms and groups and a room's member pages read it instead of
//! counting 10,000 members; and an index to find a room's owner without reading every member.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatRooms {
    Table,
    MemberCount,
}

#[derive(DeriveIden)]
enum ChatMembers {
    Table,
    RoomId,
    Role,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChatRooms::Table)
                    .add_column(big_integer(ChatRooms::MemberCount).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE chat_rooms SET member_count = \
                 (SELECT COUNT(*) FROM chat_members WHERE chat_members.room_id = chat_rooms.id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_members_room_role")
                    .table(ChatMembers::Table)
                    .col(ChatMembers::RoomId)
                    .col(ChatMembers::Role)
                    .col(ChatMembers::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_chat_members_room_role")
                    .table(ChatMembers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatRooms::Table)
                    .drop_column(ChatRooms::MemberCount)
                    .to_owned(),
            )
            .await
    }
}
