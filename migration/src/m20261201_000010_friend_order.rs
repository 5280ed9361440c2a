//! The friends list in order from an index: each friendship row carries its friend's
//! lower-cased username and whether the friend's account is active, kept by the friends store,
//! username changes and deactivation, so a page of the 20,000-friend user's list is a walk of
//! `(user_id, friend_active, friend_username_lower)`, not a sort of every friend.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Friendships {
    Table,
    UserId,
    FriendUsernameLower,
    FriendActive,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Friendships::Table)
                    .add_column(string_len(Friendships::FriendUsernameLower, 150).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Friendships::Table)
                    .add_column(boolean(Friendships::FriendActive).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE friendships SET \
                 friend_username_lower = (SELECT username_lower FROM users WHERE users.id = friendships.friend_id), \
                 friend_active = (SELECT is_active FROM users WHERE users.id = friendships.friend_id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_friendships_list")
                    .table(Friendships::Table)
                    .col(Friendships::UserId)
                    .col(Friendships::FriendActive)
                    .col(Friendships::FriendUsernameLower)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_friendships_list")
                    .table(Friendships::Table)
                    .to_owned(),
            )
            .await?;
        for col in [Friendships::FriendActive, Friendships::FriendUsernameLower] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Friendships::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
