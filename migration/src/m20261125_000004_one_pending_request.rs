//! At most one pending friend request per pair of users, enforced by the database: two
//! concurrent requests between the same users cannot both be inserted. `pair_key` is
//! "smaller id:larger id"; the partial unique index covers only pending requests.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FriendRequests {
    Table,
    PairKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(FriendRequests::Table)
                    .add_column(string_len(FriendRequests::PairKey, 64).default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // The same SQL on SQLite and PostgreSQL.
        db.execute_unprepared(
            "UPDATE friend_requests SET pair_key = CASE WHEN sender_id < receiver_id \
             THEN sender_id || ':' || receiver_id ELSE receiver_id || ':' || sender_id END",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX idx_friend_requests_one_pending \
             ON friend_requests (pair_key) WHERE status = 'pending'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_friend_requests_one_pending")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FriendRequests::Table)
                    .drop_column(FriendRequests::PairKey)
                    .to_owned(),
            )
            .await
    }
}
