//! Groups: a group owns one chat room, and the room's members (with their roles) are the
//! group's members, so the two sets cannot drift apart. Join requests and invites keep their
//! history; a partial unique index allows one pending request and one pending invite per
//! (group, user).

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
}

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    Id,
    Name,
    Description,
    Visibility,
    AvatarId,
    RoomId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupJoinRequests {
    Table,
    Id,
    GroupId,
    UserId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupInvites {
    Table,
    Id,
    GroupId,
    UserId,
    InvitedBy,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Groups::Id))
                    .col(string_len(Groups::Name, 150))
                    .col(text(Groups::Description).default(""))
                    .col(string_len(Groups::Visibility, 16))
                    .col(big_integer_null(Groups::AvatarId))
                    .col(big_integer(Groups::RoomId).unique_key())
                    .col(timestamp_with_time_zone(Groups::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Groups::Table, Groups::RoomId)
                            .to(ChatRooms::Table, ChatRooms::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupJoinRequests::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupJoinRequests::Id))
                    .col(big_integer(GroupJoinRequests::GroupId))
                    .col(big_integer(GroupJoinRequests::UserId))
                    .col(string_len(GroupJoinRequests::Status, 16))
                    .col(timestamp_with_time_zone(GroupJoinRequests::CreatedAt))
                    .col(timestamp_with_time_zone(GroupJoinRequests::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupJoinRequests::Table, GroupJoinRequests::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupJoinRequests::Table, GroupJoinRequests::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupInvites::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupInvites::Id))
                    .col(big_integer(GroupInvites::GroupId))
                    .col(big_integer(GroupInvites::UserId))
                    .col(big_integer(GroupInvites::InvitedBy))
                    .col(string_len(GroupInvites::Status, 16))
                    .col(timestamp_with_time_zone(GroupInvites::CreatedAt))
                    .col(timestamp_with_time_zone(GroupInvites::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupInvites::Table, GroupInvites::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupInvites::Table, GroupInvites::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupInvites::Table, GroupInvites::InvitedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The same SQL on SQLite and PostgreSQL.
        for sql in [
            "CREATE UNIQUE INDEX idx_group_join_requests_one_pending \
             ON group_join_requests (group_id, user_id) WHERE status = 'pending'",
            "CREATE UNIQUE INDEX idx_group_invites_one_pending \
             ON group_invites (group_id, user_id) WHERE status = 'pending'",
            "CREATE INDEX idx_group_invites_user ON group_invites (user_id, status)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GroupInvites::Table.into_iden(),
            GroupJoinRequests::Table.into_iden(),
            Groups::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
