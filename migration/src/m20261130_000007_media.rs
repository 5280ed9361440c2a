//! Media: uploaded files (bytes in the media store, the row here) and chat message
//! attachments (users' avatar and cover and groups' avatar columns exist already). Deleting a media row removes its attachments (cascade); the
//! avatar, cover and group avatar that pointed at it are cleared by the same transaction.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChatMessages {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Media {
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

#[derive(DeriveIden, Clone, Copy)]
enum ChatAttachments {
    Table,
    MessageId,
    MediaId,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Media::Id))
                    .col(big_integer(Media::OwnerId))
                    .col(string_len(Media::Filename, 255))
                    .col(string_len(Media::ContentType, 100))
                    .col(big_integer(Media::Size))
                    .col(integer_null(Media::Width))
                    .col(integer_null(Media::Height))
                    .col(string_len(Media::StorageKey, 255))
                    .col(string_len_null(Media::ThumbnailKey, 255))
                    .col(timestamp_with_time_zone(Media::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Media::Table, Media::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_media_owner")
                    .table(Media::Table)
                    .col(Media::OwnerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatAttachments::Table)
                    .if_not_exists()
                    .col(big_integer(ChatAttachments::MessageId))
                    .col(big_integer(ChatAttachments::MediaId))
                    .col(integer(ChatAttachments::Position))
                    .primary_key(
                        Index::create()
                            .col(ChatAttachments::MessageId)
                            .col(ChatAttachments::MediaId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatAttachments::Table, ChatAttachments::MessageId)
                            .to(ChatMessages::Table, ChatMessages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatAttachments::Table, ChatAttachments::MediaId)
                            .to(Media::Table, Media::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_attachments_media")
                    .table(ChatAttachments::Table)
                    .col(ChatAttachments::MediaId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [ChatAttachments::Table.into_iden(), Media::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
