//! Reports and moderation: reports with a snapshot of what they are about, the append-only
//! audit log of staff actions, and users' suspensions (a suspended user is inactive while it
//! lasts, so every rule that hides inactive users hides them; `suspended` says why).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Suspended,
    SuspendedUntil,
    SuspensionReason,
    SuspendedAt,
    SuspendedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reports {
    Table,
    Id,
    ReporterId,
    TargetType,
    TargetId,
    AnswerableId,
    Category,
    Comment,
    Snapshot,
    Status,
    Action,
    Until,
    Note,
    ResolvedBy,
    ResolvedAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEntries {
    Table,
    Id,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Data,
    CreatedAt,
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
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::Suspended).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::SuspendedUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(text(Users::SuspensionReason).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(Users::SuspendedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(big_integer_null(Users::SuspendedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .col(big_pk_auto(Reports::Id))
                    .col(big_integer(Reports::ReporterId))
                    .col(string_len(Reports::TargetType, 16))
                    .col(big_integer(Reports::TargetId))
                    .col(big_integer_null(Reports::AnswerableId))
                    .col(string_len(Reports::Category, 16))
                    .col(text(Reports::Comment))
                    .col(text(Reports::Snapshot))
                    .col(string_len(Reports::Status, 16))
                    .col(string_len_null(Reports::Action, 16))
                    .col(timestamp_with_time_zone_null(Reports::Until))
                    .col(text(Reports::Note))
                    .col(big_integer_null(Reports::ResolvedBy))
                    .col(timestamp_with_time_zone_null(Reports::ResolvedAt))
                    .col(timestamp_with_time_zone(Reports::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_reports_status",
                Reports::Table,
                &["status", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_reports_target",
                Reports::Table,
                &["target_type", "target_id", "status"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_reports_reporter",
                Reports::Table,
                &["reporter_id", "id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(big_pk_auto(AuditEntries::Id))
                    .col(big_integer(AuditEntries::ActorId))
                    .col(string_len(AuditEntries::Action, 32))
                    .col(string_len(AuditEntries::TargetType, 16))
                    .col(big_integer(AuditEntries::TargetId))
                    .col(text(AuditEntries::Data))
                    .col(timestamp_with_time_zone(AuditEntries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
