//! Counts kept rather than counted: a user's notifications (how many, how many unread, and
//! the id through which "read all" marked them read, so that marking 50,000 read is one
//! write), and the number of active users (the users list's total). Indexes behind a user's
//! notifications of one type and the users list.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotificationInbox {
    Table,
    UserId,
    Total,
    Unread,
    ReadThrough,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    IsActive,
    UsernameLower,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    RecipientId,
    Kind,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationInbox::Table)
                    .col(big_integer(NotificationInbox::UserId).primary_key())
                    .col(big_integer(NotificationInbox::Total).default(0))
                    .col(big_integer(NotificationInbox::Unread).default(0))
                    .col(big_integer(NotificationInbox::ReadThrough).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationInbox::Table, NotificationInbox::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(string_len(Counters::Name, 64).primary_key())
                    .col(big_integer(Counters::Value).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO notification_inbox (user_id, total, unread, read_through) \
             SELECT recipient_id, COUNT(*), SUM(CASE WHEN is_read THEN 0 ELSE 1 END), 0 \
             FROM notifications GROUP BY recipient_id",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO counters (name, value) \
             SELECT 'active_users', COUNT(*) FROM users WHERE is_active",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_recipient_kind")
                    .table(Notifications::Table)
                    .col(Notifications::RecipientId)
                    .col(Notifications::Kind)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_active_username")
                    .table(Users::Table)
                    .col(Users::IsActive)
                    .col(Users::UsernameLower)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_users_active_username", Users::Table.to_string()),
            (
                "idx_notifications_recipient_kind",
                Notifications::Table.to_string(),
            ),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Counters::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(NotificationInbox::Table).to_owned())
            .await
    }
}
