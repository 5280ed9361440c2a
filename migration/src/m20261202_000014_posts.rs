//! Posts, comments and reactions. A post belongs to its author and maybe a group (both
//! cascade); its media and its comments' media are linked rows that go with it, the files stay
//! their owner's. Reactions are one table for posts, comments and chat messages (`kind`,
//! `target_id`), with the per-emoji counts kept beside them (`reaction_counts`) so a page of
//! posts reads its counts without counting every reaction, and the 20-emoji cap is one lookup.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Media {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notifications {
    Table,
    PostId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Posts {
    Table,
    Id,
    AuthorId,
    Body,
    Visibility,
    GroupId,
    CreatedAt,
    EditedAt,
    CommentCount,
}

#[derive(DeriveIden, Clone, Copy)]
enum PostMedia {
    Table,
    PostId,
    MediaId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    PostId,
    AuthorId,
    Body,
    ReplyTo,
    ReplyCount,
    CreatedAt,
    EditedAt,
    Deleted,
}

#[derive(DeriveIden, Clone, Copy)]
enum CommentMedia {
    Table,
    CommentId,
    MediaId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reactions {
    Table,
    Id,
    Kind,
    TargetId,
    UserId,
    Emoji,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReactionCounts {
    Table,
    Kind,
    TargetId,
    Emoji,
    Count,
    FirstId,
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
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
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    .col(big_pk_auto(Posts::Id))
                    .col(big_integer(Posts::AuthorId))
                    .col(text(Posts::Body))
                    .col(string_len(Posts::Visibility, 16))
                    .col(big_integer_null(Posts::GroupId))
                    .col(timestamp_with_time_zone(Posts::CreatedAt))
                    .col(timestamp_with_time_zone_null(Posts::EditedAt))
                    .col(big_integer(Posts::CommentCount).default(0))
                    .foreign_key(&mut cascade(
                        (Posts::Table, Posts::AuthorId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Posts::Table, Posts::GroupId),
                        (Groups::Table, Groups::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PostMedia::Table)
                    .col(big_integer(PostMedia::PostId))
                    .col(big_integer(PostMedia::MediaId))
                    .col(integer(PostMedia::Position))
                    .primary_key(
                        Index::create()
                            .col(PostMedia::PostId)
                            .col(PostMedia::MediaId),
                    )
                    .foreign_key(&mut cascade(
                        (PostMedia::Table, PostMedia::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (PostMedia::Table, PostMedia::MediaId),
                        (Media::Table, Media::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(big_pk_auto(Comments::Id))
                    .col(big_integer(Comments::PostId))
                    .col(big_integer(Comments::AuthorId))
                    .col(text(Comments::Body))
                    .col(big_integer_null(Comments::ReplyTo))
                    .col(big_integer(Comments::ReplyCount).default(0))
                    .col(timestamp_with_time_zone(Comments::CreatedAt))
                    .col(timestamp_with_time_zone_null(Comments::EditedAt))
                    .col(boolean(Comments::Deleted).default(false))
                    .foreign_key(&mut cascade(
                        (Comments::Table, Comments::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Comments::Table, Comments::AuthorId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Comments::Table, Comments::ReplyTo),
                        (Comments::Table, Comments::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommentMedia::Table)
                    .col(big_integer(CommentMedia::CommentId))
                    .col(big_integer(CommentMedia::MediaId))
                    .col(integer(CommentMedia::Position))
                    .primary_key(
                        Index::create()
                            .col(CommentMedia::CommentId)
                            .col(CommentMedia::MediaId),
                    )
                    .foreign_key(&mut cascade(
                        (CommentMedia::Table, CommentMedia::CommentId),
                        (Comments::Table, Comments::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (CommentMedia::Table, CommentMedia::MediaId),
                        (Media::Table, Media::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reactions::Table)
                    .col(big_pk_auto(Reactions::Id))
                    .col(string_len(Reactions::Kind, 8))
                    .col(big_integer(Reactions::TargetId))
                    .col(big_integer(Reactions::UserId))
                    .col(string_len(Reactions::Emoji, 64))
                    .col(timestamp_with_time_zone(Reactions::CreatedAt))
                    .foreign_key(&mut cascade(
                        (Reactions::Table, Reactions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReactionCounts::Table)
                    .col(string_len(ReactionCounts::Kind, 8))
                    .col(big_integer(ReactionCounts::TargetId))
                    .col(string_len(ReactionCounts::Emoji, 64))
                    .col(big_integer(ReactionCounts::Count))
                    .col(big_integer(ReactionCounts::FirstId))
                    .primary_key(
                        Index::create()
                            .col(ReactionCounts::Kind)
                            .col(ReactionCounts::TargetId)
                            .col(ReactionCounts::Emoji),
                    )
                    .to_owned(),
            )
            .await?;
        // A notification about a post names it, so deleting the post deletes them.
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(big_integer_null(Notifications::PostId))
                    .to_owned(),
            )
            .await?;
        for i in [
            index("idx_notifications_post", Notifications::Table, &["post_id"]),
            // A user's posts and a group's, newest first; the home feed walks these per author.
            index("idx_posts_author", Posts::Table, &["author_id", "id"]),
            index("idx_posts_group", Posts::Table, &["group_id", "id"]),
            index("idx_post_media_media", PostMedia::Table, &["media_id"]),
            // A post's top-level comments (reply_to null) and a comment's replies, in order.
            index(
                "idx_comments_post",
                Comments::Table,
                &["post_id", "reply_to", "id"],
            ),
            index(
                "idx_comments_reply_to",
                Comments::Table,
                &["reply_to", "id"],
            ),
            index("idx_comments_author", Comments::Table, &["author_id"]),
            index(
                "idx_comment_media_media",
                CommentMedia::Table,
                &["media_id"],
            ),
            index(
                "idx_reactions_target",
                Reactions::Table,
                &["kind", "target_id", "id"],
            ),
            index("idx_reactions_user", Reactions::Table, &["user_id"]),
        ] {
            manager.create_index(i).await?;
        }
        manager
            .create_index(
                index(
                    "uq_reactions_one_each",
                    Reactions::Table,
                    &["kind", "target_id", "user_id", "emoji"],
                )
                .unique()
                .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "reaction_counts",
            "reactions",
            "comment_media",
            "post_media",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Comments::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_notifications_post")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::PostId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Posts::Table).to_owned())
            .await
    }
}
