//! Accounts: users with their profile columns, refresh tokens (for rotation, blacklist and
//! reuse detection) and blocks between users.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    UsernameLower,
    Email,
    EmailLower,
    Password,
    FirstName,
    LastName,
    IsStaff,
    IsSuperuser,
    IsActive,
    DateJoined,
    LastLogin,
    LastSeen,
    TokenVersion,
    Bio,
    Location,
    Website,
    BirthDate,
    Visibility,
    ShowOnlineStatus,
    AllowMessagesFrom,
    AvatarId,
    CoverId,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Jti,
    UserId,
    Family,
    CreatedAt,
    ExpiresAt,
    BlacklistedAt,
}

#[derive(DeriveIden)]
enum UserBlocks {
    Table,
    BlockerId,
    BlockedId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Username, 150))
                    .col(string_len_uniq(Users::UsernameLower, 150))
                    .col(string_len(Users::Email, 254))
                    .col(string_len_uniq(Users::EmailLower, 254))
                    .col(string(Users::Password))
                    .col(string_len(Users::FirstName, 150).default(""))
                    .col(string_len(Users::LastName, 150).default(""))
                    .col(boolean(Users::IsStaff).default(false))
                    .col(boolean(Users::IsSuperuser).default(false))
                    .col(boolean(Users::IsActive).default(true))
                    .col(timestamp_with_time_zone(Users::DateJoined))
                    .col(timestamp_with_time_zone_null(Users::LastLogin))
                    .col(timestamp_with_time_zone_null(Users::LastSeen))
                    .col(integer(Users::TokenVersion).default(0))
                    .col(text(Users::Bio).default(""))
                    .col(string_len(Users::Location, 100).default(""))
                    .col(string_len(Users::Website, 200).default(""))
                    .col(date_null(Users::BirthDate))
                    .col(string_len(Users::Visibility, 16).default("public"))
                    .col(boolean(Users::ShowOnlineStatus).default(true))
                    .col(string_len(Users::AllowMessagesFrom, 16).default("everyone"))
                    .col(big_integer_null(Users::AvatarId))
                    .col(big_integer_null(Users::CoverId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .if_not_exists()
                    .col(string_len(RefreshTokens::Jti, 64).primary_key())
                    .col(big_integer(RefreshTokens::UserId))
                    .col(string_len(RefreshTokens::Family, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::BlacklistedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_user")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::Family)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserBlocks::Table)
                    .if_not_exists()
                    .col(big_integer(UserBlocks::BlockerId))
                    .col(big_integer(UserBlocks::BlockedId))
                    .col(timestamp_with_time_zone(UserBlocks::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(UserBlocks::BlockerId)
                            .col(UserBlocks::BlockedId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserBlocks::Table, UserBlocks::BlockerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserBlocks::Table, UserBlocks::BlockedId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_blocks_blocked")
                    .table(UserBlocks::Table)
                    .col(UserBlocks::BlockedId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserBlocks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
