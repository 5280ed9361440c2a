//! Files an open report is about: held, so a file its owner deletes stays readable to staff
//! until the report is resolved. `media_holds` says which report holds which file;
//! `held_media` keeps a deleted file's row (its bytes stay in storage) while a hold remains.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum MediaHolds {
    Table,
    MediaId,
    ReportId,
}

#[derive(DeriveIden, Clone, Copy)]
enum HeldMedia {
    Table,
    Id,
    OwnerId,
    Filename,
    ContentType,
    Size,
    Width,
    Height,
    StorageKey,
    ThumbnailKey,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MediaHolds::Table)
                    .col(big_integer(MediaHolds::MediaId))
                    .col(big_integer(MediaHolds::ReportId))
                    .primary_key(
                        Index::create()
                            .col(MediaHolds::MediaId)
                            .col(MediaHolds::ReportId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_media_holds_report")
                    .table(MediaHolds::Table)
                    .col(MediaHolds::ReportId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HeldMedia::Table)
                    .col(big_integer(HeldMedia::Id).primary_key())
                    .col(big_integer(HeldMedia::OwnerId))
                    .col(string(HeldMedia::Filename))
                    .col(string(HeldMedia::ContentType))
                    .col(big_integer(HeldMedia::Size))
                    .col(integer_null(HeldMedia::Width))
                    .col(integer_null(HeldMedia::Height))
                    .col(string(HeldMedia::StorageKey))
                    .col(string_null(HeldMedia::ThumbnailKey))
                    .col(timestamp_with_time_zone(HeldMedia::CreatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
