//! The durable job queue, accounts by email, and data exports.
//!
//! `jobs` holds work that must survive a restart (mails, account deletions, exports): times are
//! Unix milliseconds, so "due" is one integer comparison on both databases. A running job holds
//! a lease (`locked_until`); one whose instance died is claimed again once the lease runs out.
//!
//! `users.email_verified` starts true, so accounts made before this change count as verified;
//! `users.reset_stamp` changes with every password-reset request, which kills older tokens;
//! `users.deleted_at` marks an account its user deleted (an inactive shell kept for staff).
//! The indexes let an account's deletion find the rows that name it from the other side.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    EmailVerified,
    ResetStamp,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    Id,
    Kind,
    Key,
    Payload,
    State,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum DataExports {
    Table,
    Id,
    UserId,
    Status,
    FileKey,
    Size,
    CreatedAt,
    FinishedAt,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::EmailVerified).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(big_integer(Users::ResetStamp).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::DeletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(big_pk_auto(Jobs::Id))
                    .col(string_len(Jobs::Kind, 32))
                    .col(string_len_null(Jobs::Key, 320))
                    .col(text(Jobs::Payload))
                    .col(string_len(Jobs::State, 16))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(integer(Jobs::MaxAttempts))
                    .col(big_integer(Jobs::RunAt))
                    .col(big_integer_null(Jobs::LockedUntil))
                    .col(text_null(Jobs::LastError))
                    .col(big_integer(Jobs::CreatedAt))
                    .col(big_integer(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_jobs_due", Jobs::Table, &["state", "run_at"]))
            .await?;
        manager
            .create_index(index(
                "idx_jobs_kind_key",
                Jobs::Table,
                &["kind", "key", "created_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataExports::Table)
                    .col(big_pk_auto(DataExports::Id))
                    .col(big_integer(DataExports::UserId))
                    .col(string_len(DataExports::Status, 16))
                    .col(string_len_null(DataExports::FileKey, 200))
                    .col(big_integer_null(DataExports::Size))
                    .col(timestamp_with_time_zone(DataExports::CreatedAt))
                    .col(timestamp_with_time_zone_null(DataExports::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DataExports::Table, DataExports::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_data_exports_user",
                DataExports::Table,
                &["user_id", "id"],
            ))
            .await?;
        for (name, table, col) in [
            ("idx_friendships_friend", "friendships", "friend_id"),
            ("idx_notifications_sender", "notifications", "sender_id"),
            (
                "idx_group_invites_invited_by",
                "group_invites",
                "invited_by",
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new(table))
                        .col(Alias::new(col))
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
